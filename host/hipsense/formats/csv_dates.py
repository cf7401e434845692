"""Per-file start times for importing many CSVs at once: a mapping file, or a date in the file name.

A CSV whose ``t_s`` is not UNIX time carries no date; ``hipsense import`` dates each file from a
``--start-times FILE.csv`` (``file name, ISO time`` a line) or from its name with a ``strptime`` pattern.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

from hipsense.formats.csv_values import CsvInputError


def _iso_unix(text: str) -> float:
    """Strict ISO 8601 as UTC seconds; without a zone it is UTC."""
    when = dt.datetime.fromisoformat(text.strip())
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def _rows(path: Path, lines: list[str]) -> Iterator[list[str]]:
    """The csv module's rows, its error (a field over its 128 KB limit) as one CsvInputError."""
    rows = csv.reader(lines)
    try:
        yield from rows
    except csv.Error as e:
        raise CsvInputError(path, f"not a start-times file ({e})", line=rows.line_num) from None


def read_start_times(path: str | Path) -> dict[str, float]:
    """A ``--start-times`` file: one ``file name, ISO time`` pair a line (a header line is allowed).

    Returns file name (without folders) -> UTC seconds. Raises :class:`CsvInputError` naming the line.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise CsvInputError(path, f"cannot read the start times ({e.__class__.__name__})") from None
    starts: dict[str, float] = {}
    for number, row in enumerate(_rows(path, lines), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) != 2:
            raise CsvInputError(path, f"expected 'file name, start time', got {len(row)} fields", line=number)
        name, when = row[0].strip(), row[1].strip()
        try:
            starts[Path(name).name] = _iso_unix(when)
        except ValueError:
            if number == 1 and not starts:  # a header line
                continue
            raise CsvInputError(
                path, f"{when!r} is not an ISO time (e.g. 2025-03-01T07:30+01:00)", line=number
            ) from None
        if len(starts) > 100_000:
            raise CsvInputError(path, "more than 100000 start times", line=number)
    return starts


_STRPTIME_PARTS = {
    "Y": r"\d{4}", "m": r"\d{2}", "d": r"\d{2}", "H": r"\d{2}", "M": r"\d{2}", "S": r"\d{2}",
    "y": r"\d{2}", "j": r"\d{3}", "f": r"\d{1,6}", "z": r"(?:Z|[+-]\d{2}:?\d{2})", "b": r"[A-Za-z]{3}",
    "%": "%",
}  # fmt: skip


def start_time_from_name(name: str | Path, pattern: str) -> float:
    """The start time in a file name, found with a ``strptime`` pattern (``"%Y%m%d_%H%M%S"``).

    The pattern may match anywhere in the name (``run_20250301_073000.csv``); without ``%z`` the time is
    UTC. Raises ``ValueError`` with one line when the name holds no such date.
    """
    regex = ""
    i = 0
    seen: set[str] = set()
    while i < len(pattern):
        if pattern[i] == "%" and i + 1 < len(pattern):
            part = _STRPTIME_PARTS.get(pattern[i + 1])
            if part is None:
                raise ValueError(f"pattern {pattern!r}: %{pattern[i + 1]} is not supported")
            if pattern[i + 1] in seen and pattern[i + 1] != "%":  # strptime raised re.error
                raise ValueError(f"pattern {pattern!r}: %{pattern[i + 1]} appears twice")
            seen.add(pattern[i + 1])
            regex += part
            i += 2
        else:
            regex += re.escape(pattern[i])
            i += 1
    stem = Path(name).name
    for found in re.finditer(regex, stem):
        try:
            when = dt.datetime.strptime(found.group(0), pattern)
        except ValueError:
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        return when.timestamp()
    raise ValueError(f"{stem!r} holds no date of the form {pattern!r}")


__all__ = ["read_start_times", "start_time_from_name"]
