"""Small signal helpers shared by the gait algorithms: zero-phase low-pass, moving mean, segment reductions.

Everything here is vectorised numpy/scipy. scipy is imported on first use, not with the module: the
store and the registry import this module through :mod:`hipsense.gait.metrics`, and ``import
scipy.signal`` costs about a second of CPU that ``hipsense sessions`` or ``flags`` never needs. The segment helpers work on many disjoint ``[start, end)``
index ranges of one array at once (one per step or per gap between steps), so the algorithms need no
per-step Python loop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from hipsense.timebase import nominal_rate


def lowpass(x: np.ndarray, cutoff_hz: float, sampling_rate_hz: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass (``sosfiltfilt``): no time shift, so event times are not delayed.

    ``order`` is the order of one pass; running it forward and backward squares the magnitude response
    (-6 dB at ``cutoff_hz``, twice the roll-off). A cut-off at or above 0.45 x the sampling rate returns
    the signal unfiltered.
    """
    x = np.asarray(x, dtype=float)
    if cutoff_hz >= 0.45 * sampling_rate_hz:
        return x.copy()
    sos = butter_sos(order, cutoff_hz, sampling_rate_hz)
    padlen = min(3 * (2 * len(sos) + 1), len(x) - 1)
    return zero_phase(sos, x, padlen=max(padlen, 0))


def zero_phase(sos: np.ndarray, x: np.ndarray, *, padlen: int | None = None) -> np.ndarray:
    """``scipy.signal.sosfiltfilt(sos, x, padlen=padlen)`` (odd padding), the same floats, cheaper.

    For a 1-D float64 ``x`` both passes run in place in one padded buffer (scipy copies the signal
    three times: the padding, then each pass) and the filter's initial state comes from a cache
    (``sosfilt_zi`` solves a small linear system per section: 0.06-0.08 ms, as long as filtering
    20 s at 208 Hz). Anything else goes to scipy. tests/host/test_fast_kernels.py compares the two.
    """
    x = np.asarray(x)
    sos = np.asarray(sos)
    kernel = _in_place_kernel()
    if (
        kernel is None
        or x.dtype != np.float64
        or x.ndim != 1
        or sos.dtype != np.float64
        or not sos.flags.c_contiguous
    ):
        return _sosfiltfilt(sos, x, padlen)
    n_sections = len(sos)
    if padlen is None:  # scipy's default: three times the taps, less the zeros both ends share
        ntaps = 2 * n_sections + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
        edge = 3 * ntaps
    else:
        edge = int(padlen)
    n = len(x)
    if edge < 1 or n <= edge or sos.ndim != 2 or sos.shape[1] != 6:
        return _sosfiltfilt(sos, x, padlen)
    zi = _zi(sos)
    ext = np.empty((1, n + 2 * edge))
    e = ext[0]
    # odd extension, as scipy's odd_ext: 2 * end - mirrored neighbours
    np.subtract(2 * x[:1], x[edge:0:-1], out=e[:edge])
    e[edge : edge + n] = x
    np.subtract(2 * x[-1:], x[-2 : -(edge + 2) : -1], out=e[edge + n :])
    kernel(sos, ext, (zi * e[:1]).reshape(1, n_sections, 2))
    state = (zi * e[-1:]).reshape(1, n_sections, 2)
    e[:] = e[::-1]  # the backward pass runs on the reversed forward output
    kernel(sos, ext, state)
    return e[::-1][edge:-edge]


def _sosfiltfilt(sos: np.ndarray, x: np.ndarray, padlen: int | None) -> np.ndarray:
    from scipy import signal

    return signal.sosfiltfilt(sos, x, padlen=padlen)


def _zi(sos: np.ndarray) -> np.ndarray:
    """``sosfilt_zi(sos)``, computed once per design (the same floats every call)."""
    key = (sos.shape, sos.tobytes())
    zi = _ZI_CACHE.get(key)
    if zi is None:
        if len(_ZI_CACHE) >= 64:
            _ZI_CACHE.clear()
        from scipy import signal

        zi = signal.sosfilt_zi(sos)
        zi.flags.writeable = False
        _ZI_CACHE[key] = zi
    return zi


