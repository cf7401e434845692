"""Local worker processes for a batch: one file at a time each, and a process that dies fails only the
file it was analysing.

Python's ProcessPoolExecutor cannot give that: a worker that dies (a crash, or killed for lack of
memory) breaks the whole pool and every unfinished file with it, and on Python 3.11.7 its clean-up
after such a death hung in CI (the manager thread joining a worker forever). So each worker
here has its own pipe: it receives a job, sends back the result, and waits for the next. When a
worker's process ends without a result, the job it held is the one that killed it; that job fails, a
new process takes the worker's place, and the others never notice.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import wait

from hipsense.batch.discover import Job
from hipsense.batch.worker import FileResult, serve

#: Thread pools of the numerical libraries, one thread each in a worker: N workers on N cores with
#: each library starting N threads of its own would make N*N threads fight for N cores.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def process_context():
    """How worker processes start. Not by a plain fork: the calling process runs threads (the progress
    bar), which fork does not copy safely. A fork server imports the analysis once and forks the workers
    from it, which starts them faster than spawn (each spawned worker would import numpy, scipy and
    pandas: about 1.2 CPU s)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["hipsense.batch.worker", "hipsense.library"])
        return ctx
    return multiprocessing.get_context("spawn")


@contextmanager
def single_threaded_children():
    """Processes started inside get one thread per numerical library (:data:`THREAD_VARIABLES`).

    The variables must be set before numpy is imported, which happens in the fork server (or a spawned
    worker) as it starts: they are set in this process's environment while the workers start, for the
    children to inherit, and put back afterwards. A value the user set is kept.
    """
    before = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Worker:
    def __init__(self, ctx, csv_options: dict, analyse: Callable) -> None:
        self.conn, theirs = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(theirs, csv_options, analyse), daemon=True)
        with single_threaded_children():  # the fork server starts with the first worker
            self.process.start()
        theirs.close()  # ours is then the only end here: a dead worker makes recv() fail, not block
        self.job: Job | None = None

    def give(self, job: Job) -> None:
        self.job = job
        self.conn.send(job)

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.conn.close()


def run_local(jobs: list[Job], csv_options: dict, workers: int, analyse: Callable) -> Iterator[FileResult]:
    """``analyse(job, csv_options)`` of every job on ``workers`` processes, results as they come."""
    ctx = process_context()
    todo = deque(jobs)
    pool = [_Worker(ctx, csv_options, analyse) for _ in range(min(workers, len(todo)))]
    try:
        for w in pool:
            w.give(todo.popleft())
        while any(w.job is not None for w in pool):
            busy = [w for w in pool if w.job is not None]
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for i, w in enumerate(pool):
                if w.job is None or (w.conn not in ready and w.process.sentinel not in ready):
                    continue
                job = w.job
                try:  # a result sent just before the process ended still counts
                    result = w.conn.recv() if w.conn.poll() else None
                except (EOFError, OSError):
                    result = None
                if result is None:
                    w.stop()
                    code = w.process.exitcode
                    if todo:  # a new process in its place
                        w = pool[i] = _Worker(ctx, csv_options, analyse)
                    result = FileResult(
                        job,
                        error=f"{job.path}: the process analysing it died (exit code {code}: a crash, "
                        "or killed, e.g. for lack of memory)",
                    )
                w.job = None
                if todo:
                    w.give(todo.popleft())
                yield result
    finally:
        for w in pool:
            w.stop()
