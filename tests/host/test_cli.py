"""The command line as a user meets it: help, version, demo, analyze and its errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from hipsense import __version__
from hipsense.cli import build_parser, main
from hipsense.sim import scenarios, simulate_run


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hipsense.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_version():
    proc = _run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"hipsense {__version__}"


def test_every_command_has_readable_help(capsys):
    # In this process (test_version runs the real entry point): one interpreter start per command cost
    # most of the suite's time.
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"demo", "analyze", "info", "simulate"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        assert exit_.value.code == 0, name
        out = capsys.readouterr().out
        assert f"usage: hipsense {name}" in out
        assert len(out.split()) > 20, f"{name} --help says too little"


def test_demo_writes_its_outputs_and_shows_the_injected_asymmetry(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for name in ("demo-run.hsn", "truth.csv", "steps.csv", "summary.json"):
        assert (out / name).stat().st_size > 0, name
    assert "identical to what was recorded" in printed
    summary = json.loads((out / "summary.json").read_text())
    by_metric = {s["metric"]: s for s in summary["sides"]}
    # Injected: right contact time +6 %, right impact +10 %, drop 8 deg (L stance) vs 5 deg (R stance).
    assert -8 < by_metric["contact_time_s"]["asymmetry_pct"] < -3
    assert -13 < by_metric["impact_g"]["asymmetry_pct"] < -6
    assert by_metric["pelvic_drop_deg"]["left"] - by_metric["pelvic_drop_deg"]["right"] > 2
    assert by_metric["impact_g"]["larger_than_noise"]
    assert not by_metric["step_time_s"]["larger_than_noise"]
    assert summary["drift"]["pelvic_drop_deg"]["change"] > 0.5
    steps = pd.read_csv(out / "steps.csv")
    assert (steps["activity"] == "run").sum() == summary["steps"] > 1000  # the headline counts running steps


@pytest.fixture(scope="module")
def sim_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("sim") / "run.csv"
    simulate_run(scenarios.steady_run(duration_s=40, seed=2)).write_csv(path)
    return path


def test_analyze_csv_writes_steps_and_summary(sim_csv, tmp_path):
    steps, summary = tmp_path / "steps.csv", tmp_path / "summary.json"
    proc = _run("analyze", str(sim_csv), "--steps-out", str(steps), "--summary-out", str(summary))
    assert proc.returncode == 0, proc.stderr
    assert "Left versus right" in proc.stdout
    table = pd.read_csv(steps)
    assert {"bout", "side", "ic_s", "contact_time_s", "impact_g", "pelvic_drop_deg", "quality"} <= set(table)
    assert set(table["side"]) == {"L", "R"}
    assert json.loads(summary.read_text())["steps"] == len(table)


def _bad(tmp_path, name: str, frame: pd.DataFrame | str):
    path = tmp_path / name
    if isinstance(frame, str):
        path.write_text(frame)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing-columns", "no acceleration columns"),
        ("non-numeric", "not a number"),
        ("time-backwards", "time goes backwards"),
        ("too-short", "too short to analyse"),
        ("not-running", "no running or walking found (activities: stand)"),
        ("empty", "the file is empty"),
        ("bad-mapping", "--columns"),
    ],
)
def test_bad_csv_gives_one_error_line_and_nonzero_exit(tmp_path, sim_csv, case, expected):
    good = pd.read_csv(sim_csv)
    extra: list[str] = []
    if case == "missing-columns":
        path = _bad(tmp_path, "a.csv", good.drop(columns=["acc_y"]))
    elif case == "non-numeric":
        path = _bad(
            tmp_path,
            "b.csv",
            good.astype({"acc_x": object}).assign(acc_x=lambda d: d["acc_x"].where(d.index != 3, "x")),
        )
    elif case == "time-backwards":
        path = _bad(tmp_path, "c.csv", good.assign(t_s=good["t_s"].where(good.index != 50, 0.0)))
    elif case == "too-short":
        path = _bad(tmp_path, "d.csv", good.iloc[:200])
    elif case == "not-running":
        rng = np.random.default_rng(0)
        n = 3000
        still = pd.DataFrame(
            {"t_s": np.arange(n) / 100, "acc_x": 9.81 + rng.normal(0, 0.02, n), "acc_y": 0.0, "acc_z": 0.0}
        )
        path = _bad(tmp_path, "e.csv", still)
    elif case == "empty":
        path = _bad(tmp_path, "f.csv", "")
    else:
        path, extra = sim_csv, ["--columns", "acc_is"]
    proc = _run("analyze", str(path), *extra)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0]
    if case != "bad-mapping":
        assert str(path) in lines[0]


@pytest.mark.parametrize("command", ["analyze", "info"])
def test_missing_input_is_one_line(tmp_path, command):
    for path in (tmp_path / "nope.hsn", tmp_path):
        proc = _run(command, str(path))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert str(path) in proc.stderr


def test_info_on_a_corrupt_device_file_is_one_line(tmp_path):
    # brackets in a name would be read as rich markup, and a long path hard-wrapped, unless escaped
    bad = tmp_path / ("[bold]long-folder-name-" * 4) / "bad[red].hsn"
    bad.parent.mkdir()
    bad.write_bytes(b"not a session file at all")
    proc = _run("info", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert str(bad) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_damaged_session_file_warns_in_one_line_per_problem(tmp_path):
    """A torn tail and a missing end block: each said once, as `warning: ...`, not as Python's warning
    with a source file and line."""
    path = tmp_path / "cut.hsn"
    simulate_run(scenarios.steady_run(duration_s=20, seed=5)).write_device_file(path)
    path.write_bytes(path.read_bytes()[:-1500])  # cut off while a block was written, before the end block
    analyzed = _run("analyze", str(path))
    assert analyzed.returncode == 0, analyzed.stderr
    info = _run("info", str(path))
    assert info.returncode == 0, info.stderr
    for proc in (analyzed, info):
        assert "Warning:" not in proc.stderr and ".py:" not in proc.stderr, proc.stderr
        said = proc.stdout + proc.stderr
        assert said.count("torn tail, ") == 1 and said.count("did not close normally") == 1, said
    assert [ln.split(":")[0] for ln in analyzed.stderr.splitlines()] == ["warning", "warning"]


def test_csv_options_given_for_a_session_file_are_said_to_be_ignored(tmp_path):
    path = tmp_path / "run.hsn"
    simulate_run(scenarios.steady_run(duration_s=20, seed=5)).write_device_file(path)
    proc = _run("analyze", str(path), "--acc-unit", "g", "--sample-rate", "100")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ") and str(path) in lines[0], proc.stderr
    assert "--acc-unit, --sample-rate" in lines[0] and "do not apply" in lines[0]


@pytest.mark.parametrize("content", [b"hello\n", b"t_s,acc_x\n0,1\n", b""], ids=["text", "csv", "empty"])
def test_a_hsn_file_is_judged_as_a_session_file(tmp_path, content):
    """A .hsn that is not a session file is reported as such, not as a CSV without acceleration columns."""
    path = tmp_path / "run.hsn"
    path.write_bytes(content)
    for command in ("analyze", "import"):
        proc = _run(command, str(path))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert str(path) in proc.stderr and "acceleration columns" not in proc.stderr
        assert ("not a hipsense session file" if content else "empty file") in proc.stderr


@pytest.mark.shared_data
def test_analyze_real_treadmill_csv_with_mapping(shared_data):
    trial = shared_data / "running-sacral-accel" / "trial03_3.33mps.csv"
    proc = _run("analyze", str(trial), "--acc-unit", "g", "--columns", "acc_is=acc_v_g,acc_pa=acc_ap_g")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.replace("\n", " ")
    assert "sides not known" in text  # no gyroscope: which foot is unknown
    assert "Left and right are not compared" in text and "Alternate steps" in text
    assert "within noise" not in text and "differs" not in text and "Left versus right" not in text


def test_device_deploy_without_mpremote_is_one_line(tmp_path):
    import os

    env = {**os.environ, "PATH": str(tmp_path)}  # nothing on PATH: no mpremote
    proc = subprocess.run(
        [sys.executable, "-m", "hipsense.cli", "device", "deploy"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "mpremote" in lines[0]


# -- outputs checked before work, strict JSON (issue 18) ---------------------------------------------


def test_output_paths_are_checked_with_the_reason(tmp_path):
    from hipsense.errors import HipsenseError
    from hipsense.outputs import check_output_file, check_output_folder

    a_file = tmp_path / "a.txt"
    a_file.write_text("x")
    assert check_output_file(tmp_path / "new.csv", "--steps-out") == tmp_path / "new.csv"
    assert not (tmp_path / "new.csv").exists()  # the check leaves nothing behind
    assert check_output_file(a_file, "--steps-out") == a_file and a_file.read_text() == "x"
    cases = [
        (lambda: check_output_file(tmp_path, "--summary-out"), "is a folder, not a file"),
        (lambda: check_output_file(tmp_path / "no" / "x.csv", "--steps-out"), "does not exist"),
        (lambda: check_output_file(a_file / "x.csv", "--steps-out"), "is a file, not a folder"),
        (lambda: check_output_file("/proc/hipsense-x.csv", "--steps-out"), "cannot write here"),
        (lambda: check_output_folder(a_file, "--out"), "is a file, not a folder"),
        (lambda: check_output_folder(a_file / "sub", "--out"), "is a file, not a folder"),
        (lambda: check_output_folder("/proc/hipsense-out", "--out"), "cannot write in /proc"),
    ]
    for check, reason in cases:
        with pytest.raises(HipsenseError, match=reason) as e:
            check()
        assert "\n" not in str(e.value) and str(e.value).startswith(("--", "/"))
    assert check_output_folder(tmp_path / "new" / "deep", "--out") == tmp_path / "new" / "deep"
    assert not (tmp_path / "new").exists()


def test_a_bad_output_fails_before_the_analysis(sim_csv, tmp_path, capsys, monkeypatch):
    import hipsense.analysis

    def never(*args, **kwargs):
        raise AssertionError("the analysis ran before the outputs were checked")

    monkeypatch.setattr(hipsense.analysis, "analyse_file", never)
    assert main(["analyze", str(sim_csv), "--steps-out", str(tmp_path / "no" / "s.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --steps-out") and "does not exist" in err and "\n" not in err
    assert main(["report", str(sim_csv), "--out", str(tmp_path)]) == 2
    assert "is a folder, not a file" in capsys.readouterr().err


def test_json_is_strict_and_quiet_hides_progress(tmp_path, capsys, monkeypatch):
    import math

    from hipsense.cli import common
    from hipsense.report.machine import dumps
    from hipsense.store import HOME_ENV

    monkeypatch.setenv(HOME_ENV, str(tmp_path / "empty"))
    monkeypatch.setattr(common, "QUIET", False)  # restored after the test: main sets it

    text = dumps(
        {"a": math.nan, "b": [np.float64(np.inf), np.int64(3)], "c": pd.Timestamp("2026-01-01", tz="UTC")}
    )
    assert json.loads(text) == {"a": None, "b": [None, 3], "c": "2026-01-01T00:00:00+00:00"}
    assert main(["sessions", "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out) == [] and common.QUIET
    with common.progress_bar("x", str) as progress:  # disabled: nothing reaches the terminal
        progress(1, 2, "y")
    assert "x" not in capsys.readouterr().err


def test_time_unit_choices_are_the_readers_units():
    # the CLI lists them without importing time_units (numpy): the two lists must not drift apart
    from hipsense.time_units import NO_CLOCK, UNITS

    analyze = build_parser()._subparsers._group_actions[0].choices["analyze"]  # type: ignore[union-attr]
    (action,) = [a for a in analyze._actions if a.dest == "time_unit"]
    assert action.choices == ["auto", *UNITS, NO_CLOCK]


@pytest.mark.parametrize(
    "lost, expected",
    [
        # rows dropped here and there (a logger's hiccups): short holes, filled, no gap
        ([(0.3, 2), (0.5, 3), (0.7, 1)], "6 samples missing (short holes, filled)"),
        # one 2 s gap and a short hole
        ([(0.3, 416), (0.6, 2)], "418 samples missing (416 in 1 gap, 2 in short holes, filled)"),
        ([(0.3, 416)], "416 samples missing in 1 gap"),
    ],
)
def test_the_quality_line_says_where_missing_samples_went(tmp_path, capsys, lost, expected):
    # It printed "124 samples missing in 0 gaps" for a real Xsens export whose dropped rows were filled.
    run = simulate_run(scenarios.steady_run(duration_s=60, seed=3)).losing(*lost)
    path = run.write_csv(tmp_path / "run.csv")
    assert main(["analyze", str(path), "--quiet"]) == 0
    (line,) = [s for s in capsys.readouterr().out.splitlines() if s.startswith("data quality:")]
    assert expected in line, line
