"""A session as a FIT activity for the runner's watch platform: per-second running form in developer fields.

``hipsense export --format fit SESSION --out run.fit`` writes one ``record`` a second over the session's
running, each with four developer fields (FIT's way of carrying data its profile does not name; Garmin
Connect and most analysis tools show them as extra charts): cadence, ground contact time, balance (the
left foot's share of contact time) and pelvic drop. Each second's value is taken over the running steps
within +-2.5 s of it (a 5 s window, what a watch's own running-dynamics fields use). Written with
garmin-fit-sdk's encoder; docs/watch.md.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hipsense.errors import HipsenseError

#: A fixed application id (16 bytes) so platforms group hipsense's developer fields under one app.
APP_ID = list(bytes.fromhex("6869707365e6e5e5ab0f1a2c3d4e5f60"))
#: FIT base type float32 (the SDK's encoder takes the number, not the name).
FLOAT32 = 0x88
#: ``(name in the FIT file, units, column of seconds())``, numbered 0.. in this order.
FIELDS = (
    ("hipsense_cadence", "spm", "cadence_spm"),
    ("hipsense_contact_time", "ms", "contact_time_ms"),
    ("hipsense_balance_left", "%", "balance_left_pct"),
    ("hipsense_pelvic_drop", "deg", "pelvic_drop_deg"),
)
#: Half the averaging window, seconds.
HALF_WINDOW_S = 2.5
#: Longest session exported (a FIT record a second).
MAX_SECONDS = 48 * 3600
#: Two running steps further apart than this are two runs: the seconds between them are not running.
MAX_STEP_GAP_S = 2.0


@dataclass(frozen=True)
class FitExport:
    path: Path
    records: int
    seconds: pd.DataFrame


def _windowed(k: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Mean of ``values`` (at whole seconds ``k``) over the 5 s around each second; NaN where none."""
    ok = np.isfinite(values)
    total: np.ndarray = np.bincount(k[ok], weights=values[ok], minlength=n)
    count: np.ndarray = np.bincount(k[ok], minlength=n).astype(float)
    kernel = np.ones(int(2 * HALF_WINDOW_S))
    total, count = np.convolve(total, kernel, "same"), np.convolve(count, kernel, "same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def seconds(steps: pd.DataFrame) -> pd.DataFrame:
    """The session's running form per whole second of its clock (``t_s``), over the running steps.

    ``cadence_spm``, ``contact_time_ms``, ``pelvic_drop_deg`` (means) and ``balance_left_pct``:
    100 x the left steps' mean contact time / (left mean + right mean); NaN without both sides.
    One row per second of running: a second holding a running step's contact, or lying between two
    running steps at most ``MAX_STEP_GAP_S`` apart (the window reaches 2 s past the last step, but
    the runner stopped there)."""
    cols = ["t_s", *(c for _, _, c in FIELDS)]
    ic, run = _running(steps)
    if not run.any():
        return pd.DataFrame(columns=cols)
    k = np.floor(ic[run]).astype(int)
    n = int(k.max()) + 3

    def col(name: str) -> np.ndarray:
        return pd.to_numeric(steps[name], errors="coerce").to_numpy(dtype=float)[run]

    contact = col("contact_time_s") * 1000.0
    side = steps["side"].astype("string").fillna("").to_numpy()[run]
    left = _windowed(k, np.where(side == "L", contact, np.nan), n)
    right = _windowed(k, np.where(side == "R", contact, np.nan), n)
    out = pd.DataFrame(
        {
            "t_s": np.arange(n, dtype=float),
            "cadence_spm": _windowed(k, col("cadence_spm"), n),
            "contact_time_ms": _windowed(k, contact, n),
            "balance_left_pct": 100.0 * left / (left + right),
            "pelvic_drop_deg": _windowed(k, col("pelvic_drop_deg"), n),
        }
    )
    running = np.zeros(n, dtype=bool)
    ics = np.sort(ic[run])
    for a, b in zip(ics, [*ics[1:], np.inf], strict=True):
        running[int(a) : (int(b) if b - a <= MAX_STEP_GAP_S else int(a)) + 1] = True
    return out[running & out[cols[1:]].notna().any(axis=1).to_numpy()].reset_index(drop=True)


def _running(steps: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The steps' contacts (``ic_s``) and which of them are running steps on the exported clock."""
    if not len(steps) or "ic_s" not in steps:
        return np.empty(0), np.zeros(0, dtype=bool)
    ic = pd.to_numeric(steps["ic_s"], errors="coerce").to_numpy(dtype=float)
    run = np.isfinite(ic) & (ic >= 0) & (ic < MAX_SECONDS)
    if "activity" in steps:
        run &= (steps["activity"] == "run").fillna(False).to_numpy(dtype=bool)
    return ic, run


def pauses_s(steps: pd.DataFrame) -> float:
    """Seconds between the session's runs: the gaps in the union of its running steps, each running from
    its contact for its step time (the median step time for one without, as the last has none; a step
    time over ``MAX_STEP_GAP_S`` ends a run). 0 for one run.

    Only the pauses come from the steps: the running time is the stored one (the running bouts),
    so the FIT file's timer is the figure the sessions list and the report show."""
    ic, run = _running(steps)
    if not run.any():
        return 0.0
    step = (
        pd.to_numeric(steps["step_time_s"], errors="coerce").to_numpy(dtype=float)
        if "step_time_s" in steps
        else np.full(len(ic), np.nan)
    )[run]
    usable = np.isfinite(step) & (step > 0) & (step <= MAX_STEP_GAP_S)
    typical = float(np.median(step[usable])) if usable.any() else 0.0
    order = np.argsort(ic[run])
    starts, ends = ic[run][order], (ic[run] + np.where(usable, step, typical))[order]
    reach = np.maximum.accumulate(ends)  # where the running so far reaches
    return float(np.maximum(starts[1:] - reach[:-1], 0.0).sum())


def _utc(t: float) -> dt.datetime:
    # FIT times are whole seconds; floor, not round (round() sends x.5 to the even neighbour: two
    # seconds would share one stamp)
    return dt.datetime.fromtimestamp(int(np.floor(t)), dt.timezone.utc)


def refuse_existing(path: str | Path) -> None:
    """One line when ``path`` exists (a dangling link too): an export never replaces a file, and the
    ``--out`` a runner types may be the watch's own FIT they just linked."""
    if os.path.lexists(path):
        raise HipsenseError(f"--out {path}: exists; choose a new file name (export never replaces a file)")


def write_fit(
    path: str | Path,
    steps: pd.DataFrame,
    start_time_unix: float,
    *,
    running_time_s: float,
    session_id: int = 0,
) -> FitExport:
    """Write the session's per-second running form to ``path`` as a FIT activity (see the module).

    Parameters
    ----------
    path
        The FIT file to write; it must not exist (:func:`refuse_existing`).
    steps
        The session's step table (``Store.steps``).
    start_time_unix
        The session's start, UNIX seconds.
    running_time_s
        The session's stored running time (its summary's ``running_time_s``, the sum of its running
        bouts): FIT's ``total_timer_time``; ``total_elapsed_time`` adds the pauses between runs.
    session_id
        Written as the file's serial number.
    """
    from garmin_fit_sdk import Encoder

    if not np.isfinite(start_time_unix) or not 631_152_000 <= start_time_unix <= 4_102_444_800:
        raise HipsenseError("the session has no start time, and a FIT file needs one")
    per_second = seconds(steps)
    if not len(per_second):
        raise HipsenseError("the session has no running steps to export")
    if not (np.isfinite(running_time_s) and running_time_s > 0):  # NULL: stored before summaries were
        raise HipsenseError("the session has no stored running time: `hipsense reanalyze` adds it")
    start = float(start_time_unix)
    enc = Encoder()
    serial = int(session_id) % 2**32
    first, last = start + per_second["t_s"].iloc[0], start + per_second["t_s"].iloc[-1]
    enc.write_mesg(
        {
            "mesg_num": 0,
            "type": "activity",
            "manufacturer": "development",
            "product": 0,
            "serial_number": serial,
            "time_created": _utc(start),
        }
    )
    developer: Any = {
        "mesg_num": 207,
        "developer_data_index": 0,
        "application_id": APP_ID,
        "application_version": 1,
    }
    enc.write_mesg(developer)
    for number, (name, units, _) in enumerate(FIELDS):
        description: Any = {
            "mesg_num": 206,
            "developer_data_index": 0,
            "field_definition_number": number,
            "fit_base_type_id": FLOAT32,
            "field_name": name,
            "units": units,
            "native_mesg_num": 20,
        }
        enc.write_mesg(description)
        enc.add_developer_field(number, developer, description)
    enc.write_mesg({"mesg_num": 21, "timestamp": _utc(first), "event": "timer", "event_type": "start"})
    values = per_second[[c for _, _, c in FIELDS]].to_numpy(dtype=float)
    for t, row in zip(per_second["t_s"].to_numpy(), values, strict=True):
        fields = {i: float(v) for i, v in enumerate(row) if np.isfinite(v)}  # a missing one is left out
        enc.write_mesg({"mesg_num": 20, "timestamp": _utc(start + t), "developer_fields": fields})
    # One running time in the product: the stored one is the timer; the pauses between runs are not.
    timer = float(running_time_s)
    elapsed = timer + pauses_s(steps)
    enc.write_mesg({"mesg_num": 21, "timestamp": _utc(last), "event": "timer", "event_type": "stop_all"})
    enc.write_mesg(
        {
            "mesg_num": 18,
            "timestamp": _utc(last),
            "start_time": _utc(first),
            "sport": "running",
            "total_elapsed_time": elapsed,
            "total_timer_time": timer,
        }
    )
    enc.write_mesg(
        {
            "mesg_num": 34,
            "timestamp": _utc(last),
            "num_sessions": 1,
            "type": "manual",
            "total_timer_time": timer,
        }
    )
    out = Path(path)
    try:  # created here or refused: never over another file
        with open(out, "xb") as fh:
            fh.write(enc.close())
    except FileExistsError:  # made since the check before the work
        refuse_existing(out)
        raise
    return FitExport(out, len(per_second), per_second)


__all__ = ["FIELDS", "FitExport", "pauses_s", "refuse_existing", "seconds", "write_fit"]
