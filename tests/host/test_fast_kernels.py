"""The faster segment helpers and side-phase tables give the very floats the plain versions gave.

Each plain version is kept here as it was before the speed work (issue 17): a global lexsort for the
per-range quantile, ``ufunc.at`` for the per-range extreme, a cosine per sample for the side phase.
The comparisons are exact (same bits, signed zeros and NaN included), on random inputs with ties,
NaN, empty ranges and ranges longer than the padded-row sort takes.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import signal

from hipsense.gait import filters
from hipsense.gait.filters import (
    butter_sos,
    first_per_range,
    segment_argext,
    segment_first_true,
    segment_ids,
    segment_quantile,
    segment_reduce,
)
from hipsense.gait.sides import _bout_phase, _of_phase, _projection, _step_phase


def _plain_ids(starts, ends):
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.maximum(np.asarray(ends, dtype=np.int64) - starts, 0)
    owner = np.repeat(np.arange(len(starts)), lengths)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return starts[owner] + offset, owner


def _plain_quantile(values, mask, starts, ends, q):
    out = np.full(len(starts), np.nan)
    idx, owner = _plain_ids(starts, ends)
    keep = mask[idx]
    idx, owner = idx[keep], owner[keep]
    if len(idx) == 0:
        return out
    v = values[idx]
    order = np.lexsort((v, owner))
    v, owner = v[order], owner[order]
    counts = np.bincount(owner, minlength=len(starts))
    first = np.cumsum(counts) - counts
    has = counts > 0
    pos = q * (counts[has] - 1)
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    hi = np.minimum(lo + 1, counts[has] - 1)
    out[has] = (1 - frac) * v[first[has] + lo] + frac * v[first[has] + hi]
    return out


def _plain_argext(values, starts, ends, *, largest):
    n_seg = len(starts)
    idx, owner = _plain_ids(starts, ends)
    v = np.asarray(values)[idx]
    ext = np.full(n_seg, -np.inf if largest else np.inf)
    (np.maximum if largest else np.minimum).at(ext, owner, v)
    hit = v == ext[owner]
    big = np.iinfo(np.int64).max
    out = np.full(n_seg, big, dtype=np.int64)
    np.minimum.at(out, owner[hit], idx[hit])
    out[out == big] = -1
    return out


def _ranges(rng, n, tiled):
    cuts = np.sort(rng.integers(0, n + 1, size=int(rng.integers(0, 60))))
    if tiled:  # consecutive ranges covering everything, some empty
        return np.r_[0, cuts], np.r_[cuts, n]
    return cuts, np.minimum(cuts + rng.integers(0, 400, len(cuts)), n)  # overlapping, some long


def _same(a, b):
    return np.array_equal(a, b, equal_nan=True) and np.array_equal(np.signbit(a), np.signbit(b))


@pytest.mark.parametrize("seed", range(40))
def test_segment_ids_and_quantile_are_the_plain_ones(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4000))
    v = rng.normal(size=n)
    if seed % 3 == 0:
        v = np.round(v, 1)  # many ties
    if seed % 4 == 0:
        v[rng.random(n) < 0.1] = np.nan
    if seed % 5 == 0:
        v[rng.random(n) < 0.2] = -0.0
    mask = rng.random(n) < rng.random()
    starts, ends = _ranges(rng, n, tiled=seed % 2 == 0)
    for got, want in zip(segment_ids(starts, ends), _plain_ids(starts, ends), strict=True):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    for q in (0.0, 0.3, 0.5, 1.0):
        assert _same(segment_quantile(v, mask, starts, ends, q), _plain_quantile(v, mask, starts, ends, q))


def test_quantile_of_ranges_longer_than_a_padded_row():
    rng = np.random.default_rng(7)
    n = 20 * filters._ROW_SORT_WIDTH
    v = rng.normal(size=n)
    starts = np.array([0, 5, 2 * filters._ROW_SORT_WIDTH, 2 * filters._ROW_SORT_WIDTH + 3])
    ends = np.array([filters._ROW_SORT_WIDTH + 1, 30, n, 2 * filters._ROW_SORT_WIDTH + 3])
    mask = np.ones(n, dtype=bool)
    got = segment_quantile(v, mask, starts, ends, 0.5)
    assert _same(got, _plain_quantile(v, mask, starts, ends, 0.5))
    assert got[0] == np.median(v[: filters._ROW_SORT_WIDTH + 1]) and np.isnan(got[3])


@pytest.mark.parametrize("seed", range(40))
def test_segment_argext_is_the_plain_one(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 3000))
    v = rng.normal(size=n)
    if seed % 3 == 0:
        v = np.round(v)  # ties: the first index wins
    if seed % 7 == 0:
        v[rng.random(n) < 0.3] = -np.inf
    if seed % 11 == 0:
        v = rng.integers(-3, 3, n)
    starts, ends = _ranges(rng, n, tiled=seed % 2 == 0)
    for largest in (True, False):
        got = segment_argext(v, starts, ends, largest=largest)
        want = _plain_argext(v, starts, ends, largest=largest)
        assert got.dtype == want.dtype and np.array_equal(got, want)


@pytest.mark.parametrize("seed", range(20))
def test_side_phase_tables_give_the_per_sample_values(seed):
    rng = np.random.default_rng(200 + seed)
    k = int(rng.integers(1, 300))
    lengths = rng.integers(40, 48 if seed % 2 else 400, size=k)  # few distinct lengths, or many
    ic = np.cumsum(rng.integers(30, 80, size=k))
    n = int(ic[-1] + rng.integers(1, 100))
    obliquity = rng.normal(size=n)
    idx, owner, since = _step_phase(ic, lengths, n)
    u = (idx - ic[owner]) / lengths[owner]
    for phase in (0.0, 0.35, 1.0):
        table = _of_phase(lambda x, p=phase: np.cos(np.pi * (x - p)), lengths, owner, since)
        assert np.array_equal(table, np.cos(np.pi * (u - phase)))
        w = obliquity[idx] * np.cos(np.pi * (u - phase))
        count = np.bincount(owner, minlength=k)
        plain = 2.0 * np.bincount(owner, weights=w, minlength=k) / np.maximum(count, 1)
        assert np.array_equal(_projection(obliquity, ic, lengths, phase), plain)
    signed = np.where(rng.random(k) < 0.5, 1.0, -1.0)
    if len(idx) >= 8:
        basis = np.column_stack([np.cos(np.pi * u), np.sin(np.pi * u), np.ones(len(u))])
        (a, b, _), *_ = np.linalg.lstsq(basis, signed[owner] * obliquity[idx], rcond=None)
        # the fit solves its normal equations from per-step sums (bounded memory): equal to rounding
        assert _bout_phase(obliquity, ic, lengths, signed) == pytest.approx(
            (math.atan2(b, a) / math.pi, math.hypot(a, b)), rel=1e-9, abs=1e-12
        )


@pytest.mark.parametrize("seed", range(30))
def test_first_true_and_range_reductions_are_the_scatter_ones(seed):
    rng = np.random.default_rng(300 + seed)
    n = int(rng.integers(1, 3000))
    v = rng.normal(size=n)
    if seed % 4 == 0:
        v[rng.random(n) < 0.05] = np.nan  # propagates in both
    mask = rng.random(n) < rng.random()
    starts, ends = _ranges(rng, n, tiled=seed % 2 == 0)
    idx, owner = _plain_ids(starts, ends)
    k = len(starts)
    big = np.iinfo(np.int64).max
    first = np.full(k, big, dtype=np.int64)
    np.minimum.at(first, owner[mask[idx]], idx[mask[idx]])
    first[first == big] = -1
    assert np.array_equal(segment_first_true(mask, starts, ends), first)
    last = np.full(k, -1, dtype=np.int64)
    np.maximum.at(last, owner[mask[idx]], idx[mask[idx]])
    assert np.array_equal(first_per_range(owner[mask[idx]], idx[mask[idx]], k, last=True), last)
    for ufunc, fill in ((np.maximum, -np.inf), (np.minimum, np.inf)):
        plain = np.full(k, fill)
        with np.errstate(invalid="ignore"):  # NaN compared
            ufunc.at(plain, owner, v[idx])
            got = segment_reduce(ufunc, v[idx], owner, k, fill)
        assert _same(got, plain)


def test_butter_designs_are_scipys_and_each_call_gets_its_own_copy():
    for args in ((4, 30.0, 208.0, "low"), (2, 0.3, 100.0, "high"), (2, 6, 500, "low")):
        want = signal.butter(args[0], args[1], btype=args[3], fs=args[2], output="sos")
        got = butter_sos(*args)
        assert np.array_equal(got, want)
        got[:] = 0.0  # the caller's own array: the next one is untouched
        assert np.array_equal(butter_sos(*args), want)


def _plain_integrated_angle(rate_dps, fs):
    """``gait.metrics.integrated_angle`` before the speed work: two scipy ``sosfiltfilt`` passes."""
    sos = signal.butter(2, 0.3, btype="high", fs=fs, output="sos")
    rate = signal.sosfiltfilt(sos, rate_dps - np.median(rate_dps))
    np.cumsum(rate, out=rate)
    rate /= fs
    return signal.sosfiltfilt(sos, rate)


@pytest.mark.parametrize("seed", range(4))
def test_zero_phase_is_scipys_sosfiltfilt(seed):
    """The in-place zero-phase filter gives scipy's floats and layout; what it does not take (float32,
    2-D, too short, no padding) is scipy's own call, errors included."""
    rng = np.random.default_rng(seed)
    designs = [
        (4, 30.0, 208.0, "low"),
        (2, 0.3, 208.0, "high"),
        (3, 10.0, 500.0, "low"),
        (1, 5.0, 100.0, "high"),
    ]
    for n in (2, 7, 13, 40, 1000, 20_001):
        x = rng.standard_normal(n).cumsum()
        x[rng.random(n) < 0.01] = 0.0
        if seed == 3 and n > 100:
            x[n // 2] = np.nan  # NaN spreads the same way
        for design in designs:
            sos = butter_sos(*design)
            for padlen in (None, 0, 3, min(15, n - 1)):
                for data in (x, x.astype(np.float32), np.vstack([x, -x])):
                    try:
                        want = signal.sosfiltfilt(sos, data, padlen=padlen)
                    except ValueError as e:
                        with pytest.raises(ValueError, match=re.escape(str(e))):
                            filters.zero_phase(sos, data, padlen=padlen)
                        continue
                    got = filters.zero_phase(sos, data, padlen=padlen)
                    assert got.dtype == want.dtype and got.shape == want.shape
                    assert _same(got, want), (n, design, padlen)
                    assert got.strides == want.strides


def test_zero_phase_leaves_its_input_and_the_cached_state_alone():
    sos = butter_sos(2, 6.0, 208.0, "low")
    x = np.random.default_rng(5).standard_normal(500)
    keep = x.copy()
    first = filters.zero_phase(sos, x)
    second = filters.zero_phase(sos, x)
    assert np.array_equal(x, keep) and _same(first, second)
    assert _same(filters._zi(sos), signal.sosfilt_zi(sos))


@pytest.mark.parametrize("seed", range(3))
def test_integrated_angle_and_obliquity_are_the_plain_computation(seed):
    """``metrics.integrated_angle`` and ``pelvis.obliquity_deg`` are one computation now, with the
    floats of the old two-``sosfiltfilt`` version."""
    from hipsense.gait import metrics, pelvis

    rng = np.random.default_rng(seed)
    for fs in (100.0, 208.0, 500.0):
        rate = 40.0 * np.sin(np.arange(3000) / fs * 2 * np.pi * 1.4) + rng.standard_normal(3000) + 3.0
        want = _plain_integrated_angle(rate, fs)
        assert _same(metrics.integrated_angle(rate, fs), want)
        assert _same(pelvis.obliquity_deg(rate, fs), want)
        assert _same(
            pelvis.obliquity_deg(rate.astype(np.float32), fs),
            _plain_integrated_angle(rate.astype(np.float32).astype(float), fs),
        )


@pytest.mark.parametrize("seed", range(12))
def test_projection_and_sums_together_are_each_alone(seed):
    """The side detector's running score and its phase-fit sums found in one pass are the floats of
    ``projection`` and ``phase_sums`` called apart: every phase, some steps wanted, steps cut by
    the end of the data."""
    from hipsense.gait.side_features import phase_sums, projection, projection_and_sums

    rng = np.random.default_rng(300 + seed)
    k = int(rng.integers(1, 200))
    lengths = rng.integers(40, 46 if seed % 2 else 300, size=k)
    ic = np.cumsum(rng.integers(30, 80, size=k))
    n = int(ic[-1] + rng.integers(1, 400))  # the last steps may run past the end
    obliquity = rng.normal(size=n)
    obliquity[rng.random(n) < 0.02] = -0.0
    for phase in (0.0, 0, 0.35, -0.2):
        for want in (np.ones(k, bool), rng.random(k) < 0.5, np.zeros(k, bool)):
            proj, sums = projection_and_sums(obliquity, ic, lengths, phase, want)
            assert _same(proj, projection(obliquity, ic, lengths, phase))
            assert sums.shape == (int(want.sum()), 9)
            if want.any():
                assert _same(sums, phase_sums(obliquity, ic[want], lengths[want]))


@pytest.mark.parametrize("q", range(1, 13))
def test_block_means_are_numpys_mean_of_rows(q: int) -> None:
    """The alignment's 50 Hz block means by strided adds (rows under 8 values) are ``reshape(-1,
    q).mean(axis=1)`` bit for bit: signed zeros (a block of -0.0 means +0.0), NaN, inf, any length;
    of a float32 column, the mean of its float64 copy."""
    from hipsense.gait.alignment import _blocks

    rng = np.random.default_rng(q)
    for trial in range(20):
        n = int(rng.integers(0, 3000))
        x = rng.standard_normal(n) * 10 ** rng.uniform(-3, 5)
        pick = rng.random(n)
        x[pick < 0.3] = -0.0
        x[(pick > 0.3) & (pick < 0.35)] = 0.0
        if trial % 5 == 0:
            x[pick > 0.99] = np.nan
        if trial % 7 == 0:
            x[pick > 0.995] = np.inf
        assert _same(_blocks(x, q), x[: n // q * q].reshape(-1, q).mean(axis=1)), (q, trial)
        # a recording's float32 column: summed in float64, as its float64 copy was
        x32 = x.astype(np.float32)
        want = x32[: n // q * q].astype(np.float64).reshape(-1, q).mean(axis=1)
        assert _blocks(x32, q).dtype == np.float64 and _same(_blocks(x32, q), want), (q, trial)


@pytest.mark.parametrize("width", [1, 2, 3, 150, 151])
def test_percentiles_of_sorted_rows_are_numpys(width: int) -> None:
    """The bout detector's 10th and 99th percentiles from one sort per row are ``np.percentile``'s:
    the same floats for random rows, ties, infinities, and NaN rows (NaN), on a sliding-window view;
    only where the percentile is zero may its sign differ."""
    from hipsense.gait.bouts import percentiles_of_rows

    rng = np.random.default_rng(width)
    for trial in range(10):
        x = rng.standard_normal(300 * width + 50) * 10 ** rng.uniform(-3, 3)
        if trial % 3 == 1:
            x = np.round(x, 1)  # ties
        if trial % 3 == 2:
            x[rng.random(len(x)) < 0.002] = np.nan
            x[rng.random(len(x)) < 0.002] = np.inf
        rows = np.lib.stride_tricks.sliding_window_view(x, width)[::width][:300]
        for q in ((10, 99), (0, 50, 100), (2.5,)):
            want = np.percentile(rows, q, axis=1)
            got = percentiles_of_rows(rows, q)
            assert got.shape == want.shape and np.array_equal(got, want, equal_nan=True), (width, q)
            # the sign of a zero alone may differ: which of tied -0.0 and +0.0 a sort and numpy's
            # selection put at a rank differs (no comparison in the bout rules can see it)
            nonzero = want != 0
            assert _same(got[nonzero], want[nonzero]), (width, trial, q)


@pytest.mark.parametrize("seed", range(6))
def test_several_phase_functions_from_one_table_layout(seed):
    """``of_phases`` gives each function's per-sample values, table or not (few samples per length)."""
    from hipsense.gait.side_features import of_phases

    rng = np.random.default_rng(400 + seed)
    k = int(rng.integers(1, 120))
    lengths = rng.integers(40, 44 if seed % 2 else 4000, size=k)
    ic = np.cumsum(rng.integers(30, 80, size=k))
    n = int(ic[-1] + rng.integers(1, 100))
    idx, owner, since = _step_phase(ic, lengths, n)
    u = (idx - ic[owner]) / lengths[owner]
    fns = (lambda x: np.cos(np.pi * x), lambda x: np.sin(np.pi * x))
    got = of_phases(fns, lengths, owner, since)
    assert len(got) == 2
    for g, fn in zip(got, fns, strict=True):
        assert _same(g, fn(u)) and _same(g, _of_phase(fn, lengths, owner, since))
