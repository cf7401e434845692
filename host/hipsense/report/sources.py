"""Where a session report's data comes from: a session in the store, or a recording analysed on the fly."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from hipsense.errors import HipsenseError
from hipsense.report.wording import stored_error, walking_only

if TYPE_CHECKING:
    from hipsense.store import Store


@dataclass
class ReportSession:
    """What the session view renders: the summary JSON, the step table, and how to name the run."""

    summary: dict[str, Any]
    steps: pd.DataFrame
    title: str
    details: list[tuple[str, str]] = field(default_factory=list)


def latest_session_id(store: Store, runner: str | None = None) -> int:
    """The id of the most recent session (of ``runner`` when given) whose analysis succeeded."""
    store.runners(runner)  # an unknown runner is named as such, like everywhere else
    df = store.sessions(runner=runner)
    ok = df[df["status"] == "ok"]
    if ok.empty:
        who = f" of runner {runner!r}" if runner else ""
        raise HipsenseError(
            f"no analysed session{who} in the store {store.root}; add some with `hipsense import`"
        )
    return int(ok["id"].iloc[-1])


def from_store(store: Store, session_id: int) -> ReportSession:
    """A stored session: its summary and steps as the last analysis left them."""
    df = store.sessions()
    row = df[df["id"] == session_id]
    if row.empty:
        raise HipsenseError(
            f"no session {session_id} in the store {store.root}; `hipsense sessions` lists them"
        )
    r = row.iloc[0]
    summary = store.summary(session_id)
    if summary is None:
        raise HipsenseError(
            f"session {session_id} ({r.original_name}) has no analysis: {stored_error(r.error or 'unknown')}"
        )
    when = r.start_time if pd.notna(r.start_time) else None
    details = [("runner", str(r.runner)), ("session", f"#{session_id}"), ("file", str(r.original_name))]
    if isinstance(r.device_id, str) and r.device_id:  # a CSV import has none (NaN, not "nan")
        details.append(("clip", str(r.device_id)))
    what = _what(summary)
    title = f"{what} of {when:%A %d %B %Y, %H:%M} UTC" if when is not None else f"{what} {r.original_name}"
    return ReportSession(summary, store.steps(session_id), title, details)


def _what(summary: dict[str, Any]) -> str:
    """ "Run", or "Walk" for a recording without running steps but with walking ones."""
    return "Walk" if walking_only(summary) else "Run"


def from_file(path: str | Path, **options: Any) -> ReportSession:
    """A device file or CSV, analysed now; nothing is stored and the file is only read. ``options`` are
    :func:`~hipsense.analysis.analyse_file`'s (``mounting``, ``first_side`` and the CSV options)."""
    from hipsense.analysis import analyse_file

    path = Path(path)
    result = analyse_file(path, **options)
    assert result.summary is not None
    summary = result.summary.to_dict()
    return ReportSession(summary, result.steps, f"{_what(summary)} {path.name}", [("file", str(path))])
