"""The summary's block bootstrap, read from step counts, against the plain implementation it replaced.

The reference below resamples the rows (``values[idx]``) and takes each replicate's side medians by
sorting them with the other side padded with +inf: slow (a 1000 x 2000 array per metric) but plainly
right. The fast one must give the very same intervals: same seed, same replicates, same floats.
"""

from __future__ import annotations

import numpy as np
import pytest

from hipsense.gait import summary
from hipsense.gait.summary import asymmetry_index, block_bootstrap


def _reference_row_medians(v: np.ndarray, mask: np.ndarray) -> np.ndarray:
    x = np.where(mask, v, np.inf)
    n = mask.sum(axis=1)
    if not n.any():
        return np.full(len(v), np.nan)
    lo, hi = np.maximum((n - 1) // 2, 0), np.maximum(n // 2, 0)
    kmax = int(hi.max())
    part = np.partition(x, kmax, axis=1)[:, : kmax + 1]
    part.sort(axis=1)
    rows = np.arange(len(v))
    med = 0.5 * (part[rows, np.minimum(lo, kmax)] + part[rows, np.minimum(hi, kmax)])
    return np.where(n > 0, med, np.nan)


def _reference_bootstrap(values, is_left, *, block=16, n_boot=1000, max_steps=2000, seed=0):
    k = len(values)
    block = max(2, min(block, k // 4 or 2))
    m = min(k, max_steps)
    n_blocks = int(np.ceil(m / block))
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, k - block + 1, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)).reshape(n_boot, -1)[:, :m]
    v = values[idx]
    lft = is_left[idx]
    ml, mr = _reference_row_medians(v, lft), _reference_row_medians(v, ~lft)
    left, right = float(np.median(values[is_left])), float(np.median(values[~is_left]))
    scale = np.sqrt(m / k)
    with np.errstate(all="ignore"):
        ai = 100.0 * (ml - mr) / (0.5 * (ml + mr))
        centre_ai = asymmetry_index(left, right) if left + right != 0 else np.nan
    return (
        summary._interval(ai, centre_ai, scale, n_boot),
        summary._interval(ml - mr, left - right, scale, n_boot),
        summary._interval(ml, left, scale, n_boot),
        summary._interval(mr, right, scale, n_boot),
    ), (ml, mr)


def _same(a, b) -> None:
    """Equal as floats, NaN where the other is NaN."""
    np.testing.assert_array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float))


def _steps(rng, k: int, *, ties: bool = False, nan_share: float = 0.0):
    values = rng.normal(0.25, 0.03, k)
    if ties:  # step times at a 208 Hz sample grid: many equal values
        values = np.round(values * 208) / 208
    values[rng.random(k) < nan_share] = np.nan
    is_left = np.zeros(k, dtype=bool)
    is_left[::2] = True  # alternating, with runs where the side detector swapped
    swaps = rng.random(k) < 0.05
    is_left ^= np.cumsum(swaps) % 2 == 1
    return values, is_left


@pytest.mark.parametrize(
    ("k", "ties", "block", "n_boot", "max_steps", "seed"),
    [
        (6, False, 16, 1000, 2000, 0),  # the fewest steps summarised (3 a side)
        (37, True, 16, 1000, 2000, 1),
        (500, False, 16, 1000, 2000, 0),
        (2000, True, 16, 1000, 2000, 2),  # exactly max_steps
        (5003, False, 16, 1000, 2000, 3),  # m out of n, last block cut
        (333, True, 7, 200, 100, 4),
    ],
)
def test_same_intervals_as_resampling_the_rows(k, ties, block, n_boot, max_steps, seed) -> None:
    rng = np.random.default_rng(k + seed)
    values, is_left = _steps(rng, k, ties=ties)
    fast = block_bootstrap(values, is_left, block=block, n_boot=n_boot, max_steps=max_steps, seed=seed)
    slow, _ = _reference_bootstrap(
        values, is_left, block=block, n_boot=n_boot, max_steps=max_steps, seed=seed
    )
    _same(fast, slow)
    assert n_boot == 0 or np.isfinite(np.asarray(fast)).all()


def test_no_replicates_asked_gives_no_intervals() -> None:
    # n_boot=0 (the live view): the resampled-rows version could not even shape its rows for it
    values, is_left = _steps(np.random.default_rng(0), 40)
    assert np.isnan(np.asarray(block_bootstrap(values, is_left, n_boot=0))).all()


