"""Reading a CSV's rows in chunks, in one pass or two (:func:`hipsense.formats.csv_input.read_imu_csv`).

The first pass keeps the times, the empty cells and the range counts (and the values themselves for a
file of at most :data:`KEEP_ROWS` rows); once the clock has placed the rows, the second pass writes the
values straight into the recording's block. Peak memory is then the samples plus the time base's
working arrays, never the whole file parsed at once (docs/csv-input.md, "Memory").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hipsense.conventions import TIME_COLUMN
from hipsense.formats.csv_values import CsvInputError, NotNumbers, beyond_range, file_line, value_chunks

#: Rows whose values the first reading keeps, so a file of at most this many rows is parsed once; a
#: longer one is parsed twice and holds no more than its final samples (docs/csv-input.md, "Memory").
KEEP_ROWS = 1 << 20


@dataclass
class FirstPass:
    """What the first reading of the file learnt, besides the values (which it keeps only when few)."""

    rows: int  # up to the last row that holds anything (spreadsheets end in rows of bare separators)
    times: np.ndarray | None  # the raw time column, or None when the file has none
    holes: np.ndarray  # per row, how many channels have no number (uint8)
    beyond: dict[str, int]  # per channel, values beyond any IMU's range (scaled to SI)
    first_beyond: dict[str, tuple[int, float]]  # per channel, the first such row and its value


class Reading:
    """The file read ``chunk_rows`` rows at a time, twice when it has more than ``keep_rows`` rows:
    first the times, the holes and the range of the values; then, once the clock has placed the rows,
    the values themselves into the recording's own block. Peak memory is then the samples plus the
    time base's working arrays, never the whole file parsed at once."""

    def __init__(
        self,
        path: Path,
        header: int,
        sep: str,
        ours: dict[str, str],
        first_line: int,
        wanted: list[str],
        scale: dict[str, float],
        chunk_rows: int,
        keep_rows: int,
        layout: dict[str, Any] | None = None,
    ) -> None:
        self.path, self.header, self.sep, self.ours, self.first_line = path, header, sep, ours, first_line
        self.layout = layout
        self.wanted, self.scale, self.chunk_rows, self.keep_rows = wanted, scale, chunk_rows, keep_rows
        self.text = False
        self.kept: list[dict[str, np.ndarray]] | None = None
        self.stamp = _stamp(path)

    def _chunks(self) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        return value_chunks(
            self.path,
            self.header,
            self.sep,
            self.ours,
            self.first_line,
            text=self.text,
            chunk_rows=self.chunk_rows,
            layout=self.layout,
        )

    def line(self, row: int) -> int:
        """The file line of data row ``row`` (lines pandas skips, blank or comment, are no rows)."""
        return file_line(self.path, self.first_line, row, (self.layout or {}).get("comment"), self.sep)

    def first_pass(self) -> FirstPass:
        try:
            return self._first()
        except NotNumbers:  # text in a number's place: read as text, which names the cell
            self.text = True
            return self._first()

    def _first(self) -> FirstPass:
        kept: list[dict[str, np.ndarray]] | None = []
        times: list[np.ndarray] = []
        holes: list[np.ndarray] = []
        beyond = dict.fromkeys(self.wanted, 0)
        first: dict[str, tuple[int, float]] = {}
        last = -1
        for start, chunk in self._chunks():
            m = len(next(iter(chunk.values())))
            empty = np.logical_and.reduce([np.isnan(v) for v in chunk.values()])
            if not empty.all():
                last = start + int(np.flatnonzero(~empty)[-1])
            if TIME_COLUMN in chunk:
                times.append(chunk[TIME_COLUMN])
            count = np.zeros(m, dtype=np.uint8)
            scaled = {}
            for c in self.wanted:
                count += np.isnan(chunk[c])
                scaled[c] = v = chunk[c] * self.scale[c]
                out = beyond_range(c, v)
                k = int(out.sum())
                if k:
                    beyond[c] += k
                    if c not in first:
                        i = int(np.flatnonzero(out)[0])
                        first[c] = (start + i, float(v[i]))
            holes.append(count)
            if kept is not None:
                kept.append(scaled)
                if start + m > self.keep_rows:
                    kept = None  # a long file: read again once the clock is known
        self.kept = kept
        n = last + 1
        joined_times = np.concatenate(times)[:n] if times else None
        joined_holes = np.concatenate(holes)[:n] if holes else np.empty(0, dtype=np.uint8)
        return FirstPass(n, joined_times, joined_holes, beyond, first)

    def second_pass(self, out: np.ndarray, nan: np.ndarray) -> int:
        """The rows with a number in every channel (``~nan``), in SI units, packed at the start of each
        row of ``out`` in the file's order; returns how many."""
        n = len(nan)
        if self.kept is not None:
            chunks: Iterable[tuple[int, dict[str, np.ndarray]]] = _starts(self.kept)
            scaled = True
        else:
            if _stamp(self.path) != self.stamp:
                raise CsvInputError(self.path, "the file changed while it was read: read it again")
            chunks, scaled = self._chunks(), False
        j = 0
        end = 0
        for start, chunk in chunks:
            if start >= n:
                break
            stop = min(n, start + len(chunk[self.wanted[0]]))
            have = ~nan[start:stop]
            if not scaled and not np.array_equal(
                np.logical_or.reduce([np.isnan(chunk[c][: stop - start]) for c in self.wanted]), ~have
            ):
                raise CsvInputError(self.path, "the file changed while it was read: read it again")
            count = int(have.sum())
            for k, c in enumerate(self.wanted):
                v = chunk[c][: stop - start]
                out[k, j : j + count] = (v if scaled else v * self.scale[c])[have]
            j += count
            end = stop
        if end != n:
            raise CsvInputError(self.path, "the file changed while it was read: read it again")
        return j


def _starts(chunks: list[dict[str, np.ndarray]]) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    start = 0
    for chunk in chunks:
        yield start, chunk
        start += len(next(iter(chunk.values())))


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


__all__ = ["KEEP_ROWS", "FirstPass", "Reading"]
