"""Tests of the running simulator: physics, per-step truth, mounting and the sensor model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import cumulative_trapezoid

from hipsense.conventions import (
    ACC_LSB_MG,
    BODY_ACC,
    BODY_GYR,
    GYR_LSB_MDPS,
    R_BODY_FROM_SENSOR_DEFAULT,
    SENSOR_ACC,
    SENSOR_COLUMNS,
    SENSOR_GYR,
    G,
    sensor_to_body,
)
from hipsense.formats.device_file import read_device_file
from hipsense.sim import (
    Asymmetry,
    Mounting,
    RunConfig,
    RunningModel,
    Segment,
    SensorModel,
    SideParams,
    SimulatedRun,
    Turn,
    Variability,
    demo_config,
    scenarios,
    simulate_run,
)

IDEAL = SensorModel.ideal()


def _phase(run: SimulatedRun) -> pd.DataFrame:
    """Body truth with the step's timing joined: time since contact, contact time, side, activity."""
    b = run.body.copy()
    ok = b["step"].to_numpy() >= 0
    tr = run.truth.set_index("step")
    k = np.where(ok, b["step"].to_numpy(), tr.index[0])
    b["tau"] = b["t_true_s"].to_numpy() - tr.loc[k, "ic_s"].to_numpy()
    for col in ("contact_time_s", "step_time_s", "side", "activity"):
        b[col] = tr.loc[k, col].to_numpy()
    return b[ok]


@pytest.fixture(scope="module")
def steady() -> SimulatedRun:
    return simulate_run(scenarios.steady_run(duration_s=120, seed=3, sensor=IDEAL))


@pytest.fixture(scope="module")
def asym() -> SimulatedRun:
    cfg = scenarios.asymmetric_run(
        duration_s=180,
        step_time_pct=4.0,
        contact_time_pct=6.0,
        impact_pct=10.0,
        left_stance_drop_deg=8.0,
        right_stance_drop_deg=5.0,
        seed=5,
    )
    return simulate_run(cfg)


# --- physics of the vertical ----------------------------------------------------------------------


def test_vertical_impulse_balances_body_weight_every_step(steady):
    b = steady.body[steady.body["step"] >= 0]
    per_step = b.groupby("step")["acc_is"].mean() / G
    assert per_step.between(0.98, 1.02).all(), per_step.describe()
    assert abs(per_step.mean() - 1.0) < 0.006


def test_vertical_impulse_balance_seen_by_the_sensor(asym):
    acc = sensor_to_body(asym.data[list(SENSOR_ACC)].to_numpy(), asym.r_body_from_sensor)
    step = asym.body["step"].to_numpy()
    per_step = pd.Series(acc[:, 0]).groupby(step).mean().drop(-1, errors="ignore") / G
    assert per_step.between(0.97, 1.03).all()


def test_flight_reads_zero_g_and_stance_carries_the_load(steady):
    b = _phase(steady)
    flight = b["tau"] > b["contact_time_s"]
    assert flight.sum() > 1000
    assert np.abs(b.loc[flight, list(BODY_ACC)].to_numpy()).max() < 1e-9
    stance = ~flight
    assert (b.loc[stance, "acc_is"] > 0).mean() > 0.97


def test_contact_time_in_signal_matches_truth(asym):
    """Contact measured from the noiseless body signal (acc_is above 0.05 g) equals the truth."""
    b = asym.body
    loaded = (b["acc_is"].to_numpy() > 0.05 * G) & (b["step"].to_numpy() >= 0)
    fs = asym.true_sample_rate_hz
    measured = pd.Series(loaded).groupby(b["step"].to_numpy()).sum().drop(-1) / fs
    truth = asym.truth.set_index("step")["contact_time_s"].loc[measured.index]
    assert np.abs(measured - truth).max() < 3.5 / fs


def test_impact_is_an_early_sharp_peak_per_side_with_asymmetry(asym):
    tr = asym.truth
    med = tr.groupby("side")["impact_g"].median()
    assert 2.5 < med["L"] < 3.5
    assert med["R"] / med["L"] == pytest.approx(1.10, abs=0.02)
    b = _phase(asym)
    early = b["tau"] < 0.05
    peak_early = b[early].groupby("step")["acc_is"].max() / G
    assert (peak_early > 2.0).mean() > 0.95
    # The sampled peak cannot exceed the continuous truth, and comes close to it at 208 Hz.
    truth = tr.set_index("step").loc[peak_early.index, "impact_g"]
    assert (peak_early <= truth + 1e-3).all()
    assert ((truth - peak_early) / truth).median() < 0.05


