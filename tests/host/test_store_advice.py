"""What the store's commands, trends and reports tell the user to do, followed literally.

Each piece of advice names a command in backticks (`hipsense analyze FILE --first-side L`); these tests
take that command, put the recording's path for FILE and run it: it must be a command hipsense has
(no "unrecognized arguments") and do what the advice says. Real store in a tmp folder, real CLI."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hipsense.cli import main
from hipsense.sim import scenarios, simulate_run
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


def test_mounting_advice_of_a_stored_session_names_a_command_that_takes_it(files, home, capsys):
    stand = files / "stand.csv"
    assert main(["import", str(stand)]) == 0
    printed = [capsys.readouterr().out]
    assert main(["sessions"]) == 0
    printed.append(capsys.readouterr().out)
    assert main(["reanalyze", "--all"]) == 0
    printed.append(capsys.readouterr().out)
    assert main(["report", "1"]) == 2
    printed.append(capsys.readouterr().err)
    for text in printed:
        assert "give the mounting explicitly" not in _flat(text)
        advice = [a for a in _advice(text) if "--mounting" in a]
        assert advice, text
        code, out = _follow(advice[0], stand, capsys)
        assert "unrecognized arguments" not in out
        # the mounting is taken as given: what is left is that nothing in the file is walking or running
        assert "tell forward from sideways" not in out and "no running or walking found" in out
