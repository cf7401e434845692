"""A left/right verdict that was not made is empty (null), never False (red-team p13 F1).

``<metric>_larger_than_noise`` False reads as "symmetrical within noise": a researcher who filters on it
would count a run without a gyroscope, a walk, or a run with too few steps a side as symmetric. Each case
goes the real route: a simulated recording through the CLI (``analyze --json``) or ``import`` + ``export``
into a temporary store.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from hipsense import metrics as registry
from hipsense.cli import main
from hipsense.report.html import render_session
from hipsense.report.sources import from_file
from hipsense.sim import simulate_run
from hipsense.sim.config import RunConfig, Segment
from hipsense.sim.scenarios import steady_run

SIDED = [m.name for m in registry.sided()]


def _accel_only(folder: Path) -> Path:
    """A 40-s simulated run recorded without a gyroscope: its sides cannot be known."""
    cfg = steady_run(40.0, seed=5)
    cfg = dataclasses.replace(cfg, sensor=dataclasses.replace(cfg.sensor, accel_only=True))
    path = folder / "accel-only.hsn"
    simulate_run(cfg).write_device_file(path)
    return path


def _walk(folder: Path) -> Path:
    """A 40-s simulated walk: no running steps, so no running left/right to compare."""
    cfg = RunConfig(segments=(Segment("stand", 3.0), Segment("walk", 37.0)), seed=2)
    path = folder / "walk.hsn"
    simulate_run(cfg).write_device_file(path)
    return path


def _analyze_json(path: Path, capsys) -> dict:
    capsys.readouterr()
    assert main(["analyze", "-q", str(path), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("make", [_accel_only, _walk], ids=["no-gyroscope", "walk"])
def test_analyze_json_leaves_the_verdict_null_when_nothing_was_compared(make, tmp_path, capsys):
    out = _analyze_json(make(tmp_path), capsys)
    verdicts = {m: out[f"{m}_larger_than_noise"] for m in SIDED}
    assert all(v is None for v in verdicts.values()), verdicts
    assert all(
        not out[f"{m}_n_left"] or not out[f"{m}_n_right"] for m in SIDED if out.get(f"{m}_n_left") is not None
    )


def test_summary_says_why_a_metric_was_not_compared(tmp_path):
    from hipsense.analysis import analyse_file

    summary = analyse_file(_accel_only(tmp_path)).summary
    for s in summary.sides:
        assert s.larger_than_noise is None, s
        assert s.note, f"{s.metric}: no reason kept"


def test_export_leaves_the_verdict_empty_for_a_session_without_sides(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HIPSENSE_HOME", str(tmp_path / "home"))
    assert main(["import", "-q", str(_accel_only(tmp_path))]) == 0
    assert main(["export", "-q", "--what", "sessions", "--format", "csv", "--out", str(tmp_path / "ex")]) == 0
    sessions = pd.read_csv(tmp_path / "ex" / "sessions.csv")
    for m in SIDED:
        assert sessions[f"{m}_larger_than_noise"].isna().all(), m


def test_a_stored_verdict_of_too_few_steps_is_read_as_not_judged():
    """A summary stored by the old rule (False with 2 steps a side) is shown without a verdict."""
    from hipsense.report.wording import without_sides

    side = {"metric": "contact_time_s", "larger_than_noise": False, "n_left": 2, "n_right": 9}
    summary = {"steps": 11, "quality": {"side_source": "gyroscope"}, "sides": [side]}
    (shown,) = without_sides(summary)["sides"]
    assert shown["larger_than_noise"] is None and "too few steps" in shown["note"]


def test_report_does_not_call_sides_even_when_no_metric_was_judged(tmp_path):
    """The report's lead says "even" only when some metric was judged within noise."""
    session = from_file(_accel_only(tmp_path))
    summary = dict(session.summary)
    # Sides known (a gyroscope run) but every metric short of steps, stored by the old rule (False):
    # the report must not say "even".
    summary["quality"] = {**summary["quality"], "side_source": "gyroscope"}
    summary["steps"] = 4  # every step sided: the sides count as known
    summary["sides"] = [
        {"metric": m, "larger_than_noise": False, "n_left": 2, "n_right": 2, "asymmetry_pct": None}
        for m in SIDED
    ]
    html = render_session(dataclasses.replace(session, summary=summary))
    assert "were even" not in html
    assert "too few steps to compare" in html
