"""A store in a folder that cannot be written (a shared research disk, a copy on read-only media):
the commands that only read work, the ones that write refuse in one line saying what to do (D6)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hipsense.cli import main
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV, Store, StoreError

SETPRIV = shutil.which("setpriv")


def _reader_prefix() -> list[str]:
    """How to run a command that the file modes really stop: as root, chmod does not stop writes, so
    the command runs with every capability dropped (as the red-team did); skipped when that is not
    possible."""
    if not sys.platform.startswith("linux") and os.name != "posix":
        pytest.skip("file modes are POSIX")
    if os.geteuid() != 0:
        return []
    if SETPRIV is None:
        pytest.skip("running as root without setpriv: chmod does not stop root's writes")
    return [SETPRIV, "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--"]


def _snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    return {
        str(p.relative_to(root)): (
            p.stat().st_mode,
            p.stat().st_mtime_ns,
            p.read_bytes() if p.is_file() else b"",
        )
        for p in sorted(root.rglob("*"))
    }


def _chmod_tree(root: Path, writable: bool) -> None:
    for p in [root, *root.rglob("*")]:
        mode = p.stat().st_mode
        p.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@pytest.fixture
def ro_home(tmp_path, monkeypatch):
    """A store with two sessions of one runner, made read-only (``chmod -R a-w``)."""
    prefix = _reader_prefix()
    home = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(home))
    for i, seed in enumerate((3, 4)):
        simulate_run(scenarios.steady_run(duration_s=20, seed=seed)).write_device_file(
            tmp_path / f"r{i}.hsn", start_time_unix=1_767_225_600 + 86_400 * i
        )
    assert main(["import", "-q", str(tmp_path / "r0.hsn"), str(tmp_path / "r1.hsn"), "--runner", "ana"]) == 0
    assert not (home / "hipsense.sqlite-wal").exists()  # closed cleanly: no -wal or -shm to read from
    _chmod_tree(home, writable=False)
    yield home, prefix
    _chmod_tree(home, writable=True)


def _run(prefix: list[str], home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "hipsense.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, HOME_ENV: str(home)},
        timeout=300,
    )


def test_reading_commands_work_on_a_read_only_store(ro_home, tmp_path):
    home, prefix = ro_home
    before = _snapshot(home)
    out = tmp_path / "out"
    out.mkdir()
    for args in (
        ["sessions"],
        ["sessions", "--json"],
        ["trends", "-q"],
        ["flags"],
        ["report", "-q", "1", "--out", str(out / "one.html")],
        ["report", "-q", "--weeks", "4", "--out", str(out / "weeks.html")],
        ["export", "-q", "--format", "csv", "--out", str(out / "tables")],
        ["export", "-q", "--format", "fit", "1", "--out", str(out / "one.fit")],
        ["doctor", "--dry-run"],
    ):
        proc = _run(prefix, home, *args)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "error" not in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
    listing = _run(prefix, home, "sessions").stdout
    assert "ana" in listing and "2026-01-01" in listing and "2026-01-02" in listing
    assert (out / "one.html").stat().st_size and (out / "one.fit").stat().st_size
    assert (out / "tables" / "sessions.csv").is_file()
    assert _snapshot(home) == before, "a reading command changed the read-only store"


def test_writing_commands_refuse_in_one_line_on_a_read_only_store(ro_home, tmp_path):
    home, prefix = ro_home
    before = _snapshot(home)
    simulate_run(scenarios.steady_run(duration_s=20, seed=9)).write_device_file(tmp_path / "new.hsn")
    watch = tmp_path / "watch.fit"
    assert _run(prefix, home, "export", "-q", "--format", "fit", "1", "--out", str(watch)).returncode == 0
    for args in (
        ["import", "-q", str(tmp_path / "new.hsn")],
        ["forget", "1"],
        ["reanalyze", "--all"],
        ["reanalyze"],  # nothing to redo: still refused, not "0 sessions reanalysed"
        ["link", "1", str(watch)],  # refused before the watch file is copied in
        ["doctor"],
    ):
        proc = _run(prefix, home, *args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), (args, proc.stderr)
        assert (
            f"{home}: the hipsense data folder is read-only: copy it somewhere writable or set {HOME_ENV}"
            in (lines[0])
        ), (args, lines)
    assert _snapshot(home) == before


def test_a_read_only_database_file_in_a_writable_folder_is_read_only_too(tmp_path):
    """The folder may be writable and the database file not (``chmod 0444 hipsense.sqlite``)."""
    prefix = _reader_prefix()
    home = tmp_path / "home"
    simulate_run(scenarios.steady_run(duration_s=20, seed=3)).write_device_file(tmp_path / "a.hsn")
    with Store(home) as store:
        from hipsense.library import import_files

        assert len(import_files(store, [tmp_path / "a.hsn"]).added) == 1
    (home / "hipsense.sqlite").chmod(0o444)
    proc = _run(prefix, home, "sessions")
    assert proc.returncode == 0 and "default" in proc.stdout, proc.stderr
    proc = _run(prefix, home, "forget", "1")
    assert proc.returncode == 2 and "read-only" in proc.stderr, proc.stderr


def test_the_store_api_opens_read_only_and_refuses_writes(tmp_path):
    """In-process, as the CLI does: ``Store(create=False)`` on a folder it cannot write reads; a write
    is a StoreError saying what to do. Uses a connection SQLite itself opened read-only, so it runs as
    root too (os.access is what decides, and it is patched here to say "not writable")."""
    home = tmp_path / "home"
    simulate_run(scenarios.steady_run(duration_s=20, seed=3)).write_device_file(tmp_path / "a.hsn")
    from hipsense.library import import_files

    with Store(home) as store:
        (added,) = import_files(store, [tmp_path / "a.hsn"]).added
    with sqlite3.connect(home / "hipsense.sqlite") as db:  # as if a metric was added since the store was made
        db.execute("ALTER TABLE steps DROP COLUMN impact_g")
    real_access = os.access
    try:
        os.access = lambda p, mode, **kw: False if mode & os.W_OK else real_access(p, mode, **kw)  # type: ignore[assignment]
        with Store(home, create=False) as store:
            assert store.read_only
            assert len(store.sessions()) == 1
            steps = store.steps(added.session_id)
            assert len(steps) and steps["impact_g"].isna().all()  # no column to read: empty, not an error
            with pytest.raises(
                StoreError, match="is read-only: copy it somewhere writable or set HIPSENSE_HOME"
            ):
                store.forget(added.session_id)
            with pytest.raises(sqlite3.OperationalError):
                store.db.execute("DELETE FROM steps")  # the connection itself is read-only
        with pytest.raises(StoreError, match="is read-only: copy it somewhere writable"):
            Store(home)  # create=True: an import, which writes
    finally:
        os.access = real_access
    with Store(home, create=False) as store:
        assert not store.read_only and len(store.steps(added.session_id))
