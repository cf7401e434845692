"""The step-evidence score of walking (hipsense.gait.walking_evidence): its pieces against direct
computations, its locality, the fallback without a gyroscope, and that the stored weights are what the
documented fit gives on the shared recordings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense.datasets import walking_dir
from hipsense.gait import walking_evidence as we
from hipsense.gait.walking import WalkingContactDetector
from hipsense.sim import scenarios, simulate_run


@pytest.fixture(scope="module")
def walk():
    """Two minutes of simulated walking at the device rate, with a stop in the middle."""
    run = simulate_run(scenarios.walk_run_walk(walk_s=60, run_s=10, stand_s=3, seed=3))
    return run.body, run.sample_rate_hz


def test_weights_fit_the_features():
    assert len(we.STAGE1_WEIGHTS) == (len(we.CHANNELS) + 1) * len(we.LAGS_S) + 1
    assert len(we.STAGE2_WEIGHTS) == len(we.CONTEXT_S) + 2
    assert np.isfinite(we.STAGE1_WEIGHTS).all() and np.isfinite(we.STAGE2_WEIGHTS).all()


def test_stage1_score_is_the_weighted_features_everywhere(walk):
    body, fs = walk
    z = we.normalised_signals(body, fs)
    score = we.stage1_score(z, fs, we.STAGE1_WEIGHTS)
    n = z.shape[1]
    at = np.r_[0, 1, 5, 40, np.arange(100, n - 100, 977), n - 40, n - 2, n - 1]
    w = np.asarray(we.STAGE1_WEIGHTS)
    np.testing.assert_allclose(score[at], we.stage1_features(z, fs, at) @ w[:-1] + w[-1], atol=1e-9)
    # Feature layout: signal-major, lag-minor; lag 0 of signal 2 is that signal at the sample itself.
    feats = we.stage1_features(z, fs, np.array([500]))
    k = 2 * len(we.LAGS_S) + we.LAGS_S.index(0.0)
    assert feats[0, k] == z[2, 500]


def test_context_windows_take_the_maximum_around_each_sample():
    score = np.r_[np.full(50, -3.0), 2.0, np.full(50, -3.0), 4.0, np.full(50, -3.0)]
    ctx = we.context_features(score, 100.0)
    assert ctx.shape == (len(score), len(we.CONTEXT_S) + 1)
    np.testing.assert_array_equal(ctx[:, 0], score)
    # Windows (s): +0.3..0.8, -0.8..-0.3, +0.8..1.4, -1.4..-0.8, +0.1..0.3, -0.3..-0.1.
    assert ctx[0].tolist() == [-3.0, 2.0, we.OUTSIDE_SCORE, 4.0, we.OUTSIDE_SCORE, -3.0, we.OUTSIDE_SCORE]
    assert ctx[60].tolist() == [-3.0, 4.0, -3.0, -3.0, we.OUTSIDE_SCORE, -3.0, 2.0]
    assert ctx[101].tolist() == [4.0, -3.0, 2.0, we.OUTSIDE_SCORE, -3.0, -3.0, -3.0]


def test_peaks_must_stand_out_absolutely_and_locally():
    fs = 100.0
    score = np.full(400, -4.0)
    score[100], score[160], score[300] = 3.0, 0.0, 1.0  # a weak second peak 0.6 s after a strong one
    kw = {"relative_score": 0.6, "window_s": 2.0, "min_step_s": 0.15}
    assert we.score_peaks(score, fs, min_score=0.8, **kw).tolist() == [100, 300]
    assert we.score_peaks(score, fs, min_score=0.0, **kw).tolist() == [100, 300]  # 160: 4 of 7 < 0.6
    lenient = {**kw, "relative_score": 0.5}
    assert we.score_peaks(score, fs, min_score=0.0, **lenient).tolist() == [100, 160, 300]
    assert we.score_peaks(np.full(50, -1.0), fs, min_score=0.0, **kw).tolist() == []


def test_training_samples_leave_out_the_near_misses():
    times = np.arange(0, 300) / 100.0
    contacts = np.array([1.005, 2.005])  # between samples: no distance ties at 20 or 80 ms
    at, label = we.training_samples(times, contacts, lo=0.5, hi=2.5, stride=1)
    assert times[at[0]] == pytest.approx(0.2) and times[at[-1]] == pytest.approx(2.8)
    dist = np.min(np.abs(times[at][:, None] - contacts[None, :]), axis=1)
    assert ((dist < 0.02) == (label == 1)).all()
    assert not ((dist > 0.02) & (dist < 0.08)).any()
    assert int(label.sum()) == 8  # 0.99, 1.00, 1.01, 1.02 s and the same around 2.005 s
    assert len(at) == 261 - 2 * 12  # 0.2..2.8 s, less 0.93-0.98 and 1.03-1.08 s and their twins near 2 s


def test_logistic_fit_balances_the_classes_and_separates():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 2))
    y = (x[:, 0] > 1.0).astype(float)  # 16 % positives
    w = we.fit_logistic(x, y, l2=1.0)
    pred = (np.c_[x, np.ones(len(x))] @ w) > 0
    assert pred[y > 0].mean() > 0.95 and (~pred[y == 0]).mean() > 0.95
    assert w[0] > 5 * abs(w[1])  # the informative feature carries the weight
    # No information: balanced classes put the boundary at even odds.
    w0 = we.fit_logistic(np.zeros((1000, 1)), (np.arange(1000) < 100).astype(float))
    assert abs(w0[-1]) < 1e-4


@pytest.mark.parametrize("offset", [0, 1, 7])
def test_the_score_is_local(walk, offset):
    """Steps found on a window with 20 s on each side equal those found on the whole recording: the
    route may cut long sessions into overlapping windows, at any sample (at 208 Hz the score is
    computed on every other sample, chosen by the clock, not by where the window starts)."""
    body, fs = walk
    whole = WalkingContactDetector().detect(body, sampling_rate_hz=fs).ic_list_["ic"].to_numpy()
    a, b = int(40 * fs) + offset, int(70 * fs)
    lo = a - int(20 * fs)
    part = body.iloc[lo : b + int(20 * fs)].reset_index(drop=True)
    local = WalkingContactDetector().detect(part, sampling_rate_hz=fs).ic_list_["ic"].to_numpy() + lo
    inner = lambda ic: ic[(ic >= a) & (ic < b)]  # noqa: E731
    assert len(inner(whole)) > 30
    np.testing.assert_array_equal(inner(whole), inner(local))


def test_above_150_hz_the_score_is_interpolated_from_every_other_sample(walk):
    body, fs = walk
    assert fs == 208.0
    score = we.step_score(body, fs)
    half = body.iloc[::2].reset_index(drop=True)  # t_s starts at 0: the samples the score keeps
    z = we.normalised_signals(body, fs, 2, 0)
    first = we.stage1_score(z, fs / 2, we.STAGE1_WEIGHTS)
    w2 = np.asarray(we.STAGE2_WEIGHTS)
    direct = we.context_features(first, fs / 2) @ w2[:-1] + w2[-1]
    np.testing.assert_allclose(score[::2], direct, atol=1e-12)
    np.testing.assert_allclose(score[1:-1:2], 0.5 * (direct[:-1] + direct[1:])[: len(score[1:-1:2])])
    assert len(half) == len(direct)


def test_without_a_gyroscope_the_braking_method_runs(walk):
    body, fs = walk
    acc_only = body.drop(columns=["gyr_is", "gyr_ml", "gyr_pa"])
    assert not we.has_channels(acc_only) and we.has_channels(body)
    holed = body.copy()
    holed.loc[100, "gyr_ml"] = np.nan
    assert not we.has_channels(holed)
    got = WalkingContactDetector().detect(acc_only, sampling_rate_hz=fs).events_
    braking = WalkingContactDetector(evidence=False).detect(body, sampling_rate_hz=fs).events_
    pd.testing.assert_frame_equal(got.drop(columns=["to", "to_s"]), braking.drop(columns=["to", "to_s"]))
    scored = WalkingContactDetector().detect(body, sampling_rate_hz=fs).events_
    assert not scored["ic"].equals(braking["ic"])


@pytest.mark.shared_data
def test_stored_weights_are_the_documented_fit(shared_data):
    """Refitting on the tuning half (benchmarks/walking.py --fit) gives the stored weights."""
    import importlib.util
    from pathlib import Path

    if walking_dir() is None:
        pytest.skip("walking-l5-ipol is not in the shared data")
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "walking.py"
    spec = importlib.util.spec_from_file_location("walking_bench_fit", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    from hipsense.datasets import load_walking_trial, walking_trial_names

    names = walking_trial_names()
    tuning = bench.tuning_half(names)
    assert len(tuning) == 55 and "1-1" in tuning and "2-1" not in tuning
    source = bench.fit_evidence([load_walking_trial(n) for n in names])
    scope: dict = {}
    exec(source, scope)
    np.testing.assert_allclose(scope["STAGE1_WEIGHTS"], we.STAGE1_WEIGHTS, atol=2e-4)
    np.testing.assert_allclose(scope["STAGE2_WEIGHTS"], we.STAGE2_WEIGHTS, atol=2e-4)


def test_the_fit_reaches_the_optimum_whatever_the_rounding():
    """The stored weights must be refittable on any CPU: the fit runs to the optimum (zero gradient),
    so rounding differences as small as a different SIMD path's do not move it. A quasi-Newton fit
    stopped at its default tolerance left the real weights 0.04 from it, 0.006 apart between two CPUs."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40_000, 12))
    x[:, 1] = x[:, 0] + 0.01 * x[:, 1]  # nearly collinear lags, as neighbouring lags of one signal are
    y = (x @ rng.normal(size=12) + rng.logistic(size=len(x)) > 0).astype(float)
    w = we.fit_logistic(x, y)
    xb = np.c_[x, np.ones(len(x))]
    share = y.mean()
    sample_w = np.where(y > 0, 0.5 / share, 0.5 / (1 - share)) / len(y)
    grad = xb.T @ (sample_w * (1 / (1 + np.exp(-xb @ w)) - y))
    grad[:-1] += 2.0 * w[:-1] / len(y)
    assert np.abs(grad).max() < 1e-10
    jittered = we.fit_logistic(x * (1 + 1e-13 * rng.standard_normal(x.shape)), y)
    np.testing.assert_allclose(jittered, w, atol=1e-8)
