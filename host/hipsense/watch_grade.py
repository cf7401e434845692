"""The grade of a watch's route from its distance and altitude, with a window as wide as the altitude's noise
needs (docs/watch.md, "Grade").

Altitude is resampled on a 1 m distance grid and fitted with a Savitzky-Golay filter (2nd order), whose
first derivative is the rise over run (Savitzky & Golay 1964). The window is the narrowest of
:data:`WINDOWS_M` whose slope standard error, from the noise measured in the altitude itself, is at most
:data:`TARGET_SE_PCT`; past :data:`MAX_WINDOW_M` the grade is left unknown.

Noise model: altitude = terrain + white noise (sd ``sigma``: GPS scatter, the 0.2 m resolution) + a
random walk of ``q`` m^2 per metre (slow GPS wander, whose short-range increments grow with distance like
a random walk's; a conservative stand-in for a wander that levels off). Both come from the deviation of
each record's altitude from the chord of its neighbours ``k`` records away (terrain of any steady grade
cancels; a hill's curvature adds little over 10-15 m): its variance is ``1.5 sigma^2 + q l / 2`` at a half
span of ``l`` m, measured robustly (the central 90 %) at two spans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The narrowest Savitzky-Golay window, metres (the clean-altitude window: a barometer's 0.2 m steps).
GRADE_WINDOW_M = 25
#: The windows tried, metres, narrowest first.
WINDOWS_M = (25, 35, 51, 75, 101, 151, 201)
#: A window wider than this averages a hill with its flat: the grade is left unknown beyond it.
MAX_WINDOW_M = 201
#: The slope's standard error aimed at, percent: a quarter of the +-2 % "flat" band.
TARGET_SE_PCT = 0.5
#: Grades beyond this are taken as altitude jumps, not hills.
MAX_GRADE_PCT = 45.0
#: FIT's altitude resolution, metres (``enhanced_altitude``: scale 5).
RESOLUTION_M = 0.2
#: The variance of a normal's central 90 % as a share of its whole variance.
TRIMMED_VAR = 0.6230
#: The second, longer chord's half span, metres (short enough that a hill's curvature adds little).
LONG_SPAN_M = 12.0


@dataclass(frozen=True)
class GradeEstimate:
    """The grade per record (None: unknown), the window used, the noise measured, and a one-line note
    when the grade is left unknown for noise."""

    grade: np.ndarray | None
    window_m: int
    white_m: float
    walk_m2_per_m: float
    note: str = ""


def _chord_var(d: np.ndarray, z: np.ndarray, k: int) -> tuple[float, float]:
    """Robust variance of each altitude's deviation from the chord of its neighbours ``k`` records away,
    and the median half span (m)."""
    if len(d) < 2 * k + 10:
        return float("nan"), float("nan")
    a, m, b = d[: -2 * k], d[k:-k], d[2 * k :]
    w = (m - a) / (b - a)
    e = z[k:-k] - (z[: -2 * k] * (1 - w) + z[2 * k :] * w)
    # The variance of the central 90 % (a hill's kinks, GPS jumps left out), scaled to a normal's: robust,
    # and unlike a median absolute deviation not stuck at 0 on 0.2 m steps.
    lo, hi = np.percentile(e, [5, 95])
    central = e[(e >= lo) & (e <= hi)]
    return float(central.var()) / TRIMMED_VAR, float(np.median((b - a) / 2))


def noise(d: np.ndarray, z: np.ndarray) -> tuple[float, float, float]:
    """White noise sd (m), random-walk rate ``q`` (m^2/m) and the median record spacing (m)."""
    h = float(np.median(np.diff(d))) if len(d) > 1 else float("nan")
    v1, l1 = _chord_var(d, z, 1)
    k2 = max(2, int(round(LONG_SPAN_M / h))) if np.isfinite(h) and h > 0 else 2
    v2, l2 = _chord_var(d, z, k2)
    if not np.isfinite(v1):
        return float("nan"), float("nan"), h
    if not np.isfinite(v2) or l2 < 1.5 * l1:  # spans too alike to tell the two apart: either one
        return float(np.sqrt(v1 / 1.5)), 2.0 * v1 / l1, h
    # Only a rise beyond the estimates' own scatter is wander (a trimmed variance from n values is good to
    # about 2 / sqrt(n) of itself; twice that, for the two of them).
    rise = v2 - v1 - 2.0 * 2.0 / np.sqrt(len(d)) * np.sqrt(2.0) * v1
    # Deviations within twice the file's rounding (its 0.2 m steps, aliased against the record spacing on
    # a steady grade) are not wander.
    if v2 <= 2.0 * 1.5 * RESOLUTION_M**2 / 12.0:
        rise = 0.0
    q = max(0.0, 2.0 * rise / (l2 - l1))
    white = max(0.0, (v1 - q * l1 / 2.0) / 1.5)
    return float(np.sqrt(white)), q, h


def slope_se_pct(window_m: float, white_m: float, q: float, spacing_m: float) -> float:
    """Standard error of a least-squares slope over ``window_m`` (percent): white noise on its
    ``window / spacing`` records, ``sigma sqrt(12 / n) / L``; a random walk of rate ``q``,
    ``sqrt(6 q / (5 L))`` (the slope fitted to Brownian motion over ``L``)."""
    n = max(window_m / max(spacing_m, 1.0), 3.0)
    white = white_m**2 * 12.0 / (n * window_m**2)
    walk = 1.2 * q / window_m
    return 100.0 * float(np.sqrt(white + walk))


def grade_estimate(
    distance_m: np.ndarray | None, altitude_m: np.ndarray | None, window_m: int = GRADE_WINDOW_M
) -> GradeEstimate:
    """Grade at each record, percent (+ uphill), from distance and altitude (module docstring)."""
    if distance_m is None or altitude_m is None:
        return GradeEstimate(None, 0, float("nan"), float("nan"))
    from scipy.signal import savgol_filter

    ok = np.isfinite(distance_m) & np.isfinite(altitude_m)
    d, z = distance_m[ok], altitude_m[ok]
    # Distance only grows; a record that goes back (GPS) or stands still adds no run for a rise.
    keep = np.concatenate([[True], np.diff(d) > 0]) if len(d) else np.zeros(0, bool)
    d, z = d[keep], z[keep]
    if len(d) < 2 or d[-1] - d[0] < window_m:
        return GradeEstimate(None, 0, float("nan"), float("nan"))
    white, q, h = noise(d, z)
    tried = [w for w in WINDOWS_M if w >= window_m] or [int(window_m)]
    if np.isfinite(white):
        fits = [w for w in tried if slope_se_pct(w, white, q, h) <= TARGET_SE_PCT]
        if not fits:
            need = _needed(white, q, h)
            drift = f", {np.sqrt(q * 100):.1f} m of drift per 100 m" if q > 0 else ""
            note = (
                f"the watch's altitude is too noisy to tell the grade (about {white:.1f} m of scatter{drift}): "
                f"a grade good to {TARGET_SE_PCT:g} % would need a fit over {need}, wider than the "
                f"{MAX_WINDOW_M} m allowed, so the grade is unknown"
            )
            return GradeEstimate(None, 0, white, q, note)
        chosen = fits[0]
    else:  # too few records to measure the noise: the narrowest window
        chosen = tried[0]
    chosen = int(chosen) | 1  # odd
    if d[-1] - d[0] < chosen:
        return GradeEstimate(None, chosen, white, q)
    grid = np.arange(d[0], d[-1], 1.0)
    slope = savgol_filter(np.interp(grid, d, z), chosen, 2, deriv=1, delta=1.0)
    g = 100.0 * np.interp(distance_m[ok], grid, slope)
    out = np.full(len(distance_m), np.nan)
    out[ok] = np.where(np.abs(g) <= MAX_GRADE_PCT, g, np.nan)
    return GradeEstimate(out, chosen, white, q)


def _needed(white: float, q: float, h: float) -> str:
    """The window the target error needs, as words ("300 m", "1.2 km", "more than 5 km")."""
    for w in (300, 500, 800, 1200, 2000, 5000):
        if slope_se_pct(w, white, q, h) <= TARGET_SE_PCT:
            return f"{w} m" if w < 1000 else f"{w / 1000:g} km"
    return "more than 5 km"


__all__ = ["GradeEstimate", "grade_estimate", "noise", "slope_se_pct"]
