"""Adapter: a decoded clip session (a file, or the live stream's bytes) -> :class:`~hipsense.recording.Recording`.

The recording is timed by the IMU's own clock: its output rate measured from the blocks' device
timestamps (:func:`measured_sample_rate`), falling back to the header's nominal rate for short
sessions. The samples' numbers place them on the grid (:func:`hipsense.timebase.place_runs`, the
same as for a CSV, a block's samples one run): a short run of lost samples (at most
:data:`~hipsense.timebase.MAX_FILL_S`) is put back by interpolation and marked ``filled``; a longer one
(a lost block, a long FIFO overflow) is a gap between segments, for which no rows are made, so forged
sample numbers cannot make it allocate more than the samples it holds.

Memory (docs/session-format.md): :func:`read_session_recording` decodes a file pass by pass into the
recording's float32 channels; a 10 h session (7.5 M samples) needs its 240 MB of samples and times,
the file's bytes twice and one pass's temporaries.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hipsense.allocator import keep_freed_memory
from hipsense.conventions import SENSOR_ACC, SENSOR_GYR
from hipsense.errors import SessionFileError
from hipsense.formats.session_reader import read_device_file
from hipsense.recording import CHANNEL_DTYPE, DataQuality, DeviceInfo, Recording, sample_frame
from hipsense.timebase import TimeBaseError, place_runs

if TYPE_CHECKING:
    from hipsense.formats.device_file import DecodedSession

#: The IMU's own clock may run a few per cent off its nominal rate; the blocks' device timestamps (ms)
#: give the real rate once the session is long enough to average out the FIFO read jitter.
MIN_CLOCK_SPAN_S = 60.0
MAX_CLOCK_ERROR = 0.05


def measured_sample_rate(session: DecodedSession) -> float | None:
    """The IMU's real output rate from the blocks' first-sample indices against their device times.

    A least-squares line through (time, index) over at least ``MIN_CLOCK_SPAN_S``; ``None`` when the
    session is too short or the fit disagrees with the nominal rate by more than ``MAX_CLOCK_ERROR``
    (a clock that far off is a fault, not drift, and the header's rate is safer).
    """
    table = getattr(session, "block_table", None)
    if table is None or len(table) < 10:
        return None
    t = np.unwrap(table["t_ms"].astype(np.float64), period=2.0**32) / 1000.0
    idx = table["first_index"].astype(np.float64)
    if t[-1] - t[0] < MIN_CLOCK_SPAN_S:
        return None
    slope = float(np.polyfit(t - t[0], idx - idx[0], 1)[0])
    nominal = float(session.header.sample_rate_hz)
    return slope if abs(slope / nominal - 1) <= MAX_CLOCK_ERROR else None


def read_session_recording(path: str | Path) -> Recording:
    """A session file as a sensor-frame :class:`Recording`, decoded pass by pass straight into the
    recording's float32 channels: neither the session's int16 counts nor a float64 copy of its
    samples is ever held whole (:func:`~hipsense.formats.session_reader.decode_session`'s ``sink``)."""
    keep_freed_memory()  # the passes' temporaries reuse freed pages, not fresh ones (allocator.py)
    channels = _Channels()
    session = read_device_file(path, sink=channels)
    table = session.block_table
    return _recording(
        session, table["first_index"].astype(np.int64), table["n_samples"].astype(np.int64), channels
    )


def recording_from_session(session: DecodedSession) -> Recording:
    """A decoded device session as a sensor-frame :class:`Recording` on the IMU's measured clock."""
    idx = np.asarray(session.sample_index, dtype=np.int64)
    counts = np.asarray(session.counts)
    channels = _Channels()
    for a in range(0, len(counts), PASS_ROWS):
        channels(counts[a : a + PASS_ROWS], a, len(counts))
    # Runs of consecutive sample numbers (a block each, or several blocks without a sample lost).
    first = np.concatenate(([0], np.flatnonzero(np.diff(idx) != 1) + 1)) if len(idx) else idx
    return _recording(session, idx[first], np.diff(np.append(first, len(idx))), channels)


#: Rows per pass when a step runs over every sample, so its temporaries stay a few MB.
PASS_ROWS = 1 << 20


class _Channels:
    """The sink of the decoder: each pass's counts into one float32 ``(channels, rows)`` block, the
    recording's own; counts as they are (exact in float32) until :meth:`place` scales them."""

    def __init__(self) -> None:
        self.block: np.ndarray | None = None
        self.rows = 0
        self.clipped = 0  # rows with a channel at full scale (+-32767; -32768 too)

    def __call__(self, counts: np.ndarray, row: int, rows: int) -> None:
        if self.block is None:
            # room for a few filled holes, so that they are filled in place (pages never written cost
            # no memory); more holes than that and place() moves the samples into a new block
            self.block = np.empty((counts.shape[1], rows + rows // 64 + 64), dtype=CHANNEL_DTYPE)
        rows_of = counts.T  # (channels, m): contiguous when the decoder gives them by channel
        self.block[:, row : row + len(counts)] = rows_of
        self.rows = row + len(counts)
        # at full scale: +32767, -32767 or -32768, as uint16 32767..32769 (one compare a channel)
        limit = np.zeros(len(counts), dtype=bool)
        for c in rows_of:
            limit |= c.view(np.uint16) - np.uint16(32767) <= 2
        self.clipped += int(np.count_nonzero(limit))

    def place(
        self, dest: np.ndarray, count: np.ndarray, filled: np.ndarray, scales: list[float]
    ) -> np.ndarray:
        """The samples moved to their grid rows (run ``i``'s ``count[i]`` samples to ``dest[i]``...),
        scaled to SI units and the ``filled`` rows interpolated in their segment: ``(channels, rows)``."""
        total, block = len(filled), self.block
        assert block is not None
        src = np.cumsum(count) - count
        shift = dest - src  # grows by each hole's size: runs between two holes move together
        cut = np.flatnonzero(np.diff(shift)) + 1
        starts, ends = np.r_[0, cut], np.r_[cut, len(count)]
        out = block if block.shape[1] >= total else np.empty((block.shape[0], total), CHANNEL_DTYPE)
        for row, old in zip(out, block, strict=True):
            for g in reversed(range(len(starts))):  # from the end: a run moves right, over its old place only
                a, b, d = src[starts[g]], src[ends[g] - 1] + count[ends[g] - 1], dest[starts[g]]
                if d != a or out is not block:
                    row[d : d + b - a] = old[a:b]
        del block
        self.block = None
        out = out[:, :total]
        holes = np.flatnonzero(filled)
        # the rows either side of each run of filled rows: all np.interp needs
        edge = np.flatnonzero(np.diff(np.r_[False, filled, False].astype(np.int8)))
        known = np.unique(np.r_[edge[0::2] - 1, edge[1::2]])
        for row, scale in zip(out, scales, strict=True):
            row[holes] = 0.0
            # float64 products rounded once to float32, in the ufunc's own small buffers
            np.multiply(row, np.float64(scale), out=row, dtype=np.float64)
            if len(holes):
                row[holes] = np.interp(holes, known, row[known])
        return out


def _recording(
    session: DecodedSession, first: np.ndarray, count: np.ndarray, channels: _Channels
) -> Recording:
    """The recording of a decoded session whose samples are runs of consecutive sample numbers
    (``first``, ``count``) already in ``channels``, on the IMU's measured clock."""
    header = session.header
    nominal = float(header.sample_rate_hz)
    fs = measured_sample_rate(session) or nominal
    if len(first) == 0 or channels.block is None:
        raise SessionFileError(session.path or "<session>", "no samples to analyse")
    try:
        grid, dest = place_runs(np.zeros(len(first), np.int64), first, count, np.zeros(1), fs)
    except TimeBaseError as e:
        raise SessionFileError(session.path or "<session>", f"samples cannot be timed: {e}") from None
    scales = [header.acc_scale_ms2] * 3 + ([header.gyr_scale_dps] * 3 if header.channels == 6 else [])
    names = list(SENSOR_ACC) + (list(SENSOR_GYR) if header.channels == 6 else [])
    decoded = channels.rows
    df = sample_frame(grid.times_s, channels.place(dest, count, grid.filled, scales), names)
    quality = DataQuality(
        gaps=grid.gaps,
        # the device's own count, which includes samples lost before the first one kept
        missing_samples=int(sum(c for _, c in session.report.gaps)),
        filled_samples=grid.filled_samples,
        overflow_lost=int(session.report.overflow_lost),
        corrupt_blocks=len(session.report.corrupt_blocks),
        clipped_share=channels.clipped / decoded,
        nominal_rate_hz=nominal,
        sample_rate_hz=round(fs, 4),
        # The clip's clock at the start (unix s), None when it was not set; dates the session's flags.
        start_time_unix=int(header.start_time_unix) or None,
    )
    filled = grid.filled if grid.filled_samples else None
    device = DeviceInfo(
        device_id=header.device_id or None,
        firmware=header.firmware_version or None,
        sensor=header.sensor_model or None,
        mounting_hint=header.mounting,
        session_id=int(header.session_id),
    )
    return Recording(
        df,
        "sensor",
        fs,
        session.path,
        filled=filled,
        start_time_unix=quality.start_time_unix,
        segments=grid.segments,
        quality=quality,
        device=device,
    )


__all__ = [
    "MAX_CLOCK_ERROR",
    "MIN_CLOCK_SPAN_S",
    "measured_sample_rate",
    "read_session_recording",
    "recording_from_session",
]
