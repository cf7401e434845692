"""The step timeline: bouts, speed, heading and every step's timing and amplitudes.

This is the only part with a Python loop, one iteration per step (about 10,000 per hour of running);
the signals are then evaluated vectorised from these per-step arrays (:mod:`hipsense.sim.body`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from hipsense.sim.config import STRIKE_IMPACT_SHARE, RunConfig, grade_effects


@dataclass(frozen=True)
class BoutSpec:
    """One bout as laid out: true times, the activity, the base speed and the speed it starts from."""

    activity: str
    start_s: float
    end_s: float
    speed_mps: float
    from_speed_mps: float | None  # speed of the previous moving bout (ramped from), None after standing


class SpeedProfile:
    """Speed over the session: per-bout base speed, linear drift (running), slow fluctuation, ramps."""

    def __init__(self, cfg: RunConfig, total_s: float, rng: np.random.Generator) -> None:
        self.total_s = total_s
        self.drift = cfg.speed_drift_pct / 100.0
        self.ramp_s = cfg.ramp_s
        sd, tau = cfg.variability.speed_sd_pct / 100.0, cfg.variability.speed_tau_s
        dt = 0.5
        self.grid = np.arange(0.0, total_s + 2 * dt, dt)
        z = rng.standard_normal(len(self.grid))
        ou = np.zeros(len(self.grid))
        if sd > 0:
            a = np.exp(-dt / tau)
            # Exact AR(1) discretisation of an Ornstein-Uhlenbeck process, started in its stationary law.
            drive = z * sd * np.sqrt(1 - a * a)
            drive[0] = z[0] * sd
            ou = lfilter([1.0], [1.0, -a], drive)
        self.ou = ou
        self.bouts: list[BoutSpec] = []

    def _fluct(self, t: np.ndarray) -> np.ndarray:
        return np.interp(t, self.grid, self.ou)

    def in_bout(self, t: np.ndarray | float, bout: BoutSpec) -> np.ndarray:
        """Speed at times ``t`` (true s) inside ``bout``."""
        t = np.asarray(t, dtype=float)
        if bout.activity == "stand":
            return np.zeros_like(t)
        drift = 1.0 + self.drift * t / self.total_s if bout.activity == "run" else 1.0
        v = bout.speed_mps * drift * (1.0 + self._fluct(t))
        if bout.from_speed_mps is not None and self.ramp_s > 0:
            x = np.clip((t - bout.start_s) / self.ramp_s, 0.0, 1.0)
            r = 0.5 * (1.0 - np.cos(np.pi * x))
            v = bout.from_speed_mps + (v - bout.from_speed_mps) * r
        return v

    def __call__(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        starts = np.array([b.start_s for b in self.bouts])
        which = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(self.bouts) - 1)
        for i, b in enumerate(self.bouts):
            m = which == i
            if m.any():
                out[m] = self.in_bout(t[m], b)
        return out

    def derivative(self, t: np.ndarray, h: float = 0.01) -> np.ndarray:
        """d(speed)/dt, m/s^2, by central differences within each bout (no jump across bouts)."""
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        starts = np.array([b.start_s for b in self.bouts])
        which = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(self.bouts) - 1)
        for i, b in enumerate(self.bouts):
            m = which == i
            if m.any() and b.activity != "stand":
                out[m] = (self.in_bout(t[m] + h, b) - self.in_bout(t[m] - h, b)) / (2 * h)
        return out


class HeadingProfile:
    """Heading rate (rad/s, positive = turning left) and heading (rad) from a list of turns."""

    def __init__(self, turns) -> None:
        self.turns = [(float(t.start_s), float(t.duration_s), np.radians(t.angle_deg)) for t in turns]
        for _, d, _ in self.turns:
            if d <= 0:
                raise ValueError("a turn needs a positive duration_s")

    def rate(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        for s, d, a in self.turns:
            x = (t - s) / d
            m = (x >= 0) & (x < 1)
            out[m] += a / d * (1.0 - np.cos(2 * np.pi * x[m]))
        return out

    def heading(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        for s, d, a in self.turns:
            x = np.clip((t - s) / d, 0.0, 1.0)
            out += a * (x - np.sin(2 * np.pi * x) / (2 * np.pi))
        return out


@dataclass
class Timeline:
    """Per-step arrays (one entry per step, in time order) plus the bouts and slow profiles.

    Amplitudes are in g (specific force) and degrees; times in true seconds.
    """

    ic: np.ndarray
    step_time: np.ndarray
    contact_time: np.ndarray
    side: np.ndarray  # +1 left foot, -1 right foot
    is_run: np.ndarray
    bout: np.ndarray
    speed: np.ndarray
    vert_a: np.ndarray  # run: half-sine active peak; walk: oscillation amplitude about 1 g
    vert_b: np.ndarray  # run: impact transient peak (0 for none); walk: unused
    impact_peak_s: np.ndarray
    impact_target_g: np.ndarray
    ap_g: np.ndarray
    ml_g: np.ndarray
    drop_deg: np.ndarray
    drop_peak_s: np.ndarray
    rot_start_deg: np.ndarray
    rot_end_deg: np.ndarray
    pitch_deg: np.ndarray
    complete: np.ndarray
    bouts: list[BoutSpec]
    speed_profile: SpeedProfile
    heading_profile: HeadingProfile
    total_s: float

    @property
    def n_steps(self) -> int:
        return len(self.ic)

    def bouts_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "start_s": [b.start_s for b in self.bouts],
                "end_s": [b.end_s for b in self.bouts],
                "activity": [b.activity for b in self.bouts],
                "speed_mps": [b.speed_mps for b in self.bouts],
            }
        )


def _impact_solution(T: float, Tc: float, P: float, tp: float) -> tuple[float, float]:
    """Active half-sine peak ``A`` and impact transient peak ``B`` (g) of one running stance.

    Vertical specific force in stance (g): ``A sin(pi tau/Tc) + B sin^2(pi tau/(2 tp))`` for
    ``tau < 2 tp`` (else the first term only). Two conditions fix ``A`` and ``B``: the impulse over the
    step equals body weight times the step time, ``A 2 Tc/pi + B tp = T``, and the total at ``tp``
    equals the impact target ``P``.
    """
    a0 = np.pi * T / (2 * Tc)  # no impact transient
    if P <= 0 or 2 * tp >= Tc:
        return a0, 0.0
    sp = np.sin(np.pi * tp / Tc)
    a = (T - P * tp) / (2 * Tc / np.pi - sp * tp)
    b = P - a * sp
    if b <= 0:
        return a0, 0.0
    if a < 0.3 * a0:  # an impact so large it would take most of the step's impulse: cap it
        a = 0.3 * a0
        b = (T - a * 2 * Tc / np.pi) / tp
    return float(a), float(b)


def _scale_impact(T: float, Tc: float, a: float, b: float, tp: float, share: float) -> tuple[float, float]:
    """Keep ``share`` of the impact transient ``b``; the half-sine takes the rest of the impulse so
    the step still averages body weight (``A 2 Tc / pi + B tp = T``)."""
    if share == 1.0 or b == 0.0:
        return a, b
    b = b * max(share, 0.0)
    return float((T - b * tp) * np.pi / (2 * Tc)), float(b)


def build_timeline(cfg: RunConfig, rng: np.random.Generator) -> Timeline:
    """Lay out bouts and steps for ``cfg`` with the gait random stream ``rng``."""
    total, segments = cfg.resolved_segments()
    speed = SpeedProfile(cfg, total, rng)
    heading = HeadingProfile(cfg.turns)
    var, fat, rm, wm = cfg.variability, cfg.fatigue, cfg.running, cfg.walking
    grade = grade_effects(cfg.grade_deg)
    # The foot strike and the grade change the impact transient (midfoot: smaller and earlier).
    impact_share = STRIKE_IMPACT_SHARE[rm.foot_strike] * grade.impact
    impact_peak_s = rm.impact_peak_s * (0.6 if rm.foot_strike == "midfoot" else 1.0)
    sides = {"L": cfg.asymmetry.left, "R": cfg.asymmetry.right}
    st_mean = 0.5 * (sides["L"].step_time_factor + sides["R"].step_time_factor)

    cols: dict[str, list] = {k: [] for k in Timeline.__dataclass_fields__ if k not in _NOT_PER_STEP}
    bouts: list[BoutSpec] = []
    t = 0.0
    prev_speed: float | None = None
    side = cfg.first_side
    nominal_end = 0.0
    for i_seg, (activity, dur, base_speed) in enumerate(segments):
        last_segment = i_seg == len(segments) - 1
        nominal_end += dur
        start = t
        if t >= total:
            break
        bout = BoutSpec(activity, start, total, base_speed, prev_speed)
        speed.bouts.append(bout)
        if activity == "stand":
            t = total if last_segment else max(nominal_end, t)
            bouts.append(BoutSpec(activity, start, t, 0.0, None))
            speed.bouts[-1] = bouts[-1]
            prev_speed, side = None, cfg.first_side
            continue
        if side is None:
            side = "L" if rng.random() < 0.5 else "R"
        first_in_bout = len(cols["ic"])
        while t < total:
            v = float(speed.in_bout(t, bout))
            frac = t / total
            sp = sides[side]
            z = rng.standard_normal(4)
            if activity == "run":
                cad = rm.cadence(v) * grade.cadence * (1.0 + fat.cadence_change_pct / 100.0 * frac)
                T = 60.0 / cad * sp.step_time_factor / st_mean * (1.0 + var.step_time_cv * z[0])
                tc_ref = rm.contact_time(v) * grade.contact_time
                Tc = tc_ref * sp.contact_time_factor * (1.0 + fat.contact_time_increase_pct / 100.0 * frac)
                Tc = min(Tc * (1.0 + var.contact_time_cv * z[1]), T - rm.min_flight_s)
                P = rm.impact(v) * sp.impact_factor * (1.0 + fat.impact_increase_pct / 100.0 * frac)
                P = max(P * (1.0 + var.impact_cv * z[2]), 0.0) if rm.impact(v) > 0 else 0.0
                tp = impact_peak_s
                a, b = _impact_solution(T, Tc, P, tp)
                a, b = _scale_impact(T, Tc, a, b, tp, impact_share)
                ap = rm.braking(v) * grade.braking
                ml = rm.ml_g * tc_ref / Tc  # same lateral impulse per step whatever the contact time
                drop = sp.drop_deg + fat.drop_increase_deg * frac + var.drop_sd_deg * z[3]
                drop_peak = rm.drop_peak_frac * Tc
                rot, pitch = rm.rotation_deg, rm.pitch_deg
            else:
                cad = wm.cadence(v) * (1.0 + fat.cadence_change_pct / 100.0 * frac)
                t_ref = 60.0 / cad
                T = t_ref * sp.step_time_factor / st_mean * (1.0 + var.step_time_cv * z[0])
                Tc = 2 * t_ref * wm.stance_frac * sp.contact_time_factor
                Tc *= (1.0 + fat.contact_time_increase_pct / 100.0 * frac) * (
                    1.0 + var.contact_time_cv * z[1]
                )
                a = wm.vertical_g * sp.impact_factor * (1.0 + fat.impact_increase_pct / 100.0 * frac)
                a *= 1.0 + var.impact_cv * z[2]
                b, tp, P = 0.0, 0.0, 1.0 + a
                ap = wm.braking_g
                ml = wm.ml_g * t_ref / T
                drop = (sp.drop_deg + fat.drop_increase_deg * frac) * wm.drop_scale + var.drop_sd_deg * z[3]
                drop_peak = wm.drop_peak_frac * T
                rot, pitch = wm.rotation_deg, wm.pitch_deg
            sign = 1.0 if side == "L" else -1.0
            first = len(cols["ic"]) == first_in_bout
            cols["ic"].append(t)
            cols["step_time"].append(T)
            cols["contact_time"].append(Tc)
            cols["side"].append(sign)
            cols["is_run"].append(activity == "run")
            cols["bout"].append(len(bouts))
            cols["speed"].append(v)
            cols["vert_a"].append(a)
            cols["vert_b"].append(b)
            cols["impact_peak_s"].append(tp)
            cols["impact_target_g"].append(P)
            cols["ap_g"].append(ap)
            cols["ml_g"].append(ml)
            cols["drop_deg"].append(max(drop, 0.0))
            cols["drop_peak_s"].append(drop_peak)
            cols["rot_start_deg"].append(0.0 if first else cols["rot_end_deg"][-1])
            cols["rot_end_deg"].append(sign * rot)
            cols["pitch_deg"].append(pitch)
            cols["complete"].append(t + max(T, Tc) <= total + 1e-12)  # contact and toe-off recorded
            t += T
            side = "R" if side == "L" else "L"
            if not last_segment and t >= nominal_end - 0.5 * T:
                break
        end = total if last_segment else t
        cols["rot_end_deg"][-1] = 0.0  # the pelvis faces forward again when the bout ends
        bouts.append(BoutSpec(activity, start, min(end, total), base_speed, prev_speed))
        speed.bouts[-1] = bouts[-1]
        prev_speed = float(speed.in_bout(min(t, total), bouts[-1]))
    arrays = {k: np.asarray(v, dtype=bool if k in ("is_run", "complete") else float) for k, v in cols.items()}
    arrays["bout"] = arrays["bout"].astype(np.int64)
    return Timeline(**arrays, bouts=bouts, speed_profile=speed, heading_profile=heading, total_s=total)


_NOT_PER_STEP = {"bouts", "speed_profile", "heading_profile", "total_s"}
