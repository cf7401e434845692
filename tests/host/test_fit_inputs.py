"""Watch files as other watches and other days write them (red-team p14 G6-G13).

A treadmill run (its altitude is the room's), a brick (a ride, then the run), a clock corrected mid-run,
compressed timestamp headers, a file of millions of records, a watch set an hour off, a flat stretch of
a few steps. Files written with garmin-fit-sdk's Encoder, or byte by byte where the Encoder cannot
write the case; the store is real (a tmp folder) and the commands are the CLI's.
"""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest
from garmin_fit_sdk.crc_calculator import CrcCalculator

from hipsense.cli import main
from hipsense.export import read_table
from hipsense.formats import fit_watch
from hipsense.formats.fit_watch import FIT_EPOCH_UNIX, FitError, read_fit
from hipsense.link import flat_summary
from hipsense.sim import scenarios, simulate_run
from hipsense.store_open import HOME_ENV
from tests.host.test_fit_link import START, write_watch


def _fit_time(t: float) -> int:
    return int(t) - FIT_EPOCH_UNIX


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A stored 60-s run (session 1) and its device file."""
    folder = tmp_path_factory.mktemp("clip")
    path = simulate_run(scenarios.steady_run(60.0, seed=3)).write_device_file(folder / "run.hsn")
    mp = pytest.MonkeyPatch()
    mp.setenv(HOME_ENV, str(folder / "home"))
    assert main(["import", "-q", str(path)]) == 0
    yield path
    mp.undo()


def _watch_of_clip(path, offset_s: float = 0.0, **kw):
    t = np.arange(START + offset_s, START + offset_s + 60)
    return write_watch(
        path, t, distance=3.3 * (t - t[0]), speed=np.full(60, 3.3), cadence_spm=np.full(60, 166.0), **kw
    )


def test_a_treadmill_run_has_no_grade(clip, tmp_path, capsys):
    sessions = [("running", "treadmill", START, START + 60)]
    fit = _watch_of_clip(tmp_path / "tm.fit", altitude=np.full(60, 250.0), sessions=sessions)
    w = read_fit(fit)
    assert w.indoor and w.altitude_m is None and "indoor activity (treadmill)" in w.notes[0]
    capsys.readouterr()
    assert main(["link", "1", str(fit)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "the grade is unknown" in out
    assert main(["export", "-q", "--what", "steps", "--out", str(tmp_path / "x")]) == 0
    steps = read_table(tmp_path / "x", "steps")
    assert steps["grade_pct"].isna().all() and steps["speed_mps"].notna().any()


def test_a_brick_links_its_run(tmp_path):
    t = np.arange(START - 600, START + 60)  # a 10-minute ride, then the minute of running
    sessions = [("cycling", "road", START - 600, START - 1), ("running", "street", START, START + 59)]
    fit = write_watch(tmp_path / "brick.fit", t, distance=3.0 * (t - t[0]), sessions=sessions)
    w = read_fit(fit)
    assert w.sport == "running" and w.time_unix[0] == START and len(w) == 60
    assert "multisport" in w.notes[0] and "600 records of its other parts left out" in w.notes[0]
    ride = write_watch(tmp_path / "ride.fit", t, sessions=[("cycling", "road", START - 600, START + 59)])
    with pytest.raises(FitError, match="a cycling activity, not a run"):
        read_fit(ride)


def test_a_clock_correction_is_undone_and_a_repeat_is_not(tmp_path):
    t = np.arange(START, START + 100, dtype=float)
    t[50:] -= 30.0  # a GPS fix at record 50 sets the clock back 30 s; the run goes on
    fit = write_watch(tmp_path / "step.fit", t, distance=3.0 * np.arange(100))
    w = read_fit(fit)
    assert len(w) == 100 and np.all(np.diff(w.time_unix) == 1.0)  # none lost to the overlap
    assert w.time_unix[0] == START - 30 and "clock stepped back (30 s)" in w.notes[0]
    # Records 40-49 written again (same times, same distances): a repeat, not a clock step.
    idx = np.r_[np.arange(50), np.arange(40, 50), np.arange(50, 60)]
    fit = write_watch(tmp_path / "repeat.fit", START + idx.astype(float), distance=3.0 * idx)
    w = read_fit(fit)
    assert len(w) == 60 and w.time_unix[0] == START and w.notes == ()


def _raw_fit(body: bytes) -> bytes:
    """A FIT file around ``body``: 14-byte header with its CRC, then the file's CRC."""
    head = struct.pack("<BBHI4s", 14, 0x20, 2132, len(body), b".FIT")
    head += struct.pack("<H", CrcCalculator.calculate_crc(head, 0, len(head)))
    return head + body + struct.pack("<H", CrcCalculator.calculate_crc(head + body, 0, len(head) + len(body)))


