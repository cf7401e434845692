"""Finding the blocks of a session file: the fixed grid when it holds, resynchronisation where it breaks.

Blocks are written at ``header_length + k * block_size``. On an intact file every slot of that grid
has the block magic and a valid CRC, and :func:`locate_blocks` returns the grid as it is (the fast
path, checked with one CRC per block). Where a slot fails, the reader looks for the next ``HSBK``
marker whose block CRC holds and carries on from there: a flipped, inserted or deleted byte loses
the one block it hit, not the rest of the file.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from hipsense.formats.session_spec import BLOCK_MAGIC

#: CRC work the marker search may do beyond the grid, in bytes per byte of file (plus a floor): a file
#: stuffed with fake markers costs a bounded time, not one CRC of a whole block per byte.
_SEARCH_BUDGET_PER_BYTE = 8
_SEARCH_BUDGET_FLOOR = 16 << 20


@dataclass
class BlockLayout:
    """Where the blocks are: ``offsets`` of every slot that holds a block (magic and CRC valid), the
    byte ranges that do not (``damaged``: start, end, why; ``corrupt``: per skipped slot or range, its
    offset and problem) and the bytes after the last whole block (``torn``)."""

    offsets: np.ndarray
    damaged: list[tuple[int, int, str]] = field(default_factory=list)
    corrupt: list[tuple[int, str]] = field(default_factory=list)
    torn: int = 0
    resynchronised: int = 0


def slot_problem(data: bytes, offset: int, block_size: int) -> str:
    """Why the slot at ``offset`` is not a block."""
    raw = bytes(data[offset : offset + 4])
    if raw != BLOCK_MAGIC:
        if raw in (b"\xff\xff\xff\xff", b"\0\0\0\0"):
            return "empty block (erased flash, no magic)"
        return f"no block magic (found {raw!r})"
    return "block CRC mismatch"


def _grid_ok(data: bytes, start: int, bs: int, n: int) -> np.ndarray:
    """Magic and CRC of the ``n`` slots of the grid from ``start``."""
    if n <= 0:
        return np.zeros(0, dtype=bool)
    slots = np.frombuffer(data, np.uint8, count=start + n * bs)[start:].reshape(n, bs)
    stored = np.ascontiguousarray(slots[:, bs - 4 :]).view("<u4").ravel()
    mv = memoryview(data)
    crc = np.fromiter(
        (zlib.crc32(mv[o : o + bs - 4]) for o in range(start, start + n * bs, bs)), np.uint32, n
    )
    magic = np.ascontiguousarray(slots[:, :4]).view("S4").ravel() == BLOCK_MAGIC
    return magic & (crc == stored)


class _Scanner:
    def __init__(self, data: bytes, bs: int):
        self.data, self.bs = data, bs
        self.mv = memoryview(data)
        self.budget = _SEARCH_BUDGET_FLOOR + _SEARCH_BUDGET_PER_BYTE * len(data)

    def is_block(self, o: int) -> bool:
        bs = self.bs
        if o + bs > len(self.data) or self.data[o : o + 4] != BLOCK_MAGIC:
            return False
        self.budget -= bs
        return zlib.crc32(self.mv[o : o + bs - 4]) == struct.unpack_from("<I", self.data, o + bs - 4)[0]

    def next_block(self, start: int) -> int | None:
        """Offset of the next block at or after ``start``, or None (none left, or out of budget)."""
        data = self.data
        while self.budget > 0:
            o = data.find(BLOCK_MAGIC, start, len(data) - self.bs + 4)
            if o < 0:
                return None
            if self.is_block(o):
                return o
            start = o + 1
        return None


def _describe(data: bytes, a: int, b: int, bs: int, resync: bool) -> tuple[list[tuple[int, str]], str]:
    """Per-slot problems of the damaged range ``a .. b`` and a one-line reason for the whole range."""
    if (b - a) % bs == 0:
        slots = [(o, slot_problem(data, o, bs)) for o in range(a, b, bs)]
        kinds = sorted({why.split(" (")[0] for _, why in slots})
        return slots, f"{len(slots)} block(s) skipped: " + ", ".join(kinds)
    where = f"up to the next block marker at byte offset {b}" if resync else "to the end of the file"
    why = (
        f"{b - a} bytes {where} are not whole blocks (bytes inserted or lost);"
        f" first problem: {slot_problem(data, a, bs)}"
    )
    return [(a, why)], why


def locate_blocks(data: bytes, header_length: int, block_size: int) -> BlockLayout:
    """The blocks of ``data`` after a header of ``header_length`` bytes (see the module doc)."""
    hl, bs, size = header_length, block_size, len(data)
    n, tail = divmod(size - hl, bs)
    ok = _grid_ok(data, hl, bs, n)
    if ok.all():  # fast path: the grid holds everywhere
        return BlockLayout(offsets=hl + bs * np.arange(n, dtype=np.int64), torn=tail)
    scan = _Scanner(data, bs)
    grid_ok = {hl + i * bs: bool(v) for i, v in enumerate(ok.tolist())}
    offsets: list[int] = []
    layout = BlockLayout(offsets=np.zeros(0, np.int64))
    pos = hl
    while pos + bs <= size:
        if grid_ok.get(pos, False) or (pos not in grid_ok and scan.is_block(pos)):
            offsets.append(pos)
            pos += bs
            continue
        nxt = scan.next_block(pos + 1)
        if nxt is None:
            # Nothing valid further on: the rest are damaged slots of the grid and a torn tail.
            end = pos + (size - pos) // bs * bs
            slots, why = _describe(data, pos, end, bs, False)
            layout.corrupt += slots
            layout.damaged.append((pos, end, why))
            pos = end
            break
        slots, why = _describe(data, pos, nxt, bs, True)
        layout.corrupt += slots
        layout.damaged.append((pos, nxt, why))
        layout.resynchronised += (nxt - pos) % bs != 0
        pos = nxt
    layout.torn = size - pos
    layout.offsets = np.array(offsets, dtype=np.int64)
    return layout
