"""Host side of the sync protocol against the golden vectors, plus property tests of the framing."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hipsense.sync import auth_wire as W
from hipsense.sync import protocol as P
from hipsense.sync.checks import check_version
from hipsense.sync.client import Client
from hipsense.sync.errors import DeviceRefused, NoReply, ProtocolVersionError
from hipsense.sync.transport import Transport

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
V = json.loads((VECTORS / "sync" / "frames.json").read_text())
EX = {e["name"]: e for e in V["exchanges"]}


@pytest.mark.parametrize("case", V["cobs"], ids=lambda c: f"{len(c['raw']) // 2}B")
def test_cobs_matches_vectors(case):
    raw = bytes.fromhex(case["raw"])
    assert P.cobs_encode(raw).hex() == case["encoded"]
    assert P.cobs_decode(bytes.fromhex(case["encoded"])) == raw


def _requests():
    yield "info", P.Type.INFO, b""
    yield "status_clock_not_set", P.Type.STATUS, b""
    yield "set_time", P.Type.SET_TIME, P.set_time_request(1_790_000_000)
    yield "list", P.Type.LIST, P.list_request(0)
    yield "read_start", P.Type.READ, P.read_request(1, 0, 32)
    yield "read_tail", P.Type.READ, P.read_request(1, 6000, 4096)
    yield "checksum_whole", P.Type.CHECKSUM, P.checksum_request(0x2A, 0, 16384)
    yield "checksum_clipped", P.Type.CHECKSUM, P.checksum_request(1, 100, 1_000_000)
    digest = hashlib.sha256((VECTORS / "three_axis_accel.session").read_bytes()).digest()
    yield "delete", P.Type.DELETE, P.delete_request(1, 6144, digest)
    yield "start", P.Type.START, b""
    yield "stop", P.Type.STOP, b""


@pytest.mark.parametrize("name,ftype,body", list(_requests()), ids=lambda x: x if isinstance(x, str) else "")
def test_host_builds_the_vector_requests(name, ftype, body):
    req = P.parse(bytes.fromhex(EX[name]["request"])).req_id
    assert P.seal(ftype, req, body).hex() == EX[name]["request"]


def test_host_reads_every_vector_reply():
    parsers = {
        P.Type.INFO: lambda b: vars(P.info_body(b)),
        P.Type.STATUS: lambda b: vars(P.status_body(b)),
        P.Type.SET_TIME: lambda b: {"previous": P.u64_body(b)},
        P.Type.LIST: lambda b: (
            lambda t, e: {"total": t, "entries": [[x.session_id, x.size, x.recording] for x in e]}
        )(*P.list_body(b)),
        P.Type.READ: lambda b: (lambda o, d: {"offset": o, "data": d.hex()})(*P.read_body(b)),
        P.Type.CHECKSUM: lambda b: dict(zip(("offset", "length", "crc"), P.checksum_body(b), strict=True)),
        P.Type.DELETE: lambda b: {},
        P.Type.START: lambda b: {"session_id": P.u32_body(b)},
        P.Type.STOP: lambda b: {"session_id": P.u32_body(b)},
        P.Type.ERROR: lambda b: vars(P.error_body(b)),
    }
    for ex in V["exchanges"]:
        reply = P.parse(bytes.fromhex(ex["reply"]))
        assert reply.req_id == int.from_bytes(bytes.fromhex(ex["request"])[1:3], "little"), ex["name"]
        ftype = P.Type.ERROR if reply.type == P.Type.ERROR else P.Type(reply.type & ~P.REPLY)
        assert parsers[ftype](reply.body) == ex["fields"], ex["name"]


def test_first_request_cannot_interrupt_the_firmware():
    # Ctrl-C is 0x03; the USB link disables it only once a first frame has arrived.
    assert 3 not in P.wire(P.seal(P.Type.INFO, P.FIRST_REQUEST_ID))


def test_parse_rejects_damage():
    good = bytes.fromhex(EX["info"]["reply"])
    with pytest.raises(P.FrameError, match="CRC"):
        P.parse(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(P.FrameError, match="body bytes"):
        P.parse(good[:-5] + good[-4:])
    with pytest.raises(P.FrameError, match="shorter"):
        P.parse(good[:5])
    with pytest.raises(P.FrameError):
        P.cobs_decode(b"\x05ab")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=700))
def test_cobs_round_trip_has_no_zero(data):
    enc = P.cobs_encode(data)
    assert 0 not in enc
    assert len(enc) <= len(data) + len(data) // 254 + 1
    assert P.cobs_decode(enc) == data


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=6), st.binary(max_size=200), st.integers(1, 50))
def test_deframer_finds_every_frame_in_noise_and_never_crashes(bodies, noise, piece):
    frames = [P.seal(P.Type.READ | P.REPLY, i, b) for i, b in enumerate(bodies)]
    stream = noise + b"\x00" + b"".join(P.wire(f) for f in frames)
    d = P.Deframer()
    got = []
    for i in range(0, len(stream), piece):  # arrives in pieces, as notifications or serial reads do
        got += d.feed(stream[i : i + piece])
    assert [g.encode() for g in got if g.encode() in frames] == frames


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=120))
def test_reply_parsers_raise_only_frame_errors(data):
    for fn in (
        P.info_body,
        P.list_body,
        P.read_body,
        P.status_body,
        P.error_body,
        P.checksum_body,
        P.u32_body,
        W.auth_challenge_body,
        W.auth_body,
        W.pair_body,
    ):
        try:
            fn(data)
        except P.FrameError:
            pass


def test_host_reads_the_live_vector():
    v = V["live"]
    packet = P.live_packet(P.parse(bytes.fromhex(v["frame"])), 6)
    assert packet.seq == 0 and packet.first_index == v["first_index"] and not packet.dropped_before
    assert packet.counts.tolist() == v["samples"]
    with pytest.raises(P.FrameError):
        P.live_packet(P.Frame(P.Type.LIVE, 0, bytes.fromhex(v["frame"])[5:-5]), 6)


class _ScriptedDevice(Transport):
    """Answers each request with the next scripted frame (any bytes), then stays silent."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.queue: asyncio.Queue = asyncio.Queue()

    async def send(self, frame: bytes) -> None:
        req = P.parse(frame).req_id
        if self.replies:
            ftype, body, same_id = self.replies.pop(0)
            self.queue.put_nowait(P.Frame(ftype, req if same_id else (req + 1) & 0xFFFF, body))

    async def recv(self):
        return await self.queue.get()

    async def close(self) -> None:
        pass

    @property
    def bad_frames(self) -> int:
        return 0


