"""Files in the laptop's incoming folder: their checksums, durable renames, a full disk."""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

from hipsense.sync.errors import DiskFull


def disk_full(path: Path, sid: int) -> DiskFull:
    return DiskFull(
        f"disk full while writing {path}: session {sid:08x} stays on the clip; free space and sync again"
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
