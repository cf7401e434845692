"""The decoder of codec 1 after the speed work of issue 17 (aligned gather, by-channel rows, uint32
prefix sums) gives exactly what the decoder before it gave: the same counts, the same refusals.

The previous decoder is kept here as it was. Compared on payloads with every predictor order, orders
that change from block to block within a channel (the decoder's slow path), counts that wrap modulo
2**16, full-scale values, damaged payloads, and passes of any size; and on the hour-long device file
when ``benchmarks/long_session.py`` has made it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hipsense.formats import codec, codec_decode
from hipsense.formats.device_file import read_device_file
from hipsense.formats.session_spec import BLOCK_DTYPE, BLOCK_HEADER

OLD_CHUNK = 1 << 18


def _old_decode_payloads(
    data: np.ndarray, pstart: np.ndarray, plen: np.ndarray, n: np.ndarray, channels: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode many payloads at once.

    ``data`` is the whole file as uint8 with at least 64 zero bytes after its end; ``pstart``, ``plen``
    and ``n`` give each payload's byte offset, length and sample count. Returns ``ok`` (bool per
    payload), the counts of the good payloads concatenated in order (``(sum n[ok], channels)`` int16)
    and, per payload, the problem ('' when good). Decoded in passes of :data:`OLD_CHUNK`.
    """
    pstart, plen, n = (np.asarray(x, dtype=np.int64) for x in (pstart, plen, n))
    problems, ok = [""] * len(n), np.ones(len(n), dtype=bool)
    out = np.empty((int(n.sum()), channels), dtype=np.int16)
    filled, first, ends = 0, 0, np.cumsum(n)
    while first < len(n):
        stop = ends[first] - n[first] + OLD_CHUNK
        last = max(int(np.searchsorted(ends, stop, "right")), first + 1)  # one payload at least
        while True:  # damaged payloads are marked and the rest of the pass decoded again
            idx = np.arange(first, last)[ok[first:last]]
            result = _old_decode_some(data, pstart[idx], plen[idx], n[idx], channels)
            if not isinstance(result, tuple):
                break
            for i, why in zip(idx[result[1]], result[2], strict=True):
                ok[i], problems[i] = False, why
        out[filled : filled + len(result)] = result
        filled, first = filled + len(result), last
    return ok, out[:filled] if filled < len(out) else out, problems


def _old_decode_some(data, pstart, plen, n, C):
    """Decode payloads known to be well-formed so far; ("bad", indices, problems) when some are not."""
    nb = len(n)
    if nb == 0:
        return np.zeros((0, C), dtype=np.int16)
    word = data[pstart].astype(np.int64) | (data[pstart + 1].astype(np.int64) << 8)
    orders = (word[:, None] >> (2 * np.arange(C))) & 3  # (B, C)
    nfr = 1 + (n + codec.FRAME - 1) // codec.FRAME  # frames per channel, warm-up frame included
    nnib = C * nfr
    # One row per frame (block, channel, frame order). Parameters: nibbles after the orders word.
    fb, fi = codec_decode._ragged(nnib)
    nib_pos = 2 * (pstart[fb] + codec.ORDERS_BYTES) + fi
    k = (data[nib_pos >> 1] >> ((nib_pos & 1) * 4)).astype(np.int64) & 0xF
    ch = fi // nfr[fb]
    f = fi - ch * nfr[fb]
    o = orders[fb, ch]
    nn = n[fb]
    first = np.maximum(f - 1, 0) * codec.FRAME
    lo = np.where(f == 1, o, first)
    flen = np.where(f == 0, np.minimum(o, nn), np.maximum(np.minimum(first + codec.FRAME, nn) - lo, 0))
    # Low bits: every frame's k * len bits, in order, after the parameters.
    lowlen = k * flen
    blk_first_frame = np.cumsum(nnib) - nnib
    cl = np.cumsum(lowlen)
    rel = cl - lowlen - (cl - lowlen)[blk_first_frame][fb]  # offset of the frame within its block
    blk_bits0 = (pstart + codec.ORDERS_BYTES) * 8 + 4 * nnib
    ustart = blk_bits0 + np.add.reduceat(lowlen, blk_first_frame)
    pend = pstart + plen
    bad = ustart > pend * 8
    if bad.any():
        i = np.flatnonzero(bad)
        return ("bad", i, ["payload too short for its low bits"] * len(i))
    # Values as (frames, 16) with padding; row-major order over valid slots is the sample order.
    fabs = blk_bits0[fb] + rel
    idt = np.int32 if int(pend.max()) * 8 + 512 < 2**31 else np.int64
    j16 = np.arange(codec.FRAME, dtype=idt)
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
    rb, ri = codec_decode._ragged(ublen)
    bits = np.unpackbits(data[ub0[rb] + ri], bitorder="little")
    region_bit0 = (np.cumsum(ublen) - ublen) * 8
    skip = ustart & 7  # bits of the first byte that still belong to the low bits
    sb, si = codec_decode._ragged(skip)
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
    for p in range(1, codec.MAX_ORDER + 1):
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


