"""Firmware hot path on MicroPython: time per sample for FIFO drain + encode + write, and file size.

Runs the firmware (driver parse, log.SessionWriter with codec.BlockEncoder, the sampler) on the
MicroPython WebAssembly port with simulated running (hipsense.sim, 6 axes at 208 Hz) and prints:

- per-sample MicroPython time of the driver's FIFO decoding, of the writer (encode + CRC + file
  write), and of whole sampler drains through the fake LSM6DSOX (that one includes the chip model's
  own Python, which the device does not run); the longest single append (the one that finishes a
  block: the firmware's longest stall);
- the same translated to an ESP32-S3 at 240 MHz (assumptions printed with it);
- the codec ratio on simulated running and hours of recording per 16 MiB.

The WebAssembly figures depend on Node's JIT warm-up and vary run to run by tens of percent; the
device figures are an estimate until measured: ``--device-script DIR`` writes a standalone script
(and the simulated data) that measures the same hot path on a real board:
``mpremote cp firmware/*.py : + cp DIR/sim_counts.bin : + run DIR/fw_speed_device.py``.

Usage: ``.venv/bin/python benchmarks/firmware_speed.py [--seconds 120] [--device-script DIR]``
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))
sys.path.insert(0, str(ROOT))

from hipsense.formats.device_file import read_device_file  # noqa: E402
from hipsense.sim import scenarios, simulate_run  # noqa: E402
from tests.mpy.harness import run_micropython, unavailable_reason  # noqa: E402

MIB16 = 16 * 1024 * 1024
# MicroPython's ESP32 16 MiB partition table (ports/esp32/partitions-16MiB.csv) gives the littlefs
# ("vfs") partition 14 MiB after the ~2 MiB application; check the board build actually flashed.
VFS_BYTES = 14 * 1024 * 1024
# Assumption for the device estimate (to be replaced by a measurement with --device-script):
# MicroPython's VM (in IRAM on the ESP32 port) spends 13 to 40 cycles of a 240 MHz Xtensa LX7 on a
# simple integer bytecode (dispatch, tag checks, small-int arithmetic, stack traffic), i.e. 6 to 18
# million per second. Cross-check: published board comparisons put the ESP32-S3 at 240 MHz about
# 1.4x a 168 MHz STM32F405 (pyboard) on the same MicroPython code.
DEVICE_BYTECODES_PER_S = (6e6, 18e6)
# Bytecodes per iteration of the calibration loop in CORE (MicroPython bytecode: LOAD_FAST x5,
# LOAD_CONST_SMALL_INT x2, BINARY_OP x4, STORE_FAST x2, POP_JUMP_IF_TRUE x1).
CALIB_BYTECODES = 14

# The measured hot path, shared by the WebAssembly run and the device script. Needs `counts`
# (array('h'), 6 channels) and `n` in scope; fills `res`.
CORE = r"""
import array, gc, time
import imu_lsm6dsox, log


def calib(iters):
    x = 0
    i = 0
    t = time.ticks_us()
    while i < iters:
        x = (x + i) & 0xFFFF
        i += 1
    return time.ticks_diff(time.ticks_us(), t)


for _ in range(5):
    calib(200000)  # warm-up (the WebAssembly JIT)
res["calib_us_per_iter"] = min(calib(200000) for _ in range(5)) / 200000

# 1. Driver FIFO decoding (LSM6DSOX words -> int16 samples), 64 samples per batch as on the bus.
d = imu_lsm6dsox.LSM6DSOX(None)
raw = d._raw
buf = d.new_buffer()
for s in range(64):
    for w, (tag, base) in enumerate(((0x01, 3), (0x02, 0))):
        o = (2 * s + w) * 7
        raw[o] = (tag << 3) | ((s & 3) << 1)
        for c in range(3):
            v = counts[(s * 6 + base + c) % len(counts)] & 0xFFFF
            raw[o + 1 + 2 * c] = v & 0xFF
            raw[o + 2 + 2 * c] = v >> 8
best = None
for rep in range(5):  # (ticks_us has 1 ms resolution on the WebAssembly port: time long runs)
    t = time.ticks_us()
    for _ in range(100):
        d._prev = -1
        d._parse(raw, 128, buf, 0, False)
    us = time.ticks_diff(time.ticks_us(), t)
    best = us if best is None or us < best else best
