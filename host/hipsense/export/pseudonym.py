"""Pseudonymisation of an export: runner names replaced, device ids and file names removed, dates shifted.

Each runner gets an alias (``runner-01``, ... in random order) and a random date offset of a whole
number of weeks (between :data:`MIN_WEEKS` and :data:`MAX_WEEKS` back, none within two weeks of a whole
number of years: :data:`WEEKS`), applied to every date and time
of that runner, so intervals, weekdays and times of day survive and the calendar does not. Neither the
aliases nor the offsets are stored anywhere: the export cannot be mapped back by its own content.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

import pandas as pd

MIN_WEEKS = 52
MAX_WEEKS = 520
#: A shift within this many days of a whole number of years is never drawn: 52 weeks moved 6 Jan 2025
#: to 7 Jan 2024, and 313 weeks is 6 years to the day (the day and month survived, about 1 runner in
#: 230); the weeks drawn from move every date by at least two weeks of the calendar.
MIN_CALENDAR_SHIFT_DAYS = 14
_YEAR_DAYS = 365.2425
WEEKS = tuple(
    w
    for w in range(MIN_WEEKS, MAX_WEEKS + 1)
    if MIN_CALENDAR_SHIFT_DAYS <= (7 * w) % _YEAR_DAYS <= _YEAR_DAYS - MIN_CALENDAR_SHIFT_DAYS
)
#: Columns dropped from every table of a pseudonymised export.
REMOVED_COLUMNS = ("device_id", "original_name")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTHS = tuple(name[:3] for name in _MONTH_NAMES)  # Jan, Feb, ...
_MONTH = r"(?P<month>(?:" + "|".join(_MONTH_NAMES + _MONTHS + ("Sept",)) + r")\b\.?)"
#: Dates as they appear in sentences: 2025-02-24, 24 Feb, 24 February 2025, Feb 24, February 24, 2025.
_DATES = re.compile(
    r"\b(?P<iso>\d{4}-\d{2}-\d{2})\b"
    rf"|\b(?P<day>\d{{1,2}}) {_MONTH}(?: (?P<year>\d{{4}}))?\b"
    rf"|\b{_MONTH.replace('month', 'month2')} (?P<day2>\d{{1,2}})(?:, (?P<year2>\d{{4}}))?\b"
)


class Pseudonymizer:
    """Aliases and date offsets for a set of runners; names to scrub from free text.

    ``rng`` defaults to the operating system's randomness (:class:`random.SystemRandom`), so offsets
    cannot be recomputed from a seed.
    """

    def __init__(
        self,
        runners: Iterable[str],
        *,
        device_ids: Iterable[str] = (),
        file_names: Iterable[str] = (),
        rng: random.Random | None = None,
    ):
        rng = rng or random.SystemRandom()
        names = sorted(set(runners))
        rng.shuffle(names)
        self.alias = {name: f"runner-{i + 1:02d}" for i, name in enumerate(names)}
        self.offset = {name: pd.Timedelta(weeks=-rng.choice(WEEKS)) for name in names}
        tokens = dict(self.alias)
        tokens.update({d: "[device]" for d in device_ids if d})
        tokens.update({f: "[file]" for f in file_names if f})
        self._tokens = tokens
        ordered = sorted(tokens, key=len, reverse=True)  # longest first: "ana-2" before "ana"
        self._pattern = (
            re.compile("|".join(rf"(?<!\w){re.escape(t)}(?!\w)" for t in ordered)) if ordered else None
        )

    def text(self, value: str, runner: str, year: int | None = None) -> str:
        """Free text with names, device ids and file names replaced and dates shifted.

        ``year`` is the year of a date without one ("24 Feb"), e.g. that of the row's own dates.
        """
        if self._pattern is not None:
            value = self._pattern.sub(lambda m: self._tokens[m.group(0)], value)
        offset = self.offset[runner]
        return _DATES.sub(lambda m: _shift_date(m, offset, year), value)

    def frame(self, df: pd.DataFrame, *, runner_column: str = "runner") -> pd.DataFrame:
        """A table with runner aliases, shifted dates, scrubbed text and the identifying columns dropped."""
        df = df.drop(columns=[c for c in REMOVED_COLUMNS if c in df]).copy()
        if runner_column not in df or df.empty:
            return df
        real = df[runner_column].astype(str)
        offsets = real.map(self.offset)
        moments = [c for c in df.columns if str(df[c].dtype).startswith("datetime64")]
        # Year of each row's first date: the year of dates that sentences give without one.
        years = df[moments].bfill(axis=1).iloc[:, 0].dt.year if moments else pd.Series(pd.NA, index=df.index)
        for col in df.columns:
            dtype = str(df[col].dtype)
            if dtype.startswith("datetime64"):
                df[col] = df[col] + pd.to_timedelta(offsets.to_numpy())
            elif dtype == "string" and col != runner_column:
                df[col] = pd.array(
                    [
                        v if pd.isna(v) else self.text(v, r, None if pd.isna(y) else int(y))
                        for v, r, y in zip(df[col], real, years, strict=True)
                    ],
                    dtype="string",
                )
        df[runner_column] = real.map(self.alias).astype("string")
        return df


def _shift_date(m: re.Match, offset: pd.Timedelta, year: int | None) -> str:
    """One date found by :data:`_DATES`, shifted and written back in its own style."""
    try:
        if m["iso"]:
            return (pd.Timestamp(m["iso"]) + offset).strftime("%Y-%m-%d")
        month, day, given = (
            (m["month"], m["day"], m["year"]) if m["day"] else (m["month2"], m["day2"], m["year2"])
        )
        number = _MONTHS.index(month[:3]) + 1
        when = pd.Timestamp(int(given or year or pd.Timestamp.now().year), number, int(day)) + offset
    except ValueError:  # not a real date (31 Feb): leave the text as it is
        return m.group(0)
    name = when.strftime("%b" if len(month.rstrip(".")) == 3 else "%B")
    if m["day"]:
        return f"{when.day} {name}" + (f" {when.year}" if given else "")
    return f"{name} {when.day}" + (f", {when.year}" if given else "")
