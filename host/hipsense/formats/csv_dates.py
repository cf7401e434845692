"""Per-file start times for importing many CSVs at once: a mapping file, or a date in the file name.

A CSV whose ``t_s`` is not UNIX time carries no date; ``hipsense import`` dates each file from a
``--start-times FILE.csv`` (``file, ISO time`` a line) or from its name with a ``strptime`` pattern.

A listed file with a folder in it (``a/run.csv``, ``./run.csv``, an absolute path; ``/`` or ``\\``) is
a path, read from the times file's folder and from the current folder: it dates the file imported that
either one names. A bare name (``run.csv``) dates the one file imported of that name, and is refused
when several files imported have it (loggers write one ``TotalAcceleration.csv`` a folder). A file
listed twice, or dated by two lines, is refused naming both lines (until 2026-12: the last line won
for every file of that name, silently).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hipsense.formats.csv_values import CsvInputError
from hipsense.iso_time import iso_unix

#: A session file carries the clip's own start time: the times file never dates one.
SESSION_SUFFIX = ".hsn"
#: Most lines a start-times file may hold.
MAX_START_TIMES = 100_000


def _rows(path: Path, lines: list[str]) -> Iterator[list[str]]:
    """The csv module's rows, its error (a field over its 128 KB limit) as one CsvInputError."""
    rows = csv.reader(lines)
    try:
        yield from rows
    except csv.Error as e:
        raise CsvInputError(path, f"not a start-times file ({e})", line=rows.line_num) from None


@dataclass(frozen=True)
class StartTime:
    """One line of a start-times file: the file as written (``\\`` made ``/``), its start, its line."""

    name: str
    unix: float
    line: int

    @property
    def is_path(self) -> bool:
        """Whether the entry names a folder too (``a/run.csv``, ``./run.csv``): then it is a path."""
        return "/" in self.name


def _short(name: str) -> str:
    return repr(name if len(name) <= 60 else "..." + name[-57:])


