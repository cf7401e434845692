"""What `hipsense import` is given besides the data: a start-times file whose lines name files by path
or by name (D1), and the time and gyroscope columns whose refusals must say what to do (D8)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hipsense.cli import main
from hipsense.formats.csv_dates import read_start_time_lines, read_start_times, start_times_for
from hipsense.formats.csv_input import read_imu_csv
from hipsense.formats.csv_values import CsvInputError, check_gyr_unit
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV, Store

OCT20, OCT21 = pd.Timestamp("2026-10-20T07:00Z"), pd.Timestamp("2026-10-21T07:00Z")


@pytest.fixture(scope="module")
def table():
    return simulate_run(scenarios.steady_run(duration_s=20, seed=3)).data.copy()


@pytest.fixture
def two_runs(tmp_path, table, monkeypatch):
    """st/a/run.csv and st/b/run.csv (other bytes), the current folder the one above st."""
    monkeypatch.chdir(tmp_path)
    for k, folder in enumerate(("a", "b")):
        (tmp_path / "st" / folder).mkdir(parents=True)
        table.assign(acc_x=table["acc_x"] * (1 + k / 1000)).to_csv(
            tmp_path / "st" / folder / "run.csv", index=False
        )
    return tmp_path


def _files(*names: str) -> list[Path]:
    return [Path(n) for n in names]


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_files_of_one_name_each_get_their_own_start_time(two_runs, tmp_path, monkeypatch, capsys):
    """The report's case: both sessions were dated by the last line, 2026-10-21 07:00, without a word."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    times = two_runs / "st" / "times2.csv"
    times.write_text("st/a/run.csv,2026-10-20T07:00\nst/b/run.csv,2026-10-21T07:00\n")
    assert main(["import", "--start-times", "st/times2.csv", "st/a/run.csv", "st/b/run.csv"]) == 0
    capsys.readouterr()
    with Store(tmp_path / "home") as store:
        when = dict(zip(store.sessions()["sha256"], store.sessions()["start_time"], strict=True))
    assert when == {_sha(two_runs / "st/a/run.csv"): OCT20, _sha(two_runs / "st/b/run.csv"): OCT21}


def test_a_listed_path_is_read_from_the_times_files_folder_or_the_current_one(two_runs):
    files = _files("st/a/run.csv", "st/b/run.csv")
    times = two_runs / "st" / "times.csv"
    want = {files[0]: OCT20.timestamp(), files[1]: OCT21.timestamp()}
    for text in (
        "a/run.csv,2026-10-20T07:00Z\nb/run.csv,2026-10-21T07:00Z\n",  # from the times file's folder
        "st/a/run.csv,2026-10-20T07:00Z\nst/b/run.csv,2026-10-21T07:00Z\n",  # from the current folder
        "./a/run.csv,2026-10-20T07:00Z\nst/b/../b/run.csv,2026-10-21T07:00Z\n",
        "a\\run.csv,2026-10-20T07:00Z\nb\\run.csv,2026-10-21T07:00Z\n",  # written on Windows
        f"{two_runs / 'st/a/run.csv'},2026-10-20T07:00Z\nb/run.csv,2026-10-21T07:00Z\n",  # absolute
    ):
        times.write_text("file,start\n" + text)
        assert start_times_for(times, files) == want, text
    # the files given by absolute paths, or from another current folder: the same lines date them
    elsewhere = [two_runs / f for f in files]
    times.write_text("a/run.csv,2026-10-20T07:00Z\nb/run.csv,2026-10-21T07:00Z\n")
    assert start_times_for(times, elsewhere, cwd=two_runs / "st" / "a") == dict(
        zip(elsewhere, want.values(), strict=True)
    )


def test_a_bare_name_dates_a_file_only_when_one_file_imported_has_it(two_runs):
    times = two_runs / "st" / "times.csv"
    times.write_text("run.csv,2026-10-20T07:00Z\nother.csv,2026-10-22T07:00Z\n")
    assert start_times_for(times, _files("st/a/run.csv", "x.hsn")) == {
        _files("st/a/run.csv")[0]: OCT20.timestamp()
    }
    with pytest.raises(CsvInputError) as e:
        start_times_for(times, _files("st/a/run.csv", "st/b/run.csv"))
    assert str(e.value) == (
        f"{times} at line 1: 'run.csv' is the name of 2 files imported (st/a/run.csv, st/b/run.csv): list "
        "each with its folder (e.g. st/a/run.csv), read from this file's folder or the current one"
    )


