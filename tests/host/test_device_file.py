"""Device session file format 1: golden vectors, writer, reader and every kind of bad input."""

from __future__ import annotations

import json
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from hipsense.conventions import G
from hipsense.errors import SessionFileError
from hipsense.formats import codec
from hipsense.formats.device_file import (
    BLOCK_OVERHEAD,
    FLAG_GAP,
    FLAG_OVERFLOW,
    CorruptBlockWarning,
    DecodedSession,
    HeaderRecoveredWarning,
    SessionFileWarning,
    SessionHeader,
    TornTailWarning,
    decode_session,
    encode_session,
    format_losses,
    read_device_file,
    write_device_file,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
NAMES = ["six_axis_gap_overflow", "three_axis_accel", "extremes"]


def load_vector(name: str) -> tuple[dict, dict, bytes]:
    spec = json.loads((VECTORS / f"{name}.json").read_text())
    arrays = dict(np.load(VECTORS / f"{name}.npz"))
    return spec, arrays, (VECTORS / f"{name}.session").read_bytes()


def header_of(spec: dict) -> SessionHeader:
    fields = dict(spec["header"])
    fields["format_version"] = tuple(fields["format_version"])
    return SessionHeader(**fields)


def running(n: int, channels: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 208
    x = np.stack([(900 + 150 * c) * np.sin(2 * np.pi * 2.8 * t + c) for c in range(channels)], axis=1)
    return np.round(x + rng.normal(0, 5, x.shape)).astype(np.int16)


def session_bytes(n: int = 2000, channels: int = 6, **kw) -> tuple[SessionHeader, np.ndarray, bytes]:
    h = SessionHeader.default(channels=channels, **({"gyr_range_dps": 0} if channels == 3 else {}))
    x = running(n, channels)
    return h, x, encode_session(h, x, **kw)


def quiet_decode(data: bytes, path=None) -> DecodedSession:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SessionFileWarning)
        return decode_session(data, path=path)


# ---------------------------------------------------------------------------------------------------
# Golden vectors


@pytest.mark.parametrize("name", NAMES)
def test_golden_decodes_to_expected_counts_and_report(name):
    spec, arrays, data = load_vector(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the goldens decode without a single warning
        s = read_device_file(VECTORS / f"{name}.session")
    assert s.counts.dtype == np.int16 and s.sample_index.dtype == np.int64
    np.testing.assert_array_equal(s.counts, arrays["counts"])
    np.testing.assert_array_equal(s.sample_index, arrays["sample_index"])
    report = json.loads(json.dumps(s.report.__dict__))
    assert report == spec["report"]
    expected = header_of(spec)
    for key in (
        "device_id",
        "firmware_version",
        "sensor_model",
        "session_id",
        "channels",
        "acc_range_g",
        "gyr_range_dps",
        "mounting",
        "start_time_unix",
        "block_size",
        "block_max_samples",
        "acc_scale_ng",
        "gyr_scale_ndps",
        "sample_rate_mhz",
        "odr_mhz",
        "header_bytes",
    ):
        assert getattr(s.header, key) == getattr(expected, key), key
    assert s.header.acc_scale_ms2 == pytest.approx(expected.acc_scale_ms2, rel=1e-6)
    assert s.header.gyr_scale_dps == pytest.approx(expected.gyr_scale_dps, rel=1e-6, abs=1e-12)
    assert s.path == VECTORS / f"{name}.session"


@pytest.mark.parametrize("name", NAMES)
def test_host_encoder_reproduces_golden_bytes(name):
    spec, arrays, data = load_vector(name)
    out = encode_session(
        header_of(spec),
        arrays["counts"],
        sample_index=arrays["sample_index"],
        overflow_lost={int(k): v for k, v in spec["overflow_lost"].items()},
        close_reason=spec["close"]["reason"],
        block_time_ms=arrays["block_time_ms"],
        end_time_ms=spec["close"]["t_ms"],
    )
    assert out == data


def test_golden_six_axis_gap_and_overflow_are_reported():
    spec, arrays, data = load_vector("six_axis_gap_overflow")
    s = decode_session(data)
    assert s.report.gaps == [(520, 40), (1106, 13)]
    assert s.report.overflow_lost == 13
    assert s.report.overflow_events == [(1119, 13)]
    assert s.report.close_reason == "user_stop"
    assert s.report.corrupt_blocks == [] and s.report.torn_tail_bytes == 0
    flags = s.block_table["flags"]
    assert [int(f) for f in flags] == [0, 0, FLAG_GAP, 0, FLAG_GAP | FLAG_OVERFLOW, 0]
    assert s.block_table["lost"].tolist() == [0, 0, 0, 0, 13, 0]
    # A block's time is the time of the FIFO read that delivered its first sample.
    first_rows = np.searchsorted(s.sample_index, s.block_table["first_index"])
    np.testing.assert_array_equal(s.block_table["t_ms"], arrays["block_time_ms"][first_rows])


def test_golden_blocks_are_filled_as_far_as_they_go():
    # Every block but the last of a contiguous run is full: one more sample would not fit.
    for name in NAMES:
        spec, arrays, data = load_vector(name)
        s = decode_session(data)
        h = s.header
        table = s.block_table
        rows = np.searchsorted(s.sample_index, table["first_index"])
        for i in range(len(table) - 1):
            n = int(table["n_samples"][i])
            contiguous = table["first_index"][i + 1] == table["first_index"][i] + n
            if not contiguous or n == h.block_max_samples:
                continue
            x = s.counts[rows[i] : rows[i] + n + 1]
            assert codec.analyse(x[:n])[3] <= h.payload_capacity
            assert codec.analyse(x)[3] > h.payload_capacity, (name, i)


def test_to_dataframe_uses_header_scales():
    spec, arrays, data = load_vector("six_axis_gap_overflow")
    s = decode_session(data)
    df = s.to_dataframe()
    assert list(df.columns) == ["t_s", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
    np.testing.assert_allclose(df["t_s"], s.sample_index / 208.0)
    np.testing.assert_allclose(df["acc_x"], s.counts[:, 0] * 488e-6 * G)
    np.testing.assert_allclose(df["gyr_z"], s.counts[:, 5] * 0.070)
    # Accelerometer-only, and a non-default scale read from the header, not assumed.
    s3 = decode_session(load_vector("three_axis_accel")[2])
    df3 = s3.to_dataframe()
    assert list(df3.columns) == ["t_s", "acc_x", "acc_y", "acc_z"]
    # Stored as 488281 nano-g per count: 1 ng resolution, 0.6 ppm off 2048 LSB/g.
    np.testing.assert_allclose(df3["acc_z"], s3.counts[:, 2] * 488.28125e-6 * G, rtol=1e-6)
    assert s3.header.acc_scale_ng == 488281
    np.testing.assert_allclose(df3["t_s"].iloc[104], 1.0)


# ---------------------------------------------------------------------------------------------------
# Writer


def test_write_and_read_roundtrip(tmp_path):
    h = SessionHeader.default(session_id=99, device_id="HS-1", start_time_unix=1_700_000_000)
    x = running(5000)
    path = write_device_file(tmp_path / "s.session", h, x)
    assert path == tmp_path / "s.session"
    assert (path.stat().st_size - h.block_size) % h.block_size == 0
    s = read_device_file(path)
    np.testing.assert_array_equal(s.counts, x)
    np.testing.assert_array_equal(s.sample_index, np.arange(5000))
    assert s.header.session_id == 99 and s.header.device_id == "HS-1"
    assert s.header.start_time_unix == 1_700_000_000
    assert s.report.close_reason == "user_stop" and s.report.gaps == [] and s.report.warnings == []
    assert s.report.blocks == s.report.data_blocks + 1
    # Nominal block times when none are given.
    np.testing.assert_array_equal(s.block_table["t_ms"], s.block_table["first_index"] * 1000 // 208)


def test_empty_session_has_only_the_end_block():
    h = SessionHeader.default()
    data = encode_session(h, np.zeros((0, 6), np.int16))
    s = decode_session(data)
    assert s.counts.shape == (0, 6) and s.sample_index.shape == (0,)
    assert s.report.close_reason == "user_stop" and s.report.blocks == 1


@pytest.mark.parametrize(
    "reason", ["user_stop", "storage_full", "low_battery", "recovered_after_power_cut", "no_running"]
)
def test_close_reasons_roundtrip(reason):
    h, x, data = session_bytes(300, close_reason=reason)
    assert decode_session(data).report.close_reason == reason


def test_gaps_and_overflows_from_sample_index():
    h = SessionHeader.default()
    x = running(1000)
    idx = np.arange(1000)
    idx[300:] += 50  # 50 missing before sample 300
    idx[700:] += 7  # 7 lost to an overflow before sample 700
    data = encode_session(h, x, sample_index=idx, overflow_lost={int(idx[700]): 7, int(idx[500]): 0})
    with pytest.warns(SessionFileWarning, match="unknown size"):
        s = decode_session(data)
    np.testing.assert_array_equal(s.sample_index, idx)
    np.testing.assert_array_equal(s.counts, x)
    assert s.report.gaps == [(300, 50), (750, 7)]
    assert s.report.overflow_events == [(550, 0), (757, 7)]
    assert s.report.overflow_lost == 7
    assert s.report.end_block["next_index"] == 1057


def test_gap_before_the_first_sample():
    h = SessionHeader.default()
    data = encode_session(h, running(100), sample_index=np.arange(100) + 20)
    s = decode_session(data)
    assert s.report.gaps == [(0, 20)]
    assert s.block_table["flags"][0] & FLAG_GAP


def test_no_end_block_is_reported():
    h, x, data = session_bytes(1000, close_reason=None)
    with pytest.warns(SessionFileWarning, match="no end block"):
        s = decode_session(data)
    assert s.report.close_reason is None and s.report.end_block is None
    np.testing.assert_array_equal(s.counts, x)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"counts": np.zeros((10, 3), np.int16)}, "must be"),
        ({"counts": np.full((10, 6), 40000)}, "int16"),
        ({"counts": np.zeros((10, 6))}, "integers"),
        ({"sample_index": np.zeros(10)}, "increasing"),
        ({"overflow_lost": {99: 3}}, "not a sample index"),
        ({"block_time_ms": np.zeros(3)}, "one entry per sample"),
        ({"close_reason": "tired"}, "close_reason"),
    ],
)
def test_writer_rejects_bad_arguments(kwargs, match):
    args = {"counts": np.zeros((10, 6), np.int16)} | kwargs
    counts = args.pop("counts")
    with pytest.raises(ValueError, match=match):
        encode_session(SessionHeader.default(), counts, **args)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("channels", 4),
        ("block_size", 1000),
        ("block_size", 128),
        ("device_id", "x" * 17),
        ("mounting", "ankle"),
        ("sample_rate_hz", 0),
        ("block_max_samples", 0),
        ("session_id", -1),
    ],
)
def test_header_validation(field, value):
    with pytest.raises(ValueError, match=field):
        SessionHeader.default(**{field: value}).to_bytes()


