"""`hipsense export`: tables that read back unchanged, a schema that matches them, pseudonymisation."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hipsense import metrics as registry
from hipsense.cli import main
from hipsense.export import export_store, read_table
from hipsense.export.pseudonym import Pseudonymizer
from hipsense.export.schema import EXPORT_TABLES, data_dictionary_markdown
from hipsense.formats.load import load_recording
from hipsense.library import import_files
from hipsense.sim import Segment, scenarios, simulate_run
from hipsense.store import HOME_ENV, Store
from hipsense.trends.model import Flag

ROOT = Path(__file__).resolve().parents[2]
ANA, BEN, DEVICE = "anna-lindqvist", "ben-okafor", "clip-0042"
JAN1, JAN8 = 1_735_689_600, 1_735_689_600 + 7 * 86400 + 3600  # 2025-01-01 00:00 and 2025-01-08 01:00 UTC


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("recordings")
    simulate_run(scenarios.steady_run(duration_s=20, seed=3)).write_device_file(
        d / "monday-run.hsn", device_id=DEVICE, start_time_unix=JAN1
    )
    simulate_run(scenarios.steady_run(duration_s=20, seed=4)).write_device_file(
        d / "tuesday-run.hsn", device_id=DEVICE, start_time_unix=JAN8
    )
    walking = scenarios.steady_run(duration_s=15, seed=5, segments=(Segment("walk", None),))
    simulate_run(walking).write_device_file(d / "walking.hsn", device_id=DEVICE, start_time_unix=JAN8 + 600)
    simulate_run(scenarios.steady_run(duration_s=20, seed=6)).write_csv(d / "ben.csv")
    st = Store(d / "home")
    import_files(st, [d / "monday-run.hsn", d / "tuesday-run.hsn", d / "walking.hsn"], runner=ANA)
    import_files(st, [d / "ben.csv"], runner=BEN)
    yield st
    st.close()


def flags() -> list[Flag]:
    return [
        Flag(
            "load_spike",
            "watch",
            ANA,
            dt.date(2025, 1, 6),
            dt.date(2025, 1, 8),
            f"{ANA}'s load in the week from 6 Jan (to 2025-01-08) is 1.6 times the usual",
            "Many runners ease off for a few days.",
            {"acwr": 1.62, "threshold": 1.5},
            "Gabbett 2016",
            None,
            2,
        ),
        Flag(
            "asymmetry_drift",
            "info",
            BEN,
            dt.date(2025, 1, 1),
            dt.date(2025, 1, 1),
            "Contact time asymmetry moved away from the baseline",
            "Keep an eye on it.",
            {"ai": 3.1},
            "own baseline",
            "contact_time_s",
        ),
    ]


@pytest.fixture(scope="module")
def exports(store, tmp_path_factory):
    d = tmp_path_factory.mktemp("exports")
    return {fmt: export_store(store, d / fmt, fmt=fmt, flags=flags()).out for fmt in ("csv", "parquet")}


def test_tables_read_back_with_the_same_values_and_dtypes(exports):
    for name in EXPORT_TABLES:
        from_parquet = read_table(exports["parquet"], name)
        plain = pd.read_parquet(exports["parquet"] / f"{name}.parquet") if name != "raw" else None
        if plain is not None:  # plain pandas needs no help with Parquet
            pd.testing.assert_frame_equal(plain, from_parquet)
        from_csv = read_table(exports["csv"], name)
        # CSV cells carry each registered metric to its declared precision, Parquet every digit.
        pd.testing.assert_frame_equal(from_csv, registry.rounded(from_parquet), check_exact=False, atol=1e-12)
        assert {c: str(t) for c, t in from_parquet.dtypes.items()} == EXPORT_TABLES[name].dtypes


def test_every_session_has_its_sample_rate(exports):
    """sessions.csv had sample_rate_hz empty for CSV imports (issue 14): every input's clock is measured."""
    sessions = read_table(exports["csv"], "sessions")
    ok = sessions[sessions["status"] == "ok"]
    assert (ok["kind"] == "csv").any() and ok["sample_rate_hz"].notna().all()


