"""Device session files (format 1): write, read and verify them on the host.

A session file is a header followed by an append-only sequence of fixed-size blocks; every block
carries its own magic, session id, sequence number, first sample index, flags, timestamp, a payload of
losslessly compressed int16 counts (:mod:`hipsense.formats.codec`) and a CRC32. The byte-level
specification is ``docs/session-format.md``; ``firmware/log.py`` writes the same bytes on the device.

Reading never gives up on a damaged file when some of it can be used: corrupt blocks are skipped and
listed, a torn tail is cut to the last whole block, and every such event is in
:class:`DecodeReport` and raised as a :class:`SessionFileWarning`. A file that cannot be read at all
(empty, not a session file, unknown version or codec, damaged header, no whole block) raises
:class:`hipsense.errors.SessionFileError` naming the file and the byte offset.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hipsense.conventions import (
    ACC_LSB_MG,
    DEFAULT_ACC_RANGE_G,
    DEFAULT_GYR_RANGE_DPS,
    DEFAULT_SAMPLE_RATE_HZ,
    GYR_LSB_MDPS,
    SENSOR_ACC,
    SENSOR_GYR,
    TIME_COLUMN,
    G,
)
from hipsense.errors import SessionFileError
from hipsense.formats import codec

__all__ = [
    "BLOCK_END",
    "BLOCK_DATA",
    "CLOSE_REASONS",
    "CorruptBlockWarning",
    "DecodeReport",
    "DecodedSession",
    "FORMAT_VERSION",
    "MOUNTINGS",
    "SessionFileWarning",
    "SessionHeader",
    "TornTailWarning",
    "decode_session",
    "encode_session",
    "read_device_file",
    "write_device_file",
]

#: (major, minor) written by this module. Readers accept any minor of their major.
FORMAT_VERSION = (1, 0)
HEADER_MAGIC = b"HSNS"
BLOCK_MAGIC = b"HSBK"
CODEC_RICE = 1

#: Header fields before the reserved area: see docs/session-format.md, "Header".
HEADER_STRUCT = struct.Struct("<4sBBBBIIIIIHHIIQHBBI16s16s16s")
HEADER_FIXED = HEADER_STRUCT.size  # 104
HEADER_MIN = HEADER_FIXED + 4  # fixed fields + CRC
HEADER_MAX = 1 << 20
#: Block header: see docs/session-format.md, "Block".
BLOCK_STRUCT = struct.Struct("<4sBBHIIIIHHI")
BLOCK_HEADER = BLOCK_STRUCT.size  # 32
BLOCK_OVERHEAD = BLOCK_HEADER + 4  # + CRC
END_STRUCT = struct.Struct("<IIIB3x")  # end block payload
BLOCK_SIZE_MIN = 256
BLOCK_SIZE_MAX = 65536

BLOCK_DATA = 1
BLOCK_END = 2
FLAG_GAP = 0x0001
FLAG_OVERFLOW = 0x0002
KNOWN_FLAGS = FLAG_GAP | FLAG_OVERFLOW

#: Mounting hint codes (header byte 50).
MOUNTINGS = {0: "unknown", 1: "back", 2: "side-left", 3: "side-right", 4: "front"}
_MOUNTING_CODES = {v: k for k, v in MOUNTINGS.items()}
#: Close reasons (end block).
CLOSE_REASONS = {
    1: "user_stop",
    2: "storage_full",
    3: "low_battery",
    4: "recovered_after_power_cut",
    5: "no_running",
}
_CLOSE_CODES = {v: k for k, v in CLOSE_REASONS.items()}

_BLOCK_DTYPE = np.dtype(
    [
        ("magic", "S4"),
        ("version", "u1"),
        ("type", "u1"),
        ("flags", "<u2"),
        ("session_id", "<u4"),
        ("seq", "<u4"),
        ("first_index", "<u4"),
        ("t_ms", "<u4"),
        ("n_samples", "<u2"),
        ("payload_len", "<u2"),
        ("lost", "<u4"),
    ]
)
assert _BLOCK_DTYPE.itemsize == BLOCK_HEADER

#: Per data block, as returned in :attr:`DecodedSession.block_table`.
BLOCK_TABLE_DTYPE = np.dtype(
    [
        ("offset", "<i8"),
        ("seq", "<u4"),
        ("first_index", "<i8"),
        ("n_samples", "<i4"),
        ("t_ms", "<u4"),
        ("flags", "<u2"),
        ("lost", "<u4"),
    ]
)


class SessionFileWarning(UserWarning):
    """Something in a session file was damaged or unusual but the rest could be read."""


class TornTailWarning(SessionFileWarning):
    """The file ends inside a block (recording cut off while a block was written)."""


class CorruptBlockWarning(SessionFileWarning):
    """Blocks failed their checks (CRC, magic, ...) and were skipped."""


@dataclass
class SessionHeader:
    """What the device knew when the session started. Scale factors are SI units per count."""

    device_id: str
    firmware_version: str
    sensor_model: str
    session_id: int
    sample_rate_hz: float
    channels: int  # 6 = acc + gyr, 3 = acc only
    acc_range_g: int
    gyr_range_dps: int
    acc_scale_ms2: float  # m/s^2 per count
    gyr_scale_dps: float  # deg/s per count
    mounting: str  # one of MOUNTINGS' values
    start_time_unix: int  # s; 0 when the device clock was not set
    block_size: int = 2048
    #: Sensor output data rate setting (Hz); None = the same as ``sample_rate_hz``.
    odr_hz: float | None = None
    #: Most samples a block may hold (bounds the device's RAM; part of the encoding rule).
    block_max_samples: int = 1024
    #: Bytes before the first block; None = ``block_size`` (blocks aligned to the block size).
    header_length: int | None = None
    codec: int = CODEC_RICE
    format_version: tuple[int, int] = FORMAT_VERSION
    flags: int = 0

    @classmethod
    def default(cls, **overrides) -> SessionHeader:
        """An LSM6DSOX-like header at the project defaults (208 Hz, +-16 g, +-2000 dps, 6 channels)."""
        acc_range = overrides.get("acc_range_g", DEFAULT_ACC_RANGE_G)
        gyr_range = overrides.get("gyr_range_dps", DEFAULT_GYR_RANGE_DPS)
        values = dict(
            device_id="hipsense-sim",
            firmware_version="0.0.0",
            sensor_model="LSM6DSOX",
            session_id=1,
            sample_rate_hz=DEFAULT_SAMPLE_RATE_HZ,
            channels=6,
            acc_range_g=acc_range,
            gyr_range_dps=gyr_range,
            mounting="back",
            start_time_unix=0,
        )
        if "acc_scale_ms2" not in overrides:
            values["acc_scale_ms2"] = ACC_LSB_MG[acc_range] * 1e-3 * G
        if "gyr_scale_dps" not in overrides:
            values["gyr_scale_dps"] = GYR_LSB_MDPS[gyr_range] * 1e-3 if gyr_range else 0.0
        values.update(overrides)
        return cls(**values)

    # Integer forms as stored in the file.
    @property
    def acc_scale_ng(self) -> int:
        """Acceleration scale in nano-g per count, as stored."""
        return int(round(self.acc_scale_ms2 / G * 1e9))

    @property
    def gyr_scale_ndps(self) -> int:
        """Angular-rate scale in nano-deg/s per count, as stored."""
        return int(round(self.gyr_scale_dps * 1e9))

    @property
    def sample_rate_mhz(self) -> int:
        return int(round(self.sample_rate_hz * 1000))

    @property
    def odr_mhz(self) -> int:
        return int(round((self.odr_hz if self.odr_hz is not None else self.sample_rate_hz) * 1000))

    @property
    def header_bytes(self) -> int:
        return self.block_size if self.header_length is None else self.header_length

    @property
    def payload_capacity(self) -> int:
        return self.block_size - BLOCK_OVERHEAD

    def validate(self) -> None:
        """Raise ValueError when the header cannot be written as it is."""
        problems = []
        if self.channels not in (3, 6):
            problems.append(f"channels must be 3 or 6, not {self.channels}")
        bs = self.block_size
        if not (BLOCK_SIZE_MIN <= bs <= BLOCK_SIZE_MAX) or bs & (bs - 1):
            problems.append(f"block_size must be a power of two in 256..65536, not {bs}")
        if not (HEADER_MIN <= self.header_bytes <= HEADER_MAX):
            problems.append(f"header_length must be in {HEADER_MIN}..{HEADER_MAX}, not {self.header_bytes}")
        if not (1 <= self.block_max_samples <= 0xFFFF):
            problems.append(f"block_max_samples must be in 1..65535, not {self.block_max_samples}")
        if not (0 < self.sample_rate_mhz <= 0xFFFFFFFF):
            problems.append(f"sample_rate_hz out of range: {self.sample_rate_hz}")
        if not (0 < self.odr_mhz <= 0xFFFFFFFF):
            problems.append(f"odr_hz out of range: {self.odr_hz}")
        if not (0 <= self.session_id <= 0xFFFFFFFF):
            problems.append(f"session_id must fit 32 bits, not {self.session_id}")
        if not (0 <= self.start_time_unix < 1 << 63):
            problems.append(f"start_time_unix out of range: {self.start_time_unix}")
        if not (0 <= self.acc_range_g <= 0xFFFF and 0 <= self.gyr_range_dps <= 0xFFFF):
            problems.append("ranges must fit 16 bits")
        if not (0 <= self.acc_scale_ng <= 0xFFFFFFFF and 0 <= self.gyr_scale_ndps <= 0xFFFFFFFF):
            problems.append("scale factors out of range")
        if self.mounting not in _MOUNTING_CODES:
            problems.append(f"mounting must be one of {sorted(_MOUNTING_CODES)}, not {self.mounting!r}")
        if self.codec != CODEC_RICE:
            problems.append(f"codec {self.codec} is not supported by this writer")
        if tuple(self.format_version)[0] != FORMAT_VERSION[0]:
            problems.append(f"format_version {self.format_version} is not written by this module")
        if not (0 <= self.flags <= 0xFFFFFFFF):
            problems.append("flags must fit 32 bits")
        for name in ("device_id", "firmware_version", "sensor_model"):
            raw = getattr(self, name).encode("utf-8")
            if len(raw) > 16 or b"\0" in raw:
                problems.append(f"{name} must be at most 16 UTF-8 bytes without NUL: {getattr(self, name)!r}")
        if problems:
            raise ValueError("invalid session header: " + "; ".join(problems))

    def to_bytes(self) -> bytes:
        """The header as stored (``header_bytes`` long, CRC last)."""
        self.validate()
        fixed = HEADER_STRUCT.pack(
            HEADER_MAGIC,
            self.format_version[0],
            self.format_version[1],
            self.channels,
            self.codec,
            self.header_bytes,
            self.block_size,
            self.session_id,
            self.odr_mhz,
            self.sample_rate_mhz,
            self.acc_range_g,
            self.gyr_range_dps,
            self.acc_scale_ng,
            self.gyr_scale_ndps,
            self.start_time_unix,
            self.block_max_samples,
            _MOUNTING_CODES[self.mounting],
            0,
            self.flags,
            self.device_id.encode("utf-8"),
            self.firmware_version.encode("utf-8"),
            self.sensor_model.encode("utf-8"),
        )
        body = fixed + bytes(self.header_bytes - 4 - len(fixed))
        return body + struct.pack("<I", zlib.crc32(body))


@dataclass
class DecodeReport:
    """What went wrong or was noteworthy while decoding; never silent.

    ``blocks`` counts every whole block in the file (data, end, corrupt, unknown); ``gaps`` lists
    every run of missing sample indices (before the first block too, and where corrupt blocks were
    skipped) as (first missing index, count).
    """

    blocks: int
    corrupt_blocks: list[tuple[int, str]]  # (byte offset, problem)
    gaps: list[tuple[int, int]]  # (first missing sample index, count)
    overflow_lost: int
    torn_tail_bytes: int
    close_reason: str | None
    warnings: list[str]
    data_blocks: int = 0
    #: (index of the first sample after the overflow, samples lost) per block flagged with an overflow.
    overflow_events: list[tuple[int, int]] = field(default_factory=list)
    #: What the end block says (None without one): total_samples, data_blocks, overflow_lost, next_index.
    end_block: dict | None = None


@dataclass
class DecodedSession:
    path: Path | None
    header: SessionHeader
    sample_index: np.ndarray  # int64, per sample present
    counts: np.ndarray  # int16 (n, channels)
    report: DecodeReport
    #: One row per decoded data block (offset, seq, first_index, n_samples, t_ms, flags, lost).
    block_table: np.ndarray = field(default_factory=lambda: np.zeros(0, BLOCK_TABLE_DTYPE))

    def to_dataframe(self) -> pd.DataFrame:
        """Samples in SI units: ``t_s, acc_x, acc_y, acc_z[, gyr_x, gyr_y, gyr_z]`` (m/s^2, deg/s)."""
        h = self.header
        cols = {TIME_COLUMN: self.sample_index / h.sample_rate_hz}
        for i, name in enumerate(SENSOR_ACC):
            cols[name] = self.counts[:, i] * h.acc_scale_ms2
        if h.channels == 6:
            for i, name in enumerate(SENSOR_GYR):
                cols[name] = self.counts[:, 3 + i] * h.gyr_scale_dps
        return pd.DataFrame(cols)


# --------------------------------------------------------------------------------------------------
# Writing


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
    """
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
    if close_reason is not None and close_reason not in _CLOSE_CODES:
        raise ValueError(f"close_reason must be one of {sorted(_CLOSE_CODES)} or None, not {close_reason!r}")
    rate_mhz = header.sample_rate_mhz

    # Segments: contiguous runs of the timeline without an overflow inside.
    cut = np.zeros(n, dtype=bool)
    if n:
        cut[0] = True
        cut[1:] = np.diff(sample_index) != 1
        cut[overflow_at] = True
    seg_starts = list(np.flatnonzero(cut)) + [n]

    out = [header.to_bytes()]
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
        payload = END_STRUCT.pack(n, seq, min(total_lost, 0xFFFFFFFF), _CLOSE_CODES[close_reason])
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
        )
    )
    return path


