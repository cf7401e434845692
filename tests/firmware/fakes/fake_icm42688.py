# Register-level model of the TDK InvenSense ICM-42688-P for firmware tests (runs on MicroPython).
#
# Models what the driver relies on (DS-000347): WHO_AM_I 0x47 (bank 0, REG_BANK_SEL); DEVICE_CONFIG
# soft reset; PWR_MGMT0; GYRO_CONFIG0 / ACCEL_CONFIG0 (ODR and FS codes are checked); INTF_CONFIG0
# (FIFO count in bytes or records, big or little endian count and data); TMST_CONFIG (16-bit packet
# timestamps at 1 or 16 us); FIFO_CONFIG1 (the model makes packet 3 only: header, accel, gyro, temp,
# timestamp = 16 bytes); the 2048-byte FIFO in bypass, stream (when full: drop the oldest packet, or
# the newest with stream_drop="newest") or stop-on-full mode; watermark (FIFO_CONFIG2/3, FIFO_THS in
# INT_STATUS, INT1 when routed); INT_STATUS read-to-clear (FIFO_FULL latched when the FIFO fills);
# FIFO_COUNTH/L; FIFO_DATA streaming (an empty FIFO reads as 0x80 packets); FIFO_LOST_PKT0/1 (packets
# lost since the last flush); SIGNAL_PATH_RESET FIFO_FLUSH. Invalid or unmodelled settings raise
# FakeChipError.
#
# Samples come from `samples` (array('h'), acc x y z, gyr x y z per sample), one per ODR period of the
# FakeClock (the chip's own time runs rate_ppm fast; its timestamps count chip time). The first
# `invalid_first` packets carry -32768 (sensors starting up) and consume no source sample.
# TimeLockedICM42688 reads the source locked to the clock instead (fake_source.py; motion tests).
import array

from fake_source import ClockLocked

WHO_AM_I = 0x47
FIFO_BYTES = 2048
PACKET = 16
FIFO_PACKETS = FIFO_BYTES // PACKET

_DEVICE_CONFIG = 0x11
_FIFO_CONFIG = 0x16
_INT_STATUS = 0x2D
_FIFO_COUNTH = 0x2E
_FIFO_COUNTL = 0x2F
_FIFO_DATA = 0x30
_SIGNAL_PATH_RESET = 0x4B
_INTF_CONFIG0 = 0x4C
_PWR_MGMT0 = 0x4E
_GYRO_CONFIG0 = 0x4F
_ACCEL_CONFIG0 = 0x50
_TMST_CONFIG = 0x54
_FIFO_CONFIG1 = 0x5F
_FIFO_CONFIG2 = 0x60
_FIFO_CONFIG3 = 0x61
_INT_CONFIG = 0x14
_INT_SOURCE0 = 0x65
_LOST0 = 0x6C
_LOST1 = 0x6D
_WHO = 0x75
_BANK_SEL = 0x76

# ODR code -> mHz
_ODR = {1: 32000000, 2: 16000000, 3: 8000000, 4: 4000000, 5: 2000000, 6: 1000000, 7: 200000, 8: 100000}
_ODR.update({9: 50000, 10: 25000, 11: 12500, 12: 6250, 13: 3125, 14: 1562, 15: 500000})
_RESET = {0x4C: 0x30, 0x4D: 0x91, 0x4F: 0x06, 0x50: 0x06, 0x51: 0x16, 0x52: 0x11, 0x53: 0x0D}
_RESET.update({0x54: 0x23, 0x5F: 0x00, 0x60: 0x00, 0x61: 0x00, 0x64: 0x10, 0x65: 0x10, _WHO: WHO_AM_I})
_READ_ONLY = set(range(0x1D, 0x39)) | set([_LOST0, _LOST1, _WHO])


class FakeChipError(ValueError):
    pass


