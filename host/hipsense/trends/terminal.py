"""Trends and flags in the terminal: rich tables a runner can read at a glance."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hipsense import metrics as registry
from hipsense.load.training import week_of
from hipsense.report.wording import duration, future_sentence, number, skipped_sentence
from hipsense.trends.flags import sides_unknown, weekly_loads
from hipsense.trends.load_weeks import IdleStretch, missing_ratio_sentences, shown_weeks
from hipsense.trends.model import Flag, Trends
from hipsense.trends.sessions import future_sessions, walks

SEVERITY_STYLE = {"info": "cyan", "watch": "yellow", "alert": "bold red"}


def gait_rows() -> list[tuple[str, str, str, float]]:
    """Rows of the gait table, ``(column of Trends.sessions, label, unit, scale)``, from the registry:
    each flaggable metric's asymmetry (angles as each side and left minus right), then the levels of
    the trended ones."""
    rows: list[tuple[str, str, str, float]] = []
    for x in registry.flaggable():
        if x.asymmetry == "difference":
            rows += [
                (f"{x.name}_L", f"{x.label}, L stance", x.display_unit, x.display_scale),
                (f"{x.name}_R", f"{x.label}, R stance", x.display_unit, x.display_scale),
                (f"{x.name}_diff", f"{x.label} L - R", x.display_unit, x.display_scale),
            ]
        else:
            rows.append((f"{x.name}_ai", f"{x.label} asym.", "%", 1.0))
    levels = [x for x in registry.flaggable() if x.trend and x.asymmetry == "index" and x.drift]
    rows += [(f"{x.name}_mean", x.label, x.display_unit, x.display_scale) for x in levels]
    return rows


def print_trends(trends: Trends, *, console: Console, weeks: int = 8) -> None:
    """Weekly load, acute:chronic ratio and each gait metric against the runner's baseline."""
    s = trends.sessions
    if trends.undated:
        console.print(
            f"[yellow]{trends.undated} session(s) of {escape(trends.runner)} have no start time and are not in "
            "these trends[/] (date a CSV with UNIX time in t_s or `hipsense import FILE --start-time`; docs/store.md).",
            highlight=False,
        )
    if s.empty:
        console.print(f"No dated analysed sessions for runner {escape(repr(trends.runner))} yet.")
        return
    ahead = future_sessions(s)
    if len(ahead):
        console.print(
            f"[yellow]warning:[/] {escape(future_sentence(*ahead[-1]))} ({len(ahead)} session(s) after "
            "today; these weeks end at the latest session).",
            highlight=False,
        )
    load = weekly_loads(trends.daily["load"]).tail(weeks)
    week = week_of(s["start"].dt.tz_convert(None))
    walk = walks(s)
    per_week = (
        s.assign(run=~walk)
        .groupby(week)
        .agg(runs=("run", "sum"), running_s=("running_s", "sum"), km=("distance_km", "sum"))
    )
    acwr = trends.daily["acwr_ewma"]
    rows: list[list[str] | IdleStretch] = []
    for item in shown_weeks(load.index, per_week.index):
        if isinstance(item, IdleStretch):  # one line for a long stretch without runs (a 1970 date)
            rows.append(item)
            continue
        w, r = load.loc[item], per_week.loc[item] if item in per_week.index else None
        end_ratio = acwr.loc[item : item + pd.Timedelta(days=6)].dropna()
        rows.append(
            [
                f"{item:%Y-%m-%d}",
                "0" if r is None else str(int(r["runs"])),
                # with its units, as the report writes it: 29 s of running is "29 s", not "0 min"
                "-" if r is None else duration(r["running_s"]),
                "-" if r is None else number(r["km"], "{:.1f} km"),
                f"{w['load']:.0f}",
                number(w["change_pct"], "{:+.0f} %"),
                number(w["vs_chronic_pct"], "{:+.0f} %"),
                number(end_ratio.iloc[-1] if len(end_ratio) else np.nan, "{:.2f}"),
            ]
        )
    caption = (
        "* distance estimated from contact time, rough: -13 to +32 % on simulated runs (docs/flags.md). ACWR: acute:chronic "
        "workload ratio (7/28-day exponentially weighted) on the week's last day; read with care."
    )
    shown_walks = int(walk[(week >= load.index.min()).to_numpy()].sum()) if len(load) else 0
    if shown_walks:
        caption += f" Runs: sessions with running steps ({shown_walks} walk(s) not counted)."
    _print_load_table(rows, f"Training load of {escape(trends.runner)}, by week", caption, console)
    row_weeks = [pd.Timestamp(row[0]) for row in rows if not isinstance(row, IdleStretch)]
    for line in missing_ratio_sentences(trends.daily, row_weeks):
        console.print(f"[yellow]{line}[/]", highlight=False)

    recent = s[week >= load.index.min()] if len(load) else s
    gait = Table(
        title="Gait against your own baseline", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False
    )
    # The metric's name is kept on one line; the weekly means wrap first when the terminal is narrow.
    for col in ("metric", "usual (band)", "weekly means", "last", ""):
        gait.add_column(
            col, justify="left" if col in ("metric", "") else "right", no_wrap=col != "weekly means"
        )
    unknown = sides_unknown(s)
    last = s[~unknown].iloc[-1] if (~unknown).any() else s.iloc[-1]
    for col, label, unit, scale in gait_rows():
        if col not in s:
            continue
        base, lo, hi = (last.get(f"{col}_base{x}", np.nan) for x in ("", "_lo", "_hi"))
        means = recent.groupby(week[recent.index])[col].mean() * scale
        value = last[col] * scale
        if not np.isfinite(base):
            verdict = "[dim]no baseline[/]"
        elif value > hi * scale or value < lo * scale:
            verdict = "[yellow]outside[/]"
        else:
            verdict = "[dim]usual[/]"
        usual = (
            "-"
            if not np.isfinite(base)
            else f"{number(base * scale)} ({number(lo * scale)}..{number(hi * scale)})"
        )
        gait.add_row(
            f"{label} ({unit})",
            usual,
            " ".join(number(m) for m in means),
            number(value),
            verdict,
        )
    gait.caption = (
        "usual: median of your previous 12 runs (band: 3 run-to-run spreads around it); weekly means "
        "oldest first; last: the last run whose sides are known. L/R: left/right-foot stance. A flag needs the band left in 2 runs in a row, each beyond its own 95 % interval "
        "(docs/flags.md)."
    )
    console.print(gait)
    if unknown.any():
        skipped = skipped_sentence(int(unknown.sum()), int((unknown & walk).sum()))
        console.print(f"[yellow]{skipped}[/]", highlight=False)
    shown = [f for f in trends.flags if pd.Timestamp(f.period_end) >= load.index.min()] if len(load) else []
    if shown:
        console.print(
            f"{len(shown)} flag(s) in these weeks: `hipsense flags --runner {escape(trends.runner)}` explains them."
        )
    else:
        console.print("No flags in these weeks.")


