"""Tests that kill the mutants of hipsense.library the other tests let survive (docs/testing.md).

The store's import path, called in-process on short simulated runs (12 s): what each imported file
leaves in the database (kind, options, size, times), the one-line messages of files that fail, the
progress calls, when flags are judged again, and reanalysis's own errors. Expected values come from
the files the tests write (their bytes, hashes and start times), not from earlier output.
"""

from __future__ import annotations

import errno
import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hipsense.analysis
from hipsense import library
from hipsense.errors import HipsenseError
from hipsense.library import (
    ImportedFile,
    ImportReport,
    derive,
    forget,
    import_files,
    read_recording,
    reanalyze,
    refresh,
    storing_failed,
)
from hipsense.sim import scenarios, simulate_run
from hipsense.store import TEMP_PREFIX, Store

START = 1_735_689_600


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("library-inputs")
    out: dict[str, Path] = {}
    for seed in (1, 2):
        run = simulate_run(scenarios.steady_run(duration_s=12, seed=seed))
        out[f"run{seed}.hsn"] = run.write_device_file(d / f"run{seed}.hsn", start_time_unix=START + seed)
    simulate_run(scenarios.steady_run(duration_s=12, seed=3)).write_csv(d / "run3.csv")
    out["run3.csv"] = d / "run3.csv"
    t = np.arange(0, 8, 0.01)  # readable, no running in it: 8 s at 100 Hz
    still = pd.DataFrame({"t_s": t, "acc_x": 0.0, "acc_y": 0.0, "acc_z": 9.81, "gyr_x": 0.0, "gyr_y": 0.0})
    still["gyr_z"] = 0.0
    still.to_csv(d / "still.csv", index=False)
    out["still.csv"] = d / "still.csv"
    (d / "garbage.bin").write_bytes(bytes(range(256)) * 8)
    out["garbage.bin"] = d / "garbage.bin"
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _row(store: Store, sid: int) -> dict:
    cur = store.db.execute(
        "SELECT s.status, s.error, s.start_time, s.duration_s, s.device_id, s.algorithm_version, "
        "r.kind, r.size, r.original_name, r.csv_options, u.name AS runner FROM sessions s "
        "JOIN raw_files r ON r.sha256 = s.raw_sha256 JOIN runners u ON u.id = s.runner_id WHERE s.id = ?",
        (sid,),
    )
    names = [c[0] for c in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def _leftovers(store: Store) -> list[Path]:
    return sorted(p for p in store.raw_dir.rglob("*") if p.is_file())


def _spy_refresh(monkeypatch) -> list[str]:
    """Record which runners' flags are judged again (and judge them: the real function runs)."""
    seen: list[str] = []
    real = library.refresh_session_flags

    def spy(store, runner):
        seen.append(runner)
        return real(store, runner)

    monkeypatch.setattr(library, "refresh_session_flags", spy)
    return seen


# -- reports and messages ------------------------------------------------------------------------------


def test_report_counts_every_file_once_and_lists_the_analysis_errors():
    ok = ImportedFile(Path("a"), "1", 1, "ok")
    bad = ImportedFile(Path("b"), "2", 2, "error", "no running")
    report = ImportReport(added=[ok, bad], duplicates=[(Path("c"), "3", 1)], failed=[(Path("d"), "x")] * 2)
    assert report.total == 5 and report.analysis_errors == [bad]
    assert ImportReport().total == 0 and ImportReport().analysis_errors == []
    assert ok.error is None


def test_the_algorithm_version_is_read_at_call_time(monkeypatch):
    monkeypatch.setattr(hipsense.analysis, "ALGORITHM_VERSION", "7.7.7")
    assert library.current_algorithm_version() == "7.7.7"


P = Path("/data/run 1.csv")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device"),
            f"{P}: disk full while storing it (No space left on device); nothing of it was kept",
        ),
        (
            OSError(errno.EFBIG, "File too large"),
            f"{P}: disk full while storing it (File too large); nothing of it was kept",
        ),
        (OSError(errno.ENOSPC, ""), f"{P}: disk full while storing it ([Errno 28] ); nothing of it was kept"),
        (
            OSError(errno.EACCES, "Permission denied"),
            f"{P}: cannot store it (Permission denied); nothing of it was kept",
        ),
        (OSError("odd"), f"{P}: cannot store it (odd); nothing of it was kept"),
        (
            sqlite3.OperationalError("database or disk is full"),
            f"{P}: disk full while storing it (database: database or disk is full); nothing of it was kept",
        ),
        (
            sqlite3.OperationalError("database is locked"),
            f"{P}: cannot store it (database: database is locked); nothing of it was kept",
        ),
        (HipsenseError("run 1.csv: not stored, odd start"), "run 1.csv: not stored, odd start"),
        (HipsenseError("session 3: not stored"), f"{P}: session 3: not stored"),
        (ValueError("bad"), f"{P}: cannot store it (ValueError: bad); nothing of it was kept"),
    ],
)
def test_storing_failed_says_why_in_one_line(error, message):
    assert storing_failed(P, error) == message


