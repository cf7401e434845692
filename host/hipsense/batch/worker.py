"""The work of one file in a batch: read, analyse, summarise, and shape the two output tables.

Runs in a worker process (local pool or Dask worker), so it takes and returns only picklable values
and never raises: a file that cannot be analysed comes back with its error message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from hipsense.batch.discover import Job
from hipsense.errors import HipsenseError
from hipsense.export import schema
from hipsense.export.tables import steps_frame, summary_rows


@dataclass
class FileResult:
    """What a worker sends back: the file's two tables (small: one row per step and one row), or why
    it failed; and the CPU seconds its analysis took in which process, for the benchmark and report."""

    job: Job
    steps: pd.DataFrame | None = None
    session: pd.DataFrame | None = None
    error: str | None = None
    cpu_s: float = 0.0
    pid: int = 0


def analyse_file(job: Job, csv_options: dict[str, Any]) -> FileResult:
    """Analyse one recording the way ``hipsense import`` does; errors are returned, not raised."""
    started = time.process_time()
    result = _analyse(job, csv_options)
    result.cpu_s, result.pid = time.process_time() - started, os.getpid()
    return result


def _analyse(job: Job, csv_options: dict[str, Any]) -> FileResult:
    # The library's own reading and analysis, so a batch and an import of the same file agree.
    from hipsense.library import derive, kind_of, read_recording

    try:
        recording = read_recording(job.path, csv_options)
        derived = derive(recording, job.path.name)
        if derived.status != "ok":
            return FileResult(job, error=derived.error)
    except HipsenseError as e:
        return FileResult(job, error=str(e))
    except Exception as e:  # noqa: BLE001 - one bad file must not stop the batch
        return FileResult(job, error=f"{job.path}: cannot analyse it ({type(e).__name__}: {e})")
    keys = {"runner": job.runner, "session": job.session}
    row = {
        **keys,
        "file": str(job.path),
        "kind": kind_of(recording),
        "device_id": derived.device_id,
        "start_time": pd.to_datetime(derived.start_time, unit="s", utc=True) if derived.start_time else None,
        "summary": derived.summary,
    }
    return FileResult(
        job, steps_frame(derived.steps, keys, schema.BATCH_STEPS), summary_rows([row], schema.BATCH_SESSIONS)
    )


def analyse_files(
    jobs: list[Job], csv_options: dict[str, Any], analyse: Callable[..., FileResult] | None = None
) -> list[FileResult]:
    """``analyse(job, csv_options)`` (default :func:`analyse_file`) of several files: one Dask task for
    a few files, so the scheduler's and the client's work per task is shared by them (docs/batch.md,
    "Speed")."""
    return [(analyse or analyse_file)(job, csv_options) for job in jobs]


#: Dask settings for a batch's workers and scheduler (docs/batch.md says how to give them to a real
#: cluster; the benchmark's LocalCluster uses them). The first four cut periodic wake-ups that cost
#: CPU on every worker whatever it is doing (measured on 24 files of 2 minutes on 2 workers,
#: docs/batch.md): Dask's statistical profiler (a thread sampling the stack every 10 ms), the
#: event-loop tick (every 20 ms), the system monitor (every 0.5 s) and the memory monitor (every
#: 0.1 s). The last is the nanny's environment for its worker without ``MALLOC_TRIM_THRESHOLD_``,
#: which turns glibc's adaptive mmap threshold off (every large numpy temporary mapped and zeroed
#: afresh), keeping one thread per numerical library.
DASK_SETTINGS: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.nanny.pre-spawn-environ": {
        "OMP_NUM_THREADS": 1,
        "MKL_NUM_THREADS": 1,
        "OPENBLAS_NUM_THREADS": 1,
    },
}


def dask_environment() -> dict[str, str]:
    """:data:`DASK_SETTINGS` as the environment variables ``dask worker`` and ``dask scheduler`` read."""
    return {
        "DASK_" + key.upper().replace(".", "__").replace("-", "_"): str(value)
        for key, value in DASK_SETTINGS.items()
    }


def dask_setup(worker: Any = None) -> None:
    """Run by a Dask worker started with ``--preload hipsense.batch.worker``: the analysis imported at
    start-up (numpy, scipy, pandas and hipsense: about 1.3 CPU s) rather than in its first task."""
    import hipsense.library  # noqa: F401


def serve(conn, csv_options: dict[str, Any], analyse=analyse_file) -> None:
    """A local worker process's loop (hipsense.batch.procs): a job in, its result out, until the pipe
    closes."""
    try:
        while True:
            try:
                job = conn.recv()
            except EOFError:
                return
            conn.send(analyse(job, csv_options))
    except KeyboardInterrupt:  # Ctrl-C reaches every process of the terminal: the command says it once
        return
