"""Tests that kill the mutants of hipsense.timebase the other tests let survive (docs/testing.md).

Each pins a boundary or a message the time base promises: where a hole becomes a gap, which rates each
unit accepts, which first times are UNIX time, and the one-line errors users read. Expected values are
worked out by hand from the docstrings, not read from the code.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hipsense.formats.session_spec import BLOCK_DTYPE
from hipsense.time_units import seconds_from
from hipsense.timebase import PASS_ROWS, TimeBaseError, fit_clock, place_on_grid, place_runs

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
        "its median step 0.25 gives 4 Hz in s, 4e+03 Hz in ms, 4e+06 Hz in us, 4e+09 Hz in ns; none is a rate "
        "between 10 and 2000 Hz: state the unit with --time-unit s|ms|us|ns"
    )


def test_unknown_unit_lists_the_known_ones():
    with pytest.raises(TimeBaseError) as e:
        seconds_from(np.array([0.0, 0.01]), "min")
    assert str(e.value) == "unknown time unit 'min' (use auto, s, ms, us, ns, tick100us, samples)"


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
        "the column, or state its unit with --time-unit s|ms|us|ns"
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


# -- place_runs and Grid.take (issue 17's passes) -------------------------------------------------
#
# The mutants of ``timebase.place_runs`` and ``Grid.take`` the re-run found alive.
#
# ``place_runs`` (issue 17) replaced the per-row placement; its survivors in the re-run (docs/testing.md)
# were the one-line errors a forged block gets, a count given as one number for every run, sample
# numbers in the block header's own field types, and the second pass of a long grid broken by many
# gaps. The inputs are what the world sends: a block that claims no samples, the header's u32 and u16
# fields as read from the file, a logger that drops a burst every few seconds for over an hour.
# Expected values are worked out from the docstring (row ``k`` of a segment is at its first time plus
# ``k / rate``), not read from the code.


def test_no_run_is_one_error():
    with pytest.raises(TimeBaseError) as e:
        place_runs(np.zeros(0, np.int64), np.zeros(0, np.int64), 1, [0.0], 100.0)
    assert str(e.value) == "no row holds data"


def test_a_block_that_claims_no_samples_is_refused():
    # a forged header: the second block says it holds 0 samples
    with pytest.raises(TimeBaseError) as e:
        place_runs([0, 0, 0], [0, 12, 24], [12, 0, 12], [0.0], 208.0)
    assert str(e.value) == "a run holds no sample"


def test_a_grid_placed_from_runs_has_no_rows_to_take():
    grid, _ = place_runs([0], [0], [4], [0.0], 100.0)
    with pytest.raises(ValueError) as e:
        grid.take(np.arange(4.0))
    assert str(e.value) == "a grid placed from runs has no source rows to take from"


@pytest.mark.parametrize("size", [2, 4, 12])
def test_one_count_for_every_block_is_the_same_as_one_count_each(size):
    # blocks of `size` samples; after the third, 3 samples are lost (a hole, filled), after the
    # fifth 40 (a gap at 100 Hz, whose limit is 10)
    first = np.array([0, 1, 2, 3, 4, 5]) * size
    first[3:] += 3
    first[5:] += 40
    grid, dest = place_runs(np.zeros(6, np.int64), first, size, [0.0], 100.0)
    assert dest.tolist() == [0, size, 2 * size, 3 * size + 3, 4 * size + 3, 5 * size + 3]
    assert grid.filled.tolist() == [False] * 3 * size + [True] * 3 + [False] * 3 * size
    assert grid.segments.tolist() == [[0, 5 * size + 3], [5 * size + 3, 6 * size + 3]]
    assert [g.missing_samples for g in grid.gaps] == [40]
    each, dest_each = place_runs(np.zeros(6, np.int64), first, np.full(6, size), [0.0], 100.0)
    np.testing.assert_array_equal(grid.times_s, each.times_s)
    np.testing.assert_array_equal(dest, dest_each)


def test_the_block_headers_own_field_types_give_the_same_grid():
    # first_index is a u32 and n_samples a u16 in the block header: read straight from the file's
    # bytes they must place the samples as their int64 values do (a hole of 5, then a gap of 300)
    heads = np.zeros(5, dtype=BLOCK_DTYPE)
    heads["n_samples"] = [30, 30, 28, 30, 30]
    heads["first_index"] = [4_000_000_000, 4_000_000_030, 4_000_000_065, 4_000_000_393, 4_000_000_423]
    got, dest = place_runs(np.zeros(5, np.int64), heads["first_index"], heads["n_samples"], [0.0], 208.0)
    want, dest64 = place_runs(
        np.zeros(5, np.int64),
        heads["first_index"].astype(np.int64),
        heads["n_samples"].astype(np.int64),
        [0.0],
        208.0,
    )
    np.testing.assert_array_equal(dest, dest64)
    assert dest.tolist() == [0, 30, 65, 93, 123]
    np.testing.assert_array_equal(got.times_s, want.times_s)
    assert got.filled_samples == 5 and [g.missing_samples for g in got.gaps] == [300]
    assert got.segments.tolist() == [[0, 93], [93, 153]]


def test_a_long_grid_broken_by_many_gaps_is_timed_in_every_pass():
    # A logger at 100 Hz that loses 0.5 s after every 1000 samples, for 5000 s: 1200 segments over
    # more than one pass of rows, each pass holding far more than a few segments.
    n_seg, size, lost, rate = 1200, 1000, 50, 100.0
    assert n_seg * size > PASS_ROWS
    first = np.arange(n_seg, dtype=np.int64) * (size + lost)
    grid, dest = place_runs(np.zeros(n_seg, np.int64), first, size, [0.0], rate)
    assert grid.segments.dtype == np.int64
    np.testing.assert_array_equal(grid.segments[:, 0], np.arange(n_seg) * size)
    np.testing.assert_array_equal(grid.segments[:, 1], np.arange(1, n_seg + 1) * size)
    np.testing.assert_array_equal(dest, grid.segments[:, 0])
    # segment g starts at g * 1050 samples' time; its row k is k samples later
    k = np.tile(np.arange(size), n_seg)
    want = np.repeat(first / rate, size) + k / rate
    np.testing.assert_allclose(grid.times_s, want, rtol=0, atol=1e-9)
    assert [g.missing_samples for g in grid.gaps] == [lost] * (n_seg - 1)
    assert grid.filled_samples == 0


def test_segments_from_rows_are_whole_numbers():
    # a CSV's rows (runs of one) with one empty stretch of 30 rows: the grid's ranges index arrays
    valid = np.ones(60, bool)
    valid[20:50] = False
    grid = place_on_grid(np.zeros(60, np.int64), np.arange(60), [0.0], 100.0, valid=valid)
    assert grid.segments.dtype == np.int64 and grid.segments.tolist() == [[0, 20], [20, 30]]


@pytest.mark.parametrize(
    ("rate", "max_fill_s", "numbers", "late"),
    [
        # 50 Hz, limit 0.2 s = 10 samples: a hole of 1, then one of exactly 10 (filled)
        (50.0, 0.2, [*range(4), *range(5, 11), *range(21, 31)], [0.044, -0.116]),
        # 100 Hz, limit 0.05 s = 5 samples: a hole of exactly 5, then one of 1
        (100.0, 0.05, [*range(8), *range(13, 22), *range(23, 26)], [-0.01, 0.018]),
        # 100 Hz, limit 5: four rows around a hole of exactly 5
        (100.0, 0.05, [0, 1, 7, 8], [0.065]),
    ],
)
def test_stamps_off_by_a_fraction_of_a_period_after_each_dropout_keep_the_sample_numbers(
    rate, max_fill_s, numbers, late
):
    # Another logger stamps each sample when it reads it: after every dropout its stamps sit a fixed
    # fraction of a period off (`late`, at most 0.12: any two stamps stay within a quarter period of
    # their sample). Every hole is at most the fill limit, so the fit must find one stretch and the
    # logger's own sample numbers, whatever limit the rounds of the fit pass through.
    n = np.array(numbers)
    offset = np.zeros(len(n))
    for at, off in zip(np.flatnonzero(np.diff(n) > 1) + 1, late, strict=True):
        offset[at:] = off
    clock = fit_clock((n + offset) / rate + 1_700_000_000.0, max_fill_s=max_fill_s)
    assert clock.max_fill == round(rate * max_fill_s)
    assert clock.run.tolist() == [0] * len(n)
    assert clock.index.tolist() == numbers
