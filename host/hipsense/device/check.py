"""``hipsense device check``: a guided bring-up self-test of a clip someone just built (docs/device-check.md).

Over the USB cable, with the sync protocol's own commands: INFO and STATUS (identity, battery, free
space), SELFTEST (a scratch write and read-back on the clip's flash, its BLE state), then a short
recording streamed live (START, LIVE_START): the IMU's range settings from the session header, the
real output rate against the laptop's clock, noise and bias with the clip still on a table, and the
axis directions in three poses compared with hardware/README.md. The recording is deleted at the end.

Everything the clip says is untrusted: every number is bounded before it is used, and a clip that
does not answer is one line (:class:`~hipsense.sync.errors.DeviceNotFound`).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hipsense.device.check_rows import (
    POSES,
    LiveSamples,
    Row,
    axis_row,
    battery_row,
    ble_row,
    flash_row,
    identity_rows,
    rate_row,
    rest_rows,
)
from hipsense.formats.device_file import SessionHeader
from hipsense.sync import protocol as P
from hipsense.sync.client import Client
from hipsense.sync.engine import Connect, check_info
from hipsense.sync.errors import DeviceNotFound, DeviceRefused, NoReply, SyncError
from hipsense.sync.live import read_session_header

#: the check's own recording is deleted only when it is this small (it lasts a minute or so)
MAX_CHECK_SESSION = 16 * 1024 * 1024

Prompt = Callable[[str], None]
"""Shows an instruction and returns once the user is ready (blocking; run in a thread)."""


@dataclass
class CheckOptions:
    """How long each step streams (s) and how much the flash test writes (KiB)."""

    rest_s: float = 20.0
    hold_s: float = 3.0
    settle_s: float = 1.0
    flash_kib: int = 64
    timeout_s: float = 2.0


@dataclass
class CheckReport:
    """What the check found: the rows in order, and the figures behind them."""

    port: str = ""
    info: P.DeviceInfo | None = None
    status: P.DeviceStatus | None = None
    header: SessionHeader | None = None
    rows: list[Row] = field(default_factory=list)
    rate_hz: float | None = None
    rate_ppm: float | None = None
    rate_ppm_se: float | None = None
    #: the +- the rate row states (ppm): the standard error's or the late stream's, the larger
    rate_ppm_bound: float | None = None
    session_deleted: bool | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok is not False for r in self.rows)

    def row(self, name: str) -> Row:
        return next(r for r in self.rows if r.name == name)


# -- the check ---------------------------------------------------------------------------------------


async def _ask(prompt: Prompt, text: str) -> None:
    """``prompt(text)`` in a daemon thread while live packets keep arriving. Not asyncio.to_thread:
    after a Ctrl-C the loop would wait at exit for that thread, i.e. for an Enter nobody presses."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(None)

    def ask() -> None:
        error = None
        try:
            prompt(text)
        except BaseException as e:  # noqa: BLE001 - handed to the waiting coroutine
            error = e
        try:
            loop.call_soon_threadsafe(settle, error)
        except RuntimeError:  # the loop has closed meanwhile: nobody waits any more
            pass

    threading.Thread(target=ask, name="device check prompt", daemon=True).start()
    await done


async def _listed(client: Client, session_id: int) -> P.SessionEntry | None:
    """The LIST entry of one session, paging through the list (a u16 total: it ends)."""
    start = 0
    while True:
        total, entries = await client.request(P.Type.LIST, P.list_request(start), P.list_body)
        for e in entries:
            if e.session_id == session_id:
                return e
        start += len(entries)
        if not entries or start >= total:
            return None


async def _delete_session(client: Client, session_id: int) -> bool:
    """Wait for the check's recording to close, read it whole and delete it with its SHA-256."""
    size = -1
    for _ in range(50):  # STOP answers at once; the end block is written right after (main.py)
        entry = await _listed(client, session_id)
        if entry is None:
            return False
        if not entry.recording:
            size = entry.size
            break
        await asyncio.sleep(0.1)
    if not 0 < size <= MAX_CHECK_SESSION:
        return False
    digest = hashlib.sha256()
    offset = 0
    while offset < size:
        at, chunk = await client.request(
            P.Type.READ, P.read_request(session_id, offset, min(4096, size - offset)), P.read_body
        )
        if at != offset or not chunk:
            return False
        digest.update(chunk)
        offset += len(chunk)
    await client.request(P.Type.DELETE, P.delete_request(session_id, size, digest.digest()), P.empty_body)
    return True


