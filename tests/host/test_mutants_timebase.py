"""Tests that kill the mutants of hipsense.timebase the other tests let survive (docs/testing.md).

Each pins a boundary or a message the time base promises: where a hole becomes a gap, which rates each
unit accepts, which first times are UNIX time, and the one-line errors users read. Expected values are
worked out by hand from the docstrings, not read from the code.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hipsense.timebase import TimeBaseError, fit_clock, seconds_from

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
