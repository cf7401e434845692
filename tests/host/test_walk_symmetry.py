"""Walking step time per side is not biased by side (red-team p14 G4).

On the simulator a symmetric walk inside a run gives the left walking step time about 4 % short and the
right 3 % long in every seed. That is the simulator's walking model meeting the step-evidence score: its
mediolateral force is ``s 0.12 g sin(pi u)`` per step, so the side-alternating part of ``acc_ml``
crosses zero at every contact at its steepest, which shifts the score's peak one way at left contacts
and the other way at right ones (with ``ml_g=0`` the asymmetry flips sign; the real signal has no such
ramp at contact). On real walking (walking-l5-ipol, foot-sensor reference) the exported per-side step
times are not biased by side. docs/validation-walking.md, "Per-side step time", has the numbers.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from hipsense.analysis import analyse, analyse_file
from hipsense.datasets import WALKING_L5_RATE_HZ, read_walking_sensor, walking_dir, walking_trial_names
from hipsense.gait.scoring import match_nearest
from hipsense.recording import Recording
from hipsense.sim import RunConfig, Segment, simulate_run

#: Trials whose reference feet look swapped (docs/validation-walking.md).
SWAPPED_SIDE_TRIALS = ("4-1", "4-2")


def _reference(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The trial's reference contacts (s) inside its boundaries, in time order, and their feet."""
    folder = walking_dir()
    assert folder is not None
    meta = json.loads((folder / f"{name}.json").read_text())
    left = np.asarray(meta["LeftFootEvents"]).reshape(-1, 2)[:, 1]
    right = np.asarray(meta["RightFootEvents"]).reshape(-1, 2)[:, 1]
    ic = np.r_[left, right] / WALKING_L5_RATE_HZ
    side = np.r_[np.full(len(left), "L"), np.full(len(right), "R")]
    order = np.argsort(ic, kind="stable")
    lo, hi = (int(v) / WALKING_L5_RATE_HZ for v in meta["TrialBoundaries"])
    keep = (ic[order] >= lo) & (ic[order] <= hi)
    return ic[order][keep], side[order][keep]


@pytest.fixture(scope="module")
def real_sides(shared_data) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Through analyse(), every trial with trustworthy sides: (matched steps whose next contact is
    matched too: detected and reference step time by detected side; per trial: exported per-side
    medians and the reference's)."""
    if walking_dir() is None:
        pytest.skip("walking-l5-ipol is not in the shared data")
    pairs, trials = [], []
    for name in walking_trial_names():
        if name in SWAPPED_SIDE_TRIALS:
            continue
        sensor, _ = read_walking_sensor(walking_dir() / f"{name}_lb.txt")
        ref_ic, ref_side = _reference(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = analyse(Recording(sensor, "sensor", WALKING_L5_RATE_HZ), n_boot=0)
        steps = result.steps[result.steps["activity"] == "walk"].reset_index(drop=True)
        i_ref, i_det = match_nearest(ref_ic, steps["ic_s"].to_numpy(dtype=float), 0.1)
        to_ref = dict(zip(i_det, i_ref, strict=True))
        for i, j in to_ref.items():
            if to_ref.get(i + 1) == j + 1 and np.isfinite(steps.at[i, "step_time_s"]):
                pairs.append((steps.at[i, "side"], steps.at[i, "step_time_s"], ref_ic[j + 1] - ref_ic[j]))
        assert result.summary is not None
        walking = result.summary.walking
        ref_step = np.diff(ref_ic)
        trials.append(
            {
                "L": walking["step_time_s_left"],
                "R": walking["step_time_s_right"],
                "ref_L": np.median(ref_step[ref_side[:-1] == "L"]),
                "ref_R": np.median(ref_step[ref_side[:-1] == "R"]),
            }
        )
    return pd.DataFrame(pairs, columns=["side", "step_s", "ref_s"]), pd.DataFrame(trials).astype(float)


@pytest.mark.shared_data
def test_real_walking_step_time_is_not_biased_by_side(real_sides):
    """Matched steps (measured: 1690 left, 1679 right): step-time error -1.9 ms left, +0.9 ms right
    (SD 26 ms each); the exported per-side medians -0.31 % and +0.25 % from the reference's on average
    over 108 trials. The simulator's -4 % / +3 % would be about -22 / +20 ms."""
    pairs, trials = real_sides
    err = (pairs["step_s"] - pairs["ref_s"]).groupby(pairs["side"]).mean()
    assert set(err.index) == {"L", "R"} and (pairs["side"].value_counts() > 1500).all()
    assert abs(err["L"]) < 0.005 and abs(err["R"]) < 0.005 and abs(err["L"] - err["R"]) < 0.006
    for side in ("L", "R"):
        rel = (trials[side] - trials[f"ref_{side}"]) / trials[f"ref_{side}"]
        assert abs(rel.mean()) < 0.01


def test_simulated_walk_inside_a_run_keeps_its_sides_and_step_times_near_the_truth(tmp_path):
    """Through the device file: every side right, per-side step time within 6 % of the truth. Measured:
    -3.3 % left, +2.8 % right (the simulator's mediolateral ramp, above); with that ramp flattened
    (``sin(pi u) ** 2``, tried, not adopted: one more step missed in the simulator's abrupt change
    from running) -0.7 % / +0.9 %."""
    segments = (Segment("run", 60.0, 3.2), Segment("walk", 60.0), Segment("run", 60.0, 3.2))
    run = simulate_run(RunConfig(segments=segments, seed=1))
    result = analyse_file(run.write_device_file(tmp_path / "walk.hsn"))
    steps = result.steps[result.steps["activity"] == "walk"]
    truth = run.truth[run.truth["activity"] == "walk"]
    body = run.body
    true_ic = np.interp(truth["ic_s"], body["t_true_s"], body["t_s"])
    i_ref, i_det = match_nearest(true_ic, steps["ic_s"].to_numpy(dtype=float), 0.15)
    assert len(i_ref) >= len(truth) - 2
    assert (steps["side"].to_numpy()[i_det] == truth["side"].to_numpy()[i_ref]).all()
    assert result.summary is not None
    for side, name in (("L", "left"), ("R", "right")):
        true_step = truth.loc[truth["side"] == side, "step_time_s"].median()
        assert result.summary.walking[f"step_time_s_{name}"] == pytest.approx(true_step, rel=0.06)
