# Lossless block codec for int16 IMU counts: codec 1 of the session file (docs/session-format.md).
#
# The host twin is host/hipsense/formats/codec.py; both make identical bytes from identical input
# (tests/vectors/ and tests/firmware/test_format_firmware.py check it).
#
# Per block and channel: fixed predictor of order 0..3 (p-th difference, samples before the block
# start count as 0, wrapped to int16), zigzag, Rice coding in frames of 16 values with one k (0..15)
# per frame; the first p values (warm-up) are a frame of their own. Payload = u16 orders (2 bits per
# channel) + bitstream, LSB first: all k nibbles, then all low bits, then all unary high parts.
#
# Written for plain MicroPython (the test interpreter has no native emitter): preallocated buffers,
# ints only, no allocation per sample. Values stay below 2**30 (small ints on a 32-bit port).
# Speed note: the hot loops are _analyse (4 residual orders per value) and encode(); on the device a
# @micropython.viper version of _analyse and _rice would cut the time several-fold. It is left out on
# purpose until it can be tested (the WebAssembly test port has no viper).
import array

from micropython import const

FRAME = const(16)
MAX_ORDER = const(3)
K_MAX = const(15)
ORDERS_BYTES = const(2)
_NORD = const(4)  # orders 0..3


def _rice(z, lo, hi, s=-1):
    # Rice cost of z[lo:hi] with the smallest best k, as (cost << 4) | k; s: their sum, if known.
    # The cost is convex in k, so a local search from the mean's estimate finds the smallest global
    # minimiser; one pass evaluates k - 1, k and k + 1 together (usually the estimate is the best).
    n = hi - lo
    if n <= 0:
        return 0
    if s < 0:
        s = 0
        i = lo
        while i < hi:
            s += z[i]
            i += 1
    k = 0
    while k < K_MAX and (n << (k + 1)) <= s:
        k += 1
    km = k - 1 if k else 0
    kp = k + 1 if k < K_MAX else K_MAX
    cm = n * (km + 1)
    c = n * (k + 1)
    cp = n * (kp + 1)
    i = lo
    while i < hi:
        v = z[i]
        cm += v >> km
        c += v >> k
        cp += v >> kp
        i += 1
    if k and cm <= c:
        k = km
        c = cm
        while k:
            c2 = _cost(z, lo, hi, k - 1, n)
            if c2 > c:
                break
            k -= 1
            c = c2
    elif k < K_MAX and cp < c:
        k = kp
        c = cp
        while k < K_MAX:
            c2 = _cost(z, lo, hi, k + 1, n)
            if c2 >= c:
                break
            k += 1
            c = c2
    return (c << 4) | k


def _cost(z, lo, hi, k, n):
    c = n * (k + 1)
    i = lo
    while i < hi:
        c += z[i] >> k
        i += 1
    return c


