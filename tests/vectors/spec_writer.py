"""A session-file writer built from docs/session-format.md alone, for test vectors.

It imports nothing from hipsense: the header and blocks are laid out field by field from the tables of
the spec, the CRC is ``zlib.crc32``, and codec 1 (predictors, zigzag, frames, Rice parameters, split
low and unary parts) is written out bit by bit in plain Python. The host decoder (and later the
firmware writer) is checked against what this makes; a bug shared by the project's own encoder and
decoder does not pass here. Slow on purpose: it is for sessions of a few hundred samples.

``python tests/vectors/spec_writer.py`` rewrites ``tests/vectors/independent/`` (by hand, never by tests).
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
FRAME = 16  # "Rice coding in 16-sample frames"
BLOCK_OVERHEAD = 36  # 32-byte block header + CRC


# --------------------------------------------------------------------------------------------------
# Codec 1, step by step as the spec words it


def residuals(x: list[int], p: int) -> list[int]:
    """The p-th difference of ``x`` with the samples before the block taken as 0, wrapped to int16."""
    out = []
    for i in range(len(x)):
        prev = [x[i - j] if i - j >= 0 else 0 for j in range(4)]
        d = [
            prev[0],
            prev[0] - prev[1],
            prev[0] - 2 * prev[1] + prev[2],
            prev[0] - 3 * prev[1] + 3 * prev[2] - prev[3],
        ]
        out.append(((d[p] + 32768) & 0xFFFF) - 32768)
    return out


def zigzag(e: int) -> int:
    return 2 * e if e >= 0 else -2 * e - 1


def frames(z: list[int], p: int) -> list[list[int]]:
    """Frame 0 the warm-up (first min(p, n) values), then frames of 16 positions without the warm-up."""
    n = len(z)
    out = [z[: min(p, n)]]
    for j in range(1, -(-n // FRAME) + 1):
        out.append([z[i] for i in range(FRAME * (j - 1), min(FRAME * j, n)) if i >= p])
    return out


def rice_cost(frame: list[int], k: int) -> int:
    return len(frame) * (k + 1) + sum(v >> k for v in frame)


def best_k(frame: list[int]) -> int:
    """Smallest k in 0..15 with the smallest cost (0 for an empty frame)."""
    costs = [rice_cost(frame, k) for k in range(16)]
    return costs.index(min(costs))


def channel_plan(x: list[int], order: int | None = None) -> tuple[int, list[int], list[list[int]]]:
    """(order, k per frame, frames of zigzag values); the order is the smallest cheapest unless forced."""
    plans = []
    for p in range(4):
        fr = frames([zigzag(e) for e in residuals(x, p)], p)
        ks = [best_k(f) for f in fr]
        plans.append((sum(rice_cost(f, k) for f, k in zip(fr, ks, strict=True)), p, ks, fr))
    if order is None:
        best = min(c for c, *_ in plans)
        order = next(p for c, p, *_ in plans if c == best)
    _, p, ks, fr = plans[order]
    return p, ks, fr


class Bits:
    """A bitstream, least significant bit first."""

    def __init__(self) -> None:
        self.bits: list[int] = []

    def put(self, value: int, width: int) -> None:
        self.bits += [(value >> i) & 1 for i in range(width)]

    def to_bytes(self) -> bytes:
        padded = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(sum(padded[i + j] << j for j in range(8)) for i in range(0, len(padded), 8))


def payload(channels: list[list[int]], orders: list[int | None] | None = None) -> bytes:
    """Codec 1 payload of one block: ``channels[c][i]`` is sample i of channel c."""
    plans = [channel_plan(x, (orders or [None] * len(channels))[c]) for c, x in enumerate(channels)]
    word = sum(p << (2 * c) for c, (p, _, _) in enumerate(plans))
    bits = Bits()
    for _, ks, _ in plans:  # 1. parameters
        for k in ks:
            bits.put(k, 4)
    for _, ks, fr in plans:  # 2. low parts
        for k, f in zip(ks, fr, strict=True):
            for v in f:
                bits.put(v & ((1 << k) - 1), k)
    for _, ks, fr in plans:  # 3. unary high parts: q zeros, then a one
        for k, f in zip(ks, fr, strict=True):
            for v in f:
                bits.bits += [0] * (v >> k) + [1]
    return struct.pack("<H", word) + bits.to_bytes()


def largest_fit(samples: list[tuple[int, ...]], capacity: int, max_samples: int) -> int:
    """Largest n <= max_samples whose payload fits ``capacity`` bytes (the size never falls with n)."""
    lo, hi = 1, min(len(samples), max_samples)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(payload([list(c) for c in zip(*samples[:mid], strict=True)])) <= capacity:
            lo = mid
        else:
            hi = mid - 1
    return lo


# --------------------------------------------------------------------------------------------------
# Header and blocks, field by field from the spec's tables


def text(value: str) -> bytes:
    raw = value.encode("utf-8")
    return raw + bytes(16 - len(raw))


def header(
    *,
    channels: int,
    session_id: int,
    sample_rate_mhz: int,
    acc_range_g: int,
    acc_scale_ng: int,
    gyr_range_dps: int = 0,
    gyr_scale_ndps: int = 0,
    odr_mhz: int = 0,
    start_time_unix: int = 0,
    block_size: int = 2048,
    block_max_samples: int = 1024,
    mounting: int = 1,
    device_id: str = "",
    firmware_version: str = "",
    sensor_model: str = "",
    version: tuple[int, int] = (1, 0),
) -> bytes:
    hl = block_size  # "Writers of version 1.0 use header_length = block_size"
    out = bytearray(hl)
    out[0:4] = b"HSNS"
    out[4], out[5], out[6], out[7] = version[0], version[1], channels, 1
    struct.pack_into("<IIIII", out, 8, hl, block_size, session_id, odr_mhz, sample_rate_mhz)
    struct.pack_into("<HHII", out, 28, acc_range_g, gyr_range_dps, acc_scale_ng, gyr_scale_ndps)
    struct.pack_into("<QHBBI", out, 40, start_time_unix, block_max_samples, mounting, 0, 0)
    out[56:72], out[72:88], out[88:104] = text(device_id), text(firmware_version), text(sensor_model)
    struct.pack_into("<I", out, hl - 4, zlib.crc32(bytes(out[: hl - 4])))
    return bytes(out)


def block(
    block_size: int,
    *,
    btype: int,
    session_id: int,
    seq: int,
    first_index: int,
    t_ms: int,
    n: int,
    body: bytes,
    flags: int = 0,
    lost: int = 0,
) -> bytes:
    out = bytearray(block_size)
    out[0:4] = b"HSBK"
    out[4], out[5] = 1, btype
    struct.pack_into("<HIIIIHHI", out, 6, flags, session_id, seq, first_index, t_ms, n, len(body), lost)
    out[32 : 32 + len(body)] = body
    struct.pack_into("<I", out, block_size - 4, zlib.crc32(bytes(out[: block_size - 4])))
    return bytes(out)


@dataclass
class Run:
    """Contiguous samples from ``first_index``: a new run after a jump (GAP) or an overflow."""

    first_index: int
    samples: list[tuple[int, ...]]
    t_ms: list[int] | None = None  # per sample, the FIFO read time; default nominal
    overflow_lost: int | None = None  # set: the run starts after an IMU FIFO overflow
    orders: list[int | None] | None = None  # force predictor orders (vectors cover each order)


@dataclass
class Session:
    header: dict
    runs: list[Run] = field(default_factory=list)
    close_reason: int | None = 1
    end_t_ms: int | None = None


def build(s: Session) -> tuple[bytes, list[dict]]:
    """The file's bytes and, per data block, what it holds (for the expected-values JSON)."""
    h = s.header
    bs, rate = h.get("block_size", 2048), h["sample_rate_mhz"]
    out = [header(**h)]
    blocks, seq, expected, total, lost_sum = [], 0, 0, 0, 0
    for run in s.runs:
        a = 0
        while a < len(run.samples):
            rest = run.samples[a:]
            if run.orders is None:
                n = largest_fit(rest, bs - BLOCK_OVERHEAD, h.get("block_max_samples", 1024))
            else:
                n = len(rest)  # forced orders: the caller gives a run that fits one block
            first = run.first_index + a
            flags = lost = 0
            if first != expected:
                flags |= 1  # GAP
            if a == 0 and run.overflow_lost is not None:
                flags |= 2  # OVERFLOW
                lost = run.overflow_lost
                lost_sum += lost
            t = run.t_ms[a] if run.t_ms else first * 1_000_000 // rate
            body = payload([list(c) for c in zip(*rest[:n], strict=True)], run.orders)
            if len(body) > bs - BLOCK_OVERHEAD:
                raise ValueError("a run with forced orders does not fit one block")
            out.append(
                block(
                    bs,
                    btype=1,
                    session_id=h["session_id"],
                    seq=seq,
                    first_index=first,
                    t_ms=t,
                    n=n,
                    body=body,
                    flags=flags,
                    lost=lost,
                )
            )
            blocks.append({"seq": seq, "first_index": first, "n": n, "flags": flags, "lost": lost, "t_ms": t})
            seq, expected, total, a = seq + 1, first + n, total + n, a + n
    if s.close_reason is not None:
        t = s.end_t_ms if s.end_t_ms is not None else expected * 1_000_000 // rate
        end = struct.pack("<IIIB3x", total, seq, min(lost_sum, 0xFFFFFFFF), s.close_reason)
        out.append(
            block(
                bs, btype=2, session_id=h["session_id"], seq=seq, first_index=expected, t_ms=t, n=0, body=end
            )
        )
    return b"".join(out), blocks


