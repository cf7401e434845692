"""Session summary (contract): left/right medians, asymmetry with honest uncertainty, drift, load, quality."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hipsense import metrics as registry


@dataclass
class SideComparison:
    """One metric's left and right medians, their asymmetry index and difference, with 95 % intervals.

    ``difference`` is left minus right in the metric's own unit; ``larger_than_noise`` is judged on the
    asymmetry index for durations, forces and heights, and on the difference for angles.
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
    larger_than_noise: bool
    n_left: int
    n_right: int
    #: 95 % intervals of each side's median (same bootstrap), for judging a change against a baseline.
    left_ci_low: float | None = None
    left_ci_high: float | None = None
    right_ci_low: float | None = None
    right_ci_high: float | None = None


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

    Returns ``((ai_low, ai_high), (diff_low, diff_high), (left_low, left_high), (right_low,
    right_high))``, NaN where the replicates cannot tell.
    """
    k = len(values)
    block = max(2, min(block, k // 4 or 2))
    m = min(k, max_steps)
    n_blocks = int(np.ceil(m / block))
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, k - block + 1, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)).reshape(n_boot, -1)[:, :m]
    v = values[idx]
    lft = is_left[idx]
    ml, mr = _row_medians(v, lft), _row_medians(v, ~lft)
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


def _interval(replicates: np.ndarray, centre: float, scale: float, n_boot: int) -> tuple[float, float]:
    """Percentile interval of the replicates, its spread around ``centre`` scaled by ``scale``."""
    r = replicates[np.isfinite(replicates)]
    if n_boot == 0 or len(r) < n_boot // 2 or not np.isfinite(centre):  # n_boot 0: no intervals asked
        return (np.nan, np.nan)
    lo, hi = np.percentile(r, [2.5, 97.5])
    return float(centre + (lo - centre) * scale), float(centre + (hi - centre) * scale)


def _row_medians(v: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Median of each row of ``v`` over the entries where ``mask`` holds (NaN for none).

    Entries outside the mask become +inf and sort last, so the median of a row with ``n`` valid entries
    sits at ranks ``(n-1)//2`` and ``n//2``; a partial sort up to the largest rank needed is enough.
    """
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


def _beyond(low: float, high: float, estimate: float, floor: float) -> bool:
    """The interval excludes zero and the estimate exceeds the noise floor."""
    return bool(np.isfinite(low) and (low > 0 or high < 0) and abs(estimate) > floor)


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
    sided_ok = quality.get("side_source") not in ("unknown", "alternation")
    for metric in registry.sided():
        x = steps[metric.name].to_numpy(dtype=float)
        ok = np.isfinite(x) & (is_left | is_right)
        nl, nr = int((ok & is_left).sum()), int((ok & is_right).sum())
        if nl < 3 or nr < 3:
            sides.append(
                SideComparison(metric.name, None, None, None, None, None, None, None, None, False, nl, nr)
            )
            continue
        left, right = float(np.median(x[ok & is_left])), float(np.median(x[ok & is_right]))
        ai = asymmetry_index(left, right) if (left + right) != 0 else np.nan
        (lo, hi), (dlo, dhi), (llo, lhi), (rlo, rhi) = block_bootstrap(x[ok], is_left[ok], n_boot=n_boot)
        if metric.asymmetry == "difference":
            real = _beyond(dlo, dhi, left - right, metric.noise_floor)
        else:
            real = _beyond(lo, hi, ai, metric.noise_floor)
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
                sided_ok and real,
                nl,
                nr,
                llo,
                lhi,
                rlo,
                rhi,
            )
        )

    run_steps = np.isfinite(steps["step_time_s"].to_numpy(dtype=float))
    cadence = float(np.median(steps["cadence_spm"][run_steps])) if run_steps.any() else None
    impact = steps["impact_g"].to_numpy(dtype=float)

    # Drift: the late fifth of the running steps against the early fifth, per side (the sides can
    # differ a lot, so a median over both would jump between them), then averaged over the sides.
    k = len(steps)
    fifth = max(k // 5, 1)
    drift: dict[str, dict[str, float | None]] = {}
    for metric in registry.drift():
        x = steps[metric.name].to_numpy(dtype=float)
        per_side = []
        for side_mask in (is_left, is_right):
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
    )


def walking_summary(steps: pd.DataFrame) -> dict[str, Any]:
    """The walking steps' count, median cadence and, per side where sides are known, the medians of
    step time and pelvic drop (``{}`` without walking steps)."""
    if "activity" not in steps:
        return {}
    walk = steps[steps["activity"].to_numpy() == "walk"]
    if walk.empty:
        return {}
    out: dict[str, Any] = {"steps": len(walk)}
    cadence = walk["cadence_spm"].to_numpy(dtype=float)
    out["cadence_spm"] = float(np.nanmedian(cadence)) if np.isfinite(cadence).any() else None
    for metric in ("step_time_s", "pelvic_drop_deg"):
        for side, name in (("L", "left"), ("R", "right")):
            x = walk.loc[walk["side"] == side, metric].to_numpy(dtype=float)
            out[f"{metric}_{name}"] = (
                float(np.median(x[np.isfinite(x)])) if np.isfinite(x).sum() >= 3 else None
            )
    return out


def sides_table(summary: SessionSummary) -> pd.DataFrame:
    """The per-side comparison as a DataFrame (one row per metric)."""
    return pd.DataFrame([asdict(s) for s in summary.sides]).set_index("metric")
