"""The host decoder against session files written from docs/session-format.md alone (issue 19, item 2).

``tests/vectors/spec_writer.py`` imports nothing from hipsense; the samples each file must decode to
are written here by hand. A bug shared by the project's encoder and decoder cannot pass these.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from hipsense.conventions import G
from hipsense.formats import codec
from hipsense.formats.device_file import SessionFileWarning, SessionHeader, decode_session, encode_session
from tests.vectors import spec_writer as sw

INDEPENDENT = Path(__file__).resolve().parents[1] / "vectors" / "independent"


def strict_decode(data: bytes):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a well-formed file decodes without a single warning
        return decode_session(data)


def six(**extra) -> dict:
    return (
        dict(
            channels=6,
            session_id=9,
            sample_rate_mhz=208_000,
            acc_range_g=16,
            acc_scale_ng=488_000,
            gyr_range_dps=2000,
            gyr_scale_ndps=70_000_000,
        )
        | extra
    )


def test_worked_example_of_the_spec():
    # docs/session-format.md, "Worked example": the bytes are copied from the document.
    x = [2048, 2050, 2053, 2055, 2056]
    y = [0, 0, 0, 0, 0]
    z = [-3, 1, -2, 2, 0]
    doc = bytes.fromhex("01 00 2B 00 10 00 40 2C 54 7F 2A 03")
    assert sw.payload([x, y, z]) == doc
    np.testing.assert_array_equal(codec.decode_payload(doc, 5, 3), np.array([x, y, z]).T)
    assert codec.encode_payload(np.array([x, y, z], dtype=np.int16).T) == doc


@pytest.mark.parametrize("n", [1, 2, 3, 4, 16, 17, 40])
def test_every_predictor_order_and_short_warm_ups(n):
    # Orders 0..3 forced on the six channels; n < 3 leaves warm-up frames shorter than the order.
    samples = [
        (i * 7 - 20, 300 - i * i, (-1) ** i * 1000, 5 * i * i - 3 * i, -32768 + 11 * i, 32767 - 13 * i)
        for i in range(n)
    ]
    data, blocks = sw.build(sw.Session(six(), [sw.Run(0, samples, orders=[0, 1, 2, 3, 3, 2])]))
    word = int.from_bytes(data[2048 + 32 : 2048 + 34], "little")
    assert [(word >> (2 * c)) & 3 for c in range(6)] == [0, 1, 2, 3, 3, 2]
    s = strict_decode(data)
    np.testing.assert_array_equal(s.counts, np.array(samples))
    np.testing.assert_array_equal(s.sample_index, np.arange(n))


def test_order_three_wraps_modulo_two_to_the_sixteen():
    samples = [(32767, -32768, 32767), (-32768, 32767, -32768), (32767, -32768, 0), (-32768, 32767, 1)] * 5
    h = dict(channels=3, session_id=1, sample_rate_mhz=104_000, acc_range_g=16, acc_scale_ng=488_281)
    data, _ = sw.build(sw.Session(h, [sw.Run(0, samples, orders=[3, 3, 3])]))
    np.testing.assert_array_equal(strict_decode(data).counts, np.array(samples))


def mixed() -> tuple[bytes, dict]:
    return (INDEPENDENT / "mixed.hsn").read_bytes(), json.loads((INDEPENDENT / "mixed.json").read_text())


def test_stored_independent_vector_is_what_the_spec_writer_makes():
    data, expected = mixed()
    assert sw.build(sw.mixed_session())[0] == data and expected["file_bytes"] == len(data)


def test_mixed_vector_decodes_to_the_hand_written_samples():
    data, _ = mixed()
    s = strict_decode(data)
    # Written out by hand (the same formulas as spec_writer.mixed_session, typed again here).
    ramp = [(1000 + 3 * i, -2000 + i * i % 50, 16384, 5 * i, -5 * i, (-1) ** i * 300) for i in range(120)]
    after_gap = [(i % 7 - 3, 2 * i, -3 * i, 32767 - i, -32768 + i, 0) for i in range(40)]
    extremes = [(32767, -32768, 32767 * (i % 2), -32768 * (i % 2), i, -i) for i in range(30)]
    np.testing.assert_array_equal(s.counts, np.array(ramp + after_gap + extremes))
    index = list(range(0, 120)) + list(range(145, 185)) + list(range(192, 222))
    np.testing.assert_array_equal(s.sample_index, index)
    r = s.report
    assert r.gaps == [(120, 25), (185, 7)]
    assert [c for _, _, c in r.lost_samples] == [
        "not recorded (the device flagged a gap)",
        "IMU FIFO overflow",
    ]
    assert r.overflow_events == [(192, 7)] and r.overflow_lost == 7
    assert r.close_reason == "user_stop" and r.end_block == {
        "total_samples": 190,
        "data_blocks": 4,
        "overflow_lost": 7,
        "next_index": 222,
    }
    assert r.corrupt_blocks == [] and r.damaged_bytes == [] and r.torn_tail_bytes == 0
    t = s.block_table
    assert t["seq"].tolist() == [0, 1, 2, 3]
    assert t["n_samples"].tolist() == [64, 56, 40, 30]  # block_max_samples = 64 cuts the ramp
    assert t["flags"].tolist() == [0, 0, 1, 3]  # GAP, then GAP + OVERFLOW
    assert t["t_ms"].tolist() == [0, 64 * 1000 // 104, 145 * 1000 // 104, 192 * 1000 // 104]
    h = s.header
    assert (h.session_id, h.sample_rate_hz, h.channels, h.block_size, h.header_bytes) == (
        0x51DE,
        104,
        6,
        512,
        512,
    )
    assert h.acc_scale_ms2 == pytest.approx(488e-6 * G) and h.gyr_scale_dps == pytest.approx(0.07)
    assert (h.device_id, h.firmware_version, h.sensor_model) == ("HS-SPEC", "spec-1.0", "LSM6DSOX")
    assert (h.start_time_unix, h.mounting, h.acc_range_g, h.gyr_range_dps) == (
        1_767_225_600,
        "back",
        16,
        2000,
    )


def lcg(n: int, channels: int, seed: int = 12345) -> list[tuple[int, ...]]:
    """Noisy counts from a hand-written generator: blocks fill by bytes, not by sample count."""
    out, v = [], seed
    for _ in range(n):
        row = []
        for _ in range(channels):
            v = (1103515245 * v + 12345) % 2**31
            row.append((v >> 8) % 4001 - 2000)
        out.append(tuple(row))
    return out


def test_small_blocks_fill_by_bytes_and_the_host_encoder_agrees():
    h = dict(
        channels=3,
        session_id=3,
        sample_rate_mhz=52_000,
        acc_range_g=8,
        acc_scale_ng=244_000,
        block_size=256,
        block_max_samples=1024,
        mounting=2,
        device_id="HS-3",
        sensor_model="ICM-42688-P",
    )
    samples = lcg(300, 3)
    times = [i * 1000 // 52 + (i // 26) * 3 for i in range(300)]  # FIFO reads, device time drifting
    spec = sw.Session(h, [sw.Run(0, samples, t_ms=times)], close_reason=2, end_t_ms=6000)
    data, blocks = sw.build(spec)
    assert len(blocks) > 3 and all(b["n"] < 1024 for b in blocks)
    s = strict_decode(data)
    np.testing.assert_array_equal(s.counts, np.array(samples))
    assert s.report.close_reason == "storage_full"
    assert s.block_table["t_ms"].tolist() == [times[b["first_index"]] for b in blocks]
    header = SessionHeader(
        device_id="HS-3",
        firmware_version="",
        sensor_model="ICM-42688-P",
        session_id=3,
        sample_rate_hz=52,
        channels=3,
        acc_range_g=8,
        gyr_range_dps=0,
        acc_scale_ms2=244e-6 * G,
        gyr_scale_dps=0.0,
        mounting="side-left",
        start_time_unix=0,
        block_size=256,
        odr_hz=0.0,
    )
    host = encode_session(
        header,
        np.array(samples),
        block_time_ms=np.array(times),
        close_reason="storage_full",
        end_time_ms=6000,
    )
    assert host == data  # the host encoder makes the spec's choices (k, order, samples per block)


def test_session_without_end_block_is_read_with_a_warning():
    data, _ = sw.build(sw.Session(six(), [sw.Run(0, lcg(50, 6))], close_reason=None))
    with pytest.warns(SessionFileWarning, match="no end block"):
        s = decode_session(data)
    np.testing.assert_array_equal(s.counts, np.array(lcg(50, 6)))
    assert s.report.close_reason is None