@pytest.mark.parametrize("block_size", [256, 512, 1024, 4096, 65536])
def test_other_block_sizes(block_size):
    h = SessionHeader.default(block_size=block_size)
    x = running(3000)
    s = decode_session(encode_session(h, x))
    np.testing.assert_array_equal(s.counts, x)
    assert s.header.block_size == block_size


# ---------------------------------------------------------------------------------------------------
# Bad input: each names the file and the byte offset


def check_error(path: Path, match: str, offset: int) -> SessionFileError:
    with pytest.raises(SessionFileError, match=match) as e:
        read_device_file(path)
    assert e.value.path == path and e.value.offset == offset
    assert str(path) in str(e.value) and f"byte offset {offset}" in str(e.value)
    return e.value


def test_empty_file(tmp_path):
    p = tmp_path / "empty.session"
    p.write_bytes(b"")
    check_error(p, "empty file", 0)


def test_unknown_magic(tmp_path):
    p = tmp_path / "x.session"
    p.write_bytes(b"PK\x03\x04" + bytes(3000))
    check_error(p, "not a hipsense session file", 0)


def test_file_starting_with_a_block(tmp_path):
    h, x, data = session_bytes(500)
    p = tmp_path / "x.session"
    p.write_bytes(data[h.block_size :])
    check_error(p, "header is missing", 0)