_ZI_CACHE: dict[tuple[tuple[int, ...], bytes], np.ndarray] = {}


@functools.cache
def _in_place_kernel() -> Callable[..., None] | None:
    """scipy's compiled kernel behind sosfilt, which filters a C-contiguous (rows, n) array in place;
    ``None`` in another scipy layout (every call then goes to ``sosfiltfilt``)."""
    try:
        from scipy.signal._sosfilt import _sosfilt
    except ImportError:  # pragma: no cover - another scipy layout
        return None
    return _sosfilt


def butter_sos(order: int, cutoff_hz: float, sampling_rate_hz: float, btype: str = "low") -> np.ndarray:
    """``scipy.signal.butter(order, cutoff_hz, btype, fs=sampling_rate_hz, output="sos")``, designed once
    per ``(order, cutoff, rate, type)`` in a process: a session asks for the same few designs many
    times (and a batch, for every session). A fresh copy each call, so a caller may change it."""
    return _butter_design(int(order), float(cutoff_hz), float(sampling_rate_hz), btype).copy()


@functools.lru_cache(maxsize=64)
def _butter_design(order: int, cutoff_hz: float, sampling_rate_hz: float, btype: str) -> np.ndarray:
    from scipy import signal

    return signal.butter(order, cutoff_hz, btype=btype, fs=sampling_rate_hz, output="sos")


