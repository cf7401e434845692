"""``hipsense sync``: the engine with a rich progress bar per session and a one-line summary."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from hipsense.sync.auth import KeyRing
from hipsense.sync.engine import (
    DUPLICATE,
    INCOMPLETE,
    RECORDING,
    STORED,
    Connect,
    Keep,
    SyncOptions,
    SyncReport,
    sync_device,
)
from hipsense.sync.serial_transport import SerialTransport, find_port

#: incomplete sessions the report names one by one; the rest are counted in one line
MAX_INCOMPLETE_LINES = 20


class RichProgress:
    """One bar per session: bytes, rate and time left."""

    def __init__(self, bar: Progress):
        self.bar = bar
        self.tasks: dict[int, TaskID] = {}

    def start(self, session_id: int, size: int, done: int) -> None:
        what = f"session {session_id:08x}" + (" (resumed)" if done else "")
        self.tasks[session_id] = self.bar.add_task(what, total=size, completed=done)

    def advance(self, session_id: int, done: int) -> None:
        self.bar.update(self.tasks[session_id], completed=done)

    def finish(self, session_id: int, status: str) -> None:
        if session_id in self.tasks:
            self.bar.update(self.tasks[session_id], description=f"session {session_id:08x} {status}")


def run_sync(
    connect: Connect,
    keep: Keep,
    incoming: Path,
    options: SyncOptions,
    console: Console,
    keys: KeyRing | None = None,
    *,
    quiet: bool = False,
) -> SyncReport:
    """Sync the clip that ``connect`` reaches, handing each verified file to ``keep``, with a progress
    bar per session (on a terminal only and without ``quiet``: elsewhere the report printed afterwards
    says it all)."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet or not console.is_interactive,
    )
    with bar:
        return asyncio.run(sync_device(connect, keep, incoming, options, RichProgress(bar), keys))


def connect_serial(port: str | None) -> Connect:
    """Opens the serial port given (or the one clip found on USB)."""
    port = port or find_port()
    return lambda: SerialTransport.open(port)


def connect_ble(address: str) -> Connect:
    from hipsense.sync.ble_transport import BleakTransport

    return lambda: BleakTransport.open(address)


def print_devices(clips: list, console: Console) -> int:
    """The table of ``hipsense devices``; exit code 0 when a clip was found, else 1."""
    if not clips:
        console.print(
            "no clips found nearby (is the clip switched on and not connected to another computer?)"
        )
        return 1
    table = Table(title="hipsense clips nearby", box=box.SIMPLE)
    table.add_column("name")
    table.add_column("address")
    table.add_column("signal", justify="right")
    for c in clips:
        table.add_row(c.name, c.address, f"{c.rssi} dBm")
    console.print(table)
    console.print("sync one with: hipsense sync --device ADDRESS", highlight=False)
    return 0


def print_report(report: SyncReport, console: Console, err_console: Console) -> int:
    """Print what happened to each session (the first :data:`MAX_INCOMPLETE_LINES` incomplete ones, then
    a count) and the report's notes; exit code 0 when nothing is incomplete, else 1."""
    dev = report.device
    if dev:
        console.print(
            f"clip [bold]{dev.device_id}[/] firmware {dev.firmware_version} (protocol "
            f"{dev.version_major}.{dev.version_minor})",
            highlight=False,
        )
    if report.clock_was is not None:
        console.print("set the clip's clock" + (" (it was not set)" if report.clock_was == 0 else ""))
    if report.clock_note:
        err_console.print(
            f"[yellow]warning:[/] {report.clock_note} (set this laptop's clock)", highlight=False
        )
    more = 0  # incomplete sessions past MAX_INCOMPLETE_LINES (a clip listing thousands)
    shown = 0
    for s in report.sessions:
        if s.status == INCOMPLETE and shown >= MAX_INCOMPLETE_LINES:
            more += 1
            continue
        shown += s.status == INCOMPLETE
        where = f" as store session {s.store_session}" if s.store_session is not None else ""
        deleted = ", deleted on the clip" if s.deleted else ", kept on the clip"
        if s.status in (STORED, DUPLICATE):
            line = f"session {s.session_id:08x}: {s.size} bytes {s.status}{where}{deleted}"
            console.print(line + (f" ({s.message})" if s.message else ""), highlight=False)
        elif s.status == RECORDING:
            console.print(f"session {s.session_id:08x}: {s.message}", highlight=False)
        else:
            err_console.print(
                f"[bold red]incomplete:[/] session {s.session_id:08x}: {s.message}", highlight=False
            )
    if more:
        err_console.print(
            f"[bold red]incomplete:[/] {more} more sessions, each left on the clip", highlight=False
        )
    for note in report.notes:
        err_console.print(f"[bold red]incomplete:[/] {note}", highlight=False)
    counts = {k: sum(s.status == k for s in report.sessions) for k in (STORED, DUPLICATE, INCOMPLETE)}
    console.print(
        f"{counts[STORED]} stored, {counts[DUPLICATE]} already stored, {counts[INCOMPLETE]} incomplete"
        + (f"; {report.reconnects} reconnects" if report.reconnects else ""),
        highlight=False,
    )
    return 1 if counts[INCOMPLETE] or report.notes else 0


