"""Terminal output: rich tables a runner can read at a glance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from hipsense.formats.device_file import DecodedSession


def _duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


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
