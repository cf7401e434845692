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


def test_sides_from_true_contacts():
    """Running with a gyroscope, on the simulator's motion-capture-like pelvis roll."""
    run = simulate_run(scenarios.steady_run(duration_s=120, seed=6))
    ic, side = _truth_ic(run)
    det = SideDetector().detect(run.body, ic, sampling_rate_hz=run.sample_rate_hz)
    assert det.source_ == "gyroscope"
    assert (det.gait_ == "running").all()
    assert (det.sides_ == side).mean() > 0.99
    assert det.bouts_["confidence"].min() > 0.99


def test_running_without_gyroscope_has_unknown_sides():
    """acc_ml has no reliable side sign in running (the stance force tilts with the obliquity): unknown."""
    run = simulate_run(scenarios.steady_run(duration_s=60, seed=6))
    ic, _ = _truth_ic(run)
    det = SideDetector().detect(
        run.body[["t_s", "acc_is", "acc_ml", "acc_pa"]], ic, sampling_rate_hz=run.sample_rate_hz
    )
    assert det.source_ == "unknown"
    assert (det.sides_ == "").all()
    assert (det.confidence_ == 0.5).all()


def test_a_roll_half_a_step_off_gives_unknown_sides_not_swapped_ones():
    """A runner whose obliquity peaks half a step away from the expected phase fits both labellings
    equally: the bout's confidence is about 0.5 and the sides are unknown, not swapped."""
    run = simulate_run(scenarios.steady_run(duration_s=60, seed=5))
    ic, side = _truth_ic(run)
    fs = run.sample_rate_hz
    phase = SideDetector().detect(run.body, ic, sampling_rate_hz=fs).bouts_["phase"].iloc[0]
    det = SideDetector(running_phase=phase + 0.5).detect(run.body, ic, sampling_rate_hz=fs)
    assert det.bouts_["confidence"].max() < 0.6
    assert (det.sides_ == "").all()
    # A quarter step off is still far enough from the ambiguous phase to keep the right sides.
    det = SideDetector(running_phase=phase + 0.25).detect(run.body, ic, sampling_rate_hz=fs)
    assert det.bouts_["confidence"].min() > 0.95
    assert (det.sides_ == side).mean() > 0.99


@pytest.mark.parametrize("offset", [-0.3, -0.1, 0.1, 0.3, -0.55, -0.45, 0.45, 0.55])
def test_sides_are_right_or_unknown_over_runner_phases(offset):
    """Runners whose roll peaks earlier or later than expected (the expected phase moved instead):
    within 0.3 step the sides stay right; near the ambiguous half step they are unknown, never swapped."""
    run = simulate_run(scenarios.steady_run(duration_s=40, seed=12))
    ic, side = _truth_ic(run)
    fs = run.sample_rate_hz
    phase = SideDetector().detect(run.body, ic, sampling_rate_hz=fs).bouts_["phase"].iloc[0]
    det = SideDetector(running_phase=phase + offset).detect(run.body, ic, sampling_rate_hz=fs)
    if abs(offset) <= 0.3:
        assert (det.sides_ == side).mean() > 0.99
    else:
        assert (det.sides_ == "").all()


def test_without_ml_or_gyro_sides_are_unknown_unless_given():
    run = simulate_run(scenarios.steady_run(duration_s=30, seed=1))
    ic, side = _truth_ic(run)
    body = run.body[["acc_is", "acc_pa"]]
    det = SideDetector().detect(body, ic, sampling_rate_hz=run.sample_rate_hz)
    assert det.source_ == "unknown" and (det.sides_ == "").all()
    # The steps still alternate, for an alternate-step comparison.
    np.testing.assert_array_equal(det.alternate_, np.arange(len(ic)) % 2)
    given = SideDetector(first_side=side[0]).detect(body, ic, sampling_rate_hz=run.sample_rate_hz)
    assert given.source_ == "given"
    np.testing.assert_array_equal(given.sides_, side)


def test_a_given_first_side_does_not_cross_a_pause():
    run = simulate_run(scenarios.steady_run(duration_s=40, seed=9))
    ic, side = _truth_ic(run)
    keep = np.ones(len(ic), dtype=bool)
    keep[50:57] = False
    det = SideDetector(first_side=side[0]).detect(
        run.body[["acc_is", "acc_pa"]], ic[keep], sampling_rate_hz=run.sample_rate_hz
    )
    np.testing.assert_array_equal(det.sides_[:50], side[:50])
    assert (det.sides_[50:] == "").all()
    assert list(det.bouts_["first"]) == [0, 50]


def test_bad_first_side_is_refused():
    from hipsense.errors import HipsenseError

    with pytest.raises(HipsenseError, match="first_side"):
        SideDetector(first_side="left").detect(
            pd.DataFrame({"acc_is": np.ones(10)}), [1], sampling_rate_hz=100
        )


# -- additions: walking, turns, extra contacts, the chain ---------------------------------------------
@pytest.mark.parametrize("channels", ["gyroscope", "acc_ml"])
def test_sides_of_simulated_walking_and_running_from_true_contacts(channels):
    run = simulate_run(scenarios.walk_run_walk(walk_s=30, run_s=30, stand_s=5, seed=4))
    body = run.body if channels == "gyroscope" else run.body[["t_s", "acc_is", "acc_ml", "acc_pa"]]
    truth = run.truth
    det = SideDetector().detect(body, truth["ic_index"].to_numpy(), sampling_rate_hz=run.sample_rate_hz)
    assert det.source_ == channels
    for activity, gait in (("walk", "walking"), ("run", "running")):
        m = (truth["activity"] == activity).to_numpy()
        assert (det.gait_[m] == gait).mean() > 0.97  # told apart by the flight phase
        right = (det.sides_[m] == truth["side"].to_numpy()[m]).mean()
        if channels == "acc_ml" and activity == "run":
            assert (det.sides_[m] == "").mean() > 0.95  # running needs the gyroscope
        else:
            assert right > 0.97


