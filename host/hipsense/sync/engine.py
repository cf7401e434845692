"""Pull every finished session from a device, verify it, store it, and only then delete it there.

For each session the device lists (except the one being recorded):

1. download into ``<incoming>/<device>-<session>.hsn.part`` (user-only permissions) by offset, with a
   window of READ requests in flight; a ``.part`` left by an earlier, interrupted sync is resumed once
   the device's CRC of that prefix matches it;
2. every chunk arrives in a CRC-checked frame and must carry the offset and length asked for; the whole
   file's CRC32 must equal the device's CHECKSUM of the session;
3. fsync, rename to ``.hsn`` (atomic), fsync the folder, import into the :class:`~hipsense.store.Store`;
4. only when the store holds it: DELETE on the device with the size and CRC, unless ``keep_on_device``.

A link that drops is reconnected (``reconnects`` times, with backoff) and the download goes on from
the last byte written. A session that cannot be completed is reported incomplete and stays on the
device. The device clock is set first.
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from hipsense.conventions import file_name_part
from hipsense.store import Store
from hipsense.sync import protocol as P
from hipsense.sync.client import Client
from hipsense.sync.errors import (
    DeviceNotFound,
    DeviceRefused,
    DiskFull,
    LinkLost,
    NoReply,
    ProtocolVersionError,
    SyncError,
)
from hipsense.sync.transport import Transport

Connect = Callable[[], Awaitable[Transport]]

STORED = "stored"
DUPLICATE = "duplicate"
INCOMPLETE = "incomplete"
RECORDING = "recording"


class Progress(Protocol):
    def start(self, session_id: int, size: int, done: int) -> None: ...
    def advance(self, session_id: int, done: int) -> None: ...
    def finish(self, session_id: int, status: str) -> None: ...


@dataclass
class SyncOptions:
    keep_on_device: bool = False
    set_clock: bool = True
    runner: str = "default"
    #: READ requests in flight at once
    window: int = 4
    #: bytes per READ (None: the device's max_chunk)
    chunk: int | None = None
    timeout_s: float = 1.0
    retries: int = 6
    backoff_s: float = 0.05
    #: reconnections after a dropped link, per sync
    reconnects: int = 5


@dataclass
class SessionResult:
    session_id: int
    size: int
    status: str
    deleted: bool = False
    store_session: int | None = None
    message: str = ""


@dataclass
class SyncReport:
    device: P.DeviceInfo | None = None
    clock_was: int | None = None
    sessions: list[SessionResult] = field(default_factory=list)
    reconnects: int = 0
    resends: int = 0
    bad_frames: int = 0

    @property
    def incomplete(self) -> list[SessionResult]:
        return [s for s in self.sessions if s.status == INCOMPLETE]


def check_version(info: P.DeviceInfo, where: str) -> None:
    if info.version_major < P.VERSION_MAJOR:
        raise ProtocolVersionError(
            f"the clip on {where} runs firmware with sync protocol {info.version_major}.{info.version_minor}, "
            f"too old for this hipsense ({P.VERSION_MAJOR}.x): update the clip (hipsense device deploy)"
        )
    if info.version_major > P.VERSION_MAJOR:
        raise ProtocolVersionError(
            f"the clip on {where} runs firmware with sync protocol {info.version_major}.{info.version_minor}, "
            f"newer than this hipsense understands ({P.VERSION_MAJOR}.x): update hipsense (pip install -U hipsense)"
        )


def _disk_full(path: Path, sid: int) -> DiskFull:
    return DiskFull(
        f"disk full while writing {path}: session {sid:08x} stays on the clip; free space and sync again"
    )


class SyncEngine:
    """One sync run. ``connect`` opens a fresh transport (called again after a dropped link)."""

    def __init__(
        self,
        connect: Connect,
        store: Store,
        options: SyncOptions | None = None,
        progress: Progress | None = None,
        incoming: Path | None = None,
    ):
        self.connect = connect
        self.store = store
        self.options = options or SyncOptions()
        self.progress = progress
        self.incoming = incoming or store.root / "incoming"
        self.report = SyncReport()
        self._client: Client | None = None

    # -- link ---------------------------------------------------------------------------------------

    async def _open(self) -> Client:
        o = self.options
        client = Client(await self.connect(), timeout_s=o.timeout_s, retries=o.retries, backoff_s=o.backoff_s)
        try:
            # A clip answers at once; three tries tell a silent port from a busy clip.
            info = await client.request(P.Type.INFO, parse=P.info_body, retries=min(2, o.retries))
            check_version(info, client.transport.name)
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
            if self.options.set_clock:
                body = P.set_time_request(int(time.time()))
                self.report.clock_was = await self._call(
                    lambda c: c.request(P.Type.SET_TIME, body, P.u64_body)
                )
            for entry in await self._call(self._list):
                self.report.sessions.append(await self._session(entry))
        finally:
            await self._drop()
            # One judgement of the runner's history for the whole sync, not one per session.
            if any(s.status == STORED for s in self.report.sessions):
                self.store.refresh_flags([self.options.runner])
        return self.report

    async def _list(self, client: Client) -> list[P.SessionEntry]:
        entries: list[P.SessionEntry] = []
        while True:
            total, page = await client.request(P.Type.LIST, P.list_request(len(entries)), P.list_body)
            entries += page
            if len(entries) >= total or not page:
                return entries

    async def _session(self, entry: P.SessionEntry) -> SessionResult:
        sid, size = entry.session_id, entry.size
        if entry.recording:
            return SessionResult(sid, size, RECORDING, message="being recorded; synced once it is stopped")
        assert self.report.device is not None  # INFO comes before any session
        device = file_name_part(self.report.device.device_id, "clip")
        name = f"{device}-{sid:08x}.hsn"
        part = self.incoming / (name + ".part")
        try:
            crc = await self._download(sid, size, part)
        except (LinkLost, NoReply, DeviceRefused) as e:
            self._finish(sid, INCOMPLETE)
            return SessionResult(sid, size, INCOMPLETE, message=f"{e}; it stays on the clip")
        final = self.incoming / name
        os.replace(part, final)
        _fsync_dir(self.incoming)
        report = self.store.import_files([final], runner=self.options.runner, refresh_flags=False)
        if report.failed:
            self._finish(sid, INCOMPLETE)
            return SessionResult(
                sid, size, INCOMPLETE, message=f"{report.failed[0][1]}; it stays on the clip"
            )
        if report.added:
            status, store_id = STORED, report.added[0].session_id
        else:
            status, store_id = DUPLICATE, report.duplicates[0][2]
        final.unlink()  # the store holds its own read-only copy now
        result = SessionResult(sid, size, status, store_session=store_id)
        if not self.options.keep_on_device:
            try:
                await self._call(
                    lambda c: c.request(P.Type.DELETE, P.delete_request(sid, size, crc), P.empty_body)
                )
                result.deleted = True
            except DeviceRefused as e:
                result.message = f"stored, but the clip did not delete it: {e}"
            except (LinkLost, NoReply) as e:
                result.message = f"stored, but could not tell the clip to delete it ({e}); the next sync will"
        self._finish(sid, status)
        return result

    def _finish(self, sid: int, status: str) -> None:
        if self.progress:
            self.progress.finish(sid, status)

    # -- download -----------------------------------------------------------------------------------

    async def _download(self, sid: int, size: int, part: Path) -> int:
        """Download into ``part``; returns the session's CRC32 once the whole file matches the device's."""
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
            if e.errno == errno.ENOSPC:
                raise _disk_full(part, sid) from None
            raise
        finally:
            os.close(fd)
        crc = _crc_file(part)
        _, covered, device_crc = await self._checksum(sid, size)
        if covered != size or device_crc != crc:
            part.unlink()
            raise DeviceRefused(
                f"session {sid:08x}: the downloaded copy's CRC {crc:08x} differs from the clip's "
                f"{device_crc:08x}; it will be downloaded again",
                P.ErrorCode.MISMATCH,
            )
        return crc

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
        return have if covered == have and device_crc == _crc_file(part) else 0

    async def _pull(self, client: Client, sid: int, size: int, fd: int, held: list[int]) -> None:
        """Fetch [held[0], size) with a window of READs in flight, writing in order as chunks arrive."""
        info = self.report.device
        assert info is not None  # INFO comes before any session
        chunk = min(self.options.chunk or info.max_chunk, info.max_chunk)
        offsets = range(held[0], size, chunk)
        window = asyncio.Semaphore(self.options.window)

        async def fetch(off: int) -> bytes:
            async with window:
                want = min(chunk, size - off)
                got_off, data = await client.request(P.Type.READ, P.read_request(sid, off, want), P.read_body)
                if got_off != off or len(data) != want:
                    raise DeviceRefused(
                        f"session {sid:08x}: asked for {want} bytes at {off}, got {len(data)} at {got_off} "
                        "(did the file change on the clip?)",
                        P.ErrorCode.MISMATCH,
                    )
                return data

        tasks = [asyncio.ensure_future(fetch(off)) for off in offsets]
        try:
            for task in tasks:
                data = await task
                os.write(fd, data)
                held[0] += len(data)
                if self.progress:
                    self.progress.advance(sid, held[0])
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _crc_file(path: Path) -> int:
    crc = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            crc = zlib.crc32(block, crc)
    return crc


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":  # Windows cannot open a folder for fsync; NTFS renames are journaled
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def sync_device(
    connect: Connect, store: Store, options: SyncOptions | None = None, progress: Progress | None = None
) -> SyncReport:
    """Run one sync (see the module docstring)."""
    return await SyncEngine(connect, store, options, progress).run()


__all__ = ["SyncEngine", "SyncError", "SyncOptions", "SyncReport", "SessionResult", "sync_device"]
