"""Reading IMU CSVs: good files in every accepted shape, and one clear error per kind of bad file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense.conventions import G
from hipsense.formats.csv_input import CsvInputError, parse_column_map, read_imu_csv

RATE = 100.0


def _frame(
    n: int = 800, cols=("acc_x", "acc_y", "acc_z"), time: bool = True, gravity: float = G
) -> pd.DataFrame:
    """Noise, plus gravity (in the file's unit: G for m/s^2, 1 for g) on the first column."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({c: rng.normal(size=n) + (gravity if i == 0 else 0.0) for i, c in enumerate(cols)})
    if time:
        df.insert(0, "t_s", 10.0 + np.arange(n) / RATE)
    return df


def _write(tmp_path, df: pd.DataFrame, name="rec.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def test_sensor_frame_with_time(tmp_path):
    df = _frame(cols=("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"))
    rec = read_imu_csv(_write(tmp_path, df))
    assert rec.frame == "sensor" and rec.has_gyro
    assert rec.sample_rate_hz == pytest.approx(RATE)
    assert rec.data["t_s"].iloc[0] == 0.0  # time starts at the session start
    np.testing.assert_allclose(rec.data["gyr_y"], df["gyr_y"])


def test_units_are_converted_to_si(tmp_path):
    df = _frame(cols=("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"), gravity=1.0)
    rec = read_imu_csv(_write(tmp_path, df), acc_unit="g", gyr_unit="rad/s")
    np.testing.assert_allclose(rec.data["acc_x"], df["acc_x"] * G)
    np.testing.assert_allclose(rec.data["gyr_z"], np.degrees(df["gyr_z"]))


def test_body_frame_vertical_and_forward_only_with_mapping(tmp_path):
    df = _frame(cols=("acc_v_g", "acc_ap_g"), gravity=1.0)
    rec = read_imu_csv(
        _write(tmp_path, df), acc_unit="g", columns=parse_column_map("acc_is=acc_v_g,acc_pa=acc_ap_g")
    )
    assert rec.frame == "body" and not rec.has_gyro
    assert list(rec.data.columns) == ["t_s", "acc_is", "acc_pa"]


def test_sample_rate_without_time_column(tmp_path):
    rec = read_imu_csv(_write(tmp_path, _frame(time=False)), sample_rate_hz=RATE)
    assert rec.data["t_s"].iloc[-1] == pytest.approx(799 / RATE)


@pytest.mark.parametrize(
    ("mutate", "message", "line"),
    [
        (lambda df: df.drop(columns="acc_y"), "no acceleration columns", None),
        (
            lambda df: df.assign(acc_y=df["acc_y"].astype(object).where(df.index != 5, "abc")),
            "'abc', not a number",
            7,
        ),
        (
            lambda df: df.assign(acc_z=df["acc_z"].astype(object).where(df.index != 9, "")),
            "an empty cell",
            11,
        ),
        (lambda df: df.assign(t_s=df["t_s"].where(df.index != 20, 0.0)), "time goes backwards", 22),
        (lambda df: df.iloc[:100], "too short to analyse", None),
        (lambda df: df.drop(columns="t_s"), "no time column", None),
        (lambda df: df.assign(gyr_x=1.0), "gyroscope columns incomplete", None),
    ],
    ids=[
        "missing-column",
        "non-numeric",
        "empty-cell",
        "time-backwards",
        "too-short",
        "no-time",
        "partial-gyro",
    ],
)
def test_bad_csv_gets_one_clear_error(tmp_path, mutate, message, line):
    path = _write(tmp_path, mutate(_frame()))
    with pytest.raises(CsvInputError) as info:
        read_imu_csv(path)
    text = str(info.value)
    assert message in text
    assert str(path) in text
    assert "\n" not in text
    if line is not None:
        assert f"line {line}" in text and info.value.offset == line


@pytest.mark.parametrize(
    ("gravity", "acc_unit", "hint"),
    [(1.0, "m/s^2", "is the file in g? then give --acc-unit g"), (G, "g", "is the file in m/s^2?")],
    ids=["g-read-as-m/s^2", "m/s^2-read-as-g"],
)
def test_acceleration_in_the_other_unit_is_refused(tmp_path, gravity, acc_unit, hint):
    """Off by a factor of 9.81, the analysis would fail for another reason (g as m/s^2: 'no walking or
    running found') or give impacts ten times too large (m/s^2 as g); the error names the unit instead."""
    path = _write(tmp_path, _frame(gravity=gravity))
    with pytest.raises(CsvInputError, match="median magnitude") as info:
        read_imu_csv(path, acc_unit=acc_unit)
    assert hint in str(info.value) and str(path) in str(info.value)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(CsvInputError, match="empty"):
        read_imu_csv(empty)
    with pytest.raises(CsvInputError, match="no such file"):
        read_imu_csv(tmp_path / "nope.csv")


def test_mapping_to_a_column_the_file_lacks(tmp_path):
    with pytest.raises(CsvInputError, match="'vert' named in --columns"):
        read_imu_csv(_write(tmp_path, _frame()), columns={"acc_is": "vert"})


@pytest.mark.parametrize("text", ["acc_is", "acc_is=", "foo=bar"])
def test_bad_column_map(text):
    with pytest.raises(ValueError):
        parse_column_map(text)


def test_binary_file_is_named_as_such(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CsvInputError, match="binary content: neither a hipsense session file"):
        read_imu_csv(path)


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_or_tab_separated_with_decimal_commas(tmp_path, sep):
    # as a spreadsheet in a comma-decimal locale exports it
    df = _frame(cols=("acc_x", "acc_y", "acc_z"))
    path = tmp_path / "rec.csv"
    path.write_text(df.to_csv(index=False, sep=sep, decimal=","))
    rec = read_imu_csv(path)
    np.testing.assert_allclose(rec.data["acc_y"], df["acc_y"])
    assert rec.sample_rate_hz == pytest.approx(RATE)


def test_unix_time_in_t_s_dates_the_recording(tmp_path):
    df = _frame()
    rec = read_imu_csv(_write(tmp_path, df))
    assert rec.start_time_unix is None  # seconds since the start: no date
    df["t_s"] += 1_767_225_600.25
    rec = read_imu_csv(_write(tmp_path, df, "unix.csv"))
    assert rec.start_time_unix == pytest.approx(1_767_225_610.25)  # _frame's time starts at 10 s
    assert rec.data["t_s"].iloc[0] == 0.0 and rec.sample_rate_hz == pytest.approx(RATE)
    assert any("UNIX time" in n and "2026-01-01 00:00:10 UTC" in n for n in rec.notes)


def test_a_start_time_given_dates_a_relative_time_csv_only(tmp_path):
    df = _frame()
    rec = read_imu_csv(_write(tmp_path, df), start_time_unix=1_767_225_600.0)
    assert rec.start_time_unix == 1_767_225_600.0
    df["t_s"] += 1_767_225_600
    with pytest.raises(CsvInputError, match="UNIX time already"):
        read_imu_csv(_write(tmp_path, df, "unix.csv"), start_time_unix=1_767_225_600.0)
