"""Long sessions: CPU time, peak memory and linearity of file -> summary for 10 min to 10 h at 208 Hz.

Each length is a simulated 208 Hz 6-axis device file (``steady_run``, seed 1). The simulator is slow
for many hours, so one hour is simulated and the longer files are that hour tiled (its samples
repeated with continuing sample numbers and block times: the same run over and over, no gap between
the copies); the 10 min file is the hour's first 10 minutes. The files are made once and kept in
``--cache`` (default: a folder in the system's temporary directory).

Every measurement runs in a fresh subprocess, so each peak RSS is that run's own:

* ``analyse``: :func:`hipsense.analysis.analyse_file` (decode, recording, alignment, bouts, contacts,
  sides, step table, summary), CPU seconds (``time.process_time``: user + system of that process, so
  other programs on a shared machine slow the wall clock but hardly this; printed split into user and
  system, since on a virtual machine the first touch of fresh memory is system time that varies from
  run to run with the host, see ``touch`` below) and peak RSS
  (``VmHWM``, which includes the interpreter and imports, ~100 MB);
* ``floor``: the least any analysis must do: decode the file into the recording's float32 channels in
  SI units (``read_session_recording``, the analysis's own decoder and memory) and one zero-phase
  4th-order Butterworth low-pass (``sosfiltfilt``) over each of the 6 channels, held as contiguous
  float64 rows;
* ``touch``: the system's cost of memory: system CPU seconds per GiB to write 256 MiB of fresh pages,
  then the same pages again (a process's first touch of fresh memory is the kernel's zeroing, and on a
  virtual machine also the host's; it is the part of ``CPU s`` that the code's work does not decide);
* ``csv``: :func:`hipsense.formats.csv_input.read_imu_csv` on a CSV of ``--csv-rows`` rows (the hour's
  samples tiled), peak RSS against the file's size.

Imports are done before the clock starts in each child. Prints one table; docs/validation.md "Speed"
keeps it.

    .venv/bin/python benchmarks/long_session.py [--lengths 10m,1h,4h,10h] [--repeats 1] [--csv-rows 10000000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))

LENGTHS_S = {"10m": 600, "1h": 3600, "4h": 4 * 3600, "10h": 10 * 3600}


def _cache_dir(given: str | None) -> Path:
    folder = Path(given) if given else Path(tempfile.gettempdir()) / "hipsense-long-session"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def prepare(cache: Path, lengths: list[str]) -> dict[str, Path]:
    """The device file of each length, simulated or tiled once and kept in ``cache``."""
    paths = {name: cache / f"steady-{name}.hsn" for name in lengths}
    if all(p.is_file() for p in paths.values()):
        return paths
    import numpy as np

    from hipsense.sim import scenarios, simulate_run

    hour = simulate_run(scenarios.steady_run(duration_s=3600, seed=1))
    n = len(hour.sample_index)
    span = int(hour.sample_index[-1]) + 1
    for name, path in paths.items():
        if path.is_file():
            continue
        seconds = LENGTHS_S[name]
        if seconds <= 3600:
            keep = hour.sample_index < seconds * hour.sample_rate_hz
            run = dataclasses.replace(hour, counts=hour.counts[keep], sample_index=hour.sample_index[keep])
        else:
            copies = int(round(seconds / 3600))
            idx = (hour.sample_index[None, :] + span * np.arange(copies)[:, None]).reshape(-1)
            run = dataclasses.replace(hour, counts=np.tile(hour.counts, (copies, 1)), sample_index=idx)
            assert len(idx) == copies * n
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # two runs at once must not share it
        run.write_device_file(tmp)
        os.replace(tmp, path)
    return paths


def prepare_csv(cache: Path, rows: int) -> Path:
    """A CSV of ``rows`` samples (``t_s`` and the six sensor columns, SI units), written once."""
    path = cache / f"steady-{rows}.csv"
    if path.is_file():
        return path
    import numpy as np
    import pandas as pd

    from hipsense.formats.device_file import read_device_file

    session = read_device_file(prepare(cache, ["1h"])["1h"])
    data = session.to_dataframe()
    fs = float(session.header.sample_rate_hz)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # two runs at once must not share it
    with open(tmp, "w") as f:
        written = 0
        while written < rows:
            part = data.iloc[: rows - written].copy()
            part["t_s"] = (np.arange(len(part)) + written) / fs
            part.to_csv(f, index=False, header=written == 0, float_format="%.10g")
            written += len(part)
    os.replace(tmp, path)
    _ = pd
    return path


def _child(kind: str, path: str) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    import numpy as np
    from scipy import signal

    from hipsense.analysis import analyse_file
    from hipsense.formats.csv_input import read_imu_csv
    from hipsense.formats.session_input import read_session_recording
    from hipsense.recording import is_channel

    t0 = time.process_time()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    w0 = time.perf_counter()
    out: dict = {}
    if kind == "analyse":
        result = analyse_file(path)
        out["steps"] = int(result.summary.steps)
        out["samples"] = len(result.rows)  # not .body: that builds the whole body frame
    elif kind == "floor":
        recording = read_session_recording(path)
        # channels as contiguous float64 rows, as an analysis holding each signal would
        names = [c for c in recording.data.columns if is_channel(str(c))]
        channels = np.empty((len(names), len(recording.data)))
        for row, name in zip(channels, names, strict=True):
            row[:] = recording.data[name].to_numpy()
        sos = signal.butter(4, 20.0, fs=float(recording.sample_rate_hz), output="sos")
        for row in channels:  # a channel at a time, as the analysis filters (scipy copies what it filters)
            row[:] = signal.sosfiltfilt(sos, row)
        out["samples"] = channels.shape[-1]
    elif kind == "touch":
        size = 256 * 2**20
        fresh = np.empty(size, dtype=np.uint8)
        s0 = resource.getrusage(resource.RUSAGE_SELF).ru_stime
        fresh.fill(1)
        s1 = resource.getrusage(resource.RUSAGE_SELF).ru_stime
        fresh.fill(2)
        s2 = resource.getrusage(resource.RUSAGE_SELF).ru_stime
        out["first_s_per_gib"] = (s1 - s0) * 2**30 / size
        out["again_s_per_gib"] = (s2 - s1) * 2**30 / size
        out["samples"] = 0
    elif kind == "csv":
        recording = read_imu_csv(path)
        out["samples"] = len(recording.data)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu_s"] = time.process_time() - t0
    out["user_s"] = r1.ru_utime - r0.ru_utime
    out["sys_s"] = r1.ru_stime - r0.ru_stime
    out["wall_s"] = time.perf_counter() - w0
    out["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(out))


def _peak_rss_mb() -> float:
    """This process's peak RSS in MiB: VmHWM, which starts afresh at exec (Linux's ru_maxrss keeps the
    forking parent's peak across exec, so a child of a big parent would report the parent's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_child(script: str, *args: str) -> dict:
    """``script --child ARGS`` in a fresh process on one thread per library; the JSON line it prints
    last (each benchmark's child measures itself, so its peak RSS is its own)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, script, "--child", *args], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: failed\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(kind: str, path: Path, repeats: int) -> dict:
    """The best (least CPU) of ``repeats`` fresh-process runs; peak RSS is the largest seen."""
    runs = [run_child(__file__, kind, str(path)) for _ in range(repeats)]
    best = min(runs, key=lambda r: r["cpu_s"])
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lengths", default="10m,1h,4h,10h")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--csv-rows", type=int, default=10_000_000, help="0: no CSV measurement")
    ap.add_argument("--cache", default=None, help="folder for the simulated files (kept between runs)")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return

    lengths = [x.strip() for x in args.lengths.split(",") if x.strip()]
    cache = _cache_dir(args.cache)
    paths = prepare(cache, lengths)
    print(
        f"208 Hz 6-axis simulated sessions (1 h simulated, longer ones tiled from it) in {cache}; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start; best of {args.repeats}"
    )
    touch = run_child(__file__, "touch", "-")
    print(
        f"memory's system cost: {touch['first_s_per_gib']:.2f} s per GiB of fresh pages, "
        f"{touch['again_s_per_gib']:.2f} s per GiB written again (part of every CPU s below)"
    )
    head = (
        f"{'length':>6} {'samples':>9} {'MB':>6} {'steps':>6} {'CPU s':>7} {'user':>6} {'sys':>6} "
        f"{'wall s':>7} {'floor s':>7} {'user':>6} {'sys':>6} {'x floor':>7} {'peak MB':>8} {'floor MB':>8}"
    )
    print(head)
    rows = {}
    for name in lengths:
        a = measure("analyse", paths[name], args.repeats)
        f = measure("floor", paths[name], args.repeats)
        rows[name] = (a, f)
        print(
            f"{name:>6} {a['samples']:>9} {paths[name].stat().st_size / 1e6:>6.1f} {a['steps']:>6} "
            f"{a['cpu_s']:>7.3f} {a['user_s']:>6.2f} {a['sys_s']:>6.2f} {a['wall_s']:>7.3f} "
            f"{f['cpu_s']:>7.3f} {f['user_s']:>6.2f} {f['sys_s']:>6.2f} {a['cpu_s'] / f['cpu_s']:>7.2f} "
            f"{a['peak_rss_mb']:>8.0f} {f['peak_rss_mb']:>8.0f}",
            flush=True,
        )
    if "1h" in rows and "10h" in rows:
        print(
            f"linearity: 10 h / 1 h CPU = {rows['10h'][0]['cpu_s'] / rows['1h'][0]['cpu_s']:.2f} (target <= 11)"
        )
    if args.csv_rows:
        csv = prepare_csv(cache, args.csv_rows)
        c = measure("csv", csv, 1)
        size = csv.stat().st_size / 2**20
        print(
            f"CSV reader, {c['samples']} rows, {size:.0f} MiB file: {c['cpu_s']:.1f} CPU s, peak RSS "
            f"{c['peak_rss_mb']:.0f} MB ({c['peak_rss_mb'] / size:.2f}x the file; target <= 2x)"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
