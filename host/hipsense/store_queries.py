"""The store's queries: sessions, runners, step tables and summaries, every row checked on the way out.

Mixed into :class:`hipsense.store.Store`. A row that cannot be read (:mod:`hipsense.store_rows`) is left
out with one warning; a damaged database file is one :class:`~hipsense.store_rows.StoreError` saying
what to do (:func:`damage_is_one_line`).
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeGuard

import pandas as pd

from hipsense import metrics as registry
from hipsense.store_rows import (
    RowError,
    StoreError,
    number_problem,
    parse_summary,
    read_only_message,
    time_problem,
    warn_row,
)
from hipsense.store_schema import SQL_TYPES, step_columns

#: SQLite's result codes for a damaged database file (SQLITE_CORRUPT, SQLITE_NOTADB).
_DAMAGED_CODES = {11, 26}


def is_damage(e: BaseException) -> bool:
    code = getattr(e, "sqlite_errorcode", None)  # Python 3.11+
    return code in _DAMAGED_CODES or any(w in str(e) for w in ("malformed", "not a database"))


def damage_is_one_line(method: Callable) -> Callable:
    """A damaged database file met while ``method`` runs becomes one StoreError saying what to do,
    instead of a traceback from deep inside SQLite."""

    @functools.wraps(method)
    def wrapper(self: Queries, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.DatabaseError, pd.errors.DatabaseError) as e:
            if not is_damage(e):
                raise
            raise StoreError(
                f"{self.db_path}: the database is damaged ({str(e).splitlines()[-1][:120]}); `hipsense "
                f"doctor` checks it, and the raw files in {self.raw_dir} can be imported into a new store"
            ) from None

    return wrapper


def session_row_problem(row: Sequence[Any]) -> str | None:
    """Why a row of :meth:`Store.sessions`' query cannot be listed (None when it can)."""
    checks = (
        time_problem(row[2]),
        time_problem(row[3], "import time") or (None if row[3] is not None else "it has no import time"),
        number_problem(row[4], "duration"),
        number_problem(row[5], "running time"),
        number_problem(row[6], "step count", count=True),
        number_problem(row[7], "cadence"),
    )
    return next((c for c in checks if c is not None), None)


#: Where the store keeps linked watch files (FIT), beside raw/.
WATCH_DIR = "watch"


def is_sha256(name: object) -> TypeGuard[str]:
    """Whether ``name`` is a sha256 as the store writes it (64 lowercase hex digits)."""
    return isinstance(name, str) and len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _content_path(folder: Path, sha256: object) -> Path:
    """``folder/ab/cdef...`` for a sha256; a name from a damaged or forged row that is not one gives a
    path inside ``folder`` that holds nothing, never one outside it (``../`` or an absolute path)."""
    if is_sha256(sha256):
        return folder / sha256[:2] / sha256[2:]
    return folder / "not-a-sha256"


