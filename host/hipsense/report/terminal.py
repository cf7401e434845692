"""Terminal output: rich tables a runner can read at a glance."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from hipsense.formats.device_file import DecodedSession
    from hipsense.gait.summary import SessionSummary

from hipsense import metrics as registry
from hipsense.report.alternate import alternate_steps
from hipsense.report.wording import (
    ALTERNATE_RULE,
    IMPACT_LOAD_UNIT,
    alternate_apart,
    alternate_interval,
    alternate_verdict,
    asymmetry_keys,
    quality_notes,
    sides_known,
    sides_unknown_sentence,
    unclassified_sentence,
    verdict_words,
)
from hipsense.report.wording import duration as _duration


def print_session_info(session: DecodedSession, *, console: Console) -> None:
    """Print a device session's header and everything its decoder found wrong or noteworthy."""
    h, r = session.header, session.report
    n = len(session.sample_index)
    span = (int(session.sample_index[-1]) + 1) / h.sample_rate_hz if n else 0.0
    table = Table(
        title=f"Session {h.session_id} from {escape(h.device_id)}", show_header=False, title_justify="left"
    )
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("file", str(session.path) if session.path else "-"),
        ("sensor", f"{h.sensor_model}, firmware {h.firmware_version}"),
        ("channels", "accelerometer + gyroscope" if h.channels == 6 else "accelerometer only"),
        ("rate", f"{h.sample_rate_hz:g} Hz"),
        ("ranges", f"+-{h.acc_range_g} g" + (f", +-{h.gyr_range_dps} deg/s" if h.channels == 6 else "")),
        ("mounting hint", h.mounting),
        ("duration", f"{_duration(span)} ({n} samples in {r.blocks} blocks)"),
        ("closed by", r.close_reason or "not closed (no end block)"),
    ]
    missing = sum(c for _, c in r.gaps)
    rows.append(("gaps", f"{len(r.gaps)} ({missing} samples missing)" if r.gaps else "none"))
    rows.append(("FIFO overflow", f"{r.overflow_lost} samples lost" if r.overflow_lost else "none"))
    rows.append(("corrupt blocks", f"{len(r.corrupt_blocks)} skipped" if r.corrupt_blocks else "none"))
    if r.torn_tail_bytes:
        rows.append(("torn tail", f"{r.torn_tail_bytes} bytes after the last whole block dropped"))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    # What was lost, in the decoder's own words: damaged byte ranges (the corrupt blocks) and the
    # sample ranges missing, with why.
    from hipsense.formats.device_file import format_losses

    for line in format_losses(r, h.sample_rate_hz):
        console.print(f"  [yellow]lost:[/] {escape(line)}", highlight=False)
    for warning in r.warnings:
        console.print(f"  [yellow]warning:[/] {escape(warning)}", highlight=False)


def print_recording_info(info: dict, *, console: Console) -> None:
    """Print what a CSV recording holds (:meth:`hipsense.recording.Recording.describe`): its own clock,
    the gaps that split it and the holes that were filled."""
    q = info["quality"]
    table = Table(title=f"Recording {info['file']}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("frame", f"{info['frame']} ({', '.join(info['channels'])})"),
        ("rate", f"{info['sample_rate_hz']:.4f} Hz, measured from its own times"),
        ("duration", f"{_duration(info['elapsed_s'])} elapsed, {_duration(info['recorded_s'])} recorded"),
        ("segments", f"{len(info['segments'])} without a gap"),
        (
            "gaps",
            f"{len(q.get('gaps', []))} ({_duration(info['gap_s'])} without samples)"
            if q.get("gaps")
            else "none",
        ),
        ("filled holes", f"{q.get('filled_samples', 0)} samples ({q.get('nan_cells', 0)} empty cells)"),
    ]
    if info.get("start_time_unix") is not None:
        when = dt.datetime.fromtimestamp(info["start_time_unix"], dt.timezone.utc).strftime(
            "%Y-%m-%d %H:%M:%S UTC"
        )
        rows.append(("started", when))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    for start_s, duration_s, missing in q.get("gaps", []):
        console.print(
            f"  gap at {start_s:.3f} s: {duration_s:.3f} s, {missing} samples missing", highlight=False
        )
    for note in info.get("notes", []):
        console.print(f"  [dim]note: {note}[/]", highlight=False)


def _fmt(value: float | None, scale: float, fmt: str) -> str:
    return "-" if value is None else fmt.format(value * scale)


