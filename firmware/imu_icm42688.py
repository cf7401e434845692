# TDK InvenSense ICM-42688-P driver, FIFO in stream mode with 16-byte packets.
#
# Interface: see imu_base.py. Register map: TDK datasheet DS-000347, as encoded in the Linux
# inv_icm42600 driver and TDK's Icm426xxDefs.h (bank 0 registers, FIFO header bits, packet layout).
#
# FIFO: 2048 bytes; packet 3 = header (0x68: accel + gyro + ODR timestamp), accel x y z, gyro x y z
# (int16), temperature (int8), 16-bit timestamp: 128 samples, 0.64 s at 200 Hz. Counts in records,
# little endian (INTF_CONFIG0): one 3-byte burst from INT_STATUS gives FIFO_FULL and the count.
#
# Lost samples: a packet timestamp (16 us, TMST_RES) step other than one period is a gap, exact modulo
# the 1.048576 s wrap, wherever the full FIFO drops (oldest taken, as earlier InvenSense FIFOs; newest
# handled too); a gap inside a read ends it, the next read delivers the rest. After an overflow a
# coarse count picks the wraps: samples due since the previous read (plus packets it left) when the
# first packet leaves the FIFO, less the 128 a full FIFO holds (or at the status read less the count,
# if more), so a hold-up before the first burst costs nothing. A loss within half a period of whole
# wraps shows no step: placed before the oldest packet when the coarse count agrees to +-3 samples,
# else reported after the drain (count right, position approximate).
import time

import imu_base
from micropython import const

_DEVICE_CONFIG = const(0x11)
_INT_CONFIG = const(0x14)
_FIFO_CONFIG = const(0x16)  # FIFO_MODE[7:6]: 0 bypass, 1 stream, 2 stop-on-full
_INT_STATUS = const(0x2D)  # then FIFO_COUNTH 0x2E, FIFO_COUNTL 0x2F (LSB first when little endian)
_FIFO_DATA = const(0x30)
_SIGNAL_PATH_RESET = const(0x4B)
_INTF_CONFIG0 = const(0x4C)
_PWR_MGMT0 = const(0x4E)
_GYRO_CONFIG0 = const(0x4F)  # GYRO_FS_SEL[7:5], GYRO_ODR[3:0]
_ACCEL_CONFIG0 = const(0x50)  # ACCEL_FS_SEL[7:5], ACCEL_ODR[3:0]
_TMST_CONFIG = const(0x54)
_FIFO_CONFIG1 = const(0x5F)
_FIFO_CONFIG2 = const(0x60)  # FIFO_WM[7:0]
_FIFO_CONFIG3 = const(0x61)  # FIFO_WM[11:8]
_INT_CONFIG1 = const(0x64)
_INT_SOURCE0 = const(0x65)
_WHO_AM_I = const(0x75)
_REG_BANK_SEL = const(0x76)

_WHO_AM_I_VALUE = const(0x47)
_SOFT_RESET = const(0x01)
_FIFO_FLUSH = const(0x02)
_FIFO_STREAM = const(0x40)
_FIFO_BYPASS = const(0x00)
_INTF_COUNT_REC_LE = const(0x40)  # FIFO_COUNT_REC = 1, count and data little endian
_PWR_LN = const(0x0F)  # gyro and accel in low-noise mode
_TMST_EN_16US = const(0x09)  # TMST_RES (16 us) | TMST_EN
_FIFO_CFG1 = const(0x2F)  # WM_GT_TH | TMST_FSYNC_EN | TEMP_EN | GYRO_EN | ACCEL_EN
_INT1_PP_HIGH = const(0x03)  # INT1 push-pull, active high, pulsed
_INT_ASYNC_RESET = const(0x10)
_INT1_FIFO = const(0x06)  # FIFO_THS_INT1_EN | FIFO_FULL_INT1_EN
_FIFO_FULL = const(0x02)
_PACKET = const(16)
_FIFO_RECORDS = const(128)
_TICK_US = const(16)
_WRAP_US = const(1048576)  # 65536 x 16 us

# (Hz x 1000, ODR code)
_ODR_LOW = ((12500, 11), (25000, 10), (50000, 9), (100000, 8), (200000, 7), (500000, 15), (1000000, 6))
_ODR = _ODR_LOW + ((2000000, 5), (4000000, 4), (8000000, 3))
# (full scale, FS_SEL code, scale per count: nano-g / nano-dps) from the datasheet sensitivities
# (2048 LSB/g at 16 g; 16.4 LSB/dps at 2000 dps)
_ACC_FS = ((16, 0, 488281), (8, 1, 244141), (4, 2, 122070), (2, 3, 61035))
_GYR_FS = ((2000, 0, 60975610), (1000, 1, 30487805), (500, 2, 15267176), (250, 3, 7633588), (125, 4, 3816794))


