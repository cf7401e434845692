"""Xsens MT Manager text exports read on their own clocks: ``SampleTimeFine`` (100-us ticks, 32-bit),
``PacketCounter`` (samples, 16-bit), both wrapping, and the ``//`` preamble's stated update rate.

The files are written here by hand in MT Manager's conventions (tab separated, a ``//`` preamble,
zero-padded packet counters, ``NaN`` for a missing value, angular rate in rad/s), not by our writer.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from hipsense.cli import main
from hipsense.datasets import read_walking_sensor, walking_dir, walking_trial_names
from hipsense.formats.csv_header import stated_rate
from hipsense.formats.csv_input import CsvInputError, parse_column_map, read_imu_csv

#: MT Manager's names mapped to ours; the time column is chosen per test.
XSENS = {f"{k}_{a}": f"{k.capitalize()}_{a.upper()}" for k in ("acc", "gyr") for a in "xyz"}
WRAP = 1 << 32


def _mtm(
    path,
    rate: float,
    n: int,
    *,
    first_tick: int = 51_400_000,
    first_packet: int = 5000,
    stated: float | None = None,
    drop: tuple[int, ...] = (),
    nan_rows: tuple[int, ...] = (),
    time_columns: tuple[str, ...] = ("PacketCounter", "SampleTimeFine"),
):
    """An MT Manager export of ``n`` samples at ``rate``: walking-like Acc (m/s^2) and Gyr (rad/s);
    rows in ``drop`` lost (their counters skipped), ``Acc_X`` NaN in ``nan_rows``."""
    preamble = ["// Start Time: Unknown"]
    if stated is not None:
        preamble.append(f"// Update Rate: {stated:.1f}Hz")
    preamble += ["// Filter Profile: human (46.1)", "// Option Flags: AHS Disabled ICC Disabled"]
    preamble.append("// Firmware Version: 4.0.2")
    names = [*time_columns, "Acc_X", "Acc_Y", "Acc_Z", "Gyr_X", "Gyr_Y", "Gyr_Z"]
    rows = ["\t".join(names)]
    rng = np.random.default_rng(7)
    for i in range(n):
        t = i / rate
        vert = 9.81 + 3.0 * np.sin(2 * np.pi * 1.8 * t) + rng.normal(0, 0.1)
        turn = 1.5 * np.sin(2 * np.pi * 0.9 * t)
        if i in drop:
            continue
        cells = {
            "PacketCounter": f"{(first_packet + i) % 65536:05d}",
            "SampleTimeFine": str((first_tick + round(i * 10_000 / rate)) % WRAP),
        }
        acc_x = "NaN" if i in nan_rows else f"{vert:.6f}"
        values = [acc_x, "0.412000", "1.030000", f"{turn:.6f}", f"{0.3 * turn:.6f}", "0.020000"]
        rows.append("\t".join([*(cells[c] for c in time_columns), *values]))
    path.write_text("\n".join(preamble + rows) + "\n")
    return path


def _read(path, clock: str = "SampleTimeFine", **kw):
    return read_imu_csv(path, columns={**XSENS, "t_s": clock}, gyr_unit="rad/s", **kw)


@pytest.mark.parametrize(("rate", "n"), [(100.0, 2000), (60.0, 1200)])
def test_sample_time_fine_is_read_as_100_us_ticks(tmp_path, rate, n):
    # before: 100 Hz read in ms as 10 Hz (every time 10x too long); 60 Hz (steps of 166-167) refused
    rec = _read(_mtm(tmp_path / "a.txt", rate, n))
    assert rec.sample_rate_hz == pytest.approx(rate, rel=1e-6)
    assert rec.data["t_s"].iloc[-1] == pytest.approx((n - 1) / rate, abs=1e-6)
    assert rec.quality.gaps == [] and rec.quality.filled_samples == 0
    assert "t_s read in tick100us (recognised from its name)" in rec.notes


def test_sample_time_fine_stated_unit_reads_any_column_name(tmp_path):
    path = _mtm(tmp_path / "a.txt", 100.0, 600)
    text = path.read_text().replace("SampleTimeFine", "ticks")
    path.write_text(text)
    rec = _read(path, "ticks", time_unit="tick100us")
    assert rec.sample_rate_hz == pytest.approx(100.0)


def test_a_wrap_of_sample_time_fine_is_neither_a_gap_nor_an_error(tmp_path):
    # 5 s before the 32-bit wrap (429 496.7296 s after the sensor started), 15 s after it
    path = _mtm(tmp_path / "a.txt", 100.0, 2000, first_tick=WRAP - 50_000)
    rec = _read(path)
    assert rec.quality.gaps == [] and rec.quality.missing_samples == 0
    assert rec.sample_rate_hz == pytest.approx(100.0)
    np.testing.assert_allclose(rec.data["t_s"], np.arange(2000) / 100.0, atol=1e-9)


def test_rows_lost_across_the_wrap_are_filled_holes(tmp_path):
    # the last tick before the wrap (row 499) and the first after it (row 500) are lost
    path = _mtm(tmp_path / "a.txt", 100.0, 1000, first_tick=WRAP - 50_000, drop=(499, 500))
    rec = _read(path)
    assert rec.quality.gaps == []
    assert (rec.quality.missing_samples, rec.quality.filled_samples) == (2, 2)
    assert len(rec.data) == 1000


def test_a_step_back_that_is_no_wrap_is_still_refused_with_its_line(tmp_path):
    path = _mtm(tmp_path / "a.txt", 100.0, 600)
    lines = path.read_text().splitlines()
    cells = lines[106].split("\t")  # data row 100 (5 preamble lines, the header)
    cells[1] = str(int(cells[1]) - 300)  # 3 samples back: a corrupt stamp, not a 32-bit wrap
    lines[106] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CsvInputError, match="time goes backwards") as e:
        _read(path)
    assert e.value.offset == 107


@pytest.mark.parametrize(("cell", "what"), [("51400050.5", "51400050.5"), (str(WRAP), "4294967296")])
def test_a_tick_no_32_bit_counter_holds_is_refused_with_its_line(tmp_path, cell, what):
    path = _mtm(tmp_path / "a.txt", 100.0, 600)
    lines = path.read_text().splitlines()
    cells = lines[50].split("\t")
    cells[1] = cell
    lines[50] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CsvInputError) as e:
        _read(path)
    assert e.value.offset == 51
    assert e.value.problem == f"t_s (SampleTimeFine): {what} is no 32-bit count"


def test_packet_counter_wraps_at_65536_and_counts_samples_at_the_stated_rate(tmp_path):
    # 16-bit counter: 65530 ... 65535, 00000 ...; two packets lost right after the wrap
    path = _mtm(tmp_path / "a.txt", 100.0, 800, first_packet=65_536 - 300, stated=100.0, drop=(300, 301))
    rec = _read(path, "PacketCounter")
    assert rec.sample_rate_hz == pytest.approx(100.0)
    assert rec.quality.gaps == [] and rec.quality.filled_samples == 2
    np.testing.assert_allclose(rec.data["t_s"], np.arange(800) / 100.0, atol=1e-9)
    assert (
        "t_s (PacketCounter) counts samples (recognised from its name) at 100 Hz (line 2 states 100 Hz)"
        in (rec.notes)
    )


def test_packet_counter_without_a_stated_rate_needs_one(tmp_path):
    path = _mtm(tmp_path / "a.txt", 100.0, 800, time_columns=("PacketCounter",))
    with pytest.raises(CsvInputError, match=r"counts samples: give their rate with --sample-rate"):
        _read(path, "PacketCounter")
    rec = _read(path, "PacketCounter", sample_rate_hz=100.0)
    assert rec.sample_rate_hz == pytest.approx(100.0) and rec.data["t_s"].iloc[-1] == pytest.approx(7.99)
    assert not any("--sample-rate ignored" in note for note in rec.notes)


def test_a_stated_rate_that_agrees_adds_nothing(tmp_path):
    rec = _read(_mtm(tmp_path / "a.txt", 60.0, 1200, stated=60.0))
    assert rec.sample_rate_hz == pytest.approx(60.0)
    assert rec.notes == ["t_s read in tick100us (recognised from its name)"]


def test_a_stated_rate_that_disagrees_is_refused_when_the_unit_was_recognised(tmp_path):
    path = _mtm(tmp_path / "a.txt", 100.0, 2000, stated=60.0)
    with pytest.raises(CsvInputError) as e:
        _read(path)
    assert e.value.problem.startswith(
        "line 2 states 60 Hz, t_s read in tick100us gives 100 Hz: state its unit"
    )


def test_ticks_under_another_name_disagree_with_the_preamble_instead_of_reading_10x_slow(tmp_path):
    # the defect: 100-us ticks in a column not named SampleTimeFine are recognised as ms (10 Hz)
    path = _mtm(tmp_path / "a.txt", 100.0, 2000, stated=100.0, time_columns=("SampleTimeFine",))
    path.write_text(path.read_text().replace("SampleTimeFine", "Time"))
    with pytest.raises(
        CsvInputError, match=r"line 2 states 100 Hz, t_s read in ms gives 10 Hz: state its unit"
    ):
        _read(path, "Time")
    # stated, the user's word holds; the disagreement is said
    rec = _read(path, "Time", time_unit="ms")
    assert "line 2 states 100 Hz, t_s read in ms gives 10 Hz: times follow t_s" in rec.notes


def test_without_a_time_column_the_stated_rate_is_the_rate(tmp_path):
    path = _mtm(tmp_path / "a.txt", 60.0, 600, stated=60.0, time_columns=())
    rec = read_imu_csv(path, columns=XSENS, gyr_unit="rad/s")
    assert rec.sample_rate_hz == 60.0 and rec.data["t_s"].iloc[-1] == pytest.approx(599 / 60)
    assert rec.quality.nominal_rate_hz == 60.0
    given = read_imu_csv(path, columns=XSENS, gyr_unit="rad/s", sample_rate_hz=50.0)
    assert given.sample_rate_hz == 50.0 and "line 2 states 60 Hz; --sample-rate 50 Hz used" in given.notes


def test_nan_cells_are_filled_holes_and_a_nan_tick_names_its_line(tmp_path):
    path = _mtm(tmp_path / "a.txt", 100.0, 1000, nan_rows=(200, 201, 202))
    rec = _read(path)
    assert (rec.quality.nan_cells, rec.quality.filled_samples, rec.quality.gaps) == (3, 3, [])
    assert rec.sample_rate_hz == pytest.approx(100.0)
    lines = path.read_text().splitlines()
    lines[30] = lines[30].replace(lines[30].split("\t")[1], "NaN", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CsvInputError, match="t_s is empty or missing") as e:
        _read(path)
    assert e.value.offset == 31


def test_the_xsens_preset_maps_mt_manager_names_and_its_clock():
    assert parse_column_map("xsens") == {**XSENS, "t_s": "SampleTimeFine"}
    assert parse_column_map("xsens,t_s=PacketCounter") == {**XSENS, "t_s": "PacketCounter"}
    with pytest.raises(ValueError, match=r"or a preset: xsens"):
        parse_column_map("xsense")


@pytest.mark.parametrize(
    ("columns", "note"),
    [
        ("xsens", "t_s read in tick100us (recognised from its name)"),
        (
            "XSENS,t_s=PacketCounter",
            "t_s (PacketCounter) counts samples (recognised from its name) at 100 Hz (line 2 states 100 Hz)",
        ),
    ],
)
def test_info_reads_an_mt_manager_export_at_its_rate(tmp_path, capsys, columns, note):
    path = _mtm(tmp_path / "a.txt", 100.0, 2000, stated=100.0)
    assert main(["info", str(path), "--columns", columns, "--gyr-unit", "rad/s", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sample_rate_hz"] == pytest.approx(100.0)
    assert note in info["notes"]


@pytest.mark.parametrize(
    ("line", "rate"),
    [
        ("// Update Rate: 100.0Hz", 100.0),
        ("// Update Rate: 60Hz", 60.0),
        ("Acquisition frequency: 100 Hz", 100.0),
        ("# sampling rate = 208,5 Hz", 208.5),
        ("// Start Time: Unknown", None),
        ("// Filter Profile: human (46.1)", None),
        ("update rate 5 Hzx", None),
    ],
)
def test_the_stated_rate_is_read_from_preamble_lines_only_when_it_names_a_rate_in_hz(tmp_path, line, rate):
    found = stated_rate(tmp_path / "a.txt", ["// General information:", line])
    assert (found[0] if found else None) == rate
    if found:
        assert found[1] == f"line 2 states {rate:g} Hz"


def test_info_takes_tick100us_as_a_stated_unit(tmp_path, capsys):
    path = _mtm(tmp_path / "a.txt", 100.0, 600, time_columns=("SampleTimeFine",))
    path.write_text(path.read_text().replace("SampleTimeFine", "Time"))
    mapping = ",".join(f"{k}={v}" for k, v in {**XSENS, "t_s": "Time"}.items())
    argv = ["info", str(path), "--columns", mapping, "--gyr-unit", "rad/s", "--time-unit", "tick100us"]
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sample_rate_hz"] == pytest.approx(100.0)


def test_a_stated_rate_of_zero_is_refused_with_its_line(tmp_path):
    path = _mtm(tmp_path / "a.txt", 100.0, 600, stated=0.0)
    with pytest.raises(CsvInputError, match="states a rate of 0 Hz: not a sampling rate") as e:
        _read(path)
    assert e.value.offset == 2


# -- a real Xsens MTw export (walking-l5-ipol: PacketCounter, "Acquisition frequency: 100 Hz") --------


def _walking_file(name: str):
    folder = walking_dir()
    if folder is None or name not in walking_trial_names(folder):
        pytest.skip(f"{name} of ../shared/data/walking-l5-ipol is absent")
    return folder / f"{name}_lb.txt"


# 1-1: 82 short losses (filled); 7-3: a loss of 64 packets (a gap); 3-1: the counter starts at 1
@pytest.mark.parametrize("name", ["1-1", "7-3", "3-1"])
def test_a_real_mtw_export_on_its_packet_counter(name):
    """The raw files carry PacketCounter, not SampleTimeFine. Read through ``read_imu_csv`` on that
    counter at the rate the file states, every row lands at its counter's time with its values, and
    the lost packets are the dataset loader's (which counts from packet 0)."""
    path = _walking_file(name)
    rec = _read(path, "PacketCounter")
    _, lost = read_walking_sensor(path)
    raw = np.loadtxt(path, skiprows=2)
    assert rec.sample_rate_hz == pytest.approx(100.0)
    assert rec.quality.missing_samples == lost - int(raw[0, 0])
    at = {k: i for i, k in enumerate(np.rint(rec.data["t_s"].to_numpy() * 100).astype(int))}
    rows = [at[k] for k in (raw[:, 0] - raw[0, 0]).astype(int)]  # no wrap in these files
    np.testing.assert_allclose(rec.data["acc_x"].to_numpy()[rows], raw[:, 1], rtol=1e-6)
    np.testing.assert_allclose(
        rec.data["gyr_z"].to_numpy()[rows], np.degrees(raw[:, 6]), rtol=1e-5, atol=1e-4
    )
    if name == "7-3":
        missing = [g.missing_samples for g in rec.quality.gaps]  # losses of more than 0.1 s
        assert max(missing) == 64 and min(missing) > 10


