"""The local store: raw recordings kept forever, and what the analysis made of them, in SQLite.

Layout of the data folder (``platformdirs.user_data_path("hipsense")``, or ``$HIPSENSE_HOME``)::

    hipsense.sqlite      runners, raw files, sessions, steps, summaries (WAL mode)
    raw/ab/cdef...       every imported file, named by the sha256 of its bytes; read-only, never changed

Raw files are the truth: they are written atomically (temporary file in the same folder, fsync, rename),
re-hashed before they are recorded and made read-only. Everything else (steps, summaries and the figures
in ``sessions``) is derived, records the algorithm version that made it, and
:func:`hipsense.library.reanalyze` rebuilds it from the raw files. The store keeps and answers; importing
and analysing are :mod:`hipsense.library`'s job. See docs/store.md.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hipsense import metrics as registry
from hipsense.store_open import BUSY_TIMEOUT_MS, HOME_ENV, connect, prepare_folder
from hipsense.store_queries import damage_is_one_line, session_row_problem
from hipsense.store_removal import QUARANTINE_DIR, TEMP_PREFIX, Forgotten, Removal
from hipsense.store_rows import StoreError, StoreRowWarning, derived_problems, parse_summary, sha256_file
from hipsense.store_schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SQL_TYPES,
    migrate,
    next_session_id,
    step_columns,
)

DB_NAME = "hipsense.sqlite"
RAW_DIR = "raw"

#: Called as ``progress(done, total, current)`` before each item (``current`` is the item) and once at
#: the end (``done == total``, ``current`` None).
Progress = Callable[[int, int, Any], None]


def default_root() -> Path:
    """``$HIPSENSE_HOME`` when set, else the user's data folder for hipsense (platformdirs)."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_path("hipsense", appauthor=False))


@dataclass
class Derived:
    """What the analysis made of one raw file, as the store keeps it (written by :mod:`hipsense.library`)."""

    kind: str
    start_time: float | None
    device_id: str | None
    duration_s: float | None
    status: str
    error: str | None
    algorithm_version: str
    steps: pd.DataFrame | None = None
    summary: dict[str, Any] | None = None


def _step_rows(session_id: int, steps: pd.DataFrame) -> list[tuple]:
    """The step table as rows for ``steps`` (NaN -> NULL, unknown columns as JSON in ``extra``)."""
    n = len(steps)
    cols: list[list] = [[session_id] * n, list(range(n))]
    names = step_columns()
    for c in names:
        sql = SQL_TYPES.get(registry.get(c).dtype, "TEXT")
        if c not in steps:
            cols.append([None] * n)
        elif sql == "REAL":
            x = steps[c].to_numpy(dtype=float)
            cols.append([None if v != v else v for v in x.tolist()])
        elif sql == "INTEGER":
            cols.append([None if pd.isna(v) else int(v) for v in steps[c]])
        else:
            cols.append([None if pd.isna(v) else str(v) for v in steps[c]])
    others = [c for c in steps.columns if c not in names]
    if others:
        extra = steps[others].astype(object).where(steps[others].notna(), None)
        cols.append([json.dumps(r, default=_json_default) for r in extra.to_dict("records")])
    else:
        cols.append([None] * n)
    return list(zip(*cols, strict=True))


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    return str(x)


