"""The vectorised decoder of codec 1 (the block codec of the session file; :mod:`codec` has the encoder).

The byte layout is ``docs/session-format.md`` ("Codec 1"); the constants of the layout live here and
:mod:`hipsense.formats.codec` uses them too. A pass decodes many payloads at once: the Rice parameters
from the nibbles, the low bits by one gather, the unary parts from the positions of the one bits, then
zigzag and the predictors undone. What it costs per value is a few passes over small integer arrays;
the values come out channel by channel (``(channels, samples)``), the order the recording keeps them.
"""

from __future__ import annotations

import numpy as np

#: Samples per Rice frame.
FRAME = 16
#: Highest predictor order.
MAX_ORDER = 3
#: Bytes in front of the bitstream: the u16 with the predictor orders, 2 bits per channel.
ORDERS_BYTES = 2

#: Samples per decoder pass: its temporaries take ~250 bytes per sample (a 10 h file at once: 1.5 GB).
DECODE_CHUNK_SAMPLES = 1 << 18


class PayloadError(ValueError):
    """A payload does not decode (only raised by helpers; the file reader reports it per block)."""


def _ragged(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of the given lengths: the group id of every item and its index within the group."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    gid = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    return gid, np.arange(total, dtype=np.int64) - starts[gid]


def decode_payloads(
    data: np.ndarray,
    pstart: np.ndarray,
    plen: np.ndarray,
    n: np.ndarray,
    channels: int,
    *,
    by_channel: bool = False,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode many payloads at once.

    ``data`` is the whole file as uint8 with at least 64 zero bytes after its end; ``pstart``, ``plen``
    and ``n`` give each payload's byte offset, length and sample count. Returns ``ok`` (bool per
    payload), the counts of the good payloads concatenated in order (``(sum n[ok], channels)`` int16;
    with ``by_channel`` a view of a ``(channels, sum n[ok])`` array, each channel contiguous) and, per
    payload, the problem ('' when good). Decoded in passes of :data:`DECODE_CHUNK_SAMPLES`.
    """
    pstart, plen, n = (np.asarray(x, dtype=np.int64) for x in (pstart, plen, n))
    problems, ok = [""] * len(n), np.ones(len(n), dtype=bool)
    out = np.empty((channels, int(n.sum())), dtype=np.int16)
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
        if first == 0 and last == len(n):  # one pass decoded it all: its array is the output
            out = result
        else:
            out[:, filled : filled + result.shape[1]] = result
        filled, first = filled + result.shape[1], last
    out = out[:, :filled]
    return ok, out.T if by_channel else np.ascontiguousarray(out.T), problems


def _low_bits(data: np.ndarray, voff: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The ``k``-bit values at bit offsets ``voff`` (``(frames, 16)``; ``k`` per frame) as int32.

    Each value is inside the 4 bytes from its first byte on. Those 4-byte words are copied once into an
    aligned array (one per byte of the range the offsets cover), so the gather per value is an aligned
    ``take``: numpy gathers from an unaligned view of the bytes about 5x slower. ``voff`` is used up.
    """
    if voff.size == 0:
        return np.zeros(voff.shape, dtype=np.int32)
    lo, hi = int(voff.min()) >> 3, (int(voff.max()) >> 3) + 1
    # the 4 bytes from each byte on (the 64 zero bytes after the file keep them inside)
    unaligned = np.ndarray((len(data) - 3,), dtype="<u4", buffer=data, strides=(data.strides[0],))
    words = np.ascontiguousarray(unaligned[lo:hi])
    voff -= 8 * lo  # from the range's first byte: the same bit within its byte
    w = words.take(np.right_shift(voff, 3, dtype=np.int64))  # take() wants intp indices
    shift = np.bitwise_and(voff, 7, out=voff)  # int64 offsets only in files past 256 MiB
    w >>= shift.view(np.uint32) if shift.dtype == np.int32 else shift.astype(np.uint32)
    w &= ((1 << k) - 1).astype(np.uint32)[:, None]
    return w.view(np.int32)


def _decode_some(data, pstart, plen, n, C):
    """Decode payloads known to be well-formed so far: ``(C, sum n)`` int16, or ("bad", indices,
    problems) when some are not."""
    nb = len(n)
    if nb == 0:
        return np.zeros((C, 0), dtype=np.int16)
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
    voff = np.multiply.outer(k.astype(idt), j16)  # an outer product, then one broadcast add: 4x
    voff += fabs.astype(idt)[:, None]  # faster than both broadcasts in one expression
    w = _low_bits(data, voff, k)
    del voff
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
    # Each block's first unary part counts from its own region's start; a block of no samples has
    # none (its start would be the next block's, or past the end).
    held = values > 0
    vstart = (np.cumsum(values) - values)[held]
    q[vstart] = ones[vstart] - (region_bit0 + skip)[held]
    z = np.zeros(w.shape, dtype=np.int32)
    z[valid] = q
    z <<= k.astype(np.int32)[:, None]
    z |= w
    z = z[valid]
    del w, valid, q, ones
    # Zigzag back (in int32, as a value above 16 bits from a forged payload must give what it gave),
    # then modulo 2**16 from here on.
    sign = z & 1
    np.negative(sign, out=sign)
    z >>= 1
    z ^= sign
    del sign
    # From (block, channel, sample) order to one row per channel: a small loop over blocks. The rows
    # are uint32 (int32 wraps into them modulo 2**32): their cumulative sums are 4x faster than
    # uint16's, and modulo 2**16 all of it is the same.
    out = np.empty((C, int(n.sum())), dtype=np.uint32)
    r = s = 0
    for m in n.tolist():
        out[:, r : r + m] = z[s : s + C * m].reshape(C, m)
        r += m
        s += C * m
    del z
    # Undo the predictors: order p = p cumulative sums restarting at every block, channel by channel.
    starts, lengths = (np.cumsum(n) - n)[n > 0], n[n > 0]
    for row, order in zip(out, orders.T[:, n > 0], strict=True):
        for p in range(1, MAX_ORDER + 1):
            sel = order >= p
            if not sel.any():
                break
            seg_sum = np.add.reduceat(row, starts, dtype=np.uint32)
            if sel.all():  # the usual case: one order per channel, summed in place
                row[starts[1:]] -= seg_sum[:-1]
                np.cumsum(row, dtype=np.uint32, out=row)
            else:
                x = row.copy()
                x[starts[1:]] -= seg_sum[:-1]
                np.cumsum(x, dtype=np.uint32, out=x)
                np.copyto(row, x, where=np.repeat(sel, lengths))
    return out.astype(np.uint16).view(np.int16)


def decode_payload(payload: bytes, n: int, channels: int) -> np.ndarray:
    """Decode one payload to ``(n, channels)`` int16 (raises :class:`PayloadError`)."""
    buf = np.frombuffer(bytes(payload) + bytes(64), dtype=np.uint8)
    ok, counts, problems = decode_payloads(
        buf, np.array([0]), np.array([len(payload)]), np.array([n]), channels
    )
    if not ok[0]:
        raise PayloadError(problems[0])
    return counts


__all__ = [
    "DECODE_CHUNK_SAMPLES",
    "FRAME",
    "MAX_ORDER",
    "ORDERS_BYTES",
    "PayloadError",
    "decode_payload",
    "decode_payloads",
]
