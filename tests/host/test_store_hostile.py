"""The store is never bricked (issue 16): a hostile file fails alone and leaves no trace, a bad row is
left out of every listing with one warning, a full disk fails one file and leaves the store as it was,
and temporaries of a killed import are cleaned up."""

from __future__ import annotations

import errno
import os
import struct
import subprocess
import sys
import time
import warnings
import zlib
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipsense.cli import main
from hipsense.formats import session_header
from hipsense.library import import_files
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV, Store, StoreError, StoreRowWarning

HUGE = 2**63 + 5
JAN1 = 1_735_689_600


def forge_start_time(good: bytes, start_time: int) -> bytes:
    """A session file whose header says ``start_time`` (u64 at byte 40), with its header CRC made
    valid again: what a hostile or broken clip could send."""
    data = bytearray(good)
    length = struct.unpack_from("<I", data, 8)[0]
    struct.pack_into("<Q", data, 40, start_time)
    struct.pack_into("<I", data, length - 4, zlib.crc32(bytes(data[: length - 4])))
    return bytes(data)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile")
    out = {}
    for seed in (1, 2):
        run = simulate_run(scenarios.steady_run(duration_s=20, seed=seed))
        out[f"run{seed}.hsn"] = run.write_device_file(
            d / f"run{seed}.hsn", start_time_unix=JAN1 + seed * 86400
        )
    (d / "huge-start.hsn").write_bytes(forge_start_time(out["run1.hsn"].read_bytes(), HUGE))
    out["huge-start.hsn"] = d / "huge-start.hsn"
    (d / "far-start.hsn").write_bytes(forge_start_time(out["run2.hsn"].read_bytes(), 10**15))
    out["far-start.hsn"] = d / "far-start.hsn"
    simulate_run(scenarios.steady_run(duration_s=20, seed=5)).write_csv(d / "run5.csv")
    table = pd.read_csv(d / "run5.csv")
    table["t_s"] -= table["t_s"].iloc[0]  # not UNIX time: the start comes from the options
    table.to_csv(d / "relative.csv", index=False)
    out["relative.csv"] = d / "relative.csv"
    return out


def snapshot(store: Store) -> dict:
    """Everything an import could leave behind: files under the data folder (the database's own files
    aside) and every table's rows."""
    names = {p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file()}
    names = {n for n in names if not n.startswith("hipsense.sqlite")}
    tables = ("runners", "raw_files", "sessions", "steps", "summaries")
    rows = {t: store.db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}
    return {"files": names, "rows": rows}


def still_usable(store: Store, files: dict[str, Path]) -> None:
    """Listings work and a good file still imports."""
    store.sessions()
    for name in store.runners():
        store.summaries(name)
    before = len(store.sessions())
    report = import_files(store, [files["run2.hsn"]])
    assert report.failed == []
    assert len(store.sessions()) == before + len(report.added)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    return tmp_path / "home"


# -- a hostile file fails alone ---------------------------------------------------------------------


def test_a_huge_start_time_is_refused_by_the_reader_with_no_trace(files, tmp_path):
    with Store(tmp_path / "home") as store:
        import_files(store, [files["run1.hsn"]])
        before = snapshot(store)
        report = import_files(store, [files["huge-start.hsn"]])
        assert [p.name for p, _ in report.failed] == ["huge-start.hsn"]
        assert "start_time" in report.failed[0][1] and "\n" not in report.failed[0][1]
        assert snapshot(store) == before
        still_usable(store, files)


@pytest.mark.parametrize("name", ["huge-start.hsn", "far-start.hsn"])
def test_the_store_does_not_trust_its_reader(files, tmp_path, monkeypatch, name):
    """An older (or buggy) reader that lets any start time through: the store itself refuses it, in one
    line, and keeps neither the raw file nor a row."""
    monkeypatch.setattr(session_header, "START_TIME_MAX", 2**64)
    with Store(tmp_path / "home") as store:
        import_files(store, [files["run1.hsn"]])
        before = snapshot(store)
        report = import_files(store, [files[name]])
        assert [p.name for p, _ in report.failed] == [name]
        message = report.failed[0][1]
        assert name in message and "start time" in message and "\n" not in message
        assert snapshot(store) == before
        still_usable(store, files)


