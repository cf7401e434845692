"""Step evidence for walking: a two-stage linear score, per sample, that a foot touches down there.

Used by :class:`~hipsense.gait.walking.WalkingContactDetector` when the six body-frame channels are
present. The braking feature alone (the fall of the forward acceleration at heel strike) misses steps
where the braking is small: pivots and shuffles in a U-turn and the closing step of a stop
(docs/validation-walking.md). There the vertical and medio-lateral accelerations and the pelvic
rotation rates still move at each contact, but none of them alone marks it (each within 50 ms of
about 60 % of the turn steps). This module weighs them together:

1. **Stage 1.** Seven signals (``acc_pa``, ``acc_is``, ``acc_ml`` low-passed at 12 Hz; ``gyr_is``,
   ``gyr_ml``, ``gyr_pa`` at 8 Hz; the braking signal, the negated derivative of ``acc_pa`` at 3 Hz),
   each with its 1 s moving mean removed and divided by its 2 s moving RMS (so a slow turn, a slow
   walker or a loose clip keeps its pattern). The score at sample ``t`` is a weighted sum of the seven
   signals at ``LAGS_S`` around ``t`` (105 weights and a bias): a learned matched filter.
2. **Stage 2.** The stage-1 score combined with its largest value in windows before and after
   (``CONTEXT_S``): a step is likelier where the previous and next steps sit about one step period
   away and no stronger peak is within 0.3 s.
3. **Steps.** Peaks of the stage-2 score at least ``min_step_s`` apart that reach ``min_score`` and
   ``relative_score`` of the local range (moving maximum minus minimum over ``window_s``).

The weights are a logistic regression (L2, classes balanced) of "a reference contact within 20 ms" against
"none within 80 ms", fitted on the first half of the walking-l5-ipol trials sorted by name (55 trials
of 10 adults, Voisard et al. 2023) by ``benchmarks/walking.py --fit``; the second half is the held-out
check (docs/validation-walking.md). Everything is local: besides the decaying tails of the zero-phase
low-passes, no sample more than 3.3 s away changes the score at a sample (normalisation 1.5 s, lags
0.4 s, context 1.4 s) and the peak test looks 1 s further, so windows with tens of seconds of overlap
give the same steps as the whole session.

Data requirements: body-frame ``acc_is``, ``acc_ml``, ``acc_pa`` (m/s^2) and ``gyr_is``, ``gyr_ml``,
``gyr_pa`` (deg/s), no NaN, 40 Hz or more (fitted at 100 Hz).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import ndimage, signal, special

from hipsense.conventions import G
from hipsense.gait.filters import every_nth, lowpass

#: Body-frame channels the score reads, each with its low-pass cut-off (Hz) and the scale to SI.
CHANNELS: tuple[tuple[str, float, float], ...] = (
    ("acc_pa", 12.0, G),
    ("acc_is", 12.0, G),
    ("acc_ml", 12.0, G),
    ("gyr_is", 8.0, 1.0),
    ("gyr_ml", 8.0, 1.0),
    ("gyr_pa", 8.0, 1.0),
)
#: Cut-off of the forward acceleration whose fall is the braking signal (the seventh signal), Hz.
BRAKING_LOWPASS_HZ = 3.0
#: Offsets (s) at which each signal enters the stage-1 score.
LAGS_S = (-0.4, -0.3, -0.24, -0.16, -0.1, -0.06, -0.03, 0.0, 0.03, 0.06, 0.1, 0.16, 0.24, 0.3, 0.4)
#: Windows (s, relative to the sample) whose stage-1 maximum enters the stage-2 score.
CONTEXT_S = ((0.3, 0.8), (-0.8, -0.3), (0.8, 1.4), (-1.4, -0.8), (0.1, 0.3), (-0.3, -0.1))
#: Stage-1 value assumed beyond the ends of the data (no step there).
OUTSIDE_SCORE = -5.0
#: Lowest stage-1 value a context window reports.
CONTEXT_FLOOR = -8.0
#: Which channels must be present for the score.
REQUIRED = tuple(name for name, _, _ in CHANNELS)

# Fitted by `benchmarks/walking.py --fit` (first half of walking-l5-ipol); signal-major, lag-minor.
STAGE1_WEIGHTS: tuple[float, ...] = tuple(
    float(v)
    for v in """
