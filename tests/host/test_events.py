"""Running IC/TO detection: known answers on constructed signals, edge cases, and the real recordings.

The constructed runs are half-sine stance pulses (the spring-mass shape of the vertical force) with
free fall (0 g) in between, scaled so the vertical specific force averages 1 g over each step, as it
must. Their IC is the pulse start; their TO by the detector's definition is where the pulse falls to
``to_threshold_g`` above the flight level, which has a closed form.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hipsense.conventions import G
from hipsense.datasets import (
    load_running_sacral,
    read_running_sacral_csv,
    reference_contacts,
    running_sacral_trials,
    shared_data_dir,
)
from hipsense.errors import HipsenseError, InputFileError
from hipsense.gait import EventDetectionError, RunningContactDetector
from hipsense.gait.scoring import match_nearest, pool, score_running_events

TO_G = RunningContactDetector().to_threshold_g


def half_sine_run(
    fs: float,
    seconds: float = 20.0,
    *,
    seed: int = 0,
    contact_s: tuple[float, float] = (0.20, 0.30),
    flight_s: tuple[float, float] = (0.06, 0.15),
    baseline_g: float = 0.0,
    gain: float = 1.0,
    offset_g: float = 0.0,
    wobble_g: float = 0.0,
    wobble_hz: float = 25.0,
    lead_s: float = 0.3,
    tail_s: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A run of half-sine stances; returns (data with acc_is in m/s^2, truth per stance)."""
    rng = np.random.default_rng(seed)
    ic, to, amp = [], [], []
    t = lead_s
    while t < seconds:
        tc, tf = rng.uniform(*contact_s), rng.uniform(*flight_s)
        ic.append(t)
        to.append(t + tc)
        amp.append(np.pi / 2 * (tc + tf) / tc)  # the pulse's mean over the step is 1 g
        t += tc + tf
    n = int(round((seconds + tail_s) * fs))
    time = np.arange(n) / fs
    acc = np.full(n, baseline_g)
    for a, b, peak in zip(ic, to, amp, strict=True):
        on = (time >= a) & (time < b)
        acc[on] += peak * np.sin(np.pi * (time[on] - a) / (b - a))
    acc += wobble_g * np.sin(2 * np.pi * wobble_hz * time)
    acc = gain * acc + offset_g
    truth = pd.DataFrame({"ic_s": ic, "to_s": to, "amplitude_g": amp})
    truth = truth[truth["to_s"] < n / fs].reset_index(drop=True)
    return pd.DataFrame({"acc_is": acc * G}), truth


def expected_to_s(truth: pd.DataFrame, gain: float = 1.0) -> np.ndarray:
    """Where each pulse falls to the TO level above the flight: sin(pi u) = thr / A."""
    tc = truth["to_s"] - truth["ic_s"]
    return (truth["to_s"] - tc / np.pi * np.arcsin(TO_G / (gain * truth["amplitude_g"]))).to_numpy()


def detect(data: pd.DataFrame, fs: float, **params) -> RunningContactDetector:
    return RunningContactDetector(**params).detect(data, sampling_rate_hz=fs)


