"""Per-step metrics from body-frame signals and step events: one function per column of the step table.

The columns themselves are declared in the registry (:mod:`hipsense.metrics`), which calls these
functions with one :class:`StepContext`; the context computes what several metrics share (step and
stance ranges, filtered signals) once. Every metric is defined in docs/metrics.md with the paper behind
it. All computations are vectorised over steps with the segment helpers in :mod:`hipsense.gait.filters`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from hipsense.conventions import G
from hipsense.gait import pelvis
from hipsense.gait.filters import lowpass, segment_argext, segment_ids
from hipsense.gait.pelvis import pelvic_drop_deg, pelvic_rotation_deg

#: Early stance, where the impact peak is searched: 60 ms or the whole contact if shorter.
IMPACT_WINDOW_S = 0.06
#: Steps longer than this many typical steps are not one step (a missed contact or a pause).
MAX_STEP_FACTOR = 1.6
#: Longer than any running stance (about 0.15-0.35 s): the landing into a stop, whose toe-off is
#: found only when the runner sets off again.
MAX_CONTACT_S = 0.6
#: High-pass for integrated angles: removes gyro bias drift and slow turns, keeps stride-rate motion.
ANGLE_HIGHPASS_HZ = 0.3

#: Step notes that put a value in doubt (the analysis adds the gap note). The other notes say why a
#: value is missing by design (the last step of a bout has no step time, a clip without a gyroscope no
#: pelvic drop): a recording without a gyroscope is not "100 % doubtful".
NO_TOE_OFF_NOTE = "no toe-off found"
GAP_NOTE = "gap in the data"
SIDE_INFERRED_NOTE = "side inferred from neighbours"
DOUBT_NOTES = (NO_TOE_OFF_NOTE, GAP_NOTE, SIDE_INFERRED_NOTE)
#: A step whose side is unknown (``""``) says so and why in its quality note.
SIDE_UNKNOWN_NOTE = "side unknown"


def _segment_mean(x: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    c = np.empty(len(x) + 1)
    c[0] = 0.0
    np.cumsum(x, out=c[1:])  # what np.r_[0.0, np.cumsum(x)] holds, without the second copy
    return (c[ends] - c[starts]) / np.maximum(ends - starts, 1)


def integrated_angle(rate_dps: np.ndarray, fs: float) -> np.ndarray:
    """Angle (deg) from an angular rate (deg/s): integrated, then high-passed against drift; the
    obliquity's computation (:func:`hipsense.gait.pelvis.integrated_angle`) at ``ANGLE_HIGHPASS_HZ``."""
    return pelvis.integrated_angle(np.asarray(rate_dps, dtype=float), fs, ANGLE_HIGHPASS_HZ)


def _same_bout(bout: np.ndarray) -> np.ndarray:
    """The next contact is in the same bout (the last step of a bout has no step time)."""
    return np.r_[bout[1:] == bout[:-1], False]


def _raw_step_s(ic: np.ndarray, bout: np.ndarray, fs: float) -> np.ndarray:
    """IC to the next IC of the same bout (s), before long steps are dropped."""
    return np.where(_same_bout(bout), (np.r_[ic[1:], np.nan] - ic) / fs, np.nan)


def typical_step(ic: np.ndarray, bout: np.ndarray, fs: float) -> float:
    """Median IC-to-next-IC time within bouts (s), NaN without one: what a step without a next contact
    is assumed to last, and the scale of a step too long to be one."""
    raw = _raw_step_s(np.asarray(ic, dtype=float), np.asarray(bout), float(fs))
    return float(np.nanmedian(raw)) if np.isfinite(raw).any() else np.nan


def typical_steps(ic: np.ndarray, bout: np.ndarray, fs: float, activity: np.ndarray) -> dict[str, float]:
    """:func:`typical_step` of each activity's steps: a walking step (about 0.5 s) is not judged on
    the running steps' scale (0.3 s) of the same segment (red-team p14 G3)."""
    raw = _raw_step_s(np.asarray(ic, dtype=float), np.asarray(bout), float(fs))
    act = np.asarray(activity)
    return {
        str(a): float(np.nanmedian(raw[act == a])) for a in np.unique(act) if np.isfinite(raw[act == a]).any()
    }


