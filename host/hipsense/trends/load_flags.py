"""The training-load flags: a week's load spiking against the weeks before, and a sustained climb.

Called by :class:`hipsense.trends.flags.OveruseFlagger`, which holds the thresholds; docs/flags.md states
each rule. A spike of the acute:chronic ratio is one **episode** from the first day at or above the
alert level to the last day of that run of days; it belongs to the week where it starts, so the days it
carries over into the next week do not make that week a spike too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hipsense.load.training import week_of, window_sum
from hipsense.trends.model import Flag

#: The acute:chronic ratio that raises a load-spike alert (Gabbett 2016; the default of OveruseFlagger).
ACWR_ALERT = 1.5

REF_ACWR = (
    "Gabbett 2016 (Br J Sports Med 50:273, doi:10.1136/bjsports-2015-095788): acute:chronic ratios above "
    "about 1.5 went with more injuries in team sports; Williams et al. 2017 (Br J Sports Med 51:209, "
    "doi:10.1136/bjsports-2016-096589): exponentially weighted loads. Read with Impellizzeri et al. 2020."
)
REF_WEEKLY_JUMP = (
    "Nielsen et al. 2014 (J Orthop Sports Phys Ther 44(10):739, doi:10.2519/jospt.2014.5164): novice "
    "runners whose weekly distance grew by more than 30 % over two weeks had more distance-related "
    "injuries, hip ones among them (hazard ratio 1.59, 95 % CI 0.96-2.66)."
)
REF_CLIMB = (
    "The '10 % rule' of running coaching; Nielsen et al. 2014 (doi:10.2519/jospt.2014.5164) for the "
    "association of fast progression with injuries. Buist et al. 2008 (Am J Sports Med 36(1):33, "
    "doi:10.1177/0363546507307505) found a graded 10 % programme did not by itself prevent injuries."
)
ADVICE_LOAD = (
    "Runners commonly follow a jump like this with easier days or a rest day, and build up again gradually."
)
ADVICE_HEAVY_DAY = (
    "Runners commonly follow a heavy day like this with easier days or a rest day, and build up again "
    "gradually."
)
ADVICE_CLIMB = (
    "Runners commonly plan an easier week after a few weeks of building, so the body can catch up with "
    "the load."
)


def figures(**values: Any) -> dict[str, float]:
    """A flag's figures, rounded, without the ones that are unknown (JSON has no NaN)."""
    return {k: round(float(v), 2) for k, v in values.items() if v is not None and np.isfinite(v)}


@dataclass(frozen=True)
class Episode:
    """Consecutive days with the acute:chronic ratio at or above the alert level."""

    first: pd.Timestamp
    last: pd.Timestamp
    peak: float
    peak_day: pd.Timestamp