def print_summary(summary: SessionSummary, *, console: Console, steps: pd.DataFrame | None = None) -> None:
    """Print a session summary: headline numbers, left versus right, drift within the run, data quality.

    When the sides are not known (:func:`~hipsense.report.wording.sides_known`), no left/right figure is
    shown: a sentence says why, and with ``steps`` (the step table) alternate steps are compared."""
    ran = bool(summary.steps)
    head = Table(title="Run summary" if ran else "Summary", show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column()
    walked = summary.walking_time_s or 0.0
    unclassified = unclassified_sentence(summary.unclassified_time_s)
    head.add_row(
        "recording",
        f"{_duration(summary.duration_s)} of which {_duration(summary.running_time_s)} running"
        + (f", {_duration(walked)} walking" if walked > 0 else "")
        + (f", {_duration(summary.unclassified_time_s)} unclassified" if unclassified else ""),
    )
    walking = summary.walking or {}
    if ran:  # the running figures; a walking-only recording has none (no '0 g x steps')
        head.add_row("steps", f"{summary.steps} running steps")
    if walking.get("steps"):
        head.add_row(
            "walking",
            f"{walking['steps']} steps, " + _fmt(walking.get("cadence_spm"), 1.0, "{:.0f} steps/min"),
        )
    if ran:
        head.add_row("cadence", _fmt(summary.cadence_spm, 1.0, "{:.0f} steps/min"))
        head.add_row(
            "impact load",
            f"{summary.impact_load_g:.0f} {IMPACT_LOAD_UNIT} (sum of the peak impacts of every step)",
        )
    console.print(head)
    if unclassified:
        console.print(f"[yellow]{unclassified}[/]", highlight=False)
    if not summary.steps:  # no running: the left/right and drift tables are of running steps
        _print_walking_only(walking, console)
        console.print("[bold]data quality:[/] " + ", ".join(quality_notes(summary.quality, known=True)))
        return
    known, why = sides_known(summary.to_dict())
    if known:
        _print_sides(summary, console)
    else:
        _print_alternate(why, steps, console)
    _print_drift(summary, console)
    console.print("[bold]data quality:[/] " + ", ".join(quality_notes(summary.quality, known=known)))


def _print_walking_only(walking: dict, console: Console) -> None:
    """A recording without running: its walking steps per side (where the sides are known)."""
    console.print("No running in this recording: it is reported as walking.", highlight=False)
    table = Table(title="Walking, per side (medians)", title_justify="left")
    for col in ("metric", "left", "right"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for metric in (m.name for m in registry.sided("walk")):
        label, unit, scale, fmt = registry.labels()[metric]
        left, right = walking.get(f"{metric}_left"), walking.get(f"{metric}_right")
        if left is None and right is None:
            continue
        table.add_row(f"{label} ({unit})", _fmt(left, scale, fmt), _fmt(right, scale, fmt))
    console.print(table)


def _print_alternate(why: str, steps: pd.DataFrame | None, console: Console) -> None:
    """Alternate steps instead of left versus right, with the sentence that says why and each
    metric's verdict (report/alternate.py: interval and noise floor, as for the sides)."""
    console.print(f"[yellow]{sides_unknown_sentence(why)}[/]", highlight=False)
    rows = alternate_steps(steps) if steps is not None else []
    if not rows:
        return
    table = Table(title="Alternate steps (which foot is which is not known)", title_justify="left")
    for col in ("metric", "one set", "the other", "apart", "95% CI", ""):
        table.add_column(col, justify="left" if col in ("metric", "") else "right")
    for r in rows:
        m = registry.get(r["metric"])
        verdict = alternate_verdict(r)
        table.add_row(
            f"{m.label} ({m.display_unit})",
            m.display(r["median_a"]),
            m.display(r["median_b"]),
            alternate_apart(r),
            alternate_interval(r),
            f"[bold yellow]{verdict}[/]" if r["larger_than_noise"] else f"[dim]{verdict}[/]",
        )
    console.print(table)
    console.print(
        "[dim]apart = the difference of the two sets' medians as a share of their mean; for angles, in "
        f"degrees. {ALTERNATE_RULE}[/]",
        highlight=False,
    )


def _print_sides(summary: SessionSummary, console: Console) -> None:

    table = Table(title="Left versus right (medians)", title_justify="left")
    for col, justify in (
        ("metric", "left"),
        ("left", "right"),
        ("right", "right"),
        ("asymmetry", "right"),
        ("95% CI", "right"),
        ("", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for s in summary.sides:
        label, unit, scale, fmt = registry.labels()[s.metric]
        if s.asymmetry_pct is None:
            why = verdict_words(asdict(s)) if s.note else "not measured"
            table.add_row(f"{label} ({unit})", "-", "-", "-", "-", f"[dim]{why}[/]")
            continue
        est, lo_key, hi_key, u = asymmetry_keys(s.metric)  # angles: L - R in deg, others the index
        lo, hi = getattr(s, lo_key), getattr(s, hi_key)
        asym = f"{getattr(s, est):+.1f} {u}"
        ci = f"{lo:+.1f}..{hi:+.1f}" if lo is not None else "-"
        words = verdict_words(asdict(s))
        verdict = f"[bold yellow]{words}[/]" if s.larger_than_noise else f"[dim]{words}[/]"
        table.add_row(
            f"{label} ({unit})", _fmt(s.left, scale, fmt), _fmt(s.right, scale, fmt), asym, ci, verdict
        )
    console.print(table)
    console.print(
        "[dim]asymmetry = 100 x (left - right) / mean of both, in %; for angles, left - right in degrees. "
        "'differs' when its 95 % confidence interval excludes 0 and it exceeds the measurement's noise "
        "floor. Pelvic drop: how far the swing side drops while the other foot is on the ground.[/]"
    )


def _print_drift(summary: SessionSummary, console: Console) -> None:
    if all(d["change"] is None for d in summary.drift.values()):
        console.print(
            "[dim]Within the run: not compared (too few running steps in its first and last fifths: "
            "3 per foot are needed).[/]"
        )
        return
    drift = Table(title="Within the run (late fifth versus early fifth)", title_justify="left")
    for col in ("metric", "early", "late", "change"):
        drift.add_column(col, justify="left" if col == "metric" else "right")
    for metric, d in summary.drift.items():
        label, unit, scale, fmt = registry.labels()[metric]
        if d["change"] is None:
            drift.add_row(f"{label} ({unit})", "-", "-", "-")
        else:
            drift.add_row(
                f"{label} ({unit})",
                _fmt(d["early"], scale, fmt),
                _fmt(d["late"], scale, fmt),
                ("+" if d["change"] >= 0 else "") + _fmt(d["change"], scale, fmt),
            )
    console.print(drift)
