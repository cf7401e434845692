"""The host's sync against a device that says absurd things, in process (a scripted device speaking
the protocol over an in-memory Transport): every size and count from the device is bounded where it
is read, one bad value fails alone with one clear line, and nothing is left half-done. Also: the
sync hands files to a ``keep`` callback and imports nothing of the store.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import struct
import zlib
from pathlib import Path

import pytest

from hipsense.sync import protocol as P
from hipsense.sync.engine import DUPLICATE, INCOMPLETE, STORED, Kept, SyncOptions, sync_device
from hipsense.sync.errors import SyncError
from hipsense.sync.transport import Transport
from tests.host.traced import traced

SYNC_PACKAGE = Path(__file__).resolve().parents[2] / "host" / "hipsense" / "sync"


class FakeClip(Transport):
    """A clip over a cable: answers INFO, SET_TIME, LIST, READ (up to ``answer_reads``), CHECKSUM and
    DELETE from ``files`` ({session id: bytes}); ``sizes`` overrides what LIST says of a session."""

    physical = True
    name = "fake clip"

    def __init__(self, files: dict[int, bytes], *, max_chunk: int = 1024, sizes=None, answer_reads=None):
        self.files = dict(files)
        self.max_chunk = max_chunk
        self.sizes = dict(sizes or {})
        self.answer_reads = answer_reads
        self.queue: asyncio.Queue = asyncio.Queue()
        self.reads = 0
        self.deletes: list[tuple[int, int, bytes]] = []

    async def send(self, frame: bytes) -> None:
        f = P.parse(frame)
        body = self.answer(f.type, f.body)
        if body is not None:
            ftype, payload = body
            self.queue.put_nowait(P.Frame(ftype, f.req_id, payload))

    def answer(self, ftype: int, body: bytes):
        if ftype == P.Type.INFO:
            return ftype | P.REPLY, struct.pack("<BBH16s16s16s", 2, 0, self.max_chunk, b"HS-F", b"1", b"X")
        if ftype == P.Type.SET_TIME:
            return ftype | P.REPLY, struct.pack("<Q", 0)
        if ftype == P.Type.LIST:
            entries = b"".join(
                struct.pack("<IIB", sid, self.sizes.get(sid, len(d)), 0)
                for sid, d in sorted(self.files.items())
            )
            return ftype | P.REPLY, struct.pack("<HB", len(self.files), len(self.files)) + entries
        if ftype == P.Type.READ:
            self.reads += 1
            if self.answer_reads is not None and self.reads > self.answer_reads:
                return None  # silent from now on
            sid, off, n = struct.unpack("<IIH", body)
            return ftype | P.REPLY, struct.pack("<I", off) + self.files[sid][off : off + n]
        if ftype == P.Type.CHECKSUM:
            sid, off, n = struct.unpack("<III", body)
            part = self.files[sid][off : off + n]
            return ftype | P.REPLY, struct.pack("<III", off, len(part), zlib.crc32(part))
        if ftype == P.Type.DELETE:
            sid, size = struct.unpack_from("<II", body)
            self.deletes.append((sid, size, body[8:]))
            return ftype | P.REPLY, b""
        return P.Type.ERROR, struct.pack("<BBI", 2, ftype, 0)

    async def recv(self) -> P.Frame:
        return await self.queue.get()

    async def close(self) -> None:
        pass

    @property
    def bad_frames(self) -> int:
        return 0


def _run(clip: FakeClip, tmp_path: Path, keep=None, **opts):
    kept: list[bytes] = []

    def keep_all(path: Path):
        kept.append(path.read_bytes())
        return True

    async def connect():
        return clip

    fast = {"timeout_s": 0.05, "retries": 1, "backoff_s": 0.0, "reconnects": 0, **opts}
    report = asyncio.run(sync_device(connect, keep or keep_all, tmp_path / "incoming", SyncOptions(**fast)))
    return report, kept


def _leftovers(tmp_path: Path) -> list[Path]:
    incoming = tmp_path / "incoming"
    return list(incoming.iterdir()) if incoming.exists() else []


@pytest.mark.parametrize("max_chunk", [0, 1, P.MAX_CHUNK + 1, 0xFFFF])
def test_absurd_max_chunk_is_one_clear_error_and_leaves_no_part(tmp_path, max_chunk):
    clip = FakeClip({1: bytes(5000)}, max_chunk=max_chunk)
    with pytest.raises(SyncError, match=f"announces READ chunks of {max_chunk} bytes, outside"):
        _run(clip, tmp_path)
    assert _leftovers(tmp_path) == [] and clip.reads == 0


@pytest.mark.parametrize("size", [0xFFFFFFFF, P.MAX_SESSION_BYTES + 1])
def test_a_listed_size_beyond_a_clips_flash_is_refused_alone(tmp_path, size):
    data = bytes(range(256)) * 20
    clip = FakeClip({1: b"x" * 100, 2: data}, sizes={1: size})
    (report, kept), peak = traced(lambda: _run(clip, tmp_path))
    bad, good = report.sessions
    assert bad.status == INCOMPLETE and f"lists it with {size} bytes, more than a clip's flash" in bad.message
    assert "\n" not in bad.message and not bad.deleted
    assert good.status == STORED and kept == [data]  # the other session is not held back
    assert peak < 4 * 2**20, peak  # no request, buffer or task made for the absurd size (measured 1.1 MB)
    assert [d[0] for d in clip.deletes] == [2]
    assert not [p for p in _leftovers(tmp_path) if p.name.endswith(".part")]


def test_reads_are_made_as_the_window_moves_not_up_front(tmp_path):
    # A 30 MiB session (within bounds) on a clip that goes silent after 10 READs: the engine never has
    # more than its window of READs out, so it asks for 10 + window (+ one resend each) and gives up.
    data = bytes(P.MAX_SESSION_BYTES - 2 * 2**20)
    clip = FakeClip({7: data}, max_chunk=4096, answer_reads=10)
    (report, kept), peak = traced(lambda: _run(clip, tmp_path, window=4))
    assert report.sessions[0].status == INCOMPLETE and not kept and not clip.deletes
    assert clip.reads <= 10 + 4 * 2, clip.reads  # the window, each sent at most twice (retries=1)
    # 7,680 READ tasks made up front would take several MB; the moving window took 59 kB here.
    assert peak < 1 * 2**20, peak
    part = tmp_path / "incoming" / "HS-F-00000007.hsn.part"
    assert part.stat().st_size == 10 * 4096  # what arrived is kept for the next sync to resume


def test_keep_decides_and_delete_carries_the_files_sha256(tmp_path):
    a, b, c = b"A" * 3000, b"B" * 5000, b"C" * 700
    clip = FakeClip({1: a, 2: b, 3: c})
    answers = {a: Kept(STORED, 11), b: "cannot store it: test says no", c: Kept(DUPLICATE, 5)}

    def keep(path: Path):
        return answers[path.read_bytes()]

    report, _ = _run(clip, tmp_path, keep=keep)
    by_id = {s.session_id: s for s in report.sessions}
    assert (by_id[1].status, by_id[1].store_session, by_id[1].deleted) == (STORED, 11, True)
    assert by_id[2].status == INCOMPLETE and "test says no; it stays on the clip" in by_id[2].message
    assert (by_id[3].status, by_id[3].deleted) == (DUPLICATE, True)
    # DELETE proves the bytes with their SHA-256; the refused session is not deleted.
    assert clip.deletes == [(1, len(a), hashlib.sha256(a).digest()), (3, len(c), hashlib.sha256(c).digest())]
    assert sorted(p.name for p in _leftovers(tmp_path)) == ["HS-F-00000002.hsn"]  # left for the caller


def test_the_sync_package_imports_nothing_of_the_store():
    # The device side hands files to keep(path); it must not depend on the laptop's database.
    for path in sorted(SYNC_PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                assert not name.startswith(("hipsense.store", "hipsense.library")), f"{path.name}: {name}"


def test_delete_request_needs_a_whole_digest():
    with pytest.raises(ValueError, match="32-byte SHA-256"):
        P.delete_request(1, 10, b"\x00" * 4)


def test_a_live_packet_jumping_absurdly_far_is_counted_lost_not_kept():
    from types import SimpleNamespace

    import numpy as np

    from hipsense.sync.live import MAX_JUMP_S, LiveStream

    stream = LiveStream(SimpleNamespace(sample_rate_hz=208.0, channels=6), 1, 100)  # the header's rate

    def packet(seq: int, first: int) -> P.LivePacket:
        return P.LivePacket(seq, first, False, np.zeros((16, 6), np.int16))

    stream.add(packet(0, 100))
    stream.add(packet(1, 116 + 2 * 208))  # the clip dropped 2 s (its ring): kept, a gap
    stream.add(packet(2, 0xFFFFFF00))  # 80 days ahead: a damaged or hostile packet
    stream.add(packet(3, 132 + 2 * 208 + int(MAX_JUMP_S * 208) - 40))
    assert stream.packets == 3 and stream.lost_packets == 1
    assert stream.sample_index[-1] < 100 + (MAX_JUMP_S + 3) * 208


def test_a_device_streaming_faster_than_a_clip_records_cannot_fill_memory():
    # A USB device posing as a clip may send LIVE packets as fast as the link carries them (about
    # 1 MB/s: some 5 GB an hour of kept samples, an estimate); a clip sends its rate. On a fake clock:
    # what the lead and the speed allow is kept, the rest counted and dropped, and time lets more in.
    from types import SimpleNamespace

    import numpy as np

    from hipsense.sync.live import LEAD_S, MAX_SPEED, LiveStream

    now = [100.0]
    stream = LiveStream(SimpleNamespace(sample_rate_hz=208.0, channels=6), 1, 0, clock=lambda: now[0])
    per = 16

    def flood(packets: int, start: int, seq: int = 0) -> None:
        for k in range(packets):
            first = start + k * per
            stream.add(P.LivePacket((seq + k) & 0xFFFF, first, False, np.zeros((per, 6), np.int16)))

    flood(10_000, 0)  # 160,000 samples at once: 12.8 min of a clip's recording
    allowed = LEAD_S * 208.0 * MAX_SPEED
    assert allowed - per < len(stream.sample_index) <= allowed
    # the rest dropped: as too fast, and past a minute beyond the last kept sample as a jump (lost)
    kept = len(stream.sample_index) // per
    assert stream.too_fast > 0 and stream.too_fast + stream.lost_packets == 10_000 - kept
    now[0] += 10.0  # ten seconds later, ten seconds' worth more
    flood(2_000, int(stream.sample_index[-1]) + 1, seq=10_000)  # numbered on (a restart would be late)
    assert len(stream.sample_index) <= (LEAD_S + 10.0) * 208.0 * MAX_SPEED
    assert len(stream.sample_index) > (LEAD_S + 10.0) * 208.0 * MAX_SPEED - per
