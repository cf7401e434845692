"""Reading a session file's header: every field bounded where it is read, and recovery when damaged.

:func:`parse_header` reads an intact header and refuses, with a
:class:`~hipsense.errors.SessionFileError` naming the field and its byte offset, any value outside the
bounds of docs/session-format.md ("Bounds"). :func:`recover_header` is the reader's fallback when the
header's CRC fails: what the blocks carry (block size, header length, session id, channel count, the
sample rate through their times) is taken from them, the rest from the damaged header when it passes
the same bounds, and the result is flagged.
"""

from __future__ import annotations

import struct
import unicodedata
import zlib
from pathlib import Path

import numpy as np

from hipsense.conventions import G
from hipsense.errors import SessionFileError
from hipsense.formats import codec
from hipsense.formats.session_spec import (
    BLOCK_DATA,
    BLOCK_DTYPE,
    BLOCK_END,
    BLOCK_HEADER,
    BLOCK_MAGIC,
    BLOCK_SIZE_MAX,
    BLOCK_SIZE_MIN,
    CODEC_RICE,
    END_STRUCT,
    FORMAT_VERSION,
    HEADER_FIXED,
    HEADER_MAGIC,
    HEADER_MAX,
    HEADER_MIN,
    HEADER_STRUCT,
    MOUNTINGS,
    ODR_MHZ_MAX,
    RATE_MHZ_MAX,
    RATE_MHZ_MIN,
    READER_VERSION,
    START_TIME_MAX,
    START_TIME_MIN,
    SessionHeader,
    sensor_field_problems,
)

#: Byte offset of each header field, for errors that name where a bad value is.
FIELD_OFFSETS = {
    "channels": 6,
    "codec": 7,
    "header_length": 8,
    "block_size": 12,
    "odr_mhz": 20,
    "sample_rate_mhz": 24,
    "acc_range_g": 28,
    "gyr_range_dps": 30,
    "acc_scale_ng": 32,
    "gyr_scale_ndps": 36,
    "start_time_unix": 40,
    "block_max_samples": 48,
}
#: Rates the supported IMUs record at (ST and TDK output data rates), for a rate recovered from times.
STANDARD_RATES_HZ = (12.5, 25, 26, 50, 52, 100, 104, 200, 208, 416, 500, 833, 1000, 1666)
#: At most this many block markers are tried when looking for the first block of a damaged header.
_MAX_CANDIDATES = 64


def text_field(raw: bytes) -> str:
    """A NUL-padded UTF-8 string field, made safe to print: bad UTF-8 and control or format
    characters (terminal escapes, bidi overrides) become U+FFFD."""
    decoded = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
    return "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cf") else c for c in decoded)


def _fields(data: bytes) -> dict:
    names = (
        "magic major minor channels codec header_length block_size session_id odr_mhz rate_mhz acc_range "
        "gyr_range acc_ng gyr_ndps start_time max_samples mounting_code reserved flags device_id fw sensor"
    ).split()
    return dict(zip(names, HEADER_STRUCT.unpack_from(data, 0), strict=True))


def _build(f: dict, warn: list[str], **override) -> SessionHeader:
    f = f | override
    mounting = MOUNTINGS.get(f["mounting_code"])
    if mounting is None:
        warn.append(f"unknown mounting code {f['mounting_code']}, read as 'unknown'")
        mounting = "unknown"
    if f["flags"]:
        warn.append(f"unknown header flags {f['flags']:#010x} ignored")
    return SessionHeader(
        device_id=text_field(f["device_id"]),
        firmware_version=text_field(f["fw"]),
        sensor_model=text_field(f["sensor"]),
        session_id=f["session_id"],
        sample_rate_hz=f["rate_mhz"] / 1000,
        channels=f["channels"],
        acc_range_g=f["acc_range"],
        gyr_range_dps=f["gyr_range"],
        acc_scale_ms2=f["acc_ng"] * 1e-9 * G,
        gyr_scale_dps=f["gyr_ndps"] * 1e-9,
        mounting=mounting,
        start_time_unix=f["start_time"],
        block_size=f["block_size"],
        odr_hz=f["odr_mhz"] / 1000,
        block_max_samples=f["max_samples"],
        header_length=f["header_length"],
        codec=f["codec"],
        format_version=(f["major"], f["minor"]),
        flags=f["flags"],
    )


