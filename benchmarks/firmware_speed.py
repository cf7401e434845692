"""Firmware hot path on MicroPython: time per sample, the longest single call, and file size.

Runs the firmware (driver parse, log.SessionWriter with codec.BlockEncoder, the sampler) on the
MicroPython WebAssembly port with simulated running (hipsense.sim, 6 axes at 208 Hz) and prints:

- per-sample MicroPython time of the driver's FIFO decoding, of the writer (encode + CRC + file
  write), and of the whole sampler loop through the fake LSM6DSOX (that one includes the chip
  model's own Python, which the device does not run); whether that keeps up with 208 Hz (the figure
  a test used to assert);
- every single call, timed: the writer's append() of one FIFO read and each of its work() steps,
  and the sampler loop's drain() and work() steps as ``Sampler.run`` makes them, with the median,
  p99 and maximum per kind of call and how many exceed one sample period (4.8 ms). A call is timed
  as the smaller of its wall and CPU time, and of ``--repeats`` identical runs the fastest counts
  (on a shared machine other processes only ever add time);
- the same translated to an ESP32-S3 at 240 MHz (assumptions printed with it);
- the codec ratio on simulated running and hours of recording per 16 MiB.

Before/after: ``git archive REV firmware | tar -x -C DIR`` and ``--firmware DIR/firmware`` measures
another firmware tree (a writer without ``work()`` finishes blocks inside ``append``).

The WebAssembly figures depend on Node's JIT warm-up and vary run to run by tens of percent; the
device figures are an estimate until measured: ``--device-script DIR`` writes a standalone script
(and the simulated data) that measures the same hot path on a real board:
``mpremote cp firmware/*.py : + cp DIR/sim_counts.bin : + run DIR/fw_speed_device.py``.

Usage: ``.venv/bin/python benchmarks/firmware_speed.py [--seconds 120] [--repeats 3] [--firmware DIR]
[--device-script DIR]``
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
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
from tests.mpy import harness  # noqa: E402
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

# Call timer, ms: t0() before, t1() after. WebAssembly: the smaller of wall time (performance.now;
# ticks_us there moves in whole ms) and the process's CPU time; both only ever add to what the call
# itself took (wall: other processes of a shared machine; CPU: Node's other threads). A board: ticks_us.
_s = [0.0, 0.0]
try:
    import js

    _pn = js.performance.now
    _cu = js.process.cpuUsage

    def t0():
        u = _cu()
        _s[1] = u.user + u.system
        _s[0] = _pn()

    def t1():
        w = _pn() - _s[0]
        u = _cu()
        c = (u.user + u.system - _s[1]) / 1000
        return c if c < w else w

except ImportError:

    def t0():
        _s[0] = time.ticks_us()

    def t1():
        return time.ticks_diff(time.ticks_us(), _s[0]) / 1000


MAXCALLS = 4 * n // 32 + 4 * n // 16 + 1000


def writer_calls(times, kinds):
    # The writer fed one FIFO read (32 samples) at a time, its work() run to completion after each
    # (as the sampler does after a drain); each call timed. Returns (calls, total ms, writer).
    f = open(path, "wb")
    w = log.SessionWriter(f, 1, 6, 208000, 16, 488000, gyr_range_dps=2000, gyr_scale_ndps=70000000)
    work = getattr(w, "work", None)  # (the writer before work() finished blocks inside append)
    chunk = array.array("h", bytes(2 * 6 * 32))
    k = 0
    total = 0.0
    gc.collect()
    for i in range(0, n - 32, 32):
        for j in range(32 * 6):
            chunk[j] = counts[i * 6 + j]
        t0()
        w.append(chunk, 32, i * 1000 // 208)
        d = t1()
        total += d
        times[k] = d
        kinds[k] = 0
        k += 1
        while work is not None:
            st = w._state
            t0()
            more = work()
            d = t1()
            total += d
            times[k] = d
            kinds[k] = 1 + st
            k += 1
            if not more:
                break
    t0()
    w.close(log.REASON_USER_STOP, n * 1000 // 208)
    total += t1()
    f.close()
    return k, total, w


def calib(iters):
    x = 0
    i = 0
    t0()
    while i < iters:
        x = (x + i) & 0xFFFF
        i += 1
    return t1() * 1000


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
for rep in range(5):
    t0()
    for _ in range(100):
        d._prev = -1
        d._parse(raw, 128, buf, 0, False)
    us = t1() * 1000
    best = us if best is None or us < best else best
res["parse_us_per_sample"] = best / (100 * 64)

# 2. Writer: encode + CRC + write to a file, fed in FIFO-sized chunks (32 samples: one drain).
# REPEATS runs of the same calls; per call the smallest time (a shared machine only ever adds).
times = array.array("f", bytes(4 * MAXCALLS))
best = array.array("f", bytes(4 * MAXCALLS))
kinds = bytearray(MAXCALLS)
for rep in range(REPEATS):
    k, total, w = writer_calls(times, kinds)
    for i in range(k):
        if rep == 0 or times[i] < best[i]:
            best[i] = times[i]
    per = total * 1000 / (n - n % 32)
    if rep == 0 or per < res["write_us_per_sample"]:
        res["write_us_per_sample"] = per
        res["blocks"] = w.data_blocks
        res["file_bytes"] = w.bytes_written
res["writer_calls"] = [round(best[i], 4) for i in range(k)]
res["writer_kinds"] = list(kinds[:k])
res["calib_us_per_iter"] = min(res["calib_us_per_iter"], min(calib(200000) for _ in range(5)) / 200000)
"""

