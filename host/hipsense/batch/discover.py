"""Which files a batch analyses, and whose runs they are.

Every file ending in ``.hsn`` or ``.csv`` (any case) below a given folder, recursively, hidden files
and folders left out. The runner is the first folder below the given one (``study/ana/week1/run.hsn``
is ana's); files directly in the given folder belong to a runner named after that folder. The session
is the file's path below the runner's folder with ``/`` written as ``__`` (``week1__run.hsn``). Both
become Parquet partition names, so characters other than letters, digits, ``.``, ``-`` and ``_`` are
replaced by ``_``.

A file is read once however often it is found (a folder given twice, a folder inside another one
given, a link to a file already found): the first finding counts, and :attr:`Inputs.notes` says what
was left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hipsense.conventions import file_name_part
from hipsense.errors import HipsenseError

SUFFIXES = (".hsn", ".csv")


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


def _files(folder: Path) -> Iterable[Path]:
    """Candidate recordings below ``folder``, in path order."""
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or path.suffix.lower() not in SUFFIXES:
            continue
        if path.is_file():
            yield path


def _again(folder: Path, earlier: Path, n: int) -> str:
    """Why ``n`` files under ``folder`` were already found under the folder given ``earlier``."""
    here, there = folder.resolve(), earlier.resolve()
    if here.is_relative_to(there):
        return f"{folder} is inside {earlier}, also given: its {n} file{'s' if n != 1 else ''} are read once"
    if there.is_relative_to(here):
        return f"{folder} holds {earlier}, also given: its {n} file{'s' if n != 1 else ''} are read once"
    return f"{n} file{'s' if n != 1 else ''} under {folder} are links to files under {earlier}: read once"


def find_inputs(dirs: Iterable[str | Path]) -> Inputs:
    """The files to analyse under ``dirs``, in a stable order (folder given, then path), each file
    once (by its resolved path), and notes on what was left out."""
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
        for path in _files(folder):
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
