"""Adapter: an IMU CSV (the clip's own exports and other loggers' files) -> :class:`~hipsense.recording.Recording`.

A CSV has a header row (comment or preamble lines above it are skipped when the header is recognised,
or by ``skip_rows``; a rate they state is read), a time column ``t_s`` (seconds, milliseconds,
microseconds or UNIX time in one of those, Xsens' 100-us ticks or a sample counter; or a fixed
``sample_rate_hz`` given by the caller) and either sensor-frame columns ``acc_x,
acc_y, acc_z`` [``gyr_x, gyr_y, gyr_z``] or body-frame columns ``acc_is`` [``acc_ml``, ``acc_pa``,
``gyr_is``, ``gyr_ml``, ``gyr_pa``]. Other column names are mapped with ``columns={"acc_is":
"acc_v_g", ...}`` (our name -> the file's name). Values come back in SI units: m/s^2 and deg/s.

The time column is the truth (:mod:`hipsense.timebase`): the rate is fitted to it, dropped rows and
empty cells become short filled holes, long pauses become gaps between segments. The contract, with
its limits, is docs/csv-input.md.

Every problem raises :class:`CsvInputError`, one line naming the file, the line where that is known,
and what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from hipsense.conventions import TIME_COLUMN
from hipsense.formats.csv_dates import read_start_times, start_time_from_name
from hipsense.formats.csv_header import (
    HEADER_SEARCH_LINES,
    choose_frame,
    data_layout,
    find_header,
    head_lines,
    header_separator,
    parse_column_map,
    stated_rate,
)
from hipsense.formats.csv_passes import KEEP_ROWS, Reading
from hipsense.formats.csv_time_order import TimeOrderError, check_order
from hipsense.formats.csv_units import ACC_UNITS, GYR_UNITS, check_options
from hipsense.formats.csv_values import (
    CHUNK_ROWS,
    MAX_ACC_MS2,
    MAX_GYR_DPS,
    CsvInputError,
    check_acc_unit,
    check_gyr_unit,
    clipped_share,
    range_error,
)
from hipsense.recording import CHANNEL_DTYPE, DataQuality, Recording, sample_frame
from hipsense.time_units import (
    ISO,
    MAX_PAUSE_S,
    NO_CLOCK,
    NO_CLOCK_HINT,
    SAMPLES,
    UNITS,
    CounterError,
    counter_modulus,
    named_unit,
    seconds_from,
    unwrap,
)
from hipsense.timebase import TimeBaseError, fit_clock, place_runs

AccUnit = Literal["m/s^2", "g"]
GyrUnit = Literal["deg/s", "rad/s"]

#: Shortest recording worth analysing: a few strides either side of the filters' edges (the public treadmill trials last 5 s).
MIN_DURATION_S = 3.0
#: A rate stated in the preamble and the one fitted to the time column may differ by this share before a
#: note says so; beyond ``STATED_REFUSE`` a recognised unit is refused (an unstated 10x error).
STATED_NOTE, STATED_REFUSE = 0.005, 0.05
#: Old name, kept for notebooks written against 0.1.
ImuRecording = Recording


def csv_options(
    sample_rate_hz: float | None = None,
    acc_unit: str = "m/s^2",
    gyr_unit: str = "deg/s",
    columns: dict[str, str] | None = None,
    start_time_unix: float | None = None,
    time_unit: str = "auto",
    skip_rows: int | None = None,
) -> dict[str, Any]:
    """The CSV reading options worth storing (defaults left out, so equal options compare equal)."""
    defaults = {"acc_unit": "m/s^2", "gyr_unit": "deg/s", "time_unit": "auto"}
    given = {
        "start_time_unix": start_time_unix,
        "sample_rate_hz": sample_rate_hz,
        "acc_unit": acc_unit,
        "gyr_unit": gyr_unit,
        "columns": dict(columns) if columns else None,
        "time_unit": time_unit,
        "skip_rows": None if skip_rows is None else int(skip_rows),
    }
    return {k: v for k, v in given.items() if v is not None and v != defaults.get(k)}


def read_imu_csv(
    path: str | Path,
    *,
    sample_rate_hz: float | None = None,
    acc_unit: AccUnit = "m/s^2",
    gyr_unit: GyrUnit = "deg/s",
    columns: dict[str, str] | None = None,
    start_time_unix: float | None = None,
    time_unit: str = "auto",
    skip_rows: int | None = None,
    min_duration_s: float = MIN_DURATION_S,
    chunk_rows: int = CHUNK_ROWS,
    keep_rows: int = KEEP_ROWS,
) -> Recording:
    """Read an IMU CSV into a :class:`~hipsense.recording.Recording` in SI units on its own clock.

    Parameters
    ----------
    path
        The CSV file.
    sample_rate_hz
        Sampling rate when the file has no ``t_s`` column or when ``t_s`` counts samples (else the
        preamble's stated rate); when ``t_s`` is a time, the rate is fitted to it.
    acc_unit, gyr_unit
        Units of the file's acceleration (``"m/s^2"`` or ``"g"``) and angular rate (``"deg/s"`` or
        ``"rad/s"``) columns.
    columns
        Our column name -> the file's column name, for files that name their columns otherwise.
    start_time_unix
        When the first sample was taken (UTC seconds since 1970), for a file whose ``t_s`` is not UNIX
        time (which dates the recording by itself).
    time_unit
        Unit of ``t_s``: ``"s"``, ``"ms"``, ``"us"``, ``"tick100us"`` (Xsens ``SampleTimeFine``), ``"samples"``
        (a counter: ``PacketCounter``) or ``"auto"`` (from the column's name in the file, then its step).
    skip_rows
        Lines before the header; ``None`` finds the header in the first 50 lines.
    min_duration_s
        Shorter recordings are rejected: too short to analyse.
    chunk_rows
        Rows parsed at a time (memory of the parser).
    keep_rows
        A file of more rows is read twice (the time base first, then the values straight into the
        recording), so that its peak memory stays near its samples' size; results are the same.
    """
    path = Path(path)
    check_options(path, acc_unit, gyr_unit, time_unit, sample_rate_hz, chunk_rows)
    if not path.is_file():
        raise CsvInputError(path, "no such file")
    if path.stat().st_size == 0:
        raise CsvInputError(path, "the file is empty")
    rename = {theirs: ours for ours, theirs in (columns or {}).items()}
    lines = head_lines(path, max(HEADER_SEARCH_LINES, (skip_rows or 0) + 1) + 1)  # and the line below
    header = find_header(path, lines, rename, skip_rows)
    stated = stated_rate(path, lines[:header])  # the preamble's (MT Manager's "// Update Rate: 100.0Hz")
    said = stated[1] if stated else ""
    rate_given = sample_rate_hz if sample_rate_hz is not None else stated[0] if stated else None
    sep = header_separator(lines, header)
    clockless = time_unit == NO_CLOCK  # the time column is no clock: rows are consecutive samples
    units = {"acc": acc_unit, "gyr": gyr_unit, TIME_COLUMN: "auto" if clockless else time_unit}
    layout = data_layout(path, lines, header, sep, rename, units)
    names, first_line = layout.names, layout.first_line  # file line of the first data row
    missing_mapped = [theirs for theirs in rename if theirs not in names]
    if missing_mapped:
        raise CsvInputError(
            path,
            f"column {missing_mapped[0]!r} named in --columns is not in the file (it has {', '.join(names)})",
            line=header + 1,
        )
    present = {rename.get(c, c) for c in names}
    chosen = choose_frame(path, present)
    if chosen is None:
        raise CsvInputError(
            path,
            "no acceleration columns: need acc_x, acc_y, acc_z (sensor frame) or at least acc_is (body "
            f"frame); found {', '.join(sorted(present)) or 'none'} (map other names with --columns)",
            line=header + 1,
        )
    frame, wanted = chosen
    has_time = TIME_COLUMN in present and not clockless
    if not has_time and rate_given is None:
        raise CsvInputError(
            path, f"no time column {TIME_COLUMN!r} read: add one or give the sample rate (--sample-rate)"
        )
    read = set(wanted) | ({TIME_COLUMN} if has_time else set())
    ours = {c: rename.get(c, c) for c in names if rename.get(c, c) in read}
    scale = {c: ACC_UNITS[acc_unit] if c.startswith("acc_") else GYR_UNITS[gyr_unit] for c in wanted}
    reading = Reading(path, header, sep, ours, first_line, wanted, scale, chunk_rows, keep_rows, layout.read)
    seen = reading.first_pass()
    n = seen.rows
    if n < 2:
        raise CsvInputError(path, f"only {n} data row(s): too short to analyse")
    t = seen.times
    notes: list[str] = layout.notes
    start = start_time_unix
    if t is not None:
        if np.isnan(t).any():
            i = int(np.flatnonzero(np.isnan(t))[0])
            raise CsvInputError(
                path, f"{TIME_COLUMN} is empty or missing: every row needs its time", line=reading.line(i)
            )
        column = (columns or {}).get(TIME_COLUMN, TIME_COLUMN)
        unit = named = layout.time_unit or named_unit(column, time_unit)
        modulus = counter_modulus(unit, t)
        if modulus is not None:  # a counter that wraps (Xsens' SampleTimeFine, PacketCounter)
            try:
                t = unwrap(t, modulus)
            except CounterError as e:
                raise CsvInputError(
                    path, f"{TIME_COLUMN} ({column}): {e}", line=reading.line(e.row)
                ) from None
        try:
            repeats = check_order(t, modulus, unit)
        except TimeOrderError as e:
            raise CsvInputError(path, str(e), line=reading.line(e.row + 1)) from None
        if repeats:
            notes.append(
                f"{TIME_COLUMN} repeats the row before's at {repeats} row{'s' * (repeats > 1)}: each a sample, placed by the clock fit"
            )
        try:
            seconds, epoch, unit = seconds_from(t, unit, rate_given)
        except TimeBaseError as e:
            raise CsvInputError(path, f"{TIME_COLUMN}: {e}") from None
        # The jump's message is made now so that the raw times can go before the clock is fitted (its
        # arrays are the largest this reader holds); it is raised after the fit, as before.
        jump = np.flatnonzero(np.diff(seconds) > MAX_PAUSE_S)
        jumped = None
        if len(jump):
            i = int(jump[0])
            jumped = CsvInputError(
                path,
                f"{TIME_COLUMN} jumps {(seconds[i + 1] - seconds[i]) / 86400:.3g} days forward ({t[i]:g} then "
                f"{t[i + 1]:g}): a corrupt time? one recording pauses for {MAX_PAUSE_S / 86400:g} days at most",
                line=reading.line(i + 1),
            )
        del t, jump
        seen.times = None
        try:
            clock = fit_clock(seconds)
        except TimeBaseError as e:
            raise CsvInputError(path, f"{TIME_COLUMN}: {e}") from None
        del seconds
        if jumped is not None:
            raise jumped
        if epoch is not None and start_time_unix is not None:
            dated = "holds date-times" if layout.time_unit == ISO else "is UNIX time"
            raise CsvInputError(path, f"{TIME_COLUMN} {dated} already, so it needs no start time given")
        source = "units row" if layout.time_unit else "step" if named == "auto" else "name"
        how = "" if time_unit != "auto" else f" (recognised from its {source})"
        if unit == SAMPLES:
            source = "--sample-rate" if sample_rate_hz is not None else said
            notes.append(f"{TIME_COLUMN} ({column}) counts samples{how} at {rate_given:g} Hz ({source})")
        elif unit != "s":
            notes.append(f"{TIME_COLUMN} read in {unit}{how}")
        if stated is not None and unit != SAMPLES and abs(clock.rate_hz / stated[0] - 1) > STATED_NOTE:
            differ = f"{said}, {TIME_COLUMN} read in {unit} gives {clock.rate_hz:.4g} Hz"
            if time_unit == "auto" and abs(clock.rate_hz / stated[0] - 1) > STATED_REFUSE:
                raise CsvInputError(path, f"{differ}: state its unit with --time-unit ({', '.join(UNITS)})")
            notes.append(f"{differ}: times follow {TIME_COLUMN}")
        if sample_rate_hz is not None and unit != SAMPLES:
            notes.append(
                f"sample rate fitted to {TIME_COLUMN} ({clock.rate_hz:.3f} Hz); --sample-rate ignored"
            )
        if clock.max_residual_s > 0.25 / clock.rate_hz:
            notes.append(
                f"{TIME_COLUMN} strays up to {clock.max_residual_s * 1000:.1f} ms from a uniform clock "
                "(jitter or drift): times follow the fitted clock"
            )
        run, index, run_start, rate = clock.run, clock.index, clock.run_start_s, clock.rate_hz
        max_fill: int | None = clock.max_fill
        del clock
    else:
        assert rate_given is not None
        epoch, rate, max_fill = None, float(rate_given), None
        if stated is not None and sample_rate_hz is None:
            notes.append(f"no {TIME_COLUMN}: rows {1 / rate:.4g} s apart, as {said}")
        elif stated is not None and abs(rate / stated[0] - 1) > STATED_NOTE:
            notes.append(f"{said}; --sample-rate {rate:g} Hz used")
        if clockless and TIME_COLUMN in present:
            notes.append(f"{TIME_COLUMN} not read (--time-unit {NO_CLOCK}): rows are consecutive samples")
        run, index, run_start = np.zeros(n, np.int64), np.arange(n, dtype=np.int64), np.zeros(1)

    for col in wanted:
        if seen.beyond[col]:
            i, value = seen.first_beyond[col]
            raise range_error(
                path,
                col,
                value,
                acc_unit if col.startswith("acc_") else gyr_unit,
                seen.beyond[col] / n,
                reading.line(i),
            )
    nan = seen.holes > 0
    nan_cells = int(seen.holes.sum(dtype=np.int64))
    rows = np.flatnonzero(~nan)
    if not len(rows):
        raise CsvInputError(path, "no row has a number in every column")
    # Each row with data a run of one sample; ``placed`` is then each one's grid row, in order.
    try:
        grid, placed = place_runs(run[rows], index[rows], 1, run_start, rate, max_fill=max_fill)
    except TimeBaseError as e:  # holes from the clock or from empty cells: a forged or broken file
        raise CsvInputError(
            path,
            f"{e}: most rows are missing from {TIME_COLUMN} or have an empty cell (or it stamps batches of "
            f"rows as they arrive: {NO_CLOCK_HINT})",
        ) from None
    del run, index, rows
    # The channels in one float32 block, a channel in each row (the recording's own block, no copy).
    block = np.empty((len(wanted), len(grid.times_s)), dtype=CHANNEL_DTYPE)
    times = grid.times_s
    filled = grid.filled if grid.filled_samples else None
    origin_s, gaps, segments = grid.origin_s, grid.gaps, grid.segments
    filled_samples, missing_samples = grid.filled_samples, grid.missing_samples
    del grid
    # The rows with data first packed at the start of each channel's row, where the checks read them
    # (views, in the file's order); then moved to their grid rows and the holes filled.
    good_rows = reading.second_pass(block, nan)
    del nan, seen, reading
    total = block.shape[1]
    if good_rows == total:  # every grid row has its file row already: nothing to move
        del placed
    good = {c: block[k, :good_rows] for k, c in enumerate(wanted)}
    acc = [good[c] for c in wanted if c.startswith("acc_")]
    check_acc_unit(path, acc, acc_unit)
    check_gyr_unit(path, acc, [good[c] for c in wanted if c.startswith("gyr_")], gyr_unit)
    share = round(clipped_share(good), 6)
    del good, acc
    recorded = total / rate
    if recorded < min_duration_s:
        raise CsvInputError(
            path, f"only {recorded:.1f} s of data: too short to analyse (need {min_duration_s:g} s)"
        )
    if good_rows < total:
        holes = np.flatnonzero(filled) if filled is not None else np.empty(0, np.int64)
        for row in block:
            row[placed] = row[:good_rows]  # numpy buffers the overlap: placed[j] >= j
            if len(holes):  # every hole lies inside a segment, between two rows with data
                row[holes] = np.interp(holes, placed, row[placed])
        del placed
    data = sample_frame(times, block, wanted)
    if epoch is not None:
        # to the millisecond: the fitted first row may lie a hair before its stamp (00:00:00.000 fitted
        # as 23:59:59.9998 was shown as the day before)
        start = round(epoch + origin_s, 3)
        when = pd.Timestamp(start, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M:%S")
        notes.append(f"{TIME_COLUMN} is UNIX time: the recording started {when} UTC")
    if gaps:
        notes.append(
            f"{len(gaps)} gap(s) in the recording ({sum(g.duration_s for g in gaps):.1f} s): its "
            f"{len(segments)} parts are analysed apart"
        )
    if filled_samples:  # a logger drops few rows: stamps taken as batches of rows arrive look like many
        many = f" ({filled_samples / total:.0%}: batch stamps? {NO_CLOCK_HINT})"
        notes.append(
            f"{filled_samples} sample(s) filled by interpolation (dropped rows or empty cells)"
            f"{many if filled_samples * 10 > total else ''}"
        )
    quality = DataQuality(
        gaps=gaps,
        missing_samples=missing_samples,
        filled_samples=filled_samples,
        nan_cells=nan_cells,
        clipped_share=share,
        nominal_rate_hz=float(rate_given) if rate_given is not None and not has_time else None,
        sample_rate_hz=round(rate, 4),
        start_time_unix=int(start) if start is not None else None,
    )
    return Recording(
        data,
        frame,
        rate,
        path,
        notes,
        filled=filled,
        start_time_unix=start,
        segments=segments,
        quality=quality,
    )


__all__ = [
    "ACC_UNITS",
    "GYR_UNITS",
    "MAX_ACC_MS2",
    "MAX_GYR_DPS",
    "MIN_DURATION_S",
    "CsvInputError",
    "ImuRecording",
    "csv_options",
    "parse_column_map",
    "read_imu_csv",
    "read_start_times",
    "start_time_from_name",
]
