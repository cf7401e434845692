"""The raw samples of a stored session for the export, or why they cannot be given.

A raw file that is missing, no longer matches its hash or cannot be read costs its session the raw table
only: the session's stored figures (its step table, its summary) were made when the file was intact and
are still exported. Each such session is named in one line with its repair (:class:`Incomplete`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hipsense.errors import HipsenseError
from hipsense.recording import Recording
from hipsense.store_rows import sha256_file


@dataclass(frozen=True)
class Incomplete:
    """A session the export could not write fully."""

    session_id: int
    #: The session's start day (UTC), or "no start time".
    day: str
    name: str
    #: What is left out and why, e.g. "raw samples left out: its raw file is missing".
    missing: str
    #: The same without the store's paths or a reader's details (the README may be shared).
    reason: str

    def line(self) -> str:
        """One line for the terminal: which session, what is missing, and how to repair or forget it."""
        return (
            f"session {self.session_id} ({self.day}, {self.name}): {self.missing}; `hipsense doctor` puts "
            f"back an intact copy from the quarantine if there is one, else `hipsense forget "
            f"{self.session_id}` and import the original file again"
        )


def session_day(start_time) -> str:
    return "no start time" if pd.isna(start_time) else f"{pd.Timestamp(start_time):%Y-%m-%d}"


def read_raw(store, session) -> Recording | Incomplete:
    """The recording of ``session`` (a row of ``store.sessions()``) as it was analysed, or why not.

    The file is re-hashed first: a file that no longer matches its hash would give samples the stored
    figures were not made from.
    """
    from hipsense.library import read_recording

    path = store.raw_path(session.sha256)

    def incomplete(reason: str, detail: str = "") -> Incomplete:
        return Incomplete(
            int(session.id),
            session_day(session.start_time),
            str(session.original_name),
            f"raw samples left out, {reason}{detail}",
            reason,
        )

    if not path.is_file():
        return incomplete("its raw file is missing")
    try:
        if sha256_file(path) != session.sha256:
            return incomplete("its raw file is damaged (it no longer matches its hash)")
        # The CSV options each raw CSV was imported with, so it reads back exactly as it was analysed;
        # read as the library reads it (a torn tail was reported at import, not again at every export).
        return read_recording(path, store.csv_options(session.sha256))
    except (HipsenseError, OSError) as e:
        detail = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        return incomplete("its raw file cannot be read", f" ({detail})")
