"""Tests that kill the mutants of the session header and block finder the other tests let survive.

Direct checks of :mod:`hipsense.formats.session_header` and :mod:`hipsense.formats.session_blocks`
(docs/testing.md, "Mutation testing"): every bound of docs/session-format.md at and just past its
edge, the exact one-line messages and byte offsets, and where the block finder resynchronises. The
headers and blocks are laid out byte by byte here and in ``tests/vectors/spec_writer.py`` (which imports
nothing from hipsense); the expected outcomes are worked out by hand from the spec.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from hipsense.conventions import G
from hipsense.errors import SessionFileError
from hipsense.formats import session_blocks
from hipsense.formats.session_blocks import _grid_ok, _Scanner, locate_blocks, slot_problem
from hipsense.formats.session_header import (
    build_header,
    check_bounds,
    header_fields,
    parse_header,
    scale_warnings,
    text_field,
)
from hipsense.formats.session_spec import SessionHeader
from tests.vectors import spec_writer as sw

NAME = Path("s.hsn")


# -- headers laid out by hand (docs/session-format.md, "Header") ---------------------------------------


def seal(buf: bytearray) -> bytes:
    """The header with its CRC (the last 4 bytes of header_length) written."""
    hl = struct.unpack_from("<I", buf, 8)[0]
    struct.pack_into("<I", buf, hl - 4, zlib.crc32(bytes(buf[: hl - 4])))
    return bytes(buf)


def raw_header(
    *,
    hl: int = 256,
    major: int = 1,
    minor: int = 0,
    channels: int = 6,
    codec: int = 1,
    block_size: int = 256,
    session_id: int = 7,
    odr_mhz: int = 0,
    rate_mhz: int = 208_000,
    acc_range: int = 16,
    gyr_range: int = 2000,
    acc_ng: int = 488_000,
    gyr_ndps: int = 70_000_000,
    start_time: int = 0,
    max_samples: int = 1024,
    mounting: int = 1,
    flags: int = 0,
    device_id: bytes = b"HS-1",
    fw: bytes = b"1.2.3",
    sensor: bytes = b"LSM6DSOX",
) -> bytes:
    buf = bytearray(hl)
    buf[0:4] = b"HSNS"
    buf[4:8] = bytes([major, minor, channels, codec])
    struct.pack_into("<IIIII", buf, 8, hl, block_size, session_id, odr_mhz, rate_mhz)
    struct.pack_into("<HHII", buf, 28, acc_range, gyr_range, acc_ng, gyr_ndps)
    struct.pack_into("<QHBBI", buf, 40, start_time, max_samples, mounting, 0, flags)
    buf[56 : 56 + len(device_id)] = device_id
    buf[72 : 72 + len(fw)] = fw
    buf[88 : 88 + len(sensor)] = sensor
    return seal(buf)


def fields(**kw) -> dict:
    """The header's fields as the reader unpacks them (names of ``header_fields``)."""
    return header_fields(raw_header(**kw))


def refusal(data: bytes) -> SessionFileError:
    with pytest.raises(SessionFileError) as e:
        parse_header(data, NAME)
    return e.value


# -- text_field -----------------------------------------------------------------------------------------


def test_text_field_stops_at_the_first_nul_and_makes_the_rest_safe():
    assert text_field(b"HS-1\0junk\0more") == "HS-1"
    assert text_field(b"\0HS") == ""
    assert text_field(b"caf\xc3\xa9 ok") == "caf\u00e9 ok"  # UTF-8 and a space stay
    assert text_field(b"a\xffb") == "a\ufffdb"  # bad UTF-8
    assert text_field(b"a\x1b[2Jb\x07") == "a\ufffd[2Jb\ufffd"  # control characters (Cc)
    assert text_field("x\u202ey\u200b".encode()) == "x\ufffdy\ufffd"  # bidi override, zero width (Cf)


# -- header_fields / build_header -----------------------------------------------------------------------


