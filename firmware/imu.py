# IMU driver interface, chip detection and an SPI adapter (docs/firmware.md).
#
# Every IMU driver (imu_lsm6dsox.py, imu_icm42688.py) is a class with this interface; the sampler and
# the session writer know nothing else about the chip.
#
#   Class attributes
#     MODEL           str, as the session header's sensor_model ("LSM6DSOX", "ICM-42688-P")
#     ADDRESSES       I2C addresses the chip can answer on (SDO/SA0 low, high)
#     WHO_AM_I_REG    register holding the identity byte, WHO_AM_I its value
#   Construction: Driver(bus, addr, *, odr_hz=208, acc_range_g=16, gyr_range_dps=2000, max_batch=64,
#                 watermark=..., clock=time.ticks_ms). bus: machine.I2C, or SPIBus below. Nothing
#                 touches the bus before start(). clock: the ms clock the driver times the FIFO with
#                 (tests pass a fake clock).
#   Attributes after construction (integers, as the session header stores them)
#     channels        6 (acc x, y, z, gyr x, y, z, in this order in every sample)
#     odr_mhz         output data rate actually configured (the chip's nearest to odr_hz), mHz
#     rate_mhz        best estimate of the real output rate (datasheet correction where the chip has
#                     one), mHz; used to estimate how many samples a FIFO overflow lost
#     acc_range_g, gyr_range_dps, acc_scale_ng, gyr_scale_ndps
#     fifo_samples    samples the hardware FIFO holds (the stall the sampler can absorb)
#     max_batch       most samples one read() returns
#     watermark       FIFO watermark, samples (INT1 goes high at it)
#   Methods
#     start()         reset, configure, flush and start the FIFO; raises IMUError on a bad answer
#     stop()          FIFO to bypass, sensors powered down
#     new_buffer()    array('h') big enough for read(): (max_batch + 1) * channels values, allocate once
#     read(out) -> n  drain up to max_batch samples from the FIFO in a few burst reads into out
#                     (interleaved int16 counts, sample i channel c at out[i * 6 + c]); allocates nothing.
#                     After the call:
#       lost          samples missing right before out[0] (0: none). The driver locates every gap and
#                     splits reads at gaps, so a read never has a gap inside it.
#       overflow      True when that gap was a FIFO overflow (else it was an invalid/dropped record)
#       more          True when the FIFO held more than this read took: call read() again now
#     Counters: samples, overflows, lost_total, reads (bus burst reads), dropped (incomplete records)
#
# Hot-path rules for drivers: registers are const(); every buffer and memoryview is made in __init__;
# read() does integer arithmetic only (no floats, no f-strings, no allocation per sample or per read).
from micropython import const

_SPI_READ = const(0x80)


class IMUError(OSError):
    """No supported IMU answered, or the chip answered something unexpected."""


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


def nearest(table, value):
    # The (value, code) row of table whose value is nearest to value (ties: the first).
    best = table[0]
    for row in table:
        if abs(row[0] - value) < abs(best[0] - value):
            best = row
    return best


def pick(table, value, what):
    # The code for an exact value of table, or ValueError listing the allowed values.
    for row in table:
        if row[0] == value:
            return row
    raise ValueError("%s must be one of %s, not %r" % (what, [r[0] for r in table], value))


def burst_views(buf, unit, count):
    # Memoryviews of buf[0 : unit * 2**k] for 2**k <= count: a read of any n records is a few burst
    # reads of power-of-two sizes into the start of buf, with no allocation at read time.
    mv = memoryview(buf)
    views = []
    k = 1
    while k <= count:
        views.append(mv[0 : unit * k])
        k <<= 1
    return views


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
