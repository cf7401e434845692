"""`hipsense batch`: the same tables from local processes and from a real Dask cluster; bad files reported."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from hipsense.batch import discover, run_batch
from hipsense.batch.discover import BatchInputWarning
from hipsense.cli import main
from hipsense.errors import HipsenseError
from hipsense.export import read_table
from hipsense.export.schema import BATCH_TABLES
from hipsense.library import import_files
from hipsense.sim import scenarios, simulate_run
from hipsense.store import Store


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Two runners' folders: device files, a CSV in a sub-folder, a corrupt file, a stray note."""
    d = tmp_path_factory.mktemp("study")
    (d / "ana").mkdir()
    (d / "ben" / "week 2").mkdir(parents=True)
    simulate_run(scenarios.steady_run(duration_s=20, seed=1)).write_device_file(d / "ana" / "mon.hsn")
    simulate_run(scenarios.steady_run(duration_s=20, seed=2, speed_mps=3.8)).write_device_file(
        d / "ana" / "wed.hsn"
    )
    simulate_run(scenarios.steady_run(duration_s=20, seed=3)).write_csv(d / "ben" / "week 2" / "long.csv")
    simulate_run(scenarios.steady_run(duration_s=20, seed=4)).write_device_file(d / "ben" / "tue.HSN")
    (d / "ben" / "broken.hsn").write_bytes(b"HSNS" + bytes(60))
    (d / "ben" / "notes.txt").write_text("not a recording")
    return d


