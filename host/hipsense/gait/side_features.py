"""The side detector's per-sample work, window by window: each step's features from the rows around it.

:class:`~hipsense.gait.sides.SideDetector` needs, per step, its running score (the obliquity
projection), its flight test, its walking score and the sums of the bout phase fit. Each window of
rows (:mod:`hipsense.gait.windows`) gives these for the steps whose contact lies in its core and is then
dropped, so memory holds one window plus per-step arrays. Two quantities are not per step:

- the walking scale (median ``|x|`` over every sample of the segment) is found exactly from a histogram
  of the float bits of ``|x|`` plus, per window, the values near the running median
  (:class:`MedianAbs`); a window whose kept values miss the final median is read again;
- the bout phase least squares over all samples of a bout becomes per-step sums of its normal
  equations, summed per bout once the chain has signed every step (:func:`phase_fit`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from hipsense.errors import HipsenseError
from hipsense.gait.filters import lowpass, moving_mean, segment_ids, segment_reduce
from hipsense.gait.windows import Rows, Window

#: Low bits of a float64 dropped for the median histogram: 7 mantissa bits kept, bins 1/128 octave.
_SHIFT = 45
#: Histogram bins: every non-negative float64 (NaN included) has a key below this.
_BINS = 1 << (63 - _SHIFT)
#: Share of the samples, each side of the running median, whose values a window keeps.
_BAND = 0.02


@dataclass
class StepFeatures:
    """Per-step features over a segment (``None``: not asked for)."""

    #: Minimum of the low-passed ``acc_is`` over the step's flight window (m/s^2).
    flight_low: np.ndarray | None
    #: Running score: 2 x mean of obliquity x ``cos(pi (u - running_phase))`` (deg).
    projection: np.ndarray | None
    #: ``(k, 9)`` sums of the phase fit's normal equations (:func:`phase_sums`); zero for steps not asked.
    phase_sums: np.ndarray | None
    #: Walking score: each channel's window mean over its walking scale, summed.
    walk: np.ndarray | None


def step_features(
    rows: Rows,
    windows: list[Window],
    ic: np.ndarray,
    period: np.ndarray,
    length: np.ndarray,
    fs: float,
    stride_s: float,
    *,
    lowpass_hz: float,
    running_phase: float,
    flight: bool,
    gyro: bool,
    phase_steps: np.ndarray,
    walk_windows: Mapping[str, tuple[float, float]],
) -> StepFeatures:
    """Every step's features, window by window (``ic`` increasing; each contact in one core).

    ``flight``: compute the flight test; ``gyro``: the running score and, for ``phase_steps``, the phase
    sums; ``walk_windows``: walking channels and their windows in step periods.
    """
    n, k = len(rows), len(ic)
    low = np.full(k, np.inf) if flight else None
    proj = np.zeros(k) if gyro else None
    sums = np.zeros((k, 9)) if gyro else None
    means = {name: np.zeros(k) for name in walk_windows}
    scales = {name: MedianAbs() for name in walk_windows}
    # How far a step's features look from its contact (samples): its own windows, plus a stride for
    # the moving means and a second for the low-pass filters to settle. A window must hold that much.
    context = (stride_s + 1.0) * fs
    reach_lo = (
        np.minimum(0.0, min((lo for lo, _ in walk_windows.values()), default=0.0) * period * fs) - context
    )
    reach_hi = (
        np.maximum(length, max((hi for _, hi in walk_windows.values()), default=0.0) * period * fs) + context
    )
    for w in windows:
        s, e = np.searchsorted(ic, [w.core_lo, w.core_hi])
        if s == e and not walk_windows:
            continue  # no step here, and no scale needs its samples
        lic = ic[s:e] - w.lo
        if s < e and (
            (w.lo > 0 and (ic[s:e] + np.floor(reach_lo[s:e])).min() < w.lo)
            or (w.hi < n and (ic[s:e] + np.ceil(reach_hi[s:e])).max() > w.hi)
        ):
            raise HipsenseError(
                f"a step reaches out of its window [{w.lo}, {w.hi}): the overlap is too short"
            )
        if low is not None:
            low[s:e] = flight_low(_column(rows, "acc_is", w), lic, length[s:e], fs, n > 15)
        if proj is not None and sums is not None and s < e:
            obliquity = obliquity_of(_column(rows, "gyr_pa", w), fs, stride_s, lowpass_hz, n > 15)
            want = phase_steps[s:e]
            proj[s:e], part = projection_and_sums(obliquity, lic, length[s:e], running_phase, want)
            if want.any():
                sums[s:e][want] = part
            del obliquity
        for name, (lo, hi) in walk_windows.items():
            x = _walking_signal(_column(rows, name, w), fs, stride_s, lowpass_hz, n > 15)
            means[name][s:e] = window_mean(x, lic, period[s:e] * fs, lo, hi)
            scales[name].add(np.abs(x[w.core_lo - w.lo : w.core_hi - w.lo]))

    walk = None
    if walk_windows:
        walk = np.zeros(k)
        for name in walk_windows:

            def again(i: int, name: str = name) -> np.ndarray:
                w = windows[i]
                x = _walking_signal(_column(rows, name, w), fs, stride_s, lowpass_hz, n > 15)
                return np.abs(x[w.core_lo - w.lo : w.core_hi - w.lo])

            walk += means[name] / spread_of(scales[name].median(again))
    return StepFeatures(low, proj, sums, walk)


def _column(rows: Rows, name: str, w: Window) -> np.ndarray:
    """One channel of the window's rows as floats: only the channels a feature needs are read."""
    return np.asarray(rows.column(name, w.lo, w.hi), dtype=float)


