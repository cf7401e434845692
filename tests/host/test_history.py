"""Simulated multi-week histories: the plan, and device files that carry their start times."""

from __future__ import annotations

import datetime as dt

import numpy as np

from hipsense.formats.device_file import read_device_file
from hipsense.sim.history import Changes, RunnerProfile, plan_history, write_history


def test_plan_follows_the_profile_and_the_injected_changes():
    profile = RunnerProfile(minutes_sd_pct=0.0, drop_sd_deg=0.0, moved_day_prob=0.0)
    changes = Changes(load_spike_week=3, load_spike_pct=30.0, drop_rise_week=4, drop_rise_weeks=2)
    plan = plan_history(profile, 7, start=dt.date(2025, 1, 8), changes=changes, seed=2)
    assert len(plan) == 7 * len(profile.run_days)
    starts = [p.start for p in plan]
    assert starts == sorted(starts) and starts[0].date() == dt.date(2025, 1, 7)  # Tuesday of that week
    assert all(p.start.date().weekday() in profile.run_days for p in plan)
    minutes = {w: sum(p.duration_s for p in plan if p.week == w) / 60 for w in range(1, 8)}
    assert np.isclose(minutes[3], 1.3 * minutes[2]) and np.isclose(minutes[2], sum(profile.minutes))
    left = [p.drop_left_deg for p in plan]
    assert left[: 3 * 3] == [4.0] * 9  # before the rise
    assert 4.0 < plan[9].drop_left_deg < 5.0  # rising from the first run of week 4
    assert all(np.isclose(p.drop_left_deg, 7.0) for p in plan if p.week >= 6)
    assert all(p.drop_right_deg == 4.0 for p in plan)


def test_written_files_carry_their_start_times(tmp_path):
    plan = plan_history(RunnerProfile(minutes=(0.4, 0.4, 0.4)), 1, seed=5)[:2]
    paths = write_history(plan, tmp_path)
    for p, path in zip(plan, paths, strict=True):
        session = read_device_file(path)
        assert session.header.start_time_unix == int(p.start.timestamp())
        assert abs(len(session.sample_index) / session.header.sample_rate_hz - p.duration_s) < 2.0