def _live_table(stream) -> Table:
    m = stream.metrics()
    n = len(stream.sample_index)  # a view of the kept samples: no copy per update
    rate = stream.header.sample_rate_hz
    table = Table(title=f"live from session {stream.session_id:08x}", box=box.SIMPLE, show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")

    def fmt(v, spec, unit):
        return "-" if v is None else f"{v:{spec}} {unit}"

    table.add_row("cadence (last 30 s)", fmt(m["cadence_spm"], ".0f", "steps/min"))
    table.add_row(
        "contact time L / R", f"{fmt(m['contact_ms_L'], '.0f', 'ms')} / {fmt(m['contact_ms_R'], '.0f', 'ms')}"
    )
    table.add_row("balance (R vs L contact)", fmt(m["balance_pct"], "+.1f", "%"))
    table.add_row("received", f"{n / rate:.0f} s ({n} samples, {stream.packets} packets)")
    table.add_row(
        "gaps",
        f"{stream.missing_samples} samples missing, {stream.lost_packets} packets lost"
        f"{_duplicates(stream)}{_too_fast(stream)}",
    )
    return table


def _duplicates(stream) -> str:
    n = stream.duplicate_packets
    return f", {n} repeated or late packets dropped" if n else ""


def _too_fast(stream) -> str:
    n = stream.too_fast
    return f", {n} packets dropped: faster than a clip records (not a hipsense clip?)" if n else ""


def run_live(
    connect: Connect, seconds: float | None, out: Path, console: Console, keys: KeyRing | None = None
) -> int:
    """``hipsense live``: stream, show the figures every few seconds, save the stream as a session file."""
    import signal

    from rich.live import Live

    from hipsense.sync.live import stream_live

    started: list = []  # the stream once it exists: saved however Ctrl-C ends the wait

    async def go():
        stop = asyncio.Event()
        try:  # POSIX: Ctrl-C only sets ``stop``, and the stream ends as with --seconds
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl-C is a KeyboardInterrupt, below
            pass
        with Live(
            Table(title="waiting for the first samples..."), console=console, auto_refresh=False
        ) as view:
            return await stream_live(
                connect,
                seconds,
                on_update=lambda s: view.update(_live_table(s), refresh=True),
                stop=stop,
                on_start=started.append,
                keys=keys,
            )

    try:
        stream = asyncio.run(go())
    except KeyboardInterrupt:
        if not started:
            raise
        stream = started[0]
    if stream.started_recording:
        console.print("the clip was not recording: started a recording (stop it with the button)")
    out.write_bytes(stream.session_bytes())
    n = len(stream.sample_index)
    console.print(
        f"saved {n} samples ({n / stream.header.sample_rate_hz:.0f} s) to [bold]{out}[/]; "
        f"{stream.missing_samples} samples missing (gaps kept as gaps), {stream.lost_packets} packets lost"
        f"{_duplicates(stream)}{_too_fast(stream)}",
        highlight=False,
    )
    if stream.ended:  # the stream did not end as asked: say so, and let a script see it
        line = f"live stopped: {stream.ended}; saved what arrived"  # device text: no markup
        console.print(line, style="red", markup=False, highlight=False)
        return 1
    return 0
