"""Small signal helpers shared by the gait algorithms: zero-phase low-pass, moving mean, segment reductions.

Everything here is vectorised numpy/scipy. The segment helpers work on many disjoint ``[start, end)``
index ranges of one array at once (one per step or per gap between steps), so the algorithms need no
per-step Python loop.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, signal


def lowpass(x: np.ndarray, cutoff_hz: float, sampling_rate_hz: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass (``sosfiltfilt``): no time shift, so event times are not delayed.

    ``order`` is the order of one pass; running it forward and backward squares the magnitude response
    (-6 dB at ``cutoff_hz``, twice the roll-off). A cut-off at or above 0.45 x the sampling rate returns
    the signal unfiltered.
    """
    x = np.asarray(x, dtype=float)
    if cutoff_hz >= 0.45 * sampling_rate_hz:
        return x.copy()
    sos = signal.butter(order, cutoff_hz, fs=sampling_rate_hz, output="sos")
    padlen = min(3 * (2 * len(sos) + 1), len(x) - 1)
    return signal.sosfiltfilt(sos, x, padlen=max(padlen, 0))


def moving_mean(x: np.ndarray, window_s: float, sampling_rate_hz: float) -> np.ndarray:
    """Centred moving average over ``window_s`` seconds (edges use the nearest value)."""
    size = max(1, int(round(window_s * sampling_rate_hz)))
    return ndimage.uniform_filter1d(np.asarray(x, dtype=float), size=size, mode="nearest")


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of ``True`` in a boolean array."""
    m = np.concatenate(([False], np.asarray(mask, dtype=bool), [False])).astype(np.int8)
    d = np.diff(m)
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def segment_ids(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flattened sample indices of many ``[start, end)`` ranges and the range each belongs to.

    Returns ``(index, owner)`` with ``len(index) == sum(ends - starts)``.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.maximum(np.asarray(ends, dtype=np.int64) - starts, 0)
    owner = np.repeat(np.arange(len(starts)), lengths)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return starts[owner] + offset, owner


def segment_argext(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, *, largest: bool) -> np.ndarray:
    """Index of the maximum (``largest=True``) or minimum of ``values`` in each ``[start, end)`` range.

    The first index wins a tie. Empty ranges give -1. ``values`` must not contain NaN.
    """
    n_seg = len(starts)
    idx, owner = segment_ids(starts, ends)
    v = np.asarray(values)[idx]
    ext = np.full(n_seg, -np.inf if largest else np.inf)
    (np.maximum if largest else np.minimum).at(ext, owner, v)
    hit = v == ext[owner]
    big = np.iinfo(np.int64).max
    out = np.full(n_seg, big, dtype=np.int64)
    np.minimum.at(out, owner[hit], idx[hit])
    out[out == big] = -1
    return out


def segment_first_true(mask: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """First index where ``mask`` is true in each ``[start, end)`` range, or -1."""
    big = np.iinfo(np.int64).max
    out = np.full(len(starts), big, dtype=np.int64)
    idx, owner = segment_ids(starts, ends)
    hit = mask[idx]
    np.minimum.at(out, owner[hit], idx[hit])
    out[out == big] = -1
    return out


def segment_quantile(
    values: np.ndarray, mask: np.ndarray, starts: np.ndarray, ends: np.ndarray, q: float
) -> np.ndarray:
    """Quantile ``q`` (0..1, linear interpolation) of ``values`` where ``mask`` holds, in each
    ``[start, end)`` range (NaN where none)."""
    out = np.full(len(starts), np.nan)
    idx, owner = segment_ids(starts, ends)
    keep = mask[idx]
    idx, owner = idx[keep], owner[keep]
    if len(idx) == 0:
        return out
    v = values[idx]
    order = np.lexsort((v, owner))
    v, owner = v[order], owner[order]
    counts = np.bincount(owner, minlength=len(starts))
    first = np.cumsum(counts) - counts
    has = counts > 0
    pos = q * (counts[has] - 1)
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    hi = np.minimum(lo + 1, counts[has] - 1)
    out[has] = (1 - frac) * v[first[has] + lo] + frac * v[first[has] + hi]
    return out
