"""Units of a time column: seconds, milliseconds, microseconds or UNIX time, recognised or stated; the
counters of Xsens MT Manager exports (``SampleTimeFine``: 100-us ticks; ``PacketCounter``: samples),
which wrap; and ISO 8601 date-times (``2026-10-25T02:30:00.000+02:00``), read as UNIX seconds.

The readers (:mod:`hipsense.formats`) turn a time column into seconds from its first value here, before
:mod:`hipsense.timebase` fits the clock to it.
"""

from __future__ import annotations

import numpy as np

from hipsense.iso_time import ISO_STAMP, iso_seconds, iso_text
from hipsense.timebase import TimeBaseError

#: Seconds per unit of a time column; ``tick100us`` is Xsens' ``SampleTimeFine`` (a 10 kHz counter);
#: ``ns``: phones' sensor clocks (Sensor Logger's ``time``, UNIX ns; a float64 holds it to 256 ns).
TIME_UNITS: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "tick100us": 1e-4}
#: A sample counter (Xsens' ``PacketCounter``): one a sample, so its seconds need the rate.
SAMPLES = "samples"
#: Every unit a caller may state.
UNITS = (*TIME_UNITS, SAMPLES)
#: ``--time-unit none``: the time column is no clock (stamps taken as batches of rows arrive, or coarser
#: than the samples); rows are consecutive samples at the given or stated rate.
NO_CLOCK = "none"
#: What reads a file whose stamps are no clock, as the refusals and notes say it.
NO_CLOCK_HINT = f"give --time-unit {NO_CLOCK} --sample-rate HZ"
#: Units recognised from the step. Rates a recognised unit must give (Hz): IMU loggers for gait sample
#: at 10 Hz to 2 kHz. The bands of the four units (median steps of 0.0005-0.1 in s, 0.5-100 in ms,
#: 500-100000 in us, 500000-1e8 in ns) never overlap, so at most one unit fits; a step between two
#: bands (0.25: 4 Hz or 4 kHz?) must be stated. Ticks are never guessed from the step: 100 ticks read
#: as 100 ms.
AUTO_UNITS = ("s", "ms", "us", "ns")
#: Time columns whose name in the file gives their unit when it is ``auto`` (Xsens MT Manager exports).
NAMED_UNITS = {"sampletimefine": "tick100us", "packetcounter": SAMPLES}
AUTO_RATE_HZ = (10.0, 2000.0)
#: Relative slack on those rates (a step's rounding; the bands stay a factor 5 apart).
AUTO_SLACK = 1e-3
#: Rates accepted when the unit is given (Hz).
GIVEN_RATE_HZ = (1.0, 10_000.0)
#: A first time in this range (UTC s) is UNIX time (2000-01-01 to 2100-01-01): it dates the recording.
UNIX_RANGE_S = (946_684_800.0, 4_102_444_800.0)
#: A first time below this (s; about 3 years) is time since a start or a boot; beyond it, and outside
#: the UNIX range, no clock makes sense of it.
MAX_RELATIVE_START_S = 1e8
#: Longest pause inside one file (s): a longer jump of the clock is a corrupt time, not a pause.
MAX_PAUSE_S = 7 * 86400.0


#: The unit of a time column of ISO 8601 date-times (``csv_header.data_layout`` finds them): read as UNIX
#: seconds whatever their step (a 2 s step was read as 500 Hz in ms), and shown as dates in refusals.
ISO = "iso"
#: What ``t_s`` may hold, as a refusal of other text says it.
TIME_FORMS = (
    f"t_s holds numbers (s, ms, us, ns) or ISO 8601 date-times (2026-10-25T02:30:00.000+02:00); for "
    f"other stamps read the rows as evenly spaced: {NO_CLOCK_HINT} (--start-time dates them)"
)


class CounterError(TimeBaseError):
    """A counter column holds a value no counter of its width holds; ``row`` is its index."""

    def __init__(self, problem: str, row: int):
        super().__init__(problem)
        self.row = row


def named_unit(column: str, unit: str) -> str:
    """The unit of the time column called ``column`` in the file: ``unit``, or when that is ``"auto"``
    the one its name gives (:data:`NAMED_UNITS`), else still ``"auto"``."""
    return NAMED_UNITS.get(column.strip().lower(), unit) if unit == "auto" else unit


def counter_modulus(unit: str, values: np.ndarray) -> int | None:
    """Where a counter column wraps: ``SampleTimeFine`` at 2**32; a sample counter at 2**16 when every
    value fits 16 bits (``PacketCounter``), else at 2**32. ``None`` for a time that does not wrap."""
    if unit == "tick100us":
        return 1 << 32
    if unit == SAMPLES:
        return 1 << 16 if len(values) and float(np.nanmax(values)) < 1 << 16 else 1 << 32
    return None


