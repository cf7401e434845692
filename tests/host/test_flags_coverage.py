"""D9: a history too short to judge says so, per kind of rule, instead of implying all is well."""

from __future__ import annotations

import pytest

from hipsense.cli import main
from hipsense.store import HOME_ENV, Store
from hipsense.trends.build import build_trends
from hipsense.trends.coverage import not_judged

ACC = ["--acc-unit", "g", "--columns", "acc_is=acc_v_g,acc_pa=acc_ap_g"]


@pytest.mark.shared_data
def test_one_session_is_too_short_for_every_rule(shared_data, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(home))
    trial = shared_data / "running-sacral-accel" / "trial01_2.50mps.csv"
    assert main(["import", "-q", *ACC, "--start-time", "2026-12-06T07:00", str(trial)]) == 0
    with Store(home) as store:
        trends = build_trends(store, "default")
    assert trends.flags == []
    lines = not_judged(trends)
    assert len(lines) == 3
    assert "28 days of history, 1 so far (27 more days)" in lines[0]
    assert "8 in all; 0 so far (8 more)" in lines[1]  # accelerometer only: no run has known sides
    assert "3 runs, 1 so far (2 more)" in lines[2]
    assert all("not judged yet" in line for line in lines)


def test_flags_on_a_short_history_say_what_was_not_judged(tmp_path, monkeypatch, capsys):
    """`hipsense flags` with one run must not say that nothing stood out: it names what it could not judge."""
    from hipsense.sim import scenarios, simulate_run

    home = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(home))
    simulate_run(scenarios.steady_run(duration_s=30, seed=5)).write_device_file(
        tmp_path / "run.hsn", start_time_unix=1_767_225_600
    )
    assert main(["import", "-q", str(tmp_path / "run.hsn")]) == 0
    capsys.readouterr()
    assert main(["flags"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Load spike and climb not judged yet" in out and "(27 more days)" in out
    assert "Form late in runs not judged yet" in out
    assert "nothing in these sessions stood out" not in out
    assert "the rules that could judge found nothing" in out