def _walking_signal(
    x: np.ndarray, fs: float, stride_s: float, lowpass_hz: float, filtered: bool
) -> np.ndarray:
    """A walking channel low-passed (order 2) and freed of its moving mean over a stride."""
    x = lowpass(x, lowpass_hz, fs, 2) if filtered else x
    return x - moving_mean(x, stride_s, fs)


def flight_low(acc: np.ndarray, ic: np.ndarray, length: np.ndarray, fs: float, filtered: bool) -> np.ndarray:
    """Per step: the minimum of ``acc_is`` low-passed at 10 Hz over the last two thirds of the step."""
    acc = lowpass(acc, 10.0, fs, 2) if filtered else acc
    # Flight comes at the end of a running step (after toe-off, 60-100 % of the step); the start of
    # the window is left out so a walking step whose contact is found early does not reach back
    # into the flight before it.
    idx, owner = segment_ids(np.minimum(ic + length // 3, len(acc) - 1), np.minimum(ic + length, len(acc)))
    return segment_reduce(np.minimum, acc[idx], owner, len(ic), np.inf)


def obliquity_of(
    gyr_pa: np.ndarray, fs: float, stride_s: float, lowpass_hz: float, filtered: bool
) -> np.ndarray:
    """Obliquity (deg) at stride scale: roll rate low-passed, detrended over a stride, integrated,
    detrended again (turns, lean and gyroscope bias vary slower than a stride).

    Over a window the integral starts from another constant than over the whole segment; the second
    detrending removes it, so the window's core holds the segment's values (to rounding)."""
    x = lowpass(gyr_pa, lowpass_hz, fs, 2) if filtered else gyr_pa
    x = x - moving_mean(x, stride_s, fs)  # a new array: x may still be the caller's
    angle = np.cumsum(x, out=x)  # in place from here, the same operations in the same order
    angle /= fs
    angle -= moving_mean(angle, stride_s, fs)
    return angle


def step_phase(ic: np.ndarray, length: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Samples of each step's first period after its contact: (index, owner, samples since contact);
    the phase in step periods is ``u = since / length[owner]`` (:func:`of_phase`)."""
    idx, owner = segment_ids(ic, np.minimum(ic + length, n))
    return idx, owner, idx - ic[owner]


def of_phase(
    fn: Callable[[np.ndarray], np.ndarray], length: np.ndarray, owner: np.ndarray, since: np.ndarray
) -> np.ndarray:
    """``fn(u)`` at every sample, ``u = since / length[owner]``, each distinct ``(since, length)`` once.

    The steps of a session share a few dozen lengths, so ``fn`` (a cosine) runs on a table of a few
    thousand phases instead of every sample; the table's ``u`` is the same division, so the values are
    the same floats."""
    return of_phases((fn,), length, owner, since)[0]


def of_phases(
    fns: tuple[Callable[[np.ndarray], np.ndarray], ...],
    length: np.ndarray,
    owner: np.ndarray,
    since: np.ndarray,
) -> list[np.ndarray]:
    """:func:`of_phase` of several functions of the same phases, the table's layout found once."""
    lengths, which = np.unique(length, return_inverse=True)
    if int(lengths.sum()) >= len(since):  # few samples per length: no table
        u = since / length[owner]
        return [fn(u) for fn in fns]
    first = np.cumsum(lengths) - lengths
    table_since, table_owner = segment_ids(np.zeros(len(lengths), dtype=np.int64), lengths)
    u = table_since / lengths[table_owner]
    at = first[which[owner]] + since
    return [fn(u)[at] for fn in fns]


def projection(obliquity: np.ndarray, ic: np.ndarray, length: np.ndarray, phase: float) -> np.ndarray:
    """Per step: 2 x mean of ``obliquity * cos(pi (u - phase))`` over one step period (deg)."""
    idx, owner, since = step_phase(ic, length, len(obliquity))
    w = obliquity[idx] * of_phase(lambda u: np.cos(np.pi * (u - phase)), length, owner, since)
    count = np.bincount(owner, minlength=len(ic))
    return 2.0 * np.bincount(owner, weights=w, minlength=len(ic)) / np.maximum(count, 1)


def phase_sums(obliquity: np.ndarray, ic: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Per step, the sums of the phase fit's normal equations over its first period, unsigned:
    ``cc, cs, c, ss, s, 1, cy, sy, y`` with ``c = cos(pi u)``, ``s = sin(pi u)``, ``y`` the obliquity.

    A step's side only flips the sign of its ``y`` terms, so they are signed per step later. The
    first six depend on the step's length alone (unless the data's end cuts the step), so they are
    summed once per distinct length, in the same order as over the step's own samples."""
    return _phase_sums(obliquity, ic, length)[0]


def projection_and_sums(
    obliquity: np.ndarray, ic: np.ndarray, length: np.ndarray, phase: float, want: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(projection(obliquity, ic, length, phase), phase_sums(obliquity, ic[want], length[want]))``,
    the same floats. With ``phase`` 0 and every step wanted (a running segment) the projection's
    weights are the fit's ``c * y`` terms (``pi * (u - 0.0)`` is ``pi * u``, and ``y * c`` is
    ``c * y``), so the steps' samples, cosines and those sums are found once, not twice."""
    if phase != 0.0 or not want.all():
        sums = phase_sums(obliquity, ic[want], length[want]) if want.any() else np.zeros((0, 9))
        return projection(obliquity, ic, length, phase), sums
    sums, owner = _phase_sums(obliquity, ic, length)
    count = np.bincount(owner, minlength=len(ic))
    return 2.0 * sums[:, 6] / np.maximum(count, 1), sums


def _phase_sums(obliquity: np.ndarray, ic: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`phase_sums` and the owner of each of the steps' samples (:func:`step_phase`)."""
    n, k = len(obliquity), len(ic)
    idx, owner, since = step_phase(ic, length, n)
    c, s = of_phases((lambda u: np.cos(np.pi * u), lambda u: np.sin(np.pi * u)), length, owner, since)
    y = obliquity[idx]
    out = np.empty((k, 9))
    for j, v in enumerate((c * y, s * y, y)):
        out[:, 6 + j] = np.bincount(owner, weights=v, minlength=k)
    lengths, which = np.unique(length, return_inverse=True)
    table_since, table_owner = segment_ids(np.zeros(len(lengths), dtype=np.int64), lengths)
    out[:, :6] = _basis_sums(table_since / lengths[table_owner], table_owner, len(lengths))[which]
    cut = np.flatnonzero(ic + length > n)  # the last steps of the data, if any
    if len(cut):
        _, cut_owner, cut_since = step_phase(ic[cut], length[cut], n)
        out[cut, :6] = _basis_sums(cut_since / length[cut][cut_owner], cut_owner, len(cut))
    return out, owner


def _basis_sums(u: np.ndarray, owner: np.ndarray, k: int) -> np.ndarray:
    """Per owner: the sums of ``cc, cs, c, ss, s, 1`` (``c = cos(pi u)``, ``s = sin(pi u)``)."""
    c, s = np.cos(np.pi * u), np.sin(np.pi * u)
    out = np.empty((k, 6))
    for j, v in enumerate((c * c, c * s, c, s * s, s, None)):
        out[:, j] = np.bincount(owner, weights=v, minlength=k)
    return out


def phase_fit(sums: np.ndarray, signed: np.ndarray) -> tuple[float, float]:
    """Phase (step periods, in (-1, 1]) and amplitude (deg) of the side-signed obliquity of one bout:
    least squares on ``[cos(pi u), sin(pi u), 1]`` from its steps' :func:`phase_sums`."""
    total = sums.sum(axis=0)
    if total[5] < 8:
        return float("nan"), 0.0
    cc, cs, c, ss, s, one = total[:6]
    gram = np.array([[cc, cs, c], [cs, ss, s], [c, s, one]])
    rhs = signed @ sums[:, 6:9]
    (a, b, _), *_ = np.linalg.lstsq(gram, rhs, rcond=None)  # min-norm, as on the samples, if singular
    return float(math.atan2(b, a) / math.pi), float(math.hypot(a, b))


def window_mean(x: np.ndarray, ic: np.ndarray, length: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Mean of ``x`` over ``[ic + lo * length, ic + hi * length)`` for every contact (cumulative sums)."""
    n = len(x)
    a = np.clip(ic + np.rint(lo * length).astype(np.int64), 0, n - 1)
    b = np.clip(ic + np.rint(hi * length).astype(np.int64), a + 1, n)
    c = np.r_[0.0, np.cumsum(x)]
    return (c[b] - c[a]) / (b - a)


def spread_of(median: float) -> float:
    """A robust scale from a median absolute value: the value, or 1 when it is zero, NaN or absent."""
    return median if median > 0 else 1.0


class MedianAbs:
    """The exact median of non-negative values given window by window, without keeping them all.

    Each window adds a histogram of its values' float bits (monotone in the value for non-negative
    floats) and keeps the values within :data:`_BAND` of the median of everything added so far. At the
    end the histogram names the bins that hold the middle rank(s); their values come from the windows
    that kept them, or from ``again(i)`` (window ``i``'s values, computed again) for a window that
    did not. The result is the value ``np.median`` gives over all the values (NaN if one is NaN)."""

    def __init__(self) -> None:
        self.hist = np.zeros(_BINS, dtype=np.int64)
        self.kept: list[tuple[int, int, np.ndarray]] = []  # per window: bins lo..hi and its values there
        self.nan = False
        self.used = (_BINS, -1)  # the lowest and highest bin with a value

    def add(self, values: np.ndarray) -> None:
        """Add one window's values (non-negative)."""
        keys = np.ascontiguousarray(values, dtype=np.float64).view(np.int64) >> _SHIFT
        if not len(keys):
            self.kept.append((0, _BINS - 1, values))  # nothing to keep, nothing to read again
            return
        first, last = int(keys.min()), int(keys.max())
        self.hist[first : last + 1] += np.bincount(keys - first)
        self.used = (min(self.used[0], first), max(self.used[1], last))
        self.nan |= bool(np.isnan(values).any())
        # the band around the median so far, from the bins in use only
        cdf = np.cumsum(self.hist[self.used[0] : self.used[1] + 1])
        band = np.searchsorted(cdf, [(0.5 - _BAND) * cdf[-1], (0.5 + _BAND) * cdf[-1]], side="right")
        lo, hi = (self.used[0] + int(b) for b in band)
        self.kept.append((lo, hi, values[(keys >= lo) & (keys <= hi)]))

    def median(self, again: Callable[[int], np.ndarray]) -> float:
        """The median of all values added (NaN when none or when one is NaN)."""
        cdf = np.cumsum(self.hist)
        total = int(cdf[-1])
        if total == 0 or self.nan:
            return float("nan")
        r1, r2 = (total - 1) // 2, total // 2
        t1, t2 = (int(t) for t in np.searchsorted(cdf, [r1, r2], side="right"))
        below = int(cdf[t1 - 1]) if t1 else 0
        parts = []
        for i, (lo, hi, values) in enumerate(self.kept):
            if not (lo <= t1 and t2 <= hi):
                values = again(i)  # this window kept other values than the median's
            keys = np.ascontiguousarray(values, dtype=np.float64).view(np.int64) >> _SHIFT
            parts.append(values[(keys >= t1) & (keys <= t2)])
        middle = np.sort(np.concatenate(parts))
        pair = middle[[r1 - below, r2 - below]]
        return float(pair[0]) if r1 == r2 else float(np.mean(pair))