def paired(events: pd.DataFrame, truth: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Indices (truth, event) of the stances, matched by IC within 40 ms."""
    found = events.dropna(subset=["ic_s"])
    i_t, i_e = match_nearest(truth["ic_s"].to_numpy(), found["ic_s"].to_numpy(), 0.04)
    return i_t, found.index.to_numpy()[i_e]


# -- known answers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("fs", [100.0, 208.0, 500.0])
def test_half_sine_known_answer(fs):
    data, truth = half_sine_run(fs)
    det = detect(data, fs)
    ev = det.events_
    i_t, i_e = paired(ev, truth)
    assert len(i_t) == len(truth) == det.diagnostics_["n_ic"] == len(ev)
    ic_err = ev.loc[i_e, "ic_s"].to_numpy() - truth.loc[i_t, "ic_s"].to_numpy()
    to_err = ev.loc[i_e, "to_s"].to_numpy() - expected_to_s(truth)[i_t]
    assert np.max(np.abs(ic_err)) <= 1.0 / fs
    assert np.max(np.abs(to_err)) <= 1.0 / fs
    ct = ev.loc[i_e, "contact_time_s"].to_numpy()
    assert np.allclose(ct, ev.loc[i_e, "to_s"] - ev.loc[i_e, "ic_s"])
    # sample indices are the nearest samples of the interpolated times
    assert (ev["ic"].astype(float) == np.rint(ev["ic_s"] * fs)).all()
    assert (ev["to"].astype(float) == np.rint(ev["to_s"] * fs)).all()
    # flight time: from each TO to the next IC
    ft = ev["flight_time_s"].to_numpy()[:-1]
    assert np.allclose(ft, ev["ic_s"].to_numpy()[1:] - ev["to_s"].to_numpy()[:-1])


@settings(max_examples=25, deadline=None)
@given(
    fs=st.sampled_from([104.0, 208.0, 416.0, 500.0]),
    seed=st.integers(0, 10_000),
    contact=st.tuples(st.floats(0.15, 0.22), st.floats(0.0, 0.10)),
    flight=st.tuples(st.floats(0.04, 0.10), st.floats(0.0, 0.08)),
)
def test_half_sine_property(fs, seed, contact, flight):
    """Any plausible running rhythm: every stance found, IC and TO within two samples."""
    data, truth = half_sine_run(
        fs,
        8.0,
        seed=seed,
        contact_s=(contact[0], contact[0] + contact[1]),
        flight_s=(flight[0], flight[0] + flight[1]),
    )
    ev = detect(data, fs).events_
    i_t, i_e = paired(ev, truth)
    assert len(i_t) == len(truth)
    assert ev["ic_s"].notna().sum() == len(truth)
    assert np.max(np.abs(ev.loc[i_e, "ic_s"].to_numpy() - truth.loc[i_t, "ic_s"].to_numpy())) <= 2 / fs
    assert np.max(np.abs(ev.loc[i_e, "to_s"].to_numpy() - expected_to_s(truth)[i_t])) <= 2 / fs


@pytest.mark.parametrize(("gain", "offset_g"), [(1.2, 0.0), (0.85, 0.0), (1.0, 0.05), (1.0, -0.1)])
def test_gain_and_offset_do_not_move_events(gain, offset_g):
    """Levels come from the data (body-weight line, flight level), not from an assumed calibration."""
    fs = 208.0
    data, truth = half_sine_run(fs, gain=gain, offset_g=offset_g)
    ev = detect(data, fs).events_
    i_t, i_e = paired(ev, truth)
    assert len(i_t) == len(truth)
    assert np.max(np.abs(ev.loc[i_e, "ic_s"].to_numpy() - truth.loc[i_t, "ic_s"].to_numpy())) <= 1 / fs
    assert np.max(np.abs(ev.loc[i_e, "to_s"].to_numpy() - expected_to_s(truth, gain)[i_t])) <= 1 / fs


@pytest.mark.parametrize(
    ("wobble_g", "wobble_hz", "ic_tol_s", "to_tol_s"),
    [(0.05, 25.0, 0.008, 0.008), (0.1, 12.0, 0.016, 0.010), (0.1, 25.0, 0.016, 0.010)],
)
def test_clip_wobble_up_to_the_hysteresis_is_tolerated(wobble_g, wobble_hz, ic_tol_s, to_tol_s):
    """Clip wobble through stance and flight (a real clip's flight is not clean): every step found,
    events within a few ms. The TO trigger needs the signal back above flight + 0.2 g to re-arm."""
    fs = 208.0
    for seed in range(3):
        data, truth = half_sine_run(fs, seed=seed, wobble_g=wobble_g, wobble_hz=wobble_hz)
        ev = detect(data, fs).events_
        i_t, i_e = paired(ev, truth)
        assert len(i_t) == len(truth) == ev["to_s"].notna().sum()
        assert np.max(np.abs(ev.loc[i_e, "ic_s"].to_numpy() - truth.loc[i_t, "ic_s"].to_numpy())) <= ic_tol_s
        assert np.max(np.abs(ev.loc[i_e, "to_s"].to_numpy() - expected_to_s(truth)[i_t])) <= to_tol_s


def test_late_stance_rebound_does_not_end_the_contact():
    """A dip toward the flight level and a rebound before TO (seen in real sacral data) is skipped."""
    fs = 500.0
    data, truth = half_sine_run(fs, seed=3)
    acc = data["acc_is"].to_numpy() / G
    time = np.arange(len(acc)) / fs
    for to in truth["to_s"]:
        acc[(time >= to - 0.030) & (time < to - 0.018)] = 0.03  # down near the flight level...
        acc[(time >= to - 0.018) & (time < to)] = 0.3  # ...and back up while the toes still push
    ev = detect(pd.DataFrame({"acc_is": acc * G}), fs).events_
    i_t, i_e = paired(ev, truth)
    assert len(i_t) == len(truth)
    to_err = ev.loc[i_e, "to_s"].to_numpy() - truth.loc[i_t, "to_s"].to_numpy()
    # At the true end (the 30 Hz low-pass smears the final drop by a few ms), not at the dip 18-30 ms
    # before it.
    assert np.all((to_err > -0.005) & (to_err < 0.008))


def shouldered_run(fs: float, pause_g: float, hold_s: float = 0.015, fall_s: float = 0.025):
    """A half-sine run whose descent pauses at ``pause_g`` for ``hold_s`` and then falls to the flight
    level along a half cosine of ``fall_s`` (the late-stance shoulder of real sacral signals)."""
    data, truth = half_sine_run(fs, seed=5)
    acc = data["acc_is"].to_numpy() / G
    time = np.arange(len(acc)) / fs
    fall_start = []
    for ic, to, amp in truth[["ic_s", "to_s", "amplitude_g"]].itertuples(index=False):
        t_p = to - (to - ic) / np.pi * np.arcsin(pause_g / amp)  # the descent reaches the pause level
        acc[(time >= t_p) & (time < t_p + hold_s)] = pause_g
        fall = (time >= t_p + hold_s) & (time < t_p + hold_s + fall_s)
        acc[fall] = pause_g * (1 + np.cos(np.pi * (time[fall] - t_p - hold_s) / fall_s)) / 2
        acc[(time >= t_p + hold_s + fall_s) & (time < t_p + hold_s + fall_s + 0.03)] = 0.0
        fall_start.append(t_p + hold_s)
    return pd.DataFrame({"acc_is": acc * G}), truth, np.array(fall_start)


def _cosine_crossing(fall_start: np.ndarray, pause_g: float, level_g: float, fall_s: float = 0.025):
    return fall_start + fall_s / np.pi * np.arccos(2 * level_g / pause_g - 1)


def test_toe_off_follows_the_late_stance_pause():
    """A shoulder at 0.6 g: TO where the final fall passes 0.15 g below the shoulder (0.45 g), 8 ms
    before the fixed level (flight + 0.15 g) would put it; with the pause rule off, at the fixed level."""
    fs, pause = 500.0, 0.6
    data, truth, fall_start = shouldered_run(fs, pause)
    margin = RunningContactDetector().to_plateau_margin_g
    assert margin == 0.15
    for params, level in (({}, pause - margin), ({"to_plateau_margin_g": None}, TO_G)):
        ev = detect(data, fs, **params).events_
        i_t, i_e = paired(ev, truth)
        assert len(i_t) == len(truth)
        err = ev.loc[i_e, "to_s"].to_numpy() - _cosine_crossing(fall_start, pause, level)[i_t]
        assert np.max(np.abs(err)) <= 0.003, (params, err)


@pytest.mark.parametrize("pause_g", [0.25, 1.2])
def test_pauses_too_low_or_above_body_weight_leave_the_fixed_level(pause_g):
    """A pause less than the margin above the fixed level changes nothing (the level never drops below
    flight + 0.15 g); a pause above body weight is mid-stance, not the unloading's end."""
    fs = 500.0
    data, truth, _ = shouldered_run(fs, pause_g, fall_s=0.04)
    with_rule = detect(data, fs).events_["to_s"].to_numpy()
    without = detect(data, fs, to_plateau_margin_g=None).events_["to_s"].to_numpy()
    assert np.isfinite(with_rule).sum() >= len(truth) - 1
    np.testing.assert_array_equal(with_rule, without)


def test_recording_cut_in_stance_and_in_flight():
    """A stance cut by the end has an IC but no TO; a recording starting in stance has no first IC."""
    fs = 208.0
    data, truth = half_sine_run(fs, 10.0, tail_s=0.0)
    # start in the middle of the second stance, end in the middle of the last one
    t0 = 0.5 * (truth["ic_s"][1] + truth["to_s"][1])
    t1 = 0.5 * (truth["ic_s"].iloc[-1] + truth["to_s"].iloc[-1])
    cut = data.iloc[int(t0 * fs) : int(t1 * fs)].reset_index(drop=True)
    ev = detect(cut, fs).events_
    first, last = ev.iloc[0], ev.iloc[-1]
    assert pd.isna(first["ic"]) and not first["flight_before"] and pd.notna(first["to"])
    assert pd.notna(last["ic"]) and pd.isna(last["to"]) and np.isnan(last["contact_time_s"])
    assert ev["contact_time_s"].notna().sum() == len(ev) - 2
    # times are from the first sample of the data passed in
    assert abs(first["to_s"] - (expected_to_s(truth)[1] - int(t0 * fs) / fs)) <= 1 / fs


def test_contact_lists_are_the_rows_of_the_events_with_an_event():
    """``ic_list_``/``to_list_`` (built from the arrays) are what ``events_.loc[found, cols]`` gives,
    index class and name included, with missing events as NA in ``events_``."""
    fs = 208.0
    data, truth = half_sine_run(fs, 10.0, tail_s=0.0)
    t0 = 0.5 * (truth["ic_s"][1] + truth["to_s"][1])
    t1 = 0.5 * (truth["ic_s"].iloc[-1] + truth["to_s"].iloc[-1])
    cut = data.iloc[int(t0 * fs) : int(t1 * fs)].reset_index(drop=True)  # no first IC, no last TO
    det = detect(cut, fs)
    ev = det.events_
    for found, cols in ((det.ic_list_, ["ic", "ic_s"]), (det.to_list_, ["to", "to_s"])):
        want = ev.loc[ev[cols[0]].notna().to_numpy(), cols].copy()
        pd.testing.assert_frame_equal(found, want, check_exact=True, check_index_type=True)
        assert type(found.index) is type(want.index) and found.index.name == "step_id"
    assert ev["ic"].isna().sum() == 1 and ev["to"].isna().sum() == 1
    assert ev["ic"].isna().to_numpy().tolist() == np.isnan(ev["ic_s"].to_numpy()).tolist()
    assert len(det.ic_list_) == len(ev) - 1 and len(det.to_list_) == len(ev) - 1


def test_flight_samples_are_counted_per_gap():
    """``gaps_.flight_samples`` (from one running count) is each gap's number of samples of the event
    signal below the flight threshold; empty gaps (a recording starting in stance) count 0."""
    fs = 208.0
    data, truth = half_sine_run(fs, 10.0, tail_s=0.0, seed=3)
    t0 = 0.5 * (truth["ic_s"][1] + truth["to_s"][1])
    for part in (data, data.iloc[int(t0 * fs) :].reset_index(drop=True)):
        det = detect(part, fs)
        below = det.signal_g_ < det.flight_threshold_g
        want = [int(below[s:e].sum()) for s, e in zip(det.gaps_["start"], det.gaps_["end"], strict=True)]
        assert det.gaps_["flight_samples"].tolist() == want
        assert det.gaps_["flight_samples"].dtype == np.int64


# -- no flight: never invent one ----------------------------------------------------------------------
def _walking(fs: float, seconds: float = 20.0, cadence_hz: float = 1.8) -> pd.DataFrame:
    t = np.arange(int(seconds * fs)) / fs
    acc = 1 + 0.35 * np.sin(2 * np.pi * cadence_hz * t) + 0.12 * np.sin(4 * np.pi * cadence_hz * t + 0.5)
    return pd.DataFrame({"acc_is": acc * G})


def test_walking_like_input_gives_no_events():
    det = detect(_walking(208.0), 208.0)
    assert det.diagnostics_["n_stances"] > 20  # the steps are there...
    assert det.diagnostics_["n_gaps_with_flight"] == 0  # ...but never a flight
    assert det.ic_list_.empty and det.to_list_.empty
    assert det.events_[["ic_s", "to_s", "contact_time_s"]].isna().all().all()
    assert not det.events_["flight_before"].any() and not det.events_["flight_after"].any()
    assert list(det.ic_list_.columns) == ["ic", "ic_s"]


def test_grounded_running_gives_no_events():
    """Running-shaped pulses that never leave the ground (baseline 0.5 g): no flight, no events."""
    data, _ = half_sine_run(208.0, baseline_g=0.5)
    det = detect(data, 208.0)
    assert det.diagnostics_["n_stances"] > 20
    assert det.ic_list_.empty and det.to_list_.empty


def test_standing_still_has_no_stances():
    rng = np.random.default_rng(0)
    acc = 1.0 + 0.005 * rng.standard_normal(208 * 10)
    det = detect(pd.DataFrame({"acc_is": acc * G}), 208.0)
    assert det.diagnostics_["n_stances"] == 0
    assert det.events_.empty and det.ic_list_.empty


def test_running_then_walking():
    fs = 208.0
    run, truth = half_sine_run(fs, 15.0)
    run = run.iloc[: int((truth["to_s"].iloc[-1] + 0.04) * fs)]  # end the run 40 ms into a flight
    data = pd.concat([run, _walking(fs, 15.0)], ignore_index=True)
    det = detect(data, fs)
    end_of_run = len(run) / fs
    i_t, i_e = paired(det.events_, truth)
    assert len(i_t) == len(truth)
    extra = det.ic_list_.drop(index=i_e)["ic_s"]
    # at most the first walking contact after the last flight; nothing from the walking itself
    assert len(extra) <= 1 and (extra > end_of_run - 0.05).all()
    assert (det.to_list_["to_s"] < end_of_run).all()


# -- input checking ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "fs", "message"),
    [
        (pd.DataFrame({"acc_is": []}), 208.0, "empty"),
        (pd.DataFrame({"acc_is": np.full(50, G)}), 208.0, "too short"),
        (pd.DataFrame({"acc_x": np.full(500, G)}), 208.0, "acc_is"),
        (pd.DataFrame({"acc_is": np.r_[np.full(300, G), np.nan, np.full(300, G)]}), 208.0, "NaN"),
        (pd.DataFrame({"acc_is": np.full(500, G)}), 0.0, "sampling_rate_hz"),
        (pd.DataFrame({"acc_is": np.full(500, G)}), "fast", "sampling_rate_hz"),
        (np.full(500, G), 208.0, "DataFrame"),
    ],
)
def test_bad_input_raises_typed_error(data, fs, message):
    with pytest.raises(EventDetectionError, match=message) as info:
        RunningContactDetector().detect(data, sampling_rate_hz=fs)
    assert isinstance(info.value, HipsenseError)
    assert isinstance(info.value, ValueError)


def test_bad_parameter_raises_typed_error():
    data, _ = half_sine_run(208.0, 3.0)
    with pytest.raises(EventDetectionError, match="lowpass_hz"):
        RunningContactDetector(lowpass_hz=-1.0).detect(data, sampling_rate_hz=208.0)
    with pytest.raises(EventDetectionError, match="filter_order"):
        RunningContactDetector(filter_order=0).detect(data, sampling_rate_hz=208.0)
    for margin in (-0.1, 0.0, float("nan"), True, "0.1"):
        with pytest.raises(EventDetectionError, match="to_plateau_margin_g"):
            RunningContactDetector(to_plateau_margin_g=margin).detect(data, sampling_rate_hz=208.0)  # type: ignore[arg-type]


def test_api_shape_and_ignored_columns():
    fs = 208.0
    data, _ = half_sine_run(fs, 6.0)
    det = RunningContactDetector()
    assert not any(k.endswith("_") for k in vars(det))  # parameters only until detect
    assert det.detect(data, sampling_rate_hz=fs) is det
    other = data.assign(acc_pa=1.0, acc_ml=-2.0, gyr_is=3.0, t_s=np.arange(len(data)) / fs)
    other.index = other.index + 1000
    again = RunningContactDetector().detect(other, sampling_rate_hz=fs)
    pd.testing.assert_frame_equal(det.events_, again.events_)
    assert det.events_.index.name == "step_id"
    assert str(det.events_["ic"].dtype) == "Int64" and str(det.events_["to"].dtype) == "Int64"
    assert list(det.to_list_.columns) == ["to", "to_s"]
    assert {"n_stances", "n_ic", "n_to", "n_contact_times"} <= set(det.diagnostics_)
    assert len(det.signal_g_) == len(data) == len(det.body_weight_g_)
    assert len(det.gaps_) == len(det.events_) + 1


# -- scoring rules ----------------------------------------------------------------------------------------
def test_match_nearest_is_one_to_one_within_tolerance():
    ref = np.array([1.0, 2.0, 3.0, 4.0])
    det = np.array([1.01, 1.02, 2.5, 3.039, 4.041])
    i_r, i_d = match_nearest(ref, det, 0.04)
    assert i_r.tolist() == [0, 2] and i_d.tolist() == [0, 3]


def test_scoring_counts_only_complete_reference_contacts():
    reference = pd.DataFrame(
        {
            "ic_s": [np.nan, 0.5, 1.0, 1.5],
            "to_s": [0.2, 0.75, 1.25, np.nan],
            "complete": [False, True, True, False],
        }
    )
    detected = pd.DataFrame(
        {"ic_s": [0.51, 0.99, 1.2, 1.52], "to_s": [0.76, 1.27, np.nan, np.nan]}  # 1.2: false; 1.52: cut step
    )
    summary, steps = score_running_events(reference, detected)
    assert (summary["tp"], summary["fp"], summary["fn"]) == (2, 1, 0)
    assert summary["f1"] == pytest.approx(0.8)
    assert steps["contact_time_err_s"].to_numpy() == pytest.approx([0.0, 0.03])
    pooled = pool([steps, steps], [summary, summary])
    assert pooled["tp"] == 4 and pooled["contact_time"]["n"] == 4


def test_reference_contacts_hysteresis_and_interpolation():
    fs = 100.0
    f = np.zeros(100)
    f[10:13] = [0.04, 0.06, 0.04]  # ringing above 0.05 but never 0.5: not a contact
    f[30:40] = np.r_[np.linspace(0.0, 1.0, 5), np.linspace(1.0, 0.0, 5)]
    f[95:] = 1.0  # still on at the end: no TO
    c = reference_contacts(f, fs, threshold_bw=0.05)
    assert len(c) == 2
    assert c["ic"].iloc[0] == 31 and c["to"].iloc[0] == 39
    assert c["ic_s"].iloc[0] == pytest.approx((30 + 0.05 / 0.25) / fs)
    assert c["complete"].tolist() == [True, False] and pd.isna(c["to"].iloc[1])


# -- data loader -----------------------------------------------------------------------------------------
def test_shared_data_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("HIPSENSE_SHARED_DATA", str(tmp_path))
    assert shared_data_dir() == tmp_path
    monkeypatch.setenv("HIPSENSE_SHARED_DATA", str(tmp_path / "absent"))
    assert shared_data_dir() is None
    with pytest.raises(InputFileError, match="not found"):
        running_sacral_trials()


# -- real recordings (skipped without ../shared/data) ---------------------------------------------------
pytest_real = pytest.mark.shared_data


def _require_running_data():
    root = shared_data_dir()
    if root is None or not (root / "running-sacral-accel").is_dir():
        pytest.skip("../shared/data/running-sacral-accel is absent")


@pytest_real
def test_real_axis_signs_follow_the_physics():
    """Vertical is up-positive (about +1 g on average, about 0 g in flight); the anterior-posterior
    axis is forward-positive (it swings negative, braking, in the first 60 ms after contact)."""
    _require_running_data()
    for trial in running_sacral_trials()["trial"]:
        data, ref = load_running_sacral(trial)
        v = data["acc_is"].to_numpy() / G
        ap = data["acc_pa"].to_numpy() / G
        raw = read_running_sacral_csv(trial)
        assert 0.9 < v.mean() < 1.3
        assert np.median(v[raw["grf_v_bw"].to_numpy() < 0.02]) < 0.1
        ic = ref["ic"].dropna().to_numpy(dtype=int)
        ic = ic[ic + 30 < len(ap)]
        window = ap[ic[:, None] + np.arange(30)[None, :]]
        swing = window.min(axis=1) - ap[ic]  # change from the value at contact
        rise = window.max(axis=1) - ap[ic]
        assert np.median(swing) < -1.0
        assert np.median(-swing) > 1.5 * np.median(rise)
        assert np.all(window.argmin(axis=1) <= 20)  # the braking peak comes within 40 ms of contact


@pytest_real
def test_real_reference_contacts():
    _require_running_data()
    counts = []
    for trial in running_sacral_trials()["trial"]:
        _, ref = load_running_sacral(trial)
        complete = ref[ref["complete"]]
        counts.append(len(complete))
        assert complete["contact_time_s"].between(0.17, 0.30).all()
        assert (ref["ic_s"].dropna().diff().dropna() > 0.25).all()  # no spurious short contacts
    assert counts == [14, 15, 16, 13, 17, 15]


@pytest_real
@pytest.mark.parametrize(
    ("rate_hz", "max_rmse_ms", "max_abs_bias_ms"),
    # measured (docs/validation.md): 500 Hz RMSE 13.8, bias -2.0; 208 Hz RMSE 13.7, bias -2.1
    [(500.0, 15.0, 3.5), (208.0, 15.0, 3.5)],
)
def test_real_running_regression(rate_hz, max_rmse_ms, max_abs_bias_ms):
    _require_running_data()
    from scipy import signal

    steps, counts = [], []
    for trial in running_sacral_trials()["trial"]:
        data, ref = load_running_sacral(trial)
        if rate_hz != 500.0:
            data = pd.DataFrame({"acc_is": signal.resample_poly(data["acc_is"].to_numpy(), 52, 125)})
        events = RunningContactDetector().detect(data, sampling_rate_hz=rate_hz).events_
        summary, per_step = score_running_events(ref, events)
        assert summary["f1"] >= 0.96, trial  # at most one miss per trial
        assert summary["fp"] == 0, trial
        steps.append(per_step)
        counts.append(summary)
    overall = pool(steps, counts)
    assert overall["f1"] >= 0.99
    ct = overall["contact_time"]
    assert ct["n"] >= 85
    assert ct["rmse_ms"] <= max_rmse_ms
    assert abs(ct["mean_ms"]) <= max_abs_bias_ms
    # measured: IC +7.3/+7.7 (SD 7.3/7.0), TO +5.4/+5.6 (SD 10.1/10.2) at 500/208 Hz
    assert abs(overall["ic"]["mean_ms"]) <= 10.0 and overall["ic"]["sd_ms"] <= 8.0
    assert abs(overall["to"]["mean_ms"]) <= 7.5 and overall["to"]["sd_ms"] <= 11.0


# -- hills and foot strikes in the simulator; short recordings ------------------------------------------
def _slopes_benchmark():
    import importlib.util
    import sys
    from pathlib import Path

    name = "hipsense_benchmark_slopes"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[2] / "benchmarks" / "slopes.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.mark.parametrize(
    ("grade", "strike", "speed", "max_rmse_ms"),
    # measured (60 s running each, 208 Hz): CT RMSE 7.7, 9.1, 9.3, 2.8, 6.2 ms; IC -2.5..+2.1 ms
    [
        (0.0, "forefoot", 2.5, 9.0),
        (10.0, "rearfoot", 2.5, 10.5),
        (-10.0, "rearfoot", 2.5, 10.5),
        (5.0, "midfoot", 4.2, 4.0),
        (-5.0, "forefoot", 3.3, 7.5),
    ],
)
def test_simulated_grades_and_foot_strikes(grade, strike, speed, max_rmse_ms):
    """Uphill, downhill, and strikes without an impact transient: every step found, contact time
    within the grid's target (RMSE <= 15 ms) and just outside what was measured."""
    bench = _slopes_benchmark()
    summary, _ = bench.sim_cell(grade, strike, speed, 4242, RunningContactDetector())
    assert summary["fp"] == 0 and summary["fn"] <= 1  # the first step out of standing has no flight
    assert summary["f1"] >= 0.99
    assert abs(summary["ic"]["mean_ms"]) <= 3.5 and summary["ic"]["sd_ms"] <= 1.5
    assert summary["contact_time"]["rmse_ms"] <= max_rmse_ms


