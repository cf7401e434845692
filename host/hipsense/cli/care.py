"""Commands that look after the local store: forget (remove a session) and doctor (check and repair)."""

from __future__ import annotations

import argparse

from rich.markup import escape

from hipsense.cli.common import AddCommand, console, existing_store
from hipsense.errors import HipsenseError


def _session_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a session id (`hipsense sessions` lists them)"
        ) from None
    if not 1 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"{text} is not a session id (`hipsense sessions` lists them)")
    return value


def _cmd_forget(args: argparse.Namespace) -> int:
    from hipsense import library

    store = existing_store()
    if store is None:
        raise HipsenseError("there is no session to forget")
    with store:
        for sid in dict.fromkeys(args.sessions):  # each once, in the order given
            gone = library.forget(store, sid, purge=args.purge)
            where = (
                "its raw file was deleted"
                if gone.purged
                else f"its raw file is in {gone.quarantined}"
                if gone.quarantined
                else "it had no raw file"
            )
            if gone.watch_purged:
                where += "; its watch file was deleted"
            elif gone.watch_quarantined:
                where += f"; its watch file is in {gone.watch_quarantined}"
            console.print(
                f"forgot session {sid} ({escape(str(gone.original_name))}, runner "
                f"{escape(str(gone.runner))}): {escape(where)}",
                highlight=False,
            )
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from rich import box
    from rich.table import Table

    from hipsense.doctor import doctor

    store = existing_store()
    if store is None:
        return 0
    with store:
        report = doctor(store, dry_run=args.dry_run)
    if report.findings:
        table = Table(
            title=f"Store {store.root}" + (" (dry run: nothing changed)" if args.dry_run else ""),
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
        )
        for col in ("check", "what", "problem", "done" if not args.dry_run else "to do"):
            table.add_column(col)
        for f in report.findings:
            action = escape(f.action) if f.fixed or args.dry_run else f"[yellow]{escape(f.action)}[/]"
            table.add_row(f.check, escape(f.what), escape(f.problem), action)
        console.print(table)
    fixed = sum(f.fixed for f in report.findings)
    left = len(report.unfixed)
    console.print(
        f"checked {report.sessions} sessions and {report.raw_files} raw files, database {report.integrity}: "
        + (
            "nothing to repair"
            if not report.findings
            else f"{len(report.findings)} found, {fixed} repaired, {left} left"
        ),
        highlight=False,
    )
    return 1 if left else 0


def register(add: AddCommand) -> None:
    p = add(
        "forget",
        _cmd_forget,
        "remove sessions from the local store",
        "Removes each SESSION (an id from `hipsense sessions`): its steps, summary and row. Its raw file "
        "is moved to the quarantine folder of the data folder (from where `hipsense import` can take it "
        "back), or deleted with --purge. The runner's flags are judged again without it.",
    )
    p.add_argument("sessions", nargs="+", type=_session_id, metavar="SESSION", help="session id")
    p.add_argument("--purge", action="store_true", help="delete the raw file instead of keeping it aside")
    p = add(
        "doctor",
        _cmd_doctor,
        "check the local store and repair what can be repaired",
        "Checks the database (SQLite integrity, foreign keys), deletes temporaries of imports that were "
        "killed, moves raw files no session holds to the quarantine folder, puts back or reports missing "
        "and damaged raw files, and reanalyses sessions whose row cannot be read or lacks its derived "
        "data. Prints what it found and what it did; exit code 1 when something is left to repair.",
    )
    p.add_argument("--dry-run", action="store_true", help="only report; change nothing")