@pytest.mark.parametrize("seed", range(6))
def test_replicate_medians_identical_on_random_data_with_nans(seed) -> None:
    """The replicates' medians themselves, finite data with ties and with NaNs and one-sided runs."""
    rng = np.random.default_rng(100 + seed)
    k = int(rng.integers(8, 3000))
    values, is_left = _steps(rng, k, ties=bool(seed % 2), nan_share=0.1 if seed >= 3 else 0.0)
    if seed == 5:
        is_left[: k // 2] = True  # long one-sided stretch: some replicates hold one side only
    starts, block, m = summary._block_starts(k, 16, 300, 1000, seed)
    ml, mr = summary._row_medians(values, is_left, starts, block, m)
    _, (ref_l, ref_r) = _reference_bootstrap(values, is_left, n_boot=300, max_steps=1000, seed=seed)
    if seed < 3:
        _same(ml, ref_l)
        _same(mr, ref_r)
    else:
        # With NaN values the reference sorts them after its +inf padding: a replicate's median can
        # be inf there and NaN here. Both are dropped from every interval; the finite ones agree.
        for new, ref in ((ml, ref_l), (mr, ref_r)):
            np.testing.assert_array_equal(np.isfinite(new), np.isfinite(ref))
            _same(new[np.isfinite(new)], ref[np.isfinite(ref)])
    fast = block_bootstrap(values, is_left, n_boot=300, max_steps=1000, seed=seed)
    slow, _ = _reference_bootstrap(values, is_left, n_boot=300, max_steps=1000, seed=seed)
    _same(fast, slow)


def test_more_steps_than_16_bit_ranks() -> None:
    """Over 65,536 steps (a 10 h run) the ranks no longer fit 16 bits: same numbers all the same."""
    rng = np.random.default_rng(9)
    values, is_left = _steps(rng, 70_000, ties=True)
    fast = block_bootstrap(values, is_left, n_boot=200)
    slow, _ = _reference_bootstrap(values, is_left, n_boot=200)
    _same(fast, slow)


def test_metrics_of_one_session_share_the_replicates() -> None:
    rng = np.random.default_rng(3)
    values, is_left = _steps(rng, 800)
    a = summary._block_starts(800, 16, 1000, 2000, 0)
    block_bootstrap(values * 2, is_left)
    assert summary._block_starts(800, 16, 1000, 2000, 0)[0] is a[0]
    assert not a[0].flags.writeable  # shared between metrics: nobody may change it
    for k in range(801, 820):  # the cache stays small
        summary._block_starts(k, 16, 1000, 2000, 0)
    assert len(summary._STARTS_CACHE) <= summary._STARTS_CACHE_SIZE


def _rank_row_medians(values, is_left, starts, block, m):
    """``summary._row_medians`` before the 16-bit codes: the ranks themselves sorted (uint16 up to
    65,536 steps, int64 beyond)."""
    n_boot, k = len(starts), len(values)
    if n_boot == 0:
        return np.zeros(0), np.zeros(0)
    order = np.lexsort((values, ~is_left))
    rank = np.empty(k, dtype=np.uint16 if k <= 2**16 else np.int64)
    rank[order] = np.arange(k)
    value_at = values[order]
    rows = np.lib.stride_tricks.sliding_window_view(rank, block)[starts].reshape(n_boot, -1)[:, :m]
    rows = np.sort(rows, axis=1, kind="stable")
    c = np.r_[0, np.cumsum(is_left)]
    per_block = c[starts + block] - c[starts]
    last_len = m - (starts.shape[1] - 1) * block
    per_block[:, -1] = c[starts[:, -1] + last_len] - c[starts[:, -1]]
    n_left = per_block.sum(axis=1)
    rows_i = np.arange(n_boot)

    def median_at(first, n):
        lo = np.minimum(first + np.maximum((n - 1) // 2, 0), m - 1)
        hi = np.minimum(first + n // 2, m - 1)
        med = 0.5 * (value_at[rows[rows_i, lo]] + value_at[rows[rows_i, hi]])
        return np.where(n > 0, med, np.nan)

    return median_at(np.zeros(n_boot, dtype=np.int64), n_left), median_at(n_left, m - n_left)


def _assert_rank_sort_medians(values, is_left, starts, block, m) -> None:
    """The 16-bit codes' side medians are the rank sort's, NaN for NaN."""
    for got, want in zip(
        summary._row_medians(values, is_left, starts, block, m),
        _rank_row_medians(values, is_left, starts, block, m),
        strict=True,
    ):
        assert np.array_equal(got, want, equal_nan=True)


@pytest.mark.parametrize("band", [None, 1, 7, 60, 400])
@pytest.mark.parametrize("seed", range(4))
def test_sixteen_bit_codes_give_the_rank_sort_medians(monkeypatch, band, seed) -> None:
    """The replicates sorted as 16-bit codes give the medians of sorting their ranks, bit for bit;
    narrow bands (set here) make many replicates fall outside them and be sorted by rank."""
    if band is not None:
        monkeypatch.setattr(summary, "_BAND", band)
    rng = np.random.default_rng(200 + seed)
    k = int(rng.integers(8, 2500))
    values, is_left = _steps(rng, k, ties=bool(seed % 2), nan_share=0.1 if seed == 2 else 0.0)
    if seed == 3:
        is_left[: k // 2] = True  # one-sided replicates: n = 0 for a side
    starts, block, m = summary._block_starts(k, 16, 200, 1000, seed)
    _assert_rank_sort_medians(values, is_left, starts, block, m)


def test_sixteen_bit_codes_over_65536_steps_and_both_sides_banded() -> None:
    """A 10 h session's steps: each side wider than its band, the same medians as the int64 ranks."""
    rng = np.random.default_rng(11)
    values, is_left = _steps(rng, 100_000, ties=True)
    assert min(is_left.sum(), (~is_left).sum()) > summary._BAND
    starts, block, m = summary._block_starts(len(values), 16, 100, 2000, 0)
    _assert_rank_sort_medians(values, is_left, starts, block, m)


def test_rank_codes_keep_the_order_and_name_their_ranks() -> None:
    for n_left, k, band in ((3, 10, 32_000), (0, 5, 32_000), (5, 5, 32_000), (40, 100, 8), (90, 100, 8)):
        old = summary._BAND
        summary._BAND = band
        try:
            code, rank_of = summary._rank_codes(n_left, k)
        finally:
            summary._BAND = old
        assert code.dtype == np.uint16 and (np.diff(code.astype(int)) >= 0).all()
        named = rank_of[code] >= 0
        assert np.array_equal(rank_of[code][named], np.arange(k)[named])
        assert (code[:n_left] < (code[n_left:].min() if k > n_left else 2**16)).all()
