"""Flag rules on histories built from real analysed summaries, reused with the loads a plan asks for.

Signal-level simulation of every run is what tests/host/test_trends_flags.py does; here one simulated
and analysed run stands for each kind of day (as benchmarks/flags.py does with its pool), so the load
rules can be driven through many weeks cheaply.
"""

from __future__ import annotations

import copy
import datetime as dt
import warnings

import pandas as pd
import pytest

from hipsense.analysis import analyse
from hipsense.recording import Recording
from hipsense.sim import Fatigue, scenarios, simulate_run
from hipsense.trends.build import trends_from_records


def _summary(**overrides) -> dict:
    run = simulate_run(scenarios.steady_run(duration_s=60, seed=8, **overrides))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyse(Recording(run.data, "sensor", run.sample_rate_hz, None)).summary.to_dict()


@pytest.fixture(scope="module")
def plain():
    return _summary()


@pytest.fixture(scope="module")
def tiring():
    return _summary(fatigue=Fatigue(drop_increase_deg=2.5))


def _history(weekly_factors, summary_for=lambda i: None, base: dict | None = None):
    """Three runs a week (Tue, Thu, Sun), each week's runs scaled by its factor."""
    records, monday = [], dt.datetime(2025, 1, 6, 7, tzinfo=dt.timezone.utc)
    for w, factor in enumerate(weekly_factors):
        for day in (1, 3, 6):
            s = copy.deepcopy(summary_for(len(records)) or base)
            s["impact_load_g"] *= factor
            s["running_time_s"] *= factor
            records.append((len(records) + 1, monday + dt.timedelta(weeks=w, days=day), s))
    return records


def test_steady_weeks_raise_nothing(plain):
    assert trends_from_records("ana", _history([1.0] * 10, base=plain)).flags == []


def test_three_weeks_of_more_than_10_percent_make_a_climb(plain):
    factors = [1.0] * 5 + [1.12, 1.12**2, 1.12**3, 1.12**3]
    flags = trends_from_records("ana", _history(factors, base=plain)).flags
    climbs = [f for f in flags if f.kind == "load_climb"]
    assert len(climbs) == 1
    assert climbs[0].period_start == dt.date(2025, 2, 10) and climbs[0].period_end == dt.date(2025, 3, 2)
    assert climbs[0].numbers["total_increase_pct"] == pytest.approx(100 * (1.12**3 - 1), abs=0.1)
    assert climbs[0].severity == "watch"


def test_a_doubled_week_is_an_alert(plain):
    flags = trends_from_records("ana", _history([1.0] * 5 + [2.0, 1.0], base=plain)).flags
    (spike,) = flags
    assert spike.kind == "load_spike" and spike.severity == "alert"
    assert spike.numbers["increase_pct"] == pytest.approx(100.0, abs=0.1)
    assert spike.numbers["acwr_ewma_max"] > 1.3
    # The run that took the week past +20 %: the second (the first alone is 2/3 of a usual week).
    assert spike.session_id == 17


def test_form_degrading_in_three_of_five_runs(plain, tiring):
    tired_runs = {9, 11, 12, 13}
    records = _history([1.0] * 5, summary_for=lambda i: tiring if i in tired_runs else plain)
    flags = trends_from_records("ana", records).flags
    # A tiring run also has a larger median drop, so the drop itself may rise against the baseline.
    assert {f.kind for f in flags} <= {"within_run_fatigue", "drop_rising"}
    (fatigue,) = [f for f in flags if f.kind == "within_run_fatigue"]
    assert fatigue.kind == "within_run_fatigue" and fatigue.severity == "watch"
    assert fatigue.session_id == 13  # runs 10, 12 and 13 (0-based 9, 11, 12) are the first 3 of 5
    assert fatigue.numbers["runs_degrading"] == 3 and fatigue.numbers["drop_change_deg"] > 1.0


def test_a_week_after_a_break_raises_no_spike(plain):
    """Four empty weeks before: no percentage against them and no acute:chronic ratio (its chronic load
    would be the week's own, docs/load.md), so no load_spike, and no '+nan %' anywhere."""
    records = _history([1.0] * 5, base=plain)
    back = records[-1][1] + dt.timedelta(weeks=6)
    flags = trends_from_records("ana", [*records, (len(records) + 1, back, copy.deepcopy(plain))]).flags
    assert [f for f in flags if f.kind == "load_spike" and f.period_end >= back.date()] == []
    assert not any("nan" in f.sentence.lower() for f in flags)


def _with_heavy_sunday(plain, factor: float, weekly_factors) -> list:
    """Steady weeks (``weekly_factors``) whose 6th week ends with a Sunday run ``factor`` times as heavy."""
    records = _history(weekly_factors, base=plain)
    sid, start, s = records[17]
    s = copy.deepcopy(s)
    s["impact_load_g"] *= factor
    s["running_time_s"] *= factor
    records[17] = (sid, start, s)
    return records


def test_a_ratio_carried_over_a_weekend_is_one_flag_of_the_week_it_started(plain):
    """D2: a heavy Sunday keeps the ratio >= 1.5 on Monday; the next week (load falling, its own runs
    below 1.5) is the tail of the same episode, not a new spike."""
    records = _with_heavy_sunday(plain, 4.5, [1.0] * 6 + [0.9])
    trends = trends_from_records("ana", records)
    monday = pd.Timestamp("2025-02-17")
    assert trends.daily.loc[monday, "acwr_ewma"] >= 1.5  # the carry-over the rule must not count again
    spikes = [f for f in trends.flags if f.kind == "load_spike"]
    assert [f.period_start for f in spikes] == [dt.date(2025, 2, 10)]
    (spike,) = spikes
    assert spike.session_id == 18 and spike.numbers["acwr_ewma_max"] == pytest.approx(1.90, abs=0.01)
    assert "on Sun 16 Feb" in spike.sentence


def test_a_ratio_alert_in_a_week_not_heavier_is_not_called_a_jump(plain):
    """A single heavy Sunday lifts the ratio over 1.5 in a week whose total is not up 20 %: an alert for
    the ratio, worded as a heavy day, not as a jump of the week."""
    factors = [1.0] * 5 + [0.2, 1.0]  # Tue and Thu a fifth of usual, Sunday 3 times usual: +13 %
    trends = trends_from_records("ana", _with_heavy_sunday(plain, 15.0, factors))
    (spike,) = [f for f in trends.flags if f.kind == "load_spike"]
    assert spike.severity == "alert" and spike.period_start == dt.date(2025, 2, 10)
    assert spike.numbers["increase_pct"] < 20 and spike.numbers["acwr_ewma_max"] >= 1.5
    assert "jump" not in (spike.sentence + spike.advice).lower()
    assert "heavy day" in spike.sentence and spike.session_id == 18
