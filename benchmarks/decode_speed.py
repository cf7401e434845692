"""Encode and decode speed of the session file format on a one-hour 208 Hz 6-axis running session.

Prints the host encode and decode times (clean, and with one inserted byte: the resynchronising
path), the file size and compression ratio, and (when Node and the
MicroPython WebAssembly port are installed) the firmware encoder's time per sample on MicroPython.

Usage: ``.venv/bin/python benchmarks/decode_speed.py [--minutes 60] [--repeat 3] [--no-firmware]``
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))
sys.path.insert(0, str(ROOT))

from hipsense.formats.device_file import SessionHeader, decode_session, encode_session  # noqa: E402

RATE_HZ = 208.0
ACC_COUNTS_PER_G = 1 / 0.488e-3
GYR_COUNTS_PER_DPS = 1 / 0.070


def running_session(seconds: float, seed: int = 0) -> np.ndarray:
    """Running-like 6-axis counts (sensor frame, +-16 g, +-2000 dps), no per-sample Python loops.

    Cadence drifts between about 2.6 and 3.0 steps/s; each step has a stance bump, a heel-strike
    impact (a decaying 15-25 Hz oscillation), left/right asymmetry in the lateral axes; pelvis
    rotation at stride frequency; sensor-like noise (about 1.5 mg and 0.07 deg/s rms).
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    cadence = 2.8 + 0.2 * np.sin(2 * np.pi * t / 240) + 0.02 * np.cumsum(rng.normal(0, 1, n)) / np.sqrt(n)
    phase = 2 * np.pi * np.cumsum(cadence) / RATE_HZ  # step phase
    step = np.floor(phase / (2 * np.pi))
    within = (phase / (2 * np.pi) - step) / cadence  # seconds since the step's contact
    side = np.where(step % 2 == 0, 1.0, -1.0)
    amp = 1 + 0.15 * rng.normal(0, 1, int(step.max()) + 2)[step.astype(int)]  # step-to-step variation
    ring = 15 + 10 * rng.random(int(step.max()) + 2)[step.astype(int)]
    impact = amp * np.exp(-within / 0.02) * np.sin(2 * np.pi * ring * within)
    stance = np.clip(np.sin(np.pi * within / 0.25), 0, None) * (within < 0.25)
    g = ACC_COUNTS_PER_G
    dps = GYR_COUNTS_PER_DPS
    acc_v = g * (1 + 1.6 * stance * amp - 0.8 * (1 - stance) + 1.5 * impact)
    acc_ml = g * (0.35 * side * stance + 0.2 * impact * side + 0.1 * np.sin(phase / 2))
    acc_ap = g * (-0.4 * np.sin(2 * np.pi * within / 0.25) * stance + 0.25 * np.sin(phase) - 0.6 * impact)
    gyr_roll = dps * (35 * side * np.sin(np.pi * within / 0.35) * (within < 0.35) + 8 * impact)
    gyr_pitch = dps * (20 * np.sin(phase + 0.5) + 15 * impact)
    gyr_yaw = dps * (45 * np.sin(phase / 2 + 1.0) + 5 * side * stance)
    x = np.stack([acc_v, -acc_ml, -acc_ap, gyr_yaw, -gyr_pitch, -gyr_roll], axis=1)
    x[:, :3] += rng.normal(0, 3, (n, 3))
    x[:, 3:] += rng.normal(0, 1, (n, 3))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def firmware_us_per_sample(counts: np.ndarray) -> float | None:
    """Time of the firmware writer per 6-axis sample on the MicroPython WebAssembly port."""
    try:
        from tests.mpy.harness import run_micropython, unavailable_reason
    except ImportError:
        return None
    if unavailable_reason():
        return None
    with tempfile.TemporaryDirectory() as d:
        raw = Path(d) / "x.bin"
        counts.astype("<i2").tofile(raw)
        code = """
import array, log, time
class Sink:
    def write(self, b):
        pass
    def flush(self):
        pass
raw = open("/x.bin", "rb").read()
w = log.SessionWriter(Sink(), session_id=1, channels=6, sample_rate_mhz=208000, acc_range_g=16,
                      acc_scale_ng=488000, gyr_range_dps=2000, gyr_scale_ndps=70000000)
chunks = [array.array("h", raw[o : o + 26 * 12]) for o in range(0, len(raw), 26 * 12)]
# Warm up the interpreter, then time.
for c in chunks[:40]:
    w.append(c, len(c) // 6, 0)
t0 = time.ticks_us()
n = 0
for c in chunks[40:]:
    w.append(c, len(c) // 6, 0)
    n += len(c) // 6
w.close()
print("@@US", time.ticks_diff(time.ticks_us(), t0) / n)
"""
        out = run_micropython(code, files=[(raw, "/x.bin")]).stdout
    return float(out.split("@@US")[1])


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-firmware", action="store_true")
    args = ap.parse_args()

    print(
        f"date: {datetime.date.today()}  machine: {cpu_name()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )
    counts = running_session(args.minutes * 60)
    n = len(counts)
    header = SessionHeader.default()
    enc = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        data = encode_session(header, counts)
        enc.append(time.perf_counter() - t0)
    dec = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        s = decode_session(data)
        dec.append(time.perf_counter() - t0)
    assert np.array_equal(s.counts, counts), "decode is not lossless"
    # One byte inserted a tenth of the way in: the rest of the file is found by its block markers
    # (the resynchronising path) instead of the fixed grid.
    at = header.block_size + len(data) // 10
    damaged = data[:at] + b"\x5a" + data[at:]
    resync = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sd = decode_session(damaged)
        resync.append(time.perf_counter() - t0)
    raw = n * 12
    ratio = raw / len(data)
    print(
        f"session: {n} samples ({n / RATE_HZ / 60:.1f} min) of 6 axes at {RATE_HZ:g} Hz, "
        f"{s.report.blocks} blocks of {header.block_size} bytes"
    )
    print(f"encode (host): {min(enc):.2f} s (best of {args.repeat})")
    print(f"decode (host): {min(dec):.3f} s (best of {args.repeat})")
    print(
        f"decode with one byte inserted at 10 % (host, resynchronising): {min(resync):.3f} s,"
        f" {s.report.data_blocks - sd.report.data_blocks} of {s.report.data_blocks} data blocks lost"
    )
    print(
        f"file: {len(data) / 1e6:.2f} MB, raw {raw / 1e6:.2f} MB, ratio {ratio:.2f}x, "
        f"{16 * 2**20 * ratio / (12 * RATE_HZ * 3600):.1f} h per 16 MiB"
    )
    if not args.no_firmware:
        us = firmware_us_per_sample(counts[: int(RATE_HZ * 20)])
        if us is None:
            print("firmware encode: skipped (Node or the MicroPython WebAssembly port is missing)")
        else:
            print(
                f"firmware encode (MicroPython WebAssembly port, this machine): {us:.0f} us per 6-axis sample, "
                f"{us * RATE_HZ / 1e4:.1f} % of one core at 208 Hz"
            )


if __name__ == "__main__":
    main()
