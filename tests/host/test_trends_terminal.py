"""`hipsense trends` in the terminal: the weekly table's running time reads with its units."""

from __future__ import annotations

import re

from hipsense.cli import main
from hipsense.report.wording import duration
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV, Store

#: Monday 2026-05-04, 08:00 UTC, and the same week's Wednesday.
MONDAY = 1_777_881_600


def _running_cells(out: str) -> list[str]:
    """The `running` cell of each week row of the printed load table."""
    rows = [line for line in out.splitlines() if re.match(r"\s*\d{4}-\d{2}-\d{2}\s", line)]
    # week of, runs, running (its number and unit, e.g. "29 s" or "9 min 05 s"), distance ...
    return [re.match(r"\s*\S+\s+\d+\s+(.+?)\s+(?:-|\d+\.\d km)\s", row).group(1) for row in rows]


def test_a_week_under_a_minute_of_running_reads_in_seconds(tmp_path, monkeypatch, capsys):
    """A 29-s week of running read "0 min" (red team p13 F8); now "29 s", as the report writes it."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    short = simulate_run(scenarios.steady_run(duration_s=30, seed=1)).write_device_file(
        tmp_path / "short.hsn", start_time_unix=MONDAY
    )
    assert main(["import", "-q", str(short), "--runner", "ana"]) == 0
    with Store(tmp_path / "home") as store:
        running_s = float(store.sessions()["running_time_s"].iloc[0])
    assert 0 < running_s < 59.5  # the case: less than a minute of running in the week
    capsys.readouterr()
    assert main(["trends", "--runner", "ana"]) == 0
    out = capsys.readouterr().out
    assert _running_cells(out) == [duration(running_s)]
    assert re.fullmatch(r"\d+ s", duration(running_s))
    assert "0 min" not in out


def test_longer_weeks_keep_minutes_and_seconds(tmp_path, monkeypatch, capsys):
    """Two runs in one week: the week's running time is their sum, in minutes and seconds."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    paths = [
        simulate_run(scenarios.steady_run(duration_s=75, seed=seed)).write_device_file(
            tmp_path / f"r{seed}.hsn", start_time_unix=MONDAY + seed * 2 * 86400
        )
        for seed in (1, 2)
    ]
    assert main(["import", "-q", *map(str, paths), "--runner", "ana"]) == 0
    with Store(tmp_path / "home") as store:
        total = float(store.sessions()["running_time_s"].sum())
    capsys.readouterr()
    assert main(["trends", "--runner", "ana"]) == 0
    cells = _running_cells(capsys.readouterr().out)
    assert cells == [duration(total)] and re.fullmatch(r"\d+ min \d\d s", cells[0])
