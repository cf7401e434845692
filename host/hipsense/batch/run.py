"""Run a batch on local worker processes or on a Dask cluster, and write its Parquet tables.

Output folder::

    schema.json                                   the tables' columns (docs/data-dictionary.md)
    steps/runner=R/session=S/part-0.parquet       one step table per recording
    sessions/runner=R/session=S/part-0.parquet    its summary, flattened (one row)
    failures.csv                                  path, error of every file that could not be analysed

Workers analyse and shape the tables; this process writes them as results arrive, so the output does
not depend on which worker finished first and memory holds one result at a time. Each file appears
whole (written under a temporary name, then renamed), and a recording's sessions row is written after
its steps, so an interrupted batch can be resumed: files with a sessions row are done, the rest are
analysed again, and failures.csv (written last) says the batch finished.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hipsense.batch.discover import BatchInputWarning, Job, find_inputs
from hipsense.batch.procs import run_local
from hipsense.batch.worker import FileResult, analyse_file, analyse_files
from hipsense.errors import HipsenseError
from hipsense.export import schema
from hipsense.export.export import new_folder
from hipsense.export.schema import write_schema
from hipsense.export.tables import neutralise_formulas

#: Called as ``progress(done, total, job)`` after each file (``job`` None at the start).
Progress = Callable[[int, int, Any], None]
#: Seconds to wait for a Dask scheduler to answer.
DASK_CONNECT_TIMEOUT_S = 10
#: Dask tasks per worker thread a batch aims at, and the most files in one task (a task's results
#: travel together: a few files' tables, some hundred kB).
TASKS_PER_WORKER = 4
MAX_FILES_PER_TASK = 8


@dataclass
class BatchReport:
    out: Path
    total: int
    analysed: list[Job] = field(default_factory=list)
    #: already in the output folder of the batch resumed (``resume=True``)
    kept: list[Job] = field(default_factory=list)
    #: (path, why it could not be analysed)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    #: what was found but left out, and why (a folder given twice, an earlier output): one sentence each
    notes: list[str] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    where: str = ""
    #: CPU seconds of each file's analysis, summed per process that did it (pid -> s): shows how the
    #: work spread over the workers, whatever else the machine was doing.
    cpu_s_by_process: dict[int, float] = field(default_factory=dict)


def _local(
    jobs: list[Job], csv_options: dict, workers: int, analyse: Callable | None = None
) -> Iterator[FileResult]:
    """Results of ``analyse(job, csv_options)`` for every job, on ``workers`` processes
    (:mod:`hipsense.batch.procs`: a process that dies fails only its own file)."""
    analyse = analyse or analyse_file
    if workers == 1:  # no process to start: the simplest way to run a handful of files
        for job in jobs:
            yield analyse(job, csv_options)
        return
    yield from run_local(jobs, csv_options, workers, analyse)


def _dask_client(address: str, timeout_s: float):
    try:
        from distributed import Client
    except ImportError:
        raise HipsenseError(
            "--dask needs Dask's distributed scheduler, which is not installed: pip install 'hipsense[cluster]'"
        ) from None
    try:
        return Client(address, timeout=timeout_s)
    except (OSError, TimeoutError, ValueError) as e:
        raise HipsenseError(f"--dask {address}: cannot reach the Dask scheduler ({e})") from None


def files_per_task(files: int, workers: int) -> int:
    """Files in one Dask task: about :data:`TASKS_PER_WORKER` tasks per worker, so the scheduler's and
    the client's work per task (about 20 ms of CPU each, measured) is shared by several files while
    every worker still has work until the end; at most :data:`MAX_FILES_PER_TASK`."""
    return max(1, min(MAX_FILES_PER_TASK, -(-files // (TASKS_PER_WORKER * max(1, workers)))))


def _dask(
    client, jobs: list[Job], csv_options: dict, analyse: Callable | None = None, size: int | None = None
) -> Iterator[FileResult]:
    """Results of ``analyse(job, csv_options)`` for every job on the Dask cluster of ``client``, ``size``
    files a task (default :func:`files_per_task`), as they come."""
    from distributed import as_completed as dask_completed

    with client:
        # worker threads now; more may join later
        size = size or files_per_task(len(jobs), sum(client.nthreads().values()))
        groups = [jobs[i : i + size] for i in range(0, len(jobs), size)]
        futures = {
            client.submit(analyse_files, group, csv_options, analyse, pure=False): group for group in groups
        }
        try:
            # A worker that dies is Dask's to handle: it retries the task elsewhere, and after repeated
            # deaths the future raises KilledWorker; the files of that task are then sent again one
            # task each, so that only the file that kills its worker fails.
            done = dask_completed(futures)
            for future in done:
                group = futures[future]
                try:
                    yield from future.result()
                except Exception as e:  # noqa: BLE001 - that file fails, the rest go on
                    if len(group) == 1:
                        yield FileResult(
                            group[0],
                            error=f"{group[0].path}: the worker analysing it failed ({type(e).__name__}: {e})",
                        )
                        continue
                    for job in group:
                        alone = client.submit(analyse_files, [job], csv_options, analyse, pure=False)
                        futures[alone] = [job]
                        done.add(alone)
        finally:
            client.cancel(list(futures))


def _part(out: Path, table: str, job: Job) -> Path:
    return out / table / f"runner={job.runner}" / f"session={job.session}" / "part-0.parquet"


def _write_result(out: Path, result: FileResult) -> None:
    for name, df in (("steps", result.steps), ("sessions", result.session)):  # sessions last: "done"
        assert df is not None
        path = _part(out, name, result.job)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        # Partition keys live in the folder names (hive layout), not in the files.
        df.drop(columns=["runner", "session"]).to_parquet(tmp, index=False)
        os.replace(tmp, path)


def _output_folder(out: str | Path, resume: bool) -> Path:
    """``out`` checked: new or empty, or with ``resume`` an earlier batch's output."""
    if not resume:
        return new_folder(out)
    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and not (out / "schema.json").is_file():
        raise HipsenseError(f"{out}: --resume needs a folder an earlier `hipsense batch` wrote into")
    return out


