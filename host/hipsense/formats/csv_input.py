"""Read IMU recordings from CSV files: the clip's own exports and other people's recordings.

A CSV has a header row, a time column ``t_s`` in seconds (or a fixed ``sample_rate_hz`` given by the
caller) and either sensor-frame columns ``acc_x, acc_y, acc_z`` [``gyr_x, gyr_y, gyr_z``] or body-frame
columns ``acc_is`` [``acc_ml``, ``acc_pa``, ``gyr_is``, ``gyr_ml``, ``gyr_pa``]. Other column names are
mapped with ``columns={"acc_is": "acc_v_g", ...}`` (our name -> the file's name). Values come back in
SI units: m/s^2 and deg/s.

Every problem raises :class:`CsvInputError`, which names the file, the line where that is known, and
what is wrong.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from hipsense.conventions import BODY_ACC, BODY_GYR, SENSOR_ACC, SENSOR_GYR, TIME_COLUMN, G
from hipsense.errors import InputFileError

AccUnit = Literal["m/s^2", "g"]
GyrUnit = Literal["deg/s", "rad/s"]
ACC_UNITS: dict[str, float] = {"m/s^2": 1.0, "g": G}
GYR_UNITS: dict[str, float] = {"deg/s": 1.0, "rad/s": 180.0 / np.pi}

#: Shortest recording worth analysing: a few strides either side of the filters' edges (the public treadmill trials last 5 s).
MIN_DURATION_S = 3.0


class CsvInputError(InputFileError):
    """A CSV file cannot be read as an IMU recording."""

    def __init__(self, path: str | Path, problem: str, *, line: int | None = None):
        super().__init__(path, problem, offset=line, where="line")


#: A time column whose first value is at least this (2000-01-01 in UTC seconds) holds UNIX time, which
#: dates the recording; smaller values are seconds since the recording began.
UNIX_TIME_AFTER = 946_684_800


@dataclass
class ImuRecording:
    """An IMU recording in SI units, in the sensor or the body frame.

    ``data`` has ``t_s`` plus the frame's columns that the file holds; ``frame`` says which frame.
    ``filled`` marks samples the device lost and that were interpolated to keep the grid uniform
    (``None`` when none were). ``start_time_unix``: when the recording began (UTC seconds since 1970),
    ``None`` when the file does not say.
    """

    data: pd.DataFrame
    frame: Literal["sensor", "body"]
    sample_rate_hz: float
    source: Path | None = None
    notes: list[str] = field(default_factory=list)
    filled: np.ndarray | None = None
    start_time_unix: float | None = None

    @property
    def has_gyro(self) -> bool:
        return any(c.startswith("gyr_") for c in self.data.columns)


def csv_options(
    sample_rate_hz: float | None = None,
    acc_unit: str = "m/s^2",
    gyr_unit: str = "deg/s",
    columns: dict[str, str] | None = None,
    start_time_unix: float | None = None,
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


def _choose_frame(path: Path, present: set[str]) -> tuple[Literal["sensor", "body"], list[str]]:
    if set(SENSOR_ACC) <= present:
        gyro = [c for c in SENSOR_GYR if c in present]
        if gyro and len(gyro) != 3:
            missing = ", ".join(c for c in SENSOR_GYR if c not in present)
            raise CsvInputError(
                path, f"gyroscope columns incomplete: {missing} missing (give all three or none)"
            )
        return "sensor", [*SENSOR_ACC, *gyro]
    if "acc_is" in present:
        cols = [c for c in BODY_ACC + BODY_GYR if c in present]
        return "body", cols
    raise CsvInputError(
        path,
        "no acceleration columns: need acc_x, acc_y, acc_z (sensor frame) or at least acc_is (body frame); "
        f"found {', '.join(sorted(present)) or 'none'} (map other names with --columns)",
    )


def _separator(head: bytes) -> str:
    """The header line's separator: a comma, or a semicolon or tab when it has no comma (spreadsheet
    exports in locales whose decimal mark is the comma, which the reader then accepts too)."""
    header = head.split(b"\n", 1)[0]
    if b"," not in header:
        for sep in (b";", b"\t"):
            if sep in header:
                return sep.decode()
    return ","


def _check_acc_unit(path: Path, acc: list[np.ndarray], acc_unit: str) -> None:
    """Refuse acceleration in the other unit than the one given (g read as m/s^2, or the reverse).

    With gravity in it, the magnitude of a pelvis's acceleration has a median near 1 g at rest, walking
    or running (flight near 0 g, stance peaks of 2-4 g); a median below 1/4 g or above 4 g is a unit
    (or a file without gravity), and would give numbers off by a factor of 9.81.
    """
    median = float(np.median(np.sqrt(sum(a**2 for a in acc))))
    if G / 4 <= median <= 4 * G:
        return
    given = "m/s^2 (the default)" if acc_unit == "m/s^2" else f"{acc_unit} (--acc-unit {acc_unit})"
    hint = "is the file in g? then give --acc-unit g" if median < G / 4 else "is the file in m/s^2?"
    raise CsvInputError(
        path,
        f"read in {given}, the acceleration's median magnitude is {median / G:.2g} g where gravity alone "
        f"gives 1 g: {hint} (the acceleration must include gravity)",
    )


def read_imu_csv(
    path: str | Path,
    *,
    sample_rate_hz: float | None = None,
    acc_unit: AccUnit = "m/s^2",
    gyr_unit: GyrUnit = "deg/s",
    columns: dict[str, str] | None = None,
    start_time_unix: float | None = None,
    min_duration_s: float = MIN_DURATION_S,
) -> ImuRecording:
    """Read an IMU CSV into an :class:`ImuRecording` in SI units.

    Parameters
    ----------
    path
        The CSV file.
    sample_rate_hz
        Sampling rate when the file has no ``t_s`` column; when it has one, the rate is estimated from it.
    acc_unit, gyr_unit
        Units of the file's acceleration (``"m/s^2"`` or ``"g"``) and angular rate (``"deg/s"`` or
        ``"rad/s"``) columns.
    columns
        Our column name -> the file's column name, for files that name their columns otherwise.
    start_time_unix
        When the first sample was taken (UTC seconds since 1970), for a file whose ``t_s`` is not UNIX
        time (which dates the recording by itself).
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
    if not path.is_file():
        raise CsvInputError(path, "no such file")
    if path.stat().st_size == 0:
        raise CsvInputError(path, "the file is empty")
    with open(path, "rb") as fh:
        head = fh.read(4096)
    try:  # an incremental decoder accepts a character cut at the end of the 4 KiB
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        binary = b"\x00" in head
    except UnicodeDecodeError:
        binary = True
    if binary:
        raise CsvInputError(
            path, "binary content: neither a hipsense session file (those start with HSNS) nor a text CSV"
        )
    try:
        sep = _separator(head)
        raw = pd.read_csv(path, sep=sep, dtype=str, skipinitialspace=True, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise CsvInputError(path, f"not a readable CSV file ({str(e).strip().splitlines()[-1]})") from None
    raw.columns = [str(c).strip() for c in raw.columns]

    rename = {theirs: ours for ours, theirs in (columns or {}).items()}
    missing_mapped = [theirs for theirs in rename if theirs not in raw.columns]
    if missing_mapped:
        raise CsvInputError(
            path,
            f"column {missing_mapped[0]!r} named in --columns is not in the file "
            f"(it has {', '.join(raw.columns)})",
            line=1,
        )
    raw = raw.rename(columns=rename)
    present = set(raw.columns)
    frame, wanted = _choose_frame(path, present)
    has_time = TIME_COLUMN in present
    if not has_time and sample_rate_hz is None:
        raise CsvInputError(
            path, f"no time column {TIME_COLUMN!r}: add one or give the sample rate (--sample-rate)"
        )
    if sample_rate_hz is not None and not (np.isfinite(sample_rate_hz) and sample_rate_hz > 0):
        raise CsvInputError(path, f"sample rate must be a positive number of Hz, not {sample_rate_hz}")

    numeric = {}
    for col in ([TIME_COLUMN] if has_time else []) + wanted:
        text = raw[col]
        if sep != ",":  # where the comma does not separate, it may be the decimal mark
            text = text.str.replace(",", ".", regex=False)
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            cell = text.iloc[i]
            shown = "an empty cell" if cell == "" else (cell if len(cell) <= 40 else cell[:37] + "...")
            raise CsvInputError(path, f"column {col!r} has {shown!r}, not a number", line=i + 2)
        numeric[col] = values.to_numpy(dtype=float)

    n = len(raw)
    if n < 2:
        raise CsvInputError(path, f"only {n} data row(s): too short to analyse")
    if has_time:
        t = numeric[TIME_COLUMN]
        step = np.diff(t)
        if (step <= 0).any():
            i = int(np.flatnonzero(step <= 0)[0])
            raise CsvInputError(
                path, f"time goes backwards or repeats ({TIME_COLUMN} {t[i]:g} then {t[i + 1]:g})", line=i + 3
            )
        rate = float(1.0 / np.median(step))
        start = float(t[0]) if t[0] >= UNIX_TIME_AFTER else None
        if start is not None and start_time_unix is not None:
            raise CsvInputError(path, f"{TIME_COLUMN} is UNIX time already, so it needs no start time given")
        t = t - t[0]
    else:
        assert sample_rate_hz is not None
        rate = float(sample_rate_hz)
        start = None
        t = np.arange(n) / rate
    duration = n / rate
    if duration < min_duration_s:
        raise CsvInputError(
            path, f"only {duration:.1f} s of data: too short to analyse (need {min_duration_s:g} s)"
        )

    out = {TIME_COLUMN: t}
    for col in wanted:
        scale = ACC_UNITS[acc_unit] if col.startswith("acc_") else GYR_UNITS[gyr_unit]
        out[col] = numeric[col] * scale
    _check_acc_unit(path, [out[c] for c in wanted if c.startswith("acc_")], acc_unit)
    notes = []
    if has_time and sample_rate_hz is not None:
        notes.append(f"sample rate estimated from {TIME_COLUMN} ({rate:.2f} Hz); --sample-rate ignored")
    if start is not None:
        when = pd.Timestamp(start, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M:%S")
        notes.append(f"{TIME_COLUMN} is UNIX time: the recording started {when} UTC")
    else:
        start = start_time_unix
    return ImuRecording(pd.DataFrame(out), frame, rate, path, notes, start_time_unix=start)
