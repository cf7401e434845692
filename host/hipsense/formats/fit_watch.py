"""The runner's watch: an activity's per-second records from a FIT file (garmin-fit-sdk).

A FIT activity (the file a Garmin, Coros, Suunto or Wahoo watch exports) holds ``record`` messages,
about one a second: a timestamp and whatever the watch measured (distance, speed, altitude, heart
rate, cadence). :func:`read_fit` returns them as a :class:`WatchActivity` of plain arrays, UNIX
seconds and SI units. The file comes from elsewhere, so it is bounded (size, record count, values)
and anything that is not a readable activity fails with one :class:`FitError` line. How the records
are aligned to a session: :mod:`hipsense.link`, docs/watch.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hipsense.errors import HipsenseError

#: Largest FIT file read (a 24 h activity at one record a second is about 3 MB).
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Most records kept (about 55 h at one a second).
MAX_RECORDS = 200_000
#: Most decoding a file may cost, counted as it is decoded: 4 a message plus 1 a field. The decoder
#: keeps every message as a dict (measured: about 200 bytes a message, 45 a field): an 8 MB file of
#: tiny messages took 0.9 GB without it; 64 MB files of tiny, empty or 255-field messages now peak at
#: 0.3-0.5 GB with their bytes. A record of 21 fields (running dynamics, power) and an HRV message a
#: second cost 30 a second: 55 h, the record cap, about 6 M.
MAX_DECODE_COST = 8_000_000
#: Seconds between the FIT epoch (1989-12-31T00:00Z) and the UNIX epoch.
FIT_EPOCH_UNIX = 631_065_600
#: Timestamps outside these UNIX seconds (1990 .. 2100) are not a watch's clock.
TIME_RANGE_UNIX = (631_152_000.0, 4_102_444_800.0)
#: Plausible ranges; values outside read as missing (a sensor's "invalid" or a corrupt field).
RANGES = {
    "speed_mps": (0.0, 30.0),
    "altitude_m": (-500.0, 9000.0),
    "heart_rate_bpm": (20.0, 250.0),
    "cadence_spm": (0.0, 300.0),
    "distance_m": (0.0, 1.0e7),
}
#: Sports whose cadence counts steps (FIT's names); a file naming another sport is refused.
ON_FOOT = {
    "running",
    "walking",
    "hiking",
    "generic",
    "training",
    "fitness_equipment",
    "multisport",
    "transition",
}


class FitError(HipsenseError):
    """The file is not a FIT activity hipsense can read (one line saying why)."""


class _TooBig(Exception):
    """Raised inside the decoder's message listener to stop it (:data:`MAX_DECODE_COST`)."""


def _budget() -> Callable[[int, dict[str, Any]], None]:
    """A message listener that stops the decoder once :data:`MAX_DECODE_COST` is spent."""
    left = MAX_DECODE_COST

    def spend(_mesg_num: int, message: dict[str, Any]) -> None:
        nonlocal left
        left -= 4 + len(message) + len(message.get("developer_fields") or ())
        if left < 0:
            raise _TooBig

    return spend


@dataclass(frozen=True)
class WatchActivity:
    """A watch's records, sorted by time, one per distinct timestamp.

    Attributes
    ----------
    time_unix
        Record times, UNIX seconds (the watch's clock).
    distance_m, speed_mps, altitude_m, heart_rate_bpm, cadence_spm
        One value per record, NaN where the watch recorded none; None when no record has the field.
        Cadence is in steps per minute (FIT's running cadence counts one foot: it is doubled here).
    sport
        The activity's sport as the file names it ("running", "cycling", ...), "" when it does not.
    """

    time_unix: np.ndarray
    distance_m: np.ndarray | None
    speed_mps: np.ndarray | None
    altitude_m: np.ndarray | None
    heart_rate_bpm: np.ndarray | None
    cadence_spm: np.ndarray | None
    sport: str = ""

    def __len__(self) -> int:
        return len(self.time_unix)

    @property
    def duration_s(self) -> float:
        return float(self.time_unix[-1] - self.time_unix[0]) if len(self) else 0.0