def ratio_episodes(acwr: pd.Series, level: float) -> list[Episode]:
    """The runs of consecutive days of ``acwr`` (one row per day) at or above ``level``; an undefined
    ratio (NaN) ends a run."""
    above = (acwr >= level).to_numpy()
    out, i = [], 0
    while i < len(above):
        if not above[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(above) and above[j + 1]:
            j += 1
        days = acwr.iloc[i : j + 1]
        out.append(Episode(acwr.index[i], acwr.index[j], float(days.max()), days.idxmax()))
        i = j + 1
    return out


def weekly_loads(daily: pd.Series) -> pd.DataFrame:
    """Calendar weeks (Monday to Sunday): total load and the mean of the four weeks before.

    ``load`` is the week's total, ``chronic`` the mean weekly total of the four weeks before it (NaN
    until four whole weeks of history exist; exactly 0 when they hold no load), ``vs_chronic_pct`` the
    week against ``chronic`` and ``change_pct`` against the previous week, both in percent.
    """
    if daily.empty:
        return pd.DataFrame(columns=["load", "chronic", "change_pct", "days", "vs_chronic_pct"])
    first_monday = week_of(daily.index).min()
    full = daily.reindex(pd.date_range(first_monday, daily.index.max(), freq="D"), fill_value=0.0)
    weeks = full.groupby(week_of(full.index))
    table = pd.DataFrame({"load": weeks.sum(), "days": weeks.size()})
    history_days = (table.index - daily.index.min()).days
    chronic = window_sum(table["load"].shift(1), 4) / 4.0
    table["chronic"] = chronic.where(history_days >= 28)
    before = table["load"].shift(1)
    table["change_pct"] = 100.0 * (table["load"] - before) / before.where(before > 0)
    table["vs_chronic_pct"] = 100.0 * (table["load"] / table["chronic"].where(table["chronic"] > 0) - 1.0)
    return table


def load_flags(
    sessions: pd.DataFrame,
    daily: pd.DataFrame,
    runner: str,
    *,
    watch_pct: float,
    alert_pct: float,
    acwr_alert: float,
    climb_pct: float,
    climb_weeks: int,
) -> list[Flag]:
    """``load_spike`` flags (one per week over the watch level, one per ratio episode, in the week it
    starts) and ``load_climb`` flags; thresholds as in :class:`hipsense.trends.flags.OveruseFlagger`."""
    if daily.empty:
        return []
    weeks = weekly_loads(daily["load"])
    days = sessions["start"].dt.tz_convert(None).dt.normalize()
    session_week = week_of(days)
    acwr_all = daily["acwr_ewma"]
    episodes = ratio_episodes(acwr_all, acwr_alert)
    # Days that belong to an episode, mapped to the Monday of the week the episode started in.
    owner = pd.Series(pd.NaT, index=acwr_all.index, dtype="datetime64[ns]")
    for e in episodes:
        owner.loc[e.first : e.last] = week_of(pd.DatetimeIndex([e.first]))[0]
    flags = []
    # Only a week with sessions can flag: going through every week of a 1970 date next to runs in 2026
    # (2,950 weeks) took 1.5 s.
    for week_start, w in weeks[weeks.index.isin(session_week)].iterrows():
        in_week = session_week == week_start
        week_end = week_start + pd.Timedelta(days=6)
        started = [e for e in episodes if week_start <= e.first <= week_end]
        # The week's own ratio: its days, less the tail of an episode that started in an earlier week,
        # plus the whole of an episode that started in it (even where it runs into the next week).
        days_of_week = acwr_all.loc[week_start:week_end]
        own = days_of_week[~(owner.loc[week_start:week_end] < week_start).to_numpy()]
        peaks = [float(own.max())] if own.notna().any() else []
        acwr_max = max(peaks + [e.peak for e in started]) if peaks or started else np.nan
        increase = w["vs_chronic_pct"]
        if increase >= alert_pct or started:
            severity = "alert"
        elif increase >= watch_pct:
            severity = "watch"
        else:
            continue
        # The session that took the week over the watch level, else the last one on or before the day
        # the ratio reached its alert level.
        cum = sessions.loc[in_week, "load"].cumsum()
        over = cum >= (1 + watch_pct / 100.0) * w["chronic"]
        row = over[over].index[0] if over.any() else cum.index[-1]
        if not over.any() and started:
            by_then = days[in_week] <= started[0].first
            row = by_then[by_then].index[-1] if by_then.any() else cum.index[0]
        trigger = int(sessions.loc[row, "session_id"])
        load, chronic = w["load"], w["chronic"]
        if np.isfinite(increase):
            sentence = (
                f"The load of the week of {week_start:%d %b} is {increase:+.0f} % against your average of "
                f"the four weeks before ({load:.0f} vs {chronic:.0f} g x steps)"
            )
        else:  # no percentage: less than four weeks of history. (After four empty weeks no day of the
            # week has an acute:chronic ratio either, load.training.has_base: nothing flags.)
            sentence = (
                f"The load of the week of {week_start:%d %b} is {load:.0f} g x steps, with less than four "
                "weeks before"
            )
        jump = increase >= watch_pct
        if started:
            peak = max(started, key=lambda e: e.peak)
            when = f"{peak.peak:.2f} on {peak.peak_day:%a %d %b}"
            if jump:
                sentence += f"; the acute:chronic ratio peaked at {when}"
            else:  # the week as a whole is not up by the watch level: the alert is the ratio's
                sentence = (
                    f"A heavy day lifted the acute:chronic ratio to {when} (alert level {acwr_alert:g}); "
                    + sentence[0].lower()
                    + sentence[1:]
                )
        elif np.isfinite(acwr_max):
            sentence += f"; the acute:chronic ratio peaked at {acwr_max:.2f}"
        numbers = figures(
            week_load=load,
            chronic_week_load=chronic,
            increase_pct=increase,
            acwr_ewma_max=acwr_max,
            watch_pct=watch_pct,
            alert_pct=alert_pct,
            acwr_alert=acwr_alert,
        )
        flags.append(
            Flag(
                "load_spike", severity, runner, week_start.date(), days[in_week].iloc[-1].date(),
                sentence + ".", ADVICE_LOAD if jump else ADVICE_HEAVY_DAY, numbers,
                REF_WEEKLY_JUMP + " " + REF_ACWR, None, trigger,
            )
        )  # fmt: skip
    return flags + climb_flags(sessions, weeks, session_week, runner, climb_pct, climb_weeks)


def climb_flags(
    sessions: pd.DataFrame,
    weeks: pd.DataFrame,
    session_week: pd.Series,
    runner: str,
    climb_pct: float,
    climb_weeks: int,
) -> list[Flag]:
    """One ``load_climb`` per run of ``climb_weeks`` weeks each more than ``climb_pct`` above the one
    before, raised when the run reaches that length."""
    flags = []
    streak: list[pd.Timestamp] = []
    rising = (weeks["change_pct"] > climb_pct).to_numpy()
    for i, week_start in enumerate(weeks.index):
        streak = [*streak, week_start] if rising[i] else []
        if len(streak) != climb_weeks:
            continue  # one flag per climb, when it reaches climb_weeks
        first = weeks.index.get_loc(streak[0]) - 1
        start_load, end_load = weeks["load"].iloc[first], weeks["load"].iloc[i]
        total = 100.0 * (end_load / start_load - 1.0)
        week_end = week_start + pd.Timedelta(days=6)
        in_week = session_week == week_start
        trigger = int(sessions.loc[in_week, "session_id"].iloc[-1]) if in_week.any() else None
        changes = weeks["change_pct"].iloc[i - climb_weeks + 1 : i + 1]
        flags.append(
            Flag(
                "load_climb",
                "alert" if total >= 50.0 else "watch",
                runner,
                streak[0].date(),
                week_end.date(),
                f"Your weekly load has grown {len(streak)} weeks in a row "
                f"({', '.join(f'{c:+.0f} %' for c in changes)}), {total:+.0f} % in all since the week of "
                f"{weeks.index[first]:%d %b}.",
                ADVICE_CLIMB,
                figures(
                    weeks=len(streak),
                    total_increase_pct=total,
                    min_weekly_increase_pct=changes.min(),
                    threshold_pct=climb_pct,
                ),
                REF_CLIMB,
                None,
                trigger,
            )
        )
    return flags