def test_csv_numbers_carry_the_registry_precision_and_no_float_noise(exports):
    text = (exports["csv"] / "steps.csv").read_text()
    steps = read_table(exports["csv"], "steps")
    for metric in registry.measured():
        if metric.name in steps and metric.dtype == "float64":
            x = steps[metric.name].dropna().to_numpy()
            np.testing.assert_array_equal(x, np.round(x, metric.precision))
    assert "0000000000" not in text and "9999999999" not in text


def test_values_are_those_of_the_store(store, exports):
    steps = read_table(exports["csv"], "steps")
    sessions = read_table(exports["csv"], "sessions").set_index("session_id")
    for sid in store.sessions()["id"]:
        mine = steps[steps["session_id"] == sid].reset_index(drop=True)
        theirs = store.steps(sid)
        assert len(mine) == len(theirs)
        for col in ("ic_s", "contact_time_s", "impact_g", "pelvic_drop_deg"):
            precision = registry.get(col).precision
            np.testing.assert_array_equal(
                mine[col].to_numpy(float), theirs[col].to_numpy(float).round(precision)
            )
        summary = store.summary(sid)
        if summary is None:
            assert sessions.loc[sid, "status"] == "error" and "no running" in sessions.loc[sid, "error"]
            continue
        if summary["cadence_spm"] is None:  # no running in it (the walk): empty, not zero
            assert pd.isna(sessions.loc[sid, "cadence_spm"])
            continue
        assert sessions.loc[sid, "cadence_spm"] == round(
            summary["cadence_spm"], registry.get("cadence_spm").precision
        )
        contact = next(s for s in summary["sides"] if s["metric"] == "contact_time_s")
        assert sessions.loc[sid, "contact_time_s_asymmetry_pct"] == contact["asymmetry_pct"]
        assert sessions.loc[sid, "contact_time_s_n_left"] == contact["n_left"]
    assert sessions["device_id"].dropna().unique().tolist() == [DEVICE]
    assert sessions["start_time"].dropna().min() == pd.Timestamp(JAN1, unit="s", tz="UTC")


def test_raw_samples_in_both_frames(store, exports):
    sid = int(store.sessions()["id"].iloc[0])
    raw = read_table(exports["parquet"], "raw", session_id=sid)
    sha = store.sessions().set_index("id").loc[sid, "sha256"]
    recording = load_recording(store.raw_path(sha))
    # the recorded float32 samples exactly, written as their shortest decimals (red-team p13 F19)
    np.testing.assert_array_equal(raw["acc_y"].astype(np.float32), recording.data["acc_y"])
    np.testing.assert_array_equal(raw["t_s"], recording.data["t_s"])
    r = np.array(store.summary(sid)["alignment"]["r_body_from_sensor"])
    rotated = raw[["gyr_x", "gyr_y", "gyr_z"]].to_numpy() @ r[2]  # to float32's precision
    np.testing.assert_allclose(raw["gyr_pa"], rotated, rtol=1e-6, atol=1e-5)
    # running upright: the body frame's vertical axis carries gravity on average
    assert 9.0 < raw["acc_is"].mean() < 10.6
    assert not raw["filled"].any()


def test_walking_is_kept_apart_in_the_sessions_table(store, exports):
    """The walk's own time, steps, cadence and per-foot medians (issue 15): a walking-only session is not
    a session of 0 steps, and a run without walking has 0 walking steps in 0 s (red-team p13 F2: the
    count was empty beside a time of 0) and no walking cadence."""
    sessions = read_table(exports["csv"], "sessions").set_index("original_name")
    walk, run = sessions.loc["walking.hsn"], sessions.loc["monday-run.hsn"]
    summary = store.summary(int(walk["session_id"]))
    assert walk["steps"] == 0 and walk["walking_steps"] == summary["walking"]["steps"] > 15
    assert (
        walk["walking_time_s"] == pytest.approx(summary["walking_time_s"], abs=0.01)
        and walk["walking_time_s"] > 10
    )
    assert 80 < walk["walking_cadence_spm"] < 140
    assert walk["walking_contact_time_s_left"] > 0 and walk["walking_contact_time_s_right"] > 0
    assert run["walking_time_s"] == 0 and run["walking_steps"] == 0 and pd.isna(run["walking_cadence_spm"])