def test_sides_through_turns():
    """A 90-degree curve and a U-turn: the turning yaw rate must not decide the sides."""
    run = simulate_run(scenarios.with_turns(duration_s=120, seed=2))
    ic, side = _truth_ic(run)
    det = SideDetector().detect(run.body, ic, sampling_rate_hz=run.sample_rate_hz)
    assert (det.sides_ == side).mean() > 0.99


def test_an_extra_contact_does_not_flip_the_following_sides():
    run = simulate_run(scenarios.steady_run(duration_s=60, seed=8))
    ic, side = _truth_ic(run)
    extra = (ic[40] + ic[41]) // 2  # a false contact in mid-step
    with_extra = np.sort(np.r_[ic, extra])
    det = SideDetector().detect(run.body, with_extra, sampling_rate_hz=run.sample_rate_hz)
    kept = det.sides_[with_extra != extra]
    assert (kept[41:] == side[41:]).mean() > 0.98
    assert (kept == side).mean() > 0.98


def test_side_outputs_are_consistent():
    run = simulate_run(scenarios.steady_run(duration_s=60, seed=3))
    ic, side = _truth_ic(run)
    det = SideDetector().detect(run.body, ic, sampling_rate_hz=run.sample_rate_hz)
    k = len(ic)
    for attr in (
        "sides_",
        "score_",
        "confidence_",
        "posterior_",
        "inferred_",
        "bout_",
        "alternate_",
        "gait_",
    ):
        assert len(getattr(det, attr)) == k, attr
    assert np.all((det.posterior_ >= 0) & (det.posterior_ <= 1))
    assert np.all((det.confidence_ >= 0.5) & (det.confidence_ <= 1))
    known = det.sides_ != ""
    assert known.mean() > 0.98
    np.testing.assert_array_equal(det.sides_[known] == "L", det.posterior_[known] >= 0.5)
    assert (det.confidence_[known] >= 0.9).all() and (det.confidence_[~known] < 0.9).all()  # running
    assert len(det.bouts_) == det.bout_.max() + 1
    # Each step's own score already agrees with the truth on simulated running.
    assert ((det.score_ > 0) == (side == "L")).mean() > 0.95
    assert det.inferred_.mean() < 0.05


def test_no_contacts_gives_empty_sides():
    run = simulate_run(scenarios.steady_run(duration_s=20, seed=1))
    det = SideDetector().detect(run.body, np.array([], dtype=np.int64), sampling_rate_hz=run.sample_rate_hz)
    assert len(det.sides_) == 0 and det.source_ == "gyroscope" and len(det.bouts_) == 0


def test_a_long_pause_cuts_the_alternation_chain():
    """Seven missed contacts in a row (an odd number, so the sides before and after the gap do not
    alternate across it): both sides of the gap keep their own, correct sides."""
    run = simulate_run(scenarios.steady_run(duration_s=40, seed=9))
    ic, side = _truth_ic(run)
    keep = np.ones(len(ic), dtype=bool)
    keep[50:57] = False
    det = SideDetector().detect(run.body, ic[keep], sampling_rate_hz=run.sample_rate_hz)
    assert (det.sides_ == side[keep]).mean() > 0.98


def test_the_chain_lets_confident_steps_keep_their_side():
    from hipsense.gait.sides import _alternating_chain

    linked = np.array([True])
    # A weak step next to a confident one takes the opposite side by alternation ...
    post = _alternating_chain(np.array([3.0, 0.1]), linked, 0.05)
    assert post[0] > 0 and post[1] < 0
    # ... but two confident steps on the same side (a missed step between them) both keep theirs,
    post = _alternating_chain(np.array([3.0, 3.0]), linked, 0.05)
    assert np.all(post > 0)
    # and a cut link leaves each step with its own evidence.
    np.testing.assert_allclose(_alternating_chain(np.array([3.0, 0.1]), np.array([False]), 0.05), [3.0, 0.1])


def test_bad_alternation_error_is_refused():
    from hipsense.errors import HipsenseError

    run = simulate_run(scenarios.steady_run(duration_s=20, seed=1))
    ic, _ = _truth_ic(run)
    with pytest.raises(HipsenseError, match="alternation_error"):
        SideDetector(alternation_error=0.7).detect(run.body, ic, sampling_rate_hz=run.sample_rate_hz)


def test_the_callers_activity_chooses_the_rule():
    """The analysis knows each contact's bout; ``activity`` overrides the flight test."""
    run = simulate_run(scenarios.walk_run_walk(walk_s=20, run_s=20, stand_s=5, seed=4))
    truth = run.truth
    fs = run.sample_rate_hz
    ic = truth["ic_index"].to_numpy()
    act = truth["activity"].to_numpy()
    det = SideDetector().detect(run.body, ic, sampling_rate_hz=fs, activity=act)
    np.testing.assert_array_equal(det.gait_ == "running", act == "run")
    assert (det.sides_ == truth["side"].to_numpy()).mean() > 0.98
    from hipsense.errors import HipsenseError

    with pytest.raises(HipsenseError, match="activity"):
        SideDetector().detect(run.body, ic, sampling_rate_hz=fs, activity=act[:-1])
    with pytest.raises(HipsenseError, match="activity"):
        SideDetector().detect(run.body, ic, sampling_rate_hz=fs, activity=np.where(act == "run", "jog", act))
