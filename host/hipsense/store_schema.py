"""The store's SQLite schema: the step table's SQL types and the migrations, applied in order.

``MIGRATIONS[i]`` takes the database from version ``i`` to ``i + 1`` (``PRAGMA user_version``). Each
runs in its own transaction; never edit one that has shipped, append a new one (docs/store.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from hipsense import metrics as registry
from hipsense.store_rows import StoreError

#: Step-table columns of the first schema; the registry's columns (:mod:`hipsense.metrics`) that are
#: not among them are added to the table when the store opens (:func:`add_registry_columns`).
SQL_TYPES = {
    "float64": "REAL",
    "Int64": "INTEGER",
    "int64": "INTEGER",
    "string": "TEXT",
    "boolean": "INTEGER",
}


def step_columns() -> tuple[str, ...]:
    """The step table's columns as the registry declares them now (stored as SQL columns)."""
    return registry.step_columns()


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Run ``;``-separated statements inside the caller's transaction (``executescript`` would commit)."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def _m1_initial(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE runners (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created REAL NOT NULL
        );
        CREATE TABLE raw_files (
            sha256 TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('device', 'csv')),
            size INTEGER NOT NULL,
            imported_at REAL NOT NULL,
            original_name TEXT NOT NULL,
            csv_options TEXT
        );
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            runner_id INTEGER NOT NULL REFERENCES runners(id),
            raw_sha256 TEXT NOT NULL UNIQUE REFERENCES raw_files(sha256),
            start_time REAL,
            duration_s REAL,
            device_id TEXT,
            status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
            error TEXT,
            algorithm_version TEXT,
            analysed_at REAL
        );
        CREATE TABLE steps (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            step_no INTEGER NOT NULL,
            bout INTEGER,
            side TEXT,
            ic_s REAL,
            to_s REAL,
            step_time_s REAL,
            contact_time_s REAL,
            flight_time_s REAL,
            cadence_spm REAL,
            impact_g REAL,
            loading_rate_g_per_s REAL,
            braking_g REAL,
            pelvic_drop_deg REAL,
            pelvic_rotation_deg REAL,
            vertical_oscillation_cm REAL,
            quality TEXT,
            extra TEXT,
            PRIMARY KEY (session_id, step_no)
        ) WITHOUT ROWID;
        """,
    )


def _m2_summaries(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE summaries (
            session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
            json TEXT NOT NULL,
            algorithm_version TEXT NOT NULL
        );
        ALTER TABLE sessions ADD COLUMN running_time_s REAL;
        ALTER TABLE sessions ADD COLUMN steps INTEGER;
        ALTER TABLE sessions ADD COLUMN cadence_spm REAL;
        CREATE INDEX sessions_by_runner ON sessions(runner_id, start_time);
        -- Sessions analysed before summaries were stored have none: mark them for `hipsense reanalyze`.
        UPDATE sessions SET algorithm_version = NULL;
        """,
    )


def _m3_watch_links(db: sqlite3.Connection) -> None:
    """The runner's watch linked to a session (hipsense.link, docs/watch.md); the FIT file itself is kept
    content-addressed in ``watch/`` beside ``raw/``."""
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS watch_links (
            session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
            fit_sha256 TEXT NOT NULL,
            original_name TEXT NOT NULL,
            offset_s REAL NOT NULL,
            confidence REAL NOT NULL,
            method TEXT NOT NULL,
            linked_at REAL NOT NULL,
            summary TEXT
        )
        """
    )


def _m4_session_ids(db: sqlite3.Connection) -> None:
    """The largest session id ever given, so that a forgotten session's id is never given again (an old
    id, a report or an export made earlier must not point at another run). SQLite's own rowid would
    reuse the largest id once it is deleted; ids forgotten before this migration cannot be known, so
    the mark starts at the largest id kept."""
    db.execute("CREATE TABLE IF NOT EXISTS store_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute(
        "INSERT INTO store_counters (name, value) VALUES ('last_session_id', "
        "coalesce((SELECT max(id) FROM sessions), 0)) ON CONFLICT (name) DO NOTHING"
    )


def next_session_id(db: sqlite3.Connection) -> int:
    """Take the next session id (caller holds the write transaction): one more than any id given before,
    kept or forgotten."""
    (last,) = db.execute(
        "SELECT max(coalesce((SELECT value FROM store_counters WHERE name = 'last_session_id'), 0), "
        "coalesce((SELECT max(id) FROM sessions), 0))"
    ).fetchone()
    new = int(last) + 1
    db.execute(
        "INSERT INTO store_counters (name, value) VALUES ('last_session_id', ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (new,),
    )
    return new


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _m1_initial,
    _m2_summaries,
    _m3_watch_links,
    _m4_session_ids,
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection) -> int:
    """Bring an open database (autocommit connection) up to :data:`SCHEMA_VERSION`; returns the version.

    One transaction per migration, taken with ``BEGIN IMMEDIATE`` and the version re-read inside it, so
    two processes opening an old database at once apply each migration exactly once.
    """
    while True:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the database has schema version {version}, newer than this hipsense knows "
                    f"({SCHEMA_VERSION}): upgrade hipsense"
                )
            if version == SCHEMA_VERSION:
                db.execute("COMMIT")
                return version
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise


def add_registry_columns(db: sqlite3.Connection) -> None:
    """Add to ``steps`` any registry column it lacks (a metric added after the store was made); its
    value stays empty until ``hipsense reanalyze`` fills it."""
    have = {r[1] for r in db.execute("PRAGMA table_info(steps)")}
    for c in step_columns():
        if c not in have:
            db.execute(f'ALTER TABLE steps ADD COLUMN "{c}" {SQL_TYPES.get(registry.get(c).dtype, "TEXT")}')


__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SQL_TYPES",
    "add_registry_columns",
    "migrate",
    "next_session_id",
    "step_columns",
]
