"""The runner's library: import recordings into the store, reanalyse them, refresh their flags.

The orchestration between the files, the one analysis entry (:func:`hipsense.analysis.analyse`) and the
store (:class:`hipsense.store.Store`, which only keeps and answers). Sync hands each verified file to
:func:`import_files` through its ``keep`` callback; batch and export read recordings the same way.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import tempfile
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hipsense import analysis
from hipsense.errors import HipsenseError
from hipsense.formats.load import load_recording
from hipsense.link import relink
from hipsense.recording import Recording
from hipsense.store import TEMP_PREFIX, Derived, Forgotten, Store, StoreError, sha256_file
from hipsense.trends.build import refresh_session_flags

#: Called as ``progress(done, total, current)`` before each item (``current`` is the item) and once at
#: the end (``done == total``, ``current`` None).
Progress = Callable[[int, int, Any], None]


@dataclass
class ImportedFile:
    """One file that was added: its session, and whether the analysis could use it."""

    path: Path
    sha256: str
    session_id: int
    status: str  # "ok" | "error"
    error: str | None = None


@dataclass
class ImportReport:
    """What :func:`import_files` did with each file."""

    added: list[ImportedFile] = field(default_factory=list)
    #: (path, sha256, id of the session that already holds these bytes)
    duplicates: list[tuple[Path, str, int]] = field(default_factory=list)
    #: (path, why it could not be read); nothing of these files was stored
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def analysis_errors(self) -> list[ImportedFile]:
        return [f for f in self.added if f.status == "error"]

    @property
    def total(self) -> int:
        return len(self.added) + len(self.duplicates) + len(self.failed)


@dataclass
class ReanalyzeReport:
    updated: list[int] = field(default_factory=list)
    #: (session id, message): the analysis failed (stored as status 'error') or the raw file is missing
    errors: list[tuple[int, str]] = field(default_factory=list)
    up_to_date: int = 0


def current_algorithm_version() -> str:
    """The analysis's version as it is now (read at call time, so a bump is seen at once)."""
    return analysis.ALGORITHM_VERSION


def read_recording(path: Path, csv_options: dict[str, Any]) -> Recording:
    """A stored (or about to be stored) file as a recording; torn tails and corrupt blocks are in its
    quality, so their warnings are not repeated."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_recording(path, **csv_options)


def kind_of(recording: Recording) -> str:
    return "device" if recording.device is not None else "csv"


def derive(recording: Recording, name: str) -> Derived:
    """Analyse a recording and return what the store keeps of it; an analysis failure is kept as the
    session's error (so ``reanalyze`` can retry it), never raised."""
    version = current_algorithm_version()
    kind = kind_of(recording)
    device_id = recording.device.device_id if recording.device else None
    start = recording.start_time_unix
    recording.source = Path(name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = analysis.analyse(recording)
    except Exception as e:  # noqa: BLE001 - stored as the session's error, so it can be reanalysed
        msg = str(e) if isinstance(e, HipsenseError) else f"{name}: analysis failed ({type(e).__name__}: {e})"
        duration = round(recording.elapsed_time_s, 4) if recording.sample_rate_hz else None
        return Derived(kind, start, device_id, duration, "error", msg, version)
    assert result.summary is not None
    summary = result.summary.to_dict()  # its figures rounded to 4 decimals: the stored columns say the same
    return Derived(kind, start, device_id, summary["duration_s"], "ok", None, version, result.steps, summary)


def import_files(
    store: Store,
    paths: Iterable[str | Path],
    runner: str = "default",
    csv_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
    *,
    refresh_flags: bool = True,
    start_time_of: Callable[[Path], float | None] | None = None,
) -> ImportReport:
    """Import device files and CSVs; duplicates (same bytes as a stored file) are no-ops.

    A file that cannot be read as a session file or a CSV is listed in ``failed`` and nothing of it is
    kept; a readable file the analysis cannot use (no running in it, ...) is stored with status
    ``'error'`` and its message, so it is listed and ``reanalyze`` can retry it. No file stops the rest.
    ``csv_options`` are stored with each CSV so reanalysis reads it the same way. The runner's flags are
    judged again afterwards (``refresh_flags=False``: the caller does it once after several imports, as
    sync does). ``start_time_of(path)`` gives a CSV its own start time (``--start-times``, a date in
    its name); it is stored with the file's CSV options like ``--start-time``.
    """
    files = [Path(p) for p in paths]
    report = ImportReport()
    store.clean_temporaries(TEMP_MAX_AGE_S)
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files), path)
        options = dict(csv_options or {})
        start = start_time_of(path) if start_time_of else None
        if start is not None:
            options["start_time_unix"] = start
        _import_one(store, path, runner, options, report)
    if refresh_flags and any(f.status == "ok" for f in report.added):
        refresh(store, [runner])
    if progress:
        progress(len(files), len(files), None)
    return report


