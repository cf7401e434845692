"""The runner's watch linked to a stored session (``hipsense link``, ``import --fit``; docs/watch.md).

:func:`link_session` reads the watch's FIT activity (:mod:`hipsense.formats.fit_watch`), aligns it to
the session and derives the per-step values (:mod:`hipsense.watch_align`: clock offset by cadence,
grade by Savitzky-Golay), writes ``speed_mps``, ``grade_pct`` and ``heart_rate_bpm`` into the session's
steps (registry entries of kind "linked"), keeps the FIT file content-addressed in the store's
``watch/`` folder and records the link in the ``watch_links`` table. A reanalysis rewrites the steps;
:func:`relink` links the kept file again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hipsense.errors import HipsenseError
from hipsense.formats.fit_watch import FitError, WatchActivity, load_fit
from hipsense.gait.verdict import too_few_steps
from hipsense.watch_align import (
    SEARCH_S,
    VALUE_COLUMNS,
    Alignment,
    align,
    bout_summary,
    flat_easy,
    grade_pct,
    linked_values,
    notes,
    step_values,
)
from hipsense.watch_grade import grade_estimate

if TYPE_CHECKING:
    from hipsense.store import Store

#: Linked per-step columns (metric registry entries of kind "linked").
LINKED_COLUMNS = VALUE_COLUMNS


class LinkError(HipsenseError):
    """A watch file that cannot be linked to this session (one line saying why)."""


# The store: the watch file kept, the link recorded, the linked columns written


@dataclass
class LinkResult:
    session_id: int
    alignment: Alignment
    steps: int
    linked_steps: int
    bouts: pd.DataFrame
    watch_path: Path
    sport: str
    flat: dict[str, Any]
    #: What was done to the watch's records on the way (:attr:`WatchActivity.notes`).
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            **asdict(self.alignment),
            "steps": self.steps,
            "linked_steps": self.linked_steps,
            "bouts": json.loads(self.bouts.to_json(orient="records")),
            "flat": self.flat,
            "notes": list(self.notes),
        }


def _keep_watch_file(store: Store, path: Path, data: bytes) -> tuple[str, Path]:
    """The watch file copied to ``watch/ab/cdef...`` (sha256 of its bytes), read-only, once."""
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    final = store.watch_path(sha)
    if not final.exists():
        final.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        tmp = final.parent / f".tmp-{os.getpid()}-{sha[:8]}"
        tmp.write_bytes(data)
        os.chmod(tmp, 0o400)
        os.replace(tmp, final)
    return sha, final


def _session(store: Store, session_id: int) -> tuple[float, float]:
    if not 0 < session_id < 2**62:  # SQLite's integers end at 2**63
        raise LinkError(f"SESSION {session_id}: not a session id (see `hipsense sessions`)")
    row = store.db.execute(
        "SELECT start_time, duration_s, status FROM sessions WHERE id = ?", (int(session_id),)
    ).fetchone()
    if row is None:
        raise LinkError(f"no session {session_id} in {store.root} (see `hipsense sessions`)")
    start, duration, status = row
    if status != "ok":
        raise LinkError(f"session {session_id} could not be analysed; it has no steps to link")
    if not isinstance(start, (int, float)) or not np.isfinite(start):
        raise LinkError(
            f"session {session_id} has no start time (a CSV without UNIX times?): its clock cannot be "
            "matched to the watch's"
        )
    if not isinstance(duration, (int, float)) or not np.isfinite(duration) or duration <= 0:
        raise LinkError(f"session {session_id} has no duration; reanalyse it first")
    return float(start), float(duration)


def stored_link(store: Store, session_id: int) -> dict[str, Any] | None:
    """The session's watch link as stored (None when it has none)."""
    try:
        row = store.db.execute(
            "SELECT fit_sha256, original_name, offset_s, confidence, method, linked_at FROM watch_links "
            "WHERE session_id = ?",
            (int(session_id),),
        ).fetchone()
    except sqlite3.OperationalError:  # no table yet: nothing was ever linked
        return None
    if row is None:
        return None
    keys = ("fit_sha256", "original_name", "offset_s", "confidence", "method", "linked_at")
    return dict(zip(keys, row, strict=True))