class BlockEncoder:
    """Codes one block at a time, growing it frame by frame until the payload is full.

    ``buf`` is the staging ``array('h')`` of interleaved samples of the block being built (sample i,
    channel c at ``buf[i * channels + c]``). Use: ``reset()``; ``push_frame(buf)`` each time 16 more
    samples are in ``buf`` (False: that frame does not fit whole); ``tail(buf, avail)`` for the longest
    fitting count up to ``avail`` (at most 16 beyond the pushed frames); ``encode(buf, n, out, off)``.
    """

    def __init__(self, channels, max_samples, capacity):
        self.channels = channels
        self.max_samples = max_samples
        self.capacity = capacity
        self.nf = (max_samples + FRAME - 1) // FRAME + 1  # frames per (channel, order), warm-up first
        n = channels * _NORD
        self.ktab = bytearray(n * self.nf)
        self.tot = array.array("l", [0] * n)  # bits of the pushed frames (warm-up included)
        self.fc = array.array("l", [0] * n)  # bits of the frame analysed last, not yet pushed
        self.z0 = array.array("H", [0] * FRAME)
        self.z1 = array.array("H", [0] * FRAME)
        self.z2 = array.array("H", [0] * FRAME)
        self.z3 = array.array("H", [0] * FRAME)
        self.zc = array.array("H", [0] * (channels * max_samples))
        self.orders = bytearray(channels)
        self.frames = 0
        # State of a tail search and of an encode done in steps (all made here: setting a new
        # attribute later would allocate).
        self._ta = 0
        self._tph = 0
        self._tlo = 0
        self._thi = 0
        self._eb = self.zc
        self._en = 0
        self._eo = self.ktab
        self._eoff = 0
        self._pos = 0
        self._acc = 0
        self._nb = 0
        self._ph = 3
        self._c = 0
        self._i = 0
        self._f = 0

    def reset(self):
        n = self.channels * _NORD
        tot = self.tot
        fc = self.fc
        for i in range(n):
            tot[i] = 0
            fc[i] = 0
        self.frames = 0

    def _analyse(self, buf, a, m, f):
        # Rice costs and parameters of frame f (positions a .. a+m-1) for every channel and order.
        C = self.channels
        z0 = self.z0
        z1 = self.z1
        z2 = self.z2
        z3 = self.z3
        fc = self.fc
        ktab = self.ktab
        nf = self.nf
        for c in range(C):
            i = a * C + c
            if a:
                x1 = buf[i - C]
                x2 = buf[i - 2 * C]
                x3 = buf[i - 3 * C]
            else:
                x1 = x2 = x3 = 0
            d1p = x1 - x2
            d2p = d1p - (x2 - x3)
            s0 = s1 = s2 = s3 = 0
            t = 0
            while t < m:
                x = buf[i]
                d1 = x - x1
                d2 = d1 - d1p
                d3 = d2 - d2p
                v = (x << 1) ^ (x >> 15)
                z0[t] = v
                s0 += v
                e = ((d1 + 32768) & 0xFFFF) - 32768
                v = (e << 1) ^ (e >> 15)
                z1[t] = v
                s1 += v
                e = ((d2 + 32768) & 0xFFFF) - 32768
                v = (e << 1) ^ (e >> 15)
                z2[t] = v
                s2 += v
                e = ((d3 + 32768) & 0xFFFF) - 32768
                v = (e << 1) ^ (e >> 15)
                z3[t] = v
                s3 += v
                x1 = x
                d1p = d1
                d2p = d2
                i += C
                t += 1
            base = c * _NORD
            for p in range(_NORD):
                if p == 0:
                    z = z0
                    s = s0
                elif p == 1:
                    z = z1
                    s = s1
                elif p == 2:
                    z = z2
                    s = s2
                else:
                    z = z3
                    s = s3
                row = (base + p) * nf
                if a:
                    r = _rice(z, 0, m, s)
                    cost = r >> 4
                else:
                    w = p if p < m else m
                    r = _rice(z, 0, w)
                    ktab[row] = r & 15
                    cost = r >> 4
                    r = _rice(z, w, m)
                    cost += r >> 4
                ktab[row + f] = r & 15
                fc[base + p] = cost

    def _bytes(self, frames):
        # Payload bytes with the pushed frames plus the frame analysed last; frames = frames counted.
        C = self.channels
        tot = self.tot
        fc = self.fc
        bits = 4 * C * (1 + frames)
        for c in range(C):
            b = c * _NORD
            best = tot[b] + fc[b]
            for p in range(1, _NORD):
                v = tot[b + p] + fc[b + p]
                if v < best:
                    best = v
            bits += best
        return ORDERS_BYTES + ((bits + 7) >> 3)

    def push_frame(self, buf):
        j = self.frames
        self._analyse(buf, j * FRAME, FRAME, j + 1)
        if self._bytes(j + 1) > self.capacity:
            return False
        tot = self.tot
        fc = self.fc
        for i in range(self.channels * _NORD):
            tot[i] += fc[i]
            fc[i] = 0
        self.frames = j + 1
        return True

    def tail(self, buf, avail):
        # Longest fitting block of at most avail samples; avail - 16 * pushed frames is in 0..16.
        self.tail_begin(avail)
        n = self.tail_step(buf)
        while n < 0:
            n = self.tail_step(buf)
        return n

    def tail_begin(self, avail):
        # tail() in steps of one frame analysis each: tail_begin(avail), then tail_step(buf) until
        # it returns the sample count (a binary search over the partial frame's 0..15 samples).
        self._ta = avail
        self._tph = 1

    def tail_step(self, buf):
        # One probe of the search started by tail_begin(): -1 while searching, else the count.
        j = self.frames
        a = j * FRAME
        ph = self._tph
        if ph == 1:
            hi = self._ta - a
            if hi > 0:
                self._analyse(buf, a, hi, j + 1)
                if self._bytes(j + 1) <= self.capacity:
                    return self._ta
                self._tlo = 0
                self._thi = hi - 1
                self._tph = 2
                return -1
        elif ph == 2:
            lo = self._tlo
            hi = self._thi
            if lo < hi:
                mid = (lo + hi + 1) >> 1
                self._analyse(buf, a, mid, j + 1)
                if self._bytes(j + 1) <= self.capacity:
                    self._tlo = mid
                else:
                    self._thi = mid - 1
                return -1
            if lo > 0:
                self._analyse(buf, a, lo, j + 1)
                return a + lo
        fc = self.fc
        for i in range(self.channels * _NORD):
            fc[i] = 0
        if a == 0:
            raise ValueError("block too small for one sample")
        return a

    def encode(self, buf, n, out, off):
        # Payload of the first n samples into out[off:]; returns its length. The analysis (push_frame
        # and tail) must describe exactly these n samples.
        self.encode_begin(buf, n, out, off)
        plen = self.encode_step(1 << 30)
        while plen < 0:
            plen = self.encode_step(1 << 30)
        return plen

    def encode_begin(self, buf, n, out, off):
        # encode() in steps: picks each channel's order, writes the orders and the k nibbles, then
        # encode_step(budget) writes the rest a bounded number of values at a time. buf (the first n
        # samples), out[off:] and the analysis must stay untouched until the last step.
        C = self.channels
        tot = self.tot
        fc = self.fc
        ktab = self.ktab
        nf = self.nf
        orders = self.orders
        nfr = (n + FRAME - 1) // FRAME
        word = 0
        for c in range(C):
            b = c * _NORD
            best = tot[b] + fc[b]
            o = 0
            for p in range(1, _NORD):
                v = tot[b + p] + fc[b + p]
                if v < best:
                    best = v
                    o = p
            orders[c] = o
            word |= o << (2 * c)
        out[off] = word & 0xFF
        out[off + 1] = word >> 8
        pos = off + ORDERS_BYTES
        acc = 0
        nb = 0
        # Rice parameters, one nibble per frame.
        for c in range(C):
            row = (c * _NORD + orders[c]) * nf
            for f in range(nfr + 1):
                acc |= ktab[row + f] << nb
                nb += 4
                if nb >= 8:
                    out[pos] = acc & 0xFF
                    acc >>= 8
                    nb -= 8
                    pos += 1
        self._eb = buf
        self._en = n
        self._eo = out
        self._eoff = off
        self._pos = pos
        self._acc = acc
        self._nb = nb
        # Phases: per channel residuals (0) then low bits (1); then per channel the unary parts (2).
        self._ph = 0
        self._c = 0
        self._i = 0
        self._f = 0

    def encode_step(self, budget):
        # Up to `budget` values of the started encode (a value counts once per phase); returns -1
        # while work remains, else the payload length. Allocates nothing.
        C = self.channels
        n = self._en
        buf = self._eb
        out = self._eo
        zc = self.zc
        ms = self.max_samples
        ktab = self.ktab
        nf = self.nf
        orders = self.orders
        ph = self._ph
        c = self._c
        i = self._i
        f = self._f
        acc = self._acc
        nb = self._nb
        pos = self._pos
        while budget > 0 and ph < 3:
            o = orders[c]
            zb = c * ms
            lim = i + budget
            if lim > n:
                lim = n
            budget -= lim - i
            if ph == 0:
                _residuals(buf, C, c, i, lim, o, zc, zb)
                i = lim
            else:
                row = (c * _NORD + o) * nf
                while i < lim:
                    # Frame f: the warm-up (the first o values), then 16 values each up to n.
                    if f == 0:
                        fe = o if o < n else n
                    else:
                        fe = f * FRAME
                        if fe > n:
                            fe = n
                    if i >= fe:
                        f += 1
                        continue
                    k = ktab[row + f]
                    e = fe if fe < lim else lim
                    if ph == 1:
                        # Low bits.
                        mask = (1 << k) - 1
                        while i < e:
                            acc |= (zc[zb + i] & mask) << nb
                            nb += k
                            while nb >= 8:
                                out[pos] = acc & 0xFF
                                acc >>= 8
                                nb -= 8
                                pos += 1
                            i += 1
                    else:
                        # Unary high parts: q zero bits, then a one.
                        while i < e:
                            nb += zc[zb + i] >> k
                            while nb >= 8:
                                out[pos] = acc & 0xFF
                                acc >>= 8
                                nb -= 8
                                pos += 1
                            acc |= 1 << nb
                            nb += 1
                            if nb == 8:
                                out[pos] = acc
                                acc = 0
                                nb = 0
                                pos += 1
                            i += 1
            if i == n:
                i = 0
                f = 0
                if ph == 0:
                    ph = 1
                elif ph == 1:
                    if c + 1 < C:
                        c += 1
                        ph = 0
                    else:
                        c = 0
                        ph = 2
                elif c + 1 < C:
                    c += 1
                else:
                    ph = 3
        if ph == 3:
            if nb:
                out[pos] = acc & 0xFF
                pos += 1
                nb = 0
                acc = 0
        self._ph = ph
        self._c = c
        self._i = i
        self._f = f
        self._acc = acc
        self._nb = nb
        self._pos = pos
        return pos - self._eoff if ph == 3 else -1