def test_a_csv_start_time_out_of_range_is_refused(files, tmp_path):
    """The same through the Python API: a CSV dated in the year 31 million by its options."""
    with Store(tmp_path / "home") as store:
        before = snapshot(store)
        report = import_files(store, [files["relative.csv"]], csv_options={"start_time_unix": 1e15})
        assert [p.name for p, _ in report.failed] == ["relative.csv"]
        assert snapshot(store) == before
        still_usable(store, files)


def test_the_commands_survive_a_file_from_the_far_future(files, home, monkeypatch, capsys):
    monkeypatch.setattr(session_header, "START_TIME_MAX", 2**64)
    assert main(["import", str(files["run1.hsn"])]) == 0
    assert main(["import", str(files["huge-start.hsn"])]) == 2
    err = capsys.readouterr().err
    assert err.count("failed:") == 1 and "huge-start.hsn" in err
    for command in (["sessions"], ["trends"], ["flags"], ["import", str(files["run2.hsn"])]):
        assert main(command) == 0, command
    assert "1 added" in capsys.readouterr().out


# -- a row that cannot be read is left out, with a warning --------------------------------------------


def forge_rows(store: Store) -> dict[str, int]:
    """Three sessions whose rows an older or damaged database could hold: a start time no calendar has,
    a count that is text, a summary that is not JSON. Returns their ids by what is wrong."""
    ids = store.sessions()["id"].tolist()
    far, text, broken = ids[:3]
    store.db.execute("UPDATE sessions SET start_time = ? WHERE id = ?", (1e15, far))
    store.db.execute("UPDATE sessions SET steps = 'many' WHERE id = ?", (text,))
    store.db.execute("UPDATE summaries SET json = '{\"steps\": 12, ' WHERE session_id = ?", (broken,))
    return {"far": far, "text": text, "broken": broken}


@pytest.fixture
def forged(files, home, tmp_path):
    """A store of four sessions of one runner, three of them with a forged row."""
    d = tmp_path / "more"
    d.mkdir()
    paths = [files["run1.hsn"], files["run2.hsn"]]
    for seed in (3, 4):
        run = simulate_run(scenarios.steady_run(duration_s=20, seed=seed))
        paths.append(run.write_device_file(d / f"run{seed}.hsn", start_time_unix=JAN1 + seed * 86400))
    with Store(home) as store:
        report = import_files(store, paths)
        assert len(report.added) == 4
        bad = forge_rows(store)
    return bad


def test_listings_skip_unreadable_rows_with_one_warning_each(forged, home):
    with Store(home) as store, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        listed = store.sessions()
        assert forged["far"] not in listed["id"].tolist()
        assert forged["text"] not in listed["id"].tolist()
        assert len(listed) == 2
        messages = [str(w.message) for w in caught if issubclass(w.category, StoreRowWarning)]
        assert len(messages) == 2
        for sid, message in zip((forged["far"], forged["text"]), sorted(messages), strict=True):
            assert f"session {sid}" in message
            assert f"hipsense forget {sid}" in message and "hipsense doctor" in message
        caught.clear()
        summaries = store.summaries("default")
        assert forged["broken"] not in [s for s, _, _ in summaries]
        assert forged["far"] not in [s for s, _, _ in summaries]
        assert any(f"session {forged['broken']}" in str(w.message) for w in caught)


@pytest.mark.parametrize(
    "command",
    [
        ["sessions"],
        ["trends"],
        ["flags"],
        ["report", "--weeks", "4", "--out", "{tmp}/r.html"],
        ["export", "--out", "{tmp}/x", "--format", "csv"],
    ],
)
def test_every_command_still_works_on_a_store_with_bad_rows(forged, home, tmp_path, capsys, command):
    command = [c.replace("{tmp}", str(tmp_path)) for c in command]
    assert main(command) == 0, capsys.readouterr()
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("warning:")]
    assert lines, err
    assert all("hipsense forget" in line for line in lines)


