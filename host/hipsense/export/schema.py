"""The export schema: every table and column hipsense writes for research, defined once.

``docs/data-dictionary.md`` is generated from this module (``python -m hipsense.export
docs/data-dictionary.md``; a test checks that the committed file is up to date), and every export and
batch output carries the same definitions as ``schema.json``. Writers select and cast their frames
through :func:`conform`, so a file can hold no column the schema does not describe.

dtypes are pandas dtype names: ``int64``, ``Int64`` (nullable integer), ``float64`` (NaN = not
measured), ``boolean`` (nullable), ``string``, ``datetime64[ns, UTC]`` (an instant) and
``datetime64[ns]`` (a calendar day, time 00:00).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from hipsense import metrics as registry
from hipsense.conventions import BODY_COLUMNS, SENSOR_COLUMNS
from hipsense.export.pseudonym import MAX_WEEKS, MIN_WEEKS

#: Version of the schema itself; bump when a column changes meaning, type or name.
SCHEMA_VERSION = "1"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    unit: str
    meaning: str


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def dtypes(self) -> dict[str, str]:
        return {c.name: c.dtype for c in self.columns}


# -- building blocks -------------------------------------------------------------------------------


def step_metrics() -> dict[str, tuple[str, str, str]]:
    """Per-step columns from the registry (:mod:`hipsense.metrics`): ``name -> (dtype, unit, meaning)``;
    definitions and papers in docs/metrics.md."""
    return {x.name: (x.dtype, x.unit, x.description) for x in registry.all_metrics()}


#: Per side of a session, for every sided metric M (see gait/summary.py SideComparison).
SIDE_FIELDS: dict[str, tuple[str, str | None, str]] = {
    "left": ("float64", None, "median over left-foot steps"),
    "right": ("float64", None, "median over right-foot steps"),
    "asymmetry_pct": ("float64", "%", "asymmetry index 100 (L - R) / ((L + R) / 2)"),
    "ci_low_pct": ("float64", "%", "lower end of the asymmetry index's 95 % block-bootstrap interval"),
    "ci_high_pct": ("float64", "%", "upper end of the asymmetry index's 95 % block-bootstrap interval"),
    "difference": ("float64", None, "left median minus right median"),
    "diff_ci_low": ("float64", None, "lower end of the difference's 95 % interval"),
    "diff_ci_high": ("float64", None, "upper end of the difference's 95 % interval"),
    "larger_than_noise": (
        "boolean",
        "-",
        "interval excludes 0 and the asymmetry exceeds the metric's noise floor; empty when not compared (sides unknown, a walk, fewer than 5 steps a side)",
    ),
    "n_left": ("Int64", "steps", "left-foot steps with a value"),
    "n_right": ("Int64", "steps", "right-foot steps with a value"),
}

DRIFT_FIELDS: dict[str, str] = {
    "early": "median over the first fifth of the running steps (mean of the two sides)",
    "late": "median over the last fifth of the running steps (mean of the two sides)",
    "change": "late - early",
}

#: Data quality figures copied from the summary's ``quality`` (absent ones are empty).
QUALITY_FIELDS: dict[str, tuple[str, str, str]] = {
    "alignment_confidence": (
        "float64",
        "0-1",
        "confidence of the estimated mounting (1 for body-frame input)",
    ),
    "side_source": (
        "string",
        "text",
        "what told left from right: gyroscope, acc_ml (walking), given (--first-side) or unknown",
    ),
    "doubtful_step_share": (
        "float64",
        "0-1",
        "share of steps whose quality note puts a value in doubt (no toe-off found, gap in the data, side inferred from neighbours); values missing by design (no gyroscope, last step of a bout) do not count",
    ),
    "sample_rate_hz": (
        "float64",
        "Hz",
        "sampling rate used by the analysis (measured from the clip's clock when possible)",
    ),
    "nominal_rate_hz": (
        "float64",
        "Hz",
        "the rate the input claims: the device file header's, or the --sample-rate given for a CSV without times",
    ),
    "missing_samples": (
        "Int64",
        "samples",
        "samples the recording's clock says were lost, in gaps and in filled holes",
    ),
    "filled_samples": (
        "Int64",
        "samples",
        "samples filled by linear interpolation across short holes (dropped rows, empty cells, lost blocks)",
    ),
    "nan_cells": (
        "Int64",
        "cells",
        "empty or non-numeric cells in a CSV (each made its sample a filled hole)",
    ),
    "overflow_lost": ("Int64", "samples", "samples the IMU FIFO overflowed and lost (device files only)"),
    "corrupt_blocks": ("Int64", "blocks", "device file blocks that failed their checks and were skipped"),
    "clipped_share": ("float64", "0-1", "share of samples at the sensor's full scale (device files only)"),
}

BODY_AXES = ("is", "ml", "pa")
SENSOR_AXES = ("x", "y", "z")


def _metric_unit(metric: str) -> str:
    return registry.get(metric).unit


def summary_columns() -> tuple[Column, ...]:
    """The flattened session summary (``SessionSummary.to_dict()``), keys left out."""
    cols = [
        Column("algorithm_version", "string", "-", "version of the analysis that made the derived numbers"),
        Column("duration_s", "float64", "s", "length of the recording"),
        Column("running_time_s", "float64", "s", "time in running bouts"),
        Column(
            "unclassified_time_s",
            "float64",
            "s",
            "time of movement judged neither running, walking nor standing (bouts 'unknown'): no steps "
            "analysed there (empty for sessions analysed before version 0.5.1)",
        ),
        Column("steps", "Int64", "steps", "running steps in the step table (activity run)"),
        Column("cadence_spm", "float64", "steps/min", "median cadence over the running steps"),
        Column("impact_load_g", "float64", "g x steps", "sum of impact_g over all running steps"),
    ]
    for m in (x.name for x in registry.sided()):
        for field, (dtype, unit, meaning) in SIDE_FIELDS.items():
            cols.append(Column(f"{m}_{field}", dtype, unit or _metric_unit(m), f"{m}: {meaning}"))
    for m in registry.drift_names():
        for field, meaning in DRIFT_FIELDS.items():
            cols.append(
                Column(f"{m}_drift_{field}", "float64", _metric_unit(m), f"{m} within the run: {meaning}")
            )
    cols += walking_columns()
    for q, (dtype, unit, meaning) in QUALITY_FIELDS.items():
        cols.append(Column(q, dtype, unit, meaning))
    for b in BODY_AXES:
        for s in SENSOR_AXES:
            cols.append(
                Column(
                    f"r_{b}_{s}",
                    "float64",
                    "-",
                    f"rotation sensor -> body frame, row {b}, column {s} (body = R @ sensor; empty for body-frame input)",
                )
            )
    return tuple(cols)


def walking_columns() -> list[Column]:
    """The walking steps' own figures (``summary["walking"]``, :func:`~hipsense.gait.summary.walking_summary`),
    each ``walking_<key>``: running and walking are kept apart."""
    cols = [
        Column(
            "walking_time_s",
            "float64",
            "s",
            "time in walking bouts (0 when none was found; empty when the session has no figures)",
        ),
        Column(
            "walking_steps",
            "Int64",
            "steps",
            "walking steps in the step table (activity walk; 0 when none were found, empty when the session has no figures)",
        ),
        Column(
            "walking_cadence_spm",
            "float64",
            "steps/min",
            "median cadence over the walking steps (empty when fewer than half of them have a step time)",
        ),
    ]
    for m in registry.sided("walk"):
        for side in ("left", "right"):
            cols.append(
                Column(
                    f"walking_{m.name}_{side}",
                    "float64",
                    m.unit,
                    f"{m.name}: median over {side}-foot walking steps (empty with fewer than 3 or sides unknown)",
                )
            )
    return cols


_SESSION_ID = Column("session_id", "int64", "-", "session number in the exporting store (joins the tables)")
_RUNNER = Column("runner", "string", "-", "runner's name in the store, or a pseudonym (runner-01, ...)")


def _raw_columns() -> tuple[Column, ...]:
    cols = [
        _SESSION_ID,
        Column("t_s", "float64", "s", "time from the session start, on the same clock as ic_s/to_s"),
        Column(
            "filled", "boolean", "-", "true where the device lost the sample and it was linearly interpolated"
        ),
    ]
    what = {"acc": ("m/s^2", "specific force along"), "gyr": ("deg/s", "angular rate about")}
    for frame, names in (("sensor", SENSOR_COLUMNS), ("body", BODY_COLUMNS)):
        for name in names:
            unit, quantity = what[name[:3]]
            axis = name[4:]
            cols.append(Column(name, "float64", unit, f"{quantity} the {frame} frame's {axis} axis"))
    return tuple(cols)


def _step_columns() -> tuple[Column, ...]:
    return tuple(Column(n, d, u, m) for n, (d, u, m) in step_metrics().items())


_START_TIME = Column(
    "start_time",
    "datetime64[ns, UTC]",
    "UTC",
    "start of the recording: the clip's clock, a CSV's UNIX-time t_s or its --start-time (empty when unknown)",
)
_KIND = Column("kind", "string", "-", "recording type: device (the clip's session file) or csv")
_DEVICE_ID = Column(
    "device_id", "string", "-", "the clip's id from the file header (export: removed by --pseudonymize)"
)
_STEP_NO = Column("step_no", "int64", "-", "step number within the session, from 0 in time order")

RAW = Table(
    "raw",
    "Samples as the analysis saw them, in SI units, in the sensor frame and rotated into the pelvis body "
    "frame (is up, ml right, pa forward; docs/conventions.md) with the session's estimated mounting (the "
    "rotation as stored in its summary, 6 decimals). One "
    "file per session. Sensor-frame columns are empty for body-frame CSV input, gyroscope columns when "
    "the recording has none. Every reader holds samples as float32 (about 7 significant digits): each "
    "value, in both frames, is the shortest decimal that reads back as the same float32 (a CSV's "
    "-4.17771 stays -4.17771), not float32's round-off digits.",
    _raw_columns(),
)
FLAGS = Table(
    "flags",
    "Observations worth a look over a runner's sessions (hipsense.trends.model.Flag). They inform; "
    "they are not a diagnosis.",
    (
        _RUNNER,
        Column(
            "kind",
            "string",
            "-",
            "load_spike, load_climb, asymmetry_drift, drop_rising or within_run_fatigue",
        ),
        Column("severity", "string", "-", "info, watch or alert (by the flag's own thresholds)"),
        Column("period_start", "datetime64[ns]", "date", "first day the flag covers"),
        Column("period_end", "datetime64[ns]", "date", "last day the flag covers (inclusive)"),
        Column("metric", "string", "-", "gait metric concerned (a step table column), when there is one"),
        Column("session_id", "Int64", "-", "the session that raised the flag, when it is about one session"),
        Column("sentence", "string", "text", "what changed, in plain words"),
        Column("advice", "string", "text", "what runners commonly do about it (informational)"),
        Column("numbers", "string", "JSON", "the figures behind the flag as a JSON object (name -> value)"),
        Column("reference", "string", "text", "source of the rule or threshold"),
    ),
)

_BATCH_KEYS = (
    Column(
        "runner", "string", "-", "sub-folder of the batch input the file was found in (see docs/batch.md)"
    ),
    Column(
        "session", "string", "-", "the file's path below the runner folder, '/' as '__' (see docs/batch.md)"
    ),
)


def _derived_tables() -> dict[str, Table]:
    """The tables whose columns come from the metric registry, built when asked for, so a metric added
    to the registry is in every export."""
    STEPS = Table(
        "steps",
        "One row per step, running and walking: `activity` says which (run or walk), and a session's "
        "`steps` in the sessions table counts its running steps, `walking_steps` its walking ones. Filter "
        "on `activity == 'run'` for running figures. `bout` numbers the session's activity bouts (standing, "
        "walking and running) in time order from 0 (docs/metrics.md, 'The step table').",
        (_SESSION_ID, _RUNNER, _STEP_NO, *_step_columns()),
    )
    SESSIONS = Table(
        "sessions",
        "One row per session: where it came from and its summary flattened (docs/metrics.md, 'The session "
        "summary'). Sessions the analysis could not use have status 'error' and empty figures.",
        (
            _SESSION_ID,
            _RUNNER,
            _START_TIME,
            _KIND,
            _DEVICE_ID,
            Column("original_name", "string", "-", "file name when imported (removed by --pseudonymize)"),
            Column("status", "string", "-", "ok, or error when the analysis could not use the recording"),
            Column("error", "string", "text", "why the analysis failed (empty when status is ok)"),
            *summary_columns(),
        ),
    )
    BATCH_STEPS = Table(
        "batch_steps",
        "`hipsense batch`: the step table of every recording (running and walking steps, as `steps`), "
        "partitioned by runner and session.",
        (*_BATCH_KEYS, _STEP_NO, *_step_columns()),
    )
    BATCH_SESSIONS = Table(
        "batch_sessions",
        "`hipsense batch`: one row per recording that could be analysed, partitioned by runner and session.",
        (
            *_BATCH_KEYS,
            Column("file", "string", "-", "the input file's path as given"),
            _KIND,
            _DEVICE_ID,
            _START_TIME,
            *summary_columns(),
        ),
    )
    return {
        "STEPS": STEPS,
        "SESSIONS": SESSIONS,
        "BATCH_STEPS": BATCH_STEPS,
        "BATCH_SESSIONS": BATCH_SESSIONS,
    }


def __getattr__(name: str):
    """``STEPS``, ``SESSIONS``, ``BATCH_STEPS``, ``BATCH_SESSIONS`` and the collections of tables,
    derived from the registry as it is now."""
    derived = _derived_tables()
    if name in derived:
        return derived[name]
    if name == "EXPORT_TABLES":
        return {t.name: t for t in (RAW, derived["STEPS"], derived["SESSIONS"], FLAGS)}
    if name == "BATCH_TABLES":
        return {"steps": derived["BATCH_STEPS"], "sessions": derived["BATCH_SESSIONS"]}
    if name == "ALL_TABLES":
        return (
            RAW,
            derived["STEPS"],
            derived["SESSIONS"],
            FLAGS,
            derived["BATCH_STEPS"],
            derived["BATCH_SESSIONS"],
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- use ------------------------------------------------------------------------------------------


def conform(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """The table's columns in order with the schema's dtypes; absent columns become empty ones.

    Empty strings become missing values, so a table reads back the same from CSV and from Parquet.
    """
    out = {}
    n = len(df)
    for c in table.columns:
        values = df[c.name] if c.name in df else pd.Series([None] * n, index=df.index, dtype=object)
        if c.dtype.startswith("datetime64"):
            values = pd.to_datetime(values, utc=c.dtype.endswith("UTC]"))
        values = values.astype(c.dtype)
        if c.dtype == "string":  # CSV cannot tell "" from missing: one spelling for both formats
            values = values.mask(values == "")
        out[c.name] = values.reset_index(drop=True)
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def schema_dict(tables: dict[str, Table]) -> dict:
    """The machine-readable schema: table -> description and column -> dtype, unit, meaning."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tables": {
            key: {
                "description": t.description,
                "columns": {c.name: {k: v for k, v in asdict(c).items() if k != "name"} for c in t.columns},
            }
            for key, t in tables.items()
        },
    }


