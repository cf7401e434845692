"""`hipsense export --format fit SESSION`: the session's per-second running form as FIT developer fields,
read back with garmin-fit-sdk's decoder and compared with the step table it came from (docs/watch.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from garmin_fit_sdk import Decoder, Stream

from hipsense.cli import main
from hipsense.errors import HipsenseError
from hipsense.export.fit import FIELDS, pauses_s, seconds, write_fit
from hipsense.formats.fit_watch import FIT_EPOCH_UNIX
from hipsense.sim import scenarios, simulate_run
from hipsense.sim.config import RunConfig, Segment
from hipsense.store import HOME_ENV, Store

START = 1_735_689_600
#: Two 30 s runs with 15 s standing between them.
RUN_STAND_RUN = (Segment("run", 30.0), Segment("stand", 15.0), Segment("run", 30.0))


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    # Right foot: contact time +6 % (the default), so the balance reads below 50 % (the left's share).
    run = simulate_run(scenarios.asymmetric_run(duration_s=40, seed=5))
    path = run.write_device_file(home.parent / "asym.hsn", start_time_unix=START)
    mp = pytest.MonkeyPatch()
    mp.setenv(HOME_ENV, str(home))
    assert main(["import", str(path), "-q"]) == 0
    with Store(home, create=False) as store:
        sid = int(store.sessions()["id"].iloc[0])
        steps = store.steps(sid)
    yield home, sid, steps
    mp.undo()


def _read(path):
    messages, errors = Decoder(Stream.from_file(str(path))).read(convert_datetimes_to_dates=False)
    assert errors == []
    return messages


def test_round_trip(stored, tmp_path, capsys):
    _, sid, steps = stored
    out = tmp_path / "run.fit"
    assert main(["export", "--format", "fit", str(sid), "--out", str(out)]) == 0
    assert "exported session" in capsys.readouterr().out
    messages = _read(out)
    names = {d["key"]: d["field_name"] for d in messages["field_description_mesgs"]}
    assert names == {i: name for i, (name, _, _) in enumerate(FIELDS)}
    records = messages["record_mesgs"]
    expected = seconds(steps)
    assert len(records) == len(expected) > 30
    t = np.array([r["timestamp"] for r in records]) + FIT_EPOCH_UNIX
    assert np.array_equal(t, START + expected["t_s"].to_numpy())
    for key, (_, _, column) in enumerate(FIELDS):
        got = np.array([r["developer_fields"].get(key, np.nan) for r in records], dtype=float)
        want = expected[column].to_numpy(dtype=float)
        np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)  # float32 in the file
    assert messages["session_mesgs"][0]["sport"] == "running"


def test_values_are_the_step_tables(stored):
    _, _, steps = stored
    per_second = seconds(steps)
    running = steps[steps["activity"] == "run"]
    assert abs(per_second["cadence_spm"].median() - running["cadence_spm"].median()) < 2.0
    assert abs(per_second["contact_time_ms"].median() - 1000 * running["contact_time_s"].median()) < 5.0
    left = running.loc[running["side"] == "L", "contact_time_s"].mean()
    right = running.loc[running["side"] == "R", "contact_time_s"].mean()
    assert abs(per_second["balance_left_pct"].median() - 100 * left / (left + right)) < 0.5
    assert per_second["balance_left_pct"].median() < 50.0  # the right foot's longer contact


def test_fit_export_errors_are_one_line(stored, tmp_path, capsys):
    cases = [
        (["export", "--format", "fit", "999", "--out", str(tmp_path / "x.fit")], "no session 999"),
        (["export", "--format", "fit", "--out", str(tmp_path / "x.fit")], "SESSION goes with --format fit"),
        (["export", "--format", "fit", "1", "--out", str(tmp_path)], "is a folder"),
        (["export", "--format", "fit", "1", "--out", str(tmp_path / "no" / "x.fit")], "does not exist"),
        (["export", "--format", "fit", str(2**70), "--out", str(tmp_path / "x.fit")], "not a session id"),
    ]
    for argv, why in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert why in err and err.count("\n") == 1 and "Traceback" not in err, err


def _short_run() -> pd.DataFrame:
    """A 4.96 s recording that is all running, as the analysis stores it: 15 steps from 0.26 s to
    4.79 s, the last without a step time (no next contact)."""
    ic = 0.264 + 0.3252 * np.arange(15)
    return pd.DataFrame(
        {
            "side": ["L", "R"] * 7 + ["L"],
            "ic_s": ic,
            "step_time_s": [*np.diff(ic), np.nan],
            "contact_time_s": 0.24,
            "cadence_spm": 184.0,
            "pelvic_drop_deg": 5.0,
            "activity": "run",
        }
    )


def test_records_and_totals_are_the_running_time(tmp_path):
    """One record per second of running, not two more after the last step (the window reaches 2 s
    past it): a 4.96 s run is 5 records (0..4 s). Its session and activity totals are the stored running
    time it is given (4.96 s, the running bout), not one recounted from the steps' edges (4.878 s)."""
    steps = _short_run()
    done = write_fit(tmp_path / "short.fit", steps, START, running_time_s=4.96, session_id=1)
    messages = _read(done.path)
    t = np.array([r["timestamp"] for r in messages["record_mesgs"]]) + FIT_EPOCH_UNIX - START
    assert t.tolist() == [0, 1, 2, 3, 4] and done.records == 5
    session = messages["session_mesgs"][0]
    assert session["total_elapsed_time"] == pytest.approx(4.96, abs=0.001)  # one run: no pause
    assert session["total_timer_time"] == pytest.approx(4.96, abs=0.001)
    assert messages["activity_mesgs"][0]["total_timer_time"] == pytest.approx(4.96, abs=0.001)