def test_forefoot_like_run_has_no_impact_transient():
    cfg = scenarios.steady_run(
        duration_s=20, running=RunningModel(impact_g=0.0), variability=Variability.none()
    )
    run = simulate_run(cfg)
    b = _phase(run)
    # Single hump: the vertical force rises monotonically until mid-stance.
    rising = (
        b[b["tau"] < 0.45 * b["contact_time_s"]]
        .groupby("step")["acc_is"]
        .apply(lambda s: bool(np.all(np.diff(s.to_numpy()) > 0)))
    )
    assert rising.all()


def _ideal_run(**kw) -> SimulatedRun:
    return simulate_run(
        scenarios.steady_run(duration_s=20, seed=4, variability=Variability.none(), sensor=IDEAL, **kw)
    )


@pytest.mark.parametrize("strike", ["rearfoot", "midfoot", "forefoot"])
@pytest.mark.parametrize("grade", [-10.0, 0.0, 10.0])
def test_grades_and_foot_strikes_keep_the_impulse_balance_and_the_flight(grade, strike):
    run = _ideal_run(grade_deg=grade, running=RunningModel(foot_strike=strike))
    b = run.body[run.body["step"] >= 0]
    per_step = b.groupby("step")["acc_is"].mean() / G
    assert per_step.between(0.98, 1.02).all()
    assert (run.truth["flight_time_s"] > 0.02).all()


def test_foot_strike_sets_the_impact_transient():
    """Rearfoot: the impact peak; midfoot: a smaller one; forefoot: a single hump (no transient)."""
    impact = {
        strike: _ideal_run(running=RunningModel(foot_strike=strike)).truth["impact_g"].median()
        for strike in ("rearfoot", "midfoot", "forefoot")
    }
    assert impact["rearfoot"] > impact["midfoot"] + 0.5
    run = _ideal_run(running=RunningModel(foot_strike="forefoot"))
    b = _phase(run)
    rising = (
        b[b["tau"] < 0.45 * b["contact_time_s"]]
        .groupby("step")["acc_is"]
        .apply(lambda s: bool(np.all(np.diff(s.to_numpy()) > 0)))
    )
    assert rising.all()


def test_grade_changes_impact_cadence_and_contact_as_in_the_literature():
    """Downhill: larger impact, lower cadence, shorter contact; uphill the reverse, and no impact
    transient at +10 degrees (Gottschall and Kram 2005: absent at +9)."""
    down, level, up = (_ideal_run(grade_deg=g).truth for g in (-10.0, 0.0, 10.0))
    assert down["impact_g"].median() > 1.4 * level["impact_g"].median()
    assert up["impact_g"].median() < level["impact_g"].median() - 0.5
    assert down["cadence_spm"].median() < level["cadence_spm"].median() < up["cadence_spm"].median()
    assert down["contact_time_s"].median() < level["contact_time_s"].median() < up["contact_time_s"].median()
    # uphill at +10 degrees: the same single hump as a forefoot strike on the level
    b = _phase(_ideal_run(grade_deg=10.0))
    rising = (
        b[b["tau"] < 0.45 * b["contact_time_s"]]
        .groupby("step")["acc_is"]
        .apply(lambda s: bool(np.all(np.diff(s.to_numpy()) > 0)))
    )
    assert rising.all()


def test_hill_run_preset():
    cfg = scenarios.hill_run(-5.0, "forefoot", duration_s=10.0, seed=2)
    assert cfg.grade_deg == -5.0 and cfg.running.foot_strike == "forefoot" and cfg.duration_s == 10.0
    assert simulate_run(cfg).truth["activity"].eq("run").all()


@pytest.mark.parametrize("grade", [-10.5, 12.0, float("nan"), "steep", None])
def test_grade_outside_the_model_range_is_refused(grade):
    with pytest.raises(ValueError, match="grade_deg"):
        RunConfig(grade_deg=grade)


def test_grade_accepts_numpy_numbers():
    assert RunConfig(grade_deg=np.int64(-7)).grade_deg == -7


def test_unknown_foot_strike_is_refused():
    with pytest.raises(ValueError, match="foot_strike"):
        RunningModel(foot_strike="heel")  # type: ignore[arg-type]


