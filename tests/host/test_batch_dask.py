"""`hipsense batch --dask`: several files a task on a real Dask LocalCluster, a worker that dies fails
only its own file, and docs/batch.md gives a real cluster the settings the code uses."""

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


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Five short device files of one runner, and one whose analysis kills its worker (crash.hsn)."""
    d = tmp_path_factory.mktemp("cohort") / "ana"
    d.mkdir()
    for seed in range(5):
        run = simulate_run(scenarios.steady_run(duration_s=12, seed=seed))
        run.write_device_file(d / f"s{seed}.hsn")
    (d / "crash.hsn").write_bytes(b"")
    return d


def test_a_worker_that_dies_fails_its_file_only_though_it_shared_a_task(cohort):
    distributed = pytest.importorskip("distributed")
    import dask

    from tests.host.batch_crash import analyse_or_die

    jobs = discover([cohort])
    assert [j.path.name for j in jobs][:3] == ["crash.hsn", "s0.hsn", "s1.hsn"]  # one task of three
    # A task whose worker dies is not retried (Dask's default retries it on 3 more workers first)
    with (
        dask.config.set({**DASK_SETTINGS, "distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
    ):
        client = distributed.Client(cluster.scheduler_address)
        results = {r.job.path.name: r for r in _dask(client, jobs, {}, analyse_or_die, size=3)}
        together = {
            r.job.path.name: r
            for r in _dask(distributed.Client(cluster.scheduler_address), jobs[1:], {}, size=2)
        }
    assert sorted(results) == ["crash.hsn", "s0.hsn", "s1.hsn", "s2.hsn", "s3.hsn", "s4.hsn"]  # each once
    assert "KilledWorker" in results["crash.hsn"].error
    for name in ("s0.hsn", "s1.hsn", "s2.hsn", "s3.hsn", "s4.hsn"):
        assert results[name].error is None and len(results[name].steps) > 0, name
        pd.testing.assert_frame_equal(results[name].steps, together[name].steps)
