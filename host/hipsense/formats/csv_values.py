"""CSV cells to numbers, and the values an IMU can report (the checks of :mod:`.csv_input`).

Empty or "missing" cells become NaN (a hole the time base fills or turns into a gap); other text, a
value beyond any IMU's range, or a unit that the values contradict is refused with one line naming the
column, the line and the value. A saturated sensor (a channel stuck at its extreme) is kept and
counted in ``clipped_share``: those values are real, only capped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hipsense.conventions import TIME_COLUMN, G
from hipsense.errors import InputFileError
from hipsense.formats.csv_iso_clock import ISO_CLOCK, IsoClock
from hipsense.formats.csv_lines import file_line, open_quote
from hipsense.formats.csv_trailer import ROWS_END, rows_source
from hipsense.time_units import TIME_FORMS, iso_seconds


class CsvInputError(InputFileError):
    """A CSV file cannot be read as an IMU recording."""

    def __init__(self, path: str | Path, problem: str, *, line: int | None = None):
        # one line whatever the file holds (a quoted column name may hold a line break)
        super().__init__(path, " ".join(problem.splitlines()), offset=line, where="line")


#: Beyond these no IMU reports (the widest ranges sold are +-32 g / +-4000 deg/s): such a value is a
#: corrupt cell or a unit error, and is refused rather than clipped, which would hide it.
MAX_ACC_MS2 = 64 * G
MAX_GYR_DPS = 6000.0
#: A moving pelvis (acceleration magnitude varying by more than this SD) turns at tens to hundreds of
#: deg/s; a gyroscope whose 99th percentile stays below ``RAD_AS_DEG_DPS`` is in rad/s read as deg/s.
MOVING_ACC_SD_MS2 = 0.2 * G
RAD_AS_DEG_DPS = 10.0
#: A gyroscope channel whose values all lie within this (deg/s) is stuck while the pelvis moves: one
#: step of the coarsest 16-bit gyroscope (+-4000 deg/s: 0.122 deg/s), where a moving pelvis spans tens
#: of deg/s on every axis, and even in rad/s read as deg/s spans more than 0.5.
STUCK_SPREAD_DPS = 8000 / 65536
#: Rows over which a flat channel is judged stuck: at a turn's peak a moving gyroscope may hold one
#: value for a few rows (a 3 s recording at 34 Hz or more has this many).
STUCK_MIN_ROWS = 100
#: What a file whose gyroscope cannot be read does to be analysed.
GYRO_LEFT_OUT = (
    "to analyse the acceleration alone, leave the gyroscope columns out (drop gyr_* from --columns, or "
    "delete them from the file): the sides are then unknown"
)
#: Cells read as missing (a hole), not as an error.
MISSING_CELLS = frozenset({"", "nan", "na", "n/a", "null", "none", "-"})


def shown(cell: str) -> str:
    return "an empty cell" if cell == "" else repr(cell if len(cell) <= 40 else cell[:37] + "...")


def numbers(path: Path, text: pd.Series, col: str, sep: str, line: int | Callable[[int], int]) -> np.ndarray:
    """A column as floats, NaN where the cell is empty or says missing; other text is an error, at the
    file line ``line(i)`` of the column's row ``i`` (or ``line + i`` when ``line`` is the first row's)."""
    text = text.fillna("")  # a row cut short
    if sep != ",":  # where the comma does not separate, it may be the decimal mark
        text = text.str.replace(",", ".", regex=False)
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    _refuse_text(
        path, text, values, col, "not a number" + (f": {TIME_FORMS}" if col == TIME_COLUMN else ""), line
    )
    return values


def stamps(path: Path, text: pd.Series, col: str, line: int | Callable[[int], int]) -> np.ndarray:
    """ISO 8601 date-times as UNIX seconds (``time_units.iso_seconds``); other text as in :func:`numbers`."""
    values = iso_seconds(text)
    _refuse_text(
        path, text.fillna(""), values, col, "not an ISO 8601 date and time as in its first rows", line
    )
    return values


def _refuse_text(
    path: Path, text: pd.Series, values: np.ndarray, col: str, what: str, line: int | Callable[[int], int]
) -> None:
    nan = np.flatnonzero(np.isnan(values))
    bad = nan[~text.iloc[nan].str.strip().str.lower().isin(MISSING_CELLS).to_numpy()]
    if len(bad):
        i = int(bad[0])
        raise CsvInputError(
            path,
            f"column {col!r} has {shown(text.iloc[i])}, {what}",
            line=line(i) if callable(line) else line + i,
        )


def beyond_range(col: str, values: np.ndarray) -> np.ndarray:
    """Per value, whether it lies beyond what any IMU reports (inf included; NaN is not)."""
    limit = MAX_ACC_MS2 if col.startswith("acc_") else MAX_GYR_DPS
    with np.errstate(invalid="ignore"):
        return np.abs(values) > limit


def range_error(path: Path, col: str, value: float, unit: str, share: float, line: int) -> CsvInputError:
    """The error for a column whose first value beyond any IMU's range is ``value`` at ``line``, in
    ``share`` of the rows, naming a likely cause."""
    what = "64 g" if col.startswith("acc_") else "6000 deg/s"
    cause = "a corrupt cell? blank it to make it a filled hole" if share < 0.01 else "the wrong unit?"
    read = value / (G if unit == "g" else 1.0)  # as the file wrote it
    whole = abs(read) < 1 << 32 and abs(read - round(read)) < 1e-9 * abs(read)  # inf: OverflowError
    if share >= 0.5 and col.startswith("acc_") and whole:
        cause += " (whole numbers: raw counts? convert them to g first)"  # Gulf Coast Data Concepts
    return CsvInputError(
        path,
        f"column {col!r} has {value:.6g} {'m/s^2' if col.startswith('acc_') else 'deg/s'} (read in "
        f"{unit}), beyond what any IMU reports (+-{what}), in {share:.2%} of rows: {cause}",
        line=line,
    )


def magnitude(columns: list[np.ndarray]) -> np.ndarray:
    """Row by row, the square root of the sum of the columns' squares, in the columns' order (the same
    numbers as ``np.sqrt(sum(c**2 for c in columns))``) in one new array and one temporary, however
    many columns: a 10 M-row recording's checks need no more than two rows' worth."""
    out = np.square(np.asarray(columns[0], dtype=np.float64))
    if len(columns) > 1:
        tmp = np.empty_like(out)
        for c in columns[1:]:
            out += np.square(np.asarray(c, dtype=np.float64), out=tmp)
    return np.sqrt(out, out=out)


def check_acc_unit(path: Path, acc: list[np.ndarray], acc_unit: str) -> None:
    """Refuse acceleration in the other unit than the one given (g read as m/s^2, or the reverse).

    With gravity in it, the magnitude of a pelvis's acceleration has a median near 1 g at rest, walking
    or running (flight near 0 g, stance peaks of 2-4 g); a median below 1/4 g or above 4 g is a unit
    (or a file without gravity), and would give numbers off by a factor of 9.81.
    """
    median = float(np.median(magnitude(acc), overwrite_input=True))
    if G / 4 <= median <= 4 * G:
        return
    given = "m/s^2 (the default)" if acc_unit == "m/s^2" else f"{acc_unit} (--acc-unit {acc_unit})"
    hint = "is the file in g? then give --acc-unit g" if median < G / 4 else "is the file in m/s^2?"
    raise CsvInputError(
        path,
        f"read in {given}, the acceleration's median magnitude is {median / G:.2g} g where gravity alone "
        f"gives 1 g: {hint} (the acceleration must include gravity)",
    )


def _level(low: float, high: float) -> str:
    return f"{low:.3g}" if high == low else f"{low:.3g} to {high:.3g}"


def check_gyr_unit(path: Path, acc: list[np.ndarray], gyr: list[np.ndarray], gyr_unit: str) -> None:
    """Refuse a gyroscope in rad/s read as deg/s: while the pelvis moves, it turns at tens of deg/s.
    One that reads 0 throughout is dead or was not recorded, and a channel stuck at another value
    (its spread under :data:`STUCK_SPREAD_DPS` over :data:`STUCK_MIN_ROWS` rows or more) is stuck, in no unit: that is said instead. A channel
    at 0 beside live ones may be an axis not recorded: the unit check judges the others."""
    if not gyr or gyr_unit != "deg/s" or len(acc[0]) < 10:
        return
    moving = float(np.std(magnitude(acc))) > MOVING_ACC_SD_MS2
    p99 = float(np.percentile(magnitude(gyr), 99, overwrite_input=True))
    if moving and p99 == 0 and not any(np.any(g) for g in gyr):
        raise CsvInputError(
            path,
            "every gyroscope value is 0 while the acceleration shows movement: the gyroscope is dead or was "
            f"not recorded (0 is 0 in any unit: no --gyr-unit helps); {GYRO_LEFT_OUT}",
        )
    flat = {k: (float(g.min()), float(g.max())) for k, g in enumerate(gyr) if np.ptp(g) < STUCK_SPREAD_DPS}
    stuck = [k for k, (low, high) in flat.items() if max(-low, high) >= STUCK_SPREAD_DPS]  # flat, not at 0
    if moving and stuck and len(gyr[0]) >= STUCK_MIN_ROWS:
        whole = len(flat) == len(gyr)  # the channels at 0 then named too
        levels = ", ".join(_level(*flat[k]) for k in (flat if whole else stuck))
        if whole:
            where, who = "every gyroscope column stays", "the gyroscope is"
        elif len(stuck) == 1:
            where, who = f"gyroscope column {stuck[0] + 1} of {len(gyr)} stays", "that channel is"
        else:
            where = f"gyroscope columns {', '.join(str(k + 1) for k in stuck)} of {len(gyr)} stay"
            who = "those channels are"
        raise CsvInputError(
            path,
            f"{where} flat ({levels} deg/s) while the acceleration shows movement: {who} stuck (a constant "
            f"is one in any unit: no --gyr-unit helps); {GYRO_LEFT_OUT}",
        )
    if moving and p99 < RAD_AS_DEG_DPS:
        raise CsvInputError(
            path,
            f"read in deg/s (the default), the gyroscope's 99th-percentile magnitude is {p99:.2g} deg/s "
            f"while the acceleration shows movement (a moving pelvis turns at 30-300 deg/s): is it in "
            "rad/s? then give --gyr-unit rad/s",
        )


def clipped_share(columns: dict[str, np.ndarray]) -> float:
    """Share of rows with a channel stuck at its extreme (a saturated sensor): the same largest
    magnitude in at least 3 rows, at least 2 g or 250 deg/s (kept and flagged, not refused)."""
    if not columns:
        return 0.0
    at = np.zeros(len(next(iter(columns.values()))), dtype=bool)
    for col, v in columns.items():
        a = np.abs(v)
        top = float(np.max(a)) if len(a) else 0.0
        if top >= (2 * G if col.startswith("acc_") else 250.0):
            hit = a >= top * (1 - 1e-6)
            if hit.sum() >= 3:
                at |= hit
    return float(at.mean()) if len(at) else 0.0


def read_names(path: Path, header: int, sep: str, comment: str | None = None) -> list[str]:
    try:
        names = pd.read_csv(
            path,
            sep=sep,
            skiprows=header,
            nrows=0,
            encoding="utf-8-sig",
            encoding_errors="replace",
            comment=comment,
        ).columns
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise CsvInputError(path, f"not a readable CSV file ({str(e).strip().splitlines()[-1]})") from None
    return [str(c).strip().strip("\"'") for c in names]


#: The missing-cell words as pandas matches them (exactly, so in the usual spellings).
_NA = sorted({v for m in MISSING_CELLS for v in (m, m.upper(), m.title())})
#: Rows parsed at a time: the parser's memory is bounded by this, not by the file (measured on a 2 M-row
#: file: 2**16 rows a chunk parsed as fast as whole-file reading, larger chunks no faster).
CHUNK_ROWS = 1 << 16


class NotNumbers(Exception):
    """pandas' float parser met text in a number's place (or a row it cannot split): read as text."""


def _iso_fast(cells: pd.Series) -> np.ndarray:
    """Date-times as UNIX seconds; a cell that is none (nor missing) is named by the text reading."""
    values = iso_seconds(cells)
    if (np.isnan(values) & cells.notna().to_numpy()).any():
        raise NotNumbers
    return values


def value_chunks(
    path: Path,
    header: int,
    sep: str,
    ours: dict[str, str],
    first_line: int,
    *,
    text: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    layout: dict[str, Any] | None = None,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """The wanted columns as floats (NaN: a missing cell), ``chunk_rows`` rows at a time, keyed by our
    names (``ours``: file -> ours), each with the index of its first row.

    ``text=False``: pandas' float parser (fast); a cell it cannot read raises :class:`NotNumbers`, and
    the caller starts again with ``text=True``, which names the first bad cell of the first column
    (in the file's order) that has one, and its line, once every chunk is read (a row pandas cannot
    split is refused as soon as it is met)."""
    common: dict[str, Any] = dict(
        sep=sep, skiprows=header, skipinitialspace=True, keep_default_na=False, encoding="utf-8-sig",
        encoding_errors="replace",
        # never an implicit index from a first row wider than the header: a trailing separator on
        # each row shifted every column, and a 4 MB row of bare separators took 24 GB and minutes
        index_col=False,
    )  # fmt: skip
    common.update(layout or {})  # a units row skipped, a tag cell dropped, comments (csv_header.data_layout)
    # the rows above a trailer of comments, when the comment mark is the separator (csv_trailer)
    rows_end = common.pop(ROWS_END, None)
    iso = common.pop(ISO_CLOCK, False)  # t_s holds ISO 8601 date-times (csv_header.data_layout)
    try:  # the names as the chunks will have them (a repeated name gets pandas' ".1")
        head = pd.read_csv(path, nrows=0, **common).columns
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise CsvInputError(path, f"not a readable CSV file ({str(e).strip().splitlines()[-1]})") from None
    # positions, not a callable: pandas calls a callable again and again for each field of a row
    # wider than the header (a 4 MB row of bare separators took 38 s)
    common["usecols"] = [i for i, c in enumerate(head) if str(c).strip().strip("\"'") in ours]
    at = [head[i] for i in common["usecols"] if ours[str(head[i]).strip().strip("\"'")] == TIME_COLUMN]
    clock = at[0] if iso and at else None  # date-times: read as text, their order checked here
    order_of = IsoClock() if clock is not None else None
    common["chunksize"] = max(1, int(chunk_rows))
    comment = common.get("comment")

    def line(start: int, row: int) -> int:
        return file_line(path, first_line, start + row, comment, sep)

    errors: dict[str, CsvInputError] = {}
    order: list[str] = []
    start = 0
    with rows_source(path, rows_end) as source:
        if text:
            reader = pd.read_csv(source, dtype=str, **common)
        else:
            kinds = {head[i]: object if head[i] == clock else np.float64 for i in common["usecols"]}
            reader = pd.read_csv(
                source, dtype=kinds, na_values=_NA, decimal="," if sep != "," else ".", **common
            )
        with reader:
            while True:
                try:
                    table = next(reader)
                except StopIteration:
                    break
                except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
                    if not text:
                        raise NotNumbers from None
                    raise CsvInputError(
                        path, f"not a readable CSV file ({str(e).strip().splitlines()[-1]})"
                    ) from None
                except ValueError:  # text in a number's place
                    if text:
                        raise
                    raise NotNumbers from None
                names = [ours[str(c).strip().strip("\"'")] for c in table.columns]
                order = order or names
                if not text:
                    chunk = {
                        c: _iso_fast(table[f]) if f == clock else table[f].to_numpy(dtype=np.float64)
                        for c, f in zip(names, table.columns, strict=True)
                    }
                else:
                    chunk = {}
                    for c, f in zip(names, table.columns, strict=True):
                        try:
                            read = stamps if f == clock else partial(numbers, sep=sep)
                            chunk[c] = read(path, table[f], c, line=partial(line, start))
                        except CsvInputError as e:  # the first in each column; the first column's is raised
                            errors.setdefault(c, e)
                            chunk[c] = np.full(len(table), np.nan)
                if order_of is not None:
                    order_of.feed(chunk[TIME_COLUMN], start)
                if not errors:
                    yield start, chunk
                start += len(table)
    for c in order:
        if c in errors:
            raise errors[c]
    if order_of is not None and (found := order_of.problem()) is not None:
        raise CsvInputError(path, found[0], line=line(0, found[1]))


__all__ = [
    "CHUNK_ROWS",
    "MAX_ACC_MS2",
    "MAX_GYR_DPS",
    "MISSING_CELLS",
    "CsvInputError",
    "NotNumbers",
    "beyond_range",
    "file_line",
    "open_quote",
    "check_acc_unit",
    "check_gyr_unit",
    "clipped_share",
    "magnitude",
    "numbers",
    "range_error",
    "read_names",
    "shown",
    "value_chunks",
]
