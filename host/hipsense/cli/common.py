"""What the commands share: the consoles, the progress bar, option helpers, the store."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from hipsense.errors import HipsenseError

# soft_wrap: messages carry file paths, which a hard wrap at the console width would break in two
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

#: Set by ``--quiet`` (cli/__init__.py): no progress bars or spinners, only results and errors.
QUIET = False

#: ``add(name, func, help, description)`` -> the command's parser (each module's ``register`` takes it).
AddCommand = Callable[[str, Callable[[argparse.Namespace], int], str, str], argparse.ArgumentParser]


@contextmanager
def progress_bar(start: str, label: Callable[[Any], str]) -> Iterator[Callable[[int, int, Any], None]]:
    """A transient progress bar; yields the ``progress(done, total, current)`` callback that the store,
    report, export and batch functions take, which shows ``label(current)`` (``start`` until the first call).

    Drawn on stderr, so stdout keeps only results (``--json`` stays parseable). Not shown with
    ``--quiet`` or when stderr is not a terminal (a pipe, a file, a CI log): there the bar would be only
    a stray blank line."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=QUIET or not err_console.is_interactive,
    ) as bar:
        task = bar.add_task(start, total=None)

        def progress(done: int, total: int, current: Any) -> None:
            bar.update(task, total=total, completed=done, description=label(current))

        yield progress


def status(message: str):
    """A transient spinner on stderr while one long step runs (nothing with ``--quiet`` or off a terminal)."""
    from contextlib import nullcontext

    if QUIET or not err_console.is_interactive:
        return nullcontext()
    return err_console.status(message)


def add_json_option(p: argparse.ArgumentParser, what: str) -> None:
    """--json: ``what`` as JSON on stdout (the export schema's field names), nothing else on stdout."""
    p.add_argument(
        "--json",
        action="store_true",
        help=f"print {what} as JSON on stdout instead of tables (field names as in docs/data-dictionary.md)",
    )


def print_json(obj: Any) -> int:
    """``obj`` as strict JSON on stdout (NaN and infinities as null); the exit code 0."""
    import sys

    from hipsense.report.machine import dumps

    sys.stdout.write(dumps(obj) + "\n")
    sys.stdout.flush()
    return 0


def print_failures(failed: Sequence[tuple[Any, str]], total: int) -> int:
    """Print each failed file's message; the exit code of a command over many files (import, batch):
    0 when none failed, 1 when some did, 2 when all did."""
    for _, message in failed:
        err_console.print(f"[bold red]failed:[/] {escape(message)}", highlight=False)
    if not failed:
        return 0
    return 2 if len(failed) == total else 1


def add_csv_options(p: argparse.ArgumentParser) -> None:
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
        help="map the CSV's column names to ours, e.g. acc_is=acc_v_g,acc_pa=acc_ap_g; or a logger's names: "
        "xsens (Xsens MT Manager: t_s=SampleTimeFine, acc_x=Acc_X, ...; add t_s=PacketCounter to count packets "
        'instead), metawear, phyphox, sensorlogger, actigraph (docs/csv-input.md, "Other loggers\' exports")',
    )
    p.add_argument(
        "--time-unit",
        # time_units.UNITS, written out: importing it here would import numpy for every command
        choices=["auto", "s", "ms", "us", "ns", "tick100us", "samples", "none"],
        default="auto",
        help="unit of the CSV's t_s, UNIX time or not; ns: phones' sensor clocks; tick100us: Xsens "
        "SampleTimeFine, samples: a sample counter such as PacketCounter; none: t_s is no clock (stamped in "
        "batches, or coarser than the samples), rows are consecutive samples at --sample-rate (default: "
        "%(default)s, from the column's name or its step)",
    )
    p.add_argument(
        "--skip-rows",
        type=_non_negative_int,
        metavar="N",
        help="lines above the CSV's header (default: found among the first 50 lines)",
    )


