"""A batch worker's work that kills its process for files named crash*: a segfault or an out-of-memory
kill, as seen from the pool (test_batch.py). Importable by the worker processes."""

from __future__ import annotations

import os

from hipsense.batch.worker import analyse_file


def analyse_or_die(job, csv_options):
    if job.path.name.startswith("crash"):
        os._exit(3)
    return analyse_file(job, csv_options)


def threads_seen(job, csv_options):
    """The numerical libraries' thread settings the worker process was started with (as its error)."""
    from hipsense.batch.procs import THREAD_VARIABLES
    from hipsense.batch.worker import FileResult

    return FileResult(
        job, error=",".join(f"{v}={os.environ.get(v)}" for v in THREAD_VARIABLES), pid=os.getpid()
    )