def _signal(rng: np.random.Generator, n: int, kind: int) -> np.ndarray:
    """One channel whose best predictor differs by ``kind``: constant, noise, a walk, a smooth curve."""
    if kind == 0:
        return np.full(n, int(rng.integers(-32768, 32768)))
    if kind == 1:
        return rng.integers(-32768, 32768, n)
    if kind == 2:
        return np.cumsum(rng.integers(-200, 200, n)) + int(rng.integers(-30000, 30000))
    return np.cumsum(np.cumsum(np.cumsum(rng.integers(-3, 4, n)))) + int(rng.integers(-1000, 1000))


def _payloads(rng: np.random.Generator, blocks: int, channels: int):
    """Encoded blocks laid one after the other: every channel's kind drawn again for each block, so a
    channel's predictor order changes between blocks of one pass; some counts at full scale."""
    parts, samples = [], []
    for _ in range(blocks):
        n = int(rng.integers(1, 200))
        x = np.stack([_signal(rng, n, int(rng.integers(0, 4))) for _ in range(channels)], axis=1)
        counts = ((x + 32768) % 65536 - 32768).astype(np.int16)  # wraps: lossless modulo 2**16
        counts[rng.random(counts.shape) < 0.01] = 32767
        samples.append(counts)
        parts.append(codec.encode_payload(counts))
    starts = np.cumsum([0] + [len(p) for p in parts[:-1]])
    data = np.frombuffer(b"".join(parts) + bytes(64), dtype=np.uint8).copy()
    return data, starts, np.array([len(p) for p in parts]), np.array([len(s) for s in samples]), samples


def _same(old, new) -> None:
    np.testing.assert_array_equal(new[0], old[0])
    assert new[1].dtype == old[1].dtype == np.int16 and new[1].shape == old[1].shape
    np.testing.assert_array_equal(new[1], old[1])
    assert new[2] == old[2]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("channels", [3, 6])
def test_the_decoder_gives_the_old_decoders_counts(seed: int, channels: int) -> None:
    rng = np.random.default_rng(seed)
    data, pstart, plen, n, samples = _payloads(rng, 40, channels)
    orders = (data[pstart].astype(int) | (data[pstart + 1].astype(int) << 8))[:, None] >> (
        2 * np.arange(channels)
    ) & 3
    assert len(np.unique(orders)) == 4  # every order, and mixed within a channel (the slow path)
    old = _old_decode_payloads(data, pstart, plen, n, channels)
    new = codec_decode.decode_payloads(data, pstart, plen, n, channels)
    _same(old, new)
    np.testing.assert_array_equal(new[1], np.concatenate(samples))
    by_channel = codec_decode.decode_payloads(data, pstart, plen, n, channels, by_channel=True)
    _same(old, by_channel)
    assert by_channel[1].T.flags.c_contiguous and new[1].flags.c_contiguous


@pytest.mark.parametrize("seed", range(4))
def test_damaged_payloads_are_refused_as_the_old_decoder_refused_them(monkeypatch, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    data, pstart, plen, n, _ = _payloads(rng, 30, 6)
    plen = plen.copy()
    for b in rng.choice(30, 6, replace=False):  # flipped bits, cut lengths, forged sample counts
        what = int(rng.integers(0, 3))
        if what == 0:
            data[pstart[b] + int(rng.integers(0, plen[b]))] ^= np.uint8(1 << int(rng.integers(0, 8)))
        elif what == 1:
            plen[b] = int(rng.integers(2, plen[b] + 1))
        else:
            n = n.copy()
            n[b] = int(rng.integers(1, 300))
    old = _old_decode_payloads(data, pstart, plen, n, 6)
    for chunk in (1, 100, 1 << 18):
        monkeypatch.setattr(codec_decode, "DECODE_CHUNK_SAMPLES", chunk)
        _same(old, codec_decode.decode_payloads(data, pstart, plen, n, 6))


HOUR = Path("/tmp/hipsense-long-session/steady-1h.hsn")


@pytest.mark.skipif(not HOUR.exists(), reason="benchmarks/long_session.py has not made the hour's file")
def test_the_hour_long_file_decodes_to_the_old_counts() -> None:
    data = np.frombuffer(HOUR.read_bytes() + bytes(64), dtype=np.uint8)
    table = read_device_file(HOUR).block_table
    at = table["offset"].astype(np.int64) + BLOCK_HEADER
    heads = np.ascontiguousarray(data[(at - BLOCK_HEADER)[:, None] + np.arange(BLOCK_HEADER)])
    plen = heads.view(BLOCK_DTYPE).ravel()["payload_len"].astype(np.int64)
    n = table["n_samples"].astype(np.int64)
    old = _old_decode_payloads(data, at, plen, n, 6)
    assert old[0].all() and len(old[1]) == 748_800
    _same(old, codec_decode.decode_payloads(data, at, plen, n, 6))