def test_a_database_error_coded_full_is_a_full_disk():
    e = sqlite3.OperationalError("write failed")
    e.sqlite_errorcode = 13  # SQLITE_FULL, whatever the text
    assert (
        storing_failed(P, e)
        == f"{P}: disk full while storing it (database: write failed); nothing of it was kept"
    )
    e.sqlite_errorcode = 14
    assert storing_failed(P, e) == f"{P}: cannot store it (database: write failed); nothing of it was kept"


# -- import ----------------------------------------------------------------------------------------------


def test_an_import_stores_what_the_file_is(files, tmp_path):
    device, csv = files["run1.hsn"], files["run3.csv"]
    with Store(tmp_path) as store:
        report = import_files(store, [device, csv], runner="ana", refresh_flags=False)
        assert not report.failed and not report.duplicates and report.total == 2
        a, b = report.added
        assert (a.path, a.sha256, a.status, a.error) == (device, _sha(device), "ok", None)
        assert (b.path, b.sha256, b.status) == (csv, _sha(csv), "ok")
        assert store.raw_path(a.sha256).read_bytes() == device.read_bytes()
        ra, rb = _row(store, a.session_id), _row(store, b.session_id)
        assert ra["kind"] == "device" and ra["csv_options"] is None and ra["device_id"] == "hipsense-sim"
        assert ra["start_time"] == START + 1 and ra["duration_s"] == pytest.approx(12.0, abs=0.02)
        assert ra["size"] == device.stat().st_size and ra["original_name"] == "run1.hsn"
        assert ra["status"] == "ok" and ra["runner"] == "ana"
        assert ra["algorithm_version"] == hipsense.analysis.ALGORITHM_VERSION
        assert rb["kind"] == "csv" and json.loads(rb["csv_options"]) == {} and rb["device_id"] is None
        assert rb["size"] == csv.stat().st_size
        assert store.summary(a.session_id)["source"] == "run1.hsn"
        assert _leftovers(store) == sorted([store.raw_path(a.sha256), store.raw_path(b.sha256)])


def test_csv_options_and_start_times_are_stored_with_the_csv_only(files, tmp_path):
    options = {"acc_unit": "m/s^2"}
    starts = {"run3.csv": 1_700_000_000.0, "run1.hsn": 1_600_000_000.0}
    with Store(tmp_path) as store:
        report = import_files(
            store,
            [files["run3.csv"], files["run1.hsn"], files["still.csv"]],
            csv_options=options,
            start_time_of=lambda p: starts.get(p.name),
            refresh_flags=False,
        )
        csv, device, still = (_row(store, f.session_id) for f in report.added)
        assert json.loads(csv["csv_options"]) == {"acc_unit": "m/s^2", "start_time_unix": 1_700_000_000.0}
        assert csv["start_time"] == 1_700_000_000.0
        assert device["csv_options"] is None and device["start_time"] == START + 1
        assert json.loads(still["csv_options"]) == {"acc_unit": "m/s^2"}  # None: no start time of its own
    assert options == {"acc_unit": "m/s^2"}, "the caller's options are not changed"


def test_progress_is_called_before_each_file_and_once_at_the_end(files, tmp_path):
    calls: list[tuple] = []
    paths = [files["garbage.bin"], files["still.csv"]]
    with Store(tmp_path) as store:
        import_files(store, paths, progress=lambda *a: calls.append(a))
    assert calls == [(0, 2, paths[0]), (1, 2, paths[1]), (2, 2, None)]


