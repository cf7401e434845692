"""Pull every finished session from a device, verify it, hand it over, and only then delete it there.

For each session the device lists (except the one being recorded):

1. download into ``<incoming>/<device>-<session>.hsn.part`` (user-only permissions) by offset, with a
   window of READ requests in flight; a ``.part`` left by an earlier, interrupted sync is resumed once
   the device's CRC of that prefix matches it;
2. every chunk arrives in a CRC-checked frame and must carry the offset and length asked for; the whole
   file's CRC32 must equal the device's CHECKSUM of the session;
3. fsync, rename to ``.hsn`` (atomic), fsync the folder, hand the file to the caller's ``keep(path)``
   (the CLI imports it into the store; the sync knows nothing of the store);
4. only when ``keep`` holds it: DELETE on the device with the size and the SHA-256 of the whole file
   (the erase proof), unless ``keep_on_device``.

Over a radio link the engine first proves this laptop's key to the clip (:mod:`hipsense.sync.auth`).
Everything the device says is bounded where it is read: ``max_chunk`` within the protocol's limits, a
listing and each listed size within what a clip's flash holds (:mod:`hipsense.sync.listing`); READ
requests are made as the window moves, never for a whole file up front. A few downloaded files in a
row that are not sessions stop the sync (a clip sending junk); only the newest few are kept. A link that drops is reconnected (``reconnects`` times, with backoff) and the download goes
on from the last byte written. A session that cannot be completed is reported incomplete and stays on
the device. The device clock is set first.
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

from hipsense.conventions import file_name_part
from hipsense.sync import protocol as P
from hipsense.sync.auth import KeyRing, authenticate
from hipsense.sync.checks import check_info
from hipsense.sync.client import Client
from hipsense.sync.errors import (
    DeviceNotFound,
    DeviceRefused,
    DiskFull,
    LinkLost,
    NoReply,
    SyncError,
)
from hipsense.sync.incoming import crc_and_sha256, disk_full, fsync_dir, is_session_file, prune_not_sessions
from hipsense.sync.listing import (
    JUNK_STOP,
    cut_note,
    full_note,
    junk_note,
    list_sessions,
    refuse_size,
    stall_note,
)
from hipsense.sync.results import (  # the engine's public types, re-exported
    DUPLICATE,
    INCOMPLETE,
    RECORDING,
    STORED,
    Keep,
    Kept,
    Progress,
    SessionResult,
    SyncOptions,
    SyncReport,
)
from hipsense.sync.transport import Transport

Connect = Callable[[], Awaitable[Transport]]


class SyncEngine:
    """One sync run. ``connect`` opens a fresh transport (called again after a dropped link)."""

    def __init__(
        self,
        connect: Connect,
        keep: Keep,
        incoming: Path,
        options: SyncOptions | None = None,
        progress: Progress | None = None,
        keys: KeyRing | None = None,
    ):
        self.connect = connect
        self.keep = keep
        self.options = options or SyncOptions()
        self.progress = progress
        self.incoming = Path(incoming)
        self.keys = keys
        self.report = SyncReport()
        self._client: Client | None = None
        self._listed = 0  # bytes of the sessions listed so far

    # -- link ---------------------------------------------------------------------------------------

    async def _open(self) -> Client:
        o = self.options
        client = Client(
            await self.connect(),
            timeout_s=o.timeout_s,
            retries=o.retries,
            backoff_s=o.backoff_s,
            max_wait_s=o.max_wait_s,
        )
        try:
            # A clip answers at once; three tries tell a silent port from a busy clip.
            info = await client.request(P.Type.INFO, parse=P.info_body, retries=min(2, o.retries))
            check_info(info, client.transport.name)
            self.report.device = info  # it answered: a later silence is a lost link, not "no clip"
            if not client.transport.physical:
                await authenticate(client, self.keys, info)
        except NoReply:
            await client.close()
            if self.report.device is None:  # never answered: something else is on that port
                raise DeviceNotFound(
                    f"no hipsense clip answers on {client.transport.name} (is the clip switched on and running "
                    "the hipsense firmware? `hipsense device deploy` installs it)"
                ) from None
            raise
        except BaseException:
            await client.close()
            raise
        self.report.device = info
        self._client = client
        return client

    async def _drop(self) -> None:
        if self._client is not None:
            self.report.resends += self._client.counters.resends
            self.report.bad_frames += self._client.transport.bad_frames
            await self._client.close()
            self._client = None

    async def _call(self, fn: Callable[[Client], Awaitable]):
        """Run ``fn(client)``; on a dropped link reconnect with backoff and run it again."""
        delay = self.options.backoff_s
        while True:
            try:
                return await fn(self._client or await self._open())
            except (LinkLost, NoReply):
                await self._drop()
                if self.report.reconnects >= self.options.reconnects:
                    raise
                self.report.reconnects += 1
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)

    # -- run ----------------------------------------------------------------------------------------

    async def run(self) -> SyncReport:
        try:
            await self._call(lambda c: asyncio.sleep(0))  # connect, INFO, version check
            now = int(time.time())
            if self.options.set_clock and P.CLOCK_RANGE[0] <= now < P.CLOCK_RANGE[1]:
                body = P.set_time_request(now)
                self.report.clock_was = await self._call(
                    lambda c: c.request(P.Type.SET_TIME, body, P.u64_body)
                )
            elif self.options.set_clock:  # a dead CMOS battery: no date to give the clip's next runs
                day = time.strftime("%Y-%m-%d", time.gmtime(now))
                self.report.clock_note = (
                    f"this laptop's clock reads {day}: the clip's clock was left as it was"
                )
            entries, total = await self._call(list_sessions)
            if note := cut_note(total, len(entries)):
                self.report.notes.append(note)
            streak = stalls = 0  # downloaded files in a row that are not sessions; sessions not sent
            for k, entry in enumerate(entries):
                refused = "" if entry.recording else refuse_size(entry, self._listed)
                if refused:  # too small for a session, or beyond the flash
                    self.report.sessions.append(self._incomplete(entry, refused))
                    continue
                try:
                    result = await self._session(entry)
                except DiskFull as e:  # the sessions before it are reported too, each with its reason
                    self.report.sessions.append(self._incomplete(entry, str(e)))
                    self.report.notes.append(full_note(len(entries) - k - 1))
                    break
                self.report.sessions.append(result)
                streak = streak + 1 if result.not_session else 0
                stalls = stalls + 1 if result.stalled else 0
                if streak >= JUNK_STOP or stalls >= JUNK_STOP:  # junk, or a clip whose replies stall
                    why = junk_note if streak >= JUNK_STOP else stall_note
                    self.report.notes.append(why(max(streak, stalls), len(entries) - k - 1))
                    break
        finally:
            await self._drop()
        return self.report

    async def _session(self, entry: P.SessionEntry) -> SessionResult:
        sid, size = entry.session_id, entry.size
        if entry.recording:
            return SessionResult(sid, size, RECORDING, message="being recorded; synced once it is stopped")
        self._listed += size
        assert self.report.device is not None  # INFO comes before any session
        device = file_name_part(self.report.device.device_id, "clip")
        name = f"{device}-{sid:08x}.hsn"
        part = self.incoming / (name + ".part")
        try:
            digest = await self._download(sid, size, part)
        except (LinkLost, NoReply, DeviceRefused) as e:
            return self._incomplete(entry, f"{e}; it stays on the clip", stalled=isinstance(e, NoReply))
        final = self.incoming / name
        os.replace(part, final)
        fsync_dir(self.incoming)
        kept = self.keep(final)
        if kept is True:
            kept = Kept()
        if not isinstance(kept, Kept):
            why = kept if isinstance(kept, str) and kept else f"{final}: not kept"
            junk = not is_session_file(final)
            if junk:  # junk is not kept here for ever: the newest few, for diagnosis
                prune_not_sessions(self.incoming)
            return self._incomplete(entry, f"{why}; it stays on the clip", not_session=junk)
        final.unlink(missing_ok=True)  # the keeper holds its own copy now
        result = SessionResult(sid, size, status := kept.status, store_session=kept.store_session)
        if not self.options.keep_on_device:
            try:
                await self._call(
                    lambda c: c.request(P.Type.DELETE, P.delete_request(sid, size, digest), P.empty_body)
                )
                result.deleted = True
            except DeviceRefused as e:  # NO_SESSION: gone already (an erase's reply lost, or another laptop)
                result.deleted = e.code == P.ErrorCode.NO_SESSION
                if not result.deleted:
                    result.message = f"stored, but the clip did not delete it: {e}"
            except (LinkLost, NoReply) as e:
                result.message = f"stored, but could not tell the clip to delete it ({e}); the next sync will"
        self._finish(sid, status)
        return result

    def _finish(self, sid: int, status: str) -> None:
        if self.progress:
            self.progress.finish(sid, status)

    def _incomplete(self, entry: P.SessionEntry, message: str, **flags: bool) -> SessionResult:
        """A session that stays on the clip: its progress ended, its result with the one-line reason."""
        self._finish(entry.session_id, INCOMPLETE)
        return SessionResult(entry.session_id, entry.size, INCOMPLETE, message=message, **flags)

    # -- download -----------------------------------------------------------------------------------

    async def _download(self, sid: int, size: int, part: Path) -> bytes:
        """Download into ``part``; returns the file's SHA-256 once its CRC32 matches the device's."""
        self.incoming.mkdir(mode=0o700, parents=True, exist_ok=True)
        have = await self._resume_point(sid, size, part)
        if self.progress:
            self.progress.start(sid, size, have)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
        try:
            os.lseek(fd, have, os.SEEK_SET)
            os.ftruncate(fd, have)
            held = [have]  # bytes written so far; a pull after a reconnect goes on from here
            await self._call(lambda c: self._pull(c, sid, size, fd, held))
            os.fsync(fd)
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):  # full, over quota, over a size limit
                raise disk_full(part, sid, e) from None
            raise
        finally:
            os.close(fd)
            if part.exists() and part.stat().st_size == 0:
                part.unlink()  # nothing to resume from
        crc, digest = crc_and_sha256(part)
        _, covered, device_crc = await self._checksum(sid, size)
        if covered != size or device_crc != crc:
            part.unlink()
            raise DeviceRefused(
                f"session {sid:08x}: the downloaded copy's CRC {crc:08x} differs from the clip's "
                f"{device_crc:08x}; it will be downloaded again",
                P.ErrorCode.MISMATCH,
            )
        return digest

    async def _checksum(self, sid: int, length: int) -> tuple[int, int, int]:
        # The device reads the whole range for a CHECKSUM: allow ~1 MB/s of flash reading on top.
        body = P.checksum_request(sid, 0, length)
        timeout = self.options.timeout_s + length / 1e6
        return await self._call(
            lambda c: c.request(P.Type.CHECKSUM, body, P.checksum_body, timeout_s=timeout)
        )

    async def _resume_point(self, sid: int, size: int, part: Path) -> int:
        have = part.stat().st_size if part.exists() else 0
        if have == 0 or have > size:
            return 0
        _, covered, device_crc = await self._checksum(sid, have)
        return have if covered == have and device_crc == crc_and_sha256(part)[0] else 0

    async def _pull(self, client: Client, sid: int, size: int, fd: int, held: list[int]) -> None:
        """Fetch [held[0], size) with a window of READs in flight, writing in order as chunks arrive.

        Requests are made as the window moves: at most ``window`` exist at any time, whatever the size.
        """
        info = self.report.device
        assert info is not None  # INFO comes before any session
        chunk = max(1, min(self.options.chunk or info.max_chunk, info.max_chunk))

        async def fetch(off: int) -> bytes:
            want = min(chunk, size - off)
            got_off, data = await client.request(P.Type.READ, P.read_request(sid, off, want), P.read_body)
            if got_off != off or len(data) != want:
                raise DeviceRefused(
                    f"session {sid:08x}: asked for {want} bytes at {off}, got {len(data)} at {got_off} "
                    "(did the file change on the clip?)",
                    P.ErrorCode.MISMATCH,
                )
            return data

        tasks: deque[asyncio.Future[bytes]] = deque()
        next_off = held[0]
        try:
            while next_off < size or tasks:
                while next_off < size and len(tasks) < max(1, self.options.window):
                    tasks.append(asyncio.ensure_future(fetch(next_off)))
                    next_off += chunk
                data = await tasks.popleft()
                os.write(fd, data)
                held[0] += len(data)
                if self.progress:
                    self.progress.advance(sid, held[0])
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def sync_device(
    connect: Connect,
    keep: Keep,
    incoming: Path,
    options: SyncOptions | None = None,
    progress: Progress | None = None,
    keys: KeyRing | None = None,
) -> SyncReport:
    """Run one sync (see the module docstring)."""
    return await SyncEngine(connect, keep, incoming, options, progress, keys).run()


__all__ = [
    "DUPLICATE",
    "INCOMPLETE",
    "RECORDING",
    "STORED",
    "Keep",
    "Kept",
    "SyncEngine",
    "SyncError",
    "SyncOptions",
    "SyncReport",
    "SessionResult",
    "check_info",
    "sync_device",
]