WASM = (
    r"""
import array, gc, json, machine, sampler, imu, log
from fake_clock import FakeClock
from fake_lsm6dsox import FakeLSM6DSOX

counts = array.array("h", open("/in/counts.bin", "rb").read())
n = len(counts) // 6
path = "/bench.session"
res = {}
REPEATS = @REPEATS@
"""
    + CORE
    + r"""
# 3. The sampler loop (driver + writer) draining the fake chip every 153 ms of fake time, each call
# timed as Sampler.run() makes them: drain(), then the writer's work() steps (a yield between
# each), and after a step that wrote a block one more drain(). REPEATS runs; per call the smallest.
def sampler_calls(times, kinds):
    clock = FakeClock()
    i2c = machine.I2C(0)
    chip = i2c.attach(0x6A, FakeLSM6DSOX(clock, counts))
    drv = imu.probe(i2c, clock=clock.ticks_ms)
    f = open("/pipe.session", "wb")
    w = log.SessionWriter(f, **imu.writer_args(drv, session_id=1))
    s = sampler.Sampler(drv, w, clock=clock.ticks_ms, gc_ms=0)
    work = getattr(w, "work", None)
    s.start()
    k = 0
    spent = 0.0
    while not (chip.exhausted and chip.level() == 0):
        clock.advance_ms(s.drain_ms)
        chip.update()
        redrain = False
        while True:
            t0()
            s.drain()
            d = t1()
            spent += d
            times[k] = d
            kinds[k] = 0
            k += 1
            if redrain or work is None:
                break
            blocks = w.data_blocks
            while True:
                st = w._state
                t0()
                more = work()
                d = t1()
                spent += d
                times[k] = d
                kinds[k] = 1 + st
                k += 1
                if not more:
                    break
            if w.data_blocks == blocks:
                break
            redrain = True
    s.close()
    f.close()
    return k, spent, s


gc.collect()
for rep in range(REPEATS):
    k, spent, s = sampler_calls(times, kinds)
    for i in range(k):
        if rep == 0 or times[i] < best[i]:
            best[i] = times[i]
    if rep == 0 or spent * 1000 / s.samples < res["pipeline_us_per_sample"]:
        res["pipeline_us_per_sample"] = spent * 1000 / s.samples
        res["pipeline_samples"] = s.samples
res["sampler_calls"] = [round(best[i], 4) for i in range(k)]
res["sampler_kinds"] = list(kinds[:k])
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
REPEATS = @REPEATS@
"""
    + CORE
    + r"""
print(json.dumps(res))
"""
)


