"""Codec 1 tests that kill the mutants of ``formats/codec.py`` the vector tests let live.

The payloads here are built by hand from docs/session-format.md ("Codec 1"), bit by bit, with the
expected samples worked out on paper (the derivation sits next to each one); the rest are exact
properties of the encoder's choices (the largest block that fits, the smallest k). docs/testing.md
lists the mutants each test is for and the survivors that are equivalent.
"""

from __future__ import annotations

import numpy as np
import pytest

from hipsense.formats import codec

# x = [100, 300], one channel. Order 3 wins: its residuals are 100, 300 - 3*100 = 0, zigzag 200, 0,
# both in the warm-up frame (n = 2 < 3). Rice cost of the warm-up: sum(z >> k) + 2 (k + 1) is 17 at
# k = 6 and k = 7; the smallest, 6, is taken (order 2's best is 18, orders 0 and 1 cost more). Frame 1
# is empty: k = 0. Bytes: orders word 03 00; nibbles (6, 0) -> 0x06; low parts 200 & 63 = 8 in 6 bits
# (bit 3), then 0 in 6 bits (bits 6-11); unary: 200 >> 6 = 3 -> 0001 (bits 12-15), 0 -> 1 (bit 16).
TWO = np.array([[100], [300]], dtype=np.int16)
TWO_PAYLOAD = bytes([0x03, 0x00, 0x06, 0x08, 0x80, 0x01])

# x = [100]: every order gives the same residual, so order 0 (the smallest); its warm-up frame is empty
# (k = 0) and frame 1 holds z = 200: cost 200 >> k + (k + 1) is 9 at k = 7 and 8, so k = 7. Bytes:
# 00 00; nibbles (0, 7) -> 0x70; low part 200 & 127 = 72 = 1001000b (bits 3 and 6); unary 1 -> 01
# (bits 7, 8). 8 + 7 + 2 = 17 bits: 3 bytes after the word, 5 in all.
ONE = np.array([[100]], dtype=np.int16)
ONE_PAYLOAD = bytes([0x00, 0x00, 0x70, 0x48, 0x01])

# x = [-3] with k = 8 in frame 1: z = 5, a whole byte of low part, then the unary byte (q = 0 -> 1).
# Cut before the unary byte, the low bits end exactly where the payload ends.
K8_PAYLOAD = bytes([0x00, 0x00, 0x80, 0x05, 0x01])


def decode_many(payloads: list[bytes], n: list[int], channels: int, dtype=np.int64, at: int = 0):
    """Lay payloads out from byte ``at`` (64 zero bytes after) and decode them in one call."""
    starts = at + np.cumsum([0] + [len(p) for p in payloads[:-1]])
    data = np.zeros(at + sum(len(p) for p in payloads) + 64, dtype=np.uint8)
    data[at : at + sum(len(p) for p in payloads)] = np.frombuffer(b"".join(payloads), dtype=np.uint8)
    return codec.decode_payloads(
        data,
        np.asarray(starts, dtype=dtype),
        np.array([len(p) for p in payloads], dtype=dtype),
        np.array(n, dtype=dtype),
        channels,
    )


# --------------------------------------------------------------------------------------------------
# Decoder: hand-built payloads


def test_hand_built_payloads_decode_to_their_samples() -> None:
    np.testing.assert_array_equal(codec.decode_payload(TWO_PAYLOAD, 2, 1), TWO)
    np.testing.assert_array_equal(codec.decode_payload(ONE_PAYLOAD, 1, 1), ONE)
    np.testing.assert_array_equal(codec.decode_payload(K8_PAYLOAD, 1, 1), [[-3]])


def test_the_encoder_makes_the_hand_built_bytes() -> None:
    # Order 3 for two samples: a warm-up of 2 values, not 3 (the frame split counts only real samples).
    assert codec.encode_payload(TWO) == TWO_PAYLOAD
    assert codec.encode_payload(ONE) == ONE_PAYLOAD
    orders, ks, z, size = codec.analyse(TWO)
    assert orders.tolist() == [3] and ks.tolist() == [[6, 0]] and z.tolist() == [[200, 0]]
    assert size == len(TWO_PAYLOAD)


