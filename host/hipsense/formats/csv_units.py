"""The units a CSV is read in: the options that state them, and a units row under the names that gives
them (Shimmer Consensys: ``ms, m/(s^2), deg/s``), checked against each other
(:func:`hipsense.formats.csv_input.read_imu_csv`; docs/csv-input.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from hipsense.conventions import TIME_COLUMN, G
from hipsense.formats.csv_values import MISSING_CELLS, CsvInputError
from hipsense.time_units import GIVEN_RATE_HZ, NO_CLOCK, SAMPLES, UNITS

ACC_UNITS: dict[str, float] = {"m/s^2": 1.0, "g": G}
GYR_UNITS: dict[str, float] = {"deg/s": 1.0, "rad/s": 180.0 / np.pi}
#: A units row's spellings of the units the reader takes (``--acc-unit``, ``--gyr-unit``).
UNIT_SPELLINGS = {
    "m/s^2": {"m/s^2", "m/(s^2)", "m/s2", "m/s\u00b2", "m/s/s", "ms^-2", "m*s^-2"},
    "g": {"g"},
    "deg/s": {"deg/s", "\u00b0/s", "dps", "deg/sec", "degrees/s"},
    "rad/s": {"rad/s", "rad/sec"},
}
#: A units row's spellings of a time column's units (``--time-unit``): the micro sign and the Greek mu
#: both; ``ticks`` names no tick length, so it recognises a units row but states no unit.
TIME_SPELLINGS = {
    "s": {"s", "sec", "secs", "seconds"},
    "ms": {"ms", "msec", "milliseconds"},
    "us": {"us", "\u00b5s", "\u03bcs", "usec", "microseconds"},
    "ns": {"ns", "nsec", "nanoseconds"},
    SAMPLES: {"samples"},
    "": {"ticks"},
}
_KNOWN = set().union(*TIME_SPELLINGS.values(), *UNIT_SPELLINGS.values())


def check_options(
    path: Path, acc_unit: str, gyr_unit: str, time_unit: str, sample_rate_hz: float | None, chunk_rows: int
) -> None:
    """Refuse a unit, rate or chunk size no file can be read with."""
    for what, given, known in (("acceleration", acc_unit, ACC_UNITS), ("angular rate", gyr_unit, GYR_UNITS)):
        if given not in known:
            raise CsvInputError(path, f"unknown {what} unit {given!r} (use one of {', '.join(known)})")
    if time_unit not in ("auto", NO_CLOCK, *UNITS):
        raise CsvInputError(
            path, f"unknown time unit {time_unit!r} (use auto, {', '.join(UNITS)}, {NO_CLOCK})"
        )
    if sample_rate_hz is not None and not GIVEN_RATE_HZ[0] <= sample_rate_hz <= GIVEN_RATE_HZ[1]:
        raise CsvInputError(
            path, f"sample rate must be {GIVEN_RATE_HZ[0]:g}-{GIVEN_RATE_HZ[1]:g} Hz, not {sample_rate_hz}"
        )
    if not (isinstance(chunk_rows, int) and chunk_rows >= 1):
        raise ValueError(f"chunk_rows must be a positive whole number, not {chunk_rows!r}")


def _number(cell: str) -> bool:
    try:
        float(cell.replace(",", "."))
    except ValueError:
        return cell.lower() in MISSING_CELLS
    return True


def units_row(
    path: Path, names: list[str], used: dict[int, str], row: list[str], units: dict[str, str], line: int
) -> dict[str, str] | None:
    """When ``row`` (the cells under the names, on file line ``line``) is a units row, the units it gives
    (our column name -> unit, the time column's among them), else ``None``. A units row is text in every
    column read (``used``: position -> our name), one cell a known unit. It is refused in one line when
    it contradicts ``units`` (``{"acc": ..., "gyr": ..., "t_s": ...}``; a time unit ``auto`` is no
    contradiction)."""
    said = {i: re.sub(r"^[\[(](.*)[\])]$", r"\1", row[i].lower()) for i in used if i < len(row)}  # "[g]"
    if not (
        len(said) == len(used) > 0 and not any(_number(row[i]) for i in used) and _KNOWN & set(said.values())
    ):
        return None
    found: dict[str, str] = {}
    for i, ours in used.items():
        kind = ours[:3]
        given = units.get(kind, "")
        spellings = TIME_SPELLINGS if kind == TIME_COLUMN else UNIT_SPELLINGS
        unit = next((u for u, spelt in spellings.items() if said[i] in spelt), "")
        if not unit:
            continue
        found[ours] = unit
        if given != unit and given != "auto":  # an auto time unit takes the row's
            option = {"acc": "--acc-unit", "gyr": "--gyr-unit"}.get(kind, "--time-unit")
            raise CsvInputError(
                path,
                f"the units row gives {names[i][:60]!r} ({ours}) in {row[i]}, read in {given}: give {option} {unit}",
                line=line,
            )
    return found


__all__ = [
    "ACC_UNITS",
    "GYR_UNITS",
    "TIME_SPELLINGS",
    "UNIT_SPELLINGS",
    "check_options",
    "units_row",
]