def test_the_same_file_dated_twice_is_refused_naming_both_lines(two_runs):
    times = two_runs / "st" / "times.csv"
    files = _files("st/a/run.csv", "st/b/run.csv")
    times.write_text("file,start\nrun.csv,2026-10-20T07:00Z\n# the second run\nrun.csv,2026-10-21T07:00Z\n")
    with pytest.raises(CsvInputError) as e:
        read_start_time_lines(times)
    assert str(e.value) == f"{times} at line 4: 'run.csv' is listed twice, on lines 2 and 4: keep one"
    times.write_text(
        "a/run.csv,2026-10-20T07:00Z\nst/a/run.csv,2026-10-21T07:00Z\nb/run.csv,2026-10-21T07:00Z\n"
    )
    with pytest.raises(CsvInputError) as e:
        start_times_for(times, files)
    assert str(e.value) == (
        f"{times} at line 2: lines 1 and 2 ('a/run.csv', 'st/a/run.csv') both date st/a/run.csv: keep one"
    )
    times.write_text("a/run.csv,2026-10-20T07:00Z\na/./run.csv,2026-10-21T07:00Z\n")
    with pytest.raises(CsvInputError, match="line 2: 'a/./run.csv' is listed twice, on lines 1 and 2"):
        read_start_time_lines(times)


def test_a_path_that_names_two_files_from_the_two_folders_is_refused(two_runs):
    (two_runs / "a").mkdir()
    (two_runs / "a" / "run.csv").write_bytes((two_runs / "st/a/run.csv").read_bytes())
    times = two_runs / "st" / "times.csv"
    times.write_text("a/run.csv,2026-10-20T07:00Z\n")
    with pytest.raises(CsvInputError) as e:
        start_times_for(times, _files("a/run.csv", "st/a/run.csv"))
    assert str(e.value) == (
        f"{times} at line 1: 'a/run.csv' names two of the files imported, a/run.csv and st/a/run.csv (read "
        "from this file's folder and from the current one): write the path from one of them"
    )


def test_a_file_without_a_line_is_named_by_its_path_when_its_name_is_not_enough(two_runs, capsys):
    times = two_runs / "st" / "times.csv"
    times.write_text("a/run.csv,2026-10-20T07:00Z\n")
    assert main(["import", "--start-times", str(times), "st/a/run.csv", "st/b/run.csv"]) == 2
    assert capsys.readouterr().err.replace("\n", " ").count("no start time for st/b/run.csv") == 1
    with pytest.raises(CsvInputError, match=r"no start time for run\.csv \(a line 'file, ISO time'"):
        start_times_for(times, _files("st/b/run.csv"))


def test_read_start_times_keeps_its_forms_and_refuses_a_shared_name(tmp_path):
    f = tmp_path / "starts.csv"
    f.write_text("file,start\nrun1.csv,2026-01-01T07:30+01:00\nsub/run2.csv,2026-01-02T06:30\n\n")
    assert read_start_times(f) == {"run1.csv": 1_767_249_000.0, "run2.csv": 1_767_335_400.0}
    f.write_text("a/run.csv,2026-10-20T07:00\nb/run.csv,2026-10-21T07:00\n")
    with pytest.raises(CsvInputError) as e:
        read_start_times(f)
    assert str(e.value) == (
        f"{f} at line 2: lines 1 and 2 ('a/run.csv', 'b/run.csv') both date a file named 'run.csv': by "
        "name alone they cannot be told apart"
    )
    f.write_text(",2026-10-20T07:00\n")
    with pytest.raises(CsvInputError, match="at line 1: '' names no file"):
        read_start_times(f)


# D8: a time column of ISO 8601 date-times, a gyroscope that reads 0


def _berlin_iso(table: pd.DataFrame, start_utc: str, offset: bool = True) -> pd.DataFrame:
    """``table`` with ``t_s`` as Berlin's wall-clock date-times (with their UTC offset, or without)."""
    utc = pd.Timestamp(start_utc) + pd.to_timedelta(table["t_s"], unit="s")
    local = utc.dt.tz_convert("Europe/Berlin")
    out = table.astype(object)
    out["t_s"] = [
        t.isoformat(timespec="microseconds") if offset else t.tz_localize(None).isoformat() for t in local
    ]
    return out


def test_iso_date_times_with_offsets_are_the_clock_across_a_daylight_saving_change(tmp_path, table):
    """2026-10-25 03:00 CEST is 02:00 CET: the wall clock goes back an hour, the offsets keep it in order."""
    iso = _berlin_iso(table, "2026-10-25T00:59:55Z")
    path = tmp_path / "berlin.csv"
    iso.to_csv(path, index=False)
    assert open(path).read().splitlines()[1].startswith("2026-10-25T02:59:55.000000+02:00,")
    rec = read_imu_csv(path)
    plain = tmp_path / "plain.csv"
    table.to_csv(plain, index=False)
    ref = read_imu_csv(plain, start_time_unix=pd.Timestamp("2026-10-25T00:59:55Z").timestamp())
    assert rec.start_time_unix == ref.start_time_unix == 1_792_889_995.0
    assert rec.sample_rate_hz == pytest.approx(208.0, abs=1e-4)
    assert rec.notes == ["t_s is UNIX time: the recording started 2026-10-25 00:59:55 UTC"]
    np.testing.assert_allclose(rec.data.to_numpy(), ref.data.to_numpy(), atol=1e-5)
    chunked = read_imu_csv(path, chunk_rows=1000, keep_rows=2000)  # read twice, in chunks
    np.testing.assert_array_equal(chunked.data.to_numpy(), rec.data.to_numpy())
    semicolon = tmp_path / "semicolon.csv"  # a comma-decimal locale's export
    iso.to_csv(semicolon, index=False, sep=";", decimal=",")
    np.testing.assert_allclose(read_imu_csv(semicolon).data.to_numpy(), rec.data.to_numpy(), atol=1e-6)