-0.44737 -0.13851 -0.39547 -0.67057 -1.91275 -1.04070 -0.31767 +0.29413 +0.87183 +0.28353
+0.79906 +0.34990 -0.14027 -0.33835 -0.12906 +0.50140 +0.26181 +0.33930 -0.09695 -0.64273
-0.29429 -1.05128 +1.17634 -0.14462 +1.01733 -0.03658 -0.55530 -0.74920 -0.31083 -0.14417
-0.04005 +0.02119 -0.17380 +0.13244 +0.26597 -0.04930 +0.07203 +0.33768 -0.07529 +0.24827
-0.18436 -0.06716 +0.10668 +0.16240 -0.09495 -0.00452 -0.12641 +0.29298 +0.11808 +0.09482
-0.44458 +0.50719 -0.12615 -0.25885 -0.05415 +0.02040 +0.14466 +0.06644 -0.05699 -0.07992
-0.22752 -0.12763 -0.03774 -0.66010 +0.35075 -0.57596 +0.64921 -1.12250 +1.04617 -0.28079
+0.48115 -0.32434 -0.23868 +0.23515 -0.06373 +0.42771 +0.16372 -0.04662 +0.42969 -0.33475
+0.67323 -0.16161 -0.50872 +0.64901 -0.47112 +0.26941 +0.20610 +0.21407 -0.15348 +0.08650
-1.43539 -1.05616 -0.16717 -1.38065 -0.65655 +0.29841 +0.68399 +1.68679 +1.90547 +1.19821
-1.78766 +0.11034 -0.81838 +0.31934 -0.26840 -2.74800
""".split()
)
STAGE2_WEIGHTS: tuple[float, ...] = tuple(
    float(v)
    for v in """
+0.81580 -0.16332 +0.07682 -0.04428 -0.02278 -0.27309 -0.28320 +0.73697
""".split()
)


def has_channels(data: pd.DataFrame) -> bool:
    """Whether ``data`` has every channel the score reads, all finite (else the detector falls back
    to the braking method: an accelerometer-only recording, or a gyroscope with holes)."""
    if not all(name in data.columns for name in REQUIRED):
        return False
    return all(np.isfinite(data[name].to_numpy(dtype=float)).all() for name in REQUIRED)


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    return ndimage.uniform_filter1d(x, size=max(1, n), mode="nearest")


def normalised_signals(data: pd.DataFrame, fs: float, step: int = 1, phase: int = 0) -> np.ndarray:
    """The seven stage-1 signals, each without its 1 s moving mean and over its 2 s moving RMS; with
    ``step`` > 1, every ``step``-th sample from ``phase`` on after the low-pass (rate ``fs / step``)."""
    n = len(range(phase, len(data), step))
    out = np.empty((len(CHANNELS) + 1, n))
    rate = fs / step
    second = int(round(rate))
    for k, (name, cutoff, scale) in enumerate(CHANNELS):
        x = lowpass(data[name].to_numpy(dtype=float) / scale, cutoff, fs, 2)[phase::step]
        x -= _moving_mean(x, second)
        out[k] = x / (np.sqrt(np.maximum(_moving_mean(x * x, 2 * second), 0.0)) + 1e-6)
    ap = lowpass(data["acc_pa"].to_numpy(dtype=float) / G, BRAKING_LOWPASS_HZ, fs, 2)[phase::step]
    braking = -np.gradient(ap) * rate
    out[-1] = braking / (np.sqrt(np.maximum(_moving_mean(braking * braking, 2 * second), 0.0)) + 1e-6)
    return out


def _lag_index(n: int, lag_s: float, fs: float, at: np.ndarray | None = None) -> np.ndarray:
    base = np.arange(n) if at is None else at
    return np.clip(base + int(round(lag_s * fs)), 0, n - 1)


def stage1_features(z: np.ndarray, fs: float, at: np.ndarray) -> np.ndarray:
    """Stage-1 features at samples ``at`` (for fitting): one row per sample, signal-major."""
    cols = [z[:, _lag_index(z.shape[1], lag, fs, at)] for lag in LAGS_S]
    return np.stack(cols, axis=2).transpose(1, 0, 2).reshape(len(at), -1)


def stage1_score(z: np.ndarray, fs: float, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Stage-1 score of every sample: per lag, the weighted sum of the signals, shifted into place
    (the ends repeat the edge sample, as :func:`stage1_features` does)."""
    w = np.asarray(weights, dtype=float)
    n_sig, n = z.shape
    per_lag = w[:-1].reshape(n_sig, len(LAGS_S)).T @ z
    score = np.full(n, w[-1])
    for row, lag in zip(per_lag, LAGS_S, strict=True):
        k = int(round(lag * fs))
        if k >= n or -k >= n:
            score += row[-1] if k > 0 else row[0]
        elif k >= 0:
            score[: n - k] += row[k:]
            score[n - k :] += row[-1]
        else:
            score[-k:] += row[: n + k]
            score[:-k] += row[0]
    return score