def test_header_fields_names_every_field_at_its_offset():
    f = fields(
        session_id=0x01020304,
        odr_mhz=416_000,
        rate_mhz=104_000,
        acc_range=8,
        gyr_range=500,
        acc_ng=244_000,
        gyr_ndps=17_500_000,
        start_time=1_767_225_600,
        max_samples=300,
        mounting=3,
        flags=0x10,
        block_size=512,
        hl=300,
    )
    assert f["magic"] == b"HSNS"
    assert (f["major"], f["minor"], f["channels"], f["codec"]) == (1, 0, 6, 1)
    assert (f["header_length"], f["block_size"], f["session_id"]) == (300, 512, 0x01020304)
    assert (f["odr_mhz"], f["rate_mhz"], f["acc_range"], f["gyr_range"]) == (416_000, 104_000, 8, 500)
    assert (f["acc_ng"], f["gyr_ndps"], f["start_time"]) == (244_000, 17_500_000, 1_767_225_600)
    assert (f["max_samples"], f["mounting_code"], f["reserved"], f["flags"]) == (300, 3, 0, 0x10)
    assert f["device_id"] == b"HS-1" + bytes(12)
    assert f["fw"].rstrip(b"\0") == b"1.2.3" and f["sensor"].rstrip(b"\0") == b"LSM6DSOX"


def test_build_header_carries_every_field_over_in_si_units():
    f = fields(
        minor=1,
        channels=6,
        session_id=42,
        odr_mhz=416_000,
        rate_mhz=104_500,
        acc_range=8,
        gyr_range=500,
        acc_ng=244_000,
        gyr_ndps=17_500_000,
        start_time=1_767_225_600,
        max_samples=300,
        mounting=2,
        block_size=512,
        hl=300,
        device_id=b"dev\x1b",
        fw=b"fw-9",
        sensor=b"BMI270",
    )
    warn: list[str] = []
    h = build_header(f, warn)
    assert warn == []
    assert (h.device_id, h.firmware_version, h.sensor_model) == ("dev\ufffd", "fw-9", "BMI270")
    assert (h.session_id, h.channels, h.acc_range_g, h.gyr_range_dps) == (42, 6, 8, 500)
    assert h.sample_rate_hz == 104.5 and h.odr_hz == 416.0
    assert h.acc_scale_ms2 == pytest.approx(244e-6 * G, rel=1e-12)
    assert h.gyr_scale_dps == pytest.approx(0.0175, rel=1e-12)
    assert (h.mounting, h.start_time_unix, h.block_size, h.block_max_samples) == (
        "side-left",
        1_767_225_600,
        512,
        300,
    )
    assert (h.header_length, h.codec, h.format_version, h.flags) == (300, 1, (1, 1), 0)
    # build_header copies the codec as it is (check_bounds, not build_header, refuses other codecs)
    assert build_header(fields(codec=2), []).codec == 2


def test_build_header_warns_of_an_unknown_mounting_and_flags_and_takes_overrides():
    warn: list[str] = []
    h = build_header(fields(mounting=9, flags=0xA5), warn)
    assert h.mounting == "unknown" and h.flags == 0xA5
    assert warn == ["unknown mounting code 9, read as 'unknown'", "unknown header flags 0x000000a5 ignored"]
    warn = []
    h = build_header(fields(mounting=9, flags=0xA5), warn, mounting_code=4, flags=0, rate_mhz=50_000)
    assert (h.mounting, h.flags, h.sample_rate_hz, warn) == ("front", 0, 50.0, [])
    warn = ["kept"]
    assert build_header(fields(mounting=0), warn).mounting == "unknown" and warn == ["kept"]


# -- check_bounds: each bound at its edge and one past it -----------------------------------------------


def bounds_error(**kw) -> SessionFileError:
    with pytest.raises(SessionFileError) as e:
        check_bounds(fields(**kw), NAME)
    return e.value


