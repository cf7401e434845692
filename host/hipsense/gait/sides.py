"""Which foot is on the ground: the side of every step, from the pelvis's own movement."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from hipsense.conventions import G
from hipsense.errors import HipsenseError
from hipsense.gait.base import Algorithm
from hipsense.gait.side_features import (
    flight_low,
    obliquity_of,
    of_phase,
    phase_fit,
    phase_sums,
    projection,
    spread_of,
    step_features,
    step_phase,
    window_mean,
)
from hipsense.gait.windows import Rows, Window, as_rows

#: Step period assumed when the contacts do not tell (fewer than two plausible intervals), s.
DEFAULT_STEP_S = 0.5
#: Value of ``sides_`` for a step whose side is not known well enough to report (see ``min_side_confidence``).
UNKNOWN_SIDE = ""


class SideDetector(Algorithm):
    """Assign ``"L"``, ``"R"`` or unknown (``""``) to each step (each initial contact) from the pelvis's
    movement, with a confidence per step and per bout.

    Running and walking move the pelvis differently, so each step is first classed by its vertical
    acceleration: a step with a flight phase (low-passed ``acc_is`` below ``flight_g`` in the last two
    thirds of the step, where running flight falls) is running; a majority of three neighbouring steps
    decides, so a walking step next to the last flight of a run stays walking.

    1. **Running steps: the phase of the pelvic obliquity.** The obliquity (``gyr_pa`` low-passed at
       ``lowpass_hz``, freed of its moving mean over a stride, integrated, freed of its moving mean
       again) repeats once per stride and changes sign from one step to the next. Its stride-frequency
       part peaks, in left stance, at ``running_phase`` step periods after the contact (right side
       lowest: the swing side has dropped; it rolls back well before toe-off). The step's score is its
       obliquity projected on ``cos(pi (u - running_phase))``, ``u`` the time since contact in local
       step periods; positive means left. This is a matched filter on the whole step, so it stands a
       phase error of up to half a step, where a window on the roll rate (the walking rule below) flips
       with a shift of a tenth of a stride.
    2. **Walking steps** keep the rule validated on 108 real walking trials: the mean ``gyr_pa`` over
       ``roll_window`` (the contralateral drop at loading) plus the mean ``acc_ml`` over ``ml_window``
       (the push back toward the midline in mid stance), each scaled by its spread. ``acc_ml`` is not
       used for running: there the stance force (2-3 g) tilts with the obliquity and its projection
       outweighs the small lateral force, so ``acc_ml`` has the opposite sign (docs/conventions.md).
    3. **Chain.** Consecutive contacts about one step apart (within ``chain_ratio`` of the local
       period) almost always alternate. The scores become log-odds (``evidence_gain`` x score / median
       |score|, per gait) and a two-state forward-backward pass with alternation probability
       ``1 - alternation_error`` combines each step with its neighbours. An interval outside
       ``chain_ratio`` cuts the chain; a linked run of steps is a *bout* here (``bout_``).
    4. **Bout confidence.** The rule is right for a runner whose obliquity peaks near
       ``running_phase``; a runner whose pattern is half a step off would get every side swapped with
       a confident chain. So each running bout's own phase ``u0`` is measured (least squares of the
       side-signed obliquity on ``cos``/``sin`` of ``pi u``), and its distance to the expected phase
       under the two labellings, ``d`` and ``1 - d`` (in step periods), gives the probability that the
       labelling is right, with a normal prior of SD ``phase_spread`` on a runner's phase:
       ``1 / (1 + exp(-((1 - d)^2 - d^2) / (2 phase_spread^2)))``; a bout whose obliquity swings less
       than ``min_roll_deg`` gets 0.5. Walking bouts get 1 (the walking rule's own validation). With
       the default spread (0.25) a bout is confident (0.9) and right while its phase is within 0.36 step of
       ``running_phase``, unknown from 0.36 to 0.64, and confidently swapped beyond 0.64: a runner that
       far off looks exactly like one 0.36 off the other way, the limit of any rule on the roll alone.
    5. **Step confidence** is the probability that the step's side is right: the bout's confidence
       combined with the chain's posterior for the step. Below ``min_side_confidence`` a running step's
       side is unknown (``""``), not guessed. Walking steps keep theirs (the walking validation counts
       every step, weak ones included); their confidence is still reported.
    6. **Without a gyroscope** running sides cannot be told (a pelvic accelerometer has no reliable
       side sign in running, see 2): they are unknown, unless ``first_side`` says which foot made the
       first contact; then they alternate from it along the first chained bout (after a pause which foot
       leads again is unknown). Walking steps with ``acc_ml`` use its walking window alone.

    Data requirements: body-frame data after alignment: ``gyr_pa`` and ``gyr_is`` in deg/s (the gyroscope
    path), ``acc_ml`` in m/s^2 (walking), ``acc_is`` in m/s^2 (running or walking, else every step is
    taken as running); initial contacts as sample indices in time order. A long segment may come as
    :class:`~hipsense.gait.windows.Rows` with windows: the per-sample work then runs one window at a time
    (``side_features.py``), with the same results as over one window to rounding.

    Validation (docs/validation.md, docs/validation-walking.md): the motion-capture running trial
    (``running-pelvis-mocap``, 76 steps): 100 % from the reference and from the detected contacts
    (``benchmarks/mocap.py``); 110 real walking trials (``benchmarks/walking.py``, walking rule unchanged):
    97.6 % of 3746 steps, 99.5 % without the two trials whose reference sides look swapped; simulated
    running (with the pelvis roll of the motion capture), walking and turns: > 99 %.

    Parameters
    ----------
    lowpass_hz
        Low-pass cut-off of the side signals.
    roll_window, ml_window
        Walking: start and end of the roll-rate and of the ``acc_ml`` window, in step periods after
        the contact.
    running_phase
        Running: where the stride-frequency obliquity peaks in left stance, in step periods after the
        contact (0.0, measured on the motion-capture trial: -0.01).
    phase_spread
        Running: SD of a runner's phase around ``running_phase`` assumed by the bout confidence, in
        step periods.
    min_roll_deg
        Running: stride-frequency obliquity amplitude below which a bout's phase is not trusted.
    flight_g
        A step whose low-passed ``acc_is`` falls below this (g) has a flight phase: running.
    gait
        ``"auto"`` (by flight), or ``"running"`` / ``"walking"`` for every step.
    evidence_gain
        Log-odds of a step with a typical score.
    alternation_error
        Probability that two contacts about one step apart are on the same side (0 to 0.5).
    chain_ratio
        Interval, as a fraction of the local step period, within which consecutive contacts are chained.
    min_confidence
        Steps whose own score is weaker than this fraction of the median are flagged ``inferred_``.
    min_side_confidence
        Running steps whose side confidence is below this get the unknown side ``""``.
    first_side
        ``"L"`` or ``"R"``: the foot of the first contact, when the data cannot tell (no gyroscope).

    Attributes
    ----------
    sides_
        ``"L"``/``"R"`` per initial contact (the foot that lands at it), ``""`` where unknown.
    score_
        The step's own signed score (positive: left), in units of the median ``|score|`` of its gait.
    posterior_
        Probability that the step is left, from the chain (the bout's confidence not included).
    confidence_
        Probability that the step's side (before blanking) is right: 0.5 (a coin) to 1.
    bout_
        Chained bout number per step (a run of contacts about one step apart).
    bout_confidence_
        Per step, its bout's confidence (0.5 to 1).
    bouts_
        One row per chained bout: ``first``, ``last`` (step numbers), ``gait``, ``phase`` (running:
        measured ``u0``), ``roll_deg`` (its amplitude), ``confidence``.
    alternate_
        0 or 1 per step: the step's parity in its bout (0 for the bout's first step), for an
        alternate-step comparison when the sides are unknown.
    gait_
        ``"running"`` or ``"walking"`` per step.
    source_
        ``"gyroscope"``, ``"acc_ml"``, ``"given"`` (from ``first_side``) or ``"unknown"``.
    inferred_
        True where the side rests on the neighbours rather than on the step's own signal.

    Notes
    -----
    Why (measured; docs/validation.md, "Pelvis motion capture"): on the motion-capture trial the old
    running rule (roll rate at loading plus ``acc_ml`` in mid stance, the walking rule) gave 0 % because
    ``acc_ml`` has the opposite sign in running stance (-0.84 m/s^2 mean over mid left stance, 97 % of
    steps negative); the roll-rate window alone was right only through a small second harmonic. The
    obliquity's stride component is 3.8 degrees there with its peak at -0.01 step periods after a left
    contact; in walking (110 trials) it peaks at 0.6 (median), which is why walking keeps its own rule.

    The chain is a two-state hidden Markov model (Rabiner 1989) whose transition depends on the interval
    between contacts; ours, as are the stride detrending and the phase-based bout confidence. The
    running phase was measured on one runner of Fukuchi et al. (2017) (the motion-capture trial);
    contralateral pelvic drop at mid stance in injured and healthy runners: Bramah et al. (2018).

    References
    ----------
    McCamley J., Donati M., Grimpampi E., Mazza C. (2012) An enhanced estimate of initial contact and
    final contact instants of time using lower trunk inertial sensor data. Gait Posture 36(2):316-318.
    doi:10.1016/j.gaitpost.2012.02.019

    Rabiner L.R. (1989) A tutorial on hidden Markov models and selected applications in speech
    recognition. Proc IEEE 77(2):257-286. doi:10.1109/5.18626

    Fukuchi R.K., Fukuchi C.A., Duarte M. (2017) A public dataset of running biomechanics and the effects
    of running speed on lower extremity kinematics and kinetics. PeerJ 5:e3298. doi:10.7717/peerj.3298

    Bramah C., Preece S.J., Gill N., Herrington L. (2018) Is there a pathological gait associated with
    common soft tissue running injuries? Am J Sports Med 46(12):3023-3031. doi:10.1177/0363546518793657
    """

    def __init__(
        self,
        *,
        lowpass_hz: float = 6.0,
        roll_window: tuple[float, float] = (0.05, 0.35),
        ml_window: tuple[float, float] = (0.3, 0.7),
        running_phase: float = 0.0,
        phase_spread: float = 0.25,
        min_roll_deg: float = 0.5,
        flight_g: float = 0.2,
        gait: Literal["auto", "running", "walking"] = "auto",
        evidence_gain: float = 2.0,
        alternation_error: float = 0.05,
        chain_ratio: tuple[float, float] = (0.6, 1.5),
        min_confidence: float = 0.25,
        min_side_confidence: float = 0.9,
        first_side: Literal["L", "R"] | None = None,
    ) -> None:
        self.lowpass_hz = lowpass_hz
        self.roll_window = roll_window
        self.ml_window = ml_window
        self.running_phase = running_phase
        self.phase_spread = phase_spread
        self.min_roll_deg = min_roll_deg
        self.flight_g = flight_g
        self.gait = gait
        self.evidence_gain = evidence_gain
        self.alternation_error = alternation_error
        self.chain_ratio = chain_ratio
        self.min_confidence = min_confidence
        self.min_side_confidence = min_side_confidence
        self.first_side = first_side

    def detect(
        self,
        data: pd.DataFrame | Rows,
        ic: np.ndarray,
        *,
        sampling_rate_hz: float,
        activity: np.ndarray | None = None,
        windows: Sequence[Window] | None = None,
    ) -> SideDetector:
        """Find the side of every contact in ``ic``; results in the attributes ending in ``_``.

        ``activity``, when given, is each contact's gait as the caller knows it (``"run"``/``"running"``
        or ``"walk"``/``"walking"``, e.g. from the activity bouts): it replaces the flight test (and
        ``gait``) for choosing the running or the walking rule.

        ``data`` is a DataFrame or a :class:`~hipsense.gait.windows.Rows` read window by window;
        ``windows`` (:func:`~hipsense.gait.windows.plan_windows`; default one window over everything)
        bound the per-sample work to one window at a time. The results are those of one window, to
        rounding (docs/metrics.md, "Sides").
        """
        if not 0 <= self.alternation_error <= 0.5:
            raise HipsenseError(f"alternation_error must lie in [0, 0.5], got {self.alternation_error!r}")
        if self.first_side not in (None, "L", "R"):
            raise HipsenseError(f"first_side must be 'L', 'R' or None, got {self.first_side!r}")
        if self.gait not in ("auto", "running", "walking"):
            raise HipsenseError(f"gait must be 'auto', 'running' or 'walking', got {self.gait!r}")
        if not self.phase_spread > 0:
            raise HipsenseError(f"phase_spread must be positive, got {self.phase_spread!r}")
        fs = float(sampling_rate_hz)
        if not (math.isfinite(fs) and fs > 0):
            raise HipsenseError(f"sampling_rate_hz must be a positive number, got {sampling_rate_hz!r}")
        rows = as_rows(data)
        ic = np.asarray(ic, dtype=np.int64)
        n = len(rows)
        if len(ic) and (ic.min() < 0 or ic.max() >= n):
            raise HipsenseError("initial contacts lie outside the data")
        if len(ic) > 1 and (np.diff(ic) <= 0).any():
            raise HipsenseError("initial contacts must be in increasing time order")
        plan = _checked_windows(windows, n)
        k = len(ic)
        columns = set(rows.columns)
        has_gyro = {"gyr_is", "gyr_pa"} <= columns
        has_ml = "acc_ml" in columns

        period = _local_period(ic, fs)
        length = np.maximum(np.rint(period * fs).astype(np.int64), 1)
        running: np.ndarray | None
        if activity is not None:
            activity = np.asarray(activity).astype(str)
            if len(activity) != k:
                raise HipsenseError(f"activity must have one entry per contact ({k}), got {len(activity)}")
            known = np.isin(activity, ("run", "running", "walk", "walking"))
            if not known.all():
                raise HipsenseError(f"activity must be 'run' or 'walk', got {str(activity[~known][0])!r}")
            running = np.isin(activity, ("run", "running"))
        else:
            running = self._gait_without_flight(columns, k)
        ratio = np.diff(ic) / fs / (0.5 * (period[:-1] + period[1:])) if k > 1 else np.zeros(0)
        linked = (ratio > self.chain_ratio[0]) & (ratio < self.chain_ratio[1])
        bout = np.r_[0, np.cumsum(~linked)] if k else np.zeros(0, dtype=np.int64)
        alternate = _parity_in_bout(bout)

        # 1-2. The per-sample work, window by window (side_features.py): each step's features. The
        # stride is per step (from all contacts); the phase sums are for the steps of running bouts,
        # for all steps while the flight test has not said which those are.
        stride_s = 2.0 * float(np.median(period)) if k else 2 * DEFAULT_STEP_S
        walk_windows: dict[str, tuple[float, float]] = {}
        if k and (running is None or (~running).any()):
            if has_gyro:
                walk_windows["gyr_pa"] = self.roll_window
            if has_ml:
                walk_windows["acc_ml"] = self.ml_window
        features = step_features(
            rows,
            plan,
            ic,
            period,
            length,
            fs,
            stride_s,
            lowpass_hz=self.lowpass_hz,
            running_phase=self.running_phase,
            flight=running is None,
            gyro=bool(k) and has_gyro,
            phase_steps=np.ones(k, dtype=bool) if running is None else _in_running_bouts(bout, running),
            walk_windows=walk_windows,
        )
        if running is None:
            assert features.flight_low is not None  # measured whenever the gait was not given
            running = self._flight_vote(features.flight_low)

        # Each step's own score (positive: left) and whether its gait has a side signal at all.
        score = np.zeros(k)
        usable = np.zeros(k, dtype=bool)
        if features.projection is not None and running.any():
            score[running] = features.projection[running]
            usable |= running
        if features.walk is not None and (~running).any():
            score[~running] = features.walk[~running]
            usable |= ~running
        z = np.zeros(k)
        for group in (running & usable, ~running & usable):
            typical = float(np.median(np.abs(score[group]))) if group.any() else 0.0
            z[group] = score[group] / typical if typical > 0 else score[group]

        # 3. Chain of alternating neighbours.
        llr = np.clip(self.evidence_gain * z, -30.0, 30.0)
        posterior_llr = _alternating_chain(llr, linked, self.alternation_error) if k else np.zeros(0)
        p_left = 1.0 / (1.0 + np.exp(-np.clip(posterior_llr, -50.0, 50.0)))
        left = posterior_llr >= 0
        q = np.where(left, p_left, 1.0 - p_left)

        # 4. Confidence per bout: the measured obliquity phase of each running bout, from its steps'
        # sums signed by the chain's sides.
        bout_conf = np.ones(k)
        table = []
        signed = np.where(left, 1.0, -1.0)
        for b in range(int(bout[-1]) + 1 if k else 0):  # one pass per bout, not per sample
            m = bout == b
            steps = np.flatnonzero(m)
            is_run = bool(running[m].mean() >= 0.5)
            phase = roll = np.nan
            if not usable[m].any():
                conf = 0.5
            elif is_run and features.phase_sums is not None:
                phase, roll = phase_fit(features.phase_sums[m], signed[m])
                conf = _phase_confidence(
                    phase, roll, self.running_phase, self.phase_spread, self.min_roll_deg
                )
            else:
                conf = 1.0
            bout_conf[m] = conf
            table.append(
                {
                    "first": int(steps[0]),
                    "last": int(steps[-1]),
                    "gait": "running" if is_run else "walking",
                    "phase": phase,
                    "roll_deg": roll,
                    "confidence": conf,
                }
            )

        # 5. Step confidence: right if the bout's labelling and the step's chain posterior both are
        # right, or both wrong.
        confidence = np.where(usable, bout_conf * q + (1 - bout_conf) * (1 - q), 0.5)
        sides = np.where(left, "L", "R").astype(object)
        source = "gyroscope" if has_gyro else ("acc_ml" if (usable.any() and has_ml) else "unknown")

        # 6. No side signal: the user's first side along the first bout, else unknown.
        if k and not usable.any() and self.first_side is not None:
            first = bout == 0
            other = "R" if self.first_side == "L" else "L"
            sides = np.where(alternate == 0, self.first_side, other).astype(object)
            left = sides == "L"
            confidence = np.where(first, 1.0, 0.5)
            p_left = np.where(first, left.astype(float), 0.5)
            source = "given"
        # Walking steps keep their side: the walking rule's validation (99.5 % of 3675 real steps)
        # includes its weak steps, whose confidence is still reported.
        blank = (confidence < self.min_side_confidence) & (running | ~usable)
        sides[blank] = UNKNOWN_SIDE
        inferred = usable & ((np.abs(z) < self.min_confidence) | ((z >= 0) != left))

        self.sides_ = np.asarray(sides, dtype=str) if k else np.zeros(0, dtype="<U1")
        self.score_ = z
        self.posterior_ = p_left
        self.confidence_ = confidence
        self.bout_ = bout.astype(np.int64)
        self.bout_confidence_ = bout_conf
        self.bouts_ = pd.DataFrame(
            table, columns=["first", "last", "gait", "phase", "roll_deg", "confidence"]
        )
        self.alternate_ = alternate
        self.gait_ = np.where(running, "running", "walking") if k else np.zeros(0, dtype="<U7")
        self.source_ = source
        self.inferred_ = np.asarray(inferred, dtype=bool)
        return self

    def _gait_without_flight(self, columns: set[str], k: int) -> np.ndarray | None:
        """Each step's gait when no flight test is needed (``gait`` given, no ``acc_is``), else None."""
        if self.gait != "auto":
            return np.full(k, self.gait == "running")
        if "acc_is" not in columns or k == 0:
            return np.ones(k, dtype=bool)
        return None

    def _flight_vote(self, low: np.ndarray) -> np.ndarray:
        """Running steps from each step's lowest ``acc_is`` in its flight window (below ``flight_g``)."""
        flight = low < self.flight_g * G
        if len(flight) < 3:
            return flight
        # Majority of three neighbours: a walking step next to the last flight of a run (its window
        # reaches into it) or a single stumble does not change the gait.
        votes = flight.astype(int)
        votes = np.r_[votes[0], votes[:-1]] + votes + np.r_[votes[1:], votes[-1]]
        return votes >= 2

    def _running_steps(self, data: pd.DataFrame, ic: np.ndarray, length: np.ndarray, fs: float) -> np.ndarray:
        """True for steps with a flight phase (``acc_is`` under ``flight_g``), or as ``gait`` says:
        :meth:`detect`'s flight test over one frame."""
        known = self._gait_without_flight(set(data.columns), len(ic))
        if known is not None:
            return known
        acc = data["acc_is"].to_numpy(dtype=float)
        return self._flight_vote(flight_low(acc, ic, length, fs, len(acc) > 15))


