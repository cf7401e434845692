"""Windows over a long gap-free segment, so per-sample work needs memory for one window, not the session.

The per-sample stages (filters, detectors, the step features) run over one window at a time: a
stretch of ``window_s`` seconds (its *core*) plus ``overlap_s`` seconds on each side. The overlap warms
the zero-phase filters up and holds the steps that reach past the core's edges; every step is owned by
the window whose core holds its contact, so each step is measured once. With a 30 s overlap, what a
filter or a moving window of a few seconds gives in the core is what it gives over the whole segment
(to floating-point rounding): a 4th-order Butterworth's transient has decayed by many orders of
magnitude after a second, and no stage looks further than a few strides.

A segment that fits in one window (up to ``window_s + 2 * overlap_s`` seconds) is one window holding
all of it, so short recordings take exactly the whole-segment route.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

#: Core length of a window (s): 10 minutes at 208 Hz is 125 k samples, a few MB per float64 channel.
WINDOW_S = 600.0
#: Context on each side of a core (s): many strides, so the filters and step windows are warmed up.
OVERLAP_S = 30.0


@dataclass(frozen=True)
class Window:
    """Rows ``[lo, hi)`` are given to a stage; contacts in ``[core_lo, core_hi)`` are kept from it."""

    lo: int
    hi: int
    core_lo: int
    core_hi: int

    def owns(self, index: np.ndarray) -> np.ndarray:
        """True for each (segment) row index that lies in this window's core."""
        index = np.asarray(index)
        return (index >= self.core_lo) & (index < self.core_hi)


def plan_windows(
    n: int, sampling_rate_hz: float, *, window_s: float = WINDOW_S, overlap_s: float = OVERLAP_S
) -> list[Window]:
    """Windows covering ``n`` rows: cores of equal length (at most ``window_s``) that tile ``[0, n)``,
    each widened by ``overlap_s`` on both sides within the segment; one window when ``n`` fits in one
    window with its overlaps."""
    if n < 0:
        raise ValueError(f"a segment has at least 0 rows, got {n}")
    if not (window_s > 0 and overlap_s >= 0 and sampling_rate_hz > 0):
        raise ValueError("window_s and sampling_rate_hz must be positive and overlap_s not negative")
    core = max(1, int(round(window_s * sampling_rate_hz)))
    pad = int(math.ceil(overlap_s * sampling_rate_hz))
    if n <= core + 2 * pad:
        return [Window(0, n, 0, n)]
    count = int(math.ceil(n / core))
    edges = np.linspace(0, n, count + 1).round().astype(np.int64)
    return [
        Window(max(0, int(a) - pad), min(n, int(b) + pad), int(a), int(b))
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]


class Rows(Protocol):
    """A body-frame signal read window by window (``len`` rows; ``rows(lo, hi)`` indexed from 0)."""

    def __len__(self) -> int: ...

    def rows(self, lo: int, hi: int) -> pd.DataFrame: ...

    @property
    def columns(self) -> pd.Index: ...


class FrameRows:
    """:class:`Rows` of a body-frame DataFrame held in memory."""

    def __init__(self, data: pd.DataFrame) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    @property
    def columns(self) -> pd.Index:
        return self.data.columns

    def rows(self, lo: int, hi: int) -> pd.DataFrame:
        if lo == 0 and hi == len(self.data) and self.data.index.equals(pd.RangeIndex(len(self.data))):
            return self.data
        return self.data.iloc[lo:hi].reset_index(drop=True)


def as_rows(data: pd.DataFrame | Rows) -> Rows:
    """``data`` as :class:`Rows` (a DataFrame is wrapped, a row source returned as it is)."""
    return FrameRows(data) if isinstance(data, pd.DataFrame) else data
