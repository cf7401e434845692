"""A ``t_s`` column of ISO 8601 date-times checked as its chunks are read, so that a refusal names
the times as dates (``2026-10-25T00:30:04.99Z``), not as the UNIX seconds they are read as
(``1.79289e+09``, which the reader's checks of numeric clocks print).

Two refusals, which hold on any clock: a time before the one above it, and a jump forward of more
than :data:`~hipsense.time_units.MAX_PAUSE_S`. A time that repeats the one above is left to the
reader's order check (``csv_time_order.check_order``), which decides whether repeats are a clock's
coarseness, and names them as date-times too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipsense.conventions import TIME_COLUMN
from hipsense.iso_time import iso_text
from hipsense.time_units import MAX_PAUSE_S

#: The key of a layout's reading options (``csv_header.Layout.read``) that says ``t_s`` holds ISO 8601
#: date-times: ``csv_values.value_chunks`` reads that column as text and checks it here.
ISO_CLOCK = "iso_clock"


@dataclass
class IsoClock:
    """The order of an ISO clock's times, fed a chunk at a time (NaN, an empty cell, is skipped: the
    reader refuses it on its own); :meth:`problem` is the first refusal and its row, or ``None``."""

    last: float = np.nan  # the latest time seen
    back: tuple[float, float, int] | None = None  # the first step back: the times, the later one's row
    jump: tuple[float, float, int] | None = None  # the first jump beyond the longest pause

    def feed(self, times: np.ndarray, start: int) -> None:
        """Take the times of the rows from ``start`` on."""
        rows = np.flatnonzero(~np.isnan(times))
        if not len(rows):
            return
        t = times[rows]
        before = np.concatenate(([self.last], t[:-1]))
        step = t - before  # NaN before the first time: neither back nor a jump
        for name, bad in (("back", step < 0), ("jump", step > MAX_PAUSE_S)):
            if getattr(self, name) is None and bad.any():
                i = int(np.flatnonzero(bad)[0])
                setattr(self, name, (float(before[i]), float(t[i]), start + int(rows[i])))
        self.last = float(t[-1])

    def problem(self) -> tuple[str, int] | None:
        """The refusal, one line, and the row of the later time; ``None`` when neither was found."""
        if self.back is not None:
            a, b, row = self.back
            return f"time goes backwards ({TIME_COLUMN} {iso_text(a)} then {iso_text(b)})", row
        if self.jump is not None:
            a, b, row = self.jump
            return (
                f"{TIME_COLUMN} jumps {(b - a) / 86400:.3g} days forward ({iso_text(a)} then {iso_text(b)}): "
                f"a corrupt time? one recording pauses for {MAX_PAUSE_S / 86400:g} days at most"
            ), row
        return None


__all__ = ["ISO_CLOCK", "IsoClock"]