def test_braking_then_propulsion_with_zero_net_forward_impulse(steady):
    b = _phase(steady)
    tc = b["contact_time_s"]
    brake = b[b["tau"] < 0.5 * tc].groupby("step")["acc_pa"].mean()
    prop = b[(b["tau"] >= 0.5 * tc) & (b["tau"] < tc)].groupby("step")["acc_pa"].mean()
    assert (brake < 0).all() and (prop > 0).all()
    whole = b.groupby("step")["acc_pa"].mean() / G
    assert whole.abs().max() < 0.03  # only the small pelvic pitch projects gravity forward


# --- timing: cadence, contact, flight, asymmetry, fatigue -----------------------------------------


@pytest.mark.parametrize("speed", [2.5, 3.3, 4.5, 5.5])
def test_cadence_contact_and_duty_factor_follow_speed(speed):
    run = simulate_run(scenarios.steady_run(duration_s=30, speed_mps=speed, seed=1))
    tr = run.truth
    cadence = 60.0 / tr["step_time_s"].median()
    assert 150 <= cadence <= 190
    tc = tr["contact_time_s"].median()
    assert 0.18 <= tc <= 0.30
    duty = tc / (2 * tr["step_time_s"].median())
    assert 0.25 <= duty <= 0.42
    assert (tr["flight_time_s"] > 0).all()
    assert tr["speed_mps"].median() == pytest.approx(speed, rel=0.05)


def test_faster_running_has_higher_cadence_and_shorter_contact():
    slow = simulate_run(scenarios.steady_run(duration_s=30, speed_mps=2.8, seed=2)).truth
    fast = simulate_run(scenarios.steady_run(duration_s=30, speed_mps=5.0, seed=2)).truth
    assert fast["cadence_spm"].median() > slow["cadence_spm"].median() + 10
    assert fast["contact_time_s"].median() < slow["contact_time_s"].median() - 0.04


def test_configured_times_and_asymmetries_come_out_per_side(asym):
    tr = asym.truth
    med = tr.groupby("side").median(numeric_only=True)
    assert med.loc["R", "contact_time_s"] / med.loc["L", "contact_time_s"] == pytest.approx(1.06, abs=0.01)
    assert med.loc["R", "step_time_s"] / med.loc["L", "step_time_s"] == pytest.approx(1.04, abs=0.01)
    # Step-time asymmetry keeps the cadence the speed model gives.
    model = RunningModel()
    expected_cadence = model.cadence(tr["speed_mps"].median())
    assert 60 / tr["step_time_s"].mean() == pytest.approx(expected_cadence, rel=0.02)
    assert med.loc["L", "pelvic_drop_deg"] == pytest.approx(8.0, abs=0.2)
    assert med.loc["R", "pelvic_drop_deg"] == pytest.approx(5.0, abs=0.2)
    # Sides alternate within a bout.
    assert (tr["side"].to_numpy()[1:] != tr["side"].to_numpy()[:-1]).all()


def test_exact_values_without_variability():
    cfg = RunConfig(
        duration_s=30,
        variability=Variability.none(),
        running=RunningModel(cadence_spm=170.0, contact_time_s=0.25, impact_g=3.0),
        asymmetry=Asymmetry(right=SideParams(contact_time_factor=1.1, impact_factor=1.2)),
        sensor=IDEAL,
    )
    tr = simulate_run(cfg).truth
    np.testing.assert_allclose(tr["step_time_s"], 60 / 170)
    np.testing.assert_allclose(tr.loc[tr.side == "L", "contact_time_s"], 0.25)
    np.testing.assert_allclose(tr.loc[tr.side == "R", "contact_time_s"], 0.275)
    np.testing.assert_allclose(tr.loc[tr.side == "L", "impact_g"], 3.0, rtol=0.01)
    np.testing.assert_allclose(tr.loc[tr.side == "R", "impact_g"], 3.6, rtol=0.01)
    np.testing.assert_allclose(np.diff(tr["ic_s"]), 60 / 170)


def test_pelvic_drop_in_signal_matches_truth(asym):
    """Per step: obliquity from contact to its extreme, signed for the side, equals pelvic_drop_deg."""
    b = _phase(asym)
    sign = np.where(b["side"] == "L", 1.0, -1.0)
    signed = pd.Series(b["obliquity_deg"].to_numpy() * sign).groupby(b["step"].to_numpy())
    drop = signed.max() - signed.first()
    truth = asym.truth.set_index("step").loc[drop.index, "pelvic_drop_deg"]
    assert np.abs(drop - truth).max() < 0.05