def test_wrong_version(tmp_path):
    h, x, data = session_bytes(500)
    bad = bytearray(data)
    bad[4] = 2  # a real version 2 header: its CRC holds, so it is not taken for damage
    struct.pack_into("<I", bad, h.block_size - 4, zlib.crc32(bytes(bad[: h.block_size - 4])))
    p = tmp_path / "v2.session"
    p.write_bytes(bytes(bad))
    check_error(p, r"unsupported format version 2\.0", 4)


def test_newer_minor_version_is_read_with_a_warning(tmp_path):
    h, x, data = session_bytes(500)
    bad = bytearray(data)
    bad[5] = 3
    struct.pack_into("<I", bad, h.block_size - 4, zlib.crc32(bytes(bad[: h.block_size - 4])))
    with pytest.warns(SessionFileWarning, match="newer"):
        s = decode_session(bytes(bad))
    np.testing.assert_array_equal(s.counts, x)


def test_header_crc_mismatch_is_recovered_from_the_blocks(tmp_path):
    # One bit in the header's CRC used to lose the whole file although every block was intact.
    h, x, data = session_bytes(3000)
    for where in (h.block_size - 2, 60):  # the CRC itself, then inside the device id
        bad = bytearray(data)
        bad[where] ^= 0x01
        p = tmp_path / "crc.session"
        p.write_bytes(bytes(bad))
        with pytest.warns(HeaderRecoveredWarning, match="header damaged, session recovered") as rec:
            s = read_device_file(p)
        assert str(p) in str(rec[0].message)
        np.testing.assert_array_equal(s.counts, x)
        assert s.report.header_recovered and "from the blocks" in s.report.header_recovered
        assert s.header.sample_rate_hz == h.sample_rate_hz and s.header.channels == 6
        assert format_losses(s.report)[0].startswith("header damaged")


