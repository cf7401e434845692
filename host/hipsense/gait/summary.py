"""Session summary (contract): left/right medians, asymmetry with honest uncertainty, drift, load, quality."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hipsense import metrics as registry
from hipsense.gait.parity import step_parity
from hipsense.gait.verdict import (
    MIN_STEPS_A_SIDE,
    NO_INTERVAL_NOTE,
    SIDES_UNKNOWN_NOTE,
    beyond_noise,
    too_few_steps,
)


@dataclass
class SideComparison:
    """One metric's left and right medians, their asymmetry index and difference, with 95 % intervals.

    ``difference`` is left minus right in the metric's own unit; ``larger_than_noise`` is judged on the
    asymmetry index for durations, forces and heights, and on the difference for angles. It is None
    when the sides were not compared (unknown sides, too few steps a side, no interval), and ``note``
    then says why; a False there would read as "within noise" (red-team p13 F1).
    """

    metric: str
    left: float | None
    right: float | None
    asymmetry_pct: float | None
    ci_low_pct: float | None
    ci_high_pct: float | None
    difference: float | None
    diff_ci_low: float | None
    diff_ci_high: float | None
    larger_than_noise: bool | None
    n_left: int
    n_right: int
    #: 95 % intervals of each side's median (same bootstrap), for judging a change against a baseline.
    left_ci_low: float | None = None
    left_ci_high: float | None = None
    right_ci_low: float | None = None
    right_ci_high: float | None = None
    #: Why the sides were not compared ("" when they were).
    note: str = ""


@dataclass
class SessionSummary:
    """What one session says (contract: ``to_dict()`` is the summary JSON)."""

    source: str
    algorithm_version: str
    duration_s: float
    running_time_s: float
    steps: int
    cadence_spm: float | None
    sides: list[SideComparison]
    impact_load_g: float
    drift: dict[str, dict[str, float | None]]
    quality: dict[str, Any]
    alignment: dict[str, Any]
    flags: list[dict[str, Any]] = field(default_factory=list)
    #: Seconds in walking bouts, and the walking steps' own figures (:func:`walking_summary`).
    walking_time_s: float = 0.0
    walking: dict[str, Any] = field(default_factory=dict)
    #: Seconds of movement judged neither running, walking nor standing (bouts ``unknown``): not analysed.
    unclassified_time_s: float = 0.0

    def side(self, metric: str) -> SideComparison:
        return next(s for s in self.sides if s.metric == metric)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else round(float(x), 4)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    return x


def asymmetry_index(left: float, right: float) -> float:
    """100 * (L - R) / mean(L, R), in percent (Robinson et al. 1987's symmetry index)."""
    return 100.0 * (left - right) / (0.5 * (left + right))


def block_bootstrap(
    values: np.ndarray,
    is_left: np.ndarray,
    *,
    block: int = 16,
    n_boot: int = 1000,
    max_steps: int = 2000,
    seed: int = 0,
) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]:
    """95 % intervals of the asymmetry index, of the difference of the sides' medians and of each median.

    A moving-block bootstrap over the step sequence: consecutive steps are not independent (speed,
    fatigue and terrain change slowly), so whole blocks of ``block`` consecutive steps are resampled
    (Kunsch 1989, doi:10.1214/aos/1176347265), which keeps that dependence inside each block. Sessions
    longer than ``max_steps`` use the m-out-of-n bootstrap (Bickel, Gotze & van Zwet 1997, Statistica
    Sinica 7:1-31): replicates of ``max_steps`` steps, their spread around the estimate scaled by
    ``sqrt(max_steps / n)``, which keeps an hour's run as fast as a short one.

    The replicates' block starts depend only on the number of steps and the seed, so the metrics of
    one session draw them once (:func:`_block_starts`); each replicate's side medians are then read
    from one sort of 16-bit codes of their ranks (:func:`_row_medians`). The numbers are exactly those of
    resampling the values and sorting each side apart (tests/host/test_summary_bootstrap.py keeps that
    implementation and compares).

    Returns the intervals ``(ai, diff, left, right)``, each ``(low, high)``, NaN where the replicates cannot tell.
    """
    values = np.asarray(values, dtype=float)
    is_left = np.asarray(is_left, dtype=bool)
    k = len(values)
    starts, block, m = _block_starts(k, block, n_boot, max_steps, seed)
    ml, mr = _row_medians(values, is_left, starts, block, m)
    left, right = float(np.median(values[is_left])), float(np.median(values[~is_left]))
    scale = np.sqrt(m / k)
    with np.errstate(all="ignore"):
        ai = 100.0 * (ml - mr) / (0.5 * (ml + mr))
        centre_ai = asymmetry_index(left, right) if left + right != 0 else np.nan
    return (
        _interval(ai, centre_ai, scale, n_boot),
        _interval(ml - mr, left - right, scale, n_boot),
        _interval(ml, left, scale, n_boot),
        _interval(mr, right, scale, n_boot),
    )


