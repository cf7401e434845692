"""Opening the store's folder and database: for writing, or read-only when it cannot be written.

A folder (or database file) the user cannot write, a shared research disk or a copy on read-only media,
is opened read-only when the caller only asks for an existing store (``create=False``: the commands that
list, report and export): SQLite's ``mode=ro``, no migration, no WAL switch, no folder created. Every write
then refuses in one line saying what to do (:func:`read_only_message`). An import (``create=True``)
refuses the same way at once. See docs/store.md, "A read-only data folder".
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from hipsense.store_queries import is_damage
from hipsense.store_rows import StoreError, read_only_message
from hipsense.store_schema import SCHEMA_VERSION, add_registry_columns, migrate

#: Environment variable that moves the data folder (tests, several stores side by side).
HOME_ENV = "HIPSENSE_HOME"
#: How long a writer waits for another process's transaction before giving up (ms).
BUSY_TIMEOUT_MS = 30_000


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK if path.is_dir() else os.W_OK)


def prepare_folder(root: Path, db_path: Path, raw_dir: Path, create: bool) -> bool:
    """Check (and with ``create``, make) the data folder; returns whether it is to be opened read-only.

    Read-only: ``create`` is false, the database is there, and the folder or the database file cannot be
    written. With ``create`` such a folder is refused (:func:`read_only_message`)."""
    if root.exists() and not root.is_dir():
        raise StoreError(f"{root}: the hipsense data folder is a file, not a folder (set {HOME_ENV})")
    if not create and not db_path.exists():
        raise StoreError(f"{root}: no hipsense data folder here yet (import a session first)")
    if root.is_dir() and not (_writable(root) and (not db_path.exists() or _writable(db_path))):
        if create:
            raise StoreError(read_only_message(root))
        return True
    if not root.exists():
        try:
            root.mkdir(parents=True, mode=0o700)
        except FileExistsError:
            pass
        except OSError as e:
            raise StoreError(f"{root}: cannot create the hipsense data folder ({e.strerror})") from None
    try:
        raw_dir.mkdir(mode=0o700, exist_ok=True)
    except OSError as e:
        raise StoreError(f"{root}: cannot write to the hipsense data folder ({e.strerror})") from None
    return False


def connect(db_path: Path, raw_dir: Path, *, read_only: bool) -> sqlite3.Connection:
    """The store's connection, migrated (writable) or checked to need no migration (read-only)."""
    try:
        if read_only:
            return _connect_read_only(db_path)
        db = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")  # a synced session is on disk before the clip erases it
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db)
        add_registry_columns(db)
        return db
    except sqlite3.Error as e:
        hint = (
            f"; move it aside: the raw files in {raw_dir} can be imported into a new store"
            if is_damage(e)
            else ""
        )
        raise StoreError(f"{db_path}: cannot open the database ({e}){hint}") from None


def _open_ro(db_path: Path, immutable: bool) -> tuple[sqlite3.Connection, int]:
    uri = db_path.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")
    db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        return db, int(db.execute("PRAGMA user_version").fetchone()[0])
    except BaseException:
        db.close()
        raise


def _connect_read_only(db_path: Path) -> sqlite3.Connection:
    """``mode=ro``; when SQLite cannot make the WAL index (-shm) in a folder it cannot write, and no
    write-ahead log is waiting there (all is in the database file), the file is read as immutable."""
    try:
        db, version = _open_ro(db_path, immutable=False)
    except sqlite3.OperationalError:
        wal = db_path.with_name(db_path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise
        db, version = _open_ro(db_path, immutable=True)
    if version != SCHEMA_VERSION:
        db.close()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the database has schema version {version}, newer than this hipsense knows "
                f"({SCHEMA_VERSION}): upgrade hipsense"
            )
        raise StoreError(
            f"{db_path}: the database was made by an older hipsense and must be upgraded, which a read-only "
            f"folder does not allow: copy the folder somewhere writable (or set {HOME_ENV})"
        )
    return db


__all__ = ["BUSY_TIMEOUT_MS", "HOME_ENV", "connect", "prepare_folder", "read_only_message"]