def _number(x: Any) -> float:
    """A field's value as a float (NaN for None, text, lists, booleans: nothing a record should hold)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return float("nan")
    return float(x)


def _column(records: list[dict[str, Any]], *names: str) -> np.ndarray:
    """The first of ``names`` each record has (``enhanced_speed`` before ``speed``), NaN elsewhere."""
    out = np.full(len(records), np.nan)
    for i, r in enumerate(records):
        for n in names:
            v = _number(r.get(n))
            if np.isfinite(v):
                out[i] = v
                break
    return out


def _bounded(x: np.ndarray, name: str) -> np.ndarray | None:
    lo, hi = RANGES[name]
    x = np.where((x >= lo) & (x <= hi), x, np.nan)
    return None if np.isnan(x).all() else x


def decode_fit(data: bytes, name: str = "FIT file") -> dict[str, list[dict[str, Any]]]:
    """The messages of a FIT file's bytes (garmin-fit-sdk), checked; FitError naming ``name``."""
    try:
        from garmin_fit_sdk import Decoder, Stream
    except ImportError:  # pragma: no cover - a normal dependency; only a broken install lacks it
        raise FitError("reading FIT files needs garmin-fit-sdk: pip install garmin-fit-sdk") from None
    if len(data) > MAX_FILE_BYTES:
        raise FitError(f"{name}: {len(data)} bytes, more than a watch activity ({MAX_FILE_BYTES} at most)")
    # The decoder reads its stream as it checks it, so each check gets a fresh one.
    if not Decoder(Stream.from_byte_array(bytearray(data))).is_fit():
        raise FitError(f"{name}: not a FIT file (no FIT header)")
    if not Decoder(Stream.from_byte_array(bytearray(data))).check_integrity():
        raise FitError(f"{name}: damaged or truncated FIT file (its size or checksum does not match)")
    try:
        messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read(
            convert_datetimes_to_dates=False, merge_heart_rates=False, mesg_listener=_budget()
        )
    except Exception as e:  # the SDK raises what it meets (TypeError, IndexError ...); one line each
        raise FitError(
            f"{name}: cannot be decoded ({type(e).__name__}: {' '.join(str(e).split())})"
        ) from None
    if errors and isinstance(errors[0], _TooBig):
        raise FitError(f"{name}: more messages and fields than a watch activity holds (a damaged file?)")
    if errors:
        raise FitError(f"{name}: cannot be decoded ({' '.join(str(errors[0]).split())})")
    return dict(messages)  # type: ignore[arg-type]  # the SDK's TypedDict, read as plain dicts


def read_fit(path: str | Path) -> WatchActivity:
    """A watch's FIT activity as arrays; :class:`FitError` (one line) when it cannot be one.

    Raises
    ------
    FitError
        The file is missing, too large, not FIT, damaged, has no records, too many, or no timestamps.
    """
    return load_fit(path)[1]


def load_fit(path: str | Path) -> tuple[bytes, WatchActivity]:
    """The file's bytes and its activity, read once (so what is kept is what was read)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FitError(f"{path}: {size} bytes, more than a watch activity ({MAX_FILE_BYTES} at most)")
        data = path.read_bytes()
    except OSError as e:
        raise FitError(f"{path}: cannot be read ({(e.strerror or str(e)).lower()})") from None
    return data, activity_from_messages(decode_fit(data, str(path)), str(path))


def activity_from_messages(messages: dict[str, list[dict[str, Any]]], name: str) -> WatchActivity:
    """The records of decoded messages as a :class:`WatchActivity` (see :func:`read_fit`)."""
    records = [r for r in messages.get("record_mesgs", []) if isinstance(r, dict)]
    if not records:
        raise FitError(f"{name}: a FIT file without activity records (a course, workout or settings file?)")
    if len(records) > MAX_RECORDS:
        raise FitError(
            f"{name}: {len(records)} records, more than {MAX_RECORDS} (about 55 h at one a second)"
        )
    t = _column(records, "timestamp") + FIT_EPOCH_UNIX
    ok = np.isfinite(t) & (t >= TIME_RANGE_UNIX[0]) & (t <= TIME_RANGE_UNIX[1])
    if not ok.any():
        raise FitError(f"{name}: its {len(records)} records have no usable timestamps")
    # Sorted, one record per timestamp (a watch repeats one when it pauses): the first one is kept.
    idx = np.flatnonzero(ok)
    order = idx[np.argsort(t[idx], kind="stable")]
    _, first = np.unique(t[order], return_index=True)
    keep = order[first]
    rec = [records[i] for i in keep]
    cadence = _column(rec, "cadence")
    # FIT's running cadence is strides (one foot) per minute, with the half strides in fractional_cadence.
    fractional = np.nan_to_num(_column(rec, "fractional_cadence"))
    sports = [s.get("sport") for s in messages.get("session_mesgs", []) + messages.get("sport_mesgs", [])]
    sport = next((s for s in sports if isinstance(s, str)), "")
    if sport and sport not in ON_FOOT:  # a ride's cadence is pedal turns: its steps would be wrong
        raise FitError(
            f"{name}: a {sport[:40]} activity, not a run (hipsense links running, walking, hiking)"
        )
    return WatchActivity(
        time_unix=t[keep],
        distance_m=_bounded(_column(rec, "distance"), "distance_m"),
        speed_mps=_bounded(_column(rec, "enhanced_speed", "speed"), "speed_mps"),
        altitude_m=_bounded(_column(rec, "enhanced_altitude", "altitude"), "altitude_m"),
        heart_rate_bpm=_bounded(_column(rec, "heart_rate"), "heart_rate_bpm"),
        cadence_spm=_bounded(2.0 * (cadence + fractional), "cadence_spm"),
        sport=sport[:40],
    )


__all__ = [
    "MAX_DECODE_COST",
    "MAX_FILE_BYTES",
    "MAX_RECORDS",
    "FitError",
    "WatchActivity",
    "activity_from_messages",
    "load_fit",
]
__all__ += ["read_fit"]
