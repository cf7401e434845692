"""``hipsense report``: pick what to report on (a stored session, a file, the latest run, the last weeks),
render it and write one HTML file."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Any

from hipsense.conventions import file_name_part
from hipsense.errors import HipsenseError, InputFileError
from hipsense.outputs import check_output_file
from hipsense.report import sources
from hipsense.report.html import render_session, write_report
from hipsense.report.page import Progress
from hipsense.report.trends_page import render_trends


def _shifted(progress: Progress | None, k: int) -> Progress | None:
    """A progress callback whose steps come after ``k`` steps already done."""
    if progress is None:
        return None
    return lambda done, total, current: progress(done + k, total + k, current)


def _open_store():
    from hipsense.store import Store

    return Store(create=False)


def _pick_runner(store, runner: str | None) -> str:
    runners = store.runners(runner)
    if len(runners) == 1:
        return runners[0]
    if not runners:
        raise HipsenseError(f"no sessions in the store {store.root}; add some with `hipsense import`")
    raise HipsenseError(f"the store holds several runners ({', '.join(runners)}): choose one with --runner")


def trends_report(weeks: int, runner: str | None, out: Path | None, progress: Progress | None) -> Path:
    from hipsense.trends.build import build_trends

    with _open_store() as store:
        who = _pick_runner(store, runner)
        if progress:
            progress(0, 1, f"building {who}'s trends")
        trends = build_trends(store, who)
    html = render_trends(trends, weeks, progress=_shifted(progress, 1))
    return write_report(html, out or Path(f"hipsense-trends-{file_name_part(who, 'runner')}-{weeks}w.html"))


def session_report(
    target: str | None,
    runner: str | None,
    out: Path | None,
    csv_options: dict[str, Any],
    progress: Progress | None,
    analysis_options: dict[str, Any] | None = None,
) -> Path:
    """Report on ``target``: a recording's path, a stored session's id, or (None) the latest session.

    ``analysis_options`` (``first_side``, ``mounting``) apply to a recording's path only: a stored
    session is reported as its stored analysis made it."""
    given = {k: v for k, v in (analysis_options or {}).items() if v is not None}
    path = Path(target) if target is not None else None
    if path is not None and path.exists():
        if progress:
            progress(0, 1, f"analysing {path.name}")
        session = sources.from_file(path, **given, **csv_options)
        default = Path(f"{file_name_part(path.stem, 'recording')}-report.html")
    else:
        if given:
            names = " and ".join(f"--{k.replace('_', '-')}" for k in given)
            raise HipsenseError(
                f"{names} {'apply' if len(given) > 1 else 'applies'} to a recording's file (`hipsense report FILE {names.split()[0]} ...`), "
                "not to a stored session"
            )
        with _open_store() as store:
            sid = int(target) if target is not None else sources.latest_session_id(store, runner)
            if progress:
                progress(0, 1, f"reading session {sid}")
            session = sources.from_store(store, sid)
        default = Path(f"hipsense-session-{sid}.html")
    html = render_session(session, progress=_shifted(progress, 1))
    return write_report(html, out or default)


def open_in_browser(path: Path) -> bool:
    """Open the report in the user's browser; False when no browser could be started."""
    return webbrowser.open(path.resolve().as_uri())


def make_report(
    target: str | None,
    *,
    weeks: int | None = None,
    runner: str | None = None,
    out: str | Path | None = None,
    csv_options: dict[str, Any] | None = None,
    analysis_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write the report the command line asked for and return its path.

    ``out`` is checked before anything is analysed or drawn (its folder exists and takes the file)."""
    out = Path(out) if out is not None else None
    if out is not None:
        check_output_file(out, "--out")
    if weeks is not None:
        if target is not None:
            raise HipsenseError("give either a SESSION or --weeks, not both")
        if any(v is not None for v in (analysis_options or {}).values()):
            raise HipsenseError("--first-side and --mounting apply to a recording's file, not to --weeks")
        return trends_report(weeks, runner, out, progress)
    if target is not None and not target.isdigit() and not Path(target).exists():
        raise InputFileError(target, "no such file (and not a session id: `hipsense sessions` lists those)")
    return session_report(target, runner, out, csv_options or {}, progress, analysis_options)