def test_schema_file_matches_the_columns(exports):
    for fmt, folder in exports.items():
        schema = json.loads((folder / "schema.json").read_text())["tables"]
        assert set(schema) == set(EXPORT_TABLES)
        for name, spec in schema.items():
            files = sorted((folder / "raw").iterdir()) if name == "raw" else [folder / f"{name}.{fmt}"]
            for f in files:
                df = pd.read_parquet(f) if fmt == "parquet" else pd.read_csv(f, nrows=1)
                assert list(df.columns) == list(spec["columns"]), (name, f)
                assert all(spec["columns"][c]["unit"] and spec["columns"][c]["meaning"] for c in df.columns)


def test_data_dictionary_is_generated_from_the_schema():
    committed = (ROOT / "docs" / "data-dictionary.md").read_text()
    assert committed == data_dictionary_markdown(), (
        "regenerate: python -m hipsense.export docs/data-dictionary.md"
    )


def test_flags_table(exports):
    table = read_table(exports["parquet"], "flags")
    assert table["kind"].tolist() == ["load_spike", "asymmetry_drift"]
    assert table["period_start"].iloc[0] == pd.Timestamp("2025-01-06")
    assert json.loads(table["numbers"].iloc[0]) == {"acwr": 1.62, "threshold": 1.5}
    assert table["session_id"].iloc[0] == 2 and pd.isna(table["session_id"].iloc[1])
    assert pd.isna(table["metric"].iloc[0]) and table["metric"].iloc[1] == "contact_time_s"


def _all_text(folder: Path) -> str:
    """Every text file of an export (CSV tables, schema.json, README.md)."""
    return "\n".join(p.read_text() for p in sorted(folder.rglob("*")) if p.suffix in (".csv", ".json", ".md"))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_pseudonymised_export_holds_no_name_device_or_date(store, tmp_path, fmt):
    out = export_store(store, tmp_path / "p", fmt=fmt, flags=flags(), pseudonymize=True).out
    tables = {name: read_table(out, name) for name in EXPORT_TABLES}
    cells = "\n".join(df.astype(str).to_csv(index=False) for df in tables.values())
    text = cells + _all_text(out)
    for secret in (
        ANA,
        BEN,
        DEVICE,
        "monday-run",
        "tuesday-run",
        "walking.hsn",
        "ben.csv",
        "2025-01-0",
        "2024-12",
    ):
        assert secret not in text, secret
    assert "device_id" not in tables["sessions"] and "original_name" not in tables["sessions"]
    # An error message keeps its sense, not the file name or device (the analysis now reports a walk as
    # a session without running, so no stored session has an error message: checked on a row directly).
    row = pd.DataFrame({"runner": [ANA], "error": pd.array([f"walking.hsn: no running found on {DEVICE}"])})
    names = Pseudonymizer([ANA], device_ids=pd.Series([DEVICE]), file_names=pd.Series(["walking.hsn"]))
    assert names.frame(row)["error"].tolist() == ["[file]: no running found on [device]"]
    readme = (out / "README.md").read_text()
    assert "pseudonymised" in readme and "device_id" in readme and "weeks" in readme

    sessions = tables["sessions"]
    assert sorted(sessions["runner"].unique()) == ["runner-01", "runner-02"]
    ana = sessions.dropna(subset=["start_time"]).sort_values("start_time")
    assert ana["runner"].nunique() == 1
    starts = ana["start_time"].tolist()
    # intervals, weekday and time of day kept; the calendar moved by whole weeks into the past
    assert [t - starts[0] for t in starts] == [
        pd.Timedelta(0),
        pd.Timedelta(days=7, hours=1),
        pd.Timedelta(days=7, hours=1, minutes=10),
    ]
    shift = starts[0] - pd.Timestamp(JAN1, unit="s", tz="UTC")
    assert shift < -pd.Timedelta(days=300) and shift % pd.Timedelta(weeks=1) == pd.Timedelta(0)
    flag = tables["flags"].set_index("kind").loc["load_spike"]
    assert flag["runner"] == ana["runner"].iloc[0]
    assert flag["period_start"] == pd.Timestamp("2025-01-06") + shift  # the runner's own offset
    assert (pd.Timestamp("2025-01-08") + shift).strftime("%Y-%m-%d") in flag["sentence"]
    monday = pd.Timestamp("2025-01-06") + shift  # the trends engine writes dates as "6 Jan" too
    assert f"week from {monday.day} {monday:%b} (to" in flag["sentence"] and not re.search(
        r"\b6 Jan", flag["sentence"]
    )
    assert ana["runner"].iloc[0] in flag["sentence"]


