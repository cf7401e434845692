"""A hostile clip against the host's sync: a lying device on a real pseudo-terminal, opened by the
host's real pyserial transport. Each bad case must end that sync with one clear line, in bounded
memory and time, leave nothing half-written, and keep the sessions already handed over intact.

The device here is a Python thread on the pty's master end that answers each request with whatever
bytes its script chooses (lies included); it is not the firmware (that is tests/host/test_sync_pty.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import select
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from hipsense.errors import HipsenseError
from hipsense.sync import protocol as P
from hipsense.sync.engine import INCOMPLETE, STORED, SyncOptions, sync_device
from hipsense.sync.serial_transport import SerialTransport

pytestmark = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")

#: a hang guard, not a timing: a sync still running after this is stuck (the defect under test)
HANG_S = 60.0


def reply(ftype: int, req: int, body: bytes) -> bytes:
    return P.wire(P.seal(ftype, req, body))


class PtyClip:
    """A scripted clip on a pty. ``answer(frame)`` returns the raw bytes to write back (or None);
    by default it answers honestly from ``files``. ``stream`` (a callable returning bytes) is written
    again and again, forever, from the first request on: an endless stream."""

    def __init__(
        self,
        files: dict[int, bytes],
        *,
        device_id: bytes = b"HS-EVIL",
        max_chunk: int = 1024,
        listing: list[tuple[int, int]] | None = None,
        stream: Callable[[], bytes] | None = None,
    ):
        self.files = dict(files)
        self.device_id = device_id
        self.max_chunk = max_chunk
        self.listing = listing
        self.stream = stream
        self.requests: list[P.Frame] = []
        self.deletes: list[int] = []
        self.override: Callable[[P.Frame], bytes | None] | None = None
        self._master, self._slave = os.openpty()
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._streaming = threading.Event()
        self._threads = [threading.Thread(target=self._serve, daemon=True)]
        if stream is not None:
            self._threads.append(threading.Thread(target=self._flood, daemon=True))

    def __enter__(self) -> PtyClip:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(5)
        os.close(self._master)
        os.close(self._slave)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._stop.is_set():
            if not select.select([], [self._master], [], 0.05)[1]:
                continue  # the host is not reading: wait (the pty buffer is full)
            try:
                n = os.write(self._master, view)
            except OSError:
                return
            view = view[n:]

    def _serve(self) -> None:
        deframer = P.Deframer()
        while not self._stop.is_set():
            if not select.select([self._master], [], [], 0.05)[0]:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                continue  # no reader on the slave end yet
            for frame in deframer.feed(data):
                self.requests.append(frame)
                self._streaming.set()
                out = self.override(frame) if self.override else None
                if out is None:
                    out = self.answer(frame)
                if out:
                    self._write(out)

    def _flood(self) -> None:
        self._streaming.wait()
        while not self._stop.is_set():
            self._write(self.stream())

    def answer(self, f: P.Frame) -> bytes | None:
        t, req = f.type, f.req_id
        if t == P.Type.INFO:
            body = struct.pack("<BBH16s16s16s", 2, 1, self.max_chunk, self.device_id, b"6.6.6", b"EVIL")
            return reply(t | P.REPLY, req, body)
        if t == P.Type.SET_TIME:
            return reply(t | P.REPLY, req, bytes(8))
        if t == P.Type.LIST:
            (start,) = struct.unpack("<H", f.body)
            listing = self.listing or [(sid, len(d)) for sid, d in sorted(self.files.items())]
            page = listing[start : start + 100]
            body = struct.pack("<HB", len(listing), len(page))
            body += b"".join(struct.pack("<IIB", sid, size, 0) for sid, size in page)
            return reply(t | P.REPLY, req, body)
        if t == P.Type.READ:
            sid, off, n = struct.unpack("<IIH", f.body)
            data = self.files.get(sid)
            if data is None:
                return reply(P.Type.ERROR, req, struct.pack("<BBI", 4, t, sid))
            return reply(t | P.REPLY, req, struct.pack("<I", off) + data[off : off + min(n, self.max_chunk)])
        if t == P.Type.CHECKSUM:
            sid, off, n = struct.unpack("<III", f.body)
            part = self.files.get(sid, b"")[off : off + n]
            return reply(t | P.REPLY, req, struct.pack("<III", off, len(part), zlib.crc32(part)))
        if t == P.Type.DELETE:
            sid, size = struct.unpack_from("<II", f.body)
            if sid in self.files and hashlib.sha256(self.files[sid]).digest() == f.body[8:]:
                self.deletes.append(sid)
                del self.files[sid]
                return reply(t | P.REPLY, req, b"")
            return reply(P.Type.ERROR, req, struct.pack("<BBI", 5, t, 0))
        return reply(P.Type.ERROR, req, struct.pack("<BBI", 2, t, 0))


class Keeper:
    """The caller's keep(path): holds copies of what it was handed."""

    def __init__(self) -> None:
        self.kept: list[bytes] = []

    def __call__(self, path: Path) -> bool:
        self.kept.append(path.read_bytes())
        return True


def sync(clip: PtyClip, tmp_path: Path, keeper: Keeper | None = None, **opts):
    """Run one sync against ``clip`` with short timeouts; returns (report or the one error, keeper)."""
    keeper = keeper or Keeper()
    fast = {"timeout_s": 0.3, "retries": 1, "backoff_s": 0.0, "reconnects": 0, **opts}

    async def go():
        return await asyncio.wait_for(
            sync_device(
                lambda: SerialTransport.open(clip.port), keeper, tmp_path / "incoming", SyncOptions(**fast)
            ),
            HANG_S,
        )

    try:
        return asyncio.run(go()), keeper
    except HipsenseError as e:
        return e, keeper


