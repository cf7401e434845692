"""A batch worker's work that kills its process for files named crash*: a segfault or an out-of-memory
kill, as seen from the pool (test_batch.py). Importable by the worker processes."""

from __future__ import annotations

import os

from hipsense.batch.worker import analyse_file


def analyse_or_die(job, csv_options):
    if job.path.name.startswith("crash"):
        os._exit(3)
    return analyse_file(job, csv_options)
