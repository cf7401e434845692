"""Whether a CSV's time column runs forward, read before its unit is known.

A time that goes back is refused at its row. A time that repeats the one before it is rows a logger
read at once from a backlog and stamped within one tick of its clock (a PC or phone logger's 1 ms
clock after its reading thread stalled): kept, where the clock ticks finer than the rows
(:func:`hipsense.timebase_steps.coarse_repeats`), and the clock fit places them. On a clock as coarse as
the rows (10 ms stamps at 208 Hz) the repeats say nothing of when each row was taken: refused, with
the way to read the rows by their rate instead. A row written twice on a fine clock cannot be told
from a backlog by its time: it is read as one sample more (4.8 ms at 208 Hz), and the note says so.
"""

from __future__ import annotations

import numpy as np

from hipsense.conventions import TIME_COLUMN
from hipsense.iso_time import iso_text
from hipsense.time_units import ISO, NO_CLOCK_HINT
from hipsense.timebase_steps import coarse_repeats

#: Share of repeated stamps above which a refusal says the clock is coarser than the samples.
COARSE_SHARE = 0.01


class TimeOrderError(ValueError):
    """The time column goes back, or repeats on a coarse clock, after data row ``row``."""

    def __init__(self, message: str, row: int) -> None:
        super().__init__(message)
        self.row = row


def check_order(t: np.ndarray, modulus: float | None = None, unit: str | None = None) -> int:
    """How many times repeat the one before them; raises :class:`TimeOrderError` where the column
    cannot be a clock. ``modulus``: a wrapping counter's, so that the message shows the counter's own
    values rather than the unwrapped ones; ``unit`` :data:`~hipsense.time_units.ISO`: date-times, shown
    as such."""
    step = np.diff(t)
    back = step < 0
    repeats = int(np.count_nonzero(step == 0))
    if back.any() or coarse_repeats(step):
        i = int(np.flatnonzero(back | (step == 0))[0])

        def shown(value: float) -> str:
            return iso_text(value) if unit == ISO else f"{value % (modulus or np.inf):g}"

        share = repeats / len(step)
        hint = ""  # a few repeats on a fine clock are rows written twice, not a coarse clock
        if share > COARSE_SHARE and not back.any():
            hint = f"; {share:.0%} of steps are 0, stamps coarser than the samples: {NO_CLOCK_HINT}"
        raise TimeOrderError(
            f"time goes backwards or repeats ({TIME_COLUMN} {shown(t[i])} then {shown(t[i + 1])}){hint}",
            i,
        )
    return repeats


__all__ = ["TimeOrderError", "check_order"]