# Names of the timed calls by kind (the writer's work() state before the step, plus one).
KINDS_WRITER = (
    "append",
    "work: analyse frame",
    "work: search tail",
    "work: encode slice",
    "work: header+CRC+write",
)
KINDS_SAMPLER = ("drain", *KINDS_WRITER[1:])


def simulated(seconds: float) -> np.ndarray:
    run = simulate_run(scenarios.steady_run(duration_s=seconds, seed=1))
    return np.ascontiguousarray(run.counts, dtype="<i2")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0, help="simulated running (s)")
    ap.add_argument("--device-script", type=Path, help="write the on-device script and data here")
    ap.add_argument("--repeats", type=int, default=3, help="identical runs; per call the fastest counts")
    ap.add_argument(
        "--firmware",
        type=Path,
        help="measure this firmware tree instead of firmware/ (before/after: "
        "git archive REV firmware | tar -x -C DIR, then --firmware DIR/firmware)",
    )
    args = ap.parse_args()
    if args.firmware:
        harness.FIRMWARE = args.firmware.resolve()
    counts = simulated(args.seconds)
    if args.device_script:
        args.device_script.mkdir(parents=True, exist_ok=True)
        counts.tofile(args.device_script / "sim_counts.bin")
        (args.device_script / "fw_speed_device.py").write_text(DEVICE.replace("@REPEATS@", str(args.repeats)))
        print(f"wrote {args.device_script}/fw_speed_device.py and sim_counts.bin ({len(counts)} samples)")
        return
    reason = unavailable_reason()
    if reason:
        sys.exit(reason)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "counts.bin"
        counts.tofile(raw)
        out = Path(tmp) / "bench.session"
        code = WASM.replace("@REPEATS@", str(args.repeats))
        proc = run_micropython(code, files=[(raw, "/in/counts.bin")], export=[("/pipe.session", out)])
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
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"firmware: {harness.FIRMWARE}; load average {load:.1f} on {os.cpu_count()} cores")
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
    print(f"{'sampler loop via the fake chip':40s} {pipe:9.1f} us   (includes the chip model's Python)")
    period = 1000.0 / rate
    per_ms = (res["parse_us_per_sample"] + res["write_us_per_sample"]) / 1000
    print(
        f"keeps up with {rate:.0f} Hz on WebAssembly: {per_ms:.3f} ms of work per sample against a "
        f"{period:.2f} ms sample period ({100 * per_ms / period:.1f} % of one core)"
    )
    print()
    for title, key in (
        ("writer calls (one 32-sample FIFO read appended, then work() steps)", "writer"),
        ("sampler loop calls (drain(), then work() steps, as Sampler.run makes them)", "sampler"),
    ):
        times = np.asarray(res[f"{key}_calls"])
        kinds = np.asarray(res[f"{key}_kinds"])
        print(f"{title}, WebAssembly ms (per call the fastest of {args.repeats} identical runs):")
        names = KINDS_SAMPLER if key == "sampler" else KINDS_WRITER
        print(f"  {'call':26s} {'calls':>6s} {'median':>8s} {'p99':>8s} {'max':>8s} {'> period':>9s}")
        for kind in [*sorted(set(kinds.tolist())), None]:
            t = times if kind is None else times[kinds == kind]
            name = "all calls" if kind is None else names[kind]
            print(
                f"  {name:26s} {len(t):6d} {np.median(t):8.3f} {np.percentile(t, 99):8.3f} {t.max():8.3f} "
                f"{int((t > period).sum()):9d}"
            )
        longest = times.max()
        print(
            f"  longest single call: {longest:.1f} ms WebAssembly ({longest / period:.2f} sample periods), "
            f"{longest * lo:.1f}-{longest * hi:.1f} ms on the ESP32-S3 (est.)"
        )
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
