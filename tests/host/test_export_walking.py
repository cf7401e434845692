"""The walking figures of the sessions table: a count of 0 beside a time of 0 s when no walking was found,
both empty only when the session has no figures (red-team p13 F2)."""

from __future__ import annotations

import json

import pandas as pd

from hipsense.cli import main
from hipsense.export import read_table
from hipsense.sim import scenarios, simulate_run
from hipsense.sim.config import Segment
from hipsense.store import HOME_ENV

JAN1 = 1_735_689_600  # 2025-01-01 00:00 UTC


def test_no_walking_found_is_zero_steps_and_zero_seconds(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    runs = {
        "run": (Segment("run", None),),
        "walk": (Segment("walk", None),),
        "stand": (Segment("stand", None),),  # nothing to analyse: stored as an analysis error
    }
    paths = []
    for i, (name, segments) in enumerate(runs.items()):
        config = scenarios.steady_run(duration_s=20, seed=20 + i, segments=segments)
        paths.append(
            simulate_run(config).write_device_file(tmp_path / f"{name}.hsn", start_time_unix=JAN1 + i)
        )
    main(["import", "-q", *map(str, paths)])
    assert main(["export", "-q", "--format", "csv", "--what", "sessions", "--out", str(tmp_path / "x")]) == 0
    plain = pd.read_csv(tmp_path / "x" / "sessions.csv").set_index("original_name")
    run, walk = plain.loc["run.hsn"], plain.loc["walk.hsn"]
    assert (run["walking_time_s"], run["walking_steps"]) == (0.0, 0)
    assert walk["walking_time_s"] > 0 and walk["walking_steps"] > 0
    stand = read_table(tmp_path / "x", "sessions").set_index("original_name").loc["stand.hsn"]
    assert stand["status"] == "error"  # no figures: both unknown
    assert pd.isna(stand["walking_time_s"]) and pd.isna(stand["walking_steps"])
    capsys.readouterr()
    assert main(["analyze", "-q", str(paths[0]), "--json"]) == 0  # the same flattening
    figures = json.loads(capsys.readouterr().out)
    assert (figures["walking_time_s"], figures["walking_steps"]) == (0.0, 0)
