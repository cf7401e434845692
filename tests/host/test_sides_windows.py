"""The side detector over windows (issue 17): the same results as over one window, in bounded memory.

``SideDetector.detect(..., windows=plan)`` does its per-sample work one window at a time
(``hipsense.gait.side_features``); what is not per step (the walking scale, the bout phase fit) is
joined exactly. These tests run the detector both ways on a long simulated session (pauses, walking and
running, a walk break) and on real recordings, and pin the two pieces that make the join exact.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hipsense.errors import HipsenseError
from hipsense.gait.side_features import MedianAbs, obliquity_of, phase_fit, phase_sums, step_phase
from hipsense.gait.sides import SideDetector
from hipsense.gait.windows import FrameRows, Window, plan_windows
from hipsense.sim import scenarios, simulate_run
from hipsense.sim.config import Segment

EXACT = ("sides_", "inferred_", "bout_", "alternate_", "gait_", "source_")
CLOSE = ("score_", "posterior_", "confidence_", "bout_confidence_")


class CountingRows(FrameRows):
    """Rows of a frame that remember every range asked for (to see that no fetch is the session)."""

    def __init__(self, data: pd.DataFrame) -> None:
        super().__init__(data)
        self.asked: list[tuple[int, int]] = []

    def rows(self, lo: int, hi: int) -> pd.DataFrame:
        self.asked.append((lo, hi))
        return super().rows(lo, hi)

    def column(self, name: str, lo: int, hi: int) -> np.ndarray:
        self.asked.append((lo, hi))
        return super().column(name, lo, hi)


@pytest.fixture(scope="module")
def session():
    """7.6 minutes: stand, walk, run, a pause (a new chained bout), walk, run, a walk break, stand."""
    segments = (
        Segment("stand", 5.0),
        Segment("walk", 40.0),
        Segment("run", 150.0),
        Segment("stand", 8.0),
        Segment("walk", 40.0),
        Segment("run", 150.0),
        Segment("walk", 40.0),
        Segment("stand", 5.0),
    )
    return simulate_run(scenarios.steady_run(duration_s=None, seed=5, segments=segments))


def _same(one: SideDetector, many: SideDetector) -> None:
    for name in EXACT:
        assert np.array_equal(getattr(one, name), getattr(many, name)), name
    for name in CLOSE:
        np.testing.assert_allclose(getattr(many, name), getattr(one, name), rtol=1e-9, atol=0, err_msg=name)
    pd.testing.assert_frame_equal(many.bouts_, one.bouts_, check_exact=False, rtol=1e-9, atol=0)


@pytest.mark.parametrize(
    ("columns", "with_activity", "params"),
    [
        (None, True, {}),
        (None, False, {}),
        (["t_s", "acc_is", "acc_ml", "acc_pa"], False, {}),  # no gyroscope: acc_ml alone
        (["t_s", "acc_is", "acc_pa"], False, {"first_side": "R"}),  # no side signal at all
        (None, False, {"gait": "walking"}),  # every step on the walking rule's two scales
    ],
)
def test_windows_give_the_one_window_results(session, columns, with_activity, params):
    fs = session.sample_rate_hz
    body = session.body if columns is None else session.body[columns]
    ic = session.truth["ic_index"].to_numpy()
    activity = session.truth["activity"].to_numpy() if with_activity else None
    plan = plan_windows(len(body), fs, window_s=60.0, overlap_s=30.0)
    assert len(plan) >= 7
    rows = CountingRows(body)
    one = SideDetector(**params).detect(body, ic, sampling_rate_hz=fs, activity=activity)
    many = SideDetector(**params).detect(rows, ic, sampling_rate_hz=fs, activity=activity, windows=plan)
    _same(one, many)
    # each fetch is one window (a window read again for the walking scale is the same window)
    assert rows.asked and set(rows.asked) <= {(w.lo, w.hi) for w in plan}
    if columns is None and with_activity:
        # the session has what the test claims: two chained running bouts with a measured phase,
        # walking steps, and sides that are right
        assert (one.bouts_["gait"] == "running").sum() == 2 and one.bouts_["phase"].notna().all()
        assert (one.gait_ == "walking").sum() > 100
        assert (one.sides_ == session.truth["side"].to_numpy()).mean() > 0.99


def test_one_window_plan_is_the_default(session):
    fs = session.sample_rate_hz
    body, ic = session.body, session.truth["ic_index"].to_numpy()
    one = SideDetector().detect(body, ic, sampling_rate_hz=fs)
    plan = SideDetector().detect(body, ic, sampling_rate_hz=fs, windows=plan_windows(len(body), fs))
    assert len(plan_windows(len(body), fs)) == 1
    for name in EXACT + CLOSE:
        assert np.array_equal(getattr(one, name), getattr(plan, name)), name
    pd.testing.assert_frame_equal(plan.bouts_, one.bouts_, check_exact=True)


def test_obliquity_in_a_core_is_the_segments(session):
    # The integral starts from another constant in a window; the second detrending removes it.
    fs = session.sample_rate_hz
    gyr = session.body["gyr_pa"].to_numpy()
    whole = obliquity_of(gyr, fs, 0.7, 6.0, True)
    for w in plan_windows(len(gyr), fs, window_s=60.0, overlap_s=30.0):
        part = obliquity_of(gyr[w.lo : w.hi], fs, 0.7, 6.0, True)[w.core_lo - w.lo : w.core_hi - w.lo]
        np.testing.assert_allclose(part, whole[w.core_lo : w.core_hi], rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", range(12))
def test_median_abs_is_numpys_median(seed):
    rng = np.random.default_rng(seed)
    chunks = []
    for i in range(int(rng.integers(1, 9))):
        size = int(rng.integers(0 if i else 1, 3000))
        # windows of very different scales (walking then running), so early bands miss the median
        scale = float(rng.choice([0.01, 1.0, 50.0])) if seed % 2 else 1.0
        v = np.abs(rng.normal(0.0, scale, size))
        if seed % 3 == 0:
            v = np.round(v, 1)  # ties, and exact zeros
        chunks.append(v)
    acc = MedianAbs()
    for v in chunks:
        acc.add(v)
    again_calls: list[int] = []

    def again(i: int) -> np.ndarray:
        again_calls.append(i)
        return chunks[i]

    assert acc.median(again) == float(np.median(np.concatenate(chunks)))
    if seed == 1:
        assert again_calls  # the scales differ: some window was read again


def test_median_abs_of_one_window_keeps_the_median_and_reads_nothing_again():
    v = np.abs(np.random.default_rng(0).normal(size=10001))
    acc = MedianAbs()
    acc.add(v)
    assert acc.median(lambda i: pytest.fail("read again")) == float(np.median(v))
    # it keeps a band around the median, not the window
    assert len(acc.kept[0][2]) < len(v) // 10


def test_median_abs_edge_cases():
    acc = MedianAbs()
    assert math.isnan(acc.median(lambda i: np.zeros(0)))  # nothing added
    acc.add(np.array([1.0, np.nan, 2.0]))
    assert math.isnan(acc.median(lambda i: np.zeros(0)))  # as np.median: NaN wins
    acc = MedianAbs()
    for v in (np.zeros(3), np.array([0.0, np.inf])):
        acc.add(v)
    assert acc.median(lambda i: pytest.fail("read again")) == 0.0


@pytest.mark.parametrize("seed", range(8))
def test_phase_fit_from_step_sums_is_the_least_squares_over_samples(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 60))
    length = rng.integers(20, 40, size=k)
    ic = np.r_[0, np.cumsum(length[:-1])]
    u0 = float(rng.uniform(-1, 1))
    signed = np.where(rng.random(k) < 0.5, 1.0, -1.0)
    idx, owner, since = step_phase(ic, length, int(ic[-1] + length[-1]))
    u = since / length[owner]
    obliquity = signed[owner] * (3.0 * np.cos(np.pi * (u - u0)) + 0.4) + rng.normal(0, 0.5, len(u))
    basis = np.column_stack([np.cos(np.pi * u), np.sin(np.pi * u), np.ones(len(u))])
    (a, b, _), *_ = np.linalg.lstsq(basis, signed[owner] * obliquity[idx], rcond=None)
    # the sums are per step, so any split of the steps into windows gives the same bout sums
    cut = int(rng.integers(1, k))
    sums = np.r_[phase_sums(obliquity, ic[:cut], length[:cut]), phase_sums(obliquity, ic[cut:], length[cut:])]
    phase, roll = phase_fit(sums, signed)
    assert phase == pytest.approx(math.atan2(b, a) / math.pi, rel=1e-9, abs=1e-12)
    assert roll == pytest.approx(math.hypot(a, b), rel=1e-9)
    assert phase_fit(sums, -signed)[1] == pytest.approx(roll)  # a swapped labelling: the same amplitude


def test_bad_windows_are_refused(session):
    fs = session.sample_rate_hz
    body, ic = session.body, session.truth["ic_index"].to_numpy()
    n = len(body)
    det = SideDetector()
    for bad in (
        [],  # nothing
        [Window(0, n // 2, 0, n // 2)],  # cores stop short of the end
        [Window(0, n, 0, n // 2 + 5), Window(0, n, n // 2, n)],  # overlapping cores
        [Window(10, n, 0, n)],  # a core outside its window
        [Window(0, n + 1, 0, n + 1)],  # past the data
    ):
        with pytest.raises(HipsenseError, match="windows must hold cores that tile"):
            det.detect(body, ic, sampling_rate_hz=fs, windows=bad)
    # windows without enough overlap for a step: refused, not measured on a cut step
    short = plan_windows(n, fs, window_s=60.0, overlap_s=0.1)
    with pytest.raises(HipsenseError, match="reaches out of its window"):
        det.detect(body, ic, sampling_rate_hz=fs, windows=short)


@pytest.mark.shared_data
def test_real_running_and_walking_over_windows(shared_data):
    """The motion-capture running trial (30 s) and real walking trials, cut into 8 s windows with 4 s
    of overlap: the same sides and scores as over one window."""
    mocap = shared_data / "running-pelvis-mocap"
    from hipsense.datasets import load_walking_trial, walking_dir, walking_trial_names

    cases = []
    if (mocap / "s01_v25_truth.csv").is_file():
        body = pd.read_csv(mocap / "s01_v25_body.csv")
        fs = 1.0 / float(np.median(np.diff(body["t_s"])))
        ic = np.rint(pd.read_csv(mocap / "s01_v25_truth.csv")["ic_s"].to_numpy() * fs).astype(np.int64)
        cases.append((body, ic, fs))
    if walking_dir() is not None:
        from hipsense.datasets import WALKING_L5_RATE_HZ

        for name in walking_trial_names()[:3]:
            trial = load_walking_trial(name)
            cases.append((trial.body, trial.ic, WALKING_L5_RATE_HZ))
    if not cases:
        pytest.skip("running-pelvis-mocap and walking-l5-ipol are absent")
    for body, ic, fs in cases:
        plan = plan_windows(len(body), fs, window_s=8.0, overlap_s=4.0)
        assert len(plan) >= 2
        one = SideDetector().detect(body, ic, sampling_rate_hz=fs)
        many = SideDetector().detect(body, ic, sampling_rate_hz=fs, windows=plan)
        _same(one, many)