@pytest.mark.parametrize(
    ("kw", "offset", "message"),
    [
        (dict(channels=4), 6, "header field channels: unsupported channel count 4 (expected 3 or 6)"),
        (dict(channels=0), 6, "header field channels: unsupported channel count 0 (expected 3 or 6)"),
        (dict(codec=2), 7, "header field codec: unsupported codec 2 (this reader decodes codec 1)"),
        (dict(codec=0), 7, "header field codec: unsupported codec 0 (this reader decodes codec 1)"),
        (
            dict(block_size=128),
            12,
            "header field block_size: invalid block size 128 (a power of two in 256..65536)",
        ),
        (
            dict(block_size=131072),
            12,
            "header field block_size: invalid block size 131072 (a power of two in 256..65536)",
        ),
        (
            dict(block_size=768),
            12,
            "header field block_size: invalid block size 768 (a power of two in 256..65536)",
        ),
        (
            dict(block_size=257),
            12,
            "header field block_size: invalid block size 257 (a power of two in 256..65536)",
        ),
        (
            dict(rate_mhz=9_999),
            24,
            "header field sample_rate_mhz: sample rate 9999 mHz is outside 10..2000 Hz",
        ),
        (
            dict(rate_mhz=2_000_001),
            24,
            "header field sample_rate_mhz: sample rate 2000001 mHz is outside 10..2000 Hz",
        ),
        (
            dict(odr_mhz=32_000_001),
            20,
            "header field odr_mhz: output data rate 32000001 mHz is above 32 kHz",
        ),
        (
            dict(start_time=946_684_799),
            40,
            "header field start_time_unix: 946684799 is outside 2000-01-01..2100-01-01 UTC (0 = clock not set)",
        ),
        (
            dict(start_time=4_102_444_800),
            40,
            "header field start_time_unix: 4102444800 is outside 2000-01-01..2100-01-01 UTC (0 = clock not set)",
        ),
        (dict(max_samples=0), 48, "header field block_max_samples: block_max_samples is 0"),
        (dict(acc_range=0), 28, "header field acc_range_g: 0 is outside 1..64 g"),
        (dict(acc_ng=999), 32, "header field acc_scale_ng: 999 is outside 1000..10000000 ng"),
        (dict(gyr_range=8001), 30, "header field gyr_range_dps: 8001 is outside 1..8000 deg/s"),
        (
            dict(gyr_ndps=1_000_000_001),
            36,
            "header field gyr_scale_ndps: 1000000001 is outside 100000..1000000000 ndps",
        ),
    ],
)
def test_check_bounds_refuses_naming_the_field_and_its_offset(kw, offset, message):
    e = bounds_error(**kw)
    assert e.offset == offset and e.problem == message and e.path == NAME
    assert str(e) == f"s.hsn at byte offset {offset}: {message}"


@pytest.mark.parametrize(
    "kw",
    [
        dict(channels=3, gyr_range=0, gyr_ndps=0),
        dict(channels=6),
        dict(block_size=256),
        dict(block_size=65536),
        dict(block_size=2048),
        dict(rate_mhz=10_000),
        dict(rate_mhz=2_000_000),
        dict(odr_mhz=32_000_000),
        dict(start_time=0),
        dict(start_time=946_684_800),
        dict(start_time=4_102_444_799),
        dict(max_samples=1),
        dict(mounting=200, flags=0xFFFFFFFF),  # unknown mounting and flags are warnings, not refusals
    ],
)
def test_check_bounds_accepts_every_edge(kw):
    check_bounds(fields(**kw), NAME)


def test_check_bounds_skips_the_fields_a_recovery_will_replace():
    bad = fields(rate_mhz=0, start_time=5)
    check_bounds(bad, NAME, skip=("sample_rate_mhz", "start_time_unix"))
    assert bounds_error(rate_mhz=0, start_time=5).offset == 24
    with pytest.raises(SessionFileError) as e:
        check_bounds(bad, NAME, skip=("sample_rate_mhz",))
    assert e.value.offset == 40
    with pytest.raises(SessionFileError) as e:
        check_bounds(bad, NAME, skip=("start_time_unix",))
    assert e.value.offset == 24


# -- scale_warnings: the 2x rule at its edges ----------------------------------------------------------


def head(**kw) -> SessionHeader:
    return build_header(fields(**kw), [])


def test_scale_warnings_accept_exactly_half_and_twice_the_range():
    # 32768 counts x 1953125 ng = 64 g exactly: twice a 32 g range, half a 128 g one.
    assert scale_warnings(head(acc_range=32, acc_ng=1_953_125)) == []
    assert scale_warnings(head(acc_range=128, acc_ng=1_953_125)) == []
    # 32768 counts x 15625000 ndps = 512 deg/s exactly: twice a 256 deg/s range, half a 1024 one.
    assert scale_warnings(head(gyr_range=256, gyr_ndps=15_625_000)) == []  # 512 deg/s = 2 x 256
    assert scale_warnings(head(gyr_range=1024, gyr_ndps=15_625_000)) == []  # 512 deg/s = 1024 / 2