def _check_bounds(f: dict, name: Path, *, skip: tuple[str, ...] = ()) -> None:
    """Refuse any header value outside docs/session-format.md's bounds, naming the field."""

    def refuse(field: str, problem: str) -> None:
        raise SessionFileError(name, f"header field {field}: {problem}", offset=FIELD_OFFSETS[field])

    if f["channels"] not in (3, 6):
        refuse("channels", f"unsupported channel count {f['channels']} (expected 3 or 6)")
    if f["codec"] != CODEC_RICE:
        refuse("codec", f"unsupported codec {f['codec']} (this reader decodes codec 1)")
    bs = f["block_size"]
    if not (BLOCK_SIZE_MIN <= bs <= BLOCK_SIZE_MAX) or bs & (bs - 1):
        refuse("block_size", f"invalid block size {bs} (a power of two in 256..65536)")
    if "sample_rate_mhz" not in skip and not (RATE_MHZ_MIN <= f["rate_mhz"] <= RATE_MHZ_MAX):
        refuse("sample_rate_mhz", f"sample rate {f['rate_mhz']} mHz is outside 10..2000 Hz")
    if f["odr_mhz"] > ODR_MHZ_MAX:
        refuse("odr_mhz", f"output data rate {f['odr_mhz']} mHz is above 32 kHz")
    t = f["start_time"]
    if "start_time_unix" not in skip and t != 0 and not (START_TIME_MIN <= t < START_TIME_MAX):
        refuse("start_time_unix", f"{t} is outside 2000-01-01..2100-01-01 UTC (0 = clock not set)")
    if f["max_samples"] == 0:
        refuse("block_max_samples", "block_max_samples is 0")
    probe = _build(f, [], mounting_code=0, flags=0)
    for field, problem in sensor_field_problems(probe):
        refuse(field, problem)


def _scale_warnings(h: SessionHeader) -> list[str]:
    """Ranges and scale factors that disagree by more than 2x (a full scale of counts x scale)."""
    out = []
    full = 32768 * h.acc_scale_ng * 1e-9
    if not (0.5 <= full / h.acc_range_g <= 2):
        out.append(
            f"acc_scale_ng {h.acc_scale_ng} gives +-{full:.3g} g at full scale, the range says {h.acc_range_g}"
        )
    if h.channels == 6:
        full = 32768 * h.gyr_scale_ndps * 1e-9
        if not (0.5 <= full / h.gyr_range_dps <= 2):
            out.append(
                f"gyr_scale_ndps {h.gyr_scale_ndps} gives +-{full:.4g} deg/s at full scale,"
                f" the range says {h.gyr_range_dps}"
            )
    return out


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
    f = _fields(data)
    hl = f["header_length"]
    if not (HEADER_MIN <= hl <= HEADER_MAX):
        raise SessionFileError(name, f"invalid header length {hl}", offset=8)
    if size < hl:
        raise SessionFileError(
            name, f"truncated header ({size} bytes, the header says it is {hl})", offset=size
        )
    stored = struct.unpack_from("<I", data, hl - 4)[0]
    computed = zlib.crc32(memoryview(data)[: hl - 4])
    if stored != computed:
        raise SessionFileError(
            name, f"header CRC mismatch (stored {stored:#010x}, computed {computed:#010x})", offset=hl - 4
        )
    _check_bounds(f, name)
    warn = []
    if minor > READER_VERSION[1]:
        warn.append(
            f"format version {major}.{minor} is newer than this reader ({READER_VERSION[0]}.{READER_VERSION[1]}):"
            " fields it does not know are ignored"
        )
    header = _build(f, warn)
    warn += _scale_warnings(header)
    return header, warn


# --------------------------------------------------------------------------------------------------
# Recovery of a damaged header


