"""(Re)generate the golden vectors of the session file format (docs/session-format.md).

Not run by the tests: run it by hand after a deliberate format change, review the diff, and commit the
new files together with the spec change. The tests then check that the host decoder reads these files
to the expected counts and report, and that the host and the firmware encoders reproduce their bytes.

Each vector NAME has:
- ``NAME.session``: the session file;
- ``NAME.npz``: ``counts`` (int16, n x channels), ``sample_index`` (int64) and ``block_time_ms``
  (int64: the device time of every sample's FIFO read);
- ``NAME.json``: ``header`` (SessionHeader fields), the writer's input as the firmware gets it
  (``chunks``: one FIFO read each, ``{"n", "t_ms", "flags", "lost"}``; ``close``: reason and t_ms), the
  host encoder's ``overflow_lost`` and the expected ``report`` of the decoder.

Usage: ``.venv/bin/python tests/vectors/make_vectors.py``
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "host"))

from hipsense.formats.device_file import (  # noqa: E402
    FLAG_OVERFLOW,
    SessionHeader,
    decode_session,
    encode_session,
)


def running_like(n: int, channels: int, rate_hz: float, seed: int) -> np.ndarray:
    """Counts that look like a pelvis IMU while running: stride and step harmonics, impacts, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate_hz
    step_hz = 2.8
    out = np.zeros((n, channels))
    phase = 2 * np.pi * step_hz * t
    steps = np.floor(t * step_hz)
    since = t - steps / step_hz
    impact = np.exp(-since / 0.025) * np.sin(2 * np.pi * 18 * since)
    side = np.where(steps % 2 == 0, 1.0, -1.0)
    g = 2049  # 1 g at 0.488 mg/count
    out[:, 0] = g + 0.9 * g * np.sin(phase) + 2.0 * g * impact + rng.normal(0, 4, n)
    out[:, 1] = 0.25 * g * np.sin(phase / 2) * 1.0 + 0.3 * g * impact * side + rng.normal(0, 4, n)
    out[:, 2] = 0.35 * g * np.sin(phase + 1.0) - 0.6 * g * impact + rng.normal(0, 4, n)
    if channels == 6:
        dps = 1 / 0.07  # counts per deg/s at 70 mdps/count
        out[:, 3] = 40 * dps * np.sin(phase / 2 + 0.4) + rng.normal(0, 1, n)
        out[:, 4] = 25 * dps * np.sin(phase + 0.8) + 60 * dps * impact * side + rng.normal(0, 1, n)
        out[:, 5] = 55 * dps * np.sin(phase / 2 + 2.0) + rng.normal(0, 1, n)
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def extremes(seed: int) -> np.ndarray:
    """Full-scale values, constants, alternation, white noise: the codec's worst and best cases."""
    rng = np.random.default_rng(seed)
    parts = [
        np.full((200, 6), -32768),
        np.full((200, 6), 32767),
        np.where(np.arange(90)[:, None] % 2 == 0, 32767, -32768) * np.ones((1, 6), dtype=np.int64),
        rng.integers(-32768, 32768, (240, 6)),
        np.zeros((40, 6), dtype=np.int64),
        rng.choice([-32768, -1, 0, 1, 32767], (90, 6)),
        np.cumsum(rng.integers(-3000, 3000, (100, 6)), axis=0) % 65536 - 32768,
    ]
    return np.concatenate(parts).astype(np.int16)


def host_args(counts_len: int, chunks) -> dict:
    """What the host encoder needs to make the same file as the firmware fed with ``chunks``.

    Each chunk is one FIFO read as the firmware's writer gets it: ``n`` samples at ``t_ms``, after
    ``lost`` samples, ``flags`` marking an overflow. Returns ``sample_index``, ``block_time_ms`` (per
    sample) and ``overflow_lost`` (keyed by the first sample after the overflow).
    """
    index, times, overflow = [], [], {}
    idx, pending = 0, None
    for c in chunks:
        idx += c["lost"]
        if c["flags"] & FLAG_OVERFLOW:
            pending = (pending or 0) + c["lost"]
        if c["n"] and pending is not None:
            overflow[idx] = pending
            pending = None
        index.extend(range(idx, idx + c["n"]))
        times.extend([c["t_ms"]] * c["n"])
        idx += c["n"]
    assert len(index) == counts_len
    return dict(
        sample_index=np.array(index, dtype=np.int64),
        block_time_ms=np.array(times, dtype=np.int64),
        overflow_lost=overflow,
    )