def test_damaged_rate_is_recovered_from_block_times():
    h, x, data = session_bytes(3000)
    bad = bytearray(data)
    struct.pack_into("<I", bad, 24, 1)  # sample_rate_mhz = 1 behind a CRC that no longer holds
    bad[6] = 9  # and the channel count
    s = quiet_decode(bytes(bad))
    assert s.header.sample_rate_hz == 208 and s.header.channels == 6
    assert "from the block times" in s.report.header_recovered
    np.testing.assert_array_equal(s.counts, x)


def test_damaged_header_without_blocks_is_one_line_error(tmp_path):
    h, x, data = session_bytes(500)
    bad = bytearray(data[: h.block_size + 100])
    bad[60] ^= 1
    p = tmp_path / "crc.session"
    p.write_bytes(bytes(bad))
    e = check_error(p, "header CRC mismatch", h.block_size - 4)
    assert "\n" not in str(e)


def test_truncated_header(tmp_path):
    h, x, data = session_bytes(500)
    p = tmp_path / "short.session"
    p.write_bytes(data[:50])
    check_error(p, "truncated header", 50)
    p.write_bytes(data[:1000])
    check_error(p, "truncated header", 1000)


def test_no_whole_block(tmp_path):
    h, x, data = session_bytes(500)
    p = tmp_path / "header_only.session"
    p.write_bytes(data[: h.block_size + 100])
    check_error(p, "no whole block", h.block_size)


def test_unsupported_codec(tmp_path):
    h, x, data = session_bytes(500)
    bad = bytearray(data)
    bad[7] = 9
    struct.pack_into("<I", bad, h.block_size - 4, zlib.crc32(bytes(bad[: h.block_size - 4])))
    p = tmp_path / "codec.session"
    p.write_bytes(bytes(bad))
    check_error(p, "unsupported codec 9", 7)


def test_corrupt_block_in_the_middle_is_skipped_and_reported(tmp_path):
    h, x, data = session_bytes(3000)
    bs = h.block_size
    clean = decode_session(data)
    nblocks = clean.report.data_blocks
    assert nblocks >= 4
    bad = bytearray(data)
    victim = 2
    off = bs + victim * bs
    bad[off + 500] ^= 0xFF
    p = tmp_path / "corrupt.session"
    p.write_bytes(bytes(bad))
    with pytest.warns(SessionFileWarning) as rec:
        s = read_device_file(p)
    corrupt = [str(w.message) for w in rec if isinstance(w.message, CorruptBlockWarning)]
    assert len(corrupt) == 1 and str(p) in corrupt[0] and f"byte offset {off}" in corrupt[0]
    assert s.report.corrupt_blocks == [(off, "block CRC mismatch")]
    assert s.report.data_blocks == nblocks - 1
    table = clean.block_table
    lost_first, lost_n = int(table["first_index"][victim]), int(table["n_samples"][victim])
    assert s.report.gaps == [(lost_first, lost_n)]
    keep = np.ones(len(x), bool)
    keep[lost_first : lost_first + lost_n] = False
    np.testing.assert_array_equal(s.counts, x[keep])
    np.testing.assert_array_equal(s.sample_index, np.flatnonzero(keep))
    assert any("end block says 3000 samples" in w for w in s.report.warnings)
    assert s.report.close_reason == "user_stop"


