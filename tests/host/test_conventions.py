"""The conventions contract: frame math, and one test per row of ``SIGN_TABLE`` on simulated running.

Each sign rule is checked on what the clip records (sensor-frame counts with noise and bias, rotated
into the body frame with the known mounting), over many steps, per side, in two sessions: a symmetric
run worn at the back, and the demo's asymmetric run (8 degree drop in left stance) worn tilted on the
left hip. The angles (obliquity, pelvic drop) come from the simulator's truth, with their gyroscope
counterparts checked on the recorded data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from hipsense.conventions import (
    BODY_ACC,
    BODY_COLUMNS,
    BODY_GYR,
    OBLIQUITY,
    PELVIC_DROP,
    R_BODY_FROM_SENSOR_DEFAULT,
    ROTATION,
    SENSOR_ACC,
    SENSOR_GYR,
    SIGN_TABLE,
    G,
    SignRule,
    body_to_sensor,
    file_name_part,
    sensor_to_body,
)
from hipsense.sim import Mounting, Segment, Turn, demo_config, scenarios, simulate_run

# --- frame math ----------------------------------------------------------------------------------


def test_body_frame_is_right_handed():
    e_is, e_ml, e_pa = np.eye(3)
    np.testing.assert_array_equal(np.cross(e_is, e_ml), e_pa)
    # The default mounting's rows are the body axes in sensor coordinates: is x ml = pa there too,
    # so a right-handed sensor maps onto a right-handed body frame (a proper rotation).
    r = R_BODY_FROM_SENSOR_DEFAULT
    np.testing.assert_allclose(np.cross(r[0], r[1]), r[2])
    np.testing.assert_allclose(r @ r.T, np.eye(3))
    assert np.linalg.det(r) == pytest.approx(1.0)


def test_default_mounting_axis_mapping():
    sensor = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(sensor_to_body(sensor), [[1.0, -2.0, -3.0]])  # is=x, ml=-y, pa=-z
    # Standing upright, still: +1 g on is, which is +x on the sensor worn as designed.
    np.testing.assert_array_equal(body_to_sensor(np.array([[G, 0.0, 0.0]])), [[G, 0.0, 0.0]])


@pytest.mark.parametrize("seed", range(5))
def test_sensor_to_body_and_back_round_trip(seed):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    r = q * np.sign(np.linalg.det(q))  # a random proper rotation
    v = rng.normal(size=(50, 3))
    np.testing.assert_allclose(body_to_sensor(sensor_to_body(v, r), r), v, atol=1e-12)
    np.testing.assert_allclose(sensor_to_body(body_to_sensor(v, r), r), v, atol=1e-12)
    # body = R @ sensor for each row vector
    np.testing.assert_allclose(sensor_to_body(v, r), (r @ v.T).T, atol=1e-12)
    # Rotations keep lengths and the handedness of cross products.
    a, b = v[:25], v[25:]
    np.testing.assert_allclose(
        sensor_to_body(np.cross(a, b), r), np.cross(sensor_to_body(a, r), sensor_to_body(b, r)), atol=1e-12
    )


def test_column_names_carry_the_frame():
    assert BODY_COLUMNS == BODY_ACC + BODY_GYR == ("acc_is", "acc_ml", "acc_pa", "gyr_is", "gyr_ml", "gyr_pa")
    assert SENSOR_ACC + SENSOR_GYR == ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")


# --- the sign table on simulated running ---------------------------------------------------------


@dataclass
class Session:
    """A simulated session, its recorded data in the body frame and each sample's gait phase."""

    name: str
    run: object
    measured: pd.DataFrame  # body-frame columns from the recorded sensor data
    phase: pd.DataFrame  # per row: step, side, tau (s since contact), contact_time_s, drop_peak_s, ...
    turns: tuple[Turn, ...]

    def steps(self, side: str | None = None, *, away_from_turns: bool = True) -> pd.DataFrame:
        tr = self.run.truth
        tr = tr[tr["activity"] == "run"]
        if side is not None:
            tr = tr[tr["side"] == side]
        if away_from_turns:
            for turn in self.turns:
                near = (tr["ic_s"] > turn.start_s - 2) & (tr["ic_s"] < turn.start_s + turn.duration_s + 2)
                tr = tr[~near]
        return tr

    def window_means(self, column: str, side: str, start, end, *, source: str = "measured") -> pd.Series:
        """Mean of ``column`` per running step of ``side`` over ``start <= tau < end``.

        ``start``/``end`` are functions of the phase frame giving seconds since contact.
        """
        p = self.phase
        frame = self.measured if source == "measured" else self.run.body
        keep = p["step"].isin(self.steps(side)["step"]) & (p["tau"] >= start(p)) & (p["tau"] < end(p))
        return frame.loc[keep.to_numpy(), column].groupby(p.loc[keep, "step"].to_numpy()).mean()


