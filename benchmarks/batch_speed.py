"""Throughput of ``hipsense batch``: files per second on local processes and on a Dask LocalCluster.

Simulates a small cohort (``--runners`` runners x ``--sessions`` device files of ``--minutes`` each)
in a temporary folder, then analyses it with :func:`hipsense.batch.run_batch` one process, ``--workers``
local processes, and a Dask LocalCluster of ``--workers`` single-threaded worker processes on loopback.
Times are wall-clock for the whole batch, start-up of the pool or the cluster's client included (the
cluster itself is started before the clock starts, as a real one would already be running); the last
column leaves the start-up out (files per second from the first result on), which is what a large
cohort sees. It also checks that all three runs wrote identical tables, and prints the machine's load
average, since other programs on the machine take cores from the workers.

On a shared machine the wall clock says more about the other programs than about the batch, so the
second table counts CPU seconds instead: each file's analysis in the process that did it (the workers
report it with their results), and this process's own (writing the tables, receiving the results; for
one process, the analysis too; for Dask, the LocalCluster's scheduler and nannies, which run in this
process). For Dask it also asks each worker process for its whole CPU over the batch (tasks, event
loop, sending results) and prints the rate from that too. ``busiest`` is the process with the most CPU, and ``files/CPU s`` is
the files over it, or over the total CPU shared out over the workers' cores when that is more (this
process competes for the same cores): the rate the batch reaches on that many idle cores. Its ratio to one process is the speed-up that pays (the issue's
target: >= 1.7 for 2 processes, >= 1.5 for Dask with 2 workers). The Dask workers preload
``hipsense.batch.worker`` (imports done at start-up, as ``dask worker --preload`` does on a real cluster).

Each configuration runs ``--repeats`` times, interleaved (1 process, N processes, Dask, and again), so
that the other programs' load drifts over all three alike; the tables show each one's best run (highest
files per CPU s).

Usage: ``.venv/bin/python benchmarks/batch_speed.py [--runners 4] [--sessions 6] [--minutes 2] [--workers 2] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))

from hipsense.batch import run_batch  # noqa: E402
from hipsense.batch.worker import DASK_SETTINGS  # noqa: E402
from hipsense.export import read_table  # noqa: E402
from hipsense.sim import scenarios, simulate_run  # noqa: E402


def make_cohort(folder: Path, runners: int, sessions: int, minutes: float) -> int:
    for r in range(runners):
        (folder / f"runner-{r + 1:02d}").mkdir(parents=True)
        for s in range(sessions):
            run = simulate_run(scenarios.steady_run(duration_s=60 * minutes, seed=100 * r + s))
            run.write_device_file(folder / f"runner-{r + 1:02d}" / f"session-{s + 1:02d}.hsn")
    return runners * sessions


def _worker_cpu(address: str) -> dict[str, float]:
    """CPU seconds each worker process of the Dask cluster at ``address`` has used so far."""
    from distributed import Client

    with Client(address) as client:
        return client.run(time.process_time)


def _rate(report, own_cpu: float) -> float:
    """Files per CPU second on idle cores: the files over the busiest process's CPU, or over the total
    CPU shared out over the workers' cores when that is more."""
    workers = dict(report.cpu_s_by_process)
    workers.pop(os.getpid(), None)  # one process: the analysis is in this process's own CPU
    busiest = max([own_cpu, *workers.values()])
    return len(report.analysed) / max(busiest, (own_cpu + sum(workers.values())) / max(len(workers), 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runners", type=int, default=4)
    ap.add_argument("--sessions", type=int, default=6, help="sessions per runner")
    ap.add_argument("--minutes", type=float, default=2.0, help="length of each simulated session")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each, interleaved; the best is shown")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="hipsense-batch-bench-") as tmp:
        cohort = Path(tmp) / "cohort"
        n = make_cohort(cohort, args.runners, args.sessions, args.minutes)
        print(
            f"{n} simulated device files ({args.runners} runners x {args.sessions} sessions x "
            f"{args.minutes:g} min, 208 Hz, 6 axes); {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}; load average before: "
            f"{os.getloadavg()[0]:.2f}"
        )
        results: dict[str, tuple] = {}
        #: CPU of each Dask worker process as a whole over the batch: the tasks plus the worker's own
        #: event loop, heartbeats and sending the results (the tasks alone are in the report).
        whole_worker_cpu: dict[str, dict[str, float]] = {}
        runs = 0

        def timed(label: str, **kwargs) -> None:
            """One batch; of the repeats, the one with the highest rate (files per CPU s) is kept."""
            nonlocal runs
            first: list[float] = []
            start = time.perf_counter()
            cpu0 = time.process_time()

            def progress(done: int, total: int, job) -> None:
                if job is not None and not first:
                    first.append(time.perf_counter() - start)

            address = kwargs.get("dask_address")
            before = _worker_cpu(address) if address else {}
            runs += 1
            report = run_batch([cohort], Path(tmp) / f"out-{runs}", progress=progress, **kwargs)
            own = time.process_time() - cpu0
            after = _worker_cpu(address) if address else {}
            if label not in results or _rate(report, own) > _rate(results[label][0], results[label][2]):
                results[label] = (report, first[0], own)
                if address:
                    whole_worker_cpu[label] = {a: after[a] - before[a] for a in after if a in before}

        def local_runs() -> None:
            timed("1 local process", workers=1)
            timed(f"{args.workers} local processes", workers=args.workers)

        try:
            from distributed import LocalCluster
        except ImportError:
            print("dask[distributed] is not installed: no LocalCluster run (pip install 'hipsense[cluster]')")
            for _ in range(args.repeats):
                local_runs()
        else:
            import dask

            # The settings docs/batch.md recommends for a real cluster (hipsense.batch.worker.DASK_SETTINGS):
            # no profiler, slower periodic wake-ups, no MALLOC_TRIM_THRESHOLD_ in the nanny's environment.
            with (
                dask.config.set(DASK_SETTINGS),
                LocalCluster(
                    n_workers=args.workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    preload=["hipsense.batch.worker"],
                ) as cluster,
            ):
                # interleaved, so that the machine's load drifts over all three alike
                for _ in range(args.repeats):
                    local_runs()
                    timed(
                        f"Dask LocalCluster, {args.workers} workers", dask_address=cluster.scheduler_address
                    )

        # The last column leaves the start-up out: files per second from the first result on.
        print(
            f"{'where':<34} {'files':>5} {'steps':>6} {'seconds':>7} {'files/s':>7} {'1st result s':>12} {'files/s after':>13}"
        )
        for label, (r, first, _) in results.items():
            steady = (len(r.analysed) - 1) / (r.seconds - first) if r.seconds > first else float("nan")
            print(
                f"{label:<34} {len(r.analysed):>5} {r.steps:>6} {r.seconds:>7.2f} "
                f"{len(r.analysed) / r.seconds:>7.2f} {first:>12.2f} {steady:>13.2f}"
            )
        print()
        print(
            f"{'where':<34} {'CPU s this process':>18} {'CPU s per worker':>24} {'busiest':>8} "
            f"{'files/CPU s':>11} {'x 1 process':>11}"
        )
        base = None
        for label, (r, _, own_cpu) in results.items():
            workers = dict(r.cpu_s_by_process)
            # With one process the analysis ran here: its CPU is already in this process's own.
            here = workers.pop(os.getpid(), 0.0)
            rate = _rate(r, own_cpu)
            busiest = max([own_cpu, *workers.values()])
            base = base or rate
            per_worker = ", ".join(f"{v:.2f}" for v in sorted(workers.values())) or f"({here:.2f} here)"
            print(
                f"{label:<34} {own_cpu:>18.2f} {per_worker:>24} {busiest:>8.2f} {rate:>11.2f} {rate / base:>11.2f}"
            )
        for label, cpu in whole_worker_cpu.items():
            r, _, own_cpu = results[label]
            total = own_cpu + sum(cpu.values())
            rate = len(r.analysed) / max([own_cpu, *cpu.values(), total / max(len(cpu), 1)])
            print(
                f"{label}, whole worker processes (tasks, event loop, sending results): CPU s "
                f"{', '.join(f'{v:.2f}' for v in sorted(cpu.values()))}; files/CPU s {rate:.2f}, "
                f"x 1 process {rate / (base or rate):.2f}"
            )
        reference = next(iter(results.values()))[0].out
        for r, _, _ in results.values():
            for table in ("steps", "sessions"):
                pd.testing.assert_frame_equal(read_table(r.out, table), read_table(reference, table))
        print("all runs wrote identical steps and sessions tables")
        # Other programs on the machine take cores from the workers: say how busy it was.
        print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
