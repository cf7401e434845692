"""The whole analysis on sessions a runner really records: stops, walk breaks, turns, odd mountings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense.analysis import analyse
from hipsense.formats.load import load_recording
from hipsense.gait.scoring import match_nearest, score_running_events
from hipsense.sim import RunConfig, Segment, Turn, simulate_run


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory):
    """Run, a traffic-light stop, run, a walk break, run; two U-turns and a long curve while running."""
    cfg = RunConfig(
        segments=(
            Segment("stand", 8.0),
            Segment("run", 70.0),
            Segment("stand", 12.0),
            Segment("run", 60.0),
            Segment("walk", 25.0),
            Segment("run", 60.0),
            Segment("stand", 6.0),
        ),
        turns=(Turn(30.0, 3.0, 180.0), Turn(110.0, 4.0, -180.0), Turn(190.0, 20.0, 90.0)),
        seed=11,
    )
    run = simulate_run(cfg)
    path = tmp_path_factory.mktemp("pipe") / "run.hsn"
    run.write_device_file(path)
    return run, analyse(load_recording(path))


def test_bouts_follow_the_session(interrupted_run):
    _, analysis = interrupted_run
    acts = list(analysis.bouts["activity"])
    assert acts.count("run") == 3
    assert "walk" in acts and acts.count("stand") >= 3


def test_no_steps_outside_running_and_none_missed_inside(interrupted_run):
    run, analysis = interrupted_run
    truth = run.truth[run.truth["activity"] == "run"]
    ref = truth[["ic_s", "to_s"]].assign(complete=True)
    steps = _running(analysis)
    summary, _ = score_running_events(ref, steps[["ic_s", "to_s"]], tolerance_s=0.04)
    # The landing into a stop is a real contact, but the simulator's truth ends the run just before
    # it; any unmatched step must be such a landing, never a step invented while standing or walking.
    t_true = truth["ic_s"].to_numpy()
    unmatched = [t for t in steps["ic_s"] if np.abs(t_true - t).min() > 0.04]
    run_ends = run.bouts.loc[run.bouts["activity"] == "run", "end_s"].to_numpy()
    assert all(np.abs(run_ends - t).min() < 0.5 for t in unmatched), unmatched
    assert summary["fp"] == len(unmatched) <= 3
    assert (steps["contact_time_s"].dropna() < 0.4).all()
    # Only the first contact out of each stop/walk can go unseen (no flight before it).
    assert summary["fn"] <= 3
    assert steps["bout"].nunique() == 3


def test_turns_and_stops_do_not_corrupt_the_metrics(interrupted_run):
    run, analysis = interrupted_run
    truth = run.truth[run.truth["activity"] == "run"]
    steps = _running(analysis)
    for side in ("L", "R"):
        ct_est = steps.loc[steps["side"] == side, "contact_time_s"].median()
        ct_true = truth.loc[truth["side"] == side, "contact_time_s"].median()
        assert ct_est == pytest.approx(ct_true, abs=0.010)
        drop_est = steps.loc[steps["side"] == side, "pelvic_drop_deg"].median()
        drop_true = truth.loc[truth["side"] == side, "pelvic_drop_deg"].median()
        assert drop_est == pytest.approx(drop_true, abs=0.5)
    # Step times across a stop are not steps.
    assert steps["step_time_s"].max() < 1.5 * truth["step_time_s"].median()


def test_sides_survive_the_turns(interrupted_run):
    run, analysis = interrupted_run
    truth = run.truth[run.truth["activity"] == "run"].reset_index(drop=True)
    t_true = truth["ic_s"].to_numpy()
    steps = _running(analysis)
    t_est = steps["ic_s"].to_numpy()
    j = np.abs(t_true[None, :] - t_est[:, None]).argmin(axis=1)
    assert (steps["side"].to_numpy() == truth["side"].to_numpy()[j]).mean() > 0.99


def _running(analysis):
    return analysis.steps[analysis.steps["activity"] == "run"].reset_index(drop=True)


def test_walking_between_the_runs_is_analysed_as_walking(interrupted_run):
    """Walk breaks are steps too: contacts, sides, step times, no running metrics.

    The simulator's walking contact sits about 100 ms after the forward-acceleration peak that the
    walking detector times (validated on real walking: docs/validation-walking.md), hence 200 ms here."""
    run, analysis = interrupted_run
    walk = analysis.steps[analysis.steps["activity"] == "walk"]
    truth = run.truth[run.truth["activity"] == "walk"]
    assert len(truth) > 10
    t_true, t_est = truth["ic_s"].to_numpy(), walk["ic_s"].to_numpy()
    i_true, i_est = match_nearest(t_true, t_est, 0.2)
    f1 = 2 * len(i_true) / (len(t_true) + len(t_est))
    assert f1 >= 0.9, (len(i_true), len(t_true), len(t_est))
    sides_true = truth["side"].to_numpy()[i_true]
    assert (walk["side"].to_numpy()[i_est] == sides_true).mean() >= 0.95
    assert walk["impact_g"].isna().all()
    # Walking stance time, where the walking detector gives one (docs/validation-walking.md).
    stance_err = walk["contact_time_s"].to_numpy()[i_est] - truth["contact_time_s"].to_numpy()[i_true]
    assert np.isfinite(stance_err).sum() >= 0.5 * len(i_est) and np.nanmedian(np.abs(stance_err)) < 0.05
    assert walk["step_time_s"].dropna().between(0.4, 0.8).all()
    assert analysis.summary.walking["steps"] == len(walk)
    assert analysis.summary.walking_time_s == pytest.approx(analysis.walking_time_s)
    assert analysis.summary.steps == int((analysis.steps["activity"] == "run").sum()), "headline = running"


def test_symmetric_runner_is_not_flagged_asymmetric(interrupted_run):
    _, analysis = interrupted_run
    summary = analysis.summary
    flagged = [s.metric for s in summary.sides if s.larger_than_noise]
    assert flagged == [], flagged


def test_lost_samples_are_filled_reported_and_marked(tmp_path):
    import dataclasses

    from hipsense.sim import scenarios

    cfg = scenarios.steady_run(duration_s=60, seed=4)
    gap_at = int(30 * 208)
    cfg.sensor = dataclasses.replace(cfg.sensor, drops=((gap_at, 12),))
    run = simulate_run(cfg)
    path = tmp_path / "gappy.hsn"
    run.write_device_file(path)
    recording = load_recording(path)
    assert recording.filled is not None and recording.filled.sum() == 12
    assert recording.quality.missing_samples == 12
    analysis = analyse(recording)
    marked = analysis.steps[analysis.steps["quality"].str.contains("gap in the data")]
    # Exactly the step(s) spanning the gap are marked, not their neighbours.
    t_gap = (gap_at - run.sample_index[0]) / analysis.sampling_rate_hz
    assert 1 <= len(marked) <= 2
    assert (marked["ic_s"] <= t_gap + 0.06).all() and (marked["ic_s"] > t_gap - 0.8).all()
    # The doubtful share counts those steps; values missing by design do not put a step in doubt.
    share = analysis.quality.doubtful_step_share
    assert len(marked) / len(analysis.steps) <= share < 0.2
    no_gyro = recording.data.drop(columns=["gyr_x", "gyr_y", "gyr_z"])
    acc_only = analyse(dataclasses.replace(recording, data=no_gyro))
    assert acc_only.steps["quality"].str.contains("no gyroscope").all()
    assert acc_only.quality.doubtful_step_share < 0.2


def test_a_walking_only_recording_is_analysed_and_reported_as_walking(tmp_path, capsys):
    """A walk was refused with "no running found" (issue 15): now its steps, sides and drops are shown."""
    from hipsense.cli import main
    from hipsense.sim.config import RunConfig, Segment

    run = simulate_run(RunConfig(segments=(Segment("walk", 60.0),), seed=2))
    path = run.write_device_file(tmp_path / "walk.hsn")
    assert main(["analyze", str(path), "--steps-out", str(tmp_path / "steps.csv")]) == 0
    out = capsys.readouterr().out
    assert "reported as walking" in out and "Left versus right" not in out
    # No running figures for a walk (they read "0 running steps", "cadence -", "0 g x steps"); the
    # walking table shows every sided metric the registry says holds for walking.
    assert "Run summary" not in out and "running steps" not in out and "impact load" not in out
    assert "step time (ms)" in out and "pelvic drop (deg)" in out and "pelvic rotation (deg)" in out
    steps = pd.read_csv(tmp_path / "steps.csv")
    assert (steps["activity"] == "walk").all() and len(steps) > 80
    # Walking steps carry their stance where the walking detector found a toe-off, and say why not.
    no_to = steps["to_s"].isna()
    assert steps.loc[~no_to, "contact_time_s"].between(0.3, 1.5).all()
    assert steps.loc[no_to, "quality"].str.contains("walking: no toe-off").all()
    assert set(steps["side"].dropna()) == {"L", "R"}