def test_selection_by_runner_and_date(store, tmp_path):
    out = export_store(
        store, tmp_path / "ana", fmt="csv", runner=ANA, what=("sessions", "flags"), flags=flags()
    ).out
    assert set(read_table(out, "sessions")["runner"]) == {ANA}
    assert set(read_table(out, "flags")["runner"]) == {ANA}
    assert not (out / "steps.csv").exists() and not (out / "raw").exists()
    since = pd.Timestamp("2025-01-05", tz="UTC")
    out = export_store(store, tmp_path / "late", fmt="csv", runner=ANA, since=since, what=("sessions",)).out
    assert (read_table(out, "sessions")["start_time"] >= since).all()
    assert len(read_table(out, "sessions")) == 2


def test_cli_export(store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(store.root))
    out = tmp_path / "cli"
    args = [
        "export",
        "--out",
        str(out),
        "--format",
        "csv",
        "--what",
        "steps,sessions",
        "--since",
        "2025-01-01",
    ]
    assert main(args) == 0
    printed = capsys.readouterr()
    # ben.csv has no start time: not "from 2025-01-01 on" (red-team p13 F20), and said so
    assert re.search(r"exported 3 sessions .*steps \d+ rows, sessions 3 rows", printed.out.replace("\n", ""))
    assert "left out 1 session without a start time" in printed.err
    assert main(args) == 2  # never written into an existing export
    assert "not an empty folder" in capsys.readouterr().err
    assert main(["export", "--out", str(out / "README.md")]) == 2  # a file given for the folder
    assert "README.md: is a file, not a folder" in capsys.readouterr().err
    assert main(["export", "--out", str(tmp_path / "x"), "--what", "steps,shoes"]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["export", "--out", str(tmp_path / "y"), "--since", "last tuesday"]) == 2
    assert "--since" in capsys.readouterr().err
    assert main(["export", "--out", str(tmp_path / "z"), "--runner", "nobody"]) == 2
    assert "no runner 'nobody'" in capsys.readouterr().err


def test_cli_export_by_default_writes_every_table_it_can(store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(store.root))
    assert main(["export", "--out", str(tmp_path / "all")]) == 0
    written = set(json.loads((tmp_path / "all" / "schema.json").read_text())["tables"])
    assert written == {"raw", "steps", "sessions", "flags"}
    assert set(read_table(tmp_path / "all", "flags")["runner"]) <= {ANA, BEN}


