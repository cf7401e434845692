"""Walking bouts where the heel impacts outweigh the step: U-turns, shuffles and the slow steps of a stop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense.conventions import G
from hipsense.gait.bouts import ActivityBoutDetector


def _vertical(fs: float, seconds: float, parts: list[tuple[float, float]], seed: int = 0) -> pd.DataFrame:
    """``acc_is`` of 1 g plus sinusoids ``(frequency Hz, amplitude g)`` and a little noise, with 3 s of
    standing before and after."""
    rng = np.random.default_rng(seed)
    t = np.arange(int((seconds + 6.0) * fs)) / fs
    moving = (t >= 3.0) & (t < 3.0 + seconds)
    acc = np.ones_like(t)
    for f, a in parts:
        acc += moving * a * np.sin(2 * np.pi * f * t)
    acc += 0.003 * rng.standard_normal(len(t))
    return pd.DataFrame({"t_s": t, "acc_is": acc * G})


def _middle_activity(det: ActivityBoutDetector, fs: float, seconds: float) -> str:
    labels = det.window_labels_.to_numpy()
    middle = labels[4 : 3 + int(seconds) - 1]
    values, counts = np.unique(middle, return_counts=True)
    return str(values[np.argmax(counts)])


@pytest.mark.parametrize("fs", [100.0, 208.0])
def test_walking_whose_impact_harmonic_is_strongest_is_walking(fs):
    """Steps at 1.8 Hz with a stronger second harmonic (heel impacts in a turn): walking, as the
    walking detector needs, not unknown (the rule before took the strongest frequency only)."""
    data = _vertical(fs, 12.0, [(1.8, 0.06), (3.6, 0.10)])
    det = ActivityBoutDetector().detect(data, sampling_rate_hz=fs)
    assert _middle_activity(det, fs, 12.0) == "walk"
    walk = det.bouts_[det.bouts_["activity"] == "walk"]
    assert len(walk) == 1 and walk["duration_s"].iloc[0] >= 10.0


def test_a_weak_step_under_a_strong_harmonic_is_not_walking():
    """The walking band must hold at least half the strongest component: a fast vibration with a
    faint 1.8 Hz trace stays unknown."""
    data = _vertical(100.0, 12.0, [(1.8, 0.02), (3.6, 0.10)])
    det = ActivityBoutDetector().detect(data, sampling_rate_hz=100.0)
    assert _middle_activity(det, 100.0, 12.0) == "unknown"
    stricter = ActivityBoutDetector(walk_band_fraction=0.7).detect(
        _vertical(100.0, 12.0, [(1.8, 0.06), (3.6, 0.10)]), sampling_rate_hz=100.0
    )
    assert _middle_activity(stricter, 100.0, 12.0) == "unknown"


def test_slow_steps_into_a_stop_are_walking():
    """1.1 steps/s (66 steps/min), as in the last steps before a stop: walking from 1.0 Hz (the rule
    before started at 1.2 Hz and called these unknown)."""
    data = _vertical(100.0, 12.0, [(1.1, 0.08)])
    assert (
        _middle_activity(ActivityBoutDetector().detect(data, sampling_rate_hz=100.0), 100.0, 12.0) == "walk"
    )


def test_a_pure_fast_oscillation_without_flight_is_unknown():
    data = _vertical(100.0, 12.0, [(4.0, 0.15)])
    det = ActivityBoutDetector().detect(data, sampling_rate_hz=100.0)
    assert _middle_activity(det, 100.0, 12.0) == "unknown"