def test_a_report_of_an_unreadable_session_is_one_clear_error(forged, home, capsys):
    assert main(["report", str(forged["broken"]), "--out", str(home.parent / "r.html")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and f"hipsense forget {forged['broken']}" in errors[0]
    assert all(line.startswith(("error:", "warning:")) for line in lines)


# -- a full disk fails one file and leaves the store as it was ----------------------------------------


def test_no_space_while_copying_the_raw_file(files, tmp_path, monkeypatch):
    with Store(tmp_path / "home") as store:
        import_files(store, [files["run1.hsn"]])
        before = snapshot(store)

        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        with monkeypatch.context() as m:
            m.setattr(os, "fsync", full)
            report = import_files(store, [files["run2.hsn"]])
        assert [p.name for p, _ in report.failed] == ["run2.hsn"]
        assert "disk full while storing it" in report.failed[0][1]
        assert snapshot(store) == before
        still_usable(store, files)


def test_a_full_database(files, tmp_path):
    """SQLite's own SQLITE_FULL (the database may not grow), as on a full disk."""
    with Store(tmp_path / "home") as store:
        import_files(store, [files["run1.hsn"]])
        before = snapshot(store)
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages}")
        report = import_files(store, [files["run2.hsn"]])
        assert [p.name for p, _ in report.failed] == ["run2.hsn"]
        assert "disk full while storing it" in report.failed[0][1]
        assert snapshot(store) == before
        store.db.execute("PRAGMA max_page_count = 1073741823")
        still_usable(store, files)


_FILE_TOO_LARGE = """
import resource, signal, sys
from hipsense.library import import_files
from hipsense.store import Store
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
store = Store(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), resource.RLIM_INFINITY))
report = import_files(store, [sys.argv[2]])
print(report.failed[0][1] if report.failed else "stored")
"""


def test_file_too_large_in_another_process(files, tmp_path):
    """EFBIG for real: the file size limit of the process is below the file's size."""
    with Store(tmp_path / "home") as store:
        import_files(store, [files["run1.hsn"]])
        before = snapshot(store)
    limit = files["run2.hsn"].stat().st_size // 2
    out = subprocess.run(
        [sys.executable, "-c", _FILE_TOO_LARGE, str(tmp_path / "home"), str(files["run2.hsn"]), str(limit)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout.strip()
    assert "disk full while storing it" in out and "run2.hsn" in out
    with Store(tmp_path / "home") as store:
        assert snapshot(store) == before
        still_usable(store, files)


# -- what a killed import leaves behind -------------------------------------------------------------


def test_old_temporaries_are_cleaned_at_the_next_import(files, tmp_path):
    with Store(tmp_path / "home") as store:
        old = store.raw_dir / ".import-killed.hsn"
        old.write_bytes(b"half a file")
        an_hour_ago = time.time() - 3600
        os.utime(old, (an_hour_ago, an_hour_ago))
        fresh = store.raw_dir / ".import-running.hsn"  # another process's import, going on now
        fresh.write_bytes(b"being written")
        import_files(store, [files["run1.hsn"]])
        assert not old.exists()
        assert fresh.exists()


# -- forget ------------------------------------------------------------------------------------------


def test_forget_moves_the_raw_file_aside_and_import_takes_it_back(files, tmp_path):
    from hipsense.library import forget

    with Store(tmp_path / "home") as store:
        import_files(store, [files["run1.hsn"], files["run2.hsn"]], runner="ana")
        first, second = store.sessions()["id"].tolist()
        sha = store.sessions()["sha256"].iloc[0]
        gone = forget(store, first)
        assert gone.runner == "ana" and gone.original_name == "run1.hsn"
        assert gone.quarantined == store.root / "quarantine" / f"{sha}.hsn"
        assert gone.quarantined.read_bytes() == files["run1.hsn"].read_bytes()
        assert store.sessions()["id"].tolist() == [second]
        assert not store.raw_path(sha).exists()
        for table, key in (("steps", "session_id"), ("summaries", "session_id"), ("sessions", "id")):
            assert store.db.execute(f"SELECT count(*) FROM {table} WHERE {key} = ?", (first,)).fetchone() == (
                0,
            )
        assert store.db.execute("SELECT count(*) FROM raw_files WHERE sha256 = ?", (sha,)).fetchone() == (0,)
        assert store.integrity_check() == "ok"
        report = import_files(store, [gone.quarantined], runner="ana")
        assert len(report.added) == 1
        with pytest.raises(StoreError, match="no session 99"):
            forget(store, 99)
        sha2 = store.sessions().set_index("id").loc[second, "sha256"]
        purged = forget(store, second, purge=True)
        assert purged.quarantined is None and purged.purged
        assert not list((store.root / "quarantine").glob(f"{sha2}*"))
        assert not store.raw_path(sha2).exists()
        assert len(store.sessions()) == 1


def test_forget_removes_a_session_whose_row_cannot_be_read(forged, home):
    from hipsense.library import forget

    with Store(home) as store:
        for sid in forged.values():
            forget(store, sid)
        with warnings.catch_warnings():
            warnings.simplefilter("error", StoreRowWarning)
            assert len(store.sessions()) == 1
            assert len(store.summaries("default")) == 1


# -- doctor ------------------------------------------------------------------------------------------


@pytest.fixture
def damaged(files, home, tmp_path):
    """Five sessions and everything that can go wrong around them (see the comments)."""
    d = tmp_path / "more"
    d.mkdir()
    paths = [files["run1.hsn"], files["run2.hsn"]]
    for seed in (3, 4, 6):
        run = simulate_run(scenarios.steady_run(duration_s=20, seed=seed))
        paths.append(run.write_device_file(d / f"run{seed}.hsn", start_time_unix=JAN1 + seed * 86400))
    with Store(home) as store:
        assert len(import_files(store, paths).added) == 5
        s = store.sessions().set_index("original_name")
        ids = {name: int(s.loc[name, "id"]) for name in s.index}
        sha = {name: s.loc[name, "sha256"] for name in s.index}
        db = store.db
        # a temporary of a killed import
        old = store.raw_dir / ".import-killed.csv"
        old.write_bytes(b"t_s,acc_x\n")
        os.utime(old, (time.time() - 3600, time.time() - 3600))
        # run1: raw file missing and a summary that is not JSON: cannot be reanalysed, marked instead
        store.raw_path(sha["run1.hsn"]).unlink()
        db.execute("UPDATE summaries SET json = 'oops' WHERE session_id = ?", (ids["run1.hsn"],))
        # run2: raw file damaged on disk
        raw2 = store.raw_path(sha["run2.hsn"])
        os.chmod(raw2, 0o600)
        with open(raw2, "r+b") as fh:
            fh.seek(200)
            fh.write(b"\xff\xff")
        # run3: a start time no calendar holds (reanalysed from its intact raw file)
        db.execute("UPDATE sessions SET start_time = 1e15 WHERE id = ?", (ids["run3.hsn"],))
        # run4: its rows vanished (an import killed after placing the raw file): an orphan raw file
        for table, key in (("steps", "session_id"), ("summaries", "session_id"), ("sessions", "id")):
            db.execute(f"DELETE FROM {table} WHERE {key} = ?", (ids["run4.hsn"],))
        db.execute("DELETE FROM raw_files WHERE sha256 = ?", (sha["run4.hsn"],))
        # run6: no derived data
        db.execute("DELETE FROM summaries WHERE session_id = ?", (ids["run6.hsn"],))
        # a raw-file row without a session
        db.execute(
            "INSERT INTO raw_files VALUES (?, 'raw/ff/x', 'device', 1, 0, 'ghost.hsn', NULL)", ("f" * 64,)
        )
    return {"ids": ids, "sha": sha}


def test_doctor_dry_run_reports_everything_and_changes_nothing(damaged, home):
    from hipsense.doctor import doctor

    with Store(home) as store:
        before = snapshot(store)
        report = doctor(store, dry_run=True)
        assert snapshot(store) == before
    checks = sorted((f.check, f.what.split(" (")[0]) for f in report.findings)
    ids = damaged["ids"]
    assert checks == sorted(
        [
            ("temporary", "raw/.import-killed.csv"),
            ("raw-file row", "f" * 12),
            ("orphan file", store.raw_path(damaged["sha"]["run4.hsn"]).relative_to(home).as_posix()),
            ("raw file", f"session {ids['run1.hsn']}"),
            ("raw file", f"session {ids['run2.hsn']}"),
            ("row", f"session {ids['run1.hsn']}"),
            ("row", f"session {ids['run3.hsn']}"),
            ("row", f"session {ids['run6.hsn']}"),
        ]
    )
    assert not any(f.fixed for f in report.findings)
    cannot = [f for f in report.findings if not f.action.startswith("would ")]
    assert [(f.what, f.problem) for f in cannot] == [
        (f"session {ids['run1.hsn']} (run1.hsn)", "its raw file is missing")
    ]


def test_doctor_repairs_what_it_can(damaged, home, files):
    from hipsense.doctor import doctor
    from hipsense.library import forget

    ids, sha = damaged["ids"], damaged["sha"]
    with Store(home) as store:
        report = doctor(store)
        left = sorted(f.what for f in report.unfixed)
        assert left == [f"session {ids['run1.hsn']} (run1.hsn)"]  # its raw file is gone for good
        assert not (store.raw_dir / ".import-killed.csv").exists()
        orphan = store.root / "quarantine" / f"{sha['run4.hsn']}.hsn"
        assert orphan.is_file()
        assert (store.root / "quarantine" / f"{sha['run2.hsn']}.damaged").is_file()
        with warnings.catch_warnings():
            warnings.simplefilter("error", StoreRowWarning)
            listed = store.sessions().set_index("id")
            store.summaries("default")
        assert listed.loc[ids["run3.hsn"], "status"] == "ok"
        assert listed.loc[ids["run3.hsn"], "start_time"] == pd.Timestamp(JAN1 + 3 * 86400, unit="s", tz="UTC")
        assert listed.loc[ids["run6.hsn"], "status"] == "ok" and store.summary(ids["run6.hsn"]) is not None
        assert listed.loc[ids["run1.hsn"], "status"] == "error"
        assert store.integrity_check() == "ok"
        # Again: only the two sessions whose raw files are lost are left, and forget removes them.
        again = doctor(store)
        assert sorted(f.what.split(" (")[0] for f in again.findings) == sorted(
            [f"session {ids['run1.hsn']}", f"session {ids['run2.hsn']}"]
        )
        forget(store, ids["run1.hsn"])
        forget(store, ids["run2.hsn"])
        assert doctor(store).findings == []
        # The orphan goes back in by the ordinary import.
        assert len(import_files(store, [orphan]).added) == 1


def test_a_csv_dated_in_the_year_9999_on_the_command_line(files, home, capsys):
    """`--start-time` takes any ISO date; one the store could not read back is refused in one line."""
    assert main(["import", str(files["relative.csv"]), "--start-time", "9999-01-01"]) == 2
    err = capsys.readouterr().err
    assert err.count("failed:") == 1 and "start time" in err
    with Store(home) as store:
        assert store.sessions().empty and list(store.raw_dir.iterdir()) == []
    assert main(["sessions"]) == 0 and main(["trends"]) == 0


def test_a_file_larger_than_any_recording_is_not_read(files, tmp_path, monkeypatch):
    import hipsense.library

    size = files["run1.hsn"].stat().st_size
    monkeypatch.setattr(hipsense.library, "MAX_IMPORT_BYTES", size - 1)
    with Store(tmp_path / "home") as store:
        before = snapshot(store)
        report = import_files(store, [files["run1.hsn"]])
        assert [p.name for p, _ in report.failed] == ["run1.hsn"] and "MiB" in report.failed[0][1]
        assert snapshot(store) == before
    monkeypatch.setattr(hipsense.library, "MAX_IMPORT_BYTES", size)
    with Store(tmp_path / "home") as store:
        assert len(import_files(store, [files["run1.hsn"]]).added) == 1


# -- any value in any figure of a row ---------------------------------------------------------------

_ANY = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(max_size=20),
    st.binary(max_size=20),
)


@pytest.fixture(scope="module")
def base_store(files, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("base") / "home"
    with Store(home) as store:
        assert len(import_files(store, [files["run1.hsn"], files["run2.hsn"]]).added) == 2
    return home


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=_ANY,
    duration=_ANY,
    steps=_ANY,
    cadence=_ANY,
    summary=st.one_of(st.text(max_size=30), st.sampled_from(['{"steps": "x"}', '{"sides": 3}', "[]", "{}"])),
)
def test_no_value_in_a_row_breaks_a_listing(base_store, tmp_path, start, duration, steps, cadence, summary):
    """Whatever an older hipsense or a hand edit left in a session's figures and summary: listings,
    trends and doctor run, leaving out at most that session, and doctor repairs it."""
    import shutil
    import uuid

    from hipsense.doctor import doctor
    from hipsense.trends.build import build_trends

    home = tmp_path / uuid.uuid4().hex
    shutil.copytree(base_store, home)
    with Store(home) as store, warnings.catch_warnings():
        warnings.simplefilter("ignore", StoreRowWarning)
        sid = int(store.sessions()["id"].iloc[0])
        store.db.execute(
            "UPDATE sessions SET start_time = ?, duration_s = ?, steps = ?, cadence_spm = ? WHERE id = ?",
            (start, duration, steps, cadence, sid),
        )
        store.db.execute("UPDATE summaries SET json = ? WHERE session_id = ?", (summary, sid))
        assert len(store.sessions()) >= 1
        assert len(store.summaries("default")) >= 1
        build_trends(store, "default")
        doctor(store)
        warnings.simplefilter("error", StoreRowWarning)
        assert len(store.sessions()) == 2
        build_trends(store, "default")


def test_the_same_file_through_sync_is_refused_and_not_erased(files, tmp_path, monkeypatch):
    """Sync keeps each verified file through the same import: a refusal comes back as the message (the
    clip then keeps the session: it is erased only for a Kept result), and the store is unchanged."""
    from hipsense.cli.clip import keep_in_store
    from hipsense.sync.engine import Kept

    monkeypatch.setattr(session_header, "START_TIME_MAX", 2**64)
    with Store(tmp_path / "home") as store:
        keep = keep_in_store(store, "ana")
        assert isinstance(keep(files["run1.hsn"]), Kept)
        before = snapshot(store)
        refused = keep(files["huge-start.hsn"])
        assert isinstance(refused, str) and "start time" in refused
        assert snapshot(store) == before


def test_walking_times_leave_out_what_is_not_a_time(forged, home):
    """The listing's walking times come from the summaries' JSON in one query: a summary that is not
    JSON, or whose walking time is text, negative or not a number, is left out, not shown or raised."""
    with Store(home) as store:
        ids = sorted(store.walking_times())
        assert forged["broken"] not in ids and len(ids) == 3  # the three readable summaries
        text, negative = forged["far"], forged["text"]
        for sid, value in ((text, '"long"'), (negative, "-5")):
            store.db.execute(
                "UPDATE summaries SET json = json_set(json, '$.walking_time_s', json(?)) WHERE session_id = ?",
                (value, sid),
            )
        times = store.walking_times()
        assert text not in times and negative not in times
        assert all(v == 0.0 for v in times.values())  # steady runs: no walking