# --------------------------------------------------------------------------------------------------
# Reading


def is_session_file(path: str | Path) -> bool:
    """Whether ``path`` is to be read as a session file rather than a CSV: it starts with
    :data:`HEADER_MAGIC`, or it is named ``.hsn`` (then a damaged or foreign file is reported as a bad
    session file, not as a CSV without acceleration columns)."""
    path = Path(path)
    if path.suffix.lower() == ".hsn":
        return True
    with open(path, "rb") as fh:
        return fh.read(len(HEADER_MAGIC)) == HEADER_MAGIC


def read_device_file(path: str | Path) -> DecodedSession:
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
    return decode_session(data, path=path)


def parse_header(data: bytes, name: Path) -> tuple[SessionHeader, list[str]]:
    """The header at the start of ``data`` and its warnings; SessionFileError naming ``name`` if bad."""
    size = len(data)
    if size == 0:
        raise SessionFileError(name, "empty file (no header)", offset=0)
    if data[:4] != HEADER_MAGIC[: min(size, 4)]:
        if data[:4] == BLOCK_MAGIC:
            problem = "starts with a data block: the session header is missing"
        else:
            problem = f"not a hipsense session file (magic {bytes(data[:4])!r}, expected {HEADER_MAGIC!r})"
        raise SessionFileError(name, problem, offset=0)
    if size < 8:
        raise SessionFileError(name, f"truncated header ({size} bytes)", offset=size)
    major, minor = data[4], data[5]
    if major != FORMAT_VERSION[0]:
        raise SessionFileError(
            name,
            f"unsupported format version {major}.{minor} (this reader reads {FORMAT_VERSION[0]}.x)",
            offset=4,
        )
    if size < HEADER_MIN:
        raise SessionFileError(
            name, f"truncated header ({size} bytes, needs at least {HEADER_MIN})", offset=size
        )
    fields = HEADER_STRUCT.unpack_from(data, 0)
    (
        _,
        _,
        _,
        channels,
        codec_id,
        header_length,
        block_size,
        session_id,
        odr_mhz,
        rate_mhz,
        acc_range,
        gyr_range,
        acc_ng,
        gyr_ndps,
        start_time,
        max_samples,
        mounting_code,
        _,
        flags,
        device_id,
        fw,
        sensor,
    ) = fields
    if not (HEADER_MIN <= header_length <= HEADER_MAX):
        raise SessionFileError(name, f"invalid header length {header_length}", offset=8)
    if size < header_length:
        raise SessionFileError(
            name, f"truncated header ({size} bytes, the header says it is {header_length})", offset=size
        )
    stored = struct.unpack_from("<I", data, header_length - 4)[0]
    computed = zlib.crc32(memoryview(data)[: header_length - 4])
    if stored != computed:
        raise SessionFileError(
            name,
            f"header CRC mismatch (stored {stored:#010x}, computed {computed:#010x})",
            offset=header_length - 4,
        )
    if channels not in (3, 6):
        raise SessionFileError(name, f"unsupported channel count {channels} (expected 3 or 6)", offset=6)
    if codec_id != CODEC_RICE:
        raise SessionFileError(name, f"unsupported codec {codec_id} (this reader decodes codec 1)", offset=7)
    if not (BLOCK_SIZE_MIN <= block_size <= BLOCK_SIZE_MAX) or block_size & (block_size - 1):
        raise SessionFileError(name, f"invalid block size {block_size}", offset=12)
    if rate_mhz == 0:
        raise SessionFileError(name, "sample rate is 0", offset=24)
    if max_samples == 0:
        raise SessionFileError(name, "block_max_samples is 0", offset=48)
    warn = []
    if minor > FORMAT_VERSION[1]:
        warn.append(
            f"format version {major}.{minor} is newer than this reader ({FORMAT_VERSION[0]}.{FORMAT_VERSION[1]}):"
            " fields it does not know are ignored"
        )
    mounting = MOUNTINGS.get(mounting_code)
    if mounting is None:
        warn.append(f"unknown mounting code {mounting_code}, read as 'unknown'")
        mounting = "unknown"

    def text(raw: bytes) -> str:
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")

    header = SessionHeader(
        device_id=text(device_id),
        firmware_version=text(fw),
        sensor_model=text(sensor),
        session_id=session_id,
        sample_rate_hz=rate_mhz / 1000,
        channels=channels,
        acc_range_g=acc_range,
        gyr_range_dps=gyr_range,
        acc_scale_ms2=acc_ng * 1e-9 * G,
        gyr_scale_dps=gyr_ndps * 1e-9,
        mounting=mounting,
        start_time_unix=start_time,
        block_size=block_size,
        odr_hz=odr_mhz / 1000,
        block_max_samples=max_samples,
        header_length=header_length,
        codec=codec_id,
        format_version=(major, minor),
        flags=flags,
    )
    return header, warn


