"""Tests that kill the mutants of hipsense.sync.protocol the other tests let survive (docs/testing.md).

Direct checks of the frame codec, the deframer and every reply parser on bodies laid out byte by byte
from docs/sync-protocol.md: each field at its offset, each flag bit on its own, each length at its edge,
and the exact one-line errors. Expected values are worked out by hand.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from hipsense.sync import protocol as P
from hipsense.sync.cobs import FrameError


def crc(b: bytes) -> bytes:
    return struct.pack("<I", zlib.crc32(b))


def frame_error(fn, *args) -> str:
    with pytest.raises(FrameError) as e:
        fn(*args)
    return str(e.value)


# -- frames ---------------------------------------------------------------------------------------------


def test_seal_lays_out_type_request_id_length_body_and_crc():
    head = b"\x03\x04\x02\x02\x00ab"  # type 3, req_id 0x0204, length 2, body
    assert P.seal(0x03, 0x0204, b"ab") == head + crc(head)
    assert P.seal(0x09, 7) == b"\x09\x07\x00\x00\x00" + crc(b"\x09\x07\x00\x00\x00")
    assert P.Frame(0x03, 0x0204, b"ab").encode() == head + crc(head)


def test_parse_reads_a_frame_and_refuses_each_damage_with_its_message():
    head = b"\x81\xff\xff\x03\x00xyz"
    f = P.parse(head + crc(head))
    assert (f.type, f.req_id, f.body) == (0x81, 0xFFFF, b"xyz") and type(f.body) is bytes
    empty = b"\x01\x00\x00\x00\x00"
    assert P.parse(empty + crc(empty)) == P.Frame(1, 0, b"")  # the shortest frame: 9 bytes
    assert frame_error(P.parse, (empty + crc(empty))[:8]) == "frame of 8 bytes is shorter than 9"
    assert frame_error(P.parse, b"") == "frame of 0 bytes is shorter than 9"
    long = b"\x01\x00\x00\x03\x00xy"
    assert frame_error(P.parse, long + crc(long)) == "frame says 3 body bytes but has 2"
    short = b"\x01\x00\x00\x01\x00xy"
    assert frame_error(P.parse, short + crc(short)) == "frame says 1 body bytes but has 2"
    bad = bytearray(head + crc(head))
    bad[-1] ^= 0x01
    assert frame_error(P.parse, bytes(bad)) == "frame CRC does not match"
    bad = bytearray(head + crc(head))
    bad[6] ^= 0x20  # in the body: the CRC covers it
    assert frame_error(P.parse, bytes(bad)) == "frame CRC does not match"


def test_parse_takes_a_memoryview():
    head = b"\x02\x01\x00\x01\x00Q"
    assert P.parse(memoryview(head + crc(head))).body == b"Q"


def test_wire_is_cobs_then_one_delimiter():
    assert P.wire(b"\x11\x00\x22") == b"\x02\x11\x02\x22\x00"
    assert P.wire(b"") == b"\x01\x00"


# -- Deframer -------------------------------------------------------------------------------------------


def wired(ftype: int, req_id: int, body: bytes) -> bytes:
    return P.wire(P.seal(ftype, req_id, body))


def test_deframer_splits_frames_and_keeps_an_unfinished_one():
    a, b = wired(0x81, 1, b"one\x00"), wired(0x82, 2, b"")
    d = P.Deframer()
    assert d.feed(a + b[:3]) == [P.Frame(0x81, 1, b"one\x00")]
    assert d.feed(b"") == []
    assert d.feed(b[3:] + b"\x00\x00" + a) == [P.Frame(0x82, 2, b""), P.Frame(0x81, 1, b"one\x00")]
    assert d.bad == 0


def test_deframer_counts_each_bad_chunk_and_carries_on():
    d = P.Deframer()
    good = wired(0x81, 5, b"ok")
    broken = bytearray(good)
    broken[3] ^= 0x40  # CRC fails
    out = d.feed(b"\x05\x01\x00" + bytes(broken) + b"\x02\x01\x00" + good)  # bad COBS, bad CRC, short frame
    assert out == [P.Frame(0x81, 5, b"ok")]
    assert d.bad == 3


def test_deframer_drops_noise_longer_than_its_largest_frame():
    d = P.Deframer()
    assert d.max_frame == 1 << 17
    assert d.feed(b"\x01" * (1 << 17)) == [] and d.bad == 0  # exactly the limit: kept
    assert d.feed(b"\x01") == [] and d.bad == 1  # one more: dropped
    assert d.feed(wired(0x81, 9, b"after")) == [P.Frame(0x81, 9, b"after")] and d.bad == 1
    small = P.Deframer(max_frame=10)
    assert small.feed(b"\x01" * 10) == [] and small.bad == 0
    assert small.feed(b"\x01") == [] and small.bad == 1
    small.feed(b"\x01" * 11)
    assert small.bad == 2
    assert small.feed(wired(0x81, 3, b"")) == [P.Frame(0x81, 3, b"")]


# -- reply bodies ---------------------------------------------------------------------------------------


def text16(s: bytes) -> bytes:
    return s + bytes(16 - len(s))


def test_info_body_reads_the_fixed_part_and_the_strings_of_its_major():
    fixed = b"\x02\x01\x00\x10"  # 2.1, max_chunk 4096
    full = fixed + text16(b"HS-7") + text16(b"fw 2.1") + text16(b"LSM6DSOX")
    assert P.info_body(full) == P.DeviceInfo(2, 1, 4096, "HS-7", "fw 2.1", "LSM6DSOX")
    assert P.info_body(full + b"newer fields") == P.DeviceInfo(2, 1, 4096, "HS-7", "fw 2.1", "LSM6DSOX")
    assert P.info_body(full[:51]) == P.DeviceInfo(2, 1, 4096, "", "", "")
    assert P.info_body(fixed) == P.DeviceInfo(2, 1, 4096, "", "", "")
    assert P.info_body(b"\x03\x00\x40\x00" + full[4:]) == P.DeviceInfo(3, 0, 64, "", "", "")
    assert P.info_body(b"\x01\x09\x00\x80" + full[4:]) == P.DeviceInfo(1, 9, 32768, "", "", "")
    assert frame_error(P.info_body, fixed[:3]) == "INFO reply of 3 bytes"
    assert frame_error(P.info_body, b"") == "INFO reply of 0 bytes"


def test_info_strings_lose_trailing_nuls_only_and_keep_bad_bytes_visible():
    full = b"\x02\x00\x00\x01" + b"\0HS" + bytes(13) + text16(b"a\xffb") + b"x" * 16
    info = P.info_body(full)
    assert (info.device_id, info.firmware_version, info.sensor_model) == ("\0HS", "a\ufffdb", "x" * 16)


def test_list_request_and_body():
    assert P.list_request(0x0105) == b"\x05\x01"
    body = b"\x07\x01\x03" + b"".join(
        struct.pack("<IIB", sid, size, flags) for sid, size, flags in [(1, 100, 0), (2, 70000, 1), (3, 5, 2)]
    )
    total, entries = P.list_body(body)
    assert total == 0x0107
    assert entries == [
        P.SessionEntry(1, 100, False),
        P.SessionEntry(2, 70000, True),
        P.SessionEntry(3, 5, False),  # bit 1 is not the recording bit
    ]
    assert P.list_body(b"\x00\x00\x00") == (0, [])
    assert frame_error(P.list_body, b"\x00\x00") == "LIST reply of 2 bytes"
    assert frame_error(P.list_body, body[:-1]) == "LIST reply with 3 entries has 29 bytes"
    assert frame_error(P.list_body, body + b"\0") == "LIST reply with 3 entries has 31 bytes"
    assert P.list_body(b"\x01\x00\x01" + struct.pack("<IIB", 9, 1, 0xFF)) == (1, [P.SessionEntry(9, 1, True)])


def test_read_request_and_body():
    assert P.read_request(0x01020304, 0x0A0B0C0D, 0x0E0F) == bytes.fromhex("04030201 0d0c0b0a 0f0e")
    assert P.read_body(b"\x10\x00\x00\x01data") == (0x01000010, b"data")
    assert P.read_body(b"\x10\x00\x00\x00") == (16, b"")
    assert frame_error(P.read_body, b"\x10\x00\x00") == "READ reply of 3 bytes"


def test_checksum_request_and_body():
    assert P.checksum_request(1, 2, 0x03000000) == bytes.fromhex("01000000 02000000 00000003")
    assert P.checksum_body(bytes.fromhex("00100000 00200000 efbeadde")) == (4096, 8192, 0xDEADBEEF)
    assert frame_error(P.checksum_body, bytes(11)) == "CHECKSUM reply of 11 bytes, expected 12"
    assert frame_error(P.checksum_body, bytes(13)) == "CHECKSUM reply of 13 bytes, expected 12"


def test_delete_request_carries_the_digest_and_refuses_another_length():
    digest = bytes(range(32))
    assert P.delete_request(5, 0x1234, digest) == b"\x05\x00\x00\x00\x34\x12\x00\x00" + digest
    with pytest.raises(ValueError) as e:
        P.delete_request(5, 1, digest[:31])
    assert str(e.value) == "a DELETE needs a 32-byte SHA-256, not 31 bytes"
    with pytest.raises(ValueError):
        P.delete_request(5, 1, digest + b"!")


def test_small_bodies_and_their_length_errors():
    assert P.set_time_request(0x0102030405060708) == bytes.fromhex("0807060504030201")
    assert P.u32_body(b"\x2a\x00\x00\x80") == 0x8000002A
    assert frame_error(P.u32_body, b"\x2a\x00\x00") == "session id reply of 3 bytes, expected 4"
    assert P.u64_body(bytes.fromhex("0807060504030201")) == 0x0102030405060708
    assert frame_error(P.u64_body, bytes(9)) == "time reply of 9 bytes, expected 8"
    assert P.empty_body(b"") is None
    assert frame_error(P.empty_body, b"\0") == "empty reply of 1 bytes, expected 0"
    assert P.selftest_request(0x0140) == b"\x40\x01"


def status(flags: int) -> bytes:
    return struct.pack("<BIQHBIH", flags, 0x11223344, 1_790_000_000, 3900, 87, 123456, 12)


@pytest.mark.parametrize(
    ("flags", "recording", "clock", "limited", "pairing"),
    [
        (0x00, False, False, False, False),
        (0x01, True, False, False, False),
        (0x02, False, True, False, False),
        (0x04, False, False, True, False),
        (0x08, False, False, False, True),
        (0xF0, False, False, False, False),
        (0x0F, True, True, True, True),
    ],
)
def test_status_body_reads_each_flag_bit_on_its_own(flags, recording, clock, limited, pairing):
    s = P.status_body(status(flags))
    assert (s.recording, s.clock_set, s.limited, s.pairing) == (recording, clock, limited, pairing)
    assert (s.session_id, s.unix_time, s.battery_mv, s.battery_pct, s.free_kib, s.sessions) == (
        0x11223344,
        1_790_000_000,
        3900,
        87,
        123456,
        12,
    )


def test_status_body_length_error():
    assert frame_error(P.status_body, status(0)[:-1]) == "STATUS reply of 21 bytes, expected 22"


def test_error_body_and_its_text():
    e = P.error_body(b"\x07\x03\x01\x00\x00\x00")
    assert e == P.DeviceError(code=7, request_type=3, detail=1)
    assert e.text == P.ERROR_TEXT[P.ErrorCode.NOT_SECURE]
    assert P.DeviceError(4, 3, 0).text == "no such session on the device"
    assert P.DeviceError(99, 3, 0).text == "unknown error code 99"
    assert P.DeviceError(0, 3, 0).text == "unknown error code 0"
    assert frame_error(P.error_body, bytes(5)) == "ERROR reply of 5 bytes, expected 6"


def test_live_start_body():
    body = struct.pack("<IIBB", 42, 1000, 6, 12)
    assert P.live_start_body(body) == P.LiveStart(session_id=42, first_index=1000, channels=6, per_packet=12)
    assert frame_error(P.live_start_body, body + b"\0") == "LIVE_START reply of 11 bytes, expected 10"


def test_live_packet_reads_counts_and_the_dropped_flag():
    counts = [(1, -2, 3), (-32768, 32767, 0)]
    body = struct.pack("<IBB", 500, 2, 0x01) + b"".join(struct.pack("<3h", *c) for c in counts)
    p = P.live_packet(P.Frame(P.Type.LIVE, 77, body), 3)
    assert (p.seq, p.first_index, p.dropped_before) == (77, 500, True)
    np.testing.assert_array_equal(p.counts, np.array(counts))
    assert p.counts.shape == (2, 3) and p.counts.dtype == np.dtype("<i2")
    six = P.live_packet(P.Frame(P.Type.LIVE, 1, body[:4] + b"\x01\x02" + body[6:]), 6)
    assert six.dropped_before is False and six.counts.tolist() == [[1, -2, 3, -32768, 32767, 0]]
    empty = P.live_packet(P.Frame(P.Type.LIVE, 2, struct.pack("<IBB", 9, 0, 0)), 6)
    assert empty.counts.shape == (0, 6) and empty.first_index == 9


def test_live_packet_refuses_a_body_of_the_wrong_length():
    assert frame_error(P.live_packet, P.Frame(P.Type.LIVE, 0, bytes(5)), 3) == "LIVE packet of 5 bytes"
    body = struct.pack("<IBB", 0, 2, 0) + bytes(11)
    assert (
        frame_error(P.live_packet, P.Frame(P.Type.LIVE, 0, body), 3)
        == "LIVE packet with 2 samples has 17 bytes"
    )
    assert frame_error(P.live_packet, P.Frame(P.Type.LIVE, 0, body + bytes(2)), 3) == (
        "LIVE packet with 2 samples has 19 bytes"
    )


def test_selftest_body():
    body = struct.pack("<IIIBBB", 65536, 1200, 300, 1, 0x01, 2)
    assert P.selftest_body(body) == P.SelfTest(65536, 1200, 300, True, True, 2)
    body = struct.pack("<IIIBBB", 1024, 5, 6, 0, 0x02, 0)
    assert P.selftest_body(body) == P.SelfTest(1024, 5, 6, False, False, 0)
    assert P.selftest_body(struct.pack("<IIIBBB", 1, 1, 1, 2, 0xFF, 1)).verified is True
    assert frame_error(P.selftest_body, body[:-1]) == "SELFTEST reply of 14 bytes, expected 15"


def test_every_integer_field_is_unsigned_up_to_its_top_bit():
    # docs/sync-protocol.md: all fields are unsigned little-endian; the top bit is a value, not a sign.
    assert P.list_request(0x8001) == b"\x01\x80"
    entries = b"".join(struct.pack("<IIB", i, 9, 0) for i in range(200))
    total, got = P.list_body(b"\xff\xff\xc8" + entries)  # 65535 sessions, 200 on this page
    assert total == 0xFFFF and len(got) == 200 and got[-1].session_id == 199
    assert P.read_request(0x80000001, 0xFFFFFFFF, 0x8000) == bytes.fromhex("01000080 ffffffff 0080")
    assert P.read_body(b"\x00\x00\x00\x80x") == (0x80000000, b"x")
    assert P.checksum_request(0xFFFFFFFF, 0x80000000, 0x90000000) == bytes.fromhex(
        "ffffffff 00000080 00000090"
    )
    digest = bytes(32)
    assert P.delete_request(0x80000000, 0xF0000000, digest)[:8] == bytes.fromhex("00000080 000000f0")
    assert P.set_time_request(0x8000000000000001) == bytes.fromhex("0100000000000080")
    assert P.u64_body(bytes.fromhex("ffffffffffffffff")) == 0xFFFFFFFFFFFFFFFF
    start = P.live_start_body(bytes.fromhex("ffffff7f 00000080 ff 80"))
    assert start == P.LiveStart(0x7FFFFFFF, 0x80000000, 255, 128)
    body = struct.pack("<IBB", 0xFFFFFFFE, 200, 0x80) + bytes(200 * 2 * 3)
    p = P.live_packet(P.Frame(P.Type.LIVE, 0xFFFF, body), 3)
    assert (p.seq, p.first_index, p.dropped_before, p.counts.shape) == (0xFFFF, 0xFFFFFFFE, False, (200, 3))
    assert P.selftest_request(0xFFFF) == b"\xff\xff"
    test = P.selftest_body(struct.pack("<IIIBBB", 0x80000000, 0xFFFFFFFF, 0x80000001, 0x80, 0x81, 200))
    assert test == P.SelfTest(0x80000000, 0xFFFFFFFF, 0x80000001, True, True, 200)
