"""Time in no figure is said, never left out silently (red-team p13 F26).

A jog at 1.2 m/s has so little flight that much of it is judged neither running nor walking (bouts
``unknown``): no steps are looked for there. The summary carries that time (``unclassified_time_s``),
the terminal and HTML reports say it in a sentence, and the export's sessions table has the column.
A steady run at an ordinary pace has none, and nothing is said. Each case goes the real route: a
simulated recording through the CLI, the HTML report, or ``import`` + ``export`` into a temporary store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hipsense.analysis import analyse_file
from hipsense.cli import common as cli_common
from hipsense.cli import main
from hipsense.export import read_table
from hipsense.report.html import render_session
from hipsense.report.sources import from_file
from hipsense.report.wording import unclassified_sentence
from hipsense.sim import simulate_run
from hipsense.sim.scenarios import demo_config
from hipsense.store_open import HOME_ENV

SENTENCE = "of movement was neither clearly running nor walking"


def _session(folder: Path, speed: float) -> Path:
    """60 s of the demo's settings (a stand, a run, a walk) at ``speed`` m/s."""
    path = folder / f"run-{speed}.hsn"
    simulate_run(demo_config(duration_s=60.0, speed_mps=speed, seed=1)).write_device_file(path)
    return path


@pytest.fixture(scope="module")
def jog(tmp_path_factory) -> Path:
    return _session(tmp_path_factory.mktemp("jog"), 1.2)


@pytest.fixture(scope="module")
def steady(tmp_path_factory) -> Path:
    return _session(tmp_path_factory.mktemp("steady"), 3.3)


def test_summary_carries_the_unknown_bouts_time(jog, steady):
    slow = analyse_file(jog)
    unknown = slow.bouts.loc[slow.bouts["activity"] == "unknown", "duration_s"].sum()
    assert unknown > 20  # most of the 45-s jog: the case this is about
    assert slow.summary.unclassified_time_s == pytest.approx(unknown)
    parts = slow.summary.running_time_s + slow.summary.walking_time_s + slow.summary.unclassified_time_s
    assert parts <= slow.summary.duration_s + 1e-6
    assert analyse_file(steady).summary.unclassified_time_s == 0.0


def test_terminal_says_the_unclassified_time(jog, steady, monkeypatch, capsys):
    monkeypatch.setattr(cli_common.console, "width", 200)
    capsys.readouterr()
    assert main(["analyze", "-q", str(jog)]) == 0
    out = capsys.readouterr().out
    assert "unclassified" in out and SENTENCE in out
    assert main(["analyze", "-q", str(steady)]) == 0
    out = capsys.readouterr().out
    assert "unclassified" not in out and SENTENCE not in out


def test_json_and_html_carry_it(jog, steady, capsys):
    capsys.readouterr()
    assert main(["analyze", "-q", str(jog), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unclassified_time_s"] > 20
    assert SENTENCE in render_session(from_file(jog))
    assert SENTENCE not in render_session(from_file(steady))


def test_export_has_the_column(jog, tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert main(["import", "-q", str(jog)]) == 0
    assert main(["export", "-q", "--out", str(tmp_path / "out")]) == 0
    sessions = read_table(tmp_path / "out", "sessions")
    assert sessions["unclassified_time_s"].iloc[0] > 20


@pytest.mark.parametrize("seconds", [None, 0.0, 0.4, float("nan")])
def test_nothing_said_without_a_second_of_it(seconds):
    # None: a summary stored before the field existed; its time is not known, so nothing is claimed.
    assert unclassified_sentence(seconds) == ""