class Store(Removal):
    """The data folder: raw files plus the SQLite database (see the module docstring).

    Parameters
    ----------
    root
        The data folder; default :func:`default_root`.
    create
        Create the folder and database when missing (else raise :class:`StoreError`).

    One ``Store`` holds one SQLite connection; open one per process or thread. Several processes may
    use the same folder at once (WAL mode; writers wait up to ``BUSY_TIMEOUT_MS``). An existing store
    (``create=False``) that cannot be written opens read-only (``read_only``; :mod:`hipsense.store_open`):
    reading works, every write is a StoreError saying what to do.
    """

    def __init__(self, root: str | Path | None = None, *, create: bool = True):
        self.root = Path(root).expanduser() if root is not None else default_root()
        self.db_path = self.root / DB_NAME
        self.raw_dir = self.root / RAW_DIR
        #: Opened read-only: the folder or database cannot be written (store_open); writes refuse.
        self.read_only = prepare_folder(self.root, self.db_path, self.raw_dir, create)
        self.db = connect(self.db_path, self.raw_dir, read_only=self.read_only)

    # -- housekeeping ------------------------------------------------------------------------------

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` plus foreign keys: ``"ok"`` when all is well."""
        try:
            rows = [r[0] for r in self.db.execute("PRAGMA integrity_check")]
            bad_fk = self.db.execute("PRAGMA foreign_key_check").fetchall()
        except sqlite3.DatabaseError as e:
            return f"damaged: {e}"
        if bad_fk:
            rows.append(f"{len(bad_fk)} rows break foreign keys")
        return "ok" if rows == ["ok"] else "; ".join(rows)

    @damage_is_one_line
    def csv_options(self, sha256: str) -> dict[str, Any]:
        """The CSV reading options a raw file was imported with ({} for device files)."""
        row = self.db.execute("SELECT csv_options FROM raw_files WHERE sha256 = ?", (sha256,)).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    # -- raw files and sessions (import and reanalysis are in hipsense.library) ----------------------

    @damage_is_one_line
    def add_session(
        self,
        *,
        sha: str,
        path: Path,
        kind: str,
        size: int,
        runner: str,
        csv_options: str | None,
        derived: Derived,
    ) -> tuple[int | None, int | None]:
        """Record a placed raw file and its session with its derived rows, in one transaction.

        Returns ``(new session id, None)``, or ``(None, id)`` when another process stored the same bytes
        meanwhile. StoreError, with nothing written, when the derived data could not be read back."""
        final = self.raw_path(sha)
        self.check_derived(derived, path.name)

        def insert(db: sqlite3.Connection):
            existing = db.execute("SELECT id FROM sessions WHERE raw_sha256 = ?", (sha,)).fetchone()
            if existing:
                return None, existing[0]
            db.execute(
                "INSERT INTO raw_files (sha256, path, kind, size, imported_at, original_name, csv_options) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
                (sha, str(final.relative_to(self.root)), kind, size, time.time(), path.name, csv_options),
            )
            db.execute(
                "INSERT INTO runners (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (runner, time.time()),
            )
            (runner_id,) = db.execute("SELECT id FROM runners WHERE name = ?", (runner,)).fetchone()
            sid = next_session_id(db)  # never one given before, even if forgotten since
            db.execute(
                "INSERT INTO sessions (id, runner_id, raw_sha256, status) VALUES (?, ?, ?, 'error')",
                (sid, runner_id, sha),
            )
            self.store_derived(db, sid, derived)
            return sid, None

        return self._write(insert)

    @damage_is_one_line
    def replace_derived(self, session_id: int, derived: Derived) -> None:
        """Replace one session's derived rows (one transaction)."""
        self._write(functools.partial(self.store_derived, sid=session_id, d=derived))

    @damage_is_one_line
    def outdated(self, version: str, *, all: bool = False) -> tuple[list[tuple], int]:  # noqa: A002
        """Sessions whose derived data another algorithm version made (every one with ``all``), as
        ``(id, sha256, original name, csv options JSON, runner)``, and how many are up to date."""
        query = (
            "SELECT s.id, s.raw_sha256, r.original_name, r.csv_options, u.name FROM sessions s "
            "JOIN raw_files r ON r.sha256 = s.raw_sha256 JOIN runners u ON u.id = s.runner_id"
        )
        args: tuple = ()
        if not all:
            query += " WHERE s.algorithm_version IS NOT ?"
            args = (version,)
        todo = self.db.execute(query + " ORDER BY s.id", args).fetchall()
        total = self.db.execute("SELECT count(*) FROM sessions").fetchone()[0]
        return todo, total - len(todo)

    @damage_is_one_line
    def sources(self, ids: Iterable[int]) -> list[tuple]:
        """These sessions as :meth:`outdated` lists them (unknown ids are left out)."""
        out = []
        for sid in ids:
            row = self.db.execute(
                "SELECT s.id, s.raw_sha256, r.original_name, r.csv_options, u.name FROM sessions s "
                "JOIN raw_files r ON r.sha256 = s.raw_sha256 JOIN runners u ON u.id = s.runner_id "
                "WHERE s.id = ?",
                (int(sid),),
            ).fetchone()
            if row is not None:
                out.append(row)
        return out

    @damage_is_one_line
    def session_of(self, sha: str) -> int | None:
        row = self.db.execute("SELECT id FROM sessions WHERE raw_sha256 = ?", (sha,)).fetchone()
        return None if row is None else int(row[0])

    def place_raw(self, tmp: Path, final: Path, sha: str) -> bool:
        """Move a verified temporary copy to its content address, read-only; keep an intact one there.

        Returns True when this call put the file there (so an import that fails later removes it)."""
        self.check_writable()
        if sha256_file(tmp) != sha:
            raise StoreError(f"{tmp}: the copy does not match what was read (disk error?)")
        if final.exists() and sha256_file(final) == sha:
            return False  # stored before (or by another process just now): raw files are never rewritten
        final.parent.mkdir(mode=0o700, exist_ok=True)
        os.chmod(tmp, 0o400)
        os.replace(tmp, final)
        if hasattr(os, "O_DIRECTORY"):  # make the rename durable (POSIX)
            dfd = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        return True

    @staticmethod
    def check_derived(d: Derived, name: str) -> None:
        """StoreError naming ``name`` when the store could not read ``d`` back (a start time no calendar
        holds, a count that is not one): refused here rather than kept to break every listing later."""
        problems = derived_problems(d.start_time, d.duration_s, d.summary)
        if problems:
            raise StoreError(f"{name}: not stored, {'; '.join(problems)}")

    def store_derived(self, db: sqlite3.Connection, sid: int, d: Derived) -> None:
        """Replace a session's derived rows (caller holds the transaction); StoreError when ``d`` could
        not be read back (:meth:`check_derived`)."""
        self.check_derived(d, f"session {sid}")
        s = d.summary or {}
        db.execute("DELETE FROM steps WHERE session_id = ?", (sid,))
        db.execute("DELETE FROM summaries WHERE session_id = ?", (sid,))
        db.execute(
            "UPDATE sessions SET start_time = ?, duration_s = ?, device_id = ?, status = ?, error = ?, "
            "algorithm_version = ?, analysed_at = ?, running_time_s = ?, steps = ?, cadence_spm = ? "
            "WHERE id = ?",
            (
                d.start_time,
                d.duration_s,
                d.device_id,
                d.status,
                d.error,
                d.algorithm_version,
                time.time(),
                s.get("running_time_s"),
                s.get("steps"),
                s.get("cadence_spm"),
                sid,
            ),
        )
        if d.steps is not None and len(d.steps):
            names = step_columns()
            marks = ", ".join("?" * (len(names) + 3))
            db.executemany(
                f"INSERT INTO steps (session_id, step_no, {', '.join(names)}, extra) VALUES ({marks})",
                _step_rows(sid, d.steps),
            )
        if d.summary is not None:
            db.execute(
                "INSERT INTO summaries (session_id, json, algorithm_version) VALUES (?, ?, ?)",
                (sid, json.dumps(d.summary), d.algorithm_version),
            )

    @damage_is_one_line
    def set_session_flags(self, flags: dict[int, list[dict[str, Any]]]) -> int:
        """Replace the ``flags`` list of these sessions' summaries (one transaction); returns how many changed.

        Flags are derived from the runner's history (hipsense.trends), so they are rewritten whenever
        that history changes. A summary that cannot be read is left as it is (listings warn about it).
        """

        def write(db: sqlite3.Connection) -> int:
            changed = 0
            for sid, new in flags.items():
                row = db.execute("SELECT json FROM summaries WHERE session_id = ?", (sid,)).fetchone()
                if row is None:
                    continue
                try:
                    summary = parse_summary(row[0])
                except ValueError:
                    continue
                if summary.get("flags") != new:
                    summary["flags"] = new
                    db.execute(
                        "UPDATE summaries SET json = ? WHERE session_id = ?", (json.dumps(summary), sid)
                    )
                    changed += 1
            return changed

        return self._write(write)


__all__: Sequence[str] = (
    "BUSY_TIMEOUT_MS",
    "HOME_ENV",
    "MIGRATIONS",
    "QUARANTINE_DIR",
    "SCHEMA_VERSION",
    "TEMP_PREFIX",
    "Derived",
    "Forgotten",
    "Store",
    "StoreError",
    "StoreRowWarning",
    "damage_is_one_line",
    "default_root",
    "migrate",
    "session_row_problem",
    "sha256_file",
)