def add_analysis_options(p: argparse.ArgumentParser) -> None:
    """--first-side and --mounting, for the commands that analyse a recording's file now (analyze,
    report FILE); the store keeps no analysis options, so import and reanalyze take neither."""
    p.add_argument(
        "--first-side",
        choices=["L", "R"],
        help="a recording without a gyroscope: the foot of the first step (L or R), so the sides are "
        "known along the first bout",
    )
    p.add_argument(
        "--mounting",
        choices=["back", "side-left", "side-right", "back-upside-down"],
        help="how the clip was worn, instead of estimating it from the data (sensor-frame input only)",
    )


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{text} is not a number of lines (0-1000000)")
    return value


def add_owner_option(p: argparse.ArgumentParser) -> None:
    """--runner for the commands that put sessions into the store (import, sync)."""
    p.add_argument(
        "--runner", default="default", metavar="NAME", help="whose runs these are (default: %(default)s)"
    )


def add_output_folder_option(p: argparse.ArgumentParser) -> None:
    """--out for the commands that write a new folder of tables (export, batch; see export.new_folder)."""
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="new (or empty) folder to write")


def add_start_time_option(p: argparse.ArgumentParser) -> None:
    """--start-time, for the commands that take one recording at a time (or check that they do)."""
    p.add_argument(
        "--start-time",
        metavar="WHEN",
        help="a CSV whose t_s is not UNIX time: when it started, e.g. 2025-03-01T07:30+01:00 (no zone: "
        "UTC); dates the run for trends",
    )


def csv_options_from(args: argparse.Namespace) -> dict:
    """The CSV reading options given on the command line (defaults left out)."""
    from hipsense.formats.csv_input import csv_options, parse_column_map

    try:
        columns = parse_column_map(args.columns) if args.columns else None
    except ValueError as e:
        raise HipsenseError(f"--columns: {e}") from None
    text = getattr(args, "start_time", None)
    start = _iso_utc(text, "--start-time").timestamp() if text else None
    return csv_options(
        args.sample_rate,
        args.acc_unit,
        args.gyr_unit,
        columns,
        start,
        time_unit=getattr(args, "time_unit", "auto"),
        skip_rows=getattr(args, "skip_rows", None),
    )


def open_store(*, create: bool = True):
    from hipsense.store import Store

    return Store(create=create)


def existing_store(*, say: bool = True):
    """The local store, or None (after saying so, unless ``say`` is false) when nothing has been
    imported yet."""
    from hipsense.store import DB_NAME, default_root

    if not (default_root() / DB_NAME).exists():
        if not say:
            return None
        console.print(
            f"No sessions stored yet in {default_root()}; add some with `hipsense import FILE...`.",
            highlight=False,
        )
        return None
    return open_store(create=False)


def since_from(args: argparse.Namespace):
    """``--since`` as a UTC pandas Timestamp (None when not given); a date without a zone is UTC.

    Strict ISO 8601 (2025-03-01, 2025-03-01T06:30+01:00): a lenient parser reads "March" as a date."""
    return _iso_utc(args.since, "--since") if args.since else None


def _iso_utc(text: str, option: str):
    """An ISO 8601 date or time as a UTC pandas Timestamp; without a zone it is UTC (the rules of
    every ISO 8601 reader: :mod:`hipsense.iso_time`)."""
    from hipsense.iso_time import iso_timestamp

    try:
        return iso_timestamp(text)
    except ValueError:
        raise HipsenseError(
            f"{option}: {text!r} is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        ) from None


def warn_future(store: Any, ids: list[int]) -> None:
    """One warning line per session just stored (imported or synced) whose start is more than a day
    after this computer's clock."""
    import time

    import pandas as pd

    from hipsense.report.wording import FUTURE_SLACK_S, future_sentence

    if not ids:
        return
    df = store.sessions()
    now = pd.Timestamp(time.time() + FUTURE_SLACK_S, unit="s", tz="UTC")
    for r in df[df["id"].isin(ids) & (df["start_time"] > now)].itertuples():
        line = future_sentence(int(r.id), str(r.original_name), r.start_time)
        err_console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False)
