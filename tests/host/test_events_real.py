"""Regression of running IC/TO on the 19 real treadmill trials: level, +5 and -5 degrees (one runner).

Data: ``../shared/data/running-sacral-accel`` and ``running-sacral-accel-slopes`` (skipped when absent).
Figures come from the benchmark's code (``benchmarks/slopes.py``, docs/validation.md "Slopes"); the
limits sit just outside what it measures at the device's 208 Hz, so a 5 ms shift of one trial's
contact time, one more missed step or a worse spread fails here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from hipsense.datasets import RUNNING_SACRAL_SLOPES, dataset_dir, load_running_sacral, shared_data_dir
from hipsense.gait.bouts import ActivityBoutDetector
from hipsense.gait.events import RunningContactDetector
from hipsense.gait.scoring import pool, score_running_events

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(
        shared_data_dir() is None or dataset_dir(RUNNING_SACRAL_SLOPES) is None,
        reason="../shared/data (level and sloped running trials) is absent",
    ),
]


def _load_benchmark():
    name = "hipsense_benchmark_slopes"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "slopes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


#: Measured at 208 Hz (benchmarks/slopes.py): step F1, contact-time bias and RMSE (ms) per trial.
MEASURED = {
    "trial01_2.50mps": (1.000, -17.8, 18.3),
    "trial02_3.33mps": (1.000, -2.5, 10.5),
    "trial03_3.33mps": (1.000, -0.9, 4.3),
    "trial04_3.33mps": (1.000, +8.5, 11.7),
    "trial05_4.17mps": (0.970, +11.2, 11.9),
    "trial06_3.33mps": (1.000, -11.5, 20.0),
    "trial07_4.17mps_+5deg": (1.000, +5.5, 10.4),
    "trial08_2.50mps_-5deg": (1.000, -10.7, 15.1),
    "trial09_3.33mps_-5deg": (0.966, -4.6, 12.5),
    "trial10_3.33mps_-5deg": (1.000, -4.0, 6.5),
    "trial11_3.33mps_-5deg": (1.000, -9.5, 17.3),
    "trial12_3.33mps_-5deg": (1.000, +3.1, 6.7),
    "trial13_4.17mps_-5deg": (1.000, +11.3, 13.5),
    "trial14_2.50mps_+5deg": (1.000, -1.1, 10.6),
    "trial15_3.33mps_+5deg": (1.000, +8.0, 13.6),
    "trial16_3.33mps_+5deg": (1.000, +0.7, 8.0),
    "trial17_3.33mps_+5deg": (1.000, +27.2, 29.1),
    "trial18_3.33mps_+5deg": (1.000, -9.3, 10.7),
    "trial19_3.33mps_-5deg": (1.000, -21.0, 23.9),
}
BIAS_TOL_MS = 2.5
RMSE_TOL_MS = 2.5


@pytest.fixture(scope="module")
def real():
    """Per-trial rows and per-group rows of the benchmark at 208 Hz."""
    bench = _load_benchmark()
    per_trial, groups = bench.score_real(rates=(bench.DEVICE_RATE_HZ,))
    return per_trial.set_index("trial"), groups.set_index("slope")


def test_every_trial_is_scored(real):
    per_trial, _ = real
    assert sorted(per_trial.index) == sorted(MEASURED)


@pytest.mark.parametrize("trial", sorted(MEASURED))
def test_trial(real, trial):
    per_trial, _ = real
    row = per_trial.loc[trial]
    f1, bias, rmse = MEASURED[trial]
    assert row["F1"] >= f1 - 1e-3
    assert abs(row["CT bias"] - bias) <= BIAS_TOL_MS
    assert row["CT RMSE"] <= rmse + RMSE_TOL_MS


#: Measured at 208 Hz per slope group: contact-time bias (ms), and the pooled RMSE (ms).
GROUP_BIAS = {"level": -2.1, "+5 deg": +4.8, "-5 deg": -4.6}
POOLED_RMSE = 14.5


def test_slope_groups(real):
    """Issue 15's targets, all met since TO is taken at the end of the late-stance pause: F1 >= 0.99
    and |contact-time bias| <= 10 ms per slope group, pooled RMSE <= 20 ms; and each group's bias held
    within 2.5 ms of its measured value (trial17, +27 ms, still carries most of the uphill bias)."""
    _, groups = real
    for g, bias in GROUP_BIAS.items():
        assert groups.loc[g, "F1"] >= 0.99, g
        assert abs(groups.loc[g, "CT bias"]) <= 10.0, g
        assert abs(groups.loc[g, "CT bias"] - bias) <= BIAS_TOL_MS, g
    assert groups.loc["pooled", "CT RMSE"] <= POOLED_RMSE + 1.0
    assert groups.loc["pooled", "F1"] >= 0.995


def test_no_single_to_level_closes_the_uphill_gap():
    """Why TO needs the pause rule: with a fixed level alone (pause rule off), at 0.10 and 0.30 g above
    the flight the uphill contact-time bias stays 16-20 ms above the downhill one (measured +16.2 and
    +19.6 ms), because the uphill sacral signal holds a higher late-stance pause; with the pause rule
    the gap is 9.4 ms (docs/validation.md, "Slopes")."""
    bench = _load_benchmark()
    sweep = bench.to_level_sweep((0.10, 0.30), plateau_margin_g=None).set_index(["TO level g", "slope"])
    for level in ("0.10", "0.30"):
        gap = sweep.loc[(level, "+5 deg"), "CT bias"] - sweep.loc[(level, "-5 deg"), "CT bias"]
        assert gap >= 14.0, (level, gap)
    _, groups = bench.score_real(rates=(bench.DEVICE_RATE_HZ,))
    groups = groups.set_index("slope")
    assert groups.loc["+5 deg", "CT bias"] - groups.loc["-5 deg", "CT bias"] <= 11.0


@pytest.fixture(scope="module")
def features():
    return _load_benchmark().trial_features().set_index("trial")


def test_late_stance_pause_tracks_the_signal_at_toe_off(features):
    """The mechanism behind the pause rule, per trial (medians): where the sacral descent pauses, the
    signal at the force's toe-off is within 0.21 g of the pause level (17 trials have pauses); uphill
    pauses are higher than downhill ones (0.35-0.77 against 0.22-0.35 g) and more frequent."""
    with_pause = features.dropna(subset=["pause g"])
    assert len(with_pause) >= 16
    assert (abs(with_pause["pause g"] - with_pause["v at TO g"]) <= 0.25).all()
    up = features[features["slope"] == "+5 deg"]["pause g"]
    down = features[features["slope"] == "-5 deg"]["pause g"]
    assert up.median() > down.median() + 0.2


def test_trial17_early_rise_is_not_a_clock_offset(features):
    """trial17's sacral signal reads 0.62 g above the flight at the force's contact (the highest of the
    19 trials; next 0.48), but its braking dip comes 24.8 ms after contact, inside the other trials'
    16.8-31.3 ms: the sensor and force clocks agree, and the early rise is the sacrum's own motion."""
    feats = features
    t17 = feats.loc["trial17_3.33mps_+5deg"]
    others = feats.drop(index="trial17_3.33mps_+5deg")
    assert t17["v at IC g"] > others["v at IC g"].max()
    assert t17["v at IC g"] >= 0.55
    assert others["AP min ms"].min() <= t17["AP min ms"] <= others["AP min ms"].max()


