"""`hipsense batch --dask`: several files a task on a real Dask LocalCluster, a failed task fails only
its bad file, and docs/batch.md gives a real cluster the settings the code uses."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest

from hipsense.batch import discover
from hipsense.batch.run import MAX_FILES_PER_TASK, TASKS_PER_WORKER, _dask, files_per_task
from hipsense.batch.worker import DASK_SETTINGS, dask_environment
from hipsense.sim import scenarios, simulate_run

DOC = Path(__file__).resolve().parents[2] / "docs" / "batch.md"


def test_files_per_task_gives_each_worker_a_few_tasks():
    assert files_per_task(24, 2) == 3  # 8 tasks: 4 a worker
    assert files_per_task(5, 2) == 1  # fewer files than tasks wanted: one each
    assert files_per_task(10_000, 2) == MAX_FILES_PER_TASK
    assert files_per_task(10, 0) == -(-10 // TASKS_PER_WORKER)  # no worker joined yet: as for one
    assert files_per_task(0, 4) == 1


def test_the_doc_gives_a_real_cluster_the_settings_the_code_uses():
    """Every variable of dask_environment() appears in docs/batch.md with the same value, and each is
    the environment form of a DASK_SETTINGS key that Dask knows."""
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    text = DOC.read_text()
    env = dask_environment()
    assert len(env) == len(DASK_SETTINGS)
    for name, value in env.items():
        found = re.search(rf"{name}=('[^']*'|\"[^\"]*\"|\S+)", text)
        assert found, f"{name} is not in docs/batch.md"
        given = found.group(1).strip("'\"")
        assert ast.literal_eval(given) == ast.literal_eval(value) if value[0] in "{[" else given == value
    read = dask.config.collect_env(env)  # what Dask makes of the variables
    for key, value in DASK_SETTINGS.items():
        assert dask.config.get(key, default=None) is not None, key  # a key Dask reads, not a typo
        assert dask.config.get(key, config=read) == value, key


def refuse_crash_files(job, csv_options):
    """A task's work that raises in the worker for files named crash* (as a task fails when its worker
    dies: KilledWorker; ``analyse_file`` itself returns its errors). Importable by the workers."""
    from hipsense.batch.worker import analyse_file

    if job.path.name.startswith("crash"):
        raise RuntimeError("this file breaks its task")
    return analyse_file(job, csv_options)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Five short device files of one runner, and one whose task fails (crash.hsn)."""
    d = tmp_path_factory.mktemp("cohort") / "ana"
    d.mkdir()
    for seed in range(5):
        run = simulate_run(scenarios.steady_run(duration_s=12, seed=seed))
        run.write_device_file(d / f"s{seed}.hsn")
    (d / "crash.hsn").write_bytes(b"")
    return d


def test_a_failed_task_fails_only_its_bad_file_though_the_file_shared_it(cohort):
    """The files of a task that fails are sent again one task each: only the bad one fails. (A worker
    killed mid-task takes the same path; killing real workers was tried here and left the test at the
    mercy of Dask's restarts on a loaded machine: once it hung for 10 minutes with no worker process left.)"""
    distributed = pytest.importorskip("distributed")
    import dask

    jobs = discover([cohort])
    assert [j.path.name for j in jobs][:3] == ["crash.hsn", "s0.hsn", "s1.hsn"]  # one task of three
    with (
        dask.config.set(DASK_SETTINGS),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
    ):
        client = distributed.Client(cluster.scheduler_address)
        results = {r.job.path.name: r for r in _dask(client, jobs, {}, refuse_crash_files, size=3)}
        alone = distributed.Client(cluster.scheduler_address)
        together = {r.job.path.name: r for r in _dask(alone, jobs[1:], {}, size=2)}
    assert sorted(results) == ["crash.hsn", "s0.hsn", "s1.hsn", "s2.hsn", "s3.hsn", "s4.hsn"]  # each once
    assert (
        "the worker analysing it failed (RuntimeError: this file breaks its task)"
        in results["crash.hsn"].error
    )
    for name in ("s0.hsn", "s1.hsn", "s2.hsn", "s3.hsn", "s4.hsn"):
        assert results[name].error is None and len(results[name].steps) > 0, name
        pd.testing.assert_frame_equal(results[name].steps, together[name].steps)