#: Recent replicates' block starts by what they depend on: the sided metrics of one session (same
#: steps, same seed) draw them once. A few small arrays (n_boot x m/block integers).
_STARTS_CACHE: dict[tuple[int, int, int, int, int], tuple[np.ndarray, int, int]] = {}
_STARTS_CACHE_SIZE = 8


def _block_starts(k: int, block: int, n_boot: int, max_steps: int, seed: int) -> tuple[np.ndarray, int, int]:
    """The moving-block bootstrap's replicates as ``(starts, block, m)``: replicate ``r`` is the steps
    ``starts[r, j] .. starts[r, j] + block - 1`` for each ``j`` in turn, cut after ``m`` steps."""
    key = (k, block, n_boot, max_steps, seed)
    hit = _STARTS_CACHE.get(key)
    if hit is not None:
        return hit
    block = max(2, min(block, k // 4 or 2))
    m = min(k, max_steps)
    n_blocks = int(np.ceil(m / block))
    starts = np.random.default_rng(seed).integers(0, k - block + 1, size=(n_boot, n_blocks))
    starts.flags.writeable = False  # shared between metrics
    if len(_STARTS_CACHE) >= _STARTS_CACHE_SIZE:
        _STARTS_CACHE.clear()  # not pop-oldest: clear() is one step, safe with threads analysing at once
    _STARTS_CACHE[key] = (starts, block, m)
    return starts, block, m


#: Ranks of each side that keep a code of their own in :func:`_row_medians` (the others share one
#: code below and one above): two sides' bands and four shared codes fit 16 bits.
_BAND = 32_000


def _row_medians(
    values: np.ndarray, is_left: np.ndarray, starts: np.ndarray, block: int, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each replicate's median of its left steps and of its right steps (NaN for a side it lacks).

    Every step gets a rank: left steps before right ones, each side in value order (NaN last). A
    replicate's sorted ranks hold its ``n_left`` left steps first, in value order, then its right ones;
    the median of ``n`` entries is the mean of the values at ranks ``(n-1)//2`` and ``n//2``, as
    sorting the values gives. The replicates are sorted as 16-bit codes, which numpy sorts by radix:
    a code is the rank itself within a band of :data:`_BAND` middle ranks of each side (all of a side
    up to 32,000 steps), or one shared code below or above the band. Codes keep the ranks' order, so
    the sorted codes are the codes of the sorted ranks; a replicate whose median falls outside its
    side's band has its ranks sorted instead (none of the 10 h benchmark file's 9,000 replicate medians
    did: half a band is 10-24 standard deviations of a replicate median's rank there). So a 10 h
    session (98,000 steps) sorts 16-bit codes too, not 64-bit ranks (11x slower).
    """
    n_boot, k = len(starts), len(values)
    if n_boot == 0:
        return np.zeros(0), np.zeros(0)
    order = np.lexsort((values, ~is_left))  # left first, then by value
    value_at = values[order]
    code_of_rank, rank_of_code = _rank_codes(int(np.count_nonzero(is_left)), k)
    code = np.empty(k, dtype=np.uint16)
    code[order] = code_of_rank
    # Replicate rows by whole windows of `block` codes (a copy of contiguous runs, not a gather per
    # step); np.take copies each window as one run, five times faster than indexing the window view.
    windows = np.lib.stride_tricks.sliding_window_view(code, block)
    rows = np.take(windows, starts, axis=0).reshape(n_boot, -1)[:, :m]
    rows.sort(axis=1, kind="stable")  # in place: the rows are this function's own copy
    # Left steps per replicate from the block sums of is_left (the last block cut to fit m).
    c = np.r_[0, np.cumsum(is_left)]
    per_block = c[starts + block] - c[starts]
    last_len = m - (starts.shape[1] - 1) * block
    per_block[:, -1] = c[starts[:, -1] + last_len] - c[starts[:, -1]]
    n_left = per_block.sum(axis=1)
    n_right = m - n_left
    rows_i = np.arange(n_boot)

    def median_at(first: np.ndarray, n: np.ndarray) -> np.ndarray:
        # Both clipped: a replicate holding one side only has n = 0 for the other, and first = m.
        lo = np.minimum(first + np.maximum((n - 1) // 2, 0), m - 1)
        hi = np.minimum(first + n // 2, m - 1)
        r_lo, r_hi = rank_of_code[rows[rows_i, lo]], rank_of_code[rows[rows_i, hi]]
        missed = np.flatnonzero((n > 0) & ((r_lo < 0) | (r_hi < 0)))
        if len(missed):  # outside the band: these replicates' ranks themselves, sorted
            rank = np.empty(k, dtype=np.int64)
            rank[order] = np.arange(k)
            steps = (starts[missed][:, :, None] + np.arange(block)).reshape(len(missed), -1)[:, :m]
            exact = np.sort(rank[steps], axis=1)
            r_lo[missed] = exact[np.arange(len(missed)), lo[missed]]
            r_hi[missed] = exact[np.arange(len(missed)), hi[missed]]
        med = 0.5 * (value_at[r_lo] + value_at[r_hi])
        return np.where(n > 0, med, np.nan)

    return median_at(np.zeros(n_boot, dtype=np.int64), n_left), median_at(n_left, n_right)


def _rank_codes(n_left: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(code of each rank, rank of each code)`` for :func:`_row_medians`: ranks ``0 .. n_left - 1``
    are the left steps, the rest the right ones; the rank of a shared code is -1."""
    ranks = np.arange(k)
    code_of_rank = np.empty(k, dtype=np.int64)
    pieces: list[np.ndarray] = []
    offset = 0
    shared = np.array([-1])
    for lo, hi in ((0, n_left), (n_left, k)):
        width = min(hi - lo, _BAND)
        a = lo + (hi - lo - width) // 2  # the band: ranks a .. a + width - 1, centred in the side
        # below the band: offset; in it: offset + 1 + (rank - a); above it: offset + width + 1
        code_of_rank[lo:hi] = offset + 1 + np.clip(ranks[lo:hi], a - 1, a + width) - a
        pieces += [shared, np.arange(a, a + width), shared]
        offset += width + 2
    return code_of_rank.astype(np.uint16), np.concatenate(pieces).astype(np.int64)


def _interval(replicates: np.ndarray, centre: float, scale: float, n_boot: int) -> tuple[float, float]:
    """Percentile interval of the replicates, its spread around ``centre`` scaled by ``scale``."""
    r = replicates[np.isfinite(replicates)]
    if n_boot == 0 or len(r) < n_boot // 2 or not np.isfinite(centre):  # n_boot 0: no intervals asked
        return (np.nan, np.nan)
    lo, hi = np.percentile(r, [2.5, 97.5])
    return float(centre + (lo - centre) * scale), float(centre + (hi - centre) * scale)


def summarize(
    steps: pd.DataFrame,
    *,
    source: str,
    algorithm_version: str,
    duration_s: float,
    running_time_s: float,
    quality: dict[str, Any],
    alignment: dict[str, Any],
    walking_time_s: float = 0.0,
    unclassified_time_s: float = 0.0,
    n_boot: int = 1000,
) -> SessionSummary:
    """Summarise a session's steps: per-side medians, asymmetry, drift, load and data quality.

    The running steps make the headline figures (sides, drift, load); walking steps are summarised
    apart (:func:`walking_summary`). The metrics summarised per side and for drift, and how their
    asymmetry is judged, come from the registry (:mod:`hipsense.metrics`).
    """
    all_steps = steps
    if "activity" in steps:
        steps = steps[steps["activity"].to_numpy() == "run"].reset_index(drop=True)
    is_left = (steps["side"] == "L").to_numpy()
    is_right = (steps["side"] == "R").to_numpy()
    sides: list[SideComparison] = []
    # Steps of unknown side ("") count for neither side; a session whose sides are all unknown has
    # no left-right figures at all (docs/metrics.md, "Sides").
    sided_ok = quality.get("side_source") != "unknown"
    for metric in registry.sided():
        x = steps[metric.name].to_numpy(dtype=float)
        ok = np.isfinite(x) & (is_left | is_right)
        nl, nr = int((ok & is_left).sum()), int((ok & is_right).sum())
        few = too_few_steps(nl, nr)
        if too_few_steps(nl, nr, MIN_STEPS_A_SIDE):  # no medians, no verdict (None, not False), and why
            sides.append(
                SideComparison(
                    metric.name, None, None, None, None, None, None, None, None, None, nl, nr, note=few
                )
            )
            continue
        left, right = float(np.median(x[ok & is_left])), float(np.median(x[ok & is_right]))
        ai = asymmetry_index(left, right) if (left + right) != 0 else np.nan
        (lo, hi), (dlo, dhi), (llo, lhi), (rlo, rhi) = block_bootstrap(x[ok], is_left[ok], n_boot=n_boot)
        judged_lo, judged_hi, estimate = (
            (dlo, dhi, left - right) if metric.asymmetry == "difference" else (lo, hi, ai)
        )
        note = few if sided_ok else SIDES_UNKNOWN_NOTE
        if not note and not (np.isfinite(judged_lo) and np.isfinite(judged_hi)):
            note = NO_INTERVAL_NOTE
        real = None if note else beyond_noise(judged_lo, judged_hi, estimate, metric.noise_floor)
        sides.append(
            SideComparison(
                metric.name,
                left,
                right,
                ai,
                lo,
                hi,
                left - right,
                dlo,
                dhi,
                real,
                nl,
                nr,
                llo,
                lhi,
                rlo,
                rhi,
                note,
            )
        )

    run_steps = np.isfinite(steps["step_time_s"].to_numpy(dtype=float))
    cadence = float(np.median(steps["cadence_spm"][run_steps])) if run_steps.any() else None
    impact = steps["impact_g"].to_numpy(dtype=float)

    # Drift: the late fifth of the running steps against the early fifth, per side (the sides can
    # differ a lot, so a median over both would jump between them), then averaged over the sides.
    # Sides not known: per set of alternate steps instead (one of them is one foot, whichever it is).
    k = len(steps)
    fifth = max(k // 5, 1)
    sets = (is_left, is_right)
    if k and not (is_left | is_right).any():
        parity = step_parity(steps)
        sets = (parity == 0, parity == 1)
    drift: dict[str, dict[str, float | None]] = {}
    for metric in registry.drift():
        x = steps[metric.name].to_numpy(dtype=float)
        per_side = []
        for side_mask in sets:
            early, late = x[:fifth][side_mask[:fifth]], x[-fifth:][side_mask[-fifth:]]
            if np.isfinite(early).sum() >= 3 and np.isfinite(late).sum() >= 3:
                per_side.append((np.nanmedian(early), np.nanmedian(late)))
        if per_side:
            e, la = (float(np.mean(v)) for v in zip(*per_side, strict=True))
            drift[metric.name] = {"early": e, "late": la, "change": la - e}
        else:
            drift[metric.name] = {"early": None, "late": None, "change": None}

    return SessionSummary(
        source=source,
        algorithm_version=algorithm_version,
        duration_s=duration_s,
        running_time_s=running_time_s,
        steps=k,
        cadence_spm=cadence,
        sides=sides,
        impact_load_g=float(np.nansum(impact)),
        drift=drift,
        quality=dict(quality),
        alignment=dict(alignment),
        walking_time_s=walking_time_s,
        walking=walking_summary(all_steps),
        unclassified_time_s=unclassified_time_s,
    )


def walking_summary(steps: pd.DataFrame) -> dict[str, Any]:
    """The walking steps' count, median cadence (None unless half of them have one) and, per known side,
    the medians of the sided metrics that hold for walking (the registry's ``activities``; ``{}`` without
    walking steps). Keys ``<metric>_left`` / ``<metric>_right``, None with fewer than 3 values."""
    if "activity" not in steps:
        return {}
    walk = steps[steps["activity"].to_numpy() == "walk"]
    if walk.empty:
        return {}
    out: dict[str, Any] = {"steps": len(walk)}
    cadence = walk["cadence_spm"].to_numpy(dtype=float)
    out["cadence_spm"] = float(np.nanmedian(cadence)) if 2 * np.isfinite(cadence).sum() >= len(walk) else None
    for metric in (m.name for m in registry.sided("walk")):
        for side, name in (("L", "left"), ("R", "right")):
            x = walk.loc[walk["side"] == side, metric].to_numpy(dtype=float)
            out[f"{metric}_{name}"] = (
                float(np.median(x[np.isfinite(x)])) if np.isfinite(x).sum() >= 3 else None
            )
    return out


def sides_table(summary: SessionSummary) -> pd.DataFrame:
    """The per-side comparison as a DataFrame (one row per metric)."""
    return pd.DataFrame([asdict(s) for s in summary.sides]).set_index("metric")
