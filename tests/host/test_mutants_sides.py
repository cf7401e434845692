"""Tests that kill the mutants of hipsense.gait.sides the other tests let survive (docs/testing.md).

The simulator tests check that the sides come out right; these pin the parts they cannot see: the
one-line errors, the helpers' arithmetic on small hand-built inputs (local period, window means,
bout parity, the chain, the phase fit and its confidence) and the gait test's boundaries. Expected
values are worked out by hand from the docstrings, not read from the code.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import signal

from hipsense.conventions import G
from hipsense.errors import HipsenseError
from hipsense.gait.sides import (
    DEFAULT_STEP_S,
    UNKNOWN_SIDE,
    SideDetector,
    _alternating_chain,
    _bout_phase,
    _local_period,
    _obliquity,
    _parity_in_bout,
    _phase_confidence,
    _projection,
    _spread,
    _window_mean,
)


def _flat(n: int, **columns: float) -> pd.DataFrame:
    """``n`` samples of constant columns (default: acc_is at 1 g, no side channels)."""
    columns = columns or {"acc_is": G}
    return pd.DataFrame({name: np.full(n, float(v)) for name, v in columns.items()})


# -- input checks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"alternation_error": 0.7}, "alternation_error must lie in [0, 0.5], got 0.7"),
        ({"alternation_error": -0.01}, "alternation_error must lie in [0, 0.5], got -0.01"),
        ({"first_side": "left"}, "first_side must be 'L', 'R' or None, got 'left'"),
        ({"gait": "jog"}, "gait must be 'auto', 'running' or 'walking', got 'jog'"),
        ({"phase_spread": 0.0}, "phase_spread must be positive, got 0.0"),
        ({"phase_spread": float("nan")}, "phase_spread must be positive, got nan"),
    ],
)
def test_bad_parameters_are_refused_with_a_message(params, message):
    with pytest.raises(HipsenseError) as e:
        SideDetector(**params).detect(_flat(100), [10, 60], sampling_rate_hz=100)
    assert str(e.value) == message


@pytest.mark.parametrize("error", [0.0, 0.5])
def test_alternation_error_bounds_are_accepted(error):
    det = SideDetector(alternation_error=error).detect(_flat(100), [10, 60], sampling_rate_hz=100)
    assert len(det.sides_) == 2


@pytest.mark.parametrize("rate", [0, -100, float("nan"), float("inf")])
def test_a_bad_sampling_rate_is_refused(rate):
    with pytest.raises(HipsenseError) as e:
        SideDetector().detect(_flat(100), [10, 60], sampling_rate_hz=rate)
    assert str(e.value) == f"sampling_rate_hz must be a positive number, got {rate!r}"


@pytest.mark.parametrize(
    ("ic", "message"),
    [
        ([-1, 50], "initial contacts lie outside the data"),
        ([10, 100], "initial contacts lie outside the data"),
        ([10, 10], "initial contacts must be in increasing time order"),
        ([50, 10], "initial contacts must be in increasing time order"),
    ],
)
def test_bad_contacts_are_refused(ic, message):
    with pytest.raises(HipsenseError) as e:
        SideDetector().detect(_flat(100), ic, sampling_rate_hz=100)
    assert str(e.value) == message


def test_contacts_at_the_first_and_last_sample_are_accepted():
    det = SideDetector().detect(_flat(100), [0, 99], sampling_rate_hz=100)
    assert len(det.sides_) == 2 and det.bout_.tolist() == [0, 0]  # one plausible interval: linked


@pytest.mark.parametrize(
    ("activity", "message"),
    [
        (["run", "walk"], "activity must have one entry per contact (3), got 2"),
        (["run", "jog", "skip"], "activity must be 'run' or 'walk', got 'jog'"),
    ],
)
def test_a_bad_activity_is_refused(activity, message):
    with pytest.raises(HipsenseError) as e:
        SideDetector().detect(_flat(200), [10, 60, 110], sampling_rate_hz=100, activity=activity)
    assert str(e.value) == message


def test_the_activity_names_both_spellings():
    det = SideDetector().detect(
        _flat(300), [10, 60, 110, 160], sampling_rate_hz=100, activity=["run", "running", "walk", "walking"]
    )
    assert det.gait_.tolist() == ["running", "running", "walking", "walking"]


# -- the local step period --------------------------------------------------------------------------


def test_fewer_than_two_contacts_get_the_default_period():
    assert _local_period(np.array([5]), 100.0).tolist() == [DEFAULT_STEP_S]
    assert _local_period(np.array([], dtype=np.int64), 100.0).tolist() == []


@pytest.mark.parametrize(
    ("gap", "period"),
    [(20, 0.2), (19, DEFAULT_STEP_S), (200, 2.0), (201, DEFAULT_STEP_S)],
)
def test_plausible_intervals_are_0_2_to_2_s(gap, period):
    np.testing.assert_allclose(_local_period(np.array([0, gap]), 100.0), [period, period])


def test_the_period_at_a_contact_is_the_mean_of_its_two_intervals_medians():
    # Intervals 0.3 (x5) then 0.7 (x5). Centred median of 7: intervals 0-4 see a majority of 0.3,
    # 5-9 of 0.7. A contact's period is the mean of the medians before and after it.
    ic = np.r_[0, np.cumsum([30] * 5 + [70] * 5)]
    expected = [0.3] * 5 + [0.5] + [0.7] * 5
    np.testing.assert_allclose(_local_period(ic, 100.0), expected)


def test_the_first_and_last_contacts_take_their_one_interval_median():
    # intervals 0.3 0.3 0.7 0.7 0.7 0.3 0.3; centred medians of 7 (hand-counted, even counts averaged):
    # 0.5 0.7 0.5 0.3 0.5 0.7 0.5. The first and last contacts have one neighbouring interval each.
    ic = np.r_[0, np.cumsum([30, 30, 70, 70, 70, 30, 30])]
    expected = [0.5, 0.6, 0.6, 0.4, 0.4, 0.6, 0.6, 0.5]
    np.testing.assert_allclose(_local_period(ic, 100.0), expected)


def test_implausible_intervals_are_filled_from_the_plausible_ones():
    # A window of implausible intervals only (a long pause) takes the median of all plausible ones.
    gaps = [50] + [500] * 8 + [30]
    ic = np.r_[0, np.cumsum(gaps)]
    # windows of intervals i-3..i+3: 0-3 hold the 0.5 s one, 4 and 5 nothing plausible (median of
    # 0.5 and 0.3: 0.4), 6-9 the 0.3 s one.
    med = np.array([0.5] * 4 + [0.4] * 2 + [0.3] * 4)
    expected = 0.5 * (np.r_[med[0], med] + np.r_[med, med[-1]])
    np.testing.assert_allclose(_local_period(ic, 100.0), expected)


# -- small helpers ----------------------------------------------------------------------------------


def test_window_mean_over_a_fraction_of_the_step():
    x = np.arange(10.0)
    # [2 + 1, 2 + 3) = samples 3, 4
    np.testing.assert_allclose(_window_mean(x, np.array([2]), np.array([4.0]), 0.25, 0.75), [3.5])
    # an empty window still takes one sample; one past the end is clipped to the last sample
    np.testing.assert_allclose(_window_mean(x, np.array([2]), np.array([4.0]), 0.5, 0.5), [4.0])
    np.testing.assert_allclose(_window_mean(x, np.array([9]), np.array([4.0]), 0.5, 1.0), [9.0])
    # a window reaching before the data starts at its first sample
    np.testing.assert_allclose(_window_mean(x, np.array([0]), np.array([4.0]), -0.5, 0.5), [0.5])
    # several contacts at once
    np.testing.assert_allclose(_window_mean(x, np.array([0, 4]), np.array([2.0, 4.0]), 0.0, 1.0), [0.5, 5.5])


def test_spread_is_the_median_absolute_value_and_never_zero():
    assert _spread(np.array([-3.0, 1.0, 2.0])) == 2.0
    assert _spread(np.array([0.5, -0.5, 0.25])) == 0.5
    assert _spread(np.zeros(4)) == 1.0
    assert _spread(np.zeros(0)) == 1.0


def test_parity_restarts_in_every_bout():
    assert _parity_in_bout(np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])).tolist() == [0, 1, 0, 0, 1, 0, 1, 0, 1]
    assert _parity_in_bout(np.array([0, 0, 1])).dtype == np.int64
    assert _parity_in_bout(np.array([3])).tolist() == [0]
    empty = _parity_in_bout(np.zeros(0, dtype=np.int64))
    assert empty.tolist() == [] and empty.dtype == np.int64


# -- the running score and the bout's phase ---------------------------------------------------------


def test_projection_of_a_cosine_is_its_amplitude():
    # cos(pi u) over u = 0, 0.1, ..., 0.9: twice the mean of cos^2 is 1; against a quarter-period shift 0.
    u = np.arange(10) / 10
    obl = np.r_[3.0 * np.cos(np.pi * u), -3.0 * np.cos(np.pi * u)]
    ic, length = np.array([0, 10]), np.array([10, 10])
    np.testing.assert_allclose(_projection(obl, ic, length, 0.0), [3.0, -3.0], atol=1e-12)
    np.testing.assert_allclose(_projection(obl, ic, length, 0.5), [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(_projection(obl, ic, length, 1.0), [-3.0, 3.0], atol=1e-12)


def test_projection_of_a_step_cut_by_the_end_of_the_data():
    # 3 samples left (u = 0, 0.1, 0.2) of a constant 1: 2 x mean(cos(pi u))
    got = _projection(np.ones(8), np.array([5]), np.array([10]), 0.0)
    expected = 2 * (1 + math.cos(0.1 * math.pi) + math.cos(0.2 * math.pi)) / 3
    np.testing.assert_allclose(got, [expected])


def test_projection_of_a_step_on_the_last_sample():
    # one sample (u = 0): 2 x obliquity there
    np.testing.assert_allclose(
        _projection(np.array([0.0, 0.0, 3.0]), np.array([2]), np.array([10]), 0.0), [6.0]
    )


def test_bout_phase_recovers_a_shifted_cosine():
    # Two steps of 10 samples, labelled L then R: the side-signed obliquity is 2 cos(pi (u - 0.2)) + 0.5.
    u = np.arange(10) / 10
    wave = 2.0 * np.cos(np.pi * (u - 0.2)) + 0.5
    obl = np.r_[wave, -wave]
    phase, roll = _bout_phase(obl, np.array([0, 10]), np.array([10, 10]), np.array([1.0, -1.0]))
    assert phase == pytest.approx(0.2) and roll == pytest.approx(2.0)
    # a phase beyond a step comes back in (-1, 1]
    wave = np.cos(np.pi * (u + 0.7))
    phase, roll = _bout_phase(wave, np.array([0]), np.array([10]), np.array([1.0]))
    assert phase == pytest.approx(-0.7) and roll == pytest.approx(1.0)


def test_bout_phase_needs_eight_samples():
    u = np.arange(8) / 8
    phase, roll = _bout_phase(np.cos(np.pi * (u - 0.1)), np.array([0]), np.array([8]), np.array([1.0]))
    assert phase == pytest.approx(0.1) and roll == pytest.approx(1.0)
    phase, roll = _bout_phase(np.cos(np.pi * u[:7]), np.array([0]), np.array([7]), np.array([1.0]))
    assert math.isnan(phase) and roll == 0.0


@pytest.mark.parametrize(
    ("phase", "expected_d"),
    [(0.0, 0.0), (0.1, 0.1), (-0.1, 0.1), (1.9, 0.1), (-1.9, 0.1), (0.5, 0.5), (1.0, 1.0), (-1.0, 1.0)],
)
def test_phase_confidence_from_the_distance_on_the_stride_circle(phase, expected_d):
    # spread 0.25: evidence = ((1 - d)^2 - d^2) / 0.125 = (1 - 2 d) * 8
    evidence = (1 - 2 * expected_d) * 8
    got = _phase_confidence(phase, 2.0, 0.0, 0.25, 0.5)
    assert got == pytest.approx(1 / (1 + math.exp(-evidence)), rel=1e-12)


def test_phase_confidence_is_measured_from_the_expected_phase():
    assert _phase_confidence(0.3, 2.0, 0.3, 0.25, 0.5) == pytest.approx(1 / (1 + math.exp(-8)))
    assert _phase_confidence(0.3, 2.0, 0.2, 0.5, 0.5) == pytest.approx(1 / (1 + math.exp(-1.6)))


def test_a_weak_or_unmeasured_roll_gives_a_coin():
    assert _phase_confidence(0.0, 0.49, 0.0, 0.25, 0.5) == 0.5
    assert _phase_confidence(0.0, 0.5, 0.0, 0.25, 0.5) == pytest.approx(1 / (1 + math.exp(-8)))
    assert _phase_confidence(float("nan"), 2.0, 0.0, 0.25, 0.5) == 0.5
    assert _phase_confidence(float("inf"), 2.0, 0.0, 0.25, 0.5) == 0.5


def test_phase_confidence_evidence_is_capped_at_50():
    # spread 0.01: evidence +-5000 would overflow exp; it is capped at +-50
    assert _phase_confidence(0.0, 2.0, 0.0, 0.01, 0.5) == 1 / (1 + math.exp(-50))
    assert _phase_confidence(1.0, 2.0, 0.0, 0.01, 0.5) == 1 / (1 + math.exp(50))


# -- the chain ----------------------------------------------------------------------------------------


def test_one_linked_neighbour_passes_its_evidence_through_the_alternation_error():
    # Step 0 alone says left with log-odds 3 (p = 0.9526); step 1 says nothing. With an alternation
    # error of 0.05, step 1 is left with p(L0) * 0.05 + p(R0) * 0.95.
    p0 = 1 / (1 + math.exp(-3.0))
    p1 = p0 * 0.05 + (1 - p0) * 0.95
    post = _alternating_chain(np.array([3.0, 0.0]), np.array([True]), 0.05)
    np.testing.assert_allclose(post, [3.0, math.log(p1 / (1 - p1))], rtol=1e-12)
    # and backwards
    post = _alternating_chain(np.array([0.0, 3.0]), np.array([True]), 0.05)
    np.testing.assert_allclose(post, [math.log(p1 / (1 - p1)), 3.0], rtol=1e-12)


def test_a_perfect_alternation_carries_the_evidence_along_the_whole_chain():
    # error 0: every step is the opposite of its neighbour, so each one gets +- the sum of all evidence.
    post = _alternating_chain(np.array([1.0, 0.0, 0.0, 0.5]), np.array([True, True, True]), 0.0)
    np.testing.assert_allclose(post, [0.5, -0.5, 0.5, -0.5], atol=1e-9)
    # A cut in the middle keeps the halves apart.
    post = _alternating_chain(np.array([1.0, 0.0, 0.0, 0.5]), np.array([True, False, True]), 0.0)
    np.testing.assert_allclose(post, [1.0, -1.0, -0.5, 0.5], atol=1e-9)


def test_a_certain_step_does_not_make_its_neighbour_infinite():
    # error 0 and log-odds 40 (tanh rounds to 1): the coupling stays just below 1, so the result is finite.
    post = _alternating_chain(np.array([40.0, 0.0]), np.array([True]), 0.0)
    assert np.isfinite(post).all() and post[1] < -20


def test_an_alternation_error_of_one_half_links_nothing():
    post = _alternating_chain(np.array([2.0, 0.0, -1.0]), np.array([True, True]), 0.5)
    np.testing.assert_allclose(post, [2.0, 0.0, -1.0])


# -- which steps are running --------------------------------------------------------------------------


def _gait(flight_steps, k=3, value=0.1 * G, **kwargs):
    """Gait of ``k`` contacts 5 samples apart at 20 Hz (15 samples: no low-pass), with ``acc_is`` at
    ``value`` in the flight window ([ic + 1, ic + 5)) of the listed steps and 1 g elsewhere."""
    acc = np.full(5 * k, G)
    for s in flight_steps:
        acc[5 * s + 1 : 5 * s + 5] = value
    ic = 5 * np.arange(k)
    return (
        SideDetector(**kwargs).detect(pd.DataFrame({"acc_is": acc}), ic, sampling_rate_hz=20).gait_.tolist()
    )


def test_a_step_with_flight_is_running_by_a_majority_of_three():
    run, walk = "running", "walking"
    assert _gait([0]) == [run, walk, walk]  # the first step counts twice in its own vote
    assert _gait([1]) == [walk, walk, walk]  # a single flight in the middle is outvoted
    assert _gait([1, 2]) == [walk, run, run]
    assert _gait([0, 2]) == [run, run, run]


def test_two_steps_are_classed_on_their_own():
    assert _gait([1], k=2) == ["walking", "running"]
    assert _gait([0], k=1) == ["running"]


def test_flight_is_strictly_below_the_threshold():
    assert _gait([0, 1, 2], value=0.2 * G) == ["walking"] * 3
    assert _gait([0, 1, 2], value=0.19 * G) == ["running"] * 3
    assert _gait([0, 1, 2], value=0.29 * G, flight_g=0.3) == ["running"] * 3


def test_the_flight_window_is_the_last_two_thirds_of_the_step():
    # length 5: the window is [ic + 5 // 3, ic + 5) = [ic + 1, ic + 5); a dip at ic is not flight.
    acc = np.full(15, G)
    acc[[0, 5, 10]] = 0.0
    ic = np.array([0, 5, 10])
    det = SideDetector().detect(pd.DataFrame({"acc_is": acc}), ic, sampling_rate_hz=20)
    assert (det.gait_ == "walking").all()
    acc = np.full(15, G)
    acc[[4, 9, 14]] = 0.0
    det = SideDetector().detect(pd.DataFrame({"acc_is": acc}), ic, sampling_rate_hz=20)
    assert (det.gait_ == "running").all()


def test_without_acc_is_or_with_a_fixed_gait_no_flight_test_is_made():
    ic = np.array([10, 60, 110])
    assert (SideDetector().detect(_flat(200, acc_pa=0.0), ic, sampling_rate_hz=100).gait_ == "running").all()
    assert (
        SideDetector(gait="walking").detect(_flat(200, acc_is=0.0), ic, sampling_rate_hz=100).gait_
        == "walking"
    ).all()
    assert (
        SideDetector(gait="running").detect(_flat(200), ic, sampling_rate_hz=100).gait_ == "running"
    ).all()


# -- outputs without a side signal ------------------------------------------------------------------


def test_no_side_signal_gives_unknown_sides_and_alternating_parity():
    det = SideDetector().detect(_flat(300), [10, 60, 110, 160], sampling_rate_hz=100)
    assert det.sides_.tolist() == [UNKNOWN_SIDE] * 4
    assert det.source_ == "unknown"
    assert det.confidence_.tolist() == [0.5] * 4
    assert det.alternate_.tolist() == [0, 1, 0, 1]
    assert det.bout_.tolist() == [0, 0, 0, 0]
    assert det.bouts_["confidence"].tolist() == [0.5]
    assert det.inferred_.tolist() == [False] * 4


def test_a_given_first_side_alternates_within_the_first_bout_only():
    # contacts 0.5 s apart, then a 2 s pause (beyond 1.5 periods): two bouts.
    ic = [10, 60, 110, 310, 360]
    det = SideDetector(first_side="R").detect(_flat(400), ic, sampling_rate_hz=100)
    assert det.source_ == "given"
    assert det.sides_.tolist() == ["R", "L", "R", "", ""]
    assert det.confidence_.tolist() == [1.0, 1.0, 1.0, 0.5, 0.5]
    assert det.posterior_.tolist() == [0.0, 1.0, 0.0, 0.5, 0.5]
    assert det.bout_.tolist() == [0, 0, 0, 1, 1]


def test_contacts_one_sample_apart_or_given_as_whole_floats_are_accepted():
    det = SideDetector().detect(_flat(100), [10, 11], sampling_rate_hz=100)
    assert len(det.sides_) == 2
    det = SideDetector().detect(_flat(100), np.array([10.0, 60.0]), sampling_rate_hz=100)
    assert det.bout_.tolist() == [0, 0]


def test_a_sampling_rate_below_one_hertz_is_accepted():
    det = SideDetector().detect(_flat(10), [1, 5], sampling_rate_hz=0.5)
    assert len(det.sides_) == 2


# -- a hand-built running session ---------------------------------------------------------------------
# Steps of 35 samples at 100 Hz; the obliquity is A cos(2 pi t / stride) with its peaks at the even
# (left) contacts, so gyr_pa is its derivative. The detector's filters leave such a stride-periodic
# wave as it is (6 Hz low-pass, stride-long moving means), so every step's projection is +-A.
FS = 100.0
STEP = 35
IC = 70 + STEP * np.arange(16)
N = int(IC[-1]) + STEP + 70


def _session(amplitude_deg=2.0, shift_steps=0.0, **extra):
    t = np.arange(N) / FS
    w = 2 * np.pi / (2 * STEP / FS)
    t0 = IC[0] / FS + shift_steps * STEP / FS
    columns = {
        "gyr_pa": -amplitude_deg * w * np.sin(w * (t - t0)),
        "gyr_is": np.zeros(N),
        "acc_is": np.full(N, G),
    }
    columns.update(extra)
    return pd.DataFrame(columns)


def test_running_sides_follow_the_obliquity_peaks():
    det = SideDetector(gait="running").detect(_session(), IC, sampling_rate_hz=FS)
    assert det.source_ == "gyroscope"
    assert det.sides_.tolist() == ["L", "R"] * 8
    assert det.gait_.tolist() == ["running"] * 16
    np.testing.assert_allclose(det.score_, [1.0, -1.0] * 8, atol=0.05)
    assert det.inferred_.tolist() == [False] * 16
    assert det.bout_.tolist() == [0] * 16 and det.alternate_.tolist() == [0, 1] * 8
    row = det.bouts_.iloc[0]
    assert (row["first"], row["last"], row["gait"]) == (0, 15, "running")
    assert row["phase"] == pytest.approx(0.0, abs=0.02) and row["roll_deg"] == pytest.approx(2.0, rel=0.05)
    # phase 0 expected 0: d = 0, evidence 1 / (2 x 0.25^2) = 8
    assert row["confidence"] == pytest.approx(1 / (1 + math.exp(-8)), rel=1e-3)
    np.testing.assert_allclose(det.bout_confidence_, row["confidence"])
    assert ((det.posterior_ > 0.99) == (det.sides_ == "L")).all()
    assert ((det.posterior_ < 0.01) == (det.sides_ == "R")).all()
    # right when both the bout's labelling and the chain are right, or both wrong
    q = np.where(det.sides_ == "L", det.posterior_, 1 - det.posterior_)
    c = row["confidence"]
    np.testing.assert_allclose(det.confidence_, c * q + (1 - c) * (1 - q))


def test_the_score_scales_with_nothing_but_the_median():
    # Twice the roll: the same normalised scores, the bout's amplitude doubles.
    a = SideDetector(gait="running").detect(_session(1.0), IC, sampling_rate_hz=FS)
    b = SideDetector(gait="running").detect(_session(2.0), IC, sampling_rate_hz=FS)
    np.testing.assert_allclose(a.score_, b.score_, atol=1e-9)
    assert b.bouts_["roll_deg"].iloc[0] == pytest.approx(2 * a.bouts_["roll_deg"].iloc[0])


def test_a_roll_below_min_roll_deg_gives_a_coin_and_unknown_running_sides():
    weak = SideDetector(gait="running").detect(_session(0.4), IC, sampling_rate_hz=FS)
    assert weak.bouts_["confidence"].tolist() == [0.5] and (weak.sides_ == "").all()
    assert (weak.confidence_ == 0.5).all()
    strong = SideDetector(gait="running").detect(_session(1.0), IC, sampling_rate_hz=FS)
    assert strong.bouts_["confidence"].iloc[0] > 0.999 and strong.sides_.tolist() == ["L", "R"] * 8


def test_a_runner_half_a_step_off_is_unknown_and_a_whole_step_off_is_swapped():
    half = SideDetector(gait="running").detect(_session(shift_steps=0.5), IC, sampling_rate_hz=FS)
    assert half.bouts_["phase"].iloc[0] == pytest.approx(0.5, abs=0.03) or half.bouts_["phase"].iloc[
        0
    ] == pytest.approx(-0.5, abs=0.03)
    assert half.bouts_["confidence"].iloc[0] == pytest.approx(0.5, abs=0.1)  # d near 0.5: no evidence
    assert (half.sides_ == "").all()
    # An expected phase of one step means the roll peaks at the right contact: the sides swap, and
    # the bout's own phase (measured under the swapped labels) agrees with that expectation.
    swapped = SideDetector(gait="running", running_phase=1.0).detect(_session(), IC, sampling_rate_hz=FS)
    assert swapped.sides_.tolist() == ["R", "L"] * 8
    assert abs(swapped.bouts_["phase"].iloc[0]) == pytest.approx(1.0, abs=0.02)
    assert swapped.bouts_["confidence"].iloc[0] > 0.999


def test_a_lone_step_has_the_evidence_of_a_typical_score():
    # One step is its own median: score 1, log-odds evidence_gain (2) x 1, no neighbours.
    det = SideDetector(gait="running").detect(_session(), IC[:1], sampling_rate_hz=FS)
    assert det.score_.tolist() == [1.0] and det.alternate_.tolist() == [0] and det.bout_.tolist() == [0]
    assert det.posterior_[0] == pytest.approx(1 / (1 + math.exp(-2.0)))
    det = SideDetector(gait="running", evidence_gain=3.0).detect(_session(), IC[:1], sampling_rate_hz=FS)
    assert det.posterior_[0] == pytest.approx(1 / (1 + math.exp(-3.0)))
    # a score exactly at min_confidence is not weak
    assert (
        not SideDetector(gait="running", min_confidence=1.0)
        .detect(_session(), IC[:1], sampling_rate_hz=FS)
        .inferred_[0]
    )


def test_a_step_whose_own_roll_is_reversed_keeps_its_side_from_the_chain_and_is_flagged():
    # Step 5's roll rate is reversed: the obliquity turns back half way, so its own score is weak (and
    # here slightly on the wrong side); the confident neighbours give it R, and it is marked inferred.
    data = _session()
    data.loc[IC[5] : IC[6] - 1, "gyr_pa"] *= -1
    det = SideDetector(gait="running").detect(data, IC, sampling_rate_hz=FS)
    assert det.sides_.tolist() == ["L", "R"] * 8
    assert det.inferred_.tolist() == [j == 5 for j in range(16)]
    assert abs(det.score_[5]) < 0.25


def test_walking_sides_from_the_roll_rate_window():
    # Walking rule: the mean roll rate over 0.05-0.35 of the step. Here it is -A w sin(pi u) < 0 after
    # the even contacts: right by the walking rule, whatever the running rule says.
    det = SideDetector(gait="walking").detect(_session(), IC, sampling_rate_hz=FS)
    assert det.sides_.tolist() == ["R", "L"] * 8
    assert det.gait_.tolist() == ["walking"] * 16
    assert det.bouts_["gait"].tolist() == ["walking"] and det.bouts_["confidence"].tolist() == [1.0]
    assert np.isnan(det.bouts_["phase"].iloc[0]) and np.isnan(det.bouts_["roll_deg"].iloc[0])
    np.testing.assert_allclose(np.abs(det.score_), 1.0, atol=0.05)


def test_walking_sides_from_acc_ml_alone():
    # acc_ml +-1 m/s^2 in the middle of alternate steps (0.3-0.7 of the step): positive is left.
    ml = np.zeros(N)
    for j, c in enumerate(IC):
        ml[c + 10 : c + 25] = 1.0 if j % 2 else -1.0
    data = pd.DataFrame({"acc_is": np.full(N, G), "acc_ml": ml})
    det = SideDetector().detect(data, IC, sampling_rate_hz=FS)
    assert det.source_ == "acc_ml"
    assert det.sides_.tolist() == ["R", "L"] * 8
    assert (det.gait_ == "walking").all()


def test_weak_walking_steps_keep_their_side():
    # walking confidence below min_side_confidence does not blank the side (unlike running)
    det = SideDetector(gait="walking", min_side_confidence=1.0).detect(_session(), IC, sampling_rate_hz=FS)
    assert (det.confidence_ < 1.0).all() and det.sides_.tolist() == ["R", "L"] * 8
    det = SideDetector(gait="running", min_side_confidence=1.0).detect(_session(), IC, sampling_rate_hz=FS)
    assert (det.sides_ == "").all()


def test_the_vote_at_both_ends_counts_the_end_step_twice():
    run, walk = "running", "walking"
    assert _gait([2]) == [walk, walk, run]
    assert _gait([3], k=4) == [walk, walk, walk, run]
    assert _gait([], k=1) == [walk]


def test_the_flight_window_starts_a_third_into_the_step():
    # steps of 6 samples at 20 Hz: the window is [ic + 2, ic + 6); a dip at ic + 1 is not flight.
    for offset, gait in ((1, "walking"), (2, "running")):
        acc = np.full(18, G)
        acc[np.array([0, 6, 12]) + offset] = 0.0
        det = SideDetector().detect(pd.DataFrame({"acc_is": acc}), [0, 6, 12], sampling_rate_hz=20)
        assert (det.gait_ == gait).all(), offset


def test_a_step_at_the_end_of_the_data_looks_at_the_last_sample():
    # one contact on the last sample (default period 0.5 s = 10 samples): its window is that sample.
    for dip, gait in ((14, "running"), (13, "walking")):
        acc = np.full(15, G)
        acc[dip] = 0.0
        det = SideDetector().detect(pd.DataFrame({"acc_is": acc}), [14], sampling_rate_hz=20)
        assert det.gait_.tolist() == [gait], dip


@pytest.mark.parametrize(("n", "gait"), [(15, "running"), (16, "walking")])
def test_more_than_15_samples_are_low_passed_first(n, gait):
    # 40 Hz, steps of 8 samples; a one-sample dip to 0 g in each flight window. Low-passed at 10 Hz
    # (longer inputs only) such a spike is far shallower than the 0.2 g flight level.
    acc = np.full(n, G)
    acc[[4, 12]] = 0.0
    det = SideDetector().detect(pd.DataFrame({"acc_is": acc}), [0, 8], sampling_rate_hz=40)
    assert det.gait_.tolist() == [gait] * 2


def test_a_gyroscope_bias_does_not_move_the_sides_near_the_ends():
    # contacts from the first sample to the last step: the roll rate's mean is removed before the
    # integration, so a 20 deg/s bias leaves the same sides as none.
    ic = STEP * np.arange(20)
    n = int(ic[-1]) + STEP
    t = np.arange(n) / FS
    w = 2 * np.pi / (2 * STEP / FS)
    gyr = -2.0 * w * np.sin(w * t)
    clean = pd.DataFrame({"gyr_pa": gyr, "gyr_is": 0.0, "acc_is": G})
    biased = clean.assign(gyr_pa=gyr + 20.0)
    a = SideDetector(gait="running").detect(clean, ic, sampling_rate_hz=FS)
    b = SideDetector(gait="running").detect(biased, ic, sampling_rate_hz=FS)
    assert a.sides_.tolist() == ["L", "R"] * 10
    assert b.sides_.tolist() == ["L", "R"] * 10
    np.testing.assert_allclose(b.score_, a.score_, atol=0.05)


def test_a_change_of_pace_stays_one_bout():
    # intervals 0.2 s (x6) then 0.7 s (x6): the contact between them has the local period 0.45 s, so
    # the intervals next to it are 0.2 / 0.325 = 0.62 and 0.7 / 0.575 = 1.22 periods: all linked.
    ic = np.r_[0, np.cumsum([20] * 6 + [70] * 6)]
    det = SideDetector().detect(_flat(int(ic[-1]) + 10), ic, sampling_rate_hz=100)
    assert det.bout_.tolist() == [0] * 13
    assert det.alternate_.tolist() == [j % 2 for j in range(13)]


def test_the_two_gyroscope_columns_alone_are_enough():
    det = SideDetector().detect(_session()[["gyr_pa", "gyr_is"]], IC, sampling_rate_hz=FS)
    assert det.source_ == "gyroscope" and det.sides_.tolist() == ["L", "R"] * 8


def test_walking_contacts_given_as_whole_floats():
    det = SideDetector(gait="walking").detect(_session(), IC.astype(float), sampling_rate_hz=FS)
    assert det.sides_.tolist() == ["R", "L"] * 8


def test_no_contacts_give_empty_outputs_of_every_kind():
    det = SideDetector().detect(_session(), np.zeros(0, dtype=np.int64), sampling_rate_hz=FS)
    for name in (
        "sides_",
        "score_",
        "posterior_",
        "confidence_",
        "bout_",
        "alternate_",
        "gait_",
        "inferred_",
    ):
        assert len(getattr(det, name)) == 0, name
    assert det.bout_.dtype == np.int64 and len(det.bouts_) == 0
    assert list(det.bouts_.columns) == ["first", "last", "gait", "phase", "roll_deg", "confidence"]
    assert det.sides_.dtype.kind == "U" and det.gait_.dtype.kind == "U"


@pytest.mark.parametrize("bounds", [(1.0, 2.0), (0.5, 1.0)])
def test_an_interval_exactly_on_a_chain_bound_cuts_the_chain(bounds):
    # two contacts: the local period is their one interval, so the ratio is exactly 1
    det = SideDetector(chain_ratio=bounds).detect(_flat(100), [10, 60], sampling_rate_hz=100)
    assert det.bout_.tolist() == [0, 1]
    det = SideDetector(chain_ratio=(0.99, 1.01)).detect(_flat(100), [10, 60], sampling_rate_hz=100)
    assert det.bout_.tolist() == [0, 0]


def test_a_mixed_bout_without_a_gyroscope_gets_no_phase():
    # acc_ml only; a linked bout of three running steps and one walking step: running has no side
    # signal here, the bout is a running one, and without an obliquity it is not given a phase.
    data = pd.DataFrame({"acc_is": np.full(300, G), "acc_ml": np.zeros(300)})
    det = SideDetector().detect(
        data, [10, 60, 110, 160], sampling_rate_hz=100, activity=["run", "run", "run", "walk"]
    )
    row = det.bouts_.iloc[0]
    assert row["gait"] == "running" and np.isnan(row["phase"]) and row["confidence"] == 1.0
    assert det.sides_.tolist()[:3] == ["", "", ""] and det.sides_[3] in ("L", "R")


def test_a_lateral_offset_does_not_decide_walking_sides():
    # acc_ml +-1 m/s^2 in the middle of alternate steps plus a constant 0.8 m/s^2 (a lateral tilt):
    # the stride-long mean is removed first, so each step's own score (no chain: alternation_error
    # 0.5) has the sign of its push, as without the offset.
    ml = np.full(N, 0.8)
    for j, c in enumerate(IC):
        ml[c + 10 : c + 25] += 1.0 if j % 2 else -1.0
    data = pd.DataFrame({"acc_is": np.full(N, G), "acc_ml": ml})
    det = SideDetector(gait="walking", alternation_error=0.5).detect(data, IC, sampling_rate_hz=FS)
    assert det.sides_.tolist() == ["R", "L"] * 8


def test_walking_adds_the_roll_and_the_lateral_evidence():
    # a flat acc_ml adds nothing: the roll-rate window alone decides, as without acc_ml
    det = SideDetector(gait="walking").detect(_session(acc_ml=np.zeros(N)), IC, sampling_rate_hz=FS)
    assert det.source_ == "gyroscope" and det.sides_.tolist() == ["R", "L"] * 8


def test_running_and_walking_scores_are_scaled_separately():
    # the same roll scores differently under the two rules; each gait's steps are in units of their
    # own median, so both halves come out at +-1.
    act = ["run"] * 8 + ["walk"] * 8
    det = SideDetector().detect(_session(), IC, sampling_rate_hz=FS, activity=act)
    np.testing.assert_allclose(np.abs(det.score_), 1.0, atol=0.1)
    assert det.gait_.tolist() == ["running"] * 8 + ["walking"] * 8
    assert det.bouts_["gait"].tolist() == ["running"]  # half running is a running bout


def test_steps_without_any_roll_score_zero_and_are_a_coin():
    data = _session(0.0)
    det = SideDetector(gait="running").detect(data, IC, sampling_rate_hz=FS)
    assert det.score_.tolist() == [0.0] * 16
    np.testing.assert_allclose(det.posterior_, 0.5)
    assert (det.sides_ == "").all()
    # walking keeps its sides: no evidence at all (log-odds exactly 0) counts as left
    det = SideDetector(gait="walking").detect(data, IC, sampling_rate_hz=FS)
    assert det.sides_.tolist() == ["L"] * 16
    np.testing.assert_allclose(det.confidence_, 0.5)


def test_a_steps_own_evidence_is_capped_at_30():
    # walking on acc_ml; the first and last steps stand alone (2 s pauses) with a lateral push 100
    # times the others': their log-odds are capped at +-30, and nothing links them to the rest.
    ic = np.r_[70, 270 + STEP * np.arange(10), 270 + STEP * 9 + 200]
    n = int(ic[-1]) + 100
    ml = np.zeros(n)
    for j, c in enumerate(ic):
        ml[c + 10 : c + 25] = -1.0 if j % 2 else 1.0
    ml[ic[0] + 10 : ic[0] + 25] = 100.0
    ml[ic[-1] + 10 : ic[-1] + 25] = -100.0
    data = pd.DataFrame({"acc_is": np.full(n, G), "acc_ml": ml})
    det = SideDetector(gait="walking").detect(data, ic, sampling_rate_hz=FS)
    assert det.bout_.tolist() == [0] + [1] * 10 + [2]
    assert det.score_[0] > 15 and det.score_[-1] < -15
    assert det.posterior_[0] == 1 / (1 + math.exp(-30.0))
    assert det.posterior_[-1] == 1 / (1 + math.exp(30.0))


def test_the_posterior_log_odds_are_capped_at_50():
    # a perfect alternation (error 0) with strong steps: each step's own 10 plus two near-certain
    # messages (2 atanh(1 - 1e-12) = 28.3 each) exceed 50; the posterior is computed from +-50.
    det = SideDetector(gait="running", alternation_error=0.0, evidence_gain=10.0).detect(
        _session(), IC, sampling_rate_hz=FS
    )
    assert det.sides_.tolist() == ["L", "R"] * 8
    middle = det.posterior_[2:-2]
    np.testing.assert_array_equal(middle[1::2], 1 / (1 + math.exp(50.0)))
    np.testing.assert_array_equal(middle[0::2], 1 / (1 + math.exp(-50.0)))


def test_side_flags_at_their_thresholds():
    # every step's score is about +-1: all weak below a min_confidence of 1.5, even where right
    det = SideDetector(gait="running", min_confidence=1.5).detect(_session(), IC, sampling_rate_hz=FS)
    assert det.inferred_.all() and det.sides_.dtype.kind == "U"
    # no roll: confidence exactly 0.5, which a min_side_confidence of 0.5 does not blank
    det = SideDetector(gait="running", min_side_confidence=0.5).detect(_session(0.0), IC, sampling_rate_hz=FS)
    assert det.sides_.tolist() == ["L"] * 16
    # a zero score agrees with "left" (log-odds 0 is left): not inferred when nothing is weak
    det = SideDetector(gait="walking", min_confidence=0.0).detect(_session(0.0), IC, sampling_rate_hz=FS)
    assert not det.inferred_.any()


# -- the low-pass filters, against scipy.signal applied here ---------------------------------------
# The side signals are low-passed by a zero-phase Butterworth of order 2 (one pass, run forward and
# backward, gait.filters.lowpass) at ``lowpass_hz`` (6 Hz by default), the flight test's ``acc_is`` at
# 10 Hz; a signal of 15 samples or fewer is used as it is. The references below are built from
# scipy.signal (its own default padding) and plain NumPy only.


def _butter2(x: np.ndarray, cutoff_hz: float, fs: float) -> np.ndarray:
    """Zero-phase order-2 Butterworth, straight from scipy.signal."""
    sos = signal.butter(2, cutoff_hz, btype="low", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, np.asarray(x, dtype=float))


def _centred_mean(x: np.ndarray, size: int) -> np.ndarray:
    """Moving mean over samples ``i - size // 2`` to ``i - size // 2 + size - 1``, the edges repeating
    the end values."""
    half = size // 2
    padded = np.r_[np.full(half, x[0]), x, np.full(half, x[-1])]
    return np.convolve(padded, np.ones(size) / size, mode="valid")[: len(x)]


def _obliquity_reference(gyr: np.ndarray, fs: float, stride_s: float, cutoff_hz: float | None) -> np.ndarray:
    """Low-pass (or not), detrend over a stride, integrate, detrend again: the documented recipe."""
    size = round(stride_s * fs)
    x = _butter2(gyr, cutoff_hz, fs) if cutoff_hz is not None else np.asarray(gyr, dtype=float)
    x = x - _centred_mean(x, size)
    angle = np.cumsum(x) / fs
    return angle - _centred_mean(angle, size)


@pytest.mark.parametrize("cutoff", [6.0, 12.0])
def test_obliquity_is_the_order_2_lowpass_of_the_roll_rate_integrated(cutoff):
    rng = np.random.default_rng(7)
    fs, stride_s = 100.0, 1.01  # a 101-sample stride window
    gyr = rng.normal(0.0, 20.0, 600)  # white noise: every cut-off and order shows
    got = _obliquity(gyr.copy(), fs, stride_s, cutoff)
    np.testing.assert_allclose(got, _obliquity_reference(gyr, fs, stride_s, cutoff), rtol=0, atol=1e-9)
    # and the filter does matter on this input (else the comparison could not fail)
    assert np.abs(_obliquity_reference(gyr, fs, stride_s, None) - got).max() > 1e-3


@pytest.mark.parametrize(("n", "filtered"), [(15, False), (16, True)])
def test_obliquity_is_lowpassed_only_from_16_samples(n, filtered):
    rng = np.random.default_rng(n)
    fs, stride_s = 20.0, 0.55  # an 11-sample stride window
    gyr = rng.normal(0.0, 20.0, n)
    got = _obliquity(gyr.copy(), fs, stride_s, 6.0)
    want = _obliquity_reference(gyr, fs, stride_s, 6.0 if filtered else None)
    other = _obliquity_reference(gyr, fs, stride_s, None if filtered else 6.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert np.abs(other - want).max() > 1e-3


def _walking_reference(acc_ml: np.ndarray, ic: np.ndarray, step: int, fs: float, cutoff: float | None):
    """Walking scores (``acc_ml`` alone, regular steps of ``step`` samples): the mean of the low-passed
    signal, freed of its stride mean, over 0.3 to 0.7 of a step, in units of the median |score|."""
    x = _butter2(acc_ml, cutoff, fs) if cutoff is not None else np.asarray(acc_ml, dtype=float)
    x = x - _centred_mean(x, 2 * step)
    score = np.array([x[i + round(0.3 * step) : i + round(0.7 * step)].mean() for i in ic])
    return score / np.median(np.abs(score))


def test_walking_side_signal_is_lowpassed_at_6_hz_order_2_by_default():
    rng = np.random.default_rng(11)
    fs, step = 100.0, 50
    ic = np.arange(10, 1000, step)
    acc_ml = rng.normal(0.0, 1.0, 1060)
    det = SideDetector(gait="walking").detect(pd.DataFrame({"acc_ml": acc_ml}), ic, sampling_rate_hz=fs)
    assert det.source_ == "acc_ml"
    want = _walking_reference(acc_ml, ic, step, fs, 6.0)
    np.testing.assert_allclose(det.score_, want, rtol=0, atol=1e-9)
    for other in (None, 7.0):  # the comparison can fail: unfiltered or at 7 Hz the scores differ
        assert np.abs(_walking_reference(acc_ml, ic, step, fs, other) - want).max() > 1e-3


@pytest.mark.parametrize(("n", "filtered"), [(15, False), (16, True)])
def test_walking_side_signal_is_lowpassed_only_from_16_samples(n, filtered):
    rng = np.random.default_rng(100 + n)
    fs, step = 20.0, 7  # two contacts 0.35 s apart: a 14-sample (even) stride window
    ic = np.array([0, step])
    acc_ml = rng.normal(0.0, 1.0, n)
    det = SideDetector(gait="walking").detect(pd.DataFrame({"acc_ml": acc_ml}), ic, sampling_rate_hz=fs)
    want = _walking_reference(acc_ml, ic, step, fs, 6.0 if filtered else None)
    other = _walking_reference(acc_ml, ic, step, fs, None if filtered else 6.0)
    np.testing.assert_allclose(det.score_, want, rtol=0, atol=1e-9)
    assert np.abs(other - want).max() > 1e-3


@pytest.mark.parametrize("margin", [1e-9, -1e-9])
def test_flight_test_lowpass_is_order_2_at_10_hz(margin):
    # One step, so no vote: the step is running exactly when the 10 Hz order-2 low-pass of acc_is
    # dips below flight_g over the last two thirds of the step. flight_g is set a hair above (or
    # below) the reference's own minimum there, so another cut-off or order lands on the other side.
    rng = np.random.default_rng(3)
    fs, length = 100.0, 60
    acc = G + rng.normal(0.0, 4.0, 200)
    ic = np.array([50])
    low = _butter2(acc, 10.0, fs)[50 + length // 3 : 50 + length].min()
    det = SideDetector(flight_g=low / G * (1 + margin))
    got = det._running_steps(pd.DataFrame({"acc_is": acc}), ic, np.array([length]), fs)
    assert got.tolist() == [margin > 0]


def test_a_step_is_one_sample_long_at_the_lowest_rates():
    # At 2 Hz with no plausible interval the step is the default 0.5 s: one sample (not two), so the
    # flight window is the contact's sample alone and a dip at the next sample is no flight.
    acc = np.full(12, G)
    acc[[1, 7]] = 0.0  # the sample after each contact
    det = SideDetector().detect(pd.DataFrame({"acc_is": acc}), [0, 6], sampling_rate_hz=2.0)
    assert det.gait_.tolist() == ["walking", "walking"]
    acc[[0, 6]] = 0.0  # at the contact itself: flight
    det = SideDetector().detect(pd.DataFrame({"acc_is": acc}), [0, 6], sampling_rate_hz=2.0)
    assert det.gait_.tolist() == ["running", "running"]
