"""Terminal output: rich tables a runner can read at a glance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from hipsense.formats.device_file import DecodedSession
    from hipsense.gait.summary import SessionSummary

from hipsense import metrics as registry
from hipsense.report.wording import asymmetry_keys, quality_notes
from hipsense.report.wording import duration as _duration


def print_session_info(session: DecodedSession, *, console: Console) -> None:
    """Print a device session's header and everything its decoder found wrong or noteworthy."""
    h, r = session.header, session.report
    n = len(session.sample_index)
    span = (int(session.sample_index[-1]) + 1) / h.sample_rate_hz if n else 0.0
    table = Table(title=f"Session {h.session_id} from {h.device_id}", show_header=False, title_justify="left")
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
    for offset, problem in r.corrupt_blocks:
        console.print(f"  [yellow]corrupt block at byte {offset}:[/] {problem}")
    for warning in r.warnings:
        console.print(f"  [yellow]warning:[/] {warning}")


def _fmt(value: float | None, scale: float, fmt: str) -> str:
    return "-" if value is None else fmt.format(value * scale)


def print_summary(summary: SessionSummary, *, console: Console) -> None:
    """Print a session summary: headline numbers, left versus right, drift within the run, data quality."""
    head = Table(title="Run summary", show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column()
    head.add_row(
        "recording", f"{_duration(summary.duration_s)} of which {_duration(summary.running_time_s)} running"
    )
    head.add_row("steps", f"{summary.steps} running steps")
    head.add_row("cadence", _fmt(summary.cadence_spm, 1.0, "{:.0f} steps/min"))
    head.add_row("impact load", f"{summary.impact_load_g:.0f} g (sum of the peak impacts of every step)")
    console.print(head)

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
            table.add_row(f"{label} ({unit})", "-", "-", "-", "-", "[dim]not measured[/]")
            continue
        est, lo_key, hi_key, u = asymmetry_keys(s.metric)  # angles: L - R in deg, others the index
        lo, hi = getattr(s, lo_key), getattr(s, hi_key)
        asym = f"{getattr(s, est):+.1f} {u}"
        ci = f"{lo:+.1f}..{hi:+.1f}" if lo is not None else "-"
        verdict = "[bold yellow]differs[/]" if s.larger_than_noise else "[dim]within noise[/]"
        table.add_row(
            f"{label} ({unit})", _fmt(s.left, scale, fmt), _fmt(s.right, scale, fmt), asym, ci, verdict
        )
    console.print(table)
    console.print(
        "[dim]asymmetry = 100 x (left - right) / mean of both, in %; for angles, left - right in degrees. "
        "'differs' when its 95 % confidence interval excludes 0 and it exceeds the measurement's noise "
        "floor. Pelvic drop: how far the swing side drops while the other foot is on the ground.[/]"
    )

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

    q = summary.quality
    console.print("[bold]data quality:[/] " + ", ".join(quality_notes(q)))
    if q.get("side_source") == "alternation":
        console.print(
            "[yellow]This recording has neither a gyroscope nor a sideways axis: left and right are only "
            "told apart by alternation, so which side is which is unknown.[/]"
        )
