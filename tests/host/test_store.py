"""The local store: content-addressed raw files, duplicates, corrupt files, reanalysis, migrations and
several processes at once."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hipsense.analysis
from hipsense.library import import_files, reanalyze
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV, MIGRATIONS, SCHEMA_VERSION, Store, StoreError, default_root, sha256_file


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Short simulated runs as device files and CSVs, plus files the store must cope with."""
    d = tmp_path_factory.mktemp("inputs")
    out: dict[str, Path] = {}
    for seed in range(1, 7):
        run = simulate_run(scenarios.steady_run(duration_s=20, seed=seed))
        out[f"run{seed}.hsn"] = run.write_device_file(
            d / f"run{seed}.hsn", start_time_unix=1_735_689_600 + seed
        )
    simulate_run(scenarios.steady_run(duration_s=20, seed=9)).write_csv(d / "run9.csv")
    out["run9.csv"] = d / "run9.csv"
    # A still recording: readable, but there is no running in it.
    t = np.arange(0, 30, 0.01)
    still = pd.DataFrame({"t_s": t, "acc_x": 0.0, "acc_y": 0.0, "acc_z": 9.81, "gyr_x": 0.0, "gyr_y": 0.0})
    still["gyr_z"] = 0.0
    still.to_csv(d / "still.csv", index=False)
    out["still.csv"] = d / "still.csv"
    data = out["run1.hsn"].read_bytes()
    (d / "truncated.hsn").write_bytes(data[:20])
    out["truncated.hsn"] = d / "truncated.hsn"
    (d / "garbage.bin").write_bytes(bytes(range(256)) * 8)
    out["garbage.bin"] = d / "garbage.bin"
    (d / "copy-of-run1.hsn").write_bytes(data)
    out["copy-of-run1.hsn"] = d / "copy-of-run1.hsn"
    return out


def _raw_files(store: Store) -> list[Path]:
    return sorted(p for p in store.raw_dir.rglob("*") if p.is_file())