def test_scale_warnings_name_a_scale_just_outside_2x():
    out = scale_warnings(head(acc_range=31, acc_ng=1_953_125, gyr_range=2000, gyr_ndps=70_000_000))
    assert out == ["acc_scale_ng 1953125 gives +-64 g at full scale, the range says 31"]
    out = scale_warnings(head(acc_range=129, acc_ng=1_953_125))
    assert out == ["acc_scale_ng 1953125 gives +-64 g at full scale, the range says 129"]
    out = scale_warnings(head(gyr_range=255, gyr_ndps=15_625_000))
    assert out == ["gyr_scale_ndps 15625000 gives +-512 deg/s at full scale, the range says 255"]
    out = scale_warnings(head(gyr_range=1025, gyr_ndps=15_625_000, acc_range=16, acc_ng=2_000_000))
    assert out == [
        "acc_scale_ng 2000000 gives +-65.5 g at full scale, the range says 16",
        "gyr_scale_ndps 15625000 gives +-512 deg/s at full scale, the range says 1025",
    ]


def test_scale_warnings_ignore_the_gyroscope_of_a_three_channel_file():
    assert scale_warnings(head(channels=3, gyr_range=1, gyr_ndps=1_000_000_000)) == []
    assert len(scale_warnings(head(channels=6, gyr_range=1, gyr_ndps=1_000_000_000))) == 1


# -- parse_header: each refusal with its message and offset --------------------------------------------


def test_parse_header_refuses_empty_foreign_and_block_first_files():
    e = refusal(b"")
    assert (e.problem, e.offset) == ("empty file (no header)", 0)
    e = refusal(b"RIFF\0\0\0\0" + bytes(200))
    assert (e.problem, e.offset) == ("not a hipsense session file (magic b'RIFF', expected b'HSNS')", 0)
    e = refusal(b"HSN")  # a prefix of the magic is a truncated header, not a foreign file
    assert (e.problem, e.offset) == ("truncated header (3 bytes)", 3)
    e = refusal(b"HSX")
    assert (e.problem, e.offset) == ("not a hipsense session file (magic b'HSX', expected b'HSNS')", 0)
    e = refusal(sw.block(256, btype=1, session_id=1, seq=0, first_index=0, t_ms=0, n=0, body=b""))
    assert (e.problem, e.offset) == ("starts with a data block: the session header is missing", 0)


def test_parse_header_refuses_short_headers_at_each_edge():
    data = raw_header(hl=108)
    e = refusal(data[:7])
    assert (e.problem, e.offset) == ("truncated header (7 bytes)", 7)
    e = refusal(data[:8])
    assert (e.problem, e.offset) == ("truncated header (8 bytes, needs at least 108)", 8)
    e = refusal(data[:107])
    assert (e.problem, e.offset) == ("truncated header (107 bytes, needs at least 108)", 107)
    h, warn = parse_header(data, NAME)  # the smallest header: fixed fields and CRC
    assert (h.header_length, h.session_id, warn) == (108, 7, [])
    data = raw_header(hl=300)
    e = refusal(data[:299])
    assert (e.problem, e.offset) == ("truncated header (299 bytes, the header says it is 300)", 299)
    assert parse_header(data, NAME)[0].header_length == 300


def test_parse_header_refuses_another_major_version_before_reading_fields():
    e = refusal(raw_header(major=2, minor=3)[:10])
    assert (e.problem, e.offset) == ("unsupported format version 2.3 (this reader reads 1.x)", 4)
    e = refusal(raw_header(major=0, minor=9))
    assert (e.problem, e.offset) == ("unsupported format version 0.9 (this reader reads 1.x)", 4)


@pytest.mark.parametrize("hl", [107, 1 << 20 | 1])
def test_parse_header_refuses_a_header_length_out_of_bounds(hl):
    data = bytearray(raw_header(hl=1 << 20 | 8))
    struct.pack_into("<I", data, 8, hl)
    e = refusal(bytes(data))
    assert (e.problem, e.offset) == (f"invalid header length {hl}", 8)


