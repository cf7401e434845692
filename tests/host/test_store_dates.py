"""A start time the store does not keep is refused with the date the user gave (ISO, UTC), not the
UNIX seconds it became (D8)."""

from __future__ import annotations

import pytest

from hipsense.cli import main
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV, Store
from hipsense.store_rows import time_problem


def test_a_start_time_before_1970_is_refused_with_its_date(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    simulate_run(scenarios.steady_run(duration_s=20, seed=3)).write_csv(tmp_path / "run.csv")
    assert main(["import", str(tmp_path / "run.csv"), "--start-time", "1970-01-01T00:30+02:00"]) == 2
    err = capsys.readouterr().err
    assert (
        "run.csv: not stored, its start time 1969-12-31T22:30:00Z is not a date between 1970 and 2100" in err
    )
    assert "-5400" not in err
    with Store(tmp_path / "home", create=False) as store:
        assert len(store.sessions()) == 0


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (-5400.0, "1969-12-31T22:30:00Z"),
        (4_102_444_800.5, "2100-01-01T00:00:00.500Z"),
        (1e15, "1e+15"),  # past year 9999: no calendar date to show, the number is
        (float("inf"), "inf"),
        (float("nan"), "nan"),
    ],
)
def test_times_outside_the_range_are_shown_as_dates_when_they_are_dates(value, shown):
    assert time_problem(value) == f"its start time {shown} is not a date between 1970 and 2100"
