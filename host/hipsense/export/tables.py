"""Build the export tables as DataFrames: steps, flattened session summaries, raw samples and flags.

Each builder returns a frame already passed through :func:`hipsense.export.schema.conform`, so its
columns and dtypes are those of the schema and nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from hipsense.conventions import BODY_COLUMNS, SENSOR_COLUMNS, TIME_COLUMN
from hipsense.export.schema import (
    BODY_AXES,
    DRIFT_FIELDS,
    FLAGS,
    QUALITY_FIELDS,
    RAW,
    SENSOR_AXES,
    SIDE_FIELDS,
    Table,
    conform,
)
from hipsense.gait.body_frame import to_body_frame
from hipsense.report.wording import without_sides
from hipsense.trends.model import Flag

#: A text cell a spreadsheet would take as a formula: it starts with one of = + - @ tab CR (OWASP's "CSV
#: injection" list; ASVS 1.2.10 adds NUL). Leading quotes are part of the match so that neutralising is
#: reversible: a cell that already starts with ' followed by one of them gets one more quote.
FORMULA = re.compile(r"'*[=+\-@\t\r\0]")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` for a CSV file: every text cell a spreadsheet would run as a formula prefixed with ``'``.

    Only text columns (``string`` or ``object``) are touched: numbers (a negative one too) are not
    formulas. Device names, file names, notes, runner names and flag sentences come from outside (a
    clip, a file, a person) and must not run when a researcher opens the CSV. :func:`restore_formulas`
    undoes it; Parquet files keep the text as it is.
    """
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype):
            out[c] = out[c].map(_neutralise, na_action="ignore")
    return out


def restore_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_formulas` (reading a CSV export back)."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype):
            out[c] = out[c].map(_restore, na_action="ignore")
    return out


def _neutralise(v):
    return "'" + v if isinstance(v, str) and FORMULA.match(v) else v


def _restore(v):
    return v[1:] if isinstance(v, str) and v.startswith("'") and FORMULA.match(v[1:]) else v


_HEADLINE = (
    "algorithm_version",
    "duration_s",
    "running_time_s",
    "unclassified_time_s",
    "steps",
    "cadence_spm",
    "impact_load_g",
)


def flatten_summary(summary: dict[str, Any] | None) -> dict[str, Any]:
    """A session summary JSON (``SessionSummary.to_dict()``) as one flat row of the sessions table."""
    if not summary:
        return {}
    summary = without_sides(summary)  # sides not known: no left/right figure (report/wording.py)
    row: dict[str, Any] = {k: summary.get(k) for k in _HEADLINE}
    for side in summary.get("sides") or []:
        for field in SIDE_FIELDS:
            row[f"{side['metric']}_{field}"] = side.get(field)
    for metric, drift in (summary.get("drift") or {}).items():
        for field in DRIFT_FIELDS:
            row[f"{metric}_drift_{field}"] = drift.get(field)
    row["walking_time_s"] = summary.get("walking_time_s")
    walking = summary.get("walking") or {}
    for key, value in walking.items():
        row[f"walking_{key}"] = value
    if row["walking_time_s"] is not None and "steps" not in walking:
        row["walking_steps"] = 0  # walking looked for and none found ({}): a count, like its time
    quality = summary.get("quality") or {}
    for field in QUALITY_FIELDS:
        row[field] = quality.get(field)
    rotation = (summary.get("alignment") or {}).get("r_body_from_sensor")
    if rotation is not None:
        for i, b in enumerate(BODY_AXES):
            for j, s in enumerate(SENSOR_AXES):
                row[f"r_{b}_{s}"] = rotation[i][j]
    return row


def summary_rows(rows: Iterable[dict[str, Any]], table: Table) -> pd.DataFrame:
    """Session rows (key columns plus a ``summary`` dict each) as the table, the summary flattened."""
    flat = [
        {**{k: v for k, v in r.items() if k != "summary"}, **flatten_summary(r.get("summary"))} for r in rows
    ]
    return conform(pd.DataFrame(flat), table)


def steps_frame(steps: pd.DataFrame, keys: dict[str, Any], table: Table) -> pd.DataFrame:
    """A session's step table with its key columns (``session_id``/``runner`` or ``runner``/``session``)."""
    df = steps.reset_index(drop=True).copy()
    df.insert(0, "step_no", np.arange(len(df), dtype=np.int64))
    for name, value in keys.items():
        df[name] = value
    return conform(df, table)


def raw_frame(
    data: pd.DataFrame,
    frame: str,
    r_body_from_sensor: list[list[float]] | None,
    filled: np.ndarray | None,
    session_id: int,
) -> pd.DataFrame:
    """Samples of one recording in both frames; the body frame via the session's estimated rotation.

    Without a rotation (the analysis failed, so no mounting was estimated) the body-frame columns of a
    sensor-frame recording stay empty rather than guessed. Samples held as float32 (every reader's)
    are given with float32's precision (:func:`float32_decimals`), in both frames.
    """
    out = pd.DataFrame({"session_id": session_id, TIME_COLUMN: data[TIME_COLUMN].to_numpy()})
    out["filled"] = filled if filled is not None else np.zeros(len(data), dtype=bool)
    own = [c for c in (SENSOR_COLUMNS if frame == "sensor" else BODY_COLUMNS) if c in data]
    for col in own:
        out[col] = data[col].to_numpy()
    if frame == "sensor" and r_body_from_sensor is not None:
        body = to_body_frame(data, np.asarray(r_body_from_sensor, dtype=float))  # as the analysis rotates
        for col in BODY_COLUMNS:
            if col in body:
                out[col] = body[col].to_numpy()
    if own and all(data[c].dtype == np.float32 for c in own):  # a rotation adds no digits
        for col in (*SENSOR_COLUMNS, *BODY_COLUMNS):
            if col in out:
                out[col] = float32_decimals(out[col].to_numpy())
    return conform(out, RAW)


def float32_decimals(values: np.ndarray) -> np.ndarray:
    """``values`` at float32 precision, as the float64 of the shortest decimal that reads back as the
    same float32: a CSV's -4.17771 stays -4.17771, not float32's -4.177710056304932 (red-team p13 F19)."""
    return np.asarray(values, dtype=np.float32).astype(str).astype(np.float64)


def flags_frame(flags: Iterable[Flag]) -> pd.DataFrame:
    """The flags table from :class:`~hipsense.trends.model.Flag` objects (``numbers`` as JSON text)."""
    rows = []
    for f in flags:
        row = f.to_dict()
        row["numbers"] = json.dumps(row["numbers"], sort_keys=True)
        rows.append(row)
    return conform(pd.DataFrame(rows), FLAGS)