def _residuals(buf, C, c, i0, i1, o, zc, zb):
    # Zigzagged order-o residuals of channel c, samples i0..i1-1, into zc[zb + i0:]. Samples before
    # the block start count as 0.
    i = i0 * C + c
    end = i1 * C
    j = zb + i0
    if o == 0:
        while i < end:
            x = buf[i]
            zc[j] = (x << 1) ^ (x >> 15)
            i += C
            j += 1
        return
    x1 = buf[i - C] if i0 > 0 else 0
    x2 = buf[i - 2 * C] if i0 > 1 else 0
    x3 = buf[i - 3 * C] if i0 > 2 else 0
    while i < end:
        x = buf[i]
        if o == 1:
            e = x - x1
        elif o == 2:
            e = x - 2 * x1 + x2
        else:
            e = x - 3 * x1 + 3 * x2 - x3
        e = ((e + 32768) & 0xFFFF) - 32768
        zc[j] = (e << 1) ^ (e >> 15)
        x3 = x2
        x2 = x1
        x1 = x
        i += C
        j += 1


def encode_block(samples, n, channels, out, off=0):
    """Payload for exactly n samples (interleaved array('h')) into out[off:]; returns its length.

    Allocates an encoder: for tests and tools. The session writer (log.py) keeps one encoder and
    grows blocks to fill them instead.
    """
    enc = BlockEncoder(channels, n if n > 0 else 1, 1 << 30)
    j = 0
    while (j + 1) * FRAME <= n:
        enc.push_frame(samples)
        j += 1
    enc.tail(samples, n)
    return enc.encode(samples, n, out, off)
