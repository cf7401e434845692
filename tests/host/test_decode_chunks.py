"""The vectorised decoder in passes (bounded memory) gives what one pass over the whole file gives."""

from __future__ import annotations

import numpy as np
import pytest

from hipsense.formats import codec, codec_decode


def _payloads(rng: np.random.Generator, blocks: int, channels: int = 6):
    """Encoded blocks of random-walk counts (with full-scale jumps), laid out one after the other."""
    parts, samples = [], []
    for b in range(blocks):
        n = int(rng.integers(1, 120))
        x = np.cumsum(rng.integers(-300, 300, size=(n, channels)), axis=0)
        if b % 7 == 3:
            x[n // 2 :] += 40000  # wraps: the codec is lossless modulo 2**16 all the same
        counts = ((x + 32768) % 65536 - 32768).astype(np.int16)
        samples.append(counts)
        parts.append(codec.encode_payload(counts))
    starts = np.cumsum([0] + [len(p) for p in parts[:-1]])
    data = np.frombuffer(b"".join(parts) + bytes(64), dtype=np.uint8).copy()
    return data, starts, np.array([len(p) for p in parts]), np.array([len(s) for s in samples]), samples


@pytest.mark.parametrize("chunk", [1, 50, 333, 1 << 18])
def test_passes_give_the_same_counts_and_problems(monkeypatch, chunk: int) -> None:
    rng = np.random.default_rng(chunk)
    data, pstart, plen, n, samples = _payloads(rng, 60)
    # Two damaged payloads: one cut short, one with a flipped bit in its unary codes.
    plen = plen.copy()
    plen[11] = 3
    data[pstart[40] + plen[40] - 2] ^= 0x10
    whole = codec.decode_payloads(data, pstart, plen, n, 6)
    monkeypatch.setattr(codec_decode, "DECODE_CHUNK_SAMPLES", chunk)
    ok, counts, problems = codec.decode_payloads(data, pstart, plen, n, 6)
    np.testing.assert_array_equal(ok, whole[0])
    np.testing.assert_array_equal(counts, whole[1])
    assert problems == whole[2]
    assert not ok[11] and problems[11]
    expected = np.concatenate([s for s, good in zip(samples, ok, strict=True) if good])
    np.testing.assert_array_equal(counts, expected)
    assert ok.sum() >= 58


def test_every_payload_bad_gives_no_counts(monkeypatch) -> None:
    data, pstart, plen, n, _ = _payloads(np.random.default_rng(1), 5)
    monkeypatch.setattr(codec_decode, "DECODE_CHUNK_SAMPLES", 10)
    ok, counts, problems = codec.decode_payloads(data, pstart, np.full(5, 2), n, 6)
    assert not ok.any() and counts.shape == (0, 6) and all(problems)