def test_damaged_magic_erased_and_foreign_blocks(tmp_path):
    h, x, data = session_bytes(3000)
    bs = h.block_size
    bad = bytearray(data)
    bad[bs + 0 * bs] = ord("X")  # magic
    bad[bs + 1 * bs : bs + 2 * bs] = b"\xff" * bs  # erased flash
    other = bytearray(data[bs + 2 * bs : bs + 3 * bs])
    struct.pack_into("<I", other, 8, 1234)  # another session's block, CRC made valid again
    struct.pack_into("<I", other, bs - 4, zlib.crc32(bytes(other[: bs - 4])))
    bad[bs + 2 * bs : bs + 3 * bs] = other
    s = quiet_decode(bytes(bad))
    problems = dict(s.report.corrupt_blocks)
    assert "no block magic" in problems[bs]
    assert "erased" in problems[2 * bs]
    assert "session 1234" in problems[3 * bs]
    assert s.report.data_blocks == decode_session(data).report.data_blocks - 3


def test_torn_tail_keeps_whole_blocks(tmp_path):
    h, x, data = session_bytes(3000, close_reason=None)
    bs = h.block_size
    p = tmp_path / "torn.session"
    cut = len(data) - bs // 3
    p.write_bytes(data[:cut])
    with pytest.warns(SessionFileWarning) as rec:
        s = read_device_file(p)
    torn = [w for w in rec if isinstance(w.message, TornTailWarning)]
    assert len(torn) == 1 and f"{p} at byte offset {len(data) - bs}: torn tail" in str(torn[0].message)
    assert s.report.torn_tail_bytes == bs - bs // 3
    assert any("torn tail" in w for w in s.report.warnings)
    full = quiet_decode(data).report.data_blocks
    assert s.report.data_blocks == full - 1
    n = len(s.counts)
    np.testing.assert_array_equal(s.counts, x[:n])
    assert n < len(x)


def test_crc_valid_but_nonsense_payload_is_reported():
    h, x, data = session_bytes(1000)
    bs = h.block_size
    bad = bytearray(data)
    o = bs + bs  # second data block
    bad[o + 32 : o + bs - 4] = bytes(bs - 36)  # payload all zero: no unary terminators
    struct.pack_into("<I", bad, o + bs - 4, zlib.crc32(bytes(bad[o : o + bs - 4])))
    s = quiet_decode(bytes(bad))
    assert len(s.report.corrupt_blocks) == 1
    off, why = s.report.corrupt_blocks[0]
    assert off == o and "payload does not decode" in why


def test_overlapping_block_is_skipped():
    h, x, data = session_bytes(3000)
    bs = h.block_size
    bad = bytearray(data)
    # Make block 2 a copy of block 1 (same samples again, sequence number fixed up).
    blk = bytearray(data[2 * bs : 3 * bs])
    struct.pack_into("<I", blk, 12, 2)
    struct.pack_into("<I", blk, bs - 4, zlib.crc32(bytes(blk[: bs - 4])))
    bad[3 * bs : 4 * bs] = blk
    s = quiet_decode(bytes(bad))
    assert [o for o, _ in s.report.corrupt_blocks] == [3 * bs]
    assert "goes backwards" in s.report.corrupt_blocks[0][1]
    assert np.all(np.diff(s.sample_index) > 0)


def test_reading_a_directory_is_a_session_file_error(tmp_path):
    with pytest.raises(SessionFileError, match="directory"):
        read_device_file(tmp_path)


def test_bytes_without_path_name_the_input():
    with pytest.raises(SessionFileError, match="<bytes>"):
        decode_session(b"")


def test_payload_capacity_and_overhead():
    h = SessionHeader.default()
    assert h.payload_capacity == 2048 - BLOCK_OVERHEAD == 2012


# ---------------------------------------------------------------------------------------------------
# Bounds on what the file says (issue 16): forged values behind valid CRCs


