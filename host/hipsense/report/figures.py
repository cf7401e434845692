"""The report's figures, drawn with matplotlib and embedded in the HTML page as inline SVG.

Every function returns a :class:`matplotlib.figure.Figure` (made without pyplot, so nothing global is
touched and no display is needed); :func:`hipsense.report.page.to_svg` turns it into markup for the page. Left is always
blue and right always vermillion, from the Okabe-Ito palette, which stays distinguishable with the
common colour-vision deficiencies (Okabe & Ito 2008, https://jfly.uni-koeln.de/color/).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hipsense import metrics as registry
from hipsense.load.training import week_of
from hipsense.trends.flags import ACWR_ALERT

# Okabe-Ito colours.
LEFT = "#0072B2"  # blue
RIGHT = "#D55E00"  # vermillion
ACCENT = "#009E73"  # bluish green: bands that mean "usual" (baseline, load band)
WARN = "#E69F00"  # orange
INK = "#222222"
MUTED = "#777777"
SIDES = (("L", "left", LEFT), ("R", "right", RIGHT))


def _groups(steps: pd.DataFrame, by_side: bool) -> list[tuple[np.ndarray, str, str]]:
    """The step groups a figure draws: each foot (``by_side``), else all steps together, because a
    figure must not show left and right when which foot is which is not known."""
    if not by_side:
        return [(np.ones(len(steps), dtype=bool), "all steps", INK)]
    side = steps["side"].to_numpy()
    return [(side == code, name, colour) for code, name, colour in SIDES]


#: Acute:chronic ratio band shown on the load figure: the range Gabbett (2016) associated with the
#: lowest injury rates in team sports, and the level above which rates rose most. Descriptive only;
#: docs/load.md says why the ratio is read with care.
ACWR_BAND = (0.8, 1.3)
ACWR_HIGH = ACWR_ALERT  # the level where the flags raise a load-spike alert

#: Width of the page's figures in inches; the browser scales the SVG to the column.
WIDTH_IN = 9.0

_STYLE: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: smaller files, selectable, and the page's font
    "svg.hashsalt": "hipsense",  # the same data gives the same file
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "axes.edgecolor": "#999999",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.8,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "xtick.color": "#555555",
    "ytick.color": "#555555",
}


@contextmanager
def style() -> Iterator[None]:
    with matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]  # the stubs want literal rc keys
        yield


def _figure(height_in: float, rows: int = 1, cols: int = 1, **kw) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(WIDTH_IN, height_in), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **kw)
    return fig, axes.ravel()


def _dates(ax: Axes) -> None:
    """Short date ticks that need no rotation (month names only where they change)."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _legend_right(ax: Axes) -> None:
    """The legend beside the plot, so it never hides data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _mark_flags(ax: Axes, flags: Sequence[dict], kinds: set[str], metric: str | None = None) -> None:
    """Shade the days each matching flag covers, so the figure shows what a flag points at."""
    limits = ax.get_xlim()  # a flag reaching back before the period shown must not widen the axis
    label = "flagged period"
    for f in flags:
        if f.get("kind") in kinds and (metric is None or f.get("metric") == metric):
            start, end = pd.Timestamp(f["period_start"]), pd.Timestamp(f["period_end"]) + pd.Timedelta(days=1)
            ax.axvspan(start, end, color=WARN, alpha=0.15, lw=0, zorder=0, label=label)
            label = "_nolegend_"
    ax.set_xlim(limits)


def _label(metric: str) -> tuple[str, str, float]:
    label, unit, scale, _ = registry.labels()[metric]
    return label, unit, scale


# -- one session ---------------------------------------------------------------------------------------


def side_comparison(sides: Sequence[dict]) -> Figure:
    """Left versus right for each metric: asymmetry with its 95 % interval against the noise floor.

    ``sides`` are the summary's ``sides`` entries. Durations, forces and heights show the asymmetry
    index (%); angles show left minus right in degrees, because an index of two small angles says
    little (docs/metrics.md).
    """
    measured = [s for s in sides if s.get("asymmetry_pct") is not None]
    relative = [s for s in measured if s["metric"] not in registry.noise_floors("difference")]
    angles = [s for s in measured if s["metric"] in registry.noise_floors("difference")]
    with style():
        heights = [max(len(relative), 1), max(len(angles), 1)]
        fig = Figure(figsize=(WIDTH_IN, 1.6 + 0.36 * sum(heights)), layout="constrained")
        ax_rel, ax_ang = fig.subplots(2, 1, gridspec_kw={"height_ratios": heights})
        _asymmetry_rows(
            ax_rel,
            relative,
            ("asymmetry_pct", "ci_low_pct", "ci_high_pct"),
            registry.noise_floors("index"),
            "asymmetry index (%)",
            "Left versus right: durations, forces, heights",
        )
        _asymmetry_rows(
            ax_ang,
            angles,
            ("difference", "diff_ci_low", "diff_ci_high"),
            registry.noise_floors("difference"),
            "left minus right (deg)",
            "Left versus right: pelvic angles",
        )
    return fig


def _asymmetry_rows(
    ax: Axes, rows: list[dict], keys: tuple[str, str, str], floors: dict, xlabel: str, title: str
) -> None:
    est_key, lo_key, hi_key = keys
    names = [_label(s["metric"])[0] for s in rows]
    y = np.arange(len(rows))[::-1]
    span = 1.0
    for yi, s in zip(y, rows, strict=True):
        est = float(s[est_key])
        lo, hi = s.get(lo_key), s.get(hi_key)
        floor = floors[s["metric"]]
        ax.fill_betweenx([yi - 0.35, yi + 0.35], -floor, floor, color="#dddddd", lw=0)
        colour = LEFT if est > 0 else RIGHT
        if not s.get("larger_than_noise"):
            colour = MUTED
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [yi, yi], color=colour, lw=2.5, solid_capstyle="butt")
            span = max(span, abs(lo), abs(hi))
        ax.plot([est], [yi], "o", color=colour, ms=6)
        span = max(span, abs(est), floor)
    ax.axvline(0, color=INK, lw=0.8)
    ax.set_yticks(y, names)
    ax.set_ylim(-0.7, max(len(rows), 1) - 0.3)
    ax.set_xlim(-1.15 * span, 1.15 * span)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("metric")
    ax.set_title(title)
    # Which way is which, in the sides' own colours, level with the axis label.
    for x, text, colour, ha in (
        (0.0, "\u25c0 right larger", RIGHT, "left"),
        (1.0, "left larger \u25b6", LEFT, "right"),
    ):
        ax.annotate(
            text, (x, 0), xycoords="axes fraction", xytext=(0, -22), textcoords="offset points",
            color=colour, ha=ha, va="top", fontweight="bold",
        )  # fmt: skip
    if not rows:
        ax.text(0.5, 0.5, "not measured in this recording", transform=ax.transAxes, ha="center")


def _bin_minutes(duration_min: float) -> float:
    """Bin width along the run: one minute for short runs, about 30 bins for long ones."""
    return float(max(1, round(duration_min / 30)))


def along_run(steps: pd.DataFrame, *, by_side: bool = True) -> Figure:
    """The drift metrics along the run, per side (or over all steps when the sides are not known):
    median and interquartile range per time bin."""
    t_min = steps["ic_s"].to_numpy(dtype=float) / 60.0
    width = _bin_minutes(np.nanmax(t_min) if len(t_min) else 1.0)
    bins = np.floor(t_min / width)
    with style():
        fig, axes = _figure(2.3 * len(registry.drift_names()), len(registry.drift_names()), 1, sharex=True)
        for ax, metric in zip(axes, registry.drift_names(), strict=True):
            label, unit, scale = _label(metric)
            for mine, name, colour in _groups(steps, by_side):
                x = pd.Series(steps[metric].to_numpy(dtype=float)[mine] * scale)
                grouped = x.groupby(bins[mine])
                q = grouped.quantile([0.25, 0.5, 0.75]).unstack()
                q = q[grouped.count() >= 5]  # a bin with a few steps (a pause) says little
                if q.empty:
                    continue
                mid = (q.index.to_numpy() + 0.5) * width
                ax.fill_between(mid, q[0.25], q[0.75], color=colour, alpha=0.15, lw=0)
                what = f"{name} foot on the ground" if by_side else name
                ax.plot(mid, q[0.5], "-o", color=colour, ms=3, lw=1.6, label=what)
            ax.set_ylabel(f"{label} ({unit})")
            ax.set_title(f"{label.capitalize()} along the run")
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper right", ncols=2)
        axes[-1].set_xlabel(
            f"time from the start (min); median and middle half of the steps per {width:g} min"
        )
    return fig


def distributions(steps: pd.DataFrame, *, by_side: bool = True) -> Figure:
    """Histograms of contact time and impact, left and right overlaid on shared bins (all steps as one
    when the sides are not known)."""
    with style():
        fig, axes = _figure(3.0, 1, 2)
        for ax, metric in zip(axes, ("contact_time_s", "impact_g"), strict=True):
            label, unit, scale = _label(metric)
            values = steps[metric].to_numpy(dtype=float) * scale
            ok = np.isfinite(values)
            if ok.sum() >= 2:
                lo, hi = np.percentile(values[ok], [0.5, 99.5])  # a few outliers would squash the rest
                edges = np.linspace(lo, hi if hi > lo else lo + 1, 41)
                for mine, name, colour in _groups(steps, by_side):
                    v = values[ok & mine]
                    if not len(v):
                        continue
                    ax.hist(v, bins=edges, histtype="stepfilled", color=colour, alpha=0.3)
                    ax.hist(v, bins=edges, histtype="step", color=colour, lw=1.4, label=name)
                    ax.axvline(np.median(v), color=colour, ls="--", lw=1.2)
                ax.legend(loc="upper right", title="median dashed")
            ax.set_xlabel(f"{label} ({unit})")
            ax.set_ylabel("steps")
            ax.set_title(f"{label.capitalize()} per step")
    return fig


# -- trends over weeks ---------------------------------------------------------------------------------


def _period(ax: Axes, period: tuple[pd.Timestamp, pd.Timestamp] | None) -> None:
    """The x axis spans exactly the period the page's header names (its first to its last day)."""
    if period is not None:
        ax.set_xlim(period[0], period[1] + pd.Timedelta(days=1))


