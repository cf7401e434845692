"""A walk recovery between fast runs keeps its step times (red-team p14 G3).

A step longer than 1.6 typical steps is not one step (a missed contact or a pause) and loses its step
time. The typical step was the median over the whole segment, running and walking together: with
7.5 m/s runs (0.30 s steps) around a 60 s walk (0.54 s steps) it was a running step, and 105 of 111
walking steps lost their step time; the walking cadence (the median over the 6 short ones left) read
131 steps/min for a 111 spm walk. Each step is now judged on its own activity's typical step, and the
walking cadence is shown only when it rests on at least half the walking steps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense.analysis import analyse_file
from hipsense.cli import main
from hipsense.gait.summary import walking_summary
from hipsense.sim import RunConfig, Segment, simulate_run
from hipsense.store import HOME_ENV


def _sprint_walk_sprint(speed_mps: float, seed: int = 5):
    segments = (
        Segment("stand", 10.0),
        Segment("run", 20.0, speed_mps),
        Segment("walk", 60.0),
        Segment("run", 20.0, speed_mps),
        Segment("stand", 10.0),
    )
    return simulate_run(RunConfig(segments=segments, seed=seed))


@pytest.mark.parametrize("speed_mps", [5.5, 7.5])
def test_walking_steps_between_fast_runs_keep_their_step_times(tmp_path, speed_mps):
    """Measured after: 1 of 111-112 walking steps without a step time (the bout's last), cadence
    111.4 for 111; before: 51 (5.5 m/s) and 105 (7.5 m/s) without, cadence 115.6 and 131.5."""
    run = _sprint_walk_sprint(speed_mps)
    result = analyse_file(run.write_device_file(tmp_path / "sprint.hsn"))
    walk = result.steps[result.steps["activity"] == "walk"]
    truth = run.truth[run.truth["activity"] == "walk"]
    assert abs(len(walk) - len(truth)) <= 2
    assert walk["step_time_s"].isna().sum() <= 3
    assert not walk["quality"].str.contains("a pause: no step time").any()
    true_cadence = 60.0 / truth["step_time_s"].median()
    assert result.summary is not None
    walking = result.summary.walking
    assert walking["cadence_spm"] == pytest.approx(true_cadence, abs=2.0)
    for side, name in (("L", "left"), ("R", "right")):
        true_step = truth.loc[truth["side"] == side, "step_time_s"].median()
        assert walking[f"step_time_s_{name}"] == pytest.approx(true_step, rel=0.06)


def test_the_terminal_cadence_agrees_with_the_walking_time(tmp_path, monkeypatch, capsys):
    """`hipsense analyze` printed "111 steps, 131 steps/min" beside "1 min 00 s walking"."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    run = _sprint_walk_sprint(7.5)
    path = run.write_device_file(tmp_path / "sprint.hsn")
    assert main(["analyze", str(path), "--steps-out", str(tmp_path / "steps.csv")]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "steps/min" in x and "steps," in x)
    cadence = float(line.split("steps,")[1].split("steps/min")[0])
    steps = pd.read_csv(tmp_path / "steps.csv")
    walk = steps[steps["activity"] == "walk"]
    walked_s = walk["ic_s"].max() - walk["ic_s"].min()
    assert cadence == pytest.approx(60.0 * (len(walk) - 1) / walked_s, abs=2.0)


def test_running_steps_keep_their_pause_limit_next_to_a_walk(tmp_path):
    """Judging walking on its own timing does not loosen running's: a running step is still cut at 1.6
    running steps, not 1.6 walking ones (the walking steps are longer)."""
    run = _sprint_walk_sprint(5.5)
    result = analyse_file(run.write_device_file(tmp_path / "sprint.hsn"))
    running = result.steps[result.steps["activity"] == "run"]
    kept = running["step_time_s"].dropna()
    assert len(kept) > 0.9 * len(running)
    assert kept.max() < 1.6 * kept.median()


def test_a_walking_cadence_needs_half_the_walking_steps():
    """A median over a few walking steps is not the walk's cadence: none is given."""
    n = 20
    cadence = np.full(n, np.nan)
    cadence[:9] = 130.0
    steps = pd.DataFrame({"activity": "walk", "side": np.tile(["L", "R"], n // 2), "cadence_spm": cadence})
    for name in ("step_time_s", "contact_time_s", "pelvic_drop_deg", "pelvic_rotation_deg"):
        steps[name] = np.nan
    assert walking_summary(steps)["cadence_spm"] is None
    steps.loc[9, "cadence_spm"] = 110.0
    assert walking_summary(steps)["cadence_spm"] == pytest.approx(130.0)