def link_session(
    store: Store,
    session_id: int,
    fit_path: str | Path | None = None,
    *,
    loaded: tuple[bytes, WatchActivity] | None = None,
) -> LinkResult:
    """Link a watch's FIT activity to a stored session and write the linked step columns.

    Without ``fit_path`` the watch file kept at an earlier link is linked again (after a reanalysis,
    which rewrites the steps). ``loaded``: ``fit_path`` as :func:`load_fit` already read it (so a
    checked file is not decoded twice). Raises :class:`LinkError` / :class:`FitError` with one line.
    """
    store.check_writable()  # before the watch file is copied in
    start, duration = _session(store, session_id)
    if fit_path is None:
        link = stored_link(store, session_id)
        if link is None:
            raise LinkError(f"session {session_id} has no watch linked yet: give the FIT file")
        sha, name = link["fit_sha256"], link["original_name"]
        path = store.watch_path(sha)
    else:
        path, name = Path(fit_path), Path(fit_path).name
    data, watch = loaded if loaded is not None and fit_path is not None else load_fit(path)
    first, last = float(watch.time_unix[0]), float(watch.time_unix[-1])
    if last < start - SEARCH_S or first > start + duration + SEARCH_S:
        raise LinkError(
            f"{path}: the watch's activity ({_utc(first)} to {_utc(last)}) does not overlap session "
            f"{session_id} ({_utc(start)} to {_utc(start + duration)}){_zone_hint(first - start)}"
        )
    steps = store.steps(session_id)
    if not len(steps):
        raise LinkError(f"session {session_id} has no steps to link")
    alignment = align(steps, start, duration, watch)
    grade = grade_estimate(watch.distance_m, watch.altitude_m)  # once: the values and the notes share it
    values = linked_values(
        steps, start, alignment, watch, grade
    )  # none when the watch does not follow the run
    sha, kept = _keep_watch_file(store, path, data) if fit_path is not None else (sha, path)
    linked_steps = pd.concat([steps.drop(columns=list(LINKED_COLUMNS), errors="ignore"), values], axis=1)
    bouts = bout_summary(linked_steps)
    flat = flat_summary(linked_steps)
    rows = [
        (*[None if not np.isfinite(v) else float(v) for v in r], int(session_id), int(no))
        for no, r in enumerate(values[list(LINKED_COLUMNS)].to_numpy(dtype=float))
    ]

    def write(db: sqlite3.Connection) -> None:
        sets = ", ".join(f'"{c}" = ?' for c in LINKED_COLUMNS)
        db.executemany(f"UPDATE steps SET {sets} WHERE session_id = ? AND step_no = ?", rows)
        db.execute(
            "INSERT OR REPLACE INTO watch_links (session_id, fit_sha256, original_name, offset_s, confidence, "
            "method, linked_at, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                int(session_id),
                sha,
                str(name)[:255],
                alignment.offset_s,
                alignment.confidence,
                alignment.method,
                time.time(),
                json.dumps({"bouts": json.loads(bouts.to_json(orient="records")), "flat": flat}),
            ),
        )

    store._write(write)
    linked = int(values.notna().any(axis=1).sum())
    return LinkResult(
        int(session_id),
        alignment,
        len(steps),
        linked,
        bouts,
        kept,
        watch.sport,
        flat,
        (*watch.notes, *notes(watch, alignment, grade)),
    )


#: How near a whole number of quarter hours two starts must lie to hint at a time zone, seconds.
ZONE_SLACK_S = 120.0


