"""Tests that kill the mutants of hipsense.formats.csv_values the other tests let survive (docs/testing.md).

Direct checks of the cell reader and the value checks: where a cell is a hole, a decimal comma or an
error, the saturation rule's thresholds, and the exact one-line messages; the chunked reader's fast and
text paths (what each reads itself, what sends a file to the text path, the chunks' first rows and the
line numbers of later chunks) and the magnitude's float64 arithmetic. Expected values are worked out by
hand from the docstrings.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hipsense.conventions import G
from hipsense.formats.csv_values import (
    MAX_ACC_MS2,
    MAX_GYR_DPS,
    MOVING_ACC_SD_MS2,
    CsvInputError,
    NotNumbers,
    beyond_range,
    check_acc_unit,
    check_gyr_unit,
    clipped_share,
    magnitude,
    numbers,
    range_error,
    read_names,
    shown,
    value_chunks,
)

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


# -- read_names / value_chunks -------------------------------------------------------------------------

OURS = {"acc_x": "acc_x", "acc_y": "acc_y"}


def read_values(
    path: Path, header: int, sep: str, ours: dict[str, str], first_line: int
) -> dict[str, np.ndarray]:
    """The whole file's values as the reader takes them: the fast path, the text path on NotNumbers."""
    try:
        chunks = [c for _, c in value_chunks(path, header, sep, ours, first_line)]
    except NotNumbers:
        chunks = [c for _, c in value_chunks(path, header, sep, ours, first_line, text=True)]
    return {c: np.concatenate([ch[c] for ch in chunks]) for c in chunks[0]}


def check_range(path: Path, col: str, values: np.ndarray, unit: str, first_line: int) -> None:
    """The reader's range check on one column: its first value beyond range, as csv_input words it."""
    out = beyond_range(col, values)
    if out.any():
        i = int(np.flatnonzero(out)[0])
        raise range_error(path, col, float(values[i]), unit, float(out.mean()), first_line + i)