def test_flags_are_judged_again_only_after_a_usable_file(files, tmp_path, monkeypatch):
    seen = _spy_refresh(monkeypatch)
    with Store(tmp_path) as store:
        import_files(store, [files["still.csv"], files["garbage.bin"]], runner="ana")
        assert seen == []  # an analysis error and an unreadable file: nothing to judge
        import_files(store, [files["run1.hsn"]], runner="ana", refresh_flags=False)
        assert seen == []
        import_files(store, [files["run2.hsn"]], runner="ben")
        assert seen == ["ben"]
        import_files(store, [files["run2.hsn"]], runner="ben")
        assert seen == ["ben"], "a duplicate adds nothing"


def test_a_duplicate_names_the_session_holding_its_bytes(files, tmp_path):
    copy = tmp_path / "copy.hsn"
    copy.write_bytes(files["run1.hsn"].read_bytes())
    with Store(tmp_path / "home") as store:
        (first,) = import_files(store, [files["run1.hsn"]], refresh_flags=False).added
        report = import_files(store, [copy, files["run1.hsn"]], refresh_flags=False)
        assert report.added == [] and report.total == 2
        assert report.duplicates == [
            (copy, first.sha256, first.session_id),
            (files["run1.hsn"], first.sha256, first.session_id),
        ]


def test_a_readable_file_without_running_is_stored_with_its_error(files, tmp_path):
    with Store(tmp_path) as store:
        (f,) = import_files(store, [files["still.csv"]]).added
        row = _row(store, f.session_id)
    assert f.status == "error" and f.error and f.error == row["error"]
    assert row["status"] == "error" and row["duration_s"] == pytest.approx(8.0, abs=0.02)


