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
#: Sub-sports indoors: the altitude is the room's, not the belt's incline (FIT's names).
INDOOR = {"treadmill", "indoor_running", "indoor_walking", "virtual_activity"}
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
    """Raised inside the decoder's message listener to stop it (:data:`MAX_DECODE_COST`,
    :data:`MAX_RECORDS`); its text is the reason."""


#: FIT's global message number of a ``record``.
RECORD_MESG = 20


def _budget() -> Callable[[int, dict[str, Any]], None]:
    """A message listener that stops the decoder once :data:`MAX_DECODE_COST` is spent or the
    :data:`MAX_RECORDS` + 1st record arrives (before, a 7.5 MB file of 1.5 M records was decoded
    whole, 35 s and 480 MB, only to be refused)."""
    left, records = MAX_DECODE_COST, 0

    def spend(mesg_num: int, message: dict[str, Any]) -> None:
        nonlocal left, records
        left -= 4 + len(message) + len(message.get("developer_fields") or ())
        records += mesg_num == RECORD_MESG
        if records > MAX_RECORDS:
            raise _TooBig(f"more than {MAX_RECORDS} records (about 55 h at one a second)")
        if left < 0:
            raise _TooBig("more messages and fields than a watch activity holds (a damaged file?)")

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
    indoor
        A treadmill or other indoor activity (its sub-sport): the altitude is then not read, as it is
        not the belt's incline, and the grade stays unknown.
    notes
        What was done to the records on the way (a multisport file's other parts left out, a clock
        correction undone), one sentence each.
    """

    time_unix: np.ndarray
    distance_m: np.ndarray | None
    speed_mps: np.ndarray | None
    altitude_m: np.ndarray | None
    heart_rate_bpm: np.ndarray | None
    cadence_spm: np.ndarray | None
    sport: str = ""
    indoor: bool = False
    notes: tuple[str, ...] = ()

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
    if len(data) < data[0] + int.from_bytes(data[4:8], "little") + 2:  # header size + data size + CRC
        raise FitError(f"{name}: damaged or truncated FIT file (its size or checksum does not match)")
    # Decoded before the whole file's checksum is checked (the decoder checks it as it reads): the
    # record cap then stops a file of millions of records early (a pure-Python checksum pass over 60 MB
    # took 30 s). A file that fails is checked whole afterwards, to tell damage from a real limit.
    try:
        messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read(
            convert_datetimes_to_dates=False, merge_heart_rates=False, mesg_listener=_budget()
        )
    except Exception as e:  # the SDK raises what it meets (TypeError, IndexError ...); one line each
        errors = [e]
    if errors and isinstance(errors[0], _TooBig):
        raise FitError(f"{name}: {errors[0]}")
    if errors and not Decoder(Stream.from_byte_array(bytearray(data))).check_integrity():
        raise FitError(f"{name}: damaged or truncated FIT file (its size or checksum does not match)")
    if errors:
        why = " ".join(str(errors[0]).split())
        if "compressed timestamp" in why.lower():  # valid FIT, but a header the SDK cannot read yet
            raise FitError(
                f"{name}: its records use FIT's compressed timestamp headers, which the FIT reader "
                "(garmin-fit-sdk) does not read yet: export the activity again from the watch's app or website"
            )
        raise FitError(f"{name}: cannot be decoded ({type(errors[0]).__name__}: {why})")
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
    distance = _column(records, "distance")  # read once: the clock steps and the activity use it
    ok = np.isfinite(t) & (t >= TIME_RANGE_UNIX[0]) & (t <= TIME_RANGE_UNIX[1])
    if not ok.any():
        raise FitError(f"{name}: its {len(records)} records have no usable timestamps")
    sport, sub_sport, spans = _sport(messages, name)
    notes = []
    if spans is not None:  # a multisport file (a ride, then the run): the parts on foot only
        inside = np.zeros(len(t), dtype=bool)
        for a, b in spans:
            inside |= (t >= a) & (t <= b)
        if not (ok & inside).any():
            raise FitError(f"{name}: its {sport} part holds no records")
        left_out = int((ok & ~inside).sum())
        notes.append(
            f"a multisport file: only its {sport} part is used ({left_out} records of its other parts left out)"
        )
        ok &= inside
    idx = np.flatnonzero(ok)
    t[idx], stepped = _undo_clock_steps(t[idx], distance[idx])
    if stepped:
        notes.append(stepped)
    # Sorted, one record per timestamp (a watch repeats one when it pauses): the first one is kept.
    order = idx[np.argsort(t[idx], kind="stable")]
    _, first = np.unique(t[order], return_index=True)
    keep = order[first]
    rec = [records[i] for i in keep]
    cadence = _column(rec, "cadence")
    # FIT's running cadence is strides (one foot) per minute, with the half strides in fractional_cadence.
    fractional = np.nan_to_num(_column(rec, "fractional_cadence"))
    indoor = sub_sport in INDOOR
    if indoor:
        notes.append(
            f"an indoor activity ({sub_sport}): its altitude is not the belt's incline, so the grade is unknown"
        )
    return WatchActivity(
        time_unix=t[keep],
        distance_m=_bounded(distance[keep], "distance_m"),
        speed_mps=_bounded(_column(rec, "enhanced_speed", "speed"), "speed_mps"),
        altitude_m=None if indoor else _bounded(_column(rec, "enhanced_altitude", "altitude"), "altitude_m"),
        heart_rate_bpm=_bounded(_column(rec, "heart_rate"), "heart_rate_bpm"),
        cadence_spm=_bounded(2.0 * (cadence + fractional), "cadence_spm"),
        sport=sport[:40],
        indoor=indoor,
        notes=tuple(notes),
    )


def _sport(
    messages: dict[str, list[dict[str, Any]]], name: str
) -> tuple[str, str, list[tuple[float, float]] | None]:
    """The activity's sport and sub-sport, and for a file whose sessions mix sports (a brick: a ride,
    then a run) the UNIX time spans of its sessions on foot (None when every session is on foot).
    FitError when no part of it is on foot: a ride's cadence is pedal turns, its steps would be wrong."""
    sessions = [
        m
        for m in messages.get("session_mesgs", [])
        if isinstance(m, dict) and isinstance(m.get("sport"), str)
    ]
    if not sessions:  # no session message: the sport message, if any, names the activity
        sports = [m.get("sport") for m in messages.get("sport_mesgs", []) if isinstance(m, dict)]
        sport = next((x for x in sports if isinstance(x, str)), "")
        if sport and sport not in ON_FOOT:
            raise FitError(
                f"{name}: a {sport[:40]} activity, not a run (hipsense links running, walking, hiking)"
            )
        subs = [m.get("sub_sport") for m in messages.get("sport_mesgs", []) if isinstance(m, dict)]
        return sport, next((x for x in subs if isinstance(x, str)), ""), None
    foot = [m for m in sessions if m["sport"] in ON_FOOT - {"multisport", "transition"}] or [
        m for m in sessions if m["sport"] in ON_FOOT
    ]
    if not foot:
        raise FitError(
            f"{name}: a {sessions[0]['sport'][:40]} activity, not a run (hipsense links running, walking, hiking)"
        )
    sub = foot[0].get("sub_sport")
    sub_sport = sub if isinstance(sub, str) else ""
    if len(foot) == len(sessions):
        return foot[0]["sport"], sub_sport, None
    spans = []
    for m in foot:
        start = _number(m.get("start_time")) + FIT_EPOCH_UNIX
        end = _number(m.get("timestamp")) + FIT_EPOCH_UNIX
        if not np.isfinite(end):
            end = start + _number(m.get("total_elapsed_time"))
        if np.isfinite(start) and np.isfinite(end) and end >= start:
            spans.append((start, end))
    if not spans:
        raise FitError(f"{name}: a multisport file whose {foot[0]['sport']} part has no start and end times")
    return foot[0]["sport"], sub_sport, spans


