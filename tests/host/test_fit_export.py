"""`hipsense export --format fit SESSION`: the session's per-second running form as FIT developer fields,
read back with garmin-fit-sdk's decoder and compared with the step table it came from (docs/watch.md)."""

from __future__ import annotations

import numpy as np
import pytest
from garmin_fit_sdk import Decoder, Stream

from hipsense.cli import main
from hipsense.export.fit import FIELDS, seconds
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