def test_unreadable_files_leave_nothing_and_say_why(files, tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    missing = tmp_path / "missing.hsn"
    with Store(tmp_path / "home") as store:
        report = import_files(store, [folder, missing, files["garbage.bin"]])
        assert report.added == [] and report.duplicates == []
        (p1, m1), (p2, m2), (p3, m3) = report.failed
        assert (p1, m1) == (folder, f"{folder}: is a folder, not a file")
        assert (p2, m2) == (missing, f"{missing}: cannot read it (No such file or directory)")
        assert p3 == files["garbage.bin"] and str(files["garbage.bin"]) in m3 and TEMP_PREFIX not in m3
        assert _leftovers(store) == [] and store.session_of(_sha(files["garbage.bin"])) is None


def test_a_file_the_reader_fails_on_is_named_with_the_exception(files, tmp_path):
    # an option the CSV reader does not take: a TypeError, not a HipsenseError
    with Store(tmp_path) as store:
        report = import_files(store, [files["run3.csv"]], csv_options={"no_such_option": 1})
    ((path, message),) = report.failed
    assert message.startswith(f"{path}: cannot read it as a session file or CSV (TypeError: ")
    assert TEMP_PREFIX not in message and message.endswith(")")


@pytest.mark.parametrize(("size", "too_large"), [(1 << 20, False), ((1 << 20) + 1, True)])
def test_a_file_larger_than_the_cap_is_not_read(tmp_path, monkeypatch, size, too_large):
    monkeypatch.setattr(library, "MAX_IMPORT_BYTES", 1 << 20)
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x00" * size)
    with Store(tmp_path / "home") as store:
        ((path, message),) = import_files(store, [big]).failed
    larger = f"{big}: larger than 1 MiB, more than any recording; not read"
    assert (message == larger) is too_large


def test_a_refused_result_leaves_no_raw_file(files, tmp_path):
    # a start time no calendar holds: the store refuses the result before anything is placed
    with Store(tmp_path) as store:
        report = import_files(store, [files["run3.csv"]], csv_options={"start_time_unix": 1e15})
        ((path, message),) = report.failed
        assert path == files["run3.csv"] and message.startswith(f"{path}: not stored, its start time ")
        assert _leftovers(store) == [] and report.added == []


def test_old_temporaries_are_cleared_and_young_ones_kept(files, tmp_path):
    import os
    import time

    with Store(tmp_path) as store:
        old, young = store.raw_dir / f"{TEMP_PREFIX}old.csv", store.raw_dir / f"{TEMP_PREFIX}young.csv"
        old.write_bytes(b"x")
        young.write_bytes(b"y")
        ten_min = time.time() - 10 * 60
        os.utime(old, (ten_min - 5, ten_min - 5))
        os.utime(young, (ten_min + 30, ten_min + 30))
        import_files(store, [files["garbage.bin"]])
        assert not old.exists() and young.exists()
    assert library.TEMP_MAX_AGE_S == 600


# -- derive, read --------------------------------------------------------------------------------------


def test_derive_keeps_an_analysis_failure_as_the_session_error(files):
    rec = read_recording(files["still.csv"], {})
    d = derive(rec, "still.csv")
    assert (d.kind, d.status, d.steps, d.summary) == ("csv", "error", None, None)
    assert d.duration_s == pytest.approx(rec.elapsed_time_s) and d.device_id is None
    assert d.algorithm_version == hipsense.analysis.ALGORITHM_VERSION and d.error
    ok = derive(read_recording(files["run2.hsn"], {}), "run2.hsn")
    assert (ok.kind, ok.status, ok.error, ok.device_id, ok.start_time) == (
        "device",
        "ok",
        None,
        "hipsense-sim",
        START + 2,
    )
    assert ok.summary["source"] == "run2.hsn" and len(ok.steps) == ok.summary["steps"] > 0


def test_derive_names_an_unexpected_failure(files, monkeypatch):
    def broken(recording):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(hipsense.analysis, "analyse", broken)
    rec = read_recording(files["run1.hsn"], {})
    d = derive(rec, "run1.hsn")
    assert d.error == "run1.hsn: analysis failed (ZeroDivisionError: boom)"
    assert d.status == "error" and d.kind == "device" and d.start_time == START + 1
    assert d.device_id == "hipsense-sim" and d.duration_s == pytest.approx(rec.elapsed_time_s)

    def refused(recording):
        raise HipsenseError("run1.hsn: no running found")

    monkeypatch.setattr(hipsense.analysis, "analyse", refused)
    assert derive(rec, "run1.hsn").error == "run1.hsn: no running found"


def test_read_recording_is_quiet(files, recwarn):
    rec = read_recording(files["run3.csv"], {})
    assert rec.sample_rate_hz > 0 and len(recwarn) == 0
    assert (
        library.kind_of(rec) == "csv" and library.kind_of(read_recording(files["run1.hsn"], {})) == "device"
    )


# -- reanalysis, forget, refresh -------------------------------------------------------------------------


def test_reanalyze_reports_progress_updates_and_counts(files, tmp_path, monkeypatch):
    with Store(tmp_path) as store:
        ids = [f.session_id for f in import_files(store, [files["run1.hsn"], files["still.csv"]]).added]
        report = reanalyze(store)
        assert (report.updated, report.errors, report.up_to_date) == ([], [], 2)
        monkeypatch.setattr(hipsense.analysis, "ALGORITHM_VERSION", "99.0.0")
        calls: list[tuple] = []
        seen = _spy_refresh(monkeypatch)
        report = reanalyze(store, progress=lambda *a: calls.append(a))
        assert report.updated == ids and report.up_to_date == 0
        assert [sid for sid, _ in report.errors] == [ids[1]]
        assert report.errors[0][1] == _row(store, ids[1])["error"]
        assert calls == [(0, 2, "run1.hsn"), (1, 2, "still.csv"), (2, 2, None)]
        assert seen == ["default"]
        assert _row(store, ids[0])["algorithm_version"] == "99.0.0"
        report = reanalyze(store, ids=[ids[1], 999])
        assert report.updated == [ids[1]] and report.up_to_date == 0
        assert reanalyze(store, all=True).updated == ids


def test_reanalyze_leaves_a_raw_file_that_changed_or_vanished(files, tmp_path, monkeypatch):
    with Store(tmp_path) as store:
        a, b, c, d = import_files(
            store, [files["run1.hsn"], files["run2.hsn"], files["run3.csv"], files["still.csv"]]
        ).added
        raw_a, raw_b, raw_c = store.raw_path(a.sha256), store.raw_path(b.sha256), store.raw_path(c.sha256)
        raw_a.unlink()
        raw_b.chmod(0o600)
        raw_b.write_bytes(raw_b.read_bytes()[:-10])
        raw_c.unlink()
        monkeypatch.setattr(hipsense.analysis, "ALGORITHM_VERSION", "99.0.0")
        seen = _spy_refresh(monkeypatch)
        report = reanalyze(store)
        # each of the first three is reported and the loop goes on to the last, which is reanalysed
        assert report.updated == [d.session_id] and seen == ["default"]
        assert report.errors == [
            (a.session_id, f"{raw_a}: raw file of run1.hsn cannot be read (No such file or directory)"),
            (b.session_id, f"{raw_b}: raw file of run2.hsn does not match its hash; left as it is"),
            (c.session_id, f"{raw_c}: raw file of run3.csv cannot be read (No such file or directory)"),
            (d.session_id, _row(store, d.session_id)["error"]),
        ]
        assert _row(store, b.session_id)["algorithm_version"] != "99.0.0"
        assert _row(store, d.session_id)["algorithm_version"] == "99.0.0"


def test_reanalyze_keeps_a_file_the_reader_now_refuses_as_an_error(files, tmp_path, monkeypatch):
    with Store(tmp_path) as store:
        (f,) = import_files(store, [files["run3.csv"]]).added
        store.db.execute(
            "UPDATE raw_files SET csv_options = ? WHERE sha256 = ?", ('{"no_such": 1}', f.sha256)
        )
        report = reanalyze(store, all=True)
        row = _row(store, f.session_id)
        assert report.updated == [f.session_id] and row["status"] == "error" and row["kind"] == "csv"
        assert row["error"].startswith("run3.csv: cannot read the raw file any more (")
        assert report.errors == [(f.session_id, row["error"])]
        assert row["algorithm_version"] == hipsense.analysis.ALGORITHM_VERSION


def test_forget_judges_the_runner_s_flags_again(files, tmp_path, monkeypatch):
    with Store(tmp_path) as store:
        a, b = import_files(store, [files["run1.hsn"], files["run2.hsn"]], runner="ana").added
        import_files(store, [files["run3.csv"]], runner="ben")
        seen = _spy_refresh(monkeypatch)
        gone = forget(store, a.session_id)
        assert gone.session_id == a.session_id and gone.runner == "ana" and gone.quarantined is not None
        assert seen == ["ana"]
        gone = forget(store, b.session_id, purge=True)
        assert gone.purged and gone.quarantined is None and not store.raw_path(b.sha256).exists()


def test_refresh_without_names_judges_every_runner(files, tmp_path, monkeypatch):
    with Store(tmp_path) as store:
        import_files(store, [files["run1.hsn"]], runner="ben", refresh_flags=False)
        import_files(store, [files["run2.hsn"]], runner="ana", refresh_flags=False)
        seen = _spy_refresh(monkeypatch)
        refresh(store)
        assert seen == ["ana", "ben"]
        refresh(store, ["ben"])
        assert seen == ["ana", "ben", "ben"]


def test_a_full_database_fails_the_file_and_takes_its_raw_file_back(files, tmp_path):
    # SQLite may not grow (its own SQLITE_FULL): the raw file was placed, the row could not be written
    with Store(tmp_path) as store:
        (first,) = import_files(store, [files["run1.hsn"]], refresh_flags=False).added
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages}")
        report = import_files(store, [files["run2.hsn"]], refresh_flags=False)
        ((path, message),) = report.failed
        assert path == files["run2.hsn"] and message.startswith(
            f"{path}: disk full while storing it (database: "
        )
        assert _leftovers(store) == [store.raw_path(first.sha256)]
        assert store.session_of(_sha(files["run2.hsn"])) is None


