"""The step table's faster routines give the floats of the versions they replaced (issue 17, item 2).

Each replaced routine is kept here as it was, and compared exactly (same bits, NaN and signed zeros
included) on step contexts with random contacts: steps with and without a next contact, bout changes,
ranges cut by the end of the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense import metrics as registry
from hipsense.conventions import G
from hipsense.gait import metrics as m
from hipsense.gait.filters import segment_ids, segment_reduce
from hipsense.gait.metrics import StepContext


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return (
        a.dtype == b.dtype
        and np.array_equal(a, b, equal_nan=True)
        and np.array_equal(np.signbit(a), np.signbit(b))
    )


def _plain_segment_mean(x, starts, ends):
    c = np.r_[0.0, np.cumsum(x)]
    return (c[ends] - c[starts]) / np.maximum(ends - starts, 1)


def _plain_vertical_oscillation(ctx: StepContext) -> np.ndarray:
    """``gait.metrics.vertical_oscillation`` before the speed work: owner gathers, segment_reduce."""
    start, end, _ = ctx.ranges
    vel = ctx.acc_is_g - 1.0
    vel *= G
    np.cumsum(vel, out=vel)
    vel /= ctx.fs
    idx, owner = segment_ids(start, end)
    pos = vel[idx]
    pos -= _plain_segment_mean(vel, start, end)[owner]
    np.cumsum(pos, out=pos)
    pos /= ctx.fs
    pos -= pos[np.r_[0, np.cumsum(end - start)[:-1]]][owner]
    hi = segment_reduce(np.maximum, pos, owner, ctx.k, -np.inf)
    lo = segment_reduce(np.minimum, pos, owner, ctx.k, np.inf)
    return np.where(np.isfinite(ctx.step_time_s), (hi - lo) * 100.0, np.nan)


def _random_ctx(seed: int) -> StepContext:
    rng = np.random.default_rng(seed)
    fs = float(rng.choice([100.0, 208.0, 500.0]))
    n = int(rng.integers(200, 6000))
    t = np.arange(n) / fs
    acc = G * (1.0 + 0.8 * np.sin(2 * np.pi * 2.8 * t) + 0.2 * rng.standard_normal(n))
    body = pd.DataFrame(
        {"acc_is": acc, "acc_pa": rng.standard_normal(n), "gyr_pa": 20 * rng.standard_normal(n)}
    )
    body["gyr_is"] = 15 * rng.standard_normal(n)
    k = int(rng.integers(1, max(2, n // int(0.3 * fs))))
    ic = np.sort(rng.uniform(0, n - 1, size=k))
    if seed % 3 == 0:
        ic = np.unique(np.round(ic))  # contacts on samples: ranges then touch
        k = len(ic)
    to = ic + rng.uniform(0.1, 0.9, size=k) * fs
    to[rng.random(k) < 0.1] = np.nan
    bout = np.cumsum(rng.random(k) < 0.05)
    sides = rng.choice(np.array(["L", "R", ""]), size=k)
    return StepContext(body, ic, to, sides, bout, sampling_rate_hz=fs)


@pytest.mark.parametrize("seed", range(30))
def test_vertical_oscillation_is_the_plain_one(seed):
    got = m.vertical_oscillation(_random_ctx(seed))
    assert _same(got, _plain_vertical_oscillation(_random_ctx(seed)))


@pytest.mark.parametrize("seed", range(10))
def test_segment_mean_is_the_plain_one(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(rng.integers(1, 500)))
    starts = rng.integers(0, len(x), size=40)
    ends = np.minimum(starts + rng.integers(0, 30, size=40), len(x))
    assert _same(m._segment_mean(x, starts, ends), _plain_segment_mean(x, starts, ends))


def _plain_step_table(ctx: StepContext) -> pd.DataFrame:
    """``metrics.step_table`` before the speed work: an ``isin`` per column."""
    order = sorted(registry.REGISTRY, key=lambda x: x.name == "quality")
    cols = {x.name: x.compute(ctx) for x in order if x.compute is not None}
    empty = np.full(ctx.k, np.nan)
    table = pd.DataFrame({x.name: cols.get(x.name, empty) for x in registry.REGISTRY})
    gait = table["activity"].to_numpy()
    for x in registry.REGISTRY:
        undefined = ~np.isin(gait, x.activities)
        if x.name in table and undefined.any():
            table[x.name] = table[x.name].where(~undefined)
    return table


@pytest.mark.parametrize("seed", range(12))
def test_step_table_is_the_plain_one(seed):
    """The whole step table, walking steps mixed in (their undefined columns emptied)."""
    ctx = _random_ctx(seed)
    walk = np.random.default_rng(seed).random(ctx.k) < 0.3
    activity = np.where(walk, "walk", "run")

    def again() -> StepContext:
        c = _random_ctx(seed)
        return StepContext(c.body, c.ic, c.to, c.sides, c.bout, sampling_rate_hz=c.fs, activity=activity)

    pd.testing.assert_frame_equal(registry.step_table(again()), _plain_step_table(again()), check_exact=True)


def _plain_pelvic_drop_deg(obliquity, start, end, sides):
    """``pelvis.pelvic_drop_deg``'s arithmetic before the speed work: owner gathers, segment_reduce."""
    sign = np.select([sides == "L", sides == "R"], [1.0, -1.0], 0.0)
    idx, owner = segment_ids(start, end)
    drop = segment_reduce(
        np.maximum, sign[owner] * (obliquity[idx] - obliquity[start[owner]]), owner, len(start), -np.inf
    )
    return np.where(sign != 0, drop, np.nan)


@pytest.mark.parametrize("seed", range(20))
def test_pelvic_drop_is_the_plain_one(seed):
    from hipsense.gait.pelvis import pelvic_drop_deg

    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 3000))
    obliquity = 3 * rng.standard_normal(n)
    obliquity[rng.random(n) < 0.05] = -0.0
    k = int(rng.integers(1, 60))
    start = rng.integers(0, n - 1, size=k)
    end = np.minimum(start + rng.integers(1, 300, size=k), n)
    sides = rng.choice(np.array(["L", "R", ""]), size=k)
    assert _same(
        pelvic_drop_deg(obliquity, start, end, sides), _plain_pelvic_drop_deg(obliquity, start, end, sides)
    )
