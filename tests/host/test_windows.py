"""Windowed analysis (issue 17): a long segment analysed window by window gives the whole segment's
numbers. Windows are shrunk (``WINDOW_S``) so a few minutes of data make several windows; the overlap
stays the real one, since it is what makes a window's core equal to the whole."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense.analysis import SessionResult, analyse, analyse_file
from hipsense.formats.load import load_recording
from hipsense.gait import windows
from hipsense.gait.windows import FrameRows, RowSlice, Window, plan_windows
from hipsense.recording import Recording
from hipsense.sim import scenarios, simulate_run

# -- the plan ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 100, 20_000, 20_001, 123_457, 1_000_000])
def test_cores_tile_the_segment_and_windows_hold_their_cores(n: int) -> None:
    plan = plan_windows(n, 100.0, window_s=60.0, overlap_s=30.0)
    assert plan[0].core_lo == 0 and plan[-1].core_hi == n
    for a, b in zip(plan[:-1], plan[1:], strict=True):
        assert a.core_hi == b.core_lo  # no row owned twice or never
    for w in plan:
        assert 0 <= w.lo <= w.core_lo <= w.core_hi <= w.hi <= n
        assert w.core_hi - w.core_lo <= 6000
        # the full overlap wherever the segment has rows for it
        assert w.core_lo - w.lo == min(3000, w.core_lo) and w.hi - w.core_hi == min(3000, n - w.core_hi)


def test_a_segment_that_fits_is_one_window() -> None:
    assert plan_windows(12_000, 100.0, window_s=60.0, overlap_s=30.0) == [Window(0, 12_000, 0, 12_000)]
    assert len(plan_windows(12_001, 100.0, window_s=60.0, overlap_s=30.0)) == 3


@pytest.mark.parametrize(
    "args", [(-1, 100.0, 60.0, 30.0), (10, 0.0, 60.0, 30.0), (10, 100.0, 0.0, 30.0), (10, 100.0, 60.0, -1.0)]
)
def test_a_bad_plan_is_refused(args) -> None:
    n, fs, w, o = args
    with pytest.raises(ValueError):
        plan_windows(n, fs, window_s=w, overlap_s=o)


def test_ownership_is_by_core() -> None:
    w = Window(0, 50, 10, 40)
    assert w.owns(np.array([9, 10, 39, 40])).tolist() == [False, True, True, False]


def test_row_slices_read_their_segment() -> None:
    data = pd.DataFrame({"t_s": np.arange(10.0), "acc_is": np.arange(10.0) * 2})
    part = RowSlice(FrameRows(data), 3, 8)
    assert len(part) == 5 and list(part.columns) == ["t_s", "acc_is"]
    assert part.rows(1, 3)["acc_is"].tolist() == [8.0, 10.0]
    assert part.rows(1, 3).index.tolist() == [0, 1]
    assert part.column("acc_is", 0, 2).tolist() == [6.0, 8.0]
    with pytest.raises(ValueError):
        RowSlice(FrameRows(data), 3, 11)


# -- whole versus windows ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def session_with_gaps(tmp_path_factory):
    """Stand, walk, run, walk, stand (about 6 minutes) with a filled hole and a gap: two segments."""
    run = simulate_run(scenarios.walk_run_walk(walk_s=60, run_s=220, seed=11))
    cut = run.losing((0.2, 3), (0.5, 2500))  # a short hole (filled) and about 12 s: a gap
    path = tmp_path_factory.mktemp("windows") / "gaps.hsn"
    cut.write_device_file(path)
    return path


def _windowed(monkeypatch, window_s: float):
    monkeypatch.setattr(windows, "WINDOW_S", window_s)


def _assert_same(whole: SessionResult, windowed: SessionResult) -> None:
    a, b = whole.steps, windowed.steps
    assert len(a) == len(b) and list(a.columns) == list(b.columns)
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind == "f":
            np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-9, err_msg=col)
        else:
            assert (x == y).all(), col
    pd.testing.assert_frame_equal(whole.bouts, windowed.bouts, check_exact=True)
    s, t = whole.summary.to_dict(), windowed.summary.to_dict()
    assert s.keys() == t.keys()
    assert pd.Series(s).astype(str).str.len().sum() > 0
    _close(s, t)
    assert whole.quality == windowed.quality


def _close(x, y, path: str = "summary") -> None:
    if isinstance(x, dict):
        assert x.keys() == y.keys(), path
        for k in x:
            _close(x[k], y[k], f"{path}.{k}")
    elif isinstance(x, list | tuple):
        assert len(x) == len(y), path
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            _close(u, v, f"{path}[{i}]")
    elif isinstance(x, float):
        assert (np.isnan(x) and np.isnan(y)) or x == pytest.approx(y, rel=1e-7, abs=1e-9), path
    else:
        assert x == y, path


def test_windows_give_the_whole_segments_numbers(session_with_gaps, monkeypatch) -> None:
    whole = analyse_file(session_with_gaps)
    assert len(load_recording(session_with_gaps).segments) == 2
    assert whole.running_time_s > 150 and whole.walking_time_s > 60
    assert {"run", "walk"} <= set(whole.steps["activity"])
    longest = max(b - a for a, b in load_recording(session_with_gaps).segments)
    _windowed(monkeypatch, 40.0)
    assert len(plan_windows(longest, whole.sampling_rate_hz)) >= 3  # the windows are really used
    windowed = analyse_file(session_with_gaps)
    _assert_same(whole, windowed)


def test_the_body_frame_is_built_on_demand_and_is_the_rotated_recording(session_with_gaps) -> None:
    recording = load_recording(session_with_gaps)
    result = analyse(recording)
    assert "body" not in vars(result)  # not built by the analysis
    body = result.body
    assert len(body) == len(recording.data) and body is result.body  # built once
    part = result.rows.rows(1000, 1200)
    pd.testing.assert_frame_equal(part, body.iloc[1000:1200].reset_index(drop=True), check_exact=True)
    assert result.rows.column("acc_is", 1000, 1200).tolist() == part["acc_is"].tolist()


def test_windows_on_real_walking(shared_data, monkeypatch) -> None:
    """The longest walking trial (46 s, sensor frame: rotated window by window) in 5 s cores with 20 s
    of context on each side: two thirds of the real overlap. (The slowest stage to forget an edge is
    the 0.3 Hz high-pass of the integrated angles, which decays by e^-1.33 per second: 20 s leaves
    3e-12 of an edge's transient, 10 s would leave 2e-6.)"""
    from hipsense.datasets import WALKING_L5_RATE_HZ, read_walking_sensor, walking_dir

    sensor, _ = read_walking_sensor(walking_dir() / "8-5_lb.txt")
    recording = Recording(sensor, "sensor", WALKING_L5_RATE_HZ)
    whole = analyse(recording)
    assert (whole.steps["activity"] == "walk").sum() > 40
    _windowed(monkeypatch, 5.0)
    monkeypatch.setattr(windows, "OVERLAP_S", 20.0)
    assert len(plan_windows(len(sensor), WALKING_L5_RATE_HZ)) >= 5
    _assert_same(whole, analyse(recording))


def test_a_rotated_column_is_that_column_of_the_rotated_rows() -> None:
    """`RotatedRows.column` computes one axis only: the same floats as that axis of `rows`."""
    from hipsense.gait.windows import RotatedRows

    rng = np.random.default_rng(4)
    names = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
    data = pd.DataFrame({n: rng.normal(size=500).astype(np.float32) for n in names})
    data.insert(0, "t_s", np.arange(500) / 100.0)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rows = RotatedRows(data, q * np.sign(np.linalg.det(q)))
    whole = rows.rows(100, 400)
    for name in ["t_s", "acc_is", "acc_ml", "acc_pa", "gyr_is", "gyr_ml", "gyr_pa"]:
        assert np.array_equal(rows.column(name, 100, 400), whole[name].to_numpy()), name
    with pytest.raises(KeyError):
        rows.column("acc_x", 0, 10)
