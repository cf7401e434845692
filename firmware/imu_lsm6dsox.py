# ST LSM6DSOX driver (same register family as LSM6DSO / ISM330DHCX), FIFO in continuous mode.
#
# Interface: see imu_base.py. Sources for the register map: ST datasheet DS12814 (LSM6DSOX) and
# application note AN5272, as encoded in ST's reference driver lsm6dsox_reg.h (STMems_Standard_C_drivers).
#
# FIFO: 512 words of 7 bytes (tag + 6 data bytes; "up to 9 kbyte" in the datasheet counts the 3:1
# compression we do not use). Accelerometer and gyroscope are batched at the ODR, so one sample is two
# words (gyro and accel, in either order) with the same 2-bit TAG_CNT time slot: 256 samples, 1.23 s
# at 208 Hz. Continuous mode: when full, the oldest word is overwritten (FIFO_OVR_LATCHED). A burst
# read from FIFO_DATA_OUT_TAG wraps from 0x7E back to 0x78 (IF_INC), so n words are one bus read.
#
# Lost samples on an overflow: the chip does not count them. A coarse count from the clock (the
# samples due since the last one delivered, when the first word after the gap left the FIFO, less the
# 256 a full FIFO holds) plus the exact count modulo 4 from TAG_CNT (slots between the last sample
# delivered and the first after the gap) give the count, exact while the coarse one is within +-2.
# The rate: measured against the clock once a minute is recorded; before that INTERNAL_FREQ_FINE
# (AN5272: ODR = 6667 Hz x (1 + 0.0015 x FREQ_FINE) / coeff, coeff 32 at 208 Hz), whose 0.15 % steps
# may leave 0.075 % unknown: exact then for stalls up to 5 s at 208 Hz, 1.8 s at 416 Hz; once S is
# recorded, up to 0.65 S and 0.4 S (worst cases; bounds and trials in docs/firmware.md).
import time

import imu_base
from micropython import const

_FIFO_CTRL1 = const(0x07)  # WTM[7:0]
_FIFO_CTRL2 = const(0x08)  # bit 0 WTM[8], bit 7 STOP_ON_WTM
_FIFO_CTRL3 = const(0x09)  # BDR_GY[7:4], BDR_XL[3:0]
_FIFO_CTRL4 = const(0x0A)  # FIFO_MODE[2:0], ODR_T_BATCH[5:4], DEC_TS_BATCH[7:6]
_INT1_CTRL = const(0x0D)
_WHO_AM_I = const(0x0F)
_CTRL1_XL = const(0x10)  # ODR_XL[7:4], FS_XL[3:2]
_CTRL2_G = const(0x11)  # ODR_G[7:4], FS_G[3:2] + FS_125[1]
_CTRL3_C = const(0x12)
_FIFO_STATUS1 = const(0x3A)  # DIFF_FIFO[7:0]
_FIFO_STATUS2 = const(0x3B)  # WTM_IA 7, OVR_IA 6, FULL_IA 5, CNT_BDR 4, OVR_LATCHED 3, DIFF_FIFO[9:8]
_INTERNAL_FREQ_FINE = const(0x63)
_FIFO_DATA_OUT_TAG = const(0x78)  # tag, then X_L X_H Y_L Y_H Z_L Z_H at 0x79..0x7E

_WHO_AM_I_VALUE = const(0x6C)
_SW_RESET = const(0x01)
_IF_INC = const(0x04)
_BDU = const(0x40)
_FIFO_BYPASS = const(0)
_FIFO_CONTINUOUS = const(6)
_INT1_FIFO_TH = const(0x08)
_OVR_LATCHED = const(0x08)
_WORD = const(7)
_FIFO_WORDS = const(512)
_RATE_SPAN_MS = const(60000)  # the rate measured over at least this long replaces the datasheet's
_TAG_GYRO = const(0x01)
_TAG_XL = const(0x02)

