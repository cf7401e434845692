"""The runner's watch: ``hipsense link SESSION WATCH.fit`` and ``hipsense import FILE --fit WATCH.fit``
(docs/watch.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from hipsense.cli.common import AddCommand, add_json_option, console, open_store, print_json, status
from hipsense.errors import HipsenseError


def _print_link(result, name: str) -> None:
    from rich import box
    from rich.table import Table

    a = result.alignment
    others = [n for n in result.notes if n != a.note]
    if not a.linked:  # the watch does not follow this run at any offset to be trusted
        console.print(
            f"[yellow]kept {escape(name)} for session {result.session_id}, but linked no values:[/] "
            f"{escape(a.note.removeprefix('no values linked: '))}",
            highlight=False,
        )
    else:
        how = (
            f"{a.method} matched, confidence {a.confidence:.2f}"
            if a.method != "clock"
            else f"clocks only: {a.note or 'the match was not clear enough'} (confidence {a.confidence:.2f})"
        )
        console.print(
            f"linked [bold]{escape(name)}[/] to session {result.session_id}: watch clock {a.offset_s:+.2f} s "
            f"({escape(how)}); {result.linked_steps} of {result.steps} steps have speed, grade or heart rate",
            highlight=False,
        )
    for note in others:
        console.print(f"  [dim]note: {escape(note)}[/]", highlight=False)
    if not a.linked:
        return
    if len(result.bouts):
        table = Table(box=box.SIMPLE, show_edge=False)
        for c in ("bout", "steps", "with watch", "pace /km", "grade %", "heart rate"):
            table.add_column(c, justify="right")
        for r in result.bouts.itertuples():
            pace = r.pace_s_per_km
            table.add_row(
                str(r.bout),
                str(r.steps),
                str(r.linked_steps),
                "—" if pace != pace else f"{int(pace // 60)}:{int(round(pace % 60)):02d}",
                "—" if r.grade_pct != r.grade_pct else f"{r.grade_pct:+.1f}",
                "—" if r.heart_rate_bpm != r.heart_rate_bpm else f"{r.heart_rate_bpm:.0f}",
            )
        console.print(table)


def _cmd_link(args: argparse.Namespace) -> int:
    from hipsense.link import link_session

    if args.fit is not None and not args.fit.is_file():
        raise HipsenseError(f"{args.fit}: no such file")
    store = open_store(create=False)
    with store, status("linking the watch"):
        result = link_session(store, args.session, args.fit)
    if args.json:
        return print_json(result.to_dict())
    _print_link(result, args.fit.name if args.fit else "the kept watch file")
    return 0 if result.alignment.linked else 1


def _cmd_flat(args: argparse.Namespace) -> int:
    from rich import box
    from rich.table import Table

    from hipsense.cli.common import existing_store
    from hipsense.gait.verdict import MIN_VERDICT_STEPS
    from hipsense.link import flat_sessions

    store = existing_store(say=not args.json)
    if store is None:
        return print_json([]) if args.json else 0
    with store:
        if args.runner:
            store.runners(args.runner)  # one line naming the runners there are
        df = flat_sessions(store, args.runner)
    if args.json:
        return print_json(
            [
                {**r, "start": None if r["start"] != r["start"] else r["start"].isoformat()}
                for r in df.to_dict("records")
            ]
        )
    if not len(df):
        console.print(
            "No session is linked to a watch yet: `hipsense link SESSION WATCH.fit`.", highlight=False
        )
        return 0
    table = Table(
        box=box.SIMPLE,
        padding=(0, 1),
        pad_edge=False,
        title="Running on the flat (grade within +-2 %), per linked session",
        caption="CT: contact time (ms) per foot; asymmetry 100 x (L - R) / mean, shown from "
        f"{MIN_VERDICT_STEPS} flat steps a foot",
    )
    for c in ("id", "date", "runner", "steps", "pace/km", "spm", "CT L", "CT R", "asym. %"):
        table.add_column(c, justify="left" if c in ("date", "runner") else "right", no_wrap=c == "date")

    def num(x: float, fmt: str) -> str:
        return "—" if x is None or x != x else fmt.format(x)

    for r in df.itertuples():
        pace = 1000.0 / r.speed_mps if r.speed_mps == r.speed_mps and r.speed_mps > 0.5 else float("nan")
        table.add_row(
            str(r.session_id),
            "—" if r.start != r.start or r.start is None else f"{r.start:%Y-%m-%d}",
            escape(str(r.runner)),
            str(r.steps),
            "—" if pace != pace else f"{int(pace // 60)}:{int(round(pace % 60)):02d}",
            num(r.cadence_spm, "{:.0f}"),
            num(r.contact_time_s_L * 1000.0, "{:.0f}"),
            num(r.contact_time_s_R * 1000.0, "{:.0f}"),
            num(r.contact_time_ai, "{:+.1f}"),
        )
    console.print(table)
    return 0


def _with_fit(import_cmd):
    """``import``'s command, then the watch linked to the one session it stored (``--fit``)."""

    def run(args: argparse.Namespace) -> int:
        fit = getattr(args, "fit", None)
        if fit is None:
            return import_cmd(args)
        if len(args.files) != 1:
            raise HipsenseError("--fit links one watch activity to one recording: give exactly one FILE")
        if not fit.is_file():
            raise HipsenseError(f"--fit {fit}: no such file")
        from hipsense.formats.fit_watch import load_fit

        loaded = load_fit(fit)  # a bad watch file fails before the import does any work
        code = import_cmd(args)
        from hipsense.link import link_session
        from hipsense.store import sha256_file

        store = open_store(create=False)
        with store:
            sid = store.session_of(sha256_file(args.files[0])) if args.files[0].is_file() else None
            if sid is None:
                raise HipsenseError(f"{args.files[0]}: not stored, so the watch was not linked")
            result = link_session(store, sid, fit, loaded=loaded)
        _print_link(result, fit.name)
        return code or (0 if result.alignment.linked else 1)

    return run