_reply_types = st.sampled_from(
    [P.Type.READ | P.REPLY, P.Type.LIST | P.REPLY, P.Type.ERROR, P.Type.LIVE, 0x13]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_reply_types, st.binary(max_size=30), st.booleans()), max_size=6))
def test_client_survives_any_device_replies(replies):
    # Whatever the device sends back, a request ends in a parsed reply or a typed sync error.
    async def go():
        client = Client(_ScriptedDevice(replies), timeout_s=0.005, retries=3, backoff_s=0.0)
        try:
            for ftype, parse in ((P.Type.READ, P.read_body), (P.Type.LIST, P.list_body)):
                try:
                    await client.request(ftype, b"", parse)
                except (DeviceRefused, NoReply):
                    pass
        finally:
            await client.close()

    asyncio.run(go())


@pytest.mark.parametrize(
    ("major", "says"), [(P.VERSION_MAJOR - 1, "too old"), (P.VERSION_MAJOR + 1, "update hipsense")]
)
def test_other_protocol_major_versions_are_refused_with_what_to_update(major, says):
    info = P.DeviceInfo(major, 3, 4096, "HS-1", "9.9.9", "LSM6DSOX")
    with pytest.raises(ProtocolVersionError, match=says) as err:
        check_version(info, "/dev/ttyACM0")
    assert f"{major}.3" in str(err.value) and "/dev/ttyACM0" in str(err.value)
    check_version(
        P.DeviceInfo(P.VERSION_MAJOR, 99, 4096, "HS-1", "9.9.9", "LSM6DSOX"), "x"
    )  # newer minor: fine
