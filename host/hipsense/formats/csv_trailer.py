"""A CSV's trailing comment lines when its comment mark is its separator too (Gulf Coast Data Concepts'
``;shutdown: ...`` last line in a ``;``-separated export), which pandas' ``comment`` cannot skip: every
row would end at its first separator (:func:`hipsense.formats.csv_header.data_layout`).

Below the last data row, a line that starts with the mark and holds a cell that is no number (nor
empty, nor a missing-cell word) is a comment; a row whose first cell is empty and whose other cells
are numbers (a missing value under a ``;`` separator) stays a row. A marked line among the rows is
read as a row still (refused as text). The rows are then read up to the comments' first byte.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Bytes of the file's end searched for the comments (a logger writes a line or two there).
TRAILER_SEARCH_BYTES = 1 << 16
#: The key of a layout's pandas options (``Layout.read``) that holds where the rows end: no pandas option,
#: taken out before pandas reads them (:func:`hipsense.formats.csv_values.value_chunks`).
ROWS_END = "rows_end"


def _is_number(cell: str, missing: frozenset[str]) -> bool:
    cell = cell.strip().strip("\"'").strip()
    if not cell or cell.lower() in missing:
        return True
    try:
        float(cell.replace(",", "."))
    except ValueError:
        return False
    return True


def trailing_comments(path: Path, mark: str, missing: frozenset[str]) -> int | None:
    """The byte where the comment lines below the last row begin (blank lines among them included),
    or ``None`` when the file ends in a row (or its last 64 KiB hold no row); ``missing``: the words
    of a missing cell (:data:`~hipsense.formats.csv_values.MISSING_CELLS`), which are no text."""
    size = path.stat().st_size
    start = max(0, size - TRAILER_SEARCH_BYTES)
    with open(path, "rb") as fh:
        fh.seek(start)
        tail = fh.read()
    # lines end where pandas ends them: at \r\n, \r or \n; from a cut line on, the first is no whole line
    ends = [m.end() for m in re.finditer(rb"\r\n|\r|\n", tail)]
    bounds = ([0] if start == 0 else []) + ends + ([] if ends and ends[-1] == len(tail) else [len(tail)])
    cut = None
    for begin, end in reversed(list(zip(bounds[:-1], bounds[1:], strict=True))):
        text = tail[begin:end].decode("utf-8", errors="replace").strip("\r\n")
        cells = text.split(mark)
        if not "".join(cells).strip():  # blank, or bare separators: no row to read
            continue
        if not text.startswith(mark) or all(_is_number(c, missing) for c in cells[1:]):
            return cut  # a row
        cut = start + begin
    return None  # comments up to the search's start: the header or the preamble, not a trailer


class RowsUpTo(io.RawIOBase):
    """The file's bytes up to ``end``, for pandas to read the rows above a trailer from."""

    def __init__(self, path: Path, end: int) -> None:
        self._fh = open(path, "rb")  # noqa: SIM115 (closed with this object)
        self._left = end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self._fh.readinto(memoryview(buffer)[: min(len(buffer), self._left)])
        self._left -= n
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


@contextmanager
def rows_source(path: Path, end: int | None) -> Iterator[Path | io.BufferedIOBase]:
    """What pandas reads the rows from: the file, or its bytes up to ``end`` (closed on leaving)."""
    if end is None:
        yield path
        return
    with io.BufferedReader(RowsUpTo(path, end), os.stat(path).st_blksize or 1 << 16) as source:
        yield source


__all__ = ["ROWS_END", "TRAILER_SEARCH_BYTES", "RowsUpTo", "rows_source", "trailing_comments"]
