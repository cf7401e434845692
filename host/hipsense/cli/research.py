"""Commands for research: export and batch."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from hipsense.cli.common import (
    AddCommand,
    add_csv_options,
    add_output_folder_option,
    console,
    csv_options_from,
    err_console,
    open_store,
    print_failures,
    progress_bar,
    since_from,
)
from hipsense.outputs import check_output_file, check_output_folder


def _cmd_export(args: argparse.Namespace) -> int:
    from hipsense.export.export import WHAT, export_store, parse_what

    if args.format == "fit" or args.session is not None:
        return _export_fit(args)
    what = parse_what(args.what) if args.what else WHAT
    since = since_from(args)
    check_output_folder(args.out, "--out")
    store = open_store(create=False)
    with store, progress_bar("exporting", lambda current: f"exporting {current or ''}") as progress:
        result = export_store(
            store,
            args.out,
            fmt=args.format,
            runner=args.runner,
            since=since,
            what=what,
            pseudonymize=args.pseudonymize,
            progress=progress,
        )
    if result.undated:
        err_console.print(f"[yellow]note:[/] {escape(result.undated_line())}", highlight=False)
    for incomplete in result.incomplete:
        err_console.print(f"[yellow]not written fully:[/] {escape(incomplete.line())}", highlight=False)
    rows = ", ".join(f"{name} {n} rows" for name, n in result.rows.items())
    note = " (pseudonymised)" if result.pseudonymized else ""
    console.print(
        f"exported {result.sessions} session{'s' if result.sessions != 1 else ''}{note} to [bold]{result.out}[/]: {rows}",
        highlight=False,
    )
    return 1 if result.incomplete else 0  # as batch: 1 when some of it could not be written


def _export_fit(args: argparse.Namespace) -> int:
    """``export --format fit SESSION --out FILE.fit``: one session's running form as FIT developer fields."""
    from hipsense.errors import HipsenseError
    from hipsense.export.fit import refuse_existing, write_fit
    from hipsense.store_rows import RowError, number_problem, time_problem

    if args.format != "fit" or args.session is None:
        raise HipsenseError(
            "SESSION goes with --format fit: hipsense export --format fit SESSION --out FILE.fit"
        )
    if not 0 < args.session < 2**62:  # SQLite's integers end at 2**63
        raise HipsenseError(f"SESSION {args.session}: not a session id (see `hipsense sessions`)")
    check_output_file(args.out, "--out")
    refuse_existing(args.out)
    store = open_store(create=False)
    with store:
        row = store.db.execute(
            "SELECT s.start_time, s.running_time_s, r.original_name FROM sessions s "
            "LEFT JOIN raw_files r ON r.sha256 = s.raw_sha256 WHERE s.id = ?",
            (args.session,),
        ).fetchone()
        if row is None:
            raise HipsenseError(f"no session {args.session} in {store.root} (see `hipsense sessions`)")
        problem = time_problem(row[0]) or number_problem(row[1], "running time")
        if problem is not None:  # a hand edit or a damaged file: say so, not a traceback
            raise RowError(args.session, row[2], problem)
        steps = store.steps(args.session)
    start, running = (float("nan") if v is None else float(v) for v in row[:2])
    # The running time `hipsense sessions` shows is the FIT file's timer: one figure for the run.
    done = write_fit(args.out, steps, start, running_time_s=running, session_id=args.session)
    console.print(
        f"exported session {args.session}'s running form, {done.records} s, to [bold]{escape(str(done.path))}[/]",
        highlight=False,
    )
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from hipsense.batch.run import run_batch

    check_output_folder(args.out, "--out")
    try:
        with progress_bar(
            "analysing", lambda job: f"analysing {job.path.name}" if job else "starting workers"
        ) as progress:
            report = run_batch(
                args.dirs,
                args.out,
                workers=args.workers,
                dask_address=args.dask,
                csv_options=csv_options_from(args),
                progress=progress,
                resume=args.resume,
            )
    except KeyboardInterrupt:
        if Path(args.out, "schema.json").is_file():
            err_console.print(
                f"interrupted: the tables so far are in {escape(str(args.out))}; the same command with "
                "--resume finishes the batch",
                highlight=False,
            )
            return 130
        raise
    code = print_failures(report.failed, report.total)
    kept = f"{len(report.kept)} kept from before, " if args.resume else ""
    console.print(
        f"{kept}{len(report.analysed)} analysed ({report.steps} steps), {len(report.failed)} failed, on "
        f"{report.where} in {report.seconds:.1f} s ({(report.total - len(report.kept)) / report.seconds:.2f} files/s); "
        f"tables in [bold]{report.out}[/]",
        highlight=False,
    )
    return code


def register(add: AddCommand) -> None:
    p = add(
        "export",
        _cmd_export,
        "export the store's data for research as CSV or Parquet, with a data dictionary",
        "Writes the stored sessions into a new folder as tables: raw samples in SI units in the sensor "
        "and the body frame (one file per session), the step table, the session summaries (flattened) "
        "and the flags, plus schema.json (every column's dtype, unit and meaning; docs/data-dictionary.md) "
        "and a README saying what was selected and, with --pseudonymize, what was removed. "
        "`--format fit SESSION --out FILE.fit` writes one session's per-second cadence, contact time, "
        "balance and pelvic drop as FIT developer fields for the watch's platform (docs/watch.md).",
    )
    p.add_argument(
        "--format",
        choices=["csv", "parquet", "fit"],
        default="parquet",
        help="file format (default: %(default)s); fit: one SESSION as a FIT file for the watch's platform",
    )
    p.add_argument(
        "session", type=int, nargs="?", metavar="SESSION", help="with --format fit: the session to write"
    )
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="new (or empty) folder to write, in a folder that exists; a new FILE.fit with --format fit",
    )
    p.add_argument("--runner", metavar="NAME", help="only this runner's sessions (default: all)")
    p.add_argument(
        "--since",
        metavar="DATE",
        help="only sessions from this date on (YYYY-MM-DD, UTC); sessions without a start time are left out",
    )
    p.add_argument(
        "--what",
        metavar="LIST",
        help="tables to write, comma-separated from raw,steps,sessions,flags (default: all four)",
    )
    p.add_argument(
        "--pseudonymize",
        action="store_true",
        help="replace runner names, drop device ids and file names, shift dates by a random offset per runner",
    )
    p = add(
        "batch",
        _cmd_batch,
        "analyse many recordings in parallel into Parquet tables (cohort studies)",
        "Analyses every device file and CSV under each DIR (recursively) on all local cores, or on a Dask "
        "cluster with --dask, and writes the per-step and per-session tables as Parquet partitioned by "
        "runner and session (the runner is the first sub-folder below DIR; docs/batch.md). Files that "
        "cannot be analysed are listed at the end and do not stop the rest; exit code 0 when none failed, "
        "1 when some did, 2 when all did.",
    )
    p.add_argument(
        "dirs", nargs="+", type=Path, metavar="DIR", help="folders of recordings, one sub-folder per runner"
    )
    add_output_folder_option(p)
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: all cores)")
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run on this Dask scheduler, e.g. tcp://10.0.0.5:8786 (pip install 'hipsense[cluster]')",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="finish an interrupted batch in --out: keep the recordings it has tables for, analyse the rest",
    )
    add_csv_options(p)
