"""What the store checks before it keeps a row and again when it reads one back.

The store trusts neither its inputs (a reader may let a strange value through, a caller may pass
anything) nor its own database (an older hipsense, a hand edit, a damaged file). A value the store
cannot use is refused at write time with a :class:`StoreError`; a row that cannot be
read back is left out of listings with one :class:`StoreRowWarning` naming the session and the fix.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from pathlib import Path
from typing import Any

from hipsense.errors import HipsenseError

#: Start and import times the store keeps, in UNIX seconds: 1970-01-01 up to 2100-01-01 UTC. The clip's
#: reader bounds its own at 2000..2100; a CSV dated by hand may be older. Outside, no pandas time holds it.
TIME_MIN, TIME_MAX = 0.0, 4_102_444_800.0
#: Largest count (steps) kept: what a float holds exactly.
COUNT_MAX = 2**53
#: Summary figures copied into ``sessions`` and whether each is a count.
SUMMARY_FIGURES = {"running_time_s": False, "steps": True, "cadence_spm": False}


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class StoreError(HipsenseError):
    """The data folder or its database cannot be used (missing, read-only for a write, newer than hipsense)."""


def read_only_message(root: Any) -> str:
    """A write refused in a data folder that cannot be written (hipsense.store_open), with what to do."""
    return f"{root}: the hipsense data folder is read-only: copy it somewhere writable or set HIPSENSE_HOME"


class StoreRowWarning(UserWarning):
    """A stored row cannot be read: it is left out, and the message says how to remove or repair it."""


def fix_for(session_id: Any) -> str:
    return f"remove it with `hipsense forget {session_id}` or repair the store with `hipsense doctor`"


def warn_row(session_id: Any, name: Any, problem: str) -> None:
    """One warning for a session whose row is left out (the same text from every reader, so a command
    that reads the row twice shows it once)."""
    warnings.warn(
        f"session {session_id} ({name}) cannot be read: {problem}; it is left out ({fix_for(session_id)})",
        StoreRowWarning,
        stacklevel=3,
    )


def _show(value: Any) -> str:
    """A stored value for a message: numbers short, anything else as its (cut) repr."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.6g}"
    return repr(value)[:40]


def _show_time(value: float) -> str:
    """A time as the user wrote it, ISO 8601 in UTC (``1969-12-31T22:30:00Z``); the number when no
    calendar holds it (not finite, or beyond the years 1-9999)."""
    import datetime as dt

    try:
        t = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=value)
    except (OverflowError, ValueError):
        return _show(value)
    return t.replace(tzinfo=None).isoformat(timespec="milliseconds" if t.microsecond else "seconds") + "Z"


def time_problem(value: Any, what: str = "start time") -> str | None:
    """Why ``value`` is not a time the store keeps (None when it is one, or absent)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"its {what} {_show(value)} is not a number"
    if not (math.isfinite(value) and TIME_MIN <= value < TIME_MAX):
        return f"its {what} {_show_time(value)} is not a date between 1970 and 2100"
    return None


def number_problem(value: Any, what: str, *, count: bool = False) -> str | None:
    """Why ``value`` is not a figure the store keeps (None when it is one, or absent)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"its {what} {_show(value)} is not a number"
    if not math.isfinite(value):
        return None if not count and math.isnan(value) else f"its {what} {_show(value)} is not finite"
    if count and (value != int(value) or not 0 <= value <= COUNT_MAX):
        return f"its {what} {_show(value)} is not a count"
    return None


def parse_summary(text: Any) -> dict[str, Any]:
    """A stored summary JSON as a dict; ValueError saying why when it is not one."""
    if not isinstance(text, str):
        raise ValueError(f"its summary is {type(text).__name__}, not JSON text")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"its summary is not JSON ({str(e)[:60]})") from None
    if not isinstance(value, dict):
        raise ValueError(f"its summary is a JSON {type(value).__name__}, not an object")
    return value


def derived_problems(start_time: Any, duration_s: Any, summary: dict[str, Any] | None) -> list[str]:
    """What in an analysis result the store would not be able to read back (empty when all is well)."""
    problems = [
        p for p in (time_problem(start_time), number_problem(duration_s, "duration")) if p is not None
    ]
    if summary is not None:
        if not isinstance(summary, dict):
            return [*problems, "its summary is not a mapping"]
        for key, count in SUMMARY_FIGURES.items():
            p = number_problem(summary.get(key), key, count=count)
            if p:
                problems.append(p)
        try:
            json.dumps(summary)
        except (TypeError, ValueError, RecursionError) as e:
            problems.append(f"its summary cannot be stored as JSON ({e})")
    return problems


class RowError(StoreError):
    """A stored row that cannot be read, with the fix in its message."""

    def __init__(self, session_id: Any, name: Any, problem: str):
        self.session_id = session_id
        self.problem = problem
        super().__init__(f"session {session_id} ({name}) cannot be read: {problem}; {fix_for(session_id)}")


__all__ = [
    "COUNT_MAX",
    "TIME_MAX",
    "TIME_MIN",
    "RowError",
    "StoreError",
    "StoreRowWarning",
    "derived_problems",
    "fix_for",
    "number_problem",
    "parse_summary",
    "read_only_message",
    "sha256_file",
    "time_problem",
    "warn_row",
]