def test_good_payloads_have_no_problem() -> None:
    ok, counts, problems = decode_many([TWO_PAYLOAD, ONE_PAYLOAD], [2, 1], 1)
    assert ok.tolist() == [True, True] and problems == ["", ""]
    np.testing.assert_array_equal(counts, [[100], [300], [100]])


def test_a_payload_cut_inside_its_low_bits_is_too_short() -> None:
    with pytest.raises(codec.PayloadError, match=r"^payload too short for its low bits$"):
        codec.decode_payload(ONE_PAYLOAD[:3], 1, 1)


def test_a_payload_cut_right_after_its_low_bits_misses_its_codes() -> None:
    # The low bits fill the payload exactly: they are all there, only the unary code is missing.
    with pytest.raises(codec.PayloadError, match=r"^payload holds 0 codes, expected 1$"):
        codec.decode_payload(K8_PAYLOAD[:4], 1, 1)


def test_an_extra_one_bit_is_one_code_too_many() -> None:
    bad = ONE_PAYLOAD[:-1] + bytes([0x03])  # bit 9 set as well: a second unary code
    with pytest.raises(codec.PayloadError, match=r"^payload holds 2 codes, expected 1$"):
        codec.decode_payload(bad, 1, 1)


def test_damaged_payload_between_good_ones_is_reported_alone() -> None:
    ok, counts, problems = decode_many([ONE_PAYLOAD, ONE_PAYLOAD[:3], TWO_PAYLOAD], [1, 1, 2], 1)
    assert ok.tolist() == [True, False, True]
    assert problems == ["", "payload too short for its low bits", ""]
    np.testing.assert_array_equal(counts, [[100], [100], [300]])


