"""The work of one file in a batch: read, analyse, summarise, and shape the two output tables.

Runs in a worker process (local pool or Dask worker), so it takes and returns only picklable values
and never raises: a file that cannot be analysed comes back with its error message.
"""

from __future__ import annotations

import os
import time
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
