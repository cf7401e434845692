"""Pelvic drop (hipsense.gait.pelvis): the definition on known curves, the IMU path on the simulator."""

from __future__ import annotations

import numpy as np
import pytest

from hipsense.errors import HipsenseError
from hipsense.gait.pelvis import obliquity_deg, pelvic_drop_deg, step_pelvic_drop
from hipsense.sim import scenarios, simulate_run
from hipsense.sim.body import running_roll


def test_drop_is_measured_from_contact_toward_the_swing_side():
    # Left step: phi 1 at contact, rises to 4, falls to -3; right step: the mirror image.
    phi = np.array([1.0, 2.5, 4.0, 0.0, -3.0, -1.0, -2.5, -4.0, 0.0, 3.0])
    drop = pelvic_drop_deg(phi, np.array([0, 5]), np.array([5, 10]), np.array(["L", "R"]))
    np.testing.assert_allclose(drop, [3.0, 3.0])  # not the 7-degree range over the step
    # The side decides the direction: the same curve read as the other side gives the rise the other way.
    drop = pelvic_drop_deg(phi, np.array([0, 5]), np.array([5, 10]), np.array(["R", "L"]))
    np.testing.assert_allclose(drop, [4.0, 4.0])


def test_unknown_side_gives_no_drop():
    phi = np.sin(np.linspace(0, 6, 60))
    drop = pelvic_drop_deg(phi, np.array([0, 20, 40]), np.array([20, 40, 60]), np.array(["L", "", "R"]))
    assert np.isfinite(drop[[0, 2]]).all() and np.isnan(drop[1])
    assert len(pelvic_drop_deg(phi, np.zeros(0, int), np.zeros(0, int), np.zeros(0, str))) == 0


@pytest.mark.parametrize(
    ("start", "end", "sides"),
    [([0], [61], ["L"]), ([-1], [5], ["L"]), ([5], [5], ["L"]), ([0, 5], [5], ["L", "R"])],
)
def test_bad_step_ranges_are_refused(start, end, sides):
    with pytest.raises(HipsenseError):
        pelvic_drop_deg(np.zeros(60), np.array(start), np.array(end), np.array(sides))


def test_obliquity_refuses_non_finite_rates():
    with pytest.raises(HipsenseError, match="NaN"):
        obliquity_deg(np.array([0.0, np.nan, 1.0] * 100), 100.0)


def test_imu_drop_matches_the_simulated_truth():
    """The simulator's running roll (the motion capture's shape) drops by exactly its truth from contact;
    the gyroscope path recovers it within a few tenths of a degree."""
    run = simulate_run(scenarios.asymmetric_run(duration_s=60, seed=3))
    tr = run.truth[run.truth["activity"] == "run"]
    fs = run.sample_rate_hz
    ic = tr["ic_row"].to_numpy(dtype=float)
    drop = step_pelvic_drop(
        run.body["gyr_pa"].to_numpy(), ic, np.r_[ic[1:], np.nan], tr["side"].to_numpy(), sampling_rate_hz=fs
    )
    err = (drop - tr["pelvic_drop_deg"].to_numpy())[2:-2]
    assert abs(np.mean(err)) < 0.3 and np.mean(np.abs(err)) < 0.4
    for side in "LR":
        m = (tr["side"] == side).to_numpy()[2:-2]
        assert np.mean(drop[2:-2][m]) == pytest.approx(
            tr["pelvic_drop_deg"].to_numpy()[2:-2][m].mean(), abs=0.3
        )


def test_running_roll_drops_by_exactly_the_given_drop():
    tau = np.linspace(0, 0.38, 400)
    for drop in (0.5, 2.0, 8.0):
        phi, rate = running_roll(
            tau, np.full(400, 0.12), np.full(400, 0.28), np.full(400, 0.38), np.full(400, drop)
        )
        assert phi.max() - phi[0] == pytest.approx(drop, abs=1e-6)
        # The rate is the angle's derivative.
        np.testing.assert_allclose(np.gradient(phi, tau)[5:-5], rate[5:-5], atol=0.05 * np.abs(rate).max())