# --------------------------------------------------------------------------------------------------
# The stored vector for the firmware tests: tests/vectors/independent/


def mixed_session() -> Session:
    """Six channels, 104 Hz, 512-byte blocks: a ramp, a 25-sample gap, an overflow of 7, extremes, end."""
    ramp = [(1000 + 3 * i, -2000 + i * i % 50, 16384, 5 * i, -5 * i, (-1) ** i * 300) for i in range(120)]
    after_gap = [(i % 7 - 3, 2 * i, -3 * i, 32767 - i, -32768 + i, 0) for i in range(40)]
    extremes = [(32767, -32768, 32767 * (i % 2), -32768 * (i % 2), i, -i) for i in range(30)]
    return Session(
        header=dict(
            channels=6,
            session_id=0x51DE,
            sample_rate_mhz=104_000,
            odr_mhz=104_000,
            acc_range_g=16,
            acc_scale_ng=488_000,
            gyr_range_dps=2000,
            gyr_scale_ndps=70_000_000,
            start_time_unix=1_767_225_600,
            block_size=512,
            block_max_samples=64,
            mounting=1,
            device_id="HS-SPEC",
            firmware_version="spec-1.0",
            sensor_model="LSM6DSOX",
        ),
        runs=[Run(0, ramp), Run(145, after_gap), Run(192, extremes, overflow_lost=7)],
        close_reason=1,
        end_t_ms=2100,
    )


def main() -> None:
    out = HERE / "independent"
    out.mkdir(exist_ok=True)
    s = mixed_session()
    data, blocks = build(s)
    (out / "mixed.hsn").write_bytes(data)
    expected = {
        "what": "tests/vectors/spec_writer.py mixed_session(): written from docs/session-format.md alone",
        "header": s.header,
        "runs": [
            {"first_index": r.first_index, "samples": r.samples, "overflow_lost": r.overflow_lost}
            for r in s.runs
        ],
        "blocks": blocks,
        "close_reason": "user_stop",
        "end_t_ms": s.end_t_ms,
        "file_bytes": len(data),
    }
    (out / "mixed.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"mixed.hsn: {len(data)} bytes, {len(blocks)} data blocks")


if __name__ == "__main__":
    main()