def forged(data: bytes, block_size: int = 2048, **fields: tuple[str, int, int]) -> bytes:
    """``data`` with ``(struct format, offset, value)`` patched in and every CRC made valid again."""
    out = bytearray(data)
    for fmt, offset, value in fields.values():
        struct.pack_into(fmt, out, offset, value)
    struct.pack_into("<I", out, block_size - 4, zlib.crc32(bytes(out[: block_size - 4])))
    for o in range(block_size, len(out) - block_size + 1, block_size):
        struct.pack_into("<I", out, o + block_size - 4, zlib.crc32(bytes(out[o : o + block_size - 4])))
    return bytes(out)


@pytest.mark.parametrize(
    ("fmt", "offset", "value", "field"),
    [
        ("<Q", 40, 2**63 + 5, "start_time_unix"),  # used to brick the store (OutOfBoundsDatetime)
        ("<Q", 40, 946_684_799, "start_time_unix"),  # 1999-12-31
        ("<Q", 40, 4_102_444_800, "start_time_unix"),  # 2100-01-01
        ("<I", 24, 1, "sample_rate_mhz"),  # used to divide by zero
        ("<I", 24, 9_999, "sample_rate_mhz"),
        ("<I", 24, 2_000_001, "sample_rate_mhz"),
        ("<I", 24, 10**9, "sample_rate_mhz"),
        ("<I", 20, 0xFFFFFFFF, "odr_mhz"),
        ("<H", 28, 0, "acc_range_g"),
        ("<H", 28, 65535, "acc_range_g"),
        ("<H", 30, 0, "gyr_range_dps"),
        ("<I", 32, 0, "acc_scale_ng"),
        ("<I", 32, 0xFFFFFFFF, "acc_scale_ng"),
        ("<I", 36, 1, "gyr_scale_ndps"),
        ("<H", 48, 0, "block_max_samples"),
        ("B", 6, 4, "channels"),
        ("<I", 12, 1000, "block_size"),
    ],
)
def test_forged_header_fields_are_refused_naming_the_field(tmp_path, fmt, offset, value, field):
    h, x, data = session_bytes(500)
    p = tmp_path / "forged.hsn"
    p.write_bytes(forged(data, f=(fmt, offset, value)))
    e = check_error(p, f"header field {field}", offset)
    assert "\n" not in str(e)


def test_start_time_bounds_accept_unknown_and_the_century():
    for t in (0, 946_684_800, 4_102_444_799):
        h, x, data = session_bytes(300)
        assert decode_session(forged(data, t=("<Q", 40, t))).header.start_time_unix == t


def test_writer_refuses_what_the_reader_refuses():
    for field, value in (("start_time_unix", 2**40), ("sample_rate_hz", 1e6), ("acc_scale_ms2", 0.0)):
        with pytest.raises(ValueError, match=field.replace("_ms2", "_ng")):
            SessionHeader.default(**{field: value}).to_bytes()


def test_first_index_near_the_top_cannot_stretch_the_timeline():
    # first_index near 2**32 made the analysis allocate 32 GiB for the timeline.
    h, x, data = session_bytes(3000)
    bad = forged(data, f=("<I", 3 * 2048 + 16, 2**32 - 100))
    s = quiet_decode(bad)
    off, why = s.report.corrupt_blocks[0]
    assert off == 3 * 2048 and "first_index 4294967196 jumps" in why
    assert s.sample_index[-1] == len(x) - 1  # the blocks after it still read on their own timeline
    # Every block moved up: all refused, nothing allocated for a timeline the bytes cannot hold.
    every = {f"b{k}": ("<I", (k + 1) * 2048 + 16, 2**31 + 1000 * k) for k in range(s.report.blocks - 1)}
    s = quiet_decode(forged(data, **every))
    assert len(s.sample_index) == 0


def test_end_block_index_beyond_the_budget_is_ignored():
    h, x, data = session_bytes(1000)
    end = len(data) - 2048
    with pytest.warns(SessionFileWarning, match="end block's index"):
        s = decode_session(forged(data, f=("<I", end + 16, 2**32 - 1)))
    assert s.report.gaps == []


