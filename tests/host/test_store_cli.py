"""`hipsense import`, `hipsense sessions` and `hipsense reanalyze` as a user meets them."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hipsense.analysis
from hipsense.cli import main
from hipsense.sim import Segment, scenarios, simulate_run
from hipsense.store import HOME_ENV, Store


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    simulate_run(scenarios.steady_run(duration_s=20, seed=3)).write_device_file(d / "a.hsn")
    simulate_run(scenarios.steady_run(duration_s=20, seed=4)).write_csv(d / "b.csv")
    (d / "broken.hsn").write_bytes(b"HSNS" + b"\x00" * 40)
    return d


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    return tmp_path / "home"


def test_import_reports_and_exit_codes(runs, home, capsys):
    assert main(["import", str(runs / "a.hsn"), str(runs / "b.csv"), "--runner", "ana"]) == 0
    assert "2 added, 0 duplicates, 0 failed" in capsys.readouterr().out
    assert main(["import", str(runs / "a.hsn"), str(runs / "broken.hsn")]) == 1
    captured = capsys.readouterr()
    assert "0 added, 1 duplicates, 1 failed" in captured.out
    assert "broken.hsn" in captured.err
    assert main(["import", str(runs / "broken.hsn"), str(runs / "nothing.hsn")]) == 2
    assert "0 added, 0 duplicates, 2 failed" in capsys.readouterr().out
    with Store(home) as store:
        assert len(store.sessions()) == 2


def test_import_reads_csv_options(runs, home, tmp_path, capsys):
    import pandas as pd

    table = pd.read_csv(runs / "b.csv")
    rate = f"{1 / table['t_s'].diff().median():.6f}"
    table.drop(columns="t_s").to_csv(tmp_path / "no-time.csv", index=False)
    args = ["import", str(tmp_path / "no-time.csv"), "--sample-rate", rate, "--columns", "acc_x=acc_x"]
    assert main(args) == 0
    with Store(home) as store:
        assert store.sessions()["status"].tolist() == ["ok"]
    assert main(["import", str(runs / "b.csv"), "--columns", "nonsense"]) == 2
    assert "--columns" in capsys.readouterr().err


def test_sessions_lists_a_table(runs, home, capsys):
    assert main(["sessions"]) == 0
    assert "No sessions stored yet" in capsys.readouterr().out
    main(["import", str(runs / "a.hsn"), "--runner", "ana"])
    main(["import", str(runs / "b.csv"), "--runner", "ben"])
    capsys.readouterr()
    assert main(["sessions"]) == 0
    out = capsys.readouterr().out
    for word in ("runner", "cadence", "ana", "ben", "ok", "2025-01-01"):
        assert word in out
    assert main(["sessions", "--runner", "ben"]) == 0
    out = capsys.readouterr().out
    assert "ben" in out and "ana" not in out


def test_sessions_shows_a_walk_as_walking(tmp_path, home, capsys):
    """A walking-only session lists its walking time beside its running figures, not just "0 steps"
    (issue 15); every column fits an 80-column terminal."""
    walk = scenarios.steady_run(duration_s=15, seed=5, segments=(Segment("walk", None),))
    simulate_run(walk).write_device_file(tmp_path / "walk.hsn", start_time_unix=1_767_225_600)
    assert main(["import", str(tmp_path / "walk.hsn"), "--runner", "ana"]) == 0
    capsys.readouterr()
    assert main(["sessions"]) == 0
    out = capsys.readouterr().out
    assert "walk" in out and "status" in out and "…" not in out
    with Store(home) as store:
        sid = int(store.sessions()["id"].iloc[0])
        walked = round(store.summary(sid)["walking_time_s"])
    line = next(line for line in out.splitlines() if line.strip().startswith(str(sid)))
    row = line.split()
    assert walked > 10 and row[-6:] == ["0:15", "0:00", f"0:{walked:02d}", "0", "-", "ok"]
    assert row[2:4] == ["2026-01-01", "00:00"] and len(line) <= 80, out  # one line a session, not two


def test_reanalyze_after_a_version_bump(runs, home, capsys, monkeypatch):
    main(["import", str(runs / "a.hsn"), str(runs / "b.csv")])
    capsys.readouterr()
    assert main(["reanalyze"]) == 0
    assert "0 sessions reanalysed" in capsys.readouterr().out
    monkeypatch.setattr(hipsense.analysis, "ALGORITHM_VERSION", "99.0.0")
    assert main(["reanalyze"]) == 0
    assert "2 sessions reanalysed with algorithm version 99.0.0" in capsys.readouterr().out
    assert main(["reanalyze", "--all"]) == 0
    assert "2 sessions reanalysed" in capsys.readouterr().out


def test_an_unusable_data_folder_is_one_clear_line(runs, tmp_path):
    (tmp_path / "file").write_text("x")
    for home in (tmp_path / "file", tmp_path / "file" / "below"):
        proc = subprocess.run(
            [sys.executable, "-m", "hipsense.cli", "import", str(runs / "a.hsn")],
            capture_output=True,
            text=True,
            env={**__import__("os").environ, HOME_ENV: str(home)},
            timeout=120,
        )
        assert proc.returncode == 2
        assert proc.stderr.startswith("error:") and str(tmp_path) in proc.stderr.replace("\n", "")
        assert "Traceback" not in proc.stderr


def test_new_commands_have_help(capsys):
    for name in ("import", "sessions", "reanalyze", "forget", "doctor"):
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        assert exit_.value.code == 0
        out = capsys.readouterr().out
        assert f"usage: hipsense {name}" in out and len(out.split()) > 40


def test_output_has_no_stray_blank_lines_when_not_a_terminal(runs, home, tmp_path):
    """Piped or in a log, the progress bars are not shown; before, each left an empty line behind."""
    import os

    env = {**os.environ, HOME_ENV: str(home)}

    def run(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "hipsense.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    for out in (
        run("import", str(runs / "a.hsn")),
        run("reanalyze", "--all"),
        run("report", "--out", str(tmp_path / "r.html")),
        run("export", "--out", str(tmp_path / "export"), "--what", "sessions"),
    ):
        assert out.strip() and "\n\n" not in "\n" + out, repr(out)


def test_commands_on_an_empty_data_folder_create_nothing(home, tmp_path, capsys):
    """$HIPSENSE_HOME made beforehand but empty: reading commands say there is nothing yet, and leave no
    database behind (before, reanalyze and export created one and then reported on it)."""
    home.mkdir()
    assert main(["reanalyze"]) == 0
    assert "No sessions stored yet" in capsys.readouterr().out
    assert main(["export", "--out", str(tmp_path / "export")]) == 2
    assert "no hipsense data folder here yet" in capsys.readouterr().err
    assert list(home.iterdir()) == [] and not (tmp_path / "export").exists()


def test_sessions_without_a_start_time_stay_out_of_the_trends(runs, home, tmp_path, capsys):
    import pandas as pd

    from hipsense.trends.build import build_trends

    day = 1_767_225_600  # 2026-01-01 00:00 UTC
    simulate_run(scenarios.steady_run(duration_s=20, seed=5)).write_device_file(
        tmp_path / "dated.hsn", start_time_unix=day
    )
    table = pd.read_csv(runs / "b.csv")
    table["t_s"] += day + 86_400  # UNIX time: the next day
    table.to_csv(tmp_path / "unix.csv", index=False)
    files = [tmp_path / "dated.hsn", tmp_path / "unix.csv", runs / "b.csv"]
    assert main(["import", *map(str, files), "--runner", "ana"]) == 0
    with Store(home) as store:
        s = store.sessions(runner="ana")
        assert (s["status"] == "ok").all()
        starts = dict(zip(s["original_name"], s["start_time"], strict=True))
        trends = build_trends(store, "ana")
    assert starts["unix.csv"] == pd.Timestamp(day + 86_400, unit="s", tz="UTC")
    assert pd.isna(starts["b.csv"])  # t_s from 0: no date
    assert trends.undated == 1 and len(trends.sessions) == 2
    assert [t.date().isoformat() for t in trends.sessions["start"]] == ["2026-01-01", "2026-01-02"]
    capsys.readouterr()
    assert main(["trends", "--runner", "ana"]) == 0
    assert "1 session(s) of ana have no start time" in capsys.readouterr().out
    assert main(["flags", "--runner", "ana"]) == 0
    assert "1 session(s) without a start time were not judged" in capsys.readouterr().out
    assert main(["report", "--weeks", "2", "--runner", "ana", "--out", str(tmp_path / "t.html")]) == 0
    assert "1 session(s) without a start time" in (tmp_path / "t.html").read_text()


def test_start_time_dates_a_csv_and_survives_reanalysis(runs, home, capsys):
    import pandas as pd

    args = ["import", str(runs / "b.csv"), "--start-time", "2026-03-01T07:30+01:00", "--runner", "ana"]
    assert main(args) == 0
    assert main(["reanalyze", "--all"]) == 0
    with Store(home) as store:
        start = store.sessions(runner="ana")["start_time"].iloc[0]
        assert start == pd.Timestamp("2026-03-01T06:30Z")
        assert [s[1] for s in store.summaries("ana")] == [start]
    capsys.readouterr()
    assert main(["import", str(runs / "a.hsn"), str(runs / "b.csv"), "--start-time", "2026-03-01"]) == 2
    assert "dates one recording" in capsys.readouterr().err


def test_forget_removes_a_session_in_one_line(runs, home, capsys):
    main(["import", str(runs / "a.hsn"), str(runs / "b.csv"), "--runner", "ana"])
    capsys.readouterr()
    assert main(["forget", "1"]) == 0
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1
    assert out.startswith("forgot session 1 (a.hsn, runner ana): its raw file is in ")
    assert str(home / "quarantine") in out
    assert main(["forget", "1"]) == 2
    assert "no session 1 " in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["forget", "one"])
    assert exit_.value.code == 2 and "not a session id" in capsys.readouterr().err
    assert main(["forget", "2", "--purge"]) == 0
    assert capsys.readouterr().out.strip().endswith("its raw file was deleted")
    with Store(home) as store:
        assert store.sessions().empty
    assert [p.suffix for p in (home / "quarantine").iterdir()] == [".hsn"]  # the CSV was purged
    assert main(["import", str(next((home / "quarantine").iterdir())), "--runner", "ana"]) == 0


def test_doctor_reports_then_repairs(runs, home, capsys):
    import os
    import time

    assert main(["doctor"]) == 0  # no data folder yet: says so
    main(["import", str(runs / "a.hsn")])
    capsys.readouterr()
    assert main(["doctor"]) == 0
    assert "checked 1 sessions and 1 raw files, database ok: nothing to repair" in capsys.readouterr().out
    killed = home / "raw" / ".import-abcd.hsn"
    killed.write_bytes(b"HSNS")
    os.utime(killed, (time.time() - 3600, time.time() - 3600))
    assert main(["doctor", "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "dry run" in out and "would delete it" in out and "1 found, 0 repaired, 1 left" in out
    assert killed.exists()
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "deleted" in out and "1 found, 1 repaired, 0 left" in out
    assert not killed.exists()


def test_several_csvs_each_get_their_own_start_time(runs, home, tmp_path, capsys):
    """`import a.csv b.csv --start-time T` gave both the same start; a mapping file or the names date each."""
    import pandas as pd

    table = pd.read_csv(runs / "b.csv")
    first, second = tmp_path / "run_20260301_0730.csv", tmp_path / "run_20260302_1800.csv"
    table.to_csv(first, index=False)
    table.assign(acc_x=table["acc_x"] * 1.001).to_csv(second, index=False)  # other bytes, not a duplicate
    mapping = tmp_path / "starts.csv"
    mapping.write_text(f"file,start\n{first.name},2026-03-01T07:30Z\n{second.name},2026-03-02T18:00+01:00\n")
    assert main(["import", str(first), str(second), "--start-times", str(mapping), "--runner", "ana"]) == 0
    for path in (first, second):  # new bytes (stored bytes are duplicates), same names
        path.write_text(path.read_text() + "\n")
    assert (
        main(["import", str(first), str(second), "--start-time-pattern", "%Y%m%d_%H%M", "--runner", "ben"])
        == 0
    )
    with Store(home) as store:
        ana = sorted(store.sessions(runner="ana")["start_time"])
        ben = sorted(store.sessions(runner="ben")["start_time"])
    assert ana == [pd.Timestamp("2026-03-01T07:30Z"), pd.Timestamp("2026-03-02T17:00Z")]
    assert ben == [pd.Timestamp("2026-03-01T07:30Z"), pd.Timestamp("2026-03-02T18:00Z")]
    capsys.readouterr()
    mapping.write_text(f"{first.name},2026-03-01T07:30Z\n")
    assert main(["import", str(first), str(second), "--start-times", str(mapping)]) == 2
    assert f"no start time for {second.name}" in capsys.readouterr().err


def test_info_lists_the_gaps_of_a_csv(runs, tmp_path, capsys):
    import json

    import pandas as pd

    table = pd.read_csv(runs / "b.csv")
    table["t_s"] = table["t_s"].round(5)  # a logger's rounded stamps
    table = table.drop(index=range(1000, 1400))  # 400 rows lost: a gap of ~1.9 s
    path = tmp_path / "gappy.csv"
    table.to_csv(path, index=False)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 without a gap" in out and "400 samples missing" in out
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sample_rate_hz"] == pytest.approx(208.0, abs=1e-3)
    assert len(info["segments"]) == 2 and info["quality"]["gaps"][0][2] == 400


def test_names_are_not_read_as_markup(runs, home, capsys):
    """A runner's name is the user's text: `[/red]` in it is shown, not taken as a closing tag (which
    made `hipsense sessions` fail)."""
    assert main(["import", str(runs / "a.hsn"), "--runner", "[/red]ana"]) == 0
    capsys.readouterr()
    assert main(["sessions"]) == 0
    assert "[/red]" in capsys.readouterr().out


def test_a_damaged_database_is_one_line_and_doctor_says_so(runs, home, capsys):
    main(["import", str(runs / "a.hsn"), str(runs / "b.csv")])
    db = home / "hipsense.sqlite"
    assert not (home / "hipsense.sqlite-wal").exists()  # checkpointed when the import closed the store
    with open(db, "r+b") as fh:  # two pages of the tables overwritten, as a bad disk sector would
        fh.seek(4096 * 3)
        fh.write(b"\xa5" * 8192)
    capsys.readouterr()
    assert main(["sessions"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "the database is damaged" in err and "hipsense doctor" in err
    raw = sorted(p for p in (home / "raw").rglob("*") if p.is_file())
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "database" in out and "nothing else" in out
    assert sorted(p for p in (home / "raw").rglob("*") if p.is_file()) == raw  # nothing quarantined
    db.write_bytes(b"not a database at all")
    assert main(["sessions"]) == 2
    assert "move it aside" in capsys.readouterr().err