def test_a_real_export_with_a_packet_sent_twice_is_refused_with_its_line():
    # 11-1 holds packet 308 twice, with different values: which is the sample is not known
    with pytest.raises(CsvInputError, match=r"time goes backwards or repeats \(t_s 308 then 308\)") as e:
        _read(_walking_file("11-1"), "PacketCounter")
    assert e.value.offset == 312


@pytest.mark.parametrize(
    ("time_columns", "hint"),
    [
        (("PacketCounter", "SampleTimeFine"), "try --columns xsens --gyr-unit rad/s"),
        (("PacketCounter",), "try --columns xsens,t_s=PacketCounter --gyr-unit rad/s"),
    ],
)
def test_an_mt_manager_export_read_without_the_preset_says_which_options_read_it(
    tmp_path, capsys, time_columns, hint
):
    # The real walking exports (PacketCounter only) were refused with "no acceleration columns" and no
    # word of the preset; the options the line now suggests read the file.
    path = _mtm(tmp_path / "a.txt", 100.0, 2000, stated=100.0, time_columns=time_columns)
    assert main(["info", str(path)]) == 2
    (line,) = [s for s in capsys.readouterr().err.splitlines() if s.strip()]
    assert "no acceleration columns" in line and hint in line, line
    options = hint.removeprefix("try ").split()
    assert main(["info", str(path), *options, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sample_rate_hz"] == pytest.approx(100.0)
