"""Property tests of the session file codec and reader (hypothesis)."""

from __future__ import annotations

import struct
import warnings
import zlib

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hipsense.errors import SessionFileError
from hipsense.formats import codec
from hipsense.formats.device_file import (
    DecodedSession,
    SessionFileWarning,
    SessionHeader,
    decode_session,
    encode_session,
)

SETTINGS = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
EXTREMES = [-32768, -32767, -1, 0, 1, 32766, 32767]


def header(channels: int, block_size: int = 2048, max_samples: int = 1024) -> SessionHeader:
    extra = {"gyr_range_dps": 0} if channels == 3 else {}
    return SessionHeader.default(
        channels=channels, block_size=block_size, block_max_samples=max_samples, **extra
    )


def decode_quietly(data: bytes) -> DecodedSession:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SessionFileWarning)
        return decode_session(data)


@st.composite
def small_arrays(draw):
    channels = draw(st.sampled_from([3, 6]))
    n = draw(st.integers(0, 300))
    elements = draw(
        st.sampled_from(
            [
                st.integers(-32768, 32767),
                st.sampled_from(EXTREMES),
                st.integers(-3, 3),
            ]
        )
    )
    return draw(hnp.arrays(np.int16, (n, channels), elements=elements))


@st.composite
def signals(draw):
    """Longer signals of several kinds, drawn from a seed (several blocks each)."""
    channels = draw(st.sampled_from([3, 6]))
    n = draw(st.integers(0, 4000))
    kind = draw(st.sampled_from(["noise", "constant", "alternating", "walk", "sine", "extremes", "steps"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "noise":
        x = rng.integers(-32768, 32768, (n, channels))
    elif kind == "constant":
        x = np.full((n, channels), rng.choice(EXTREMES))
    elif kind == "alternating":
        x = np.where(np.arange(n)[:, None] % 2 == 0, 32767, -32768) * np.ones((1, channels), np.int64)
    elif kind == "walk":
        x = (np.cumsum(rng.integers(-2000, 2000, (n, channels)), axis=0) + 32768) % 65536 - 32768
    elif kind == "sine":
        t = np.arange(n)[:, None]
        x = np.round(30000 * np.sin(t * rng.uniform(0.01, 1.0, channels)) + rng.normal(0, 3, (n, channels)))
    elif kind == "extremes":
        x = rng.choice(EXTREMES, (n, channels))
    else:
        x = np.repeat(rng.integers(-32768, 32768, (n // 50 + 1, channels)), 50, axis=0)[:n]
    return x.astype(np.int16)


@SETTINGS
@given(x=small_arrays(), block_size=st.sampled_from([256, 512, 2048]), max_samples=st.integers(1, 1024))
def test_small_arrays_roundtrip(x, block_size, max_samples):
    h = header(x.shape[1], block_size, max_samples)
    s = decode_session(encode_session(h, x))
    np.testing.assert_array_equal(s.counts, x)
    np.testing.assert_array_equal(s.sample_index, np.arange(len(x)))
    assert s.report.corrupt_blocks == [] and s.report.gaps == []


@SETTINGS
@given(x=signals(), block_size=st.sampled_from([256, 1024, 2048]), data=st.data())
def test_signals_with_gaps_and_overflows_roundtrip(x, block_size, data):
    n = len(x)
    h = header(x.shape[1], block_size)
    steps = np.ones(n, dtype=np.int64)
    overflow = {}
    if n:
        for pos in data.draw(st.lists(st.integers(0, n - 1), max_size=5)):
            steps[pos] += data.draw(st.integers(0, 500))
        idx = np.cumsum(steps) - 1
        for pos in data.draw(st.lists(st.integers(0, n - 1), max_size=3)):
            overflow[int(idx[pos])] = data.draw(st.integers(0, 2**32 - 1))
    else:
        idx = np.zeros(0, dtype=np.int64)
    encoded = encode_session(h, x, sample_index=idx, overflow_lost=overflow)
    s = decode_quietly(encoded)
    np.testing.assert_array_equal(s.counts, x)
    np.testing.assert_array_equal(s.sample_index, idx)
    expected_gaps = []
    prev = 0
    for i in idx.tolist():
        if i > prev:
            expected_gaps.append((prev, i - prev))
        prev = i + 1
    assert s.report.gaps == expected_gaps
    assert s.report.overflow_events == sorted(overflow.items())
    assert s.report.overflow_lost == sum(overflow.values())


@SETTINGS
@given(x=small_arrays())
def test_payload_roundtrip(x):
    if len(x) == 0:
        return
    payload = codec.encode_payload(x)
    np.testing.assert_array_equal(codec.decode_payload(payload, len(x), x.shape[1]), x)


@SETTINGS
@given(x=signals(), capacity=st.integers(300, 4000), max_samples=st.integers(1, 1024))
def test_plan_is_the_largest_block_that_fits(x, capacity, max_samples):
    if len(x) == 0:
        return
    n, orders, ks, z = codec.plan_block(x, capacity, max_samples)
    ref_orders, ref_ks, ref_z, size = codec.analyse(x[:n])
    np.testing.assert_array_equal(orders, ref_orders)
    np.testing.assert_array_equal(ks, ref_ks)
    np.testing.assert_array_equal(z, ref_z)
    assert size <= capacity and n <= max_samples
    assert len(codec.pack(orders, ks, z)) == size
    if n < min(len(x), max_samples):
        assert codec.analyse(x[: n + 1])[3] > capacity


# ---------------------------------------------------------------------------------------------------
# Damaged files: a DecodedSession or a SessionFileError, nothing else.

_BASE_HEADER = header(6, 512, 300)
_BASE_COUNTS = np.round(
    3000 * np.sin(np.arange(1500)[:, None] * np.array([0.05, 0.07, 0.11, 0.13, 0.17, 0.19]))
).astype(np.int16)
_BASE = encode_session(
    _BASE_HEADER,
    _BASE_COUNTS,
    sample_index=np.concatenate([np.arange(700), np.arange(720, 1520)]),
    overflow_lost={1000: 4},
)


def _fix_crcs(data: bytearray, block_size: int = 512) -> None:
    """Make every CRC valid again so mutations reach the code behind the CRC checks."""
    if len(data) >= block_size:
        struct.pack_into("<I", data, block_size - 4, zlib.crc32(bytes(data[: block_size - 4])))
    for o in range(block_size, len(data) - block_size + 1, block_size):
        struct.pack_into("<I", data, o + block_size - 4, zlib.crc32(bytes(data[o : o + block_size - 4])))


def _check(data: bytes) -> None:
    try:
        s = decode_quietly(data)
    except SessionFileError as e:
        assert e.path is not None and str(e)
        return
    assert isinstance(s, DecodedSession)
    assert s.counts.dtype == np.int16 and s.sample_index.dtype == np.int64
    assert s.counts.shape == (len(s.sample_index), s.header.channels)
    assert np.all(np.diff(s.sample_index) > 0)
    s.to_dataframe()


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, len(_BASE) - 1), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, len(_BASE))),
    st.tuples(st.just("delete"), st.integers(0, len(_BASE) - 1), st.integers(1, 700)),
    st.tuples(st.just("insert"), st.integers(0, len(_BASE)), st.binary(min_size=1, max_size=700)),
    st.tuples(st.just("overwrite"), st.integers(0, len(_BASE) - 1), st.binary(min_size=1, max_size=64)),
)


@settings(deadline=None, max_examples=400)
@given(mutations=st.lists(mutation, min_size=1, max_size=4), fix_crc=st.booleans())
def test_damaged_files_decode_or_raise_session_file_error(mutations, fix_crc):
    data = bytearray(_BASE)
    for m in mutations:
        if m[0] == "flip":
            if m[1] < len(data):
                data[m[1]] ^= m[2]
        elif m[0] == "truncate":
            del data[m[1] :]
        elif m[0] == "delete":
            del data[m[1] : m[1] + m[2]]
        elif m[0] == "insert":
            data[m[1] : m[1]] = m[2]
        else:
            data[m[1] : m[1] + len(m[2])] = m[2]
    if fix_crc:
        _fix_crcs(data)
    _check(bytes(data))


@settings(deadline=None, max_examples=300)
@given(
    block=st.integers(0, 4),
    offset=st.integers(0, 511 - 4),
    payload=st.binary(min_size=1, max_size=480),
)
def test_nonsense_behind_valid_crcs(block, offset, payload):
    # Forged blocks with valid CRCs: header fields and payloads anything at all.
    data = bytearray(_BASE)
    o = 512 + block * 512 + offset
    data[o : o + len(payload)] = payload[: 512 + block * 512 + 508 - o]
    del data[len(_BASE) :]
    _fix_crcs(data)
    _check(bytes(data))


@settings(deadline=None, max_examples=200)
@given(data=st.binary(max_size=3000), with_magic=st.booleans())
def test_arbitrary_bytes(data, with_magic):
    if with_magic:
        data = b"HSNS\x01\x00" + data
    _check(data)
