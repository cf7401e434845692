"""``hipsense export``: the store's sessions as CSV or Parquet tables with their schema and a README.

Layout of an export folder::

    README.md           what is in it, how it was selected, what pseudonymisation removed
    schema.json         table -> column -> dtype, unit, meaning (hipsense.export.schema)
    sessions.EXT        one row per session, its summary flattened
    steps.EXT           one row per step (running and walking) of every session
    flags.EXT           the trends engine's flags for the selected runners
    raw/session-N.EXT   the samples of session N in both frames (one file per session: they are large)

The folder is written as a hidden sibling and renamed at the end (hipsense.export.folder): a failed
export leaves nothing behind. A session whose raw file is missing or damaged loses its raw file only
(hipsense.export.raw_files); it is named in ``ExportResult.incomplete`` and in the README.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hipsense import __version__
from hipsense import metrics as registry
from hipsense.errors import HipsenseError
from hipsense.export import schema
from hipsense.export.folder import check_parent, written_whole
from hipsense.export.pseudonym import MAX_WEEKS, MIN_WEEKS, REMOVED_COLUMNS, Pseudonymizer
from hipsense.export.raw_files import Incomplete, read_raw
from hipsense.export.schema import SCHEMA_VERSION, Column, Table, conform, write_schema
from hipsense.export.tables import (
    flags_frame,
    neutralise_formulas,
    raw_frame,
    restore_formulas,
    steps_frame,
    summary_rows,
)
from hipsense.store import Progress
from hipsense.store_rows import RowError, warn_row
from hipsense.trends.build import build_trends

WHAT = ("raw", "steps", "sessions", "flags")
FORMATS = ("csv", "parquet")


@dataclass
class ExportResult:
    out: Path
    format: str
    #: table -> rows written (raw: all sessions together)
    rows: dict[str, int] = field(default_factory=dict)
    sessions: int = 0
    pseudonymized: bool = False
    #: sessions not written fully (a raw file missing or damaged), each with what is left out
    incomplete: list[Incomplete] = field(default_factory=list)
    #: sessions without a start time, left out of a ``since`` selection
    undated: int = 0

    def undated_line(self) -> str:
        """Why sessions were left out of a ``since`` selection ("" when none were)."""
        if not self.undated:
            return ""
        n = self.undated
        return (
            f"left out {n} session{'s' if n != 1 else ''} without a start time: "
            f"{'it' if n == 1 else 'they'} cannot be said to be from the --since date on"
        )


def parse_what(text: str) -> tuple[str, ...]:
    """``"steps,sessions"`` -> ``("steps", "sessions")``, in the order of :data:`WHAT`."""
    asked = {w.strip() for w in text.split(",") if w.strip()}
    unknown = asked - set(WHAT)
    if unknown or not asked:
        raise HipsenseError(
            f"--what: {', '.join(sorted(unknown)) or 'nothing'} is not one of {','.join(WHAT)}"
        )
    return tuple(w for w in WHAT if w in asked)


def new_folder(out: str | Path) -> Path:
    """``out`` as a Path, checked to be a folder to write into: absent or empty, never another output,
    in a folder that exists (:func:`~hipsense.export.folder.check_parent`)."""
    out = Path(out)
    check_parent(out)
    if out.exists() and not out.is_dir():
        raise HipsenseError(f"{out}: is a file, not a folder; choose a new folder")
    if out.exists() and any(out.iterdir()):
        raise HipsenseError(f"{out}: exists and is not an empty folder; choose a new one")
    return out


def _write(df: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:  # text a spreadsheet would run as a formula is neutralised (docs/data-dictionary.md); the
        # registry's columns are rounded to their declared precision (Parquet keeps every digit)
        neutralise_formulas(registry.rounded(df)).to_csv(path, index=False)


def _flags(store, runners: Sequence[str]) -> list:
    return [flag for runner in runners for flag in build_trends(store, runner).flags]


def export_store(
    store,
    out: str | Path,
    *,
    fmt: str = "parquet",
    runner: str | None = None,
    since: pd.Timestamp | None = None,
    what: Sequence[str] = WHAT,
    pseudonymize: bool = False,
    progress: Progress | None = None,
    flags: list | None = None,
) -> ExportResult:
    """Export the store's sessions (all, one runner's, from a date on) into the folder ``out``.

    ``flags`` replaces the trends engine's flags (for callers that already have them). ``out`` must not
    exist or be empty: an export is never mixed into another one.
    """
    if fmt not in FORMATS:
        raise HipsenseError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    out = new_folder(out)
    store.runners(runner)  # an unknown runner is an error, not an empty export
    sessions = store.sessions(runner=runner)
    undated = 0
    if since is not None:  # a session without a start time is from no date on: left out, and counted
        dated = sessions["start_time"].notna()
        undated = int((~dated).sum())
        sessions = sessions[dated & (sessions["start_time"] >= since)]
    runners = sorted(sessions["runner"].unique()) if runner is None else [runner]
    pseudo = (
        Pseudonymizer(
            runners,
            device_ids=sessions["device_id"].dropna(),
            file_names=sessions["original_name"].dropna(),
        )
        if pseudonymize
        else None
    )
    result = ExportResult(out, fmt, sessions=len(sessions), pseudonymized=pseudonymize, undated=undated)
    with written_whole(out) as work:
        _write_tables(store, work, sessions, result, what, runners, pseudo, since, flags, progress)
        tables = {
            name: _without(schema.EXPORT_TABLES[name], REMOVED_COLUMNS if pseudonymize else ())
            for name in what
        }
        write_schema(work, tables)
        (work / "README.md").write_text(_readme(result, what, runner, since))
    return result


def _write_tables(
    store,
    out: Path,
    sessions: pd.DataFrame,
    result: ExportResult,
    what: Sequence[str],
    runners: list[str],
    pseudo: Pseudonymizer | None,
    since: pd.Timestamp | None,
    flags: list | None,
    progress: Progress | None,
) -> None:
    """The tables of ``what`` for ``sessions`` into ``out``; rows and incomplete sessions into ``result``."""
    fmt = result.format
    total = len(sessions) + (1 if "flags" in what else 0)
    step_frames, session_rows = [], []
    raw_rows = 0
    if "raw" in what:
        (out / "raw").mkdir()
    for i, s in enumerate(sessions.itertuples()):
        if progress:
            progress(i, total, f"session {s.id}")
        try:
            summary = store.summary(s.id)
        except RowError as e:  # left out with one warning, like the listings leave it out
            warn_row(s.id, s.original_name, e.problem)
            continue
        if "steps" in what:
            step_frames.append(
                steps_frame(store.steps(s.id), {"session_id": s.id, "runner": s.runner}, schema.STEPS)
            )
        if "sessions" in what:
            session_rows.append(
                {
                    "session_id": s.id,
                    "runner": s.runner,
                    "start_time": s.start_time,
                    "kind": s.kind,
                    "device_id": s.device_id,
                    "original_name": s.original_name,
                    "status": s.status,
                    "error": s.error,
                    "summary": summary,
                }
            )
        if "raw" in what:
            recording = read_raw(store, s)
            if isinstance(recording, Incomplete):  # its stored figures are in the other tables
                result.incomplete.append(recording)
                continue
            rotation = (summary or {}).get("alignment", {}).get("r_body_from_sensor")
            raw = raw_frame(recording.data, recording.frame, rotation, recording.filled, s.id)
            _write(raw, out / "raw" / f"session-{s.id}.{fmt}")
            raw_rows += len(raw)
    if "raw" in what:
        result.rows["raw"] = raw_rows

    frames: dict[str, pd.DataFrame] = {}
    if "steps" in what:
        frames["steps"] = (
            pd.concat(step_frames, ignore_index=True)
            if step_frames
            else conform(pd.DataFrame(), schema.STEPS)
        )
    if "sessions" in what:
        frames["sessions"] = summary_rows(session_rows, schema.EXPORT_TABLES["sessions"])
    if "flags" in what:
        if progress:
            progress(len(sessions), total, "flags")
        chosen = flags if flags is not None else _flags(store, runners)
        table = flags_frame(f for f in chosen if f.runner in runners)
        if since is not None:
            table = table[table["period_end"] >= since.tz_localize(None).normalize()].reset_index(drop=True)
        frames["flags"] = table
    for name, df in frames.items():
        if pseudo is not None:
            df = pseudo.frame(df)
        _write(df, out / f"{name}.{fmt}")
        result.rows[name] = len(df)
    if progress:
        progress(total, total, None)


def _without(table: Table, names: Sequence[str]) -> Table:
    return Table(table.name, table.description, tuple(c for c in table.columns if c.name not in names))


def _readme(result: ExportResult, what: Sequence[str], runner: str | None, since) -> str:
    ext = result.format
    files = {
        "raw": f"raw/session-N.{ext}",
        "steps": f"steps.{ext}",
        "sessions": f"sessions.{ext}",
        "flags": f"flags.{ext}",
    }
    lines = [
        "# hipsense export",
        "",
        f"Written by hipsense {__version__}, schema version {SCHEMA_VERSION}, format {result.format}.",
        "Every column's dtype, unit and meaning is in `schema.json` (the same definitions as hipsense's "
        "docs/data-dictionary.md). Read a table back with its dtypes: "
        "`hipsense.export.read_table(folder, name)`.",
        "",
        "| table | file | rows |",
        "|---|---|---|",
        *[f"| {w} | `{files[w]}` | {result.rows.get(w, 0)} |" for w in what],
        "",
        "## Selection",
        "",
        f"- runners: {'one runner' if runner else 'all in the store'}",
        f"- sessions: {result.sessions}"
        + (
            ""
            if since is None
            else (" from a chosen date on" if result.pseudonymized else f" from {since.date()} on")
        ),
        *([f"- {result.undated_line()}"] if result.undated else []),
        "",
    ]
    if result.incomplete:  # ids and reasons only: no names, dates or paths in a file that may be shared
        lines += [
            "## Not written fully",
            "",
            *[f"- session {x.session_id}: raw samples left out, {x.reason}" for x in result.incomplete],
            "",
            "Their rows in the other tables are the figures stored when the raw file was intact.",
            "",
        ]
    if result.pseudonymized:
        lines += [
            "## Pseudonymisation",
            "",
            "This export is pseudonymised. Removed or replaced:",
            "",
            "- runner names: replaced by `runner-01`, `runner-02`, ... in random order;",
            f"- the columns {', '.join(f'`{c}`' for c in REMOVED_COLUMNS)} (the clip's device id and the "
            "imported file names): not in any table;",
            "- runner names, device ids and file names inside free text (error messages, flag sentences): "
            "replaced by the alias, `[device]` or `[file]`;",
            f"- dates and times: every date and time of a runner, including ISO dates in free text, is shifted "
            f"by one random whole number of weeks ({MIN_WEEKS} to {MAX_WEEKS} weeks back, none within two weeks of a "
            "whole number of years) per runner, so intervals, "
            "weekdays and times of day are kept but the calendar dates are not;",
            "- neither the alias mapping nor the offsets are stored, here or anywhere else.",
            "",
            "Not removed: the signals and gait figures themselves. Gait can be characteristic of a person, "
            "so treat the data as pseudonymous, not anonymous.",
            "",
        ]
    return "\n".join(lines)


def read_table(folder: str | Path, name: str, *, session_id: int | None = None) -> pd.DataFrame:
    """Read a table of an export (or of a ``hipsense batch`` output) back with the dtypes of its schema.

    ``raw`` concatenates every session's file unless ``session_id`` picks one; a batch's tables come
    sorted by runner and session (steps in step order within each).
    """
    folder = Path(folder)
    schema_path = folder / "schema.json"
    if not schema_path.is_file():
        raise HipsenseError(f"{folder}: no schema.json here; not a hipsense export")
    columns = json.loads(schema_path.read_text())["tables"].get(name)
    if columns is None:
        raise HipsenseError(f"{folder}: no table {name!r} in this export")
    table = Table(
        name, columns["description"], tuple(Column(c, **spec) for c, spec in columns["columns"].items())
    )
    if (folder / name).is_dir() and name != "raw":  # a batch table: hive-partitioned Parquet
        return conform(_read_partitioned(folder / name), table)
    if name == "raw":
        pattern = f"session-{session_id}.*" if session_id is not None else "session-*.*"
        paths = sorted((folder / "raw").glob(pattern), key=lambda p: int(p.stem.split("-")[1]))
    else:
        paths = sorted(folder.glob(f"{name}.*"))
    if not paths:
        raise HipsenseError(f"{folder}: no file for table {name!r}")
    frames = [_read_file(p, table) for p in paths]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _read_partitioned(folder: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.dataset as ds

    # Partition values are names, never numbers: say so, or "001" would come back as 1.
    keys = ds.partitioning(pa.schema([("runner", pa.string()), ("session", pa.string())]), flavor="hive")
    table = ds.dataset(folder, format="parquet", partitioning=keys).to_table()
    return table.to_pandas().sort_values(["runner", "session"], kind="stable")


#: pandas before 3 parses CSV floats exactly only when asked (3 does by default and deprecates asking).
_EXACT_FLOATS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


def _read_file(path: Path, table: Table) -> pd.DataFrame:
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
    else:  # instants and days are parsed by conform(); the rest by read_csv with the schema's dtypes
        plain = {c.name: c.dtype for c in table.columns if not c.dtype.startswith("datetime64")}
        df = restore_formulas(pd.read_csv(path, dtype=plain, **_EXACT_FLOATS))
    return conform(df, table)
