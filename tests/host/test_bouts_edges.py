"""Running bouts' edges follow the running: stands between runs and at a recording's ends are not running.

The stored running time is the sum of the running bouts, so every second a bout reaches past the
running is a second of running the runner did not do. Truth: the simulator's bouts (a run bout lasts
from its first contact to the end of its last step).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense.analysis import analyse_file
from hipsense.cli import main
from hipsense.conventions import G
from hipsense.gait.bout_edges import running_edges
from hipsense.gait.bouts import ActivityBoutDetector
from hipsense.sim import RunConfig, Segment, simulate_run
from hipsense.store import HOME_ENV, Store

#: Run 5-35 s, stand 15 s, run 50-80 s, stand 5 s: the reported case (85 s, 60 s of running).
TWO_RUNS = "stand:5,run:30,stand:15,run:30,stand:5"


def _run(spec: str, seed: int):
    segments = tuple(Segment(a, float(d)) for a, d in (part.split(":") for part in spec.split(",")))
    return simulate_run(RunConfig(duration_s=None, segments=segments, seed=seed))


def _edges(bouts: pd.DataFrame, activity: str = "run") -> np.ndarray:
    b = bouts[bouts["activity"] == activity]
    return b[["start_s", "end_s"]].to_numpy()


@pytest.mark.parametrize("seed", [2, 3])
def test_runs_with_stands_between_and_at_the_ends_through_analyse_file(tmp_path, seed):
    """The reported case, as a device file through analyse_file: each running edge within 0.25 s of the
    truth and the running time within 0.5 s (measured: 0.06 s and +0.2 s). Before: bouts 4-36 and
    49-85 s, the closing 5-s stand counted as running: 68-69 s for 60 s."""
    run = _run(TWO_RUNS, seed)
    result = analyse_file(run.write_device_file(tmp_path / "run.hsn"))
    assert list(result.bouts["activity"]) == ["stand", "run", "stand", "run", "stand"]
    truth = _edges(run.bouts)
    assert np.abs(_edges(result.bouts) - truth).max() < 0.25
    assert result.summary.running_time_s == pytest.approx(np.ptp(truth, axis=1).sum(), abs=0.5)


def test_the_import_route_stores_the_running_time(tmp_path, monkeypatch):
    """`hipsense import` stores what the runner ran (the time `sessions`, the report, exports and the
    FIT timer show): 60 s, not 68 s."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    run = _run(TWO_RUNS, 2)
    truth = float(np.ptp(_edges(run.bouts), axis=1).sum())
    assert main(["import", str(run.write_device_file(tmp_path / "run.hsn"))]) == 0
    with Store(tmp_path / "home") as store:
        (stored,) = store.sessions()["running_time_s"].tolist()
    assert stored == pytest.approx(truth, abs=0.5)


@pytest.mark.parametrize(
    ("spec", "seed"),
    [
        ("run:20,stand:4,run:20", 0),  # a traffic-light stop: was one 44-s run
        ("run:20,stand:2,run:20", 2),  # a 2-s stop: was one 42-s run
        ("stand:1,run:20,stand:2", 0),  # short stands at both ends: were running
        ("stand:2,run:30,stand:3", 0),
    ],
)
def test_stops_and_stands_at_the_ends_are_standing(spec, seed):
    """Every still second beside a run is standing, however short the stop, and the running bouts
    match the truth within 0.25 s at each edge."""
    run = _run(spec, seed)
    det = ActivityBoutDetector().detect(run.body, sampling_rate_hz=run.sample_rate_hz)
    assert [a for a in det.bouts_["activity"]] == [a for a in run.bouts["activity"]]
    assert np.abs(_edges(det.bouts_) - _edges(run.bouts)).max() < 0.25


def test_a_walk_break_between_runs_stays_walking():
    """5 s of walking between two runs: the seconds beside it that hold no flight of their own are
    walking, so the break keeps its 4 s minimum (it was absorbed into one 45-s run)."""
    run = _run("run:20,walk:5,run:20", 2)
    det = ActivityBoutDetector().detect(run.body, sampling_rate_hz=run.sample_rate_hz)
    assert list(det.bouts_["activity"]) == ["run", "walk", "run"]
    assert np.abs(_edges(det.bouts_) - _edges(run.bouts)).max() < 0.25


def test_a_still_second_inside_a_run_is_a_stop_not_smoothed_away():
    """1.6 s standing still in a run holds one whole still second: a stop, not an odd window for the
    median filter to smooth away (it was one 20-s run)."""
    run = _run("run:20", 0)
    fs = run.sample_rate_hz
    acc = run.body["acc_is"].to_numpy().copy()
    stop = slice(int(10 * fs), int(11.6 * fs))
    acc[stop] = G * (1 + 0.002 * np.random.default_rng(1).standard_normal(stop.stop - stop.start))
    det = ActivityBoutDetector().detect(pd.DataFrame({"acc_is": acc}), sampling_rate_hz=fs)
    assert list(det.bouts_["activity"]) == ["run", "stand", "run"]
    (_, end), (start, _) = _edges(det.bouts_)
    assert 9.5 < end <= 10.05 and 11.6 - 0.5 < start <= 11.6 + 0.3