def read_start_time_lines(path: str | Path) -> list[StartTime]:
    """A ``--start-times`` file's lines: ``file, ISO time`` each (a header line is allowed, ``#``
    lines are comments). The same file written twice (``run.csv`` on two lines, or ``a/run.csv`` and
    ``a/./run.csv``) is refused naming both lines. Raises :class:`CsvInputError` naming the line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise CsvInputError(path, f"cannot read the start times ({e.__class__.__name__})") from None
    entries: list[StartTime] = []
    seen: dict[str, StartTime] = {}
    for number, row in enumerate(_rows(path, lines), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) != 2:
            raise CsvInputError(path, f"expected 'file name, start time', got {len(row)} fields", line=number)
        name, when = row[0].strip().replace("\\", "/"), row[1].strip()
        try:
            unix = iso_unix(when)  # the rules of every ISO 8601 reader: no zone is UTC
        except ValueError:
            if number == 1 and not entries:  # a header line
                continue
            raise CsvInputError(
                path, f"{when!r} is not an ISO time (e.g. 2025-03-01T07:30+01:00)", line=number
            ) from None
        if not name.strip("/."):
            raise CsvInputError(path, f"{name!r} names no file", line=number)
        entry = StartTime(name, unix, number)
        key = f"path {os.path.normpath(name)}" if entry.is_path else f"name {name}"
        if key in seen:
            raise CsvInputError(
                path,
                f"{_short(name)} is listed twice, on lines {seen[key].line} and {number}: keep one",
                line=number,
            )
        seen[key] = entry
        entries.append(entry)
        if len(entries) > MAX_START_TIMES:
            raise CsvInputError(path, f"more than {MAX_START_TIMES} start times", line=number)
    return entries


def read_start_times(path: str | Path) -> dict[str, float]:
    """A ``--start-times`` file as file name (without folders) -> UTC seconds.

    Two lines whose files share a name (``a/run.csv``, ``b/run.csv``) are refused: a name alone cannot
    tell them apart (:func:`start_times_for` matches each line on its path). Raises
    :class:`CsvInputError` naming the line.
    """
    starts: dict[str, StartTime] = {}
    for entry in read_start_time_lines(path):
        name = entry.name.rsplit("/", 1)[-1]
        if name in starts:
            first = starts[name]
            raise CsvInputError(
                path,
                f"lines {first.line} and {entry.line} ({_short(first.name)}, {_short(entry.name)}) both "
                f"date a file named {name!r}: by name alone they cannot be told apart",
                line=entry.line,
            )
        starts[name] = entry
    return {name: entry.unix for name, entry in starts.items()}


def _real(path: str | Path) -> str:
    """One spelling per file: absolute, links followed, the case as the system compares it."""
    return os.path.normcase(os.path.realpath(path))


def start_times_for(
    path: str | Path, files: Iterable[str | Path], cwd: str | Path | None = None
) -> dict[Path, float]:
    """Each CSV of ``files`` (as given; session files are left out) -> its start time (UTC seconds)
    from the ``--start-times`` file ``path``.

    A listed path (``a/run.csv``) dates the file it names from the folder of ``path`` or from ``cwd``
    (default: the current folder); a bare name (``run.csv``) the one file of ``files`` with that name.
    Lines that date no file of ``files`` are left alone (a list for many imports). Raises
    :class:`CsvInputError` in one line when a CSV has no start time, when a bare name is the name of
    several files, when a path names two files (one from each folder), and when two lines date one
    file.
    """
    path = Path(path)
    entries = read_start_time_lines(path)
    csvs = [Path(f) for f in files if Path(f).suffix.lower() != SESSION_SUFFIX]
    real = {f: _real(f) for f in csvs}
    given: dict[str, Path] = {}  # each distinct file as first given
    named: dict[str, set[str]] = {}  # file name -> the distinct files of that name
    for f, r in real.items():
        given.setdefault(r, f)
        named.setdefault(f.name, set()).add(r)
    folders = (path.parent, Path.cwd() if cwd is None else Path(cwd))
    dated: dict[str, StartTime] = {}
    for entry in entries:
        if entry.is_path:
            found = {_real(folder / entry.name) for folder in folders} & given.keys()
            if len(found) > 1:
                a, b = (str(given[r]) for r in sorted(found, key=lambda r: str(given[r])))
                raise CsvInputError(
                    path,
                    f"{_short(entry.name)} names two of the files imported, {a} and {b} (read from this "
                    f"file's folder and from the current one): write the path from one of them",
                    line=entry.line,
                )
        else:
            found = named.get(entry.name, set())
            if len(found) > 1:
                which = sorted(str(given[r]) for r in found)
                more = f" and {len(which) - 3} more" if len(which) > 3 else ""
                raise CsvInputError(
                    path,
                    f"{_short(entry.name)} is the name of {len(which)} files imported "
                    f"({', '.join(which[:3])}{more}): list each with its folder (e.g. "
                    f"{which[0].replace(os.sep, '/')}), read from this file's folder or the current one",
                    line=entry.line,
                )
        for r in found:
            if r in dated:
                first = dated[r]
                raise CsvInputError(
                    path,
                    f"lines {first.line} and {entry.line} ({_short(first.name)}, {_short(entry.name)}) both "
                    f"date {given[r]}: keep one",
                    line=entry.line,
                )
            dated[r] = entry
    missing = [f for f, r in real.items() if r not in dated]
    if missing:
        shown = [f.name if len(named[f.name]) == 1 else str(f) for f in missing]
        more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
        raise CsvInputError(
            path,
            f"no start time for {', '.join(shown[:3])}{more} (a line 'file, ISO time'; a path with a folder "
            "is read from this file's folder or the current one)",
        )
    return {f: dated[r].unix for f, r in real.items()}


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


__all__ = [
    "StartTime",
    "read_start_time_lines",
    "read_start_times",
    "start_time_from_name",
    "start_times_for",
]
