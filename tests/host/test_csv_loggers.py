"""Other loggers' CSV exports, written here in the layouts those loggers write (not in our writer's):
Shimmer Consensys, MbientLab MetaBase, phyphox, Sensor Logger, Gulf Coast Data Concepts X16 and
ActiGraph ActiLife. Each layout's source is in tests/vectors/csv/loggers/README.md; the values are our
own (gravity on one axis, a 2.8 Hz running bounce), and each test reads the file with the options a
user would give (docs/csv-input.md, "Other loggers' exports").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hipsense.cli import main
from hipsense.conventions import G
from hipsense.formats.csv_header import stated_rate
from hipsense.formats.csv_input import CsvInputError, parse_column_map, read_imu_csv

START_MS = 1_767_225_600_000  # 2026-01-01 00:00:00 UTC


def _signal(n: int, rate: float, *, jitter_s: float = 0.0, seed: int = 3):
    """Times (s from the start) and a running-like pelvis signal: acceleration (m/s^2) with gravity on
    y, angular rate (deg/s)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate + (rng.uniform(-jitter_s, jitter_s, n) if jitter_s else 0.0)
    w = 2 * np.pi * 2.8 * t
    acc = np.stack([1.2 * np.sin(w / 2), G + 4.0 * np.sin(w), 1.5 * np.cos(w)], axis=1)
    acc += rng.normal(0, 0.05, acc.shape)
    gyr = np.stack([40 * np.sin(w / 2), 25 * np.cos(w / 2), 60 * np.sin(w / 2 + 0.4)], axis=1)
    return t, acc, gyr


