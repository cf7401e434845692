"""Synthetic inputs for the report tests: a Trends built from made-up tables, and a short simulated run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from hipsense.load.training import daily_load, load_table
from hipsense.trends.model import Flag, Trends

METRICS = (
    "contact_time_s",
    "impact_g",
    "loading_rate_g_per_s",
    "step_time_s",
    "braking_g",
    "pelvic_drop_deg",
)


def synthetic_trends(weeks: int = 10, *, seed: int = 3) -> Trends:
    """Four runs a week with a load spike in week 8 and pelvic drop rising from week 7, plus flags."""
    rng = np.random.default_rng(seed)
    first = pd.Timestamp("2026-08-03 07:00", tz="UTC")  # a Monday
    starts = [first + pd.Timedelta(days=7 * w + d) for w in range(weeks) for d in (0, 2, 4, 5)]
    n = len(starts)
    week = np.array([(s - first).days // 7 for s in starts])
    load = rng.normal(4500, 300, n) * np.where(week == 7, 1.7, 1.0)
    sessions = pd.DataFrame(
        {
            "session_id": np.arange(1, n + 1),
            "start": starts,
            "running_s": load / 4500 * 2400,
            "steps": np.round(load / 3.0),
            "load": load,
        }
    )
    for m in METRICS:
        ai = rng.normal(-4.0 if m == "contact_time_s" else 1.0, 1.0, n)
        sessions[f"{m}_ai"] = ai
        sessions[f"{m}_ai_lo"], sessions[f"{m}_ai_hi"] = ai - 0.8, ai + 0.8
        mean = 6.0 + np.clip(week - 6, 0, None) * 0.6 if m == "pelvic_drop_deg" else np.full(n, 1.0)
        sessions[f"{m}_mean"] = mean + rng.normal(0, 0.2, n)
        # The baseline: the median of the runs before, once there are eight of them.
        for col in ("ai", "mean"):
            past = sessions[f"{m}_{col}"].shift(1).rolling(8, min_periods=8)
            med, sd = past.median(), past.std()
            sessions[f"{m}_{col}_base"] = med
            sessions[f"{m}_{col}_base_lo"], sessions[f"{m}_{col}_base_hi"] = med - sd, med + sd
    daily = load_table(daily_load(sessions.assign(date=sessions["start"].dt.tz_convert(None)), value="load"))
    spike_day = dt.date(2026, 9, 27)  # the Sunday ending the heavy week
    flags = [
        Flag(
            kind="load_spike", severity="alert", runner="anna", period_start=spike_day - dt.timedelta(days=6),
            period_end=spike_day, sentence="Your impact load in the last 7 days was 1.6 times your usual <week>.",
            advice="Many runners follow a jump like this with easier days.", numbers={"acwr": 1.62, "threshold": 1.5},
            reference="Gabbett 2016, doi:10.1136/bjsports-2015-095788",
        ),
        Flag(
            kind="drop_rising", severity="watch", runner="anna", period_start=dt.date(2026, 9, 14),
            period_end=dt.date(2026, 10, 11), sentence="Pelvic drop rose by 2.1 deg over four weeks.",
            advice="Hip-strength work is a common answer.", numbers={"change_deg": 2.1, "weeks": 4},
            reference="Bramah et al. 2018, doi:10.1177/0363546518793657", metric="pelvic_drop_deg",
        ),
        Flag(
            kind="asymmetry_drift", severity="info", runner="anna", period_start=dt.date(2026, 10, 5),
            period_end=dt.date(2026, 10, 10), sentence="Braking asymmetry moved away from your baseline.",
            advice="Worth watching over the next runs.", numbers={"ai_pct": 3.4, "baseline_pct": 1.0},
            reference="hipsense baseline rule", metric="braking_g",
        ),
    ]  # fmt: skip
    return Trends(runner="anna", daily=daily, sessions=sessions, flags=flags)


def short_run_file(folder: Path) -> Path:
    """A simulated 150-second run with the demo's asymmetry, written as the clip's device file."""
    from hipsense.sim import demo_config, simulate_run

    cfg = demo_config()
    cfg.duration_s = 150
    path = folder / "short-run.hsn"
    simulate_run(cfg).write_device_file(path)
    return path
