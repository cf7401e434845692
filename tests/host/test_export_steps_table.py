"""The steps table holds running and walking steps, and its schema says so (red-team p13 F18): the
documented counts match the rows, so a researcher who reads only schema.json filters the right rows."""

from __future__ import annotations

import json

from hipsense.cli import main
from hipsense.export import read_table
from hipsense.sim import scenarios, simulate_run
from hipsense.sim.config import Segment
from hipsense.store import HOME_ENV

JAN1 = 1_735_689_600  # 2025-01-01 00:00 UTC


def test_steps_table_says_it_holds_walking_steps_too(tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    config = scenarios.steady_run(
        duration_s=40, seed=51, segments=(Segment("run", 25.0), Segment("walk", None))
    )
    path = simulate_run(config).write_device_file(tmp_path / "run-walk.hsn", start_time_unix=JAN1)
    assert main(["import", "-q", str(path)]) == 0
    out = tmp_path / "x"
    assert main(["export", "-q", "--what", "steps,sessions", "--out", str(out)]) == 0
    steps, session = read_table(out, "steps"), read_table(out, "sessions").iloc[0]
    counts = steps["activity"].value_counts()
    assert counts["run"] == session["steps"] > 0 and counts["walk"] == session["walking_steps"] > 0
    tables = json.loads((out / "schema.json").read_text())["tables"]
    described = tables["steps"]["description"]
    assert "running and walking" in described and "activity" in described
    assert "running step" not in described.replace("running steps", "")  # not "one row per running step"
    assert "activity run" in tables["sessions"]["columns"]["steps"]["meaning"]
    assert "activity walk" in tables["sessions"]["columns"]["walking_steps"]["meaning"]