def test_u16_header_fields_are_widened_before_arithmetic() -> None:
    # 11000 samples of 6 zero channels: order 0, every k = 0 (6 * 689 nibbles = 2067 zero bytes), no low
    # bits, and 66000 unary codes "1". The block header's fields are u16: 6 * 11000 overflows them.
    n, c = 11000, 6
    nibbles = 4 * c * codec.n_frames(n)
    assert nibbles % 8 == 0
    payload = bytes(2 + nibbles // 8) + b"\xff" * (n * c // 8)
    ok, counts, problems = decode_many([payload], [n], c, dtype=np.uint16)
    assert problems == [""] and ok.tolist() == [True]
    np.testing.assert_array_equal(counts, np.zeros((n, c), dtype=np.int16))


def test_a_payload_past_256_mib_in_the_file_decodes() -> None:
    # Bit offsets past 2**31: the decoder's int32 offsets would wrap there. np.zeros maps the zero
    # pages lazily, so the 256 MiB in front cost no memory.
    at = 1 << 28
    ok, counts, problems = decode_many([TWO_PAYLOAD], [2], 1, at=at)
    assert problems == [""]
    np.testing.assert_array_equal(counts, TWO)


# --------------------------------------------------------------------------------------------------
# Encoder: the largest block that fits, and its errors


def test_fit_block_by_hand() -> None:
    # ONE_PAYLOAD is 5 bytes, TWO_PAYLOAD 6 (the 2-sample order-3 block).
    assert codec.fit_block(TWO, 6, 1024) == 2
    assert codec.fit_block(TWO, 5, 1024) == 1
    assert codec.fit_block(TWO, 100, 1) == 1
    n, orders, ks, z = codec.plan_block(TWO, 1000, 1)
    assert n == 1 and orders.tolist() == [0] and ks.tolist() == [[0, 7]] and z.tolist() == [[200]]
    with pytest.raises(ValueError, match=r"^block payload capacity 4 bytes cannot hold one sample$"):
        codec.fit_block(TWO, 4, 1024)
    # A third sample that does not fit: the search stops inside the warm-up, where only order 3 fits 4
    # bytes (residuals 3, 10 - 9 = 1: z = 6, 2, k = 2, 7 bits; order 2 needs 9). Its warm-up must be
    # costed on the block's 2 values, not on 3 (the third, 0 - 30 + 9, zigzags to 41). Bytes: 03 00,
    # nibbles (2, 0) -> 02, low parts 10b 10b then unary 01 1: 0x6A.
    three = np.array([[3], [10], [0]], dtype=np.int16)
    assert codec.analyse(three)[3] > 4
    n, orders, ks, z = codec.plan_block(three, 4, 1024)
    assert n == 2 and orders.tolist() == [3] and ks.tolist() == [[2, 0]] and z.tolist() == [[6, 2]]
    assert codec.pack(orders, ks, z) == bytes([0x03, 0x00, 0x02, 0x6A])


def test_no_samples_is_an_error() -> None:
    empty = np.zeros((0, 2), dtype=np.int16)
    with pytest.raises(ValueError, match=r"^no samples to encode$"):
        codec.plan_block(empty, 100, 10)
    with pytest.raises(ValueError, match=r"^no samples to encode$"):
        codec.plan_block(TWO, 100, 0)
    with pytest.raises(ValueError, match=r"^a block holds at least one sample$"):
        codec.analyse(empty)


def _signals() -> list[np.ndarray]:
    """Channels that want different orders and k: noise, a random walk, smooth curves, a constant."""
    rng = np.random.default_rng(7)
    t = np.arange(70)[:, None]
    noise = rng.integers(-40, 40, size=(70, 1))
    walk = np.cumsum(rng.integers(-200, 200, size=(70, 1)), axis=0)
    smooth = np.round(9000 * np.sin(t * 0.05) + 0.4 * t**2)
    big = np.where(t % 23 < 11, 30000, -30000)  # full-scale steps: residuals wrap modulo 2**16
    const = np.full((70, 1), 1234)
    mixed = np.hstack([noise, walk, smooth, big, const, t * 7])
    return [a.astype(np.int16) for a in (mixed, smooth, walk, np.hstack([big, noise]))]


@pytest.mark.parametrize("which", range(4))
def test_plan_block_takes_the_largest_block_that_fits_every_capacity(which: int) -> None:
    # Every capacity from "not one sample" to "all of it": the plan is analyse() of its samples, fits,
    # and one sample more would not. Exact fits (capacity = a prefix's own size) are among them.
    x = _signals()[which]
    sizes = [codec.analyse(x[:m])[3] for m in range(1, len(x) + 1)]
    assert sizes == sorted(sizes)
    for cap in range(sizes[0] - 1, sizes[-1] + 2):
        if cap < sizes[0]:
            with pytest.raises(ValueError, match="cannot hold one sample"):
                codec.plan_block(x, cap, len(x))
            continue
        n, orders, ks, z = codec.plan_block(x, cap, len(x))
        assert n == sum(s <= cap for s in sizes), cap
        assert codec.fit_block(x, cap, len(x)) == n
        ref_orders, ref_ks, ref_z, size = codec.analyse(x[:n])
        np.testing.assert_array_equal(orders, ref_orders)
        np.testing.assert_array_equal(ks, ref_ks)
        np.testing.assert_array_equal(z, ref_z)
        assert len(codec.pack(orders, ks, z)) == size <= cap


@pytest.mark.parametrize("which", range(4))
def test_every_prefix_roundtrips(which: int) -> None:
    x = _signals()[which]
    for m in (1, 2, 3, 4, 15, 16, 17, 19, 31, 32, 33, 70):
        payload = codec.encode_payload(x[:m])
        np.testing.assert_array_equal(codec.decode_payload(payload, m, x.shape[1]), x[:m])
