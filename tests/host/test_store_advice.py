"""What the store's commands, trends and reports tell the user to do, followed literally.

Each piece of advice names a command in backticks (`hipsense analyze FILE --first-side L`); these tests
take that command, put the recording's path for FILE and run it: it must be a command hipsense has
(no "unrecognized arguments") and do what the advice says. Real store in a tmp folder, real CLI."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hipsense.cli import main
from hipsense.sim import scenarios, simulate_run
from hipsense.sim.config import RunConfig, Segment
from hipsense.store import HOME_ENV


def _flat(text: str) -> str:
    return " ".join(text.split())


def _advice(text: str) -> list[list[str]]:
    """Every `hipsense ...` command named in backticks, split as a shell would."""
    return [shlex.split(c) for c in re.findall(r"`(hipsense [^`]+)`", _flat(text))]


def _follow(advice: list[str], path: Path, capsys) -> tuple[int, str]:
    """Run one piece of advice with FILE replaced by ``path``; its exit code and everything it printed."""
    args = [str(path) if a == "FILE" else a for a in advice[1:]]
    try:
        code = main(args)
    except SystemExit as e:  # argparse: an option the command does not have
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("advice")
    simulate_run(scenarios.steady_run(duration_s=40, seed=7)).write_csv(d / "run.csv")
    table = pd.read_csv(d / "run.csv")
    table.drop(columns=[c for c in table if c.startswith("gyr")]).to_csv(d / "acc-only.csv", index=False)
    rng = np.random.default_rng(1)
    n = 3000  # 30 s of standing still: no walking or running to find the mounting from
    pd.DataFrame(
        {
            "t_s": np.arange(n) / 100,
            "acc_x": rng.normal(0, 0.05, n),
            "acc_y": rng.normal(0, 0.05, n),
            "acc_z": 9.81 + rng.normal(0, 0.05, n),
        }
    ).to_csv(d / "stand.csv", index=False)
    # 2 s of standing, then 2.5 s of running: too little gait to find the mounting from
    short = RunConfig(segments=(Segment("stand", 2.0), Segment("run", 2.5)), seed=3)
    simulate_run(short).write_csv(d / "short.csv")
    return d


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    return tmp_path / "home"


def test_first_side_advice_of_trends_and_flags_works_as_written(files, home, capsys):
    acc_only = files / "acc-only.csv"
    assert main(["import", str(acc_only), "--start-time", "2026-11-02T07:00"]) == 0
    capsys.readouterr()
    seen = []
    for command in (["trends"], ["flags"], ["analyze", str(acc_only)]):
        assert main(command) == 0
        out = capsys.readouterr().out
        assert "Which foot is which" in _flat(out), command
        seen += _advice(out)
    first_side = [a for a in seen if "--first-side" in a]
    assert first_side, f"no command named with --first-side in {seen}"
    for advice in first_side:
        code, out = _follow(advice, acc_only, capsys)
        assert "unrecognized arguments" not in out
        assert code == 0, out
        assert "Left and right are not compared" not in _flat(out)  # the sides are known now


def test_report_of_a_file_takes_first_side_and_mounting(files, home, tmp_path, capsys):
    out = tmp_path / "r.html"
    args = ["report", str(files / "acc-only.csv"), "--first-side", "L", "--out", str(out)]
    assert main(args) == 0
    assert "Left and right are not compared" not in _flat(out.read_text())
    assert main(["report", str(files / "run.csv"), "--mounting", "back", "--out", str(out)]) == 0
    capsys.readouterr()
    # a stored session is reported as stored: the options are refused in one line that says why
    main(["import", str(files / "run.csv")])
    capsys.readouterr()
    assert main(["report", "1", "--first-side", "L"]) == 2
    assert "--first-side applies to a recording's file" in capsys.readouterr().err


def test_a_recording_without_running_or_walking_is_not_sent_to_give_its_mounting(files, home, capsys):
    # a mounting would not help: before, "no walking or running found to tell forward from sideways:
    # give the mounting explicitly", and following that said "no running or walking found" (red-team F22)
    for command in (["import", str(files / "stand.csv")], ["analyze", str(files / "stand.csv")]):
        main(command)
        out = _flat(" ".join(capsys.readouterr()))
        assert "no running or walking found (activities: stand)" in out
        assert "mounting" not in out


def test_mounting_advice_of_a_stored_session_names_a_command_that_takes_it(files, home, capsys):
    stand = files / "short.csv"
    assert main(["import", str(stand)]) == 0
    printed = [capsys.readouterr().out]
    assert main(["sessions"]) == 0
    printed.append(capsys.readouterr().out)
    assert main(["reanalyze", "--all"]) == 0
    printed.append(capsys.readouterr().out)
    assert main(["report", "1"]) == 2
    printed.append(capsys.readouterr().err)
    assert main(["sessions", "--json"]) == 0  # a script reads the same advice as a runner
    printed.append(json.loads(capsys.readouterr().out)[0]["error"])
    for text in printed:
        assert "give the mounting explicitly" not in _flat(text)
        advice = [a for a in _advice(text) if "--mounting" in a]
        assert advice, text
        code, out = _follow(advice[0], stand, capsys)
        assert "unrecognized arguments" not in out
        # the mounting is taken as given: the file's 2.5 s of running are analysed
        assert "tell forward from sideways" not in out and code == 0, out


MTW = ["--columns", "xsens,t_s=PacketCounter", "--gyr-unit", "rad/s"]


def _page_text(path: Path) -> str:
    page = re.sub(r"<style>.*?</style>|<svg.*?</svg>", " ", path.read_text(), flags=re.S)
    return _flat(re.sub(r"<[^>]+>", " ", page))


def test_a_walk_is_left_out_for_having_no_running_not_for_its_sides(
    files, home, tmp_path, capsys, shared_data
):
    walk_file = shared_data / "walking-l5-ipol" / "1-1_lb.txt"  # an Xsens MTw walk, with its gyroscope
    assert main(["import", str(walk_file), *MTW, "--start-time", "2026-11-01T08:00"]) == 0
    assert main(["import", str(files / "run.csv"), "--start-time", "2026-11-03T07:00"]) == 0
    capsys.readouterr()
    assert main(["analyze", str(walk_file), *MTW]) == 0
    assert "sides from gyroscope" in capsys.readouterr().out
    for command in (["trends"], ["flags"]):
        assert main(command) == 0
        out = _flat(capsys.readouterr().out)
        assert "1 session(s) left out of every left/right figure and flag: they have no running steps" in out
        assert "not known" not in out and "needs the gyroscope" not in out
    assert main(["trends"]) == 0
    table = capsys.readouterr().out
    weeks = {line.split()[0]: line.split()[1] for line in table.splitlines() if line.strip()[:3] == "202"}
    assert weeks == {"2026-10-26": "0", "2026-11-02": "1"}  # the walk's week has no run
    assert "1 walk(s) not counted" in _flat(table)
    assert main(["trends", "--json"]) == 0
    rows = {r["session_id"]: r for r in json.loads(capsys.readouterr().out)[0]["sessions"]}
    assert rows[1]["walking_only"] is True and rows[1]["sides_known"] is True
    assert "no running steps" in rows[1]["sides_note"] and "gyroscope" not in rows[1]["sides_note"]
    assert rows[2]["walking_only"] is False and rows[2]["sides_note"] == ""
    out = tmp_path / "weeks.html"
    assert main(["report", "--weeks", "2", "--out", str(out)]) == 0
    text = _page_text(out)
    assert "Last 2 weeks of running and walking" in text and "runs 1 in 2 weeks, and 1 walk" in text
    assert "Runs and walks in this period" in text and "(walk)" in text
    assert "not known" not in text


def test_trend_report_says_sessions_were_left_out_when_none_has_sides(files, home, tmp_path, capsys):
    for day, seed in ((2, 11), (4, 12), (6, 13)):
        csv = tmp_path / f"acc-{seed}.csv"
        path = tmp_path / f"run-{seed}.csv"
        simulate_run(scenarios.steady_run(duration_s=20, seed=seed)).write_csv(path)
        table = pd.read_csv(path)
        table.drop(columns=[c for c in table if c.startswith("gyr")]).to_csv(csv, index=False)
        assert main(["import", str(csv), "--start-time", f"2026-11-0{day}T07:00"]) == 0
    out = tmp_path / "weeks.html"
    assert main(["report", "--weeks", "8", "--out", str(out)]) == 0
    text = _page_text(out)
    assert (
        "3 session(s) left out of every left/right figure and flag: which foot is which is not known" in text
    )


def test_a_session_dated_after_today_is_warned_about(files, home, capsys):
    assert main(["import", str(files / "run.csv"), "--start-time", "2026-11-02T07:00"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["import", str(files / "acc-only.csv"), "--start-time", "2099-12-07T07:00"]) == 0
    err = _flat(capsys.readouterr().err)
    assert (
        "warning: session 2 (acc-only.csv) is dated 2099-12-07 07:00 UTC, after today: check --start-time "
        "or the file's clock; `hipsense forget 2` removes it" in err
    )
    assert main(["trends"]) == 0
    assert "session 2 is dated 2099-12-07 07:00 UTC, after today" in _flat(capsys.readouterr().out)


def test_trends_table_fits_80_columns_and_sessions_say_utc(files, home, capsys):
    import io

    from rich.console import Console

    from hipsense.trends.terminal import print_trends
    from tests.host.report_data import synthetic_trends

    buffer = io.StringIO()
    trends = synthetic_trends()
    trends.sessions["distance_km"] = 5.0  # the store's tables carry it; the synthetic ones do not
    trends.daily.loc[trends.daily.index[-7:], "load"] *= 4  # a week of +200 %: the widest changes
    print_trends(trends, console=Console(width=80, file=buffer))
    table = buffer.getvalue().split("Gait against")[0]
    assert "ACWR" in table and "…" not in table
    assert re.search(r"\d\.\d\d\s*$", table, re.M)  # a whole ratio ends a row
    assert main(["import", str(files / "run.csv"), "--start-time", "2026-11-02T07:00"]) == 0
    capsys.readouterr()
    assert main(["sessions"]) == 0
    assert "(UTC)" in capsys.readouterr().out
