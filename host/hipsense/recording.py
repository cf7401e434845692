"""The typed objects that travel between the stages: a :class:`Recording` in, its :class:`DataQuality`.

Every input adapter (:mod:`hipsense.formats`: the clip's session file, a CSV, the live stream) turns its
input into a :class:`Recording` and nothing else; :func:`hipsense.analysis.analyse` turns a recording
into a :class:`~hipsense.analysis.SessionResult`. Nothing downstream needs to know which adapter made it.

Time base (contract, docs/code-layout.md): the recording's own clock is the truth. ``data`` holds the
samples on a uniform grid *within each gap-free stretch* (``segments``), at the measured rate
``sample_rate_hz``; its ``t_s`` column is each sample's time on the recording's clock, seconds from the
start of the recording. Between two segments the clock jumps (a gap): no filter, step or bout spans a
segment boundary. Short holes (a few lost samples, empty cells) are filled by interpolation inside a
segment and marked in ``filled``.

Precision (contract): the sensor channels (``acc_*``, ``gyr_*``, either frame) are float32, the time
column float64. Float32's 24-bit mantissa holds every 16-bit IMU count exactly, times its scale to
within 6e-8 of its value, and halves a long session's memory; times need float64 (a 10 h session's
clock in s with sub-microsecond steps). :class:`Recording` converts any other channel dtype it is given
(a notebook's float64 frame); the adapters build float32 directly (:func:`sample_frame`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from hipsense.conventions import TIME_COLUMN
from hipsense.errors import HipsenseError

Frame = Literal["sensor", "body"]

#: The dtype of every sensor channel of a :class:`Recording` (module docstring: "Precision").
CHANNEL_DTYPE = np.float32


def is_channel(name: str) -> bool:
    """Whether a column is a sensor channel (``acc_*`` or ``gyr_*``, in either frame)."""
    return name.startswith(("acc_", "gyr_"))


def sample_frame(times_s: np.ndarray, channels: np.ndarray, names: list[str]) -> pd.DataFrame:
    """``t_s`` (float64) and the channels from one ``(len(names), n)`` float32 block, as a DataFrame
    that keeps both arrays as they are: two pandas blocks, no copy, each column contiguous."""
    times = pd.DataFrame({TIME_COLUMN: np.asarray(times_s, dtype=np.float64)}, copy=False)
    values = pd.DataFrame(np.asarray(channels, dtype=CHANNEL_DTYPE).T, columns=names, copy=False)
    return pd.concat([times, values], axis=1)


@dataclass(frozen=True)
class Gap:
    """A stretch of the recording's clock with no samples.

    ``start_s``: the recording-clock time of the last sample before the gap; ``duration_s``: the time
    from that sample to the next one minus one sample period (the time really missing);
    ``missing_samples``: how many samples the clock says were lost.
    """

    start_s: float
    duration_s: float
    missing_samples: int


@dataclass
class DataQuality:
    """What the input says about its own trustworthiness (contract: documented in docs/metrics.md).

    Filled by the adapter (gaps, holes, overflows, corrupt blocks, clipping, clock) and completed by
    the analysis (alignment confidence, where the sides came from, share of doubtful steps).

    Attributes
    ----------
    gaps
        Breaks in the recording's clock longer than the longest hole that is filled (a new segment
        starts after each).
    missing_samples
        Samples lost in gaps and holes together, as the clock counts them.
    filled_samples
        Samples filled by interpolation inside a segment (short holes: dropped rows, empty cells, a
        block the device lost).
    nan_cells
        Empty or non-numeric cells in the input (each makes its sample a filled hole).
    overflow_lost
        Samples the clip's IMU FIFO lost (from the block flags).
    corrupt_blocks
        Session-file blocks skipped for a bad CRC or marker.
    clipped_share
        Share of samples with at least one channel at its full-scale limit.
    nominal_rate_hz, sample_rate_hz
        The rate the input claims and the rate measured from its own clock.
    start_time_unix
        When the recording began (UTC seconds since 1970), ``None`` when unknown.
    alignment_confidence, side_source, doubtful_step_share
        Set by the analysis: how sure the mounting estimate is, where the sides came from
        (``"gyroscope"``, ``"acc_ml"``, ``"given"`` or ``"unknown"``), and the share
        of steps with a quality note.
    """

    gaps: list[Gap] = field(default_factory=list)
    missing_samples: int = 0
    filled_samples: int = 0
    nan_cells: int = 0
    overflow_lost: int = 0
    corrupt_blocks: int = 0
    clipped_share: float = 0.0
    nominal_rate_hz: float | None = None
    sample_rate_hz: float | None = None
    start_time_unix: int | None = None
    alignment_confidence: float | None = None
    side_source: str | None = None
    doubtful_step_share: float | None = None

    @property
    def gap_time_s(self) -> float:
        return float(sum(g.duration_s for g in self.gaps))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored with the summary; unset fields are left out."""
        d = asdict(self)
        d["gaps"] = [[round(g.start_s, 4), round(g.duration_s, 4), g.missing_samples] for g in self.gaps]
        return {k: v for k, v in d.items() if v is not None}


