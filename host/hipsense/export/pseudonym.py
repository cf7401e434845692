"""Pseudonymisation of an export: runner names replaced, device ids and file names removed, dates shifted.

Each runner gets an alias (``runner-01``, ... in random order) and a random date offset of a whole
number of weeks (between :data:`MIN_WEEKS` and :data:`MAX_WEEKS` back), applied to every date and time
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
#: Columns dropped from every table of a pseudonymised export.
REMOVED_COLUMNS = ("device_id", "original_name")
_ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


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
        self.offset = {name: pd.Timedelta(weeks=-rng.randint(MIN_WEEKS, MAX_WEEKS)) for name in names}
        tokens = dict(self.alias)
        tokens.update({d: "[device]" for d in device_ids if d})
        tokens.update({f: "[file]" for f in file_names if f})
        self._tokens = tokens
        ordered = sorted(tokens, key=len, reverse=True)  # longest first: "ana-2" before "ana"
        self._pattern = (
            re.compile("|".join(rf"(?<!\w){re.escape(t)}(?!\w)" for t in ordered)) if ordered else None
        )

    def text(self, value: str, runner: str) -> str:
        """Free text with names, device ids and file names replaced and ISO dates shifted."""
        if self._pattern is not None:
            value = self._pattern.sub(lambda m: self._tokens[m.group(0)], value)
        days = self.offset[runner]
        return _ISO_DATE.sub(lambda m: _shift_iso(m.group(1), days), value)

    def frame(self, df: pd.DataFrame, *, runner_column: str = "runner") -> pd.DataFrame:
        """A table with runner aliases, shifted dates, scrubbed text and the identifying columns dropped."""
        df = df.drop(columns=[c for c in REMOVED_COLUMNS if c in df]).copy()
        if runner_column not in df or df.empty:
            return df
        real = df[runner_column].astype(str)
        offsets = real.map(self.offset)
        for col in df.columns:
            dtype = str(df[col].dtype)
            if dtype.startswith("datetime64"):
                df[col] = df[col] + pd.to_timedelta(offsets.to_numpy())
            elif dtype == "string" and col != runner_column:
                df[col] = pd.array(
                    [v if pd.isna(v) else self.text(v, r) for v, r in zip(df[col], real, strict=True)],
                    dtype="string",
                )
        df[runner_column] = real.map(self.alias).astype("string")
        return df


def _shift_iso(text: str, offset: pd.Timedelta) -> str:
    try:
        return (pd.Timestamp(text) + offset).strftime("%Y-%m-%d")
    except ValueError:
        return text
