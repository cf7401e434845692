"""Training-load quantities on daily series whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense.load.training import (
    acwr_ewma,
    acwr_rolling,
    daily_load,
    ewma,
    load_table,
    monotony,
    strain,
    week_over_week_pct,
)


def _days(values) -> pd.Series:
    return pd.Series(np.asarray(values, float), index=pd.date_range("2026-01-01", periods=len(values)))


def test_daily_load_sums_sessions_and_fills_rest_days():
    sessions = pd.DataFrame(
        {"date": ["2026-03-01 07:00", "2026-03-01 18:00", "2026-03-04 07:00"], "minutes": [30.0, 20.0, 45.0]}
    )
    daily = daily_load(sessions, value="minutes")
    assert list(daily) == [50.0, 0.0, 0.0, 45.0]
    assert daily.index[1] == pd.Timestamp("2026-03-02")


def test_ewma_follows_williams_recursion():
    daily = _days([10, 0, 20])
    lam = 2 / 8
    expected = [10, lam * 0 + (1 - lam) * 10]
    expected.append(lam * 20 + (1 - lam) * expected[1])
    np.testing.assert_allclose(ewma(daily, 7), expected)


def test_constant_load_gives_ratio_one_everywhere():
    daily = _days([40.0] * 60)
    for series in (acwr_ewma(daily), acwr_rolling(daily), acwr_rolling(daily, coupled=False)):
        valid = series.dropna()
        assert len(valid) >= 32
        np.testing.assert_allclose(valid, 1.0)


def test_a_spike_raises_the_uncoupled_ratio_more_than_the_coupled():
    # 4 weeks at 30/day, then a week at 60/day: acute mean 60; coupled chronic (60*7 + 30*21)/28 = 37.5;
    # uncoupled chronic 30.
    daily = _days([30.0] * 28 + [60.0] * 7)
    assert acwr_rolling(daily, coupled=True).iloc[-1] == pytest.approx(60 / 37.5)
    assert acwr_rolling(daily, coupled=False).iloc[-1] == pytest.approx(2.0)
    assert acwr_ewma(daily).iloc[-1] > 1.3


def test_ratio_is_undefined_before_a_chronic_window():
    daily = _days([30.0] * 20)
    assert acwr_ewma(daily).isna().all()
    assert acwr_rolling(daily).isna().all()


def test_week_over_week():
    daily = _days([10.0] * 7 + [15.0] * 7)
    assert week_over_week_pct(daily).iloc[-1] == pytest.approx(50.0)
    assert week_over_week_pct(_days([0.0] * 7 + [5.0] * 7)).isna().iloc[-1]


def test_monotony_and_strain_by_hand():
    week = [60, 0, 40, 0, 50, 0, 90]
    daily = _days(week)
    mean, sd = np.mean(week), np.std(week)
    assert monotony(daily).iloc[-1] == pytest.approx(mean / sd)
    assert strain(daily).iloc[-1] == pytest.approx(sum(week) * mean / sd)
    assert np.isnan(monotony(_days([30.0] * 7)).iloc[-1])  # no variation: undefined, not infinite


def test_load_table_has_every_quantity():
    table = load_table(_days(np.arange(40.0)))
    assert list(table.columns) == [
        "load",
        "acute_ewma",
        "chronic_ewma",
        "acwr_ewma",
        "acwr_coupled",
        "acwr_uncoupled",
        "week_over_week_pct",
        "monotony",
        "strain",
    ]
    assert len(table) == 40


def test_ratio_is_undefined_once_the_chronic_window_holds_no_load():
    """D10: years without runs left the EWMAs as float residues (1e-323) whose ratio showed as 0.29 or
    0.00; with no load in the last 28 days the chronic load is zero and the ratio undefined."""
    daily = _days([41.5] + [0.0] * (3 * 365) + [41.5])
    ratio = acwr_ewma(daily)
    assert ratio.iloc[27] == pytest.approx(ewma(daily, 7).iloc[27] / ewma(daily, 28).iloc[27])
    assert ratio.iloc[28:-1].isna().all()  # 28 days and more after the run: nothing in the window
    assert np.isnan(ratio.iloc[-1])  # the return run alone: no load before its week (has_base)
    table = load_table(daily)
    gap = table.iloc[40:-1]
    assert (gap[["acwr_coupled", "acwr_uncoupled", "week_over_week_pct", "monotony"]].isna()).all().all()


def test_windows_without_load_are_exactly_zero():
    """Rolling sums add and subtract: after a wide range of loads a week of rest left a residue (a
    standard deviation of 1e-8), so monotony was 0 instead of undefined."""
    daily = _days([1e10, 0.1, 3.3, 1e-3] + [0.0] * 30)
    assert monotony(daily).iloc[-20:].isna().all()
    assert (acwr_rolling(daily).iloc[-3:].isna()).all()
    assert (strain(daily).iloc[-20:].isna()).all()


def test_the_first_run_after_four_idle_weeks_has_no_ratio():
    """The chronic load of the first runs after 28 idle days was the acute week's own: 3.62 (EWMA) and
    4 (coupled) whatever was run. With no load in days t-27 to t-7 no variant is defined; once the
    return runs are in those days the ratios are again."""
    back = 35 + 28  # five weeks of runs, four idle weeks, then two weeks of runs
    daily = _days([30.0] * 35 + [0.0] * 28 + [30.0] * 14)
    table = load_table(daily)
    ratios = table[["acwr_ewma", "acwr_coupled", "acwr_uncoupled"]]
    assert ratios.iloc[27:55].notna().all().all()  # before the break: defined
    assert ratios.iloc[back : back + 7].isna().all().all()  # the return week: nothing to compare with
    assert ratios.iloc[back + 7 :].notna().all().all()  # its runs are the next week's chronic load
    assert table["acwr_coupled"].iloc[back + 7] == pytest.approx(1.0 / ((7 + 1) / 28))  # 7 days of 30 / 8
    # The other quantities keep their own rules: a week against the one before, Foster's monotony.
    assert table["week_over_week_pct"].iloc[-1] == pytest.approx(0.0)
    assert np.isnan(table["week_over_week_pct"].iloc[back + 6])  # against an idle week: undefined
    np.testing.assert_array_equal(table["strain"], strain(daily))