def test_iso_date_times_without_an_offset_are_utc(tmp_path, table):
    path = tmp_path / "naive.csv"
    _berlin_iso(table, "2026-07-01T05:00:00Z", offset=False).to_csv(path, index=False)  # 07:00 CEST
    assert read_imu_csv(path).start_time_unix == pd.Timestamp("2026-07-01T07:00:00Z").timestamp()
    path = tmp_path / "naive_dst.csv"  # the wall clock going back an hour: refused, with its line
    _berlin_iso(table, "2026-10-25T00:59:55Z", offset=False).to_csv(path, index=False)
    with pytest.raises(CsvInputError, match=r"at line 1042: time goes backwards"):
        read_imu_csv(path)


def test_a_cell_that_breaks_the_date_times_is_named_with_its_line(tmp_path, table):
    iso = _berlin_iso(table, "2026-10-25T00:59:55Z")
    iso.loc[500, "t_s"] = "25.10.2026 03:00"
    path = tmp_path / "broken.csv"
    iso.to_csv(path, index=False)
    for chunks in ({}, {"chunk_rows": 300, "keep_rows": 1000}):
        with pytest.raises(CsvInputError) as e:
            read_imu_csv(path, **chunks)
        assert str(e.value) == (
            f"{path} at line 502: column 't_s' has '25.10.2026 03:00', not an ISO 8601 date and time as in "
            "its first rows"
        )


def test_other_text_in_the_time_column_says_which_option_reads_it(tmp_path, table):
    clock = table.astype(object)
    clock["t_s"] = [f"07:{int(t) // 60:02d}:{t % 60:06.3f}" for t in table["t_s"]]
    path = tmp_path / "clock.csv"
    clock.to_csv(path, index=False)
    with pytest.raises(CsvInputError) as e:
        read_imu_csv(path)
    assert str(e.value) == (
        f"{path} at line 2: column 't_s' has '07:00:00.000', not a number: t_s holds numbers (s, ms, us, "
        "ns) or ISO 8601 date-times (2026-10-25T02:30:00.000+02:00); for other stamps read the rows as "
        "evenly spaced: give --time-unit none --sample-rate HZ (--start-time dates them)"
    )
    rec = read_imu_csv(path, time_unit="none", sample_rate_hz=208, start_time_unix=1_792_889_995.0)
    assert rec.sample_rate_hz == 208 and rec.start_time_unix == 1_792_889_995.0


def test_a_gyroscope_that_reads_zero_is_dead_not_in_rad_s(tmp_path, table):
    path = tmp_path / "dead.csv"
    table.assign(gyr_x=0.0, gyr_y=0.0, gyr_z=0.0).to_csv(path, index=False)
    with pytest.raises(CsvInputError) as e:
        read_imu_csv(path)
    assert str(e.value) == (
        f"{path}: every gyroscope value is 0 while the acceleration shows movement: the gyroscope is dead "
        "or was not recorded (0 is 0 in any unit: no --gyr-unit helps); to analyse the acceleration "
        "alone, leave the gyroscope columns out (drop gyr_* from --columns, or delete them from the file): "
        "the sides are then unknown"
    )
    assert "rad/s" not in str(e.value)
    alone = tmp_path / "alone.csv"  # the advice followed: read
    table.drop(columns=["gyr_x", "gyr_y", "gyr_z"]).to_csv(alone, index=False)
    assert list(read_imu_csv(alone).data.columns) == ["t_s", "acc_x", "acc_y", "acc_z"]


def test_a_real_signal_in_rad_s_still_gets_the_rad_s_hint(table):
    acc = [table[c].to_numpy() for c in ("acc_x", "acc_y", "acc_z")]
    gyr = [np.radians(table[c].to_numpy()) for c in ("gyr_x", "gyr_y", "gyr_z")]
    with pytest.raises(CsvInputError, match=r"is it in rad/s\? then give --gyr-unit rad/s$"):
        check_gyr_unit(Path("rec.csv"), acc, gyr, "deg/s")
    one_axis = [gyr[0], np.zeros(len(gyr[0])), np.zeros(len(gyr[0]))]  # zeros beside a signal: rad/s
    with pytest.raises(CsvInputError, match=r"then give --gyr-unit rad/s$"):
        check_gyr_unit(Path("rec.csv"), acc, one_axis, "deg/s")
    check_gyr_unit(Path("rec.csv"), acc, [np.zeros(len(gyr[0]))] * 3, "rad/s")  # stated: not second-guessed
