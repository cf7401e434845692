"""Units of a time column: seconds, milliseconds, microseconds or UNIX time, recognised or stated.

The readers (:mod:`hipsense.formats`) turn a time column into seconds from its first value here, before
:mod:`hipsense.timebase` fits the clock to it.
"""

from __future__ import annotations

import numpy as np

from hipsense.timebase import TimeBaseError

#: Seconds per unit of a time column.
TIME_UNITS: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
#: Rates a recognised unit must give (Hz): IMU loggers for gait sample at 10 Hz to 2 kHz. The bands of
#: the three units (median steps of 0.0005-0.1 in s, 0.5-100 in ms, 500-100000 in us) never overlap,
#: so at most one unit fits; a step between two bands (0.25: 4 Hz or 4 kHz?) must be stated.
AUTO_RATE_HZ = (10.0, 2000.0)
#: Rates accepted when the unit is given (Hz).
GIVEN_RATE_HZ = (1.0, 10_000.0)
#: A first time in this range (UTC s) is UNIX time (2000-01-01 to 2100-01-01): it dates the recording.
UNIX_RANGE_S = (946_684_800.0, 4_102_444_800.0)
#: A first time below this (s; about 3 years) is time since a start or a boot; beyond it, and outside
#: the UNIX range, no clock makes sense of it.
MAX_RELATIVE_START_S = 1e8


def seconds_from(values: np.ndarray, unit: str = "auto") -> tuple[np.ndarray, float | None, str]:
    """A time column in seconds from its first value, the UNIX time of that value, and the unit used.

    ``unit`` ``"auto"`` recognises seconds, milliseconds and microseconds from the median step (the one
    unit whose rate falls in :data:`AUTO_RATE_HZ`: a step of 4.8 is ms at 208 Hz), then UNIX time from
    the first value's magnitude in that unit. Raises :class:`TimeBaseError` with one line saying what
    was found and which option fixes it.
    """
    v = np.asarray(values, dtype=np.float64)
    step = float(np.median(np.diff(v))) if len(v) > 1 else float("nan")
    if not step > 0:
        raise TimeBaseError(f"its median step is {step:g}: the time must increase")
    if unit == "auto":
        fits = [u for u, k in TIME_UNITS.items() if AUTO_RATE_HZ[0] <= 1 / (step * k) <= AUTO_RATE_HZ[1]]
        if len(fits) != 1:
            rates = ", ".join(f"{1 / (step * k):.3g} Hz in {u}" for u, k in TIME_UNITS.items())
            raise TimeBaseError(
                f"its median step {step:g} gives {rates}; none is a rate between {AUTO_RATE_HZ[0]:g} and "
                f"{AUTO_RATE_HZ[1]:g} Hz: state the unit with --time-unit s|ms|us"
            )
        unit = fits[0]
    if unit not in TIME_UNITS:
        raise TimeBaseError(f"unknown time unit {unit!r} (use auto, {', '.join(TIME_UNITS)})")
    scale = TIME_UNITS[unit]
    rate = 1 / (step * scale)
    if not GIVEN_RATE_HZ[0] <= rate <= GIVEN_RATE_HZ[1]:
        raise TimeBaseError(
            f"read in {unit}, its median step {step:g} gives {rate:.3g} Hz, not a sampling rate "
            f"({GIVEN_RATE_HZ[0]:g}-{GIVEN_RATE_HZ[1]:g} Hz): check --time-unit"
        )
    first = float(v[0]) * scale
    if UNIX_RANGE_S[0] <= first < UNIX_RANGE_S[1]:
        epoch: float | None = first
    elif abs(first) < MAX_RELATIVE_START_S:
        epoch = None
    else:
        year = 1970 + first / 31_556_952
        raise TimeBaseError(
            f"it starts at {v[0]:g} ({unit}): as UNIX time the year {year:.0f}, as time since a start "
            f"{abs(first) / 31_556_952:.3g} years; neither is a recording's clock (UNIX time 2000-2100 or "
            "time since the start): check the column, or state its unit with --time-unit s|ms|us"
        )
    return (v - v[0]) * scale, epoch, unit


__all__ = [
    "AUTO_RATE_HZ",
    "GIVEN_RATE_HZ",
    "MAX_RELATIVE_START_S",
    "TIME_UNITS",
    "UNIX_RANGE_S",
    "seconds_from",
]
