"""What the trends layer hands to its readers: flags and the tables behind them.

Readers (terminal, HTML report, export) depend only on these shapes, never on how flags are computed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

#: Severity levels, mildest first. "info" tells, "watch" asks for attention, "alert" says the change
#: is large by the flag's own thresholds. None of them is a diagnosis.
SEVERITIES = ("info", "watch", "alert")


@dataclass(frozen=True)
class Flag:
    """One observation about a runner's sessions that is worth a look.

    Attributes
    ----------
    kind
        What was seen: ``load_spike``, ``load_climb``, ``asymmetry_drift``, ``drop_rising`` or
        ``within_run_fatigue``.
    severity
        One of :data:`SEVERITIES`.
    runner
        Whose sessions.
    period_start, period_end
        The days the flag covers (inclusive).
    sentence
        What changed, in plain words with the key numbers.
    advice
        What runners commonly do about it; informational, never a diagnosis.
    numbers
        The figures behind the flag (name -> value), e.g. ``{"acwr": 1.62, "threshold": 1.5}``.
    reference
        The source of the rule or threshold.
    metric
        The gait metric concerned, when there is one (a column of the step table).
    session_id
        The session that triggered the flag, when it is about one session.
    """

    kind: str
    severity: str
    runner: str
    period_start: dt.date
    period_end: dt.date
    sentence: str
    advice: str
    numbers: dict[str, float]
    reference: str
    metric: str | None = None
    session_id: int | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["period_start"] = self.period_start.isoformat()
        d["period_end"] = self.period_end.isoformat()
        return d


@dataclass
class Trends:
    """A runner's history as tables, plus the flags raised on it.

    Attributes
    ----------
    runner
        Whose history.
    daily
        One row per calendar day (DatetimeIndex), the columns of
        :func:`hipsense.load.training.load_table` (``load``, ``acute_ewma``, ``chronic_ewma``,
        ``acwr_ewma``, ...), the load being the sessions' impact load.
    sessions
        One row per analysed session, in time order: ``session_id``, ``start`` (datetime), ``running_s``,
        ``steps``, ``load``, and per gait metric ``M`` (the ``sides`` metrics of a session summary, e.g.
        ``pelvic_drop_deg``): ``M_ai`` (asymmetry index, %), ``M_ai_lo``/``M_ai_hi`` (its 95 % interval),
        ``M_mean`` (mean of the two sides), and the personal baseline ``M_ai_base``,
        ``M_ai_base_lo``/``M_ai_base_hi``, ``M_mean_base``, ``M_mean_base_lo``/``M_mean_base_hi``
        (NaN until the baseline has enough sessions). ``_base`` is the median of the previous sessions,
        ``_base_lo``/``_base_hi`` the band around it that a change must leave (docs/flags.md). More
        columns (per side, left minus right, distance, within-run drift) are listed in
        :func:`hipsense.trends.sessions.session_row`.
    flags
        Every flag raised over the history, oldest first.
    undated
        Analysed sessions left out because they have no start time (a clip whose clock was never set,
        a CSV whose time column is not UNIX time).
    """

    runner: str
    daily: pd.DataFrame
    sessions: pd.DataFrame
    flags: list[Flag] = field(default_factory=list)
    undated: int = 0
