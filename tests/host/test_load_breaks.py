"""Breaks in a store history, built through the real import (red-team cases): the first run after four
idle weeks has no acute:chronic ratio (its chronic load was its own week's: 3.6 whatever was run) and
raises no load flag from one; a session dated 1970 next to runs in 2026 is one line in the weekly table
and in the trend report, not 2,950 rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hipsense.cli import common as cli_common
from hipsense.cli import main
from hipsense.store import HOME_ENV, Store
from hipsense.trends.build import build_trends


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    """Three short simulated runs written as CSV (distinct bytes: the store keeps each once)."""
    folder = tmp_path_factory.mktemp("runs")
    paths = [folder / f"run{seed}.csv" for seed in (1, 2, 3)]
    for seed, path in enumerate(paths, start=1):
        assert main(["simulate", "-q", "--duration", "40", "--seed", str(seed), str(path)]) == 0
    return paths


def _store(tmp_path, monkeypatch, paths, starts) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(home))
    monkeypatch.setattr(cli_common.console, "width", 80)
    for path, start in zip(paths, starts, strict=True):
        assert main(["import", "-q", "--start-time", start, str(path)]) == 0
    return home


def test_the_first_run_after_four_idle_weeks_has_no_ratio_and_no_flag(runs, tmp_path, monkeypatch, capsys):
    home = _store(tmp_path, monkeypatch, runs[:2], ["2026-05-04T07:00:00Z", "2026-07-06T07:00:00Z"])
    with Store(home) as store:
        daily = build_trends(store, "default").daily
    back = daily.loc["2026-07-06"]
    assert back["load"] > 0
    assert back[["acwr_ewma", "acwr_coupled", "acwr_uncoupled"]].isna().all()  # was 3.62 and 4
    capsys.readouterr()
    assert main(["flags", "--json"]) == 0
    assert [f for f in json.loads(capsys.readouterr().out) if f["kind"] == "load_spike"] == []
    assert main(["trends", "--json"]) == 0
    (week,) = [w for w in json.loads(capsys.readouterr().out)[0]["weeks"] if w["week_of"] == "2026-07-06"]
    assert week["acwr_ewma"] is None and week["acwr_note"].startswith("no runs in the 3 weeks before")
    assert main(["trends"]) == 0
    out = capsys.readouterr().out
    (row,) = [line.split() for line in out.splitlines() if line.strip().startswith("2026-07-06")]
    assert row[-1] == "-"  # no ratio printed (3.13 before), and the reason said in one line:
    assert (
        "No acute:chronic ratio for the week of 2026-07-06: no runs in the 3 weeks before the last 7 days"
        in out
    )


def test_a_session_dated_1970_is_one_line_not_thousands_of_weeks(runs, tmp_path, monkeypatch, capsys):
    home = _store(
        tmp_path, monkeypatch, runs, ["1970-01-02T10:00:00Z", "2026-05-04T07:00:00Z", "2026-05-14T07:00:00Z"]
    )
    capsys.readouterr()
    assert main(["trends", "--weeks", "3000"]) == 0
    out = capsys.readouterr().out
    rows = [line.split()[0] for line in out.splitlines() if line[:4] in ("1969", "1970", "2026")]
    assert rows == ["1969-12-29", "2026-05-04", "2026-05-11"]  # was 2,950 rows, one per week
    assert " no runs recorded for 2,939 weeks, 1970-01-05 to 2026-05-03" in out.splitlines()
    assert all(len(line) <= 80 for line in out.splitlines() if line[:4] in ("1969", "2026", " no "))
    # The computed table stays whole for research and exports: every day from 1970 on.
    with Store(home) as store:
        daily = build_trends(store, "default").daily
    assert len(daily) == (daily.index[-1] - daily.index[0]).days + 1 > 20000
    # The trend report says the stretch once, and draws no bar for the empty weeks.
    report = tmp_path / "report.html"
    assert main(["report", "-q", "--weeks", "3000", "--out", str(report)]) == 0
    html = report.read_text(encoding="utf-8")
    assert "No runs recorded for 2,939 weeks, 1970-01-05 to 2026-05-03." in html
    assert len(html) < 1_500_000  # 1.8 MB with a bar for each of the 2,950 weeks


def test_idle_weeks_up_to_four_keep_their_rows(runs, tmp_path, monkeypatch, capsys):
    """A short break is shown week by week, with the ratio where its days have a base."""
    _store(tmp_path, monkeypatch, runs[:2], ["2026-05-04T07:00:00Z", "2026-06-08T07:00:00Z"])
    capsys.readouterr()
    assert main(["trends"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("2026-")]
    assert [r[0] for r in rows] == [
        "2026-05-04",
        "2026-05-11",
        "2026-05-18",
        "2026-05-25",
        "2026-06-01",
        "2026-06-08",
    ]
    assert "no runs recorded" not in out