def leftovers(tmp_path: Path) -> list[str]:
    incoming = tmp_path / "incoming"
    return sorted(p.name for p in incoming.iterdir()) if incoming.exists() else []


def one_line(err: BaseException) -> str:
    text = str(err)
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


SESSION = bytes(range(256)) * 23  # 5,888 bytes: six READs of 1,024


def test_an_honest_clip_on_the_same_rig_syncs(tmp_path):
    # The rig itself works: without lies, both sessions arrive byte-identical and are deleted.
    other = bytes(reversed(SESSION))
    with PtyClip({1: SESSION, 2: other}) as clip:
        report, keeper = sync(clip, tmp_path)
    assert [s.status for s in report.sessions] == [STORED, STORED]
    assert keeper.kept == [SESSION, other] and clip.deletes == [1, 2]
    assert leftovers(tmp_path) == []


# -- endless streams: nothing the device sends may keep a request alive for ever --------------------


def _no_answer(frame: P.Frame) -> bytes:
    return b""  # the script answers nothing itself; only the stream flows


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(lambda: b"\x55" * 512, id="noise-without-delimiters"),
        pytest.param(lambda: reply(P.Type.INFO | P.REPLY, 0xBEEF, bytes(52)), id="replies-to-wrong-ids"),
        pytest.param(lambda: bytes([3, 1, 2, 0]) * 64, id="frames-that-do-not-decode"),
    ],
)
def test_an_endless_stream_ends_the_sync_with_one_line(tmp_path, stream):
    with PtyClip({1: SESSION}, stream=stream) as clip:
        clip.override = _no_answer
        tracemalloc.start()
        try:
            err, keeper = sync(clip, tmp_path, max_wait_s=2.0)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert isinstance(err, HipsenseError), err
    assert "no hipsense clip answers" in one_line(err)
    assert keeper.kept == [] and leftovers(tmp_path) == []
    assert peak < 8 * 2**20, peak


def test_a_flood_of_live_packets_during_a_sync_is_bounded(tmp_path):
    # The clip answers INFO, SET_TIME and LIST, then floods LIVE packets that nobody asked for and
    # never answers a READ: the READs must still time out, and the unasked packets must not pile up.
    live = reply(P.Type.LIVE, 7, struct.pack("<IBB", 0, 0, 0))
    with PtyClip({1: SESSION}, stream=lambda: live * 200) as clip:
        clip.override = lambda f: b"" if f.type == P.Type.READ else None
        tracemalloc.start()
        try:
            report, keeper = sync(clip, tmp_path, max_wait_s=2.0)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert not isinstance(report, BaseException), report
    (s,) = report.sessions
    assert s.status == INCOMPLETE and "did not answer READ" in one_line(s.message)
    assert keeper.kept == [] and clip.deletes == []
    assert peak < 16 * 2**20, peak


def test_a_slow_loris_reply_is_cut_off(tmp_path):
    # INFO is answered at once; every READ reply comes one byte per 20 ms, for ever (never complete):
    # bytes keep arriving, so only a ceiling on each request's wait ends it.
    def slow(f: P.Frame) -> bytes | None:
        if f.type != P.Type.READ:
            return None
        for _ in range(10_000):
            if clip._stop.is_set():
                break
            clip._write(b"\x07")
            clip._stop.wait(0.02)
        return b""

    with PtyClip({1: SESSION}) as clip:
        clip.override = slow
        report, keeper = sync(clip, tmp_path, max_wait_s=2.0)
    assert not isinstance(report, BaseException), report
    (s,) = report.sessions
    assert s.status == INCOMPLETE and one_line(s.message)
    assert keeper.kept == [] and clip.deletes == []


def test_the_serial_reader_holds_back_when_the_host_falls_behind():
    # A device floods bytes while the event loop is busy (a flood of tiny bad frames is more than
    # the loop can deframe): the reader thread must stop at READS_IN_FLIGHT reads handed over and
    # leave the rest in the port, not pile up callbacks without limit (before: one per read, thousands
    # in half a second, and under load a sync that never ended).
    from hipsense.sync import serial_transport as st

    master, slave = os.openpty()
    stop = threading.Event()

    def flood() -> None:
        junk = bytes([3, 1, 2, 0]) * 64
        while not stop.is_set():
            if select.select([], [master], [], 0.05)[1]:
                os.write(master, junk)

    class Counting(st.SerialTransport):
        calls = 0

        def received(self, data: bytes) -> None:
            Counting.calls += 1
            super().received(data)

    async def go() -> int:
        transport = Counting(st.open_serial(os.ttyname(slave)), asyncio.get_running_loop())
        try:
            threading.Thread(target=flood, daemon=True).start()
            time.sleep(0.5)  # the loop is busy: nothing it was handed runs meanwhile
            await asyncio.sleep(0)  # one turn: every read handed over during the block is taken
            return Counting.calls
        finally:
            stop.set()
            await transport.close()

    try:
        backlog = asyncio.run(go())
    finally:
        stop.set()
        os.close(master)
        os.close(slave)
    assert 0 < backlog <= st.READS_IN_FLIGHT, backlog