def test_forefoot_stance_is_timed_at_its_own_onset():
    """A stance without an impact transient whose climb to the active peak is steeper than its
    weight acceptance (as forefoot and uphill stances can be): IC on the first rise, not the second."""
    fs = 500.0
    data, truth = half_sine_run(fs, seed=5)
    acc = data["acc_is"].to_numpy() / G
    time = np.arange(len(acc)) / fs
    for a in truth["ic_s"]:
        # weight acceptance: a ramp to 1.05 g over 40 ms, held 20 ms; then a climb of 1.5 g in 15 ms
        on = (time >= a) & (time < a + 0.04)
        acc[on] = 1.05 * (time[on] - a) / 0.04
        acc[(time >= a + 0.04) & (time < a + 0.06)] = 1.05
        late = (time >= a + 0.06) & (time < a + 0.075)
        acc[late] = 1.05 + 1.5 * (time[late] - a - 0.06) / 0.015
        acc[(time >= a + 0.075) & (time < a + 0.09)] = 2.55
    ev = detect(pd.DataFrame({"acc_is": acc * G}), fs).events_
    i_t, i_e = paired(ev, truth)
    assert len(i_t) >= len(truth) - 1
    ic_err = ev.loc[i_e, "ic_s"].to_numpy() - truth.loc[i_t, "ic_s"].to_numpy()
    assert np.all(np.abs(ic_err) <= 0.004)
    # the same signal without the ceiling: the steep climb's tangent puts IC 45 ms late in the stances
    # whose plateau stays below the body-weight line (measured: 23 of 55)
    ev_old = detect(pd.DataFrame({"acc_is": acc * G}), fs, ic_ceiling_g=50.0).events_
    err = np.abs(ev_old["ic_s"].to_numpy()[:, None] - truth["ic_s"].to_numpy()[None, :]).min(axis=0)
    assert np.mean(err > 0.03) > 0.25


