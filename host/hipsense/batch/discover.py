"""Which files a batch analyses, and whose runs they are.

Every file ending in ``.hsn`` or ``.csv`` (any case) below a given folder, recursively, hidden files
and folders left out. The runner is the first folder below the given one (``study/ana/week1/run.hsn``
is ana's); files directly in the given folder belong to a runner named after that folder. The session
is the file's path below the runner's folder with ``/`` written as ``__`` (``week1__run.hsn``). Both
become Parquet partition names, so characters other than letters, digits, ``.``, ``-`` and ``_`` are
replaced by ``_``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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


def discover(dirs: Iterable[str | Path]) -> list[Job]:
    """The files to analyse under ``dirs``, in a stable order (folder given, then path)."""
    jobs = []
    for folder in map(Path, dirs):
        if not folder.is_dir():
            raise HipsenseError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
        own_name = folder.resolve().name
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if any(part.startswith(".") for part in rel.parts) or path.suffix.lower() not in SUFFIXES:
                continue
            if not path.is_file():
                continue
            runner, inside = (rel.parts[0], rel.parts[1:]) if len(rel.parts) > 1 else (own_name, rel.parts)
            jobs.append(Job(path, file_name_part(runner), file_name_part("__".join(inside))))
    return jobs