#: How far a watch's clock may step back between records before it counts as a clock correction
#: (a watch that pauses repeats a second; a GPS fix moves the clock by many).
CLOCK_STEP_S = 2.0


def _undo_clock_steps(t: np.ndarray, distance: np.ndarray) -> tuple[np.ndarray, str]:
    """Times in file order with each clock correction undone, and a sentence when there was one.

    A time that steps back more than :data:`CLOCK_STEP_S` while the distance keeps growing is the
    watch correcting its clock (a GPS fix): the records before it were on the wrong clock by the step,
    so they move with it. Where the distance goes back too (or is not recorded) the records were
    written again: they are left to the one-per-timestamp rule, as before."""
    if len(t) < 2:
        return t, ""
    step = np.diff(t)
    d = np.diff(distance)
    correction = (step < -CLOCK_STEP_S) & np.isfinite(d) & (d >= 0)
    if not correction.any():
        return t, ""
    usual = float(np.median(step[step > 0])) if (step > 0).any() else 1.0  # the records' own spacing
    add = np.where(correction, step - usual, 0.0)  # the step moves the next record one spacing on
    shift = np.r_[np.cumsum(add[::-1])[::-1], 0.0]
    sizes = ", ".join(f"{usual - x:.0f} s" for x in step[correction][:3])
    return t + shift, (
        f"the watch's clock stepped back ({sizes}) while the distance grew: a clock correction, "
        "so the records before it were moved back with it"
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
