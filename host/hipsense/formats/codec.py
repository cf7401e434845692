"""Lossless block codec for int16 IMU counts (codec 1 of the device session file).

The byte-level specification is ``docs/session-format.md`` ("Codec 1"); the firmware twin is
``firmware/codec.py``. Both encoders make identical bytes from identical input; the golden vectors in
``tests/vectors/`` prove it.

In short, per block and per channel:

1. a fixed polynomial predictor of order ``p`` in 0..3 (as FLAC's fixed predictors): the residual is the
   ``p``-th difference of the channel, with the samples before the block start taken as 0, wrapped to
   int16 (arithmetic modulo 2**16, so every residual fits 16 bits and the codec is lossless for any
   input);
2. zigzag mapping to unsigned (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...);
3. Rice coding in frames of 16 samples, each frame with its own parameter ``k`` in 0..15 (one nibble).
   The first ``p`` residuals of each channel (the warm-up, large because they hold the first sample)
   form their own frame. The low ``k`` bits of every value go into one stream, the unary high parts
   (``z >> k`` zero bits, then a one bit) into a second stream. Splitting the streams is what lets the
   decoder run vectorised over a whole file: the low bits sit at offsets known from the parameters
   alone, and the unary parts are found with one ``flatnonzero`` over the unary bits.

The encoder makes only exact, deterministic choices: ``k`` is the smallest minimiser of the frame's Rice
cost, the order is the smallest minimiser of the channel's cost, and the number of samples in a block is
the largest that fits (the cost grows monotonically with the sample count, so "largest that fits" is
well defined and both encoders find it whatever search they use).
"""

from __future__ import annotations

import numpy as np

#: Samples per Rice frame.
FRAME = 16
#: Highest predictor order.
MAX_ORDER = 3
#: Highest Rice parameter (a nibble).
K_MAX = 15
#: Bytes in front of the bitstream: the u16 with the predictor orders, 2 bits per channel.
ORDERS_BYTES = 2

_KS = np.arange(K_MAX + 1, dtype=np.int64)


class PayloadError(ValueError):
    """A payload does not decode (only raised by helpers; the file reader reports it per block)."""