def test_a_raw_file_placed_by_a_failed_import_stays_when_a_session_holds_it(files, tmp_path):
    # another process stored the same bytes meanwhile: its session needs the file
    with Store(tmp_path) as store:
        (f,) = import_files(store, [files["run1.hsn"]], refresh_flags=False).added
        raw = store.raw_path(f.sha256)
        library._unplace(store, raw, f.sha256)
        assert raw.exists()
        orphan = store.raw_path("ab" * 32)
        orphan.parent.mkdir(exist_ok=True)
        orphan.write_bytes(b"placed, then the row failed")
        library._unplace(store, orphan, "ab" * 32)
        assert not orphan.exists()
        library._unplace(store, orphan, "ab" * 32)  # gone already: nothing to do, no error


def test_a_reanalysis_the_store_refuses_is_kept_as_the_session_error(files, tmp_path, monkeypatch):
    # the CSV's stored options now give a start time no calendar holds: the new result is refused
    # and the session keeps an error saying why (no start, no duration), under the new version
    with Store(tmp_path) as store:
        (f,) = import_files(store, [files["run3.csv"]]).added
        store.db.execute(
            "UPDATE raw_files SET csv_options = ? WHERE sha256 = ?", ('{"start_time_unix": 1e15}', f.sha256)
        )
        monkeypatch.setattr(hipsense.analysis, "ALGORITHM_VERSION", "99.0.0")
        report = reanalyze(store)
        row = _row(store, f.session_id)
        assert report.updated == [f.session_id]
        assert row["status"] == "error" and row["algorithm_version"] == "99.0.0"
        assert row["error"].startswith(f"session {f.session_id}: not stored, its start time ")
        assert row["start_time"] is None and row["duration_s"] is None and row["kind"] == "csv"
        assert report.errors == [(f.session_id, row["error"])]