@pytest.fixture(scope="module")
def local_out(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "out"
    with pytest.warns(
        BatchInputWarning, match=r"left out 1 other file, not named \.hsn or \.csv .*notes\.txt"
    ):
        return out, run_batch([study], out, workers=2)


def test_runner_and_session_come_from_the_folders(study):
    jobs = {(j.runner, j.session): j.path.name for j in discover([study])}
    assert jobs == {
        ("ana", "mon.hsn"): "mon.hsn",
        ("ana", "wed.hsn"): "wed.hsn",
        ("ben", "broken.hsn"): "broken.hsn",
        ("ben", "tue.HSN"): "tue.HSN",
        ("ben", "week_2__long.csv"): "long.csv",
    }
    assert {j.runner for j in discover([study / "ana"])} == {"ana"}  # files right in the folder given


def test_a_corrupt_file_is_reported_and_the_rest_complete(local_out):
    out, report = local_out
    assert len(report.analysed) == 4
    assert [p.name for p, _ in report.failed] == ["broken.hsn"]
    assert "broken.hsn" in report.failed[0][1] and "format version" in report.failed[0][1]
    failures = pd.read_csv(out / "failures.csv")
    assert failures["path"].str.endswith("broken.hsn").tolist() == [True]
    sessions = read_table(out, "sessions")
    assert sessions[["runner", "session"]].values.tolist() == [
        ["ana", "mon.hsn"],
        ["ana", "wed.hsn"],
        ["ben", "tue.HSN"],
        ["ben", "week_2__long.csv"],
    ]
    for name, table in BATCH_TABLES.items():
        assert {c: str(t) for c, t in read_table(out, name).dtypes.items()} == table.dtypes


def test_tables_match_what_import_stores(study, local_out, tmp_path):
    out, _ = local_out
    steps = read_table(out, "steps")
    with Store(tmp_path / "home") as store:
        report = import_files(store, [study / "ana" / "wed.hsn"], runner="ana")
        sid = report.added[0].session_id
        stored, summary = store.steps(sid), store.summary(sid)
    mine = steps[steps["session"] == "wed.hsn"].reset_index(drop=True)
    pd.testing.assert_series_equal(mine["contact_time_s"], stored["contact_time_s"], check_names=False)
    row = read_table(out, "sessions").set_index("session").loc["wed.hsn"]
    assert row["cadence_spm"] == summary["cadence_spm"] and row["kind"] == "device"


def test_a_dask_cluster_gives_identical_tables(study, local_out, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    out, _ = local_out
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        code = main(
            ["batch", str(study), "--out", str(tmp_path / "dask"), "--dask", cluster.scheduler_address]
        )
    captured = capsys.readouterr()
    assert code == 1  # the corrupt file
    assert (
        "4 analysed" in captured.out
        and "1 failed" in captured.out
        and "Dask scheduler tcp://127.0.0.1" in captured.out
    )
    assert "broken.hsn" in captured.err
    for name in BATCH_TABLES:
        pd.testing.assert_frame_equal(read_table(tmp_path / "dask", name), read_table(out, name))


def test_exit_codes_and_clear_errors(study, tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad" / "zoe"
    bad.mkdir(parents=True)
    (bad / "a.csv").write_text("t_s,acc_x\n0,1\n")
    (bad / "b.hsn").write_bytes(b"nothing")
    assert main(["batch", str(tmp_path / "bad"), "--out", str(tmp_path / "o1"), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "a.csv" in err and "b.hsn" in err
    assert main(["batch", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o2")]) == 2
    assert "no such folder" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if dask[distributed] were not installed
    with pytest.raises(HipsenseError, match=r"hipsense\[cluster\]"):
        run_batch([study / "ana"], tmp_path / "o3", dask_address="tcp://127.0.0.1:1")


def test_an_unreachable_scheduler_is_a_clear_error(study, tmp_path):
    pytest.importorskip("distributed")
    with pytest.raises(HipsenseError, match="cannot reach the Dask scheduler"):
        run_batch([study / "ana"], tmp_path / "o", dask_address="tcp://127.0.0.1:9", dask_timeout_s=1)
    assert not (tmp_path / "o").exists()  # nothing written, so the same command can simply be rerun


def test_an_interrupted_batch_resumes_to_the_same_tables(study, local_out, tmp_path, capsys, monkeypatch):
    import hipsense.batch.run as batch_run

    real = batch_run.analyse_file
    calls = []

    def stopped_after_two(job, options):  # Ctrl-C while the third file is analysed
        calls.append(job)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(job, options)

    monkeypatch.setattr(batch_run, "analyse_file", stopped_after_two)
    out = tmp_path / "out"
    assert main(["batch", str(study), "--out", str(out), "--workers", "1"]) == 130
    assert "--resume finishes the batch" in capsys.readouterr().err
    assert not (out / "failures.csv").exists()  # not finished
    # As if killed between a recording's two tables: its steps are there, its sessions row is not.
    done = sorted(out.glob("sessions/*/*/part-0.parquet"))
    assert len(done) == 2
    done[-1].unlink()
    (done[-1].parent / "part-0.parquet.tmp").write_bytes(b"half a file")

    monkeypatch.setattr(batch_run, "analyse_file", real)
    assert main(["batch", str(study), "--out", str(out), "--workers", "1"]) == 2  # no --resume: refused
    assert "not an empty folder" in capsys.readouterr().err
    assert main(["batch", str(study), "--out", str(out), "--workers", "1", "--resume"]) == 1  # broken.hsn
    said = capsys.readouterr().out
    assert "1 kept from before, 3 analysed" in said and "1 failed" in said
    assert not list(out.rglob("*.tmp"))
    reference, _ = local_out
    for name in BATCH_TABLES:
        pd.testing.assert_frame_equal(read_table(out, name), read_table(reference, name))
    assert pd.read_csv(out / "failures.csv")["path"].str.endswith("broken.hsn").tolist() == [True]
    # --resume refuses a folder that is not a batch's output
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.docx").write_text("")
    assert main(["batch", str(study), "--out", str(other), "--resume"]) == 2
    assert "--resume needs a folder" in capsys.readouterr().err


def test_a_worker_that_dies_fails_its_file_only(study, local_out, tmp_path):
    from hipsense.batch.run import _local
    from tests.host.batch_crash import analyse_or_die

    folder = tmp_path / "with-crash"
    (folder / "ana").mkdir(parents=True)
    for f in (study / "ana").iterdir():
        (folder / "ana" / f.name).write_bytes(f.read_bytes())
    (folder / "ana" / "crash.hsn").write_bytes(b"")
    (folder / "ana" / "zz.hsn").write_bytes((study / "ana" / "mon.hsn").read_bytes())
    jobs = discover([folder])
    results = {r.job.path.name: r for r in _local(jobs, {}, 2, analyse_or_die)}
    assert sorted(results) == ["crash.hsn", "mon.hsn", "wed.hsn", "zz.hsn"]  # each once
    assert "the process analysing it died (exit code 3" in results["crash.hsn"].error
    for name in ("mon.hsn", "wed.hsn", "zz.hsn"):
        assert results[name].error is None and len(results[name].steps) > 0, name
    pd.testing.assert_frame_equal(
        results["zz.hsn"].steps.drop(columns=["session"]), results["mon.hsn"].steps.drop(columns=["session"])
    )


def test_workers_run_one_thread_per_library_and_the_command_keeps_its_settings(study, monkeypatch):
    """N workers each starting N BLAS/OpenMP threads would oversubscribe the cores: the workers start
    with one each, and the command's own environment is what it was (a value the user set is kept)."""
    import os

    from hipsense.batch.procs import THREAD_VARIABLES
    from hipsense.batch.run import _local
    from tests.host.batch_crash import threads_seen

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    before = {v: os.environ.get(v) for v in THREAD_VARIABLES}
    results = list(_local(discover([study]), {}, 2, threads_seen))
    assert before == {v: os.environ.get(v) for v in THREAD_VARIABLES}
    assert len(results) == 5 and all(r.pid != os.getpid() for r in results)
    for r in results:
        seen = dict(item.split("=") for item in r.error.split(","))
        # The fork server may have been started by an earlier test: then it kept that environment,
        # which this same code gave it (one thread each unless the user had set otherwise).
        assert seen["OMP_NUM_THREADS"] == "1" and seen["OPENBLAS_NUM_THREADS"] == "1", seen


def test_the_report_says_how_the_work_spread(local_out):
    import os

    _, report = local_out
    assert 1 <= len(report.cpu_s_by_process) <= 2 and os.getpid() not in report.cpu_s_by_process
    assert all(s > 0 for s in report.cpu_s_by_process.values())