@pytest.mark.parametrize(("speed", "cadence"), [(3.3, None), (5.0, 222.0)])
def test_five_seconds_of_running_are_analysed(speed, cadence):
    """5 s of clear running alone (as the public treadmill trials) is one running bout with its steps,
    also at a fast 222 steps/min (3.7 Hz, above the old 3.8 Hz limit's margin)."""
    from hipsense.gait.bouts import ActivityBoutDetector
    from hipsense.sim import RunConfig, Segment, simulate_run
    from hipsense.sim.config import RunningModel

    run = simulate_run(
        RunConfig(
            speed_mps=speed,
            seed=11,
            segments=(Segment("run", 5.0),),
            running=RunningModel(cadence_spm=cadence),
        )
    )
    fs = run.true_sample_rate_hz
    bouts = ActivityBoutDetector().detect(run.body, sampling_rate_hz=fs).bouts_
    assert list(bouts["activity"]) == ["run"]
    events = RunningContactDetector().detect(run.body, sampling_rate_hz=fs).events_
    assert int(np.isfinite(events["contact_time_s"]).sum()) >= 12


def test_stride_dominated_running_is_still_running():
    """Left and right steps that differ put the spectrum's peak at the stride frequency (below 2 Hz):
    with flight in every step it is still running."""
    from hipsense.gait.bouts import ActivityBoutDetector

    fs = 208.0
    data, _ = half_sine_run(fs, seconds=12.0, contact_s=(0.22, 0.22), flight_s=(0.1, 0.1))
    acc = data["acc_is"].to_numpy() / G
    step = 0.32
    stride_phase = (np.arange(len(acc)) / fs - 0.3) % (2 * step) >= step
    acc = np.where(stride_phase, acc * 1.6, acc * 0.7)  # every other step much stronger
    labels = ActivityBoutDetector().detect(pd.DataFrame({"acc_is": acc * G}), sampling_rate_hz=fs)
    assert (labels.window_labels_ == "run").mean() >= 0.8


def test_bouts_of_data_shorter_than_a_window_are_unknown():
    from hipsense.gait.bouts import ActivityBoutDetector

    det = ActivityBoutDetector().detect(pd.DataFrame({"acc_is": np.full(100, G)}), sampling_rate_hz=208.0)
    assert list(det.bouts_["activity"]) == ["unknown"] and det.bouts_["end"].iloc[0] == 100