def _count(store: Store, table: str) -> int:
    return store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_import_stores_raw_files_content_addressed_and_read_only(files, tmp_path):
    with Store(tmp_path / "home") as store:
        report = import_files(store, [files["run1.hsn"], files["run9.csv"]], runner="ana")
        assert [f.status for f in report.added] == ["ok", "ok"] and not report.failed
        for f, src in zip(report.added, (files["run1.hsn"], files["run9.csv"]), strict=True):
            raw = store.raw_path(f.sha256)
            assert raw.parent.name == f.sha256[:2] and raw.name == f.sha256[2:]
            assert sha256_file(raw) == sha256_file(src) == f.sha256
            assert stat.S_IMODE(raw.stat().st_mode) == 0o400
            assert stat.S_IMODE(raw.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
        assert not list(store.raw_dir.glob(".import-*")), "temporary copies left behind"
        sessions = store.sessions()
        assert list(sessions["runner"]) == ["ana", "ana"]
        assert set(sessions["kind"]) == {"device", "csv"}
        device = sessions[sessions["kind"] == "device"].iloc[0]
        assert device["start_time"] == pd.Timestamp(1_735_689_601, unit="s", tz="UTC")
        assert device["device_id"] == "hipsense-sim"
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_stored_steps_and_summary_are_the_analysis(files, tmp_path):
    from hipsense.analysis import analyse
    from hipsense.formats.load import load_recording

    analysis = analyse(load_recording(files["run2.hsn"]))
    expected = analysis.summary.to_dict()
    with Store(tmp_path) as store:
        (added,) = import_files(store, [files["run2.hsn"]]).added
        steps = store.steps(added.session_id)
        # Columns filled later (the linked watch's speed and grade) are empty until a watch is linked.
        later = [c for c in steps.columns if c not in analysis.steps.columns]
        assert steps[later].isna().all().all()
        pd.testing.assert_frame_equal(
            steps.drop(columns=["side", "quality", *later]),
            analysis.steps.drop(columns=["side", "quality"]),
            check_dtype=False,
        )
        assert list(steps["side"]) == list(analysis.steps["side"])
        summary = store.summary(added.session_id)
        assert summary["steps"] == expected["steps"] == len(steps)
        assert summary["sides"] == expected["sides"]
        assert summary["source"] == "run2.hsn"
        row = store.sessions().iloc[0]
        assert row["steps"] == len(steps) and row["cadence_spm"] == pytest.approx(expected["cadence_spm"])


def test_import_twice_is_a_noop(files, tmp_path):
    batch = [files["run1.hsn"], files["run2.hsn"], files["run9.csv"]]
    with Store(tmp_path) as store:
        first = import_files(store, batch)
        assert len(first.added) == 3
        counts = {t: _count(store, t) for t in ("runners", "raw_files", "sessions", "steps", "summaries")}
        raw = {p: (sha256_file(p), p.stat().st_mtime_ns) for p in _raw_files(store)}
        again = import_files(store, batch)
        assert not again.added and not again.failed
        assert [sid for _, _, sid in again.duplicates] == [f.session_id for f in first.added]
        # The same bytes under another name (and for another runner) are a duplicate too.
        other = import_files(store, [files["copy-of-run1.hsn"]], runner="someone-else")
        assert not other.added and other.duplicates[0][2] == first.added[0].session_id
        assert {t: _count(store, t) for t in counts} == counts
        assert {p: (sha256_file(p), p.stat().st_mtime_ns) for p in _raw_files(store)} == raw
    with Store(tmp_path) as reopened:  # a new process sees the same
        assert len(import_files(reopened, batch).duplicates) == 3


def test_corrupt_files_are_reported_and_do_not_stop_the_rest(files, tmp_path):
    batch = [
        files["truncated.hsn"],
        files["run1.hsn"],
        files["garbage.bin"],
        tmp_path / "missing.hsn",
        tmp_path,  # a folder
        files["run3.hsn"],
    ]
    seen = []
    with Store(tmp_path / "home") as store:
        report = import_files(store, batch, progress=lambda done, total, cur: seen.append((done, total)))
        assert [f.path for f in report.added] == [files["run1.hsn"], files["run3.hsn"]]
        failed = dict(report.failed)
        assert set(failed) == {
            files["truncated.hsn"],
            files["garbage.bin"],
            tmp_path / "missing.hsn",
            tmp_path,
        }
        for path, message in failed.items():
            assert str(path) in message and "\n" not in message.strip()
        assert "import" not in failed[files["truncated.hsn"]], (
            "message names the user's file, not a temp copy"
        )
        assert len(_raw_files(store)) == 2, "nothing of an unreadable file is kept"
        assert not list(store.raw_dir.glob(".import-*"))
        assert seen[0] == (0, 6) and seen[-1] == (6, 6)
        assert store.integrity_check() == "ok"


def test_a_readable_file_without_running_is_stored_with_its_error(files, tmp_path):
    with Store(tmp_path) as store:
        report = import_files(store, [files["still.csv"], files["run4.hsn"]])
        still, run = report.added
        assert still.status == "error" and "still.csv" in still.error
        assert run.status == "ok"
        assert report.analysis_errors == [still]
        listed = store.sessions().set_index("id")
        assert listed.loc[still.session_id, "status"] == "error"
        assert listed.loc[still.session_id, "error"] == still.error
        assert store.summary(still.session_id) is None and store.steps(still.session_id).empty
        assert store.raw_path(still.sha256).exists()


def test_reanalyze_after_a_version_bump_updates_derived_tables_and_not_raw_files(
    files, tmp_path, monkeypatch
):
    with Store(tmp_path) as store:
        import_files(store, [files["run1.hsn"], files["run9.csv"], files["still.csv"]], runner="ana")
        raw = {p: (sha256_file(p), p.stat().st_mtime_ns, p.stat().st_mode) for p in _raw_files(store)}
        before = store.sessions()
        assert reanalyze(store).updated == []  # nothing outdated yet
        old_version = hipsense.analysis.ALGORITHM_VERSION
        monkeypatch.setattr(hipsense.analysis, "ALGORITHM_VERSION", "99.0.0")
        report = reanalyze(store)
        assert report.updated == list(before["id"]) and report.up_to_date == 0
        assert [sid for sid, _ in report.errors] == list(before.loc[before["status"] == "error", "id"])
        after = store.sessions()
        assert set(after["algorithm_version"]) == {"99.0.0"} and old_version != "99.0.0"
        assert list(after["status"]) == list(before["status"])
        assert list(after["steps"].fillna(-1)) == list(before["steps"].fillna(-1))
        versions = store.db.execute("SELECT DISTINCT algorithm_version FROM summaries").fetchall()
        assert versions == [("99.0.0",)]
        for sid in after.loc[after["status"] == "ok", "id"]:
            assert store.summary(int(sid))["algorithm_version"] == "99.0.0"
        assert reanalyze(store).updated == [], "up to date now"
        assert len(reanalyze(store, all=True).updated) == 3
        assert {p: (sha256_file(p), p.stat().st_mtime_ns, p.stat().st_mode) for p in _raw_files(store)} == raw
        assert store.integrity_check() == "ok"


def test_reanalyze_leaves_a_session_whose_raw_file_changed(files, tmp_path, monkeypatch):
    with Store(tmp_path) as store:
        (added,) = import_files(store, [files["run5.hsn"]]).added
        raw = store.raw_path(added.sha256)
        os.chmod(raw, 0o600)
        raw.write_bytes(raw.read_bytes()[:-10])
        monkeypatch.setattr(hipsense.analysis, "ALGORITHM_VERSION", "99.0.0")
        report = reanalyze(store)
        assert report.updated == [] and "does not match its hash" in report.errors[0][1]
        assert store.sessions()["algorithm_version"].iloc[0] != "99.0.0"
        assert len(store.steps(added.session_id)) > 0


def test_reanalyze_recomputes_the_flags_of_the_runners_it_reanalysed(files, tmp_path, monkeypatch):
    import hipsense.library

    with Store(tmp_path) as store:
        (ana,) = import_files(store, [files["run1.hsn"]], runner="ana").added
        import_files(store, [files["run2.hsn"]], runner="ben")
        store.db.execute("UPDATE sessions SET algorithm_version = '0.0.1' WHERE id = ?", (ana.session_id,))
        refreshed: list[str] = []
        monkeypatch.setattr(
            hipsense.library, "refresh_session_flags", lambda store, runner: refreshed.append(runner)
        )
        assert reanalyze(store).updated == [ana.session_id]
        assert refreshed == ["ana"], "ben's history did not change"
        assert reanalyze(store).updated == [] and refreshed == ["ana"]


def _make_v1_store(root: Path, src: Path) -> str:
    """A data folder as the first schema left it: one session, no summaries."""
    sha = sha256_file(src)
    raw = root / "raw" / sha[:2] / sha[2:]
    raw.parent.mkdir(parents=True)
    raw.write_bytes(src.read_bytes())
    db = sqlite3.connect(root / "hipsense.sqlite", isolation_level=None)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO runners (name, created) VALUES ('old', 0)")
    db.execute(
        "INSERT INTO raw_files VALUES (?, ?, 'device', ?, 0, 'old.hsn', NULL)",
        (sha, f"raw/{sha[:2]}/{sha[2:]}", raw.stat().st_size),
    )
    db.execute(
        "INSERT INTO sessions (runner_id, raw_sha256, duration_s, status, algorithm_version) "
        "VALUES (1, ?, 20.0, 'ok', '0.0.1')",
        (sha,),
    )
    db.close()
    return sha


def test_opening_an_old_database_migrates_it(files, tmp_path):
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 2
    sha = _make_v1_store(tmp_path, files["run6.hsn"])
    with Store(tmp_path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        row = store.sessions().iloc[0]
        assert row["runner"] == "old" and row["sha256"] == sha and row["original_name"] == "old.hsn"
        assert pd.isna(row["algorithm_version"]), "sessions from before summaries need reanalysis"
        assert reanalyze(store).updated == [int(row["id"])]
        assert store.summary(int(row["id"]))["steps"] > 0
        assert store.integrity_check() == "ok"
    with Store(tmp_path) as again:  # migrating is done once
        assert again.schema_version() == SCHEMA_VERSION and len(again.sessions()) == 1


def test_a_database_newer_than_hipsense_is_refused(tmp_path):
    Store(tmp_path).close()
    db = sqlite3.connect(tmp_path / "hipsense.sqlite")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this hipsense"):
        Store(tmp_path)


def test_data_folder_location_and_errors(tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "env-home"))
    assert default_root() == tmp_path / "env-home"
    with Store() as store:
        assert store.root == tmp_path / "env-home" and store.db_path.exists()
    monkeypatch.delenv(HOME_ENV)
    import platformdirs

    assert default_root() == Path(platformdirs.user_data_path("hipsense", appauthor=False))
    with pytest.raises(StoreError, match="no hipsense data folder"):
        Store(tmp_path / "missing", create=False)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        Store(tmp_path / "a-file")
    with pytest.raises(StoreError, match="cannot create"):
        Store(tmp_path / "a-file" / "below")


_IMPORTER = """
import sys
from hipsense.library import import_files
from hipsense.store import Store
store = Store(sys.argv[1])
for path in sys.argv[2:]:
    report = import_files(store, [path], runner="sync")
    assert not report.failed, report.failed
store.close()
"""


def test_concurrent_sync_and_report_do_not_corrupt_the_database(files, tmp_path):
    root = tmp_path / "home"
    Store(root).close()
    runs = [files[f"run{i}.hsn"] for i in range(1, 7)] + [files["run9.csv"]]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    # Two "syncs" at once with overlapping files, while this process reports in a loop.
    procs = [
        subprocess.Popen([sys.executable, "-c", _IMPORTER, str(root), *map(str, batch)], env=env)
        for batch in (runs, runs[::-1])
    ]
    reads = 0
    with Store(root) as reader:
        while any(p.poll() is None for p in procs):
            listed = reader.sessions()
            for sid in listed.loc[listed["status"] == "ok", "id"]:
                summary = reader.summary(int(sid))
                assert summary is not None and summary["steps"] == len(reader.steps(int(sid)))
            reads += 1
            time.sleep(0.01)
        assert [p.wait(timeout=120) for p in procs] == [0, 0]
        listed = reader.sessions()
        assert len(listed) == len(runs) and list(listed["status"]) == ["ok"] * len(runs)
        assert sorted(listed["original_name"]) == sorted(p.name for p in runs)
        assert _count(reader, "summaries") == len(runs)
        assert reader.integrity_check() == "ok"
        assert len(_raw_files(reader)) == len(runs)
    assert reads > 1


def test_listing_filters_by_runner(files, tmp_path):
    with Store(tmp_path) as store:
        import_files(store, [files["run1.hsn"]], runner="ana")
        import_files(store, [files["run2.hsn"], files["run3.hsn"]], runner="ben")
        assert store.runners() == ["ana", "ben"]
        assert len(store.sessions(runner="ben")) == 2 and len(store.sessions(runner="nobody")) == 0


def test_csv_options_are_stored_and_reused_by_reanalysis(files, tmp_path):
    from hipsense.formats.csv_input import csv_options as csv_options_from

    table = pd.read_csv(files["run9.csv"])
    for c in ("acc_x", "acc_y", "acc_z"):
        table[c] = table[c] / 9.80665
    table = table.rename(columns={"acc_x": "ax"})
    table.to_csv(tmp_path / "in-g.csv", index=False)
    options = csv_options_from(acc_unit="g", columns={"acc_x": "ax"})
    with Store(tmp_path / "home") as store:
        (plain,) = import_files(store, [files["run9.csv"]]).added
        (in_g,) = import_files(store, [tmp_path / "in-g.csv"], csv_options=options).added
        assert plain.status == in_g.status == "ok"
        stored = store.db.execute("SELECT csv_options FROM raw_files WHERE sha256 = ?", (in_g.sha256,))
        assert json.loads(stored.fetchone()[0]) == {"acc_unit": "g", "columns": {"acc_x": "ax"}}
        report = reanalyze(store, all=True)
        assert not report.errors
        assert abs(len(store.steps(in_g.session_id)) - len(store.steps(plain.session_id))) <= 1


def test_a_step_column_the_schema_lacks_is_kept_in_extra(files, tmp_path):
    from hipsense.store import Derived

    with Store(tmp_path) as store:
        (added,) = import_files(store, [files["run1.hsn"]]).added
        steps = store.steps(added.session_id)
        steps["new_metric"] = np.arange(len(steps), dtype=float)
        steps.loc[0, "new_metric"] = np.nan
        d = Derived("device", None, None, 20.0, "ok", None, "x", steps, {"steps": len(steps)})
        store.replace_derived(added.session_id, d)
        back = store.steps(added.session_id)
        assert back["new_metric"].isna().iloc[0] and list(back["new_metric"].iloc[1:]) == list(
            range(1, len(steps))
        )
        pd.testing.assert_frame_equal(back.drop(columns="new_metric"), steps.drop(columns="new_metric"))
