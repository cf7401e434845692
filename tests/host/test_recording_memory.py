"""The recording's precision rule and the recording and alignment stages in bounded memory (issue 17).

Every adapter gives float32 channels and a float64 clock; a session file decoded pass by pass straight
into the recording's own block gives what the per-sample route of the time base gives; the aligner and
the bout detector, window by window, give what they give over the whole recording. The memory figures
themselves are measured by benchmarks/recording_memory.py (not tests).
"""

from __future__ import annotations

import dataclasses
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import signal

from hipsense.conventions import SENSOR_ACC, SENSOR_GYR, TIME_COLUMN
from hipsense.errors import HipsenseError, SessionFileError
from hipsense.formats import codec_decode
from hipsense.formats.csv_input import read_imu_csv
from hipsense.formats.device_file import (
    SessionFileWarning,
    decode_session,
    read_device_file,
)
from hipsense.formats.load import load_recording
from hipsense.formats.session_input import read_session_recording, recording_from_session
from hipsense.gait import bouts as bouts_module
from hipsense.gait.alignment import MountingAligner
from hipsense.gait.bouts import ActivityBoutDetector
from hipsense.recording import CHANNEL_DTYPE, Recording
from hipsense.sim import scenarios, simulate_run
from hipsense.timebase import TimeBaseError, place_on_grid, place_runs
from tests.host.forged_session import BS, fix_crcs, small_session


@pytest.fixture(scope="module")
def runs():
    """A run with a few holes and a long gap (the recording's block fills them in place), one with a
    hole every half second (more holes than the block has room for: the samples move to a new
    block) and two gaps, and an accelerometer-only run."""
    base = simulate_run(scenarios.steady_run(duration_s=90, seed=3))
    few = base.losing((0.2, 3), (0.5, 2000), (0.7, 12))
    many = simulate_run(
        scenarios.steady_run(duration_s=90, seed=4),
        sensor=dataclasses.replace(base.config.sensor, drops_per_min=120, drop_max_samples=12),
    )
    many = many.losing((0.3, 1500), (0.6, 900))
    acc_only = simulate_run(
        scenarios.steady_run(duration_s=60, seed=5),
        sensor=dataclasses.replace(base.config.sensor, accel_only=True, drops_per_min=6),
    )
    acc_only = acc_only.losing((0.4, 500))
    return {"few": few, "many": many, "acc_only": acc_only}