class FakeICM42688:
    def __init__(
        self,
        clock,
        samples=None,
        *,
        rate_ppm=0,
        int1=None,
        stream_drop="oldest",
        invalid_first=0,
        ts_base=0xFF00,
        strict=True,
    ):
        self.clock = clock
        self.samples = samples if samples is not None else array.array("h")
        self.n_source = len(self.samples) // 6
        self.rate_ppm = rate_ppm
        self.int1 = int1
        self.stream_drop = stream_drop
        self.invalid_first = invalid_first
        self.ts_base = ts_base
        self.strict = strict
        self.errors = []
        self.writes = []
        self.fifo = bytearray(FIFO_BYTES)
        self.pkt_src = array.array("l", [0] * FIFO_PACKETS)
        self.delivered = bytearray(self.n_source)
        self.src = 0
        self.dropped = 0
        self.banks = [bytearray(128) for _ in range(5)]
        self.reset()

    # -- state -----------------------------------------------------------------------------------
    def reset(self):
        self.regs = bytearray(128)
        for a, v in _RESET.items():
            self.regs[a] = v
        self.bank = 0
        self.head = 0
        self.count = 0
        self.lost_pkt = 0
        self.full_flag = False
        self.streaming = False
        self._last_us = -1
        self.t0 = 0
        self.produced = 0
        self.exhausted = False
        self._cur = bytearray(PACKET)
        self._pos = PACKET  # read position inside _cur (PACKET: load the next packet first)

    def _fail(self, msg):
        self.errors.append(msg)
        if self.strict:
            raise FakeChipError("ICM-42688-P model: " + msg)

    def _check_stream(self):
        r = self.regs
        mode = r[_FIFO_CONFIG] >> 6
        pwr = r[_PWR_MGMT0]
        on = mode != 0 and (pwr & 3) >= 2 and ((pwr >> 2) & 3) == 3
        if on:
            if r[_GYRO_CONFIG0] & 0x0F != r[_ACCEL_CONFIG0] & 0x0F:
                self._fail("the model needs equal accel and gyro ODRs")
                on = False
            elif r[_FIFO_CONFIG1] & 3 != 3:
                self._fail("the model makes packet 3 only (FIFO_ACCEL_EN and FIFO_GYRO_EN)")
                on = False
            elif not r[_TMST_CONFIG] & 1:
                self._fail("packet timestamps need TMST_EN")
                on = False
        if on and not self.streaming:
            self.streaming = True
            self.t0 = self.clock.us
            self.produced = 0
        elif not on:
            self.streaming = False

    def _odr(self):
        return _ODR[self.regs[_ACCEL_CONFIG0] & 0x0F]

    def _rate(self):
        # (numerator, denominator) of samples per microsecond (chip time runs rate_ppm fast).
        return self._odr() * (1000000 + self.rate_ppm), 1000000000000000

    def _next(self, num, den):
        # The source sample the chip's next packet carries: (index, values, offset of its 6 channels),
        # or None when the source has run out. Here one source sample per packet; ClockLocked
        # (fake_source.py) plays the source by clock time instead.
        i = self.src
        if i >= self.n_source:
            return None
        return i, self.samples, i * 6

    def update(self):
        if not self.streaming or self.clock.us == self._last_us:
            return  # (no big-int arithmetic when time stood still: heap_lock tests read through here)
        self._last_us = self.clock.us
        num, den = self._rate()
        due = (self.clock.us - self.t0) * num // den
        while self.produced < due:
            if self.invalid_first:
                self.invalid_first -= 1
                self._push(-1)
            else:
                nxt = self._next(num, den)
                if nxt is None:
                    self.exhausted = True
                    self.produced = due
                    break
                i, s, b = nxt
                self._push(i, s, b)
                self.src = i + 1
            self.produced += 1
        if self.int1 is not None:
            r = self.regs
            wm = r[_FIFO_CONFIG2] | ((r[_FIFO_CONFIG3] & 0x0F) << 8)
            level = self._count_units()
            act = (r[_INT_SOURCE0] & 0x04 and wm and level >= wm) or (
                r[_INT_SOURCE0] & 0x02 and self.full_flag
            )
            high = r[_INT_CONFIG] & 1
            self.int1.value(bool(act) == bool(high))

    def _push(self, src, s=None, b=0):
        # One packet: source sample src (channels s[b : b + 6]), or -1: a start-up packet (-32768).
        n = FIFO_PACKETS
        if self.count == n:
            self.lost_pkt += 1
            if self.regs[_FIFO_CONFIG] >> 6 == 1 and self.stream_drop == "oldest":
                self.head = (self.head + 1) % n
                self.count -= 1
            else:  # stop-on-full, or a stream mode that drops what does not fit
                self.dropped += 1
                return
        i = (self.head + self.count) % n
        o = i * PACKET
        f = self.fifo
        little = not self.regs[_INTF_CONFIG0] & 0x10
        tmst = self.regs[_TMST_CONFIG]
        res = 16 if tmst & 0x08 else 1
        period_us = 1000000000 // self._odr()
        ts = (self.ts_base + (self.produced + 1) * period_us // res) & 0xFFFF
        f[o] = 0x68  # accel + gyro + ODR timestamp
        for c in range(6):
            v = s[b + c] if src >= 0 else -32768
            v &= 0xFFFF
            p = o + 1 + 2 * c
            if little:
                f[p] = v & 0xFF
                f[p + 1] = v >> 8
            else:
                f[p] = v >> 8
                f[p + 1] = v & 0xFF
        f[o + 13] = 25  # temperature
        if little:
            f[o + 14] = ts & 0xFF
            f[o + 15] = ts >> 8
        else:
            f[o + 14] = ts >> 8
            f[o + 15] = ts & 0xFF
        self.pkt_src[i] = src
        self.count += 1
        if self.count == n:
            self.full_flag = True

    def _count_units(self):
        if self.regs[_INTF_CONFIG0] & 0x40:
            return self.count
        return self.count * PACKET - (self._pos if self._pos < PACKET else 0)

    def _fifo_byte(self):
        if self._pos >= PACKET:
            if self.count == 0:
                self._cur[0] = 0x80
                for i in range(1, PACKET):
                    self._cur[i] = 0
            else:
                o = self.head * PACKET
                c = self._cur
                f = self.fifo
                for i in range(PACKET):
                    c[i] = f[o + i]
                src = self.pkt_src[self.head]
                if src >= 0:
                    self.delivered[src] = 3
                self.head = (self.head + 1) % FIFO_PACKETS
                self.count -= 1
            self._pos = 0
        b = self._cur[self._pos]
        self._pos += 1
        return b

    def _byte(self, a, snap):
        r = self.regs
        if a == _INT_STATUS:
            v = 0
            wm = r[_FIFO_CONFIG2] | ((r[_FIFO_CONFIG3] & 0x0F) << 8)
            if wm and snap >= wm:
                v |= 0x04
            if self.full_flag:
                v |= 0x02
                self.full_flag = False
            return v
        if a == _FIFO_COUNTH or a == _FIFO_COUNTL or a == _LOST0 or a == _LOST1:
            # (comparisons, not `in (...)`: heap_lock tests read the status through here)
            val = snap if a == _FIFO_COUNTH or a == _FIFO_COUNTL else self.lost_pkt & 0xFFFF
            little = not r[_INTF_CONFIG0] & 0x20
            first = a == _FIFO_COUNTH or a == _LOST0
            low = first == little
            return val & 0xFF if low else (val >> 8) & 0xFF
        return r[a]

    # -- bus -------------------------------------------------------------------------------------
    def read_into(self, reg, buf):
        self.update()
        n = len(buf)
        if self.bank != 0:
            b = self.banks[self.bank]
            for i in range(n):
                buf[i] = self.bank if (reg + i) & 0x7F == _BANK_SEL else b[(reg + i) & 0x7F]
            return
        if reg == _FIFO_DATA:  # FIFO_DATA streams: the address does not advance
            for i in range(n):
                buf[i] = self._fifo_byte()
            return
        snap = self._count_units()
        a = reg
        for i in range(n):
            if a == _FIFO_DATA:
                buf[i] = self._fifo_byte()
            else:
                buf[i] = self._byte(a, snap)
                a = (a + 1) & 0x7F

    def write(self, reg, data):
        self.update()
        a = reg
        for v in data:
            self._write1(a, v)
            a = (a + 1) & 0x7F

    def _write1(self, a, v):
        self.writes.append((self.bank, a, v))
        if a == _BANK_SEL:
            if v > 4:
                self._fail("REG_BANK_SEL %d" % v)
            self.bank = v & 7
            return
        if self.bank != 0:
            self.banks[self.bank][a] = v
            return
        if a in _READ_ONLY:
            self._fail("write 0x%02X to read-only register 0x%02X" % (v, a))
            return
        r = self.regs
        if a == _DEVICE_CONFIG:
            if v & 1:
                self.reset()
                return
        elif a == _SIGNAL_PATH_RESET:
            if v & 0x02:  # FIFO_FLUSH
                self.head = 0
                self.count = 0
                self.lost_pkt = 0
                self.full_flag = False
                self._pos = PACKET
            return  # self-clearing
        elif a == _GYRO_CONFIG0:
            if v & 0x0F not in _ODR or v & 0x10:
                self._fail("GYRO_CONFIG0 0x%02X: bad ODR or reserved bit" % v)
        elif a == _ACCEL_CONFIG0:
            if v & 0x0F not in _ODR or v & 0x10 or v >> 5 > 3:
                self._fail("ACCEL_CONFIG0 0x%02X: bad ODR, FS or reserved bit" % v)
        elif a == _FIFO_CONFIG:
            if v & 0x3F:
                self._fail("FIFO_CONFIG 0x%02X: reserved bits" % v)
            if v >> 6 == 0:
                self.head = 0
                self.count = 0
                self._pos = PACKET
        elif a == _FIFO_CONFIG1:
            if v & 0x10:
                self._fail("FIFO_CONFIG1: 20-bit packets are not modelled")
        elif a == _TMST_CONFIG:
            if v & 0x04:
                self._fail("TMST_CONFIG: delta timestamps are not modelled")
        elif a == _PWR_MGMT0:
            if v & 0xC0:
                self._fail("PWR_MGMT0 0x%02X: reserved bits" % v)
        r[a] = v
        if a in (_FIFO_CONFIG, _PWR_MGMT0, _GYRO_CONFIG0, _ACCEL_CONFIG0, _FIFO_CONFIG1, _TMST_CONFIG):
            self._check_stream()

    # -- test helpers ------------------------------------------------------------------------------
    def level(self):
        self.update()
        return self.count

    def lost_indices(self):
        return [i for i in range(self.src) if self.delivered[i] != 3]


class TimeLockedICM42688(ClockLocked, FakeICM42688):
    """The model reading a source locked to the clock (fake_source.py; motion tests).

    source_rate=(num, den): the source's samples per microsecond. With (1, 5000), 200 Hz, a chip at the
    200 Hz setting reads the source one to one; at 50 Hz (the watcher's nearest to 52) it averages 4.
    """

    def __init__(self, clock, samples, source_rate, **kw):
        self._lock(source_rate)
        FakeICM42688.__init__(self, clock, samples, **kw)
