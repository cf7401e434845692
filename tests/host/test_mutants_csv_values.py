"""Tests that kill the mutants of hipsense.formats.csv_values the other tests let survive (docs/testing.md).

Direct checks of the cell reader and the value checks: where a cell is a hole, a decimal comma or an
error, the saturation rule's thresholds, and the exact one-line messages. Expected values are worked
out by hand from the docstrings.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hipsense.conventions import G
from hipsense.formats.csv_values import CsvInputError, clipped_share, numbers, shown

PATH = Path("rec.csv")


# -- shown / numbers ------------------------------------------------------------------------------------


def test_shown_names_an_empty_cell_and_cuts_long_ones_at_40():
    assert shown("") == "an empty cell"
    assert shown("x" * 40) == repr("x" * 40)
    assert shown("y" * 41) == repr("y" * 37 + "...")


def test_a_row_cut_short_is_a_hole_not_an_error():
    values = numbers(PATH, pd.Series(["1.5", None, "2"], dtype=object), "acc_x", ",", 3)
    assert np.isnan(values[1]) and values[[0, 2]].tolist() == [1.5, 2.0]


def test_decimal_comma_only_where_the_comma_does_not_separate():
    text = pd.Series(["1,5", "-0,25", "nan"], dtype=object)
    np.testing.assert_array_equal(numbers(PATH, text, "gyr_x", ";", 3), [1.5, -0.25, np.nan])
    with pytest.raises(CsvInputError) as e:
        numbers(PATH, pd.Series(["2", "1,5"], dtype=object), "gyr_x", ",", 3)
    assert str(e.value) == "rec.csv at line 4: column 'gyr_x' has '1,5', not a number"


def test_a_dot_stays_a_decimal_point_after_the_comma_is_replaced():
    values = numbers(PATH, pd.Series(["1.25", "3"], dtype=object), "acc_y", "\t", 2)
    assert values.tolist() == [1.25, 3.0]


# -- clipped_share ----------------------------------------------------------------------------------------


def test_nothing_to_judge_is_no_clipping():
    assert clipped_share({}) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clipped_share({"acc_x": np.array([])}) == 0.0


@pytest.mark.parametrize(
    ("col", "top", "clipped"),
    [
        ("acc_x", 2 * G, True),  # 2 g: included
        ("acc_x", 2.5 * G, True),
        ("acc_x", 1.0, False),  # far below 2 g
        ("gyr_x", 250.0, True),  # 250 deg/s: included
        ("gyr_x", 100.0, False),  # a gyroscope is judged against 250 deg/s, not 2 g
    ],
)
def test_a_channel_stuck_at_its_largest_magnitude_in_3_rows_is_clipped(col, top, clipped):
    v = np.array([0.1, top, -top, top, 0.5, 0.2, 0.3, 0.4, 0.6, 0.7])
    assert clipped_share({col: v}) == (0.3 if clipped else 0.0)


def test_three_rows_at_the_top_within_a_millionth_count_two_do_not():
    top = 250.0
    three = np.array([top, top, top * (1 - 1e-6), 1.0])
    assert clipped_share({"gyr_y": three}) == 0.75
    two = np.array([top, top, top * (1 - 2e-6), 1.0])
    assert clipped_share({"gyr_y": two}) == 0.0


def test_clipped_rows_of_several_channels_add_up():
    a = np.zeros(10)
    b = np.zeros(10)
    a[[0, 1, 2]] = 3 * G
    b[[5, 6, 7, 8]] = -300.0
    assert clipped_share({"acc_z": a, "gyr_z": b}) == 0.7
