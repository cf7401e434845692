"""Sides and pelvic drop on real running signals (``../shared/data``; skipped when absent).

The figures come from ``benchmarks/mocap.py`` (docs/validation.md, "Pelvis motion capture"); the limits
sit just outside what it measured, so they catch regressions, not noise.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hipsense.gait.sides import SideDetector

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.shared_data


def _benchmark():
    name = "hipsense_benchmark_mocap"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "mocap.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mocap(shared_data) -> Path:
    folder = shared_data / "running-pelvis-mocap"
    if not (folder / "s01_v25_truth.csv").is_file():
        pytest.skip("running-pelvis-mocap is absent")
    return folder


@pytest.fixture(scope="module")
def figures(mocap) -> dict:
    return _benchmark().mocap_figures(mocap)


def test_mocap_contacts_and_sides(figures):
    """Measured: F1 0.993 (77 detected, 76 reference), sides 100 % from the detected and the reference
    contacts, none unknown, one bout with confidence 1.00 (phase +0.04 step)."""
    assert figures["f1@60"] >= 0.985
    assert figures["side_agree"] >= 0.99 and figures["side_unknown"] <= 1
    assert figures["ref_side_agree"] >= 0.99
    bouts = figures["bouts"]
    assert len(bouts) == 1 and bouts["confidence"].iloc[0] > 0.99
    assert abs(bouts["phase"].iloc[0]) < 0.15


def test_mocap_pelvic_drop_per_side(figures):
    """Measured through analyse_file: left 1.14 vs 1.98 deg, right 1.73 vs 2.23 (the contacts of the
    smoothed virtual signal come about 25 ms late), left minus right -0.59 vs -0.24; from the reference
    contacts: left 2.12 vs 1.98, right 2.30 vs 2.23, per-step bias +0.11 deg, r = 0.82."""
    for s in "LR":
        imu, optical = figures[f"drop_{s}"]
        assert abs(imu - optical) <= 1.2  # target 2 deg
        imu, optical = figures[f"ref_drop_{s}"]
        assert abs(imu - optical) <= 0.3
    imu, optical = figures["drop_lr"]
    assert abs(imu - optical) <= 0.7  # target 1.5 deg
    assert figures["ref_corr"] >= 0.7


def test_the_old_rule_would_have_swapped_every_side(mocap):
    """Why running has its own rule: the walking rule (roll rate at loading plus acc_ml in mid stance)
    labels this runner's steps the wrong way round, because acc_ml has the opposite sign in running."""
    truth = pd.read_csv(mocap / "s01_v25_truth.csv")
    body = pd.read_csv(mocap / "s01_v25_body.csv")
    fs = 1.0 / float(np.median(np.diff(body["t_s"])))
    ic = np.rint(truth["ic_s"].to_numpy() * fs).astype(np.int64)
    walking_rule = SideDetector(gait="walking").detect(body, ic, sampling_rate_hz=fs)
    assert np.mean(walking_rule.sides_ == truth["side"].to_numpy()) < 0.1
    running_rule = SideDetector().detect(body, ic, sampling_rate_hz=fs)
    assert (running_rule.gait_ == "running").all()
    assert np.mean(running_rule.sides_ == truth["side"].to_numpy()) >= 0.99


def test_simulated_pelvis_moves_like_the_motion_capture(mocap):
    """The simulator's mean step (2.5 m/s) against the trial's: the obliquity's shape and timing, and the
    sign of acc_ml in mid stance (negative in left stance: the stance force tilts with the pelvis)."""
    real, sim = _benchmark().cycles(mocap)
    for s, sign in (("L", 1.0), ("R", -1.0)):
        a, b = real[f"obliquity {s}"], sim[f"obliquity {s}"]
        assert np.corrcoef(a, b)[0, 1] > 0.9
        # Same timing: the peak toward the swing side and the trough at the same tenth of the step or
        # the next one.
        assert abs(int(np.argmax(sign * a)) - int(np.argmax(sign * b))) <= 1
        assert abs(int(np.argmin(sign * a)) - int(np.argmin(sign * b))) <= 1
        mid = slice(2, 5)  # 20-40 % of the step: mid stance of a 73 % stance
        assert np.sign(real[f"acc_ml {s}"][mid].mean()) == np.sign(sim[f"acc_ml {s}"][mid].mean()) == -sign