def test_missing_samples_within_an_hour_are_a_gap():
    h = SessionHeader.default()
    idx = np.arange(600)
    idx[300:] += 208 * 3000  # 50 minutes not recorded: within the hour a session may miss
    s = decode_session(encode_session(h, running(600), sample_index=idx))
    assert s.report.gaps == [(300, 208 * 3000)]
    idx[300:] += 208 * 700  # 61 minutes: refused
    s = quiet_decode(encode_session(h, running(600), sample_index=idx))
    assert len(s.sample_index) == 300 and "jumps" in s.report.corrupt_blocks[0][1]


def test_text_fields_are_made_safe_to_print():
    h, x, data = session_bytes(300)
    bad = forged(data, a=("16s", 56, b"\x1b[2J\xff\xfeok\x00"), b=("16s", 72, "\u202eevil".encode()))
    s = decode_session(bad)
    assert s.header.device_id == "\ufffd[2J\ufffd\ufffdok"
    assert s.header.firmware_version == "\ufffdevil"


# ---------------------------------------------------------------------------------------------------
# Resynchronisation on the block marker


@pytest.mark.parametrize("kind", ["flip", "insert", "delete", "insert_many", "delete_many"])
def test_one_damage_mid_file_loses_at_most_one_block(kind):
    h, x, data = session_bytes(8000)
    clean = decode_session(data)
    rng = np.random.default_rng(["flip", "insert", "delete", "insert_many", "delete_many"].index(kind))
    for _ in range(20):
        p = int(rng.integers(h.block_size, len(data) - 1))
        d = bytearray(data)
        if kind == "flip":
            d[p] ^= 1 << int(rng.integers(8))
        elif kind == "insert":
            d[p:p] = b"\x00"
        elif kind == "delete":
            del d[p]
        elif kind == "insert_many":
            d[p:p] = bytes(rng.integers(0, 256, 300).astype(np.uint8))
        else:
            del d[p : p + 300]  # may cut two blocks
        s = quiet_decode(bytes(d))
        lost = clean.report.data_blocks - s.report.data_blocks
        assert lost <= (2 if kind == "delete_many" else 1), (kind, p, s.report.corrupt_blocks)
        keep = np.isin(clean.sample_index, s.sample_index)
        np.testing.assert_array_equal(s.counts, x[keep])  # what is read is right


def test_inserted_byte_is_reported_with_its_range():
    h, x, data = session_bytes(3000)
    bs = h.block_size
    at = 3 * bs + 100
    d = data[:at] + b"\xaa" + data[at:]
    s = quiet_decode(d)
    assert s.report.damaged_bytes[0][:2] == (3 * bs, 4 * bs + 1)
    assert "inserted or lost" in s.report.damaged_bytes[0][2]
    assert s.report.torn_tail_bytes == 0
    lines = format_losses(s.report, 208.0)
    assert lines[0].startswith(f"bytes {3 * bs}..{4 * bs} (2049 bytes) lost")
    assert any("in damaged or skipped blocks" in line and " s .. " in line for line in lines)


def test_clean_file_has_no_losses():
    h, x, data = session_bytes(3000)
    assert format_losses(decode_session(data).report) == []


@pytest.mark.parametrize("pos", [*range(0, 104), 2044, 2045, 2046, 2047])
def test_any_flipped_header_bit_keeps_every_sample(pos):
    # Magic, version, layout fields, rate, limits, names or the CRC itself: the blocks carry the session.
    h = SessionHeader.default(block_max_samples=300)
    x = running(3000)
    data = bytearray(encode_session(h, x))
    data[pos] ^= 1 << (pos % 8)
    s = quiet_decode(bytes(data))
    assert s.report.header_recovered
    np.testing.assert_array_equal(s.counts, x)
    np.testing.assert_array_equal(s.sample_index, np.arange(3000))
    assert s.header.sample_rate_hz == 208 and s.header.channels == 6 and s.header.block_size == 2048


def test_a_block_marker_at_the_very_end_of_a_damaged_header_is_not_a_block():
    # Found by the property test: a marker with no room for a block after it used to index past the end.
    h, x, data = session_bytes(300)
    bad = bytearray(data[:104]) + b"HSBK"
    bad[0] ^= 1
    with pytest.raises(SessionFileError, match="not a hipsense session file"):
        decode_session(bytes(bad))
    bad[0] ^= 1
    with pytest.raises(SessionFileError, match="truncated header"):
        decode_session(bytes(bad))