#: Largest file an import reads (it is held in memory once): a CSV of 13 hours at 104 Hz, 40 times the
#: clip's largest session file. Anything larger is not a recording of a run.
MAX_IMPORT_BYTES = 1 << 30

#: An import's temporary copy in ``raw/`` lives while that one file is written, read and analysed:
#: seconds, a minute for hours of data. One older than this was left by an import that was killed, and
#: the next import deletes it; younger ones may belong to an import running now in another process
#: (sync and a manual import at once), so they are left alone.
TEMP_MAX_AGE_S = 10 * 60

#: errno values of a full disk or a file too large for the disk or the process's limits.
_DISK_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_SQLITE_FULL = 13


def storing_failed(path: Path, e: BaseException) -> str:
    """The one line for a file that could be read but not stored; nothing of it was kept."""
    if isinstance(e, OSError) and e.errno in _DISK_FULL:
        return f"{path}: disk full while storing it ({e.strerror or e}); nothing of it was kept"
    if isinstance(e, sqlite3.Error):
        if getattr(e, "sqlite_errorcode", None) == _SQLITE_FULL or "full" in str(e):
            return f"{path}: disk full while storing it (database: {e}); nothing of it was kept"
        return f"{path}: cannot store it (database: {e}); nothing of it was kept"
    if isinstance(e, HipsenseError):
        text = str(e)
        return text if str(path.name) in text else f"{path}: {text}"
    if isinstance(e, OSError):
        return f"{path}: cannot store it ({e.strerror or e}); nothing of it was kept"
    return f"{path}: cannot store it ({type(e).__name__}: {e}); nothing of it was kept"


def _import_one(
    store: Store, path: Path, runner: str, csv_options: dict[str, Any], report: ImportReport
) -> None:
    try:
        with open(path, "rb") as fh:  # one byte more than the cap: a file growing meanwhile is caught too
            data = fh.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            report.failed.append(
                (path, f"{path}: larger than {MAX_IMPORT_BYTES >> 20} MiB, more than any recording; not read")
            )
            return
    except IsADirectoryError:
        report.failed.append((path, f"{path}: is a folder, not a file"))
        return
    except OSError as e:
        report.failed.append((path, f"{path}: cannot read it ({e.strerror or e})"))
        return
    sha = hashlib.sha256(data).hexdigest()
    known = store.session_of(sha)
    if known is not None:
        report.duplicates.append((path, sha, known))
        return
    final = store.raw_path(sha)
    tmp: Path | None = None
    placed = False
    try:
        # The temporary copy sits in raw/ (same file system, so the rename is atomic) and moves to its
        # content address only once it has been read and analysed and the result checked.
        fd, tmp_name = tempfile.mkstemp(dir=store.raw_dir, prefix=TEMP_PREFIX, suffix=path.suffix.lower())
        tmp = Path(tmp_name)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            recording = read_recording(tmp, csv_options)
        except Exception as e:  # noqa: BLE001 - any unreadable file is reported, none stops the rest
            msg = str(e).replace(str(tmp), str(path))
            if not isinstance(e, HipsenseError):
                msg = f"{path}: cannot read it as a session file or CSV ({type(e).__name__}: {msg})"
            report.failed.append((path, msg))
            return
        derived = derive(recording, path.name)
        store.check_derived(derived, str(path))  # refused before anything is placed
        placed = store.place_raw(tmp, final, sha)
        options = json.dumps(csv_options) if derived.kind == "csv" else None
        sid, existing = store.add_session(
            sha=sha,
            path=path,
            kind=derived.kind,
            size=len(data),
            runner=runner,
            csv_options=options,
            derived=derived,
        )
    except Exception as e:  # noqa: BLE001 - a full disk, a refused value: this file fails, the rest go on
        if placed:
            _unplace(store, final, sha)
        report.failed.append((path, storing_failed(path, e)))
        return
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()
    if existing is not None:
        report.duplicates.append((path, sha, existing))
    else:
        assert sid is not None
        report.added.append(ImportedFile(path, sha, sid, derived.status, derived.error))


