# Power-cut recovery of session files, run on boot (docs/session-format.md, docs/firmware.md).
#
# A session cut off by a power loss (or a crash) has no end block and may end in a torn block (the
# block being written). recover(path) keeps every whole block, drops the torn tail and any trailing
# whole blocks that are not valid blocks of this session (never written, erased, garbage), and writes
# an end block with REASON_RECOVERED whose totals are those of the blocks kept. The end block is built
# with log's module functions, so it is byte for byte what SessionWriter.close() would have written
# for the same blocks (seq = its position, t_ms = the last block's time: the real closing time is
# unknown).
#
# MicroPython files cannot be truncated, so the end block overwrites the torn tail from the last block
# boundary (a block is block_size long, the torn part is shorter, so the file then ends exactly after
# it). Only when whole invalid blocks trail the file (more bytes than the end block covers) is the
# file copied to path + ".tmp" and renamed over the original.
#
# Blocks in the middle that fail their checks are kept as they are: the host skips and reports them.
import os
import struct

import log
from micropython import const

CLOSED = const(0)  # the session already ends with an end block: untouched
RECOVERED = const(1)  # end block written (torn tail or invalid trailing blocks dropped first)
REMOVED = const(2)  # power was lost while the header was written: no samples, file deleted
BAD_HEADER = const(3)  # not a session file of a known version, or a damaged header: untouched

_HEADER_MIN = const(108)
_END_PAYLOAD = const(16)


def recover(path, remove_empty=True):
    """Recover one session file; returns (status, data_blocks, samples, bytes_dropped)."""
    size = os.stat(path)[6]
    with open(path, "rb") as f:
        head = f.read(_HEADER_MIN)
        hl, bs = _header_geometry(head)
        if hl == 0:
            return _no_header(path, head, size, remove_empty)
        header = head + f.read(hl - len(head)) if hl > len(head) else head[:hl]
        if len(header) < hl:
            return _no_header(path, head, size, remove_empty)
        if struct.unpack_from("<I", header, hl - 4)[0] != _crc(header, hl - 4):
            return BAD_HEADER, 0, 0, 0
        session_id = struct.unpack_from("<I", header, 16)[0]
        nwhole = (size - hl) // bs
        torn = (size - hl) % bs
        buf = bytearray(bs)
        keep = 0  # blocks kept: every block up to the last valid one
        blocks = 0
        samples = 0
        lost = 0
        next_index = 0
        t_last = 0
        end_at = -1
        for k in range(nwhole):
            if f.readinto(buf) != bs:
                break
            btype = _check(buf, bs, session_id)
            if btype == 0:
                continue
            keep = k + 1
            t_last = struct.unpack_from("<I", buf, 20)[0]
            if btype == log.BLOCK_END:
                end_at = k
                continue
            end_at = -1
            flags, _, _, first, _, n, _, blost = struct.unpack_from("<HIIIIHHI", buf, 6)
            blocks += 1
            samples += n
            if flags & log.FLAG_OVERFLOW:
                lost += blost
            if first + n > next_index:
                next_index = first + n
    if end_at >= 0 and end_at == keep - 1:
        if keep == nwhole and torn == 0:
            return CLOSED, blocks, samples, 0
        # Closed, then something was appended: cut back to the end block.
        _rewrite(path, hl + keep * bs, None)
        return CLOSED, blocks, samples, size - (hl + keep * bs)
    if lost > 0xFFFFFFFF:
        lost = 0xFFFFFFFF
    plen = log.pack_end_payload(buf, samples, blocks, lost, log.REASON_RECOVERED)
    log.pack_block_header(buf, log.BLOCK_END, 0, session_id, keep, next_index, t_last, 0, plen, 0)
    log.seal_block(buf, plen)
    at = hl + keep * bs
    if size <= at + bs:
        with open(path, "r+b") as f:
            f.seek(at)
            f.write(buf)
            f.flush()
    else:
        _rewrite(path, at, buf)
    dropped = size - at
    return RECOVERED, blocks, samples, dropped if dropped > 0 else 0


def recover_all(folder, suffix=""):
    """recover() every file in folder whose name ends with suffix; returns [(name, result), ...]."""
    done = []
    for entry in os.ilistdir(folder):
        name = entry[0]
        if entry[1] & 0x4000 or not name.endswith(suffix) or name.endswith(".tmp"):
            continue
        done.append((name, recover(folder + "/" + name)))
    return done


def _header_geometry(head):
    # (header_length, block_size) of a plausible version-1 header start, else (0, 0).
    if len(head) < 16 or head[0:4] != log.HEADER_MAGIC or head[4] != log.FORMAT_MAJOR:
        return 0, 0
    hl, bs = struct.unpack_from("<II", head, 8)
    if bs < 256 or bs > 65536 or bs & (bs - 1) or hl < _HEADER_MIN or hl > 1 << 20:
        return 0, 0
    return hl, bs


def _no_header(path, head, size, remove_empty):
    # A file shorter than its own header, that starts like one, lost power while the header was being
    # written: it holds no samples. Anything else without a valid header is left alone.
    n = len(head)
    if n < 4:
        torn = head == log.HEADER_MAGIC[0:n]
    elif head[0:4] != log.HEADER_MAGIC:
        torn = False
    elif n < 16:
        torn = True
    else:
        hl = struct.unpack_from("<I", head, 8)[0]
        torn = _HEADER_MIN <= hl <= 65536 and size < hl
    if torn:
        if remove_empty:
            os.remove(path)
        return REMOVED, 0, 0, size
    return BAD_HEADER, 0, 0, 0


def _check(buf, bs, session_id):
    # Block type of a valid block of this session, else 0.
    if buf[0:4] != log.BLOCK_MAGIC or buf[4] != log.FORMAT_MAJOR:
        return 0
    if struct.unpack_from("<I", buf, bs - 4)[0] != _crc(buf, bs - 4):
        return 0
    if struct.unpack_from("<I", buf, 8)[0] != session_id:
        return 0
    btype = buf[5]
    if btype != log.BLOCK_DATA and btype != log.BLOCK_END:
        return 0
    return btype


def _crc(buf, n):
    import binascii

    return binascii.crc32(memoryview(buf)[0:n])


def _rewrite(path, keep_bytes, tail):
    # path := its first keep_bytes bytes (+ tail), through a copy and a rename.
    tmp = path + ".tmp"
    chunk = bytearray(4096)
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        left = keep_bytes
        while left > 0:
            n = src.readinto(chunk)
            if not n:
                break
            if n > left:
                n = left
            dst.write(memoryview(chunk)[0:n])
            left -= n
        if tail is not None:
            dst.write(tail)
        dst.flush()
    os.remove(path)
    os.rename(tmp, path)