def test_accelerometer_only_trials_have_unknown_sides(shared_data):
    """The 6 level and 13 sloped treadmill trials (vertical and forward axes only): every side is
    unknown, from the reference and from the detected contacts."""
    if not (shared_data / "running-sacral-accel").is_dir():
        pytest.skip("running-sacral-accel is absent")
    table = _benchmark().accel_only_sides()
    assert len(table) >= 6
    assert (table["unknown (ref IC)"] == "100%").all()
    assert (table["unknown (detected)"] == "100%").all()
    assert (table["source"] == "unknown").all()


def _window_means(t, x, truth, side, start, end):
    """Mean of ``x`` per step of ``side`` over ``[ic + start Tc, ic + end Tc)`` (Tc its contact time)."""
    rows = truth[truth["side"] == side]
    out = []
    for ic, tc in zip(rows["ic_s"], rows["contact_time_s"], strict=True):
        m = (t >= ic + start * tc) & (t < ic + end * tc)
        out.append(x[m].mean())
    return np.array(out)


def test_sign_table_rows_hold_on_the_motion_capture(mocap):
    """The movement -> sign rows of docs/conventions.md that the trial can show, on real running: the
    roll at loading, the drop, the obliquity at the end of loading, the yaw over stance, braking (first
    quarter), propulsion (second half) and acc_ml in mid stance (tilted stance force)."""
    from hipsense.conventions import SIGN_TABLE
    from hipsense.gait.filters import lowpass
    from hipsense.gait.pelvis import obliquity_deg

    truth = pd.read_csv(mocap / "s01_v25_truth.csv")
    body = pd.read_csv(mocap / "s01_v25_body.csv")
    t = body["t_s"].to_numpy()
    fs = 1.0 / float(np.median(np.diff(t)))
    rows = {(r.movement, r.quantity): r.sign for r in SIGN_TABLE}
    acc_ml = lowpass(body["acc_ml"].to_numpy(), 6.0, fs, 2)
    phi = obliquity_deg(body["gyr_pa"].to_numpy(), fs)
    for side, foot, other in (("L", "left", "right"), ("R", "right", "left")):
        sign = rows[(f"{foot}-foot stance, {other} hip drops", "gyr_pa")]
        loading = _window_means(t, body["gyr_pa"].to_numpy(), truth, side, 0.0, 0.4)
        assert (np.sign(loading) == sign).mean() > 0.95
        steps = truth[truth["side"] == side]
        at_end = np.interp(steps["ic_s"] + 0.4 * steps["contact_time_s"], t, phi)  # end of loading
        assert (
            np.sign(at_end) == rows[(f"{foot}-foot stance, {other} hip drops", "obliquity_deg")]
        ).mean() > 0.95
        yaw = _window_means(t, body["gyr_is"].to_numpy(), truth, side, 0.0, 1.0)
        assert np.sign(yaw.mean()) == rows[(f"{foot}-foot stance, {other} hip swings forward", "gyr_is")]
        mid = _window_means(t, acc_ml, truth, side, 0.3, 0.7)
        row = (f"{foot}-foot stance, stance force tilted with the dropped {other} side", "acc_ml")
        assert (np.sign(mid) == rows[row]).mean() > 0.95
        braking = _window_means(t, body["acc_pa"].to_numpy(), truth, side, 0.0, 0.25)
        assert (np.sign(braking) == rows[("braking after initial contact", "acc_pa")]).mean() > 0.95
        push = _window_means(t, body["acc_pa"].to_numpy(), truth, side, 0.5, 1.0)
        assert (np.sign(push) == rows[("propulsion before toe-off", "acc_pa")]).mean() > 0.95
    assert (
        np.sign(truth["drop_deg"]) == rows[("either stance with contralateral drop", "pelvic_drop_deg")]
    ).all()