def test_parse_header_reads_the_largest_header():
    h, _ = parse_header(raw_header(hl=1 << 20), NAME)
    assert h.header_length == 1 << 20


def test_parse_header_names_both_crcs_of_a_damaged_header():
    data = bytearray(raw_header(hl=256))
    data[60] ^= 0x01  # in device_id
    stored = struct.unpack_from("<I", data, 252)[0]
    computed = zlib.crc32(bytes(data[:252]))
    e = refusal(bytes(data))
    assert e.offset == 252
    assert e.problem == f"header CRC mismatch (stored {stored:#010x}, computed {computed:#010x})"
    data = bytearray(raw_header(hl=256))
    data[255] ^= 0x80  # the CRC itself
    assert refusal(bytes(data)).offset == 252


def test_parse_header_checks_bounds_after_the_crc():
    e = refusal(raw_header(channels=5))
    assert (e.problem, e.offset) == (
        "header field channels: unsupported channel count 5 (expected 3 or 6)",
        6,
    )


def test_parse_header_warns_of_a_newer_minor_then_unknown_fields_then_scales():
    h, warn = parse_header(raw_header(minor=2, mounting=7, acc_range=4, acc_ng=488_000), NAME)
    assert h.format_version == (1, 2) and h.mounting == "unknown"
    assert warn == [
        "format version 1.2 is newer than this reader (1.1): fields it does not know are ignored",
        "unknown mounting code 7, read as 'unknown'",
        "acc_scale_ng 488000 gives +-16 g at full scale, the range says 4",
    ]
    h, warn = parse_header(raw_header(minor=1), NAME)
    assert h.format_version == (1, 1) and warn == []


def test_parse_header_returns_the_fields_of_an_intact_header():
    data = raw_header(hl=512, block_size=512, session_id=99, rate_mhz=52_000, start_time=1_767_225_600)
    h, warn = parse_header(data + b"HSBK" + bytes(100), NAME)
    assert warn == []
    assert (h.session_id, h.sample_rate_hz, h.start_time_unix, h.block_size) == (99, 52.0, 1_767_225_600, 512)
    assert (h.device_id, h.firmware_version, h.sensor_model, h.mounting) == (
        "HS-1",
        "1.2.3",
        "LSM6DSOX",
        "back",
    )


# -- blocks ---------------------------------------------------------------------------------------------

BS = 256
HL = 256


def blk(seq: int, bs: int = BS) -> bytes:
    return sw.block(bs, btype=1, session_id=7, seq=seq, first_index=10 * seq, t_ms=seq, n=0, body=b"")


def bad_crc(block: bytes) -> bytes:
    return block[:-1] + bytes([block[-1] ^ 0xFF])


def test_slot_problem_says_why_a_slot_is_not_a_block():
    data = b"xx" + b"\xff" * 4 + b"\0" * 4 + b"ABCDEFG" + bad_crc(blk(0))
    assert slot_problem(data, 2, BS) == "empty block (erased flash, no magic)"
    assert slot_problem(data, 6, BS) == "empty block (erased flash, no magic)"
    assert slot_problem(data, 10, BS) == "no block magic (found b'ABCD')"
    assert slot_problem(data, 11, BS) == "no block magic (found b'BCDE')"
    assert slot_problem(data, 17, BS) == "block CRC mismatch"


def test_grid_ok_checks_magic_and_crc_of_each_slot():
    data = b"H" * 7 + blk(0) + bad_crc(blk(1)) + b"HSBX" + blk(2)[4:] + blk(3) + b"tail"
    assert _grid_ok(data, 7, BS, 4).tolist() == [True, False, False, True]
    assert _grid_ok(data, 7, BS, 1).tolist() == [True]
    ok = _grid_ok(data, 7, BS, 0)
    assert ok.dtype == bool and ok.shape == (0,)
    assert _grid_ok(data, 7 + 3 * BS, BS, 1).tolist() == [True]
    assert _grid_ok(data, 8, BS, 2).tolist() == [False, False]