def training_load(
    daily: pd.DataFrame,
    flags: Sequence[dict] = (),
    *,
    period: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    no_ratio: str = "no acute:chronic ratio yet: it needs 28 days of training history",
) -> Figure:
    """Weekly impact load against the band the chronic load supports, and the acute:chronic ratio.

    ``daily`` is :attr:`Trends.daily` cut to the period shown. The band on the load axis is the week
    an acute:chronic ratio inside :data:`ACWR_BAND` would mean: seven times the chronic daily load
    times the band's limits. Load flags (``Flag.to_dict()``) shade the days they cover; ``no_ratio``
    is said in the ratio's panel when no day of ``daily`` has one. Weeks without load get no bar.
    """
    with style():
        fig, (ax_load, ax_ratio) = _figure(5.2, 2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
        k = 1000.0  # weekly totals are tens of thousands of g
        week = daily["load"].groupby(week_of(daily.index)).sum() / k
        week = week[week > 0]  # 2,950 empty bars made a 1.8 MB page of a 1970 date next to 2026 runs
        ax_load.bar(
            week.index + pd.Timedelta(days=3.5), week.to_numpy(), width=6, color=LEFT, alpha=0.8,
            label="impact load of the week",
        )  # fmt: skip
        usual = 7 * daily["chronic_ewma"] / k
        ax_load.fill_between(
            daily.index, usual * ACWR_BAND[0], usual * ACWR_BAND[1], color=ACCENT, alpha=0.2, lw=0,
            label=f"usual range ({ACWR_BAND[0]:g}-{ACWR_BAND[1]:g} x chronic load)",
        )  # fmt: skip
        ax_load.plot(
            daily.index, 7 * daily["acute_ewma"] / k, color=INK, lw=1.4, label="last 7 days (weighted)"
        )
        _mark_flags(ax_load, flags, {"load_spike", "load_climb"})
        ax_load.set_ylabel("impact load (thousand g x steps)")
        ax_load.set_title("Training load per week")
        _legend_right(ax_load)

        ratio = daily["acwr_ewma"]
        if not np.isfinite(ratio.to_numpy(dtype=float)).any():
            # An empty panel would look like a fault: say why there is no ratio yet.
            ax_ratio.text(
                0.5, 0.5, no_ratio,
                transform=ax_ratio.transAxes, ha="center", va="center", color=MUTED,
            )  # fmt: skip
        ax_ratio.axhspan(*ACWR_BAND, color=ACCENT, alpha=0.2, lw=0, label="usual range")
        ax_ratio.axhline(ACWR_HIGH, color=WARN, ls="--", lw=1.2, label=f"{ACWR_HIGH:g}: a steep rise")
        ax_ratio.plot(daily.index, ratio, color=INK, lw=1.6, label="acute:chronic ratio")
        top = np.nanmax(ratio.to_numpy(dtype=float), initial=ACWR_HIGH)
        ax_ratio.set_ylim(0, max(2.0, 1.1 * top))
        ax_ratio.set_ylabel("acute:chronic ratio")
        ax_ratio.set_xlabel("date")
        ax_ratio.set_title("Acute (7-day) over chronic (28-day) load")
        _legend_right(ax_ratio)
        _period(ax_ratio, period)
        _dates(ax_ratio)
    return fig


def _baseline_band(ax: Axes, sessions: pd.DataFrame, col: str, label: str) -> None:
    """The personal baseline as a line with its band, where the trends engine has one."""
    base = sessions.get(f"{col}_base")
    if base is None or not np.isfinite(base.to_numpy(dtype=float)).any():
        return
    x = sessions["start"]
    lo, hi = sessions.get(f"{col}_base_lo"), sessions.get(f"{col}_base_hi")
    if lo is not None and hi is not None:
        ax.fill_between(x, lo, hi, color=ACCENT, alpha=0.2, lw=0, step="mid", label=f"{label} range")
    ax.step(x, base, where="mid", color=ACCENT, lw=1.6, label=label)


def asymmetry_trend(
    sessions: pd.DataFrame,
    metrics: Sequence[str],
    flags: Sequence[dict] = (),
    *,
    period: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> Figure:
    """Each metric's asymmetry index per session, with its 95 % interval, against the baseline.

    Asymmetry flags shade the days they cover in their metric's plot."""
    with style():
        cols = 2 if len(metrics) > 1 else 1
        rows = int(np.ceil(len(metrics) / cols))
        fig, axes = _figure(0.5 + 2.4 * rows, rows, cols)
        x = sessions["start"]
        for ax, metric in zip(axes, metrics, strict=False):
            label, _, _ = _label(metric)
            ai = sessions[f"{metric}_ai"]
            err = np.vstack([ai - sessions[f"{metric}_ai_lo"], sessions[f"{metric}_ai_hi"] - ai])
            _baseline_band(ax, sessions, f"{metric}_ai", "your baseline")
            ax.axhline(0, color=MUTED, lw=0.8)
            ax.errorbar(
                x, ai, yerr=np.abs(err), fmt="o", color=INK, ms=4, lw=1, capsize=2, label="run (95 % CI)"
            )
            ax.set_ylabel("asymmetry index (%)")
            ax.set_xlabel("date")
            ax.set_title(f"{label.capitalize()}: left versus right")
            ax.set_xlim(x.min() - pd.Timedelta(days=2), x.max() + pd.Timedelta(days=2))
            _period(ax, period)
            _mark_flags(ax, flags, {"asymmetry_drift"}, metric)
            _dates(ax)
        for ax in axes[len(metrics) :]:
            ax.set_visible(False)
        # One legend for all the plots: each entry once, from whichever plot has it.
        entries = {label: h for ax in axes for h, label in zip(*ax.get_legend_handles_labels(), strict=True)}
        fig.legend(entries.values(), entries.keys(), loc="outside lower center", ncols=len(entries))
    return fig


def pelvic_drop_trend(
    sessions: pd.DataFrame,
    flags: Sequence[dict] = (),
    *,
    period: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> Figure:
    """Pelvic drop (mean of the two sides) per session against the personal baseline; drop flags shaded."""
    col = "pelvic_drop_deg_mean"
    with style():
        fig, (ax,) = _figure(3.0)
        _baseline_band(ax, sessions, col, "your baseline")
        ax.plot(
            sessions["start"], sessions[col], "o-", color=INK, ms=4, lw=1, label="run (mean of both sides)"
        )
        _period(ax, period)
        _mark_flags(ax, flags, {"drop_rising"})
        ax.set_ylabel("pelvic drop (deg)")
        ax.set_xlabel("date")
        ax.set_title("Pelvic drop over the weeks")
        _legend_right(ax)
        _dates(ax)
    return fig