def every_nth(sampling_rate_hz: float, target_hz: float) -> int:
    """Keep every n-th sample to come down to about ``target_hz`` (at least 1), at the
    :func:`~hipsense.timebase.nominal_rate` (``fs // 50`` gave 1 at 99.99992 Hz and 2 at 100 Hz, and walking bouts and
    contacts moved with it)."""
    return max(int(nominal_rate(sampling_rate_hz) // target_hz), 1)


def moving_mean(x: np.ndarray, window_s: float, sampling_rate_hz: float) -> np.ndarray:
    """Centred moving average over ``window_s`` seconds (edges use the nearest value)."""
    from scipy import ndimage

    size = max(1, int(round(window_s * sampling_rate_hz)))
    return ndimage.uniform_filter1d(np.asarray(x, dtype=float), size=size, mode="nearest")


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of ``True`` in a boolean array."""
    m = np.concatenate(([False], np.asarray(mask, dtype=bool), [False])).astype(np.int8)
    d = np.diff(m)
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def segment_ids(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flattened sample indices of many ``[start, end)`` ranges and the range each belongs to.

    Returns ``(index, owner)`` with ``len(index) == sum(ends - starts)``; ``owner`` is non-decreasing.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.maximum(np.asarray(ends, dtype=np.int64) - starts, 0)
    owner = np.repeat(np.arange(len(starts)), lengths)
    # index = start + (position - first position of the range): one repeat of the shift, not two
    idx = np.arange(len(owner), dtype=np.int64)
    idx += np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return idx, owner


def first_per_range(owner: np.ndarray, idx: np.ndarray, n_ranges: int, *, last: bool = False) -> np.ndarray:
    """The first (``last=False``) or last entry of ``idx`` per range, -1 for a range without one.

    ``owner`` and ``idx`` are :func:`segment_ids`' output or a masked part of it: owners non-decreasing
    and indices rising within each range, so the first entry of a range is its least index (what
    ``np.minimum.at`` would give) and the last its greatest, found without a scatter.
    """
    out = np.full(n_ranges, -1, dtype=np.int64)
    if len(owner):
        change = owner[1:] != owner[:-1]
        lead = np.r_[change, True] if last else np.r_[True, change]
        out[owner[lead]] = idx[lead]
    return out


def segment_reduce(
    ufunc: np.ufunc, values: np.ndarray, owner: np.ndarray, n_ranges: int, fill: float
) -> np.ndarray:
    """``ufunc`` (``np.maximum``/``np.minimum``) of ``values`` over each range's block, ``fill`` for an
    empty range; ``owner`` non-decreasing (:func:`segment_ids`), so each range is one contiguous block."""
    counts = np.bincount(owner, minlength=n_ranges)
    has = counts > 0
    out = np.full(n_ranges, fill, dtype=float)
    if has.any():
        out[has] = ufunc.reduceat(values, (np.cumsum(counts) - counts)[has])
    return out


def segment_argext(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, *, largest: bool) -> np.ndarray:
    """Index of the maximum (``largest=True``) or minimum of ``values`` in each ``[start, end)`` range.

    The first index wins a tie. Empty ranges give -1. ``values`` must not contain NaN.
    """
    idx, owner = segment_ids(starts, ends)
    return argext_of_ids(values, idx, owner, len(starts), largest=largest)


def argext_of_ids(
    values: np.ndarray, idx: np.ndarray, owner: np.ndarray, n_seg: int, *, largest: bool
) -> np.ndarray:
    """:func:`segment_argext` of ranges already laid out by :func:`segment_ids` (``idx``, ``owner``),
    for a caller that holds them anyway."""
    if len(idx) == 0:
        return np.full(n_seg, -1, dtype=np.int64)
    v = np.asarray(values)[idx]
    # Each range is one contiguous block of v (owner is non-decreasing): reduce block by block.
    lengths = np.bincount(owner, minlength=n_seg)
    has = lengths > 0
    ext = (np.maximum if largest else np.minimum).reduceat(v, (np.cumsum(lengths) - lengths)[has])
    hit = v == np.repeat(ext, lengths[has])
    return first_per_range(owner[hit], idx[hit], n_seg)  # the first index wins a tie


def segment_first_true(mask: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """First index where ``mask`` is true in each ``[start, end)`` range, or -1."""
    idx, owner = segment_ids(starts, ends)
    hit = mask[idx]
    return first_per_range(owner[hit], idx[hit], len(starts))


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
    v = _sorted_in_blocks(values[idx], owner, len(starts))
    counts = np.bincount(owner, minlength=len(starts))
    first = np.cumsum(counts) - counts
    has = counts > 0
    pos = q * (counts[has] - 1)
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    hi = np.minimum(lo + 1, counts[has] - 1)
    out[has] = (1 - frac) * v[first[has] + lo] + frac * v[first[has] + hi]
    return out


#: Ranges with at most this many values are sorted as rows of one padded 2-D array.
_ROW_SORT_WIDTH = 128


def _sorted_in_blocks(v: np.ndarray, owner: np.ndarray, n_blocks: int) -> np.ndarray:
    """``v`` sorted within each block of equal, non-decreasing ``owner`` (a stable sort, NaN last):
    the order ``np.lexsort((v, owner))`` gives, without sorting all values against each other."""
    counts = np.bincount(owner, minlength=n_blocks)
    first = np.cumsum(counts) - counts
    short = (counts > 0) & (counts <= _ROW_SORT_WIDTH)
    out = np.empty_like(v)
    if short.any():
        # Short blocks (a gap's flight samples, tens of values) as NaN-padded rows: NaN sorts last,
        # so each row starts with its own values in order.
        row_of = np.cumsum(short) - 1
        in_short = short[owner]
        own = owner[in_short]
        col = np.flatnonzero(in_short) - first[own]
        rows = np.full((int(short.sum()), int(counts[short].max())), np.nan, dtype=v.dtype)
        values = v[in_short]
        rows[row_of[own], col] = values
        # Equal floats are the same bits, except 0.0 and -0.0 (and NaNs): without those, any sort
        # gives the stable sort's rows, and numpy's default (vectorised quicksort) is 4x faster here.
        rows.sort(axis=1, kind="stable" if ((values == 0) | np.isnan(values)).any() else None)
        out[in_short] = rows[row_of[own], col]
    long_ = ~short[owner]
    if long_.any():
        sub, own = v[long_], owner[long_]
        out[long_] = sub[np.lexsort((sub, own))]
    return out