def n_frames(n: int) -> int:
    """Rice frames of one channel in a block of ``n`` samples, the warm-up frame included."""
    return 1 + -(-n // FRAME)


def zigzag_residuals(x: np.ndarray) -> np.ndarray:
    """Zigzagged residuals of every predictor order: ``(MAX_ORDER + 1, channels, n)`` int64.

    ``x`` is ``(n, channels)`` int16 counts of one block (samples before it count as 0).
    """
    d = np.asarray(x, dtype=np.int64).T
    out = np.empty((MAX_ORDER + 1,) + d.shape, dtype=np.int64)
    out[0] = d
    for p in range(1, MAX_ORDER + 1):
        d = np.diff(d, axis=-1, prepend=0)
        out[p] = d
    e = ((out + 32768) & 0xFFFF) - 32768
    return (e << 1) ^ (e >> 63)


def _best_k(z: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rice cost and parameter of frames: ``z`` is ``(..., values)`` with 0 where not in the frame.

    Returns the smallest cost over k = 0..15 and the smallest k reaching it.
    """
    cost = (z[..., None, :] >> _KS[:, None]).sum(-1) + lens[..., None] * (_KS + 1)
    k = cost.argmin(-1)
    return np.take_along_axis(cost, k[..., None], -1)[..., 0], k


def _frames(z: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split residuals ``(orders, C, n)`` into the warm-up frame and the 16-sample frames.

    Returns warm ``(orders, C, MAX_ORDER)``, warm lengths ``(orders, 1)``, frames
    ``(orders, C, F, 16)`` and frame lengths ``(orders, 1, F)``; values outside a frame are 0.
    """
    orders = np.arange(MAX_ORDER + 1)[:, None]
    nf = -(-n // FRAME)
    pos = np.arange(nf * FRAME)
    regular = (pos[None, :] >= orders) & (pos[None, :] < n)  # (orders, F*16)
    zp = np.zeros(z.shape[:2] + (nf * FRAME,), dtype=np.int64)
    zp[..., :n] = z
    frames = np.where(regular[:, None, :], zp, 0).reshape(z.shape[:2] + (nf, FRAME))
    flens = regular.reshape(MAX_ORDER + 1, nf, FRAME).sum(-1)[:, None, :]
    wpos = np.arange(MAX_ORDER)
    wmask = (wpos[None, :] < orders) & (wpos[None, :] < n)  # (orders, MAX_ORDER)
    warm = np.where(wmask[:, None, :], zp[..., :MAX_ORDER], 0)
    wlens = wmask.sum(-1)[:, None]
    return warm, wlens, frames, flens


def analyse(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Choose the orders and Rice parameters for exactly these samples.

    Returns ``orders`` ``(C,)``, ``ks`` ``(C, n_frames(n))`` (warm-up frame first), the zigzagged
    residuals of the chosen orders ``(C, n)`` and the payload size in bytes.
    """
    x = np.asarray(x)
    n, c = x.shape
    if n == 0:
        raise ValueError("a block holds at least one sample")
    z = zigzag_residuals(x)
    warm, wlens, frames, flens = _frames(z, n)
    wcost, wk = _best_k(warm, wlens)  # (orders, C)
    fcost, fk = _best_k(frames, flens)  # (orders, C, F)
    total = wcost + fcost.sum(-1)
    orders = total.argmin(0)  # smallest order on ties
    ch = np.arange(c)
    ks = np.concatenate([wk[orders, ch][:, None], fk[orders, ch]], axis=1)
    bits = 4 * c * n_frames(n) + int(total[orders, ch].sum())
    return orders, ks, z[orders, ch], ORDERS_BYTES + (bits + 7) // 8


# Rice cost of a frame for every k from its bit counts: sum(z >> k) = sum_b count_b * 2**(b - k), b >= k.
_W = np.array([[2.0 ** (b - k) if b >= k else 0.0 for k in range(K_MAX + 1)] for b in range(16)])


_ONES = np.ones(FRAME, dtype=np.float32)


def _bit_counts(z: np.ndarray) -> np.ndarray:
    """Per value, its 16 bits: ``(..., 16)`` uint8 (z must be in 0..65535)."""
    return np.unpackbits(z.astype("<u2")[..., None].view(np.uint8), axis=-1, bitorder="little")


def _costs_from_counts(counts: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest Rice cost and smallest k reaching it, from bit counts ``(..., 16)`` and value counts."""
    cost = np.rint(counts @ _W).astype(np.int64) + np.asarray(lens)[..., None] * (_KS + 1)
    k = cost.argmin(-1)
    return np.take_along_axis(cost, k[..., None], -1)[..., 0], k


def plan_block(
    x: np.ndarray, capacity: int, max_samples: int
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """How the encoder codes the start of ``x`` (``(n, C)`` int16) as one block payload.

    Returns ``n``, the largest number of leading samples (at most ``max_samples``) whose payload fits
    ``capacity`` bytes, and for those samples the orders ``(C,)``, Rice parameters ``(C, n_frames(n))``
    and residuals ``(C, n)``: the same as :func:`analyse` of ``x[:n]``. The payload size never falls
    when a sample is added, so this is the count the firmware's streaming search finds too.
    """
    x = np.asarray(x)
    L = min(len(x), max_samples)
    if L == 0:
        raise ValueError("no samples to encode")
    c = x.shape[1]
    ch = np.arange(c)
    z = zigzag_residuals(x[:L])
    warm, wlens, frames, flens = _frames(z, L)
    nf = frames.shape[2]
    bits = _bit_counts(frames)  # (orders, C, F, 16 values, 16 bits)
    # Bits set per frame: a float32 matmul sums over the 16 values faster than a reduction.
    fcost, fk = _costs_from_counts(_ONES @ bits.astype(np.float32), flens)  # (orders, C, F)
    # Warm-up frame for n = 1, 2, 3+ samples (it only changes while n < MAX_ORDER).
    wbits = np.cumsum(_bit_counts(warm), axis=-2, dtype=np.int64)  # (orders, C, 3 prefixes, 16)
    wcost, wk = _costs_from_counts(wbits, np.minimum(wlens[..., None], np.arange(1, MAX_ORDER + 1)))

    def size(frames_used, cost: np.ndarray) -> np.ndarray:
        # cost: (..., orders, C) data bits per order and channel
        nbits = 4 * c * (1 + np.asarray(frames_used)) + cost.min(-2).sum(-1)
        return ORDERS_BYTES + (nbits + 7) // 8

    def warm_at(nn: np.ndarray) -> np.ndarray:  # (len(nn), orders, C)
        return np.moveaxis(wcost[..., np.minimum(nn, MAX_ORDER) - 1], -1, 0)

    # Sizes at the ends of the frames, n = min(16 j, L).
    cum = np.moveaxis(np.cumsum(fcost, axis=-1), -1, 0)  # (F, orders, C)
    ends = np.minimum(FRAME * np.arange(1, nf + 1), L)
    sizes = size(np.arange(1, nf + 1), cum + warm_at(ends))
    j = int(np.count_nonzero(sizes <= capacity))
    last_cost = last_k = None
    if j == nf:
        n = L
    else:
        # Frame j (0-based) does not fit whole: the longest prefix of it that fits.
        regular = (FRAME * j + np.arange(FRAME))[None, :] >= np.arange(MAX_ORDER + 1)[:, None]
        mcount = np.cumsum(regular, axis=-1)[:, None, :]  # (orders, 1, 16 prefixes)
        pcost, pk = _costs_from_counts(np.cumsum(bits[:, :, j], axis=-2, dtype=np.int64), mcount)
        before = cum[j - 1] if j > 0 else 0
        m_all = np.arange(1, FRAME + 1)
        psizes = size(j + 1, np.moveaxis(pcost, -1, 0) + before + warm_at(FRAME * j + m_all))
        m = int(np.count_nonzero(psizes <= capacity))
        n = FRAME * j + m
        if n == 0:
            raise ValueError(f"block payload capacity {capacity} bytes cannot hold one sample")
        if m > 0:
            last_cost, last_k = pcost[..., m - 1], pk[..., m - 1]
    # Whole frames 0..j-1, then the partial frame j when there is one.
    total = wcost[..., min(n, MAX_ORDER) - 1] + fcost[..., :j].sum(-1)
    ks = [wk[..., min(n, MAX_ORDER) - 1][..., None], fk[..., :j]]
    if last_cost is not None and last_k is not None:
        total = total + last_cost
        ks.append(last_k[..., None])
    orders = total.argmin(0)
    ks = np.concatenate(ks, axis=-1)[orders, ch]
    return n, orders, ks, z[orders, ch, :n]


def fit_block(x: np.ndarray, capacity: int, max_samples: int) -> int:
    """The number of leading samples of ``x`` one block holds (see :func:`plan_block`)."""
    return plan_block(x, capacity, max_samples)[0]


def pack(orders: np.ndarray, ks: np.ndarray, z: np.ndarray) -> bytes:
    """The payload bytes for chosen ``orders`` ``(C,)``, parameters ``ks`` and residuals ``z`` ``(C, n)``."""
    c, n = z.shape
    orders = np.asarray(orders, dtype=np.int64)
    ks = np.asarray(ks, dtype=np.int64)
    word = int((orders << (2 * np.arange(c))).sum())
    # Parameter of every value: warm-up values take the warm-up frame's k.
    pos = np.arange(n)
    frame_of = np.where(pos[None, :] < orders[:, None], 0, 1 + pos[None, :] // FRAME)  # (C, n)
    kv = np.take_along_axis(ks, frame_of, axis=1).ravel()
    zv = z.ravel()
    nib = ks.ravel()
    nib_bits = ((nib[:, None] >> np.arange(4)) & 1).ravel()
    starts = np.cumsum(kv) - kv
    lb = int(kv.sum())
    rel = np.arange(lb) - np.repeat(starts, kv)
    low_bits = (np.repeat(zv, kv) >> rel) & 1
    q = zv >> kv
    ub = int((q + 1).sum())
    unary = np.zeros(ub, dtype=np.int64)
    unary[np.cumsum(q + 1) - 1] = 1
    bits = np.concatenate([nib_bits, low_bits, unary]).astype(np.uint8)
    return word.to_bytes(ORDERS_BYTES, "little") + np.packbits(bits, bitorder="little").tobytes()


def encode_payload(x: np.ndarray) -> bytes:
    """Encode exactly these samples (``(n, C)`` int16) as one payload."""
    orders, ks, z, size = analyse(x)
    out = pack(orders, ks, z)
    assert len(out) == size
    return out


# --------------------------------------------------------------------------------------------------
# Vectorised decoder


def _ragged(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of the given lengths: the group id of every item and its index within the group."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    gid = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    return gid, np.arange(total, dtype=np.int64) - starts[gid]


#: Samples per decoder pass: its temporaries take ~250 bytes per sample (a 10 h file at once: 1.5 GB).
DECODE_CHUNK_SAMPLES = 1 << 18


def decode_payloads(
    data: np.ndarray, pstart: np.ndarray, plen: np.ndarray, n: np.ndarray, channels: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode many payloads at once.

    ``data`` is the whole file as uint8 with at least 64 zero bytes after its end; ``pstart``, ``plen``
    and ``n`` give each payload's byte offset, length and sample count. Returns ``ok`` (bool per
    payload), the counts of the good payloads concatenated in order (``(sum n[ok], channels)`` int16)
    and, per payload, the problem ('' when good). Decoded in passes of :data:`DECODE_CHUNK_SAMPLES`.
    """
    pstart, plen, n = (np.asarray(x, dtype=np.int64) for x in (pstart, plen, n))
    problems, ok = [""] * len(n), np.ones(len(n), dtype=bool)
    out = np.empty((int(n.sum()), channels), dtype=np.int16)
    filled, first, ends = 0, 0, np.cumsum(n)
    while first < len(n):
        stop = ends[first] - n[first] + DECODE_CHUNK_SAMPLES
        last = max(int(np.searchsorted(ends, stop, "right")), first + 1)  # one payload at least
        while True:  # damaged payloads are marked and the rest of the pass decoded again
            idx = np.arange(first, last)[ok[first:last]]
            result = _decode_some(data, pstart[idx], plen[idx], n[idx], channels)
            if not isinstance(result, tuple):
                break
            for i, why in zip(idx[result[1]], result[2], strict=True):
                ok[i], problems[i] = False, why
        out[filled : filled + len(result)] = result
        filled, first = filled + len(result), last
    return ok, out[:filled] if filled < len(out) else out, problems


def _decode_some(data, pstart, plen, n, C):
    """Decode payloads known to be well-formed so far; ("bad", indices, problems) when some are not."""
    nb = len(n)
    if nb == 0:
        return np.zeros((0, C), dtype=np.int16)
    word = data[pstart].astype(np.int64) | (data[pstart + 1].astype(np.int64) << 8)
    orders = (word[:, None] >> (2 * np.arange(C))) & 3  # (B, C)
    nfr = 1 + (n + FRAME - 1) // FRAME  # frames per channel, warm-up frame included
    nnib = C * nfr
    # One row per frame (block, channel, frame order). Parameters: nibbles after the orders word.
    fb, fi = _ragged(nnib)
    nib_pos = 2 * (pstart[fb] + ORDERS_BYTES) + fi
    k = (data[nib_pos >> 1] >> ((nib_pos & 1) * 4)).astype(np.int64) & 0xF
    ch = fi // nfr[fb]
    f = fi - ch * nfr[fb]
    o = orders[fb, ch]
    nn = n[fb]
    first = np.maximum(f - 1, 0) * FRAME
    lo = np.where(f == 1, o, first)
    flen = np.where(f == 0, np.minimum(o, nn), np.maximum(np.minimum(first + FRAME, nn) - lo, 0))
    # Low bits: every frame's k * len bits, in order, after the parameters.
    lowlen = k * flen
    blk_first_frame = np.cumsum(nnib) - nnib
    cl = np.cumsum(lowlen)
    rel = cl - lowlen - (cl - lowlen)[blk_first_frame][fb]  # offset of the frame within its block
    blk_bits0 = (pstart + ORDERS_BYTES) * 8 + 4 * nnib
    ustart = blk_bits0 + np.add.reduceat(lowlen, blk_first_frame)
    pend = pstart + plen
    bad = ustart > pend * 8
    if bad.any():
        i = np.flatnonzero(bad)
        return ("bad", i, ["payload too short for its low bits"] * len(i))
    # Values as (frames, 16) with padding; row-major order over valid slots is the sample order.
    fabs = blk_bits0[fb] + rel
    idt = np.int32 if int(pend.max()) * 8 + 512 < 2**31 else np.int64
    j16 = np.arange(FRAME, dtype=idt)
    valid = j16[None, :] < flen[:, None].astype(idt)
    voff = fabs.astype(idt)[:, None] + j16[None, :] * k.astype(idt)[:, None]
    # 4 bytes at every offset by one gather (unaligned view; the 64 zero bytes keep it inside).
    words = np.ndarray((len(data) - 3,), dtype="<u4", buffer=data, strides=(data.strides[0],))
    w = words[voff >> 3]
    w >>= (voff & 7).astype(np.uint32)
    w &= ((1 << k) - 1).astype(np.uint32)[:, None]
    w = w.view(np.int32)
    # Unary parts: the one bits of each block's unary region, in order.
    ub0 = ustart >> 3
    ublen = pend - ub0
    rb, ri = _ragged(ublen)
    bits = np.unpackbits(data[ub0[rb] + ri], bitorder="little")
    region_bit0 = (np.cumsum(ublen) - ublen) * 8
    skip = ustart & 7  # bits of the first byte that still belong to the low bits
    sb, si = _ragged(skip)
    bits[region_bit0[sb] + si] = 0
    values = n * C
    ones = np.flatnonzero(bits.view(bool))
    del bits
    # One bits per block: where its region starts and ends among the sorted one-bit positions.
    per_block = np.searchsorted(ones, region_bit0 + 8 * ublen) - np.searchsorted(ones, region_bit0)
    bad = per_block != values
    if bad.any():
        i = np.flatnonzero(bad)
        return ("bad", i, [f"payload holds {per_block[j]} codes, expected {values[j]}" for j in i])
    q = np.empty(len(ones), dtype=np.int64)
    np.subtract(ones[1:], ones[:-1], out=q[1:])  # in place: no temporary of the difference
    q[1:] -= 1
    vstart = np.cumsum(values) - values
    q[vstart] = ones[vstart] - (region_bit0 + skip)
    z = np.zeros(w.shape, dtype=np.int32)
    z[valid] = q
    z <<= k.astype(np.int32)[:, None]
    z |= w
    z = z[valid]
    del w, valid, q, ones
    # Zigzag back, modulo 2**16.
    e = ((z >> 1) ^ -(z & 1)).astype(np.uint16)  # modulo 2**16 from here: uint16 wraps by itself
    # Undo the predictors: order p = p cumulative sums restarting at every (block, channel) segment.
    seg_len = np.repeat(n, C)
    seg_start = np.cumsum(seg_len) - seg_len
    seg_order = orders.ravel()
    for p in range(1, MAX_ORDER + 1):
        sel = seg_order >= p
        if not sel.any():
            break
        x = e.copy()
        seg_sum = np.add.reduceat(e, seg_start, dtype=np.uint16)
        x[seg_start[1:]] -= seg_sum[:-1]
        cs = np.cumsum(x, dtype=np.uint16)
        if sel.all():
            e = cs
        else:
            e = np.where(np.repeat(sel, seg_len), cs, e)
    v = e.view(np.int16)
    # From (block, channel, sample) order to rows of samples: a small loop over blocks.
    out = np.empty((int(n.sum()), C), dtype=np.int16)
    r = s = 0
    for m in n.tolist():
        out[r : r + m] = v[s : s + C * m].reshape(C, m).T
        r += m
        s += C * m
    return out


def decode_payload(payload: bytes, n: int, channels: int) -> np.ndarray:
    """Decode one payload to ``(n, channels)`` int16 (raises :class:`PayloadError`)."""
    buf = np.frombuffer(bytes(payload) + bytes(64), dtype=np.uint8)
    ok, counts, problems = decode_payloads(
        buf, np.array([0]), np.array([len(payload)]), np.array([n]), channels
    )
    if not ok[0]:
        raise PayloadError(problems[0])
    return counts