def register(add: AddCommand) -> None:
    p = add(
        "link",
        _cmd_link,
        "link the runner's watch (a FIT activity) to a stored session: pace, grade and heart rate per step",
        "Reads the watch's FIT activity, aligns it to SESSION by the clocks and then by matching its "
        "cadence (or speed) to the session's steps within 10 min, and stores speed, grade (from distance "
        "and altitude) and heart rate for every step; the FIT file is kept in the store. Without WATCH.fit "
        "the kept file is linked again (after `hipsense reanalyze`). docs/watch.md.",
    )
    p.add_argument("session", type=int, metavar="SESSION", help="session id (see `hipsense sessions`)")
    p.add_argument("fit", type=Path, nargs="?", metavar="WATCH.fit", help="the watch's FIT activity file")
    add_json_option(p, "the alignment and per-bout summary")
    p = add(
        "flat",
        _cmd_flat,
        "running form on the flat in each watch-linked session: like with like across routes",
        "For every session linked to the runner's watch, the steps on the flat (grade within +-2 %): their "
        "pace, cadence, contact time per foot and its asymmetry, so runs on hilly and flat routes compare "
        "like with like (docs/watch.md).",
    )
    p.add_argument("--runner", metavar="NAME", help="only this runner's sessions (default: all)")
    add_json_option(p, "one record per linked session")


def extend_import(sub: argparse._SubParsersAction) -> None:
    """Give ``hipsense import`` its ``--fit WATCH.fit`` (the import command stays in cli/history.py)."""
    p = sub.choices.get("import")
    if p is None:
        return
    p.add_argument(
        "--fit",
        type=Path,
        metavar="WATCH.fit",
        help="the watch's FIT activity of this run: linked after the import (like `hipsense link`)",
    )
    p.set_defaults(func=_with_fit(p.get_default("func")))


__all__ = ["extend_import", "register"]
