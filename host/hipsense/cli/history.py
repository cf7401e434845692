"""Commands on the local store: import, sessions, reanalyze, trends, flags, report."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from hipsense.cli.common import (
    AddCommand,
    add_analysis_options,
    add_csv_options,
    add_json_option,
    add_owner_option,
    add_start_time_option,
    console,
    csv_options_from,
    existing_store,
    open_store,
    print_failures,
    print_json,
    progress_bar,
    since_from,
    warn_future,
)
from hipsense.errors import HipsenseError


def _start_time_of(args: argparse.Namespace):
    """Each file's own start time from --start-times or --start-time-pattern (None: neither given)."""
    from hipsense.formats.csv_dates import start_time_from_name, start_times_for

    given = [o for o in ("start_time", "start_times", "start_time_pattern") if getattr(args, o, None)]
    if len(given) > 1:
        raise HipsenseError("give one of --start-time, --start-times and --start-time-pattern")
    if args.start_time and len(args.files) > 1:
        raise HipsenseError(
            "--start-time dates one recording: for several, give --start-times FILE.csv or --start-time-pattern"
        )
    if args.start_times:
        starts = start_times_for(args.start_times, args.files)  # each CSV's, matched on its path
        return lambda path: starts.get(Path(path))
    if args.start_time_pattern:
        pattern = args.start_time_pattern

        def from_name(path: Path) -> float | None:
            if path.suffix.lower() == ".hsn":
                return None  # a session file carries the clip's own start time
            try:
                return start_time_from_name(path, pattern)
            except ValueError as e:
                raise HipsenseError(f"{path}: {e}") from None

        return from_name
    return None


def _cmd_import(args: argparse.Namespace) -> int:
    from hipsense import library
    from hipsense.report.wording import stored_error

    start_time_of = _start_time_of(args)
    options = csv_options_from(args)
    store = open_store()
    with (
        store,
        progress_bar("importing", lambda path: f"importing {path.name}" if path else "done") as progress,
    ):
        report = library.import_files(
            store,
            args.files,
            runner=args.runner,
            csv_options=options,
            progress=progress,
            start_time_of=start_time_of,
        )
        warn_future(store, [f.session_id for f in report.added])
    for f in report.analysis_errors:
        console.print(
            f"[yellow]stored, but not analysable:[/] {escape(stored_error(str(f.error)))}", highlight=False
        )
    code = print_failures(report.failed, report.total)
    line = f"{len(report.added)} added, {len(report.duplicates)} duplicates, {len(report.failed)} failed"
    if report.analysis_errors:
        line += f" ({len(report.analysis_errors)} of the added could not be analysed)"
    console.print(f"{line}; data folder [bold]{store.root}[/]", highlight=False)
    return code


