"""`hipsense export --format fit SESSION`: the session's per-second running form as FIT developer fields,
read back with garmin-fit-sdk's decoder and compared with the step table it came from (docs/watch.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from garmin_fit_sdk import Decoder, Stream

from hipsense.cli import main
from hipsense.export.fit import FIELDS, seconds, write_fit
from hipsense.formats.fit_watch import FIT_EPOCH_UNIX
from hipsense.sim import scenarios, simulate_run
from hipsense.store import HOME_ENV, Store

START = 1_735_689_600


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
    past it): a 4.96 s run is 5 records (0..4 s), and its session and activity totals are the running
    time from the first step's contact to the end of the last step (docs/watch.md), not 6.0 s."""
    steps = _short_run()
    done = write_fit(tmp_path / "short.fit", steps, START, session_id=1)
    messages = _read(done.path)
    t = np.array([r["timestamp"] for r in messages["record_mesgs"]]) + FIT_EPOCH_UNIX - START
    assert t.tolist() == [0, 1, 2, 3, 4] and done.records == 5
    running = (steps["ic_s"].iloc[-1] + steps["step_time_s"].median()) - steps["ic_s"].iloc[0]
    session = messages["session_mesgs"][0]
    assert session["total_elapsed_time"] == pytest.approx(running, abs=0.001)
    assert session["total_timer_time"] == pytest.approx(running, abs=0.001)
    assert messages["activity_mesgs"][0]["total_timer_time"] == pytest.approx(running, abs=0.001)
    assert running < 5.0


def test_a_walk_between_runs_has_no_records(tmp_path):
    """Seconds of walking between two runs are not running: no records there, and the timer leaves them
    out while the elapsed time counts them (FIT's timer and elapsed times)."""
    first, second = _short_run(), _short_run()
    second["ic_s"] += 20.0
    walk = first.iloc[:10].assign(ic_s=8.0 + 0.6 * np.arange(10), step_time_s=0.6, activity="walk")
    steps = pd.concat([first, walk, second], ignore_index=True)
    done = write_fit(tmp_path / "two.fit", steps, START)
    messages = _read(done.path)
    t = np.array([r["timestamp"] for r in messages["record_mesgs"]]) + FIT_EPOCH_UNIX - START
    assert t.tolist() == [0, 1, 2, 3, 4, 20, 21, 22, 23, 24]
    one = (first["ic_s"].iloc[-1] + first["step_time_s"].median()) - first["ic_s"].iloc[0]
    session = messages["session_mesgs"][0]
    assert session["total_timer_time"] == pytest.approx(2 * one, abs=0.002)
    assert session["total_elapsed_time"] == pytest.approx(20.0 + one, abs=0.002)