def _checked_windows(windows: Sequence[Window] | None, n: int) -> list[Window]:
    """The windows over ``n`` rows (one over everything by default), checked: their cores tile
    ``[0, n)`` in order and each window holds its core."""
    if windows is None:
        return [Window(0, n, 0, n)]
    plan = list(windows)
    tiled = bool(plan) and plan[0].core_lo == 0 and plan[-1].core_hi == n
    tiled = tiled and all(a.core_hi == b.core_lo for a, b in zip(plan, plan[1:], strict=False))
    if not tiled or any(not 0 <= w.lo <= w.core_lo <= w.core_hi <= w.hi <= n for w in plan):
        raise HipsenseError(f"windows must hold cores that tile the {n} rows in order")
    return plan


def _in_running_bouts(bout: np.ndarray, running: np.ndarray) -> np.ndarray:
    """True for the steps of chained bouts whose steps are mostly running (the bout phase fit's)."""
    if not len(bout):
        return np.zeros(0, dtype=bool)
    share = np.bincount(bout, weights=running.astype(float)) / np.bincount(bout)
    return (share >= 0.5)[bout]


# The per-sample helpers live in side_features.py; these names stay for the tests that pin them.
_step_phase = step_phase
_of_phase = of_phase
_projection = projection
_window_mean = window_mean