def _zone_hint(apart_s: float) -> str:
    """A hint when a watch and a session start a whole number of quarter hours apart (2 min slack), as
    a clock in local time taken for UTC makes them (a CSV's --start-time without its offset)."""
    quarters = round(apart_s / 900.0)
    if quarters == 0 or abs(quarters) > 14 * 4 or abs(apart_s - 900.0 * quarters) > ZONE_SLACK_S:
        return ""
    h, m = divmod(abs(quarters) * 15, 60)
    return (
        f"; they start {h} h {m:02d} min apart, as a time zone would make them: was a start time given "
        "in local time without its UTC offset (e.g. --start-time 2026-05-03T07:00+02:00)?"
    )


def flat_summary(steps: pd.DataFrame) -> dict[str, Any]:
    """Running form on the flat (:func:`~hipsense.watch_align.flat_easy`), the like-with-like figures
    :func:`flat_sessions` lists across runs: steps, median speed and cadence, median contact time per
    foot and its asymmetry 100 x (L - R) / mean (NaN without both feet)."""
    flat = flat_easy(steps)
    flat = flat[flat["activity"] == "run"] if "activity" in flat else flat

    def median(col: str, mask: Any = slice(None)) -> float:
        x = pd.to_numeric(flat.loc[mask, col], errors="coerce") if col in flat else pd.Series(dtype=float)
        return float(x.median()) if x.notna().any() else float("nan")

    side = flat["side"].astype("string") if "side" in flat else pd.Series("", index=flat.index)
    left, right = median("contact_time_s", side == "L"), median("contact_time_s", side == "R")
    n_left, n_right = int((side == "L").sum()), int((side == "R").sum())
    # As a session's verdicts: no asymmetry from fewer steps a side than a verdict needs (red-team G7).
    enough = not too_few_steps(n_left, n_right)
    return {
        "steps": len(flat),
        "speed_mps": median("speed_mps"),
        "cadence_spm": median("cadence_spm"),
        "contact_time_s_L": left,
        "contact_time_s_R": right,
        "contact_time_ai": 100.0 * (left - right) / ((left + right) / 2) if enough else float("nan"),
        "steps_L": n_left,
        "steps_R": n_right,
    }


def flat_sessions(store: Store, runner: str | None = None) -> pd.DataFrame:
    """One row per linked session, oldest first: its start and its :func:`flat_summary`, so runs on
    different routes compare like with like (docs/watch.md)."""
    query = (
        "SELECT s.id, s.start_time, u.name, w.summary FROM watch_links w JOIN sessions s ON s.id = w.session_id "
        "JOIN runners u ON u.id = s.runner_id"
        + (" WHERE u.name = ?" if runner else "")
        + " ORDER BY s.start_time"
    )
    try:
        rows = store.db.execute(query, (runner,) if runner else ()).fetchall()
    except sqlite3.OperationalError:  # no table yet: nothing was ever linked
        rows = []
    out = []
    for sid, start, name, text in rows:
        try:
            flat = json.loads(text or "{}").get("flat") or {}
        except (ValueError, AttributeError):
            flat = {}
        out.append({"session_id": sid, "start": start, "runner": name, **flat})
    df = pd.DataFrame(out, columns=["session_id", "start", "runner", *flat_summary(pd.DataFrame()).keys()])
    df["start"] = pd.to_datetime(df["start"].astype(float), unit="s", utc=True)
    return df


def relink(store: Store, session_id: int) -> str | None:
    """Link a session's kept watch file again (after a reanalysis rewrote its steps); the one-line
    reason when that failed, None when it worked or the session has no watch."""
    if stored_link(store, session_id) is None:
        return None
    try:
        link_session(store, session_id)
    except HipsenseError as e:
        return f"watch not linked again: {e}"
    return None


def _utc(t: float) -> str:
    return pd.Timestamp(t, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M:%S UTC")


__all__ = ["LINKED_COLUMNS", "Alignment", "FitError", "LinkError", "LinkResult", "align", "bout_summary"]
__all__ += ["flat_easy", "grade_pct", "link_session", "step_values", "stored_link"]
__all__ += ["flat_sessions", "flat_summary", "relink"]
