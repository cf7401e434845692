"""The runner's watch: reading its FIT activity, aligning it to a session, and `hipsense link` /
`import --fit` (docs/watch.md).

The watch file is simulated from the simulator's truth (speed, cadence per second, a hill) with a known
clock offset and written with garmin-fit-sdk's own encoder, as a watch writes it: 1 s records, cadence in
strides per minute, altitude at its 0.2 m resolution.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pytest
from garmin_fit_sdk import Encoder

from hipsense.cli import main
from hipsense.formats.fit_watch import FitError, read_fit
from hipsense.link import align, flat_easy, grade_pct, link_session, stored_link
from hipsense.sim import simulate_run
from hipsense.sim.config import RunConfig, Segment
from hipsense.store import HOME_ENV, Store

START = 1_735_689_600  # the simulated clip's start time (SimulatedRun.write_device_file's default)
GRADE = 0.04  # the simulated course: flat for 300 m, then 4 % up


def write_watch(
    path, t_unix, *, speed=None, distance=None, altitude=None, hr=None, cadence_spm=None, sessions=()
):
    """A FIT activity of a record at each of ``t_unix`` with these fields (None: the field is left out),
    then ``sessions``: a session message each, ``(sport, sub_sport, start, end)`` in UNIX seconds."""
    enc = Encoder()
    epoch = dt.datetime.fromtimestamp(int(t_unix[0]), dt.timezone.utc)
    enc.write_mesg(
        {
            "mesg_num": 0,
            "type": "activity",
            "manufacturer": "development",
            "product": 1,
            "time_created": epoch,
        }
    )
    for i, t in enumerate(t_unix):
        rec = {"mesg_num": 20, "timestamp": dt.datetime.fromtimestamp(int(t), dt.timezone.utc)}
        if speed is not None:
            rec["enhanced_speed"] = float(speed[i])
        if distance is not None:
            rec["distance"] = float(distance[i])
        if altitude is not None:
            rec["enhanced_altitude"] = float(altitude[i])
        if hr is not None:
            rec["heart_rate"] = int(hr[i])
        if cadence_spm is not None:  # FIT's running cadence: strides (one foot) per minute
            rec["cadence"] = int(cadence_spm[i] // 2)
            rec["fractional_cadence"] = float(cadence_spm[i] / 2 % 1)
        enc.write_mesg(rec)
    for sport, sub_sport, a, b in sessions:
        enc.write_mesg(
            {
                "mesg_num": 18,
                "timestamp": dt.datetime.fromtimestamp(int(b), dt.timezone.utc),
                "start_time": dt.datetime.fromtimestamp(int(a), dt.timezone.utc),
                "total_elapsed_time": float(b - a),
                "sport": sport,
                "sub_sport": sub_sport,
            }
        )
    path.write_bytes(enc.close())
    return path


def watch_of(run, offset_s: float):
    """What a watch whose clock is ``offset_s`` ahead records during ``run``: at each whole second of its
    clock, the true speed, distance, altitude (the course), heart rate and its 5 s mean cadence."""
    t_true = run.body["t_true_s"].to_numpy()
    speed_true = run.body["speed_mps"].to_numpy()
    truth = run.truth[run.truth["activity"] == "run"]
    t_unix = np.arange(np.ceil(START + offset_s), np.floor(START + offset_s + run.duration_s))
    at = t_unix - START - offset_s  # true session seconds of each record
    speed = np.interp(at, t_true, speed_true)
    dist = np.interp(at, t_true, np.concatenate([[0.0], np.cumsum(np.diff(t_true) * speed_true[1:])]))
    altitude = 100.0 + GRADE * np.maximum(dist - 300.0, 0.0)
    ic, cad = truth["ic_s"].to_numpy(), truth["cadence_spm"].to_numpy()
    cadence = np.array(
        [cad[np.abs(ic - a) <= 2.5].mean() if (np.abs(ic - a) <= 2.5).any() else 0 for a in at]
    )
    hr = 120 + 10 * speed
    return t_unix, dict(speed=speed, distance=dist, altitude=altitude, hr=hr, cadence_spm=cadence), at


@pytest.fixture(scope="module")
def run():
    # Intervals: cadence follows speed, so its changes give the match something to hold on to.
    durations = (20.0, 35.0, 15.0, 30.0, 25.0, 40.0, 20.0)
    speeds = (3.0, 4.2, 3.2, 4.5, 2.9, 3.9, 3.4)
    segments = tuple(Segment("run", d, v) for d, v in zip(durations, speeds, strict=True))
    return simulate_run(RunConfig(segments=segments, seed=11))


@pytest.fixture(scope="module")
def home(tmp_path_factory, run):
    home = tmp_path_factory.mktemp("home")
    path = run.write_device_file(home.parent / "intervals.hsn", start_time_unix=START)
    mp = pytest.MonkeyPatch()
    mp.setenv(HOME_ENV, str(home))
    assert main(["import", str(path), "--runner", "ana", "-q"]) == 0
    yield home
    mp.undo()


def _session(home) -> tuple[Store, int]:
    store = Store(home, create=False)
    return store, int(store.sessions()["id"].iloc[0])


@pytest.mark.parametrize("offset_s", [-30.0, -7.4, 0.0, 12.6, 30.0])
def test_offset_found_within_half_a_second(run, home, tmp_path, offset_s):
    t_unix, fields, _ = watch_of(run, offset_s)
    fit = write_watch(tmp_path / "watch.fit", t_unix, **fields)
    store, sid = _session(home)
    with store:
        steps = store.steps(sid)
        a = align(steps, START, run.duration_s, read_fit(fit))
    assert a.method == "cadence"
    assert abs(a.offset_s - offset_s) <= 0.5, a
    assert a.confidence >= 0.5


def test_offset_from_speed_when_the_watch_has_no_cadence(run, home, tmp_path):
    t_unix, fields, _ = watch_of(run, 21.0)
    fields["cadence_spm"] = None
    fit = write_watch(tmp_path / "watch.fit", t_unix, **fields)
    store, sid = _session(home)
    with store:
        a = align(store.steps(sid), START, run.duration_s, read_fit(fit))
    assert a.method == "speed"
    assert abs(a.offset_s - 21.0) <= 0.5, a


def test_a_steady_run_keeps_the_clocks_offset(run, home, tmp_path):
    t_unix, fields, _ = watch_of(run, 9.0)
    n = len(t_unix)
    fields["cadence_spm"] = np.full(n, 170.0)  # nothing to match: the clocks' alignment stays
    fields["speed"] = np.full(n, 3.5)
    fit = write_watch(tmp_path / "watch.fit", t_unix, **fields)
    store, sid = _session(home)
    with store:
        a = align(store.steps(sid), START, run.duration_s, read_fit(fit))
    assert a.method == "clock" and a.offset_s == 0.0


def test_grade_from_distance_and_altitude():
    d = np.arange(0.0, 1000.0, 3.3)
    z = 50.0 + np.where(d < 500, 0.0, 0.06 * (d - 500)) + np.random.default_rng(0).normal(0, 0.1, len(d))
    g = grade_pct(d, np.round(z * 5) / 5)  # the FIT altitude's 0.2 m steps
    assert np.nanmedian(np.abs(g[d < 450])) < 1.0
    assert abs(np.nanmedian(g[d > 560]) - 6.0) < 0.5
    assert grade_pct(d[:5], z[:5]) is None  # 13 m: shorter than the window


def test_link_command_stores_speed_grade_and_heart_rate(run, home, tmp_path, capsys):
    offset = 17.0
    t_unix, fields, at = watch_of(run, offset)
    fit = write_watch(tmp_path / "watch.fit", t_unix, **fields)
    store, sid = _session(home)
    store.close()
    assert main(["link", str(sid), str(fit), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(out["offset_s"] - offset) <= 0.5 and out["method"] == "cadence"
    with Store(home, create=False) as store:
        steps = store.steps(sid)
        link = stored_link(store, sid)
        kept = home / "watch" / link["fit_sha256"][:2] / link["fit_sha256"][2:]
        assert kept.read_bytes() == fit.read_bytes()
    running = steps[steps["activity"] == "run"]
    assert running["speed_mps"].notna().mean() > 0.9
    # Each step's speed is the watch's at its contact: compare with the truth at the same moment.
    truth = np.interp(running["ic_s"], run.body["t_s"], run.body["speed_mps"])
    assert np.nanmedian(np.abs(running["speed_mps"] - truth)) < 0.1
    assert abs(np.nanmedian(running["heart_rate_bpm"] - (120 + 10 * truth))) < 2.0
    uphill = running["grade_pct"].dropna()
    assert abs(uphill.max() - 100 * GRADE) < 1.0 and abs(uphill.min()) < 1.0
    assert 0 < len(flat_easy(steps)) < len(steps)
    # A reanalysis rewrites the steps and links the kept watch file again.
    assert main(["reanalyze", "--all", "-q"]) == 0
    with Store(home, create=False) as store:
        again = store.steps(sid)
    np.testing.assert_array_equal(again["speed_mps"].to_numpy(float), steps["speed_mps"].to_numpy(float))
    assert main(["link", str(sid), "-q"]) == 0  # without a file: the kept one
    assert "linked the kept watch file" in capsys.readouterr().out
    # Like with like: the flat steps' figures per linked session.
    assert main(["flat", "--json"]) == 0
    (flat,) = json.loads(capsys.readouterr().out)
    flat_steps = steps[(steps["activity"] == "run") & (steps["grade_pct"].abs() < 2)]
    assert flat["session_id"] == sid and flat["steps"] == len(flat_steps) > 0
    assert flat["speed_mps"] == pytest.approx(flat_steps["speed_mps"].median())
    assert main(["flat"]) == 0
    assert "Running on the flat" in capsys.readouterr().out


def test_import_with_fit(run, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home2"))
    path = run.write_device_file(tmp_path / "r.hsn", start_time_unix=START)
    t_unix, fields, _ = watch_of(run, -4.0)
    fit = write_watch(tmp_path / "w.fit", t_unix, **fields)
    assert main(["import", str(path), "--fit", str(fit), "-q"]) == 0
    found = re.search(r"watch clock ([-+][0-9.]+) s", capsys.readouterr().out)
    assert found and abs(float(found.group(1)) + 4.0) <= 0.5
    with Store(tmp_path / "home2", create=False) as store:
        sid = int(store.sessions()["id"].iloc[0])
        assert store.steps(sid)["speed_mps"].notna().any()


def test_a_watch_from_another_day_is_refused(run, home, tmp_path, capsys):
    t_unix, fields, _ = watch_of(run, 86400.0)
    fit = write_watch(tmp_path / "watch.fit", t_unix, **fields)
    store, sid = _session(home)
    store.close()
    assert main(["link", str(sid), str(fit)]) == 2
    err = capsys.readouterr().err
    assert "does not overlap" in err and "Traceback" not in err and err.count("\n") == 1


def test_bad_fit_files_give_one_line(tmp_path, capsys, home):
    good = write_watch(tmp_path / "good.fit", np.arange(START, START + 60), speed=np.full(60, 3.0))
    data = good.read_bytes()
    cases = {
        "text.fit": (b"not a fit file at all\n" * 4, "not a FIT file"),
        "empty.fit": (b"", "not a FIT file"),
        "truncated.fit": (data[: len(data) // 2], "damaged or truncated"),
        "flipped.fit": (data[:-40] + bytes([data[-40] ^ 0xFF]) + data[-39:], "damaged or truncated"),
    }
    for name, (content, why) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(FitError, match=why):
            read_fit(tmp_path / name)
        assert main(["link", "1", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert why in err and err.count("\n") == 1 and "Traceback" not in err, err
    # A valid FIT file that is not an activity: no records.
    enc = Encoder()
    enc.write_mesg({"mesg_num": 0, "type": "course", "manufacturer": "development", "product": 1})
    (tmp_path / "course.fit").write_bytes(enc.close())
    with pytest.raises(FitError, match="without activity records"):
        read_fit(tmp_path / "course.fit")
    with pytest.raises(FitError, match="cannot be read"):
        read_fit(tmp_path / "missing.fit")


def test_report_shows_form_against_pace_and_grade(run, home, tmp_path):
    from hipsense.report.html import render_session
    from hipsense.report.sources import from_store

    t_unix, fields, _ = watch_of(run, 5.0)
    fit = write_watch(tmp_path / "watch.fit", t_unix, **fields)
    store, sid = _session(home)
    with store:
        link_session(store, sid, fit)
        html = render_session(from_store(store, sid))
    assert 'id="watch"' in html and "With the watch" in html and "steps were on the flat" in html
    assert html.count("<svg") >= 4  # the pace-and-grade figure drawn beside the usual ones


def test_hostile_values_and_sizes(tmp_path, monkeypatch):
    from hipsense.formats import fit_watch

    n = 40
    t = np.arange(START, START + n)
    speed = np.full(n, 3.0)
    speed[5] = 200.0  # a corrupt field: not a runner's speed
    hr = np.full(n, 150)
    hr[7] = 254  # 254 bpm: out of range
    fit = write_watch(tmp_path / "w.fit", t, speed=speed, hr=hr, cadence_spm=np.full(n, 170.0))
    w = read_fit(fit)
    assert np.isnan(w.speed_mps[5]) and np.isnan(w.heart_rate_bpm[7])
    assert np.nanmax(w.speed_mps) == pytest.approx(3.0) and w.altitude_m is None
    assert np.allclose(w.cadence_spm, 170.0)  # strides + fractional strides, doubled
    monkeypatch.setattr(fit_watch, "MAX_RECORDS", 10)
    with pytest.raises(FitError, match="more than 10 records"):
        read_fit(fit)
    monkeypatch.setattr(fit_watch, "MAX_FILE_BYTES", 100)
    with pytest.raises(FitError, match="more than a watch activity"):
        read_fit(fit)


def test_a_ride_is_not_linked(tmp_path):
    enc = Encoder()
    enc.write_mesg({"mesg_num": 0, "type": "activity", "manufacturer": "development", "product": 1})
    for i in range(5):
        enc.write_mesg({"mesg_num": 20, "timestamp": START + i - 631_065_600, "cadence": 90})
    enc.write_mesg({"mesg_num": 18, "timestamp": START + 5 - 631_065_600, "sport": "cycling"})
    (tmp_path / "ride.fit").write_bytes(enc.close())
    with pytest.raises(FitError, match="a cycling activity, not a run"):
        read_fit(tmp_path / "ride.fit")


def test_export_carries_the_linked_columns(run, home, tmp_path):
    import pandas as pd

    t_unix, fields, _ = watch_of(run, 3.0)
    fit = write_watch(tmp_path / "watch.fit", t_unix, **fields)
    store, sid = _session(home)
    with store:
        link_session(store, sid, fit)
    assert main(["export", "--format", "csv", "--what", "steps", "--out", str(tmp_path / "out"), "-q"]) == 0
    (steps_csv,) = (tmp_path / "out").rglob("steps*.csv")
    table = pd.read_csv(steps_csv)
    assert {"speed_mps", "grade_pct", "heart_rate_bpm"} <= set(table.columns)
    assert table["speed_mps"].notna().mean() > 0.9


def test_forget_takes_the_watch_file_with_the_session(run, tmp_path, monkeypatch, capsys):
    """A runner's data leaves with the session: the linked watch file goes to the quarantine with the
    raw file, and `--purge` deletes both; a watch file another session still links stays."""
    home = tmp_path / "home3"
    monkeypatch.setenv(HOME_ENV, str(home))
    t_unix, fields, _ = watch_of(run, 5.0)
    fit = write_watch(tmp_path / "w.fit", t_unix, **fields)
    for name in ("a.hsn", "b.hsn", "c.hsn"):  # three sessions, the same run at three start times
        start = START + 86400 * ("abc".index(name[0]))
        path = run.write_device_file(tmp_path / name, start_time_unix=start)
        assert main(["import", str(path), "--runner", "ana", "-q"]) == 0
    with Store(home, create=False) as store:
        a, b, c = (int(i) for i in store.sessions().sort_values("start_time")["id"])
    assert main(["link", str(a), str(fit), "-q"]) == 0
    (kept,) = [p for p in (home / "watch").rglob("*") if p.is_file()]
    # The same watch file linked to b as well (as if the runner had linked it twice): it stays for b.
    with Store(home, create=False) as store:
        store.db.execute(
            "INSERT INTO watch_links SELECT ?, fit_sha256, original_name, offset_s, confidence, method, "
            "linked_at, summary FROM watch_links WHERE session_id = ?",
            (b, a),
        )
        store.db.commit()
    capsys.readouterr()
    assert main(["forget", str(a)]) == 0
    assert "its watch file" not in capsys.readouterr().out and kept.is_file()
    assert main(["forget", str(b)]) == 0
    out = capsys.readouterr().out
    assert "its watch file is in " in out and not kept.exists()
    assert sorted(p.suffix for p in (home / "quarantine").iterdir()) == [".fit", ".hsn", ".hsn"]
    # Purge: linked again to c, then forgotten with --purge: nothing of it is left anywhere.
    fit_c = write_watch(tmp_path / "c.fit", t_unix + 2 * 86400, **fields)
    assert main(["link", str(c), str(fit_c), "-q"]) == 0
    assert main(["forget", str(c), "--purge"]) == 0
    assert capsys.readouterr().out.strip().endswith("its raw file was deleted; its watch file was deleted")
    assert not any(p.is_file() for p in (home / "watch").rglob("*"))
    # A watch file no session links (left by an older forget, or put there by hand): doctor moves it.
    stray = home / "watch" / "ab" / ("c" * 62)
    stray.parent.mkdir(exist_ok=True)
    stray.write_bytes(fit.read_bytes())
    assert main(["doctor", "--dry-run"]) != 0 and stray.is_file()
    assert "1 found" in capsys.readouterr().out
    main(["doctor"])
    assert not stray.exists() and (home / "quarantine" / ("ab" + "c" * 62 + ".fit")).is_file()


def test_a_forged_file_name_in_the_store_never_points_outside_it(tmp_path):
    """Content-addressed paths come from database rows: a row that is not a sha256 (a damaged or forged
    store) names nothing, and never a file outside the store's folders."""
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    with Store(tmp_path / "home4") as store:
        for bad in ("../../precious.txt", "/" + str(outside), str(outside), "ab", "", "AB" * 32, None):
            for place in (store.raw_path(bad), store.watch_path(bad)):
                assert place.resolve().is_relative_to(store.root.resolve()), (bad, place)
                assert not place.exists()
        good = "0123456789abcdef" * 4
        assert store.watch_path(good) == store.root / "watch" / good[:2] / good[2:]
    assert outside.read_text() == "keep me"