def test_compressed_timestamp_headers_are_named_not_called_damage(tmp_path, capsys):
    t0 = _fit_time(START)
    # file_id (local 0), a record with a full timestamp (local 1), then records whose headers carry
    # the time's 5 low bits (local 2: compressed timestamp headers, FIT protocol 4.1)
    body = struct.pack("<BBBHBBBB", 0x40, 0, 0, 0, 1, 0, 1, 0x00) + struct.pack("<BB", 0, 4)
    body += struct.pack("<BBBHB", 0x41, 0, 0, 20, 2) + struct.pack("<BBBBBB", 253, 4, 0x86, 4, 1, 0x02)
    body += struct.pack("<BIB", 1, t0, 85)
    body += struct.pack("<BBBHB", 0x42, 0, 0, 20, 1) + struct.pack("<BBB", 4, 1, 0x02)
    for i in range(1, 60):
        body += struct.pack("<BB", 0x80 | (2 << 5) | ((t0 + i) & 0x1F), 85)
    (tmp_path / "c.fit").write_bytes(_raw_fit(body))
    with pytest.raises(FitError, match="compressed timestamp headers") as e:
        read_fit(tmp_path / "c.fit")
    assert "damaged" not in str(e.value)


def test_records_beyond_the_cap_stop_the_decoder(tmp_path, monkeypatch):
    fit = write_watch(tmp_path / "w.fit", np.arange(START, START + 40))
    seen: list[int] = []
    budget = fit_watch._budget

    def counting():
        spend = budget()

        def listen(mesg_num, message):
            seen.append(mesg_num)
            spend(mesg_num, message)

        return listen

    monkeypatch.setattr(fit_watch, "_budget", counting)
    monkeypatch.setattr(fit_watch, "MAX_RECORDS", 10)
    with pytest.raises(FitError, match="more than 10 records"):
        read_fit(fit)
    assert seen.count(fit_watch.RECORD_MESG) == 11  # stopped at the first record too many


def test_import_with_fit_decodes_the_watch_once(clip, tmp_path, monkeypatch):
    calls = []
    decode = fit_watch.decode_fit
    monkeypatch.setattr(fit_watch, "decode_fit", lambda *a, **k: calls.append(1) or decode(*a, **k))
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert main(["import", "-q", str(clip), "--fit", str(_watch_of_clip(tmp_path / "w.fit"))]) == 0
    assert len(calls) == 1


def test_a_watch_an_hour_off_is_said_to_look_like_a_time_zone(clip, tmp_path, capsys):
    capsys.readouterr()
    assert main(["link", "1", str(_watch_of_clip(tmp_path / "tz.fit", offset_s=3600.0 + 4))]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "does not overlap" in err and "1 h 00 min apart, as a time zone would make them" in err
    assert main(["link", "1", str(_watch_of_clip(tmp_path / "day.fit", offset_s=86400.0))]) == 2
    assert "time zone" not in capsys.readouterr().err  # a day apart: another run, not a zone


def test_flat_asymmetry_needs_steps_a_side():
    def steps(n_left: int, n_right: int) -> pd.DataFrame:
        n = n_left + n_right
        return pd.DataFrame(
            {
                "activity": ["run"] * n,
                "side": ["L"] * n_left + ["R"] * n_right,
                "contact_time_s": [0.22] * n_left + [0.21] * n_right,
                "grade_pct": [0.0] * n,
                "speed_mps": [3.3] * n,
                "cadence_spm": [170.0] * n,
            }
        )

    few = flat_summary(steps(3, 4))
    assert np.isnan(few["contact_time_ai"]) and few["steps_L"] == 3 and few["steps_R"] == 4
    assert few["contact_time_s_L"] == pytest.approx(0.22)  # the medians are still shown
    assert flat_summary(steps(6, 6))["contact_time_ai"] == pytest.approx(100 * 0.01 / 0.215)
