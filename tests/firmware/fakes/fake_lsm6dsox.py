# Register-level model of the ST LSM6DSOX for firmware tests (runs on MicroPython).
#
# Models what the driver relies on (DS12814 / AN5272): WHO_AM_I 0x6C; CTRL3_C software reset and
# IF_INC auto-increment; accelerometer/gyroscope ODR and full-scale bits (writes are checked: invalid
# codes and features the model does not have raise FakeChipError); the FIFO of 512 words of 7 bytes
# (tag: sensor << 3 | TAG_CNT << 1 | parity; little-endian x, y, z), batched at the BDR, in bypass,
# FIFO (stops when full) or continuous mode (overwrites the oldest word, sets FIFO_OVR_LATCHED);
# watermark (FIFO_CTRL1/2, FIFO_WTM_IA, INT1 when routed); FIFO_STATUS1/2 (DIFF_FIFO, flags, the
# latched overrun bit clears on read); burst reads of FIFO_DATA_OUT wrap from 0x7E to 0x78; the
# real output rate 6667 Hz x (1 + 0.0015 x INTERNAL_FREQ_FINE) / coeff (plus an optional extra error
# in ppm), timed by a FakeClock.
#
# Samples come from `samples`: array('h'), interleaved acc x y z, gyr x y z per sample. A sample is
# produced (gyro word, then accel word, same TAG_CNT) every period once streaming starts; when the
# source runs out nothing more is produced. `delivered` records which source samples were read out
# whole, so a test knows exactly which ones a FIFO overflow destroyed.
import array

from fake_source import ClockLocked

WHO_AM_I = 0x6C
FIFO_WORDS = 512

_FIFO_CTRL1 = 0x07
_FIFO_CTRL2 = 0x08
_FIFO_CTRL3 = 0x09
_FIFO_CTRL4 = 0x0A
_INT1_CTRL = 0x0D
_WHO = 0x0F
_CTRL1_XL = 0x10
_CTRL2_G = 0x11
_CTRL3_C = 0x12
_FIFO_STATUS1 = 0x3A
_FIFO_STATUS2 = 0x3B
_FREQ_FINE = 0x63
_FIFO_OUT = 0x78

_COEFF = {1: 512, 2: 256, 3: 128, 4: 64, 5: 32, 6: 16, 7: 8, 8: 4, 9: 2, 10: 1}
_WRITABLE = set([0x01, 0x02, 0x04, 0x05, 0x06]) | set(range(0x07, 0x0F)) | set(range(0x10, 0x1A))
_WRITABLE |= set(range(0x56, 0x60)) | set([0x62, 0x73, 0x74, 0x75])


class FakeChipError(ValueError):
    pass


