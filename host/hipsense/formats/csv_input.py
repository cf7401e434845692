"""Adapter: an IMU CSV (the clip's own exports and other loggers' files) -> :class:`~hipsense.recording.Recording`.

A CSV has a header row (comment or preamble lines above it are skipped when the header is recognised,
or by ``skip_rows``), a time column ``t_s`` (seconds, milliseconds, microseconds or UNIX time in one of
those; or a fixed ``sample_rate_hz`` given by the caller) and either sensor-frame columns ``acc_x,
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

from hipsense.conventions import BODY_ACC, BODY_GYR, SENSOR_ACC, SENSOR_GYR, TIME_COLUMN, G
from hipsense.formats.csv_dates import read_start_times, start_time_from_name
from hipsense.formats.csv_values import (
    MAX_ACC_MS2,
    MAX_GYR_DPS,
    CsvInputError,
    check_acc_unit,
    check_gyr_unit,
    check_range,
    clipped_share,
    empty_tail,
    read_names,
    read_values,
)
from hipsense.recording import DataQuality, Recording
from hipsense.timebase import TIME_UNITS, TimeBaseError, fit_clock, place_on_grid, seconds_from

AccUnit = Literal["m/s^2", "g"]
GyrUnit = Literal["deg/s", "rad/s"]
ACC_UNITS: dict[str, float] = {"m/s^2": 1.0, "g": G}
GYR_UNITS: dict[str, float] = {"deg/s": 1.0, "rad/s": 180.0 / np.pi}

#: Shortest recording worth analysing: a few strides either side of the filters' edges (the public treadmill trials last 5 s).
MIN_DURATION_S = 3.0
#: Longest pause inside one file (s): a longer jump of the clock is a corrupt time, not a pause.
MAX_PAUSE_S = 7 * 86400.0
#: Lines searched for the header when the file has a preamble.
HEADER_SEARCH_LINES = 50
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
    opts: dict[str, Any] = {}
    if start_time_unix is not None:
        opts["start_time_unix"] = start_time_unix
    if sample_rate_hz is not None:
        opts["sample_rate_hz"] = sample_rate_hz
    if acc_unit != "m/s^2":
        opts["acc_unit"] = acc_unit
    if gyr_unit != "deg/s":
        opts["gyr_unit"] = gyr_unit
    if columns:
        opts["columns"] = dict(columns)
    if time_unit != "auto":
        opts["time_unit"] = time_unit
    if skip_rows is not None:
        opts["skip_rows"] = int(skip_rows)
    return opts


def parse_column_map(text: str) -> dict[str, str]:
    """Parse ``"acc_is=acc_v_g,acc_pa=acc_ap_g"`` into ``{"acc_is": "acc_v_g", "acc_pa": "acc_ap_g"}``."""
    mapping: dict[str, str] = {}
    known = set(SENSOR_ACC + SENSOR_GYR + BODY_ACC + BODY_GYR + (TIME_COLUMN,))
    for item in filter(None, (part.strip() for part in text.split(","))):
        ours, sep, theirs = item.partition("=")
        ours, theirs = ours.strip(), theirs.strip()
        if not sep or not ours or not theirs:
            raise ValueError(f"column mapping {item!r} is not of the form our_name=file_name")
        if ours not in known:
            raise ValueError(f"column mapping {item!r}: {ours!r} is not one of {', '.join(sorted(known))}")
        mapping[ours] = theirs
    return mapping


# -- reading ------------------------------------------------------------------------------------------
def _choose_frame(path: Path, present: set[str]) -> tuple[Literal["sensor", "body"], list[str]] | None:
    if set(SENSOR_ACC) <= present:
        gyro = [c for c in SENSOR_GYR if c in present]
        if gyro and len(gyro) != 3:
            missing = ", ".join(c for c in SENSOR_GYR if c not in present)
            raise CsvInputError(
                path, f"gyroscope columns incomplete: {missing} missing (give all three or none)"
            )
        return "sensor", [*SENSOR_ACC, *gyro]
    if "acc_is" in present:
        return "body", [c for c in BODY_ACC + BODY_GYR if c in present]
    return None


def _separator(line: str) -> str:
    """The header line's separator: a comma, or a semicolon or tab when it has no comma (spreadsheet
    exports in locales whose decimal mark is the comma, which the reader then accepts too)."""
    if "," not in line:
        for sep in (";", "\t"):
            if sep in line:
                return sep
    return ","


def _names(line: str, rename: dict[str, str]) -> set[str]:
    sep = _separator(line)
    return {rename.get(n, n) for n in (c.strip().strip("\"'") for c in line.split(sep))}


def _find_header(path: Path, lines: list[str], rename: dict[str, str], skip_rows: int | None) -> int:
    """Number of lines before the header: ``skip_rows``, or the first of the first lines that names
    the acceleration columns (a preamble above it is skipped)."""
    if skip_rows is not None:
        if not 0 <= skip_rows < len(lines):
            raise CsvInputError(path, f"--skip-rows {skip_rows}: the file has only {len(lines)} lines")
        return skip_rows
    for i, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        names = _names(line, rename)
        if set(SENSOR_ACC) <= names or "acc_is" in names:
            return i
    shown = " | ".join(repr(s if len(s) <= 60 else s[:57] + "...") for s in lines[:3])
    raise CsvInputError(
        path,
        "no acceleration columns: need acc_x, acc_y, acc_z (sensor frame) or at least acc_is (body frame) "
        f"in a header within the first {HEADER_SEARCH_LINES} lines (map other names with --columns; skip a "
        f"preamble with --skip-rows N); the file starts: {shown}",
    )


def _head_lines(path: Path, need: int) -> list[str]:
    """The first ``need`` lines (at most 16 MiB of them), refusing binary content."""
    lines: list[bytes] = []
    budget = 16 << 20
    with open(path, "rb") as fh:
        while len(lines) < need and budget > 0:
            line = fh.readline(budget)
            if not line:
                break
            budget -= len(line)
            lines.append(line)
    head = b"".join(lines)
    if b"\x00" in head[:65536]:
        raise CsvInputError(
            path, "binary content: neither a hipsense session file (those start with HSNS) nor a text CSV"
        )
    # not UTF-8 (a Latin-1 preamble's degree sign): shown replaced, never a reason to refuse the file
    return head.decode("utf-8-sig", errors="replace").splitlines()


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
) -> Recording:
    """Read an IMU CSV into a :class:`~hipsense.recording.Recording` in SI units on its own clock.

    Parameters
    ----------
    path
        The CSV file.
    sample_rate_hz
        Sampling rate when the file has no ``t_s`` column; when it has one, the rate is fitted to it.
    acc_unit, gyr_unit
        Units of the file's acceleration (``"m/s^2"`` or ``"g"``) and angular rate (``"deg/s"`` or
        ``"rad/s"``) columns.
    columns
        Our column name -> the file's column name, for files that name their columns otherwise.
    start_time_unix
        When the first sample was taken (UTC seconds since 1970), for a file whose ``t_s`` is not UNIX
        time (which dates the recording by itself).
    time_unit
        Unit of ``t_s``: ``"s"``, ``"ms"``, ``"us"``, or ``"auto"`` (recognised from its step).
    skip_rows
        Lines before the header; ``None`` finds the header in the first 50 lines.
    min_duration_s
        Shorter recordings are rejected: too short to analyse.
    """
    path = Path(path)
    if acc_unit not in ACC_UNITS:
        raise CsvInputError(
            path, f"unknown acceleration unit {acc_unit!r} (use one of {', '.join(ACC_UNITS)})"
        )
    if gyr_unit not in GYR_UNITS:
        raise CsvInputError(
            path, f"unknown angular rate unit {gyr_unit!r} (use one of {', '.join(GYR_UNITS)})"
        )
    if time_unit != "auto" and time_unit not in TIME_UNITS:
        raise CsvInputError(path, f"unknown time unit {time_unit!r} (use auto, {', '.join(TIME_UNITS)})")
    if sample_rate_hz is not None and not (np.isfinite(sample_rate_hz) and 0 < sample_rate_hz <= 10_000):
        raise CsvInputError(path, f"sample rate must be a positive number of Hz, not {sample_rate_hz}")
    if not path.is_file():
        raise CsvInputError(path, "no such file")
    if path.stat().st_size == 0:
        raise CsvInputError(path, "the file is empty")
    rename = {theirs: ours for ours, theirs in (columns or {}).items()}
    lines = _head_lines(path, max(HEADER_SEARCH_LINES, (skip_rows or 0) + 1))
    header = _find_header(path, lines, rename, skip_rows)
    sep = _separator(lines[header])
    names = read_names(path, header, sep)
    first_line = header + 2  # file line of the first data row
    missing_mapped = [theirs for theirs in rename if theirs not in names]
    if missing_mapped:
        raise CsvInputError(
            path,
            f"column {missing_mapped[0]!r} named in --columns is not in the file (it has {', '.join(names)})",
            line=header + 1,
        )
    present = {rename.get(c, c) for c in names}
    chosen = _choose_frame(path, present)
    if chosen is None:
        raise CsvInputError(
            path,
            "no acceleration columns: need acc_x, acc_y, acc_z (sensor frame) or at least acc_is (body "
            f"frame); found {', '.join(sorted(present)) or 'none'} (map other names with --columns)",
            line=header + 1,
        )
    frame, wanted = chosen
    has_time = TIME_COLUMN in present
    if not has_time and sample_rate_hz is None:
        raise CsvInputError(
            path, f"no time column {TIME_COLUMN!r}: add one or give the sample rate (--sample-rate)"
        )
    ours = {c: rename.get(c, c) for c in names if rename.get(c, c) in {TIME_COLUMN, *wanted}}
    values = read_values(path, header, sep, ours, first_line)
    n = len(values[wanted[0]]) - empty_tail(values)
    values = {c: v[:n] for c, v in values.items()}
    if n < 2:
        raise CsvInputError(path, f"only {n} data row(s): too short to analyse")
    t = values.pop(TIME_COLUMN, None)
    notes: list[str] = []
    start = start_time_unix
    if t is not None:
        if np.isnan(t).any():
            i = int(np.flatnonzero(np.isnan(t))[0])
            raise CsvInputError(
                path, f"{TIME_COLUMN} is empty or missing: every row needs its time", line=first_line + i
            )
        step = np.diff(t)
        if (step <= 0).any():
            i = int(np.flatnonzero(step <= 0)[0])
            # many repeats: stamps coarser than the samples (a 10 ms clock at 208 Hz), not a bad row
            zero = float((step == 0).mean())
            hint = (
                f"; {zero:.0%} of steps are 0, stamps coarser than the samples: drop {TIME_COLUMN} and "
                "give --sample-rate"
                if zero > 0.01
                else ""
            )
            raise CsvInputError(
                path,
                f"time goes backwards or repeats ({TIME_COLUMN} {t[i]:g} then {t[i + 1]:g}){hint}",
                line=first_line + i + 1,
            )
        try:
            seconds, epoch, unit = seconds_from(t, time_unit)
            clock = fit_clock(seconds)
        except TimeBaseError as e:
            raise CsvInputError(path, f"{TIME_COLUMN}: {e}") from None
        jump = np.flatnonzero(np.diff(seconds) > MAX_PAUSE_S)
        if len(jump):
            i = int(jump[0])
            raise CsvInputError(
                path,
                f"{TIME_COLUMN} jumps {(seconds[i + 1] - seconds[i]) / 86400:.3g} days forward ({t[i]:g} then "
                f"{t[i + 1]:g}): a corrupt time? one recording pauses for {MAX_PAUSE_S / 86400:g} days at most",
                line=first_line + i + 1,
            )
        if epoch is not None and start_time_unix is not None:
            raise CsvInputError(path, f"{TIME_COLUMN} is UNIX time already, so it needs no start time given")
        if unit != "s":
            notes.append(
                f"{TIME_COLUMN} read in {unit}"
                + (" (recognised from its step)" if time_unit == "auto" else "")
            )
        if sample_rate_hz is not None:
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
    else:
        assert sample_rate_hz is not None
        epoch, rate, max_fill = None, float(sample_rate_hz), None
        run, index, run_start = np.zeros(n, np.int64), np.arange(n, dtype=np.int64), np.zeros(1)

    nan = np.zeros(n, dtype=bool)
    for v in values.values():
        nan |= np.isnan(v)
    nan_cells = int(sum(int(np.isnan(v).sum()) for v in values.values()))
    for col in wanted:
        is_acc = col.startswith("acc_")
        values[col] = values[col] * (ACC_UNITS[acc_unit] if is_acc else GYR_UNITS[gyr_unit])
        check_range(path, col, values[col], acc_unit if is_acc else gyr_unit, first_line)
    try:
        grid = place_on_grid(run, index, run_start, rate, valid=~nan, max_fill=max_fill)
    except TimeBaseError:
        raise CsvInputError(path, "no row has a number in every column") from None
    good = {col: v[~nan] for col, v in values.items()}
    acc = [good[c] for c in wanted if c.startswith("acc_")]
    check_acc_unit(path, acc, acc_unit)
    check_gyr_unit(path, acc, [good[c] for c in wanted if c.startswith("gyr_")], gyr_unit)
    recorded = len(grid.times_s) / rate
    if recorded < min_duration_s:
        raise CsvInputError(
            path, f"only {recorded:.1f} s of data: too short to analyse (need {min_duration_s:g} s)"
        )

    data = pd.DataFrame({TIME_COLUMN: grid.times_s, **{c: grid.take(values[c]) for c in wanted}})
    if epoch is not None:
        start = epoch + grid.origin_s
        when = pd.Timestamp(start, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M:%S")
        notes.append(f"{TIME_COLUMN} is UNIX time: the recording started {when} UTC")
    if grid.gaps:
        notes.append(
            f"{len(grid.gaps)} gap(s) in the recording ({sum(g.duration_s for g in grid.gaps):.1f} s): its "
            f"{len(grid.segments)} parts are analysed apart"
        )
    if grid.filled_samples:
        notes.append(f"{grid.filled_samples} sample(s) filled by interpolation (dropped rows or empty cells)")
    quality = DataQuality(
        gaps=grid.gaps,
        missing_samples=grid.missing_samples,
        filled_samples=grid.filled_samples,
        nan_cells=nan_cells,
        clipped_share=round(clipped_share(good), 6),
        nominal_rate_hz=float(sample_rate_hz) if sample_rate_hz is not None and not has_time else None,
        sample_rate_hz=round(rate, 4),
        start_time_unix=int(start) if start is not None else None,
    )
    return Recording(
        data,
        frame,
        rate,
        path,
        notes,
        filled=grid.filled if grid.filled_samples else None,
        start_time_unix=start,
        segments=grid.segments,
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
