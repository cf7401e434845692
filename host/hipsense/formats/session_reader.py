"""Reading device session files (format 1) on the host.

Reading never gives up on a damaged file when some of it can be used: blocks are found on their grid
or, where the grid breaks, by their marker (:mod:`~hipsense.formats.session_blocks`); corrupt blocks
are skipped and listed; a torn tail is cut to the last whole block; a damaged header is recovered
from the blocks when it can be (:mod:`~hipsense.formats.session_header`); every such event is in
:class:`DecodeReport` and raised as a :class:`SessionFileWarning`. A file that cannot be read at all
raises :class:`hipsense.errors.SessionFileError` naming the file, the byte offset and the field.
Every value the file gives is bounded before it is used (docs/session-format.md, "Bounds").
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hipsense.errors import SessionFileError
from hipsense.formats import codec, codec_decode
from hipsense.formats.session_blocks import locate_blocks
from hipsense.formats.session_recovery import read_header
from hipsense.formats.session_spec import (
    BLOCK_DATA,
    BLOCK_DTYPE,
    BLOCK_END,
    BLOCK_HEADER,
    BLOCK_OVERHEAD,
    BLOCK_TABLE_DTYPE,
    CLOSE_REASONS,
    END_STRUCT,
    FLAG_GAP,
    FLAG_OVERFLOW,
    FORMAT_VERSION,
    HEADER_MAGIC,
    KNOWN_FLAGS,
    MAX_MISSING_S,
    CorruptBlockWarning,
    DecodedSession,
    DecodeReport,
    HeaderRecoveredWarning,
    SessionFileWarning,
    SessionHeader,
    TornTailWarning,
)

__all__ = ["Sink", "decode_session", "format_losses", "is_session_file", "read_device_file"]

#: ``sink(counts, row, rows)``: where :func:`decode_session` hands each pass's counts (its docstring).
Sink = Callable[[np.ndarray, int, int], None]


def is_session_file(path: str | Path) -> bool:
    """Whether ``path`` is to be read as a session file rather than a CSV: it starts with
    :data:`HEADER_MAGIC`, or it is named ``.hsn`` (then a damaged or foreign file is reported as a bad
    session file, not as a CSV without acceleration columns)."""
    path = Path(path)
    if path.suffix.lower() == ".hsn":
        return True
    with open(path, "rb") as fh:
        return fh.read(len(HEADER_MAGIC)) == HEADER_MAGIC


def read_device_file(path: str | Path, *, sink: Sink | None = None) -> DecodedSession:
    """Read and decode a session file (see :func:`decode_session`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError as e:
        raise SessionFileError(path, "is a directory, not a session file") from e
    except FileNotFoundError as e:
        raise SessionFileError(path, "no such file") from e
    except PermissionError as e:
        raise SessionFileError(path, "not allowed to read it (permissions)") from e
    return decode_session(data, path=path, sink=sink)


@dataclass
class _Blocks:
    """The decoder's working state over the blocks found in one file."""

    name: Path
    header: SessionHeader
    data: bytes
    offsets: np.ndarray
    heads: np.ndarray
    problems: list[str]
    warn: list[str]
    good: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    unknown: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    #: Missing samples still allowed after the data blocks (see :func:`_timeline`).
    budget_left: int = 0

    def refuse(self, mask: np.ndarray, why: Callable[[int], str]) -> None:
        """Mark the blocks in ``mask`` (not yet marked) with the problem ``why(i)``."""
        for i in np.flatnonzero(mask):
            if not self.problems[i]:
                self.problems[i] = why(int(i))

    def at(self, i: int) -> str:
        return f"{self.name} at byte offset {self.offsets[i]}"


def _check_blocks(b: _Blocks) -> tuple[np.ndarray, np.ndarray]:
    """Version, session id, type, sample count and payload length of every block: (data, end) masks."""
    h, heads = b.header, b.heads
    b.refuse(
        heads["version"] != FORMAT_VERSION[0],
        lambda i: f"block format version {heads['version'][i]} (expected {FORMAT_VERSION[0]})",
    )
    b.refuse(
        heads["session_id"] != h.session_id,
        lambda i: f"block of session {heads['session_id'][i]} in session {h.session_id}",
    )
    b.good = good = np.array([not p for p in b.problems], dtype=bool)
    is_data = good & (heads["type"] == BLOCK_DATA)
    is_end = good & (heads["type"] == BLOCK_END)
    b.unknown = good & ~is_data & ~is_end
    for i in np.flatnonzero(b.unknown):
        b.warn.append(f"{b.at(int(i))}: unknown block type {heads['type'][i]} skipped")
    # Every value costs at least its unary one-bit, every frame its parameter nibble: a payload that
    # cannot hold them is refused before any decoding (and bounds the decoder's work per block).
    cap = h.block_size - BLOCK_OVERHEAD
    C = h.channels
    ns = heads["n_samples"].astype(np.int64)
    plen = heads["payload_len"].astype(np.int64)
    min_bits = 4 * C * (1 + (ns + codec.FRAME - 1) // codec.FRAME) + C * ns
    bad = is_data & (
        (ns == 0) | (ns > h.block_max_samples) | (plen > cap) | (8 * (plen - codec.ORDERS_BYTES) < min_bits)
    )
    b.refuse(
        bad, lambda i: f"bad sample count {heads['n_samples'][i]} or payload length {heads['payload_len'][i]}"
    )
    bad_end = is_end & ((plen < END_STRUCT.size) | (plen > cap) | (ns != 0))
    b.refuse(bad_end, lambda i: f"end block with payload length {plen[i]} and sample count {ns[i]}")
    return is_data & ~bad, is_end & ~bad_end


def _timeline(b: _Blocks, is_data: np.ndarray, damaged_bytes: int) -> np.ndarray:
    """Data blocks in order whose indices move forward and whose jumps stay within the missing-sample
    budget: one hour at the header's rate plus what the damaged bytes could have held."""
    first = b.heads["first_index"].astype(np.int64)
    nsamp = b.heads["n_samples"].astype(np.int64)
    budget = int(MAX_MISSING_S * b.header.sample_rate_hz) + 8 * damaged_bytes // b.header.channels
    keep, expected = [], 0
    for i in np.flatnonzero(is_data).tolist():
        jump = first[i] - expected
        if jump < 0:
            b.problems[i] = (
                f"sample index {first[i]} goes backwards (previous block ended at {expected}); block skipped"
            )
            continue
        if jump > budget:
            b.problems[i] = (
                f"first_index {first[i]} jumps {jump} samples ahead, more than this file can be missing"
                f" ({MAX_MISSING_S} s at {b.header.sample_rate_hz:g} Hz plus its damaged bytes); block skipped"
            )
            continue
        budget -= jump
        keep.append(i)
        expected = first[i] + nsamp[i]
    b.budget_left = budget
    return np.array(keep, dtype=np.int64)


def _decode(b: _Blocks, data_idx: np.ndarray, sink: Sink | None) -> tuple[np.ndarray, np.ndarray]:
    """The data blocks that decode and their counts (empty with a ``sink``, which gets them instead)."""
    padded = np.concatenate([np.frombuffer(b.data, dtype=np.uint8), np.zeros(64, dtype=np.uint8)])
    ns = b.heads["n_samples"][data_idx].astype(np.int64)
    at, size = b.offsets[data_idx] + BLOCK_HEADER, b.heads["payload_len"][data_idx]
    C, ok, pproblems, ends = b.header.channels, np.zeros(len(ns), bool), [""] * len(ns), np.cumsum(ns)
    kept: list[np.ndarray] = []  # without a sink: the one pass's counts
    emit, i, done = sink or (lambda part, row, rows: kept.append(part)), 0, 0
    while i < len(ns):  # with a sink, one pass's counts at a time: a 10 h session's are 90 MB
        stop = ends[i] - ns[i] + codec_decode.DECODE_CHUNK_SAMPLES // 4  # 64 k samples: ~16 MB temporaries
        j = len(ns) if sink is None else max(int(np.searchsorted(ends, stop, "right")), i + 1)
        part_of = codec_decode.decode_payloads  # a sink gets a view of its rows by channel, as it keeps them
        ok[i:j], part, pproblems[i:j] = part_of(padded, at[i:j], size[i:j], ns[i:j], C, by_channel=bool(sink))
        emit(part, done, int(ends[-1]))
        i, done = j, done + len(part)
    counts = kept[0] if kept else np.zeros((0, C), dtype=np.int16)
    for k in np.flatnonzero(~ok):
        b.problems[data_idx[k]] = "payload does not decode: " + pproblems[k]
    return data_idx[ok], counts


def _gaps(b: _Blocks, data_idx: np.ndarray) -> tuple[list, list, list, int]:
    """Gaps (with their causes), overflow events and flag warnings over the decoded data blocks."""
    offsets, bs = b.offsets.tolist(), b.header.block_size  # Python ints: numpy scalars cost more
    first, count, flags, lost = (b.heads[k].tolist() for k in ("first_index", "n_samples", "flags", "lost"))
    gaps, causes, overflow_events, flag_warnings, prev_end, prev_slot = [], [], [], [], 0, -1
    for i in data_idx.tolist():
        f = first[i]
        jump = f - prev_end
        # Skipped blocks, or bytes the block finder could not use, lie between this block and the last.
        after_prev = offsets[prev_slot] + bs if prev_slot >= 0 else b.header.header_bytes
        damaged_between = any(b.problems[j] or b.unknown[j] for j in range(prev_slot + 1, i)) or (
            offsets[i] - after_prev > (i - prev_slot - 1) * bs
        )
        if jump > 0:
            gaps.append((prev_end, jump))
            if damaged_between:
                causes.append("in damaged or skipped blocks")
            elif flags[i] & FLAG_OVERFLOW:
                causes.append("IMU FIFO overflow")
            elif flags[i] & FLAG_GAP:
                causes.append("not recorded (the device flagged a gap)")
            else:
                causes.append("missing without a gap flag")
                flag_warnings.append(
                    f"byte offset {offsets[i]}: samples {prev_end}..{f - 1} missing without gap flag"
                )
        elif flags[i] & FLAG_GAP:
            flag_warnings.append(f"byte offset {offsets[i]}: gap flag without missing samples")
        if flags[i] & FLAG_OVERFLOW:
            overflow_events.append((f, lost[i]))
        if flags[i] & ~KNOWN_FLAGS:
            flag_warnings.append(f"byte offset {offsets[i]}: unknown flags {flags[i]:#06x} ignored")
        prev_end = f + count[i]
        prev_slot = i
    for msg in flag_warnings[:5]:
        b.warn.append(f"{b.name} at {msg}")
    if len(flag_warnings) > 5:
        b.warn.append(f"{b.name}: {len(flag_warnings) - 5} more flag inconsistencies")
    if any(n == 0 for _, n in overflow_events):
        b.warn.append(f"{b.name}: IMU FIFO overflow(s) of unknown size (lost count 0)")
    return gaps, causes, overflow_events, prev_end


def _end_block(b: _Blocks, is_end, data_idx, n_decoded, overflow_lost, prev_end, gaps, causes):
    """The close reason and end-block totals, checked against what was decoded."""
    end_idx = np.flatnonzero(is_end)
    if len(end_idx) == 0:
        b.warn.append(
            f"{b.name}: no end block: the recording did not close normally (power cut or still recording?)"
        )
        return None, None
    e = int(end_idx[0])
    total, nblk, lost_total, code = END_STRUCT.unpack_from(b.data, int(b.offsets[e]) + BLOCK_HEADER)
    reason = CLOSE_REASONS.get(code)
    if reason is None:
        reason = f"unknown({code})"
        b.warn.append(f"{b.at(e)}: unknown close reason code {code}")
    nxt = int(b.heads["first_index"][e])
    info = {"total_samples": total, "data_blocks": nblk, "overflow_lost": lost_total, "next_index": nxt}
    if len(end_idx) > 1:
        b.warn.append(
            f"{b.name}: {len(end_idx)} end blocks; the first one (byte offset {b.offsets[e]}) is used"
        )
    later = data_idx[data_idx > e]
    if len(later):
        b.warn.append(
            f"{b.name}: {len(later)} data blocks after the end block (byte offset {b.offsets[e]}) were read"
        )
    if total != n_decoded:
        b.warn.append(f"{b.name}: the end block says {total} samples, {n_decoded} were decoded")
    if lost_total != min(overflow_lost, 0xFFFFFFFF):
        b.warn.append(
            f"{b.name}: the end block says {lost_total} samples lost to overflow, the blocks say {overflow_lost}"
        )
    if nxt - prev_end > b.budget_left:
        b.warn.append(
            f"{b.at(e)}: the end block's index {nxt} is further than this file can be missing; ignored"
        )
    elif nxt > prev_end:
        gaps.append((prev_end, nxt - prev_end))
        causes.append("missing at the end (after the last data block)")
    return reason, info


def decode_session(
    data: bytes, *, path: str | Path | None = None, sink: Sink | None = None
) -> DecodedSession:
    """Decode a session file's bytes.

    Raises :class:`~hipsense.errors.SessionFileError` when nothing can be decoded; otherwise decodes
    every good block and reports (and warns about) the rest. With ``sink``, each pass's counts (int16
    ``(m, channels)``, sample order) go to ``sink(counts, row, rows)`` (``row``: the first's number
    among the decoded samples; ``rows``: the most all passes can give), not kept: the session's
    ``counts`` and ``sample_index`` are empty, its ``block_table`` says where they belong.
    """
    name = Path(path) if path is not None else Path("<bytes>")
    data = bytes(data)
    header, warn, recovered = read_header(data, name)
    hl, bs = header.header_bytes, header.block_size
    layout = locate_blocks(data, hl, bs)
    if len(layout.offsets) == 0 and not layout.corrupt:
        raise SessionFileError(
            name,
            f"no whole block after the header ({len(data) - hl} bytes; a block is {bs} bytes)",
            offset=hl,
        )
    buf = np.frombuffer(data, dtype=np.uint8)
    rows = buf[layout.offsets[:, None] + np.arange(BLOCK_HEADER)]  # (0, BLOCK_HEADER) when none
    heads = np.ascontiguousarray(rows).view(BLOCK_DTYPE).ravel()
    b = _Blocks(name, header, data, layout.offsets, heads, [""] * len(heads), warn)
    is_data, is_end = _check_blocks(b)
    data_idx = _timeline(b, is_data, sum(e - s for s, e, _ in layout.damaged))
    data_idx, counts = _decode(b, data_idx, sink)
    ns = b.heads["n_samples"].astype(np.int64)[data_idx]
    gaps, causes, overflow_events, prev_end = _gaps(b, data_idx)
    overflow_lost = sum(n for _, n in overflow_events)
    close_reason, end_info = _end_block(
        b, is_end, data_idx, int(ns.sum()), overflow_lost, prev_end, gaps, causes
    )
    if len(b.good) and np.any(heads["seq"][b.good] != np.flatnonzero(b.good)) and not layout.damaged:
        b.warn.append(f"{name}: block sequence numbers do not match block positions (blocks out of order?)")

    corrupt = sorted(layout.corrupt + [(int(layout.offsets[i]), p) for i, p in enumerate(b.problems) if p])
    damaged = list(layout.damaged) + [
        (int(layout.offsets[i]), int(layout.offsets[i]) + bs, p) for i, p in enumerate(b.problems) if p
    ]
    torn_at = len(data) - layout.torn
    if layout.torn:
        damaged.append(
            (torn_at, len(data), "torn tail (the recording was cut off while a block was written)")
        )
    report = DecodeReport(
        blocks=len(heads) + len(layout.corrupt),
        corrupt_blocks=corrupt,
        gaps=gaps,
        overflow_lost=overflow_lost,
        torn_tail_bytes=layout.torn,
        close_reason=close_reason,
        warnings=[],
        data_blocks=len(data_idx),
        overflow_events=overflow_events,
        end_block=end_info,
        damaged_bytes=sorted(damaged),
        lost_samples=[(s, n, why) for (s, n), why in zip(gaps, causes, strict=True)],
        header_recovered=recovered,
    )
    _emit(report, b.warn, name, torn_at)
    first = b.heads["first_index"].astype(np.int64)[data_idx]
    sample_index = np.arange(len(counts), dtype=np.int64)  # empty with a sink
    if len(counts):
        sample_index += np.repeat(first - (np.cumsum(ns) - ns), ns)
    table = np.zeros(len(data_idx), BLOCK_TABLE_DTYPE)
    table["offset"] = layout.offsets[data_idx]
    for key in ("seq", "first_index", "n_samples", "t_ms", "flags", "lost"):
        table[key] = heads[key][data_idx]
    return DecodedSession(
        path=Path(path) if path is not None else None,
        header=header,
        sample_index=sample_index,
        counts=counts,
        report=report,
        block_table=table,
    )


def _emit(report: DecodeReport, warn: list[str], name: Path, torn_at: int) -> None:
    """Fill ``report.warnings`` and raise each as a warning, the most serious first."""
    out: list[tuple[type[SessionFileWarning], str]] = []
    if report.header_recovered:
        out.append(
            (HeaderRecoveredWarning, f"{name}: header damaged, session recovered: {report.header_recovered}")
        )
    if report.torn_tail_bytes:
        out.append(
            (
                TornTailWarning,
                f"{name} at byte offset {torn_at}: torn tail, {report.torn_tail_bytes} bytes after"
                " the last whole block ignored (the recording was cut off while a block was written)",
            )
        )
    if report.corrupt_blocks:
        off, why = report.corrupt_blocks[0]
        out.append(
            (
                CorruptBlockWarning,
                f"{name}: {len(report.corrupt_blocks)} corrupt block(s) skipped,"
                f" the first at byte offset {off}: {why}",
            )
        )
    out += [(SessionFileWarning, msg) for msg in warn]
    for cls, msg in out:
        report.warnings.append(msg)
        warnings.warn(cls(msg), stacklevel=3)


def format_losses(report: DecodeReport, sample_rate_hz: float | None = None) -> list[str]:
    """What a decode lost, one line each: damaged byte ranges and missing sample ranges with why.

    For ``hipsense info``; empty when nothing was lost. With ``sample_rate_hz`` the sample ranges are
    also given in seconds from the session start.
    """
    lines = []
    if report.header_recovered:
        lines.append(f"header damaged; recovered: {report.header_recovered}")
    for start, end, why in report.damaged_bytes:
        lines.append(f"bytes {start}..{end - 1} ({end - start} bytes) lost: {why}")
    for first, count, why in report.lost_samples:
        when = ""
        if sample_rate_hz:
            when = f" ({first / sample_rate_hz:.2f} s .. {(first + count) / sample_rate_hz:.2f} s)"
        lines.append(f"samples {first}..{first + count - 1}{when} missing ({count}): {why}")
    return lines
