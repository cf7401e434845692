"""What ``sessions --json`` says of a stored session is what its summary and the export say.

A logger's clock runs a little off its nominal rate, so the recording's elapsed time has digits to the
nanosecond (599.999970418213 s for the demo's ten minutes); the summary keeps 4 decimals. The store's
column once kept them all, so a script saw 599.99997... from ``sessions --json`` and 600.0 from the
summary (red-team p13 F24). Real store in a tmp folder, real CLI, a CSV whose clock runs 3 ppm slow."""

from __future__ import annotations

import json

import pandas as pd

from hipsense.cli import main
from hipsense.export import read_table
from hipsense.sim import scenarios, simulate_run
from hipsense.store_open import HOME_ENV


def test_stored_duration_is_the_summarys(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    path = tmp_path / "run.csv"
    simulate_run(scenarios.steady_run(duration_s=30, seed=4)).write_csv(path)
    table = pd.read_csv(path)
    table["t_s"] = table["t_s"] * (1 + 3e-6)  # the logger's clock 3 ppm slow: no round elapsed time
    table.to_csv(path, index=False)
    assert main(["import", "-q", str(path)]) == 0
    capsys.readouterr()
    assert main(["sessions", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)[0]["duration_s"]
    assert main(["analyze", "-q", str(path), "--json"]) == 0
    analysed = json.loads(capsys.readouterr().out)["duration_s"]
    assert main(["export", "-q", "--out", str(tmp_path / "out")]) == 0
    exported = read_table(tmp_path / "out", "sessions")["duration_s"].iloc[0]
    assert listed == analysed == exported == round(listed, 4)
    assert abs(listed - 30.0) < 0.01