class ICM42688:
    MODEL = "ICM-42688-P"
    ADDRESSES = (0x68, 0x69)
    WHO_AM_I_REG = _WHO_AM_I
    WHO_AM_I = _WHO_AM_I_VALUE
    channels = 6
    fifo_samples = _FIFO_RECORDS

    def __init__(
        self,
        bus,
        addr=0x68,
        *,
        odr_hz=208,
        acc_range_g=16,
        gyr_range_dps=2000,
        max_batch=64,
        watermark=32,
        clock=None,
    ):
        if max_batch < 1 or max_batch > _FIFO_RECORDS:
            raise ValueError("max_batch must be in 1..128")
        if watermark < 1 or watermark > _FIFO_RECORDS - 1:
            raise ValueError("watermark must be in 1..127 samples")
        self.bus = bus
        self.addr = addr
        self._clock = clock if clock is not None else time.ticks_ms
        odr = imu_base.nearest(_ODR, int(odr_hz * 1000))
        self._odr_code = odr[1]
        self.odr_mhz = odr[0]
        self.rate_mhz = odr[0]
        self._hz1 = odr[0] // 1000 + 1  # samples a second, rounded up
        self._period_us = 1000000000 // odr[0]
        acc = imu_base.pick(_ACC_FS, acc_range_g, "acc_range_g")
        gyr = imu_base.pick(_GYR_FS, gyr_range_dps, "gyr_range_dps")
        self._fs_a = acc[1]
        self._fs_g = gyr[1]
        self.acc_range_g = acc[0]
        self.acc_scale_ng = acc[2]
        self.gyr_range_dps = gyr[0]
        self.gyr_scale_ndps = gyr[2]
        self.max_batch = max_batch
        self.watermark = watermark
        self._raw = bytearray(_PACKET * max_batch)
        self._views = imu_base.burst_views(self._raw, _PACKET, max_batch)
        self._hold = bytearray(_PACKET * max_batch)
        self._st = bytearray(3)
        self._b1 = bytearray(1)
        self.lost = 0
        self.overflow = False
        self.more = False
        self.samples = 0
        self.overflows = 0
        self.lost_total = 0
        self.reads = 0
        self.dropped = 0
        self._reset_state()

    def _reset_state(self):
        self._ts = -1  # timestamp of the last packet delivered (-1: none yet)
        self._full = False  # an overflow whose gap is not found yet
        self._full_drains = self._coarse = 0
        self._started = False  # a valid sample was seen (invalid start-up packets are skipped)
        self._hold_n = self._hold_lost = self._late = 0  # (held packets; a loss to report late)
        self._hold_ovf = self._stop = False
        self._t_prev = self._clock()  # the time _left refers to: a status read, or a first burst
        self._left = 0  # packets the FIFO held then that the driver has not read since

    def _w(self, reg, value):
        b = self._b1
        b[0] = value
        self.bus.writeto_mem(self.addr, reg, b)

    def _r(self, reg):
        self.bus.readfrom_mem_into(self.addr, reg, self._b1)
        return self._b1[0]

    def new_buffer(self):
        import array

        return array.array("h", bytes(2 * 6 * (self.max_batch + 1)))

    def start(self):
        self._w(_REG_BANK_SEL, 0)
        who = self._r(_WHO_AM_I)
        if who != _WHO_AM_I_VALUE:
            raise imu_base.IMUError(
                "ICM-42688-P at 0x%02X: WHO_AM_I = 0x%02X, expected 0x47" % (self.addr, who)
            )
        self._w(_DEVICE_CONFIG, _SOFT_RESET)
        time.sleep_ms(2)  # 1 ms after a soft reset before any register access
        self._w(_REG_BANK_SEL, 0)
        self._w(_INTF_CONFIG0, _INTF_COUNT_REC_LE)
        self._w(_FIFO_CONFIG, _FIFO_BYPASS)
        gyro = (self._fs_g << 5) | self._odr_code
        accel = (self._fs_a << 5) | self._odr_code
        self._w(_GYRO_CONFIG0, gyro)
        self._w(_ACCEL_CONFIG0, accel)
        self._w(_TMST_CONFIG, (self._r(_TMST_CONFIG) & 0xE0) | _TMST_EN_16US)
        self._w(_FIFO_CONFIG1, _FIFO_CFG1)
        self._w(_FIFO_CONFIG2, self.watermark & 0xFF)
        self._w(_FIFO_CONFIG3, (self._r(_FIFO_CONFIG3) & 0xF0) | (self.watermark >> 8))
        self._w(_INT_CONFIG, _INT1_PP_HIGH)
        self._w(_INT_CONFIG1, self._r(_INT_CONFIG1) & ~_INT_ASYNC_RESET & 0xFF)
        self._w(_INT_SOURCE0, _INT1_FIFO)
        self._w(_PWR_MGMT0, _PWR_LN)
        time.sleep_ms(1)  # no register writes for 200 us after a power mode change
        for reg, want in ((_GYRO_CONFIG0, gyro), (_ACCEL_CONFIG0, accel), (_FIFO_CONFIG1, _FIFO_CFG1)):
            got = self._r(reg)
            if got != want:
                raise imu_base.IMUError(
                    "ICM-42688-P at 0x%02X: register 0x%02X reads 0x%02X after writing 0x%02X"
                    % (self.addr, reg, got, want)
                )
        self._w(_SIGNAL_PATH_RESET, _FIFO_FLUSH)
        self._reset_state()
        self._w(_FIFO_CONFIG, _FIFO_STREAM)

    def stop(self):
        self._w(_FIFO_CONFIG, _FIFO_BYPASS)
        self._w(_PWR_MGMT0, 0)

    def read(self, out):
        self.lost = 0
        self.overflow = False
        self.more = False
        self._stop = False
        if self._hold_n:  # packets held back after a gap found inside the previous read
            n = self._hold_n
            self._hold_n = 0
            self.lost = self._hold_lost
            self.overflow = self._hold_ovf
            k = self._parse(self._hold, n, out, 0, True)
            self.more = True
            return self._done(k)
        if self._late:  # an overflow whose gap the timestamps could not show (see _end_drain)
            self.lost = self._late
            self.overflow = True
            self._late = 0
        t = self._clock()
        st = self._st
        self.bus.readfrom_mem_into(self.addr, _INT_STATUS, st)
        self.reads += 1
        count = min(st[1] | (st[2] << 8), _FIFO_RECORDS)  # (a bogus count would skew the next estimate)
        full = st[0] & _FIFO_FULL
        if full:
            self._overflowed()
        n = count
        if n > self.max_batch:
            n = self.max_batch
            self.more = True
        self._popfull = False
        t_pop = t
        views = self._views
        j = len(views) - 1
        rem = n
        k = 0
        first = True
        while rem and not self._stop:
            size = 1 << j
            while size > rem:
                j -= 1
                size >>= 1
            if first:
                t_pop = self._clock()
            self.bus.readfrom_mem_into(self.addr, _FIFO_DATA, views[j])
            self.reads += 1
            if first:
                first = False
                # Held up (an interrupt, a BLE callback, a GC) long enough for the FIFO to fill, the
                # chip may have dropped packets the status did not flag: FIFO_FULL tells (read-clears).
                dt = time.ticks_diff(self._clock(), t) + 2
                if not full and dt * self._hz1 >= (_FIFO_RECORDS - count) * 1000:
                    self.bus.readfrom_mem_into(self.addr, _INT_STATUS, self._b1)
                    self.reads += 1
                    if self._b1[0] & _FIFO_FULL:
                        full = True
                        self._overflowed()
                if full:
                    self._coarse = self._estimate(t, t_pop, count)
            k = self._parse(self._raw, size, out, k, False)
            rem -= size
        if full and first:  # (a bogus empty count with the flag set)
            self._coarse = self._estimate(t, t, count)
        if self._popfull:  # the next overflow's count starts from the packets this read left
            self._t_prev = t_pop
            self._left = _FIFO_RECORDS - n + rem
        else:
            self._t_prev = t
            self._left = count - n + rem
        if self._stop:
            self.more = True
        elif not self.more and self._full and count:  # (reads that found the FIFO empty do not count)
            self._full_drains -= 1
            if self._full_drains <= 0:
                self._end_drain()
        return self._done(k)

    def _overflowed(self):  # the FIFO_FULL flag: its gap shows in this drain (oldest dropped) or the next
        self._full = True
        self._full_drains = 2
        self.overflows += 1

    def _estimate(self, t, t_pop, count):
        # Samples lost since the reference (overflows only: long integers allowed): due at the first
        # pop less the 128 a full FIFO holds, or if more, due at the status read less the count then.
        r = self.rate_mhz
        left = self._left * 1000000
        pop = left + time.ticks_diff(t_pop, self._t_prev) * r - _FIFO_RECORDS * 1000000
        then = left + time.ticks_diff(t, self._t_prev) * r - count * 1000000
        if pop > then:
            self._popfull = True
            then = pop
        return (then + 500000) // 1000000

    def _end_drain(self):
        # Two drains after an overflow no packet step showed its gap: the loss was a whole number of
        # timestamp wraps (1.048576 s) within half a period. Report it before the next sample.
        self._full = False
        period = self._period_us
        m = (self._coarse * period + (_WRAP_US >> 1)) // _WRAP_US
        if m > 0:
            self._late = (m * _WRAP_US + (period >> 1)) // period

    def _done(self, k):
        self.samples += k
        if self.lost:
            self.lost_total += self.lost
        return k

    def _parse(self, raw, npk, out, k, held):
        # Decodes npk packets from raw into out from sample k on; returns the new sample count.
        end = npk * _PACKET
        prev = self._ts
        period = self._period_us
        lo = period >> 1
        hi = period + lo
        started = self._started
        j = 0
        while j < end:
            if raw[j] & 0xF0 != 0x60:  # empty FIFO (0x80), 20-bit or single-sensor packets: not ours
                if raw[j] & 0x80:
                    self.more = False  # the FIFO ran dry: the count was wrong, do not read on
                else:
                    self.dropped += 1
                j += _PACKET
                continue
            ts = raw[j + 14] | (raw[j + 15] << 8)
            if held:
                held = False  # the gap before this packet was resolved when it was held back
            elif prev >= 0:
                dt = ((ts - prev) & 0xFFFF) * _TICK_US
                if dt < lo or dt > hi:
                    ovf = self._full  # a FIFO overflow, or else packets the chip marked invalid
                    lost = self._gap(dt)
                    if k:
                        # A gap inside this read: deliver up to here, hold this packet and the rest.
                        h = self._hold
                        p = 0
                        while j < end:
                            h[p] = raw[j]
                            p += 1
                            j += 1
                        self._hold_n = p // _PACKET
                        self._hold_lost = lost
                        self._hold_ovf = ovf
                        self._stop = True
                        self._ts = prev
                        return k
                    self.lost += lost
                    if ovf:
                        self.overflow = True
                elif k == 0 and self._full and self._coarse > 2:
                    # A normal-looking step right after an overflow: the FIFO dropped its oldest
                    # packets and the loss was a whole number of timestamp wraps.
                    lost = self._wraps(dt)
                    if lost:
                        self._full = False
                        self.lost += lost
                        self.overflow = True
            elif not started:
                if raw[j + 1] == 0 and raw[j + 2] == 0x80:  # -32768: sensors still starting up
                    j += _PACKET
                    continue
                started = True
                self._started = True
            o = k * 6
            v = raw[j + 1] | (raw[j + 2] << 8)
            out[o] = v - ((v & 0x8000) << 1)
            v = raw[j + 3] | (raw[j + 4] << 8)
            out[o + 1] = v - ((v & 0x8000) << 1)
            v = raw[j + 5] | (raw[j + 6] << 8)
            out[o + 2] = v - ((v & 0x8000) << 1)
            v = raw[j + 7] | (raw[j + 8] << 8)
            out[o + 3] = v - ((v & 0x8000) << 1)
            v = raw[j + 9] | (raw[j + 10] << 8)
            out[o + 4] = v - ((v & 0x8000) << 1)
            v = raw[j + 11] | (raw[j + 12] << 8)
            out[o + 5] = v - ((v & 0x8000) << 1)
            prev = ts
            k += 1
            j += _PACKET
        self._ts = prev
        return k

    def _wraps(self, dt):
        # The loss of m >= 1 whole wraps plus dt that matches the coarse count (+-3), else 0.
        period = self._period_us
        coarse = self._coarse
        m = ((coarse + 1) * period - dt + (_WRAP_US >> 1)) // _WRAP_US
        if m < 1:
            return 0
        n = (dt + m * _WRAP_US + (period >> 1)) // period - 1
        return n if abs(n - coarse) <= 3 else 0

    def _gap(self, dt):
        # Samples missing between two packets dt us apart (dt is known modulo the timestamp wrap;
        # after a FIFO overflow the coarse count picks the number of wraps).
        period = self._period_us
        best = (dt + (period >> 1)) // period - 1
        if self._full:
            self._full = False
            coarse = self._coarse
            m = 1
            while True:
                n = (dt + m * _WRAP_US + (period >> 1)) // period - 1
                if abs(n - coarse) >= abs(best - coarse):
                    break
                best = n
                m += 1
        return best if best > 0 else 1
