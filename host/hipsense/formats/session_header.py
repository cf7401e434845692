"""Reading a session file's header: every field bounded where it is read, and recovery when damaged.

:func:`parse_header` reads an intact header and refuses, with a
:class:`~hipsense.errors.SessionFileError` naming the field and its byte offset, any value outside the
bounds of docs/session-format.md ("Bounds"). Recovering a damaged header is
:mod:`~hipsense.formats.session_recovery`'s business.
"""

from __future__ import annotations

import struct
import unicodedata
import zlib
from pathlib import Path

from hipsense.conventions import G
from hipsense.errors import SessionFileError
from hipsense.formats.session_spec import (
    BLOCK_MAGIC,
    BLOCK_SIZE_MAX,
    BLOCK_SIZE_MIN,
    CODEC_RICE,
    FORMAT_VERSION,
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


def text_field(raw: bytes) -> str:
    """A NUL-padded UTF-8 string field, made safe to print: bad UTF-8 and control or format
    characters (terminal escapes, bidi overrides) become U+FFFD."""
    decoded = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
    return "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cf") else c for c in decoded)


def header_fields(data: bytes) -> dict:
    names = (
        "magic major minor channels codec header_length block_size session_id odr_mhz rate_mhz acc_range "
        "gyr_range acc_ng gyr_ndps start_time max_samples mounting_code reserved flags device_id fw sensor"
    ).split()
    return dict(zip(names, HEADER_STRUCT.unpack_from(data, 0), strict=True))


def build_header(f: dict, warn: list[str], **override) -> SessionHeader:
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


def check_bounds(f: dict, name: Path, *, skip: tuple[str, ...] = ()) -> None:
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
    probe = build_header(f, [], mounting_code=0, flags=0)
    for field, problem in sensor_field_problems(probe):
        refuse(field, problem)


def scale_warnings(h: SessionHeader) -> list[str]:
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
    f = header_fields(data)
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
    check_bounds(f, name)
    warn = []
    if minor > READER_VERSION[1]:
        warn.append(
            f"format version {major}.{minor} is newer than this reader ({READER_VERSION[0]}.{READER_VERSION[1]}):"
            " fields it does not know are ignored"
        )
    header = build_header(f, warn)
    warn += scale_warnings(header)
    return header, warn