def build(name: str, header: SessionHeader, counts: np.ndarray, chunks: list[dict], close: dict) -> None:
    """Write the three files of one vector from the firmware-style input (chunks of FIFO reads)."""
    args = host_args(len(counts), chunks)
    sample_index, times = args["sample_index"], args["block_time_ms"]
    data = encode_session(
        header,
        counts,
        **args,
        close_reason=close["reason"],
        end_time_ms=close["t_ms"],
    )
    (HERE / f"{name}.session").write_bytes(data)
    np.savez_compressed(HERE / f"{name}.npz", counts=counts, sample_index=sample_index, block_time_ms=times)
    decoded = decode_session(data, path=f"{name}.session")
    assert np.array_equal(decoded.counts, counts) and np.array_equal(decoded.sample_index, sample_index)
    report = dataclasses.asdict(decoded.report)
    spec = {
        "header": dataclasses.asdict(header),
        "chunks": chunks,
        "close": close,
        "overflow_lost": {str(k): v for k, v in args["overflow_lost"].items()},
        "report": report,
        "file_bytes": len(data),
    }
    (HERE / f"{name}.json").write_text(json.dumps(spec, indent=1) + "\n")
    print(f"{name}: {len(data)} bytes, {len(counts)} samples, {report['data_blocks']} data blocks")


def fifo_chunks(n: int, size: int, period_ms: int, t0: int = 0) -> list[dict]:
    chunks, t = [], t0
    for a in range(0, n, size):
        chunks.append({"n": min(size, n - a), "t_ms": t, "flags": 0, "lost": 0})
        t += period_ms
    return chunks


def main() -> None:
    # 1. Six channels at 208 Hz, FIFO read every 26 samples (125 ms), one plain gap (the sampler
    #    paused: 40 samples missing) and one FIFO overflow (13 samples lost).
    h6 = SessionHeader.default(
        device_id="HS-A1B2C3",
        firmware_version="0.1.0",
        sensor_model="LSM6DSOX",
        session_id=0x2A,
        start_time_unix=1_767_225_600,
    )
    c6 = running_like(1560, 6, 208.0, seed=1)
    chunks = fifo_chunks(1560, 26, 125)
    chunks[20] = {**chunks[20], "lost": 40, "t_ms": chunks[20]["t_ms"] + 192}
    chunks[41] = {**chunks[41], "lost": 13, "flags": FLAG_OVERFLOW}
    for ch in chunks[21:]:
        ch["t_ms"] += 192
    build("six_axis_gap_overflow", h6, c6, chunks, {"reason": "user_stop", "t_ms": chunks[-1]["t_ms"] + 125})

    # 2. Accelerometer only, 104 Hz, 1024-byte blocks, side mounting, clock not set, irregular FIFO reads.
    h3 = SessionHeader.default(
        device_id="HS-0003",
        firmware_version="0.1.0-dev",
        sensor_model="ICM-42688-P",
        session_id=7,
        sample_rate_hz=104.0,
        odr_hz=104.0,
        channels=3,
        gyr_range_dps=0,
        gyr_scale_dps=0.0,
        acc_scale_ms2=488.28125e-6 * 9.80665,
        mounting="side-left",
        block_size=1024,
    )
    c3 = running_like(1200, 3, 104.0, seed=2)
    rng = np.random.default_rng(3)
    chunks, a, t = [], 0, 0
    while a < 1200:
        n = int(min(rng.integers(1, 40), 1200 - a))
        chunks.append({"n": n, "t_ms": t, "flags": 0, "lost": 0})
        t += int(n * 1000 / 104) + int(rng.integers(0, 3))
        a += n
    build("three_axis_accel", h3, c3, chunks, {"reason": "storage_full", "t_ms": t})

    # 3. Extreme values, low-battery close. block_max_samples = 300: the constant parts hit it, the
    #    white noise fills blocks to their byte capacity first.
    hx = SessionHeader.default(
        device_id="HS-EXTREME",
        firmware_version="9.99.999",
        sensor_model="LSM6DSOX",
        session_id=0xFFFFFFFF,
        block_max_samples=300,
        mounting="unknown",
    )
    cx = extremes(seed=4)
    build("extremes", hx, cx, fifo_chunks(len(cx), 32, 154, t0=5), {"reason": "low_battery", "t_ms": 4000})


if __name__ == "__main__":
    main()
