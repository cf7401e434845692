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

The stages read their rows through :class:`Rows`: :class:`FrameRows` of a body-frame DataFrame, or
:class:`RotatedRows`, a sensor-frame recording rotated into the body frame one window at a time (so a
10 h session's body frame, 420 MB as float64, is never built unless asked for).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from hipsense.conventions import TIME_COLUMN
from hipsense.gait.body_frame import body_axis, to_body_frame

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
    n: int, sampling_rate_hz: float, *, window_s: float | None = None, overlap_s: float | None = None
) -> list[Window]:
    """Windows covering ``n`` rows: cores of equal length (at most ``window_s``, default
    :data:`WINDOW_S`) that tile ``[0, n)``, each widened by ``overlap_s`` (default :data:`OVERLAP_S`) on
    both sides within the segment; one window when ``n`` fits in one window with its overlaps."""
    window_s = WINDOW_S if window_s is None else window_s
    overlap_s = OVERLAP_S if overlap_s is None else overlap_s
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

    def column(self, name: str, lo: int, hi: int) -> np.ndarray: ...

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

    def column(self, name: str, lo: int, hi: int) -> np.ndarray:
        return self.data[name].to_numpy()[lo:hi]


class RowSlice:
    """:class:`Rows` ``[start, end)`` of other rows (one gap-free segment of a recording)."""

    def __init__(self, source: Rows, start: int, end: int) -> None:
        if not 0 <= start <= end <= len(source):
            raise ValueError(f"rows [{start}, {end}) outside 0..{len(source)}")
        self.source, self.start, self.end = source, start, end

    def __len__(self) -> int:
        return self.end - self.start

    @property
    def columns(self) -> pd.Index:
        return self.source.columns

    def rows(self, lo: int, hi: int) -> pd.DataFrame:
        return self.source.rows(self.start + lo, self.start + hi)

    def column(self, name: str, lo: int, hi: int) -> np.ndarray:
        return self.source.column(name, self.start + lo, self.start + hi)


def as_rows(data: pd.DataFrame | Rows) -> Rows:
    """``data`` as :class:`Rows` (a DataFrame is wrapped, a row source returned as it is)."""
    return FrameRows(data) if isinstance(data, pd.DataFrame) else data


class RotatedRows:
    """:class:`~hipsense.gait.windows.Rows` of a sensor-frame recording, rotated into the body frame
    window by window (:func:`~hipsense.gait.alignment.to_body_frame`), so the whole body frame is never
    held unless asked for."""

    def __init__(self, data: pd.DataFrame, r_body_from_sensor: np.ndarray) -> None:
        self.data = data
        self.r = np.asarray(r_body_from_sensor, dtype=float)

    def __len__(self) -> int:
        return len(self.data)

    @property
    def columns(self) -> pd.Index:
        return to_body_frame(self.data.iloc[:0], self.r).columns

    def rows(self, lo: int, hi: int) -> pd.DataFrame:
        part = self.data.iloc[lo:hi]
        return to_body_frame(part, self.r).set_axis(pd.RangeIndex(len(part)), axis=0)

    def column(self, name: str, lo: int, hi: int) -> np.ndarray:
        if name == TIME_COLUMN:
            return self.data[name].to_numpy()[lo:hi]
        return body_axis(self.data.iloc[lo:hi], self.r, name)