res["parse_us_per_sample"] = best / (100 * 64)

# 2. Writer: encode + CRC + write to a file, fed in FIFO-sized chunks (32 samples: one drain).
for rep in range(2):
    f = open(path, "wb")
    w = log.SessionWriter(f, 1, 6, 208000, 16, 488000, gyr_range_dps=2000, gyr_scale_ndps=70000000)
    chunk = array.array("h", bytes(2 * 6 * 32))
    worst = 0
    worst_plain = 0
    total = 0
    gc.collect()
    for i in range(0, n - 32, 32):
        for j in range(32 * 6):
            chunk[j] = counts[i * 6 + j]
        blocks = w.data_blocks
        t = time.ticks_us()
        w.append(chunk, 32, i * 1000 // 208)
        us = time.ticks_diff(time.ticks_us(), t)
        total += us
        if w.data_blocks != blocks:
            worst = us if us > worst else worst
        else:
            worst_plain = us if us > worst_plain else worst_plain
    t = time.ticks_us()
    w.close(log.REASON_USER_STOP, n * 1000 // 208)
    total += time.ticks_diff(time.ticks_us(), t)
    f.close()
    per = total / (n - n % 32)
    if rep == 0 or per < res["write_us_per_sample"]:
        res["write_us_per_sample"] = per
        res["append_worst_block_us"] = worst
        res["append_worst_plain_us"] = worst_plain
        res["blocks"] = w.data_blocks
        res["file_bytes"] = w.bytes_written
res["calib_us_per_iter"] = min(res["calib_us_per_iter"], min(calib(200000) for _ in range(5)) / 200000)
"""

WASM = (
    r"""
import array, json, machine, sampler, imu, log
from fake_clock import FakeClock
from fake_lsm6dsox import FakeLSM6DSOX

counts = array.array("h", open("/in/counts.bin", "rb").read())
n = len(counts) // 6
path = "/bench.session"
res = {}
"""
    + CORE
    + r"""
# 3. The whole sampler (driver + writer) draining the fake chip every 153 ms of fake time.
import time
clock = FakeClock()
i2c = machine.I2C(0)
chip = i2c.attach(0x6A, FakeLSM6DSOX(clock, counts))
drv = imu.probe(i2c, clock=clock.ticks_ms)
f = open("/pipe.session", "wb")
w = log.SessionWriter(f, **imu.writer_args(drv, session_id=1))
s = sampler.Sampler(drv, w, clock=clock.ticks_ms, gc_ms=0)
s.start()
spent = 0
longest = 0
while not (chip.exhausted and chip.level() == 0):
    clock.advance_ms(s.drain_ms)
    chip.update()
    t = time.ticks_us()
    s.drain()
    us = time.ticks_diff(time.ticks_us(), t)
    spent += us
    longest = us if us > longest else longest
s.close()
f.close()
res["pipeline_us_per_sample"] = spent / s.samples
res["pipeline_longest_drain_us"] = longest
res["pipeline_samples"] = s.samples
print("@@RESULT " + json.dumps(res))
"""
)

DEVICE = (
    r"""# Firmware hot-path speed on a real board (generated by benchmarks/firmware_speed.py).
# mpremote cp firmware/*.py : + cp sim_counts.bin : + run fw_speed_device.py
import array, json, machine
print("freq", machine.freq())
counts = array.array("h", open("sim_counts.bin", "rb").read())
n = len(counts) // 6
path = "bench.session"
res = {}
"""
    + CORE
    + r"""
print(json.dumps(res))
"""
)


def simulated(seconds: float) -> np.ndarray:
    run = simulate_run(scenarios.steady_run(duration_s=seconds, seed=1))
    return np.ascontiguousarray(run.counts, dtype="<i2")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0, help="simulated running (s)")
    ap.add_argument("--device-script", type=Path, help="write the on-device script and data here")
    args = ap.parse_args()
    counts = simulated(args.seconds)
    if args.device_script:
        args.device_script.mkdir(parents=True, exist_ok=True)
        counts.tofile(args.device_script / "sim_counts.bin")
        (args.device_script / "fw_speed_device.py").write_text(DEVICE)
        print(f"wrote {args.device_script}/fw_speed_device.py and sim_counts.bin ({len(counts)} samples)")
        return
    reason = unavailable_reason()
    if reason:
        sys.exit(reason)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "counts.bin"
        counts.tofile(raw)
        out = Path(tmp) / "bench.session"
        proc = run_micropython(WASM, files=[(raw, "/in/counts.bin")], export=[("/pipe.session", out)])
        res = json.loads(re.search(r"@@RESULT (.*)", proc.stdout).group(1))
        s = read_device_file(out)
        assert np.array_equal(s.counts, counts), "the pipeline did not round-trip"
        bt = s.block_table
        file_bytes = out.stat().st_size

    n = len(counts)
    rate = 208.0
    print(
        f"Firmware hot path, {datetime.date.today()}, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; MicroPython 1.27 WebAssembly port (Node)"
    )
    print(f"simulated running: {n} samples, 6 axes, {rate:.0f} Hz ({n / rate:.0f} s)")
    print()
    calib = res["calib_us_per_iter"]
    wasm_bc = CALIB_BYTECODES / calib * 1e6
    print(
        f"WebAssembly calibration loop: {calib * 1000:.0f} ns/iteration = {wasm_bc / 1e6:.0f} M bytecodes/s"
    )
    rows = [
        ("driver FIFO decode (LSM6DSOX words)", res["parse_us_per_sample"]),
        ("writer: encode + CRC + file write", res["write_us_per_sample"]),
        ("drain + encode + write (the hot path)", res["parse_us_per_sample"] + res["write_us_per_sample"]),
    ]
    lo, hi = (wasm_bc / b for b in DEVICE_BYTECODES_PER_S[::-1])
    print(
        f"ESP32-S3 estimate: x{lo:.0f} .. x{hi:.0f} the WebAssembly time "
        f"({DEVICE_BYTECODES_PER_S[0] / 1e6:.0f}-{DEVICE_BYTECODES_PER_S[1] / 1e6:.0f} M simple bytecodes/s at 240 MHz)"
    )
    print()
    print(f"{'per 6-axis sample':40s} {'WebAssembly':>12s} {'ESP32-S3 (est.)':>18s} {'CPU at 208 Hz':>14s}")
    for name, us in rows:
        d_lo, d_hi = us * lo, us * hi
        print(
            f"{name:40s} {us:9.1f} us {d_lo / 1000:7.2f}-{d_hi / 1000:5.2f} ms {d_lo * rate / 1e4:6.0f}-{d_hi * rate / 1e4:.0f} %"
        )
    pipe = res["pipeline_us_per_sample"]
    print(f"{'sampler drains via the fake chip':40s} {pipe:9.1f} us   (includes the chip model's Python)")
    print()
    wb, wp = res["append_worst_block_us"], res["append_worst_plain_us"]
    print(
        f"longest append that finishes a block: {wb / 1000:.1f} ms WebAssembly, "
        f"{wb * lo / 1e6:.2f}-{wb * hi / 1e6:.2f} s on the ESP32-S3 (est.); "
        f"other appends at most {wp / 1000:.1f} ms"
    )
    print(f"longest sampler drain: {res['pipeline_longest_drain_us'] / 1000:.1f} ms WebAssembly")
    print()
    # Size: steady state (whole data blocks) and the whole file.
    bs = s.header.block_size
    per_block = bt["n_samples"][:-1]
    steady = per_block.sum() * 12 / (len(per_block) * bs)
    whole = n * 12 / file_bytes
    bytes_per_hour = 3600 * rate * len(per_block) * bs / per_block.sum()
    print(
        f"codec ratio vs raw int16 (simulated running): {steady:.2f} steady state, {whole:.2f} whole file; "
        f"{per_block.mean():.0f} samples per 2 KiB block"
    )
    print(
        f"hours per 16 MiB: {MIB16 / bytes_per_hour:.1f}  (per 14 MiB littlefs partition: "
        f"{VFS_BYTES / bytes_per_hour:.1f})"
    )


if __name__ == "__main__":
    main()
