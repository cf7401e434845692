"""Tests that kill the mutants of hipsense.gait.events the other tests let survive (docs/testing.md).

The half-sine and real-data tests check that events land in the right place; these pin what they
cannot see: the one-line errors of the input check and its boundaries (lowest rate, shortest input),
and the detector's arithmetic on small hand-built signals whose events can be worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import signal

from hipsense.conventions import G
from hipsense.gait import EventDetectionError, RunningContactDetector
from hipsense.gait.events import MIN_DURATION_S, check_detector_input


def _flat(n: int, value_g: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame({"acc_is": np.full(n, value_g * G)})


def _message(data, fs, **params) -> str:
    with pytest.raises(EventDetectionError) as e:
        RunningContactDetector(**params).detect(data, sampling_rate_hz=fs)
    return str(e.value)


# -- the input check ----------------------------------------------------------------------------------


POSITIVE = [
    "lowpass_hz",
    "step_lowpass_hz",
    "body_weight_window_s",
    "flight_threshold_g",
    "min_flight_s",
    "to_threshold_g",
    "to_hysteresis_g",
    "min_effective_contact_s",
    "ic_ceiling_g",
]
BAD = [0.0, -1.0, float("nan"), float("inf"), "1"]


@pytest.mark.parametrize(("name", "value"), [(n, v) for n in POSITIVE for v in BAD])
def test_every_positive_parameter_is_checked_with_its_name(name, value):
    assert _message(_flat(300), 208.0, **{name: value}) == (
        f"parameter {name} must be a positive number, got {value!r}"
    )


def test_a_text_step_low_pass_is_refused_with_a_message():
    assert _message(_flat(300), 208.0, step_lowpass_hz="1") == (
        "parameter step_lowpass_hz must be a positive number, got '1'"
    )


@pytest.mark.parametrize("value", [0, -2, 2.0, "4", None])
def test_filter_order_must_be_a_positive_integer(value):
    assert _message(_flat(300), 208.0, filter_order=value) == (
        f"parameter filter_order must be a positive integer, got {value!r}"
    )


def test_filter_order_one_and_numpy_integers_are_accepted():
    for order in (1, np.int64(2)):
        det = RunningContactDetector(filter_order=order).detect(_flat(300), sampling_rate_hz=208.0)
        assert det.diagnostics_["n_samples"] == 300


def test_a_parameter_given_as_an_int_is_accepted():
    det = RunningContactDetector(lowpass_hz=30).detect(_flat(300), sampling_rate_hz=208.0)
    assert det.diagnostics_["n_stances"] == 0


@pytest.mark.parametrize(
    ("data", "fs", "message"),
    [
        (np.full(300, G), 208.0, "data must be a pandas DataFrame, got ndarray"),
        (
            pd.DataFrame({"acc_x": np.full(300, G)}),
            208.0,
            "event detection needs the body-frame column acc_is (m/s^2); align the sensor frame first",
        ),
        (_flat(300), "fast", "sampling_rate_hz must be a number, got 'fast'"),
        (_flat(300), None, "sampling_rate_hz must be a number, got None"),
        (_flat(300), 49.9, "sampling_rate_hz=49.9 is too low or invalid (need >= 50 Hz)"),
        (_flat(300), float("nan"), "sampling_rate_hz=nan is too low or invalid (need >= 50 Hz)"),
        (_flat(300), float("inf"), "sampling_rate_hz=inf is too low or invalid (need >= 50 Hz)"),
        (_flat(0), 208.0, "no data: the DataFrame is empty"),
        (_flat(103), 208.0, "too short for event detection: 103 samples (0.50 s), need at least 0.5 s"),
        (_flat(49), 100.0, "too short for event detection: 49 samples (0.49 s), need at least 0.5 s"),
    ],
)
def test_bad_input_messages(data, fs, message):
    assert _message(data, fs) == message


def test_non_finite_values_are_counted():
    acc = np.full(300, G)
    acc[[3, 10]] = np.nan
    acc[20] = np.inf
    assert _message(pd.DataFrame({"acc_is": acc}), 208.0) == (
        "acc_is has 3 NaN or infinite values; fill or cut gaps first"
    )


def test_the_lowest_rate_and_the_shortest_input_are_accepted():
    assert MIN_DURATION_S == 0.5
    det = RunningContactDetector().detect(_flat(104), sampling_rate_hz=208.0)  # exactly 0.5 s
    assert det.diagnostics_["n_samples"] == 104
    det = RunningContactDetector().detect(_flat(25), sampling_rate_hz=50.0)  # exactly 50 Hz
    assert det.diagnostics_["sampling_rate_hz"] == 50.0


def test_the_lowest_rate_follows_the_step_low_pass():
    # 2.5 x a 30 Hz step low-pass: 75 Hz
    assert _message(_flat(300), 74.0, step_lowpass_hz=30.0) == (
        "sampling_rate_hz=74.0 is too low or invalid (need >= 75 Hz)"
    )
    det = RunningContactDetector(step_lowpass_hz=30.0).detect(_flat(300), sampling_rate_hz=75.0)
    assert det.diagnostics_["sampling_rate_hz"] == 75.0


def test_check_detector_input_returns_the_rate_as_a_float():
    class Probe:
        width = 2

    fs = check_detector_input(
        Probe(),
        _flat(10),
        np.int64(20),
        positive=("width",),
        column="acc_is",
        task="probing",
        min_rate_hz=20.0,
        min_duration_s=0.5,
    )
    assert fs == 20.0 and isinstance(fs, float)
    with pytest.raises(EventDetectionError) as e:
        check_detector_input(
            Probe(),
            _flat(9),
            20,
            positive=(),
            column="acc_is",
            task="probing",
            min_rate_hz=1,
            min_duration_s=0.5,
        )
    assert str(e.value) == "too short for probing: 9 samples (0.45 s), need at least 0.5 s"
    with pytest.raises(EventDetectionError) as e:
        check_detector_input(
            Probe(),
            _flat(10),
            20,
            positive=(),
            column="gyr",
            task="probing",
            min_rate_hz=1,
            min_duration_s=0.5,
        )
    assert str(e.value) == "probing needs the body-frame column gyr (m/s^2); align the sensor frame first"
    with pytest.raises(EventDetectionError) as e:
        check_detector_input(
            Probe(),
            _flat(10),
            2,
            positive=(),
            column="acc_is",
            task="probing",
            min_rate_hz=2.5,
            min_duration_s=0.5,
        )
    assert str(e.value) == "sampling_rate_hz=2 is too low or invalid (need >= 2.5 Hz)"


def test_an_errors_type_is_both_a_hipsense_error_and_a_value_error():
    from hipsense.errors import HipsenseError

    assert issubclass(EventDetectionError, HipsenseError) and issubclass(EventDetectionError, ValueError)


@pytest.mark.parametrize("margin", [0, 0.0, -0.1, float("nan"), float("inf"), True, "0.1"])
def test_the_plateau_margin_is_positive_or_none(margin):
    assert _message(_flat(300), 208.0, to_plateau_margin_g=margin) == (
        f"parameter to_plateau_margin_g must be a positive number or None, got {margin!r}"
    )


@pytest.mark.parametrize("margin", [None, 1, 0.15])
def test_a_plateau_margin_of_none_or_a_positive_number_is_accepted(margin):
    det = RunningContactDetector(to_plateau_margin_g=margin).detect(_flat(300), sampling_rate_hz=208.0)
    assert det.diagnostics_["n_stances"] == 0


# -- the late-stance pause (hand-built descents) --------------------------------------------------------
# _plateau reads the event signal x and its slope as given: a pause is the last local maximum of the
# slope (at least as high as the sample before, higher than the one after) in the final descent, i.e.
# after the last sample at body weight (flight level + 1 g), that is at most a fifth as steep as the
# descent's steepest and lies above the TO level. Its height is x there; -inf without one.
X = np.array([2.0, 1.5, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.0])


def _pause(slope, x=X, start=0, stop=11, thr=0.15) -> float:
    out = RunningContactDetector()._plateau(
        np.asarray(x, dtype=float),
        np.asarray(slope, dtype=float),
        np.array([start]),
        np.array([stop]),
        np.array([0.0]),
        np.array([thr]),
    )
    return float(out[0])


# steepest (-1.0) at sample 8; samples 0-2 are at or above body weight (x[2] is exactly 1 g)
BASE = [-0.5, -0.5, -0.5, -0.6, -0.7, -0.8, -0.85, -0.9, -1.0, -0.95, -0.9, -0.9]


def _slope(**at: float) -> list[float]:
    s = list(BASE)
    for key, value in at.items():
        s[int(key[1:])] = value
    return s


def test_no_slowing_of_the_descent_is_no_pause():
    assert _pause(BASE) == -np.inf


def test_the_first_sample_after_the_last_at_body_weight_can_be_the_pause():
    # the descent slows at sample 3 (-0.1 between -0.6 and -0.7), just after the heavy x[2] = 1.0
    assert _pause(_slope(s2=-0.6, s3=-0.1, s4=-0.7)) == 0.9


def test_a_slowing_on_the_last_sample_at_body_weight_is_not_the_pause():
    # x[2] is exactly flight + 1 g: still heavy, so the final descent starts at sample 3
    assert _pause(_slope(s1=-0.6, s2=-0.1, s3=-0.7)) == -np.inf


def test_a_flat_top_of_the_slope_counts_at_its_last_sample():
    # s4 = s5 = -0.1, then steeper: sample 5 is the local maximum (>= before, > after), sample 4 is not
    assert _pause(_slope(s3=-0.6, s4=-0.1, s5=-0.1, s6=-0.7)) == 0.7


def test_a_slope_level_with_the_next_sample_is_not_a_maximum():
    # s10 = s11 = -0.1: sample 10 is not higher than the one after it
    assert _pause(_slope(s9=-0.5, s10=-0.1, s11=-0.1)) == -np.inf


def test_a_pause_exactly_a_fifth_as_steep_counts():
    assert _pause(_slope(s3=-0.6, s4=-0.2, s5=-0.7)) == 0.8  # 0.2 x -1.0
    assert _pause(_slope(s3=-0.6, s4=-0.21, s5=-0.7)) == -np.inf


def test_the_last_of_several_pauses_is_taken():
    # after a slowing at sample 4 the descent keeps easing off, steadily steeper again each sample:
    # only sample 4 rises above the sample before it.
    s = [-0.5, -0.5, -0.5, -1.0, -0.05, -0.06, -0.07, -0.08, -0.09, -0.10, -0.11, -0.12]
    assert _pause(s) == 0.8
    # a second slowing at sample 9 is later
    s[9], s[10] = -0.01, -0.2
    assert _pause(s) == 0.3


def test_the_steepest_may_be_the_first_sample():
    # no sample at body weight: the final descent is the whole range from sample 0, steepest there
    x = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]
    s = [-1.0, -0.15, -0.1, -0.3, -0.35, -0.4, -0.45, -0.5, -0.55, -0.6, -0.65, -0.7]
    assert _pause(s, x=x) == 0.85


def test_a_pause_at_the_to_level_itself_is_not_above_it():
    s = _slope(s9=-0.5, s10=-0.1, s11=-0.9)  # a slowing at sample 10, where x = 0.2
    assert _pause(s, thr=0.19) == 0.2
    assert _pause(s, thr=0.2) == -np.inf


# -- whole runs of hand-built stances ---------------------------------------------------------------


def _run(fs=200.0, steps=12, contact=50, flight=20, lead=None, first=None):
    """Half-sine stances of ``contact`` samples (mean 1 g over the step) between flights of 0 g;
    ``lead`` samples of flight first (default one flight), optionally starting at ``first`` g."""
    period = contact + flight
    amp = np.pi / 2 * period / contact
    lead = flight if lead is None else lead
    acc = np.zeros(lead + steps * period)
    u = np.arange(contact) / contact
    for j in range(steps):
        a = lead + j * period
        acc[a : a + contact] = amp * np.sin(np.pi * u)
    if first is not None:
        acc[:lead] = np.linspace(first, 0.0, lead)
    return pd.DataFrame({"acc_is": acc * G}), lead + period * np.arange(steps)


def test_gaps_with_too_little_flight_give_no_contacts_at_all():
    data, _ = _run()
    det = RunningContactDetector(min_flight_s=1.0).detect(data, sampling_rate_hz=200.0)
    assert det.diagnostics_["n_stances"] == 12
    assert (det.gaps_["flight_samples"].iloc[1:-1] > 0).all() and not det.gaps_["has_flight"].any()
    assert det.ic_list_.empty and det.to_list_.empty


def test_the_first_contact_is_found_when_the_data_start_at_the_flights_lowest_point():
    data, ic = _run(lead=40, first=-0.2)
    det = RunningContactDetector().detect(data, sampling_rate_hz=200.0)
    assert det.gaps_["has_flight"].iloc[0]
    assert det.events_["ic_s"].iloc[0] == pytest.approx(ic[0] / 200.0, abs=1 / 200.0)


# -- the IC tangent on hand-built rises ---------------------------------------------------------------
# _initial_contacts reads the event signal x, its slope (np.gradient, as detect computes it), the
# body-weight line and, per stance, its end, its smoothed peak, the flight level and the flight's
# lowest point. Weight acceptance runs from the lowest point to the first local maximum of x after it
# first reaches the body-weight line (or from the peak if it never does), capped where x first reaches
# the flight level + ic_ceiling_g; IC is where the tangent at its steepest rise meets the flight level.
RISE = np.r_[np.zeros(5), 0.05, 0.1, 0.15, 0.2, 0.18, 0.4, 0.6, 0.8, 0.95, np.full(6, 0.95)]


def _ic(x, bw, *, peak=13, end=18, ceiling_g=1.0) -> float:
    x = np.asarray(x, dtype=float)
    out = RunningContactDetector(ic_ceiling_g=ceiling_g)._initial_contacts(
        x,
        np.gradient(x),
        np.full(len(x), float(bw)),
        np.array([end]),
        np.array([peak]),
        np.array([0.0]),
        np.array([0]),
        np.array([True]),
    )
    return float(out[0])


def test_a_rise_that_never_reaches_body_weight_is_timed_up_to_its_peak():
    # no sample reaches the line (1 g): the search starts at the peak (13), where no local maximum
    # follows, so the rise up to 13 counts; steepest at 10 (slope (0.6 - 0.18) / 2 = 0.21), x = 0.4
    assert _ic(RISE, 1.0) == pytest.approx(10 - 0.4 / 0.21)


def test_a_rise_already_at_body_weight_ends_at_its_first_local_maximum():
    # the line at 0 g: the first sample is on it, so weight acceptance ends at the wiggle at 8;
    # steepest before it at 5 (slope 0.05), x = 0.05: the tangent meets 0 at 4
    assert _ic(RISE, 0.0) == pytest.approx(4.0)


def test_a_local_maximum_exactly_on_the_body_weight_line_ends_weight_acceptance():
    # x reaches the line (1.0) exactly at its local maximum, sample 8; a steeper climb follows.
    # Without the ceiling (5 g) the weight acceptance ends there: steepest at 5 (slope 0.25), x = 0.25.
    x = np.r_[np.zeros(5), 0.25, 0.5, 0.75, 1.0, 0.98, 1.5, 2.0, 2.5, 2.6, np.full(6, 2.6)]
    assert _ic(x, 1.0, ceiling_g=5.0) == pytest.approx(4.0)


def test_a_flat_top_counts_as_a_local_maximum():
    # the rise levels off at 0.2 (samples 8 and 9) and dips: 9 is the first local maximum (at least
    # the sample before, above the one after), so weight acceptance ends there; steepest at 5.
    x = np.r_[np.zeros(5), 0.05, 0.1, 0.15, 0.2, 0.2, 0.18, 0.4, 0.6, 0.8, 0.95, np.full(5, 0.95)]
    assert _ic(x, 0.0, peak=14, end=19) == pytest.approx(4.0)


def test_a_flat_step_in_a_rise_is_not_a_local_maximum():
    # the rise pauses at 0.2 (samples 7 and 8) and climbs on: no local maximum, the rise up to the
    # peak (12) counts; steepest at 9 (slope (0.6 - 0.2) / 2 = 0.2), x = 0.4
    x = np.r_[np.zeros(5), 0.05, 0.1, 0.2, 0.2, 0.4, 0.6, 0.8, 0.95, np.full(5, 0.95)]
    assert _ic(x, 0.0, peak=12, end=17) == pytest.approx(9 - 0.4 / 0.2)


def test_weight_acceptance_ends_on_the_first_sample_at_body_weight():
    # x reaches exactly flight + 1 g at sample 8 and climbs on, steeper, to a peak at 12: the rise is
    # cut at 8, steepest there (slope (1.5 - 0.75) / 2 = 0.375), so IC = 8 - 1.0 / 0.375.
    x = np.r_[np.zeros(5), 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 2.6, np.full(5, 2.5)]
    assert _ic(x, 0.0, peak=12, end=17) == pytest.approx(8 - 1.0 / 0.375)


def test_a_rise_that_starts_at_body_weight_has_no_contact():
    # the first sample (the flight's lowest point) is already 1 g above the flight level, and flat:
    # weight acceptance is that sample alone, with no rise: no IC.
    x = [1.0, 1.0, 1.0, 1.0, 3.0, 3.1, 3.0, 3.0, 3.0]
    assert np.isnan(_ic(x, 0.0, peak=5, end=8))


def test_the_contact_is_not_after_the_steepest_rise():
    # the steepest rise (sample 1, slope 0.25) is still below the flight level (x = -0.5): its tangent
    # meets the level after it, at 3, and the onset is held at the steepest sample.
    x = [-0.6, -0.5, -0.1, -0.05, 0.0, 0.05, 0.1, 0.12, 0.11, 0.11]
    assert _ic(x, -1.0, peak=7, end=9) == 1.0


def test_weight_acceptance_ends_on_the_ceiling_one_sample_before_the_peak():
    # A rise still accelerating at the stance peak (no local maximum): the end is the peak (8), unless
    # the ceiling (1.2 g) is reached first, at 7. The steepest rise up to 7 is at 7 (slope 0.6, x 1.5):
    # its tangent meets the flight level (0) 2.5 samples earlier. Up to 8 it would be at 8 (0.75).
    x = [0.0, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0, 1.5, 2.2, 3.0, 3.9]
    assert _ic(x, 0.5, peak=8, end=10, ceiling_g=1.2) == pytest.approx(4.5)


def test_the_contact_is_not_before_the_flights_lowest_point():
    # A flight level below the lowest point (a direct call: detect's level, the median of the flight,
    # is never below it): the tangent from the steepest rise (sample 5, slope 0.35, x 0.6) meets the
    # level at 5 - 1.6 / 0.35 = 0.43, before the lowest point (2), and is held there.
    x = np.array([0.5, 0.2, 0.0, 0.1, 0.3, 0.6, 1.0, 1.2, 1.1, 1.1])
    out = RunningContactDetector(ic_ceiling_g=5.0)._initial_contacts(
        x,
        np.gradient(x),
        np.full(len(x), 0.5),
        np.array([9]),
        np.array([7]),
        np.array([-1.0]),
        np.array([2]),
        np.array([True]),
    )
    assert out.tolist() == [2.0]


# -- the TO trigger on hand-built descents (pause rule off) -----------------------------------------
# _toe_offs: from the stance peak to the flight's lowest point, TO is the first downward crossing of
# flight level + 0.15 g after the signal was last at or above that + 0.05 g, interpolated linearly.


def _to(x, *, peak=0, low, level=0.0) -> float:
    x = np.asarray(x, dtype=float)
    out = RunningContactDetector(to_plateau_margin_g=None)._toe_offs(
        x, np.gradient(x), np.array([peak]), np.array([level]), np.array([low]), np.array([True])
    )
    return float(out[0])


def test_to_is_interpolated_between_the_samples_around_the_crossing():
    # 0.2 at 5, 0.1 at 6: the 0.15 g level is passed half way
    assert _to([2.0, 1.5, 1.0, 0.6, 0.3, 0.2, 0.1, 0.0, 0.0, 0.0], low=7) == pytest.approx(5.5)


def test_a_rebound_exactly_to_the_hysteresis_band_rearms_the_trigger():
    # down through 0.15 at 4-5, back up to exactly 0.2 (0.15 + 0.05) at 6, down again: the last
    # crossing counts, 6 + (0.2 - 0.15) / 0.1
    assert _to([2.0, 1.5, 1.0, 0.6, 0.3, 0.14, 0.2, 0.1, 0.0, 0.0], low=8) == pytest.approx(6.5)


def test_a_slow_end_of_the_descent_crosses_later():
    # last at 0.2 or above at 1 (0.5); 0.18 and 0.16 are above the level: the crossing is at 3-4
    assert _to([1.0, 0.5, 0.18, 0.16, 0.1, 0.0, 0.0], low=5) == pytest.approx(3 + 0.01 / 0.06)


def test_a_sample_exactly_on_the_to_level_is_the_crossing():
    assert _to([1.0, 0.5, 0.15, 0.1, 0.0, 0.0], low=4) == 2.0


def test_the_crossing_may_be_on_the_stance_peak_itself():
    # the peak (sample 0) is below the hysteresis band and just above the level
    assert _to([0.18, 0.1, 0.0, 0.0], low=2) == pytest.approx(0.375)


def test_no_crossing_before_the_flights_lowest_point_is_no_to():
    # the flight bottoms out at 0.5 g, above the level (0.3 + 0.15): no TO, even after a rising start
    assert np.isnan(_to([1.0, 2.0, 1.0, 0.6, 0.5, 0.5], peak=1, low=4, level=0.3))


# -- the output tables of a hand-built run -------------------------------------------------------------


def test_the_gap_table_and_the_counts():
    data, _ = _run()
    det = RunningContactDetector().detect(data, sampling_rate_hz=200.0)
    gaps = det.gaps_
    assert list(gaps.columns) == ["start", "end", "has_flight", "flight_samples", "flight_level_g"]
    assert gaps.index.name == "gap_id" and gaps.index.tolist() == list(range(13))
    assert str(gaps["start"].dtype) == "int64" and str(gaps["end"].dtype) == "int64"
    assert str(gaps["flight_samples"].dtype) == "int64"
    assert gaps["has_flight"].dtype == bool and gaps["has_flight"].all()
    assert gaps["start"].iloc[0] == 0 and gaps["end"].iloc[-1] == len(data)
    assert set(det.diagnostics_) == {
        "n_samples",
        "sampling_rate_hz",
        "n_stances",
        "n_ic",
        "n_to",
        "n_contact_times",
        "n_gaps_with_flight",
        "n_gaps_without_flight",
    }
    assert det.diagnostics_["n_gaps_with_flight"] == 13 and det.diagnostics_["n_gaps_without_flight"] == 0
    none = RunningContactDetector(min_flight_s=1.0).detect(data, sampling_rate_hz=200.0)
    assert none.diagnostics_["n_gaps_with_flight"] == 0 and none.diagnostics_["n_gaps_without_flight"] == 13


def test_the_event_table_types_and_flight_times():
    data, ic = _run()
    ev = RunningContactDetector().detect(data, sampling_rate_hz=200.0).events_
    assert ev["flight_before"].dtype == bool and ev["flight_after"].dtype == bool
    assert ev["flight_before"].all() and ev["flight_after"].all()
    assert str(ev["stance_peak"].dtype) == "int64"
    assert ev["flight_time_s"].dtype == float and np.isnan(ev["flight_time_s"].iloc[-1])
    np.testing.assert_allclose(ev["ic_s"], ic / 200.0, atol=1 / 200.0)


def test_two_stances_have_one_flight_time():
    data, _ = _run(steps=2)
    ev = RunningContactDetector().detect(data, sampling_rate_hz=200.0).events_
    assert len(ev) == 2
    assert ev["flight_time_s"].iloc[0] == pytest.approx(ev["ic_s"].iloc[1] - ev["to_s"].iloc[0])
    assert np.isnan(ev["flight_time_s"].iloc[1])


def test_stances_shorter_than_min_effective_contact_are_dropped():
    data, _ = _run()
    det = RunningContactDetector().detect(data, sampling_rate_hz=200.0)
    gaps = det.gaps_
    length = gaps["start"].to_numpy()[1:] - gaps["end"].to_numpy()[:-1]  # each stance's run
    shortest = int(length.min())
    keep = RunningContactDetector(min_effective_contact_s=shortest / 200.0).detect(
        data, sampling_rate_hz=200.0
    )
    assert keep.diagnostics_["n_stances"] == 12
    drop = RunningContactDetector(min_effective_contact_s=(shortest + 1) / 200.0).detect(
        data, sampling_rate_hz=200.0
    )
    assert drop.diagnostics_["n_stances"] == 12 - int((length == shortest).sum())
    none = RunningContactDetector(min_effective_contact_s=1.0).detect(data, sampling_rate_hz=200.0)
    assert none.diagnostics_["n_stances"] == 0


def test_the_event_signal_is_the_documented_low_pass():
    from hipsense.gait.filters import lowpass

    data, _ = _run()
    for order in (2, 4):
        det = RunningContactDetector(filter_order=order).detect(data, sampling_rate_hz=200.0)
        expected = lowpass(data["acc_is"].to_numpy() / G, 30.0, 200.0, order)
        np.testing.assert_array_equal(det.signal_g_, expected)


def test_a_text_column_is_refused_with_a_message():
    data = pd.DataFrame({"acc_is": ["9.8"] * 150 + ["x"] * 150})
    assert _message(data, 208.0) == ("acc_is holds values that are not numbers; convert it to floats first")


def test_a_column_of_numbers_written_as_text_is_read():
    # "9.8" converts to a float: only values that are not numbers are refused.
    det = RunningContactDetector().detect(pd.DataFrame({"acc_is": ["9.8"] * 300}), sampling_rate_hz=208.0)
    assert det.diagnostics_["n_samples"] == 300


def test_a_gap_with_exactly_min_flight_s_of_flight_has_a_flight():
    data, _ = _run()
    det = RunningContactDetector().detect(data, sampling_rate_hz=200.0)
    samples = det.gaps_["flight_samples"].to_numpy()
    least = int(samples.min())
    at = RunningContactDetector(min_flight_s=least / 200.0).detect(data, sampling_rate_hz=200.0)
    assert at.gaps_["has_flight"].all()
    above = RunningContactDetector(min_flight_s=(least + 1) / 200.0).detect(data, sampling_rate_hz=200.0)
    np.testing.assert_array_equal(above.gaps_["has_flight"], samples > least)


# -- the stance finder against an independent computation ------------------------------------------
# Stances are runs of acc_is low-passed at step_lowpass_hz (Butterworth of order 2, zero-phase) above
# the body-weight line (a centred moving mean over body_weight_window_s). The test designs the filter
# with scipy itself and finds the runs, peaks and kept stances with plain Python loops.


def _noise(fs: float, seconds: float, seed: int) -> np.ndarray:
    """White noise in m/s^2 about 2 g, scaled so that its 6 Hz low-pass has an SD of about 0.5 g."""
    rng = np.random.default_rng(seed)
    return (2.0 + 0.5 * np.sqrt(fs / 12.0) * rng.standard_normal(int(seconds * fs))) * G


def _smooth(acc_g: np.ndarray, cutoff_hz: float, fs: float) -> np.ndarray:
    sos = signal.butter(2, cutoff_hz, fs=fs, output="sos")
    return signal.sosfiltfilt(sos, acc_g, padlen=min(3 * (2 * len(sos) + 1), len(acc_g) - 1))


def _stances(smooth, bw, fs, min_contact_s, min_excess_g):
    """Runs of ``smooth > bw`` as (start, end, first argmax), kept by length and peak excess."""
    out, start = [], None
    for i, above in enumerate(list(smooth > bw) + [False]):
        if above and start is None:
            start = i
        elif not above and start is not None:
            peak = start + int(np.argmax(smooth[start:i]))
            if i - start >= max(1, round(min_contact_s * fs)) and smooth[peak] - bw[peak] >= min_excess_g:
                out.append((start, i, peak))
            start = None
    return out


def test_the_body_weight_line_is_a_centred_two_second_mean():
    fs = 100.0
    acc_g = _noise(fs, 8.0, 1) / G
    det = RunningContactDetector().detect(pd.DataFrame({"acc_is": acc_g * G}), sampling_rate_hz=fs)
    size = 200  # 2 s; an even window covers i - 100 .. i + 99, the edges repeat the end samples
    padded = np.r_[np.full(100, acc_g[0]), acc_g, np.full(99, acc_g[-1])]
    expected = np.array([padded[i : i + size].mean() for i in range(len(acc_g))])
    np.testing.assert_allclose(det.body_weight_g_, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("fs", "params"),
    [(200.0, {}), (50.0, {"min_effective_contact_s": 0.01, "min_peak_excess_g": 1e-9})],
)
def test_the_stances_are_runs_of_the_documented_step_low_pass_above_the_line(fs, params):
    data = pd.DataFrame({"acc_is": _noise(fs, 12.0, 2)})
    det = RunningContactDetector(**params).detect(data, sampling_rate_hz=fs)
    smooth = _smooth(data["acc_is"].to_numpy() / G, 6.0, fs)
    expected = _stances(
        smooth,
        det.body_weight_g_,
        fs,
        params.get("min_effective_contact_s", 0.04),
        params.get("min_peak_excess_g", 0.25),
    )
    assert len(expected) > 10
    assert det.events_["stance_peak"].tolist() == [p for _, _, p in expected]
    if params:
        # A run of one sample is kept when min_effective_contact_s rounds to less than one sample.
        assert any(e - s == 1 for s, e, _ in expected)


def test_a_stance_exactly_at_min_peak_excess_is_kept():
    fs = 200.0
    data = pd.DataFrame({"acc_is": _noise(fs, 12.0, 3)})
    det = RunningContactDetector().detect(data, sampling_rate_hz=fs)
    smooth = _smooth(data["acc_is"].to_numpy() / G, 6.0, fs)
    bw = det.body_weight_g_
    peak = int(det.events_["stance_peak"].iloc[3])
    excess = float(smooth[peak] - bw[peak])
    at = RunningContactDetector(min_peak_excess_g=excess).detect(data, sampling_rate_hz=fs)
    assert peak in at.events_["stance_peak"].tolist()
    above = RunningContactDetector(min_peak_excess_g=np.nextafter(excess, np.inf)).detect(
        data, sampling_rate_hz=fs
    )
    assert peak not in above.events_["stance_peak"].tolist()


def test_a_stance_peaking_on_the_first_sample_is_judged_there():
    fs = 200.0
    acc = _noise(fs, 12.0, 4)
    acc[:20] = np.linspace(6.0, 2.5, 20) * G  # the data start in a stance, at its highest
    data = pd.DataFrame({"acc_is": acc})
    det = RunningContactDetector().detect(data, sampling_rate_hz=fs)
    smooth = _smooth(acc / G, 6.0, fs)
    bw = det.body_weight_g_
    assert det.events_["stance_peak"].iloc[0] == 0
    # One sample later the smoothed signal is lower and the line differs, so the excess read there
    # would differ: exactly the excess at sample 0 keeps the stance, one float more drops it.
    assert smooth[1] < smooth[0] and bw[1] != bw[0]
    excess = float(smooth[0] - bw[0])
    at = RunningContactDetector(min_peak_excess_g=excess).detect(data, sampling_rate_hz=fs)
    assert at.events_["stance_peak"].iloc[0] == 0
    above = RunningContactDetector(min_peak_excess_g=np.nextafter(excess, np.inf))
    assert 0 not in above.detect(data, sampling_rate_hz=fs).events_["stance_peak"].tolist()


def test_flight_is_counted_strictly_below_the_threshold_from_one_sample_on():
    fs = 50.0
    data = pd.DataFrame({"acc_is": _noise(fs, 12.0, 5)})
    first = RunningContactDetector().detect(data, sampling_rate_hz=fs)
    x = first.signal_g_
    gaps = first.gaps_
    # A threshold exactly on a gap's second-lowest sample: only its lowest sample is below it.
    sorted_gaps = [np.sort(x[s:e]) for s, e in zip(gaps["start"], gaps["end"], strict=True)]
    j = next(i for i, v in enumerate(sorted_gaps) if len(v) > 1 and 0 < v[0] < v[1])
    values = sorted_gaps[j]
    det = RunningContactDetector(flight_threshold_g=float(values[1]), min_flight_s=0.001).detect(
        data, sampling_rate_hz=fs
    )
    pd.testing.assert_frame_equal(det.gaps_[["start", "end"]], gaps[["start", "end"]])
    below = [int((x[s:e] < values[1]).sum()) for s, e in zip(gaps["start"], gaps["end"], strict=True)]
    assert below[j] == 1
    assert det.gaps_["flight_samples"].tolist() == below
    assert det.gaps_["has_flight"].tolist() == [b >= 1 for b in below]


def _times(ic_frac, to_frac) -> pd.DataFrame:
    """The event table ``_store`` makes of two stances with these IC and TO samples (at 100 Hz)."""
    det = RunningContactDetector()
    n = 100
    det._store(
        100.0,
        n,
        np.zeros(n),
        np.ones(n),
        np.array([10, 40]),
        np.array([15, 45]),
        np.array([0, 30, 60]),
        np.array([10, 40, n]),
        np.ones(3, dtype=bool),
        np.full(3, 5),
        np.zeros(3),
        np.asarray(ic_frac, dtype=float),
        np.asarray(to_frac, dtype=float),
    )
    return det.events_[["contact_time_s", "flight_time_s"]]


def test_a_contact_or_flight_time_of_zero_is_not_a_time():
    # detect never makes them (IC lies before the stance peak, TO after it); _store does not either.
    np.testing.assert_allclose(_times([10, 30], [20, 50]).to_numpy(), [[0.1, 0.1], [0.2, np.nan]])
    np.testing.assert_allclose(_times([10, 30], [10, 50]).to_numpy(), [[np.nan, 0.2], [0.2, np.nan]])
    np.testing.assert_allclose(_times([10, 30], [30, 50]).to_numpy(), [[0.2, np.nan], [0.2, np.nan]])
