"""The session report's part for a run linked to the runner's watch (hipsense.link, docs/watch.md):
contact time and its left-right asymmetry against pace and against grade, in one figure.

Kept apart from html.py and figures.py so the report shows it only when the steps carry the watch's
columns; :func:`watch_section` returns "" otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from hipsense.report.figures import INK, SIDES, WIDTH_IN, style
from hipsense.report.page import Progress, draw, esc, figure, section

#: Steps a bin needs on each foot before its median is drawn.
MIN_STEPS = 10
#: Pace bins (s/km) and grade bins (%).
PACE_BIN_S = 15.0
GRADE_BIN_PCT = 2.0
#: Steps on the flat for like-with-like comparisons (hipsense.link.flat_easy uses the same).
FLAT_PCT = 2.0


def linked(steps: pd.DataFrame) -> bool:
    """Whether the steps carry the watch's speed (a session linked with `hipsense link`)."""
    return (
        "speed_mps" in steps and int(pd.to_numeric(steps["speed_mps"], errors="coerce").notna().sum()) >= 20
    )


def _binned(x: np.ndarray, width: float) -> np.ndarray:
    return (np.floor(x / width) + 0.5) * width


def form_by_pace_and_grade(steps: pd.DataFrame, *, by_side: bool = True) -> Figure:
    """Contact time per foot (top) and its asymmetry, 100 x (L - R) / mean (bottom), against pace
    (left) and grade (right): median per bin with at least :data:`MIN_STEPS` steps on each foot."""
    run = steps[steps.get("activity", pd.Series("run", index=steps.index)) == "run"]
    speed = pd.to_numeric(run["speed_mps"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pace = np.where(speed > 1.0, 1000.0 / speed, np.nan)  # slower than 16:40 /km is not running
    grade = pd.to_numeric(run.get("grade_pct"), errors="coerce").to_numpy(dtype=float)
    contact = 1000.0 * pd.to_numeric(run["contact_time_s"], errors="coerce").to_numpy(dtype=float)
    side = run["side"].astype("string").fillna("").to_numpy()
    with style():
        fig = Figure(figsize=(WIDTH_IN, 5.2), layout="constrained")
        axes = fig.subplots(2, 2, sharex="col")
        for col, (x, width, xlabel) in enumerate(
            ((pace, PACE_BIN_S, "pace (min/km)"), (grade, GRADE_BIN_PCT, "grade (%, + uphill)"))
        ):
            bins = _binned(x, width)
            medians = {}
            groups = SIDES if by_side else (("", "all steps", INK),)
            for code, name, colour in groups:
                mine = np.isfinite(bins) & np.isfinite(contact) & ((side == code) if code else True)
                m = pd.Series(contact[mine]).groupby(bins[mine]).agg(["median", "count"])
                m = m[m["count"] >= MIN_STEPS]["median"]
                medians[code] = m
                xs = m.index.to_numpy() / (60.0 if col == 0 else 1.0)
                axes[0, col].plot(xs, m.to_numpy(), "-o", ms=3, color=colour, label=name)
            if by_side and len(medians["L"]) and len(medians["R"]):
                both = pd.concat([medians["L"], medians["R"]], axis=1, join="inner").to_numpy()
                ai = 100.0 * (both[:, 0] - both[:, 1]) / both.mean(axis=1)
                index = pd.concat([medians["L"], medians["R"]], axis=1, join="inner").index.to_numpy()
                axes[1, col].bar(
                    index / (60.0 if col == 0 else 1.0),
                    ai,
                    width=0.8 * width / (60.0 if col == 0 else 1.0),
                    color=INK,
                    alpha=0.6,
                )
            axes[1, col].axhline(0.0, color=INK, lw=0.8)
            axes[1, col].set_xlabel(xlabel)
            axes[0, col].set_title(f"Contact time by {xlabel.split(' ')[0]}")
        axes[1, 0].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{int(v)}:{round(v % 1 * 60):02d}"))
        axes[0, 0].set_ylabel("contact time (ms)")
        axes[1, 0].set_ylabel("asymmetry (%, L - R)")
        axes[0, 1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def watch_section(steps: pd.DataFrame, *, by_side: bool, progress: Progress | None = None) -> str:
    """The report's "With the watch" section, or "" when the session is not linked."""
    if not linked(steps):
        return ""
    (svg,) = draw([("pace and grade", lambda: form_by_pace_and_grade(steps, by_side=by_side))], progress)
    grade = pd.to_numeric(steps.get("grade_pct"), errors="coerce")
    flat = int((grade.abs() < FLAT_PCT).sum())
    note = (
        f"{flat:,} of {len(steps):,} steps were on the flat (grade within +-{FLAT_PCT:g} %); trends compare "
        "those between runs, so a hilly route does not read as a change in form."
        if grade.notna().any()
        else "The grade is unknown: the watch recorded no altitude, or the run was indoors (a treadmill's "
        "incline is not in the file), or its altitude was too noisy to tell one (`hipsense link` says which)."
    )
    caption = (
        "Median contact time per pace and grade bin for each foot (bins with at least "
        f"{MIN_STEPS} steps on each foot), and below it the asymmetry, 100 x (left - right) / mean. "
        "Contact time shortens as pace quickens and lengthens uphill; an asymmetry that holds at every "
        "pace and grade is the runner's, one that appears only on hills is the course's."
    )
    return section("watch", "With the watch", f"<p>{esc(note)}</p>" + figure(svg, caption))


__all__ = ["form_by_pace_and_grade", "linked", "watch_section"]