class Queries:
    """The reading half of :class:`~hipsense.store.Store` (which provides the attributes below)."""

    db: sqlite3.Connection
    root: Path
    db_path: Path
    raw_dir: Path
    #: Opened read-only (a folder that cannot be written; hipsense.store_open): every write refuses.
    read_only: bool = False

    def check_writable(self) -> None:
        """StoreError saying what to do when the store was opened read-only (before any write)."""
        if self.read_only:
            raise StoreError(read_only_message(self.root))

    def raw_path(self, sha256: str) -> Path:
        return _content_path(self.raw_dir, sha256)

    def watch_path(self, sha256: str) -> Path:
        """Where a linked watch file is kept (content-addressed, like the raw files; hipsense.link)."""
        return _content_path(self.root / WATCH_DIR, sha256)

    def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``fn(db)`` in one write transaction (taken at once, so concurrent writers queue).

        On any error, the COMMIT's own included (a full disk shows there), the transaction is rolled
        back: SQLite may have done so itself already, hence the check. A read-only store refuses."""
        self.check_writable()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(self.db)
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        return result

    #: The columns of :meth:`sessions`, in order.
    SESSION_COLUMNS = (
        "id",
        "runner",
        "start_time",
        "imported_at",
        "duration_s",
        "running_time_s",
        "steps",
        "cadence_spm",
        "status",
        "error",
        "algorithm_version",
        "device_id",
        "original_name",
        "kind",
        "sha256",
    )

    @damage_is_one_line
    def sessions(self, runner: str | None = None) -> pd.DataFrame:
        """One row per stored session, oldest first (by start time, else import time).

        A row that cannot be read (a start time no calendar holds, a figure that is not a number) is left
        out with a :class:`StoreRowWarning` that names the session and the fix."""
        query = (
            "SELECT s.id, u.name AS runner, s.start_time, r.imported_at, s.duration_s, s.running_time_s, "
            "s.steps, s.cadence_spm, s.status, s.error, s.algorithm_version, s.device_id, "
            "r.original_name, r.kind, s.raw_sha256 AS sha256 "
            "FROM sessions s JOIN runners u ON u.id = s.runner_id JOIN raw_files r ON r.sha256 = s.raw_sha256"
        )
        args: tuple = ()
        if runner is not None:
            query += " WHERE u.name = ?"
            args = (runner,)
        query += " ORDER BY coalesce(s.start_time, r.imported_at), s.id"
        rows = []
        for row in self.db.execute(query, args):
            problem = session_row_problem(row)
            if problem is None:
                rows.append(row)
            else:
                warn_row(row[0], row[12], problem)
        df = pd.DataFrame.from_records(rows, columns=list(self.SESSION_COLUMNS), coerce_float=True)
        for c in ("start_time", "imported_at"):
            df[c] = pd.to_datetime(df[c].astype(float), unit="s", utc=True)
        return df

    @damage_is_one_line
    def runners(self, only: str | None = None) -> list[str]:
        """The runners' names, sorted; with ``only``, just that one, after checking it is stored."""
        names = [r[0] for r in self.db.execute("SELECT name FROM runners ORDER BY name")]
        if only is None:
            return names
        if only not in names:
            raise StoreError(f"no runner {only!r} in {self.root} (runners: {', '.join(names) or 'none'})")
        return [only]

    @damage_is_one_line
    def steps(self, session_id: int) -> pd.DataFrame:
        """A session's step table, as the analysis made it (empty when the analysis failed).

        Columns the database holds as something else than numbers (a damaged or hand-edited row) read
        as empty, and ``extra`` JSON that does not parse is left out, each with a warning."""
        names = step_columns()
        if self.read_only:  # not migrated: a metric added since has no column yet, and reads as empty
            have = {r[1] for r in self.db.execute("PRAGMA table_info(steps)")}
            names = tuple(c if c in have else f'NULL AS "{c}"' for c in names)
        df = pd.read_sql_query(
            f"SELECT {', '.join(names)}, extra FROM steps WHERE session_id = ? ORDER BY step_no",
            self.db,
            params=(session_id,),
        )
        for c in step_columns():
            if SQL_TYPES.get(registry.get(c).dtype) in ("REAL", "INTEGER") and df[c].dtype == object:
                numbers = pd.to_numeric(df[c], errors="coerce")
                if (numbers.isna() & df[c].notna()).any():
                    warn_row(session_id, "steps", f"its step column {c} holds text; read as empty")
                df[c] = numbers
        extra = df.pop("extra")
        if extra.notna().any():
            more = pd.DataFrame([self._extra(session_id, x) for x in extra], index=df.index)
            df = pd.concat([df, more], axis=1)
        return df

    @staticmethod
    def _extra(session_id: int, text: Any) -> dict[str, Any]:
        if not text:
            return {}
        try:
            value = json.loads(text)
        except (TypeError, ValueError, RecursionError):
            value = None
        if not isinstance(value, dict):
            warn_row(session_id, "steps", "a step's extra columns are not JSON; read as empty")
            return {}
        return value

    @damage_is_one_line
    def summaries(self, runner: str) -> list[tuple[int, pd.Timestamp, dict[str, Any]]]:
        """A runner's analysed sessions as ``(session id, start, summary)``, oldest first.

        The start is the recording's own (the clip's clock, a CSV's UNIX time) in UTC, or None when it
        has none; those come last, in import order. A session whose start or summary cannot be read is
        left out with a :class:`StoreRowWarning`.
        """
        rows = self.db.execute(
            "SELECT s.id, s.start_time, m.json, r.original_name FROM sessions s "
            "JOIN runners u ON u.id = s.runner_id JOIN raw_files r ON r.sha256 = s.raw_sha256 "
            "JOIN summaries m ON m.session_id = s.id WHERE u.name = ? AND s.status = 'ok' "
            "ORDER BY s.start_time IS NULL, s.start_time, r.imported_at, s.id",
            (runner,),
        ).fetchall()
        out = []
        for sid, t, js, name in rows:
            problem = time_problem(t)
            if problem is None:
                try:
                    summary = parse_summary(js)
                except ValueError as e:
                    problem = str(e)
            if problem is not None:
                warn_row(sid, name, problem)
                continue
            out.append((int(sid), None if t is None else pd.Timestamp(t, unit="s", tz="UTC"), summary))
        return out

    @damage_is_one_line
    def walking_times(self) -> dict[int, float]:
        """Seconds in walking bouts per session, read from the summaries in one query (for listings);
        a session whose summary is not JSON or whose figure is not a time is left out."""
        rows = self.db.execute(
            "SELECT session_id, json_extract(json, '$.walking_time_s') FROM summaries WHERE json_valid(json)"
        )
        return {
            int(sid): float(v)
            for sid, v in rows
            if isinstance(v, (int, float)) and number_problem(v, "walking time") is None and v >= 0
        }

    @damage_is_one_line
    def summary(self, session_id: int) -> dict[str, Any] | None:
        """A session's summary JSON (``SessionSummary.to_dict()``), None when there is none;
        :class:`~hipsense.store_rows.RowError` (with the fix) when it cannot be read."""
        row = self.db.execute(
            "SELECT m.json, r.original_name FROM summaries m JOIN sessions s ON s.id = m.session_id "
            "LEFT JOIN raw_files r ON r.sha256 = s.raw_sha256 WHERE m.session_id = ?",
            (session_id,),
        ).fetchone()
        if row is None:
            return None
        try:
            return parse_summary(row[0])
        except ValueError as e:
            raise RowError(session_id, row[1], str(e)) from None


__all__ = ["WATCH_DIR", "Queries", "damage_is_one_line", "is_damage", "is_sha256", "session_row_problem"]
