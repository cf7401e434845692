"""Initial contact (IC) and toe-off (TO) of every walking step at the sacrum.

The physics in one line: at heel strike the leading leg starts to push backward on the body, so the
pelvis, which was accelerating forward through the end of the previous stance (the trailing leg's push
off), starts braking. At the lower back the anterior-posterior acceleration therefore peaks just before
each contact and then falls steeply (Zijlstra & Hof 2003). The braking lasts through double support;
its end (the minimum of the low-passed forward acceleration after the next contact) comes when the
trailing foot leaves the ground (in the validation data within 50 ms of the foot-sensor toe-off for
95 % of the steps that get one), and is taken as that foot's toe-off. Walking has no flight phase, so
:class:`~hipsense.gait.events.RunningContactDetector` finds nothing in it, by design; this detector
covers walking. Where the braking is small (pivots and shuffles in a turn, the closing step of a stop)
the steps are found by a score that weighs all six channels (:mod:`hipsense.gait.walking_evidence`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hipsense.conventions import G
from hipsense.gait.base import Algorithm
from hipsense.gait.events import check_detector_input
from hipsense.gait.filters import lowpass, segment_argext
from hipsense.gait.walking_braking import braking_end_toe_off, braking_envelope, braking_steps, local_period
from hipsense.gait.walking_evidence import has_channels, score_peaks, step_score
from hipsense.timebase import nominal_rate

#: Shortest input :meth:`WalkingContactDetector.detect` accepts, in seconds.
MIN_DURATION_S = 1.0
#: Lowest sampling rate accepted, Hz.
MIN_SAMPLING_RATE_HZ = 40.0


class WalkingContactDetector(Algorithm):
    """Initial contacts (IC) and toe-offs (TO) of walking steps at the lower back.

    Steps are found in one of two ways. With all six body-frame channels (``evidence``, the default
    when a gyroscope is present) they are the peaks of the step-evidence score of
    :mod:`hipsense.gait.walking_evidence` (a two-stage linear score over the three accelerations, the
    three rotation rates and the braking signal, fitted on real walking), at least ``min_step_s``
    apart, reaching ``min_score`` and ``relative_score`` of the score's range over
    ``score_window_s``; where the braking at a step is strong (``strong_fraction`` of its envelope)
    and its forward peak (step 5) lies within ``snap_s`` of the score's peak, the forward peak is the
    IC. Without a gyroscope, or with ``evidence=False``, steps 1-5 below find them from the forward
    acceleration alone (:mod:`hipsense.gait.walking_braking`).

    1. **Braking signal.** ``acc_pa`` in g, low-passed at ``step_lowpass_hz`` (zero-phase, second
       order), differentiated and negated: its peaks are the steepest falls of the forward
       acceleration, one per step at the onset of braking. 3 Hz keeps the step frequency of walking
       (about 1.3 to 2.3 Hz) and removes the smaller wiggles of the trunk within a step.
    2. **Steps.** Peaks of the braking signal (``scipy.signal.find_peaks``, at least
       ``min_step_s`` apart) that reach ``min_braking_g_per_s`` and ``strong_fraction`` of the local
       envelope (the largest braking within ``envelope_window_s``, median-smoothed over twice that).
       The relative test adapts to slow and fast walkers; the absolute one rejects standing.
    3. **Rhythm.** The step period is the running median of the intervals between steps. Of two steps
       closer than ``min_step_fraction`` of it, the one with the weaker braking is dropped (a double
       wiggle within one step).
    4. **Closing step.** When the walker stops, the trailing foot is placed beside the leading one: a
       small step about one period after the last full step, with little braking. After the last step
       of a walking stretch (no step within ``stop_after_periods`` periods) the strongest braking peak
       between 0.6 and 1.4 periods later is kept if it reaches ``weak_fraction`` of the envelope.
    5. **IC.** The maximum of the forward acceleration (low-passed at ``event_lowpass_hz``) in the
       ``peak_search_s`` before each step's steepest braking: the forward peak that precedes the
       deceleration at heel strike (Zijlstra & Hof 2003).
    6. **TO.** A step's foot leaves the ground in the double support after the next step's IC, when
       the braking that contact started ends: the first minimum of the braking signal's forward
       acceleration (low-passed at ``step_lowpass_hz``) after the next IC, if it comes within
       ``max_double_support`` local periods of it. The last step of a walking stretch (no next step
       within ``TO_MAX_STEP_PERIODS`` periods) has no toe-off, nor has a step in which the pelvis
       turns more than ``max_turn_deg`` (yaw rate ``gyr_is`` integrated from IC to TO; when there is
       a gyroscope): in a pivot the stance foot may stay down for a second or more while the braking
       rhythm goes on. Nor has a step whose own contact or the next has a braking under
       ``strong_fraction`` of the envelope (a pivot, a shuffle, a first step): the rule was validated
       on the braking of normal walking.

    Vectorised numpy/scipy: one hour at 208 Hz takes about 0.2-0.3 s with the score (computed on
    every other sample above 150 Hz), 0.05-0.08 s with the braking method.

    Data requirements: body-frame ``acc_pa`` in m/s^2 (forward positive, after alignment; the gravity
    component of a constant residual tilt is removed by the derivative), at least
    ``MIN_DURATION_S`` long, no NaN, 40 Hz or more (validated at 100 Hz, and at 50 and 208 Hz after
    resampling). With ``acc_is``, ``acc_ml`` and the gyroscope (``gyr_*`` deg/s), all finite, the
    score finds the steps; ``gyr_is`` withholds toe-offs in turns; ``t_s`` is ignored. Pass walking bouts (from
    :class:`~hipsense.gait.bouts.ActivityBoutDetector`); standing yields no steps, running yields its
    braking peaks, which :class:`~hipsense.gait.events.RunningContactDetector` times better.

    Validation (docs/validation-walking.md, docs/validation.md): 110 real trials of 19 adults, Xsens
    at L5, reference from foot-worn sensors, IC within 100 ms: F1 0.971 (0.969 on the half of the
    trials the score was not fitted on; 0.983 in straight walking, 0.826 in the U-turn, closing step
    recall 0.79), IC error -2 +/- 22 ms; the braking method alone: F1 0.951 (U-turn 0.68, closing
    step 0.46). Stance time (IC to TO) against the foot sensors on 3,115 steps: bias +12 ms, SD
    37 ms, limits of agreement -60 to +85 ms; 90 % of the matched steps get a toe-off.

    Parameters
    ----------
    step_lowpass_hz
        Cut-off of the braking signal.
    event_lowpass_hz
        Cut-off of the forward acceleration the IC peak is taken from.
    min_braking_g_per_s
        Least braking (fall rate of the low-passed forward acceleration) of a step, g/s. At L5 the
        per-trial median at contact is 1.1 to 6.5 g/s in the validation data; standing stays under
        0.05 g/s.
    strong_fraction
        Least braking of a step relative to the local envelope.
    weak_fraction
        Least relative braking of a closing step.
    envelope_window_s
        Window of the moving maximum that defines the local envelope.
    min_step_s
        Shortest interval between two braking peaks considered at all.
    min_step_fraction
        Steps closer than this fraction of the local step period are merged (the weaker is dropped).
    stop_after_periods
        A step with no next step within this many periods ends a walking stretch.
    peak_search_s
        How far before the steepest braking the forward peak (the IC) is searched.
    closing_step
        Whether to look for the closing step of each stop.
    max_double_support
        Latest TO after the next step's IC, in local step periods. Double support is about a quarter
        of a step (0.25 +/- 0.10 in the validation data).
    max_turn_deg
        Most pelvic yaw over a stance that still gets a toe-off, degrees (straight walking: about
        +/-5 degrees; a U-turn is 180 degrees over 3-5 steps). Chosen on the validation data.
    evidence
        Find the steps with the step-evidence score when all six channels are there.
    min_score
        Least step-evidence score (log-odds) of a step.
    relative_score
        Least height of a step's score above the local minimum, relative to the local range.
    score_window_s
        Window of the local range of the score, s.
    snap_s
        Largest distance, s, from the score's peak to the forward peak that replaces it as the IC.

    Attributes
    ----------
    ic_list_
        One row per IC (index ``step_id``): ``ic`` (sample index into ``data``) and ``ic_s`` (seconds
        from the first sample), as in mobgap.
    events_
        ``ic_list_`` plus ``braking_g_per_s`` (the step's braking peak), ``relative_braking`` (to the
        local envelope), ``closing`` (True for a closing step), ``step_period_s`` (local period) and
        ``to``/``to_s`` (the toe-off of the step's foot, sample index and seconds; NaN where none).
    step_period_s_
        Median step period over the data (NaN with fewer than two steps).
    signal_g_per_s_
        The braking signal, for plots.
    diagnostics_
        Counts: samples, candidate peaks, steps, merged, closing steps.

    Notes
    -----
    How this relates to the literature:

    - Zijlstra & Hof (2003) take IC at the peak forward acceleration that precedes the downward zero
      crossing of the low-passed anterior-posterior acceleration of the lower trunk. We keep their IC feature
      and anchor each step on the steepest fall instead of the zero crossing: the zero crossing moves
      with any offset of the forward axis (tilt, centripetal acceleration in turns), the fall does not.
      In the validation data their peak comes 0-10 ms before the foot-sensor contact.
    - McCamley et al. (2012), refined by Paraschiv-Ionescu et al. (2020) and implemented in mobgap as
      ``IcdIonescu``, use the vertical acceleration, integrated and differentiated by a Gaussian
      continuous wavelet. Approximated on the validation data (``benchmarks/walking.py --baseline``)
      it finds the steps about as well (F1 0.971 against our 0.973 with a 250 ms tolerance) but its ICs
      come 69 ms early on average (SD 31 ms), so at 100 ms its F1 is 0.65 (ours 0.95): the vertical
      acceleration at L5 rises over several tens of ms around contact and often has two peaks per
      step, the forward braking has one sharp fall.
    - Shin & Park (2011) detect steps from the acceleration norm; the norm mixes vertical and forward
      features and is not used.
    - The rhythm rules (merging double peaks, the closing step) are ours, and so is the TO rule.
      McCamley et al. (2012) take the final contact from the vertical acceleration (a maximum of its
      wavelet-differentiated integral); their rule was not tried here. ``max_double_support`` and
      ``max_turn_deg`` were chosen on the validation data (docs/validation.md).
    - The step-evidence score is a learned linear filter (logistic regression), ours; its weights and
      ``min_score``, ``relative_score`` and ``snap_s`` were chosen on the first half of the
      validation trials only (docs/validation-walking.md).

    Deviations from Zijlstra & Hof: steps are anchored on the steepest braking (or found by the
    score) rather than the zero crossing, thresholds are relative to the local envelope, and the
    rhythm rules are added. On the simulator, whose walking forward acceleration is a sinusoid per
    step (docs/simulator.md), the braking method's IC comes about 100 ms early (the real signal's
    sharp fall at heel strike is what it is built for); the score's ICs come within 20-40 ms.

    References
    ----------
    Zijlstra W., Hof A.L. (2003) Assessment of spatio-temporal gait parameters from trunk accelerations
    during human walking. Gait Posture 18(2):1-10. doi:10.1016/S0966-6362(02)00190-X

    McCamley J., Donati M., Grimpampi E., Mazza C. (2012) An enhanced estimate of initial contact and
    final contact instants of time using lower trunk inertial sensor data. Gait Posture 36(2):316-318.
    doi:10.1016/j.gaitpost.2012.02.019

    Paraschiv-Ionescu A., Soltani A., Aminian K. (2020) Real-world speed estimation using single trunk
    IMU: methodological challenges for impaired gait patterns. Proc IEEE EMBC 2020:4596-4599.
    doi:10.1109/EMBC44109.2020.9176281

    Shin S.H., Park C.G. (2011) Adaptive step length estimation algorithm using optimal parameters and
    movement status awareness. Med Eng Phys 33(9):1064-1071. doi:10.1016/j.medengphy.2011.04.009

    Voisard C. et al. (2023) A reference data set for the study of healthy subject gait with inertial
    measurement units. Image Processing On Line (IPOL), article 497 (the validation data).
    """

    def __init__(
        self,
        *,
        step_lowpass_hz: float = 3.0,
        event_lowpass_hz: float = 20.0,
        min_braking_g_per_s: float = 0.3,
        strong_fraction: float = 0.3,
        weak_fraction: float = 0.08,
        envelope_window_s: float = 2.0,
        min_step_s: float = 0.15,
        min_step_fraction: float = 0.5,
        stop_after_periods: float = 2.5,
        peak_search_s: float = 0.1,
        closing_step: bool = True,
        max_double_support: float = 0.4,
        max_turn_deg: float = 30.0,
        evidence: bool = True,
        min_score: float = 1.5,
        relative_score: float = 0.6,
        score_window_s: float = 2.0,
        snap_s: float = 0.03,
    ) -> None:
        self.step_lowpass_hz = step_lowpass_hz
        self.event_lowpass_hz = event_lowpass_hz
        self.min_braking_g_per_s = min_braking_g_per_s
        self.strong_fraction = strong_fraction
        self.weak_fraction = weak_fraction
        self.envelope_window_s = envelope_window_s
        self.min_step_s = min_step_s
        self.min_step_fraction = min_step_fraction
        self.stop_after_periods = stop_after_periods
        self.peak_search_s = peak_search_s
        self.closing_step = closing_step
        self.max_double_support = max_double_support
        self.max_turn_deg = max_turn_deg
        self.evidence = evidence
        self.min_score = min_score
        self.relative_score = relative_score
        self.score_window_s = score_window_s
        self.snap_s = snap_s

    # -- public -------------------------------------------------------------------------------------
    def detect(self, data: pd.DataFrame, *, sampling_rate_hz: float) -> WalkingContactDetector:
        """Find the IC of every walking step in ``data``; results go to the ``*_`` attributes."""
        fs = self._check(data, sampling_rate_hz)
        ap = data["acc_pa"].to_numpy(dtype=float) / G
        n = len(ap)

        braking = -np.gradient(lowpass(ap, self.step_lowpass_hz, fs, 2)) * fs  # g/s
        envelope = self._envelope(braking, fs)

        if self.evidence and has_channels(data):
            ic, anchors, is_closing, n_candidates, n_merged = self._evidence_steps(
                data, ap, braking, envelope, fs
            )
        else:
            ic, anchors, is_closing, n_candidates, n_merged = braking_steps(self, ap, braking, envelope, fs)

        # 6. TO: the end of the braking after the next step's IC.
        to = braking_end_toe_off(braking, ic, fs, self.max_double_support)
        # The toe-off rule holds for steps of normal walking: a weak braking at this contact or the
        # next (a pivot, a shuffle, a start) gives no toe-off.
        weak = braking[anchors] < self.strong_fraction * envelope[anchors]
        to[weak | np.r_[weak[1:], True][: len(weak)]] = np.nan
        if "gyr_is" in data and len(ic):
            yaw = np.cumsum(np.nan_to_num(data["gyr_is"].to_numpy(dtype=float))) / fs
            has = np.isfinite(to)
            turn = np.zeros(len(ic))
            turn[has] = np.abs(yaw[to[has].astype(np.int64)] - yaw[ic[has]])
            to[turn > self.max_turn_deg] = np.nan
        self._store(fs, n, braking, envelope, ic, to, anchors, is_closing, n_candidates, n_merged)
        return self

    def _evidence_steps(
        self, data: pd.DataFrame, ap: np.ndarray, braking: np.ndarray, envelope: np.ndarray, fs: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
        """Steps from the step-evidence score (:mod:`hipsense.gait.walking_evidence`); each step's
        braking anchor is the steepest fall of the forward acceleration in the 0.15 s after it."""
        score = step_score(data, fs)
        ic = score_peaks(
            score,
            fs,
            min_score=self.min_score,
            relative_score=self.relative_score,
            window_s=self.score_window_s,
            min_step_s=self.min_step_s,
        ).astype(np.int64)
        n = len(braking)
        ahead = max(1, int(round(0.15 * fs)))
        anchors = segment_argext(braking, ic, np.minimum(ic + ahead, n), largest=True).astype(np.int64)
        # Where the braking is clear, its forward peak times the contact best (Zijlstra & Hof 2003).
        strong = braking[anchors] >= self.strong_fraction * envelope[anchors]
        fwd = lowpass(ap, self.event_lowpass_hz, fs, 2)
        back = max(1, int(round(self.peak_search_s * fs)))
        peak = segment_argext(fwd, np.maximum(anchors - back, 0), anchors + 1, largest=True)
        # at the nominal rate: at 99.99992 Hz (a fitted clock) a forward peak 3 samples away, which
        # 100 Hz snaps to, was not snapped (the contact 30 ms off)
        snap = strong & (np.abs(peak - ic) <= self.snap_s * nominal_rate(fs))
        ic = np.where(snap, peak, ic)
        ic, first = np.unique(ic, return_index=True)
        anchors = anchors[first]
        # A closing step: the last of a walking stretch, with a weak braking.
        period = self._period(ic, fs)
        nxt = np.r_[np.diff(ic) / fs, np.inf]
        weak = braking[anchors] < self.strong_fraction * envelope[anchors]
        is_closing = (nxt > self.stop_after_periods * period) & weak
        return ic, anchors, is_closing, len(ic), 0

    # -- steps of the method --------------------------------------------------------------------------
    def _envelope(self, braking: np.ndarray, fs: float) -> np.ndarray:
        return braking_envelope(braking, fs, self.envelope_window_s)

    def _period(self, steps: np.ndarray, fs: float) -> np.ndarray:
        return local_period(steps, fs)

    # -- bookkeeping ----------------------------------------------------------------------------------
    def _check(self, data: pd.DataFrame, sampling_rate_hz: float) -> float:
        return check_detector_input(
            self,
            data,
            sampling_rate_hz,
            positive=(
                "step_lowpass_hz",
                "event_lowpass_hz",
                "min_braking_g_per_s",
                "strong_fraction",
                "weak_fraction",
                "envelope_window_s",
                "min_step_s",
                "min_step_fraction",
                "stop_after_periods",
                "peak_search_s",
                "max_double_support",
                "max_turn_deg",
            ),
            column="acc_pa",
            task="walking step detection",
            min_rate_hz=max(MIN_SAMPLING_RATE_HZ, 2.5 * self.step_lowpass_hz),
            min_duration_s=MIN_DURATION_S,
        )

    def _store(
        self,
        fs: float,
        n: int,
        braking: np.ndarray,
        envelope: np.ndarray,
        ic: np.ndarray,
        to: np.ndarray,
        anchors: np.ndarray,
        is_closing: np.ndarray,
        n_candidates: int,
        n_merged: int,
    ) -> None:
        step_id = pd.RangeIndex(len(ic), name="step_id")
        ic = ic.astype(np.int64)
        self.ic_list_ = pd.DataFrame({"ic": ic, "ic_s": ic / fs}, index=step_id)
        period = self._period(ic, fs) if len(ic) else np.zeros(0)
        self.events_ = self.ic_list_.assign(
            braking_g_per_s=braking[anchors],
            relative_braking=braking[anchors] / np.maximum(envelope[anchors], 1e-12),
            closing=is_closing,
            step_period_s=period,
            to=to,
            to_s=to / fs,
        )
        gaps = np.diff(ic) / fs
        plausible = gaps[(gaps >= 0.25) & (gaps <= 2.0)]
        self.step_period_s_ = float(np.median(plausible)) if len(plausible) else float("nan")
        self.signal_g_per_s_ = braking
        self.diagnostics_ = {
            "samples": n,
            "candidates": int(n_candidates),
            "steps": len(ic),
            "merged": int(n_merged),
            "closing_steps": int(is_closing.sum()),
        }