# -- running_edges on its own ----------------------------------------------------------------------
HOP = 100  # rows per window
STEP = np.full(10, 30.0)  # every window judged running, 30 rows a step


def test_edges_move_to_the_first_contact_and_the_last_landing():
    edges, kinds = running_edges(
        np.array([0, 200, 800, 1000]), ["stand", "run", "stand"], np.array([260, 290, 320, 700]), STEP, HOP
    )
    assert edges.tolist() == [0, 230, 700, 1000] and kinds == ["stand", "run", "stand"]


def test_a_recording_that_stops_mid_run_keeps_running_to_its_end():
    """Less than a step after the last landing: the input cut a step, the run goes on to the end."""
    edges, kinds = running_edges(np.array([0, 1000]), ["run"], np.arange(15, 1000, 30), STEP, HOP)
    assert edges.tolist() == [0, 1000] and kinds == ["run"]


def test_a_run_that_stops_before_the_end_gives_the_rest_an_unknown_bout():
    edges, kinds = running_edges(np.array([0, 1000]), ["run"], np.arange(15, 700, 30), STEP, HOP)
    assert edges.tolist() == [0, 675, 1000] and kinds == ["run", "unknown"]
    edges, kinds = running_edges(np.array([0, 1000]), ["run"], np.arange(415, 1000, 30), STEP, HOP)
    assert edges.tolist() == [0, 385, 1000] and kinds == ["unknown", "run"]


def test_an_edge_moves_out_by_at_most_a_step_and_half_its_neighbour():
    """Two runs around a 10-row stand whose landings lie inside it: the stand keeps its rows."""
    land = np.r_[np.arange(20, 500, 30), 503, 507, np.arange(525, 1000, 30)]
    edges, kinds = running_edges(np.array([0, 500, 510, 1000]), ["run", "stand", "run"], land, STEP, HOP)
    assert kinds == ["run", "stand", "run"]
    assert 500 <= edges[1] < edges[2] <= 510


def test_a_run_with_fewer_than_two_landings_is_left_as_it_is():
    given = np.array([0, 200, 800, 1000])
    edges, _ = running_edges(given, ["stand", "run", "stand"], np.array([500]), STEP, HOP)
    assert edges.tolist() == given.tolist()


# -- real recordings ---------------------------------------------------------------------------------
def _padded(acc: np.ndarray, fs: float, before: float, after: float) -> pd.DataFrame:
    """``acc`` (m/s^2) between still stretches (1 g and 0.003 g of noise), as a logger left running."""
    rng = np.random.default_rng(0)
    still = [G * (1 + 0.003 * rng.standard_normal(int(s * fs))) for s in (before, after)]
    return pd.DataFrame({"acc_is": np.r_[still[0], acc, still[1]]})


def _real_runs(shared_data):
    from hipsense.datasets import load_running_sacral, running_sacral_trials

    for trial in running_sacral_trials("all")["trial"]:
        data, ref = load_running_sacral(trial)
        yield trial, data["acc_is"].to_numpy(), ref["ic_s"].dropna().to_numpy(), 500.0
    folder = shared_data / "running-pelvis-mocap"
    truth = pd.read_csv(folder / "s01_v25_truth.csv")
    body = pd.read_csv(folder / "s01_v25_body.csv")
    yield "mocap", body["acc_is"].to_numpy(), truth["ic_s"].to_numpy(), 208.0


def test_real_running_between_stands_keeps_its_edges(shared_data):
    """Each real treadmill trial (19 of 5 s, one of 30 s) with 2 s of stillness before and 3 s after:
    one running bout holding every force-plate contact, standing on both sides, its edges within a
    step (0.4 s) of where the running starts and stops (measured: 0.02-0.32 s, the trials start and
    end mid-stride). Before: the 3 s after were running."""
    for name, acc, ic_s, fs in _real_runs(shared_data):
        det = ActivityBoutDetector().detect(_padded(acc, fs, 2.0, 3.0), sampling_rate_hz=fs)
        assert list(det.bouts_["activity"]) == ["stand", "run", "stand"], name
        [(start, end)] = _edges(det.bouts_).tolist()
        assert start <= 2.0 + ic_s.min() and end > 2.0 + ic_s.max(), name
        assert abs(start - 2.0) < 0.4 and abs(end - (2.0 + len(acc) / fs)) < 0.4, name


def test_real_walking_keeps_its_bouts(shared_data):
    """walking-l5-ipol (110 trials: stand, walk 10 m, turn, walk back, stop): nothing is running and
    the walking bouts hold all but 2 of the 3746 reference contacts (13-6's last two, slow steps after
    a still stop), as before their edges moved in to the walking (test_bouts_walk_edges)."""
    from hipsense.datasets import WALKING_L5_RATE_HZ, load_walking_trials

    outside = 0
    for trial in load_walking_trials():
        bouts = ActivityBoutDetector().detect(trial.body, sampling_rate_hz=WALKING_L5_RATE_HZ).bouts_
        assert "run" not in set(bouts["activity"]), trial.name
        walk = bouts[bouts["activity"] == "walk"]
        inside = np.zeros(len(trial.ic), dtype=bool)
        for a, b in zip(walk["start"], walk["end"], strict=True):
            inside |= (trial.ic >= a) & (trial.ic < b)
        outside += int((~inside).sum())
    assert outside <= 2
