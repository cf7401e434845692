"""Reading IMU CSVs: good files in every accepted shape, and one clear error per kind of bad file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
        (lambda df: df.assign(t_s=df["t_s"].where(df.index != 20, 0.0)), "time goes backwards", 22),
        (lambda df: df.iloc[:100], "too short to analyse", None),
        (lambda df: df.drop(columns="t_s"), "no time column", None),
        (lambda df: df.assign(gyr_x=1.0), "gyroscope columns incomplete", None),
    ],
    ids=[
        "missing-column",
        "non-numeric",
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


# -- the recording's own clock ----------------------------------------------------------------------
def test_an_empty_cell_is_a_counted_filled_hole(tmp_path):
    df = _frame()
    df["acc_z"] = df["acc_z"].astype(object).where(df.index != 9, "")
    df["acc_y"] = df["acc_y"].astype(object).where(df.index != 20, "NaN")
    rec = read_imu_csv(_write(tmp_path, df))
    q = rec.quality
    assert (q.nan_cells, q.filled_samples, q.missing_samples) == (2, 2, 2)
    assert np.flatnonzero(rec.filled).tolist() == [9, 20] and q.gaps == []
    # the whole row is a hole: its good cells are interpolated too, as the neighbours say
    a = pd.to_numeric(df["acc_x"]).to_numpy()
    assert rec.data["acc_x"].iloc[9] == pytest.approx((a[8] + a[10]) / 2)
    assert len(rec.data) == 800 and rec.sample_rate_hz == pytest.approx(RATE)


def test_a_run_of_empty_rows_longer_than_the_fill_limit_is_a_gap(tmp_path):
    df = _frame()
    df.loc[300:329, "acc_y"] = np.nan  # 30 rows = 0.3 s at 100 Hz, beyond MAX_FILL_S
    rec = read_imu_csv(_write(tmp_path, df))
    assert rec.segments.tolist() == [[0, 300], [300, 770]]
    (gap,) = rec.quality.gaps
    assert gap.missing_samples == 30 and gap.duration_s == pytest.approx(0.30)
    assert gap.start_s == pytest.approx(2.99)
    assert rec.data["t_s"].iloc[300] == pytest.approx(3.30)  # the clock jumps, no rows made for it
    assert rec.quality.missing_samples == 30 and rec.quality.filled_samples == 0


def test_rounded_stamps_give_the_exact_rate_and_a_fitted_clock(tmp_path):
    fs = 208.0
    df = _frame(n=208 * 200)
    df["t_s"] = np.round(np.arange(len(df)) / fs, 5)
    rec = read_imu_csv(_write(tmp_path, df))
    # 1/median(diff) of these stamps is 207.9 Hz: 90 ms of drift after 200 s
    assert abs(rec.sample_rate_hz - fs) < 1e-4
    t = rec.data["t_s"].to_numpy()
    assert np.abs(t - np.arange(len(t)) / fs).max() < 1e-6
    assert rec.quality.sample_rate_hz == pytest.approx(fs, abs=1e-4)


def test_dropped_rows_and_a_pause_keep_every_sample_on_its_time(tmp_path):
    df = _frame(n=3000)
    t = np.arange(3000) / RATE
    t[2000:] += 600.0  # a 10-minute pause
    df["t_s"] = t
    df = df.drop(index=[100, 101, 1500])  # a logger dropping rows
    rec = read_imu_csv(_write(tmp_path, df))
    assert rec.segments.tolist() == [[0, 2000], [2000, 3000]]
    assert rec.quality.filled_samples == 3 and rec.filled[[100, 101, 1500]].all()
    (gap,) = rec.quality.gaps
    assert gap.duration_s == pytest.approx(600.0) and gap.missing_samples == 60000
    assert rec.time_at(np.array([2500.0]))[0] == pytest.approx(625.0)
    assert rec.elapsed_time_s == pytest.approx(630.0)
    assert rec.recorded_time_s + rec.quality.gap_time_s == pytest.approx(rec.elapsed_time_s)


@pytest.mark.parametrize(
    ("scale", "offset", "unit", "start"),
    [
        (1e3, 0.0, "ms", None),
        (1e6, 0.0, "us", None),
        (1e3, 1_767_225_600_000.0, "ms", 1_767_225_600.0),
        (1e6, 1_767_225_600_000_000.0, "us", 1_767_225_600.0),
        (1.0, 1_767_225_600.0, "s", 1_767_225_600.0),
    ],
    ids=["ms", "us", "unix-ms", "unix-us", "unix-s"],
)
def test_time_units_are_recognised_from_the_values(tmp_path, scale, offset, unit, start):
    df = _frame()
    df["t_s"] = offset + np.arange(len(df)) / RATE * scale
    rec = read_imu_csv(_write(tmp_path, df))
    assert rec.sample_rate_hz == pytest.approx(RATE)
    assert rec.data["t_s"].iloc[-1] == pytest.approx(799 / RATE)
    assert rec.start_time_unix == (pytest.approx(start) if start else None)
    assert (unit == "s") or any(f"read in {unit}" in n for n in rec.notes)
    # stating the unit gives the same
    same = read_imu_csv(_write(tmp_path, df, "given.csv"), time_unit=unit)
    assert same.sample_rate_hz == pytest.approx(rec.sample_rate_hz)


@pytest.mark.parametrize(
    ("times", "message"),
    [
        (253_402_300_800.0 + np.arange(800) / RATE, "the year 10000"),
        (253_402_300_800_000.0 + np.arange(800) * 10.0, "the year 10000"),
        (np.arange(800) * 0.25, "state the unit with --time-unit s|ms|us"),
        (np.arange(800) / RATE, "check --time-unit"),  # seconds, said to be ms
    ],
    ids=["year-10000-s", "year-10000-ms", "ambiguous-step", "ms-given-for-seconds"],
)
def test_an_impossible_time_column_is_one_line_naming_the_option(tmp_path, times, message):
    df = _frame()
    df["t_s"] = times
    unit = "ms" if message == "check --time-unit" else "auto"
    with pytest.raises(CsvInputError, match=message) as info:
        read_imu_csv(_write(tmp_path, df), time_unit=unit)
    assert "\n" not in str(info.value) and "t_s" in str(info.value)


def test_a_missing_time_is_refused_with_its_line(tmp_path):
    df = _frame()
    df["t_s"] = df["t_s"].astype(object).where(df.index != 7, "")
    with pytest.raises(CsvInputError, match="t_s is empty or missing: every row needs its time") as info:
        read_imu_csv(_write(tmp_path, df))
    assert info.value.offset == 9


@pytest.mark.parametrize(
    ("col", "value", "unit"),
    [("acc_y", 1e300, "m/s^2"), ("gyr_z", 1e300, "deg/s"), ("gyr_x", -7000.0, "deg/s")],
)
def test_a_value_no_imu_reports_is_refused_naming_column_line_and_value(tmp_path, col, value, unit):
    import warnings

    df = _frame(cols=("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"))
    df.loc[40, col] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow warnings escape
        with pytest.raises(CsvInputError, match="beyond what any IMU reports") as info:
            read_imu_csv(_write(tmp_path, df))
    text = str(info.value)
    assert f"column {col!r} has {value:.6g} {unit}" in text and info.value.offset == 42


def test_a_gyroscope_ten_times_wrong_everywhere_is_called_a_unit(tmp_path):
    df = _frame(cols=("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"))
    df["gyr_x"] = 1e6 * (df["gyr_x"] + 3)
    with pytest.raises(CsvInputError, match="the wrong unit"):
        read_imu_csv(_write(tmp_path, df))


@pytest.fixture(scope="module")
def running():
    from hipsense.sim import scenarios, simulate_run

    return simulate_run(scenarios.steady_run(duration_s=20, seed=3))


def test_a_gyroscope_in_rad_s_read_as_deg_s_is_refused(tmp_path, running):
    df = running.data.copy()
    for c in ("gyr_x", "gyr_y", "gyr_z"):
        df[c] = np.radians(df[c])
    path = _write(tmp_path, df)
    with pytest.raises(CsvInputError, match="--gyr-unit rad/s"):
        read_imu_csv(path)
    rec = read_imu_csv(path, gyr_unit="rad/s")  # stated: read as it is
    np.testing.assert_allclose(rec.data["gyr_x"], running.data["gyr_x"], atol=1e-9)
    assert read_imu_csv(_write(tmp_path, running.data, "deg.csv")).quality.clipped_share == 0.0


def test_a_saturated_channel_is_kept_and_counted(tmp_path):
    df = _frame()
    df.loc[[100, 200, 300, 400], "acc_z"] = 16 * G  # stuck at a 16 g full scale
    rec = read_imu_csv(_write(tmp_path, df))
    assert rec.quality.clipped_share == pytest.approx(4 / 800)


def test_a_preamble_is_skipped_when_the_header_is_recognised(tmp_path):
    df = _frame()
    path = tmp_path / "logger.csv"
    path.write_text("# Logger X v2.1\nDevice;SN 1234\nStart: 2026-01-01 10:00\n\n" + df.to_csv(index=False))
    rec = read_imu_csv(path)
    np.testing.assert_allclose(rec.data["acc_y"], df["acc_y"])
    df["acc_y"] = df["acc_y"].astype(object).where(df.index != 5, "abc")  # lines counted in the file
    path.write_text("# Logger X v2.1\nDevice;SN 1234\n" + df.to_csv(index=False))
    with pytest.raises(CsvInputError) as info:
        read_imu_csv(path)
    assert info.value.offset == 9


def test_skip_rows_names_the_header_line(tmp_path):
    df = _frame(cols=("a", "b", "c"))
    path = tmp_path / "odd.csv"
    path.write_text("acc_x,acc_y,acc_z,t_s\n1,2,3,4\n" + df.to_csv(index=False))
    with pytest.raises(CsvInputError):
        read_imu_csv(path)  # the decoy header is taken first
    rec = read_imu_csv(path, skip_rows=2, columns={"acc_x": "a", "acc_y": "b", "acc_z": "c"})
    assert len(rec.data) == 800


def test_an_unrecognised_header_shows_the_first_lines(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("Logger X export\ntime,ax,ay,az\n" + "0.0,1,2,3\n" * 10)
    with pytest.raises(CsvInputError) as info:
        read_imu_csv(path)
    text = str(info.value)
    assert "no acceleration columns" in text and "--skip-rows" in text
    assert "'Logger X export' | 'time,ax,ay,az'" in text and "\n" not in text


def test_start_times_file_and_file_name_dates(tmp_path):
    from hipsense.formats.csv_input import read_start_times, start_time_from_name

    f = tmp_path / "starts.csv"
    f.write_text("file,start\nrun1.csv,2026-01-01T07:30+01:00\nsub/run2.csv,2026-01-02T06:30\n")
    assert read_start_times(f) == {"run1.csv": 1_767_249_000.0, "run2.csv": 1_767_335_400.0}
    f.write_text("run1.csv,2026-01-01\nrun2.csv,yesterday\n")
    with pytest.raises(CsvInputError, match="'yesterday' is not an ISO time") as info:
        read_start_times(f)
    assert info.value.offset == 2
    assert start_time_from_name("data/run_20260101_063000.csv", "%Y%m%d_%H%M%S") == 1_767_249_000.0
    assert start_time_from_name("x_2026-01-01T07.30+0100.csv", "%Y-%m-%dT%H.%M%z") == 1_767_249_000.0
    with pytest.raises(ValueError, match="holds no date"):
        start_time_from_name("run.csv", "%Y%m%d")


def test_a_latin1_preamble_and_trailing_empty_rows_are_no_reason_to_refuse(tmp_path):
    df = _frame()
    path = tmp_path / "export.csv"
    text = "Temperatur: 21 \xb0C\n" + df.to_csv(index=False) + ",,,\n,,,\n"
    path.write_bytes(text.encode("latin-1"))
    rec = read_imu_csv(path)
    assert len(rec.data) == 800 and rec.quality.filled_samples == 0


def test_skip_rows_beyond_the_header_search(tmp_path):
    df = _frame()
    path = tmp_path / "long-preamble.csv"
    path.write_text("".join(f"meta {i}\n" for i in range(80)) + df.to_csv(index=False))
    with pytest.raises(CsvInputError, match="no acceleration columns"):
        read_imu_csv(path)
    assert len(read_imu_csv(path, skip_rows=80).data) == 800
    with pytest.raises(CsvInputError, match="--skip-rows 5000: the file has only 881 lines"):
        read_imu_csv(path, skip_rows=5000)


def test_csv_options_keep_time_unit_and_skip_rows_only_when_given():
    from hipsense.formats.csv_input import csv_options

    assert csv_options() == {}
    assert csv_options(time_unit="ms", skip_rows=0) == {"time_unit": "ms", "skip_rows": 0}


def test_analyze_reads_a_logger_file_with_its_options(tmp_path, running, capsys):
    """--time-unit and --skip-rows through the command: ms since the start under a 3-line preamble."""
    from hipsense.cli import main

    df = running.data.assign(t_s=np.round(running.data["t_s"] * 1000, 1))
    path = tmp_path / "logger.csv"
    path.write_text("Logger X\nsubject S01\nunits: ms, m/s^2, deg/s\n" + df.to_csv(index=False))
    summary = tmp_path / "summary.json"
    args = ["analyze", str(path), "--summary-out", str(summary)]
    assert main([*args, "--time-unit", "ms", "--skip-rows", "3"]) == 0
    assert summary.exists()
    capsys.readouterr()
    summary.unlink()
    assert main([*args, "--time-unit", "us"]) != 0  # the wrong unit: refused, nothing written
    err = capsys.readouterr().err
    assert "check --time-unit" in err and len(err.strip().splitlines()) == 1
    assert not summary.exists()


def test_stamps_coarser_than_the_samples_are_named_as_such(tmp_path):
    df = _frame()
    df["t_s"] = np.floor(np.arange(800) / RATE * 50) / 50  # a 20 ms clock at 100 Hz
    with pytest.raises(
        CsvInputError,
        match="50% of steps are 0, stamps coarser than the samples: give --time-unit none --sample-rate HZ",
    ):
        read_imu_csv(_write(tmp_path, df))


def test_a_time_jumping_years_forward_is_a_corrupt_time_not_a_pause(tmp_path):
    df = _frame()
    df.loc[799, "t_s"] = 1e9  # the last row's time
    with pytest.raises(CsvInputError, match="t_s jumps 1.16e\\+04 days forward") as info:
        read_imu_csv(_write(tmp_path, df))
    assert info.value.offset == 801


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    fs=st.sampled_from([52.0, 100.0, 104.0, 208.0, 416.0]),
    drop=st.floats(0.0, 0.02),
    nan=st.floats(0.0, 0.02),
    pause_s=st.sampled_from([0.0, 1.0, 600.0]),
    unit=st.sampled_from([("s", 1.0, 0.0), ("ms", 1e3, 0.0), ("unix-ms", 1e3, 1_767_225_600_000.0)]),
)
def test_any_logger_file_keeps_its_clock_and_counts(seed, fs, drop, nan, pause_s, unit):
    """Random drops, empty cells and a pause, in s, ms or UNIX ms: every sample the clock lost is
    counted once (filled or in a gap), and elapsed = recorded + gaps exactly."""
    import tempfile
    from pathlib import Path

    rng = np.random.default_rng(seed)
    n = int(8 * fs)
    number = np.arange(n)
    t = number / fs + np.where(number >= n // 2, pause_s, 0.0)
    keep = rng.random(n) >= drop
    keep[[0, n // 2 - 1, n // 2, n - 1]] = True  # the pause is between two kept rows
    df = pd.DataFrame({"t_s": t * unit[1] + unit[2]})
    for c in ("acc_x", "acc_y", "acc_z"):
        df[c] = rng.normal(size=n) + (G if c == "acc_z" else 0.0)
    empty = rng.random(n) < nan
    empty[[0, n - 1]] = False
    df.loc[empty, "acc_y"] = np.nan
    df = df[keep]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "any.csv"
        df.to_csv(path, index=False, float_format="%.6f" if unit[0] != "s" else "%.9f")
        rec = read_imu_csv(path)
    q = rec.quality
    assert rec.sample_rate_hz == pytest.approx(fs, rel=1e-5)
    assert rec.recorded_time_s + q.gap_time_s == pytest.approx(rec.elapsed_time_s, abs=1e-9)
    assert rec.elapsed_time_s == pytest.approx(n / fs + pause_s, abs=1e-6)
    lost = int((~keep | empty).sum())
    assert q.missing_samples == lost + round(pause_s * fs)
    assert q.nan_cells == int((empty & keep).sum())
    assert len(rec.segments) == len(q.gaps) + 1
    if pause_s:  # the pause is one of the gaps (empty rows next to it may lengthen it)
        assert any(pause_s - 1e-6 <= g.duration_s <= pause_s + 0.1 for g in q.gaps)
    assert rec.start_time_unix == (pytest.approx(1_767_225_600.0) if unit[0] == "unix-ms" else None)


def test_the_command_line_csv_options_carry_time_unit_and_skip_rows():
    import argparse

    from hipsense.cli.common import add_csv_options, csv_options_from

    p = argparse.ArgumentParser()
    add_csv_options(p)
    assert csv_options_from(p.parse_args([])) == {}
    args = p.parse_args(["--time-unit", "ms", "--skip-rows", "3", "--acc-unit", "g"])
    assert csv_options_from(args) == {"acc_unit": "g", "time_unit": "ms", "skip_rows": 3}
    with pytest.raises(SystemExit):
        p.parse_args(["--skip-rows", "-1"])
    with pytest.raises(SystemExit):
        p.parse_args(["--time-unit", "h"])