def test_a_watch_that_cannot_be_linked_again_is_reported_for_usable_sessions_only(
    files, tmp_path, monkeypatch
):
    # both sessions have a stored watch link whose FIT file is gone; only the one the new analysis
    # could use is linked again (and says why that failed)
    with Store(tmp_path) as store:
        a, b = import_files(store, [files["run1.hsn"], files["still.csv"]]).added
        for sid in (a.session_id, b.session_id):
            store.db.execute(
                "INSERT INTO watch_links (session_id, fit_sha256, original_name, offset_s, confidence, "
                "method, linked_at) VALUES (?, ?, 'watch.fit', 0.0, 1.0, 'test', 0.0)",
                (sid, "cd" * 32),
            )
        monkeypatch.setattr(hipsense.analysis, "ALGORITHM_VERSION", "99.0.0")
        report = reanalyze(store)
        fit = store.watch_path("cd" * 32)
        assert report.updated == [a.session_id, b.session_id]
        assert report.errors == [
            (a.session_id, f"watch not linked again: {fit}: cannot be read (no such file or directory)"),
            (b.session_id, _row(store, b.session_id)["error"]),
        ]


def test_derive_of_a_recording_without_a_rate_is_an_error_without_a_duration():
    # "never raised": a recording whose rate is 0 (no reader makes one) fails its analysis, and the
    # duration, which would divide by the rate, is left out
    from hipsense.recording import Recording

    run = simulate_run(scenarios.steady_run(duration_s=12, seed=4))
    d = derive(Recording(run.data, "sensor", 0.0, None), "zero-rate.csv")
    assert (d.status, d.duration_s, d.kind) == ("error", None, "csv") and d.error


def test_bytes_already_stored_are_a_duplicate_whatever_the_options(files, tmp_path):
    # the duplicate is known by its bytes before anything is read: options the reader would refuse
    # do not matter
    with Store(tmp_path) as store:
        (f,) = import_files(store, [files["run3.csv"]], refresh_flags=False).added
        report = import_files(store, [files["run3.csv"]], csv_options={"no_such_option": 1})
        assert report.duplicates == [(files["run3.csv"], f.sha256, f.session_id)] and not report.failed


def test_no_raw_folder_fails_the_file_and_writes_nowhere_else(files, tmp_path):
    with Store(tmp_path / "home") as store:
        store.raw_dir.rmdir()
        report = import_files(store, [files["run3.csv"]])
        ((path, message),) = report.failed
        assert message == f"{path}: cannot store it (No such file or directory); nothing of it was kept"
        assert report.added == [] and store.session_of(_sha(files["run3.csv"])) is None


def test_a_refused_import_leaves_a_raw_file_it_did_not_place(files, tmp_path):
    # an orphan raw file of these bytes (left by an import that was killed): not this import's to remove
    with Store(tmp_path) as store:
        sha = _sha(files["run3.csv"])
        orphan = store.raw_path(sha)
        orphan.parent.mkdir()
        orphan.write_bytes(files["run3.csv"].read_bytes())
        report = import_files(store, [files["run3.csv"]], csv_options={"start_time_unix": 1e15})
        assert len(report.failed) == 1 and orphan.exists()


def test_a_foreign_file_named_hsn_is_read_as_a_session_file(files, tmp_path):
    foreign = tmp_path / "watch-export.hsn"
    foreign.write_bytes(files["run3.csv"].read_bytes())  # a CSV under a session file's name
    with Store(tmp_path / "home") as store:
        ((path, message),) = import_files(store, [foreign]).failed
    assert message.startswith(f"{foreign} at byte offset 0: not a hipsense session file")