def _session(name: str, cfg) -> Session:
    run = simulate_run(cfg)
    measured = pd.DataFrame(
        np.hstack(
            [
                sensor_to_body(run.data[list(SENSOR_ACC)].to_numpy(), run.r_body_from_sensor),
                sensor_to_body(run.data[list(SENSOR_GYR)].to_numpy(), run.r_body_from_sensor),
            ]
        ),
        columns=list(BODY_COLUMNS),
    )
    tr = run.truth.set_index("step")
    step = run.body["step"].to_numpy()
    k = np.where(step >= 0, step, tr.index[0])
    phase = pd.DataFrame(
        {
            "step": step,
            "tau": run.body["t_true_s"].to_numpy() - tr.loc[k, "ic_s"].to_numpy(),
            "contact_time_s": tr.loc[k, "contact_time_s"].to_numpy(),
            "drop_peak_s": tr.loc[k, "drop_peak_s"].to_numpy(),
        }
    )
    phase.loc[step < 0, "tau"] = np.nan
    return Session(name, run, measured, phase, cfg.turns)


@pytest.fixture(scope="module", params=["symmetric-back", "demo-left-hip-tilted"])
def session(request) -> Session:
    if request.param == "symmetric-back":
        cfg = scenarios.steady_run(
            duration_s=150,
            seed=7,
            segments=(Segment("stand", 10.0), Segment("run", None)),
            turns=(Turn(60.0, 20.0, 90.0),),
        )
    else:
        cfg = demo_config(
            mounting=Mounting(position="left", tilt_deg=20.0),
            turns=(Turn(300.0, 8.0, 180.0),),
        )
    return _session(request.param, cfg)


def _standing(s: Session, rule: SignRule) -> None:
    b = s.run.bouts
    t = s.run.body["t_true_s"]
    for _, row in b[b["activity"] == "stand"].iterrows():
        m = ((t >= row["start_s"] + 0.05) & (t < row["end_s"] - 0.05)).to_numpy()
        value = s.measured.loc[m, rule.quantity]
        assert np.sign(value.mean()) == rule.sign
        assert value.mean() / G == pytest.approx(1.0, abs=0.03)  # "reads +1 g"
        assert (np.sign(value) == rule.sign).all()


def _flight(s: Session, rule: SignRule) -> None:
    assert rule.sign == 0
    for side in "LR":
        # Flight: from toe-off to the next contact, with one sample of margin at each end.
        flight = s.window_means(
            rule.quantity, side, lambda p: p["contact_time_s"] + 0.005, lambda p: np.full(len(p), np.inf)
        )
        assert len(flight) > 50
        assert (flight.abs() / G < 0.1).all()
        assert abs(flight.mean()) / G < 0.03


def _impact(s: Session, rule: SignRule) -> None:
    p = s.phase
    for side in "LR":
        keep = p["step"].isin(s.steps(side)["step"]) & (p["tau"] < 0.05)
        peaks = (
            s.measured.loc[keep.to_numpy(), rule.quantity].groupby(p.loc[keep, "step"].to_numpy()).max() / G
        )
        assert len(peaks) > 50
        assert np.sign(peaks.median()) == rule.sign
        assert (peaks > 1.8).mean() > 0.95  # "well above 1 g"


def _stance_half(first: bool):
    def check(s: Session, rule: SignRule) -> None:
        for side in "LR":
            if first:  # braking: the first quarter (on the motion capture it ends near 30 % of stance)
                means = s.window_means(
                    rule.quantity, side, lambda p: 0.0, lambda p: 0.25 * p["contact_time_s"]
                )
            else:
                means = s.window_means(
                    rule.quantity, side, lambda p: 0.5 * p["contact_time_s"], lambda p: p["contact_time_s"]
                )
            assert len(means) > 50
            assert np.sign(means.mean()) == rule.sign
            assert (np.sign(means) == rule.sign).mean() > 0.95

    return check


def _side_of(rule: SignRule) -> str:
    return "L" if rule.movement.startswith("left-foot") else "R"


def _loading_rate(s: Session, rule: SignRule) -> None:
    means = s.window_means(rule.quantity, _side_of(rule), lambda p: 0.0, lambda p: p["drop_peak_s"])
    assert len(means) > 50
    assert np.sign(means.mean()) == rule.sign
    assert (np.sign(means) == rule.sign).mean() > 0.95


def _obliquity_end_of_loading(s: Session, rule: SignRule) -> None:
    assert rule.quantity == OBLIQUITY
    side = _side_of(rule)
    steps = s.steps(side)
    body = s.run.body
    t = body["t_true_s"].to_numpy()
    at_end = np.interp(steps["ic_s"] + steps["drop_peak_s"], t, body[OBLIQUITY].to_numpy())
    assert np.sign(np.mean(at_end)) == rule.sign
    assert (np.sign(at_end) == rule.sign).mean() > 0.95
    # The recorded gyr_pa, integrated over the loading phase, moves the obliquity the same way.
    rates = s.window_means("gyr_pa", side, lambda p: 0.0, lambda p: p["drop_peak_s"])
    change = rates * steps.set_index("step").loc[rates.index, "drop_peak_s"]
    assert (np.sign(change) == rule.sign).mean() > 0.95


