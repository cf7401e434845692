"""Sparse watch recording (Garmin's "smart recording": a record every 1-10 s on a steady run) is told from
a pause by the distance (hipsense.watch_align.bridged, docs/watch.md "Per step"; red-team p14 G4/G5).

Before: any two records more than 5 s apart were a pause, so with records 1-8 s apart 59 % of the steps
lost their speed, grade and heart rate, unsaid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense.formats.fit_watch import WatchActivity
from hipsense.watch_align import MAX_SPARSE_GAP_S, Alignment, bridged, notes, step_values

START = 1_735_689_600.0
SPEED = 3.5


def steps_every(seconds: float, step_s: float = 0.35) -> pd.DataFrame:
    return pd.DataFrame({"ic_s": np.arange(0.2, seconds, step_s), "activity": "run"})


def steady_watch(seconds: int, gaps_hi: int, seed: int = 1, *, distance=True) -> WatchActivity:
    """A steady run at 3.5 m/s, records at random gaps of 1 .. ``gaps_hi`` - 1 s."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.integers(1, gaps_hi, size=seconds))
    t = np.concatenate([[0], t[t < seconds]]).astype(float)
    speed = SPEED + 0.2 * np.sin(t / 30.0)
    return WatchActivity(
        time_unix=START + t,
        distance_m=np.concatenate([[0.0], np.cumsum(np.diff(t) * (speed[1:] + speed[:-1]) / 2)])
        if distance
        else None,
        speed_mps=speed,
        altitude_m=None,
        heart_rate_bpm=np.full(len(t), 150.0),
        cadence_spm=np.full(len(t), 172.0),
    )


@pytest.mark.parametrize("gaps_hi", [7, 9, 11])
def test_sparse_recording_keeps_the_values(gaps_hi):
    w = steady_watch(480, gaps_hi)
    steps = steps_every(475)
    values = step_values(steps, START, 0.0, w)
    assert values["speed_mps"].notna().mean() > 0.97
    assert values["heart_rate_bpm"].notna().mean() > 0.97
    truth = SPEED + 0.2 * np.sin(steps["ic_s"] / 30.0)
    assert np.nanmax(np.abs(values["speed_mps"] - truth)) < 0.05
    said = notes(w, Alignment(0.0, 1.0, "cadence", 1.0, 400))
    assert len(said) == 1 and "recorded sparsely" in said[0]


def test_a_real_pause_stays_empty():
    """Records stop for 12 s and 120 s while the distance stands still (the runner stopped): no values
    there; a 12 s gap over which the distance grows at a walk's 0.4 m/s (not the run's pace) neither."""
    w = steady_watch(480, 2)
    t, d = w.time_unix - START, w.distance_m.copy()
    cut = ((t > 100) & (t < 112)) | ((t > 200) & (t < 320)) | ((t > 400) & (t < 412))
    d[t >= 112] -= d[np.searchsorted(t, 112)] - d[np.searchsorted(t, 100)]  # stood still from 100 to 112 s
    d[t >= 320] -= d[np.searchsorted(t, 320)] - d[np.searchsorted(t, 200)]
    d[t >= 412] -= d[np.searchsorted(t, 412)] - d[np.searchsorted(t, 400)] - 0.4 * 12
    w = WatchActivity(
        w.time_unix[~cut], d[~cut], w.speed_mps[~cut], None, w.heart_rate_bpm[~cut], w.cadence_spm[~cut]
    )
    steps = steps_every(475)
    values = step_values(steps, START, 0.0, w)
    ic = steps["ic_s"]
    paused = ((ic > 100) & (ic < 112)) | ((ic > 200) & (ic < 320)) | ((ic > 400) & (ic < 412))
    assert values.loc[paused].isna().all().all()
    assert values.loc[~paused & (ic > 2) & (ic < 470), "speed_mps"].notna().mean() > 0.99
    assert not bridged(w)[(np.diff(w.time_unix) > 5)].any()


def test_without_distance_a_long_gap_is_a_pause():
    w = steady_watch(480, 11, distance=False)
    values = step_values(steps_every(475), START, 0.0, w)
    gaps = np.diff(w.time_unix)
    assert values["speed_mps"].isna().any() and not bridged(w)[gaps > 5].any()


def test_a_gap_longer_than_sparse_recording_makes_is_a_pause():
    t = np.array([0.0, 1.0, 2.0, 2.0 + MAX_SPARSE_GAP_S + 5, 3.0 + MAX_SPARSE_GAP_S + 5])
    w = WatchActivity(START + t, SPEED * t, np.full(5, SPEED), None, None, None)
    assert bridged(w).tolist() == [True, True, False, True]
