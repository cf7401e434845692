"""Which files a batch analyses, and whose runs they are.

Every file ending in ``.hsn`` or ``.csv`` (any case) below a given folder, recursively, hidden files
and folders left out. The runner is the first folder below the given one (``study/ana/week1/run.hsn``
is ana's); files directly in the given folder belong to a runner named after that folder. The session
is the file's path below the runner's folder with ``/`` written as ``__`` (``week1__run.hsn``). Both
become Parquet partition names, so characters other than letters, digits, ``.``, ``-`` and ``_`` are
replaced by ``_``.

A file is read once however often it is found (a folder given twice, a folder inside another one
given, a link to a file already found): the first finding counts, and :attr:`Inputs.notes` says what
was left out. A batch never reads its own output folder nor the output of an earlier batch or export
(a folder holding hipsense's ``schema.json``): re-run into a new ``--out`` inside the input folder,
the earlier run's failures.csv is not a recording.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hipsense.conventions import file_name_part
from hipsense.errors import HipsenseError

SUFFIXES = (".hsn", ".csv")
#: A schema.json larger than this is not hipsense's (a batch's is about 33 kB).
MAX_SCHEMA_BYTES = 10_000_000


@dataclass(frozen=True)
class Job:
    """One file to analyse and the partition it goes to."""

    path: Path
    runner: str
    session: str


class BatchInputWarning(UserWarning):
    """Something found under a batch's folders and left out (a folder given twice, an earlier output)."""


@dataclass
class Inputs:
    """What a batch found under its folders: the files to analyse, and one sentence for each kind of
    thing it left out (said to the user, so that no file vanishes without a word)."""

    jobs: list[Job] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _hipsense_output(folder: Path) -> bool:
    """Whether ``folder`` holds the ``schema.json`` a ``hipsense batch`` or ``export`` writes."""
    schema = folder / "schema.json"
    try:  # a regular file only: is_file() never opens a named pipe
        if not schema.is_file() or schema.stat().st_size > MAX_SCHEMA_BYTES:
            return False
        data = json.loads(schema.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"schema_version", "tables"} <= data.keys()


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def _files(folder: Path, out: Path | None, notes: list[str]) -> Iterator[Path]:
    """Candidate recordings below ``folder``, in path order. The batch's own output folder ``out``
    (resolved) and the outputs of earlier batches and exports are left out, said in ``notes``."""
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir() and not path.is_symlink():
            own = path.resolve() == out
            if own or _hipsense_output(path):
                n = sum(1 for _ in _files(path, None, []))  # what would have been read as recordings
                if n:
                    notes.append(
                        f"left out {path}, this batch's output folder: {_count(n, 'file')} it wrote"
                        if own
                        else f"left out {path}, the output of an earlier hipsense batch or export (it holds "
                        f"hipsense's schema.json): {_count(n, 'file')} not read as recordings"
                    )
                continue
            yield from _files(path, out, notes)
        elif path.suffix.lower() in SUFFIXES and path.is_file():
            yield path


def _again(folder: Path, earlier: Path, n: int) -> str:
    """Why ``n`` files under ``folder`` were already found under the folder given ``earlier``."""
    here, there = folder.resolve(), earlier.resolve()
    if here.is_relative_to(there):
        return f"{folder} is inside {earlier}, also given: its {n} file{'s' if n != 1 else ''} are read once"
    if there.is_relative_to(here):
        return f"{folder} holds {earlier}, also given: its {n} file{'s' if n != 1 else ''} are read once"
    return f"{n} file{'s' if n != 1 else ''} under {folder} are links to files under {earlier}: read once"


def find_inputs(dirs: Iterable[str | Path], out: str | Path | None = None) -> Inputs:
    """The files to analyse under ``dirs``, in a stable order (folder given, then path), each file
    once (by its resolved path), and notes on what was left out. The batch's output folder ``out``
    and every earlier hipsense output below ``dirs`` are never read."""
    found = Inputs()
    first: dict[Path, tuple[Path, Path]] = {}  # resolved file -> (its path, the folder given it was found in)
    again: Counter[tuple[Path, Path]] = Counter()  # (folder given, earlier folder given) -> files found again
    given: dict[Path, Path] = {}  # resolved folder -> as given first
    for folder in map(Path, dirs):
        if not folder.is_dir():
            raise HipsenseError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
        if (same := given.setdefault(folder.resolve(), folder)) is not folder:
            also = "" if same == folder else f" (also as {same})"
            found.notes.append(f"{folder} was given twice{also}: read once")
            continue
        own_name = folder.resolve().name
        for path in _files(folder, None if out is None else Path(out).resolve(), found.notes):
            real = path.resolve()
            if real in first:
                again[folder, first[real][1]] += 1
                continue
            first[real] = path, folder
            rel = path.relative_to(folder)
            runner, inside = (rel.parts[0], rel.parts[1:]) if len(rel.parts) > 1 else (own_name, rel.parts)
            found.jobs.append(Job(path, file_name_part(runner), file_name_part("__".join(inside))))
    found.notes += [_again(folder, earlier, n) for (folder, earlier), n in again.items()]
    return found


def discover(dirs: Iterable[str | Path]) -> list[Job]:
    """The files to analyse under ``dirs`` (:func:`find_inputs` without its notes)."""
    return find_inputs(dirs).jobs