def _pelvic_drop(s: Session, rule: SignRule) -> None:
    assert rule.quantity == PELVIC_DROP
    for side in "LR":
        steps = s.steps(side, away_from_turns=False)
        assert (np.sign(steps[rule.quantity]) == rule.sign).all()
        # From the recorded gyroscope: the swing side's fall over the loading phase, signed per side.
        rates = s.window_means("gyr_pa", side, lambda p: 0.0, lambda p: p["drop_peak_s"])
        drop = rates * steps.set_index("step").loc[rates.index, "drop_peak_s"] * (1 if side == "L" else -1)
        assert (np.sign(drop) == rule.sign).mean() > 0.95
        truth = steps.set_index("step").loc[drop.index, rule.quantity]
        assert np.median(drop / truth) == pytest.approx(1.0, abs=0.1)


def _over_stance(s: Session, rule: SignRule) -> None:
    means = s.window_means(rule.quantity, _side_of(rule), lambda p: 0.0, lambda p: p["contact_time_s"])
    assert len(means) > 50
    assert np.sign(means.mean()) == rule.sign
    assert (np.sign(means) == rule.sign).mean() > 0.95
    if rule.quantity == "gyr_is":  # the truth angle agrees: rotation rises in left stance
        start = s.window_means(ROTATION, _side_of(rule), lambda p: 0.0, lambda p: 0.02, source="body")
        end = s.window_means(
            ROTATION,
            _side_of(rule),
            lambda p: p["contact_time_s"] - 0.02,
            lambda p: p["contact_time_s"],
            source="body",
        )
        assert (np.sign(end - start.loc[end.index]) == rule.sign).mean() > 0.95


def _mid_stance(s: Session, rule: SignRule) -> None:
    means = s.window_means(
        rule.quantity,
        _side_of(rule),
        lambda p: 0.3 * p["contact_time_s"],
        lambda p: 0.7 * p["contact_time_s"],
    )
    assert len(means) > 50
    assert np.sign(means.mean()) == rule.sign
    assert (np.sign(means) == rule.sign).mean() > 0.9


def _turning_left(s: Session, rule: SignRule) -> None:
    t = s.run.body["t_true_s"]
    lefts = [turn for turn in s.turns if turn.angle_deg > 0]
    assert lefts
    for turn in lefts:
        m = ((t >= turn.start_s) & (t < turn.start_s + turn.duration_s)).to_numpy()
        assert np.sign(s.measured.loc[m, rule.quantity].mean()) == rule.sign
    # ... and not because of the stride: away from turns the mean yaw rate is about zero.
    quiet = ((t > 20) & (t < 50)).to_numpy()
    assert abs(s.measured.loc[quiet, rule.quantity].mean()) < 1.0


CHECKS: dict[tuple[str, str], Callable[[Session, SignRule], None]] = {
    ("standing upright, still", "acc_is"): _standing,
    ("flight phase of running", "acc_is"): _flight,
    ("impact after initial contact", "acc_is"): _impact,
    ("braking after initial contact", "acc_pa"): _stance_half(first=True),
    ("propulsion before toe-off", "acc_pa"): _stance_half(first=False),
    ("left-foot stance, right hip drops", "gyr_pa"): _loading_rate,
    ("left-foot stance, right hip drops", OBLIQUITY): _obliquity_end_of_loading,
    ("right-foot stance, left hip drops", "gyr_pa"): _loading_rate,
    ("right-foot stance, left hip drops", OBLIQUITY): _obliquity_end_of_loading,
    ("either stance with contralateral drop", PELVIC_DROP): _pelvic_drop,
    ("left-foot stance, right hip swings forward", "gyr_is"): _over_stance,
    ("right-foot stance, left hip swings forward", "gyr_is"): _over_stance,
    ("left-foot stance, stance force tilted with the dropped right side", "acc_ml"): _mid_stance,
    ("right-foot stance, stance force tilted with the dropped left side", "acc_ml"): _mid_stance,
    ("turning left while running", "gyr_is"): _turning_left,
}


def test_every_sign_rule_has_a_check():
    assert set(CHECKS) == {(r.movement, r.quantity) for r in SIGN_TABLE}


@pytest.mark.parametrize("rule", SIGN_TABLE, ids=[f"{r.quantity}:{r.movement}" for r in SIGN_TABLE])
def test_sign_rule(rule: SignRule, session: Session):
    CHECKS[(rule.movement, rule.quantity)](session, rule)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("ana", "ana"), ("Anna Maria", "Anna_Maria"), ("../etc/x", ".._etc_x"), ("Zoë", "Zo_"), ("", "clip")],
)
def test_file_name_part(name, expected):
    """One rule for names in file names (sync's device ids, batch's partitions, report names)."""
    assert file_name_part(name, "clip") == expected
