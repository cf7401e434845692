"""Ready-made configurations: the demo's run and scenarios the analysis tests lean on.

Each function returns a :class:`~hipsense.sim.config.RunConfig`; keyword arguments replace its fields.
"""

from __future__ import annotations

import dataclasses

from hipsense.sim.config import (
    Asymmetry,
    Fatigue,
    FootStrike,
    RunConfig,
    RunningModel,
    Segment,
    SideParams,
    Turn,
)

#: Seed of the demo run, fixed so that ``hipsense demo`` prints the same figures every time.
DEMO_SEED = 20240611


def _with(cfg: RunConfig, overrides: dict) -> RunConfig:
    return dataclasses.replace(cfg, **overrides) if overrides else cfg


def demo_config(**overrides) -> RunConfig:
    """The run ``hipsense demo`` simulates: 10 minutes at about 3.3 m/s with a known asymmetry.

    - 10 s standing, then running, then 30 s walking to cool down (600 s in all);
    - right foot: contact time +6 %, impact +10 % versus the left;
    - pelvic drop 8 degrees in left-foot stance (the right side drops) versus 5 degrees in
      right-foot stance (the left side drops);
    - fatigue: drop +1.5 degrees and contact time +3 % from start to end, speed -3 %.
    """
    cfg = RunConfig(
        duration_s=600.0,
        speed_mps=3.3,
        speed_drift_pct=-3.0,
        seed=DEMO_SEED,
        segments=(Segment("stand", 10.0), Segment("run", None), Segment("walk", 30.0)),
        asymmetry=Asymmetry(
            left=SideParams(drop_deg=8.0),
            right=SideParams(contact_time_factor=1.06, impact_factor=1.10, drop_deg=5.0),
        ),
        fatigue=Fatigue(drop_increase_deg=1.5, contact_time_increase_pct=3.0),
    )
    return _with(cfg, overrides)


def steady_run(duration_s: float = 60.0, speed_mps: float = 3.3, seed: int = 0, **overrides) -> RunConfig:
    """Running at one speed throughout, symmetric, default sensor."""
    return _with(RunConfig(duration_s=duration_s, speed_mps=speed_mps, seed=seed), overrides)


def walk_run_walk(
    walk_s: float = 30.0, run_s: float = 120.0, stand_s: float = 5.0, seed: int = 0, **overrides
) -> RunConfig:
    """Stand, walk, run, walk, stand: bout detection and walk/run transitions."""
    segments = (
        Segment("stand", stand_s),
        Segment("walk", walk_s),
        Segment("run", run_s),
        Segment("walk", walk_s),
        Segment("stand", stand_s),
    )
    return _with(RunConfig(segments=segments, seed=seed), overrides)


def hill_run(
    grade_deg: float = 5.0,
    foot_strike: FootStrike = "rearfoot",
    duration_s: float = 60.0,
    speed_mps: float = 3.3,
    seed: int = 0,
    **overrides,
) -> RunConfig:
    """Steady running on a constant grade (degrees, + uphill) with the given foot strike
    (docs/simulator.md, "Grade and foot strike")."""
    cfg = RunConfig(
        duration_s=duration_s,
        speed_mps=speed_mps,
        seed=seed,
        grade_deg=grade_deg,
        running=RunningModel(foot_strike=foot_strike),
    )
    return _with(cfg, overrides)


def with_turns(duration_s: float = 120.0, seed: int = 0, **overrides) -> RunConfig:
    """Running with a gentle 90-degree left curve (20-50 s) and a U-turn to the right (70-76 s)."""
    turns = (
        Turn(start_s=20.0, duration_s=30.0, angle_deg=90.0),
        Turn(start_s=70.0, duration_s=6.0, angle_deg=-180.0),
    )
    return _with(RunConfig(duration_s=duration_s, turns=turns, seed=seed), overrides)


def asymmetric_run(
    duration_s: float = 120.0,
    *,
    step_time_pct: float = 0.0,
    contact_time_pct: float = 6.0,
    impact_pct: float = 10.0,
    left_stance_drop_deg: float = 8.0,
    right_stance_drop_deg: float = 5.0,
    seed: int = 0,
    **overrides,
) -> RunConfig:
    """Steady running with the right foot's steps differing from the left's by the given amounts."""
    asym = Asymmetry.right_vs_left(
        step_time_pct=step_time_pct,
        contact_time_pct=contact_time_pct,
        impact_pct=impact_pct,
        left_stance_drop_deg=left_stance_drop_deg,
        right_stance_drop_deg=right_stance_drop_deg,
    )
    return _with(RunConfig(duration_s=duration_s, asymmetry=asym, seed=seed), overrides)


def fatiguing_run(
    duration_s: float = 1800.0,
    *,
    drop_increase_deg: float = 3.0,
    contact_time_increase_pct: float = 5.0,
    seed: int = 0,
    **overrides,
) -> RunConfig:
    """A long run whose pelvic drop and contact time grow linearly from start to end."""
    fatigue = Fatigue(
        drop_increase_deg=drop_increase_deg, contact_time_increase_pct=contact_time_increase_pct
    )
    return _with(
        RunConfig(duration_s=duration_s, fatigue=fatigue, speed_drift_pct=-5.0, seed=seed), overrides
    )