def test_locate_blocks_fast_path_on_an_intact_grid():
    data = raw_header(hl=HL) + blk(0) + blk(1) + blk(2) + b"torn!"
    layout = locate_blocks(data, HL, BS)
    assert layout.offsets.tolist() == [256, 512, 768] and layout.offsets.dtype == np.int64
    assert (layout.torn, layout.damaged, layout.corrupt, layout.resynchronised) == (5, [], [], 0)
    layout = locate_blocks(raw_header(hl=HL) + b"x" * 255, HL, BS)
    assert (layout.offsets.tolist(), layout.torn, layout.damaged) == ([], 255, [])


def test_locate_blocks_skips_a_corrupt_slot_and_stays_on_the_grid():
    data = raw_header(hl=HL) + blk(0) + bad_crc(blk(1)) + b"\xff" * BS + blk(3) + b"ab"
    layout = locate_blocks(data, HL, BS)
    assert layout.offsets.tolist() == [256, 1024] and layout.offsets.dtype == np.int64
    assert layout.corrupt == [(512, "block CRC mismatch"), (768, "empty block (erased flash, no magic)")]
    assert layout.damaged == [(512, 1024, "2 block(s) skipped: block CRC mismatch, empty block")]
    assert (layout.torn, layout.resynchronised) == (2, 0)


def test_locate_blocks_resynchronises_after_inserted_bytes():
    # Three bytes inserted inside block 1: block 1 is lost, blocks 2 and 3 are found 3 bytes late,
    # and the file ends exactly with block 3.
    b1 = blk(1)
    data = raw_header(hl=HL) + blk(0) + b1[:100] + b"???" + b1[100:] + blk(2) + blk(3)
    layout = locate_blocks(data, HL, BS)
    assert layout.offsets.tolist() == [256, 771, 1027]
    why = (
        "259 bytes up to the next block marker at byte offset 771 are not whole blocks (bytes inserted"
        " or lost); first problem: block CRC mismatch"
    )
    assert layout.damaged == [(512, 771, why)]
    assert layout.corrupt == [(512, why)]
    assert (layout.torn, layout.resynchronised) == (0, 1)


def test_locate_blocks_resynchronises_after_lost_bytes_and_counts_each_resync():
    b1, b3 = blk(1), blk(3)
    data = raw_header(hl=HL) + blk(0) + b1[:50] + b1[60:] + blk(2) + b3[:200] + b3[205:] + blk(4) + b"z"
    layout = locate_blocks(data, HL, BS)
    assert layout.offsets.tolist() == [256, 758, 1265]
    assert [d[:2] for d in layout.damaged] == [(512, 758), (1014, 1265)]
    assert [c[0] for c in layout.corrupt] == [512, 1014]  # one entry per range, both kept
    assert layout.resynchronised == 2
    assert layout.torn == 1


def test_locate_blocks_reports_damage_to_the_end_without_a_valid_block():
    data = raw_header(hl=HL) + blk(0) + bad_crc(blk(1)) + b"NOPE" + bytes(BS - 4) + b"HSBK" + b"1234567"
    layout = locate_blocks(data, HL, BS)
    assert layout.offsets.tolist() == [256]
    assert layout.corrupt == [(512, "block CRC mismatch"), (768, "no block magic (found b'NOPE')")]
    assert layout.damaged == [(512, 1024, "2 block(s) skipped: block CRC mismatch, no block magic")]
    assert (layout.torn, layout.resynchronised) == (11, 0)


def test_locate_blocks_finds_a_block_that_is_not_on_the_grid_after_a_good_one():
    # Block 1 is found off the grid; block 2 follows it directly (checked by the scanner, not the grid).
    data = raw_header(hl=HL) + blk(0) + b"\0" * 10 + blk(1) + blk(2) + bad_crc(blk(3))
    layout = locate_blocks(data, HL, BS)
    assert layout.offsets.tolist() == [256, 522, 778]
    assert layout.damaged[0] == (
        512,
        522,
        "10 bytes up to the next block marker at byte offset 522 are not whole blocks (bytes inserted or"
        " lost); first problem: empty block (erased flash, no magic)",
    )
    assert layout.damaged[1] == (1034, 1290, "1 block(s) skipped: block CRC mismatch")
    assert layout.corrupt[1] == (1034, "block CRC mismatch")
    assert (layout.torn, layout.resynchronised) == (0, 1)


