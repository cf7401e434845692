"""Per-step metrics on constructed signals whose answers are known exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense import metrics as registry
from hipsense.conventions import G
from hipsense.gait.metrics import StepContext

FS = 200.0
STEP_S = 0.4  # 150 steps/min
CONTACT_S = 0.24
N_STEPS = 40


def _signals(
    *,
    impact_g=(3.0, 3.0),
    drop_deg=(6.0, 6.0),
    rotation_deg=8.0,
    braking_g=0.4,
    osc_amplitude_m=0.0,
):
    """Running-like body-frame signals with exactly known per-step values.

    Steps alternate L, R starting with L; each stance is a half sine of vertical force peaking at the
    side's impact, flight reads 0 g; obliquity rises by +drop (L) / falls by drop (R) over the first
    half of the step and returns; yaw swings by +-rotation/2 between contacts.
    """
    n = int(N_STEPS * STEP_S * FS)
    t = np.arange(n) / FS
    k = np.minimum((t // STEP_S).astype(int), N_STEPS - 1)
    tau = t - k * STEP_S
    side = np.where(k % 2 == 0, 1.0, -1.0)  # +1 for left steps
    stance = tau < CONTACT_S
    amp = np.where(side > 0, impact_g[0], impact_g[1])
    acc_is = np.where(stance, amp * np.sin(np.pi * tau / CONTACT_S), 0.0) * G
    if osc_amplitude_m:
        # Add a pure vertical sinusoid at the step frequency: known height range 2 * amplitude.
        w = 2 * np.pi / STEP_S
        acc_is = acc_is - osc_amplitude_m * w**2 * np.cos(w * t)
    acc_pa = np.where(stance, -braking_g * np.sin(2 * np.pi * tau / CONTACT_S), 0.0) * G
    d = np.where(side > 0, drop_deg[0], drop_deg[1])
    bump_rate = d * (np.pi / STEP_S) * np.sin(2 * np.pi * tau / STEP_S)  # obliquity 0 -> d -> 0 over a step
    gyr_pa = side * bump_rate
    gyr_is = side * rotation_deg * (np.pi / (2 * STEP_S)) * np.sin(np.pi * tau / STEP_S)
    body = pd.DataFrame({"acc_is": acc_is, "acc_pa": acc_pa, "gyr_is": gyr_is, "gyr_pa": gyr_pa})
    ic = np.arange(N_STEPS) * STEP_S * FS
    to = ic + CONTACT_S * FS
    sides = np.where(np.arange(N_STEPS) % 2 == 0, "L", "R")
    return body, ic, to, sides


def _metrics(body, ic, to, sides):
    ctx = StepContext(body, ic, to, sides, np.zeros(len(ic), int), sampling_rate_hz=FS)
    return registry.step_table(ctx)


def test_columns_are_the_contract():
    body, ic, to, sides = _signals()
    assert tuple(_metrics(body, ic, to, sides).columns) == registry.step_columns()
    assert registry.step_columns()[:5] == ("bout", "activity", "side", "ic_s", "to_s")


def test_timing_metrics():
    body, ic, to, sides = _signals()
    m = _metrics(body, ic, to, sides).iloc[:-1]
    np.testing.assert_allclose(m["step_time_s"], STEP_S)
    np.testing.assert_allclose(m["contact_time_s"], CONTACT_S)
    np.testing.assert_allclose(m["flight_time_s"], STEP_S - CONTACT_S)
    np.testing.assert_allclose(m["cadence_spm"], 60 / STEP_S)


def test_impact_per_side_and_loading_rate():
    body, ic, to, sides = _signals(impact_g=(2.5, 3.5))
    m = _metrics(body, ic, to, sides)
    # The half-sine rises for 120 ms; within the 60 ms window its peak is at 60 ms: amp * sin(pi/4).
    expected = {"L": 2.5 * np.sin(np.pi / 4), "R": 3.5 * np.sin(np.pi / 4)}
    for s, value in expected.items():
        np.testing.assert_allclose(m.loc[m["side"] == s, "impact_g"], value, rtol=2e-3)
    np.testing.assert_allclose(
        m.loc[m["side"] == "L", "loading_rate_g_per_s"], expected["L"] / 0.06, rtol=0.02
    )


def test_braking_is_the_peak_deceleration():
    body, ic, to, sides = _signals(braking_g=0.5)
    m = _metrics(body, ic, to, sides)
    np.testing.assert_allclose(m["braking_g"].iloc[2:-2], 0.5, rtol=0.03)


@pytest.mark.parametrize("drops", [(6.0, 6.0), (8.0, 4.0), (3.0, 10.0)])
def test_pelvic_drop_is_positive_for_the_swing_side_on_both_feet(drops):
    body, ic, to, sides = _signals(drop_deg=drops)
    m = _metrics(body, ic, to, sides).iloc[4:-4]  # away from the filter's edges
    left, right = m[m["side"] == "L"], m[m["side"] == "R"]
    assert (m["pelvic_drop_deg"] > 0).all()
    # The 0.3 Hz high-pass against drift takes a little off the step's bump (docs/metrics.md).
    assert left["pelvic_drop_deg"].median() == pytest.approx(drops[0], rel=0.08)
    assert right["pelvic_drop_deg"].median() == pytest.approx(drops[1], rel=0.08)


def test_pelvic_rotation_sign_and_size():
    body, ic, to, sides = _signals(rotation_deg=8.0)
    m = _metrics(body, ic, to, sides).iloc[4:-4]
    assert (m["pelvic_rotation_deg"] > 0).all()
    assert m["pelvic_rotation_deg"].median() == pytest.approx(8.0, rel=0.08)


def test_vertical_oscillation_of_a_known_bounce():
    _, ic, to, sides = _signals()
    n = int(N_STEPS * STEP_S * FS)
    w = 2 * np.pi / STEP_S
    # Height 4 cm * cos(w t) has acceleration -4 cm * w^2 cos(w t): an 8 cm range over every step.
    bounce = pd.DataFrame({"acc_is": G - 0.04 * w**2 * np.cos(w * np.arange(n) / FS)})
    osc = _metrics(bounce, ic, to, sides)["vertical_oscillation_cm"].iloc[:-1]
    np.testing.assert_allclose(osc, 8.0, rtol=0.02)


def test_vertical_oscillation_grows_with_the_bounce():
    flat, ic, to, sides = _signals(osc_amplitude_m=0.0)
    bounce, *_ = _signals(osc_amplitude_m=0.04)
    base = _metrics(flat, ic, to, sides)["vertical_oscillation_cm"].iloc[:-1]
    more = _metrics(bounce, ic, to, sides)["vertical_oscillation_cm"].iloc[:-1]
    assert (base > 0).all() and (more > base + 4).all()


def test_missing_gyroscope_and_forward_axis_are_explained():
    body, ic, to, sides = _signals()
    m = _metrics(body[["acc_is"]], ic, to, sides)
    assert m["pelvic_drop_deg"].isna().all() and m["braking_g"].isna().all()
    assert m["quality"].str.contains("no gyroscope").all()
    assert m["quality"].str.contains("no forward axis").all()


def test_a_missed_contact_gives_no_step_time_and_says_why():
    body, ic, to, sides = _signals()
    keep = np.ones(N_STEPS, bool)
    keep[10] = False
    m = _metrics(body, ic[keep], to[keep], sides[keep])
    assert np.isnan(m["step_time_s"].iloc[9])
    assert "next contact missing" in m["quality"].iloc[9]
    assert np.isfinite(m["step_time_s"].iloc[8])