def write_schema(folder: Path, tables: dict[str, Table]) -> Path:
    path = folder / "schema.json"
    path.write_text(json.dumps(schema_dict(tables), indent=2) + "\n")
    return path


def data_dictionary_markdown() -> str:
    """docs/data-dictionary.md, generated."""
    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated from host/hipsense/export/schema.py by `python -m hipsense.export "
        "docs/data-dictionary.md`; edit the code, not this file. -->",
        "",
        "Every table that `hipsense export` and `hipsense batch` write, column by column. Each export and "
        "batch output also holds these definitions as `schema.json` (table -> column -> dtype, unit, "
        "meaning), so a file can be understood without this page. Units and frames follow "
        "[conventions.md](conventions.md); metrics are defined with their papers in [metrics.md](metrics.md).",
        "",
        "## Getting the tables",
        "",
        "```sh",
        "hipsense export --out study-export                      # everything in the store, as Parquet",
        "hipsense export --format csv --out ana --runner ana --since 2025-03-01 --what steps,sessions",
        "hipsense export --out shared --pseudonymize             # for sharing: see below",
        "hipsense batch recordings/ --out cohort                 # many files without a store: docs/batch.md",
        "```",
        "",
        "`hipsense export` reads the local store (docs/store.md) and writes into a new folder: `sessions`, "
        "`steps` and `flags` as one file each, `raw` as one file per session (`raw/session-N.parquet`), "
        "`schema.json`, and a `README.md` that lists the files, how the sessions were selected and what "
        "pseudonymisation removed. `--what` picks tables (default all four); flags come from the trends "
        "engine (`hipsense.trends`). Raw samples are those the analysis used: device files decoded to "
        "m/s^2 and deg/s on the clock measured from the file, lost samples interpolated and marked "
        "`filled`; CSVs as read with the options they were imported with. The body frame uses the "
        "mounting the analysis estimated for that session.",
        "",
        "`--since DATE` selects sessions by their start time (UTC); a session without one (a CSV "
        "without times or `--start-time`; `hipsense sessions` marks it with its import time) cannot be "
        "said to be from any date on, so it is left out, and the export says how many were in one line "
        "and in the README. "
        "The folder given to `--out` must be new or empty, and the folder it goes into must exist (a typo "
        "makes no tree of folders). The export is written into a hidden sibling folder and renamed to "
        "`--out` at the end, so an export that fails or is interrupted leaves nothing behind. A session "
        "whose raw file is missing or no longer matches its hash (see `hipsense doctor`, docs/store.md) "
        "loses only its `raw` file: its rows in `sessions` and `steps` are the figures stored when the file "
        "was intact. Each such session is named on stderr in one line (id, day, file, what is missing, how "
        "to restore or forget it) and listed in the README by id; the exit code is then 1, as for a "
        "`hipsense batch` where some files failed (0 when everything was written, 2 on an error that "
        "wrote nothing).",
        "",
        "`--pseudonymize` replaces runner names by `runner-01`, `runner-02`, ... (random order), drops "
        "`device_id` and `original_name`, replaces names, device ids and file names inside free text, "
        "and shifts every date and time of a runner by one random whole number of weeks "
        f"({MIN_WEEKS} to {MAX_WEEKS} weeks back, none within two weeks of a whole number of years; ISO dates inside text too), so intervals, weekdays and times of day are kept. Neither "
        "the aliases nor the offsets are stored anywhere. The signals themselves are kept, and gait can "
        "be characteristic of a person: such an export is pseudonymous, not anonymous.",
        "",
        f"Schema version {SCHEMA_VERSION}. dtypes are pandas dtype names: `int64`, `Int64` (integer that may be "
        "empty), `float64` (empty = not measured), `boolean` (may be empty), `string`, `datetime64[ns, UTC]` "
        "(an instant, UTC) and `datetime64[ns]` (a calendar day). In CSV files empty cells are missing values, "
        "instants are ISO 8601 with offset; `hipsense.export.read_table(folder, name)` reads any table back "
        "with these dtypes.",
        "",
        "**Text that a spreadsheet would run.** Device names, file names, runner names, error messages and "
        "flag sentences come from outside (a clip, a file, a person). In CSV files (exports and the batch's "
        "`failures.csv`) a text cell that starts with `=`, `+`, `-`, `@`, a tab, a carriage return or NUL "
        "gets a leading single quote (`'=HYPERLINK(...)`), as OWASP recommends against CSV injection, so "
        "that a spreadsheet shows it as text instead of running it; a cell that already starts with quotes "
        "followed by one of these gets one quote more, so `read_table` removes exactly one and gives back "
        "the original text. Numeric columns are never changed (a negative number is not a formula), and "
        "Parquet files keep the text as it is.",
        "",
    ]
    for t in __getattr__("ALL_TABLES"):
        lines += [
            f"## `{t.name}`",
            "",
            t.description,
            "",
            "| column | dtype | unit | meaning |",
            "|---|---|---|---|",
        ]
        lines += [f"| `{c.name}` | {c.dtype} | {c.unit} | {c.meaning} |" for c in t.columns]
        lines.append("")
    return "\n".join(lines)
