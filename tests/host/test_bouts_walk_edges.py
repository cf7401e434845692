"""Walking bouts' edges follow the walking: the stands before and after a walk are not walking.

A second is judged on the 3 s around it and a stand shorter than the shortest bout (4 s) is absorbed,
so a walking bout reached seconds into the stands around it and the walking detector found "steps" in
the sway there (red-team F6: trial 1-2 of the walking set had walking steps at 0.1-2.4 s while the walk
starts at 4.1 s, and the walking time was inflated by the same seconds).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from hipsense.analysis import analyse
from hipsense.datasets import WALKING_L5_RATE_HZ, read_walking_sensor, walking_dir
from hipsense.gait.bouts import ActivityBoutDetector
from hipsense.recording import Recording
from hipsense.sim import RunConfig, Segment, simulate_run


@pytest.mark.parametrize("spec", ["stand:3,walk:20,stand:3", "stand:2,walk:25,stand:3.5"])
def test_short_stands_around_a_walk_are_not_walking(spec):
    """A stand too short to be a bout of its own, before and after a simulated walk: the walking time
    lies within 1 s of the truth and every walking edge within 1 s of the walk's."""
    segments = tuple(Segment(a, float(d)) for a, d in (part.split(":") for part in spec.split(",")))
    run = simulate_run(RunConfig(duration_s=None, segments=segments, seed=1))
    det = ActivityBoutDetector().detect(run.body, sampling_rate_hz=run.sample_rate_hz)
    truth = run.bouts[run.bouts["activity"] == "walk"][["start_s", "end_s"]].to_numpy()
    walk = det.bouts_[det.bouts_["activity"] == "walk"][["start_s", "end_s"]].to_numpy()
    assert len(walk) == 1
    assert np.abs(walk - truth).max() < 1.0
    assert np.ptp(walk, axis=1).sum() == pytest.approx(np.ptp(truth, axis=1).sum(), abs=1.0)


#: Trials whose reference footsteps all lie inside TrialBoundaries and whose walking steps reached
#: into the stands (before: 6, 12, 9, 9 and 10 steps more than a step outside; now none).
TRIALS = ("1-1", "4-5", "10-1", "14-1", "17-5")


@pytest.mark.skipif(walking_dir() is None, reason="the shared walking recordings are absent")
@pytest.mark.parametrize("name", TRIALS)
def test_real_walks_have_no_walking_steps_in_the_stands(name):
    """Through the whole route (alignment, bouts, contacts): no walking step more than a step (the
    trial's median reference step) outside the reference TrialBoundaries."""
    folder = walking_dir()
    assert folder is not None
    sensor, _ = read_walking_sensor(folder / f"{name}_lb.txt")
    meta = json.loads((folder / f"{name}.json").read_text())
    lo, hi = (int(v) / WALKING_L5_RATE_HZ for v in meta["TrialBoundaries"])
    contacts = np.sort(np.r_[meta["LeftFootEvents"], meta["RightFootEvents"]].reshape(-1, 2)[:, 1])
    step = float(np.median(np.diff(contacts))) / WALKING_L5_RATE_HZ
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the alignment's notes on a short recording
        result = analyse(Recording(sensor, "sensor", WALKING_L5_RATE_HZ), n_boot=0)
    ic = result.steps.loc[result.steps["activity"] == "walk", "ic_s"].to_numpy(dtype=float)
    outside = ic[(ic < lo - step) | (ic > hi + step)]
    assert len(ic) > 20
    assert not len(outside), f"walking steps at {np.round(outside, 2)} s, the walk lasts {lo:.2f}-{hi:.2f} s"


def test_a_walking_bout_without_movement_is_left_as_it_is():
    # the empty stretch list was indexed before it was checked: IndexError
    from hipsense.gait.bout_edges import walking_edges

    edges, kinds = walking_edges(
        np.array([0, 100, 200]), ["stand", "walk"], np.array([5, 10]), pause=20, least=10, lead=0, trail=5
    )
    assert edges.tolist() == [0, 100, 200] and kinds == ["stand", "walk"]