def _unplace(store: Store, final: Path, sha: str) -> None:
    """Remove the raw file this import placed when its row could not be written, unless a session holds
    it now (another process imported the same bytes meanwhile)."""
    try:
        if store.session_of(sha) is None:
            final.unlink(missing_ok=True)
    except (OSError, sqlite3.Error):
        pass  # left for `hipsense doctor`, which finds orphan raw files


def reanalyze(
    store: Store,
    all: bool = False,  # noqa: A002
    progress: Progress | None = None,
    *,
    ids: Iterable[int] | None = None,
) -> ReanalyzeReport:
    """Re-run the analysis from the raw files for sessions made by another algorithm version.

    With ``all``, every session; with ``ids``, those sessions (``hipsense doctor``). Each session's
    derived rows are replaced in one transaction; the raw files are only read (and re-hashed first: a
    raw file that no longer matches its hash is reported and its session left as it was).
    """
    store.check_writable()  # before any session is analysed, not after the first
    version = current_algorithm_version()
    if ids is not None:
        todo = store.sources(ids)
        up_to_date = 0
    else:
        todo, up_to_date = store.outdated(version, all=all)
    report = ReanalyzeReport(up_to_date=up_to_date)
    changed_runners: set[str] = set()
    for i, (sid, sha, name, options, runner) in enumerate(todo):
        if progress:
            progress(i, len(todo), name)
        raw = store.raw_path(sha)
        try:
            if sha256_file(raw) != sha:
                report.errors.append(
                    (sid, f"{raw}: raw file of {name} does not match its hash; left as it is")
                )
                continue
        except OSError as e:
            report.errors.append((sid, f"{raw}: raw file of {name} cannot be read ({e.strerror or e})"))
            continue
        try:
            recording = read_recording(raw, json.loads(options or "{}"))
        except Exception as e:  # noqa: BLE001 - e.g. a reader that became stricter
            msg = f"{name}: cannot read the raw file any more ({e})"
            d = Derived("csv" if options else "device", None, None, None, "error", msg, version)
        else:
            d = derive(recording, name)
        try:
            store.replace_derived(sid, d)
        except StoreError as e:  # a result the store could not read back: kept as the session's error
            d = Derived(d.kind, None, d.device_id, None, "error", str(e), version)
            store.replace_derived(sid, d)
        report.updated.append(sid)
        changed_runners.add(runner)
        if d.status == "ok" and (problem := relink(store, sid)):  # the watch's step columns (link.py)
            report.errors.append((sid, problem))
        if d.status == "error":
            report.errors.append((sid, d.error or ""))
    # The new summaries came without the flags of their runner's history; other runners are as they were.
    refresh(store, sorted(changed_runners))
    if progress:
        progress(len(todo), len(todo), None)
    return report


def forget(store: Store, session_id: int, *, purge: bool = False) -> Forgotten:
    """Remove a session from the store (:meth:`Store.forget`) and judge its runner's flags again."""
    gone = store.forget(session_id, purge=purge)
    if gone.runner is not None and gone.runner in store.runners():
        refresh(store, [gone.runner])
    return gone


def refresh(store: Store, runners: Iterable[str] | None = None) -> None:
    """Store in every session summary the flags it raised over its runner's history (hipsense.trends)."""
    for name in store.runners() if runners is None else runners:
        refresh_session_flags(store, name)


__all__ = [
    "ImportReport",
    "ImportedFile",
    "Progress",
    "ReanalyzeReport",
    "current_algorithm_version",
    "derive",
    "forget",
    "import_files",
    "read_recording",
    "reanalyze",
    "refresh",
]
