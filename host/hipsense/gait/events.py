"""Initial contact (IC) and toe-off (TO) of every running step from the sacrum's vertical acceleration.

The physics in one line: an accelerometer reads specific force, so the vertical reading of a point that
moves with the body's centre of mass is the vertical ground reaction force divided by body mass. In the
flight phase of running nothing pushes on the body and the reading is free fall, about 0 g; in stance it
rises to 2-3 g and averages 1 g over whole steps (the body does not rise or sink on average). Contact is
therefore where the vertical reading leaves the free-fall level, and toe-off where it returns to it.
The sacrum is close to, but not at, the centre of mass, so the sacral signal lags and smears the force
a little; :class:`RunningContactDetector` documents how it copes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hipsense.conventions import G
from hipsense.errors import HipsenseError
from hipsense.gait.base import Algorithm
from hipsense.gait.filters import (
    argext_of_ids,
    first_per_range,
    lowpass,
    moving_mean,
    runs,
    segment_argext,
    segment_first_true,
    segment_ids,
    segment_quantile,
)

#: Shortest input :meth:`RunningContactDetector.detect` accepts, in seconds (less than one stride).
MIN_DURATION_S = 0.5
#: Body weight in g above the flight level: the vertical specific force of a body standing still.
BODY_WEIGHT_G = 1.0
#: A late-stance pause of the unloading: the descent at most this fraction as steep as at its steepest.
PAUSE_STEEPNESS = 0.2


class EventDetectionError(HipsenseError, ValueError):
    """The data cannot be searched for gait events: empty or too short, a column missing, NaN values,
    or a sampling rate the method cannot use. The message says which."""


def check_positive(detector: object, names: tuple[str, ...]) -> None:
    """Raise :class:`EventDetectionError` unless each named parameter of ``detector`` is a positive number."""
    for name in names:
        value = getattr(detector, name)
        if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
            raise EventDetectionError(f"parameter {name} must be a positive number, got {value!r}")


def check_detector_input(
    detector: object,
    data: pd.DataFrame,
    sampling_rate_hz: float,
    *,
    positive: tuple[str, ...],
    column: str,
    task: str,
    min_rate_hz: float,
    min_duration_s: float,
) -> float:
    """Check a detector's parameters and input the same way for every event detector; return the rate.

    ``positive`` names the detector's parameters that must be positive numbers; ``column`` is the
    body-frame column the method reads; ``task`` names the method in messages.
    """
    check_positive(detector, positive)
    if not isinstance(data, pd.DataFrame):
        raise EventDetectionError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if column not in data.columns:
        raise EventDetectionError(
            f"{task} needs the body-frame column {column} (m/s^2); align the sensor frame first"
        )
    try:
        fs = float(sampling_rate_hz)
    except (TypeError, ValueError):
        raise EventDetectionError(f"sampling_rate_hz must be a number, got {sampling_rate_hz!r}") from None
    if not np.isfinite(fs) or fs < min_rate_hz:
        raise EventDetectionError(
            f"sampling_rate_hz={sampling_rate_hz!r} is too low or invalid (need >= {min_rate_hz:g} Hz)"
        )
    n = len(data)
    if n == 0:
        raise EventDetectionError("no data: the DataFrame is empty")
    if n < min_duration_s * fs:
        raise EventDetectionError(
            f"too short for {task}: {n} samples ({n / fs:.2f} s), need at least {min_duration_s} s"
        )
    try:
        values = data[column].to_numpy(dtype=float)
    except (TypeError, ValueError):
        # Text or objects from a foreign file: a one-line message, not NumPy's.
        raise EventDetectionError(
            f"{column} holds values that are not numbers; convert it to floats first"
        ) from None
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if bad:
        raise EventDetectionError(f"{column} has {bad} NaN or infinite values; fill or cut gaps first")
    return fs


class RunningContactDetector(Algorithm):
    """Initial contact (IC) and toe-off (TO) of each running step from body-frame ``acc_is`` at the sacrum.

    Levels are in g of vertical specific force (``acc_is / G``). Free fall (flight) reads about 0 g.

    1. **Stances.** ``acc_is`` low-passed at ``step_lowpass_hz`` (one smooth hump per stance) is
       compared with its moving mean over ``body_weight_window_s``: over whole steps the vertical
       specific force averages 1 g (body weight), whatever the sensor's gain or residual tilt. Each run
       above that line is one stance, Cavagna's *effective contact* (vertical force above body weight).
       Runs shorter than ``min_effective_contact_s`` or peaking less than ``min_peak_excess_g`` above
       the line (standing, noise) are not stances.
    2. **Flight.** Between two stances the event signal (``acc_is`` low-passed at ``lowpass_hz``) must
       spend at least ``min_flight_s`` below ``flight_threshold_g``; the threshold leaves room for the
       sacrum's own motion and the accelerometer's zero-g offset. The flight level is the median of
       those samples (about 0 g). A gap without flight (walking, grounded running, a recording cut in
       stance) gives neither the TO before it nor the IC after it: the detector never invents a flight.
    3. **IC: onset of loading.** From the flight's lowest point, the steepest rise of the event signal
       during *weight acceptance* (up to where it first reaches ``ic_ceiling_g`` above the flight
       level, i.e. body weight, or its first local maximum above the body-weight line if that comes
       first) is followed back along its tangent to the flight level: the classic "tangent at maximal
       slope meets the baseline" onset. The vertical force rises almost linearly from zero at contact;
       a plain low threshold would instead trip on the slow rise some runners show in late flight (up
       to 0.3 g, 20-30 ms before contact in the validation data). The ceiling makes the rule hold
       across foot strikes and grades: a rearfoot strike's impact transient rises through body weight
       steeply, but a forefoot strike or steep uphill running has no impact transient (Gottschall and
       Kram 2005; Lieberman et al. 2010), and there the steepest rise of the whole stance can be the
       later climb to the active peak, whose tangent points 30-50 ms after contact (seen on the +5
       degree trials before the ceiling was added: step F1 0.86 on one of them).
    4. **TO: end of unloading.** A Schmitt trigger on the event signal: the first downward crossing of
       the TO level after the signal was last at or above that level plus ``to_hysteresis_g``,
       interpolated between samples. Wobble in the flight smaller than the hysteresis cannot re-arm it;
       a late-stance rebound above it (the sacrum bouncing back while the toes still push, seen in the
       validation data) moves TO to the final descent. This is the vertical "return to free fall" of
       Wixted et al. and the threshold principle of Patoz et al. The TO level is ``to_threshold_g``
       above the flight level, or ``to_plateau_margin_g`` below the level of the unloading's last
       *pause* if that is higher. The pause is where the final descent (after the signal was last at
       body weight, 1 g, above the flight level) last slows to a local minimum of steepness (a local
       maximum of the slope) that is at most ``PAUSE_STEEPNESS`` (a fifth) as steep as the final descent
       at its steepest, above the fixed TO level. Why: the sacrum is not the centre of mass. The force
       falls smoothly to zero, but the sacral descent pauses on a shoulder 7-18 ms before the force's
       toe-off (group means) and reaches the flight level 20-30 ms after it: the pelvis's own motion
       relative to the centre of mass (rotation about the hips, the swing leg), not a ground force. The
       shoulder is higher on uphill running, whose push-off is longer and more propulsive (Gottschall
       and Kram 2005; Vernillo et al. 2017), so a fixed level ends uphill contacts late: at every level
       from 0.1 to 0.5 g the uphill contact times were 16-20 ms longer, relative to the force, than the
       downhill ones. Measured from the pause, TO follows the shoulder: at the force's toe-off the
       sacral signal is within 0.21 g of its pause level in each of the 17 trials that have pauses
       (per-trial medians), while its height above the flight there ranges from 0.0 to 0.7 g; uphill, 57
       of 88 steps pause (0.35-0.77 g), downhill 20 of 96 (0.22-0.35 g). Without a pause (a clean
       descent, as in the simulator) the rule is the fixed level. The TO level, 0.15 g, was chosen from
       a sweep of 0.1-0.2 g on the 19 real trials and the simulator's grade x foot-strike grid; the
       margin below the pause takes the same 0.15 g, and every margin from 0.10 to 0.20 g and every
       steepness limit from 0.2 to 0.35 met the issue's targets on the real trials (docs/validation.md,
       "Slopes"). The limit is 0.2, the largest that rejects 0.1 g of clip wobble at 25 Hz as a pause
       (tests/host/test_events.py).

    Events have sub-sample precision: ``ic_s``/``to_s`` are interpolated times, ``ic``/``to`` the
    nearest samples. IC and TO come from the same signal, so the delay with which the sacrum follows
    the ground reaction force shifts both and largely cancels in the contact time. No fixed time offset
    is added to any event. Vectorised: one hour at 208 Hz takes about 0.15-0.25 s (2-core machine).

    Data requirements: body-frame ``acc_is`` in m/s^2 (gravity included, up positive, after
    alignment), at least ``MIN_DURATION_S`` long, no NaN, 50 Hz or more (validated at 208 and 500 Hz).
    Other columns (``acc_pa``, ``acc_ml``, ``gyr_*``, ``t_s``) are ignored. Whole sessions can be
    passed: parts without flight produce no events.

    Limits (docs/validation.md): a late-stance dip to the flight level whose rebound stays below the
    hysteresis band makes TO early (seen in real data); clip wobble in the flight makes IC late (about
    +5 ms at 0.1 g in simulation) and, above about 0.15 g, TO unreliable. On real uphill running the
    sacral signal's late-stance pause made contact times long with a fixed TO level (+13 ms on average
    at +5 degrees); with the pause rule the uphill bias is +4.8 ms, but one uphill trial whose sacral
    signal rises about 20 ms before contact still reads +27 ms (docs/validation.md "Slopes"). The pause
    rule needs a clean late stance: clip wobble of 0.1 g at 25 Hz is rejected as a pause (tests), larger
    wobble on the descent could make TO early. Validated on one runner only (level, +5 and -5 degrees)
    and on the simulator (-10..+10 degrees, rearfoot/midfoot/forefoot); not for sprinting or walking.

    Parameters
    ----------
    lowpass_hz
        Cut-off of the event signal (zero-phase Butterworth of order ``filter_order``). 30 Hz keeps the
        loading rise (rise times of 15 ms or more) and removes noise and clip wobble above it.
    filter_order
        Order of that Butterworth (applied forward and backward).
    step_lowpass_hz
        Cut-off of the signal the stances are found on (second order, zero-phase): above the step
        frequency (up to about 4.5 Hz), well below the impact transient.
    body_weight_window_s
        Window of the moving mean that defines the 1 g (body-weight) line.
    flight_threshold_g
        Below this the body counts as in free fall.
    min_flight_s
        Least time below ``flight_threshold_g`` for a gap between stances to count as a flight.
    to_threshold_g
        Height of the TO crossing above the flight level.
    to_hysteresis_g
        How far above the TO level the signal must come back to count as stance again.
    to_plateau_margin_g
        How far below the level of the late-stance pause the TO level sits (step 4); ``None`` turns
        the pause rule off (TO at ``to_threshold_g`` above the flight level only).
    min_effective_contact_s
        Shortest run above the body-weight line kept as a stance.
    min_peak_excess_g
        How far above the body-weight line the smoothed stance peak must reach.
    ic_ceiling_g
        The IC tangent is taken on the rise below this height above the flight level (1 g: body
        weight, the end of weight acceptance).

    Attributes
    ----------
    events_
        One row per stance (index ``step_id``): ``ic``, ``to`` (nullable Int64 sample indices into
        ``data``), ``ic_s``, ``to_s`` (seconds from the first sample of ``data``; NaN when not found),
        ``contact_time_s`` (``to_s - ic_s``), ``flight_time_s`` (from this TO to the next IC),
        ``flight_before``, ``flight_after`` (bool), ``stance_peak`` (sample of the smoothed peak).
    ic_list_
        ``ic``, ``ic_s`` of the stances whose IC was found (index ``step_id``), as in mobgap.
    to_list_
        ``to``, ``to_s`` likewise.
    gaps_
        One row per gap between stances (gap ``j`` precedes stance ``j``, the last one follows the last
        stance): ``start``, ``end`` ([start, end)), ``has_flight``, ``flight_samples``,
        ``flight_level_g``.
    signal_g_
        The event signal (low-passed ``acc_is`` in g), for plots.
    body_weight_g_
        The body-weight line (moving mean of ``acc_is`` in g).
    diagnostics_
        Counts: samples, stances, ICs, TOs, contact times, gaps with and without flight.

    Notes
    -----
    Physics: an accelerometer reads specific force, so at the body's centre of mass the vertical
    reading is the vertical ground reaction force divided by body mass: 0 g in flight, 2-3 g in mid
    stance, 1 g on average. The sacrum is near, not at, the centre of mass; its signal lags the force
    (soft tissue, spine) and carries its own wobble, which is why each event is located on a robust
    feature rather than at a fixed level.

    How this relates to the literature:

    - Patoz et al. (2022) estimate contact and flight time from thresholds on the sacral vertical
      acceleration at 208 Hz (contact time RMSE 20 ms, bias 13 ms against a force treadmill). Same signal
      and principle; we locate IC by tangent extrapolation instead of a level, because a level trips on
      pre-contact drift, and measure levels from the flight itself, so gain and offset errors do not
      matter.
    - Auvinet et al. (2002), Lee et al. (2010) and Wixted et al. (2010) take IC from the
      anterior-posterior braking spike; Wixted et al. take TO where the vertical acceleration returns to
      free fall (as implemented and compared across 74 runners by Kiernan et al. 2023). We use the
      vertical axis only: it needs no anterior-posterior alignment, and IC and TO share its lag. The
      braking spike's minimum comes 20-30 ms after contact in the validation data; its onset would be
      an alternative IC (not implemented).
    - Cavagna (2006) defines effective contact (vertical force above body weight); we use it only to
      find the steps.
    - Bergamini et al. (2012) found no consistent acceleration feature for events in *sprinting* and
      used the gyroscope; this detector is for endurance running.
    - Reviews: Norris et al. (2014), Benson et al. (2018). Falbriard et al. (2018) (foot-worn) and
      Reenalda et al. (2016) (several sensors) are not used.

    References
    ----------
    Auvinet B. et al. (2002) Reference data for normal subjects obtained with an accelerometric device.
    Gait Posture 16(2):124-134. doi:10.1016/S0966-6362(01)00203-X

    Benson L.C. et al. (2018) The use of wearable devices for walking and running gait analysis outside
    of the lab: a systematic review. Gait Posture 63:124-138. doi:10.1016/j.gaitpost.2018.04.047

    Bergamini E. et al. (2012) Estimation of temporal parameters during sprint running using a
    trunk-mounted inertial measurement unit. J Biomech 45(6):1123-1126. doi:10.1016/j.jbiomech.2011.12.020

    Cavagna G.A. (2006) The landing-take-off asymmetry in human running. J Exp Biol 209:4051-4060.
    doi:10.1242/jeb.02344

    Falbriard M. et al. (2018) Accurate estimation of running temporal parameters using foot-worn
    inertial sensors. Front Physiol 9:610. doi:10.3389/fphys.2018.00610

    Kiernan D., Dunn Siino K., Hawkins D.A. (2023) Unsupervised gait event identification with a single
    wearable accelerometer and/or gyroscope: a comparison of methods across running speeds, surfaces,
    and foot strike patterns. Sensors 23(11):5022. doi:10.3390/s23115022

    Gottschall J.S., Kram R. (2005) Ground reaction forces during downhill and uphill running.
    J Biomech 38(3):445-452. doi:10.1016/j.jbiomech.2004.04.023

    Lee J.B., Mellifont R.B., Burkett B.J. (2010) The use of a single inertial sensor to identify
    stride, step, and stance durations of running gait. J Sci Med Sport 13(2):270-273.
    doi:10.1016/j.jsams.2009.01.005

    Lieberman D.E. et al. (2010) Foot strike patterns and collision forces in habitually barefoot
    versus shod runners. Nature 463:531-535. doi:10.1038/nature08723

    Norris M., Anderson R., Kenny I.C. (2014) Method analysis of accelerometers and gyroscopes in
    running gait: a systematic review. Proc IMechE P 228(1):3-15. doi:10.1177/1754337113502472

    Patoz A. et al. (2022) A single sacral-mounted inertial measurement unit to estimate peak vertical
    ground reaction force, contact time, and flight time in running. Sensors 22(3):784.
    doi:10.3390/s22030784

    Reenalda J. et al. (2016) Continuous three dimensional analysis of running mechanics during a
    marathon by means of inertial magnetic measurement units. J Biomech 49(14):3362-3367.
    doi:10.1016/j.jbiomech.2016.08.032

    Vernillo G. et al. (2017) Biomechanics and physiology of uphill and downhill running. Sports Med
    47(4):615-629. doi:10.1007/s40279-016-0605-y

    Wixted A.J., Billing D.C., James D.A. (2010) Validation of trunk mounted inertial sensors for
    analysing running biomechanics under field conditions, using synchronously collected foot contact
    data. Sports Eng 12(4):207-212. doi:10.1007/s12283-010-0043-2
    """

    def __init__(
        self,
        *,
        lowpass_hz: float = 30.0,
        filter_order: int = 4,
        step_lowpass_hz: float = 6.0,
        body_weight_window_s: float = 2.0,
        flight_threshold_g: float = 0.3,
        min_flight_s: float = 0.02,
        to_threshold_g: float = 0.15,
        to_hysteresis_g: float = 0.05,
        to_plateau_margin_g: float | None = 0.15,
        min_effective_contact_s: float = 0.04,
        min_peak_excess_g: float = 0.25,
        ic_ceiling_g: float = 1.0,
    ) -> None:
        self.lowpass_hz = lowpass_hz
        self.filter_order = filter_order
        self.step_lowpass_hz = step_lowpass_hz
        self.body_weight_window_s = body_weight_window_s
        self.flight_threshold_g = flight_threshold_g
        self.min_flight_s = min_flight_s
        self.to_threshold_g = to_threshold_g
        self.to_hysteresis_g = to_hysteresis_g
        self.to_plateau_margin_g = to_plateau_margin_g
        self.min_effective_contact_s = min_effective_contact_s
        self.min_peak_excess_g = min_peak_excess_g
        self.ic_ceiling_g = ic_ceiling_g

    # -- public -------------------------------------------------------------------------------------
    def detect(self, data: pd.DataFrame, *, sampling_rate_hz: float) -> RunningContactDetector:
        """Find IC and TO of every running step in ``data``; results go to the ``*_`` attributes."""
        fs = self._check(data, sampling_rate_hz)
        acc_g = data["acc_is"].to_numpy(dtype=float) / G
        n = len(acc_g)

        x = lowpass(acc_g, self.lowpass_hz, fs, self.filter_order)
        smooth = lowpass(acc_g, self.step_lowpass_hz, fs, 2)
        bw = moving_mean(acc_g, self.body_weight_window_s, fs)
        slope = np.gradient(x)  # g per sample

        # 1. Stances: runs of the smoothed signal above the body-weight line.
        a, b = runs(smooth > bw)
        peak = segment_argext(smooth, a, b, largest=True)
        keep = (b - a >= max(1, round(self.min_effective_contact_s * fs))) & (
            smooth[np.maximum(peak, 0)] - bw[np.maximum(peak, 0)] >= self.min_peak_excess_g
        )
        a, b, peak = a[keep], b[keep], peak[keep]
        k = len(a)

        # 2. Gaps: gap j lies before stance j; gap k after the last stance.
        gs, ge = np.r_[0, b], np.r_[a, n]
        in_flight = x < self.flight_threshold_g
        # Flight samples per gap from one running count (the same integers as a per-gap sum).
        count = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(in_flight, out=count[1:])
        flight_samples = count[ge] - count[gs]
        has_flight = flight_samples >= max(1, round(self.min_flight_s * fs))
        level = segment_quantile(x, in_flight, gs, ge, 0.5)  # median
        low = segment_argext(x, gs, ge, largest=False)

        ic_frac = np.full(k, np.nan)
        to_frac = np.full(k, np.nan)
        if k:
            ic_frac = self._initial_contacts(x, slope, bw, b, peak, level[:k], low[:k], has_flight[:k])
            to_frac = self._toe_offs(x, slope, peak, level[1:], low[1:], has_flight[1:])

        self._store(fs, n, x, bw, a, peak, gs, ge, has_flight, flight_samples, level, ic_frac, to_frac)
        return self

    # -- steps of the method --------------------------------------------------------------------------
    def _initial_contacts(
        self,
        x: np.ndarray,
        slope: np.ndarray,
        bw: np.ndarray,
        b: np.ndarray,
        peak: np.ndarray,
        level: np.ndarray,
        low: np.ndarray,
        has_flight: np.ndarray,
    ) -> np.ndarray:
        """Tangent-onset IC of each stance from the flight before it (NaN without flight)."""
        k = len(b)
        out = np.full(k, np.nan)
        ok = has_flight & (low >= 0)
        if not ok.any():
            return out
        start, stance_end, top = low[ok], b[ok], peak[ok]
        n = len(x)
        # First sample at or above the body-weight line after the flight's lowest point.
        above = x >= bw
        cross = segment_first_true(above, start, np.maximum(stance_end, start + 1))
        cross = np.where(cross < 0, top, cross)
        # First local maximum of the event signal from there on, within the stance.
        is_max = np.zeros(n, dtype=bool)
        is_max[1:-1] = (x[1:-1] >= x[:-2]) & (x[1:-1] > x[2:])
        first_max = segment_first_true(is_max, cross, np.maximum(stance_end, cross + 1))
        end = np.where(first_max < 0, np.maximum(top, cross), first_max)
        # Weight acceptance only: stop where the signal first reaches body weight above the flight
        # level, so a stance without an impact transient is not timed on its later, steeper climb.
        idx, owner = segment_ids(start, end + 1)
        high = x[idx] >= level[ok][owner] + self.ic_ceiling_g
        ceiling = first_per_range(owner[high], idx[high], len(start))
        end = np.where(ceiling >= 0, np.minimum(end, ceiling), end)
        steep = segment_argext(slope, start, end + 1, largest=True)
        rate = slope[steep]
        onset = steep - (x[steep] - level[ok]) / np.where(rate > 0, rate, np.nan)
        onset = np.clip(onset, start, steep)
        out[ok] = np.where(rate > 0, onset, np.nan)
        return out

    def _toe_offs(
        self,
        x: np.ndarray,
        slope: np.ndarray,
        peak: np.ndarray,
        level: np.ndarray,
        low: np.ndarray,
        has_flight: np.ndarray,
    ) -> np.ndarray:
        """TO of each stance from the flight after it (NaN without flight)."""
        k = len(peak)
        out = np.full(k, np.nan)
        ok = has_flight & (low > peak)
        if not ok.any():
            return out
        start, stop = peak[ok], low[ok]
        thr = level[ok] + self.to_threshold_g
        idx, owner = segment_ids(start, stop)  # the descents, for the pause and the trigger
        if self.to_plateau_margin_g is not None:
            pause = self._plateau(x, slope, start, stop, level[ok], thr, (idx, owner))
            thr = np.maximum(thr, pause - self.to_plateau_margin_g)
        high = thr + self.to_hysteresis_g
        # Schmitt trigger: the stance ends at the first downward crossing of thr after the signal was
        # last at or above thr + hysteresis. Wobble in the flight smaller than the hysteresis cannot
        # re-arm it; a late-stance rebound above it postpones the TO to the final descent.
        armed = x[idx] >= high[owner]
        last_high = first_per_range(owner[armed], idx[armed], len(start), last=True)
        begin = np.maximum(last_high, start)
        idx, owner = segment_ids(begin, stop)
        cross = (x[idx] >= thr[owner]) & (x[idx + 1] < thr[owner])
        first = first_per_range(owner[cross], idx[cross], len(start))
        found = first >= 0
        i = np.where(found, first, 0)
        drop = x[i] - x[i + 1]
        t_cross = i + (x[i] - thr) / np.where(drop > 0, drop, np.nan)
        out[ok] = np.where(found, t_cross, np.nan)
        return out

    def _plateau(
        self,
        x: np.ndarray,
        slope: np.ndarray,
        start: np.ndarray,
        stop: np.ndarray,
        level: np.ndarray,
        thr: np.ndarray,
        ids: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Level of the unloading's last pause per stance: ``x`` where the final descent (after the
        signal was last at body weight above the flight) is last least steep (a local maximum of the
        slope) while above ``thr``; -inf where none. ``ids``: ``segment_ids(start, stop)`` if the
        caller has it."""
        n = len(x)
        is_max = np.zeros(n, dtype=bool)
        is_max[1:-1] = (slope[1:-1] >= slope[:-2]) & (slope[1:-1] > slope[2:])
        # The final descent only: after the signal was last at body weight above the flight, so the
        # dip between an impact peak and the active peak is not taken for the unloading's end.
        idx, owner = segment_ids(start, stop) if ids is None else ids
        heavy = x[idx] >= level[owner] + BODY_WEIGHT_G
        last_heavy = first_per_range(owner[heavy], idx[heavy], len(start), last=True)
        begin = np.minimum(np.maximum(last_heavy + 1, start), stop)
        idx, owner = segment_ids(begin, stop)
        # A pause, not a ripple: clip wobble (or noise) on a steep descent also makes local maxima of
        # the slope, but there the descent stays nearly as steep as at its steepest.
        steepest = slope[np.maximum(argext_of_ids(slope, idx, owner, len(start), largest=False), 0)]
        cand = is_max[idx] & (slope[idx] >= PAUSE_STEEPNESS * steepest[owner]) & (x[idx] > thr[owner])
        last = first_per_range(owner[cand], idx[cand], len(start), last=True)
        return np.where(last >= 0, x[np.maximum(last, 0)], -np.inf)

    # -- bookkeeping ----------------------------------------------------------------------------------
    def _check(self, data: pd.DataFrame, sampling_rate_hz: float) -> float:
        if not (isinstance(self.filter_order, (int, np.integer)) and self.filter_order >= 1):
            raise EventDetectionError(
                f"parameter filter_order must be a positive integer, got {self.filter_order!r}"
            )
        margin = self.to_plateau_margin_g
        if margin is not None and not (
            isinstance(margin, (int, float))
            and not isinstance(margin, bool)
            and np.isfinite(margin)
            and margin > 0
        ):
            raise EventDetectionError(
                f"parameter to_plateau_margin_g must be a positive number or None, got {margin!r}"
            )
        # The lowest rate is computed from step_lowpass_hz, so that parameter is checked first.
        check_positive(self, ("step_lowpass_hz",))
        return check_detector_input(
            self,
            data,
            sampling_rate_hz,
            positive=(
                "lowpass_hz",
                "step_lowpass_hz",
                "body_weight_window_s",
                "flight_threshold_g",
                "min_flight_s",
                "to_threshold_g",
                "to_hysteresis_g",
                "min_effective_contact_s",
                "ic_ceiling_g",
            ),
            column="acc_is",
            task="event detection",
            min_rate_hz=max(50.0, 2.5 * self.step_lowpass_hz),
            min_duration_s=MIN_DURATION_S,
        )

    def _store(
        self,
        fs: float,
        n: int,
        x: np.ndarray,
        bw: np.ndarray,
        a: np.ndarray,
        peak: np.ndarray,
        gs: np.ndarray,
        ge: np.ndarray,
        has_flight: np.ndarray,
        flight_samples: np.ndarray,
        level: np.ndarray,
        ic_frac: np.ndarray,
        to_frac: np.ndarray,
    ) -> None:
        k = len(a)
        ic_ok = np.isfinite(ic_frac)
        to_ok = np.isfinite(to_frac)
        # Nullable Int64 straight from the values and the missing mask (not NA set afterwards).
        ic = pd.arrays.IntegerArray(
            np.where(ic_ok, np.rint(np.nan_to_num(ic_frac)), 0).astype(np.int64), ~ic_ok
        )
        to = pd.arrays.IntegerArray(
            np.where(to_ok, np.rint(np.nan_to_num(to_frac)), 0).astype(np.int64), ~to_ok
        )
        ic_s = ic_frac / fs
        to_s = to_frac / fs
        contact = to_s - ic_s
        contact = np.where(contact > 0, contact, np.nan)
        flight = np.full(k, np.nan)
        if k > 1:
            f = ic_s[1:] - to_s[:-1]
            flight[:-1] = np.where(f > 0, f, np.nan)
        step_id = pd.RangeIndex(k, name="step_id")
        self.events_ = pd.DataFrame(
            {
                "ic": ic,
                "to": to,
                "ic_s": ic_s,
                "to_s": to_s,
                "contact_time_s": contact,
                "flight_time_s": flight,
                "flight_before": has_flight[:k].astype(bool),
                "flight_after": has_flight[1 : k + 1].astype(bool),
                "stance_peak": peak.astype(np.int64),
            },
            index=step_id,
        )
        # What .loc[ok, [...]].copy() of events_ gives, built from the arrays (a third of the time).
        self.ic_list_ = pd.DataFrame({"ic": ic[ic_ok], "ic_s": ic_s[ic_ok]}, index=step_id[ic_ok])
        self.to_list_ = pd.DataFrame({"to": to[to_ok], "to_s": to_s[to_ok]}, index=step_id[to_ok])
        self.gaps_ = pd.DataFrame(
            {
                "start": gs.astype(np.int64),
                "end": ge.astype(np.int64),
                "has_flight": has_flight.astype(bool),
                "flight_samples": flight_samples,
                "flight_level_g": level,
            },
            index=pd.RangeIndex(len(gs), name="gap_id"),
        )
        self.signal_g_ = x
        self.body_weight_g_ = bw
        self.diagnostics_ = {
            "n_samples": n,
            "sampling_rate_hz": fs,
            "n_stances": k,
            "n_ic": int(ic_ok.sum()),
            "n_to": int(to_ok.sum()),
            "n_contact_times": int(np.isfinite(contact).sum()),
            "n_gaps_with_flight": int(has_flight.sum()),
            "n_gaps_without_flight": int((~has_flight).sum()),
        }
