"""The export's output folder: written whole or not at all."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hipsense.errors import HipsenseError


def check_parent(out: Path) -> None:
    """One line when the folder ``out`` would go into does not exist: a typo must not make a tree of
    folders (``--format fit`` and ``report --out`` refuse a missing folder the same way)."""
    if not out.parent.is_dir():
        raise HipsenseError(f"{out}: the folder {out.parent} does not exist")


@contextmanager
def written_whole(out: Path) -> Iterator[Path]:
    """A hidden sibling of ``out`` to write into, renamed to ``out`` when the block ends and deleted
    when it fails (an error, Ctrl-C), so a failed export leaves no half-written folder to block the
    next one. ``out`` is absent or an empty folder (:func:`hipsense.export.export.new_folder`)."""
    work = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
    work.mkdir()
    try:
        yield work
        if out.exists():
            out.rmdir()  # the empty folder the user made for it
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