def _write(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.write_text(end.join(lines) + end)
    return path


# --- Shimmer Consensys: "sep=" line, names, units row, trailing separator, UNIX ms --------------------
SHIMMER = "Shimmer_40AC"
SHIMMER_COLUMNS = ",".join(
    [f"t_s={SHIMMER}_Timestamp_Unix_CAL"]
    + [f"acc_{a}={SHIMMER}_Accel_LN_{a.upper()}_CAL" for a in "xyz"]
    + [f"gyr_{a}={SHIMMER}_Gyro_{a.upper()}_CAL" for a in "xyz"]
)


def shimmer(path: Path, *, sep: str = "\t", rate: float = 128.0, seconds: float = 40.0) -> Path:
    n = int(seconds * rate)
    t, acc, gyr = _signal(n, rate)
    names = [f"{SHIMMER}_Timestamp_Unix_CAL"]
    names += [f"{SHIMMER}_Accel_LN_{a}_CAL" for a in "XYZ"] + [f"{SHIMMER}_Gyro_{a}_CAL" for a in "XYZ"]
    names.append(f"{SHIMMER}_Battery_CAL")
    units = ["ms", *["m/(s^2)"] * 3, *["deg/s"] * 3, "mV"]
    lines = [f'"sep={sep}"', sep.join(names) + sep, sep.join(units) + sep]
    for i in range(n):
        cells = [
            f"{START_MS + t[i] * 1000:.3f}",
            *(f"{v:.11f}" for v in acc[i]),
            *(f"{v:.11f}" for v in gyr[i]),
        ]
        lines.append(sep.join([*cells, "3712.45"]) + sep)
    return _write(path, lines, end="\r\n")


@pytest.mark.parametrize(("sep", "rate"), [("\t", 128.0), (",", 51.2)])
def test_shimmer_consensys_export(tmp_path, sep, rate):
    path = shimmer(tmp_path / "run_Session1_Shimmer_40AC_Calibrated_PC.csv", sep=sep, rate=rate)
    rec = read_imu_csv(path, columns=parse_column_map(SHIMMER_COLUMNS))
    assert rec.sample_rate_hz == pytest.approx(rate, rel=1e-6)
    assert len(rec.data) == int(40 * rate)
    assert rec.start_time_unix == pytest.approx(START_MS / 1000)
    t, acc, gyr = _signal(int(40 * rate), rate)
    assert np.allclose(rec.data["acc_y"], acc[:, 1], atol=1e-4)
    assert np.allclose(rec.data["gyr_z"], gyr[:, 2], atol=1e-3)
    assert any("units" in note for note in rec.notes)


def test_shimmer_units_row_is_checked_against_the_units_given(tmp_path):
    """The units row says m/(s^2): reading it in g is refused in one line naming the row."""
    path = shimmer(tmp_path / "shimmer.csv")
    with pytest.raises(CsvInputError) as e:
        read_imu_csv(path, columns=parse_column_map(SHIMMER_COLUMNS), acc_unit="g")
    assert "\n" not in str(e.value)
    assert "m/(s^2)" in str(e.value) and "line 3" in str(e.value)


# --- MbientLab MetaBase: one file per sensor, UNIX ms, an ISO time, elapsed s, g ----------------------
def metabase(path: Path, sensor: str = "acc", *, rate: float = 100.0, seconds: float = 40.0) -> Path:
    n = int(seconds * rate)
    t, acc, gyr = _signal(n, rate)
    unit = "g" if sensor == "acc" else "deg/s"
    values = acc / G if sensor == "acc" else gyr
    lines = [f"epoch (ms),time (-05:00),elapsed (s),x-axis ({unit}),y-axis ({unit}),z-axis ({unit})"]
    for i in range(n):
        ms = START_MS + round(t[i] * 1000)
        iso = np.datetime64(ms - 5 * 3_600_000, "ms").astype(str)
        lines.append(f"{ms},{iso},{t[i]:.3f}," + ",".join(f"{v:.3f}" for v in values[i]))
    return _write(path, lines)


def test_metabase_accelerometer_file(tmp_path):
    path = metabase(tmp_path / "MetaWear_2026-01-01T00.00.00.000_C8F2_Accelerometer.csv")
    rec = read_imu_csv(path, columns=parse_column_map("metawear"), acc_unit="g")
    assert rec.sample_rate_hz == pytest.approx(100.0, rel=1e-6)
    assert len(rec.data) == 4000
    assert rec.start_time_unix == pytest.approx(START_MS / 1000)
    assert float(np.median(rec.data["acc_y"])) == pytest.approx(G, abs=0.05)
    assert "gyr_x" not in rec.data


def test_metabase_gyroscope_file_alone_says_what_to_do(tmp_path):
    path = metabase(tmp_path / "MetaWear_Gyroscope.csv", "gyr")
    with pytest.raises(CsvInputError) as e:
        read_imu_csv(path, columns=parse_column_map("metawear"), acc_unit="g")
    message = str(e.value)
    assert "\n" not in message
    assert "only angular rate" in message and "accelerometer's file" in message


# --- phyphox: quoted names with units, s from the start, comma or semicolon with decimal comma ---------
PHYPHOX = ["Time (s)", *(f"Acceleration {a} (m/s^2)" for a in "xyz"), "Absolute acceleration (m/s^2)"]


def phyphox(path: Path, *, sep: str = ",", rate: float = 203.7, seconds: float = 40.0) -> Path:
    n = int(seconds * rate)
    t, acc, _ = _signal(n, rate, jitter_s=0.0004)
    t = t - t[0] + 0.0123  # phyphox's clock starts at the first event after "start"
    lines = [sep.join(f'"{c}"' for c in PHYPHOX)]
    for i in range(n):
        cells = [f"{t[i]:.9E}", *(f"{v:.9E}" for v in acc[i]), f"{np.linalg.norm(acc[i]):.9E}"]
        lines.append(sep.join(c.replace(".", ",") if sep == ";" else c for c in cells))
    return _write(path, lines)


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_phyphox_acceleration_with_g(tmp_path, sep):
    path = phyphox(tmp_path / "Raw Data.csv", sep=sep)
    rec = read_imu_csv(path, columns=parse_column_map("phyphox"))
    assert rec.sample_rate_hz == pytest.approx(203.7, rel=1e-3)
    assert len(rec.data) == int(40 * 203.7)
    assert float(np.median(rec.data["acc_y"])) == pytest.approx(G, abs=0.1)


# --- Sensor Logger: time in ns since 1970, seconds_elapsed, z,y,x; one file per sensor ----------------
def sensor_logger(path: Path, sensor: str = "TotalAcceleration", *, rate: float = 100.0) -> Path:
    n = int(40 * rate)
    t, acc, gyr = _signal(n, rate, jitter_s=0.0003)
    values = acc if sensor == "TotalAcceleration" else np.radians(gyr)
    t = t - 0.0215  # the first readings came before the tap on "start"
    lines = ["time,seconds_elapsed,z,y,x"]
    for i in range(n):
        ns = START_MS * 1_000_000 + round(t[i] * 1e9)
        x, y, z = (float(v) for v in values[i])
        lines.append(f"{ns},{float(t[i])!r},{z!r},{y!r},{x!r}")
    return _write(path, lines)


def test_sensor_logger_total_acceleration(tmp_path):
    path = sensor_logger(tmp_path / "TotalAcceleration.csv")
    rec = read_imu_csv(path, columns=parse_column_map("sensorlogger"))
    assert rec.sample_rate_hz == pytest.approx(100.0, rel=1e-3)
    assert len(rec.data) == 4000
    assert float(np.median(rec.data["acc_y"])) == pytest.approx(G, abs=0.1)


def test_sensor_logger_nanosecond_clock_is_read_and_dates_the_run(tmp_path):
    # Its `time` is UNIX ns: before, refused ("none is a rate ... --time-unit s|ms|us"); now recognised
    # from its step (1e7 ns at 100 Hz) and dated, the same samples as on seconds_elapsed.
    path = sensor_logger(tmp_path / "TotalAcceleration.csv")
    rec = read_imu_csv(path, columns=parse_column_map("sensorlogger,t_s=time"))
    elapsed = read_imu_csv(path, columns=parse_column_map("sensorlogger"))
    assert rec.sample_rate_hz == pytest.approx(100.0, rel=1e-3) and len(rec.data) == len(elapsed.data)
    assert abs(rec.quality.start_time_unix - (START_MS / 1000 - 0.0215)) < 1  # kept in whole seconds
    np.testing.assert_array_equal(rec.data["acc_y"].to_numpy(), elapsed.data["acc_y"].to_numpy())


# --- Gulf Coast Data Concepts X16: ";" preamble, ";Headers, time,Ax,Ay,Az", counts, ";" last line -----
def gcdc(path: Path, *, rate: float = 100.0, seconds: float = 40.0, per_g: float | None = 2048.0) -> Path:
    n = int(seconds * rate)
    t, acc, _ = _signal(n, rate, jitter_s=0.0003)
    lines = [
        ";Title, http://www.gcdataconcepts.com, X16-mini, MMA8451Q",
        ";Version, 2113, Build date, Jun  1 2021, SN:CCDC30191234567",
        ";Start_time, 2026-01-01, 00:00:00.000",
        ";Temperature, -999.00, deg C, Vbat, 4120, mv",
        f";SampleRate, {rate:g},Hz",
        ";Deadband, 0, counts",
        ";DeadbandTimeout, 0,sec",
        ";Headers, time,Ax,Ay,Az",
    ]
    scale = per_g / G if per_g else 1 / G
    for i in range(n):
        a = acc[i] * scale
        cells = [str(round(v)) for v in a] if per_g else [f"{v:.5f}" for v in a]
        lines.append(f"{t[i] + 0.003:.3f}," + ",".join(cells))
    lines.append(";shutdown: switched off")
    return _write(path, lines, end="\r\n")


GCDC_COLUMNS = "t_s=time,acc_x=Ax,acc_y=Ay,acc_z=Az"


def test_gcdc_in_g_reads_past_the_tagged_header_and_the_shutdown_line(tmp_path):
    """The ``;Headers,`` tag is not a column (the values stay under their names), the trailing
    ``;shutdown`` comment is not a row, and the preamble's ``;SampleRate, 100,Hz`` is read."""
    path = gcdc(tmp_path / "DATA-001.CSV", per_g=None)
    rec = read_imu_csv(path, columns=parse_column_map(GCDC_COLUMNS), acc_unit="g")
    assert rec.sample_rate_hz == pytest.approx(100.0, rel=1e-3)
    assert len(rec.data) == 4000
    assert float(np.median(rec.data["acc_y"])) == pytest.approx(G, abs=0.05)


def test_gcdc_counts_are_refused_in_one_line_that_says_so(tmp_path):
    path = gcdc(tmp_path / "DATA-001.CSV")
    with pytest.raises(CsvInputError) as e:
        read_imu_csv(path, columns=parse_column_map(GCDC_COLUMNS), acc_unit="g")
    assert "\n" not in str(e.value) and "raw counts? convert them to g" in str(e.value)


def _semicolons(path: Path, form: str) -> Path:
    """The comma form ``gcdc`` writes, in g, with ``;`` as the cell separator (a European locale's
    export): ``;Headers;time;Ax;...``, ``;SampleRate; 100;Hz`` (``tight``: ``;SampleRate;100;Hz``),
    and with ``decimal`` a decimal comma (``0,003;-0,00780;...``) everywhere, the preamble's too."""
    gcdc(path, per_g=None)
    text = path.read_bytes().decode().replace(",", ";").replace(";Headers; time", ";Headers;time")
    if form == "tight":
        text = text.replace(";SampleRate; 100;Hz", ";SampleRate;100;Hz")
    if form == "decimal":
        text = text.replace(".", ",")
    path.write_bytes(text.encode())
    return path


SEMICOLON_FORMS = ["plain", "tight", "decimal"]


@pytest.mark.parametrize("form", SEMICOLON_FORMS)
def test_gcdc_with_semicolons_reads_the_stated_rate_and_skips_the_shutdown_line(tmp_path, form):
    """With ``;`` separating, the trailing ``;shutdown: switched off`` is a comment, not a row whose
    first (time) cell is empty ("column 'acc_x' has 'shutdown: switched off', not a number")."""
    path = _semicolons(tmp_path / "DATA-001.CSV", form)
    assert path.read_text().splitlines()[-1] == ";shutdown: switched off"
    rec = read_imu_csv(path, columns=parse_column_map(GCDC_COLUMNS), acc_unit="g")
    assert rec.sample_rate_hz == pytest.approx(100.0, rel=1e-3)
    assert len(rec.data) == 4000
    assert float(np.median(rec.data["acc_y"])) == pytest.approx(G, abs=0.05)
    comma = read_imu_csv(
        gcdc(tmp_path / "comma.CSV", per_g=None), columns=parse_column_map(GCDC_COLUMNS), acc_unit="g"
    )
    assert rec.data.equals(comma.data)


@pytest.mark.parametrize("form", SEMICOLON_FORMS)
def test_gcdc_with_semicolons_takes_the_rate_from_its_preamble(tmp_path, form):
    """Without the time column the rate is the one ``;SampleRate;100;Hz`` states, and the note says so
    (the stamps cannot have given it)."""
    path = _semicolons(tmp_path / "DATA-001.CSV", form)
    rec = read_imu_csv(path, columns=parse_column_map("acc_x=Ax,acc_y=Ay,acc_z=Az"), acc_unit="g")
    assert rec.sample_rate_hz == pytest.approx(100.0)
    assert len(rec.data) == 4000
    assert "no t_s: rows 0.01 s apart, as line 5 states 100 Hz" in rec.notes


@pytest.mark.parametrize(
    ("line", "rate"),
    [(";SampleRate;100;Hz", 100.0), (";SampleRate; 100;Hz", 100.0), (";SampleRate;12,5;Hz", 12.5)],
)
def test_a_semicolon_separated_sample_rate_line_states_the_rate(tmp_path, line, rate):
    assert stated_rate(tmp_path / "a.CSV", [";Title;X16-mini", line]) == (rate, f"line 2 states {rate:g} Hz")


@pytest.mark.parametrize("form", SEMICOLON_FORMS)
def test_gcdc_with_semicolons_is_analysed_from_the_command_line(tmp_path, form, monkeypatch, capsys):
    monkeypatch.setenv("HIPSENSE_HOME", str(tmp_path / "home"))
    path = _semicolons(tmp_path / "DATA-001.CSV", form)
    assert main(["analyze", str(path), "--columns", GCDC_COLUMNS, "--acc-unit", "g"]) == 0
    out = capsys.readouterr()
    assert "error" not in out.err.lower() and "shutdown" not in out.out + out.err


def _time_last(path: Path, sep: str, empty: list[int], shutdown: bool) -> Path:
    """The ``gcdc`` file in g with ``sep`` separating, the time column moved last and the x acceleration
    empty in rows ``empty`` (so those rows start with an empty cell); ``shutdown``: its last line kept."""
    lines = gcdc(path, seconds=8.0, per_g=None).read_text().splitlines()
    head, rows = lines[:7], [r.split(",") for r in lines[8:-1]]
    for i in empty:
        rows[i][1] = ""
    body = [sep.join([*r[1:], r[0]]) for r in rows]
    if sep == ";":
        head, body = [h.replace(",", ";") for h in head], [b.replace(".", ",") for b in body]
    tail = [";shutdown: switched off"] if shutdown else []
    return _write(path, [*head, f";Headers{sep}Ax{sep}Ay{sep}Az{sep}time", *body, *tail])


@pytest.mark.parametrize("shutdown", [True, False])
def test_semicolon_rows_that_start_with_an_empty_cell_stay_rows(tmp_path, shutdown):
    """A row whose first cell is empty (a missing x) and whose other cells are numbers is a row, last
    or not, read as the comma form reads it (a filled hole, or the end); the comment below is skipped."""
    empty = [10, 400, 799]
    options = {"columns": parse_column_map(GCDC_COLUMNS), "acc_unit": "g"}
    semi = read_imu_csv(_time_last(tmp_path / "semi.CSV", ";", empty, shutdown), **options)
    comma = read_imu_csv(_time_last(tmp_path / "comma.CSV", ",", empty, shutdown), **options)
    assert len(semi.data) == len(comma.data) == 799  # the last row, x missing, ends no recording
    assert semi.quality.filled_samples == comma.quality.filled_samples == 2
    np.testing.assert_allclose(semi.data["acc_x"], comma.data["acc_x"])


def test_a_semicolon_row_with_an_empty_time_cell_above_the_shutdown_line_is_still_refused(tmp_path):
    """A last row without its time is no comment (its cells are numbers): refused at its line."""
    path = _semicolons(tmp_path / "DATA-001.CSV", "decimal")
    lines = path.read_text().splitlines()
    lines[-2] = ";" + lines[-2].split(";", 1)[1]
    _write(path, lines, end="\r\n")
    with pytest.raises(
        CsvInputError, match=r"at line 4008: t_s is empty or missing: every row needs its time"
    ):
        read_imu_csv(path, columns=parse_column_map(GCDC_COLUMNS), acc_unit="g")


# --- ActiGraph ActiLife raw CSV: ten preamble lines stating the rate, no time column, g --------------
def actigraph(path: Path, *, rate: int = 100, seconds: float = 40.0) -> Path:
    n = int(seconds * rate)
    _, acc, _ = _signal(n, rate)
    lines = [
        "------------ Data File Created By ActiGraph GT3X+ ActiLife v6.13.4 Firmware v1.9.2 date format "
        f"M/d/yyyy at {rate} Hz  Filter Normal -----------",
        "Serial Number: MOS2E00000000",
        "Start Time 09:30:00",
        "Start Date 1/1/2026",
        "Epoch Period (hh:mm:ss) 00:00:00",
        "Download Time 12:00:00",
        "Download Date 1/2/2026",
        "Current Memory Address: 0",
        "Current Battery Voltage: 4.18     Mode = 12",
        "--------------------------------------------------",
        "Accelerometer X,Accelerometer Y,Accelerometer Z",
    ]
    lines += [",".join(f"{v:.3f}" for v in a / G) for a in acc]
    return _write(path, lines, end="\r\n")


def test_actigraph_raw_csv_states_its_rate(tmp_path):
    path = actigraph(tmp_path / "MOS2E00000000 (2026-01-02)RAW.csv")
    rec = read_imu_csv(path, columns=parse_column_map("actigraph"), acc_unit="g")
    assert rec.sample_rate_hz == 100.0
    assert len(rec.data) == 4000
    assert float(np.median(rec.data["acc_y"])) == pytest.approx(G, abs=0.05)
    assert any("line 1 states 100 Hz" in note for note in rec.notes)


def test_cli_reads_a_logger_export_and_refuses_in_one_line(tmp_path, capsys):
    good = actigraph(tmp_path / "actigraph.csv")
    assert main(["info", str(good), "--columns", "actigraph", "--acc-unit", "g", "--json"]) == 0
    capsys.readouterr()
    gyro = metabase(tmp_path / "MetaWear_Gyroscope.csv", "gyr")
    assert main(["info", str(gyro), "--columns", "metawear", "--acc-unit", "g"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "accelerometer's file" in err


@pytest.mark.parametrize("make", [shimmer, gcdc])
def test_units_rows_tags_and_comments_read_the_same_in_chunks_and_in_two_passes(tmp_path, make):
    if make is shimmer:
        path, options = (
            shimmer(tmp_path / "s.csv", seconds=8.0),
            {"columns": parse_column_map(SHIMMER_COLUMNS)},
        )
    else:
        path, options = (
            gcdc(tmp_path / "g.csv", seconds=8.0, per_g=None),
            {
                "columns": parse_column_map(GCDC_COLUMNS),
                "acc_unit": "g",
            },
        )
    whole = read_imu_csv(path, **options)
    parts = read_imu_csv(path, chunk_rows=7, keep_rows=10, **options)
    assert len(whole.data) == len(parts.data) == int(8 * (128.0 if make is shimmer else 100.0))
    assert whole.data.equals(parts.data)


@pytest.mark.parametrize(("make", "first"), [(shimmer, 4), (gcdc, 9)])
def test_a_bad_cell_below_a_units_row_or_a_tagged_header_is_named_at_its_line(tmp_path, make, first):
    path = make(tmp_path / "bad.csv", seconds=8.0, **({} if make is shimmer else {"per_g": None}))
    lines = path.read_text().splitlines()
    sep = "\t" if make is shimmer else ","
    cells = lines[first - 1 + 10].split(sep)
    cells[1] = "abc"  # the x acceleration
    lines[first - 1 + 10] = sep.join(cells)
    path.write_text("\n".join(lines) + "\n")
    columns = parse_column_map(SHIMMER_COLUMNS if make is shimmer else GCDC_COLUMNS)
    with pytest.raises(CsvInputError, match=rf"at line {first + 10}: column 'acc_x' has 'abc', not a number"):
        read_imu_csv(path, columns=columns, acc_unit="m/s^2" if make is shimmer else "g")


def test_a_first_row_of_text_that_names_no_unit_is_still_refused_at_its_line(tmp_path):
    path = _write(tmp_path / "t.csv", ["t_s,acc_x,acc_y,acc_z", "abc,abc,abc,abc", "0.01,0,9.8,0"])
    with pytest.raises(CsvInputError, match=r"at line 2: column 't_s' has 'abc', not a number"):
        read_imu_csv(path)
