"""Personal baselines: previous sessions only, a minimum count, floors, and a spread a drift cannot hide in."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hipsense.trends.baselines import PersonalBaseline


def test_baseline_uses_only_previous_sessions_and_waits_for_enough():
    x = pd.DataFrame({"v": np.arange(20, dtype=float)})
    b = PersonalBaseline(n_sessions=5, min_sessions=3, k=2.0).estimate(x)
    assert b.baseline_["v"].iloc[:3].isna().all()
    assert b.baseline_["v"].iloc[3] == 1.0  # median of sessions 0, 1, 2
    assert b.baseline_["v"].iloc[10] == 7.0  # median of sessions 5..9, not 10 itself
    assert np.allclose(b.spread_["v"].iloc[5:], 1 / 0.9539, rtol=1e-3)  # steps of 1 between runs
    assert np.allclose(b.upper_["v"] - b.baseline_["v"], 2 * b.spread_["v"], equal_nan=True)


def test_spread_has_a_floor_and_skips_missing_sessions():
    x = pd.DataFrame({"v": [1.0, np.nan, 1.0, 1.0, np.nan, 1.0, 1.0, 1.0]})
    b = PersonalBaseline(n_sessions=6, min_sessions=4, floors={"v": 0.3}).estimate(x)
    assert b.baseline_["v"].iloc[:6].isna().all()  # only 4 finite values by session 6
    assert b.baseline_["v"].iloc[7] == 1.0 and b.spread_["v"].iloc[7] == 0.3


def test_a_slow_drift_does_not_widen_the_band():
    rng = np.random.default_rng(1)
    noise = 0.3 * rng.standard_normal(60)
    ramp = np.r_[np.zeros(30), np.linspace(0, 3, 30)]
    x = pd.DataFrame({"steady": noise, "drifting": noise + ramp})
    b = PersonalBaseline().estimate(x)
    late = slice(45, 60)
    width_steady = b.spread_["steady"].iloc[late].mean()
    width_drift = b.spread_["drifting"].iloc[late].mean()
    assert abs(width_drift / width_steady - 1) < 0.25
    mad = x["drifting"].rolling(12).apply(lambda w: 1.4826 * np.median(np.abs(w - np.median(w)))).shift(1)
    assert mad.iloc[late].mean() > 1.5 * width_drift  # what a MAD band would have done