def test_a_watch_of_another_run_links_no_values(run, home, tmp_path, capsys):
    # The intervals in the opposite order: the same speeds, another run. No offset is trusted, so no
    # step gets a value; the command says why and exits 1 (red-team p14 G1: values a minute off before).
    t_unix, fields, _ = watch_of(run, 0.0)
    fields = {k: v[::-1] for k, v in fields.items()}
    fields["distance"] = fields["distance"][::-1]  # distance still grows along the watch's records
    fit = write_watch(tmp_path / "other.fit", t_unix, **fields)
    store, sid = _session(home)
    store.close()
    capsys.readouterr()
    assert main(["link", str(sid), str(fit)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "but linked no values:" in out and "steps have speed" not in out
    with Store(home, create=False) as store:
        steps = store.steps(sid)
    assert steps[["speed_mps", "grade_pct", "heart_rate_bpm"]].isna().all().all()


def test_bout_table_counts_the_steps_its_figures_rest_on(run, home, tmp_path, capsys):
    t_unix, fields, _ = watch_of(run, 4.0)
    half = len(t_unix) // 2  # the watch stopped recording halfway (red-team p14 G11)
    fit = write_watch(tmp_path / "half.fit", t_unix[:half], **{k: v[:half] for k, v in fields.items()})
    store, sid = _session(home)
    with store:
        result = link_session(store, sid, fit)
    bouts = result.bouts
    assert bouts["linked_steps"].sum() == result.linked_steps < bouts["steps"].sum()
    assert main(["link", str(sid), str(fit)]) == 0
    assert "with watch" in capsys.readouterr().out
