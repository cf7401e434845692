"""`export --since`: a session without a start time is left out and counted, not selected by its import
time (red-team p13 F20)."""

from __future__ import annotations

from hipsense.cli import main
from hipsense.export import read_table
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV

JAN1 = 1_735_689_600  # 2025-01-01 00:00 UTC


def test_undated_sessions_are_left_out_of_since_and_counted(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    dated = simulate_run(scenarios.steady_run(duration_s=20, seed=41)).write_device_file(
        tmp_path / "dated.hsn", start_time_unix=JAN1
    )
    undated = simulate_run(scenarios.steady_run(duration_s=20, seed=42)).write_csv(tmp_path / "undated.csv")
    assert main(["import", "-q", str(dated), str(undated)]) == 0  # the CSV's t_s from 0: no start time
    capsys.readouterr()
    out = tmp_path / "x"
    argv = ["export", "-q", "--since", "2024-12-01", "--what", "sessions", "--format", "csv"]
    assert main([*argv, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "left out 1 session without a start time" in err and err.count("\n") == 1
    assert list(read_table(out, "sessions")["original_name"]) == ["dated.hsn"]
    assert "left out 1 session without a start time" in (out / "README.md").read_text()
    assert main(["export", "-q", "--what", "sessions", "--out", str(tmp_path / "all")]) == 0
    assert len(read_table(tmp_path / "all", "sessions")) == 2  # without --since every session is in
    assert capsys.readouterr().err == ""
