"""Training load over days and weeks: acute and chronic loads, their ratio, monotony and strain.

Pure functions over a daily load series (one value per calendar day, 0 on rest days). What counts as
"load" is the caller's choice: running minutes, steps, or the sessions' impact load (sum of impact
peaks, docs/metrics.md). docs/load.md explains each quantity, its source and its known critiques.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Window lengths in days (Gabbett 2016; Williams et al. 2017).
ACUTE_DAYS = 7
CHRONIC_DAYS = 28


def daily_load(sessions: pd.DataFrame, *, value: str, date: str = "date") -> pd.Series:
    """Sum a per-session load into one value per calendar day, rest days included as 0.

    ``sessions`` has a ``date`` column (anything pandas reads as a date) and the ``value`` column.
    """
    if sessions.empty:
        return pd.Series(dtype=float, name=value)
    days = pd.to_datetime(sessions[date]).dt.normalize()
    per_day = sessions.assign(_day=days).groupby("_day")[value].sum()
    full = pd.date_range(per_day.index.min(), per_day.index.max(), freq="D")
    return per_day.reindex(full, fill_value=0.0).astype(float).rename(value)


def week_of(days: pd.Series | pd.DatetimeIndex) -> pd.Series | pd.DatetimeIndex:
    """Midnight of the Monday that starts each day's calendar week (weeks run Monday to Sunday).

    ``days`` is a datetime Series or DatetimeIndex; the result has the same kind and time zone.
    """
    day = days.dt.normalize() if isinstance(days, pd.Series) else days.normalize()
    weekday = day.dt.day_of_week if isinstance(day, pd.Series) else day.day_of_week
    return day - pd.to_timedelta(weekday, unit="D")


def window_sum(daily: pd.Series, days: int) -> pd.Series:
    """Sum of the last ``days`` values (NaN until the window is full), exactly 0 where it holds no load.

    Rolling sums add the day entering and subtract the day leaving, which can leave float residues
    (1e-17 and the like) after the load has left the window; a window without load is set to 0.
    """
    total = daily.rolling(days, min_periods=days).sum()
    loaded = (daily != 0).astype(float).where(daily.notna()).rolling(days, min_periods=days).sum()
    return total.where(~(loaded == 0), 0.0)


def has_load(daily: pd.Series, days: int) -> pd.Series:
    """Whether any of the last ``days`` days (fewer at the start of the series) holds load."""
    return (daily != 0).astype(float).rolling(days, min_periods=1).sum() > 0


def has_base(daily: pd.Series, *, acute: int = ACUTE_DAYS, chronic: int = CHRONIC_DAYS) -> pd.Series:
    """Whether the chronic window's days before the acute window (t-27 to t-7 for 7/28 days) hold load.

    Without them the chronic load is the acute days' own load and every ratio is a constant of the
    windows (about 3.6 for the EWMAs, 4 coupled): no acute:chronic ratio is defined on such a day.
    """
    return has_load(daily.shift(acute, fill_value=0.0), chronic - acute)


def ewma(daily: pd.Series, days: int) -> pd.Series:
    """Exponentially weighted moving average with decay ``2 / (days + 1)`` (Williams et al. 2017).

    ``EWMA_t = lambda * load_t + (1 - lambda) * EWMA_{t-1}``, started at the first day's load.
    """
    lam = 2.0 / (days + 1.0)
    return daily.ewm(alpha=lam, adjust=False).mean()


def acwr_ewma(daily: pd.Series, *, acute: int = ACUTE_DAYS, chronic: int = CHRONIC_DAYS) -> pd.Series:
    """Acute:chronic workload ratio of exponentially weighted averages (Williams et al. 2017).

    NaN until a full chronic window has passed (the ratio means nothing before) and where the days
    before the acute window hold no load (:func:`has_base`): the chronic EWMA is then the acute days'
    own load, or after years without runs a float residue of 1e-323, not a chronic load.
    """
    chronic_load = ewma(daily, chronic).where(has_base(daily, acute=acute, chronic=chronic))
    ratio = ewma(daily, acute) / chronic_load.where(chronic_load > 0)
    ratio.iloc[: chronic - 1] = np.nan
    return ratio.rename("acwr_ewma")


def acwr_rolling(
    daily: pd.Series, *, acute: int = ACUTE_DAYS, chronic: int = CHRONIC_DAYS, coupled: bool = True
) -> pd.Series:
    """Acute:chronic ratio of rolling averages, coupled or uncoupled (Lolli et al. 2019).

    Acute: the mean of the last ``acute`` days. Coupled chronic: the mean of the last ``chronic`` days,
    which contain the acute days (so the two are mathematically coupled); uncoupled chronic: the mean
    of the ``chronic - acute`` days before the acute window. Both are NaN where those days hold no
    load (:func:`has_base`): a coupled chronic load made of the acute week alone gives 4 whatever ran.
    """
    acute_mean = window_sum(daily, acute) / acute
    if coupled:
        chronic_mean = window_sum(daily, chronic) / chronic
    else:
        chronic_mean = window_sum(daily.shift(acute), chronic - acute) / (chronic - acute)
    name = "acwr_coupled" if coupled else "acwr_uncoupled"
    chronic_mean = chronic_mean.where(has_base(daily, acute=acute, chronic=chronic))
    return (acute_mean / chronic_mean.replace(0.0, np.nan)).rename(name)


def week_over_week_pct(daily: pd.Series) -> pd.Series:
    """Change of the last 7 days' total against the 7 days before, in percent (NaN from a zero week)."""
    week = window_sum(daily, 7)
    before = week.shift(7)
    return (100.0 * (week - before) / before.replace(0.0, np.nan)).rename("week_over_week_pct")


def monotony(daily: pd.Series) -> pd.Series:
    """Foster's monotony: mean daily load of the last 7 days over its standard deviation.

    High monotony (little day-to-day variation, e.g. no easy or rest days) together with a high weekly
    load is what Foster (1998) linked with illness and overtraining. NaN where the week is constant.
    """
    mean = window_sum(daily, 7) / 7.0
    sd = daily.rolling(7, min_periods=7).std(ddof=0).where(mean != 0, 0.0)  # a rest week: exactly 0
    return (mean / sd.replace(0.0, np.nan)).rename("monotony")


def strain(daily: pd.Series) -> pd.Series:
    """Foster's strain: the last 7 days' total load times their monotony."""
    return (window_sum(daily, 7) * monotony(daily)).rename("strain")


def load_table(daily: pd.Series) -> pd.DataFrame:
    """Every quantity of this module per day, in one table."""
    return pd.concat(
        [
            daily.rename("load"),
            ewma(daily, ACUTE_DAYS).rename("acute_ewma"),
            ewma(daily, CHRONIC_DAYS).rename("chronic_ewma"),
            acwr_ewma(daily),
            acwr_rolling(daily, coupled=True),
            acwr_rolling(daily, coupled=False),
            week_over_week_pct(daily),
            monotony(daily),
            strain(daily),
        ],
        axis=1,
    )
