"""Flags on simulated multi-week histories imported into a real store, and the commands that show them.

Each history is planned (hipsense.sim.history), simulated at signal level as short device files, imported
with `hipsense import` into a temporary store and judged by build_trends.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

import pytest
from rich.console import Console

from hipsense.cli import common as cli_common
from hipsense.cli import main
from hipsense.sim import Fatigue, scenarios, simulate_run
from hipsense.sim.history import Changes, RunnerProfile, plan_history, write_history
from hipsense.store import HOME_ENV, Store
from hipsense.trends.build import build_trends, trends_from_records
from hipsense.trends.flags import OveruseFlagger
from hipsense.trends.model import SEVERITIES, Trends
from hipsense.trends.terminal import print_flags

#: Short runs keep the signal-level simulation quick; relative loads are what the flags judge.
PROFILE = RunnerProfile(minutes=(1.5, 2.0, 2.5))
WEEKS = 11


def _store_with(tmp_path_factory, name: str, changes: Changes, seed: int):
    folder = tmp_path_factory.mktemp(name)
    plan = plan_history(PROFILE, WEEKS, changes=changes, seed=seed)
    paths = write_history(plan, folder / "files")
    home = folder / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(HOME_ENV, str(home))
        assert main(["import", *map(str, paths), "--runner", "ana"]) == 0
    week_of = {p.start.date(): p.week for p in plan}
    return home, plan, week_of


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    """A load spike in week 6 and a 3-degree rise of the left-stance drop over weeks 8-10."""
    return _store_with(tmp_path_factory, "changed", Changes(load_spike_week=6, drop_rise_week=8), seed=1)


@pytest.fixture(scope="module")
def steady(tmp_path_factory):
    return _store_with(tmp_path_factory, "steady", Changes(), seed=2)


def test_spike_and_drop_rise_are_flagged_in_their_weeks(changed):
    home, plan, week_of = changed
    with Store(home) as store:
        trends = build_trends(store, "ana")
    weeks = {(f.kind, week_of[f.period_end]) for f in trends.flags}
    spikes = [f for f in trends.flags if f.kind == "load_spike"]
    assert [week_of[f.period_end] for f in spikes] == [6]
    assert spikes[0].period_start == dt.date(2025, 2, 10) and spikes[0].numbers["increase_pct"] > 20
    drops = [f for f in trends.flags if f.kind == "drop_rising"]
    assert drops and all(8 <= week_of[f.period_end] <= 10 for f in drops)
    assert drops[0].metric == "pelvic_drop_deg" and "left-foot stance" in drops[0].sentence
    assert drops[0].numbers["change_deg"] > 1.0 and drops[0].numbers["slope_deg_per_week"] > 0
    # Nothing else before the drop starts rising; whatever comes later is about the drop.
    assert all(kind == "load_spike" for kind, week in weeks if week < 8)
    assert {kind for kind, _ in weeks} <= {"load_spike", "drop_rising", "asymmetry_drift"}
    assert all(f.metric == "pelvic_drop_deg" for f in trends.flags if f.kind == "asymmetry_drift")
    for f in trends.flags:
        assert f.severity in SEVERITIES and f.reference and f.advice and f.numbers
        assert "diagnos" not in (f.sentence + f.advice).lower()


def test_until_sees_only_the_past(changed):
    home, plan, week_of = changed
    end_of_week_7 = max(p.start.date() for p in plan if p.week == 7)
    with Store(home) as store:
        trends = build_trends(store, "ana", until=end_of_week_7)
    assert [f.kind for f in trends.flags] == ["load_spike"]
    assert trends.sessions["start"].max().date() == end_of_week_7
    assert trends.daily.index.max().date() == end_of_week_7


def test_trends_tables_follow_the_contract(changed):
    home, plan, _ = changed
    with Store(home) as store:
        trends = build_trends(store, "ana")
    assert isinstance(trends, Trends) and trends.runner == "ana"
    assert len(trends.sessions) == len(plan)
    for col in ("session_id", "start", "running_s", "steps", "load", "distance_km"):
        assert col in trends.sessions
    for col in (
        "pelvic_drop_deg_ai",
        "pelvic_drop_deg_ai_lo",
        "pelvic_drop_deg_mean",
        "pelvic_drop_deg_ai_base",
    ):
        assert col in trends.sessions
    assert trends.sessions["contact_time_s_ai_base"].iloc[:6].isna().all()  # too few sessions before
    assert trends.sessions["contact_time_s_ai_base"].iloc[6:].notna().all()
    assert {"load", "acute_ewma", "chronic_ewma", "acwr_ewma"} <= set(trends.daily.columns)
    assert trends.daily["load"].sum() == pytest.approx(trends.sessions["load"].sum())
    # The rough distance against the simulated one (planned time x speed): within 25 % at this speed (the estimate is -13 to +32 % over 2.5-5.5 m/s).
    true_km = [p.duration_s * p.speed_mps / 1000 for p in plan]
    assert (trends.sessions["distance_km"] / true_km).between(0.75, 1.25).all()


def test_the_triggering_session_carries_its_flags(changed):
    home, _, _ = changed
    with Store(home) as store:
        trends = build_trends(store, "ana")
        for f in trends.flags:
            stored = store.summary(f.session_id)["flags"]
            assert f.to_dict() in stored
        flagged = {f.session_id for f in trends.flags}
        quiet = [s for s in trends.sessions["session_id"] if s not in flagged]
        assert quiet and all(store.summary(int(s))["flags"] == [] for s in quiet)


def test_steady_history_raises_no_flags(steady):
    home, _, _ = steady
    with Store(home) as store:
        trends = build_trends(store, "ana")
        assert trends.flags == []
        assert all(s["flags"] == [] for _, _, s in store.summaries("ana"))


def test_trends_and_flags_commands(changed, monkeypatch, capsys):
    home, _, _ = changed
    monkeypatch.setenv(HOME_ENV, str(home))
    monkeypatch.setattr(cli_common.console, "width", 200)  # long labels on one line, whatever the terminal
    assert main(["trends", "--runner", "ana", "--weeks", "4"]) == 0
    out = capsys.readouterr().out
    for word in ("Training load of ana", "ACWR", "pelvic drop, L stance (deg)", "usual (band)"):
        assert word in out
    assert main(["flags"]) == 0
    out = capsys.readouterr().out
    assert out.index("drop_rising") < out.index("load_spike")  # newest first
    assert "Nielsen" in out and "numbers:" in out and "not a diagnosis" in out
    assert main(["flags", "--since", "2025-03-01"]) == 0
    assert "load_spike" not in capsys.readouterr().out
    assert main(["flags", "--since", "March"]) == 2
    assert capsys.readouterr().err.startswith("error: --since")
    assert main(["trends", "--runner", "nobody"]) == 2
    assert "no runner 'nobody'" in capsys.readouterr().err


def _sides_lost(summary: dict) -> dict:
    """The summary as an accelerometer-only recording of the same run would have it: no side known."""
    out = {**summary, "quality": {**summary["quality"], "side_source": "unknown"}}
    out["sides"] = [{**x, "n_left": 0, "n_right": 0} for x in summary["sides"]]
    return out


def test_sessions_with_unknown_sides_are_skipped_with_the_reason(changed, monkeypatch, capsys):
    """The drop rise of weeks 8-10 is flagged with sides known; with the sides of those weeks unknown,
    no left/right flag is raised, the skipped sessions are listed with why, and the load flags stay."""
    home, plan, week_of = changed
    with Store(home) as store:
        records = list(store.summaries("ana"))
    lost = [(i, t, _sides_lost(x) if week_of[t.date()] >= 8 else x) for i, t, x in records]
    flagger = OveruseFlagger()
    trends = trends_from_records("ana", lost, flagger=flagger)
    kinds = {f.kind for f in trends.flags}
    assert "drop_rising" not in kinds and "asymmetry_drift" not in kinds and "load_spike" in kinds
    skipped = {i for i, _ in flagger.skipped_}
    assert skipped == {i for i, t, _ in records if week_of[t.date()] >= 8}
    assert all("not known" in why for _, why in flagger.skipped_)
    unknown = trends.sessions[trends.sessions["session_id"].isin(skipped)]
    assert unknown["pelvic_drop_deg_L"].isna().all() and unknown["contact_time_s_ai"].isna().all()
    # The same history in the terminal: the skipped sessions are said, no left/right row uses them.
    print_flags(trends.flags, console=Console(width=200, file=sys.stdout), skipped=len(skipped))
    out = capsys.readouterr().out
    assert f"{len(skipped)} session(s) left out of every left/right figure and flag" in out
    assert "gyroscope" in out


def test_commands_on_an_empty_store(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "none"))
    for command in (["flags"], ["trends"]):
        assert main(command) == 0
        assert "No sessions stored yet" in capsys.readouterr().out


@pytest.mark.parametrize(("fatigue", "flagged"), [(Fatigue(drop_increase_deg=2.5), True), (Fatigue(), False)])
def test_analyze_summary_carries_within_run_flags(tmp_path, capsys, fatigue, flagged):
    path = tmp_path / "run.hsn"
    simulate_run(scenarios.steady_run(duration_s=90, seed=4, fatigue=fatigue)).write_device_file(path)
    assert main(["analyze", str(path), "--summary-out", str(tmp_path / "s.json")]) == 0
    flags = json.loads((tmp_path / "s.json").read_text())["flags"]
    assert ("within_run_fatigue" in capsys.readouterr().out) == flagged  # shown in the terminal too
    if flagged:
        assert [f["kind"] for f in flags] == ["within_run_fatigue"] and flags[0]["severity"] == "info"
        assert flags[0]["numbers"]["drop_change_deg"] > 1.0
        assert flags[0]["period_end"] == "2025-01-01"  # the clip's start time in the file
    else:
        assert flags == []


def test_a_runner_name_that_looks_like_markup_is_printed_as_text(tmp_path, monkeypatch, capsys):
    """`hipsense trends` crashed on a runner named like rich markup (e.g. "[/red]x")."""
    from hipsense.cli import main
    from hipsense.sim import scenarios, simulate_run
    from hipsense.store import HOME_ENV

    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    path = simulate_run(scenarios.steady_run(duration_s=30, seed=1)).write_device_file(
        tmp_path / "a.hsn", start_time_unix=1_780_000_000
    )
    assert main(["import", str(path), "--runner", "[/red]x"]) == 0
    capsys.readouterr()
    assert main(["trends", "--runner", "[/red]x"]) == 0
    assert "Training load of [/red]x" in capsys.readouterr().out
