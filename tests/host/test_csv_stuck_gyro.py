"""A gyroscope channel stuck at one value (or within one step of the coarsest 16-bit gyroscope) while
the pelvis moves is said to be stuck: no unit makes a constant turn. Until 2026-12 a whole gyroscope
stuck at 0.61 deg/s got "is it in rad/s? then give --gyr-unit rad/s", and one stuck channel beside
live ones was read without a word."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hipsense.cli import main
from hipsense.formats.csv_input import read_imu_csv
from hipsense.formats.csv_values import CsvInputError, check_gyr_unit
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV

LEAVE_OUT = (
    "(a constant is one in any unit: no --gyr-unit helps); to analyse the acceleration alone, leave the "
    "gyroscope columns out (drop gyr_* from --columns, or delete them from the file): the sides are then "
    "unknown"
)
GYR = ["gyr_x", "gyr_y", "gyr_z"]


@pytest.fixture(scope="module")
def table():
    return simulate_run(scenarios.steady_run(duration_s=12, seed=4)).data.copy()


def _refusal(path) -> str:
    with pytest.raises(CsvInputError) as e:
        read_imu_csv(path)
    return str(e.value)


def test_a_gyroscope_stuck_at_one_value_is_stuck_not_in_rad_s(tmp_path, table):
    path = tmp_path / "stuck.csv"
    table.assign(gyr_x=0.61, gyr_y=0.61, gyr_z=0.61).to_csv(path, index=False)
    assert _refusal(path) == (
        f"{path}: every gyroscope column stays flat (0.61, 0.61, 0.61 deg/s) while the acceleration shows "
        f"movement: the gyroscope is stuck {LEAVE_OUT}"
    )


def test_one_stuck_channel_beside_live_ones_is_named(tmp_path, table):
    path = tmp_path / "one.csv"
    table.assign(gyr_y=-12.5).to_csv(path, index=False)
    assert _refusal(path) == (
        f"{path}: gyroscope column 2 of 3 stays flat (-12.5 deg/s) while the acceleration shows movement: "
        f"that channel is stuck {LEAVE_OUT}"
    )
    table.assign(gyr_x=3.0, gyr_z=0.61).to_csv(path, index=False)
    assert "gyroscope columns 1, 3 of 3 stay flat (3, 0.61 deg/s)" in _refusal(path)


def test_a_channel_within_one_step_of_a_value_is_stuck_too(tmp_path, table):
    path = tmp_path / "flicker.csv"
    flicker = [0.61 + 0.061 * (i % 2) for i in range(len(table))]  # one step of a +-2000 deg/s gyroscope
    table.assign(**{c: flicker for c in GYR}).to_csv(path, index=False)
    assert (
        "every gyroscope column stays flat (0.61 to 0.671, 0.61 to 0.671, 0.61 to 0.671 deg/s)"
        in _refusal(path)
    )


def test_channels_at_zero_are_dead_and_zero_beside_live_ones_is_read(tmp_path, table):
    path = tmp_path / "dead.csv"
    table.assign(gyr_x=0.0, gyr_y=0.0, gyr_z=0.0).to_csv(path, index=False)
    assert "every gyroscope value is 0 while the acceleration shows movement" in _refusal(path)
    table.assign(gyr_x=0.0, gyr_y=0.0, gyr_z=0.61).to_csv(path, index=False)  # stuck, the zeros named too
    assert "every gyroscope column stays flat (0, 0, 0.61 deg/s)" in _refusal(path)
    table.assign(gyr_y=0.0).to_csv(path, index=False)  # an axis not recorded: read as before
    assert list(read_imu_csv(path).data.columns) == ["t_s", "acc_x", "acc_y", "acc_z", *GYR]


def test_a_real_recording_with_its_gyroscope_stuck(tmp_path, shared_data):
    """The virtual sacral IMU of running-pelvis-mocap (208 Hz, deg/s), its gyroscope replaced."""
    real = pd.read_csv(shared_data / "running-pelvis-mocap" / "s01_v25.csv", nrows=208 * 10)
    path = tmp_path / "real_stuck.csv"
    real.to_csv(path, index=False)
    assert read_imu_csv(path).sample_rate_hz == pytest.approx(208.0, abs=0.01)  # as recorded: read
    real.assign(gyr_x=0.61, gyr_y=0.61, gyr_z=0.61).to_csv(path, index=False)
    assert _refusal(path).startswith(f"{path}: every gyroscope column stays flat (0.61, 0.61, 0.61 deg/s)")
    real.assign(gyr_z=0.61).to_csv(path, index=False)
    assert "gyroscope column 3 of 3 stays flat (0.61 deg/s)" in _refusal(path)


def test_hipsense_import_says_stuck_in_one_line(tmp_path, table, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    path = tmp_path / "stuck.csv"
    table.assign(gyr_x=0.61, gyr_y=0.61, gyr_z=0.61).to_csv(path, index=False)
    assert main(["import", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"failed: {path}: every gyroscope column stays flat" in err and "rad/s" not in err


def test_a_flat_stretch_is_judged_over_100_rows_or_more(table):
    """At a turn's peak a moving gyroscope may hold one value for a few rows."""
    acc = [table[c].to_numpy() for c in ("acc_x", "acc_y", "acc_z")]
    flat = [np.full(len(acc[0]), 0.61) for _ in GYR]
    with pytest.raises(CsvInputError, match="the gyroscope is stuck"):
        check_gyr_unit(Path("rec.csv"), [a[:100] for a in acc], [g[:100] for g in flat], "deg/s")
    with pytest.raises(CsvInputError, match=r"is it in rad/s\?"):  # 99 rows: judged on its magnitude only
        check_gyr_unit(Path("rec.csv"), [a[:99] for a in acc], [g[:99] for g in flat], "deg/s")