# (Hz x 1000, ODR/BDR code, AN5272 divider of the 6667 Hz base rate)
_ODR = (
    (12500, 1, 512),
    (26000, 2, 256),
    (52000, 3, 128),
    (104000, 4, 64),
    (208000, 5, 32),
    (416000, 6, 16),
    (833000, 7, 8),
    (1666000, 8, 4),
    (3332000, 9, 2),
    (6667000, 10, 1),
)
# (full scale, FS code, scale per count: nano-g / nano-dps) from the datasheet sensitivities
_ACC_FS = ((2, 0, 61000), (4, 2, 122000), (8, 3, 244000), (16, 1, 488000))
_GYR_FS = ((125, 1, 4375000), (250, 0, 8750000), (500, 2, 17500000), (1000, 4, 35000000), (2000, 6, 70000000))


class LSM6DSOX:
    MODEL = "LSM6DSOX"
    ADDRESSES = (0x6A, 0x6B)
    WHO_AM_I_REG = _WHO_AM_I
    WHO_AM_I = _WHO_AM_I_VALUE
    channels = 6
    fifo_samples = _FIFO_WORDS // 2

    def __init__(
        self,
        bus,
        addr=0x6A,
        *,
        odr_hz=208,
        acc_range_g=16,
        gyr_range_dps=2000,
        max_batch=64,
        watermark=64,
        clock=None,
    ):
        if max_batch < 1 or max_batch > 255:
            raise ValueError("max_batch must be in 1..255")
        if watermark < 1 or watermark > 255:
            raise ValueError("watermark must be in 1..255 samples (511 FIFO words)")
        self.bus = bus
        self.addr = addr
        self._clock = clock if clock is not None else time.ticks_ms
        odr = imu_base.nearest(_ODR, int(odr_hz * 1000))
        self._odr_code = odr[1]
        self._odr_coeff = odr[2]
        self.odr_mhz = odr[0]
        self.rate_mhz = 6667000 // odr[2]
        self._hz2 = 2 * (self.rate_mhz // 1000 + 1)  # FIFO words a second, rounded up
        acc = imu_base.pick(_ACC_FS, acc_range_g, "acc_range_g")
        gyr = imu_base.pick(_GYR_FS, gyr_range_dps, "gyr_range_dps")
        self._fs_xl = acc[1]
        self._fs_g = gyr[1]
        self.acc_range_g = acc[0]
        self.acc_scale_ng = acc[2]
        self.gyr_range_dps = gyr[0]
        self.gyr_scale_ndps = gyr[2]
        self.max_batch = max_batch
        self.watermark = watermark
        self._max_words = 2 * max_batch
        self._raw = bytearray(_WORD * self._max_words)
        self._views = imu_base.burst_views(self._raw, _WORD, self._max_words)
        self._hold = bytearray(_WORD * (self._max_words + 2))
        self._st = bytearray(2)
        self._b1 = bytearray(1)
        self._carry = [0, 0, 0, 0, 0, 0]
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
        self._have = 0  # bits of the slot being assembled: 1 accel, 2 gyro
        self._cur = 0  # TAG_CNT of that slot
        self._prev = -1  # TAG_CNT of the last sample delivered (-1: none yet)
        # _pending: an overflow gap waits for the first sample after it; _full: this read found one
        # before its first word (the FIFO held 512 words then)
        self._pending = self._full = self._stop = False
        self._left = 0  # words the previous FIFO read counted but left in the FIFO, at _t_prev
        self._words = 0  # words this read's status counted, at _t_status; its first word out at _t_pop
        self._t_status = self._t_pop = self._t_prev = self._clock()
        self._hold_words = self._hold_lost = 0
        # The rate: FIFO words produced by the first status read (-1: none yet) and by the latest one
        # with no overflow pending, and when.
        self._p2_a = -1
        self._t_a = self._p2_c = self._t_c = 0

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
        who = self._r(_WHO_AM_I)
        if who != _WHO_AM_I_VALUE:
            raise imu_base.IMUError("LSM6DSOX at 0x%02X: WHO_AM_I = 0x%02X, expected 0x6C" % (self.addr, who))
        self._w(_CTRL3_C, _SW_RESET | _IF_INC)
        for _ in range(100):
            if not self._r(_CTRL3_C) & _SW_RESET:
                break
        else:
            raise imu_base.IMUError("LSM6DSOX at 0x%02X: software reset did not complete" % self.addr)
        self._w(_CTRL3_C, _BDU | _IF_INC)
        self._w(_FIFO_CTRL4, _FIFO_BYPASS)  # empties the FIFO
        ctrl1 = (self._odr_code << 4) | (self._fs_xl << 2)
        ctrl2 = (self._odr_code << 4) | (self._fs_g << 1)
        self._w(_CTRL1_XL, ctrl1)
        self._w(_CTRL2_G, ctrl2)
        wtm = 2 * self.watermark
        self._w(_FIFO_CTRL1, wtm & 0xFF)
        self._w(_FIFO_CTRL2, wtm >> 8)
        bdr = (self._odr_code << 4) | self._odr_code
        self._w(_FIFO_CTRL3, bdr)
        self._w(_INT1_CTRL, _INT1_FIFO_TH)
        ff = self._r(_INTERNAL_FREQ_FINE)
        if ff > 127:
            ff -= 256
        self.rate_mhz = 6667000 * (2000 + 3 * ff) // (2000 * self._odr_coeff)
        self._hz2 = 2 * (self.rate_mhz // 1000 + 1)
        for reg, want in ((_CTRL1_XL, ctrl1), (_CTRL2_G, ctrl2), (_FIFO_CTRL3, bdr)):
            got = self._r(reg)
            if got != want:
                raise imu_base.IMUError(
                    "LSM6DSOX at 0x%02X: register 0x%02X reads 0x%02X after writing 0x%02X"
                    % (self.addr, reg, got, want)
                )
        self._reset_state()
        self._w(_FIFO_CTRL4, _FIFO_CONTINUOUS)

    def stop(self):
        self._w(_FIFO_CTRL4, _FIFO_BYPASS)
        self._w(_CTRL1_XL, 0)
        self._w(_CTRL2_G, 0)

    def read(self, out):
        self.lost = 0
        self.overflow = self.more = self._stop = self._full = False
        k = 0
        have = self._have
        if have:  # the partial slot carried over from the previous read goes first
            c = self._carry
            for i in range(6):
                out[i] = c[i]
        if self._hold_words:  # samples held back after a gap found inside the previous read
            n = self._hold_words
            self._hold_words = 0
            self.lost = self._hold_lost
            k = self._parse(self._hold, n, out, 0, True)
            self.more = True
            return self._done(out, k)
        t = self._clock()
        st = self._st
        self.bus.readfrom_mem_into(self.addr, _FIFO_STATUS1, st)
        self.reads += 1
        words = st[0] | ((st[1] & 3) << 8)
        if st[1] & _OVR_LATCHED:
            # Words were overwritten since the last status read: the partial slot may have lost its
            # partner; a gap, if any, sits right before the oldest word now in the FIFO.
            self._pending = True
            self._have = 0
        self._t_status = t
        self._words = words
        if not self._pending:
            # Words produced by now (delivered, lost, a partial slot's, waiting): the chip's real rate.
            p2 = 2 * (self.samples + self.lost_total) + words + (1 if self._have else 0)
            if self._p2_a < 0:
                self._p2_a = p2
                self._t_a = t
            self._p2_c = p2
            self._t_c = t
        limit = self._max_words - (1 if self._have else 0)
        left = 0
        if words > limit:
            left = words - limit
            words = limit
            self.more = True
        views = self._views
        j = len(views) - 1
        rem = words
        first = True
        self._t_pop = self._clock()
        while rem and not self._stop:
            size = 1 << j
            while size > rem:
                j -= 1
                size >>= 1
            self.bus.readfrom_mem_into(self.addr, _FIFO_DATA_OUT_TAG, views[j])
            self.reads += 1
            if first:
                first = False
                # Held up since the status read (an interrupt, a GC) long enough for the FIFO to fill,
                # the chip may have overwritten more: the latch tells (TAG_CNT misses 4 or 8).
                dt = time.ticks_diff(self._t_pop, t) + 2
                if not self._pending and dt * self._hz2 >= (_FIFO_WORDS - self._words) * 1000:
                    self.bus.readfrom_mem_into(self.addr, _FIFO_STATUS2, self._b1)
                    self.reads += 1
                    if self._b1[0] & _OVR_LATCHED:
                        self._pending = True
                        self._have = 0
            k = self._parse(self._raw, size, out, k, False)
            rem -= size
        if self._stop:
            self.more = True
        if self._full:  # a gap before the first word: the FIFO held all 512 words when it was read
            self._t_prev = self._t_pop
            self._left = _FIFO_WORDS - words + rem
        else:
            self._t_prev = t
            self._left = left + rem
        return self._done(out, k)

    def _done(self, out, k):
        if self._have:  # keep the partial slot for the next read
            c = self._carry
            o = k * 6
            for i in range(6):
                c[i] = out[o + i]
        self.samples += k
        if self.lost:
            self.lost_total += self.lost
        return k

    def _parse(self, raw, nwords, out, k, held):
        # Decodes nwords FIFO words from raw into out from sample k on; returns the new sample count.
        # Stops (self._stop) at a gap that is not at the start of this read, holding the rest back.
        have = self._have
        cur = self._cur
        end = nwords * _WORD
        j = 0
        while j < end:
            tag = raw[j]
            s = tag >> 3
            if s == _TAG_XL:
                bit = 1
                o = k * 6
            elif s == _TAG_GYRO:
                bit = 2
                o = k * 6 + 3
            else:  # timestamp, temperature, config-change words: not batched, skipped if present
                j += _WORD
                continue
            c = (tag >> 1) & 3
            if have and (c != cur or have & bit):
                have = 0  # that slot never completes: it is counted as lost by the slot count below
                self.dropped += 1
            cur = c
            v = raw[j + 1] | (raw[j + 2] << 8)
            out[o] = v - ((v & 0x8000) << 1)
            v = raw[j + 3] | (raw[j + 4] << 8)
            out[o + 1] = v - ((v & 0x8000) << 1)
            v = raw[j + 5] | (raw[j + 6] << 8)
            out[o + 2] = v - ((v & 0x8000) << 1)
            j += _WORD
            have |= bit
            if have != 3:
                continue
            have = 0
            prev = self._prev
            skipped = (c - prev - 1) & 3 if prev >= 0 else 0
            if self._pending:
                self._pending = False
                n = _resolve(self._estimate(), skipped)
                if n:
                    self.overflow = True
                    self.overflows += 1
                    self.lost = n
                    self._full = True
            elif skipped and not held:
                if k:
                    # A gap inside this read: deliver up to here, hold this sample and the rest.
                    self._hold_rest(raw, j, end, out, k, c)
                    self._hold_lost = skipped
                    self._have = 0
                    self._cur = c
                    self._stop = True
                    return k
                self.lost = skipped
            held = False
            self._prev = c
            k += 1
        self._have = have
        self._cur = cur
        return k

    def _estimate(self):
        # Samples lost before this read's first word, x 1000 (overflows only: long integers allowed):
        # those due after the last one delivered when that word left the FIFO less the 256 a full FIFO
        # holds, or, if larger (nothing overwritten since the status read), those due then less the level.
        r = self.rate_mhz
        span = time.ticks_diff(self._t_c, self._t_a)
        if self._p2_a >= 0 and span >= _RATE_SPAN_MS:
            r = (self._p2_c - self._p2_a) * 500000 // span  # words per ms / 2 x 10^6: mHz
        due = self._left * 500 + time.ticks_diff(self._t_pop, self._t_prev) * r // 1000
        then = self._left * 500 + time.ticks_diff(self._t_status, self._t_prev) * r // 1000
        full = due - _FIFO_WORDS * 500
        then -= self._words * 500
        return full if full > then else then

    def _hold_rest(self, raw, j, end, out, k, c):
        # hold = this sample's two words (re-encoded from out) + raw[j:end]. Rare path.
        h = self._hold
        o = k * 6
        p = 0
        for s, base in ((_TAG_GYRO, 3), (_TAG_XL, 0)):
            h[p] = (s << 3) | (c << 1)
            for i in range(3):
                v = out[o + base + i] & 0xFFFF
                h[p + 1 + 2 * i] = v & 0xFF
                h[p + 2 + 2 * i] = v >> 8
            p += _WORD
        while j < end:
            h[p] = raw[j]
            p += 1
            j += 1
        self._hold_words = p // _WORD


def _resolve(est, mod4):
    # The count of lost samples congruent to mod4 (mod 4) nearest to est / 1000, not negative.
    k = (est + 500) // 1000
    d = (mod4 - k) & 3
    if d == 3:
        n = k - 1
    elif d == 2:
        n = k + 2 if est >= k * 1000 else k - 2
    else:
        n = k + d
    while n < 0:
        n += 4
    return n
