"""The weekly load as people are shown it: long idle stretches as one line, and why a ratio is missing.

The computed tables (``Trends.daily``, :func:`hipsense.trends.load_flags.weekly_loads`) stay complete
for exports and research; the terminal's table and the trend report read them through these helpers, so
a session dated 1970 next to runs in 2026 is one line, not 2,955 rows (docs/load.md, "Shown weeks").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from hipsense.load.training import ACUTE_DAYS, CHRONIC_DAYS, has_base

#: Weeks without sessions in a row shown one row each; a longer stretch is shown as one line.
IDLE_WEEKS_SHOWN = 4

#: Why a day has no acute:chronic ratio (:func:`hipsense.load.training.has_base`, docs/load.md).
NO_BASE_REASON = (
    f"no runs in the {(CHRONIC_DAYS - ACUTE_DAYS) // 7} weeks before the last {ACUTE_DAYS} days, "
    "so nothing to compare them with"
)
NO_HISTORY_REASON = f"it needs {CHRONIC_DAYS} days of training history"


@dataclass(frozen=True)
class IdleStretch:
    """More than :data:`IDLE_WEEKS_SHOWN` calendar weeks in a row without a session."""

    first: pd.Timestamp  # the Monday of its first week
    weeks: int

    @property
    def last_day(self) -> pd.Timestamp:
        """The Sunday that ends its last week."""
        return self.first + pd.Timedelta(days=7 * self.weeks - 1)

    def sentence(self) -> str:
        """One line in place of the stretch's rows."""
        return f"no runs recorded for {self.weeks:,} weeks, {self.first:%Y-%m-%d} to {self.last_day:%Y-%m-%d}"


def shown_weeks(
    weeks: pd.DatetimeIndex, active: Iterable[pd.Timestamp], *, idle_shown: int = IDLE_WEEKS_SHOWN
) -> list[pd.Timestamp | IdleStretch]:
    """``weeks`` (Mondays, in order) with every run of more than ``idle_shown`` weeks that are not in
    ``active`` (the Mondays of weeks with a session) replaced by one :class:`IdleStretch`."""
    busy = set(active)
    out: list[pd.Timestamp | IdleStretch] = []
    idle: list[pd.Timestamp] = []
    for week in [*weeks, None]:  # None: the end, which closes a last idle stretch
        if week is not None and week not in busy:
            idle.append(week)
            continue
        out += [IdleStretch(idle[0], len(idle))] if len(idle) > idle_shown else idle
        idle = []
        if week is not None:
            out.append(week)
    return out


def ratio_reason(daily: pd.DataFrame, day: pd.Timestamp, base: pd.Series | None = None) -> str | None:
    """Why ``day`` of ``daily`` (``Trends.daily``) has no acute:chronic ratio: :data:`NO_HISTORY_REASON`
    or :data:`NO_BASE_REASON`; None when it has one (or for another reason). ``base``:
    :func:`~hipsense.load.training.has_base` of the daily load, when the caller has it already."""
    if day not in daily.index or pd.notna(daily.loc[day, "acwr_ewma"]):
        return None
    if (day - daily.index[0]).days < CHRONIC_DAYS - 1:
        return NO_HISTORY_REASON
    base = has_base(daily["load"]) if base is None else base
    return None if base.loc[day] else NO_BASE_REASON


def missing_ratios(daily: pd.DataFrame, weeks: Iterable[pd.Timestamp]) -> dict[str, list[pd.Timestamp]]:
    """Of ``weeks`` (Mondays), those without an acute:chronic ratio (``acwr_ewma``) on any of their days,
    by the reason of the week's last day (:func:`ratio_reason`)."""
    reasons: dict[str, list[pd.Timestamp]] = {}
    base = has_base(daily["load"]) if len(daily) else None
    for week in weeks:
        days = daily.loc[week : week + pd.Timedelta(days=6)]
        if days.empty or days["acwr_ewma"].notna().any():
            continue
        reason = ratio_reason(daily, days.index[-1], base)
        if reason is not None:
            reasons.setdefault(reason, []).append(week)
    return reasons


def missing_ratio_sentences(daily: pd.DataFrame, weeks: Iterable[pd.Timestamp]) -> list[str]:
    """One line per reason: which of ``weeks`` show no acute:chronic ratio, and why."""
    lines = []
    for reason, missing in missing_ratios(daily, weeks).items():
        dates = [f"{w:%Y-%m-%d}" for w in missing]
        listed = dates[0] if len(dates) == 1 else f"{', '.join(dates[:-1])} and {dates[-1]}"
        of = "the week" if len(dates) == 1 else "the weeks"
        lines.append(f"No acute:chronic ratio for {of} of {listed}: {reason} (docs/load.md).")
    return lines
