"""Tests that kill the mutants of hipsense.gait.metrics the other tests let survive (docs/testing.md).

``test_metrics.py`` checks each metric on a long, regular run. These pin what it leaves open: the step
and stance ranges (boundaries, fallbacks, clipping at the ends), which steps lose their step time or
contact time and the note that says why, the impact window, the loading rate's guard and the braking
window. The step contexts are small hand-built ones at 100 Hz whose answers are worked out on paper.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense import metrics as registry
from hipsense.conventions import G
from hipsense.gait import metrics as m
from hipsense.gait.filters import lowpass
from hipsense.gait.metrics import StepContext
from hipsense.gait.pelvis import pelvic_drop_deg

FS = 100.0
N = 400


def _ctx(ic, to, *, bout=None, sides=None, body=None, **kw) -> StepContext:
    ic = np.asarray(ic, dtype=float)
    body = pd.DataFrame({"acc_is": np.full(N, G)}) if body is None else body
    sides = np.array(["L", "R"] * len(ic))[: len(ic)] if sides is None else np.asarray(sides)
    bout = np.zeros(len(ic), int) if bout is None else np.asarray(bout)
    return StepContext(body, ic, np.asarray(to, dtype=float), sides, bout, sampling_rate_hz=FS, **kw)


def _hand_ctx(**kw) -> StepContext:
    """Five steps worked out by hand (fs 100 Hz, 400 samples).

    raw step times (same bout for the first four): 0.495, 0.50, 0.90, - (bout change), - (last);
    typical = median(0.495, 0.5, 0.9) = 0.5 s; 0.9 > 1.6 x 0.5 = 0.8: dropped.
    contacts: 0.195, 0.25, - (no toe-off), 0.15, 1.0 (> 0.6: a landing into a stop).
    """
    return _ctx([10.5, 60, 110, 200, 250], [30, 85, np.nan, 215, 350], bout=[0, 0, 0, 0, 1], **kw)


# -- context basics ------------------------------------------------------------------------------------


def test_segment_mean_is_the_mean_of_each_range_and_zero_when_empty():
    x = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    out = m._segment_mean(x, np.array([0, 1, 4, 2]), np.array([2, 4, 5, 2]))
    np.testing.assert_allclose(out, [1.5, 3.0, 10.0, 0.0])


def test_defaults_sign_and_sizes():
    ctx = _ctx([0, 50, 100], [20, 70, 120], sides=["L", "R", ""])
    assert ctx.activity.tolist() == ["run", "run", "run"]
    assert ctx.sign.tolist() == [1.0, -1.0, 0.0]
    assert (ctx.k, ctx.n, ctx.fs) == (3, N, 100.0) and type(ctx.fs) is float
    assert ctx.notes == [[], [], []]
    assert ctx.ic.dtype == float and ctx.to.dtype == float
    walk = _ctx([0, 50], [np.nan, np.nan], activity=["walk", "run"])
    assert walk.activity.tolist() == ["walk", "run"]


def test_a_note_is_added_once_per_step():
    ctx = _ctx([0, 50, 100], [20, 70, 120])
    ctx.note(np.array([True, False, True]), "a")
    ctx.note(np.array([True, True, False]), "a")
    ctx.note(np.array([False, True, False]), "b")
    assert ctx.notes == [["a"], ["a", "b"], ["a"]]


# -- timing ----------------------------------------------------------------------------------------------


def test_step_and_contact_times_of_the_hand_built_steps():
    ctx = _hand_ctx(time_offset_s=2.0)
    step, contact, to_s = ctx.timing
    np.testing.assert_allclose(step, [0.495, 0.5, np.nan, np.nan, np.nan])
    np.testing.assert_allclose(contact, [0.195, 0.25, np.nan, 0.15, np.nan])
    np.testing.assert_allclose(to_s, [2.3, 2.85, np.nan, 4.15, np.nan])
    assert ctx.typical_step_s == 0.5
    assert ctx.notes == [
        [],
        [],
        ["next contact missing or a pause: no step time", "no toe-off found"],
        ["last step of its bout: no step time"],
        ["last step of its bout: no step time", "landing into a stop: no toe-off within the step"],
    ]
    np.testing.assert_allclose(m.ic_time(ctx), [2.105, 2.6, 3.1, 4.0, 4.5])
    np.testing.assert_allclose(m.to_time(ctx), to_s)
    np.testing.assert_allclose(m.step_time(ctx), step)
    np.testing.assert_allclose(m.contact_time(ctx), contact)
    np.testing.assert_allclose(m.cadence(ctx), [60 / 0.495, 120.0, np.nan, np.nan, np.nan])
    np.testing.assert_allclose(m.flight_time(ctx), [0.3, 0.25, np.nan, np.nan, np.nan])


@pytest.mark.parametrize(("last", "kept"), [(80, True), (81, False)])
def test_a_step_of_exactly_1_6_typical_steps_keeps_its_time(last, kept):
    # steps of 50 samples (0.5 s typical), then one of 80 (0.8 s = 1.6 x 0.5, kept) or 81 (dropped)
    ic = np.array([0, 50, 100, 150, 200, 200 + last], dtype=float)
    ctx = _ctx(ic, ic + 20)
    assert ctx.typical_step_s == 0.5
    assert bool(np.isfinite(ctx.step_time_s[4])) is kept
    assert ("next contact missing or a pause: no step time" in ctx.notes[4]) is not kept


@pytest.mark.parametrize(("to", "kept"), [(60.0, True), (61.0, False)])
def test_a_contact_of_exactly_0_6_s_is_kept(to, kept):
    ctx = _ctx([0, 100, 200], [to, 120, 220])
    assert bool(np.isfinite(ctx.contact_s[0])) is kept and bool(np.isfinite(ctx.timing[2][0])) is kept
    assert ("landing into a stop: no toe-off within the step" in ctx.notes[0]) is not kept


def test_a_toe_off_at_or_before_the_contact_gives_no_contact_time():
    ctx = _ctx([10, 60, 110], [10, 55, 130])
    np.testing.assert_allclose(ctx.contact_s, [np.nan, np.nan, 0.2])
    # the toe-off time itself is still reported; only a landing into a stop loses it
    np.testing.assert_allclose(ctx.timing[2], [0.1, 0.55, 1.3])
    assert ctx.notes == [[], [], ["last step of its bout: no step time"]]


def test_walking_steps_without_toe_off_are_not_noted():
    ctx = _ctx([0, 50, 100], [np.nan, np.nan, np.nan], activity=["walk", "run", "walk"])
    _ = ctx.timing
    assert ["no toe-off found" in n for n in ctx.notes] == [False, True, False]
    assert m.activity(ctx).tolist() == ["walk", "run", "walk"]


def test_every_step_alone_in_its_bout_has_no_typical_step():
    ctx = _ctx([0, 50, 100], [20, 70, 120], bout=[0, 1, 2])
    assert np.isnan(ctx.typical_step_s) and np.isnan(ctx.step_time_s).all()
    assert all(n == ["last step of its bout: no step time"] for n in ctx.notes)


# -- ranges ----------------------------------------------------------------------------------------------


def test_ranges_of_the_hand_built_steps():
    start, end, stance_end = _hand_ctx().ranges
    # start: first sample at or after the IC; end: the next IC (floored), else start + typical (50)
    assert start.tolist() == [11, 60, 110, 200, 250]
    assert end.tolist() == [60, 110, 160, 250, 300]
    # stance: the contact in samples (19.5 -> 20, 25, 15), else 0.4 x the step (20)
    assert stance_end.tolist() == [31, 85, 130, 215, 270]
    assert start.dtype == np.int64 and end.dtype == np.int64 and stance_end.dtype == np.int64


def test_an_ic_on_a_sample_starts_there_and_a_fractional_next_ic_is_floored():
    start, end, _ = _ctx([20.0, 69.9999999, 120.7], [40, 90, 140]).ranges
    assert start.tolist() == [20, 70, 121]
    assert end.tolist() == [69, 120, 121 + 50]  # last: start + typical (0.5 s)


def test_without_a_typical_step_the_range_is_0_35_s():
    start, end, stance_end = _ctx([0, 100, 200], [20, 130, np.nan], bout=[0, 1, 2]).ranges
    assert (end - start).tolist() == [35, 35, 35]
    assert (stance_end - start).tolist() == [20, 30, 14]  # 14 = round(0.4 x 35)


def test_ranges_are_clipped_to_the_data():
    # the last IC lies past the data: its range is the last sample; the one before ends at the data's end
    ic = np.array([300, 350, 390, 398.5, 450])
    start, end, stance_end = _ctx(ic, ic + 30).ranges
    assert start.tolist() == [300, 350, 390, 399, 399]
    assert end.tolist() == [350, 390, 398, 400, 400]
    assert stance_end.tolist() == [330, 380, 398, 400, 400]
    assert (stance_end > start).all() and (end > start).all()


def test_a_contact_longer_than_the_step_is_cut_at_the_step_end_and_a_tiny_one_is_one_sample():
    ctx = _ctx([0, 30, 60, 90], [50, 30.2, 80, 110])
    start, end, stance_end = ctx.ranges
    assert stance_end.tolist() == [30, 31, 80, 110]  # 50 cut to 30; 0.2 samples -> 1


# -- impact, loading rate, braking ---------------------------------------------------------------------


def _acc(points: dict[int, float]) -> pd.DataFrame:
    acc = np.full(N, 1.0)
    for i, v in points.items():
        acc[i] = v
    return pd.DataFrame({"acc_is": acc * G})


def test_the_impact_is_the_peak_within_60_ms_of_the_contact():
    # ICs 10 and 110, contact 0.2 s: the window is samples 10..16 (6 samples = 60 ms, included)
    body = _acc({16: 3.0, 17: 5.0, 9: 6.0, 110: 2.0, 116: 2.5, 117: 9.0})
    ctx = _ctx([10, 110, 210], [30, 130, 230], body=body)
    assert ctx.impact_peak.tolist()[:2] == [16, 116]
    np.testing.assert_allclose(m.impact(ctx)[:2], [3.0, 2.5])
    np.testing.assert_allclose(ctx.acc_is_g[:3], [1.0, 1.0, 1.0])


def test_a_short_stance_limits_the_impact_window():
    # contact 0.03 s (3 samples): the window is the stance, samples 10..12
    body = _acc({12: 2.0, 13: 4.0})
    ctx = _ctx([10, 110, 210], [13, 130, 230], body=body)
    assert ctx.impact_peak[0] == 12


def test_loading_rate_is_the_rise_over_its_duration():
    # IC 10.4 -> start 11 (1.5 g); peak at 16 (3.0 g): 1.5 g over (16 - 10.4) / 100 s = 0.056 s
    body = _acc({11: 1.5, 16: 3.0})
    ctx = _ctx([10.4, 110, 210], [30, 130, 230], body=body)
    assert m.loading_rate(ctx)[0] == pytest.approx(1.5 / 0.056)
    assert np.isnan(m.loading_rate(ctx)[1])  # flat: the peak is at the IC itself (no rise)


@pytest.mark.parametrize(("ic", "rate"), [(10.5, np.nan), (10.4, 0.0), (10.2, 1.0 / 0.018)])
def test_loading_rate_needs_more_than_half_a_sample_of_rise(ic, rate):
    # The start sample is 11 for every IC here.
    # IC 10.5: the peak on 11 (3 g, the start itself) is 0.5 samples after the IC: too short (NaN).
    # IC 10.4: 0.6 samples counts; the rise from the start sample (the peak) is 0.
    # IC 10.2 with the peak at 12: 1 g over 1.8 samples (0.018 s).
    body = _acc({11: 3.0}) if ic != 10.2 else _acc({12: 2.0})
    value = m.loading_rate(_ctx([ic, 110, 210], [30, 130, 230], body=body))[0]
    if np.isnan(rate):
        assert np.isnan(value)
    else:
        assert value == pytest.approx(rate)


def test_braking_is_the_lowest_forward_force_in_the_first_half_of_stance():
    # a falling ramp passes the zero-phase low-pass unchanged (odd extension at the ends), so the
    # lowest value in [start, start + half the stance) is the last sample of that window
    ramp = -np.arange(N) / 1000.0
    np.testing.assert_allclose(lowpass(ramp, 20.0, FS), ramp, atol=1e-5)
    body = pd.DataFrame({"acc_is": np.full(N, G), "acc_pa": ramp * G})
    ctx = _ctx([10, 110, 210, 300], [30, 141, 211.2, 350], body=body)
    # stances: 20 samples (half 10: last 19), 31 (half 15: last 124), 1 (half at least 1: last 210)
    np.testing.assert_allclose(m.braking(ctx)[:3], [0.019, 0.124, 0.210], atol=1e-5)


def test_braking_without_a_forward_axis_is_missing_and_noted():
    ctx = _ctx([10, 110], [30, 130])
    assert np.isnan(m.braking(ctx)).all()
    assert ctx.notes[0] == ["no forward axis: no braking"]


# -- angles ------------------------------------------------------------------------------------------------


def test_integrated_angle_of_a_biased_sine_rate_is_the_sine_without_drift():
    # rate 0.5 deg/s bias + 2 pi f A cos(2 pi f t) with f = 2 Hz, A = 3 deg: the angle is A sin(2 pi f t)
    # (the 0.3 Hz high-pass leaves a 2 Hz wave within 1 %, the bias is removed before integrating)
    fs, f, a = 200.0, 2.0, 3.0
    t = np.arange(4000) / fs
    rate = 0.5 + 2 * np.pi * f * a * np.cos(2 * np.pi * f * t)
    angle = m.integrated_angle(rate, fs)
    mid = slice(1000, 3000)
    # the running sum puts each sample's area at its end: the sine is half a sample early
    np.testing.assert_allclose(angle[mid], a * np.sin(2 * np.pi * f * (t[mid] + 0.5 / fs)), atol=0.05)


def test_integrated_angle_removes_a_slow_turn():
    # a 0.05 Hz turn of 20 deg is far below the 0.3 Hz high-pass: almost nothing is left of it
    fs = 100.0
    t = np.arange(6000) / fs
    rate = 20 * 2 * np.pi * 0.05 * np.cos(2 * np.pi * 0.05 * t)
    assert np.abs(m.integrated_angle(rate, fs)[1000:5000]).max() < 0.5


def _gyro_body(fs: float = FS) -> pd.DataFrame:
    t = np.arange(N) / fs
    return pd.DataFrame(
        {
            "acc_is": np.full(N, G),
            "gyr_pa": 40 * np.cos(2 * np.pi * 1.25 * t),
            "gyr_is": 25 * np.sin(2 * np.pi * 1.25 * t + 0.3),
        }
    )


def test_pelvic_drop_is_taken_from_the_obliquity_over_each_step():
    body = _gyro_body()
    ctx = _hand_ctx(body=body)
    start, end, _ = ctx.ranges
    obliquity = m.integrated_angle(body["gyr_pa"].to_numpy(), FS)
    expected = pelvic_drop_deg(obliquity, start, end, ctx.sides)
    np.testing.assert_allclose(m.pelvic_drop(ctx), expected)
    assert np.isfinite(expected).all() and len(set(np.round(expected, 6))) > 2


def test_pelvic_rotation_is_the_yaw_range_over_each_step_with_a_step_time():
    body = _gyro_body()
    ic = np.array([10, 50, 90, 130, 170, 210, 360, 395])
    ctx = _ctx(ic, ic + 15, body=body, sides=["L", "R", "", "R", "L", "R", "L", "R"])
    start, end, _ = ctx.ranges
    rotation = m.integrated_angle(body["gyr_is"].to_numpy(), FS)
    # from the contact to the next contact's own sample (the data's last sample at most)
    turn = np.array([np.ptp(rotation[a : min(b + 1, N)]) for a, b in zip(start, end, strict=True)])
    out = m.pelvic_rotation(ctx)
    # step 2 has no side, step 5 (to 360: 150 samples > 1.6 x 40) and the last have no step time
    keep = np.array([1, 1, 0, 1, 1, 0, 1, 0], bool)
    np.testing.assert_allclose(out[keep], turn[keep], rtol=1e-12)
    assert np.isnan(out[~keep]).all()
    assert end[6] == 395 and end[7] == N  # the last range reaches the end: its angle is at N - 1


def test_without_a_gyroscope_the_angles_are_missing_and_noted_once():
    ctx = _ctx([10, 110], [30, 130])
    assert np.isnan(m.pelvic_drop(ctx)).all() and np.isnan(m.pelvic_rotation(ctx)).all()
    assert ctx.notes == [["no gyroscope: no pelvic drop or rotation"]] * 2
    ctx = _ctx([10, 110], [30, 130], body=_gyro_body().drop(columns="gyr_is"))
    assert ctx.angle("gyr_pa") is None


# -- vertical oscillation, quality, step table ---------------------------------------------------------


def test_vertical_oscillation_of_a_parabola_per_step():
    # constant 1.5 g over 40-sample steps: v rises linearly; made zero-mean it is a line through the
    # middle, and the height a parabola whose range is a * T^2 / 8 (a = 0.5 g, T = 0.4 s) = 9.81 cm
    body = pd.DataFrame({"acc_is": np.full(N, 1.5 * G)})
    ic = np.arange(0, 400, 40, dtype=float)
    ctx = _ctx(ic, ic + 15, body=body)
    osc = m.vertical_oscillation(ctx)
    expected_cm = 0.5 * G * 0.4**2 / 8 * 100
    # the discrete sums give the same: height (a / fs^2) u (u - 40) / 2 at sample u of the step, from
    # 0 down to -200 a / fs^2 at u = 20, and 200 a / fs^2 = a T^2 / 8 for T = 40 / fs
    np.testing.assert_allclose(osc[:-1], expected_cm, rtol=1e-9)
    assert np.isnan(osc[-1])  # the last step has no step time


def test_vertical_oscillation_is_per_step():
    # the second step bounces, the others are flat: only it has a height range
    acc = np.full(N, G)
    acc[40:80] += 0.5 * G
    ctx = _ctx(
        np.arange(0, 200, 40, dtype=float), np.arange(0, 200, 40) + 15.0, body=pd.DataFrame({"acc_is": acc})
    )
    osc = m.vertical_oscillation(ctx)
    assert osc[0] == pytest.approx(0.0, abs=1e-9) and osc[2] == pytest.approx(0.0, abs=1e-9)
    assert osc[1] == pytest.approx(0.5 * G * 0.4**2 / 8 * 100, rel=1e-9)


def test_quality_joins_the_notes_and_the_inferred_sides():
    ctx = _hand_ctx(side_inferred=np.array([0, 1, 0, 0, 1]))
    _ = ctx.timing
    q = m.quality(ctx)
    assert q.dtype == object
    assert q[0] == "" and q[1] == "side inferred from neighbours"
    assert q[2] == "next contact missing or a pause: no step time; no toe-off found"
    assert q[4].endswith("; side inferred from neighbours")
    assert m.quality(_hand_ctx())[1] == ""


def test_bookkeeping_columns_are_the_context_s():
    ctx = _hand_ctx()
    assert m.bout(ctx).tolist() == [0, 0, 0, 0, 1]
    assert m.side(ctx).tolist() == ["L", "R", "L", "R", "L"]


def test_the_step_table_of_the_hand_built_steps():
    table = registry.step_table(_hand_ctx(body=_gyro_body()))
    assert list(table.columns) == list(registry.step_columns())
    np.testing.assert_allclose(table["step_time_s"], [0.495, 0.5, np.nan, np.nan, np.nan])
    assert table["quality"].iloc[3] == "last step of its bout: no step time; no forward axis: no braking"


def test_float32_event_indices_are_used_in_float64():
    # 100000.5 is exact in float32, but 100000.5 / 100 in float32 is 1000.0050048...
    ic = np.array([100000.5, 100050.5, 100100.5], dtype=np.float32)
    body = pd.DataFrame({"acc_is": np.full(N, G)})
    ctx = StepContext(body, ic, ic + np.float32(20), np.array(["L", "R", "L"]), np.zeros(3, int), FS)
    assert ic.dtype == np.float32
    assert ctx.ic.dtype == np.float64 and ctx.to.dtype == np.float64
    assert m.ic_time(ctx)[0] == 1000.005 and m.to_time(ctx)[0] == 1000.205


def test_a_contact_as_long_as_the_step_has_no_flight():
    # toe-off on the next contact: flight 0 is no flight time (NaN), not a zero
    ctx = _ctx([0, 50, 100, 150], [50, 70, 120, 170])
    np.testing.assert_allclose(m.flight_time(ctx), [np.nan, 0.3, 0.3, np.nan])


def test_braking_reads_the_forward_force_low_passed_at_20_hz():
    # a one-sample dip is smoothed by the 20 Hz low-pass: the value is the filtered dip, not the raw one
    acc_pa = np.zeros(N)
    acc_pa[[15, 117]] = -1.0
    body = pd.DataFrame({"acc_is": np.full(N, G), "acc_pa": acc_pa * G})
    ctx = _ctx([10, 110, 210], [30, 130, 230], body=body)
    smooth = lowpass(acc_pa, 20.0, FS)
    np.testing.assert_allclose(m.braking(ctx)[:2], [-smooth[10:20].min(), -smooth[110:120].min()], rtol=1e-9)
    assert 0.2 < m.braking(ctx)[0] < 0.9


def test_pelvic_rotation_of_a_step_ending_at_the_last_sample():
    # the second step's next IC is sample 400 = the data's length: its range stops at sample 399;
    # the first step's includes its next contact's sample 360 (which sample is an extreme is pinned
    # in test_rotation_definition.py)
    body = _gyro_body()
    ctx = _ctx([320, 360, 400], [335, 375, 415], body=body)
    start, end, _ = ctx.ranges
    assert end.tolist() == [360, 400, 400]
    rotation = m.integrated_angle(body["gyr_is"].to_numpy(), FS)
    out = m.pelvic_rotation(ctx)
    assert out[1] == pytest.approx(np.ptp(rotation[360:400]), rel=1e-12)
    assert out[0] == pytest.approx(np.ptp(rotation[320:361]), rel=1e-12)


def test_walking_steps_say_why_they_have_no_toe_off_and_keep_a_long_stance():
    # a walking stance of 0.7 s is a walk, not a landing into a stop (the 0.6 s cap is a running one's)
    ctx = _ctx([0, 100, 200, 300], [70, 170, np.nan, np.nan], activity=["walk", "run", "walk", "run"])
    step, contact, to_s = ctx.timing
    np.testing.assert_allclose(contact, [0.7, np.nan, np.nan, np.nan])
    np.testing.assert_allclose(to_s, [0.7, np.nan, np.nan, np.nan])
    assert ctx.notes == [
        [],
        ["landing into a stop: no toe-off within the step"],
        ["walking: no toe-off at a stop or in a turn"],
        ["last step of its bout: no step time", "no toe-off found"],
    ]


def test_vertical_oscillation_of_an_empty_body_is_not_measured() -> None:
    """Steps over no samples (a hand-built context: the route never makes one) have no height range."""
    body = pd.DataFrame({"acc_is": np.zeros(0)})
    ctx = StepContext(body, [0.0, 50.0], [np.nan, np.nan], ["L", "R"], [0, 0], sampling_rate_hz=100.0)
    out = m.vertical_oscillation(ctx)
    assert out.shape == (2,) and np.isnan(out).all()


def test_each_bout_ends_at_its_own_last_step() -> None:
    """Two bouts of three steps: only each bout's last step lacks a step time (the next contact is in
    the next bout); the others keep theirs."""
    ic = np.array([0.0, 50.0, 100.0, 400.0, 450.0, 500.0])
    ctx = StepContext(
        pd.DataFrame({"acc_is": np.full(600, G)}),
        ic,
        np.full(6, np.nan),
        ["L", "R"] * 3,
        [0, 0, 0, 1, 1, 1],
        sampling_rate_hz=100.0,
    )
    np.testing.assert_array_equal(np.isfinite(ctx.step_time_s), [True, True, False, True, True, False])
    assert ctx.step_time_s[3] == pytest.approx(0.5)