def test_a_walk_between_runs_has_no_records(tmp_path):
    """Seconds of walking between two runs are not running: no records there, and the elapsed time adds
    the pause between the runs (the first's last step ends at 5.142 s, the second starts at 20.264 s)
    to the timer, the running time (FIT's timer and elapsed times)."""
    first, second = _short_run(), _short_run()
    second["ic_s"] += 20.0
    walk = first.iloc[:10].assign(ic_s=8.0 + 0.6 * np.arange(10), step_time_s=0.6, activity="walk")
    steps = pd.concat([first, walk, second], ignore_index=True)
    assert pauses_s(steps) == pytest.approx(20.264 - (4.8168 + 0.3252), abs=1e-9)
    done = write_fit(tmp_path / "two.fit", steps, START, running_time_s=10.0)
    messages = _read(done.path)
    t = np.array([r["timestamp"] for r in messages["record_mesgs"]]) + FIT_EPOCH_UNIX - START
    assert t.tolist() == [0, 1, 2, 3, 4, 20, 21, 22, 23, 24]
    session = messages["session_mesgs"][0]
    assert session["total_timer_time"] == pytest.approx(10.0, abs=0.001)
    assert session["total_elapsed_time"] == pytest.approx(10.0 + 15.122, abs=0.002)


def test_a_session_without_a_stored_running_time_is_one_line(stored, tmp_path, capsys):
    """A session analysed before the store kept running times (NULL) names the fix, and a running time
    that is not a number (a hand edit) names the session and its repair, each in one line; no file."""
    home, sid, _ = stored
    out = tmp_path / "x.fit"
    with pytest.raises(HipsenseError, match="no stored running time"):
        write_fit(out, _short_run(), START, running_time_s=0.0)
    with Store(home) as store:
        (kept,) = store.db.execute("SELECT running_time_s FROM sessions WHERE id = ?", (sid,)).fetchone()
    cases = [
        (None, "no stored running time: `hipsense reanalyze` adds it"),
        ("abc", "its running time 'abc' is not a number"),
    ]
    try:
        for value, why in cases:
            with Store(home) as store, store.db:
                store.db.execute("UPDATE sessions SET running_time_s = ? WHERE id = ?", (value, sid))
            assert main(["export", "--format", "fit", str(sid), "--out", str(out)]) == 2
            err = capsys.readouterr().err
            assert why in err and err.count("\n") == 1 and "Traceback" not in err, err
            assert not out.exists()
    finally:
        with Store(home) as store, store.db:
            store.db.execute("UPDATE sessions SET running_time_s = ? WHERE id = ?", (kept, sid))