def budgeted_file(extra: int) -> tuple[bytes, int]:
    """A header, one block, ``m`` fake markers (magic, no valid CRC) and a real block at offset R.

    The scanner starts after the fake at the broken slot (byte 512), so R is its ``m``-th CRC check of
    ``BS`` bytes. ``m`` and the padding after R are chosen so that the budget (16 MiB plus 8 bytes per
    byte of file) allows exactly ``m - extra`` checks and runs out at exactly 0.
    """
    floor, per = session_blocks._SEARCH_BUDGET_FLOOR, session_blocks._SEARCH_BUDGET_PER_BYTE
    for pad in range(64):
        # budget = floor + per * (3 BS + 4 m + pad) = BS * (m - extra)
        num = floor + per * (3 * BS + pad) + extra * BS
        if num % (BS - 4 * per) == 0:
            m = num // (BS - 4 * per)
            data = raw_header(hl=HL) + blk(0) + b"HSBK" * m + blk(1) + bytes(pad)
            assert (floor + per * len(data)) == BS * (m - extra)
            return data, 2 * BS + 4 * m
    raise AssertionError("no layout found")


def test_the_marker_search_finds_a_block_at_its_last_allowed_crc_check():
    data, r = budgeted_file(0)
    assert locate_blocks(data, HL, BS).offsets.tolist() == [256, r]


def test_the_marker_search_gives_up_when_its_budget_is_spent():
    data, r = budgeted_file(1)
    layout = locate_blocks(data, HL, BS)
    assert layout.offsets.tolist() == [256]
    end = 512 + (len(data) - 512) // BS * BS
    assert [d[:2] for d in layout.damaged] == [(512, end)] and layout.torn == len(data) - end
    assert data[r : r + 4] == b"HSBK" and locate_blocks(data[r:], 0, BS).offsets.tolist() == [0]


def test_scanner_checks_only_whole_blocks_inside_the_file():
    data = b"..HSBK" + b"x" * 10 + blk(1)  # a fake marker at 2, the block at 16 ends the file
    scan = _Scanner(data, BS)
    assert scan.next_block(0) == 16 and scan.next_block(16) == 16 and scan.is_block(16)
    assert not scan.is_block(2) and not scan.is_block(17)
    assert scan.next_block(17) is None
    assert _Scanner(blk(0), BS).next_block(0) == 0  # "at or after start": a block at byte 0 counts
    assert _Scanner(data[:-1], BS).next_block(0) is None
    assert not _Scanner(b"HSBK" + bytes(10), BS).is_block(0)


def test_locate_blocks_finds_a_block_one_byte_after_its_slot():
    # One byte inserted just before block 1: the marker search must look from the byte after the slot.
    data = raw_header(hl=HL) + blk(0) + b"!" + blk(1) + blk(2)
    layout = locate_blocks(data, HL, BS)
    assert layout.offsets.tolist() == [256, 513, 769]
    assert layout.damaged == [
        (
            512,
            513,
            "1 bytes up to the next block marker at byte offset 513 are not whole blocks (bytes inserted or"
            " lost); first problem: no block magic (found b'!HSB')",
        )
    ]
    assert (layout.torn, layout.resynchronised) == (0, 1)


def test_whole_blocks_skipped_off_the_grid_are_not_a_resynchronisation():
    # After a resync at 522 the blocks sit off the grid; the corrupt block at 778 is skipped as one whole
    # block (to the next one at 1034), which is not a second resync.
    data = raw_header(hl=HL) + blk(0) + b"\0" * 10 + blk(1) + bad_crc(blk(2)) + blk(3)
    layout = locate_blocks(data, HL, BS)
    assert layout.offsets.tolist() == [256, 522, 1034]
    assert layout.damaged[1] == (778, 1034, "1 block(s) skipped: block CRC mismatch")
    assert (layout.resynchronised, layout.torn) == (1, 0)


def test_a_file_without_a_single_valid_block_gives_integer_offsets():
    # Offsets index the file: even when none is found they are an int64 array.
    data = raw_header(hl=HL) + bad_crc(blk(0)) + b"\xff" * BS
    layout = locate_blocks(data, HL, BS)
    assert layout.offsets.shape == (0,) and layout.offsets.dtype == np.int64
    assert layout.damaged == [(256, 768, "2 block(s) skipped: block CRC mismatch, empty block")]
