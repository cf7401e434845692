"""The runner's watch against a session's steps: the clock offset, the grade, the values per step.

The arithmetic of :mod:`hipsense.link` (which reads and writes the store), on arrays and step tables.

1. **Clock.** The watch's records (:mod:`hipsense.formats.fit_watch`) are put on the session's clock by
   absolute time: record time minus the session's ``start_time`` (UNIX s).
2. **Offset.** The two clocks disagree by seconds (a clip set at sync, a watch set by GPS), so the
   offset is refined within +-60 s by matching the watch's cadence (without one: its speed, which
   rises with cadence) to the session's step cadence, both on a 1 s grid: the offset with the largest
   Pearson correlation, first in 1 s steps, then in 0.05 s steps around the best. The confidence is
   that correlation times ``(r - r2) / (1 - r2)``, where ``r2`` is the runner-up (the best other local
   maximum of the correlation over the offsets, more than 2 s away, at least 0); below
   :data:`MIN_CONFIDENCE` (a steady run has no cadence changes to match) the clocks' offset (0) is kept.
3. **Grade** from distance and altitude: altitude resampled on a 1 m distance grid and fitted with a
   Savitzky-Golay filter (2nd order over :data:`GRADE_WINDOW_M`), whose first derivative is the
   rise over run (Savitzky & Golay 1964), in percent.
4. **Per step**: ``speed_mps``, ``grade_pct`` and ``heart_rate_bpm`` at each step's initial contact
   (``ic_s`` on the session clock plus the offset), interpolated between records at most
   :data:`MAX_RECORD_GAP_S` apart; a per-bout summary.

docs/watch.md says how to use it, what was measured and its limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hipsense.formats.fit_watch import WatchActivity

#: The offset is searched within +- this many seconds of the clocks' own alignment.
SEARCH_S = 60.0
#: Below this confidence the offset found is not trusted and the clocks' alignment (0 s) is kept.
MIN_CONFIDENCE = 0.3
#: Seconds of overlap (on the 1 s grid) the matching needs.
MIN_OVERLAP_S = 30
#: Savitzky-Golay window for the grade, metres (longer than a GPS altitude wobble, shorter than a hill).
GRADE_WINDOW_M = 25
#: Grades beyond this are taken as altitude jumps, not hills.
MAX_GRADE_PCT = 45.0
#: A step between two records further apart than this (a pause, a lost signal) gets no watch value.
MAX_RECORD_GAP_S = 5.0


@dataclass(frozen=True)
class Alignment:
    """How the watch's clock maps to the session's: ``watch time = start_time + session time + offset_s``.

    ``method`` is "cadence" or "speed" (what was matched) or "clock" (the matching was not trusted);
    ``correlation`` is the best match's Pearson r; ``overlap_s`` the seconds compared.
    """

    offset_s: float
    confidence: float
    method: str
    correlation: float
    overlap_s: int


# Alignment


def session_cadence(steps: pd.DataFrame, duration_s: float) -> np.ndarray:
    """The session's step cadence on a 1 s grid (session clock): value ``k`` is the mean cadence of the
    running steps in ``[k - 2, k + 3)`` s, smoothed like a watch's (centred on ``k + 0.5``); NaN where none."""
    n = int(min(max(duration_s, 0.0), 48 * 3600)) + 1
    ic = pd.to_numeric(steps.get("ic_s"), errors="coerce").to_numpy(dtype=float)
    cad = pd.to_numeric(steps.get("cadence_spm"), errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(ic) & np.isfinite(cad) & (ic >= 0) & (ic < n)
    if "activity" in steps:
        ok &= (steps["activity"] == "run").fillna(False).to_numpy(dtype=bool)
    bins = np.floor(ic[ok]).astype(int)
    total: np.ndarray = np.bincount(bins, weights=cad[ok], minlength=n)
    count: np.ndarray = np.bincount(bins, minlength=n).astype(float)
    kernel = np.ones(5)
    total = np.convolve(total, kernel, mode="same")
    count = np.convolve(count, kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _interp_gapped(
    t: np.ndarray, x: np.ndarray, at: np.ndarray, max_gap: float = MAX_RECORD_GAP_S
) -> np.ndarray:
    """``x(t)`` interpolated at ``at`` between finite samples at most ``max_gap`` apart; NaN elsewhere."""
    ok = np.isfinite(x)
    t, x = t[ok], x[ok]
    out = np.full(len(at), np.nan)
    if len(t) < 2:
        return out
    j = np.searchsorted(t, at)
    inside = (j > 0) & (j < len(t))
    jj = np.clip(j, 1, len(t) - 1)
    near = inside & ((t[jj] - t[jj - 1]) <= max_gap)
    out[near] = np.interp(at[near], t, x)
    return out


def _correlation(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    ok = np.isfinite(a) & np.isfinite(b)
    n = int(ok.sum())
    if n < MIN_OVERLAP_S:
        return float("nan"), n
    a, b = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return (float((a * b).sum()) / den if den > 0 else float("nan")), n


def align(steps: pd.DataFrame, start_time: float, duration_s: float, watch: WatchActivity) -> Alignment:
    """The watch's offset to the session (see the module docstring); never raises on poor data."""
    reference = session_cadence(steps, duration_s)
    signal, method = watch.cadence_spm, "cadence"
    if signal is None or np.isfinite(signal).sum() < MIN_OVERLAP_S:
        signal, method = watch.speed_mps, "speed"
        if signal is not None:  # smoothed over 5 s like the session's cadence (GPS speed is noisier)
            signal = pd.Series(signal).rolling(5, center=True, min_periods=3).mean().to_numpy()
    if signal is None:
        return Alignment(0.0, 0.0, "clock", float("nan"), 0)
    # Bin k of the reference holds the steps in [k - 2, k + 3): its time is k + 0.5.
    grid = np.arange(len(reference), dtype=float) + 0.5

    def score(offset: float) -> tuple[float, int]:
        return _correlation(reference, _interp_gapped(watch.time_unix, signal, start_time + grid + offset))

    coarse = np.arange(-SEARCH_S, SEARCH_S + 0.5, 1.0)
    r = np.array([score(o)[0] for o in coarse])
    if not np.isfinite(r).any():
        return Alignment(0.0, 0.0, "clock", float("nan"), score(0.0)[1])
    best = float(coarse[np.nanargmax(r)])
    fine = np.arange(best - 1.5, best + 1.5001, 0.05)
    rf = np.array([score(o)[0] for o in fine])
    i = int(np.nanargmax(rf))
    offset, r_best = float(fine[i]), float(rf[i])
    # The runner-up: the best other local maximum of the coarse curve (a periodic or flat signal has
    # several of similar height; a change of pace gives one clear peak).
    rr = np.nan_to_num(r, nan=-1.0)
    padded = np.concatenate([[-np.inf], rr, [-np.inf]])
    peaks = (rr >= padded[:-2]) & (rr >= padded[2:]) & (np.abs(coarse - offset) > 2.0)
    r_far = max(float(rr[peaks].max()), 0.0) if peaks.any() else 0.0
    # How much of the room above the runner-up the best match takes (1: a clear single peak).
    confidence = max(0.0, r_best) * float(np.clip((r_best - r_far) / max(1.0 - r_far, 1e-9), 0.0, 1.0))
    overlap = score(offset)[1]
    if confidence < MIN_CONFIDENCE:
        return Alignment(0.0, round(confidence, 3), "clock", round(r_best, 3), overlap)
    return Alignment(round(offset, 2), round(confidence, 3), method, round(r_best, 3), overlap)


# Grade and per-step values


def grade_pct(
    distance_m: np.ndarray | None, altitude_m: np.ndarray | None, window_m: int = GRADE_WINDOW_M
) -> np.ndarray | None:
    """Grade at each record, percent (+ uphill), from distance and altitude (module docstring, step 3)."""
    if distance_m is None or altitude_m is None:
        return None
    from scipy.signal import savgol_filter

    out = np.full(len(distance_m), np.nan)
    ok = np.isfinite(distance_m) & np.isfinite(altitude_m)
    d, z = distance_m[ok], altitude_m[ok]
    # Distance only grows; a record that goes back (GPS) or stands still adds no run for a rise.
    keep = np.concatenate([[True], np.diff(d) > 0]) if len(d) else np.zeros(0, bool)
    d, z = d[keep], z[keep]
    window = int(window_m) | 1  # odd
    if len(d) < 2 or d[-1] - d[0] < window:
        return None
    grid = np.arange(d[0], d[-1], 1.0)
    slope = savgol_filter(np.interp(grid, d, z), window, 2, deriv=1, delta=1.0)
    g = 100.0 * np.interp(distance_m[ok], grid, slope)
    out[ok] = np.where(np.abs(g) <= MAX_GRADE_PCT, g, np.nan)
    return out


def step_values(
    steps: pd.DataFrame, start_time: float, offset_s: float, watch: WatchActivity
) -> pd.DataFrame:
    """``speed_mps``, ``grade_pct``, ``heart_rate_bpm`` for every step (NaN where the watch has none)."""
    ic = pd.to_numeric(steps.get("ic_s"), errors="coerce").to_numpy(dtype=float)
    at = start_time + ic + offset_s
    fields = {
        "speed_mps": watch.speed_mps,
        "grade_pct": grade_pct(watch.distance_m, watch.altitude_m),
        "heart_rate_bpm": watch.heart_rate_bpm,
    }
    return pd.DataFrame(
        {
            name: (np.full(len(ic), np.nan) if x is None else _interp_gapped(watch.time_unix, x, at))
            for name, x in fields.items()
        },
        index=steps.index,
    )


def bout_summary(steps: pd.DataFrame) -> pd.DataFrame:
    """Per bout: steps, median speed (m/s) and pace (s/km), median grade (%), mean heart rate (bpm)."""
    cols = ["bout", "steps", "speed_mps", "pace_s_per_km", "grade_pct", "heart_rate_bpm"]
    if "bout" not in steps or not len(steps):
        return pd.DataFrame(columns=cols)
    rows = []
    for bout, g in steps.dropna(subset=["bout"]).groupby("bout"):
        speed = float(g["speed_mps"].median())
        rows.append(
            {
                "bout": int(bout),
                "steps": len(g),
                "speed_mps": speed,
                "pace_s_per_km": 1000.0 / speed if speed > 0.5 else float("nan"),
                "grade_pct": float(g["grade_pct"].median()),
                "heart_rate_bpm": float(g["heart_rate_bpm"].mean()),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def flat_easy(steps: pd.DataFrame, max_grade_pct: float = 2.0) -> pd.DataFrame:
    """The steps on the flat (|grade| < ``max_grade_pct``): trends compare these across sessions, so a
    hilly run does not read as a change in form. Empty when the session is not linked."""
    if "grade_pct" not in steps:
        return steps.iloc[0:0]
    g = pd.to_numeric(steps["grade_pct"], errors="coerce")
    return steps[g.abs() < max_grade_pct]


__all__ = ["Alignment", "align", "bout_summary", "flat_easy", "grade_pct", "session_cadence", "step_values"]