def test_the_temporary_copy_is_made_in_the_raw_folder(files, tmp_path, monkeypatch):
    # beside its final place (one file system, so the rename is atomic), not in the system's temp
    # folder: an import works when that folder is unusable
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))
    with Store(tmp_path / "home") as store:
        report = import_files(store, [files["run3.csv"]], refresh_flags=False)
    assert [f.status for f in report.added] == ["ok"] and not report.failed


def test_the_temporary_copy_carries_the_import_prefix_and_the_suffix(files, tmp_path, monkeypatch):
    # the prefix is how the next import (or `hipsense doctor`) knows a copy left by a killed import
    seen: list[Path] = []
    real = library.read_recording

    def spy(path, options):
        seen.append(Path(path))
        return real(path, options)

    monkeypatch.setattr(library, "read_recording", spy)
    with Store(tmp_path / "home") as store:
        report = import_files(store, [files["run3.csv"]], refresh_flags=False)
        raw_dir = store.raw_dir
    assert [f.status for f in report.added] == ["ok"]
    ((tmp,),) = [seen]
    assert tmp.parent == raw_dir and tmp.name.startswith(TEMP_PREFIX) and tmp.name.endswith(".csv")


def _race(store: Store, home: Path, path: Path, monkeypatch) -> list[int]:
    """Another importer (a second Store on the same folder) stores ``path`` right after this store
    placed its raw file and before it writes the row: the window between the duplicate check and
    the row. Returns the other importer's session id once it has run."""
    other: list[int] = []
    real = store.place_raw

    def place_then_race(tmp, final, sha):
        placed = real(tmp, final, sha)
        with Store(home) as second:
            (f,) = import_files(second, [path], refresh_flags=False).added
            other.append(f.session_id)
        return placed

    monkeypatch.setattr(store, "place_raw", place_then_race)
    return other


def test_bytes_stored_by_another_importer_meanwhile_are_a_duplicate(files, tmp_path, monkeypatch):
    with Store(tmp_path / "home") as store:
        other = _race(store, tmp_path / "home", files["run1.hsn"], monkeypatch)
        report = import_files(store, [files["run1.hsn"]], refresh_flags=False)
        assert report.added == [] and report.failed == []
        assert report.duplicates == [(files["run1.hsn"], _sha(files["run1.hsn"]), other[0])]
        assert store.raw_path(_sha(files["run1.hsn"])).exists()


def test_a_failed_row_leaves_the_raw_file_another_importer_stored_meanwhile(files, tmp_path, monkeypatch):
    with Store(tmp_path / "home") as store:
        other = _race(store, tmp_path / "home", files["run1.hsn"], monkeypatch)

        def refuse(**kwargs):
            raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(store, "add_session", refuse)
        report = import_files(store, [files["run1.hsn"]], refresh_flags=False)
        ((path, _),) = report.failed
        assert path == files["run1.hsn"] and len(other) == 1
        # this import placed the raw file, but the other importer's session holds it now
        assert store.session_of(_sha(files["run1.hsn"])) == other[0]
        assert store.raw_path(_sha(files["run1.hsn"])).exists()


def test_a_refused_reanalysis_of_a_device_file_keeps_its_device_id(files, tmp_path, monkeypatch):
    # The session reader itself refuses start times no calendar holds, so the refused result is made
    # here: the real analysis, then its start time set out of range (what check_derived refuses).
    import dataclasses

    with Store(tmp_path) as store:
        (f,) = import_files(store, [files["run1.hsn"]], refresh_flags=False).added
        device_id = _row(store, f.session_id)["device_id"]
        assert device_id  # a device file names its device
        real = library.derive

        def out_of_range(recording, name):
            return dataclasses.replace(real(recording, name), start_time=1e15)

        monkeypatch.setattr(library, "derive", out_of_range)
        monkeypatch.setattr(hipsense.analysis, "ALGORITHM_VERSION", "99.0.0")
        report = reanalyze(store)
        row = _row(store, f.session_id)
    assert report.updated == [f.session_id]
    assert row["status"] == "error" and row["error"].startswith(f"session {f.session_id}: not stored, ")
    assert row["device_id"] == device_id and row["kind"] == "device"
