"""`hipsense export` with a damaged or missing raw file (red-team p13 F21): every session still exported
from its stored figures, the raw samples of the broken ones left out and named one line each, and a
failed export leaves no folder behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from hipsense.cli import main
from hipsense.export import export_store, read_table
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV, Store

JAN1 = 1_735_689_600  # 2025-01-01 00:00 UTC


def _store_with_broken_raw(tmp_path: Path, monkeypatch) -> tuple[Path, dict[str, int]]:
    """Three sessions imported through the CLI; then one raw file deleted and one truncated."""
    home = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(home))
    paths = []
    for i, name in enumerate(("intact", "missing", "damaged")):
        run = simulate_run(scenarios.steady_run(duration_s=20, seed=10 + i))
        paths.append(run.write_device_file(tmp_path / f"{name}.hsn", start_time_unix=JAN1 + i * 86400))
    assert main(["import", "-q", *map(str, paths)]) == 0
    with Store(home, create=False) as store:
        sessions = store.sessions()
        ids = dict(
            zip(sessions["original_name"].str.removesuffix(".hsn"), sessions["id"].astype(int), strict=True)
        )
        raw = {name: store.raw_path(sha) for name, sha in zip(ids, sessions["sha256"], strict=True)}
    raw["missing"].unlink()
    data = raw["damaged"].read_bytes()
    raw["damaged"].chmod(0o600)
    raw["damaged"].write_bytes(data[:3000])  # torn in the first block after the header
    return home, ids


def test_broken_raw_files_cost_only_their_raw_samples(tmp_path, monkeypatch, capsys):
    _, ids = _store_with_broken_raw(tmp_path, monkeypatch)
    out = tmp_path / "export"
    assert main(["export", "-q", "--out", str(out)]) == 1  # written, but not fully
    err = capsys.readouterr().err.replace("\n", " ")
    for name, when in (("missing", "2025-01-02"), ("damaged", "2025-01-03")):
        sid = ids[name]
        assert f"session {sid} ({when}, {name}.hsn): raw samples left out" in err
        assert f"hipsense forget {sid}" in err
    assert "its raw file is missing" in err and "no longer matches its hash" in err
    assert "error" not in err
    # Every session is in the tables made from its stored figures; raw only for the intact one.
    assert sorted(read_table(out, "sessions")["session_id"]) == sorted(ids.values())
    assert set(read_table(out, "steps")["session_id"]) == set(ids.values())
    assert set(read_table(out, "raw")["session_id"]) == {ids["intact"]}
    readme = (out / "README.md").read_text()
    assert f"session {ids['missing']}: raw samples left out, its raw file is missing" in readme
    assert "damaged.hsn" not in readme  # the README may be shared: ids and reasons only


def test_export_still_works_after_doctor(tmp_path, monkeypatch, capsys):
    _, ids = _store_with_broken_raw(tmp_path, monkeypatch)
    main(["doctor", "-q"])  # moves the damaged file to the quarantine; the sessions keep their figures
    capsys.readouterr()
    assert main(["export", "-q", "--out", str(tmp_path / "after")]) == 1
    err = capsys.readouterr().err
    assert err.count("raw samples left out") == 2 and "error" not in err
    assert len(read_table(tmp_path / "after", "sessions")) == 3


def test_a_failed_export_leaves_no_folder(tmp_path, monkeypatch):
    home, _ = _store_with_broken_raw(tmp_path, monkeypatch)
    out = tmp_path / "export"

    def interrupt_at_second_session(i, total, what):  # Ctrl-C in the middle of the raw files
        if i == 1:
            raise KeyboardInterrupt

    with Store(home, create=False) as store, pytest.raises(KeyboardInterrupt):
        export_store(store, out, progress=interrupt_at_second_session)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.hsn", "home", "intact.hsn", "missing.hsn"]
    with Store(home, create=False) as store:  # and the same folder can be used at once
        assert len(read_table(export_store(store, out, what=("sessions",)).out, "sessions")) == 3
