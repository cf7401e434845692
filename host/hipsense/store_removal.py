"""Taking things out of the store: forgetting a session, the quarantine folder, import temporaries.

Mixed into :class:`hipsense.store.Store`; ``hipsense forget`` and ``hipsense doctor`` use it.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from hipsense.store_queries import Queries, damage_is_one_line
from hipsense.store_rows import StoreError, sha256_file

#: Where ``forget`` (and ``doctor``) put raw files the store no longer holds, unless told to delete them.
QUARANTINE_DIR = "quarantine"
#: Prefix of an import's temporary copy in ``raw/``.
TEMP_PREFIX = ".import-"


@dataclass
class Forgotten:
    """What :meth:`Store.forget` removed: the session, and where its raw file went (None: deleted or
    missing)."""

    session_id: int
    runner: str | None
    original_name: str | None
    quarantined: Path | None
    purged: bool = False
    #: The linked watch file, when no other session links it: quarantined, or deleted with purge.
    watch_quarantined: Path | None = None
    watch_purged: bool = False


class Removal(Queries):
    """Forgetting sessions and cleaning up (the attributes come from :class:`~hipsense.store.Store`)."""

    @property
    def quarantine_dir(self) -> Path:
        return self.root / QUARANTINE_DIR

    def quarantine(self, path: Path, name: str) -> Path:
        """Move ``path`` (a raw file, or a stray one) to ``quarantine/name``; returns where it went.

        Same bytes there already: the copy is dropped. Another file of that name: a number is added."""
        self.check_writable()
        self.quarantine_dir.mkdir(mode=0o700, exist_ok=True)
        target = self.quarantine_dir / name
        n = 1
        while target.exists():
            if sha256_file(target) == sha256_file(path):
                path.unlink()
                return target
            n += 1
            target = self.quarantine_dir / f"{Path(name).stem}-{n}{Path(name).suffix}"
        os.replace(path, target)
        return target

    @damage_is_one_line
    def forget(self, session_id: int, *, purge: bool = False) -> Forgotten:
        """Remove a session: its steps, summary and row, and its raw file, which goes to the quarantine
        folder (deleted with ``purge``). StoreError for an unknown id.

        The rows go in one transaction; the raw file moves before it commits, and comes back if the
        commit fails, so a failure leaves the session as it was. A read-only store refuses."""
        self.check_writable()
        row = self.db.execute(
            "SELECT s.raw_sha256, u.name, r.original_name, r.kind FROM sessions s "
            "LEFT JOIN runners u ON u.id = s.runner_id LEFT JOIN raw_files r ON r.sha256 = s.raw_sha256 "
            "WHERE s.id = ?",
            (session_id,),
        ).fetchone()
        if row is None:
            raise StoreError(f"no session {session_id} in {self.root}; `hipsense sessions` lists them")
        sha, runner, name, kind = row
        raw = self.raw_path(sha)
        link = self.db.execute(
            "SELECT fit_sha256 FROM watch_links WHERE session_id = ?", (session_id,)
        ).fetchone()
        moved: list[tuple[Path, Path]] = []  # (where it went, where it was), raw file first
        watch_moved: list[tuple[Path, Path]] = []

        def remove(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM steps WHERE session_id = ?", (session_id,))
            db.execute("DELETE FROM summaries WHERE session_id = ?", (session_id,))
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            if db.execute("SELECT 1 FROM sessions WHERE raw_sha256 = ?", (sha,)).fetchone() is None:
                db.execute("DELETE FROM raw_files WHERE sha256 = ?", (sha,))
                if raw.is_file():
                    suffix = ".csv" if kind == "csv" else ".hsn"
                    moved.append((self.quarantine(raw, f"{sha}{suffix}"), raw))
            # The watch link's row goes with the session (ON DELETE CASCADE); its file goes too unless
            # another session links the same watch file: a runner's data leaves with the session.
            if link is not None and (watch := self.watch_path(link[0])).is_file():
                others = db.execute(
                    "SELECT 1 FROM watch_links WHERE fit_sha256 = ? AND session_id != ?",
                    (link[0], session_id),
                ).fetchone()
                if others is None:
                    watch_moved.append((self.quarantine(watch, f"{link[0]}.fit"), watch))

        try:
            self._write(remove)
        except BaseException:
            for kept, home in moved + watch_moved:
                if kept.exists() and not home.exists():
                    os.replace(kept, home)
            raise
        where = moved[0][0] if moved else None
        watch_where = watch_moved[0][0] if watch_moved else None
        if purge:
            for gone in (where, watch_where):
                if gone is not None:
                    gone.unlink()
            where = watch_where = None
        return Forgotten(
            session_id,
            runner,
            name,
            where,
            purged=purge,
            watch_quarantined=watch_where,
            watch_purged=purge and bool(watch_moved),
        )

    def temporaries(self, older_than_s: float = 0.0) -> list[Path]:
        """Import temporaries in ``raw/`` last written more than ``older_than_s`` ago."""
        now = time.time()
        found = []
        for p in self.raw_dir.glob(f"{TEMP_PREFIX}*"):
            try:
                if now - p.stat().st_mtime > older_than_s:
                    found.append(p)
            except OSError:
                continue  # gone meanwhile: its import ended
        return sorted(found)

    def clean_temporaries(self, older_than_s: float) -> list[Path]:
        """Delete the import temporaries older than ``older_than_s``; returns those deleted."""
        gone = []
        for p in self.temporaries(older_than_s):
            try:
                p.unlink()
            except OSError:
                continue
            gone.append(p)
        return gone


__all__ = ["QUARANTINE_DIR", "TEMP_PREFIX", "Forgotten", "Removal"]