def _file(tmp_path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "rec.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_a_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    path = _file(tmp_path, "acc_x,acc_y\n1.0,2.0\n3.0,4.0\n", "utf-8-sig")
    assert read_names(path, 0, ",") == ["acc_x", "acc_y"]
    assert {k: v.tolist() for k, v in read_values(path, 0, ",", OURS, 2).items()} == {
        "acc_x": [1.0, 3.0],
        "acc_y": [2.0, 4.0],
    }


def test_quoted_names_other_columns_and_a_preamble(tmp_path):
    path = _file(tmp_path, "logger v2\n'acc_x';temp;\"acc_y\"\n1,5;20;-2\n3;21;4,25\n")
    assert read_names(path, 1, ";") == ["acc_x", "temp", "acc_y"]
    values = read_values(path, 1, ";", OURS, 3)
    assert values["acc_x"].tolist() == [1.5, 3.0] and values["acc_y"].tolist() == [-2.0, 4.25]
    assert values["acc_x"].dtype == np.float64


def test_pandas_own_missing_words_are_not_holes(tmp_path):
    # only MISSING_CELLS are holes; "#N/A" (a spreadsheet error) is named with its line
    path = _file(tmp_path, "acc_x,acc_y\n1,2\n#N/A,3\n")
    with pytest.raises(CsvInputError) as e:
        read_values(path, 0, ",", OURS, 2)
    assert str(e.value) == f"{path} at line 3: column 'acc_x' has '#N/A', not a number"


def test_a_quoted_decimal_comma_in_a_comma_file_is_an_error(tmp_path):
    path = _file(tmp_path, 'acc_x,acc_y\n1,2\n"1,5",3\n')
    with pytest.raises(CsvInputError) as e:
        read_values(path, 0, ",", OURS, 2)
    assert str(e.value) == f"{path} at line 3: column 'acc_x' has '1,5', not a number"


def test_a_file_pandas_cannot_split_is_one_line(tmp_path):
    path = _file(tmp_path, 'acc_x,acc_y\n1,2\n"x,3\n')  # a quote never closed
    with pytest.raises(CsvInputError) as e:
        read_values(path, 0, ",", OURS, 2)
    assert str(e.value) == (
        f"{path}: not a readable CSV file (Error tokenizing data. C error: EOF inside string starting at row 2)"
    )


def test_read_names_of_an_empty_file_is_one_line(tmp_path):
    path = _file(tmp_path, "")
    with pytest.raises(CsvInputError) as e:
        read_names(path, 0, ",")
    assert str(e.value) == f"{path}: not a readable CSV file (No columns to parse from file)"


# -- check_range / check_acc_unit / check_gyr_unit ------------------------------------------------------


def test_check_range_accepts_the_limit_and_names_a_lone_value_beyond_it():
    v = np.zeros(200)
    v[5] = MAX_ACC_MS2
    check_range(PATH, "acc_y", v, "m/s^2", 2)  # the limit itself is a value an IMU can report
    v[7] = 1000.0
    with pytest.raises(CsvInputError) as e:
        check_range(PATH, "acc_y", v, "m/s^2", 2)
    assert str(e.value) == (
        "rec.csv at line 9: column 'acc_y' has 1000 m/s^2 (read in m/s^2), beyond what any IMU reports "
        "(+-64 g), in 0.50% of rows: a corrupt cell? blank it to make it a filled hole"
    )


def test_check_range_on_a_gyroscope_in_the_wrong_unit():
    with pytest.raises(CsvInputError) as e:
        check_range(PATH, "gyr_z", np.full(10, 7000.0), "deg/s", 4)
    assert str(e.value) == (
        "rec.csv at line 4: column 'gyr_z' has 7000 deg/s (read in deg/s), beyond what any IMU reports "
        "(+-6000 deg/s), in 100.00% of rows: the wrong unit?"
    )


@pytest.mark.parametrize("median_g", [1 / 4.5, 4.5])
def test_acceleration_outside_a_quarter_to_four_g_is_refused(median_g):
    acc = [np.full(50, median_g * G), np.zeros(50), np.zeros(50)]
    with pytest.raises(CsvInputError):
        check_acc_unit(PATH, acc, "m/s^2")
    check_acc_unit(PATH, [np.full(50, G / 4), np.zeros(50)], "m/s^2")  # the bounds are included
    check_acc_unit(PATH, [np.full(50, 4 * G), np.zeros(50)], "m/s^2")


def test_acc_unit_messages_say_which_unit_to_try():
    with pytest.raises(CsvInputError) as e:
        check_acc_unit(PATH, [np.full(50, 1.0)], "m/s^2")
    assert str(e.value) == (
        "rec.csv: read in m/s^2 (the default), the acceleration's median magnitude is 0.1 g where gravity "
        "alone gives 1 g: is the file in g? then give --acc-unit g (the acceleration must include gravity)"
    )
    with pytest.raises(CsvInputError) as e:
        check_acc_unit(PATH, [np.full(50, 9.0 * G)], "g")
    assert str(e.value) == (
        "rec.csv: read in g (--acc-unit g), the acceleration's median magnitude is 9 g where gravity alone "
        "gives 1 g: is the file in m/s^2? (the acceleration must include gravity)"
    )


def _moving(n: int) -> list[np.ndarray]:
    return [G + 5.0 * np.sin(np.arange(n)), np.zeros(n), np.zeros(n)]


def test_a_still_gyroscope_while_moving_is_rad_s_read_as_deg_s():
    gyr = [np.full(10, 2.0), np.zeros(10), np.zeros(10)]
    with pytest.raises(CsvInputError) as e:
        check_gyr_unit(PATH, _moving(10), gyr, "deg/s")  # 10 rows: enough to judge
    assert str(e.value) == (
        "rec.csv: read in deg/s (the default), the gyroscope's 99th-percentile magnitude is 2 deg/s while "
        "the acceleration shows movement (a moving pelvis turns at 30-300 deg/s): is it in rad/s? then "
        "give --gyr-unit rad/s"
    )
    check_gyr_unit(PATH, _moving(20), [np.full(20, 2.0)], "rad/s")  # stated: not second-guessed
    check_gyr_unit(PATH, _moving(9), [np.full(9, 2.0)], "deg/s")  # too few rows to judge


def test_the_gyroscope_is_judged_on_its_99th_percentile_not_its_peak():
    g = np.full(300, 2.0)
    g[10] = 50.0  # one spike does not make a still gyroscope plausible
    with pytest.raises(CsvInputError):
        check_gyr_unit(PATH, _moving(300), [g], "deg/s")


def test_names_ending_in_capital_x_are_kept_whole(tmp_path):
    path = _file(tmp_path, "AX,AY\n1,2\n3,4\n")
    assert read_names(path, 0, ",") == ["AX", "AY"]
    values = read_values(path, 0, ",", {"AX": "acc_x", "AY": "acc_y"}, 2)
    assert values["acc_x"].tolist() == [1.0, 3.0]


def test_one_percent_of_rows_beyond_is_a_unit_not_a_corrupt_cell():
    v = np.zeros(100)
    v[0] = 1000.0
    with pytest.raises(CsvInputError, match=r"in 1\.00% of rows: the wrong unit\?$"):
        check_range(PATH, "acc_x", v, "m/s^2", 2)


def test_a_median_just_below_a_quarter_g_suggests_g():
    with pytest.raises(CsvInputError, match=r"is the file in g\? then give --acc-unit g"):
        check_acc_unit(PATH, [np.full(50, G / 4.5)], "m/s^2")


def test_a_gyroscope_at_10_deg_s_is_plausible():
    check_gyr_unit(PATH, _moving(50), [np.full(50, 10.0)], "deg/s")


# -- the chunked reader (value_chunks) and the checks' arithmetic -----------------------------------------


def _chunks(
    path: Path, sep: str = ",", ours: dict[str, str] = OURS, **kw
) -> list[tuple[int, dict[str, list[float]]]]:
    """value_chunks of a file whose header is its first line, as plain lists (NaN kept), each with its
    first row."""
    return [
        (i, {c: v.tolist() for c, v in ch.items()}) for i, ch in value_chunks(path, 0, sep, ours, 2, **kw)
    ]


def test_numbers_are_floats_even_when_every_cell_is_a_whole_number():
    # pandas would give int64 for "1", "2": the caller scales and fills NaN into these arrays
    values = numbers(PATH, pd.Series(["1", "2", "-3"], dtype=str), "acc_x", ",", 2)
    assert values.dtype == np.float64 and values.tolist() == [1.0, 2.0, -3.0]


def test_a_gyroscope_is_judged_against_6000_deg_s_and_acceleration_against_64_g():
    gyr = np.array([1000.0, MAX_GYR_DPS, -6000.5, np.nan, np.inf])  # 1000 deg/s: beyond 64 g's number
    assert beyond_range("gyr_x", gyr).tolist() == [False, False, True, False, True]
    acc = np.array([1000.0, MAX_ACC_MS2, -np.inf, np.nan])
    assert beyond_range("acc_x", acc).tolist() == [True, False, True, False]


def test_magnitude_squares_in_float64_whatever_the_columns_type():
    # sqrt(x*x) is x in float64; squared in float32 (or int8, 100**2 wraps to 16) it is not
    x32 = np.array([0.1, 3.0], dtype=np.float32)
    x = x32.astype(np.float64)
    zero = np.zeros(2)
    assert magnitude([x32, zero]).tolist() == x.tolist()
    assert magnitude([zero, x32]).tolist() == x.tolist()
    small = np.array([100, -3], dtype=np.int8)
    assert magnitude([small]).tolist() == [100.0, 3.0]
    assert magnitude([np.zeros(2, dtype=np.int8), small]).tolist() == [100.0, 3.0]
    assert magnitude([small]).dtype == np.float64


def test_an_acceleration_sd_of_exactly_0_2_g_is_not_movement():
    acc = np.tile([0.0, 2 * MOVING_ACC_SD_MS2], 8)  # 16 rows whose SD is the limit to the bit
    assert float(np.std(acc)) == MOVING_ACC_SD_MS2
    still = [np.full(16, 2.0)]
    check_gyr_unit(PATH, [acc], still, "deg/s")  # "more than this SD": the limit itself is not moving
    with pytest.raises(CsvInputError):
        check_gyr_unit(PATH, [acc * 1.001], still, "deg/s")


def test_read_names_reads_the_header_line_alone(tmp_path):
    # a row pandas cannot split further down is the value reader's to name, not the name reader's
    path = _file(tmp_path, "acc_x,acc_y\n1,2\n3,4,5\n")
    assert read_names(path, 0, ",") == ["acc_x", "acc_y"]


def test_the_fast_path_sends_text_to_the_text_path_which_names_the_cell(tmp_path):
    path = _file(tmp_path, "acc_x,acc_y\n1,2\nabc,3\n")
    with pytest.raises(NotNumbers):
        _chunks(path)  # text=False is the default
    with pytest.raises(CsvInputError) as e:
        _chunks(path, text=True)
    assert str(e.value) == f"{path} at line 3: column 'acc_x' has 'abc', not a number"


def test_the_fast_path_reads_missing_words_and_decimal_commas_itself(tmp_path):
    # every MISSING_CELLS word in pandas' usual spellings, and ",": the decimal mark where ";" separates
    path = _file(tmp_path, "acc_x;acc_y\n1,5;\nnan;NA\nN/A;null\nNone;-\n-2,25;3\n")
    nan = float("nan")
    got = _chunks(path, ";")
    assert len(got) == 1 and got[0][0] == 0
    np.testing.assert_array_equal(got[0][1]["acc_x"], [1.5, nan, nan, nan, -2.25])
    np.testing.assert_array_equal(got[0][1]["acc_y"], [nan, nan, nan, nan, 3.0])


def test_a_row_pandas_cannot_split_sends_the_fast_path_to_the_text_path(tmp_path):
    path = _file(tmp_path, 'acc_x,acc_y\n1,2\n"x,3\n')  # a quote never closed
    with pytest.raises(NotNumbers):
        _chunks(path)
    with pytest.raises(CsvInputError, match="not a readable CSV file"):
        _chunks(path, text=True)


@pytest.mark.parametrize("text", [False, True])
def test_each_chunk_starts_at_its_first_row(tmp_path, text):
    path = _file(tmp_path, "acc_x\n" + "".join(f"{i}\n" for i in range(5)))
    ours = {"acc_x": "acc_x"}
    by_two = _chunks(path, ours=ours, text=text, chunk_rows=2)
    assert by_two == [(0, {"acc_x": [0.0, 1.0]}), (2, {"acc_x": [2.0, 3.0]}), (4, {"acc_x": [4.0]})]
    for rows in (1, 0):  # one row a chunk (0 is taken as 1)
        by_one = _chunks(path, ours=ours, text=text, chunk_rows=rows)
        assert by_one == [(i, {"acc_x": [float(i)]}) for i in range(5)]


def test_a_bad_cell_in_a_later_chunk_is_named_with_its_line_in_the_file(tmp_path):
    rows = [f"{i},{i}" for i in range(7)]
    rows[5] = "5,oops"  # row 5: the third chunk of two rows, line 2 + 5 = 7
    path = _file(tmp_path, "acc_x,acc_y\n" + "\n".join(rows) + "\n")
    with pytest.raises(CsvInputError) as e:
        _chunks(path, text=True, chunk_rows=2)
    assert str(e.value) == f"{path} at line 7: column 'acc_y' has 'oops', not a number"


@pytest.mark.parametrize("text", [False, True])
def test_a_space_before_a_quoted_number_is_skipped(tmp_path, text):
    path = _file(tmp_path, 'acc_x, "acc_y"\n1.0, "2.5"\n')
    got = _chunks(path, text=text)
    assert got == [(0, {"acc_x": [1.0], "acc_y": [2.5]})]


@pytest.mark.parametrize("last", ["4", "N/a"])  # "N/a" is no pandas spelling: read by the text path
def test_read_values_skips_a_preamble_as_wide_as_the_header(tmp_path, last):
    path = _file(tmp_path, f"logger,v2\nacc_x,acc_y\n1,2\n3,{last}\n")
    values = {k: v.tolist() for k, v in read_values(path, 1, ",", OURS, 3).items()}
    assert list(values) == ["acc_x", "acc_y"] and values["acc_x"] == [1.0, 3.0]
    np.testing.assert_array_equal(values["acc_y"], [2.0, 4.0 if last == "4" else np.nan])
