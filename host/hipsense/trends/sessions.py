"""One row per session: training load, a distance estimate and the gait figures trends are built on.

The rows come from stored session summaries (``SessionSummary.to_dict()``), so the same table can be
built from the store or from summaries held in memory (the flag benchmark).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from hipsense import metrics as registry
from hipsense.report.wording import (
    UNKNOWN_SIDE_SOURCES,
    WALKING_ONLY_REASON,
    sides_known,
    walking_only,
    without_sides,
)

#: Distance the body travels while one foot is on the ground (m), for the distance estimate: in the
#: spring-mass view of running (Morin et al. 2005) it is speed x contact time, so speed ~ this length /
#: contact time. A constant 0.9 m is our assumption (the simulator's speed model gives 0.71 m at 2.5 m/s
#: and 1.07 m at 5.5 m/s); docs/flags.md says how rough the estimate is.
CONTACT_LENGTH_M = 0.9


def distance_km(
    running_s: float, contact_time_s: float | None, *, contact_length_m: float = CONTACT_LENGTH_M
):
    """Rough distance run: running time x speed, speed taken as ``contact_length_m / contact_time_s``.

    NaN when the contact time is unknown. Checked on the simulator over 2.5-5.5 m/s (docs/flags.md):
    about -13 % to +32 %, and a real runner's contact length differs from the default too.
    """
    if contact_time_s is None or not np.isfinite(contact_time_s) or contact_time_s <= 0:
        return float("nan")
    return running_s * contact_length_m / contact_time_s / 1000.0


def _num(x: Any) -> float:
    return float("nan") if x is None else float(x)


def session_row(session_id: int, start: dt.datetime, summary: dict[str, Any]) -> dict[str, Any]:
    """The figures of one session summary as a flat row (see :class:`hipsense.trends.model.Trends`).

    Per gait metric ``M``: ``M_L``/``M_R`` (medians) with ``M_L_lo``.. (95 % intervals), ``M_ai`` with
    ``M_ai_lo``/``M_ai_hi``, ``M_diff`` (left minus right) with its interval, ``M_mean``; per drift
    metric ``drift_M`` (late fifth minus early fifth) and ``drift_M_early``.
    """
    row: dict[str, Any] = {
        "session_id": int(session_id),
        "start": start,
        "running_s": _num(summary.get("running_time_s")),
        "steps": int(summary.get("steps") or 0),
        "load": _num(summary.get("impact_load_g")),
    }
    # Sides not known (report/wording.py): no left/right figure enters trends, baselines or flags.
    known, why = sides_known(summary)
    row["sides_unknown"] = "" if known else why
    # A walk has no running to compare: it is left out for that, whatever its sides (a gyroscope
    # tells a walk's feet apart), and counted as a walk, not a run.
    row["walk"] = walking_only(summary)
    if row["walk"]:
        source = (summary.get("quality") or {}).get("side_source", "")
        row["sides_unknown"] = WALKING_ONLY_REASON
        known = source not in UNKNOWN_SIDE_SOURCES
    row["sides_known"] = known
    sides = {s["metric"]: s for s in without_sides(summary).get("sides", [])}
    for m in (x.name for x in registry.sided()):
        s = sides.get(m, {})
        left, right = _num(s.get("left")), _num(s.get("right"))
        row.update(
            {
                f"{m}_L": left,
                f"{m}_R": right,
                f"{m}_L_lo": _num(s.get("left_ci_low")),
                f"{m}_L_hi": _num(s.get("left_ci_high")),
                f"{m}_R_lo": _num(s.get("right_ci_low")),
                f"{m}_R_hi": _num(s.get("right_ci_high")),
                f"{m}_ai": _num(s.get("asymmetry_pct")),
                f"{m}_ai_lo": _num(s.get("ci_low_pct")),
                f"{m}_ai_hi": _num(s.get("ci_high_pct")),
                f"{m}_diff": _num(s.get("difference")),
                f"{m}_diff_lo": _num(s.get("diff_ci_low")),
                f"{m}_diff_hi": _num(s.get("diff_ci_high")),
                f"{m}_mean": 0.5 * (left + right),
            }
        )
    for m in (x.name for x in registry.drift()):
        d = summary.get("drift", {}).get(m, {})
        row[f"drift_{m}"] = _num(d.get("change"))
        row[f"drift_{m}_early"] = _num(d.get("early"))
    row["distance_km"] = distance_km(row["running_s"], row["contact_time_s_mean"])
    return row


def session_table(records: Iterable[tuple[int, dt.datetime, dict[str, Any]]]) -> pd.DataFrame:
    """Rows of :func:`session_row` for ``(session_id, start, summary)`` records, in time order."""
    rows = [session_row(*r) for r in records]
    if not rows:
        return pd.DataFrame(
            columns=[
                "session_id",
                "start",
                "running_s",
                "steps",
                "load",
                "distance_km",
                "sides_unknown",
                "sides_known",
                "walk",
            ]
        )
    df = pd.DataFrame(rows)
    df["start"] = pd.to_datetime(df["start"], utc=True)
    return df.sort_values(["start", "session_id"], kind="stable").reset_index(drop=True)


def asymmetry_column(metric: str) -> str:
    """The column that measures a metric's asymmetry: the L - R difference for angles, else the index.

    An index of two small angles is ill-conditioned (docs/metrics.md), so angles use degrees.
    """
    return f"{metric}_diff" if registry.get(metric).asymmetry == "difference" else f"{metric}_ai"


def walks(sessions: pd.DataFrame) -> np.ndarray:
    """True for the sessions of a session table that are walks (no running steps, walking ones); a
    table without the ``walk`` column (simulated histories) holds none."""
    if "walk" not in sessions:
        return np.zeros(len(sessions), dtype=bool)
    return sessions["walk"].fillna(False).astype(bool).to_numpy()


def future_sessions(sessions: pd.DataFrame) -> list[tuple[int, None, pd.Timestamp]]:
    """``(session_id, None, start)`` (:func:`~hipsense.report.wording.future_sentence`'s arguments) of the sessions that start more than a day after this
    computer's clock, oldest first (report/wording.py, ``future_sentence``)."""
    import time

    from hipsense.report.wording import FUTURE_SLACK_S

    if sessions.empty:
        return []
    now = pd.Timestamp(time.time() + FUTURE_SLACK_S, unit="s", tz="UTC")
    start = pd.to_datetime(sessions["start"], utc=True)
    ahead = sessions[start > now]
    return [(int(i), None, t) for i, t in zip(ahead["session_id"], start[start > now], strict=True)]