async def run_check(connect: Connect, prompt: Prompt, options: CheckOptions | None = None) -> CheckReport:
    """Run the bring-up check on the clip ``connect`` opens; ``prompt`` shows each instruction."""
    o = options or CheckOptions()
    client = Client(await connect(), timeout_s=o.timeout_s)
    report = CheckReport(port=client.transport.name)
    try:
        try:
            info = await client.request(P.Type.INFO, parse=P.info_body, retries=2)
        except NoReply:
            raise DeviceNotFound(
                f"no hipsense clip answers on {client.transport.name} (is the clip switched on and running the "
                "hipsense firmware? `hipsense device deploy` installs it)"
            ) from None
        check_info(info, client.transport.name)
        if not client.transport.physical:
            raise SyncError("hipsense device check runs over the USB cable only (--port)")
        report.info = info
        status = await client.request(P.Type.STATUS, parse=P.status_body)
        report.status = status
        if status.recording:
            raise SyncError(
                f"the clip on {client.transport.name} is recording session {status.session_id:08x}: stop it "
                "(long press) and run the check again"
            )
        test, why = None, ""
        try:
            test = await client.request(
                P.Type.SELFTEST,
                P.selftest_request(o.flash_kib),
                P.selftest_body,
                timeout_s=max(o.timeout_s, 10),
            )
            limit = P.SELFTEST_MAX_KIB * 1024
            if not 0 < test.bytes_written <= limit or max(test.write_us, test.read_us) > 60_000_000:
                test, why = (
                    None,
                    "the clip's SELFTEST reply is out of bounds: firmware broken (hipsense device deploy)",
                )
        except DeviceRefused as e:
            if e.code == P.ErrorCode.UNKNOWN_TYPE:
                why = "firmware older than protocol 2.1 has no SELFTEST: hipsense device deploy"
            elif e.code == P.ErrorCode.IO:
                why = f"the scratch write failed ({e}): the flash is full or faulty"
            else:
                why = str(e)
        report.rows.append(flash_row(status, test, why))
        report.rows.append(battery_row(status))
        report.rows.append(ble_row(status, test))

        try:
            session_id = await client.request(P.Type.START, parse=P.u32_body)
        except DeviceRefused as e:
            raise SyncError(
                f"the clip cannot record ({e}): the IMU is missing or the battery is low; see the LED "
                "(docs/firmware.md)"
            ) from None
        try:
            await _measure(client, session_id, info, prompt, o, report)
        finally:
            try:
                await client.request(P.Type.LIVE_STOP, parse=P.empty_body)
                await client.request(P.Type.STOP, parse=P.u32_body)
                report.session_deleted = await _delete_session(client, session_id)
            except SyncError as e:
                report.session_deleted = False
                report.notes.append(f"could not stop or delete the check's recording: {e}")
            if report.session_deleted is False:
                report.notes.append(
                    f"the check's recording {session_id:08x} stays on the clip; delete it after the next sync"
                )
        return report
    finally:
        await client.close()


async def _measure(
    client: Client, session_id: int, info: P.DeviceInfo, prompt: Prompt, o: CheckOptions, report: CheckReport
) -> None:
    live = await client.request(P.Type.LIVE_START, parse=P.live_start_body)
    if live.session_id != session_id:
        raise SyncError(f"the clip streams session {live.session_id:08x}, not the check's {session_id:08x}")
    header = await read_session_header(client, session_id)
    report.header = header
    report.rows[0:0] = identity_rows(info, header)
    if live.channels != header.channels or not 1 <= live.channels <= 6:
        raise SyncError(f"the clip streams {live.channels} channels but records {header.channels}")
    samples = LiveSamples(live.first_index, live.channels, header.sample_rate_hz)

    async def pump() -> None:
        while True:
            frame = await client.unsolicited.get()
            samples.add(time.monotonic(), frame)

    reader = asyncio.get_running_loop().create_task(pump())
    try:
        windows = []
        for k, (_pose, text, _axis, _sign) in enumerate(POSES):
            await _ask(prompt, text)
            t0 = time.monotonic() + o.settle_s
            await asyncio.sleep(o.settle_s + (o.rest_s if k == 0 else o.hold_s))
            windows.append(samples.window(t0, time.monotonic()))
    finally:
        reader.cancel()
    rest = windows[0]
    row, fit = rate_row(samples, header.sample_rate_hz)
    report.rows.append(row)
    if fit is not None:
        report.rate_hz, report.rate_ppm, report.rate_ppm_se = fit.hz, fit.ppm, fit.se_ppm
        report.rate_ppm_bound = fit.bound_ppm
    report.rows += rest_rows(rest, header)
    for (pose, _text, axis, sign), counts in zip(POSES, windows, strict=True):
        report.rows.append(axis_row(pose, counts, header, axis, sign))
    if samples.bad_packets:
        report.notes.append(f"{samples.bad_packets} damaged live packets were dropped")
    if samples.ignored:
        report.notes.append(f"{samples.ignored} live packets beyond the check's limits were ignored")