def _first_block(data: bytes) -> tuple[int, int] | None:
    """(offset, block size) of the first block marker whose CRC holds for some block size."""
    start, tried = 4, 0
    while tried < _MAX_CANDIDATES:
        o = data.find(BLOCK_MAGIC, start)
        if o < 0:
            return None
        tried += 1
        if o >= HEADER_MIN - 4 and data[o + 4] == FORMAT_VERSION[0]:
            bs = BLOCK_SIZE_MIN
            while bs <= BLOCK_SIZE_MAX and o + bs <= len(data):
                if (
                    zlib.crc32(memoryview(data)[o : o + bs - 4])
                    == struct.unpack_from("<I", data, o + bs - 4)[0]
                ):
                    return o, bs
                bs *= 2
        start = o + 1
    return None


def _grid_heads(data: bytes, first: int, bs: int) -> tuple[np.ndarray, np.ndarray]:
    """Headers of the CRC-valid blocks on the grid from ``first`` on and their slot numbers."""
    n = (len(data) - first) // bs
    buf = np.frombuffer(data, np.uint8, count=first + n * bs)[first:].reshape(n, bs)
    crcs = np.ascontiguousarray(buf[:, bs - 4 :]).view("<u4").ravel()
    mv = memoryview(data)
    ok = (
        np.array([zlib.crc32(mv[first + i * bs : first + (i + 1) * bs - 4]) for i in range(n)], np.uint32)
        == crcs
    )
    return np.ascontiguousarray(buf[ok, :BLOCK_HEADER]).view(BLOCK_DTYPE).ravel(), np.flatnonzero(ok)


def _rate_from_times(heads: np.ndarray) -> float | None:
    """Sample rate (Hz) from the data blocks' first_index against their device times (>= 2 s apart)."""
    d = heads[heads["type"] == BLOCK_DATA]
    if len(d) < 2:
        return None
    t = d["t_ms"].astype(np.int64)
    i = d["first_index"].astype(np.int64)
    if t[-1] - t[0] < 2000 or i[-1] <= i[0]:
        return None
    return float((i[-1] - i[0]) * 1000 / (t[-1] - t[0]))


def _channels_that_decode(data: bytes, offset: int, head: np.void, preferred: int) -> int | None:
    n, plen = int(head["n_samples"]), int(head["payload_len"])
    if n == 0 or plen > len(data) - offset - BLOCK_HEADER:
        return None
    payload = data[offset + BLOCK_HEADER : offset + BLOCK_HEADER + plen]
    for c in dict.fromkeys((preferred, 6, 3)):
        if c not in (3, 6) or 8 * (plen - codec.ORDERS_BYTES) < c * n:
            continue
        try:
            codec.decode_payload(payload, n, c)
        except Exception:  # a probe: any failure only means "not this channel count"
            continue
        return c
    return None


def _header_copy(
    data: bytes, first: int, bs: int, heads: np.ndarray, slots: np.ndarray, name: Path
) -> tuple[SessionHeader, list[str], str] | None:
    """The header from the copy a 1.1 end block carries (protected by the end block's CRC), if any."""
    for r in np.flatnonzero(
        (heads["type"] == BLOCK_END) & (heads["payload_len"] >= END_STRUCT.size + HEADER_FIXED)
    ):
        o = first + int(slots[r]) * bs + BLOCK_HEADER + END_STRUCT.size
        copy = data[o : o + HEADER_FIXED]
        if copy[:4] != HEADER_MAGIC or copy[4] != FORMAT_VERSION[0]:
            continue
        f = _fields(copy)
        if f["block_size"] != bs or f["session_id"] != int(heads["session_id"][r]):
            continue
        try:
            _check_bounds(f, name)
        except SessionFileError as e:
            raise SessionFileError(
                name, f"damaged header, and its copy is refused: {e.problem}", offset=e.offset
            ) from None
        warn: list[str] = []
        header = _build(f, warn)
        warn += _scale_warnings(header)
        where = first + int(slots[r]) * bs
        return (
            header,
            warn,
            f"every field from the header copy in the end block at byte offset {where} (CRC valid)",
        )
    return None


