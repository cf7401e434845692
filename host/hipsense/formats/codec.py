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

# The layout's constants and the decoder (codec_decode.py), re-exported: callers use ``codec.*``.
from hipsense.formats.codec_decode import DECODE_CHUNK_SAMPLES as DECODE_CHUNK_SAMPLES
from hipsense.formats.codec_decode import FRAME as FRAME
from hipsense.formats.codec_decode import MAX_ORDER as MAX_ORDER
from hipsense.formats.codec_decode import ORDERS_BYTES as ORDERS_BYTES
from hipsense.formats.codec_decode import PayloadError as PayloadError
from hipsense.formats.codec_decode import decode_payload as decode_payload
from hipsense.formats.codec_decode import decode_payloads as decode_payloads

#: Highest Rice parameter (a nibble).
K_MAX = 15

_KS = np.arange(K_MAX + 1, dtype=np.int64)


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
