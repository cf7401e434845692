"""A small session file to forge, for the tests that change its bytes behind valid CRCs.

1,200 samples of six channels in 512-byte blocks of at most 200 samples, with a gap after sample 500
and an overflow at sample 900; :func:`fix_crcs` makes every block's CRC (and the header's) valid again
after a change.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from hipsense.formats.device_file import SessionHeader, encode_session

BS = 512
HEADER = SessionHeader.default(block_size=BS, block_max_samples=200, start_time_unix=1_767_225_600)
COUNTS = np.round(
    2500 * np.sin(np.arange(1200)[:, None] * np.array([0.03, 0.05, 0.07, 0.11, 0.13, 0.17]))
).astype(np.int16)


def small_session(lost: int) -> bytes:
    """The session file, ``lost`` samples missing after sample 500 (a hole or a gap)."""
    index = np.concatenate([np.arange(500), np.arange(500 + lost, 700 + 500 + lost)])
    return encode_session(HEADER, COUNTS, sample_index=index, overflow_lost={900: 3})


def fix_crcs(d: bytearray, hl: int = BS) -> None:
    """Recompute the CRC of the header (``hl`` bytes) and of every block, in place."""
    struct.pack_into("<I", d, hl - 4, zlib.crc32(bytes(d[: hl - 4])))
    for o in range(hl, len(d) - BS + 1, BS):
        struct.pack_into("<I", d, o + BS - 4, zlib.crc32(bytes(d[o : o + BS - 4])))