def test_weight_acceptance_ceiling_keeps_uphill_steps():
    """Without the body-weight ceiling the IC tangent lands on the later climb to the active peak in
    uphill stances with a small impact: steps are then missed (F1 0.86 on this trial before the fix)."""
    data, ref = load_running_sacral("trial14")
    scores = {}
    for ceiling in (1.0, 50.0):
        det = RunningContactDetector(ic_ceiling_g=ceiling).detect(data, sampling_rate_hz=500.0).events_
        scores[ceiling] = score_running_events(ref, det)[0]["f1"]
    assert scores[1.0] == 1.0
    assert scores[50.0] < 0.9


@pytest.mark.parametrize("rate", [500.0, 208.0])
def test_short_trials_are_running_throughout(rate):
    """Every 5-s trial, level or sloped, is one running bout and yields its steps (the minimum stated
    in docs/metrics.md)."""
    bench = _load_benchmark()
    trials = bench.running_sacral_trials("all")
    steps, counts = [], []
    for trial in trials["trial"]:
        data, ref = load_running_sacral(trial)
        data = bench.resample_to(data, rate)
        bouts = ActivityBoutDetector().detect(data, sampling_rate_hz=rate).bouts_
        assert list(bouts["activity"]) == ["run"], trial
        det = RunningContactDetector().detect(data, sampling_rate_hz=rate).events_
        assert int(np.isfinite(det["contact_time_s"]).sum()) >= 12, trial
        s, st = score_running_events(ref, det)
        steps.append(st)
        counts.append(s)
    assert pool(steps, counts)["f1"] >= 0.99  # measured 0.995 (500 Hz) and 0.996 (208 Hz)


def test_sloped_trials_read_like_the_level_ones():
    """The slopes set is loaded in the same frame: vertical up-positive (about +1 g on average, about 0 g
    where the force says flight) and every trial has 13-17 complete reference contacts."""
    from hipsense.datasets import read_running_sacral_csv, running_sacral_trials

    slopes = running_sacral_trials("slopes")
    assert len(slopes) == 13 and set(slopes["slope_deg"]) == {5, -5}
    for trial in slopes["trial"]:
        data, ref = load_running_sacral(trial)
        v = data["acc_is"].to_numpy() / 9.80665
        flight = read_running_sacral_csv(trial)["grf_v_bw"].to_numpy() < 0.02
        assert 1.0 < v.mean() < 1.3, trial
        assert np.median(v[flight]) < 0.1, trial
        assert 13 <= int(ref["complete"].sum()) <= 17, trial
