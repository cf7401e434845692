"""Hostile session files: forged headers and blocks whose CRCs are valid (issue 16 item 3, issue 19 item 4).

A file comes from a device or over the radio; whatever it says, decoding gives a session whose every
value is within the bounds of docs/session-format.md, or one typed error. Memory stays bounded by the
file's size, not by a number in it.
"""

from __future__ import annotations

import contextlib
import io
import struct
import tracemalloc
import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipsense.errors import HipsenseError, SessionFileError
from hipsense.formats.device_file import (
    MAX_MISSING_S,
    DecodedSession,
    SessionFileWarning,
    decode_session,
)
from tests.host.forged_session import BS, fix_crcs, small_session

SETTINGS = settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
BASE = small_session(30)
NBLOCKS = (len(BASE) - BS) // BS

HEADER_FIELDS = {
    "version_minor": ("B", 5),
    "channels": ("B", 6),
    "codec": ("B", 7),
    "header_length": ("<I", 8),
    "block_size": ("<I", 12),
    "session_id": ("<I", 16),
    "odr_mhz": ("<I", 20),
    "sample_rate_mhz": ("<I", 24),
    "acc_range_g": ("<H", 28),
    "gyr_range_dps": ("<H", 30),
    "acc_scale_ng": ("<I", 32),
    "gyr_scale_ndps": ("<I", 36),
    "start_time_unix": ("<Q", 40),
    "block_max_samples": ("<H", 48),
    "mounting": ("B", 50),
    "flags": ("<I", 52),
}
BLOCK_FIELDS = {
    "version": ("B", 4),
    "type": ("B", 5),
    "flags": ("<H", 6),
    "session_id": ("<I", 8),
    "seq": ("<I", 12),
    "first_index": ("<I", 16),
    "t_ms": ("<I", 20),
    "n_samples": ("<H", 24),
    "payload_len": ("<H", 26),
    "lost": ("<I", 28),
}
BITS = {"B": 8, "<H": 16, "<I": 32, "<Q": 64}


def value_for(fmt: str) -> st.SearchStrategy[int]:
    top = 2 ** BITS[fmt] - 1
    return st.one_of(st.sampled_from([0, 1, top, top - 1, (top >> 1) + 1]), st.integers(0, top))


def check(data: bytes) -> DecodedSession | None:
    """Decode: a session within bounds, or a one-line SessionFileError; memory bounded by the size."""
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SessionFileWarning)
            s = decode_session(data)
    except SessionFileError as e:
        assert "\n" not in str(e) and "<bytes>" in str(e)
        return None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 64 * len(data) + (8 << 20), peak  # the decoder's working arrays, not a forged size
    h = s.header
    assert 10 <= h.sample_rate_hz <= 2000
    assert h.start_time_unix == 0 or 946_684_800 <= h.start_time_unix < 4_102_444_800
    pd.Timestamp(h.start_time_unix, unit="s")  # what bricked the store: must always be a date
    assert s.counts.shape == (len(s.sample_index), h.channels) and s.counts.dtype == np.int16
    assert np.all(np.diff(s.sample_index) > 0)
    if len(s.sample_index):
        # The timeline a consumer allocates is bounded by the bytes, not by first_index.
        span = int(s.sample_index[-1]) + 1
        assert span <= len(s.sample_index) + MAX_MISSING_S * h.sample_rate_hz + 8 * len(data) / h.channels
    gaps = sum(n for _, n in s.report.gaps)
    assert gaps <= MAX_MISSING_S * h.sample_rate_hz + 8 * len(data) / h.channels
    assert len(s.report.lost_samples) == len(s.report.gaps)
    s.to_dataframe()
    return s


@SETTINGS
@given(
    fields=st.lists(
        st.sampled_from(sorted(HEADER_FIELDS)).flatmap(
            lambda name: st.tuples(st.just(name), value_for(HEADER_FIELDS[name][0]))
        ),
        min_size=1,
        max_size=4,
    )
)
def test_forged_header_fields_with_valid_crc(fields):
    d = bytearray(BASE)
    for name, value in fields:
        fmt, off = HEADER_FIELDS[name]
        struct.pack_into(fmt, d, off, value)
    fix_crcs(d)
    check(bytes(d))


@SETTINGS
@given(
    forged=st.lists(
        st.tuples(
            st.integers(0, NBLOCKS - 1),
            st.sampled_from(sorted(BLOCK_FIELDS)).flatmap(
                lambda name: st.tuples(st.just(name), value_for(BLOCK_FIELDS[name][0]))
            ),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_forged_block_fields_with_valid_crc(forged):
    d = bytearray(BASE)
    for block, (name, value) in forged:
        fmt, off = BLOCK_FIELDS[name]
        struct.pack_into(fmt, d, BS + block * BS + off, value)
    fix_crcs(d)
    check(bytes(d))


@settings(deadline=None, max_examples=100)
@given(first=st.integers(2**31, 2**32 - 1), step=st.integers(0, 2**20))
def test_every_block_moved_far_ahead_allocates_nothing_big(first, step):
    # first_index near the top of its range on every block, each consistent with the last.
    d = bytearray(BASE)
    for k in range(NBLOCKS):
        struct.pack_into("<I", d, BS + k * BS + 16, min(first + k * step, 2**32 - 1))
    fix_crcs(d)
    check(bytes(d))


@settings(deadline=None, max_examples=150)
@given(
    pos=st.integers(BS, len(BASE) - 1),
    kind=st.sampled_from(["flip", "insert", "delete"]),
    byte=st.integers(0, 255),
)
def test_one_damaged_byte_loses_at_most_one_block(pos, kind, byte):
    d = bytearray(BASE)
    if kind == "flip":
        d[pos] ^= byte or 1
    elif kind == "insert":
        d[pos:pos] = bytes([byte])
    else:
        del d[pos]
    s = check(bytes(d))
    assert s is not None and s.report.data_blocks >= NBLOCKS - 2  # NBLOCKS counts the end block too


@settings(
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(name=st.sampled_from(sorted(HEADER_FIELDS)), data=st.data())
def test_info_on_forged_headers_is_a_table_or_one_line(tmp_path, name, data):
    from hipsense.cli import main

    fmt, off = HEADER_FIELDS[name]
    d = bytearray(BASE)
    struct.pack_into(fmt, d, off, data.draw(value_for(fmt)))
    fix_crcs(d)
    path = tmp_path / "forged.hsn"
    path.write_bytes(bytes(d))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["info", str(path)])
    assert code in (0, 2)
    if code == 2:
        assert err.getvalue().count("error:") == 1 and "Traceback" not in err.getvalue()


@settings(
    deadline=None,
    max_examples=15,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    name=st.sampled_from(["start_time_unix", "sample_rate_mhz", "acc_scale_ng", "block_max_samples"]),
    data=st.data(),
)
def test_analyze_on_forged_headers_raises_only_typed_errors(tmp_path, name, data):
    from hipsense.analysis import analyze_file

    fmt, off = HEADER_FIELDS[name]
    d = bytearray(BASE)
    struct.pack_into(fmt, d, off, data.draw(value_for(fmt)))
    fix_crcs(d)
    path = tmp_path / "forged.hsn"
    path.write_bytes(bytes(d))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            analyze_file(path)
        except HipsenseError as e:
            assert "\n" not in str(e)
