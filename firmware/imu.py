# IMU chip detection, session-header fields and an SPI adapter (docs/firmware.md).
#
# The driver interface and the helpers the drivers share live in imu_base.py: the drivers import
# imu_base, this module imports the drivers (inside probe()), so nothing imports in a circle.
# IMUError is re-exported here for callers (main.py catches it as imu.IMUError).
from imu_base import IMUError
from micropython import const

_SPI_READ = const(0x80)


def probe(bus, drivers=None, **kwargs):
    """The driver of the first supported IMU that answers on ``bus`` (identified by WHO_AM_I).

    Tries every driver at each of its I2C addresses (both SDO/SA0 levels); ``kwargs`` go to the
    driver. Raises IMUError naming every address tried and what answered there.
    """
    if drivers is None:
        import imu_icm42688
        import imu_lsm6dsox

        drivers = (imu_lsm6dsox.LSM6DSOX, imu_icm42688.ICM42688)
    tried = []
    for cls in drivers:
        addrs = cls.ADDRESSES if not isinstance(bus, SPIBus) else (0,)
        for addr in addrs:
            try:
                who = bus.readfrom_mem(addr, cls.WHO_AM_I_REG, 1)[0]
            except OSError:
                tried.append("%s at 0x%02X: no answer" % (cls.MODEL, addr))
                continue
            if who == cls.WHO_AM_I:
                return cls(bus, addr, **kwargs)
            tried.append(
                "%s at 0x%02X: WHO_AM_I (reg 0x%02X) = 0x%02X, expected 0x%02X"
                % (cls.MODEL, addr, cls.WHO_AM_I_REG, who, cls.WHO_AM_I)
            )
    found = ""
    if not isinstance(bus, SPIBus):
        try:
            found = "; I2C scan found " + (", ".join("0x%02X" % a for a in bus.scan()) or "nothing")
        except OSError:
            found = "; I2C scan failed"
    raise IMUError("no supported IMU found (" + "; ".join(tried) + found + "): check wiring and power")


def writer_args(imu, **extra):
    """log.SessionWriter keyword arguments describing ``imu`` (plus ``extra``: session_id, ...)."""
    args = {
        "channels": imu.channels,
        "sample_rate_mhz": imu.odr_mhz,
        "odr_mhz": imu.odr_mhz,
        "acc_range_g": imu.acc_range_g,
        "acc_scale_ng": imu.acc_scale_ng,
        "gyr_range_dps": imu.gyr_range_dps,
        "gyr_scale_ndps": imu.gyr_scale_ndps,
        "sensor_model": imu.MODEL,
    }
    args.update(extra)
    return args


class SPIBus:
    """Adapts a machine.SPI + chip-select Pin to the I2C register calls the drivers use.

    Both chips read when bit 7 of the register address is set (4-wire SPI, mode 0 or 3). The ``addr``
    arguments are ignored. Allocates nothing per transfer.
    """

    def __init__(self, spi, cs):
        self.spi = spi
        self.cs = cs
        self._a = bytearray(1)
        cs.value(1)

    def readfrom_mem_into(self, addr, reg, buf):
        a = self._a
        a[0] = reg | _SPI_READ
        self.cs.value(0)
        try:
            self.spi.write(a)
            self.spi.readinto(buf)
        finally:
            self.cs.value(1)

    def readfrom_mem(self, addr, reg, n):
        b = bytearray(n)
        self.readfrom_mem_into(addr, reg, b)
        return bytes(b)

    def writeto_mem(self, addr, reg, buf):
        a = self._a
        a[0] = reg & 0x7F
        self.cs.value(0)
        try:
            self.spi.write(a)
            self.spi.write(buf)
        finally:
            self.cs.value(1)