def decode_session(data: bytes, *, path: str | Path | None = None) -> DecodedSession:  # noqa: C901
    """Decode a session file's bytes.

    Raises :class:`~hipsense.errors.SessionFileError` when nothing can be decoded; otherwise decodes
    every good block and reports (and warns about) the rest.
    """
    name = Path(path) if path is not None else Path("<bytes>")
    data = bytes(data)
    header, warn = parse_header(data, name)
    hl, bs, C = header.header_bytes, header.block_size, header.channels
    body = len(data) - hl
    nblocks, torn = divmod(body, bs)
    if nblocks == 0:
        raise SessionFileError(
            name, f"no whole block after the header ({body} bytes; a block is {bs} bytes)", offset=hl
        )
    corrupt: list[tuple[int, str]] = []
    torn_msg = None
    if torn:
        torn_msg = (
            f"{name} at byte offset {hl + nblocks * bs}: torn tail, {torn} bytes after the last whole block"
            " ignored (the recording was cut off while a block was written)"
        )

    buf = np.frombuffer(data, dtype=np.uint8)
    slots = buf[hl : hl + nblocks * bs].reshape(nblocks, bs)
    heads = np.ascontiguousarray(slots[:, :BLOCK_HEADER]).view(_BLOCK_DTYPE).ravel()
    stored_crc = np.ascontiguousarray(slots[:, bs - 4 :]).view("<u4").ravel()
    mv = memoryview(data)
    offsets = hl + bs * np.arange(nblocks, dtype=np.int64)
    crc_ok = (
        np.fromiter(
            (zlib.crc32(mv[o : o + bs - 4]) for o in offsets.tolist()), dtype=np.uint32, count=nblocks
        )
        == stored_crc
    )

    problems = [""] * nblocks
    magic_ok = heads["magic"] == BLOCK_MAGIC
    for i in np.flatnonzero(~(magic_ok & crc_ok)):
        if not magic_ok[i]:
            raw = bytes(slots[i, :4])
            if raw in (b"\xff\xff\xff\xff", b"\0\0\0\0"):
                problems[i] = "empty block (erased flash, no magic)"
            else:
                problems[i] = f"no block magic (found {raw!r})"
        else:
            problems[i] = "block CRC mismatch"
    good = magic_ok & crc_ok
    for i in np.flatnonzero(good & (heads["version"] != FORMAT_VERSION[0])):
        problems[i] = f"block format version {heads['version'][i]} (expected {FORMAT_VERSION[0]})"
    good &= heads["version"] == FORMAT_VERSION[0]
    for i in np.flatnonzero(good & (heads["session_id"] != header.session_id)):
        problems[i] = f"block of session {heads['session_id'][i]} in session {header.session_id}"
    good &= heads["session_id"] == header.session_id

    cap = bs - BLOCK_OVERHEAD
    is_data = good & (heads["type"] == BLOCK_DATA)
    is_end = good & (heads["type"] == BLOCK_END)
    unknown = good & ~is_data & ~is_end
    for i in np.flatnonzero(unknown):
        warn.append(f"{name} at byte offset {offsets[i]}: unknown block type {heads['type'][i]} skipped")
    # Every value costs at least its unary one-bit, every frame its parameter nibble: a payload that
    # cannot hold them is refused before any decoding (and bounds the decoder's work per block).
    ns = heads["n_samples"].astype(np.int64)
    min_bits = 4 * C * (1 + (ns + codec.FRAME - 1) // codec.FRAME) + C * ns
    bad_shape = is_data & (
        (ns == 0)
        | (ns > header.block_max_samples)
        | (heads["payload_len"] > cap)
        | (8 * (heads["payload_len"].astype(np.int64) - codec.ORDERS_BYTES) < min_bits)
    )
    for i in np.flatnonzero(bad_shape):
        problems[i] = f"bad sample count {heads['n_samples'][i]} or payload length {heads['payload_len'][i]}"
    is_data &= ~bad_shape
    bad_end = is_end & ((heads["payload_len"] < END_STRUCT.size) | (heads["payload_len"] > cap))
    for i in np.flatnonzero(bad_end):
        problems[i] = f"end block with payload length {heads['payload_len'][i]}"
    is_end &= ~bad_end

    # Timeline: data blocks must move forward.
    data_idx = np.flatnonzero(is_data)
    first = heads["first_index"].astype(np.int64)
    nsamp = heads["n_samples"].astype(np.int64)
    keep = []
    expected = 0
    for i in data_idx.tolist():
        if first[i] < expected:
            problems[i] = (
                f"sample index {first[i]} goes backwards (previous block ended at {expected}); block skipped"
            )
            continue
        keep.append(i)
        expected = first[i] + nsamp[i]
    data_idx = np.array(keep, dtype=np.int64)

    # Payloads, decoded all at once.
    padded = np.concatenate([buf, np.zeros(64, dtype=np.uint8)])
    ok, counts, pproblems = codec.decode_payloads(
        padded,
        offsets[data_idx] + BLOCK_HEADER,
        heads["payload_len"][data_idx],
        nsamp[data_idx],
        C,
    )
    for j in np.flatnonzero(~ok):
        problems[data_idx[j]] = "payload does not decode: " + pproblems[j]
    data_idx = data_idx[ok]

    for b in range(nblocks):
        if problems[b]:
            corrupt.append((int(offsets[b]), problems[b]))

    # Gaps, overflows, flags.
    gaps: list[tuple[int, int]] = []
    overflow_events: list[tuple[int, int]] = []
    flag_warnings = []
    prev_end = 0
    prev_slot = -1
    flags = heads["flags"]
    for i in data_idx.tolist():
        f = int(first[i])
        jump = f - prev_end
        damaged_between = any(problems[j] or unknown[j] for j in range(prev_slot + 1, i))
        if jump > 0:
            gaps.append((prev_end, jump))
            if not flags[i] & FLAG_GAP and not damaged_between:
                flag_warnings.append(
                    f"byte offset {offsets[i]}: samples {prev_end}..{f - 1} missing without gap flag"
                )
        elif flags[i] & FLAG_GAP:
            flag_warnings.append(f"byte offset {offsets[i]}: gap flag without missing samples")
        if flags[i] & FLAG_OVERFLOW:
            overflow_events.append((f, int(heads["lost"][i])))
        if int(flags[i]) & ~KNOWN_FLAGS:
            flag_warnings.append(f"byte offset {offsets[i]}: unknown flags {int(flags[i]):#06x} ignored")
        prev_end = f + int(nsamp[i])
        prev_slot = i
    for msg in flag_warnings[:5]:
        warn.append(f"{name} at {msg}")
    if len(flag_warnings) > 5:
        warn.append(f"{name}: {len(flag_warnings) - 5} more flag inconsistencies")
    overflow_lost = sum(n for _, n in overflow_events)
    if any(n == 0 for _, n in overflow_events):
        warn.append(f"{name}: IMU FIFO overflow(s) of unknown size (lost count 0)")

    # End block.
    close_reason = None
    end_info = None
    end_idx = np.flatnonzero(is_end)
    if len(end_idx) == 0:
        warn.append(
            f"{name}: no end block: the recording did not close normally (power cut or still recording?)"
        )
    else:
        e = int(end_idx[0])
        o = int(offsets[e]) + BLOCK_HEADER
        total, nblk, lost_total, reason_code = END_STRUCT.unpack_from(data, o)
        close_reason = CLOSE_REASONS.get(reason_code)
        if close_reason is None:
            close_reason = f"unknown({reason_code})"
            warn.append(f"{name} at byte offset {offsets[e]}: unknown close reason code {reason_code}")
        end_info = {
            "total_samples": total,
            "data_blocks": nblk,
            "overflow_lost": lost_total,
            "next_index": int(first[e]),
        }
        if len(end_idx) > 1:
            warn.append(
                f"{name}: {len(end_idx)} end blocks; the first one (byte offset {offsets[e]}) is used"
            )
        later = data_idx[data_idx > e]
        if len(later):
            warn.append(
                f"{name}: {len(later)} data blocks after the end block (byte offset {offsets[e]}) were read"
            )
        if total != len(counts):
            warn.append(f"{name}: the end block says {total} samples, {len(counts)} were decoded")
        if lost_total != min(overflow_lost, 0xFFFFFFFF):
            warn.append(
                f"{name}: the end block says {lost_total} samples lost to overflow, the blocks say {overflow_lost}"
            )
        if first[e] > prev_end:
            gaps.append((prev_end, int(first[e]) - prev_end))

    # Sample indices of the decoded samples.
    ns = nsamp[data_idx]
    starts = np.repeat(first[data_idx] - (np.cumsum(ns) - ns), ns)
    sample_index = starts + np.arange(int(ns.sum()), dtype=np.int64)

    table = np.zeros(len(data_idx), BLOCK_TABLE_DTYPE)
    table["offset"] = offsets[data_idx]
    for key in ("seq", "first_index", "n_samples", "t_ms", "flags", "lost"):
        table[key] = heads[key][data_idx]
    seq = heads["seq"]
    seq_good = np.flatnonzero(good)
    if len(seq_good) and np.any(seq[seq_good] != seq_good):
        warn.append(f"{name}: block sequence numbers do not match block positions (blocks out of order?)")

    warning_messages = []
    if torn_msg:
        warning_messages.append(torn_msg)
        warnings.warn(TornTailWarning(torn_msg), stacklevel=2)
    if corrupt:
        off, why = corrupt[0]
        msg = f"{name}: {len(corrupt)} corrupt block(s) skipped, the first at byte offset {off}: {why}"
        warning_messages.append(msg)
        warnings.warn(CorruptBlockWarning(msg), stacklevel=2)
    for msg in warn:
        warning_messages.append(msg)
        warnings.warn(SessionFileWarning(msg), stacklevel=2)

    report = DecodeReport(
        blocks=nblocks,
        corrupt_blocks=corrupt,
        gaps=gaps,
        overflow_lost=overflow_lost,
        torn_tail_bytes=torn,
        close_reason=close_reason,
        warnings=warning_messages,
        data_blocks=len(data_idx),
        overflow_events=overflow_events,
        end_block=end_info,
    )
    return DecodedSession(
        path=Path(path) if path is not None else None,
        header=header,
        sample_index=sample_index,
        counts=counts,
        report=report,
        block_table=table,
    )
