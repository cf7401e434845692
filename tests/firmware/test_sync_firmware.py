"""The firmware's sync code (protocol.py, sync.py, link_usb.py) on MicroPython against the golden vectors.

Runs tests/firmware/mp/mpsync_vectors.py once in one interpreter with tests/vectors/sync/frames.json
and the session vectors it names copied to /vectors; each of its test functions is one pytest test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from hipsense.sync import protocol as P  # noqa: E402
from tests.mpy.harness import mp_test_names, run_micropython, run_test_module, unavailable_reason  # noqa: E402

MODULE = ROOT / "tests" / "firmware" / "mp" / "mpsync_vectors.py"
VECTORS = ROOT / "tests" / "vectors"

pytestmark = pytest.mark.firmware


@pytest.fixture(scope="module")
def results() -> dict:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    frames = VECTORS / "sync" / "frames.json"
    sessions = json.loads(frames.read_text())["device"]["sessions"].values()
    return run_test_module(
        MODULE,
        files=[
            (frames, "/vectors/frames.json"),
            *[(VECTORS / name, f"/vectors/{name}") for name in sessions],
        ],
    )


@pytest.mark.parametrize("name", mp_test_names(MODULE))
def test_firmware_sync(results: dict, name: str):
    assert name in results, f"{name} did not report (crashed earlier?)"
    assert results[name]["ok"], results[name]["tb"]


# -- fuzzing: bad frames from the host get error replies, never a crash -------------------------

_FUZZ = """
import asyncio, binascii, os, sync, link_usb, protocol as P
from fake_sync import FakeRecorder, MemoryReader, MemoryWriter, StillClock
os.mkdir("/sessions")
with open("/vectors/s.hsn", "rb") as src, open("/sessions/00000001.hsn", "wb") as dst:
    dst.write(src.read())
server = sync.SyncServer("/sessions", ("HS", "1", "X"), recorder=FakeRecorder(), clock=StillClock(), max_chunk=512)
for h in FRAMES:
    f = bytearray(binascii.unhexlify(h))
    n = server.handle(f, len(f))
    print("@@R " + binascii.hexlify(server.out[:n]).decode())
server = sync.SyncServer("/sessions", ("HS", "1", "X"), recorder=FakeRecorder(), clock=StillClock(), max_chunk=512)
reader, writer = MemoryReader(binascii.unhexlify(STREAM), piece=61), MemoryWriter()
reader.close()
async def main():
    await server.serve(link_usb.UsbLink(reader, writer, max_reply=529))
    print("@@STREAM", server.requests, writer.data.count(b"\\x00"))
await asyncio.create_task(main())
"""

_TYPES = st.sampled_from([*range(1, 10), 0x42, 0x81, 0xFF])


@st.composite
def _frames(draw) -> bytes:
    kind = draw(st.sampled_from(["random", "valid", "flipped"]))
    if kind == "random":
        return draw(st.binary(min_size=0, max_size=40))
    body = draw(st.binary(max_size=20))
    frame = bytearray(P.seal(draw(_TYPES), draw(st.integers(0, 0xFFFF)), body))
    if kind == "flipped":
        i = draw(st.integers(0, len(frame) - 1))
        frame[i] ^= 1 << draw(st.integers(0, 7))
    return bytes(frame)


@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_frames(), min_size=150, max_size=150), st.binary(min_size=50, max_size=300))
def test_fuzzed_frames_get_valid_replies_never_a_crash(frames, noise):
    if unavailable_reason():
        pytest.skip(unavailable_reason())
    stream = noise + b"\x00" + b"".join(P.wire(f) for f in frames)
    code = f"FRAMES = {[f.hex() for f in frames]!r}\nSTREAM = {stream.hex()!r}\n" + _FUZZ
    out = run_micropython(code, files=[(VECTORS / "three_axis_accel.session", "/vectors/s.hsn")]).stdout
    replies = [bytes.fromhex(line[4:]) for line in out.splitlines() if line.startswith("@@R ")]
    assert len(replies) == len(frames)
    for sent, raw in zip(frames, replies, strict=True):
        reply = P.parse(raw)  # a valid frame, CRC and all
        try:
            request = P.parse(sent)
        except P.FrameError:
            assert reply.type == P.Type.ERROR and P.error_body(reply.body).code == P.ErrorCode.BAD_FRAME
            continue
        assert reply.req_id == request.req_id
        assert reply.type in (P.Type.ERROR, request.type | P.REPLY)
    served = [line for line in out.splitlines() if line.startswith("@@STREAM")]
    requests, replies_sent = map(int, served[0].split()[1:])
    # Every frame of 9 bytes or more is answered (the noise may hold a few more), one reply each.
    assert requests >= sum(len(f) >= P.OVERHEAD for f in frames) and replies_sent == requests