@dataclass(frozen=True)
class DeviceInfo:
    """What a clip's session header says about the clip (``None`` fields: not known)."""

    device_id: str | None = None
    firmware: str | None = None
    sensor: str | None = None
    mounting_hint: str | None = None
    session_id: int | None = None


@dataclass
class Recording:
    """An IMU recording in SI units (m/s^2, deg/s), in the sensor or the body frame.

    The channels are float32 and ``t_s`` float64 (module docstring: "Precision"); a frame given with
    other dtypes is converted once here (a new frame: the caller's is left as it was).

    Parameters
    ----------
    data
        ``t_s`` (recording clock, s from the start) plus the frame's columns that the input holds.
    frame
        ``"sensor"`` (``acc_x...``) or ``"body"`` (``acc_is...``).
    sample_rate_hz
        The measured rate of the uniform grid inside each segment.
    source
        The file it came from, ``None`` for data made in memory.
    segments
        ``(k, 2)`` row ranges ``[start, end)`` of the gap-free stretches; ``None`` means one segment
        over all rows.
    filled
        Per row, ``True`` where the sample was interpolated across a short hole; ``None`` when none was.
    start_time_unix
        When the recording began (UTC s), ``None`` when unknown.
    quality
        The adapter's :class:`DataQuality`.
    device
        The clip's identity, for session files.
    notes
        Remarks of the adapter worth showing to the user.
    """

    data: pd.DataFrame
    frame: Frame
    sample_rate_hz: float
    source: Path | None = None
    notes: list[str] = field(default_factory=list)
    filled: np.ndarray | None = None
    start_time_unix: float | None = None
    #: ``None`` when made means one segment over all rows; always an array after construction.
    segments: np.ndarray = None  # type: ignore[assignment]
    quality: DataQuality = field(default_factory=DataQuality)
    device: DeviceInfo | None = None

    def __post_init__(self) -> None:
        convert = {c: CHANNEL_DTYPE for c in self.data.columns if is_channel(str(c))}
        if TIME_COLUMN in self.data.columns:
            convert[TIME_COLUMN] = np.float64
        if any(self.data[c].dtype != t for c, t in convert.items()):
            try:
                self.data = self.data.astype(convert)
            except (TypeError, ValueError) as e:  # text where a number belongs: one clear line
                raise HipsenseError(
                    f"a recording's channels and {TIME_COLUMN} must be numbers ({e})"
                ) from None
        if self.segments is None:
            self.segments = np.array([[0, len(self.data)]], dtype=np.int64)
        self.segments = np.asarray(self.segments, dtype=np.int64).reshape(-1, 2)
        if self.quality.sample_rate_hz is None:
            self.quality.sample_rate_hz = round(float(self.sample_rate_hz), 4)
        if self.quality.start_time_unix is None and self.start_time_unix is not None:
            self.quality.start_time_unix = int(self.start_time_unix)

    @property
    def has_gyro(self) -> bool:
        return any(c.startswith("gyr_") for c in self.data.columns)

    @property
    def times_s(self) -> np.ndarray:
        return self.data[TIME_COLUMN].to_numpy(dtype=np.float64)

    @property
    def recorded_time_s(self) -> float:
        """Time covered by samples: the sum over segments of their length in sample periods."""
        return float(np.sum(self.segments[:, 1] - self.segments[:, 0])) / self.sample_rate_hz

    @property
    def elapsed_time_s(self) -> float:
        """Time from the first sample to one period after the last, gaps included."""
        t = self.times_s
        return float(t[-1] - t[0]) + 1.0 / self.sample_rate_hz if len(t) else 0.0

    def describe(self) -> dict[str, Any]:
        """What ``hipsense info`` says of a recording that is not a session file: its clock, segments,
        gaps and holes (JSON-ready)."""
        q = self.quality
        return {
            "file": str(self.source) if self.source else None,
            "frame": self.frame,
            "channels": [c for c in self.data.columns if c != TIME_COLUMN],
            "samples": len(self.data),
            "sample_rate_hz": round(float(self.sample_rate_hz), 4),
            "start_time_unix": self.start_time_unix,
            "elapsed_s": round(self.elapsed_time_s, 4),
            "recorded_s": round(self.recorded_time_s, 4),
            "gap_s": round(q.gap_time_s, 4),
            "segments": [[int(a), int(b)] for a, b in self.segments],
            "quality": q.to_dict(),
            "notes": list(self.notes),
        }

    def time_at(self, index: np.ndarray) -> np.ndarray:
        """Recording-clock times of (fractional) row indices; each index is timed within its segment."""
        index = np.asarray(index, dtype=np.float64)
        seg = np.clip(np.searchsorted(self.segments[:, 0], np.floor(index), side="right") - 1, 0, None)
        start = self.segments[seg, 0]
        t = self.times_s
        return t[start] + (index - start) / self.sample_rate_hz


__all__ = [
    "CHANNEL_DTYPE",
    "DataQuality",
    "DeviceInfo",
    "Frame",
    "Gap",
    "Recording",
    "is_channel",
    "sample_frame",
]