def _hms(seconds) -> str:
    import math

    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _cmd_sessions(args: argparse.Namespace) -> int:
    import pandas as pd
    from rich import box
    from rich.table import Table

    from hipsense.report.wording import stored_error

    store = existing_store(say=not args.json)
    if store is None:
        return print_json([]) if args.json else 0
    with store:
        df = store.sessions(runner=args.runner)
        walking = store.walking_times() if not args.json else {}
    if args.json:  # --json (cli/common.py, report/machine.py): the export schema's names
        from hipsense.report.machine import sessions_records

        return print_json(sessions_records(df))
    if df.empty:
        who = f" for runner {args.runner!r}" if args.runner else ""
        console.print(f"No sessions stored{who} in {store.root}; add some with `hipsense import FILE...`.")
        return 0
    table = Table(
        title=f"Sessions in {store.root}",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for col, justify in (
        ("id", "right"),
        ("runner", "left"),
        ("date\n(UTC)", "left"),  # the store's times are UTC: said, so no one reads them as local
        ("total\n(m:s)", "right"),  # the unit in the header: a bare 0:30 reads either way
        ("run\n(m:s)", "right"),
        ("walk\n(m:s)", "right"),  # walking kept apart from the running figures (issue 15)
        ("steps", "right"),
        ("cadence", "right"),
        ("status", "left"),
    ):
        # the date and the status may wrap, so the table fits 80 columns with every column in it; with
        # padding collapsed between columns a session is one line at 80 columns (a short runner name)
        table.add_column(col, justify=justify, no_wrap=col not in ("date\n(UTC)", "status"))  # type: ignore[arg-type]
    for r in df.itertuples():
        if pd.notna(r.start_time):
            date = r.start_time.strftime("%Y-%m-%d %H:%M")
        else:
            date = f"[dim]{r.imported_at.strftime('%Y-%m-%d %H:%M')}*[/]"
            table.caption = "* no start time in the file: the import time (UTC)"
        # names and messages come from people and files: never read as rich markup
        status = (
            "[green]ok[/]" if r.status == "ok" else f"[red]error[/] {escape(stored_error(r.error or ''))}"
        )
        table.add_row(
            str(r.id),
            escape(r.runner),
            date,
            _hms(r.duration_s),
            _hms(r.running_time_s),
            _hms(walking[r.id]) if walking.get(r.id) else "-",
            "-" if pd.isna(r.steps) else str(int(r.steps)),
            "-" if pd.isna(r.cadence_spm) else f"{r.cadence_spm:.0f}",
            status,
        )
    console.print(table)
    return 0


def _cmd_reanalyze(args: argparse.Namespace) -> int:
    from hipsense import library
    from hipsense.report.wording import stored_error

    store = existing_store()
    if store is None:
        return 0
    with store, progress_bar("reanalysing", lambda name: f"reanalysing {name or ''}") as progress:
        report = library.reanalyze(store, all=args.all, progress=progress)
    for _, message in report.errors:
        console.print(f"[yellow]not analysable:[/] {escape(stored_error(message))}", highlight=False)
    console.print(
        f"{len(report.updated)} sessions reanalysed with algorithm version {library.current_algorithm_version()}, "
        f"{report.up_to_date} already up to date, {len(report.errors)} with errors",
        highlight=False,
    )
    return 0


def _cmd_trends(args: argparse.Namespace) -> int:
    from hipsense.trends.build import build_trends
    from hipsense.trends.terminal import print_trends

    if args.weeks < 1:
        raise HipsenseError(f"--weeks must be at least 1, not {args.weeks}")
    store = existing_store(say=not args.json)
    if store is None:
        return print_json([]) if args.json else 0
    with store:
        all_trends = [build_trends(store, name) for name in store.runners(args.runner)]
    if args.json:
        from hipsense.report.machine import trends_record

        return print_json([trends_record(t, args.weeks) for t in all_trends])
    for trends in all_trends:
        print_trends(trends, console=console, weeks=args.weeks)
    return 0


def _cmd_flags(args: argparse.Namespace) -> int:
    from hipsense.trends.build import build_trends
    from hipsense.trends.coverage import not_judged
    from hipsense.trends.flags import sides_unknown
    from hipsense.trends.sessions import walks
    from hipsense.trends.terminal import print_flags

    since = since_from(args)
    flags = []
    store = existing_store(say=not args.json)
    if store is None:
        return print_json([]) if args.json else 0
    undated = skipped = walked = 0
    notes: list[str] = []
    with store:
        runners = store.runners(args.runner)
        for name in runners:
            trends = build_trends(store, name)
            notes += [f"{name}: {n}" if len(runners) > 1 else n for n in not_judged(trends)]
            undated += trends.undated
            unknown = sides_unknown(trends.sessions)
            skipped += int(unknown.sum())
            walked += int((unknown & walks(trends.sessions)).sum())
            flags += [f for f in trends.flags if since is None or f.period_end >= since.date()]
    if args.json:
        from hipsense.report.machine import flags_records

        return print_json(flags_records(flags))
    print_flags(flags, console=console, skipped=skipped, walks=walked, not_judged=notes)
    if undated:
        console.print(f"[dim]{undated} session(s) without a start time were not judged (docs/store.md).[/]")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from hipsense.report.command import make_report, open_in_browser

    with progress_bar("report", lambda step: step or "done") as progress:
        out = make_report(
            args.session,
            weeks=args.weeks,
            runner=args.runner,
            out=args.out,
            csv_options=csv_options_from(args),
            analysis_options={"first_side": args.first_side, "mounting": args.mounting},
            progress=progress,
        )
    size = out.stat().st_size / 1e3
    console.print(f"wrote the report to [bold]{out}[/] ({size:.0f} kB)", highlight=False)
    if args.open and not open_in_browser(out):
        console.print(f"no browser could be started: open {out} yourself", highlight=False)
    return 0


def register(add: AddCommand) -> None:
    p = add(
        "import",
        _cmd_import,
        "store device files and CSVs in the local store and analyse them",
        "Copies each FILE (a device session file or a CSV) into the local store, named by the sha256 of "
        "its bytes and never changed again, and stores its analysis: steps and summary. A file whose "
        "bytes are stored already is a duplicate and is skipped. A file that cannot be read is reported "
        "and the rest go on; exit code 0 when nothing failed, 1 when some files failed, 2 when all did. "
        "The store lives in the user's data folder, or in $HIPSENSE_HOME when that is set.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="device session files (.hsn) or CSVs")
    add_owner_option(p)
    add_csv_options(p)
    add_start_time_option(p)
    p.add_argument(
        "--start-times",
        type=Path,
        metavar="FILE.csv",
        help="several CSVs with relative t_s: a file of 'file, ISO start time' lines; a file with a folder "
        "(a/run.csv) is a path from this file's folder or the current one (docs/csv-input.md)",
    )
    p.add_argument(
        "--start-time-pattern",
        metavar="PATTERN",
        help="several CSVs with relative t_s: their start time from the file name, e.g. %%Y%%m%%d_%%H%%M%%S (UTC)",
    )
    p = add(
        "sessions",
        _cmd_sessions,
        "list the sessions in the local store",
        "Lists every stored session as a table: its id, runner, date (start time from the clip, else the "
        "import time), duration, running and walking time, running steps, median cadence and whether the analysis succeeded "
        "(with its error when not). The store lives in the user's data folder or $HIPSENSE_HOME.",
    )
    p.add_argument("--runner", metavar="NAME", help="only this runner's sessions")
    add_json_option(p, "the sessions")
    p = add(
        "reanalyze",
        _cmd_reanalyze,
        "rebuild steps and summaries from the stored raw files after an algorithm update",
        "Runs the analysis again from the stored raw files for every session that an older (or newer) "
        "algorithm version analysed, and replaces its steps and summary; the raw files are only read. "
        "With --all, every session is reanalysed.",
    )
    p.add_argument("--all", action="store_true", help="reanalyse every session, not only the outdated ones")
    p = add(
        "trends",
        _cmd_trends,
        "weekly training load and gait trends against your own baseline",
        "Shows, per runner in the local store, the weekly training load (runs, running time, a rough "
        "distance, impact load, change against the week before and the four weeks before, acute:chronic "
        "ratio) and each gait metric against the runner's own baseline. docs/flags.md explains them.",
    )
    p.add_argument("--runner", metavar="NAME", help="only this runner (default: every runner)")
    p.add_argument("--weeks", type=int, default=8, metavar="N", help="weeks to show (default: %(default)s)")
    add_json_option(p, "each runner's weekly load, sessions and flags")
    p = add(
        "flags",
        _cmd_flags,
        "list the overuse flags raised on the stored sessions, newest first",
        "Lists every flag (load spike, sustained load climb, asymmetry drifting from baseline, pelvic "
        "drop rising, form degrading within runs) with its sentence, numbers, source and what runners "
        "commonly do about it. Flags inform; they are not a diagnosis.",
    )
    p.add_argument("--runner", metavar="NAME", help="only this runner (default: every runner)")
    p.add_argument("--since", metavar="DATE", help="only flags ending on or after this day (YYYY-MM-DD)")
    add_json_option(p, "the flags")
    p = add(
        "report",
        _cmd_report,
        "write an HTML report of a run or of the last weeks, with figures",
        "Writes one self-contained HTML file (figures and styles inside, nothing fetched) and can open it "
        "in the browser. Of a session: headline numbers, left versus right with confidence intervals, the "
        "metrics along the run, distributions per side and the session's flags. SESSION is a session id "
        "from `hipsense sessions` or a recording (.hsn or CSV) analysed on the spot; without it, the latest "
        "stored session. With --weeks N: the runner's last N weeks of load, asymmetry and pelvic drop "
        "against their own baseline, and the flags.",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument("session", nargs="?", metavar="SESSION", help="stored session id, or a .hsn/.csv file")
    what.add_argument("--latest", action="store_true", help="the latest stored session (the default)")
    what.add_argument("--weeks", type=int, metavar="N", help="a trend report of the last N weeks")
    p.add_argument("--runner", metavar="NAME", help="whose sessions (default: the only runner, for --weeks)")
    p.add_argument("--out", metavar="FILE", help="where to write the HTML (default: a name in this folder)")
    p.add_argument("--open", action="store_true", help="open the report in the web browser")
    add_csv_options(p)
    add_start_time_option(p)
    add_analysis_options(p)