def _obliquity(gyr_pa: np.ndarray, fs: float, stride_s: float, lowpass_hz: float) -> np.ndarray:
    """:func:`~hipsense.gait.side_features.obliquity_of` over one frame (low-passed from 16 samples)."""
    return obliquity_of(gyr_pa, fs, stride_s, lowpass_hz, len(gyr_pa) > 15)


def _bout_phase(
    obliquity: np.ndarray, ic: np.ndarray, length: np.ndarray, signed: np.ndarray
) -> tuple[float, float]:
    """Phase (step periods, in (-1, 1]) and amplitude (deg) of the side-signed obliquity of one bout,
    least squares on ``[cos(pi u), sin(pi u), 1]`` (:func:`~hipsense.gait.side_features.phase_fit`)."""
    return phase_fit(phase_sums(obliquity, ic, length), signed)


def _phase_confidence(phase: float, roll: float, expected: float, spread: float, min_roll: float) -> float:
    """Probability that a bout's labelling is right given its measured phase (see the class notes)."""
    if not (math.isfinite(phase) and roll >= min_roll):
        return 0.5
    d = abs((phase - expected + 1.0) % 2.0 - 1.0)  # distance on the stride circle, 0..1 step
    evidence = ((1.0 - d) ** 2 - d**2) / (2.0 * spread**2)
    return 1.0 / (1.0 + math.exp(-max(min(evidence, 50.0), -50.0)))


