"""Activity bouts: standing, walking, running and unknown, so running metrics come from running only."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import ndimage

from hipsense.conventions import G
from hipsense.errors import HipsenseError
from hipsense.gait.base import Algorithm
from hipsense.gait.bout_edges import landings, moving_rows, running_edges, walking_edges
from hipsense.gait.filters import butter_sos, every_nth, zero_phase

ACTIVITIES = ("stand", "walk", "run", "unknown")
STAND, RUN = ACTIVITIES.index("stand"), ACTIVITIES.index("run")
#: Shortest input :meth:`ActivityBoutDetector.detect` accepts, in seconds (one window).
MIN_DURATION_S = 1.0
#: A long input is low-passed window by window: cores of ``WINDOW_S`` plus ``OVERLAP_S`` of context on
#: each side (the rule of :mod:`hipsense.gait.windows`), so the zero-phase filter holds one window, not a
#: 10 h session (60 MB a float64 copy); an input that fits in one window is filtered whole, as before.
WINDOW_S = 600.0
OVERLAP_S = 30.0
#: Margin kept outside a running bout's first and last contact, s: the landings that place the edges
#: are found on rows about 20 ms apart and the sacral signal lags the foot's contact by 5-20 ms.
EDGE_MARGIN_S = 0.05
#: A walking bout's edges (:func:`~hipsense.gait.bout_edges.walking_edges`): a row moves when the
#: ``WALK_MOVING_S`` around it vary by ``WALK_STILL_FRACTION`` of ``stand_std_g`` or more (standing
#: reads 0.002-0.005 g; half the threshold keeps the gentle closing step), so the movement already
#: reaches a quarter second past the steps; stillness of ``pause`` s splits it, a stretch shorter than
#: ``least`` s is no walking, and the bout keeps ``lead`` s before its walking and ``trail`` s after it
#: (the closing step is the gentlest). Chosen on the walking set, where no reference step is lost by
#: them (docs/validation-walking.md).
WALK_MOVING_S = 0.5
WALK_STILL_FRACTION = 0.5
WALK_EDGE_S = {"pause": 2.0, "least": 1.0, "lead": 0.0, "trail": 0.5}
#: One-second windows whose features (percentiles, spectra) are computed at a time.
FEATURE_ROWS = 2048


def overlapping(n: int, rate_hz: float) -> list[tuple[int, int, int, int]]:
    """``(lo, hi, core_lo, core_hi)`` windows over ``n`` rows, the cores tiling ``[0, n)``; one
    ``(0, n, 0, n)`` when ``n`` fits in one window with its context. After ``OVERLAP_S`` (30 s) the
    transients of the filters used here (2nd-order, 0.3 Hz and up) have decayed to below float64
    rounding, so a core's values are the whole input's to rounding."""
    core = max(1, int(round(WINDOW_S * rate_hz)))
    pad = int(math.ceil(OVERLAP_S * rate_hz))
    if n <= core + 2 * pad:
        return [(0, n, 0, n)]
    edges = np.linspace(0, n, int(math.ceil(n / core)) + 1).round().astype(np.int64).tolist()
    return [(max(0, a - pad), min(n, b + pad), a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def lowpass_every(
    column: np.ndarray, sos: np.ndarray, q: int, rate_hz: float, *, unit: float = 1.0
) -> np.ndarray:
    """Every ``q``-th sample of ``sosfiltfilt(sos, column / unit)`` (float64), filtered window by
    window (:func:`overlapping`): to rounding the same numbers, with one window's float64 copy."""
    out = np.empty(-(-len(column) // q))
    for lo, hi, a, b in overlapping(len(column), rate_hz):
        part = zero_phase(sos, np.divide(column[lo:hi], unit, dtype=np.float64))  # sosfiltfilt's floats
        first = -(-a // q) * q  # the core's first sample that is kept
        out[first // q : -(-b // q)] = part[first - lo : b - lo : q]
    return out


def percentiles_of_rows(rows: np.ndarray, q: tuple[float, ...]) -> np.ndarray:
    """``np.percentile(rows, q, axis=1)`` (its default, linear method) from one sort of each row.

    numpy's SIMD sort of a 150-value row is about 5x faster than the selection ``np.percentile``
    runs; the order statistics are the same values, and the interpolation below is numpy's own
    (``numpy.lib._function_base_impl._lerp``): ``a + (b - a) * g``, or ``b - (b - a) * (1 - g)``
    where ``g >= 0.5``; a row holding NaN gives NaN. Only a zero's sign may differ from numpy's (which
    of tied -0.0 and +0.0 lands at a rank): no comparison in the rules below can see it.
    """
    ordered = np.sort(rows, axis=1)
    n = ordered.shape[1]
    at = (n - 1) * np.true_divide(np.asarray(q, dtype=np.float64), 100)
    below = np.floor(at).astype(np.intp)
    g = at - below
    a, b = ordered[:, below], ordered[:, np.minimum(below + 1, n - 1)]
    step = b - a
    out = a + step * g
    np.subtract(b, step * (1 - g), out=out, where=g >= 0.5)
    out[np.isnan(ordered[:, -1])] = np.nan
    return out.T


#: Sampling rates activity detection (and the mounting alignment, which runs it) works at.
RATE_RANGE_HZ = (20.0, 10_000.0)


def checked_rate(sampling_rate_hz: float, task: str, error: type[HipsenseError] = HipsenseError) -> float:
    """``sampling_rate_hz`` as a float; ``error`` (one line naming ``task``) outside
    :data:`RATE_RANGE_HZ`."""
    fs = float(sampling_rate_hz)
    lo, hi = RATE_RANGE_HZ
    if not (np.isfinite(fs) and lo <= fs <= hi):
        raise error(f"{task} needs a sampling rate of {lo:g}-{hi:g} Hz, got {sampling_rate_hz!r}")
    return fs


class ActivityBoutDetector(Algorithm):
    """Label the session in 1-second windows and merge them into bouts of one activity.

    Each window is judged on the 3 s around it, from the vertical specific force ``acc_is``:

    - **stand**: it hardly varies (standard deviation below ``stand_std_g``);
    - **run**: the body leaves the ground every step: the 10th percentile of the low-passed vertical
      acceleration falls below ``flight_level_g`` (flight is free fall, about 0 g), peaks exceed
      ``run_peak_g`` and the step frequency lies in running's range, 2 to ``max_run_step_hz`` (120
      to 270 steps/min; fast and uphill running reach 3.6 Hz in the validation data). A dominant
      frequency below 2 Hz with flight is taken as the stride (left and right steps that differ) and
      doubled;
    - **walk**: rhythmic at a walking step frequency without flight: the strongest component in the
      walking band (``min_walk_step_hz`` to 2.6 Hz) holds at least ``walk_band_fraction`` of the
      strongest in 1-5 Hz. In a U-turn, a shuffle or the slow steps into a stop the heel impacts
      often make a harmonic (3-5 Hz) the strongest, while the step itself is still there (the
      fraction, 0.5, was chosen on the walking set's turns and stops: docs/validation.md);
    - **unknown**: anything else (jumps, stairs, handling the clip).

    Labels are smoothed with a median filter, and bouts shorter than ``min_bout_s`` are absorbed by
    their neighbours, so a single odd stride does not split a run. A second judged on 3 s sees the
    steps of the seconds beside it, so beside a run two rules judge a second on its own samples: a
    still second (standard deviation below ``stand_std_g``) is standing, and no smoothing or merging
    makes it running (a traffic-light stop splits a run, and a stand at either end of the recording
    is never running); a second beside walking without a flight of its own is walking (a walk break).
    Each running bout's edges then move to its steps (:func:`~hipsense.gait.bout_edges.running_edges`:
    one step before the first landing, the last landing, ``EDGE_MARGIN_S`` outside each), so they
    follow the running to the landings' resolution (about 20 ms), not the windows' second. Each walking
    bout's edges move in to its movement (:func:`~hipsense.gait.bout_edges.walking_edges`,
    ``WALK_EDGE_S``), so it does not reach into the stand before or after it.

    Data requirements: body-frame ``acc_is`` in m/s^2 (after alignment), 20 Hz or more; data shorter
    than ``MIN_DURATION_S`` (one window) is one ``unknown`` bout. Each window is judged on 3 s of context (reflected at the ends), so a recording of
    3 s or more of clear running is labelled running throughout; inside a longer session a running
    bout shorter than ``min_bout_s`` is absorbed by its neighbours.

    The flight criterion follows the definition of running as a gait with an aerial phase (Novacheck
    1998, doi:10.1016/S0966-6362(97)00038-6); thresholds are set from the physics (free fall reads
    0 g) with margins for the sacrum's soft-tissue and belt motion, not fitted to a data set.

    Parameters
    ----------
    stand_std_g, flight_level_g, run_peak_g
        Thresholds described above, in g.
    min_bout_s
        Shortest bout kept, in seconds, where there are other bouts to absorb it.
    max_run_step_hz
        Highest step frequency counted as running, Hz.
    min_walk_step_hz
        Lowest step frequency counted as walking, Hz (60 steps/min: the slow steps into a stop).
    walk_band_fraction
        Least spectral amplitude in the walking band, relative to the strongest in 1-5 Hz.

    Attributes
    ----------
    bouts_
        One row per bout: ``bout`` (0..), ``activity``, ``start``/``end`` sample indices ([start, end)),
        ``start_s``/``end_s``, ``duration_s``.
    window_labels_
        The per-second labels the bouts are merged from, before the running edges move (for
        inspection).
    """

    def __init__(
        self,
        *,
        stand_std_g: float = 0.04,
        flight_level_g: float = 0.35,
        run_peak_g: float = 1.8,
        min_bout_s: float = 4.0,
        max_run_step_hz: float = 4.5,
        min_walk_step_hz: float = 1.0,
        walk_band_fraction: float = 0.5,
    ) -> None:
        self.stand_std_g = stand_std_g
        self.flight_level_g = flight_level_g
        self.run_peak_g = run_peak_g
        self.min_bout_s = min_bout_s
        self.max_run_step_hz = max_run_step_hz
        self.min_walk_step_hz = min_walk_step_hz
        self.walk_band_fraction = walk_band_fraction

    def detect(self, data: pd.DataFrame, *, sampling_rate_hz: float) -> ActivityBoutDetector:
        """Label every second of ``data`` and merge the labels into bouts (``bouts_``)."""
        if "acc_is" not in data:
            raise HipsenseError("activity detection needs the body-frame column acc_is")
        fs = checked_rate(sampling_rate_hz, "activity detection")
        # The column as it is (float32 in a recording), converted to float64 window by window.
        column = data["acc_is"].to_numpy()
        n = len(column)
        if n < MIN_DURATION_S * fs:
            # Too short to judge (a stub between two gaps): one unknown bout, so the caller skips it.
            self.window_labels_ = pd.Series(["unknown"], name="activity")
            self.bouts_ = pd.DataFrame(
                {
                    "bout": [0],
                    "activity": ["unknown"],
                    "start": [0],
                    "end": [n],
                    "start_s": [0.0],
                    "end_s": [n / fs],
                    "duration_s": [n / fs],
                }
            )
            return self
        hop = int(round(fs))
        n_win = max(n // hop, 1)
        sos = butter_sos(2, min(20.0, 0.45 * fs), fs)  # designed once per process
        # The features need nothing above 20 Hz: judge them at about 50 Hz (a quarter of the work at
        # 208 Hz) on whole-second windows.
        q = every_nth(fs, 50)
        low_fs = fs / q
        per = hop // q
        smooth = lowpass_every(column, sos, q, fs, unit=G) if n > 30 else column[::q].astype(np.float64) / G

        # 3-s context around each 1-s window, as a strided view (no copies); its features a few
        # thousand windows at a time (the spectra of a 10 h session at once: 150 MB).
        padded = np.pad(smooth, (per, per + max(n_win * per - len(smooth), 0) + per), mode="reflect")
        contexts = np.lib.stride_tricks.sliding_window_view(padded, 3 * per)[::per][:n_win]
        std, core_std, core_low, low, high, f_step, walk_share = np.empty((7, n_win))
        for s in range(0, n_win, FEATURE_ROWS):
            ctx, e = contexts[s : s + FEATURE_ROWS], min(s + FEATURE_ROWS, n_win)
            std[s:e] = ctx.std(axis=1)
            core_std[s:e] = ctx[:, per : 2 * per].std(axis=1)
            core_low[s:e] = ctx[:, per : 2 * per].min(axis=1)
            low[s:e], high[s:e] = percentiles_of_rows(ctx, (10, 99))
            f_step[s:e], walk_share[s:e] = self._step_frequency(ctx, low_fs, self.min_walk_step_hz)

        labels = np.full(n_win, 3)  # unknown
        rhythmic = std >= self.stand_std_g
        # With flight, a dominant frequency below 2 Hz is the stride (steps that differ left to right).
        f_run = np.where(f_step < 2.0, 2.0 * f_step, f_step)
        running = (
            rhythmic
            & (low < self.flight_level_g)
            & (high > self.run_peak_g)
            & (f_run >= 2.0)
            & (f_run <= self.max_run_step_hz)
        )
        walking = rhythmic & ~running & (walk_share >= self.walk_band_fraction) & (low > self.flight_level_g)
        # A still second in or beside a run is the stop before or after it, though the 3 s around it
        # hold steps (beside walking, a still second may hold the gentle first step: walking's).
        near_run = running | np.r_[False, running[:-1]] | np.r_[running[1:], False]
        still = (std < self.stand_std_g) | (near_run & (core_std < self.stand_std_g))
        # Likewise a second without a flight of its own, beside walking, is the walk before or after.
        near_walk = np.r_[False, walking[:-1]] | np.r_[walking[1:], False]
        walking |= running & ~still & near_walk & (core_low >= self.flight_level_g)
        running &= ~still & ~walking
        walking &= ~still
        labels[running] = 2
        labels[walking] = 1
        labels[still] = STAND
        labels = ndimage.median_filter(labels, size=3, mode="nearest")
        labels = self._absorb_short(labels, int(np.ceil(self.min_bout_s)))
        # Nor is a still second ever made running: not as an odd window in a run, nor a short stop.
        labels[still & (labels == RUN)] = STAND
        self.window_labels_ = pd.Series([ACTIVITIES[i] for i in labels], name="activity")

        change = np.flatnonzero(np.diff(labels)) + 1
        starts = np.r_[0, change]
        edges = np.r_[np.minimum(starts * hop, n), n]
        kinds = [ACTIVITIES[labels[s]] for s in starts]
        # A window is judged on the 3 s around it, so a running bout's windows reach up to a second past
        # the running on either side: its edges are moved to the running's own steps.
        land = landings(smooth < self.flight_level_g, q)
        step_rows = np.where(running, fs / f_run, np.nan)
        edges, kinds = running_edges(edges, kinds, land, step_rows, hop, int(round(EDGE_MARGIN_S * fs)))
        # Likewise a walking bout's windows reach into the stand around it: its edges go to its movement.
        width = max(1, int(round(WALK_MOVING_S * low_fs)))
        moving = moving_rows(smooth, q, width, WALK_STILL_FRACTION * self.stand_std_g)
        edges, kinds = walking_edges(
            edges, kinds, moving, **{k: int(round(v * fs)) for k, v in WALK_EDGE_S.items()}
        )
        start_idx, end_idx = edges[:-1], edges[1:]
        self.bouts_ = pd.DataFrame(
            {
                "bout": np.arange(len(kinds)),
                "activity": kinds,
                "start": start_idx,
                "end": end_idx,
                "start_s": start_idx / fs,
                "end_s": end_idx / fs,
                "duration_s": (end_idx - start_idx) / fs,
            }
        )
        return self

    @staticmethod
    def _step_frequency(
        ctx: np.ndarray, fs: float, walk_low_hz: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Dominant frequency (Hz) in 1-5 Hz of each context window, from its spectrum, and the
        strongest amplitude in the walking band (``walk_low_hz`` to 2.6 Hz) relative to it."""
        x = ctx - ctx.mean(axis=1, keepdims=True)
        nfft = int(2 ** np.ceil(np.log2(max(8 * fs, x.shape[1]))))
        spec = np.abs(np.fft.rfft(x * np.hanning(x.shape[1]), n=nfft, axis=1))
        f = np.fft.rfftfreq(nfft, 1 / fs)
        band = (f >= min(1.0, walk_low_hz)) & (f <= min(5.0, 0.45 * fs))
        walk = band & (f >= walk_low_hz) & (f <= 2.6)
        top = spec[:, band].max(axis=1)
        share = spec[:, walk].max(axis=1) / np.maximum(top, 1e-12) if walk.any() else np.zeros(len(x))
        return f[band][np.argmax(spec[:, band], axis=1)], share

    @staticmethod
    def _absorb_short(labels: np.ndarray, min_len: int) -> np.ndarray:
        """Give runs shorter than ``min_len`` windows the label of their longer neighbour."""
        labels = labels.copy()
        for _ in range(3):  # a few passes settle chains of short runs
            change = np.flatnonzero(np.diff(labels)) + 1
            starts, ends = np.r_[0, change], np.r_[change, len(labels)]
            lengths = ends - starts
            short = np.flatnonzero(lengths < min_len)
            if len(short) == 0 or len(starts) == 1:
                break
            for i in short:
                left = lengths[i - 1] if i > 0 else -1
                right = lengths[i + 1] if i + 1 < len(starts) else -1
                src = starts[i - 1] if left >= right else starts[i + 1]
                labels[starts[i] : ends[i]] = labels[src]
        return labels
