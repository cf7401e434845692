"""The ``hipsense`` command line."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from hipsense import __version__
from hipsense.errors import HipsenseError

# soft_wrap: messages carry file paths, which a hard wrap at the console width would break in two
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def _cmd_demo(args: argparse.Namespace) -> int:
    from hipsense.demo import run_demo

    run_demo(Path(args.out), console=console)
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    import json

    from hipsense.analysis import analyze_file
    from hipsense.report.terminal import print_summary

    with console.status(f"Analysing {args.input}..."):
        recording, analysis, summary = analyze_file(args.input, args.mounting, **_csv_options(args))
    for note in recording.notes:
        console.print(f"[dim]note: {note}[/]")
    print_summary(summary, console=console)
    summary.flags = [f.to_dict() for f in _within_run_flags(summary)]
    if args.steps_out:
        analysis.steps.to_csv(args.steps_out, index=False)
        console.print(f"wrote {len(analysis.steps)} steps to [bold]{args.steps_out}[/]")
    if args.summary_out:
        Path(args.summary_out).write_text(json.dumps(summary.to_dict(), indent=2))
        console.print(f"wrote the summary to [bold]{args.summary_out}[/]")
    return 0


def _within_run_flags(summary) -> list:
    """What one run can show on its own (its form degrading within the run), printed when there is any."""
    from hipsense.trends.flags import within_run_flags
    from hipsense.trends.terminal import print_flags

    flags = within_run_flags(summary.to_dict())
    if flags:
        print_flags(flags, console=console)
    return flags


def _cmd_device_deploy(args: argparse.Namespace) -> int:
    from hipsense.device.deploy import deploy

    files = deploy(args.port)
    console.print(f"copied {len(files)} firmware files to the board")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from hipsense.formats.device_file import read_device_file
    from hipsense.report.terminal import print_session_info

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # print_session_info lists every warning of the file
        session = read_device_file(args.file)
    print_session_info(session, console=console)
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from hipsense.sim import demo_config, simulate_run

    overrides = {"duration_s": args.duration, "speed_mps": args.speed, "seed": args.seed}
    cfg = demo_config()
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    run = simulate_run(cfg)
    out = Path(args.out)
    if out.suffix.lower() == ".csv":
        run.write_csv(out)
    else:
        run.write_device_file(out)
    console.print(f"wrote {len(run.truth)} simulated steps ({len(run.data)} samples) to [bold]{out}[/]")
    if args.truth_out:
        run.truth.to_csv(args.truth_out, index=False)
        console.print(f"wrote the ground truth per step to [bold]{args.truth_out}[/]")
    return 0


def _open_store(*, create: bool = True):
    from hipsense.store import Store

    return Store(create=create)


def _existing_store():
    """The local store, or None (after saying so) when nothing has been imported yet."""
    from hipsense.store import DB_NAME, default_root

    if not (default_root() / DB_NAME).exists():
        console.print(
            f"No sessions stored yet in {default_root()}; add some with `hipsense import FILE...`.",
            highlight=False,
        )
        return None
    return _open_store(create=False)


@contextmanager
def _progress(start: str, label: Callable[[Any], str]) -> Iterator[Callable[[int, int, Any], None]]:
    """A transient progress bar; yields the ``progress(done, total, current)`` callback that the store,
    report, export and batch functions take, which shows ``label(current)`` (``start`` until the first call).

    Not shown when the output is not a terminal (a pipe, a file, a CI log): there the bar would be only
    a stray blank line."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_interactive,
    ) as bar:
        task = bar.add_task(start, total=None)

        def progress(done: int, total: int, current: Any) -> None:
            bar.update(task, total=total, completed=done, description=label(current))

        yield progress


def _cmd_import(args: argparse.Namespace) -> int:
    options = _csv_options(args)
    store = _open_store()
    with store, _progress("importing", lambda path: f"importing {path.name}" if path else "done") as progress:
        report = store.import_files(args.files, runner=args.runner, csv_options=options, progress=progress)
    for f in report.analysis_errors:
        console.print(f"[yellow]stored, but not analysable:[/] {escape(str(f.error))}", highlight=False)
    code = _print_failures(report.failed, report.total)
    line = f"{len(report.added)} added, {len(report.duplicates)} duplicates, {len(report.failed)} failed"
    if report.analysis_errors:
        line += f" ({len(report.analysis_errors)} of the added could not be analysed)"
    console.print(f"{line}; data folder [bold]{store.root}[/]", highlight=False)
    return code


