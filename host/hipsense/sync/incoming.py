"""Files in the laptop's incoming folder: their checksums, durable renames, a full disk."""

from __future__ import annotations

import errno
import hashlib
import os
import struct
import zlib
from pathlib import Path

from hipsense.sync.errors import DiskFull


def disk_full(path: Path, sid: int, error: OSError | None = None) -> DiskFull:
    """The one line for a write the disk refused: full, over the user's quota, or over a file size limit."""
    why = (
        "disk full"
        if error is None or error.errno == errno.ENOSPC
        else (error.strerror or "disk full").lower()
    )
    return DiskFull(
        f"{why} while writing {path}: session {sid:08x} stays on the clip; free space and sync again"
    )


def crc_and_sha256(path: Path) -> tuple[int, bytes]:
    # One pass: the CRC32 checks the copy against the clip, the SHA-256 is the erase proof.
    crc, sha = 0, hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            crc = zlib.crc32(block, crc)
            sha.update(block)
    return crc, sha.digest()


def fsync_dir(path: Path) -> None:
    if os.name == "nt":  # Windows cannot open a folder for fsync; NTFS renames are journaled
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: the session header's magic (session-format.md): a file without it is not a session
SESSION_MAGIC = b"HSNS"
#: the header's length field (u32 at byte 8) and its bounds (session_spec.HEADER_MIN, HEADER_MAX)
_HEADER_LENGTH_AT = 8
_HEADER_MIN, _HEADER_MAX = 108, 1 << 20
#: files that are not sessions the incoming folder keeps for diagnosis, newest first; older ones go
KEEP_NOT_SESSIONS = 3


def is_session_file(path: Path) -> bool:
    """Whether ``path`` starts with a session header: its magic, a length within the format's bounds
    and a CRC32 that matches (any format version: a newer one is still a session). False if unreadable.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEADER_MIN)
            if len(head) < _HEADER_MIN or head[:4] != SESSION_MAGIC:
                return False
            (length,) = struct.unpack_from("<I", head, _HEADER_LENGTH_AT)
            if not _HEADER_MIN <= length <= _HEADER_MAX:
                return False
            header = head + fh.read(length - _HEADER_MIN)
    except OSError:
        return False
    if len(header) < length:
        return False
    (stored,) = struct.unpack_from("<I", header, length - 4)
    return zlib.crc32(header[: length - 4]) == stored


def prune_not_sessions(folder: Path, keep: int = KEEP_NOT_SESSIONS) -> int:
    """Delete all but the newest ``keep`` downloaded files in ``folder`` that are not sessions (no
    session header: :func:`is_session_file`).

    A clip sending junk (a firmware bug, or a device posing as a clip) would otherwise leave one
    file per listed session here for ever. Returns how many were deleted.
    """
    junk = []
    for path in folder.glob("*.hsn"):
        if not is_session_file(path):
            try:
                junk.append((path.stat().st_mtime_ns, path.name, path))
            except OSError:
                continue
    junk.sort(reverse=True)
    for _, _, path in junk[keep:]:
        path.unlink(missing_ok=True)
    return max(0, len(junk) - keep)
