"""Weeks of a runner's sessions: a training plan with day-to-day variation and injected changes.

:func:`plan_history` decides, for every session, its date, length and gait parameters (cheap, no
signals); :func:`write_history` simulates each planned session at signal level and writes it as a device
file whose header carries its start time, so the files import into the store like real sessions.
docs/flags.md ("Simulated histories") describes the model and uses it to measure the flags.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hipsense.sim.config import Asymmetry, Fatigue, RunConfig
from hipsense.sim.scenario import simulate_run


@dataclass(frozen=True)
class RunnerProfile:
    """A runner's steady habits and how much they vary from run to run.

    Parameters
    ----------
    run_days
        Weekdays of the runs (Monday = 0).
    minutes
        Planned length of each of those runs, minutes (short values make quick test histories).
    speed_mps
        Usual running speed.
    drop_deg
        Pelvic drop in left-foot and right-foot stance, degrees.
    contact_time_pct, impact_pct
        Right foot's contact time and impact against the left's, percent.
    fatigue_drop_deg, fatigue_contact_pct
        Usual growth of drop and contact time from the start to the end of a run.
    minutes_sd_pct, speed_sd_pct, drop_sd_deg, asymmetry_sd_pct
        Run-to-run variation (standard deviations) of length, speed, each side's drop, and the two
        asymmetries: the day-to-day noise a steady runner shows (route, shoes, how they feel).
    moved_day_prob
        Chance that a run moves one day earlier or later within its week.
    """

    run_days: tuple[int, ...] = (1, 3, 6)
    minutes: tuple[float, ...] = (40.0, 45.0, 70.0)
    speed_mps: float = 3.3
    drop_deg: tuple[float, float] = (4.0, 4.0)
    contact_time_pct: float = 0.0
    impact_pct: float = 0.0
    fatigue_drop_deg: float = 0.3
    fatigue_contact_pct: float = 1.0
    minutes_sd_pct: float = 8.0
    speed_sd_pct: float = 3.0
    drop_sd_deg: float = 0.3
    asymmetry_sd_pct: float = 1.0
    moved_day_prob: float = 0.15


@dataclass(frozen=True)
class Changes:
    """Changes injected into a history (weeks count from 1).

    Parameters
    ----------
    load_spike_week, load_spike_pct
        Every run of that week is this many percent longer.
    drop_rise_week, drop_rise_deg, drop_rise_weeks, drop_rise_side
        From the first run of ``drop_rise_week``, the drop in ``drop_rise_side`` stance (``"L"`` or
        ``"R"``) grows linearly to ``drop_rise_deg`` more over ``drop_rise_weeks`` weeks, then stays.
    """

    load_spike_week: int | None = None
    load_spike_pct: float = 30.0
    drop_rise_week: int | None = None
    drop_rise_deg: float = 3.0
    drop_rise_weeks: int = 3
    drop_rise_side: str = "L"


@dataclass(frozen=True)
class PlannedSession:
    """One session of a history: when, how long, and the gait it is simulated with."""

    start: dt.datetime
    week: int
    duration_s: float
    speed_mps: float
    drop_left_deg: float
    drop_right_deg: float
    contact_time_pct: float
    impact_pct: float
    fatigue_drop_deg: float
    fatigue_contact_pct: float
    seed: int

    def run_config(self) -> RunConfig:
        """The simulator configuration of this session: running throughout, with the planned gait."""
        return RunConfig(
            duration_s=self.duration_s,
            speed_mps=self.speed_mps,
            seed=self.seed,
            asymmetry=Asymmetry.right_vs_left(
                contact_time_pct=self.contact_time_pct,
                impact_pct=self.impact_pct,
                left_stance_drop_deg=self.drop_left_deg,
                right_stance_drop_deg=self.drop_right_deg,
            ),
            fatigue=Fatigue(
                drop_increase_deg=self.fatigue_drop_deg, contact_time_increase_pct=self.fatigue_contact_pct
            ),
        )


def plan_history(
    profile: RunnerProfile,
    weeks: int,
    *,
    start: dt.date = dt.date(2025, 1, 6),
    changes: Changes = Changes(),
    seed: int = 0,
    start_hour: int = 7,
) -> list[PlannedSession]:
    """Plan ``weeks`` weeks of sessions from ``start`` (moved back to its Monday), oldest first."""
    rng = np.random.default_rng(seed)
    monday = start - dt.timedelta(days=start.weekday())
    days = np.array(profile.run_days)
    plan: list[PlannedSession] = []
    rise_start = None
    for week in range(1, weeks + 1):
        moved = rng.random(len(days)) < profile.moved_day_prob
        shift = np.where(moved, rng.choice([-1, 1], len(days)), 0)
        weekdays = np.clip(days + shift, 0, 6)
        for i in np.argsort(weekdays, kind="stable"):
            day = monday + dt.timedelta(weeks=week - 1, days=int(weekdays[i]))
            minutes = profile.minutes[i] * max(0.3, 1 + profile.minutes_sd_pct / 100 * rng.standard_normal())
            if week == changes.load_spike_week:
                minutes *= 1 + changes.load_spike_pct / 100
            drops = np.array(profile.drop_deg) + profile.drop_sd_deg * rng.standard_normal(2)
            if changes.drop_rise_week is not None and week >= changes.drop_rise_week:
                rise_start = rise_start or day
                ramp = min(1.0, ((day - rise_start).days + 1) / (7 * changes.drop_rise_weeks))
                drops[0 if changes.drop_rise_side == "L" else 1] += changes.drop_rise_deg * ramp
            plan.append(
                PlannedSession(
                    start=dt.datetime.combine(day, dt.time(start_hour), tzinfo=dt.timezone.utc),
                    week=week,
                    duration_s=round(60.0 * minutes, 1),
                    speed_mps=profile.speed_mps * (1 + profile.speed_sd_pct / 100 * rng.standard_normal()),
                    drop_left_deg=float(drops[0]),
                    drop_right_deg=float(drops[1]),
                    contact_time_pct=profile.contact_time_pct
                    + profile.asymmetry_sd_pct * rng.standard_normal(),
                    impact_pct=profile.impact_pct + profile.asymmetry_sd_pct * rng.standard_normal(),
                    fatigue_drop_deg=profile.fatigue_drop_deg,
                    fatigue_contact_pct=profile.fatigue_contact_pct,
                    seed=int(rng.integers(2**31)),
                )
            )
    return plan


def write_history(
    plan: list[PlannedSession], folder: str | Path, *, device_id: str = "hipsense-sim"
) -> list[Path]:
    """Simulate every planned session and write it as a device file with its start time; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, p in enumerate(plan):
        path = folder / f"{p.start:%Y%m%d-%H%M}-{n:03d}.hsn"
        simulate_run(p.run_config()).write_device_file(
            path, device_id=device_id, session_id=n + 1, start_time_unix=int(p.start.timestamp())
        )
        paths.append(path)
    return paths