#: The weekly load table's columns; headers on two lines so that dates and figures fit 80 columns uncut.
LOAD_COLUMNS = (
    "week of", "runs", "running", "distance*", "load\n(g x steps)", "vs week\nbefore", "vs 4\nweeks", "ACWR",
)  # fmt: skip


def _print_load_table(
    rows: list[list[str] | IdleStretch], title: str, caption: str, console: Console
) -> None:
    """The weekly load table, each long idle stretch as one line between its parts.

    Rich has no cell spanning columns, so the parts are tables of their own with the same fixed column
    widths (the widest cell of each column over all parts), and they line up as one."""
    cells = [row for row in rows if not isinstance(row, IdleStretch)]
    widths = [
        max([len(line) for line in head.split("\n")] + [len(row[i]) for row in cells])
        for i, head in enumerate(LOAD_COLUMNS)
    ]
    parts: list[list[list[str]] | IdleStretch] = [[]]
    for row in rows:
        if isinstance(row, IdleStretch):
            parts += [row, []]
        else:
            parts[-1].append(row)  # type: ignore[union-attr]
    parts = parts[:1] + [p for p in parts[1:] if p != []]  # the first, maybe empty: title and header
    whole = len(parts) == 1
    for i, part in enumerate(parts):
        if isinstance(part, IdleStretch):
            console.print(f" [dim]{part.sentence()}[/]", highlight=False)
            continue
        table = Table(
            title=title if i == 0 else None,
            box=box.SIMPLE_HEAD,
            title_justify="left",
            pad_edge=False,
            collapse_padding=True,  # one space between columns: the ACWR column fits 80 columns uncut
            show_header=i == 0,
            show_edge=whole,
            caption=caption if i == len(parts) - 1 else None,
        )
        for head, width in zip(LOAD_COLUMNS, widths, strict=True):
            justify = "left" if head == "week of" else "right"
            table.add_column(head, justify=justify, no_wrap=True, width=width)  # type: ignore[arg-type]
        for row in part:
            table.add_row(*row)
        console.print(table)
    if isinstance(parts[-1], IdleStretch):
        console.print(caption, highlight=False)


def print_flags(
    flags: list[Flag],
    *,
    console: Console,
    skipped: int = 0,
    walks: int = 0,
    not_judged: list[str] | None = None,
) -> None:
    """Flags, newest first: what changed, the numbers behind it, what runners commonly do, the source.

    ``skipped``: sessions the left/right rules left out (said so, with why), ``walks`` of them for
    having no running steps, the others because their sides are not known. ``not_judged``: the kinds
    of rule the history is still too short for (``trends.coverage.not_judged``), said before the flags;
    with none raised, "nothing stood out" is said only of the rules that could judge."""
    if skipped:
        console.print(f"[yellow]{skipped_sentence(skipped, walks)}[/]", highlight=False)
    for line in not_judged or []:
        console.print(f"[yellow]{line}[/]", highlight=False)
    if not flags:
        console.print(
            "No flags: the rules that could judge found nothing that stood out (docs/flags.md)."
            if not_judged
            else "No flags: nothing in these sessions stood out against the thresholds in docs/flags.md."
        )
        return
    table = Table(box=box.SIMPLE_HEAD, show_lines=True, title="Flags, newest first", title_justify="left")
    table.add_column("when", no_wrap=True)
    table.add_column("runner")
    table.add_column("flag")
    table.add_column("what changed, and what runners commonly do")
    for f in sorted(flags, key=lambda f: (f.period_end, f.session_id or 0), reverse=True):
        numbers = ", ".join(f"{k} {v:g}" for k, v in f.numbers.items())
        when = f"{f.period_end:%Y-%m-%d}" + (
            f"\n[dim]from {f.period_start:%Y-%m-%d}[/]" if f.period_start != f.period_end else ""
        )
        table.add_row(
            when,
            f.runner,
            f"[{SEVERITY_STYLE[f.severity]}]{f.severity}[/]\n{f.kind}",
            f"{f.sentence}\n{f.advice}\n[dim]numbers: {numbers}\nsource: {f.reference}[/]",
        )
    console.print(table)
    console.print("[dim]Flags inform; they are not a diagnosis. See a professional about pain or injury.[/]")
