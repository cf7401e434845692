"""Tests for the mutants of the vectorised decoder (``formats/codec_decode.py``) the re-run found alive.

The decoder was split from codec.py and rewritten for issue 17: a call decoded in one pass returns
that pass's own array, and the predictors are undone by channel with sums restarting at every block.
The survivors in the re-run (docs/testing.md) were a file whose every payload is damaged (the one pass
then has nothing to decode), a second pass that holds the rest of the file, and payloads of no samples
among good ones. The payloads are damaged the ways a flash cell or a cut copy damages them: cut short,
or with a bit flipped in the unary codes; the expected counts are the samples encoded, not what the
decoder gave before.
"""

from __future__ import annotations

import numpy as np
import pytest

from hipsense.formats import codec, codec_decode


def _layout(payloads: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Payloads one after the other with the 64 zero bytes the decoder wants after them."""
    starts = np.cumsum([0] + [len(p) for p in payloads[:-1]]).astype(np.int64)
    data = np.frombuffer(b"".join(payloads) + bytes(64), dtype=np.uint8).copy()
    return data, starts, np.array([len(p) for p in payloads], dtype=np.int64)


def _walk(rng: np.random.Generator, n: int, channels: int) -> np.ndarray:
    """Counts of a random walk that wraps modulo 2**16 (full-scale swings)."""
    x = np.cumsum(rng.integers(-3000, 3000, size=(n, channels)), axis=0)
    return ((x + 32768) % 65536 - 32768).astype(np.int16)


@pytest.mark.parametrize("by_channel", [False, True])
def test_a_file_whose_every_payload_is_damaged_gives_no_counts_as_int16(by_channel: bool) -> None:
    # Three blocks, decoded in one pass (the default size): one cut inside its low bits, one with a
    # unary one bit cleared (a code missing), one with a byte too many holding a one bit (a code too many).
    rng = np.random.default_rng(5)
    blocks = [_walk(rng, m, 6) for m in (40, 17, 33)]
    payloads = [codec.encode_payload(b) for b in blocks]
    data, starts, plen = _layout(payloads)
    n = np.array([len(b) for b in blocks])
    plen[0] = 5
    last = int(starts[1] + plen[1] - 1)
    data[last] ^= np.uint8(1 << (int(data[last]).bit_length() - 1))  # its highest one bit: the last code
    plen[2] += 1  # its length one byte too long, and that byte (the padding's) holds a one bit
    data[int(starts[2] + plen[2] - 1)] = 0x01
    assert n.sum() < codec_decode.DECODE_CHUNK_SAMPLES
    ok, counts, problems = codec.decode_payloads(data, starts, plen, n, 6, by_channel=by_channel)
    assert ok.tolist() == [False, False, False]
    assert problems[0] == "payload too short for its low bits"
    assert problems[1].startswith("payload holds ") and problems[1].endswith(" codes, expected 102")
    assert problems[2].startswith("payload holds ") and problems[2].endswith(" codes, expected 198")
    assert counts.shape == (0, 6) and counts.dtype == np.int16


@pytest.mark.parametrize("chunk", range(1, 13))
def test_every_split_into_passes_gives_every_block(monkeypatch, chunk: int) -> None:
    # Blocks of 5, 3 and 3 samples: with passes of 6 samples the first holds the first block alone
    # and the second the two others, the rest of the file.
    rng = np.random.default_rng(chunk)
    blocks = [_walk(rng, m, 3) for m in (5, 3, 3)]
    data, starts, plen = _layout([codec.encode_payload(b) for b in blocks])
    monkeypatch.setattr(codec_decode, "DECODE_CHUNK_SAMPLES", chunk)
    ok, counts, problems = codec.decode_payloads(data, starts, plen, np.array([5, 3, 3]), 3)
    assert ok.all() and problems == ["", "", ""]
    np.testing.assert_array_equal(counts, np.concatenate(blocks))


def _empty_payload(orders: int) -> bytes:
    # No samples in one channel: the orders word, one nibble (the warm-up frame's k = 0), no codes.
    return bytes([orders, 0, 0])


# Real blocks of one channel: two that the encoder codes with order 2 (a ramp each) and one with order 0
# (test_mutants_codec.py's hand-built ONE_PAYLOAD); between them a forged block that claims 0 samples.
RAMP = np.array([[10], [20], [30], [40], [50], [60]], dtype=np.int16)
RAMP2 = np.array([[-5], [-3], [-1], [1], [3]], dtype=np.int16)
ONE = np.array([[100]], dtype=np.int16)
BLOCKS = {"ramp": RAMP, "ramp2": RAMP2, "one": ONE}


def _decode_with_empty(empty_order: int, names: list[str]):
    """Decode the named blocks (``"empty"``: the forged one) laid out in that order."""
    payloads = {name: codec.encode_payload(x) for name, x in BLOCKS.items()}
    assert [payloads[k][0] for k in BLOCKS] == [2, 2, 0]  # the predictor orders the cases need
    assert payloads["one"] == bytes([0x00, 0x00, 0x70, 0x48, 0x01])
    payloads["empty"] = _empty_payload(empty_order)
    data, starts, plen = _layout([payloads[k] for k in names])
    n = np.array([0 if k == "empty" else len(BLOCKS[k]) for k in names])
    return codec.decode_payloads(data, starts, plen, n, 1)


@pytest.mark.parametrize("empty_order", [0, 1, 3])
@pytest.mark.parametrize(
    "names",
    [
        ["ramp", "empty", "ramp2"],  # every block undoes a predictor: the sums restart at each block
        ["empty", "ramp", "ramp2"],
        ["ramp", "empty", "one"],  # orders differ from block to block (the decoder's other path)
        ["empty", "one", "ramp"],
    ],
)
def test_a_payload_of_no_samples_before_good_ones_adds_nothing(empty_order: int, names: list[str]) -> None:
    ok, counts, problems = _decode_with_empty(empty_order, names)
    assert ok.tolist() == [True, True, True] and problems == ["", "", ""]
    np.testing.assert_array_equal(counts, np.concatenate([BLOCKS[k] for k in names if k != "empty"]))


@pytest.mark.parametrize("names", [["ramp", "one", "empty"], ["empty"], ["ramp", "empty", "empty"]])
def test_a_payload_of_no_samples_at_the_end_adds_nothing(names: list[str]) -> None:
    # at the end of a pass (or alone in it) it once indexed past the one bits (an IndexError)
    ok, counts, problems = _decode_with_empty(0, names)
    assert ok.all() and problems == [""] * len(names)
    expected = [BLOCKS[k] for k in names if k != "empty"]
    np.testing.assert_array_equal(
        counts, np.concatenate(expected) if expected else np.zeros((0, 1), np.int16)
    )
