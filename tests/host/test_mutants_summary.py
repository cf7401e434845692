"""Tests that kill the mutants of hipsense.gait.summary the other tests let survive (docs/testing.md).

``test_summary_bootstrap.py`` checks the bootstrap against a plain implementation; nothing in the fast
selection called :func:`summarize` itself. These tests build small step tables by hand (alternating
sides, constant or linearly rising values) whose medians, asymmetries, drift and walking figures can
be worked out on paper, and check the summary against them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from hipsense import metrics as registry
from hipsense.gait import summary
from hipsense.gait.summary import (
    SessionSummary,
    asymmetry_index,
    sides_table,
    summarize,
    walking_summary,
)

KNOWN = {"side_source": "pelvis"}


def _table(k: int, *, left: dict | None = None, right: dict | None = None, **columns) -> pd.DataFrame:
    """``k`` running steps alternating L, R (L first). Every sided/drift column is 1.0 on both sides
    unless ``left``/``right`` give a per-side constant, or ``columns`` a whole column."""
    sides = np.array(["L", "R"] * (k // 2) + ["L"] * (k % 2))
    names = {m.name for m in registry.sided()} | {m.name for m in registry.drift()}
    names |= {"step_time_s", "cadence_spm", "impact_g"}
    data: dict[str, object] = {"side": sides}
    for name in sorted(names):
        col = np.ones(k)
        if left and name in left:
            col[sides == "L"] = left[name]
        if right and name in right:
            col[sides == "R"] = right[name]
        data[name] = col
    data.update(columns)
    return pd.DataFrame(data)


def _summarize(steps: pd.DataFrame, *, quality: dict | None = None, n_boot: int = 200) -> SessionSummary:
    return summarize(
        steps,
        source="hand-built",
        algorithm_version="test",
        duration_s=60.0,
        running_time_s=50.0,
        quality=KNOWN if quality is None else quality,
        alignment={"method": "none"},
        walking_time_s=4.0,
        n_boot=n_boot,
    )


# -- asymmetry index and JSON --------------------------------------------------------------------------


def test_asymmetry_index_is_the_difference_over_the_mean_in_percent():
    assert asymmetry_index(110.0, 90.0) == pytest.approx(20.0)  # 20 / 100
    assert asymmetry_index(3.0, 1.0) == pytest.approx(100.0)  # 2 / 2
    assert asymmetry_index(1.0, 3.0) == pytest.approx(-100.0)


def test_jsonable_gives_plain_python_rounded_to_four_decimals_and_none_for_non_finite():
    out = summary._jsonable(
        {
            "a": np.float64(1.234567),
            "b": 2.000049,
            "c": float("nan"),
            "d": np.float32("inf"),
            "e": np.int64(7),
            "f": np.bool_(True),
            "g": np.array([0.123456, 2.0]),
            "h": (np.int32(1), "x", None),
            "i": [{"j": np.float64(-0.00005)}],
        }
    )
    assert out == {
        "a": 1.2346,
        "b": 2.0,
        "c": None,
        "d": None,
        "e": 7,
        "f": True,
        "g": [0.1235, 2.0],
        "h": [1, "x", None],
        "i": [{"j": round(-0.00005, 4)}],
    }
    assert type(out["e"]) is int and type(out["f"]) is bool and type(out["a"]) is float
    assert type(out["h"]) is list and type(out["h"][0]) is int
    assert out["a"] == 1.2346 and out["b"] == 2.0 and out["g"] == [0.1235, 2.0]


# -- per-side medians and their judgement --------------------------------------------------------------


def test_constant_sides_give_their_medians_and_a_zero_width_interval():
    # step time 0.30 s left, 0.32 s right: AI = 100 * -0.02 / 0.31 = -6.4516 %, beyond 1.5 points
    s = _summarize(_table(20, left={"step_time_s": 0.30}, right={"step_time_s": 0.32}))
    st = s.side("step_time_s")
    assert (st.left, st.right, st.n_left, st.n_right) == (pytest.approx(0.30), pytest.approx(0.32), 10, 10)
    assert st.asymmetry_pct == pytest.approx(-200.0 / 31.0)
    assert st.ci_low_pct == pytest.approx(-200.0 / 31.0) and st.ci_high_pct == pytest.approx(-200.0 / 31.0)
    assert st.difference == pytest.approx(-0.02)
    assert st.diff_ci_low == pytest.approx(-0.02) and st.diff_ci_high == pytest.approx(-0.02)
    assert (st.left_ci_low, st.left_ci_high) == (pytest.approx(0.30), pytest.approx(0.30))
    assert (st.right_ci_low, st.right_ci_high) == (pytest.approx(0.32), pytest.approx(0.32))
    assert st.larger_than_noise is True
    # the equal sides: AI 0, interval (0, 0) includes zero
    ct = s.side("contact_time_s")
    assert ct.asymmetry_pct == 0.0 and ct.difference == 0.0 and ct.larger_than_noise is False
    assert [c.metric for c in s.sides] == [m.name for m in registry.sided()]


def test_a_left_side_larger_is_positive():
    s = _summarize(_table(20, left={"impact_g": 2.2}, right={"impact_g": 1.8}))
    im = s.side("impact_g")
    assert im.asymmetry_pct == pytest.approx(20.0) and im.difference == pytest.approx(0.4)
    assert im.ci_low_pct == pytest.approx(20.0) and im.larger_than_noise is True


def test_unknown_sides_withhold_the_verdict_but_not_the_figures():
    steps = _table(20, left={"step_time_s": 0.30}, right={"step_time_s": 0.32})
    s = _summarize(steps, quality={"side_source": "unknown"})
    st = s.side("step_time_s")
    assert (
        st.left == pytest.approx(0.30) and st.larger_than_noise is None and st.note
    )  # withheld, not "within noise"
    assert _summarize(steps, quality={}).side("step_time_s").larger_than_noise is True


def test_index_metrics_are_judged_on_the_index_and_angles_on_the_difference():
    steps = _table(
        20,
        # impact: difference 0.02 g (large next to 0.3) but AI 100 * 0.02 / 2.01 = 0.995 % < 1.5
        left={"impact_g": 2.02, "pelvic_drop_deg": 0.2, "pelvic_rotation_deg": 6.0},
        # drop: AI 100 * 0.1 / 0.15 = 66.7 % but difference 0.1 deg < 0.3; rotation: 1.0 deg > 0.3
        right={"impact_g": 2.00, "pelvic_drop_deg": 0.1, "pelvic_rotation_deg": 5.0},
    )
    s = _summarize(steps)
    assert s.side("impact_g").asymmetry_pct == pytest.approx(200.0 / 201.0)
    assert s.side("impact_g").larger_than_noise is False
    assert s.side("pelvic_drop_deg").asymmetry_pct == pytest.approx(200.0 / 3.0)
    assert s.side("pelvic_drop_deg").larger_than_noise is False
    assert s.side("pelvic_rotation_deg").larger_than_noise is True


@pytest.mark.parametrize(("left", "right", "real"), [(1.0, 0.5, False), (1.0, 0.4999, True)])
def test_a_difference_exactly_at_the_noise_floor_is_not_beyond_it(left, right, real):
    # pelvic drop's floor is 0.5 deg (docs/validation.md "Noise floors"); 1.0 - 0.5 is exactly 0.5
    assert registry.get("pelvic_drop_deg").noise_floor == 0.5
    s = _summarize(_table(20, left={"pelvic_drop_deg": left}, right={"pelvic_drop_deg": right}))
    assert s.side("pelvic_drop_deg").larger_than_noise is real


@pytest.mark.parametrize(("left", "right", "real"), [(0.5, -0.2, True), (-0.5, 0.2, True), (0.1, 0.0, False)])
def test_the_difference_judgement_works_for_either_sign(left, right, real):
    s = _summarize(_table(20, left={"pelvic_rotation_deg": left}, right={"pelvic_rotation_deg": right}))
    assert s.side("pelvic_rotation_deg").larger_than_noise is real


def test_sides_summing_to_zero_have_no_index_but_a_difference():
    # rotation +1 / -1 deg: the index divides by 0 (none), the difference is 2 deg
    steps = _table(
        20,
        left={"pelvic_rotation_deg": 1.0, "braking_g": 1.0},
        right={"pelvic_rotation_deg": -1.0, "braking_g": -1.0},
    )
    s = _summarize(steps)
    rot, brk = s.side("pelvic_rotation_deg"), s.side("braking_g")
    assert math.isnan(rot.asymmetry_pct) and rot.difference == pytest.approx(2.0)
    assert rot.larger_than_noise is True and rot.diff_ci_low == pytest.approx(2.0)
    assert math.isnan(brk.asymmetry_pct) and math.isnan(brk.ci_low_pct) and brk.larger_than_noise is None
    d = s.to_dict()["sides"]
    assert next(x for x in d if x["metric"] == "braking_g")["asymmetry_pct"] is None


def test_fewer_than_three_steps_a_side_give_no_figures():
    col = np.ones(20)
    col[[2, 4, 6, 8, 10, 12, 14, 16]] = np.nan  # 2 finite left steps (0 and 18), 10 right
    s = _summarize(_table(20, contact_time_s=col))
    ct = s.side("contact_time_s")
    assert (ct.n_left, ct.n_right) == (2, 10)
    assert ct.left is ct.right is ct.asymmetry_pct is ct.difference is ct.ci_low_pct is None
    assert ct.larger_than_noise is None and ct.left_ci_low is None
    col[2] = 1.0  # three left: figures
    ct = _summarize(_table(20, contact_time_s=col)).side("contact_time_s")
    assert (ct.n_left, ct.left, ct.right) == (3, 1.0, 1.0)
    right_only = np.ones(20)
    right_only[1::2] = np.nan  # 10 left, 0 right
    ct = _summarize(_table(20, contact_time_s=right_only)).side("contact_time_s")
    assert (ct.n_left, ct.n_right, ct.left) == (10, 0, None)


def test_steps_of_unknown_side_and_nan_values_count_for_neither_side():
    steps = _table(24, left={"impact_g": 2.0}, right={"impact_g": 3.0})
    steps.loc[20:, "side"] = ""  # four steps of unknown side with a huge impact
    steps.loc[20:, "impact_g"] = 50.0
    steps.loc[0, "impact_g"] = np.nan
    im = _summarize(steps).side("impact_g")
    assert (im.n_left, im.n_right) == (9, 10)
    assert im.left == 2.0 and im.right == 3.0
    assert im.right_ci_high == pytest.approx(3.0) and im.left_ci_high == pytest.approx(2.0)


def test_the_bootstrap_gets_only_the_counted_steps():
    # a NaN at the front shifts the steps; the medians' intervals still hold each side's own values
    rng = np.random.default_rng(5)
    col = np.where(np.arange(40) % 2 == 0, rng.uniform(1.0, 1.1, 40), rng.uniform(2.0, 2.1, 40))
    col[[0, 3]] = np.nan
    steps = _table(40, contact_time_s=col)
    ct = _summarize(steps).side("contact_time_s")
    left_vals, right_vals = col[2::2], col[1::2]
    left_vals, right_vals = left_vals[np.isfinite(left_vals)], right_vals[np.isfinite(right_vals)]
    assert left_vals.min() <= ct.left_ci_low <= ct.left <= ct.left_ci_high <= left_vals.max()
    assert right_vals.min() <= ct.right_ci_low <= ct.right <= ct.right_ci_high <= right_vals.max()
    assert ct.ci_low_pct < ct.asymmetry_pct < ct.ci_high_pct < 0


def test_no_replicates_give_no_intervals_and_no_verdict():
    s = _summarize(_table(20, left={"step_time_s": 0.30}, right={"step_time_s": 0.32}), n_boot=0)
    st = s.side("step_time_s")
    assert st.left == pytest.approx(0.30) and math.isnan(st.ci_low_pct) and math.isnan(st.right_ci_high)
    assert st.larger_than_noise is None and st.note


# -- session figures -----------------------------------------------------------------------------------


def test_session_figures_count_running_steps_only():
    run = _table(20, impact_g=np.full(20, 2.0), cadence_spm=np.full(20, 180.0))
    run["activity"] = "run"
    walk = _table(6, impact_g=np.full(6, 1.0), cadence_spm=np.full(6, 110.0))
    walk["activity"] = "walk"
    steps = pd.concat([walk, run], ignore_index=True)
    s = _summarize(steps)
    assert s.steps == 20 and s.cadence_spm == 180.0 and s.impact_load_g == pytest.approx(40.0)
    assert s.side("impact_g").n_left == 10
    assert s.walking["steps"] == 6 and s.walking["cadence_spm"] == 110.0
    assert (s.source, s.algorithm_version, s.duration_s, s.running_time_s) == (
        "hand-built",
        "test",
        60.0,
        50.0,
    )
    assert s.walking_time_s == 4.0 and s.alignment == {"method": "none"} and s.quality == KNOWN
    assert s.flags == []


def test_cadence_is_the_median_over_steps_with_a_step_time():
    step = np.full(9, 0.33)
    step[[0, 1, 2, 3]] = np.nan  # these four carry a silly cadence
    cad = np.array([999.0, 999.0, 999.0, 999.0, 170.0, 180.0, 182.0, 190.0, 200.0])
    s = _summarize(_table(9, step_time_s=step, cadence_spm=cad))
    assert s.cadence_spm == 182.0
    none = _summarize(_table(9, step_time_s=np.full(9, np.nan), cadence_spm=cad))
    assert none.cadence_spm is None and none.to_dict()["cadence_spm"] is None


def test_impact_load_is_the_sum_ignoring_missing_steps():
    impact = np.array([1.5, np.nan, 2.5, 3.0, np.nan, 1.0])
    assert _summarize(_table(6, impact_g=impact)).impact_load_g == pytest.approx(8.0)


def test_drift_compares_the_last_fifth_with_the_first_per_side_then_averages_the_sides():
    # 40 steps, fifth = 8: early rows 0-7, late rows 32-39. Value 0.2 + i/1000 on the left (even i),
    # 0.3 + i/1000 on the right: early medians 0.203 / 0.304, late 0.235 / 0.336.
    i = np.arange(40)
    x = np.where(i % 2 == 0, 0.2, 0.3) + i / 1000
    d = _summarize(_table(40, contact_time_s=x)).drift["contact_time_s"]
    assert d["early"] == pytest.approx((0.203 + 0.304) / 2, abs=1e-12)
    assert d["late"] == pytest.approx((0.235 + 0.336) / 2, abs=1e-12)
    assert d["change"] == pytest.approx(0.032, abs=1e-12)
    assert set(_summarize(_table(40)).drift) == {m.name for m in registry.drift()}


def test_drift_uses_the_median_and_skips_missing_values():
    i = np.arange(40)
    x = np.where(i % 2 == 0, 0.2, 0.3) + i / 1000
    x[0] = 5.0  # an outlier moves the mean, not the median of 4 (0.202, 0.204, 0.206, 5.0) -> 0.205
    x[38] = np.nan  # late left: 0.232, 0.234, 0.236 -> 0.234
    d = _summarize(_table(40, contact_time_s=x)).drift["contact_time_s"]
    assert d["early"] == pytest.approx((0.205 + 0.304) / 2, abs=1e-12)
    assert d["late"] == pytest.approx((0.234 + 0.336) / 2, abs=1e-12)


def test_drift_needs_three_finite_steps_a_side_in_each_fifth():
    i = np.arange(40)
    x = np.where(i % 2 == 0, 0.2, 0.3) + i / 1000
    x[[33, 35]] = np.nan  # late right has 2: only the left side counts
    d = _summarize(_table(40, contact_time_s=x)).drift["contact_time_s"]
    assert (d["early"], d["late"]) == (pytest.approx(0.203, abs=1e-12), pytest.approx(0.235, abs=1e-12))
    x[[2, 4]] = np.nan  # early left has 2 as well: no drift at all
    d = _summarize(_table(40, contact_time_s=x)).drift["contact_time_s"]
    assert d == {"early": None, "late": None, "change": None}
    assert _summarize(_table(30)).drift["impact_g"]["change"] == 0.0  # fifth 6: 3 a side
    assert _summarize(_table(29)).drift["impact_g"]["change"] == 0.0  # fifth 5: 3 left, 2 right
    assert _summarize(_table(24)).drift["impact_g"]["change"] is None  # fifth 4: 2 a side


def test_drift_with_only_one_step_side_mask_is_per_side():
    # all steps left: the right side never counts, the left alone gives the figures
    steps = _table(20, impact_g=np.arange(20, dtype=float))
    steps["side"] = "L"
    d = _summarize(steps).drift["impact_g"]
    assert (d["early"], d["late"], d["change"]) == (1.5, 17.5, 16.0)


# -- walking, tables, JSON -----------------------------------------------------------------------------


def test_walking_summary_of_a_table_without_walking_is_empty():
    assert walking_summary(_table(10)) == {}
    steps = _table(10)
    steps["activity"] = "run"
    assert walking_summary(steps) == {}


def test_walking_summary_medians_per_side():
    steps = _table(
        8,
        step_time_s=np.array([0.50, 0.60, 0.52, 0.62, 0.54, 0.64, np.nan, 0.66]),
        pelvic_drop_deg=np.array([3.0, 1.0, 4.0, 1.0, 5.0, np.nan, 9.0, 2.0]),
        cadence_spm=np.array([100.0, 110.0, np.nan, 120.0, 104.0, 106.0, 108.0, 130.0]),
    )
    steps["activity"] = ["walk"] * 7 + ["run"]
    out = walking_summary(steps)
    # walking rows 0-6: left 0, 2, 4, 6; right 1, 3, 5
    assert out == {
        "steps": 7,
        "cadence_spm": 107.0,  # median of 100, 110, 120, 104, 106, 108
        "step_time_s_left": 0.52,  # 0.50, 0.52, 0.54 (NaN skipped)
        "step_time_s_right": 0.62,  # 0.60, 0.62, 0.64
        "pelvic_drop_deg_left": 4.5,  # 3, 4, 5, 9
        "pelvic_drop_deg_right": None,  # only 2 finite
        "contact_time_s_left": 1.0,  # every sided metric the registry says holds for walking
        "contact_time_s_right": 1.0,
        "pelvic_rotation_deg_left": 1.0,
        "pelvic_rotation_deg_right": 1.0,
    }
    steps["cadence_spm"] = np.nan
    assert walking_summary(steps)["cadence_spm"] is None


def test_sides_table_has_one_row_per_sided_metric():
    s = _summarize(_table(20, left={"step_time_s": 0.30}, right={"step_time_s": 0.32}))
    t = sides_table(s)
    assert list(t.index) == [m.name for m in registry.sided()] and t.index.name == "metric"
    assert t.loc["step_time_s", "left"] == pytest.approx(0.30) and t.loc["step_time_s", "n_right"] == 10


def test_to_dict_is_the_rounded_json():
    s = _summarize(_table(20, left={"step_time_s": 0.30}, right={"step_time_s": 0.32}))
    d = s.to_dict()
    st = next(x for x in d["sides"] if x["metric"] == "step_time_s")
    assert st["asymmetry_pct"] == round(-200.0 / 31.0, 4) and st["larger_than_noise"] is True
    assert d["steps"] == 20 and d["walking"] == {} and d["walking_time_s"] == 4.0
    with pytest.raises(StopIteration):
        s.side("no_such_metric")


# -- bootstrap internals -------------------------------------------------------------------------------


def test_interval_scales_the_spread_around_the_centre():
    r = np.arange(101.0)  # percentiles 2.5 and 97.5
    assert summary._interval(r, 50.0, 1.0, 101) == (2.5, 97.5)
    assert summary._interval(r, 50.0, 0.5, 101) == (26.25, 73.75)
    assert summary._interval(r, 40.0, 0.5, 101) == (21.25, 68.75)


def test_interval_needs_half_the_replicates_finite_and_a_finite_centre():
    r = np.r_[np.arange(50.0), np.full(50, np.nan)]
    lo, hi = summary._interval(r, 25.0, 1.0, 100)  # exactly half finite: an interval
    assert np.isfinite(lo) and np.isfinite(hi)
    assert np.isnan(summary._interval(r, 25.0, 1.0, 102)).all()  # fewer than half
    assert np.isnan(summary._interval(np.arange(10.0), np.nan, 1.0, 10)).all()
    assert np.isnan(summary._interval(np.arange(10.0), np.inf, 1.0, 10)).all()
    assert np.isnan(summary._interval(np.zeros(0), 1.0, 1.0, 0)).all()


@pytest.mark.parametrize(
    ("low", "high", "estimate", "floor", "expected"),
    [
        (0.1, 2.0, 1.0, 0.5, True),
        (-2.0, -0.1, -1.0, 0.5, True),
        (-0.1, 2.0, 1.0, 0.5, False),  # includes zero
        (0.0, 2.0, 1.0, 0.5, False),  # touches zero
        (-2.0, 0.0, -1.0, 0.5, False),
        (0.1, 2.0, 0.5, 0.5, False),  # at the floor
        (0.1, 2.0, 0.4, 0.5, False),
        (-2.0, -0.1, -0.6, 0.5, True),
        (np.nan, np.nan, 1.0, 0.5, False),
    ],
)
def test_beyond_needs_an_interval_off_zero_and_an_estimate_past_the_floor(
    low, high, estimate, floor, expected
):
    assert summary.beyond_noise(low, high, estimate, floor) is expected


def test_block_length_shrinks_to_a_quarter_of_the_steps_but_not_below_two():
    summary._STARTS_CACHE.clear()
    starts, block, m = summary._block_starts(40, 16, 50, 2000, 0)
    assert (block, m, starts.shape) == (10, 40, (50, 4))
    assert starts.min() >= 0 and starts.max() <= 30
    _, block, m = summary._block_starts(6, 16, 50, 2000, 0)
    assert (block, m) == (2, 6)  # 6 // 4 = 1, raised to 2
    _, block, m = summary._block_starts(3, 16, 50, 2000, 0)
    assert (block, m) == (2, 3)  # 3 // 4 = 0: 2
    starts, block, m = summary._block_starts(5000, 16, 50, 2000, 0)
    assert (block, m, starts.shape) == (16, 2000, (50, 125))
    starts, _, _ = summary._block_starts(100, 16, 2000, 2000, 1)
    assert starts.max() == 100 - 16  # the last possible block start is drawn (2000 x 7 draws)


def test_the_starts_cache_stays_small():
    summary._STARTS_CACHE.clear()
    for seed in range(20):
        summary._block_starts(30, 16, 10, 2000, seed)
        assert len(summary._STARTS_CACHE) <= summary._STARTS_CACHE_SIZE == 8
    # full at 8, cleared by the 9th and the 17th: 20 keys leave 4
    assert len(summary._STARTS_CACHE) == 4


def test_row_medians_of_a_side_missing_from_a_replicate_are_nan():
    values = np.array([1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0])
    is_left = np.array([True] * 4 + [False] * 4)
    starts = np.array([[0, 2], [4, 6], [0, 4]])  # block 2, m 4: left only, right only, half each
    ml, mr = summary._row_medians(values, is_left, starts, 2, 4)
    np.testing.assert_array_equal(ml, [2.5, np.nan, 1.5])
    np.testing.assert_array_equal(mr, [np.nan, 25.0, 15.0])
    # m cuts the last block: rows of 3 steps (1, 2, 3) and (10, 20, 30) and (1, 2, 10)
    ml, mr = summary._row_medians(values, is_left, starts, 2, 3)
    np.testing.assert_array_equal(ml, [2.0, np.nan, 1.5])
    np.testing.assert_array_equal(mr, [np.nan, 20.0, 10.0])
    ml, mr = summary._row_medians(values, is_left, np.zeros((0, 2), dtype=np.int64), 2, 4)
    assert ml.shape == mr.shape == (0,)


def test_replicates_holding_one_side_only_do_not_crash_the_bootstrap():
    # Sides in two runs (LLL then RRR), block 2: a replicate of blocks starting at 0 holds left steps
    # only. It used to index past the row (IndexError); now that side's median is NaN and dropped.
    values = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 30.0])
    is_left = np.array([True, True, True, False, False, False])
    (lo, hi), (dlo, dhi), (llo, lhi), (rlo, rhi) = summary.block_bootstrap(values, is_left, n_boot=500)
    assert 1.0 <= llo <= 2.0 <= lhi <= 3.0 and 10.0 <= rlo <= 20.0 <= rhi <= 30.0
    assert dlo <= -18.0 <= dhi < 0 and lo <= hi < 0
    steps = _table(6, impact_g=values)
    steps["side"] = ["L", "L", "L", "R", "R", "R"]
    im = _summarize(steps, n_boot=500).side("impact_g")
    assert (im.left, im.right, im.difference) == (2.0, 20.0, -18.0)
    assert im.left_ci_low == llo and im.right_ci_high == rhi


def test_drift_without_sides_compares_the_alternate_step_sets():
    """Sides not known (an accelerometer-only clip): drift per set of alternate steps, the same figures
    as with the sides, since one set is one foot (a missed contact restarts the sets)."""
    i = np.arange(40)
    x = np.where(i % 2 == 0, 0.2, 0.3) + i / 1000
    known = _table(40, contact_time_s=x)
    unknown = known.assign(side="", ic_s=0.35 * i, bout=0)
    d = _summarize(unknown, quality={"side_source": "unknown"}).drift["contact_time_s"]
    assert d == _summarize(known).drift["contact_time_s"]
    assert d["change"] == pytest.approx(0.032, abs=1e-12)
    # One contact missed at step 20: the sets swap there, and still each holds one foot.
    gap = unknown.drop(index=20).reset_index(drop=True)
    gap["ic_s"] = np.r_[0.35 * np.arange(20), 0.35 * np.arange(21, 40)]
    d_gap = _summarize(gap, quality={"side_source": "unknown"}).drift["contact_time_s"]
    assert d_gap == _summarize(known.drop(index=20).reset_index(drop=True)).drift["contact_time_s"]
    # 39 steps, fifth 7: early 0.203 (even steps 0-6) and 0.303 (odd), late 0.236 (34-38) and 0.336
    assert d_gap["early"] == pytest.approx((0.203 + 0.303) / 2, abs=1e-12)
    assert d_gap["late"] == pytest.approx((0.236 + 0.336) / 2, abs=1e-12)
    # Sides partly known: per side, as before (the unknown steps count for neither).
    part = known.assign(side=np.where(i < 20, "", known["side"]), ic_s=0.35 * i, bout=0)
    assert _summarize(part).drift["contact_time_s"]["early"] is None


def test_the_defaults_are_1000_replicates_and_no_walking_time():
    # docs/metrics.md: 1000 bootstrap replicates. One more replicate moves the percentiles.
    rng = np.random.default_rng(11)
    values, is_left = rng.normal(1.0, 0.1, 60), np.arange(60) % 2 == 0
    assert summary.block_bootstrap(values, is_left) == summary.block_bootstrap(values, is_left, n_boot=1000)
    assert summary.block_bootstrap(values, is_left) != summary.block_bootstrap(values, is_left, n_boot=1001)
    steps = _table(200, impact_g=rng.normal(1.0, 0.1, 200))
    kwargs = dict(source="s", algorithm_version="v", duration_s=1.0, running_time_s=1.0, quality=KNOWN)
    default = summarize(steps, alignment={}, **kwargs)
    assert default.walking_time_s == 0.0
    assert default.side("impact_g") == summarize(steps, alignment={}, n_boot=1000, **kwargs).side("impact_g")
    assert default.side("impact_g") != summarize(steps, alignment={}, n_boot=1001, **kwargs).side("impact_g")


def test_the_bootstrap_works_in_float64_and_reads_sides_as_booleans():
    rng = np.random.default_rng(12)
    values = rng.normal(1.0, 0.1, 50).astype(np.float32)
    is_left = np.arange(50) % 2 == 0
    expected = summary.block_bootstrap(values.astype(np.float64), is_left, n_boot=300)
    assert summary.block_bootstrap(values, is_left, n_boot=300) == expected
    # sides given as 0/1 are a mask, not row numbers
    assert summary.block_bootstrap(values.astype(np.float64), is_left.astype(int), n_boot=300) == expected


def test_a_step_table_with_missing_cells_as_none_is_read_as_numbers():
    # a table read back from JSON or SQL: object columns holding floats and None
    steps = _table(40, left={"impact_g": 2.0}, right={"impact_g": 3.0})
    steps["activity"] = ["run"] * 34 + ["walk"] * 6
    for c in steps.columns:
        if c not in ("side", "activity"):
            col = steps[c].astype(object)
            col.iloc[[0, 35]] = None
            steps[c] = col
    assert steps["impact_g"].dtype == object
    s = _summarize(steps)
    im = s.side("impact_g")
    assert (im.n_left, im.n_right, im.left, im.right) == (16, 17, 2.0, 3.0)
    assert s.impact_load_g == pytest.approx(16 * 2.0 + 17 * 3.0) and s.cadence_spm == 1.0
    # early fifth (rows 0-5): two finite left steps (row 0 is None), so only the right side counts
    assert s.drift["impact_g"] == {"early": 3.0, "late": 3.0, "change": 0.0}
    assert s.walking["steps"] == 6 and s.walking["cadence_spm"] == 1.0
    assert s.walking["step_time_s_left"] == 1.0 and s.walking["step_time_s_right"] is None  # 2 finite


def test_a_metric_without_enough_steps_does_not_stop_the_others():
    step = np.ones(20)
    step[::2] = np.nan  # no left step times: the first sided metric has no figures
    s = _summarize(_table(20, step_time_s=step, left={"impact_g": 2.0}))
    assert [c.metric for c in s.sides] == [m.name for m in registry.sided()]
    assert s.side("step_time_s").left is None and s.side("impact_g").left == 2.0


def test_sides_summing_to_zero_raise_no_numpy_warning():
    # the asymmetry index of replicates whose sides sum to 0 is NaN, quietly (users see no warning)
    values = np.where(np.arange(30) % 2 == 0, 1.0, -1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (lo, hi), (dlo, dhi), _, _ = summary.block_bootstrap(values, values > 0, n_boot=100)
    assert np.isnan(lo) and np.isnan(hi) and dlo == dhi == 2.0


def test_half_of_an_odd_number_of_replicates_rounds_down():
    r = np.r_[np.arange(50.0), np.full(51, np.nan)]  # 50 finite of 101: enough (101 // 2 = 50)
    lo, hi = summary._interval(r, 25.0, 1.0, 101)
    assert np.isfinite(lo) and np.isfinite(hi)