def test_gyroscope_is_the_derivative_of_the_angles():
    """Body rates turned into angle rates (yaw about is, then pitch about ml, then roll about pa) and
    integrated give back the truth angles: the gyroscope and the angles describe one motion."""
    b = simulate_run(scenarios.with_turns(duration_s=90, sensor=IDEAL)).body
    t = b["t_true_s"].to_numpy()
    phi, theta = np.radians(b["obliquity_deg"]), np.radians(b["pitch_deg"])
    w_is, w_ml, w_pa = (b[c].to_numpy() for c in BODY_GYR)
    theta_dot = np.sin(phi) * w_is + np.cos(phi) * w_ml
    psi_dot = (np.cos(phi) * w_is - np.sin(phi) * w_ml) / np.cos(theta)
    phi_dot = w_pa - np.sin(theta) * psi_dot
    yaw = b["rotation_deg"] + b["heading_deg"]
    for rate, angle in ((phi_dot, b["obliquity_deg"]), (theta_dot, b["pitch_deg"]), (psi_dot, yaw)):
        integral = cumulative_trapezoid(rate, t, initial=0.0) + angle.iloc[0]
        assert np.abs(integral - angle).max() < 0.3
    # Roll and yaw rates are, to first order, gyr_pa and gyr_is themselves.
    assert np.abs(cumulative_trapezoid(w_pa, t, initial=0.0) - b["obliquity_deg"]).max() < 1.0


def test_fatigue_drift_increases_drop_and_contact_time():
    cfg = scenarios.fatiguing_run(
        duration_s=600, drop_increase_deg=3.0, contact_time_increase_pct=8.0, seed=4
    )
    tr = simulate_run(cfg).truth
    t = tr["ic_s"].to_numpy()
    drop_slope = np.polyfit(t, tr["pelvic_drop_deg"], 1)[0] * 600
    assert drop_slope == pytest.approx(3.0, abs=0.3)
    # Contact time rises although speed falls 5 % (which alone would lengthen it only ~1 %).
    tc_start = tr.loc[t < 60, "contact_time_s"].median()
    tc_end = tr.loc[t > 540, "contact_time_s"].median()
    assert tc_end / tc_start > 1.06
    assert tr.loc[t > 540, "speed_mps"].median() < tr.loc[t < 60, "speed_mps"].median()


def test_speed_drift_and_variation():
    cfg = scenarios.steady_run(duration_s=300, speed_drift_pct=-10.0, seed=8)
    tr = simulate_run(cfg).truth
    assert tr["speed_mps"].iloc[-50:].mean() < tr["speed_mps"].iloc[:50].mean() * 0.95
    cv = tr["step_time_s"].std() / tr["step_time_s"].mean()
    assert 0.01 < cv < 0.05


# --- bouts: standing, walking, turns --------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed() -> SimulatedRun:
    return simulate_run(scenarios.walk_run_walk(walk_s=20, run_s=40, stand_s=5, seed=2))


def test_bouts_follow_the_segments(mixed):
    bouts = mixed.bouts
    assert list(bouts["activity"]) == ["stand", "walk", "run", "walk", "stand"]
    assert bouts["start_s"].iloc[0] == 0.0
    np.testing.assert_allclose(bouts["start_s"].iloc[1:].to_numpy(), bouts["end_s"].iloc[:-1].to_numpy())
    assert bouts["end_s"].iloc[-1] == pytest.approx(mixed.duration_s)
    np.testing.assert_allclose(bouts["end_s"] - bouts["start_s"], [5, 20, 40, 20, 5], atol=0.6)
    tr = mixed.truth
    for i, row in bouts.iterrows():
        steps = tr[tr["bout"] == i]
        if row["activity"] == "stand":
            assert steps.empty
        else:
            assert (steps["activity"] == row["activity"]).all()
            assert steps["ic_s"].min() >= row["start_s"] - 1e-9
            assert (steps["ic_s"] + steps["step_time_s"]).max() <= row["end_s"] + 1e-9


def test_standing_reads_one_g_and_no_rotation(mixed):
    still = mixed.bouts[mixed.bouts["activity"] == "stand"]
    b = mixed.body
    t = b["t_true_s"]
    for _, row in still.iterrows():
        m = (t >= row["start_s"] + 0.01) & (t < row["end_s"] - 0.01)
        np.testing.assert_allclose(b.loc[m, "acc_is"], G)
        assert np.abs(b.loc[m, ["acc_ml", "acc_pa", *BODY_GYR]].to_numpy()).max() < 1e-9
        # What the sensor records there: 1 g up to bias, noise and counts; gyro near 0.
        body = sensor_to_body(mixed.data.loc[m, list(SENSOR_ACC)].to_numpy(), mixed.r_body_from_sensor)
        assert np.abs(body.mean(axis=0) - [G, 0, 0]).max() < 0.25
        gyr = mixed.data.loc[m, list(SENSOR_GYR)].to_numpy()
        assert np.abs(gyr.mean(axis=0)).max() < 1.5 and gyr.std(axis=0).max() < 0.3