def run_batch(
    dirs: Iterable[str | Path],
    out: str | Path,
    *,
    workers: int | None = None,
    dask_address: str | None = None,
    csv_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
    dask_timeout_s: float = DASK_CONNECT_TIMEOUT_S,
    resume: bool = False,
) -> BatchReport:
    """Analyse every recording under ``dirs`` into the new folder ``out`` (see the module docstring).

    ``workers`` local processes (default: all cores) unless ``dask_address`` names a Dask scheduler,
    whose workers must see the input files at the same paths. Files that cannot be analysed are
    listed in the report; none stops the rest. ``resume``: ``out`` may hold an earlier, interrupted
    batch of the same folders; the recordings it has tables for are kept (``report.kept``) and the
    others analysed, failed ones included.
    """
    started = time.perf_counter()
    dirs = list(dirs)
    found = find_inputs(dirs, out)
    for note in found.notes:  # the command shows each as one `warning:` line, before any error
        warnings.warn(BatchInputWarning(note), stacklevel=2)
    jobs = found.jobs
    if not jobs and not found.failed:
        raise HipsenseError(f"no .hsn or .csv files under {', '.join(map(str, dirs))}")
    out = _output_folder(out, resume)
    if workers is not None and workers < 1:
        raise HipsenseError(f"--workers must be at least 1, not {workers}")
    # an entry named like a recording that is no file to read (a broken link, a pipe) fails as a file does
    report = BatchReport(out, len(jobs) + len(found.failed), failed=list(found.failed), notes=found.notes)
    seen: dict[tuple[str, str], Path] = {}
    todo = []
    for job in jobs:
        key = (job.runner, job.session)
        if key in seen:
            report.failed.append(
                (job.path, f"{job.path}: same runner and session name as {seen[key]}; rename one")
            )
        else:
            seen[key] = job.path
            if resume and _part(out, "sessions", job).is_file():
                report.kept.append(job)
            else:
                todo.append(job)
    options = dict(csv_options or {})
    if dask_address:  # connected before anything is written, so a wrong address leaves no folder behind
        client = _dask_client(dask_address, dask_timeout_s)
        results, report.where = _dask(client, todo, options), f"Dask scheduler {dask_address}"
    else:
        n = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        results, report.where = _local(todo, options, n), f"{n} local process{'es' if n > 1 else ''}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "failures.csv").unlink(missing_ok=True)  # written again at the end: the batch finished
    write_schema(out, schema.BATCH_TABLES)
    if progress:
        progress(len(report.kept) + len(report.failed), report.total, None)
    for result in results:
        if result.pid:
            report.cpu_s_by_process[result.pid] = report.cpu_s_by_process.get(result.pid, 0.0) + result.cpu_s
        if result.error is None:
            _write_result(out, result)
            report.analysed.append(result.job)
            report.steps += len(result.steps) if result.steps is not None else 0
        else:
            report.failed.append((result.job.path, result.error))
        if progress:
            progress(len(report.kept) + len(report.analysed) + len(report.failed), report.total, result.job)
    report.failed.sort()
    failures = pd.DataFrame(
        {"path": [str(p) for p, _ in report.failed], "error": [e for _, e in report.failed]}, dtype="string"
    )  # file names come from outside: no cell may run as a spreadsheet formula
    neutralise_formulas(failures).to_csv(out / "failures.csv", index=False)
    report.seconds = time.perf_counter() - started
    return report
