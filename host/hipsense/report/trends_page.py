"""The HTML trend report: a runner's last weeks of load, asymmetry and pelvic drop against their own
baseline, and the flags (docs/report.md, "Trend report"). :func:`render_trends` returns the page;
:func:`hipsense.report.html.write_report` writes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hipsense import metrics as registry
from hipsense.errors import HipsenseError
from hipsense.load.training import week_of
from hipsense.report import figures
from hipsense.report.page import (
    Progress,
    card,
    card_row,
    draw,
    esc,
    figure,
    flags_section,
    page,
    section,
    table,
)
from hipsense.report.wording import IMPACT_LOAD_UNIT, duration, future_sentence, number, skipped_sentence
from hipsense.trends.flags import sides_unknown
from hipsense.trends.load_weeks import NO_BASE_REASON, IdleStretch, ratio_reason, shown_weeks
from hipsense.trends.model import Trends
from hipsense.trends.sessions import future_sessions, walks


def _naive_utc(x: pd.Series | pd.DatetimeIndex):
    """Timestamps as naive UTC, so the store's aware times and the daily table's dates compare."""
    if isinstance(x, pd.DatetimeIndex):
        return x.tz_convert(None) if x.tz is not None else x
    x = pd.to_datetime(x)
    return x.dt.tz_convert(None) if x.dt.tz is not None else x


def _window(trends: Trends, weeks: int) -> tuple[pd.Timestamp, pd.Timestamp, pd.DataFrame, pd.DataFrame]:
    """The last ``weeks`` weeks up to the last day with data: (first day, last day, daily, sessions)."""
    if weeks < 1:
        raise HipsenseError(f"--weeks must be at least 1, not {weeks}")
    sessions = trends.sessions.copy()
    daily = trends.daily.copy()
    if sessions.empty or daily.empty:
        undated = f" ({trends.undated} without a start time, docs/store.md)" if trends.undated else ""
        raise HipsenseError(
            f"runner {trends.runner!r} has no dated analysed sessions to show trends for{undated}"
        )
    sessions["start"] = _naive_utc(sessions["start"])
    daily.index = _naive_utc(pd.DatetimeIndex(daily.index))
    last = max(daily.index.max(), sessions["start"].max()).normalize()
    # Whole calendar weeks (Monday first), the last one up to the last day with data.
    first = last - pd.Timedelta(days=last.weekday() + 7 * (weeks - 1))
    daily = daily[(daily.index >= first) & (daily.index <= last)]
    sessions = sessions[sessions["start"] >= first].sort_values("start")
    return first, last, daily, sessions


def _trend_metrics(sessions: pd.DataFrame, flags: list[dict[str, Any]]) -> list[str]:
    """The asymmetry metrics to plot: the usual ones plus any a flag is about, where there is data."""
    wanted = [x.name for x in registry.trended()]
    wanted += [f["metric"] for f in flags if f.get("metric") and f["metric"] not in wanted]
    return [
        m
        for m in wanted
        if m not in registry.noise_floors("difference")
        and m in registry.labels()
        and f"{m}_ai" in sessions
        and np.isfinite(sessions[f"{m}_ai"].to_numpy(dtype=float)).any()
    ]


def _sessions_table(sessions: pd.DataFrame) -> str:
    rows = [
        [
            esc(
                f"{r['start']:%a %d %b %Y}"
                + (" (walk)" if pd.notna(r.get("walk", False)) and bool(r.get("walk", False)) else "")
            ),
            duration(r.get("running_s")),
            number(r.get("steps"), "{:,.0f}"),
            number(r.get("load"), "{:,.0f} " + IMPACT_LOAD_UNIT),
            number(r.get("contact_time_s_ai"), "{:+.1f} %"),
            number(r.get("impact_g_ai"), "{:+.1f} %"),
            number(r.get("pelvic_drop_deg_mean"), "{:.1f} deg"),
        ]
        for _, r in sessions.iloc[::-1].iterrows()
    ]
    head = ["date", "running", "steps", "impact load", "contact time asym.", "impact asym.", "pelvic drop"]
    return table(head, rows)


def _idle(first: pd.Timestamp, last: pd.Timestamp, sessions: pd.DataFrame) -> list[IdleStretch]:
    """The long stretches without a session in the weeks from ``first`` to ``last``."""
    weeks = pd.date_range(first, last, freq="7D")
    rows = shown_weeks(weeks, week_of(sessions["start"]).unique())
    return [row for row in rows if isinstance(row, IdleStretch)]


#: Added to a trend caption when its figure draws the personal baseline (and only then).
_BASELINE_CAPTION = (
    " The green line and band are your personal baseline: the runs before, not a norm for everyone. A "
    "change matters when it leaves both the band and the run's own interval."
)


def _has_baseline(sessions: pd.DataFrame, cols: list[str]) -> bool:
    return any(
        f"{c}_base" in sessions and np.isfinite(sessions[f"{c}_base"].to_numpy(dtype=float)).any()
        for c in cols
    )


#: The trend view's figure sections: figure name -> (section id, heading, caption).
_TREND_SECTIONS = {
    "training load": (
        "load",
        "Training load",
        "Bars: each week's impact load (the sum of every step's impact peak). The green band is the "
        f"range {figures.ACWR_BAND[0]:g} to {figures.ACWR_BAND[1]:g} times your chronic (28-day) load, "
        "the weeks your recent training has prepared you for; the line is the last 7 days, weighted "
        "towards recent days. Below, their ratio. Ratios well above the band mean load rose faster "
        "than usual; the ratio describes change, it does not predict injury (see docs/load.md).",
    ),
    "asymmetry": (
        "asymmetry",
        "Left versus right over the weeks",
        "Each dot is one run's asymmetry index with its 95 % confidence interval (positive: left larger).",
    ),
    "pelvic drop": (
        "drop",
        "Pelvic drop over the weeks",
        "How far the swinging side of the pelvis sinks in stance, averaged over both feet, per run. "
        "Drop that keeps growing over weeks can reflect tiring hip stabilisers; many runners answer it "
        "with hip-strength work.",
    ),
}


def render_trends(trends: Trends, weeks: int, *, progress: Progress | None = None) -> str:
    """The trend view of the last ``weeks`` weeks: load with its acute:chronic band, asymmetry and pelvic
    drop against the personal baseline, the flags raised in the period, and the runs."""
    first, last, daily, sessions = _window(trends, weeks)
    flags = [f.to_dict() for f in trends.flags if f.period_end >= first.date()]
    metrics = _trend_metrics(sessions, flags)
    has_drop = "pelvic_drop_deg_mean" in sessions and sessions["pelvic_drop_deg_mean"].notna().any()
    period = (first, last)
    why = ratio_reason(trends.daily.set_axis(_naive_utc(pd.DatetimeIndex(trends.daily.index))), last)
    empty = {"no_ratio": f"no acute:chronic ratio in these weeks: {why}"} if why == NO_BASE_REASON else {}
    todo = [("training load", lambda: figures.training_load(daily, flags, period=period, **empty))]
    if metrics:
        todo.append(("asymmetry", lambda: figures.asymmetry_trend(sessions, metrics, flags, period=period)))
    if has_drop:
        todo.append(("pelvic drop", lambda: figures.pelvic_drop_trend(sessions, flags, period=period)))
    baseline = {
        "training load": False,
        "asymmetry": _has_baseline(sessions, [f"{m}_ai" for m in metrics]),
        "pelvic drop": _has_baseline(sessions, ["pelvic_drop_deg_mean"]),
    }
    unknown, walk = sides_unknown(sessions), walks(sessions)
    skipped = f" {skipped_sentence(int(unknown.sum()), int((unknown & walk).sum()))}" if unknown.any() else ""
    n_walks = int(walk.sum())
    also = f", and {n_walks} walk{'s' if n_walks != 1 else ''}" if n_walks else ""
    svgs = dict(zip([name for name, _ in todo], draw(todo, progress), strict=True))

    ratio = daily["acwr_ewma"].dropna() if "acwr_ewma" in daily else pd.Series(dtype=float)
    cards = [
        card("runs", f"{len(sessions) - n_walks}", f"in {weeks} week{'s' if weeks != 1 else ''}{also}"),
        card("running time", duration(float(sessions["running_s"].sum())), "in total"),
        card("steps", f"{sessions['steps'].sum():,.0f}", "running steps"),
        card("impact load", f"{daily['load'].sum():,.0f} <small>{IMPACT_LOAD_UNIT}</small>", "sum of all steps' impacts"),
        card("acute:chronic", "-", why) if why == NO_BASE_REASON else
        card("acute:chronic", f"{ratio.iloc[-1]:.2f}" if len(ratio) else "-", f"on {ratio.index[-1]:%d %b}" if len(ratio) else "needs 4 weeks of data"),
        card("flags", f"{len(flags)}", "in this period"),
    ]  # fmt: skip
    body = card_row(cards)
    body += flags_section(flags, "No flags in this period.")
    shaded = " Orange shading: the days a flag covers." if flags else ""
    for name, svg in svgs.items():
        sid, heading, caption = _TREND_SECTIONS[name]
        caption += (_BASELINE_CAPTION if baseline[name] else "") + shaded
        if name == "training load":  # a long stretch without runs (a 1970 date, a year off): said once
            caption += "".join(f" {idle.sentence().capitalize()}." for idle in _idle(first, last, sessions))
        body += section(sid, heading, figure(svg, caption + (skipped if name != "training load" else "")))
    # Said here too: the figures that carry it in their captions are not drawn when no session has sides.
    note = f'<p class="note">{esc(skipped.strip())}</p>' if skipped else ""
    what = "Runs and walks" if n_walks else "Runs"
    body += section("runs", f"{what} in this period", note + _sessions_table(sessions))
    doing = {0: "running", len(sessions): "walking"}.get(n_walks, "running and walking")
    title = f"Last {weeks} week{'s' if weeks != 1 else ''} of {doing}"
    details = [("runner", trends.runner), ("period", f"{first:%d %b %Y} to {last:%d %b %Y}")]
    if trends.undated:
        details.append(("left out", f"{trends.undated} session(s) without a start time"))
    ahead = future_sessions(trends.sessions)
    if ahead:
        details.append(("warning", future_sentence(*ahead[-1])))
    return page(title, "trend report", details, body)


__all__ = ["render_trends"]
