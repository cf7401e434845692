"""Load-spike episodes on real recordings in a real store (red-team case D2): the ten treadmill trials
imported with dated runs, one of them a heavy Sunday whose acute:chronic ratio stays >= 1.5 on Monday."""

from __future__ import annotations

import json

import pytest

from hipsense.cli import main
from hipsense.store import HOME_ENV

ACC = ["--acc-unit", "g", "--columns", "acc_is=acc_v_g,acc_pa=acc_ap_g"]
#: The red team's start times, in import order (three runs around the night of 24-25 Oct).
TIMES = (
    "2026-10-24T23:30+02:00", "2026-10-25T02:30+01:00", "2026-10-25T02:30+02:00", "2026-10-10T07:00",
    "2026-10-03T07:00", "2026-10-17T07:00", "2026-09-26T07:00", "2026-09-19T07:00", "2026-09-12T07:00",
    "2026-10-31T07:00",
)  # fmt: skip


@pytest.mark.shared_data
def test_the_ratio_carried_into_a_falling_week_raises_no_second_spike(
    shared_data, tmp_path, monkeypatch, capsys
):
    flat = sorted((shared_data / "running-sacral-accel").glob("trial0*.csv"))
    slopes = sorted((shared_data / "running-sacral-accel-slopes").glob("trial*.csv"))
    trials = [*flat, *slopes][: len(TIMES)]
    assert len(trials) == len(TIMES)
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    for path, start in zip(trials, TIMES, strict=True):
        assert main(["import", "-q", *ACC, "--start-time", start, str(path)]) == 0
    capsys.readouterr()
    assert main(["flags", "--json"]) == 0
    flags = json.loads(capsys.readouterr().out)
    spikes = [f for f in flags if f["kind"] == "load_spike"]
    # One episode (Sat 24 - Mon 26 Oct, peak 2.05 on Sunday): one flag, for the week it started in.
    assert [f["period_start"] for f in spikes] == ["2026-10-19"]
    assert spikes[0]["severity"] == "alert" and "on Sun 25 Oct" in spikes[0]["sentence"]
    assert not any("-8 %" in f["sentence"] for f in flags)