def test_walking_has_double_support_modest_peaks_and_walking_cadence(mixed):
    walk = mixed.truth[mixed.truth["activity"] == "walk"]
    steady_walk = walk[walk["ic_s"] > walk.groupby("bout")["ic_s"].transform("min") + 4]
    assert 100 <= steady_walk["cadence_spm"].median() <= 120
    assert (walk["double_support_s"] > 0).all() and (walk["flight_time_s"] == 0).all()
    assert steady_walk["impact_g"].between(1.1, 1.35).all()
    b = _phase(mixed)
    wb = b[b["activity"] == "walk"]
    assert wb["acc_is"].min() > 0.5 * G  # never airborne
    per_step = wb.groupby("step")["acc_is"].mean() / G
    assert per_step.between(0.98, 1.02).all()


def test_turns_show_in_yaw_rate_and_heading():
    cfg = scenarios.with_turns(sensor=IDEAL)
    run = simulate_run(cfg)
    b = run.body
    t = b["t_true_s"]
    left = (t >= 20) & (t < 50)
    uturn = (t >= 70) & (t < 76)
    assert b.loc[left, "gyr_is"].mean() > 2.0
    assert b.loc[uturn, "gyr_is"].mean() < -20.0
    assert b["heading_deg"].iloc[-1] == pytest.approx(-90.0, abs=0.1)
    # The runner leans into the U-turn (to the right: right side lower, positive obliquity) ...
    assert b.loc[(t >= 72) & (t < 74), "obliquity_deg"].mean() > 10
    # ... so the centripetal force hardly shows as body-frame sideways acceleration on average.
    assert abs(b.loc[uturn, "acc_ml"].mean()) < 0.05 * G


# --- mounting ------------------------------------------------------------------------------------


MOUNTINGS = [
    Mounting(),
    Mounting(tilt_deg=30.0),
    Mounting(position="left"),
    Mounting(position="right", tilt_deg=-15.0),
    Mounting(upside_down="pa"),
    Mounting(upside_down="ml", roll_deg=10.0),
    Mounting(r_body_from_sensor=np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])),
]


@pytest.mark.parametrize("mounting", MOUNTINGS, ids=lambda m: f"{m.hint()}-{m.tilt_deg:g}-{m.roll_deg:g}")
def test_mounting_is_a_rotation_and_data_rotate_back_to_body(mounting):
    r = mounting.matrix()
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)
    run = simulate_run(scenarios.steady_run(duration_s=10, sensor=IDEAL, mounting=mounting))
    np.testing.assert_array_equal(run.r_body_from_sensor, r)
    acc = sensor_to_body(run.data[list(SENSOR_ACC)].to_numpy(), r)
    gyr = sensor_to_body(run.data[list(SENSOR_GYR)].to_numpy(), r)
    half_lsb = np.sqrt(3) * 0.5
    assert np.abs(acc - run.body[list(BODY_ACC)].to_numpy()).max() <= half_lsb * run.acc_scale_ms2 + 1e-9
    assert np.abs(gyr - run.body[list(BODY_GYR)].to_numpy()).max() <= half_lsb * run.gyr_scale_dps + 1e-9


