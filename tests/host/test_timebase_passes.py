"""The grid's times, built a segment at a time within each pass (issue 17), are the per-row route's.

The previous route (a segment number per row by ``searchsorted``, then ``(row - start) / rate +
t0``) is kept here; the comparison is exact, for grids of one segment, a few, and more per pass than
the segment-by-segment route takes (which then falls back to the per-row one).
"""

from __future__ import annotations

import numpy as np
import pytest

from hipsense import timebase
from hipsense.timebase import place_runs


def _old_times(seg_start: np.ndarray, seg_t0: np.ndarray, rate_hz: float, total: int) -> np.ndarray:
    times = np.empty(total)
    for a in range(0, total, timebase.PASS_ROWS):
        rows = np.arange(a, min(a + timebase.PASS_ROWS, total), dtype=np.int64)
        seg = np.searchsorted(seg_start, rows, side="right") - 1
        np.divide(rows - seg_start[seg], rate_hz, out=times[a : a + len(rows)])
        times[a : a + len(rows)] += seg_t0[seg]
    return times


@pytest.mark.parametrize("pass_rows", [7, 100, 1 << 20])
@pytest.mark.parametrize("seed", range(8))
def test_times_are_the_per_row_routes(monkeypatch, pass_rows: int, seed: int) -> None:
    monkeypatch.setattr(timebase, "PASS_ROWS", pass_rows)
    rng = np.random.default_rng(seed)
    runs = int(rng.integers(200, 400)) if seed % 2 else int(rng.integers(1, 400))
    count = rng.integers(1, 50, runs)
    # holes (filled) and gaps (new segments): odd seeds more than 64 segments, the per-row fallback
    jump = rng.choice([3, 500] if seed % 2 else [0, 0, 0, 3, 30, 500], runs)
    first = np.cumsum(count + jump) - count - jump + int(rng.integers(0, 1000))
    stretch = np.sort(rng.integers(0, 3, runs))  # clock stretches: segments start anew
    start_s = np.cumsum(rng.uniform(1.0, 50.0, 3))
    rate = float(rng.uniform(20.0, 500.0))
    grid, dest = place_runs(stretch, first, count, start_s, rate)
    seg_start = grid.segments[:, 0]
    assert len(seg_start) > 64 or not seed % 2
    # each segment's first time as place_runs defines it, from the runs that start a segment
    fr = np.flatnonzero(np.isin(dest, seg_start))
    seg_t0 = (start_s[stretch[fr]] - start_s[stretch[0]]) + (first[fr] - float(first[0])) * (1.0 / rate)
    old = _old_times(seg_start, seg_t0, rate, len(grid.times_s))
    np.testing.assert_array_equal(grid.times_s, old)
    assert grid.times_s[0] == 0.0 and (np.diff(grid.times_s) > 0).all()
