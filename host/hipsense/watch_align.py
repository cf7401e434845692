"""The runner's watch against a session's steps: the clock offset, the grade, the values per step.

The arithmetic of :mod:`hipsense.link` (which reads and writes the store), on arrays and step tables.

1. **Clock.** The watch's records (:mod:`hipsense.formats.fit_watch`) are put on the session's clock by
   absolute time: record time minus the session's ``start_time`` (UNIX s).
2. **Offset.** The two clocks disagree by seconds to minutes (a clip set at sync and drifting since, a
   watch set by GPS), so the offset is searched within +-:data:`WIDE_SEARCH_S` by matching the watch's
   cadence (without one: its speed, which rises with cadence) to the session's step cadence, both on a
   1 s grid: the offset with the largest Pearson correlation, first in 1 s steps, then in 0.05 s steps
   around the best. The confidence is that correlation times ``(r - r2) / (1 - r2)``, where ``r2`` is
   the runner-up (the best other local maximum over the offsets, more than 2 s away, at least 0). The
   match is trusted only when the confidence is at least :data:`MIN_CONFIDENCE`, the correlation at
   least :data:`MIN_CORRELATION` (the same shape), it compares at least :data:`MIN_COVER` of the seconds
   the two could share (not a shifted fragment) and it is not at the search's edge. Otherwise the
   clocks' offset (0) is kept for a steady run (nothing to match) or when the correlation there is at
   least :data:`MIN_CLOCK_CORRELATION` ("clock"); else the watch does not follow the run at any offset
   to be trusted, and no values are linked ("none"). ``Alignment.note`` says which, in one line.
3. **Grade** from distance and altitude, with a window as wide as the altitude's noise needs
   (:mod:`hipsense.watch_grade`).
4. **Per step**: ``speed_mps``, ``grade_pct`` and ``heart_rate_bpm`` at each step's initial contact
   (``ic_s`` on the session clock plus the offset), interpolated between records at most
   :data:`MAX_RECORD_GAP_S` apart, or up to :data:`MAX_SPARSE_GAP_S` apart when the distance shows the
   runner moving across the gap (sparse "smart" recording, :func:`bridged`); a per-bout summary.

docs/watch.md says how to use it, what was measured and its limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hipsense.formats.fit_watch import WatchActivity
from hipsense.watch_grade import GRADE_WINDOW_M, GradeEstimate, grade_estimate

#: The per-step values a watch gives (the registry's "linked" metrics, :mod:`hipsense.link`).
VALUE_COLUMNS = ("speed_mps", "grade_pct", "heart_rate_bpm")
#: The offset is searched within +- this many seconds of the clocks' own alignment (a clip's clock can
#: drift tens of seconds to minutes between syncs), in 1 s steps.
WIDE_SEARCH_S = 600.0
#: A best match this close to the search's edge may be the slope of a peak beyond it: not trusted.
EDGE_S = 15.0
#: A watch whose activity is further than this from the session's (seconds) is refused (hipsense.link):
#: no offset the search could trust would bring them together.
SEARCH_S = WIDE_SEARCH_S - EDGE_S
#: Below this confidence the offset found is not trusted.
MIN_CONFIDENCE = 0.3
#: Below this correlation the best match is not the same shape (a fragment, another run): not trusted.
MIN_CORRELATION = 0.7
#: A match comparing less than this share of the seconds the session and the watch could share is a
#: fragment (a shifted part of the same interval structure): not trusted.
MIN_COVER = 0.8
#: An untrusted match still keeps the clocks' alignment (values linked) when the correlation there is this.
MIN_CLOCK_CORRELATION = 0.6
#: Less spread than this (standard deviation, spm; m/s for speed) is a steady run: nothing to match.
STEADY_SPM = 3.0
STEADY_MPS = 0.25
#: Seconds of overlap (on the 1 s grid) the matching needs.
MIN_OVERLAP_S = 30
#: A step between two records further apart than this (a pause, a lost signal) gets no watch value ...
MAX_RECORD_GAP_S = 5.0
#: ... unless the distance grows across the gap as when moving ("smart recording": a record every 1-10
#: s on a steady run), up to this many seconds.
MAX_SPARSE_GAP_S = 20.0
#: Slower than this across a gap (m/s) is not moving.
MOVING_MPS = 0.5


@dataclass(frozen=True)
class Alignment:
    """How the watch's clock maps to the session's: ``watch time = start_time + session time + offset_s``.

    ``method`` is "cadence" or "speed" (what was matched), "clock" (the matching was not trusted and the
    clocks' alignment, 0 s, is kept: a steady run, or the clocks agree with the cadence) or "none" (the
    watch does not follow this run at the clocks' alignment: no values are linked, :func:`linked_values`);
    ``correlation`` is the best match's Pearson r; ``overlap_s`` the seconds compared; ``note`` one line
    saying why when the offset was not matched.
    """

    offset_s: float
    confidence: float
    method: str
    correlation: float
    overlap_s: int
    note: str = ""

    @property
    def linked(self) -> bool:
        """Whether values are linked at this alignment (all but "none")."""
        return self.method != "none"


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


def bridged(watch: WatchActivity) -> np.ndarray:
    """For each two consecutive records, whether a value may be interpolated between them: at most
    :data:`MAX_RECORD_GAP_S` apart, or (sparse "smart" recording) at most :data:`MAX_SPARSE_GAP_S` apart
    with the distance growing across the gap at least half the speed around it (a pause: it does not)."""
    t = watch.time_unix
    gap = np.diff(t)
    ok = gap <= MAX_RECORD_GAP_S
    d = watch.distance_m
    if d is None or len(t) < 2:
        return ok
    with np.errstate(invalid="ignore", divide="ignore"):
        v_gap = np.diff(d) / gap  # NaN where either end has no distance
        v = watch.speed_mps
        if v is None or not np.isfinite(v).any():  # the speed around: the neighbouring gaps' distance
            v = np.full(len(t), np.nan)
            v[1:] = v_gap
            v[:-1] = np.where(np.isfinite(v[:-1]), np.fmax(v[:-1], v_gap), v_gap)
        around = np.nanmean(np.vstack([v[:-1], v[1:]]), axis=0) if len(t) > 1 else np.zeros(0)
    around = np.where(np.isfinite(around), around, MOVING_MPS)
    moving = (v_gap >= np.maximum(0.5 * around, MOVING_MPS)) & (v_gap <= 2.0 * around + 1.0)
    return ok | ((gap <= MAX_SPARSE_GAP_S) & moving)


def _interp_gapped(
    t: np.ndarray, x: np.ndarray, at: np.ndarray, bridge: np.ndarray | None = None
) -> np.ndarray:
    """``x(t)`` interpolated at ``at`` between finite samples at most :data:`MAX_RECORD_GAP_S` apart, or
    between consecutive records that ``bridge`` (one flag per gap, :func:`bridged`) joins; NaN elsewhere."""
    ok = np.isfinite(x)
    idx = np.flatnonzero(ok)
    t, x = t[ok], x[ok]
    out = np.full(len(at), np.nan)
    if len(t) < 2:
        return out
    j = np.searchsorted(t, at)
    inside = (j > 0) & (j < len(t))
    jj = np.clip(j, 1, len(t) - 1)
    joined = (t[1:] - t[:-1]) <= MAX_RECORD_GAP_S
    if bridge is not None:  # consecutive records (no value missing between them) the distance joins
        joined |= (np.diff(idx) == 1) & bridge[idx[:-1]]
    near = inside & joined[jj - 1]
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


def _signal(watch: WatchActivity) -> tuple[np.ndarray | None, str]:
    """The watch's cadence, or without one its speed smoothed over 5 s (GPS speed is noisier)."""
    if watch.cadence_spm is not None and np.isfinite(watch.cadence_spm).sum() >= MIN_OVERLAP_S:
        return watch.cadence_spm, "cadence"
    if watch.speed_mps is None:
        return None, "clock"
    return pd.Series(watch.speed_mps).rolling(5, center=True, min_periods=3).mean().to_numpy(), "speed"


def _runner_up(offsets: np.ndarray, r: np.ndarray, best: float) -> float:
    """The best other local maximum of the correlation over the offsets, more than 2 s from ``best``
    (a periodic or flat signal has several of similar height; a change of pace gives one clear peak)."""
    rr = np.nan_to_num(r, nan=-1.0)
    padded = np.concatenate([[-np.inf], rr, [-np.inf]])
    peaks = (rr >= padded[:-2]) & (rr >= padded[2:]) & (np.abs(offsets - best) > 2.0)
    return max(float(rr[peaks].max()), 0.0) if peaks.any() else 0.0


def align(steps: pd.DataFrame, start_time: float, duration_s: float, watch: WatchActivity) -> Alignment:
    """The watch's offset to the session (see the module docstring); never raises on poor data."""
    reference = session_cadence(steps, duration_s)
    signal, method = _signal(watch)
    if signal is None:
        return Alignment(0.0, 0.0, "clock", float("nan"), 0, "no cadence or speed to match: the clocks")
    bridge = bridged(watch)
    n, wide = len(reference), int(WIDE_SEARCH_S)
    # The watch on the reference's grid (bin k's time is k + 0.5) for every whole offset at once.
    grid = start_time + 0.5 + np.arange(-wide, n + wide, dtype=float)
    shifted = _interp_gapped(watch.time_unix, signal, grid, bridge)
    coarse = np.arange(-wide, wide + 1, dtype=float)
    r = np.array([_correlation(reference, shifted[k : k + n])[0] for k in range(2 * wide + 1)])
    r0, overlap0 = _correlation(reference, shifted[wide : wide + n])
    floor = STEADY_SPM if method == "cadence" else STEADY_MPS
    if not np.isfinite(r).any() or _sd(reference) < STEADY_SPM:
        note = "a steady run (or too little overlap): nothing to match, so the clocks' alignment is kept"
        return Alignment(0.0, 0.0, "clock", _round(r0), overlap0, note)
    if _sd(shifted) < floor:  # over all the watch's records the search sees
        note = (
            f"the watch's {method} stays steady while the session's cadence changes: nothing to match, so "
            "the clocks' alignment is kept (is it the same run?)"
        )
        return Alignment(0.0, 0.0, "clock", _round(r0), overlap0, note)

    def score(offset: float) -> tuple[float, int]:
        at = start_time + np.arange(n, dtype=float) + 0.5 + offset
        return _correlation(reference, _interp_gapped(watch.time_unix, signal, at, bridge))

    best = float(coarse[np.nanargmax(r)])
    fine = np.arange(best - 1.5, best + 1.5001, 0.05)
    rf = np.array([score(o)[0] for o in fine])
    i = int(np.nanargmax(rf))
    offset, r_best = float(fine[i]), float(rf[i])
    r_far = _runner_up(coarse, r, offset)
    # How much of the room above the runner-up the best match takes (1: a clear single peak).
    confidence = round(max(0.0, r_best) * float(np.clip((r_best - r_far) / max(1.0 - r_far, 1e-9), 0, 1)), 3)
    overlap = score(offset)[1]
    edge = abs(best) >= WIDE_SEARCH_S - EDGE_S
    # A fragment: a shift that leaves most of what the two have in common out of the comparison.
    whole = min(int(np.isfinite(reference).sum()), int(np.isfinite(shifted).sum()))
    fragment = overlap < MIN_COVER * whole
    if confidence >= MIN_CONFIDENCE and r_best >= MIN_CORRELATION and not (edge or fragment):
        return Alignment(round(offset, 2), confidence, method, round(r_best, 3), overlap)
    if np.isfinite(r0) and r0 >= MIN_CLOCK_CORRELATION:
        note = (
            f"the {method} match was not clear enough (confidence {confidence:.2f}), and the clocks' "
            f"alignment agrees with it (correlation {r0:.2f} at 0 s): aligned by the clocks"
        )
        return Alignment(0.0, confidence, "clock", round(r_best, 3), overlap0, note)
    minutes = f"{WIDE_SEARCH_S / 60:g} min"
    at_0 = f"correlation {r0:.2f} at the clocks' 0 s"
    if edge and r_best >= MIN_CORRELATION:
        why = (
            f"the watch's clock seems more than {minutes} off the clip's (its best {method} match lies at "
            f"{best:+.0f} s, the search's edge; {at_0})"
        )
    elif fragment and r_best >= MIN_CORRELATION:
        why = (
            f"the watch's {method} matches only a fragment of this run ({overlap} of {whole} s, at "
            f"{offset:+.0f} s; {at_0}): another run, or a clock more than {minutes} off?"
        )
    elif r_best >= MIN_CORRELATION:
        why = (
            f"the watch's {method} matches this run about as well at several offsets ({offset:+.0f} s, and "
            f"another of correlation {r_far:.2f}; {at_0}): its clock cannot be told"
        )
    else:
        why = (
            f"the watch's {method} does not follow this run's cadence (best correlation {r_best:.2f} within "
            f"+-{minutes}, {r0:.2f} at the clocks' 0 s): a file from another run?"
        )
    return Alignment(0.0, confidence, "none", round(r_best, 3), overlap0, "no values linked: " + why)


def _sd(x: np.ndarray) -> float:
    """The standard deviation of the finite values; 0 with too few to compare."""
    x = x[np.isfinite(x)]
    return float(x.std()) if len(x) >= MIN_OVERLAP_S else 0.0


def _round(x: float) -> float:
    return round(x, 3) if np.isfinite(x) else float("nan")


# Grade and per-step values


def grade_pct(
    distance_m: np.ndarray | None, altitude_m: np.ndarray | None, window_m: int = GRADE_WINDOW_M
) -> np.ndarray | None:
    """Grade at each record, percent (+ uphill); None where unknown (:func:`grade_estimate`)."""
    return grade_estimate(distance_m, altitude_m, window_m).grade


def notes(watch: WatchActivity, alignment: Alignment, grade: GradeEstimate | None = None) -> tuple[str, ...]:
    """One line each for what the link did not take at face value: the alignment when the offset was
    not matched, a grade left unknown for a noisy altitude, records bridged across sparse recording.
    ``grade``: the watch's :func:`grade_estimate`, when the caller has it already."""
    out = [alignment.note] if alignment.note else []
    grade = grade_estimate(watch.distance_m, watch.altitude_m) if grade is None else grade
    if grade.note:
        out.append(grade.note)
    gap = np.diff(watch.time_unix)
    sparse = int((bridged(watch) & (gap > MAX_RECORD_GAP_S)).sum())
    if sparse and alignment.linked:
        out.append(
            f"the watch recorded sparsely (up to {gap.max():.0f} s between records, {gap.mean():.1f} s on "
            f"average): values were interpolated across {sparse} gaps over {MAX_RECORD_GAP_S:g} s where "
            "the distance shows the runner moving; 1 s recording gives finer values"
        )
    return tuple(out)


def step_values(
    steps: pd.DataFrame,
    start_time: float,
    offset_s: float,
    watch: WatchActivity,
    grade: GradeEstimate | None = None,
) -> pd.DataFrame:
    """``speed_mps``, ``grade_pct``, ``heart_rate_bpm`` for every step (NaN where the watch has none).
    ``grade``: the watch's :func:`grade_estimate`, when the caller has it already."""
    ic = pd.to_numeric(steps.get("ic_s"), errors="coerce").to_numpy(dtype=float)
    at = start_time + ic + offset_s
    grade = grade_estimate(watch.distance_m, watch.altitude_m) if grade is None else grade
    fields = {
        "speed_mps": watch.speed_mps,
        "grade_pct": grade.grade,
        "heart_rate_bpm": watch.heart_rate_bpm,
    }
    bridge = bridged(watch)
    return pd.DataFrame(
        {
            name: (np.full(len(ic), np.nan) if x is None else _interp_gapped(watch.time_unix, x, at, bridge))
            for name, x in fields.items()
        },
        index=steps.index,
    )


def linked_values(
    steps: pd.DataFrame,
    start_time: float,
    alignment: Alignment,
    watch: WatchActivity,
    grade: GradeEstimate | None = None,
) -> pd.DataFrame:
    """:func:`step_values` at the alignment; all empty when the watch does not follow the run ("none")."""
    if not alignment.linked:
        return pd.DataFrame(np.nan, index=steps.index, columns=list(VALUE_COLUMNS))
    return step_values(steps, start_time, alignment.offset_s, watch, grade)


def bout_summary(steps: pd.DataFrame) -> pd.DataFrame:
    """Per bout: steps, those with a watch value, and of those the median speed (m/s) and pace (s/km),
    median grade (%) and mean heart rate (bpm)."""
    cols = ["bout", "steps", "linked_steps", "speed_mps", "pace_s_per_km", "grade_pct", "heart_rate_bpm"]
    if "bout" not in steps or not len(steps):
        return pd.DataFrame(columns=cols)
    rows = []
    for bout, g in steps.dropna(subset=["bout"]).groupby("bout"):
        speed = float(g["speed_mps"].median())
        rows.append(
            {
                "bout": int(bout),
                "steps": len(g),
                # the medians below are of these steps only (red-team p14 G11)
                "linked_steps": int(g[[c for c in VALUE_COLUMNS if c in g]].notna().any(axis=1).sum()),
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


__all__ = ["Alignment", "align", "bout_summary", "bridged", "flat_easy", "grade_pct", "linked_values"]
__all__ += ["notes", "session_cadence", "step_values"]
