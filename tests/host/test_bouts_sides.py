"""Activity bouts and step sides on simulated sessions with known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense.conventions import G
from hipsense.gait.bouts import ActivityBoutDetector
from hipsense.gait.sides import SideDetector
from hipsense.sim import scenarios, simulate_run


def _activity_at(bouts: pd.DataFrame, t: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(bouts["start_s"].to_numpy(), t, side="right") - 1
    return bouts["activity"].to_numpy()[idx]


def test_walk_run_walk_bouts_match_truth():
    run = simulate_run(scenarios.walk_run_walk(walk_s=30, run_s=90, stand_s=8, seed=2))
    det = ActivityBoutDetector().detect(run.body, sampling_rate_hz=run.sample_rate_hz)
    truth = run.bouts
    # Compare second by second, away from the transitions (2 s either side).
    t = np.arange(0.5, run.body["t_s"].iloc[-1], 1.0)
    true_act = _activity_at(truth, t)
    near_edge = np.min(np.abs(t[:, None] - truth["start_s"].to_numpy()[None, :]), axis=1) < 2.0
    est = _activity_at(det.bouts_, t)
    agree = (est == true_act)[~near_edge]
    assert agree.mean() > 0.97
    assert set(det.bouts_["activity"]) >= {"stand", "walk", "run"}


def test_a_single_odd_second_does_not_split_a_run():
    run = simulate_run(scenarios.steady_run(duration_s=60, seed=4))
    body = run.body.copy()
    i = int(30 * run.sample_rate_hz)
    body.loc[i : i + int(0.8 * run.sample_rate_hz), "acc_is"] = G  # the runner freezes for 0.8 s
    det = ActivityBoutDetector().detect(body, sampling_rate_hz=run.sample_rate_hz)
    assert list(det.bouts_["activity"]) == ["run"]


def test_standing_only_is_standing():
    rng = np.random.default_rng(0)
    body = pd.DataFrame({"acc_is": G + rng.normal(0, 0.03, 3000)})
    det = ActivityBoutDetector().detect(body, sampling_rate_hz=100)
    assert list(det.bouts_["activity"]) == ["stand"]
    assert det.bouts_["end"].iloc[-1] == 3000


def _truth_ic(run) -> tuple[np.ndarray, np.ndarray]:
    truth = run.truth[run.truth["activity"] == "run"]
    return truth["ic_index"].to_numpy(), truth["side"].to_numpy()


@pytest.mark.parametrize("channels", ["gyroscope", "acc_ml"])
def test_sides_from_true_contacts(channels):
    run = simulate_run(scenarios.steady_run(duration_s=120, seed=6))
    body = run.body if channels == "gyroscope" else run.body[["t_s", "acc_is", "acc_ml", "acc_pa"]]
    ic, side = _truth_ic(run)
    det = SideDetector().detect(body, ic, sampling_rate_hz=run.sample_rate_hz)
    assert det.source_ == channels
    assert (det.sides_ == side).mean() > 0.99


def test_a_missed_step_does_not_flip_the_following_sides():
    run = simulate_run(scenarios.steady_run(duration_s=60, seed=8))
    ic, side = _truth_ic(run)
    keep = np.ones(len(ic), dtype=bool)
    keep[40] = False  # the detector missed one contact
    det = SideDetector().detect(run.body, ic[keep], sampling_rate_hz=run.sample_rate_hz)
    after = np.flatnonzero(keep)[40:]
    assert (det.sides_[40:] == side[after]).mean() > 0.98


def test_without_ml_or_gyro_sides_only_alternate():
    run = simulate_run(scenarios.steady_run(duration_s=30, seed=1))
    ic, _ = _truth_ic(run)
    det = SideDetector().detect(run.body[["acc_is", "acc_pa"]], ic, sampling_rate_hz=run.sample_rate_hz)
    assert det.source_ == "alternation" and det.inferred_.all()
    assert (det.sides_[::2] == det.sides_[0]).all() and (det.sides_[1::2] != det.sides_[0]).all()