def context_features(score: np.ndarray, fs: float) -> np.ndarray:
    """Stage-2 features of every sample: the stage-1 score and its maximum in each ``CONTEXT_S`` window."""
    n = len(score)
    cols = [score]
    for lo, hi in CONTEXT_S:
        size = int(round((hi - lo) * fs)) + 1
        start = int(round(lo * fs))
        padded = np.full(n + 2 * (abs(start) + size), OUTSIDE_SCORE)
        pad = abs(start) + size
        padded[pad : pad + n] = score
        # Maximum over [t + start, t + start + size - 1].
        forward = ndimage.maximum_filter1d(padded, size=size, origin=-(size // 2), mode="nearest")
        cols.append(np.maximum(forward[pad + start : pad + start + n], CONTEXT_FLOOR))
    return np.stack(cols, axis=1)


def step_score(data: pd.DataFrame, fs: float) -> np.ndarray:
    """Stage-2 score (log-odds of a contact) of every sample of ``data``.

    Above 150 Hz the score is computed on every ``fs // 100``-th sample after the low-pass (near the
    100 Hz it was fitted at; the signals hold nothing above 12 Hz) and interpolated back: at 208 Hz
    this halves most of the work. Which samples is set by the clock (``t_s``, the sample number since
    time zero), so a window cut anywhere from a segment uses the same samples as the whole segment."""
    n = len(data)
    step = every_nth(fs, 100)
    phase = 0
    if step > 1 and "t_s" in data.columns and n:
        first = float(data["t_s"].iloc[0])
        phase = int(-np.floor(first * fs + 0.5)) % step if np.isfinite(first) else 0
    rate = fs / step
    z = normalised_signals(data, fs, step, phase)
    first_stage = stage1_score(z, rate, STAGE1_WEIGHTS)
    w2 = np.asarray(STAGE2_WEIGHTS, dtype=float)
    score = context_features(first_stage, rate) @ w2[:-1] + w2[-1]
    if step == 1:
        return score
    return np.interp(np.arange(n), np.arange(phase, n, step), score)


def score_peaks(
    score: np.ndarray,
    fs: float,
    *,
    min_score: float,
    relative_score: float,
    window_s: float,
    min_step_s: float,
) -> np.ndarray:
    """Sample indices of the steps: peaks of ``score`` that stand out absolutely and locally."""
    peaks, _ = signal.find_peaks(score, height=min_score, distance=max(1, int(round(min_step_s * fs))))
    if not len(peaks):
        return peaks
    size = max(1, int(round(window_s * fs)))
    top = ndimage.maximum_filter1d(score, size=size, mode="nearest")[peaks]
    bottom = ndimage.minimum_filter1d(score, size=size, mode="nearest")[peaks]
    return peaks[score[peaks] - bottom >= relative_score * (top - bottom)]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, *, max_rounds: int = 50) -> np.ndarray:
    """Weights (bias last) of an L2-penalised logistic regression with balanced classes.

    Newton's method with a halving step, run to the optimum (the loss is strictly convex, so it is
    unique): the weights do not depend on the machine. A quasi-Newton fit stopped at its default
    gradient tolerance left them 0.04 from the optimum on these ill-conditioned lags (condition number
    of the features about 860), and a different CPU's rounding (AVX-512 or not) moved them by 0.006.
    """
    xb = np.c_[x, np.ones(len(x))]
    share = float(y.mean())
    sample_w = np.where(y > 0, 0.5 / share, 0.5 / (1.0 - share)) / len(y)
    penalty = np.full(xb.shape[1], 2.0 * l2 / len(y))
    penalty[-1] = 0.0  # the bias is not penalised

    def loss(w: np.ndarray) -> float:
        z = xb @ w
        return float(np.sum(sample_w * (np.logaddexp(0.0, z) - y * z))) + 0.5 * float(w @ (penalty * w))

    w = np.zeros(xb.shape[1])
    value = loss(w)
    for _ in range(max_rounds):
        p = special.expit(xb @ w)
        grad = xb.T @ (sample_w * (p - y)) + penalty * w
        hess = (xb * (sample_w * p * (1.0 - p))[:, None]).T @ xb + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        decrease = float(grad @ step)
        if decrease <= 1e-20:  # the Newton decrement: at the optimum to float precision
            break
        t = 1.0
        while (trial := loss(w - t * step)) > value - 1e-4 * t * decrease and t > 1e-6:
            t *= 0.5
        w, value = w - t * step, trial
    return w


def training_samples(
    times: np.ndarray, contacts: np.ndarray, lo: float, hi: float, stride: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Samples for fitting within ``[lo - 0.3, hi + 0.3]`` s: positives within 20 ms of a contact,
    negatives 80 ms or more from every contact (the ones between are left out)."""
    at = np.flatnonzero((times >= lo - 0.3) & (times <= hi + 0.3))[::stride]
    if not len(contacts):
        return at, np.zeros(len(at))
    c = np.sort(contacts)
    j = np.searchsorted(c, times[at])
    before = c[np.clip(j - 1, 0, len(c) - 1)]
    after = c[np.clip(j, 0, len(c) - 1)]
    near = np.minimum(np.abs(times[at] - before), np.abs(times[at] - after))
    keep = (near <= 0.02) | (near >= 0.08)
    return at[keep], (near[keep] <= 0.02).astype(float)


def fit(
    trials: Sequence[tuple[pd.DataFrame, float, np.ndarray, float, float]],
) -> tuple[np.ndarray, np.ndarray]:
    """Fit both stages on ``(body, fs, contact_times_s, lo_s, hi_s)`` trials; returns the two weight
    vectors (bias last), as ``STAGE1_WEIGHTS`` and ``STAGE2_WEIGHTS`` hold them."""
    prepared = []
    x1, y1 = [], []
    for body, fs, contacts, lo, hi in trials:
        z = normalised_signals(body, fs)
        at, label = training_samples(body["t_s"].to_numpy(dtype=float), contacts, lo, hi)
        x1.append(stage1_features(z, fs, at))
        y1.append(label)
        prepared.append((z, fs, at, label))
    w1 = fit_logistic(np.concatenate(x1), np.concatenate(y1))
    x2 = [context_features(stage1_score(z, fs, w1), fs)[at] for z, fs, at, _ in prepared]
    w2 = fit_logistic(np.concatenate(x2), np.concatenate([p[3] for p in prepared]))
    return w1, w2
