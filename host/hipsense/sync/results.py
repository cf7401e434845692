"""What a sync takes and gives: its options, what the caller's ``keep`` returns, each session's
result and the report (:mod:`hipsense.sync.engine` runs it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from hipsense.sync import protocol as P
from hipsense.sync.client import MAX_WAIT_S

STORED = "stored"
DUPLICATE = "duplicate"
INCOMPLETE = "incomplete"
RECORDING = "recording"


class Progress(Protocol):
    def start(self, session_id: int, size: int, done: int) -> None: ...
    def advance(self, session_id: int, done: int) -> None: ...
    def finish(self, session_id: int, status: str) -> None: ...


@dataclass(frozen=True)
class Kept:
    """What ``keep(path)`` did with a verified session file: ``status`` STORED (new) or DUPLICATE."""

    status: str = STORED
    #: the caller's id for it (the store's session id), shown in the report
    store_session: int | None = None


#: ``keep(path)`` takes a verified session file and returns True or :class:`Kept` once it holds the
#: bytes durably (the file may then be removed), or a one-line reason (str; False: no reason) why not:
#: the session then stays on the clip.
Keep = Callable[[Path], "bool | str | Kept"]


@dataclass
class SyncOptions:
    keep_on_device: bool = False
    set_clock: bool = True
    #: READ requests in flight at once
    window: int = 4
    #: bytes per READ (None: the device's max_chunk)
    chunk: int | None = None
    timeout_s: float = 1.0
    retries: int = 6
    backoff_s: float = 0.05
    #: reconnections after a dropped link, per sync
    reconnects: int = 5
    #: a request's longest wait while bytes arrive that answer nothing (client.MAX_WAIT_S)
    max_wait_s: float = MAX_WAIT_S


@dataclass
class SessionResult:
    session_id: int
    size: int
    status: str
    deleted: bool = False
    store_session: int | None = None
    message: str = ""
    #: downloaded, verified, and not a session file (no session header)
    not_session: bool = False
    #: the clip stopped answering its READs (every try timed out): a few in a row stop the sync
    stalled: bool = False


@dataclass
class SyncReport:
    device: P.DeviceInfo | None = None
    clock_was: int | None = None
    clock_note: str = ""  # why the clip's clock was not set
    sessions: list[SessionResult] = field(default_factory=list)
    #: one line each: the sync took less than the clip listed (a listing cut, junk in a row)
    notes: list[str] = field(default_factory=list)
    reconnects: int = 0
    resends: int = 0
    bad_frames: int = 0

    @property
    def incomplete(self) -> list[SessionResult]:
        return [s for s in self.sessions if s.status == INCOMPLETE]