def _print_failures(failed: Sequence[tuple[Any, str]], total: int) -> int:
    """Print each failed file's message; the exit code of a command over many files (import, batch):
    0 when none failed, 1 when some did, 2 when all did."""
    for _, message in failed:
        err_console.print(f"[bold red]failed:[/] {escape(message)}", highlight=False)
    if not failed:
        return 0
    return 2 if len(failed) == total else 1


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

    store = _existing_store()
    if store is None:
        return 0
    with store:
        df = store.sessions(runner=args.runner)
    if df.empty:
        who = f" for runner {args.runner!r}" if args.runner else ""
        console.print(f"No sessions stored{who} in {store.root}; add some with `hipsense import FILE...`.")
        return 0
    table = Table(title=f"Sessions in {store.root}", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col, justify in (
        ("id", "right"),
        ("runner", "left"),
        ("date", "left"),
        ("duration", "right"),
        ("running", "right"),
        ("steps", "right"),
        ("cadence", "right"),
        ("status", "left"),
    ):
        table.add_column(col, justify=justify, no_wrap=col == "date")  # type: ignore[arg-type]
    for r in df.itertuples():
        if pd.notna(r.start_time):
            date = r.start_time.strftime("%Y-%m-%d %H:%M")
        else:
            date = f"[dim]{r.imported_at.strftime('%Y-%m-%d %H:%M')}*[/]"
            table.caption = "* no start time in the file: the import time"
        status = "[green]ok[/]" if r.status == "ok" else f"[red]error[/] {r.error or ''}"
        table.add_row(
            str(r.id),
            r.runner,
            date,
            _hms(r.duration_s),
            _hms(r.running_time_s),
            "-" if pd.isna(r.steps) else str(int(r.steps)),
            "-" if pd.isna(r.cadence_spm) else f"{r.cadence_spm:.0f}",
            status,
        )
    console.print(table)
    return 0


def _cmd_reanalyze(args: argparse.Namespace) -> int:
    from hipsense.store import current_algorithm_version

    store = _existing_store()
    if store is None:
        return 0
    with store, _progress("reanalysing", lambda name: f"reanalysing {name or ''}") as progress:
        report = store.reanalyze(all=args.all, progress=progress)
    for _, message in report.errors:
        console.print(f"[yellow]not analysable:[/] {escape(message)}", highlight=False)
    console.print(
        f"{len(report.updated)} sessions reanalysed with algorithm version {current_algorithm_version()}, "
        f"{report.up_to_date} already up to date, {len(report.errors)} with errors",
        highlight=False,
    )
    return 0


def _cmd_trends(args: argparse.Namespace) -> int:
    from hipsense.trends.build import build_trends
    from hipsense.trends.terminal import print_trends

    if args.weeks < 1:
        raise HipsenseError(f"--weeks must be at least 1, not {args.weeks}")
    store = _existing_store()
    if store is None:
        return 0
    with store:
        for name in store.runners(args.runner):
            print_trends(build_trends(store, name), console=console, weeks=args.weeks)
    return 0


def _since(args: argparse.Namespace):
    """``--since`` as a UTC pandas Timestamp (None when not given); a date without a zone is UTC.

    Strict ISO 8601 (2025-03-01, 2025-03-01T06:30+01:00): a lenient parser reads "March" as a date."""
    import datetime as dt

    import pandas as pd

    if not args.since:
        return None
    try:
        ts = pd.Timestamp(dt.datetime.fromisoformat(args.since))
    except ValueError:
        raise HipsenseError(f"--since: {args.since!r} is not a date (use YYYY-MM-DD)") from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _cmd_flags(args: argparse.Namespace) -> int:
    from hipsense.trends.build import build_trends
    from hipsense.trends.terminal import print_flags

    since = _since(args)
    flags = []
    store = _existing_store()
    if store is None:
        return 0
    undated = 0
    with store:
        for name in store.runners(args.runner):
            trends = build_trends(store, name)
            undated += trends.undated
            flags += [f for f in trends.flags if since is None or f.period_end >= since.date()]
    print_flags(flags, console=console)
    if undated:
        console.print(f"[dim]{undated} session(s) without a start time were not judged (docs/store.md).[/]")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from hipsense.report.command import make_report, open_in_browser

    with _progress("report", lambda step: step or "done") as progress:
        out = make_report(
            args.session,
            weeks=args.weeks,
            runner=args.runner,
            out=args.out,
            csv_options=_csv_options(args),
            progress=progress,
        )
    size = out.stat().st_size / 1e3
    console.print(f"wrote the report to [bold]{out}[/] ({size:.0f} kB)", highlight=False)
    if args.open and not open_in_browser(out):
        console.print(f"no browser could be started: open {out} yourself", highlight=False)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from hipsense.export.export import WHAT, export_store, parse_what

    what = parse_what(args.what) if args.what else WHAT
    since = _since(args)
    store = _open_store(create=False)
    with store, _progress("exporting", lambda current: f"exporting {current or ''}") as progress:
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
    rows = ", ".join(f"{name} {n} rows" for name, n in result.rows.items())
    note = " (pseudonymised)" if result.pseudonymized else ""
    console.print(
        f"exported {result.sessions} session{'s' if result.sessions != 1 else ''}{note} to [bold]{result.out}[/]: {rows}",
        highlight=False,
    )
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from hipsense.batch.run import run_batch

    try:
        with _progress(
            "analysing", lambda job: f"analysing {job.path.name}" if job else "starting workers"
        ) as progress:
            report = run_batch(
                args.dirs,
                args.out,
                workers=args.workers,
                dask_address=args.dask,
                csv_options=_csv_options(args),
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
    code = _print_failures(report.failed, report.total)
    kept = f"{len(report.kept)} kept from before, " if args.resume else ""
    console.print(
        f"{kept}{len(report.analysed)} analysed ({report.steps} steps), {len(report.failed)} failed, on "
        f"{report.where} in {report.seconds:.1f} s ({report.total / report.seconds:.2f} files/s); "
        f"tables in [bold]{report.out}[/]",
        highlight=False,
    )
    return code


def _add_csv_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sample-rate", type=float, metavar="HZ", help="CSV without t_s: its sampling rate")
    p.add_argument(
        "--acc-unit",
        choices=["m/s^2", "g"],
        default="m/s^2",
        help="CSV acceleration unit (default: %(default)s)",
    )
    p.add_argument(
        "--gyr-unit",
        choices=["deg/s", "rad/s"],
        default="deg/s",
        help="CSV angular rate unit (default: %(default)s)",
    )
    p.add_argument(
        "--columns",
        metavar="MAP",
        help="map the CSV's column names to ours, e.g. acc_is=acc_v_g,acc_pa=acc_ap_g",
    )


def _add_owner_option(p: argparse.ArgumentParser) -> None:
    """--runner for the commands that put sessions into the store (import, sync)."""
    p.add_argument(
        "--runner", default="default", metavar="NAME", help="whose runs these are (default: %(default)s)"
    )


def _add_output_folder_option(p: argparse.ArgumentParser) -> None:
    """--out for the commands that write a new folder of tables (export, batch; see export.new_folder)."""
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="new (or empty) folder to write")


def _csv_options(args: argparse.Namespace) -> dict:
    """The CSV reading options given on the command line (defaults left out)."""
    from hipsense.formats.csv_input import csv_options, parse_column_map

    try:
        columns = parse_column_map(args.columns) if args.columns else None
    except ValueError as e:
        raise HipsenseError(f"--columns: {e}") from None
    return csv_options(args.sample_rate, args.acc_unit, args.gyr_unit, columns)


def _cmd_sync(args: argparse.Namespace) -> int:
    from hipsense.sync.command import print_report, run_sync
    from hipsense.sync.engine import SyncOptions

    options = SyncOptions(keep_on_device=args.keep_on_device, set_clock=not args.no_clock, runner=args.runner)
    connect = _connect(args)
    store = _open_store()
    with store:
        report = run_sync(connect, store, options, console)
    return print_report(report, console, err_console)


def _add_link_options(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--port",
        metavar="PORT",
        help="serial port, e.g. /dev/ttyACM0 or COM3 (default: the clip found on USB)",
    )
    where.add_argument(
        "--device", metavar="ADDRESS", help="use Bluetooth with this clip (see hipsense devices)"
    )


def _connect(args: argparse.Namespace):
    from hipsense.sync.command import connect_ble, connect_serial

    return connect_ble(args.device) if args.device else connect_serial(args.port)


def _cmd_live(args: argparse.Namespace) -> int:
    import time

    from hipsense.sync.command import run_live

    out = Path(args.out or time.strftime("live-%Y%m%d-%H%M%S.hsn"))
    return run_live(_connect(args), args.seconds, out, console)


def _cmd_devices(args: argparse.Namespace) -> int:
    import asyncio

    from hipsense.sync.ble_transport import scan
    from hipsense.sync.command import print_devices

    with console.status(f"scanning for clips ({args.timeout:g} s)..."):
        clips = asyncio.run(scan(args.timeout))
    return print_devices(clips, console)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hipsense",
        description=(
            "Open pelvis-IMU running analysis: sync the clip's runs and turn them into stride asymmetry, "
            "impact loading and hip-drop trends. Not a medical device: flags inform, they never diagnose."
        ),
        epilog="Start with `hipsense demo`. `hipsense COMMAND --help` explains each command.",
    )
    parser.add_argument("--version", action="version", version=f"hipsense {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str, description: str):
        p = sub.add_parser(name, help=help_, description=description)
        p.set_defaults(func=func)
        return p

    p = add(
        "demo",
        _cmd_demo,
        "simulate a 10-minute run, record it as the clip would and analyse it",
        "Simulates a 10-minute run with a known left/right asymmetry, writes it as a device session file "
        "(the clip's own format), decodes it again and prints what hipsense can say about it. Everything "
        "it makes goes into the output folder.",
    )
    p.add_argument(
        "--out", default="hipsense-demo", metavar="DIR", help="output folder (default: %(default)s)"
    )

    p = add(
        "analyze",
        _cmd_analyze,
        "analyse a recording: steps, sides, contact times, impacts, pelvic drop, asymmetry",
        "Analyses a device session file or a CSV and prints the run's summary: left versus right with "
        "confidence intervals, drift within the run and data quality. A CSV has a header row, t_s in "
        "seconds (or give --sample-rate) and sensor-frame acc_x,acc_y,acc_z[,gyr_x,gyr_y,gyr_z] or "
        "body-frame acc_is[,acc_ml,acc_pa,gyr_is,gyr_ml,gyr_pa] columns.",
    )
    p.add_argument("input", type=Path, metavar="INPUT", help="device session file (.hsn) or CSV")
    p.add_argument("--steps-out", metavar="CSV", help="write the per-step table here")
    p.add_argument("--summary-out", metavar="JSON", help="write the session summary here")
    _add_csv_options(p)
    p.add_argument(
        "--mounting",
        choices=["back", "side-left", "side-right", "back-upside-down"],
        help="how the clip was worn, instead of estimating it from the data (sensor-frame input only)",
    )

    p = add(
        "device",
        lambda _args: (device_parser.print_help(), 0)[1],
        "work with the clip over USB",
        "Commands that talk to the clip over its USB serial port.",
    )
    device_parser = p
    device_sub = p.add_subparsers(dest="device_command", metavar="DEVICE_COMMAND")
    deploy_parser = device_sub.add_parser(
        "deploy",
        help="copy the firmware to the board (needs mpremote)",
        description="Copies every firmware/*.py to the board's root with mpremote (pip install "
        "'hipsense[device]'), then resets the board. MicroPython itself is flashed once with esptool; "
        "see hardware/README.md.",
    )
    deploy_parser.add_argument(
        "--port",
        metavar="PORT",
        help="serial port, e.g. /dev/ttyACM0 or COM3 (default: the first board found)",
    )
    deploy_parser.set_defaults(func=_cmd_device_deploy)

    p = add(
        "info",
        _cmd_info,
        "show what a device session file holds",
        "Decodes a device session file and prints its header, its length and every gap, FIFO overflow, "
        "corrupt block or torn tail found in it.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="device session file (.hsn)")

    p = add(
        "simulate",
        _cmd_simulate,
        "write a simulated run as a device file or CSV, with its ground truth",
        "Simulates a run with the demo's settings (a known asymmetry and pelvic drop) and writes it as a "
        "device session file, or as CSV when OUT ends in .csv (sensor frame, m/s^2 and deg/s).",
    )
    p.add_argument("out", metavar="OUT", help="output file: .hsn for a device file, .csv for CSV")
    p.add_argument("--duration", type=float, metavar="S", help="duration in seconds (default: 600)")
    p.add_argument("--speed", type=float, metavar="M_PER_S", help="running speed in m/s (default: 3.3)")
    p.add_argument("--seed", type=int, help="random seed (default: fixed, so runs repeat)")
    p.add_argument("--truth-out", metavar="CSV", help="also write the per-step ground truth here")
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
    _add_owner_option(p)
    _add_csv_options(p)

    p = add(
        "sessions",
        _cmd_sessions,
        "list the sessions in the local store",
        "Lists every stored session as a table: its id, runner, date (start time from the clip, else the "
        "import time), duration, running time, steps, median cadence and whether the analysis succeeded "
        "(with its error when not). The store lives in the user's data folder or $HIPSENSE_HOME.",
    )
    p.add_argument("--runner", metavar="NAME", help="only this runner's sessions")

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
    _add_csv_options(p)

    p = add(
        "export",
        _cmd_export,
        "export the store's data for research as CSV or Parquet, with a data dictionary",
        "Writes the stored sessions into a new folder as tables: raw samples in SI units in the sensor "
        "and the body frame (one file per session), the step table, the session summaries (flattened) "
        "and the flags, plus schema.json (every column's dtype, unit and meaning; docs/data-dictionary.md) "
        "and a README saying what was selected and, with --pseudonymize, what was removed.",
    )
    p.add_argument(
        "--format", choices=["csv", "parquet"], default="parquet", help="file format (default: %(default)s)"
    )
    _add_output_folder_option(p)
    p.add_argument("--runner", metavar="NAME", help="only this runner's sessions (default: all)")
    p.add_argument("--since", metavar="DATE", help="only sessions from this date on (YYYY-MM-DD, UTC)")
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
    _add_output_folder_option(p)
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
    _add_csv_options(p)

    p = add(
        "sync",
        _cmd_sync,
        "copy new sessions from the clip, verified, into the local store",
        "Downloads every finished session from the clip (USB cable, or Bluetooth with --device), verifies it (CRC of every chunk and of "
        "the whole file), stores it in the local store and only then deletes it on the clip. An "
        "interrupted sync resumes where it stopped. Also sets the clip's clock. Exit code 0 when every "
        "session arrived, 1 when some are incomplete (they stay on the clip). See docs/sync-protocol.md.",
    )
    _add_link_options(p)
    p.add_argument("--keep-on-device", action="store_true", help="do not delete synced sessions on the clip")
    p.add_argument("--no-clock", action="store_true", help="do not set the clip's clock")
    _add_owner_option(p)

    p = add(
        "live",
        _cmd_live,
        "stream the clip's IMU live (treadmill, lab) while it keeps recording",
        "Streams the samples of the session the clip is recording (starting a recording if none runs) "
        "and shows cadence, contact time and left/right balance every few seconds. Missing packets are "
        "gaps, never filled in. At the end (--seconds, or Ctrl-C) the stream is saved as a session file "
        "that hipsense analyze and import read like any other; the clip's own recording is unaffected.",
    )
    _add_link_options(p)
    p.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds (default: at Ctrl-C)")
    p.add_argument("--out", metavar="FILE", help="session file to save (default: live-DATE-TIME.hsn)")

    p = add(
        "devices",
        _cmd_devices,
        "list the clips nearby (Bluetooth scan)",
        "Scans for clips advertising the hipsense sync service and prints their names, addresses and "
        "signal strength, strongest first. Sync one with hipsense sync --device ADDRESS.",
    )
    p.add_argument(
        "--timeout", type=float, default=5.0, metavar="S", help="scan time in seconds (default: 5)"
    )
    return parser


@contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """hipsense's own warnings (a torn tail, a corrupt block) as one ``warning: ...`` line on stderr,
    like its errors, instead of Python's two lines with a source location; others as Python shows them."""
    show = warnings.showwarning

    def one_line(message, category, filename, lineno, file=None, line=None):
        if category.__module__.startswith("hipsense."):
            err_console.print(f"[yellow]warning:[/] {escape(str(message))}", highlight=False)
        else:
            show(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.showwarning = one_line
        yield


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        with _warnings_as_lines():
            return args.func(args)
    except HipsenseError as e:
        err_console.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False)
        return 2
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
