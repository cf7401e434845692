"""The walking detector's braking steps: the method of
:class:`~hipsense.gait.walking.WalkingContactDetector` on the forward acceleration alone (steps 1-5 of
its docstring), used where the step-evidence score cannot run (no gyroscope, or ``evidence=False``),
and the helpers both methods share (the braking envelope, the local step period)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd
from scipy import ndimage, signal

from hipsense.gait.filters import lowpass, segment_argext


class BrakingParameters(Protocol):
    """The parameters of :class:`~hipsense.gait.walking.WalkingContactDetector` this method reads."""

    min_braking_g_per_s: float
    strong_fraction: float
    weak_fraction: float
    min_step_s: float
    min_step_fraction: float
    stop_after_periods: float
    peak_search_s: float
    event_lowpass_hz: float
    closing_step: bool


#: Used as the step period when too few steps are found to measure it, s (about 110 steps/min).
DEFAULT_STEP_PERIOD_S = 0.55
#: Steps further apart than this many local periods are not consecutive (a missed step or a pause):
#: the earlier one gets no toe-off.
TO_MAX_STEP_PERIODS = 1.6


def braking_steps(
    det: BrakingParameters, ap: np.ndarray, braking: np.ndarray, envelope: np.ndarray, fs: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """ICs, braking anchors, closing flags, candidate and merged counts from the braking signal
    (``ap`` in g, ``braking`` in g/s, ``envelope`` its local envelope), with ``det``'s parameters."""
    # 1-2. Candidate peaks and strong steps.
    floor = min(det.min_braking_g_per_s, 0.1)
    peaks, props = signal.find_peaks(braking, height=floor, distance=max(1, int(round(det.min_step_s * fs))))
    height = props["peak_heights"]
    rel = height / np.maximum(envelope[peaks], 1e-12)
    strong = (rel >= det.strong_fraction) & (height >= det.min_braking_g_per_s)
    steps = peaks[strong]

    # 3. Rhythm: merge steps closer than a fraction of the local period.
    n_merged = 0
    for _ in range(3):  # a few passes over the step array, not over samples
        period = local_period(steps, fs)
        if len(steps) < 2:
            break
        gap = np.diff(steps) / fs
        close = gap < det.min_step_fraction * 0.5 * (period[:-1] + period[1:])
        if not close.any():
            break
        i = np.flatnonzero(close)
        h = braking[steps]
        drop = np.zeros(len(steps), dtype=bool)
        drop[np.where(h[i] < h[i + 1], i, i + 1)] = True
        n_merged += int(drop.sum())
        steps = steps[~drop]
    period = local_period(steps, fs)

    # 4. Closing step after the last step of each walking stretch.
    closing = np.zeros(0, dtype=np.int64)
    if det.closing_step and len(steps):
        nxt = np.r_[np.diff(steps) / fs, np.inf]
        last = np.flatnonzero(nxt > det.stop_after_periods * period)
        weak_ok = (rel >= det.weak_fraction) & ~strong
        if len(last) and weak_ok.any():
            lo = steps[last] + 0.6 * period[last] * fs
            hi = steps[last] + 1.4 * period[last] * fs
            a = np.searchsorted(peaks, lo, side="left")
            b = np.searchsorted(peaks, hi, side="right")
            score = np.where(weak_ok, height, -np.inf)
            best = segment_argext(score, a, np.maximum(b, a), largest=True)
            found = (best >= 0) & (b > a)
            found[found] = np.isfinite(score[best[found]])
            closing = peaks[best[found]]

    anchors = np.r_[steps, closing].astype(np.int64)
    is_closing = np.r_[np.zeros(len(steps), dtype=bool), np.ones(len(closing), dtype=bool)]
    order = np.argsort(anchors, kind="stable")
    anchors, is_closing = anchors[order], is_closing[order]

    # 5. IC: the forward peak before the steepest braking.
    fwd = lowpass(ap, det.event_lowpass_hz, fs, 2)
    back = max(1, int(round(det.peak_search_s * fs)))
    ic = segment_argext(fwd, np.maximum(anchors - back, 0), anchors + 1, largest=True)
    ic, first = np.unique(ic, return_index=True)
    anchors, is_closing = anchors[first], is_closing[first]
    return ic, anchors, is_closing, len(peaks), n_merged


def braking_envelope(braking: np.ndarray, fs: float, window_s: float) -> np.ndarray:
    """Local braking envelope: moving maximum, then a moving median, on a coarse grid (fast)."""
    n = len(braking)
    block = max(1, int(round(0.1 * fs)))
    n_blocks = -(-n // block)
    padded = np.full(n_blocks * block, -np.inf)
    padded[:n] = braking
    coarse = padded.reshape(n_blocks, block).max(axis=1)
    win = max(1, int(round(window_s / 0.1)))
    coarse = ndimage.maximum_filter1d(coarse, size=win, mode="nearest")
    coarse = ndimage.median_filter(coarse, size=2 * win + 1, mode="nearest")
    return np.repeat(coarse, block)[:n]


def local_period(steps: np.ndarray, fs: float) -> np.ndarray:
    """Local step period (s) at each step: running median of the plausible intervals around it."""
    k = len(steps)
    if k < 2:
        return np.full(k, DEFAULT_STEP_PERIOD_S)
    gap = np.diff(steps) / fs
    ok = (gap >= 0.25) & (gap <= 2.0)
    if not ok.any():
        return np.full(k, DEFAULT_STEP_PERIOD_S)
    series = pd.Series(np.where(ok, gap, np.nan))
    med = series.rolling(7, center=True, min_periods=1).median()
    # Seven implausible intervals in a row: the default, not a median over the whole input (which
    # would make a step's period depend on samples far away, and windows differ from the whole).
    med = med.fillna(DEFAULT_STEP_PERIOD_S).to_numpy()
    # Period at a step: mean of the local periods of the intervals before and after it.
    return 0.5 * (np.r_[med[0], med] + np.r_[med, med[-1]])


def braking_end_toe_off(
    braking: np.ndarray, ic: np.ndarray, fs: float, max_double_support: float
) -> np.ndarray:
    """TO of each step (sample, NaN where none): the end of the braking (a minimum of the
    low-passed forward acceleration) after the next step's IC."""
    period = local_period(ic, fs) * fs
    to = np.full(len(ic), np.nan)
    if len(ic) > 1:
        ends = np.flatnonzero((braking[:-1] > 0) & (braking[1:] <= 0)) + 1
        nxt = ic[1:]
        j = np.searchsorted(ends, nxt, side="right")
        found = j < len(ends)
        end = ends[np.minimum(j, max(len(ends) - 1, 0))] if len(ends) else np.zeros(len(nxt), np.int64)
        ok = (
            found
            & (end - nxt <= max_double_support * period[1:])
            & (nxt - ic[:-1] <= TO_MAX_STEP_PERIODS * period[:-1])
        )
        to[:-1] = np.where(ok, end, np.nan)
    return to