@dataclass(eq=False)
class StepContext:
    """What the step metrics are computed from, and what several of them share (computed once).

    Parameters
    ----------
    body
        Body-frame signals of one gap-free segment: ``acc_is`` (required), ``acc_pa``, ``gyr_is``,
        ``gyr_pa`` when present.
    ic, to
        Initial contact and toe-off of each step as (fractional) sample indices of ``body``; ``to`` NaN
        when unknown.
    sides
        ``"L"``/``"R"`` per step (``""`` where unknown).
    bout
        Bout number per step; a step's successor must be in the same bout to give a step time.
    sampling_rate_hz
        Rate of the uniform grid of ``body``.
    side_inferred
        True where the side came from a neighbour, noted in ``quality``.
    time_offset_s
        Recording-clock time of ``body``'s first row: event times are ``time_offset_s + index / fs``.
    activity
        ``"run"`` or ``"walk"`` per step (all running when ``None``): walking steps have no toe-off
        (the walking detector finds contacts only) and only the metrics the registry defines for walking.
    segment_step_s
        The segment's typical step (s), when ``body`` is one window of a longer segment (the analysis
        measures it over all the segment's steps, :func:`typical_step`); from these steps when ``None``.
    activity_step_s
        The segment's typical step per activity (:func:`typical_steps`); from these steps when ``None``.
        Each step is judged on its own activity's (``segment_step_s`` where that has none).
    """

    body: pd.DataFrame
    ic: np.ndarray
    to: np.ndarray
    sides: np.ndarray
    bout: np.ndarray
    sampling_rate_hz: float
    side_inferred: np.ndarray | None = None
    time_offset_s: float = 0.0
    activity: np.ndarray | None = None
    segment_step_s: float | None = None
    activity_step_s: dict[str, float] | None = None
    notes: list[list[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.ic = np.asarray(self.ic, dtype=float)
        self.to = np.asarray(self.to, dtype=float)
        self.bout = np.asarray(self.bout)
        self.sides = np.asarray(self.sides)
        self.activity = np.full(len(self.ic), "run") if self.activity is None else np.asarray(self.activity)
        self.notes = [[] for _ in range(len(self.ic))]

    def note(self, mask: np.ndarray, text: str) -> None:
        """Add ``text`` to the quality note of the steps in ``mask`` (once per step)."""
        for i in np.flatnonzero(mask):
            if text not in self.notes[i]:
                self.notes[i].append(text)

    @property
    def fs(self) -> float:
        return float(self.sampling_rate_hz)

    @property
    def k(self) -> int:
        return len(self.ic)

    @property
    def n(self) -> int:
        return len(self.body)

    @cached_property
    def sign(self) -> np.ndarray:
        """+1 for a left-foot step, -1 for a right one (0 where the side is unknown)."""
        return np.select([self.sides == "L", self.sides == "R"], [1.0, -1.0], 0.0)

    @cached_property
    def timing(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(step_time, contact, to_s)`` in seconds, with the notes on what is missing."""
        ic, to, fs = self.ic, self.to, self.fs
        same_bout = self._same_bout
        step_time = self._raw_step_s.copy()
        too_long = step_time > MAX_STEP_FACTOR * self.step_scale_s
        step_time[too_long] = np.nan
        self.note(too_long, "next contact missing or a pause: no step time")
        self.note(~same_bout, "last step of its bout: no step time")
        contact = (to - ic) / fs
        # The cap is a running stance's; a walking toe-off is bounded by its detector (next contact).
        too_long = (contact > MAX_CONTACT_S) & (self.activity == "run")
        contact = np.where((contact > 0) & ~too_long, contact, np.nan)
        to_s = np.where(too_long, np.nan, self.time_offset_s + to / fs)
        self.note(~np.isfinite(to) & ~too_long & (self.activity == "run"), NO_TOE_OFF_NOTE)
        # the walking detector gives none at a stop or in a turn, on purpose (docs/metrics.md)
        self.note(~np.isfinite(to) & (self.activity == "walk"), "walking: no toe-off at a stop or in a turn")
        self.note(too_long, "landing into a stop: no toe-off within the step")
        return step_time, contact, to_s

    @cached_property
    def _same_bout(self) -> np.ndarray:
        return _same_bout(self.bout)

    @cached_property
    def _raw_step_s(self) -> np.ndarray:
        return _raw_step_s(self.ic, self.bout, self.fs)

    @cached_property
    def typical_step_s(self) -> float:
        """The median step of the segment (s): what a step without a next contact is taken to last."""
        given = self.segment_step_s
        return typical_step(self.ic, self.bout, self.fs) if given is None else float(given)

    @cached_property
    def step_scale_s(self) -> np.ndarray:
        """Per step, the typical step of its activity (s): what a step too long to be one, or one
        without a next contact, is measured against."""
        given, activity = self.activity_step_s, np.asarray(self.activity)
        own = typical_steps(self.ic, self.bout, self.fs, activity) if given is None else given
        scale = np.full(self.k, self.typical_step_s)
        for a, value in own.items():
            scale[activity == a] = value
        return scale

    @property
    def step_time_s(self) -> np.ndarray:
        return self.timing[0]

    @property
    def contact_s(self) -> np.ndarray:
        return self.timing[1]

    @cached_property
    def ranges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(start, end, stance_end)`` sample ranges: the step [ic, next ic) (a typical step when the
        next is unknown) and its stance [ic, toe-off)."""
        ic, n, fs = self.ic, self.n, self.fs
        step_time, contact = self.step_time_s, self.contact_s
        typical = self.step_scale_s
        next_ic = np.r_[ic[1:], np.nan]
        # First sample at or after the IC (a hair of tolerance so an IC on a sample is not pushed past it).
        start = np.clip(np.ceil(ic - 1e-6).astype(np.int64), 0, max(n - 1, 0))
        fallback = np.round(np.where(np.isfinite(typical), typical, 0.35) * fs).astype(np.int64)
        end = np.where(np.isfinite(step_time), np.floor(next_ic), start + fallback)
        end = np.clip(np.nan_to_num(end).astype(np.int64), start + 1, n)
        stance_len = np.where(np.isfinite(contact), contact * fs, 0.4 * (end - start))
        stance_end = np.clip(start + np.maximum(np.round(stance_len).astype(np.int64), 1), start + 1, end)
        return start, end, stance_end

    @cached_property
    def acc_is_g(self) -> np.ndarray:
        return self.body["acc_is"].to_numpy(dtype=float) / G

    @cached_property
    def impact_peak(self) -> np.ndarray:
        """Sample of the peak vertical specific force within early stance (60 ms included)."""
        start, _, stance_end = self.ranges
        early_end = np.minimum(stance_end, start + int(round(IMPACT_WINDOW_S * self.fs)) + 1)
        return segment_argext(self.acc_is_g, start, early_end, largest=True)

    def angle(self, column: str) -> np.ndarray | None:
        """A body-frame angle integrated from its rate (deg), ``None`` without a gyroscope."""
        if not {"gyr_pa", "gyr_is"} <= set(self.body.columns):
            self.note(np.ones(self.k, bool), "no gyroscope: no pelvic drop or rotation")
            return None
        return self._angles[column]

    @cached_property
    def _angles(self) -> dict[str, np.ndarray]:
        return {
            c: integrated_angle(self.body[c].to_numpy(dtype=float), self.fs) for c in ("gyr_pa", "gyr_is")
        }


# -- one function per column (registered in hipsense.metrics) ---------------------------------------


def bout(ctx: StepContext) -> np.ndarray:
    return ctx.bout


def activity(ctx: StepContext) -> np.ndarray:
    assert ctx.activity is not None
    return ctx.activity


def side(ctx: StepContext) -> np.ndarray:
    return ctx.sides


def ic_time(ctx: StepContext) -> np.ndarray:
    return ctx.time_offset_s + ctx.ic / ctx.fs


def to_time(ctx: StepContext) -> np.ndarray:
    return ctx.timing[2]


def step_time(ctx: StepContext) -> np.ndarray:
    return ctx.step_time_s


def contact_time(ctx: StepContext) -> np.ndarray:
    return ctx.contact_s


def flight_time(ctx: StepContext) -> np.ndarray:
    step, contact = ctx.step_time_s, ctx.contact_s
    flight = np.where(np.isfinite(step), step - contact, np.nan)
    return np.where(flight > 0, flight, np.nan)


def cadence(ctx: StepContext) -> np.ndarray:
    return 60.0 / ctx.step_time_s


def impact(ctx: StepContext) -> np.ndarray:
    """Peak vertical specific force (g) in early stance."""
    return ctx.acc_is_g[ctx.impact_peak]


def loading_rate(ctx: StepContext) -> np.ndarray:
    """Mean slope of the vertical specific force from IC to the impact peak (g/s)."""
    start = ctx.ranges[0]
    peak = ctx.impact_peak
    rise_s = (peak - ctx.ic) / ctx.fs
    value = ctx.acc_is_g[peak] - ctx.acc_is_g[start]
    return np.where(rise_s > 0.5 / ctx.fs, value / np.maximum(rise_s, 1 / ctx.fs), np.nan)


def braking(ctx: StepContext) -> np.ndarray:
    """Magnitude of the most negative forward acceleration (g) in the first half of stance."""
    if "acc_pa" not in ctx.body:
        ctx.note(np.ones(ctx.k, bool), "no forward axis: no braking")
        return np.full(ctx.k, np.nan)
    start, _, stance_end = ctx.ranges
    acc_pa = lowpass(ctx.body["acc_pa"].to_numpy(dtype=float) / G, 20.0, ctx.fs)
    half = start + np.maximum((stance_end - start) // 2, 1)
    return -acc_pa[segment_argext(acc_pa, start, half, largest=False)]


def pelvic_drop(ctx: StepContext) -> np.ndarray:
    """Contralateral drop: the obliquity's excursion from its value at contact toward the swing side."""
    obliquity = ctx.angle("gyr_pa")
    if obliquity is None:
        return np.full(ctx.k, np.nan)
    return pelvic_drop_deg(obliquity, ctx.ranges[0], ctx.ranges[1], ctx.sides)  # docs/metrics.md


def pelvic_rotation(ctx: StepContext) -> np.ndarray:
    """Range of the transverse rotation (yaw) from this contact to the next, per stance foot."""
    rotation = ctx.angle("gyr_is")
    if rotation is None:
        return np.full(ctx.k, np.nan)
    value = pelvic_rotation_deg(rotation, ctx.ranges[0], ctx.ranges[1], ctx.sides)  # docs/metrics.md
    return np.where(np.isfinite(ctx.step_time_s), value, np.nan)


def vertical_oscillation(ctx: StepContext) -> np.ndarray:
    """Range of the pelvis height over the step (cm).

    The vertical acceleration integrated twice over the step, the velocity made zero-mean over the step
    (the pelvis is at the same height at both contacts), then the height range.
    """
    if ctx.n == 0:  # no samples: no height to follow
        return np.full(ctx.k, np.nan)
    start, end, _ = ctx.ranges
    # In place, the same operations in the same order: each session-long temporary costs page faults.
    vel = ctx.acc_is_g - 1.0
    vel *= G
    np.cumsum(vel, out=vel)
    vel /= ctx.fs
    idx, _ = segment_ids(start, end)
    pos = vel[idx]
    # Every step range holds a sample (ranges), so each step is one block of `pos`: per-step values
    # are spread by np.repeat and reduced by reduceat at the block starts (what the owner gathers and
    # segment_reduce give, with fewer passes).
    length = end - start
    first = np.cumsum(length) - length
    pos -= np.repeat(_segment_mean(vel, start, end), length)
    np.cumsum(pos, out=pos)
    pos /= ctx.fs
    pos -= np.repeat(pos[first], length)
    hi, lo = np.maximum.reduceat(pos, first), np.minimum.reduceat(pos, first)
    return np.where(np.isfinite(ctx.step_time_s), (hi - lo) * 100.0, np.nan)


def quality(ctx: StepContext) -> np.ndarray:
    """Every note the other columns made, '; '-joined (computed last); an empty side says why."""
    if ctx.side_inferred is not None:
        ctx.note(np.asarray(ctx.side_inferred, bool), SIDE_INFERRED_NOTE)
    unknown = ctx.sides == ""
    if unknown.any():
        gyro = {"gyr_pa", "gyr_is"} <= set(ctx.body.columns)
        ctx.note(
            unknown, SIDE_UNKNOWN_NOTE + (": the side signal did not tell it" if gyro else ": no gyroscope")
        )
    return np.array(["; ".join(q) for q in ctx.notes], dtype=object)