def _export_stored(home, tmp_path):
    """The latest session in ``home`` exported by the real command and read back: ``(stored running
    time, its steps, the decoded messages)``."""
    with Store(home, create=False) as store:
        row = store.sessions().sort_values("id").iloc[-1]
        sid, steps = int(row["id"]), store.steps(int(row["id"]))
        assert store.summary(sid)["running_time_s"] == pytest.approx(row["running_time_s"], abs=1e-4)
    out = tmp_path / f"{sid}.fit"
    assert main(["export", "--format", "fit", str(sid), "--out", str(out)]) == 0
    return float(row["running_time_s"]), steps, _read(out)


def test_timer_is_the_stored_running_time_of_a_real_run(shared_data, tmp_path, monkeypatch):
    """A real 4.96 s treadmill trial, all running, imported and exported by the commands: the FIT timer
    and elapsed time are the running time `hipsense sessions` and the report show (the sum of the
    running bouts, 4.96 s), not a second figure from the step edges (4.849 s: from the first contact,
    0.26 s into the recording, to the end of the last step). Still one record a second of running: 0-4 s."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    trial = shared_data / "running-sacral-accel" / "trial01_2.50mps.csv"
    columns = ["--acc-unit", "g", "--columns", "acc_is=acc_v_g,acc_pa=acc_ap_g"]
    assert main(["import", str(trial), "-q", *columns, "--start-time", "2025-01-01T00:00:00Z"]) == 0
    running, _, messages = _export_stored(tmp_path / "home", tmp_path)
    assert running == pytest.approx(4.96, abs=0.01)
    session = messages["session_mesgs"][0]
    assert session["total_timer_time"] == pytest.approx(running, abs=0.001)
    assert session["total_elapsed_time"] == pytest.approx(running, abs=0.001)  # one run: no pause
    assert messages["activity_mesgs"][0]["total_timer_time"] == pytest.approx(running, abs=0.001)
    t = np.array([r["timestamp"] for r in messages["record_mesgs"]])
    assert (t - t[0]).tolist() == [0, 1, 2, 3, 4]


def test_a_stand_between_two_runs_is_a_pause(tmp_path, monkeypatch):
    """Two 30 s runs with 15 s standing between them, simulated, written as the clip's file and imported:
    the timer is the stored running time, the elapsed time adds the pause between the runs (from the
    last running step of the first to the first contact of the second), and the standing seconds have
    no records."""
    cfg = RunConfig(segments=(Segment("stand", 5.0), *RUN_STAND_RUN, Segment("stand", 5.0)), seed=2)
    path = simulate_run(cfg).write_device_file(tmp_path / "intervals.hsn", start_time_unix=START)
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert main(["import", str(path), "-q"]) == 0
    running, steps, messages = _export_stored(tmp_path / "home", tmp_path)
    session = messages["session_mesgs"][0]
    assert session["total_timer_time"] == pytest.approx(running, abs=0.001)
    run = steps[steps["activity"] == "run"].sort_values("ic_s")
    gap = run["ic_s"].diff()
    after = gap.idxmax()
    assert gap.max() > 10.0  # the stand: no running step for over 10 s
    # the first run's last step has no step time (no running contact follows it): a typical one
    last = run["step_time_s"].shift().loc[after]
    before = run["ic_s"].shift().loc[after] + (last if np.isfinite(last) else run["step_time_s"].median())
    pause = run.loc[after, "ic_s"] - before
    assert session["total_elapsed_time"] == pytest.approx(running + pause, abs=0.002)
    t = np.array([r["timestamp"] for r in messages["record_mesgs"]]) + FIT_EPOCH_UNIX - START
    assert not ((t > before + 1) & (t < run.loc[after, "ic_s"] - 1)).any()
