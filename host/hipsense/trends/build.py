"""A runner's trends from the store: per-session table with baselines, daily load, and flags."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from hipsense import metrics as registry
from hipsense.load.training import daily_load, load_table
from hipsense.store_rows import warn_row
from hipsense.trends.baselines import PersonalBaseline
from hipsense.trends.flags import OveruseFlagger
from hipsense.trends.model import Trends
from hipsense.trends.sessions import session_row, session_table

if TYPE_CHECKING:
    from hipsense.store import Store


def baseline_columns() -> dict[str, float]:
    """The per-session columns that get a personal baseline, with their spread floors.

    Floors are the measurement's noise floors (the registry, :mod:`hipsense.metrics`): asymmetry indices
    in points, angles in degrees. Levels of durations and forces have none (they are shown, not flagged).
    """
    cols: dict[str, float] = {}
    for metric in registry.sided():
        m = metric.name
        if metric.asymmetry == "difference":
            floor = metric.noise_floor
            cols.update(
                {f"{m}_ai": 0.0, f"{m}_mean": floor, f"{m}_diff": floor, f"{m}_L": floor, f"{m}_R": floor}
            )
        else:
            cols.update({f"{m}_ai": metric.noise_floor, f"{m}_mean": 0.0})
    return cols


def add_baselines(sessions: pd.DataFrame, baseline: PersonalBaseline | None = None) -> pd.DataFrame:
    """``sessions`` with ``C_base``, ``C_base_lo``, ``C_base_hi`` for every :func:`baseline_columns` C."""
    cols = [c for c in baseline_columns() if c in sessions]
    b = (baseline or PersonalBaseline(floors=baseline_columns())).estimate(sessions[cols])
    extra = pd.concat(
        [b.baseline_.add_suffix("_base"), b.lower_.add_suffix("_base_lo"), b.upper_.add_suffix("_base_hi")],
        axis=1,
    )
    return pd.concat([sessions, extra], axis=1)


def _end_of(until: dt.date | dt.datetime | str) -> pd.Timestamp:
    """The last instant ``until`` includes (a date means the whole day), in UTC."""
    whole_day = (isinstance(until, str) and len(until) <= 10) or type(until) is dt.date
    t = pd.Timestamp(until)
    if t.tzinfo is None:
        t = t.tz_localize("UTC")
    return t + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1) if whole_day else t


def _readable(record: tuple[int, Any, dict[str, Any]]) -> bool:
    """Whether a stored summary gives a trend row; one that does not (a damaged or foreign summary,
    a figure that is not a number) is left out with the store's warning, not fatal to the history."""
    try:
        session_row(*record)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as e:
        warn_row(record[0], "summary", f"its summary does not give trend figures ({type(e).__name__}: {e})")
        return False
    return True


def trends_from_records(
    runner: str,
    records: Iterable[tuple[int, Any, dict[str, Any]]],
    *,
    until: dt.date | dt.datetime | str | None = None,
    baseline: PersonalBaseline | None = None,
    flagger: OveruseFlagger | None = None,
) -> Trends:
    """Trends from ``(session_id, start, summary dict)`` records (the store's, or simulated ones).

    Calendar days are UTC days of the sessions' start times. Records without a start (None) cannot be
    placed in time: they are left out and counted in ``Trends.undated``.
    """
    records = [r for r in records if _readable(r)]
    dated = [r for r in records if r[1] is not None]
    sessions = session_table(dated)
    if until is not None and len(sessions):
        sessions = sessions[sessions["start"] <= _end_of(until)].reset_index(drop=True)
    sessions = add_baselines(sessions, baseline)
    days = sessions.assign(date=sessions["start"].dt.tz_convert(None)) if len(sessions) else sessions
    daily_series = daily_load(days, value="load")  # empty (float, "load") without sessions
    if until is not None and len(daily_series):
        last = _end_of(until).tz_convert(None).normalize()
        if last > daily_series.index.max():
            full = pd.date_range(daily_series.index.min(), last, freq="D")
            daily_series = daily_series.reindex(full, fill_value=0.0)
    daily = load_table(daily_series)
    flags = (flagger or OveruseFlagger()).detect(sessions, daily, runner=runner).flags_
    return Trends(
        runner=runner, daily=daily, sessions=sessions, flags=flags, undated=len(records) - len(dated)
    )


def build_trends(store: Store, runner: str, *, until: dt.date | dt.datetime | str | None = None) -> Trends:
    """A runner's trends from the store: every analysed session up to ``until`` (a day includes all of it).

    ``Trends.sessions`` and ``Trends.daily`` are filled as :class:`hipsense.trends.model.Trends`
    documents; ``Trends.flags`` are oldest first.
    """
    return trends_from_records(runner, store.summaries(runner), until=until)


def refresh_session_flags(store: Store, runner: str) -> list:
    """Store in each of a runner's session summaries the flags that session raised; returns all flags.

    Flags depend on the sessions before (baselines, load), so every summary of the runner is brought up
    to date, not only the newest (a late import of an old run can change later judgements).
    """
    trends = build_trends(store, runner)
    by_session: dict[int, list[dict[str, Any]]] = {int(s): [] for s in trends.sessions.get("session_id", [])}
    for f in trends.flags:
        if f.session_id is not None:
            by_session.setdefault(f.session_id, []).append(f.to_dict())
    store.set_session_flags(by_session)
    return trends.flags
