"""``hipsense doctor``: check the local store and repair what can be repaired.

What it looks at, in this order (docs/store.md, "When something is wrong"):

1. import temporaries (``raw/.import-*``) left by an import that was killed: deleted;
2. SQLite's own ``integrity_check`` and the foreign keys: reported (a damaged database is not patched
   here; the raw files are the truth and can be imported into a new store); when it fails, nothing
   after it is checked, since with rows lost every raw file would look orphaned;
3. raw-file rows that no session uses: deleted (their file then counts as an orphan);
4. files in ``raw/`` that no session holds (an import killed between placing the file and writing its
   row, or something put there by hand): moved to ``quarantine/``, from where ``hipsense import`` takes
   them back under the right runner; watch files in ``watch/`` that no session links (left by an
   older version's forget, or put there by hand): moved to ``quarantine/`` too;
5. sessions whose raw file is missing (put back from the quarantine when an intact copy is there) or
   does not match its hash (the damaged file goes to the quarantine; the session keeps its figures);
6. sessions whose row cannot be read (a start time no calendar holds, a figure that is not a number, a
   summary that is not JSON or gives no trend figures) or that lack their derived data: reanalysed from
   the raw file; when that is impossible, marked as an analysis error so listings can read them.

With ``dry_run`` nothing is changed and every action says what it would do.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hipsense import library
from hipsense.formats.session_spec import HEADER_MAGIC
from hipsense.store import Derived, Store, StoreError, session_row_problem, sha256_file
from hipsense.store_queries import WATCH_DIR, is_sha256
from hipsense.store_rows import parse_summary
from hipsense.trends.sessions import session_row

#: Any start will do to see whether a summary gives trend figures.
_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


@dataclass
class Finding:
    """One thing found: which check, about what, what is wrong, and what was (or would be) done."""

    check: str
    what: str
    problem: str
    action: str
    fixed: bool


@dataclass
class DoctorReport:
    findings: list[Finding] = field(default_factory=list)
    integrity: str = "ok"
    sessions: int = 0
    raw_files: int = 0
    dry_run: bool = False

    @property
    def unfixed(self) -> list[Finding]:
        return [f for f in self.findings if not f.fixed]


def doctor(
    store: Store, *, dry_run: bool = False, temp_age_s: float = library.TEMP_MAX_AGE_S
) -> DoctorReport:
    """Check the store and repair it (see the module docstring); ``dry_run`` only reports. A store
    opened read-only is refused at once (StoreError saying what to do), unless this is a dry run."""
    if not dry_run:
        store.check_writable()
    report = DoctorReport(dry_run=dry_run)

    def found(check: str, what: str, problem: str, done: str, would: str, fix) -> None:
        """Record a finding; run ``fix()`` unless this is a dry run (its error becomes the action)."""
        if dry_run:
            report.findings.append(Finding(check, what, problem, f"would {would}", False))
            return
        try:
            fix()
        except (OSError, sqlite3.Error, StoreError) as e:
            report.findings.append(Finding(check, what, problem, f"could not {would}: {e}", False))
            return
        report.findings.append(Finding(check, what, problem, done, True))

    for tmp in store.temporaries(temp_age_s):
        found(
            "temporary",
            _rel(store, tmp),
            "left by an import that was killed",
            "deleted",
            "delete it",
            lambda tmp=tmp: tmp.unlink(missing_ok=True),
        )

    report.integrity = store.integrity_check()
    if report.integrity != "ok":
        report.findings.append(
            Finding(
                "database",
                store.db_path.name,
                report.integrity,
                "not repaired: move the database aside and import the files of raw/ into a new store; "
                "nothing else is checked (files would look orphaned when rows are lost)",
                False,
            )
        )
        return report
    try:
        _check_files_and_rows(store, report, found)
    except (sqlite3.DatabaseError, StoreError) as e:  # a damaged database: what could be read is reported
        report.findings.append(
            Finding("database", store.db_path.name, f"cannot be read further ({e})", "not repaired", False)
        )
    return report


def _check_files_and_rows(store: Store, report: DoctorReport, found: Callable[..., None]) -> None:
    """Checks 3 to 6 of the module docstring."""
    unused = store.db.execute(
        "SELECT sha256 FROM raw_files WHERE sha256 NOT IN (SELECT raw_sha256 FROM sessions)"
    ).fetchall()
    for (sha,) in unused:
        found(
            "raw-file row",
            sha[:12],
            "no session uses it",
            "row deleted",
            "delete the row",
            lambda sha=sha: store._write(
                lambda db: db.execute("DELETE FROM raw_files WHERE sha256 = ?", (sha,))
            ),
        )

    held = {sha for (sha,) in store.db.execute("SELECT raw_sha256 FROM sessions")}
    report.sessions = len(held)
    for path in _raw_files(store):
        report.raw_files += 1
        sha = _sha_of(store.raw_dir, path)
        if sha in held:
            continue
        problem = "no session holds it" if sha else "not a raw file (its name is not a sha256)"
        name = f"{sha}{_suffix(path)}" if sha else path.name
        found(
            "orphan file",
            _rel(store, path),
            problem,
            f"moved to {_quarantined(store, name)}",
            "move it to the quarantine",
            lambda path=path, name=name: store.quarantine(path, name),
        )

    linked = {sha for (sha,) in store.db.execute("SELECT fit_sha256 FROM watch_links")}
    for path in _files(store.root / WATCH_DIR):
        sha = _sha_of(store.root / WATCH_DIR, path)
        if sha in linked:
            continue
        name = f"{sha}.fit" if sha else path.name
        found(
            "orphan file",
            _rel(store, path),
            "no session links this watch file" if sha else "not a watch file (its name is not a sha256)",
            f"moved to {_quarantined(store, name)}",
            "move it to the quarantine",
            lambda path=path, name=name: store.quarantine(path, name),
        )

    intact = set()
    for sid, sha, name in store.db.execute(
        "SELECT s.id, s.raw_sha256, r.original_name FROM sessions s "
        "LEFT JOIN raw_files r ON r.sha256 = s.raw_sha256 ORDER BY s.id"
    ).fetchall():
        raw = store.raw_path(sha)
        what = f"session {sid} ({name})"
        if raw.is_file():
            if sha256_file(raw) == sha:
                intact.add(sid)
                continue
            found(
                "raw file",
                what,
                "its raw file does not match its hash (damaged on disk)",
                "damaged file moved to the quarantine; the session keeps its figures",
                "move the damaged file to the quarantine",
                lambda raw=raw, sha=sha: store.quarantine(raw, f"{sha}.damaged"),
            )
            continue
        copy = next((q for q in _quarantine_copies(store, sha) if sha256_file(q) == sha), None)
        if copy is not None:
            found(
                "raw file",
                what,
                "its raw file is missing",
                f"put back from {_rel(store, copy)}",
                "put it back from the quarantine",
                lambda copy=copy, raw=raw: _restore(copy, raw),
            )
            intact.add(sid)
        else:
            report.findings.append(
                Finding(
                    "raw file",
                    what,
                    "its raw file is missing",
                    f"kept its figures; `hipsense forget {sid}` removes it",
                    False,
                )
            )

    redo = list(_unreadable(store))
    for sid, name, problem in redo:
        what = f"session {sid} ({name})"
        if sid in intact:
            found(
                "row",
                what,
                problem,
                "reanalysed from its raw file",
                "reanalyse it",
                lambda sid=sid: _reanalyse(store, sid),
            )
        else:
            found(
                "row",
                what,
                problem,
                "marked as an analysis error (no intact raw file to reanalyse)",
                "mark it as an analysis error",
                lambda sid=sid, problem=problem: _mark(store, sid, problem),
            )


def _rel(store: Store, path: Path) -> str:
    try:
        return path.relative_to(store.root).as_posix()
    except ValueError:
        return str(path)


def _quarantined(store: Store, name: str) -> str:
    return _rel(store, store.quarantine_dir / name)


def _raw_files(store: Store) -> Iterator[Path]:
    """Every file under ``raw/`` but the import temporaries."""
    for path in _files(store.raw_dir):
        if not (path.parent == store.raw_dir and path.name.startswith(".import-")):
            yield path


def _files(top: Path) -> Iterator[Path]:
    for folder, _, names in os.walk(top):
        for n in sorted(names):
            yield Path(folder) / n


def _sha_of(top: Path, path: Path) -> str | None:
    """The sha256 a content-addressed file's place names (``top/ab/cdef...``), None when it is not
    such a place."""
    rel = path.relative_to(top).parts
    sha = "".join(rel) if len(rel) == 2 and len(rel[0]) == 2 else ""
    return sha if is_sha256(sha) else None


def _suffix(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            return ".hsn" if fh.read(len(HEADER_MAGIC)) == HEADER_MAGIC else ".csv"
    except OSError:
        return ""


def _quarantine_copies(store: Store, sha: str) -> list[Path]:
    if not store.quarantine_dir.is_dir():
        return []
    return sorted(store.quarantine_dir.glob(f"{sha}*"))


def _restore(copy: Path, raw: Path) -> None:
    raw.parent.mkdir(mode=0o700, exist_ok=True)
    os.chmod(copy, 0o400)
    os.replace(copy, raw)


def _unreadable(store: Store) -> Iterator[tuple[int, str, str]]:
    """Sessions whose row cannot be read or that lack derived data: ``(id, file name, why)``."""
    rows = store.db.execute(
        "SELECT s.id, u.name, s.start_time, r.imported_at, s.duration_s, s.running_time_s, s.steps, "
        "s.cadence_spm, s.status, s.algorithm_version, m.json, r.original_name FROM sessions s "
        "LEFT JOIN runners u ON u.id = s.runner_id LEFT JOIN raw_files r ON r.sha256 = s.raw_sha256 "
        "LEFT JOIN summaries m ON m.session_id = s.id ORDER BY s.id"
    ).fetchall()
    for sid, _runner, start, imported, dur, running, steps, cadence, status, version, js, name in rows:
        problem = session_row_problem((sid, None, start, imported, dur, running, steps, cadence))
        if problem is None and status == "ok":
            if js is None:
                problem = "it has no summary (no derived data)"
            else:
                try:
                    session_row(sid, _EPOCH, parse_summary(js))
                except ValueError as e:
                    problem = str(e)
                except (TypeError, KeyError, AttributeError, OverflowError) as e:
                    problem = f"its summary does not give trend figures ({type(e).__name__})"
        if problem is None and version is None:
            problem = "its derived data predates this schema (no algorithm version)"
        if problem is not None:
            yield int(sid), str(name), problem


def _reanalyse(store: Store, sid: int) -> None:
    result = library.reanalyze(store, ids=[sid])
    if sid not in result.updated:
        raise StoreError("; ".join(m for _, m in result.errors) or "reanalysis did not run")


def _mark(store: Store, sid: int, problem: str) -> None:
    row = store.db.execute(
        "SELECT r.kind FROM sessions s LEFT JOIN raw_files r ON r.sha256 = s.raw_sha256 WHERE s.id = ?",
        (sid,),
    ).fetchone()
    kind = (row[0] if row else None) or "device"
    message = f"the stored row could not be read ({problem}) and there is no intact raw file to reanalyse"
    store.replace_derived(
        sid, Derived(kind, None, None, None, "error", message, library.current_algorithm_version())
    )


__all__ = ["DoctorReport", "Finding", "doctor"]