def test_named_mountings_point_the_sensor_as_described():
    np.testing.assert_array_equal(Mounting().matrix(), R_BODY_FROM_SENSOR_DEFAULT)
    # Columns are the sensor axes in body coordinates: z points out of the body.
    np.testing.assert_allclose(Mounting().matrix()[:, 2], [0, 0, -1], atol=1e-12)  # out of the back
    np.testing.assert_allclose(Mounting(position="left").matrix()[:, 2], [0, -1, 0], atol=1e-12)
    np.testing.assert_allclose(Mounting(position="right").matrix()[:, 2], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(Mounting(upside_down="pa").matrix()[:, 0], [-1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(Mounting(upside_down="ml").matrix()[:, 0], [-1, 0, 0], atol=1e-12)
    tilted = Mounting(tilt_deg=30).matrix()
    assert np.degrees(np.arccos(tilted[0, 0])) == pytest.approx(30.0)
    with pytest.raises(ValueError):
        Mounting(r_body_from_sensor=np.diag([1.0, 1.0, -1.0])).matrix()  # a reflection


def test_clip_wobble_adds_zero_net_impulse_oscillation_to_the_sensor_only():
    base = scenarios.steady_run(duration_s=20, sensor=IDEAL, seed=1)
    rigid = simulate_run(base)
    wobbly = simulate_run(dataclasses.replace(base, mounting=Mounting(wobble_g=1.0)))
    pd.testing.assert_frame_equal(rigid.body, wobbly.body)
    diff = wobbly.data["acc_x"] - rigid.data["acc_x"]
    assert diff.abs().max() > 0.5 * G
    assert abs(diff.mean()) < 0.01


# --- sensor model --------------------------------------------------------------------------------


def test_data_are_exactly_counts_times_scale_and_int16():
    run = simulate_run(duration_s=10, seed=2)
    assert run.counts.dtype == np.int16 and run.counts.shape == (len(run.data), 6)
    assert run.channels == SENSOR_COLUMNS
    assert list(run.data.columns) == ["t_s", *SENSOR_COLUMNS]
    assert run.acc_scale_ms2 == pytest.approx(ACC_LSB_MG[16] * 1e-3 * G)
    assert run.gyr_scale_dps == pytest.approx(GYR_LSB_MDPS[2000] * 1e-3)
    np.testing.assert_array_equal(
        run.data[list(SENSOR_ACC)].to_numpy(), run.counts[:, :3] * run.acc_scale_ms2
    )
    np.testing.assert_array_equal(
        run.data[list(SENSOR_GYR)].to_numpy(), run.counts[:, 3:] * run.gyr_scale_dps
    )


def test_noise_bias_and_scale_errors_are_applied():
    sensor = SensorModel(acc_bias_ms2=(0.3, -0.2, 0.1), gyr_bias_dps=(1.0, -2.0, 0.5), acc_noise_ms2=0.05)
    run = simulate_run(duration_s=20, seed=2, sensor=sensor)
    ideal = simulate_run(duration_s=20, seed=2, sensor=IDEAL)
    d_acc = run.data[list(SENSOR_ACC)].to_numpy() - ideal.data[list(SENSOR_ACC)].to_numpy()
    d_gyr = run.data[list(SENSOR_GYR)].to_numpy() - ideal.data[list(SENSOR_GYR)].to_numpy()
    # Drawn scale errors (sd 0.3 %) on signals of up to 3 g leave the mean near the bias.
    np.testing.assert_allclose(d_acc.mean(axis=0), [0.3, -0.2, 0.1], atol=0.06)
    np.testing.assert_allclose(d_gyr.mean(axis=0), [1.0, -2.0, 0.5], atol=0.05)
    assert 0.04 < d_acc[:, 1].std() < 0.07
    np.testing.assert_array_equal(run.sensor_errors.acc_bias_ms2, [0.3, -0.2, 0.1])
    assert np.all(run.sensor_errors.acc_scale_error != 0)


def test_clipping_at_full_scale():
    hard = RunningModel(impact_g=20.0, impact_peak_s=0.01)
    run = simulate_run(duration_s=10, seed=1, running=hard, sensor=IDEAL)
    assert run.truth["impact_g"].median() > 17
    assert run.counts[:, 0].max() == 32767  # +16 g is just past the int16 range at 0.488 mg/LSB
    assert run.data["acc_x"].max() <= 16 * G
    low = simulate_run(
        duration_s=10,
        seed=1,
        sensor=SensorModel.ideal(acc_range_g=2, gyr_range_dps=125),
        turns=(Turn(2.0, 1.0, 180.0),),
    )
    full_acc = min(32767, round(2 * G / low.acc_scale_ms2))
    full_gyr = round(125 / low.gyr_scale_dps)
    assert low.counts[:, 0].max() == full_acc and (low.counts[:, 0] == full_acc).sum() > 10
    assert np.abs(low.counts[:, 3:]).max() == full_gyr
    assert np.abs(low.data[list(SENSOR_GYR)].to_numpy()).max() == pytest.approx(125.0, abs=low.gyr_scale_dps)


def test_dropped_samples_leave_jumps_in_sample_index():
    full = simulate_run(duration_s=60, seed=3)
    run = simulate_run(duration_s=60, seed=3, sensor=SensorModel(drops=((1000, 5), (5000, 1))))
    idx = run.sample_index
    assert idx.dtype == np.int64 and np.all(np.diff(idx) >= 1)
    np.testing.assert_array_equal(np.flatnonzero(np.diff(idx) > 1), [999, 5000 - 5 - 1])
    assert not np.isin([1000, 1001, 1002, 1003, 1004, 5000], idx).any()
    assert np.isin([999, 1005, 4999, 5001], idx).all()
    assert len(run.data) == len(run.counts) == len(run.body) == len(full.data) - 6
    np.testing.assert_allclose(run.data["t_s"], idx / run.sample_rate_hz)
    # The samples that remain are those of the run without drops (same seed: same noise).
    np.testing.assert_array_equal(run.counts, full.counts[idx])
    # Truth rows point at the first sample at or after each event.
    tr = run.truth
    np.testing.assert_array_equal(tr["ic_row"], np.searchsorted(idx, tr["ic_index"]))
    np.testing.assert_array_equal(tr["ic_index"], full.truth["ic_index"])

    random = simulate_run(duration_s=120, seed=3, sensor=SensorModel(drops_per_min=5.0, drop_max_samples=8))
    gaps = np.diff(random.sample_index) - 1
    assert 3 <= (gaps > 0).sum() <= 20 and gaps.max() <= 16


def test_sample_rate_error_truth_times_versus_nominal():
    sensor = SensorModel.ideal(clock_error_pct=0.5)
    run = simulate_run(duration_s=60, seed=1, sensor=sensor)
    assert run.sample_rate_hz == 208.0
    assert run.true_sample_rate_hz == pytest.approx(208.0 * 1.005)
    assert len(run.data) == pytest.approx(60 * 208 * 1.005, abs=1)
    assert run.data["t_s"].iloc[-1] == pytest.approx(60 * 1.005, abs=0.01)  # device time runs ahead
    tr = run.truth
    np.testing.assert_allclose(tr["ic_index"] / run.true_sample_rate_hz, tr["ic_s"], atol=0.5 / 209)
    device_step = np.diff(tr["ic_index"]) / run.sample_rate_hz
    assert np.median(device_step / tr["step_time_s"].to_numpy()[:-1]) == pytest.approx(1.005, abs=0.002)
    np.testing.assert_allclose(run.body["t_true_s"], run.sample_index / run.true_sample_rate_hz)


def test_accelerometer_only_has_three_channels():
    run = simulate_run(duration_s=10, seed=1, sensor=SensorModel(accel_only=True))
    assert run.counts.shape[1] == 3 and run.channels == SENSOR_ACC
    assert list(run.data.columns) == ["t_s", *SENSOR_ACC]


def test_determinism_with_a_seed_and_independent_streams():
    cfg = scenarios.walk_run_walk(walk_s=10, run_s=20, stand_s=2, seed=11)
    a, b = simulate_run(cfg), simulate_run(cfg)
    np.testing.assert_array_equal(a.counts, b.counts)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    c = simulate_run(cfg, seed=12)
    assert not c.truth["step_time_s"].equals(a.truth["step_time_s"])
    # Another sensor leaves the gait, hence the truth, unchanged.
    d = simulate_run(cfg, sensor=SensorModel(acc_noise_ms2=0.2, drops_per_min=3.0))
    pd.testing.assert_frame_equal(
        a.truth.drop(columns=["ic_row", "to_row"]), d.truth.drop(columns=["ic_row", "to_row"])
    )


def test_write_csv_round_trips(tmp_path):
    run = simulate_run(duration_s=5, seed=1)
    path = run.write_csv(tmp_path / "run.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == ["t_s", *SENSOR_COLUMNS]
    np.testing.assert_array_equal(back.to_numpy(), run.data.to_numpy())


@pytest.mark.parametrize("accel_only", [False, True])
def test_write_device_file_round_trips(tmp_path, accel_only):
    sensor = SensorModel(drops=((100, 3), (700, 1)), clock_error_pct=0.5, accel_only=accel_only)
    run = simulate_run(duration_s=8, seed=1, sensor=sensor, mounting=Mounting(position="left"))
    path = run.write_device_file(tmp_path / "run.hsn")
    session = read_device_file(path)
    np.testing.assert_array_equal(session.counts, run.counts)
    np.testing.assert_array_equal(session.sample_index, run.sample_index)
    h = session.header
    assert h.channels == len(run.channels) and h.sample_rate_hz == run.sample_rate_hz
    assert h.acc_scale_ms2 == pytest.approx(run.acc_scale_ms2, rel=1e-6)
    assert h.mounting == "side-left" and h.session_id == 1
    assert session.report.gaps == [(100, 3), (700, 1)]
    assert session.report.overflow_lost == 4


# --- the public API ------------------------------------------------------------------------------


def test_simulate_run_accepts_overrides_and_a_mutable_config():
    run = simulate_run(duration_s=12, speed_mps=4.0, seed=1)
    assert run.config.duration_s == 12 and run.duration_s == pytest.approx(12)
    cfg = demo_config()
    cfg.duration_s = 120  # the CLI sets fields on the demo config
    run = simulate_run(cfg)
    assert run.duration_s == pytest.approx(120)
    assert list(run.bouts["activity"]) == ["stand", "run", "walk"]
    cfg.duration_s = 20  # shorter than the demo's standing + walking: those shrink to fit
    run = simulate_run(cfg)
    np.testing.assert_allclose(run.bouts["end_s"] - run.bouts["start_s"], [1.25, 15.0, 3.75], atol=0.4)
    with pytest.raises(ValueError):
        simulate_run(segments=(Segment("run"), Segment("walk")))
    with pytest.raises(ValueError):
        simulate_run(segments=(Segment("jog", 10.0),))


def test_stated_segments_keep_their_lengths_when_the_session_length_is_given_too():
    # Every segment has a length and so has the session: the last one alone fills the session. The
    # half-session shrinking is for an open segment (the demo's); it once made 5/25/10 s into 1.7/8.2/30.2.
    run = simulate_run(
        scenarios.steady_run(
            40.0, seed=1, segments=(Segment("stand", 5.0), Segment("run", 25.0), Segment("walk", 10.0))
        )
    )
    np.testing.assert_allclose(run.bouts["end_s"] - run.bouts["start_s"], [5.0, 25.0, 10.0], atol=0.4)
    assert (run.truth["activity"] == "run").sum() > 60  # about 25 s at 165 steps/min
    run = simulate_run(
        scenarios.steady_run(60.0, seed=1, segments=(Segment("stand", 5.0), Segment("run", 25.0)))
    )
    np.testing.assert_allclose(run.bouts["end_s"] - run.bouts["start_s"], [5.0, 55.0], atol=0.4)
    with pytest.raises(ValueError, match="nothing is left for the last one"):
        simulate_run(scenarios.steady_run(20.0, segments=(Segment("stand", 20.0), Segment("run", 5.0))))


def test_demo_config_injects_the_documented_asymmetry():
    run = simulate_run(demo_config())
    assert run.duration_s == pytest.approx(600)
    assert list(run.bouts["activity"]) == ["stand", "run", "walk"]
    tr = run.truth[run.truth["activity"] == "run"]
    med = tr.groupby("side").median(numeric_only=True)
    assert med.loc["R", "contact_time_s"] / med.loc["L", "contact_time_s"] == pytest.approx(1.06, abs=0.01)
    assert med.loc["R", "impact_g"] / med.loc["L", "impact_g"] == pytest.approx(1.10, abs=0.02)
    assert med.loc["L", "pelvic_drop_deg"] == pytest.approx(8.75, abs=0.3)  # 8 + half the 1.5 drift
    assert med.loc["R", "pelvic_drop_deg"] == pytest.approx(5.75, abs=0.3)
    assert (
        np.polyfit(
            tr["ic_s"], tr["pelvic_drop_deg"] - tr.groupby("side")["pelvic_drop_deg"].transform("mean"), 1
        )[0]
        > 0
    )
    assert 3.0 < tr["speed_mps"].median() < 3.4


def test_losing_samples_removes_exactly_those_rows() -> None:
    run = simulate_run(scenarios.steady_run(duration_s=10, seed=3))
    cut = run.losing((0.5, 10), (0.9, 1))
    n = len(run.sample_index)
    assert len(cut.sample_index) == len(cut.counts) == len(cut.data) == len(cut.body) == n - 11
    jumps = np.flatnonzero(np.diff(cut.sample_index) > 1)
    assert np.diff(cut.sample_index)[jumps].tolist() == [11, 2]
    assert cut.sample_index[jumps[0]] == run.sample_index[n // 2 - 1]
    np.testing.assert_array_equal(
        cut.data["t_s"].to_numpy(), run.data["t_s"].to_numpy()[cut.sample_index - run.sample_index[0]]
    )
