"""Tests that kill the mutants of hipsense.timebase the other tests let survive (docs/testing.md).

Each pins a boundary or a message the time base promises: where a hole becomes a gap, which rates each
unit accepts, which first times are UNIX time, and the one-line errors users read. Expected values are
worked out by hand from the docstrings, not read from the code.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hipsense.time_units import seconds_from
from hipsense.timebase import TimeBaseError, fit_clock, place_on_grid

# -- fit_clock ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("jump", "gap"), [(11, False), (12, True)])
def test_a_hole_longer_than_the_fill_limit_starts_a_new_stretch(jump, gap):
    # 100 Hz: the limit is 0.1 s = 10 samples. A jump of 11 periods misses 10 (filled), of 12 misses 11.
    n = np.concatenate([np.arange(20), 19 + jump + np.arange(20)])
    clock = fit_clock(n * 0.01)
    assert clock.max_fill == 10
    if gap:
        assert clock.run.tolist() == [0] * 20 + [1] * 20
        assert clock.index.tolist() == list(range(20)) * 2
    else:
        assert clock.run.tolist() == [0] * 40
        assert clock.index.tolist() == list(range(20)) + list(range(19 + jump, 39 + jump))
    assert clock.index.dtype == np.int64 and clock.run.dtype == np.int64


def test_two_stretches_of_two_rows_share_one_fitted_period():
    # periods 0.01 and 0.0101 in two stretches: the common least-squares slope is their mean, 0.01005,
    # each stretch centred on its own rows (residual 0.000025 s), not the median step 0.0101.
    clock = fit_clock([0.0, 0.01, 5.0, 5.0101])
    assert clock.run.tolist() == [0, 0, 1, 1]
    assert clock.rate_hz == pytest.approx(1 / 0.01005, rel=1e-9)
    assert clock.max_residual_s == pytest.approx(0.000025, abs=1e-12)
    np.testing.assert_allclose(clock.run_start_s, [-0.000025, 5.000025], atol=1e-12)


def test_two_times_are_enough():
    clock = fit_clock([3.0, 3.005])
    assert clock.rate_hz == pytest.approx(200.0) and clock.index.tolist() == [0, 1]


def test_float32_times_are_fitted_in_float64():
    t32 = (np.arange(2000) / 208.0 + 1000.0).astype(np.float32)
    a, b = fit_clock(t32), fit_clock(t32.astype(np.float64))
    assert a.rate_hz == b.rate_hz and a.max_residual_s == b.max_residual_s


@pytest.mark.parametrize(
    ("times", "message"),
    [
        ([1.0], "need at least 2 times, got 1"),
        (np.zeros((3, 3)), "need at least 2 times, got 9"),
        ([0.0, np.nan, 0.02], "a time is not a finite number"),
        ([0.0, 0.01, 0.01], "time does not increase after row 1"),
    ],
)
def test_fit_clock_errors_say_what_is_wrong(times, message):
    with pytest.raises(TimeBaseError) as e:
        fit_clock(times)
    assert str(e.value) == message


# -- seconds_from ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "unit"),
    [
        ([0.0, 0.1], "s"),  # 10 Hz: the lowest recognised rate, included
        ([0.0, 0.0005], "s"),  # 2000 Hz: the highest, included
        ([0.0, 0.5], "ms"),
        ([0.0, 500.0], "us"),
        ([0.0, 0.0008, 0.0016], "s"),  # 1250 Hz
    ],
)
def test_auto_unit_bounds_are_inclusive(values, unit):
    t, epoch, found = seconds_from(np.array(values))
    assert found == unit and epoch is None
    assert t[1] == pytest.approx(values[1] * {"s": 1, "ms": 1e-3, "us": 1e-6}[unit])


@pytest.mark.parametrize(("values", "unit"), [([0.0, 1.0], "s"), ([0.0, 0.1], "ms"), ([0.0, 0.00015], "s")])
def test_given_unit_accepts_1_to_10000_hz_inclusive(values, unit):
    t, _, found = seconds_from(np.array(values), unit)
    assert found == unit and t[0] == 0.0


def test_given_unit_refuses_a_rate_beyond_10000_hz_with_its_figures():
    with pytest.raises(TimeBaseError) as e:
        seconds_from(np.array([0.0, 0.05, 0.1]), "ms")
    assert str(e.value) == (
        "read in ms, its median step 0.05 gives 2e+04 Hz, not a sampling rate (1-10000 Hz): check --time-unit"
    )


def test_auto_unit_error_lists_the_rate_in_every_unit():
    with pytest.raises(TimeBaseError) as e:
        seconds_from(np.array([0.0, 0.25, 0.5]))
    assert str(e.value) == (
        "its median step 0.25 gives 4 Hz in s, 4e+03 Hz in ms, 4e+06 Hz in us; none is a rate between 10 "
        "and 2000 Hz: state the unit with --time-unit s|ms|us"
    )


def test_unknown_unit_lists_the_known_ones():
    with pytest.raises(TimeBaseError) as e:
        seconds_from(np.array([0.0, 0.01]), "min")
    assert str(e.value) == "unknown time unit 'min' (use auto, s, ms, us)"


@pytest.mark.parametrize("values", [[5.0], [5.0, 5.0], []])
def test_one_value_or_no_step_is_one_error_and_no_warning(values):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TimeBaseError, match="the time must increase"):
            seconds_from(np.array(values))


def test_float32_column_comes_back_in_float64():
    t, _, _ = seconds_from(np.array([0.0, 0.01, 0.02], dtype=np.float32))
    assert t.dtype == np.float64


def test_unix_time_starts_at_2000_included_and_the_epoch_is_the_first_value():
    t, epoch, unit = seconds_from(np.array([946_684_800.0, 946_684_800.01, 946_684_800.02]))
    assert (unit, epoch) == ("s", 946_684_800.0)
    assert t[0] == 0.0


@pytest.mark.parametrize(
    ("first", "message"),
    [
        # 2100-01-01 is outside the UNIX range (excluded) and too far for a time since a start
        (
            4_102_444_800.0,
            "it starts at 4.10244e+09 (s): as UNIX time the year 2100, as time since a start 130 years",
        ),
        # 1e8 s (about 3.2 years) since a start is already too long (the limit is excluded)
        (1e8, "it starts at 1e+08 (s): as UNIX time the year 1973, as time since a start 3.17 years"),
    ],
)
def test_a_start_that_no_clock_explains_is_refused(first, message):
    with pytest.raises(TimeBaseError) as e:
        seconds_from(np.array([first, first + 0.01, first + 0.02]))
    assert str(e.value) == (
        f"{message}; neither is a recording's clock (UNIX time 2000-2100 or time since the start): check "
        "the column, or state its unit with --time-unit s|ms|us"
    )


def test_rounded_stamps_need_the_refit_to_count_a_long_hole():
    # 208 Hz stamped to the ms: the median step (5 ms) makes a 21-period hole (101 ms) look like 20
    # periods; the refitted period (4.808 ms) counts it right. One stretch: 20 missing <= the 20 limit.
    n = np.concatenate([np.arange(300), 320 + np.arange(300)])
    clock = fit_clock(np.round(n / 208.0, 3) + 1000.0)
    assert clock.max_fill == 20 and clock.run.max() == 0
    assert clock.index.tolist() == n.tolist()
    assert clock.rate_hz == pytest.approx(208.0, abs=0.01)


def test_one_start_per_stretch_all_finite():
    n = np.concatenate([np.arange(10), 40 + np.arange(10), 90 + np.arange(10)])
    clock = fit_clock(n * 0.01)
    assert clock.run.max() == 2 and len(clock.run_start_s) == 3
    np.testing.assert_allclose(clock.run_start_s, [0.0, 0.4, 0.9], atol=1e-12)


def test_a_shorter_fill_limit_cuts_a_hole_the_default_fills():
    n = np.concatenate([np.arange(20), 27 + np.arange(20)])  # 7 missing at 100 Hz
    assert fit_clock(n * 0.01).run.max() == 0
    short = fit_clock(n * 0.01, max_fill_s=0.05)
    assert short.max_fill == 5 and short.run.tolist() == [0] * 20 + [1] * 20


# -- place_on_grid --------------------------------------------------------------------------------------


def test_place_on_grid_starts_at_the_first_row_of_the_first_stretch():
    # stretch 0 starts at 2.0 s, stretch 1 at 10.0 s; the first row is grid number 5 of stretch 0
    grid = place_on_grid([0, 1, 1], [5, 0, 1], [2.0, 10.0], 100.0)
    assert grid.origin_s == pytest.approx(2.05, abs=1e-12)
    # times from the first row: stretch 1's row 0 is at 10.0 - 2.05 = 7.95 s
    np.testing.assert_allclose(grid.times_s, [0.0, 7.95, 7.96], atol=1e-12)
    assert grid.segments.tolist() == [[0, 1], [1, 3]]
    assert grid.source.dtype == np.int64 and grid.source.tolist() == [0, 1, 2]


def test_empty_rows_become_holes_and_long_ones_gaps_counted_exactly():
    # 100 Hz, one stretch of 100 rows; rows 20-39 (20) and 60-89 (30) are empty: both beyond the
    # 10-sample limit, so two gaps of 20 and 30 samples; row 95 alone is a filled hole.
    valid = np.ones(100, bool)
    valid[20:40] = valid[60:90] = valid[95] = False
    grid = place_on_grid(np.zeros(100, int), np.arange(100), [0.0], 100.0, valid=valid)
    assert [g.missing_samples for g in grid.gaps] == [20, 30]
    assert grid.segments.tolist() == [[0, 20], [20, 40], [40, 50]]
    assert grid.filled_samples == 1 and grid.source[45] == -1 and (grid.source[grid.filled] == -1).all()
    assert grid.source[:20].tolist() == list(range(20))


def test_one_row_with_data_is_enough_and_none_is_one_error():
    grid = place_on_grid([0, 0, 0], [0, 1, 2], [0.0], 100.0, valid=[False, True, False])
    assert grid.source.tolist() == [1] and grid.origin_s == pytest.approx(0.01)
    with pytest.raises(TimeBaseError) as e:
        place_on_grid([0, 0], [0, 1], [0.0], 100.0, valid=[False, False])
    assert str(e.value) == "no row holds data"
    with pytest.raises(TimeBaseError) as e:
        place_on_grid([0, 0], [3, 3], [0.0], 100.0)
    assert str(e.value) == "sample numbers do not increase"
    # A device's single sample (no mask: its columns are used as they are) is one grid row too.
    one = place_on_grid(np.broadcast_to(np.int64(0), (1,)), np.array([7]), [0.0], 100.0)
    assert one.source.tolist() == [0] and one.segments.tolist() == [[0, 1]]
    with pytest.raises(TimeBaseError, match="no row holds data"):
        place_on_grid(np.zeros(0, np.int64), np.zeros(0, np.int64), [0.0], 100.0)


@pytest.mark.parametrize(
    ("kwargs", "gap"), [({}, False), ({"max_fill": 4}, True), ({"max_fill_s": 0.04}, True)]
)
def test_place_on_grid_takes_the_limit_it_is_given(kwargs, gap):
    index = np.concatenate([np.arange(10), 15 + np.arange(10)])  # 5 missing at 100 Hz
    grid = place_on_grid(np.zeros(20, int), index, [0.0], 100.0, **kwargs)
    assert len(grid.gaps) == (1 if gap else 0)
    assert grid.filled_samples == (0 if gap else 5)


def test_stretch_starts_count_from_the_first_row_not_from_zero():
    clock = fit_clock(1000.0 + np.arange(50) * 0.01)
    assert clock.run_start_s.tolist() == pytest.approx([0.0], abs=1e-9)


def test_at_10_hz_one_missing_sample_is_filled_and_two_are_a_gap():
    # 0.1 s at 10 Hz is one sample: the limit is 1 (at least 1 at any rate)
    one = fit_clock(np.concatenate([np.arange(10), 11 + np.arange(10)]) * 0.1)
    two = fit_clock(np.concatenate([np.arange(10), 12 + np.arange(10)]) * 0.1)
    assert one.max_fill == 1 and one.run.max() == 0
    assert two.run.max() == 1
