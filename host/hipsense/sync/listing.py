"""What the host takes of a clip's LIST: a bounded number of sessions, each of a size a session can
have, judged before a byte of it is asked for (docs/sync-protocol.md, "Bounds").

Where the bounds come from:

- A session file is a header and at least one block (its end block). The session format's smallest
  header is 108 bytes (its fixed fields and CRC) and its smallest block 256 bytes
  (``hipsense.formats.session_spec``: ``HEADER_MIN``, ``BLOCK_SIZE_MIN``): a listed size under 364
  bytes cannot be a session.
- The firmware writes its header as one block (``firmware/log.py``: header length = block size) of
  2048 bytes (``firmware/main.py``: ``SafeFile(f, 2048)``) and closes every session with an end block,
  so its smallest session is 4 KiB, and littlefs gives a file at least one 4 KiB flash block. A clip's
  flash (at most 32 MiB, :data:`~hipsense.sync.protocol.MAX_SESSION_BYTES`) thus holds at most 8192
  sessions; the 16 MB clip's 14 MiB volume 3584. A listing beyond 8192 is a lie or a broken firmware:
  the sync takes the first 8192 and says so in one line.
"""

from __future__ import annotations

from hipsense.sync import protocol as P
from hipsense.sync.client import Client

#: the session format's smallest header (fixed fields + CRC) and block (session_spec, session-format.md)
HEADER_MIN = 108
BLOCK_SIZE_MIN = 256
#: the smallest listed size downloaded: a header and one block
MIN_SESSION_BYTES = HEADER_MIN + BLOCK_SIZE_MIN
#: the firmware's smallest session (a 2 KiB header and a 2 KiB end block), also littlefs's 4 KiB block
FIRMWARE_MIN_SESSION = 4096
#: the most sessions one sync takes: a clip's largest flash filled with the firmware's smallest sessions
MAX_SESSIONS = P.MAX_SESSION_BYTES // FIRMWARE_MIN_SESSION
#: downloaded files in a row that are not sessions after which the sync stops (a clip sending junk)
JUNK_STOP = 3


async def list_sessions(client: Client, limit: int = MAX_SESSIONS) -> tuple[list[P.SessionEntry], int]:
    """(the first ``limit`` distinct sessions the clip lists, the total it claims).

    ``total`` is a u16 and every page must add an entry, so this ends within 65535 entries; it stops
    asking once ``limit`` are in hand.
    """
    entries: dict[int, P.SessionEntry] = {}
    asked = 0
    while True:
        total, page = await client.request(P.Type.LIST, P.list_request(asked), P.list_body)
        asked += len(page)
        known = len(entries)
        for e in page:
            if len(entries) < limit:
                entries.setdefault(e.session_id, e)  # a device listing one twice: synced once
        # A page with nothing new is a lie (total 65535 and the same entry again: 65,535 LISTs).
        if asked >= total or len(entries) == known or len(entries) >= limit:
            return list(entries.values()), total


def cut_note(total: int, taken: int) -> str:
    """The one line for a listing cut at :data:`MAX_SESSIONS` ("" when it was not)."""
    if total <= taken or taken < MAX_SESSIONS:
        return ""
    return (
        f"the clip lists {total} sessions, more than a clip's flash holds ({MAX_SESSIONS} of at least "
        f"{FIRMWARE_MIN_SESSION // 1024} KiB in {P.MAX_SESSION_BYTES // 2**20} MiB): only the first {taken} "
        "were looked at, the rest stay on the clip (is its firmware broken? hipsense device deploy)"
    )


def refuse_size(entry: P.SessionEntry, listed_before: int) -> str:
    """Why a listed session is not downloaded, from its size alone ("" when it may be).

    ``listed_before``: bytes of the sessions accepted before it in this sync.
    """
    size, flash = entry.size, P.MAX_SESSION_BYTES
    if size < MIN_SESSION_BYTES:
        return (
            f"the clip lists it with {size} bytes, too few for a session (a header and one block take at "
            f"least {MIN_SESSION_BYTES}): not downloaded; it stays on the clip"
        )
    # A clip's flash holds 32 MiB in all: a listing beyond it (65,535 sessions of 32 MiB would be
    # 2 TiB) is a lie, refused before a byte is asked for.
    if size > flash or listed_before + size > flash:
        before = "" if size > flash else f" after {listed_before} in the sessions before it"
        return (
            f"the clip lists it with {size} bytes{before}, more than a clip's flash holds "
            f"({flash // 2**20} MiB): not downloaded; it stays on the clip"
        )
    return ""


def junk_note(streak: int, left: int) -> str:
    """The one line for a sync stopped after ``streak`` files in a row that are not sessions."""
    return (
        f"stopped after {streak} files in a row from the clip that are not hipsense sessions (a broken "
        f"firmware, or not a hipsense clip): they and the {left} sessions listed after them stay on the clip"
    )


def stall_note(streak: int, left: int) -> str:
    """The one line for a sync stopped after ``streak`` sessions in a row the clip did not send."""
    return (
        f"stopped after {streak} sessions in a row the clip did not send (its replies stalled): they and the "
        f"{left} sessions listed after them stay on the clip; sync again (over the USB cable if the radio is weak)"
    )


def full_note(left: int) -> str:
    """The one line for a sync stopped by a full disk, ``left`` sessions listed after the one it hit."""
    after = f"; the {left} sessions listed after it stay on the clip" if left > 1 else ""
    after = "; the session listed after it stays on the clip" if left == 1 else after
    return "stopped: the disk is full" + after
