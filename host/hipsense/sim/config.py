"""Configuration of a simulated session: what the runner does and how the clip records it.

All dataclasses have defaults that describe a healthy, symmetric recreational runner; docs/simulator.md
gives the model behind each parameter and the literature ranges the defaults come from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from hipsense.conventions import Side
from hipsense.sim.mounting import Mounting
from hipsense.sim.sensor import SensorModel

Activity = Literal["stand", "walk", "run"]
ACTIVITIES: tuple[Activity, ...] = ("stand", "walk", "run")
FootStrike = Literal["rearfoot", "midfoot", "forefoot"]
FOOT_STRIKES: tuple[FootStrike, ...] = ("rearfoot", "midfoot", "forefoot")
#: Grades the running model is meant for, degrees (+ uphill).
MAX_GRADE_DEG = 10.0
#: Share of the rearfoot impact transient each foot strike keeps (docs/simulator.md).
STRIKE_IMPACT_SHARE: dict[str, float] = {"rearfoot": 1.0, "midfoot": 0.4, "forefoot": 0.0}


@dataclass(frozen=True)
class SideParams:
    """Parameters of one foot's steps (a step is named by the foot in contact).

    Parameters
    ----------
    step_time_factor
        Relative step time of this foot's steps (initial contact to the other foot's contact). The two
        sides' factors are normalised to a mean of 1, so only their ratio matters and cadence stays as
        set by speed.
    contact_time_factor
        Multiplies the contact time the speed model gives.
    impact_factor
        Multiplies the impact peak (running) or the vertical loading amplitude (walking).
    drop_deg
        Pelvic drop during this foot's stance: how far the swing (other) side of the pelvis falls from
        initial contact to its lowest point, degrees, positive for a contralateral drop. Walking uses
        ``WalkingModel.drop_scale`` times this.
    """

    step_time_factor: float = 1.0
    contact_time_factor: float = 1.0
    impact_factor: float = 1.0
    drop_deg: float = 4.0


@dataclass(frozen=True)
class Asymmetry:
    """Left and right foot parameters. ``Asymmetry()`` is symmetric."""

    left: SideParams = field(default_factory=SideParams)
    right: SideParams = field(default_factory=SideParams)

    def side(self, side: Side) -> SideParams:
        return self.left if side == "L" else self.right

    @classmethod
    def right_vs_left(
        cls,
        *,
        step_time_pct: float = 0.0,
        contact_time_pct: float = 0.0,
        impact_pct: float = 0.0,
        left_stance_drop_deg: float = 4.0,
        right_stance_drop_deg: float = 4.0,
    ) -> Asymmetry:
        """Right foot's steps this many percent longer / stronger than the left's."""
        return cls(
            left=SideParams(drop_deg=left_stance_drop_deg),
            right=SideParams(
                step_time_factor=1.0 + step_time_pct / 100.0,
                contact_time_factor=1.0 + contact_time_pct / 100.0,
                impact_factor=1.0 + impact_pct / 100.0,
                drop_deg=right_stance_drop_deg,
            ),
        )


@dataclass(frozen=True)
class Fatigue:
    """Linear drifts from the session start (0) to its end (full amount), on both sides."""

    drop_increase_deg: float = 0.0
    contact_time_increase_pct: float = 0.0
    impact_increase_pct: float = 0.0
    cadence_change_pct: float = 0.0


@dataclass(frozen=True)
class Variability:
    """Step-to-step and slow variation. All zero gives a perfectly regular, repeatable gait.

    Parameters
    ----------
    step_time_cv, contact_time_cv, impact_cv
        Coefficient of variation (sd / mean) per step. Running stride-time CVs of 1-3 % are typical.
    drop_sd_deg
        Standard deviation of the pelvic drop per step, degrees.
    speed_sd_pct, speed_tau_s
        Slow speed fluctuation (Ornstein-Uhlenbeck: standard deviation in percent, time constant).
        Cadence and contact time follow speed through the speed model.
    """

    step_time_cv: float = 0.015
    contact_time_cv: float = 0.02
    impact_cv: float = 0.06
    drop_sd_deg: float = 0.4
    speed_sd_pct: float = 1.5
    speed_tau_s: float = 20.0

    @classmethod
    def none(cls) -> Variability:
        return cls(step_time_cv=0.0, contact_time_cv=0.0, impact_cv=0.0, drop_sd_deg=0.0, speed_sd_pct=0.0)


@dataclass(frozen=True)
class RunningModel:
    """Running gait and pelvis kinetics/kinematics. ``None`` means "from speed" (see docs).

    Parameters
    ----------
    cadence_spm
        Steps per minute; ``None``: ``160 + 10 (v - 3)``, clipped to 150-200.
    contact_time_s
        Contact time; ``None``: ``0.26 - 0.03 (v - 3.3)`` s, clipped to 0.15-0.35.
    impact_g
        Peak vertical specific force of the impact transient (total ``acc_is`` at its peak, g);
        ``None``: ``3.0 + 0.5 (v - 3.3)``. 0 gives no impact transient (a forefoot-like single hump).
    impact_peak_s
        Time of the impact peak after initial contact (the transient lasts twice this).
    braking_g
        Peak braking (and propulsive) specific force, g; ``None``: ``0.4 v / 3.3``.
    ml_g
        Peak mediolateral push of a stance toward the midline at the reference contact time, g.
    drop_peak_frac
        Time of the lowest swing-side pelvis as a fraction of contact time.
    rotation_deg
        Pelvic rotation amplitude: the pelvis turns from -this to +this during a left step (right hip
        forward) and back during a right step (range of motion twice this).
    pitch_deg
        Amplitude of the pelvic tilt oscillation at step frequency.
    min_flight_s
        Contact time is capped so that at least this much flight remains.
    foot_strike
        ``"rearfoot"`` (heel first: the impact transient ``impact_g``), ``"midfoot"`` (a smaller,
        earlier transient: 40 % of it, peaking at 0.6 ``impact_peak_s``) or ``"forefoot"`` (no impact
        transient: one smooth hump). The impulse over the step stays body weight times step time.
    """

    cadence_spm: float | None = None
    contact_time_s: float | None = None
    impact_g: float | None = None
    impact_peak_s: float = 0.025
    braking_g: float | None = None
    ml_g: float = 0.05
    drop_peak_frac: float = 0.45
    rotation_deg: float = 6.0
    pitch_deg: float = 1.5
    min_flight_s: float = 0.02
    foot_strike: FootStrike = "rearfoot"

    def __post_init__(self) -> None:
        if self.foot_strike not in FOOT_STRIKES:
            raise ValueError(
                f"unknown foot_strike {self.foot_strike!r}: use one of {', '.join(FOOT_STRIKES)}"
            )

    def cadence(self, v: float) -> float:
        return self.cadence_spm if self.cadence_spm is not None else min(max(160 + 10 * (v - 3), 150), 200)

    def contact_time(self, v: float) -> float:
        if self.contact_time_s is not None:
            return self.contact_time_s
        return min(max(0.26 - 0.03 * (v - 3.3), 0.15), 0.35)

    def impact(self, v: float) -> float:
        return self.impact_g if self.impact_g is not None else 3.0 + 0.5 * (v - 3.3)

    def braking(self, v: float) -> float:
        return self.braking_g if self.braking_g is not None else 0.4 * v / 3.3


@dataclass(frozen=True)
class WalkingModel:
    """Walking gait: double support, no flight, pelvis accelerations of a few tenths of g.

    Parameters
    ----------
    cadence_spm
        ``None``: ``110 + 40 (v - 1.35)``, clipped to 80-135.
    stance_frac
        Stance as a fraction of the stride (about 0.6-0.62: double support of 10-12 % per step).
    vertical_g
        Amplitude of the vertical oscillation about 1 g (peaks 1 + this, 25 % of a step after
        contact).
    braking_g, ml_g
        Amplitudes of the anterior-posterior and mediolateral oscillations, g.
    drop_scale
        Walking pelvic drop as a fraction of the side's running ``drop_deg``.
    rotation_deg, pitch_deg
        As for running.
    """

    cadence_spm: float | None = None
    stance_frac: float = 0.62
    vertical_g: float = 0.22
    braking_g: float = 0.15
    ml_g: float = 0.12
    drop_scale: float = 0.6
    drop_peak_frac: float = 0.35
    rotation_deg: float = 4.0
    pitch_deg: float = 1.0

    def cadence(self, v: float) -> float:
        return self.cadence_spm if self.cadence_spm is not None else min(max(110 + 40 * (v - 1.35), 80), 135)


@dataclass(frozen=True)
class Segment:
    """One part of the session. ``duration_s=None`` (at most one segment) fills the rest of the session.

    ``speed_mps=None`` takes ``RunConfig.speed_mps`` (run) or ``RunConfig.walk_speed_mps`` (walk).
    """

    activity: Activity
    duration_s: float | None = None
    speed_mps: float | None = None


@dataclass(frozen=True)
class Turn:
    """A change of heading: ``angle_deg`` (positive = to the left) spread over ``duration_s``.

    The heading rate follows a raised cosine. A U-turn: 180 degrees in about 3-5 s; a gentle curve:
    90 degrees over 30 s.
    """

    start_s: float
    duration_s: float
    angle_deg: float


@dataclass
class RunConfig:
    """Everything that defines one simulated session. Deterministic for a given ``seed``.

    Parameters
    ----------
    duration_s
        Session length in true seconds. ``None``: 60 s, or the sum of ``segments`` when they all
        have a duration. When given, the open segment (``duration_s=None``), or else the last one,
        stretches or shrinks to fill it; if the other segments would leave it less than half the
        session, they are shrunk in proportion to a quarter of the session.
    speed_mps
        Running speed (2.5-5.5 m/s is the range the speed models are meant for).
    walk_speed_mps
        Walking speed.
    speed_drift_pct
        Running speed changes linearly by this much from the session start to its end.
    seed
        Seed of every random draw (gait and sensor use independent streams, so changing the sensor
        leaves the gait, and so the truth, unchanged).
    segments
        The session as stand / walk / run segments; ``None``: running throughout.
    turns
        Changes of heading.
    first_side
        Foot of the first step after standing; ``None`` draws one.
    ramp_s
        Speed ramps over this long at the start of a walking or running segment that follows another.
    grade_deg
        Slope of the running surface, degrees (+ uphill, -10..+10). Running on a grade changes cadence,
        contact time, the impact transient and the braking/propulsion amplitude
        (:func:`grade_effects`); walking and standing are unchanged.
    """

    duration_s: float | None = None
    speed_mps: float = 3.3
    walk_speed_mps: float = 1.35
    speed_drift_pct: float = 0.0
    seed: int | None = 0
    segments: tuple[Segment, ...] | None = None
    turns: tuple[Turn, ...] = ()
    asymmetry: Asymmetry = field(default_factory=Asymmetry)
    fatigue: Fatigue = field(default_factory=Fatigue)
    variability: Variability = field(default_factory=Variability)
    running: RunningModel = field(default_factory=RunningModel)
    walking: WalkingModel = field(default_factory=WalkingModel)
    mounting: Mounting = field(default_factory=Mounting)
    sensor: SensorModel = field(default_factory=SensorModel)
    first_side: Side | None = None
    ramp_s: float = 3.0
    grade_deg: float = 0.0

    def __post_init__(self) -> None:
        try:
            g = float(self.grade_deg)
        except (TypeError, ValueError):
            g = float("nan")
        if not abs(g) <= MAX_GRADE_DEG:  # NaN fails too
            raise ValueError(f"grade_deg must be within +-{MAX_GRADE_DEG:g} degrees, got {self.grade_deg!r}")

    def resolved_segments(self) -> tuple[float, list[tuple[Activity, float, float]]]:
        """Session duration and ``(activity, nominal duration, speed)`` per segment."""
        segments = self.segments if self.segments is not None else (Segment("run", None),)
        if not segments:
            raise ValueError("RunConfig.segments is empty")
        open_ = [i for i, s in enumerate(segments) if s.duration_s is None]
        if len(open_) > 1:
            raise ValueError("at most one segment may have duration_s=None")
        stretched = not open_ and self.duration_s is not None
        if stretched:
            # A given session length wins: the last segment stretches or shrinks to fill it, and the
            # others keep their lengths (they were stated).
            open_ = [len(segments) - 1]
            segments = (*segments[:-1], Segment(segments[-1].activity, None, segments[-1].speed_mps))
        for s in segments:
            if s.activity not in ACTIVITIES:
                raise ValueError(f"unknown activity {s.activity!r}: use one of {', '.join(ACTIVITIES)}")
            if s.duration_s is not None and s.duration_s <= 0:
                raise ValueError("segment durations must be positive")
        fixed = sum(s.duration_s for s in segments if s.duration_s is not None)
        if self.duration_s is not None:
            total = float(self.duration_s)
        elif open_:
            total = 60.0 if self.segments is None else fixed + 60.0
        else:
            total = fixed
        if total <= 0:
            raise ValueError("duration_s must be positive")
        if stretched and total <= fixed:
            raise ValueError(
                f"the segments before the last take {fixed:g} s of the {total:g} s session: "
                "nothing is left for the last one"
            )
        shrink = 1.0
        if open_ and not stretched and total - fixed < 0.5 * total:
            # The fixed segments would leave the open one less than half the session (e.g. the demo's
            # standing and walking in a 30 s session): shrink them to a quarter of it together.
            shrink = 0.25 * total / fixed
        out = []
        for s in segments:
            dur = total - shrink * fixed if s.duration_s is None else shrink * float(s.duration_s)
            if s.speed_mps is not None:
                speed = float(s.speed_mps)
            else:
                speed = {"run": self.speed_mps, "walk": self.walk_speed_mps, "stand": 0.0}[s.activity]
            out.append((s.activity, dur, speed if s.activity != "stand" else 0.0))
        return total, out


@dataclass(frozen=True)
class GradeEffects:
    """Factors a running grade applies to the level-running step model (1 = unchanged)."""

    cadence: float
    contact_time: float
    impact: float
    braking: float


def grade_effects(grade_deg: float) -> GradeEffects:
    """How a grade (degrees, + uphill) changes running at the same speed, from the literature.

    - cadence +0.5 % and contact time +0.5 % per degree uphill (the reverse downhill): Vernillo et
      al. (2017) review higher step frequency and duty factor uphill, the reverse downhill; Padulo et
      al. (2012) measured +4.5 % step frequency and +3.8 % contact time at a 7 % (4 degree) incline
      in amateurs (less in elite runners). Half their rate keeps the active peak of the vertical force
      unchanged up to +10 degrees, as Gottschall and Kram (2005) found: at +10 degrees the whole
      impulse is in the active hump, about 1.9 g, like the level rearfoot strike's;
    - impact transient: +6 % per degree downhill (+54 % at -9 degrees) and gone at +9 degrees uphill
      (Gottschall & Kram 2005), linearly in between;
    - braking/propulsion amplitude +1.5 % per degree either way: downhill braking peaks +73 % and
      uphill propulsive peaks +75 % at 9 degrees while the other phase shrinks (Gottschall & Kram
      2005); the simulator's braking-propulsion wave is symmetric, so only its mean amplitude follows.

    The active (mid-stance) vertical peak is not set directly: it follows from the impulse balance
    (Gottschall & Kram found it unchanged by grade).

    References: Gottschall J.S., Kram R. (2005) Ground reaction forces during downhill and uphill
    running. J Biomech 38(3):445-452. doi:10.1016/j.jbiomech.2004.04.023. Padulo J. et al. (2012)
    Kinematics of running at different slopes and speeds. J Strength Cond Res 26(5):1331-1339.
    doi:10.1519/JSC.0b013e318231aafa. Vernillo G. et al. (2017) Biomechanics and physiology of uphill
    and downhill running. Sports Med 47(4):615-629. doi:10.1007/s40279-016-0605-y
    """
    g = float(np.clip(grade_deg, -MAX_GRADE_DEG, MAX_GRADE_DEG))
    impact = 1.0 - 0.06 * g if g < 0 else max(0.0, 1.0 - g / 9.0)
    return GradeEffects(
        cadence=1.0 + 0.005 * g,
        contact_time=1.0 + 0.005 * g,
        impact=impact,
        braking=1.0 + 0.015 * abs(g),
    )