#: Text from outside (a clip's name, a file name, a runner's name, a flag's sentence) that a spreadsheet
#: would run as a formula when it opens a CSV.
HOSTILE = {
    "device": "=HYPERLINK(1)",
    "file": "+cmd.hsn",
    "runner": "@SUM(A1)",
    "sentence": "-2+3 spikes",
    "advice": "\t=1+1",
    "reference": "'=already quoted",
}
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def hostile_exports(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    path = d / HOSTILE["file"]
    simulate_run(scenarios.steady_run(duration_s=20, seed=7)).write_device_file(
        path, device_id=HOSTILE["device"], start_time_unix=JAN1
    )
    with Store(d / "home") as st:
        import_files(st, [path], runner=HOSTILE["runner"])
        flag = Flag(
            "load_spike",
            "watch",
            HOSTILE["runner"],
            dt.date(2025, 1, 1),
            dt.date(2025, 1, 1),
            HOSTILE["sentence"],
            HOSTILE["advice"],
            {"acwr": -1.5},
            HOSTILE["reference"],
            None,
        )
        return {fmt: export_store(st, d / fmt, fmt=fmt, flags=[flag]).out for fmt in ("csv", "parquet")}


def _csv_cells(folder: Path):
    import csv

    for path in sorted(folder.rglob("*.csv")):
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        table = "raw" if path.parent.name == "raw" else path.stem
        header = rows[0]
        for row in rows[1:]:
            yield from ((table, header[i], cell) for i, cell in enumerate(row))


def test_csv_cells_never_start_a_formula(hostile_exports):
    text_columns = {
        name: {c.name for c in table.columns if c.dtype == "string"} for name, table in EXPORT_TABLES.items()
    }
    cells = list(_csv_cells(hostile_exports["csv"]))
    text = [(t, c, v) for t, c, v in cells if c in text_columns[t]]
    assert text, "no text cells in the CSV export"
    assert [v for _, _, v in text if v.startswith(TRIGGERS)] == []
    for value in (HOSTILE["device"], HOSTILE["file"], HOSTILE["runner"], HOSTILE["sentence"]):
        assert "'" + value in [v for _, _, v in text]
    assert "''=already quoted" in [v for _, _, v in text]
    # numbers are not formulas: negative samples are written as they are
    assert any(t == "raw" and c.startswith(("acc_", "gyr_")) and v.startswith("-") for t, c, v in cells)


def test_parquet_keeps_the_text_and_csv_reads_back_the_same(hostile_exports):
    for name in ("sessions", "flags"):
        from_parquet = read_table(hostile_exports["parquet"], name)
        pd.testing.assert_frame_equal(read_table(hostile_exports["csv"], name), from_parquet)
    sessions = read_table(hostile_exports["parquet"], "sessions")
    assert sessions["device_id"].tolist() == [HOSTILE["device"]]
    assert sessions["original_name"].tolist() == [HOSTILE["file"]]
    assert sessions["runner"].tolist() == [HOSTILE["runner"]]
    flags_table = read_table(hostile_exports["parquet"], "flags")
    assert flags_table["sentence"].tolist() == [HOSTILE["sentence"]]
    assert flags_table["reference"].tolist() == [HOSTILE["reference"]]


def test_batch_failures_csv_never_starts_a_formula(tmp_path, monkeypatch):
    from hipsense.batch.run import run_batch

    monkeypatch.chdir(tmp_path)
    (tmp_path / "=in").mkdir()
    (tmp_path / "=in" / "broken.hsn").write_bytes(b"HSNS" + bytes(40))
    report = run_batch(["=in"], tmp_path / "out", workers=1)
    assert len(report.failed) == 1 and str(report.failed[0][0]).startswith("=")
    cells = [v for _, _, v in _csv_cells(tmp_path / "out")]
    assert cells and [v for v in cells if v.startswith(TRIGGERS)] == []


def test_no_drawn_date_offset_keeps_a_dates_day_and_month():
    # 313 weeks is 6 years to the day: a runner given it kept every date's day and month (a random
    # CI run drew it, about 1 runner in 230). No offset drawn now moves a date by less than about
    # two weeks of the calendar, whatever the date (every day of 2015-2034 checked).
    from hipsense.export.pseudonym import WEEKS

    days = pd.date_range("2015-01-01", "2034-12-31", freq="D")
    day_of_month = days.month * 100 + days.day

    def kept(weeks: int) -> bool:
        moved = days - pd.Timedelta(weeks=weeks)
        return bool(((moved.month * 100 + moved.day) == day_of_month).any())

    assert kept(313) and kept(261) and 313 not in WEEKS and 261 not in WEEKS
    assert not any(kept(w) for w in WEEKS)
    near = [w for w in WEEKS if min((7 * w) % 365.2425, 365.2425 - (7 * w) % 365.2425) < 12]
    assert near == [] and len(WEEKS) > 400  # the offsets drawn are still many
