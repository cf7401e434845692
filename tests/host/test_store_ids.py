"""Session ids are never reused (D10): a forgotten session's id stays gone, so an old id, an export or a
report made earlier never points at another run; stores made before this keep working."""

from __future__ import annotations

import sqlite3

import pytest

from hipsense.cli import main
from hipsense.library import import_files
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV, MIGRATIONS, SCHEMA_VERSION, Store


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    for i in range(3):
        simulate_run(scenarios.steady_run(duration_s=20, seed=10 + i)).write_device_file(d / f"r{i}.hsn")
    return d


def test_forget_then_import_gives_a_new_id(files, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert main(["import", "-q", str(files / "r0.hsn"), str(files / "r1.hsn")]) == 0
    assert main(["forget", "2", "--purge"]) == 0  # the newest: SQLite's own rowid would give 2 again
    assert main(["forget", "1", "--purge"]) == 0
    assert main(["import", "-q", str(files / "r2.hsn")]) == 0
    with Store(tmp_path / "home") as store:
        assert store.sessions()["id"].tolist() == [3]
    assert main(["import", "-q", str(files / "r0.hsn")]) == 0  # the same bytes again: a new session, 4
    with Store(tmp_path / "home") as store:
        assert store.sessions()["id"].tolist() == [3, 4]
    capsys.readouterr()


def test_ids_stay_unused_across_reopening(files, tmp_path):
    with Store(tmp_path) as store:
        (a,) = import_files(store, [files / "r0.hsn"]).added
        store.forget(a.session_id, purge=True)
    with Store(tmp_path) as store:
        (b,) = import_files(store, [files / "r1.hsn"]).added
    assert (a.session_id, b.session_id) == (1, 2)


def _old_store(root, files, version: int) -> None:
    """A store as schema ``version`` left it, with sessions 1 and 2 of which 2 was since forgotten."""
    with Store(root) as store:
        import_files(store, [files / "r0.hsn", files / "r1.hsn"])
        store.forget(2, purge=True)
    db = sqlite3.connect(root / "hipsense.sqlite", isolation_level=None)
    for name in ("store_counters",):
        db.execute(f"DROP TABLE IF EXISTS {name}")
    db.execute(f"PRAGMA user_version = {version}")
    db.close()


def test_an_old_store_opens_and_its_ids_go_on_from_the_largest(files, tmp_path):
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 4
    _old_store(tmp_path, files, SCHEMA_VERSION - 1)
    with Store(tmp_path) as store:
        assert store.schema_version() == SCHEMA_VERSION and store.integrity_check() == "ok"
        assert store.sessions()["id"].tolist() == [1]
        assert len(store.steps(1)) and store.summary(1) is not None
        (new,) = import_files(store, [files / "r2.hsn"]).added
        store.forget(new.session_id, purge=True)
        (again,) = import_files(store, [files / "r1.hsn"]).added
    # Session 2 was forgotten before the store kept a mark: 2 is the next after the largest id kept then.
    assert (new.session_id, again.session_id) == (2, 3)
