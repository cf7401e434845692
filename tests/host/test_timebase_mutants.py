"""Tests for the mutants of ``timebase.place_runs`` and ``Grid.take`` the re-run found alive.

``place_runs`` (issue 17) replaced the per-row placement; its survivors in the re-run (docs/testing.md)
were the one-line errors a forged block gets, a count given as one number for every run, sample
numbers in the block header's own field types, and the second pass of a long grid broken by many
gaps. The inputs are what the world sends: a block that claims no samples, the header's u32 and u16
fields as read from the file, a logger that drops a burst every few seconds for over an hour.
Expected values are worked out from the docstring (row ``k`` of a segment is at its first time plus
``k / rate``), not read from the code.
"""

from __future__ import annotations

import numpy as np
import pytest

from hipsense.formats.session_spec import BLOCK_DTYPE
from hipsense.timebase import PASS_ROWS, TimeBaseError, fit_clock, place_on_grid, place_runs


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