def _parity_in_bout(bout: np.ndarray) -> np.ndarray:
    """0/1 per step: its position's parity within its bout (0 for the bout's first step)."""
    k = len(bout)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.r_[0, np.flatnonzero(np.diff(bout)) + 1]
    start = np.repeat(first, np.diff(np.r_[first, k]))
    return ((np.arange(k) - start) % 2).astype(np.int64)


def _spread(x: np.ndarray) -> float:
    """A robust scale (median absolute value), never zero: over one frame, what ``step_features``
    finds window by window (:class:`~hipsense.gait.side_features.MedianAbs`)."""
    return spread_of(float(np.median(np.abs(x))) if len(x) else 0.0)


def _local_period(ic: np.ndarray, fs: float) -> np.ndarray:
    """Step period (s) at each contact: running median of the plausible intervals around it."""
    k = len(ic)
    if k < 2:
        return np.full(k, DEFAULT_STEP_S)
    gap = np.diff(ic) / fs
    ok = (gap >= 0.2) & (gap <= 2.0)
    if not ok.any():
        return np.full(k, DEFAULT_STEP_S)
    med = pd.Series(np.where(ok, gap, np.nan)).rolling(7, center=True, min_periods=1).median()
    med = med.fillna(float(np.median(gap[ok]))).to_numpy()
    return 0.5 * (np.r_[med[0], med] + np.r_[med, med[-1]])


