"""`hipsense batch`: which inputs it reads, through the real command on real folders.

A folder given twice (or inside another one given) is read once; its own and earlier outputs are never
read as recordings; a link or special file named like a recording is a failure with one line, never opened.
"""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

from hipsense.batch import run_batch
from hipsense.batch.discover import BatchInputWarning
from hipsense.cli import main
from hipsense.export import read_table
from hipsense.sim import scenarios, simulate_run


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """One device file and one CSV, written once and copied into each test's folders."""
    d = tmp_path_factory.mktemp("recordings")
    simulate_run(scenarios.steady_run(duration_s=20, seed=1)).write_device_file(d / "mon.hsn")
    simulate_run(scenarios.steady_run(duration_s=20, seed=2)).write_csv(d / "tue.csv")
    return d


def _study(recordings, root, runner="ana"):
    folder = root / runner
    folder.mkdir(parents=True)
    for name in ("mon.hsn", "tue.csv"):
        shutil.copy(recordings / name, folder / name)
    return root


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


def test_a_folder_given_twice_is_read_once(recordings, tmp_path, capsys):
    """Each file of a folder given twice was 'same runner and session name as' itself (red team p13 F16)."""
    study = _study(recordings, tmp_path / "study")
    code = main(["batch", str(study), f"{study}/", "--out", str(tmp_path / "out"), "--workers", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "failed:" not in captured.err and "2 analysed" in captured.out and "0 failed" in captured.out
    assert _warnings(captured.err) == [f"warning: {study} was given twice: read once"]
    sessions = read_table(tmp_path / "out", "sessions")
    assert sessions[["runner", "session"]].values.tolist() == [["ana", "mon.hsn"], ["ana", "tue.csv"]]
    (tmp_path / "link").symlink_to(study)  # the same folder under another name
    with pytest.warns(BatchInputWarning, match="given twice"):
        report = run_batch([study, tmp_path / "link"], tmp_path / "out2", workers=1)
    assert report.notes == [f"{tmp_path / 'link'} was given twice (also as {study}): read once"]
    assert len(report.analysed) == 2 and report.failed == []


def test_a_folder_inside_another_given_is_read_once(recordings, tmp_path, capsys):
    study = _study(recordings, tmp_path / "study")
    code = main(["batch", str(study), str(study / "ana"), "--out", str(tmp_path / "out"), "--workers", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert _warnings(captured.err) == [
        f"warning: {study / 'ana'} is inside {study}, also given: its 2 files are read once"
    ]
    assert len(read_table(tmp_path / "out", "sessions")) == 2
    with pytest.warns(BatchInputWarning, match="holds"):  # the other way round
        report = run_batch([study / "ana", study], tmp_path / "out2", workers=1)
    assert report.notes == [f"{study} holds {study / 'ana'}, also given: its 2 files are read once"]
    assert len(report.analysed) == 2 and report.failed == []


def test_two_different_files_with_one_name_still_clash(recordings, tmp_path, capsys):
    """Two sites each with a runner ana and a tue.csv: two files, one partition; the second fails."""
    site_a, site_b = _study(recordings, tmp_path / "a"), _study(recordings, tmp_path / "b")
    code = main(["batch", str(site_a), str(site_b), "--out", str(tmp_path / "out"), "--workers", "1"])
    captured = capsys.readouterr()
    assert code == 1
    failed = [line for line in captured.err.splitlines() if line.startswith("failed:")]
    assert failed == [
        f"failed: {site_b / 'ana' / 'mon.hsn'}: same runner and session name as {site_a / 'ana' / 'mon.hsn'}; rename one",
        f"failed: {site_b / 'ana' / 'tue.csv'}: same runner and session name as {site_a / 'ana' / 'tue.csv'}; rename one",
    ]
    assert pd.read_csv(tmp_path / "out" / "failures.csv")["path"].tolist() == [
        str(site_b / "ana" / "mon.hsn"),
        str(site_b / "ana" / "tue.csv"),
    ]


def test_a_rerun_into_the_input_folder_reads_no_earlier_output(recordings, tmp_path, capsys):
    """The second batch read the first one's failures.csv as a recording: a failure, exit code 1
    (red team p13 F15). Its own output folder and an earlier one are left out, and said so."""
    study = _study(recordings, tmp_path / "study")
    (study / "ana" / "broken.hsn").write_bytes(b"HSNS" + bytes(60))  # so the first run writes a failure
    args = ["--workers", "1"]
    assert main(["batch", str(study), "--out", str(study / "out"), *args]) == 1
    assert (study / "out" / "failures.csv").stat().st_size > len("path,error\n")
    capsys.readouterr()
    (study / "ana" / "broken.hsn").unlink()
    code = main(["batch", str(study), "--out", str(study / "out2"), *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "failed:" not in captured.err and "2 analysed" in captured.out
    assert _warnings(captured.err) == [
        f"warning: left out {study / 'out'}, the output of an earlier hipsense batch or export (it holds "
        "hipsense's schema.json): 1 file in it not read"
    ]
    assert read_table(study / "out2", "sessions")["runner"].tolist() == ["ana", "ana"]
    # --resume into its own folder: its failures.csv is not read either
    code = main(["batch", str(study), "--out", str(study / "out2"), "--resume", *args])
    captured = capsys.readouterr()
    assert code == 0 and "2 kept from before, 0 analysed" in captured.out, captured
    assert f"warning: left out {study / 'out2'}, this batch's output folder: 1 file it wrote" in captured.err
    # an earlier output given as the input: not read either, and said
    assert main(["batch", str(study / "out"), "--out", str(tmp_path / "out3"), *args]) == 2
    err = capsys.readouterr().err
    assert f"warning: left out {study / 'out'}, the output of an earlier hipsense batch" in err
    assert f"error: no .hsn or .csv files under {study / 'out'}" in err


def test_a_folder_with_a_schema_json_of_its_own_is_read(recordings, tmp_path, capsys):
    """Only hipsense's schema.json marks an output: a study's own schema.json is not a reason to skip."""
    study = _study(recordings, tmp_path / "study")
    (study / "ana" / "schema.json").write_text('{"fields": ["acc_x"]}')
    assert main(["batch", str(study), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert "2 analysed" in captured.out and _warnings(captured.err) == [
        f"warning: left out 1 other file, not named .hsn or .csv (e.g. {study / 'ana' / 'schema.json'})"
    ]


def test_links_and_special_files_are_said_never_opened(recordings, tmp_path, capsys):
    """A dangling *.csv link, a loop of links and a named pipe called *.csv vanished without a word
    (red team p13 F14). Each is now a failure with one line, found with stat only (a named pipe is never
    opened: reading one waits for a writer for ever); links to folders and other files are said."""
    study = _study(recordings, tmp_path / "study")
    ana = study / "ana"
    (ana / "dangling.csv").symlink_to(tmp_path / "nowhere.csv")
    (ana / "loop.hsn").symlink_to(ana / "loop.hsn")
    os.mkfifo(ana / "pipe.csv")
    (ana / "week.csv").mkdir()  # a folder named like a recording is a folder: read below
    shutil.copy(recordings / "mon.hsn", ana / "week.csv" / "sat.hsn")
    (study / "ben").symlink_to(ana)  # a link to a folder: not followed
    (ana / "notes.txt").write_text("not a recording")
    code = main(["batch", str(study), "--out", str(tmp_path / "out"), "--workers", "1"])
    captured = capsys.readouterr()
    assert code == 1
    assert "3 analysed" in captured.out and "3 failed" in captured.out
    failed = [line for line in captured.err.splitlines() if line.startswith("failed:")]
    assert failed == [
        f"failed: {ana / 'dangling.csv'}: a broken link to {tmp_path / 'nowhere.csv'} (nothing there): not read",
        f"failed: {ana / 'loop.hsn'}: a broken link (a loop of links): not read",
        f"failed: {ana / 'pipe.csv'}: not a regular file (a named pipe): not read",
    ]
    assert _warnings(captured.err) == [
        f"warning: left out 1 link to a folder, not followed (e.g. {study / 'ben'}): give the folder itself",
        f"warning: left out 1 other file, not named .hsn or .csv (e.g. {ana / 'notes.txt'})",
    ]
    assert pd.read_csv(tmp_path / "out" / "failures.csv")["path"].tolist() == [
        str(ana / name) for name in ("dangling.csv", "loop.hsn", "pipe.csv")
    ]
    sessions = read_table(tmp_path / "out", "sessions")["session"].tolist()
    assert sessions == ["mon.hsn", "tue.csv", "week.csv__sat.hsn"]


def test_a_folder_of_only_broken_links_fails_them_all(tmp_path, capsys):
    """Nothing to analyse but an entry named like a recording: its failure, exit code 2 (not 'no files')."""
    (tmp_path / "study" / "ana").mkdir(parents=True)
    (tmp_path / "study" / "ana" / "run.csv").symlink_to(tmp_path / "gone.csv")
    assert main(["batch", str(tmp_path / "study"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "run.csv: a broken link" in err and "no .hsn or .csv files" not in err
    assert pd.read_csv(tmp_path / "out" / "failures.csv")["path"].tolist() == [
        str(tmp_path / "study" / "ana" / "run.csv")
    ]


def test_an_output_folder_in_a_missing_folder_is_refused_before_any_work(recordings, tmp_path, capsys):
    # as export, FIT export and report --out: a typo must not make a tree of folders (red-team p13 F4)
    study = _study(recordings, tmp_path / "study")
    out = tmp_path / "typo" / "deeper" / "out"
    assert main(["batch", str(study), "--out", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert f"the folder {out.parent} does not exist" in err and err.count("\n") == 1, err
    assert not (tmp_path / "typo").exists()
