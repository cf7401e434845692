"""ISO 8601 dates and date-times: one set of rules for every reader of them.

``--start-time``, ``--since``, a ``--start-times`` file's lines (:func:`iso_timestamp`,
:func:`iso_unix`) and a CSV's ``t_s`` column of date-times (:func:`iso_seconds`) accept the same text
(:data:`ISO_FORM`), in the extended format only:

- a date, ``2026-10-25`` (midnight), or a date and time, ``2026-10-25T02:30``, a space for the ``T``
  (``2026-10-25 02:30``), seconds and a fraction of them optional (``02:30:00.004807``, to the
  nanosecond; a decimal comma too, ``02:30:00,5``);
- then a UTC offset, ``Z``, ``+05:30``, ``+0530`` or ``+05`` (a space before it allowed), honoured;
  **without one the time is UTC** (never this computer's zone: a run dated so is the same run on any
  computer);
- nothing else: no week or ordinal dates (``2026-W43-1``), no basic format (``20261025T023000``), no
  partial dates (``2026-10``), no lower-case ``t`` or ``z``, no other separator (``2026-10-25_02:30``).
  Spaces around the text are ignored.

Until 2026-12 the options and the start-times file used ``datetime.fromisoformat`` (week dates, basic
format and any separator accepted; digits past the microsecond dropped) and the column pandas' ISO 8601
parser (``2026-10`` and ``2026`` accepted, a lower-case ``t`` not): the same text could date a run in
one place and be refused in the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: How an ISO 8601 date and time starts (``2026-10-25T02:30``, or a space for the ``T``): a time column
#: whose first cell starts so holds date-times (:func:`iso_seconds`).
ISO_STAMP = re.compile(r"\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
#: The whole of a valid ISO 8601 date or date-time, once spaces are stripped and a decimal comma made a
#: point; the values (month 13, 25:00) are checked by the parser.
ISO_FORM = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?: ?(?:Z|[+-]\d{2}(?::?\d{2})?))?)?"
)


def _parsed(cells: Iterable[object]) -> Any:
    """The cells as UTC pandas timestamps, ``NaT`` where a cell is none (empty, missing, other text)."""
    import pandas as pd

    text = pd.Series(cells if isinstance(cells, pd.Series) else list(cells), dtype=object).fillna("")
    text = text.astype(str).str.strip().str.replace(",", ".", regex=False)
    text = text.where(text.str.fullmatch(ISO_FORM), "")
    return pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")


def iso_seconds(cells: Iterable[object]) -> Any:
    """ISO 8601 dates and date-times as UNIX seconds (a float64 array: to 0.24 us this century), NaN
    where a cell is none of them (:data:`ISO_FORM`; the caller tells empty cells from text).

    A UTC offset is honoured (``02:30+02:00`` is 00:30 UTC, so stamps across a daylight-saving change
    stay in order); a time without one is UTC. Parsed by pandas (``format="ISO8601"``), a column at a
    time."""
    import numpy as np
    import pandas as pd

    when = _parsed(cells)
    return (when - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=np.float64)


def iso_timestamp(text: str) -> Any:
    """One ISO 8601 date or date-time (:data:`ISO_FORM`) as a UTC pandas ``Timestamp``, exact to the
    nanosecond; without a UTC offset it is UTC. Raises ``ValueError`` for any other text."""
    import pandas as pd

    when = _parsed([text]).iloc[0]
    if pd.isna(when):
        raise ValueError(f"{text!r} is not an ISO 8601 date or date-time")
    return when


def iso_unix(text: str) -> float:
    """One ISO 8601 date or date-time as UNIX seconds (:func:`iso_timestamp`); ``ValueError`` otherwise."""
    return float(iso_timestamp(text).timestamp())


def iso_text(unix_s: float) -> str:
    """UNIX seconds as an ISO 8601 UTC date-time, to the microsecond, trailing zeros dropped
    (``2026-10-25T00:30:04.99Z``); the number itself when no calendar holds it."""
    import datetime as dt

    try:
        when = dt.datetime.fromtimestamp(round(unix_s, 6), dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return f"{unix_s:g} s"
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{when.microsecond:06d}".rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


__all__ = ["ISO_FORM", "ISO_STAMP", "iso_seconds", "iso_text", "iso_timestamp", "iso_unix"]