def unwrap(values: np.ndarray, modulus: int) -> np.ndarray:
    """A wrapping counter made to increase: a step back by more than half the modulus is a wrap
    (serial-number arithmetic, as RFC 1982), so 65530 then 3 is 9 samples on. A smaller step back
    stays one (and is refused as time going backwards), and so does a wrap across a pause of more
    than half the modulus (2**31 ticks = 59.7 h; 32768 samples): a counter cannot tell them apart.
    Raises :class:`CounterError` at the first value that is no whole number in [0, modulus)."""
    v = np.asarray(values, dtype=np.float64)
    bad = ~((v >= 0) & (v < modulus) & (v == np.floor(v)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CounterError(f"{v[i]:.12g} is no {modulus.bit_length() - 1}-bit count", i)
    wraps = np.diff(v) < -modulus / 2
    if not wraps.any():
        return v
    return v + modulus * np.concatenate(([0], np.cumsum(wraps)))


def _refuse_bursts(v: np.ndarray, step: float, low: float, high: float) -> None:
    """Refuse times that come in bursts: most steps far shorter than the mean one, which alone gives
    a sampling rate (rows stamped as a batch of them arrives, over Bluetooth or a serial buffer)."""
    mean = float(v[-1] - v[0]) / (len(v) - 1)
    fits = [u for u in AUTO_UNITS if low <= 1 / (mean * TIME_UNITS[u]) <= high]
    if mean >= 4 * step and len(fits) == 1:
        raise TimeBaseError(
            f"its steps come in bursts (the median step {step:g} is {mean / step:.0f} times shorter than "
            f"the mean one, {1 / (mean * TIME_UNITS[fits[0]]):.4g} Hz in {fits[0]}): rows stamped as a batch "
            f"of them arrives do not time the samples: {NO_CLOCK_HINT}"
        )


def seconds_from(
    values: np.ndarray, unit: str = "auto", rate_hz: float | None = None
) -> tuple[np.ndarray, float | None, str]:
    """A time column in seconds from its first value, the UNIX time of that value, and the unit used.

    ``unit`` ``"auto"`` recognises seconds, milliseconds, microseconds and nanoseconds from the median
    step (the one unit whose rate falls in :data:`AUTO_RATE_HZ`: a step of 4.8 is ms at 208 Hz), then
    UNIX time from the first value's magnitude in that unit. ``"samples"`` (a sample counter) needs ``rate_hz``.
    Raises :class:`TimeBaseError` with one line saying what was found and which option fixes it.
    """
    v = np.asarray(values, dtype=np.float64)
    step = float(np.median(np.diff(v))) if len(v) > 1 else float("nan")
    if not step > 0:
        raise TimeBaseError(f"its median step is {step:g}: the time must increase")
    iso, unit = (True, "s") if unit == ISO else (False, unit)
    if unit == "auto":
        # a float64 holds UNIX ns to 256 ns: a 2 kHz clock's median step reads 499968 ns (2000.13 Hz)
        low, high = AUTO_RATE_HZ[0] * (1 - AUTO_SLACK), AUTO_RATE_HZ[1] * (1 + AUTO_SLACK)
        fits = [u for u in AUTO_UNITS if low <= 1 / (step * TIME_UNITS[u]) <= high]
        if len(fits) != 1:
            _refuse_bursts(v, step, low, high)
            rates = ", ".join(f"{1 / (step * TIME_UNITS[u]):.3g} Hz in {u}" for u in AUTO_UNITS)
            raise TimeBaseError(
                f"its median step {step:g} gives {rates}; none is a rate between {AUTO_RATE_HZ[0]:g} and "
                f"{AUTO_RATE_HZ[1]:g} Hz: state the unit with --time-unit {'|'.join(AUTO_UNITS)}"
            )
        unit = fits[0]
    if unit not in UNITS:
        raise TimeBaseError(f"unknown time unit {unit!r} (use auto, {', '.join(UNITS)})")
    if unit == SAMPLES and rate_hz is None:
        raise TimeBaseError("it counts samples: give their rate with --sample-rate (the file states none)")
    scale = 1 / rate_hz if unit == SAMPLES and rate_hz is not None else TIME_UNITS[unit]
    rate = 1 / (step * scale)
    if not GIVEN_RATE_HZ[0] <= rate <= GIVEN_RATE_HZ[1] and iso:
        raise TimeBaseError(
            f"its date-times are a median {step:.3g} s apart, {rate:.3g} Hz, not a sampling rate "
            f"({GIVEN_RATE_HZ[0]:g}-{GIVEN_RATE_HZ[1]:g} Hz): for stamps that do not time the rows, {NO_CLOCK_HINT}"
        )
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
    elif iso:
        raise TimeBaseError(
            f"it starts at {iso_text(first)}: a recording's clock dates it 2000-2100 (or counts from "
            f"1970-01-01, a clock never set, for at most {MAX_RELATIVE_START_S / 31_556_952:.0f} years): "
            f"check the column, or read the rows as evenly spaced: {NO_CLOCK_HINT} (--start-time dates them)"
        )
    else:
        year = 1970 + first / 31_556_952
        raise TimeBaseError(
            f"it starts at {v[0]:g} ({unit}): as UNIX time the year {year:.0f}, as time since a start "
            f"{abs(first) / 31_556_952:.3g} years; neither is a recording's clock (UNIX time 2000-2100 or "
            f"time since the start): check the column, or state its unit with --time-unit {'|'.join(AUTO_UNITS)}"
        )
    return (v - v[0]) * scale, epoch, unit


__all__ = [
    "AUTO_RATE_HZ",
    "AUTO_UNITS",
    "NAMED_UNITS",
    "NO_CLOCK",
    "NO_CLOCK_HINT",
    "ISO",
    "ISO_STAMP",
    "TIME_FORMS",
    "iso_seconds",
    "SAMPLES",
    "UNITS",
    "CounterError",
    "counter_modulus",
    "named_unit",
    "unwrap",
    "GIVEN_RATE_HZ",
    "MAX_PAUSE_S",
    "MAX_RELATIVE_START_S",
    "TIME_UNITS",
    "UNIX_RANGE_S",
    "seconds_from",
]