class FakeLSM6DSOX:
    def __init__(self, clock, samples=None, *, freq_fine=0, rate_ppm=0, int1=None, strict=True):
        self.clock = clock
        self.samples = samples if samples is not None else array.array("h")
        self.n_source = len(self.samples) // 6
        self.freq_fine = freq_fine
        self.rate_ppm = rate_ppm
        self.int1 = int1
        self.strict = strict
        self.errors = []
        self.writes = []
        self.fifo = bytearray(FIFO_WORDS * 7)
        self.word_src = array.array("l", [0] * FIFO_WORDS)
        self.delivered = bytearray(self.n_source)  # bit 0 accel word read, bit 1 gyro word read
        self.src = 0
        self.overwritten = 0
        self.dropped_full = 0
        self.reset()

    # -- state -----------------------------------------------------------------------------------
    def reset(self):
        self.regs = bytearray(128)
        self.regs[_WHO] = WHO_AM_I
        self.regs[_CTRL3_C] = 0x04
        self.regs[_FREQ_FINE] = self.freq_fine & 0xFF
        self.head = 0
        self.count = 0
        self.latched = False
        self.streaming = False
        self._last_us = -1
        self.t0 = 0
        self.produced = 0
        self.exhausted = False
        self._cur = bytearray(7)
        self._cur_src = -1

    def _fail(self, msg):
        self.errors.append(msg)
        if self.strict:
            raise FakeChipError("LSM6DSOX model: " + msg)

    def _rate(self):
        # (numerator, denominator) of samples per microsecond.
        code = self.regs[_CTRL1_XL] >> 4
        num = 6667 * (2000 + 3 * self.freq_fine) * (1000000 + self.rate_ppm)
        den = 2000 * _COEFF[code] * 1000000 * 1000000
        return num, den

    def _check_stream(self):
        mode = self.regs[_FIFO_CTRL4] & 7
        xl = self.regs[_CTRL1_XL] >> 4
        g = self.regs[_CTRL2_G] >> 4
        bdr = self.regs[_FIFO_CTRL3]
        on = mode in (1, 6) and (bdr & 0x0F or bdr >> 4)
        if on and not (xl == g == bdr & 0x0F == bdr >> 4 and xl in _COEFF):
            self._fail(
                "the model batches accel + gyro at one common rate only (ODR_XL %d, ODR_G %d, BDR 0x%02X)"
                % (xl, g, bdr)
            )
            on = False
        if on and not self.streaming:
            self.streaming = True
            self.t0 = self.clock.us
            self.produced = 0
        elif not on:
            self.streaming = False

    def update(self):
        # Produce every sample due by now.
        if not self.streaming or self.clock.us == self._last_us:
            return  # (no big-int arithmetic when time stood still: heap_lock tests read through here)
        self._last_us = self.clock.us
        num, den = self._rate()
        due = (self.clock.us - self.t0) * num // den
        regs = self.regs
        while self.produced < due:
            nxt = self._next(num, den)
            if nxt is None:
                self.exhausted = True
                self.produced = due
                break
            self.src, s, b = nxt
            cnt = self.produced & 3
            self._push(0x01, cnt, s[b + 3], s[b + 4], s[b + 5])
            self._push(0x02, cnt, s[b], s[b + 1], s[b + 2])
            self.src += 1
            self.produced += 1
        if self.int1 is not None:
            st2 = self._status2(False)
            ctrl = regs[_INT1_CTRL]
            self.int1.value(
                (ctrl & 0x08 and st2 & 0x80) or (ctrl & 0x10 and st2 & 0x40) or (ctrl & 0x20 and st2 & 0x20)
            )

    def _next(self, num, den):
        # The source sample the chip's next sample reads: (index, values, offset of its 6 channels),
        # or None when the source has run out. Here one source sample per chip sample; ClockLocked
        # (fake_source.py) plays the source by clock time instead.
        i = self.src
        if i >= self.n_source:
            return None
        return i, self.samples, i * 6

    def _push(self, sensor, cnt, x, y, z):
        n = FIFO_WORDS
        if self.count == n:
            if self.regs[_FIFO_CTRL4] & 7 == 1:  # FIFO mode: stops when full
                self.dropped_full += 1
                return
            self.head = (self.head + 1) % n  # continuous: the oldest word is overwritten
            self.count -= 1
            self.latched = True
            self.overwritten += 1
        i = (self.head + self.count) % n
        o = i * 7
        f = self.fifo
        tag = (sensor << 3) | (cnt << 1)
        p = tag ^ (tag >> 4)
        p ^= p >> 2
        p ^= p >> 1
        f[o] = tag | (p & 1)  # TAG_PARITY: odd parity of the tag bits above it
        f[o + 1] = x & 0xFF
        f[o + 2] = (x >> 8) & 0xFF
        f[o + 3] = y & 0xFF
        f[o + 4] = (y >> 8) & 0xFF
        f[o + 5] = z & 0xFF
        f[o + 6] = (z >> 8) & 0xFF
        self.word_src[i] = self.src * 2 + (sensor == 0x02)
        self.count += 1

    def _status2(self, clear):
        level = self.count
        wtm = self.regs[_FIFO_CTRL1] | ((self.regs[_FIFO_CTRL2] & 1) << 8)
        v = (level >> 8) & 3
        if wtm and level >= wtm:
            v |= 0x80
        if level >= FIFO_WORDS:
            v |= 0x40
        if level >= FIFO_WORDS - 1:
            v |= 0x20
        if self.latched:
            v |= 0x08
            if clear:
                self.latched = False
        return v

    def _pop_word(self):
        if self.count == 0:
            for i in range(7):
                self._cur[i] = 0
            self._cur_src = -1
            return
        o = self.head * 7
        c = self._cur
        f = self.fifo
        for i in range(7):
            c[i] = f[o + i]
        w = self.word_src[self.head]
        self.delivered[w >> 1] |= 1 if w & 1 else 2
        self.head = (self.head + 1) % FIFO_WORDS
        self.count -= 1

    def _byte(self, a):
        if 0x78 <= a <= 0x7E:
            if a == 0x78:
                self._pop_word()
            return self._cur[a - 0x78]
        if a == _FIFO_STATUS1:
            return self.count & 0xFF
        if a == _FIFO_STATUS2:
            return self._status2(True)
        return self.regs[a]

    # -- bus -------------------------------------------------------------------------------------
    def read_into(self, reg, buf):
        self.update()
        inc = self.regs[_CTRL3_C] & 0x04
        n = len(buf)
        if reg == _FIFO_OUT and inc and n % 7 == 0:  # fast path: whole FIFO words
            for w in range(n // 7):
                self._pop_word()
                o = w * 7
                for i in range(7):
                    buf[o + i] = self._cur[i]
            return
        a = reg
        for i in range(n):
            buf[i] = self._byte(a)
            if inc:
                a += 1
                if a == 0x7F:
                    a = 0x78  # FIFO burst reads wrap to the next word's tag
                elif a > 0x7F:
                    a = 0

    def write(self, reg, data):
        self.update()
        a = reg
        for v in data:
            self._write1(a, v)
            if self.regs[_CTRL3_C] & 0x04:
                a += 1

    def _write1(self, a, v):
        self.writes.append((a, v))
        if a not in _WRITABLE:
            self._fail("write 0x%02X to read-only or reserved register 0x%02X" % (v, a))
            return
        if a == _CTRL3_C:
            if v & 0x02:
                self._fail("CTRL3_C bit 1 must be 0")
            if v & 0x81:  # SW_RESET or BOOT: registers back to defaults, FIFO emptied
                self.reset()
                return
        elif a == _CTRL1_XL:
            if v & 0x01 or (v >> 4) > 10:
                self._fail("CTRL1_XL 0x%02X: bad ODR_XL or bit 0 set" % v)
        elif a == _CTRL2_G:
            if v & 0x01 or (v >> 4) > 10 or ((v >> 1) & 7) not in (0, 1, 2, 4, 6):
                self._fail("CTRL2_G 0x%02X: bad ODR_G, FS_G or bit 0 set" % v)
        elif a == _FIFO_CTRL2:
            if v & 0xF8:
                self._fail(
                    "FIFO_CTRL2 0x%02X: compression, ODR-change batching and STOP_ON_WTM are not modelled" % v
                )
        elif a == _FIFO_CTRL3:
            if (v & 0x0F) > 10 or (v >> 4) > 10:
                self._fail("FIFO_CTRL3 0x%02X: bad BDR" % v)
        elif a == _FIFO_CTRL4:
            if (v & 7) not in (0, 1, 6):
                self._fail("FIFO_CTRL4 0x%02X: the model has bypass, FIFO and continuous modes" % v)
            if v & 0xF8:
                self._fail("FIFO_CTRL4 0x%02X: timestamp/temperature batching are not modelled" % v)
            if v & 7 == 0:  # bypass empties the FIFO
                self.head = 0
                self.count = 0
                self.latched = False
        self.regs[a] = v
        if a in (_CTRL1_XL, _CTRL2_G, _FIFO_CTRL3, _FIFO_CTRL4):
            self._check_stream()

    # -- test helpers ------------------------------------------------------------------------------
    def level(self):
        self.update()
        return self.count

    def lost_indices(self):
        # Source samples produced so far that never came out whole (overwritten or left half read).
        return [i for i in range(self.src) if self.delivered[i] != 3]


class TimeLockedLSM6DSOX(ClockLocked, FakeLSM6DSOX):
    """The model reading a source locked to the clock (fake_source.py; motion tests).

    source_rate=(num, den): the source's samples per microsecond. With (6667, 32000000), the real rate
    of the 208 Hz setting, a 208 Hz chip reads the source one to one.
    """

    def __init__(self, clock, samples, source_rate, **kw):
        self._lock(source_rate)
        FakeLSM6DSOX.__init__(self, clock, samples, **kw)
