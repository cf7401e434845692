"""A ``t_s`` of ISO 8601 date-times refused for its clock names the times as dates (UTC), not as the
UNIX seconds it is read as ("t_s 1.79289e+09 then 1.79289e+09" until 2026-12), and is read in
seconds whatever its step (a 2 s step was read as milliseconds at 500 Hz). A time that repeats is left
to the reader's order check (csv_time_order), which still names it in seconds."""

from __future__ import annotations

import pandas as pd
import pytest

from hipsense.cli import main
from hipsense.formats.csv_input import read_imu_csv
from hipsense.formats.csv_values import CsvInputError
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV

START = pd.Timestamp("2026-10-25T02:30:00+02:00")  # 00:30 UTC
CHUNKED = {"chunk_rows": 300, "keep_rows": 1000}  # read twice, in chunks of 300 rows


@pytest.fixture(scope="module")
def table():
    return simulate_run(scenarios.steady_run(duration_s=12, seed=5)).data.copy()


def _write(tmp_path, table, seconds, name="iso.csv", start=START):
    """``table`` with ``t_s`` the date-times ``start + seconds`` (with its offset, to the ms)."""
    out = table.astype(object).iloc[: len(seconds)].copy()
    out["t_s"] = [(start + pd.Timedelta(seconds=s)).isoformat(timespec="milliseconds") for s in seconds]
    path = tmp_path / name
    out.to_csv(path, index=False)
    return path


def _steps(n, step=0.005):
    return [round(i * step, 3) for i in range(n)]


def _refusal(path, **kw) -> str:
    with pytest.raises(CsvInputError) as e:
        read_imu_csv(path, **kw)
    return str(e.value)


@pytest.mark.parametrize("at", [500, 600])  # 600: the first row of a chunk
def test_a_time_going_back_is_named_as_its_date(tmp_path, table, at):
    seconds = _steps(len(table))
    seconds[at] = seconds[at - 2]
    path = _write(tmp_path, table, seconds)
    a, b = (f"2026-10-25T00:30:0{s % 10:g}Z" for s in (seconds[at - 1], seconds[at]))
    want = f"{path} at line {at + 2}: time goes backwards (t_s {a} then {b})"
    assert _refusal(path) == want
    assert _refusal(path, **CHUNKED) == want


def test_a_wall_clock_without_offsets_going_back_an_hour_is_named_as_dates(tmp_path, table):
    """Berlin's wall clock, written without offsets (read as UTC), at the end of summer time."""
    local = [START + pd.Timedelta(seconds=s) for s in _steps(len(table))]
    local = [
        t if t.hour < 3 else t - pd.Timedelta(hours=1)
        for t in (t + pd.Timedelta(minutes=29, seconds=58) for t in local)
    ]
    out = table.astype(object).iloc[: len(local)].copy()
    out["t_s"] = [t.tz_localize(None).isoformat(timespec="milliseconds") for t in local]
    path = tmp_path / "naive.csv"
    out.to_csv(path, index=False)
    assert _refusal(path) == (
        f"{path} at line 402: time goes backwards (t_s 2026-10-25T02:59:59.995Z then 2026-10-25T02:00:00Z)"
    )


def test_a_jump_of_days_is_named_as_dates(tmp_path, table):
    seconds = _steps(len(table))
    seconds[1000:] = [s + 30 * 86400 for s in seconds[1000:]]
    path = _write(tmp_path, table, seconds)
    want = (
        f"{path} at line 1002: t_s jumps 30 days forward (2026-10-25T00:30:04.995Z then "
        "2026-11-24T00:30:05Z): a corrupt time? one recording pauses for 7 days at most"
    )
    assert _refusal(path) == want
    assert _refusal(path, **CHUNKED) == want


def test_a_clock_outside_2000_2100_is_named_as_its_date(tmp_path, table):
    path = _write(tmp_path, table, _steps(len(table)), start=pd.Timestamp("1990-01-01T01:00:00+01:00"))
    assert _refusal(path) == (
        f"{path}: t_s: it starts at 1990-01-01T00:00:00Z: a recording's clock dates it 2000-2100 (or "
        "counts from 1970-01-01, a clock never set, for at most 3 years): check the column, or read the "
        "rows as evenly spaced: give --time-unit none --sample-rate HZ (--start-time dates them)"
    )
    never_set = _write(tmp_path, table, _steps(len(table)), "unset.csv", pd.Timestamp("1970-01-01T00:00Z"))
    rec = read_imu_csv(never_set)  # a clock counting from 1970: time since the start, as numbers are
    assert rec.start_time_unix is None and rec.sample_rate_hz == pytest.approx(200.0)


def test_date_times_are_seconds_whatever_their_step(tmp_path, table):
    path = _write(tmp_path, table, _steps(len(table), step=2.0))
    assert _refusal(path) == (
        f"{path}: t_s: its date-times are a median 2 s apart, 0.5 Hz, not a sampling rate (1-10000 Hz): for "
        "stamps that do not time the rows, give --time-unit none --sample-rate HZ"
    )
    path = _write(tmp_path, table, _steps(len(table), step=0.05), "20hz.csv")  # 20 Hz, not 20 kHz
    rec = read_imu_csv(path)
    assert rec.sample_rate_hz == pytest.approx(20.0) and rec.notes[0].startswith("t_s is UNIX time")


def test_a_time_unit_given_for_date_times_is_refused_unless_seconds(tmp_path, table):
    path = _write(tmp_path, table, _steps(len(table)))
    assert _refusal(path, time_unit="ms") == (
        f"{path} at line 2: t_s holds ISO 8601 date-times, which are seconds already: leave out --time-unit ms"
    )
    assert read_imu_csv(path, time_unit="s").start_time_unix == pd.Timestamp("2026-10-25T00:30Z").timestamp()
    rows = read_imu_csv(path, time_unit="none", sample_rate_hz=100)  # not read: rows at 100 Hz
    assert rows.sample_rate_hz == 100 and rows.start_time_unix is None


def test_hipsense_import_names_the_date_in_one_line(tmp_path, table, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    seconds = _steps(len(table))
    seconds[500] = seconds[400]
    path = _write(tmp_path, table, seconds)
    assert main(["import", str(path)]) == 2
    err = capsys.readouterr().err
    assert (
        f"{path} at line 502: time goes backwards (t_s 2026-10-25T00:30:02.495Z then 2026-10-25T00:30:02Z)"
        in err
    )
    assert "e+09" not in err


def test_a_start_time_given_for_date_times_says_they_are_date_times(tmp_path, table):
    # before: "t_s is UNIX time already, so it needs no start time given" of an ISO 8601 column
    path = _write(tmp_path, table, _steps(len(table)))
    message = _refusal(path, start_time_unix=1_790_000_000.0)
    assert message.endswith("t_s holds date-times already, so it needs no start time given")
