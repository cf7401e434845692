"""Adapter: a decoded clip session (a file, or the live stream's bytes) -> :class:`~hipsense.recording.Recording`.

The recording is timed by the IMU's own clock: its output rate measured from the blocks' device
timestamps (:func:`measured_sample_rate`), falling back to the header's nominal rate for short
sessions. The samples' numbers place them on the grid (:func:`hipsense.timebase.place_on_grid`, the
same as for a CSV): a short run of lost samples (at most :data:`~hipsense.timebase.MAX_FILL_S`) is put
back by interpolation and marked ``filled``; a longer one (a lost block, a long FIFO overflow) is a gap
between segments, for which no rows are made, so forged sample numbers cannot make it allocate more
than the samples it holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hipsense.conventions import SENSOR_ACC, SENSOR_GYR, TIME_COLUMN
from hipsense.errors import SessionFileError
from hipsense.recording import DataQuality, DeviceInfo, Recording
from hipsense.timebase import Grid, TimeBaseError, place_on_grid

if TYPE_CHECKING:
    from hipsense.formats.device_file import DecodedSession, SessionHeader

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


def recording_from_session(session: DecodedSession) -> Recording:
    """A decoded device session as a sensor-frame :class:`Recording` on the IMU's measured clock."""
    header = session.header
    nominal = float(header.sample_rate_hz)
    fs = measured_sample_rate(session) or nominal
    idx = np.asarray(session.sample_index, dtype=np.int64)
    if len(idx) == 0:
        raise SessionFileError(session.path or "<session>", "no samples to analyse")
    try:
        # one clock stretch: a broadcast 0 per row, not 8 bytes a row
        grid = place_on_grid(np.broadcast_to(np.int64(0), idx.shape), idx, np.zeros(1), fs)
    except TimeBaseError as e:
        raise SessionFileError(session.path or "<session>", f"samples cannot be timed: {e}") from None
    counts = np.asarray(session.counts)
    df = _grid_frame(grid, counts, header)
    quality = DataQuality(
        gaps=grid.gaps,
        # the device's own count, which includes samples lost before the first one kept
        missing_samples=int(sum(c for _, c in session.report.gaps)),
        filled_samples=grid.filled_samples,
        overflow_lost=int(session.report.overflow_lost),
        corrupt_blocks=len(session.report.corrupt_blocks),
        clipped_share=_clipped_share(counts),
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


#: Rows per pass when a check runs over every sample, so its temporaries stay a few MB.
PASS_ROWS = 1 << 20


def _clipped_share(counts: np.ndarray) -> float:
    """Share of samples with any channel at full scale (+-32767; -32768 too), in bounded passes."""
    if not len(counts):
        return 0.0
    hits = 0
    for a in range(0, len(counts), PASS_ROWS):
        c = counts[a : a + PASS_ROWS]
        hits += int(np.count_nonzero(((c >= 32767) | (c <= -32767)).any(axis=1)))
    return hits / len(counts)


def _grid_frame(grid: Grid, counts: np.ndarray, header: SessionHeader) -> pd.DataFrame:
    """``t_s`` and the channels in SI units on the grid, the same values as scaling
    :meth:`DecodedSession.to_dataframe` and :meth:`Grid.take` give, built in one float64 block (each
    column contiguous) that the DataFrame keeps without copying: a 10 h session's samples are 360 MB
    as float64, and building them through intermediate frames held three copies at once."""
    scales = [header.acc_scale_ms2] * 3 + ([header.gyr_scale_dps] * 3 if header.channels == 6 else [])
    names = list(SENSOR_ACC) + (list(SENSOR_GYR) if header.channels == 6 else [])
    n_rows = len(grid.times_s)
    block = np.empty((1 + len(names), n_rows), dtype=np.float64)
    block[0] = grid.times_s
    # Every input row on its own grid row (no hole filled): the scaled counts are the column itself.
    direct = n_rows == len(counts) and bool(np.all(grid.source == np.arange(n_rows)))
    for j, scale in enumerate(scales):
        if direct:
            np.multiply(counts[:, j], scale, out=block[1 + j])
        else:
            block[1 + j] = grid.take(counts[:, j] * scale)
    return pd.DataFrame(block.T, columns=[TIME_COLUMN, *names], copy=False)


__all__ = ["MAX_CLOCK_ERROR", "MIN_CLOCK_SPAN_S", "measured_sample_rate", "recording_from_session"]
