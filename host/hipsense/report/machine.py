"""``--json`` output: the same figures the terminal shows, for scripts, under the export schema's names.

Field names come from the export schema (:mod:`hipsense.export.schema`, itself derived from the metric
registry), so a script reads ``contact_time_s_asymmetry_pct`` from ``analyze --json`` and from
``sessions.csv`` alike. Every output goes through :func:`jsonable`: NaN and infinities become ``null``
(JSON has neither), numpy and pandas values become plain numbers, dates ISO 8601 text. Left/right
figures pass through :func:`hipsense.report.wording.without_sides` like every other output.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hipsense import metrics as registry
from hipsense.export import schema
from hipsense.export.tables import flatten_summary
from hipsense.report.alternate import alternate_steps
from hipsense.report.wording import (
    alternate_verdict,
    sides_known,
    sides_unknown_sentence,
    stored_error,
    without_sides,
)
from hipsense.trends.flags import sides_unknown, weekly_loads
from hipsense.trends.load_weeks import missing_ratios
from hipsense.trends.model import Flag, Trends

if TYPE_CHECKING:
    from hipsense.formats.device_file import DecodedSession


def jsonable(x: Any) -> Any:
    """``x`` with only JSON types inside: None for NaN, infinities and missing values."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return jsonable(dataclasses.asdict(x))
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, (pd.Timestamp, dt.datetime, dt.date)):
        return None if pd.isna(x) else x.isoformat()
    if isinstance(x, Path):
        return str(x)
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    if isinstance(x, str):
        return x
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    return str(x)


def dumps(x: Any) -> str:
    """The JSON text of ``x`` (strict: a NaN left anywhere is an error, not invalid JSON)."""
    return json.dumps(jsonable(x), indent=2, allow_nan=False)


def summary_record(summary: dict[str, Any], steps: pd.DataFrame | None = None) -> dict[str, Any]:
    """One session's summary under the sessions table's names, plus whether its sides are known and,
    when they are not, the alternate-step comparison in their place (each row with its ``verdict`` in
    the words the terminal and the report use)."""
    known, why = sides_known(summary)
    flat = flatten_summary(without_sides(summary))
    out: dict[str, Any] = {"source": summary.get("source")}
    out.update({c.name: flat.get(c.name) for c in schema.summary_columns()})
    out["sides_known"] = known
    out["sides_note"] = "" if known else sides_unknown_sentence(why)
    # Each alternate row carries its verdict in the words the terminal and the report show.
    rows = alternate_steps(steps) if (not known and steps is not None) else []
    out["alternate_steps"] = [{**r, "verdict": alternate_verdict(r)} for r in rows]
    out["flags"] = list(summary.get("flags") or [])
    return out


def sessions_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The store's session list (:meth:`Store.sessions`) under the sessions table's names."""
    names = [c.name for c in schema.SESSIONS.columns]
    renamed = df.rename(columns={"id": "session_id"})
    keep = [n for n in names if n in renamed] + [c for c in ("imported_at",) if c in renamed]
    records = [{k: r[k] for k in keep} for _, r in renamed.iterrows()]
    for rec in records:  # the error as the terminal says it (its advice names the command that takes it)
        if isinstance(rec.get("error"), str):
            rec["error"] = stored_error(rec["error"])
    return records


#: Trend-table column suffix -> the export schema's side field (``SIDE_FIELDS``).
_TREND_TO_SCHEMA = {
    "L": "left",
    "R": "right",
    "ai": "asymmetry_pct",
    "ai_lo": "ci_low_pct",
    "ai_hi": "ci_high_pct",
    "diff": "difference",
    "diff_lo": "diff_ci_low",
    "diff_hi": "diff_ci_high",
}


def trends_record(trends: Trends, weeks: int) -> dict[str, Any]:
    """A runner's trends: the last ``weeks`` calendar weeks of load, each session's figures under the
    export schema's names (with the personal baseline where there is one), and the flags."""
    s = trends.sessions
    load = weekly_loads(trends.daily["load"]).tail(weeks) if len(trends.daily) else pd.DataFrame()
    acwr = trends.daily["acwr_ewma"] if "acwr_ewma" in trends.daily else pd.Series(dtype=float)
    week_rows = []
    # why a week has no ratio, like a session's sides_note (docs/load.md): "" when it has one
    notes = {w: why for why, weeks_ in missing_ratios(trends.daily, load.index).items() for w in weeks_}
    for start, w in load.iterrows():
        ratio = acwr.loc[start : start + pd.Timedelta(days=6)].dropna()
        week_rows.append(
            {
                "week_of": start.date(),
                "impact_load_g": w["load"],
                "change_pct": w["change_pct"],
                "vs_chronic_pct": w["vs_chronic_pct"],
                "acwr_ewma": ratio.iloc[-1] if len(ratio) else None,
                "acwr_note": notes.get(start, ""),
            }
        )
    first = load.index.min() if len(load) else None
    unknown = sides_unknown(s)
    session_rows = []
    for i, r in s.iterrows():
        if first is not None and r["start"].tz_convert(None) < first:
            continue
        row: dict[str, Any] = {
            "session_id": r["session_id"],
            "start_time": r["start"],
            "running_time_s": r["running_s"],
            "steps": r["steps"],
            "impact_load_g": r["load"],
            "distance_km": r.get("distance_km"),
            # a walk's sides may be known (its gyroscope) while it is left out for having no running
            "sides_known": bool(r["sides_known"]) if "sides_known" in s else not unknown[i],
            "walking_only": bool(r.get("walk", False)),
            "sides_note": r.get("sides_unknown") or "",
        }
        for m in registry.sided():
            for suffix, field in _TREND_TO_SCHEMA.items():
                col = f"{m.name}_{suffix}"
                if col in s:
                    row[f"{m.name}_{field}"] = r[col]
                    if f"{col}_base" in s:
                        row[f"{m.name}_{field}_baseline"] = r[f"{col}_base"]
                        row[f"{m.name}_{field}_band_low"] = r[f"{col}_base_lo"]
                        row[f"{m.name}_{field}_band_high"] = r[f"{col}_base_hi"]
        session_rows.append(row)
    return {
        "runner": trends.runner,
        "weeks": week_rows,
        "sessions": session_rows,
        "undated_sessions": trends.undated,
        "flags": flags_records([f for f in trends.flags if first is None or f.period_end >= first.date()]),
    }


def flags_records(flags: list[Flag]) -> list[dict[str, Any]]:
    """Flags under the flags table's names (``numbers`` kept as an object, not JSON text)."""
    names = [c.name for c in schema.FLAGS.columns]
    return [{k: f.to_dict()[k] for k in names} for f in flags]


def info_record(session: DecodedSession) -> dict[str, Any]:
    """What ``hipsense info`` shows of a device file: its header and what its decoder found."""
    h, r = session.header, session.report
    n = len(session.sample_index)
    return {
        "file": session.path,
        "header": dataclasses.asdict(h),
        "samples": n,
        "duration_s": (int(session.sample_index[-1]) + 1) / h.sample_rate_hz if n else 0.0,
        "decode": dataclasses.asdict(r),
    }