def _alternating_chain(llr: np.ndarray, linked: np.ndarray, error: float) -> np.ndarray:
    """Posterior log-odds of "left" per step in a two-state chain whose linked neighbours alternate.

    ``llr`` is each step's own evidence; ``linked[i]`` says whether steps ``i`` and ``i + 1`` are one
    step apart (then they are on opposite sides with probability ``1 - error``; otherwise independent).
    Exact sum-product on a chain: messages in log-odds, ``m = -2 atanh(c tanh(x / 2))`` with
    ``c = 1 - 2 error`` for a linked pair and 0 for a cut. One pass each way over the steps.
    """
    k = len(llr)
    coupling = min(max(1.0 - 2.0 * error, 0.0), 1.0 - 1e-12)
    c = np.where(linked, coupling, 0.0).tolist()
    own = llr.tolist()
    fwd = [0.0] * k
    bwd = [0.0] * k
    for i in range(1, k):  # per step, not per sample: two scalar passes
        fwd[i] = -2.0 * math.atanh(c[i - 1] * math.tanh(0.5 * (own[i - 1] + fwd[i - 1])))
    for i in range(k - 2, -1, -1):
        bwd[i] = -2.0 * math.atanh(c[i] * math.tanh(0.5 * (own[i + 1] + bwd[i + 1])))
    return llr + np.asarray(fwd) + np.asarray(bwd)
