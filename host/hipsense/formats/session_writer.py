"""Writing device session files (format 1) on the host, byte for byte as the clip does.

The specification is ``docs/session-format.md``; ``firmware/log.py`` is the device's twin of this
module, and the golden vectors in ``tests/vectors/`` pin both to the same bytes.
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from pathlib import Path

import numpy as np

from hipsense.formats import codec
from hipsense.formats.session_spec import (
    BLOCK_DATA,
    BLOCK_END,
    BLOCK_MAGIC,
    BLOCK_STRUCT,
    CLOSE_CODES,
    END_COPY_MINOR,
    END_STRUCT,
    FLAG_GAP,
    FLAG_OVERFLOW,
    FORMAT_VERSION,
    HEADER_FIXED,
    SessionHeader,
)

__all__ = ["encode_session", "write_device_file"]


def _block(
    header: SessionHeader,
    btype: int,
    flags: int,
    seq: int,
    first_index: int,
    t_ms: int,
    n: int,
    payload: bytes,
    lost: int,
) -> bytes:
    head = BLOCK_STRUCT.pack(
        BLOCK_MAGIC,
        FORMAT_VERSION[0],
        btype,
        flags,
        header.session_id,
        seq,
        first_index,
        t_ms & 0xFFFFFFFF,
        n,
        len(payload),
        lost,
    )
    body = head + payload + bytes(header.block_size - 4 - len(head) - len(payload))
    return body + struct.pack("<I", zlib.crc32(body))


def encode_session(
    header: SessionHeader,
    counts: np.ndarray,
    *,
    sample_index: np.ndarray | None = None,
    overflow_lost: dict[int, int] | None = None,
    close_reason: str | None = "user_stop",
    block_time_ms: np.ndarray | None = None,
    end_time_ms: int | None = None,
    header_copy: bool = False,
) -> bytes:
    """Encode a session to the bytes the device would write.

    Parameters
    ----------
    header
        The session header; ``header.channels`` must match ``counts``.
    counts
        ``(n, channels)`` integer counts within int16.
    sample_index
        Index of every sample on the session's timeline (strictly increasing, from 0); a jump is a gap.
        Default ``arange(n)``.
    overflow_lost
        ``{index of the first sample after an IMU FIFO overflow: samples lost}``; that sample starts a
        block flagged OVERFLOW with the count. The timeline jump, if any, comes from ``sample_index``.
    close_reason
        One of ``CLOSE_REASONS``' values, or None to write no end block (a recording cut off by a
        power cut looks like that).
    block_time_ms
        Device time (ms, u32) of every sample's FIFO read; a block stores the time of its first sample.
        Default: the nominal time of the block's first sample, ``first_index * 1000 / rate``.
    end_time_ms
        Time stored in the end block. Default: the last sample's ``block_time_ms``, or the nominal time
        of the end of the timeline.
    header_copy
        Write format 1.1: the end block also carries a copy of the header's fixed fields, from which a
        reader recovers a damaged header exactly. Off by default until the firmware writes it too (the
        golden vectors are 1.0).
    """
    if header_copy:
        header = dataclasses.replace(header, format_version=(FORMAT_VERSION[0], END_COPY_MINOR))
    header.validate()
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[1] != header.channels:
        raise ValueError(f"counts must be (n, {header.channels}), not {counts.shape}")
    if counts.size and not np.issubdtype(counts.dtype, np.integer):
        raise ValueError(f"counts must be integers, not {counts.dtype}")
    if counts.size and (counts.min() < -32768 or counts.max() > 32767):
        raise ValueError("counts must fit int16")
    counts = counts.astype(np.int16)
    n = len(counts)
    if sample_index is None:
        sample_index = np.arange(n, dtype=np.int64)
    sample_index = np.asarray(sample_index, dtype=np.int64)
    if sample_index.shape != (n,):
        raise ValueError("sample_index must have one entry per sample")
    if n and (sample_index[0] < 0 or sample_index[-1] >= 0xFFFFFFFF or np.any(np.diff(sample_index) <= 0)):
        raise ValueError("sample_index must be strictly increasing within 0..2**32-2")
    overflow_lost = {int(k): int(v) for k, v in (overflow_lost or {}).items()}
    overflow_at = np.flatnonzero(np.isin(sample_index, list(overflow_lost)))
    present = set(sample_index[overflow_at].tolist())
    for idx, lost in overflow_lost.items():
        if idx not in present:
            raise ValueError(f"overflow_lost key {idx} is not a sample index")
        if not (0 <= lost <= 0xFFFFFFFF):
            raise ValueError(f"overflow_lost[{idx}] out of range: {lost}")
    if block_time_ms is not None:
        block_time_ms = np.asarray(block_time_ms, dtype=np.int64)
        if block_time_ms.shape != (n,):
            raise ValueError("block_time_ms must have one entry per sample")
    if close_reason is not None and close_reason not in CLOSE_CODES:
        raise ValueError(f"close_reason must be one of {sorted(CLOSE_CODES)} or None, not {close_reason!r}")
    rate_mhz = header.sample_rate_mhz

    # Segments: contiguous runs of the timeline without an overflow inside.
    cut = np.zeros(n, dtype=bool)
    if n:
        cut[0] = True
        cut[1:] = np.diff(sample_index) != 1
        cut[overflow_at] = True
    seg_starts = list(np.flatnonzero(cut)) + [n]

    head_bytes = header.to_bytes()
    out = [head_bytes]
    cap = header.payload_capacity
    seq = 0
    expected = 0
    total_lost = 0
    guess = 64
    for a, b in zip(seg_starts[:-1], seg_starts[1:], strict=True):
        s = a
        while s < b:
            limit = min(b - s, header.block_max_samples)
            window = min(limit, guess)
            m, orders, ks, z = codec.plan_block(counts[s : s + window], cap, header.block_max_samples)
            if m == window and window < limit:
                m, orders, ks, z = codec.plan_block(counts[s : s + limit], cap, header.block_max_samples)
            guess = max(64, m + m // 8 + codec.FRAME)
            payload = codec.pack(orders, ks, z)
            first = int(sample_index[s])
            flags = 0
            lost = 0
            if first != expected:
                flags |= FLAG_GAP
            if s == a and first in overflow_lost:
                flags |= FLAG_OVERFLOW
                lost = int(overflow_lost[first])
                total_lost += lost
            if block_time_ms is not None:
                t = int(block_time_ms[s])
            else:
                t = first * 1_000_000 // rate_mhz
            out.append(_block(header, BLOCK_DATA, flags, seq, first, t, m, payload, lost))
            seq += 1
            expected = first + m
            s += m
    if close_reason is not None:
        if end_time_ms is None:
            if block_time_ms is not None and n:
                end_time_ms = int(block_time_ms[-1])
            else:
                end_time_ms = expected * 1_000_000 // rate_mhz
        payload = END_STRUCT.pack(n, seq, min(total_lost, 0xFFFFFFFF), CLOSE_CODES[close_reason])
        if header_copy:
            payload += head_bytes[:HEADER_FIXED]
        out.append(_block(header, BLOCK_END, 0, seq, expected, int(end_time_ms), 0, payload, 0))
    return b"".join(out)


def write_device_file(
    path: str | Path,
    header: SessionHeader,
    counts: np.ndarray,
    *,
    sample_index: np.ndarray | None = None,
    overflow_lost: dict[int, int] | None = None,
    close_reason: str | None = "user_stop",
    block_time_ms: np.ndarray | None = None,
    end_time_ms: int | None = None,
    header_copy: bool = False,
) -> Path:
    """Write a session file as the device would (see :func:`encode_session`); returns the path."""
    path = Path(path)
    path.write_bytes(
        encode_session(
            header,
            counts,
            sample_index=sample_index,
            overflow_lost=overflow_lost,
            close_reason=close_reason,
            block_time_ms=block_time_ms,
            end_time_ms=end_time_ms,
            header_copy=header_copy,
        )
    )
    return path
