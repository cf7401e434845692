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
the earlier run's failures.csv is not a recording. An entry named like a recording that is no file to
read (a broken link, a named pipe) is a failure, found with ``stat`` only; links to folders (not
followed) and files with other names are said in the notes.
"""

from __future__ import annotations

import errno
import json
import os
import stat
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
    """Something found under a batch's folders and left out: a folder given twice, an earlier output,
    a link to a folder, files not named like a recording."""


@dataclass
class Inputs:
    """What a batch found under its folders: the files to analyse, and one sentence for each kind of
    thing it left out (said to the user, so that no file vanishes without a word)."""

    jobs: list[Job] = field(default_factory=list)
    #: (path, why) of each entry named like a recording that is not a file to read: a failure
    failed: list[tuple[Path, str]] = field(default_factory=list)
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


def _not_readable(path: Path) -> str | None:
    """Why ``path``, named like a recording, is not a file to read (None when it is one); looked at
    with ``stat`` only, so a named pipe is never opened (opening one waits for a writer)."""
    try:
        mode = path.stat().st_mode  # follows a link
    except FileNotFoundError:
        target = f" to {os.readlink(path)}" if path.is_symlink() else ""
        return f"{path}: a broken link{target} (nothing there): not read"
    except OSError as e:  # a loop of links, a folder it may not look into
        if e.errno == errno.ELOOP:
            return f"{path}: a broken link (a loop of links): not read"
        return f"{path}: cannot be looked at ({e.strerror}): not read"
    if stat.S_ISREG(mode):
        return None
    kind = (
        "a named pipe"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "of an unknown kind"
    )
    return f"{path}: not a regular file ({kind}): not read"


@dataclass
class _Walk:
    """One walk over the folders given: the output folder it leaves out, and what it left out."""

    out: Path | None
    notes: list[str] = field(default_factory=list)
    #: files not named like a recording (path -> None), in the order found
    others: dict[Path, None] = field(default_factory=dict)
    linked: dict[Path, None] = field(default_factory=dict)

    def files(self, folder: Path) -> Iterator[tuple[Path, str | None]]:
        """``(path, why it cannot be read or None)`` of everything below ``folder`` named like a
        recording, in path order. The batch's own output folder and the outputs of earlier batches
        and exports are left out; links to folders are not followed; all said in ``notes``."""
        try:
            entries = sorted(folder.iterdir())
        except OSError as e:  # a sub-folder it may not list: its files are not read, which is said
            yield folder, f"{folder}: a folder that cannot be listed ({e.strerror}): its files are not read"
            return
        for path in entries:
            if path.name.startswith("."):
                continue
            if path.is_dir() and path.is_symlink():  # not followed: a link may loop back to its folder
                self.linked[path.parent.resolve() / path.name] = None
            elif path.is_dir():
                if not self.output(path):
                    yield from self.files(path)
            elif path.suffix.lower() in SUFFIXES:
                yield path, _not_readable(path)
            else:
                self.others[path.parent.resolve() / path.name] = None

    def output(self, folder: Path) -> bool:
        """Whether ``folder`` is this batch's output or an earlier one (said in ``notes``)."""
        own = folder.resolve() == self.out
        if not (own or _hipsense_output(folder)):
            return False
        n = sum(1 for _ in _Walk(None).files(folder))  # what would have been read as recordings
        if n:
            self.notes.append(
                f"left out {folder}, this batch's output folder: {_count(n, 'file')} it wrote"
                if own
                else f"left out {folder}, the output of an earlier hipsense batch or export (it holds "
                f"hipsense's schema.json): {_count(n, 'file')} in it not read"
            )
        return True

    def left_out(self) -> list[str]:
        """The notes, then one sentence each for the links to folders and the other files."""
        notes = list(self.notes)
        if self.linked:
            first = next(iter(self.linked))
            notes.append(
                f"left out {_count(len(self.linked), 'link')} to a folder, not followed (e.g. {first}): "
                "give the folder itself"
            )
        if self.others:
            first = next(iter(self.others))
            notes.append(
                f"left out {_count(len(self.others), 'other file')}, not named .hsn or .csv (e.g. {first})"
            )
        return notes


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
    once (by its resolved path); what is named like a recording but cannot be read (a broken link, a
    named pipe) as failures; notes on what was left out. The batch's output folder ``out`` and every
    earlier hipsense output below ``dirs`` are never read."""
    found = Inputs()
    walk = _Walk(None if out is None else Path(out).resolve())
    first: dict[Path, tuple[Path, Path]] = {}  # resolved file -> (its path, the folder given it was found in)
    again: Counter[tuple[Path, Path]] = Counter()  # (folder given, earlier folder given) -> files found again
    given: dict[Path, Path] = {}  # resolved folder -> as given first
    for folder in map(Path, dirs):
        if not folder.is_dir():
            raise HipsenseError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
        if (same := given.setdefault(folder.resolve(), folder)) is not folder:
            also = "" if same == folder else f" (also as {same})"
            walk.notes.append(f"{folder} was given twice{also}: read once")
            continue
        if walk.output(folder):  # an output given as an input is not read either
            continue
        own_name = folder.resolve().name
        for path, problem in walk.files(folder):
            # a broken link resolves to its target's name: the link itself is the entry to count once
            real = path.resolve() if problem is None else path.parent.resolve() / path.name
            if real in first:
                again[folder, first[real][1]] += 1
                continue
            first[real] = path, folder
            if problem is not None:
                found.failed.append((path, problem))
                continue
            rel = path.relative_to(folder)
            runner, inside = (rel.parts[0], rel.parts[1:]) if len(rel.parts) > 1 else (own_name, rel.parts)
            found.jobs.append(Job(path, file_name_part(runner), file_name_part("__".join(inside))))
    found.notes = walk.left_out() + [_again(folder, earlier, n) for (folder, earlier), n in again.items()]
    return found


def discover(dirs: Iterable[str | Path]) -> list[Job]:
    """The files to analyse under ``dirs`` (:func:`find_inputs` without its notes)."""
    return find_inputs(dirs).jobs