@pytest.fixture(scope="module")
def files(runs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("recording_memory")
    return {name: run.write_device_file(folder / f"{name}.hsn") for name, run in runs.items()}


def test_recording_makes_channels_float32_and_leaves_the_callers_frame() -> None:
    t = np.arange(500) / 100.0
    given = pd.DataFrame({TIME_COLUMN: t.astype(np.float32), "acc_is": np.sin(t), "label": np.arange(500)})
    rec = Recording(given, "body", 100.0)
    assert rec.data["acc_is"].dtype == CHANNEL_DTYPE == np.float32
    assert rec.data[TIME_COLUMN].dtype == np.float64 and rec.data["label"].dtype == np.int64
    np.testing.assert_array_equal(rec.data["acc_is"].to_numpy(), np.sin(t).astype(np.float32))
    assert given["acc_is"].dtype == np.float64 and given[TIME_COLUMN].dtype == np.float32


@pytest.mark.parametrize("name", ["few", "many", "acc_only"])
def test_every_adapter_gives_float32_channels_and_a_float64_clock(runs, files, tmp_path, name) -> None:
    csv = runs[name].write_csv(tmp_path / f"{name}.csv")
    made = {
        "file": read_session_recording(files[name]),
        "load": load_recording(files[name]),
        "session": recording_from_session(read_device_file(files[name])),
        "csv": read_imu_csv(csv),
    }
    for how, rec in made.items():
        channels = [c for c in rec.data.columns if c != TIME_COLUMN]
        assert channels == list(SENSOR_ACC) + ([] if name == "acc_only" else list(SENSOR_GYR)), how
        assert all(rec.data[c].dtype == np.float32 for c in channels), how
        assert rec.data[TIME_COLUMN].dtype == np.float64, how


@pytest.mark.parametrize("name", ["few", "many", "acc_only"])
def test_a_file_decoded_into_the_block_is_the_decoded_session(files, name) -> None:
    a = read_session_recording(files[name])
    b = recording_from_session(read_device_file(files[name]))
    pd.testing.assert_frame_equal(a.data, b.data, check_exact=True)
    np.testing.assert_array_equal(a.segments, b.segments)
    np.testing.assert_array_equal(a.filled, b.filled)
    assert a.quality == b.quality and a.notes == b.notes and a.device == b.device
    assert len(a.segments) > 1 and a.quality.filled_samples > 0  # holes and gaps were there to place
    # more filled rows than the block's room (1/64 of the samples) for "many": they moved to a new block
    assert (a.quality.filled_samples > (len(a.data) - a.quality.filled_samples) // 64 + 64) == (
        name == "many"
    )


@pytest.mark.parametrize("name", ["few", "many", "acc_only"])
def test_samples_are_the_per_sample_routes_rounded_once(files, name) -> None:
    """Against the time base's per-sample route: every sample its count times its scale rounded once
    to float32, each filled hole a straight line between its float32 neighbours."""
    rec = read_session_recording(files[name])
    session = read_device_file(files[name])
    idx = session.sample_index
    grid = place_on_grid(np.zeros(len(idx), np.int64), idx, np.zeros(1), rec.sample_rate_hz)
    h = session.header
    scales = [h.acc_scale_ms2] * 3 + [h.gyr_scale_dps] * 3
    np.testing.assert_array_equal(rec.data[TIME_COLUMN].to_numpy(), grid.times_s)
    np.testing.assert_array_equal(rec.segments, grid.segments)
    np.testing.assert_array_equal(rec.filled, grid.filled)
    for j, c in enumerate(c for c in rec.data.columns if c != TIME_COLUMN):
        once = (session.counts[:, j] * scales[j]).astype(np.float32)
        np.testing.assert_array_equal(rec.data[c].to_numpy(), grid.take(once).astype(np.float32), err_msg=c)
    share = (np.abs(session.counts.astype(np.int32)) >= 32767).any(axis=1).mean()
    assert rec.quality.clipped_share == share


def test_clipped_samples_counted_pass_by_pass(runs, tmp_path) -> None:
    counts = runs["few"].counts.copy()
    rows = np.array([5, 7, 1000, len(counts) - 1])
    counts[rows[:2], 0] = 32767
    counts[rows[2:], 4] = -32768
    path = dataclasses.replace(runs["few"], counts=counts).write_device_file(tmp_path / "clipped.hsn")
    assert read_session_recording(path).quality.clipped_share == pytest.approx(4 / len(counts), abs=0)


@pytest.mark.parametrize("seed", range(6))
def test_runs_are_placed_as_their_samples(seed) -> None:
    """Blocks of consecutive sample numbers (jumps: none, a hole, a gap) are placed where the time base
    places their samples one by one."""
    rng = np.random.default_rng(seed)
    count = rng.integers(1, 40, 60)
    jump = rng.choice([0, 0, 0, 1, 5, 20, 21, 400], len(count))
    first = np.cumsum(count + jump) - count + rng.integers(0, 1000)
    numbers = np.concatenate([f + np.arange(c) for f, c in zip(first, count, strict=True)])
    grid, dest = place_runs(np.zeros(len(first), np.int64), first, count, [0.0], 208.0)
    each = place_on_grid(np.zeros(len(numbers), np.int64), numbers, [0.0], 208.0)
    np.testing.assert_array_equal(grid.times_s, each.times_s)
    np.testing.assert_array_equal(grid.segments, each.segments)
    np.testing.assert_array_equal(grid.filled, each.filled)
    assert grid.gaps == each.gaps and grid.origin_s == each.origin_s and grid.source is None
    np.testing.assert_array_equal(each.source[dest], np.cumsum(count) - count)
    with pytest.raises(ValueError, match="no source"):
        grid.take(np.zeros(len(numbers)))


def test_runs_that_overlap_or_hold_nothing_are_refused() -> None:
    with pytest.raises(TimeBaseError, match="do not increase"):
        place_runs(np.zeros(2, np.int64), [0, 9], [10, 5], [0.0], 100.0)
    with pytest.raises(TimeBaseError, match="no sample"):
        place_runs(np.zeros(2, np.int64), [0, 9], [5, 0], [0.0], 100.0)
    with pytest.raises(TimeBaseError, match="no row"):
        place_runs(np.zeros(0, np.int64), np.zeros(0, np.int64), 1, [0.0], 100.0)


@pytest.fixture(scope="module")
def walk_and_run():
    """Five minutes: long enough for several 60 s windows, short enough for the whole-recording route."""
    run = simulate_run(scenarios.walk_run_walk(walk_s=60, run_s=150, stand_s=10, seed=8))
    return Recording(run.data, "sensor", run.sample_rate_hz)


def _small_windows(monkeypatch) -> None:
    monkeypatch.setattr(bouts_module, "WINDOW_S", 60.0)
    monkeypatch.setattr(bouts_module, "FEATURE_ROWS", 7)


@pytest.mark.parametrize("part", ["all", "walking"])
def test_aligner_window_by_window_is_the_whole_recording(walk_and_run, monkeypatch, part) -> None:
    data = walk_and_run.data
    if part == "walking":  # the first walk only: the walking cue and its running sum
        data = data.iloc[: int(65 * walk_and_run.sample_rate_hz)].reset_index(drop=True)
    fs = walk_and_run.sample_rate_hz
    whole = MountingAligner().estimate(data, sampling_rate_hz=fs)
    _small_windows(monkeypatch)
    windows = MountingAligner().estimate(data, sampling_rate_hz=fs)
    assert (
        whole.diagnostics_["gait"] == windows.diagnostics_["gait"] == ("walk" if part == "walking" else "run")
    )
    np.testing.assert_allclose(windows.r_body_from_sensor_, whole.r_body_from_sensor_, rtol=0, atol=1e-12)
    assert windows.confidence_ == pytest.approx(whole.confidence_, rel=1e-9)
    for key in ("anisotropy", "sign_correlation", "window_agreement", "gravity_g", "gravity_spread_deg"):
        assert windows.diagnostics_[key] == pytest.approx(whole.diagnostics_[key], rel=1e-9), key
    pd.testing.assert_frame_equal(windows.bouts_, whole.bouts_, check_exact=True)


def test_bouts_window_by_window_and_from_float32(walk_and_run, monkeypatch) -> None:
    """The same bouts and labels over 60 s windows, and from the recording's float32 column as from
    its float64 copy (converted window by window)."""
    fs = walk_and_run.sample_rate_hz
    vertical = walk_and_run.data[["acc_x"]].rename(columns={"acc_x": "acc_is"})  # acc_x is about vertical
    whole = ActivityBoutDetector().detect(vertical, sampling_rate_hz=fs)
    as64 = ActivityBoutDetector().detect(vertical.astype(np.float64), sampling_rate_hz=fs)
    _small_windows(monkeypatch)
    windows = ActivityBoutDetector().detect(vertical, sampling_rate_hz=fs)
    assert set(whole.bouts_["activity"]) >= {"walk", "run"}
    for other in (as64, windows):
        pd.testing.assert_frame_equal(other.bouts_, whole.bouts_, check_exact=True)
        pd.testing.assert_series_equal(other.window_labels_, whole.window_labels_)


@pytest.mark.parametrize("q", [1, 4, 5])
def test_lowpass_window_by_window_is_the_whole_filter(walk_and_run, monkeypatch, q) -> None:
    """Every q-th sample of the zero-phase low-pass, filtered over 60 s windows with 30 s of context,
    is scipy's over the whole recording to rounding; and the windows tile it."""
    fs = walk_and_run.sample_rate_hz
    column = walk_and_run.data["acc_x"].to_numpy()
    sos = signal.butter(2, 20.0, fs=fs, output="sos")
    whole = signal.sosfiltfilt(sos, column.astype(np.float64) / 9.80665)[::q]
    np.testing.assert_array_equal(bouts_module.lowpass_every(column, sos, q, fs, unit=9.80665), whole)
    monkeypatch.setattr(bouts_module, "WINDOW_S", 60.0)
    windows = bouts_module.overlapping(len(column), fs)
    assert len(windows) == 5 and windows[0][2] == 0 and windows[-1][3] == len(column)
    assert all(w[3] == v[2] for w, v in zip(windows[:-1], windows[1:], strict=True))  # cores tile it
    assert all(w[2] - w[0] == int(np.ceil(30 * fs)) for w in windows[1:])
    got = bouts_module.lowpass_every(column, sos, q, fs, unit=9.80665)
    assert got.shape == whole.shape
    np.testing.assert_allclose(got, whole, rtol=0, atol=1e-12)


#: A small session (tests/host/forged_session.py) whose blocks are forged with valid CRCs below.
BASE = small_session(3)


def _either(fn):
    try:
        return fn()
    except SessionFileError as e:
        return str(e).replace(str(e).split(":")[0], "<file>")


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    hits=st.lists(
        st.tuples(st.integers(0, (len(BASE) - BS) // BS - 1), st.integers(32, BS - 5), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    )
)
def test_forged_payloads_give_the_same_recording_pass_by_pass(hits) -> None:
    """Payload bytes forged behind valid CRCs (blocks that do not decode, in the middle of a pass):
    the file decoded pass by pass into the block gives the decoded session's recording, or the same
    error, with passes of 50 samples."""
    d = bytearray(BASE)
    for block, at, byte in hits:
        d[BS + block * BS + at] = byte
    fix_crcs(d)
    with (
        tempfile.TemporaryDirectory() as folder,
        pytest.MonkeyPatch.context() as mp,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", SessionFileWarning)
        mp.setattr(codec_decode, "DECODE_CHUNK_SAMPLES", 200)  # passes of 50 samples into the sink
        path = Path(folder) / "forged.hsn"
        path.write_bytes(bytes(d))
        a = _either(lambda: read_session_recording(path))
        b = _either(lambda: recording_from_session(decode_session(bytes(d), path=path)))
    assert type(a) is type(b)
    if isinstance(a, str):
        assert a == b
        return
    pd.testing.assert_frame_equal(a.data, b.data, check_exact=True)
    np.testing.assert_array_equal(a.segments, b.segments)
    assert (a.filled is None) == (b.filled is None) and a.quality == b.quality


def test_a_channel_of_text_is_refused_in_one_line() -> None:
    given = pd.DataFrame({TIME_COLUMN: [0.0, 0.01], "acc_is": ["1.0", "n/a"]})
    with pytest.raises(HipsenseError, match="must be numbers") as e:
        Recording(given, "body", 100.0)
    assert "\n" not in str(e.value)


_ROUNDS = """
import resource, sys
import numpy as np
import hipsense.allocator as allocator
kept = sys.argv[1] == "kept" and allocator.keep_freed_memory()
assert kept == (sys.argv[1] == "kept" and allocator.keep_freed_memory())  # set once, then as set
def one_round():
    arrays = [np.ones(1 << 18) for _ in range(8)]  # 8 x 2 MB alive at once, as a pass's temporaries
    del arrays
one_round()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(9):
    one_round()
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults_of_rounds(mode: str, env: dict[str, str] | None = None) -> tuple[bool, int]:
    import os
    import subprocess
    import sys

    host = str(Path(__file__).resolve().parents[2] / "host")
    given = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    given.update(PYTHONPATH=host, **(env or {}))
    done = subprocess.run(
        [sys.executable, "-c", _ROUNDS, mode], capture_output=True, text=True, env=given, check=True
    )
    kept, faults = done.stdout.split()
    return kept == "True", int(faults)


@pytest.mark.skipif(
    not Path("/proc/self/status").exists() or "glibc" not in " ".join(__import__("platform").libc_ver()),
    reason="the malloc thresholds are glibc's",
)
def test_freed_pages_are_reused_not_faulted_in_again() -> None:
    """Passes that allocate and free the same temporaries: with glibc's defaults each pass's arrays are
    fresh mappings (8 x 512 pages faulted in a round), with keep_freed_memory() the heap reuses them."""
    plain, kept = _faults_of_rounds("plain"), _faults_of_rounds("kept")
    assert plain[1] > 9 * 8 * 400 and kept == (True, kept[1]) and kept[1] < 500
    # a threshold the user set in the environment is left to glibc: nothing set, the rounds fault
    given = _faults_of_rounds("kept", {"MALLOC_TRIM_THRESHOLD_": str(128 << 10)})
    assert given[0] is False and given[1] > 9 * 8 * 400