def recover_header(data: bytes, name: Path, damage: SessionFileError) -> tuple[SessionHeader, list[str], str]:
    """A header for a file whose own header is damaged, from its blocks and what of it passes the bounds.

    Returns the header, its warnings and a one-line account of what was recovered. Raises ``damage``
    (the original error) when there is no block to recover from, or a one-line SessionFileError naming
    the field that cannot be recovered.
    """
    if len(data) < HEADER_MIN or data[:4] == BLOCK_MAGIC:
        raise damage
    found = _first_block(data)
    if found is None:
        raise damage
    first, bs = found
    heads, slots = _grid_heads(data, first, bs)
    copied = _header_copy(data, first, bs, heads, slots, name)
    if copied is not None:
        return copied
    f = _fields(data)
    sid = int(heads["session_id"][0])
    heads = heads[heads["session_id"] == sid]
    hl = f["header_length"]
    # The header's length when it agrees with the grid of blocks, else where the first block is.
    if not (HEADER_MIN <= hl <= first and (first - hl) % bs == 0):
        hl = first - int(heads["seq"][0]) * bs if first - int(heads["seq"][0]) * bs >= HEADER_MIN else first
    data_rows = np.flatnonzero(heads["type"] == BLOCK_DATA)
    channels = f["channels"]
    if len(data_rows):
        r = int(data_rows[0])
        channels = _channels_that_decode(data, first + int(slots[r]) * bs, heads[r], f["channels"])
        if channels is None:
            raise SessionFileError(name, "header damaged and no block decodes: cannot recover", offset=0)
    elif channels not in (3, 6):
        raise SessionFileError(name, "header damaged and its channel count cannot be recovered", offset=6)
    notes = [f"block size {bs}, header length {hl}, session id {sid} and {channels} channels from the blocks"]
    rate_mhz = f["rate_mhz"]
    est = _rate_from_times(heads)
    if est is not None and not (
        RATE_MHZ_MIN <= rate_mhz <= RATE_MHZ_MAX and abs(rate_mhz / 1000 / est - 1) < 0.1
    ):
        near = min(STANDARD_RATES_HZ, key=lambda r: abs(r / est - 1))
        rate_mhz = int(round(1000 * (near if abs(near / est - 1) < 0.05 else est)))
        notes.append(
            f"sample rate {rate_mhz / 1000:g} Hz from the block times (the header said {f['rate_mhz']} mHz)"
        )
    elif est is not None:
        notes.append("sample rate checked against the block times")
    start = f["start_time"]
    warn: list[str] = []
    if start != 0 and not (START_TIME_MIN <= start < START_TIME_MAX):
        notes.append(f"start time {start} out of bounds, read as unknown")
        start = 0
    fixed = dict(
        channels=channels,
        codec=CODEC_RICE,
        block_size=bs,
        header_length=hl,
        session_id=sid,
        rate_mhz=rate_mhz,
        start_time=start,
        max_samples=f["max_samples"] or 0xFFFF,
        major=FORMAT_VERSION[0],
    )
    try:
        _check_bounds(f | fixed, name)  # what is left of the header must still pass
    except SessionFileError as e:
        raise SessionFileError(
            name, f"damaged header, cannot recover: {e.problem}", offset=e.offset
        ) from None
    header = _build(f, warn, **fixed)
    notes.append("start time, ranges, scale factors and device names from the damaged header, unverified")
    warn += _scale_warnings(header)
    return header, warn, "; ".join(notes)


def read_header(data: bytes, name: Path) -> tuple[SessionHeader, list[str], str | None]:
    """The header, its warnings and, when it was damaged and recovered, what was recovered (else None)."""
    try:
        header, warn = parse_header(data, name)
        return header, warn, None
    except SessionFileError as e:
        # Only a header whose CRC fails (or whose fields are nonsense behind a broken CRC) is damaged;
        # a file that is not a session file at all or a newer major is refused as before.
        if "CRC mismatch" not in e.problem and not _crc_broken(data):
            raise
        return recover_header(data, name, e)


def _crc_broken(data: bytes) -> bool:
    """Whether the file starts like a session header (3 of 4 magic bytes) whose CRC does not hold."""
    if len(data) < 12 or sum(a == b for a, b in zip(data[:4], HEADER_MAGIC, strict=True)) < 3:
        return False
    hl = struct.unpack_from("<I", data, 8)[0]
    if not (HEADER_MIN <= hl <= len(data)):
        return True
    return zlib.crc32(memoryview(data)[: hl - 4]) != struct.unpack_from("<I", data, hl - 4)[0]
