"""Sync protocol v2, host side: frames, COBS framing and the body of every command.

The contract is docs/sync-protocol.md; the golden vectors in tests/vectors/sync/ pin it down byte for
byte and are checked here and by the firmware (firmware/protocol.py, firmware/sync.py) on MicroPython.
"""

from __future__ import annotations

import enum
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from hipsense.sync.cobs import FrameError, cobs_decode, cobs_encode

VERSION_MAJOR = 2
VERSION_MINOR = 2

HEAD = struct.Struct("<BHH")
CRC = struct.Struct("<I")
OVERHEAD = HEAD.size + CRC.size
REPLY = 0x80
#: The host's first frame: INFO with this request id, whose COBS encoding holds no 0x03 byte (Ctrl-C
#: would interrupt the firmware before its USB link has disabled keyboard interrupts).
FIRST_REQUEST_ID = 0

#: What the host accepts from a device's INFO as ``max_chunk``: a READ reply (offset + data) must fit a
#: frame's u16 length, and a LIST page must hold an entry.
MIN_CHUNK = 64
MAX_CHUNK = 32768
#: The largest session a clip can hold: the flash of the largest ESP32-S3 module (32 MiB). A LIST entry
#: above it is refused, never downloaded.
MAX_SESSION_BYTES = 32 * 1024 * 1024
#: UNIX times a clock may be set to: a clip's clock reading before 2025 counts as never set (its
#: firmware's ``_SET_AFTER``), and a laptop's reading outside this is no time to give a clip.
CLOCK_RANGE = (1_735_689_600, 4_102_444_800)  # 2025-01-01 to 2100-01-01
DIGEST_SIZE = 32
NONCE_SIZE = 16
#: wrong AUTHs a clip allows per connection: an AUTH error whose detail is above it counts the wrong
#: AUTHs over all connections, i.e. the clip holds AUTH off (docs/security.md)
AUTH_TRIES = 3
KEY_ID_SIZE = 8
KEY_SIZE = 32
CLIP_ID_SIZE = 8


class Type(enum.IntEnum):
    INFO = 0x01
    LIST = 0x02
    READ = 0x03
    CHECKSUM = 0x04
    DELETE = 0x05
    SET_TIME = 0x06
    START = 0x07
    STOP = 0x08
    STATUS = 0x09
    LIVE_START = 0x0A
    LIVE_STOP = 0x0B
    AUTH_CHALLENGE = 0x0C
    AUTH = 0x0D
    PAIR = 0x0E
    SELFTEST = 0x0F  # 2.1: flash write/read test and BLE state (hipsense device check)
    LIVE = 0x40  # device-initiated: live samples, req_id = packet sequence
    ERROR = 0xFF


class ErrorCode(enum.IntEnum):
    BAD_FRAME = 1
    UNKNOWN_TYPE = 2
    BAD_LENGTH = 3
    NO_SESSION = 4
    MISMATCH = 5
    STATE = 6
    NOT_SECURE = 7
    IO = 8
    UNSUPPORTED = 9
    AUTH = 10
    INTERNAL = 11
    RANGE = 12


ERROR_TEXT = {
    ErrorCode.BAD_FRAME: "the device received a damaged frame",
    ErrorCode.UNKNOWN_TYPE: "the device does not know this command",
    ErrorCode.BAD_LENGTH: "the command's body has the wrong length",
    ErrorCode.NO_SESSION: "no such session on the device",
    ErrorCode.MISMATCH: "size or digest differ from the device's copy",
    ErrorCode.STATE: "not possible now (session being recorded, or already recording / not recording)",
    ErrorCode.NOT_SECURE: (
        "the link is not trusted: not encrypted and bonded, or this laptop has not proved its key "
        "(pair the clip first: hipsense pair over the USB cable)"
    ),
    ErrorCode.IO: "flash read or write failed on the device",
    ErrorCode.UNSUPPORTED: "the device cannot do this",
    ErrorCode.AUTH: "the clip did not accept this laptop's key (pair again: hipsense pair over USB)",
    ErrorCode.INTERNAL: "the clip's firmware hit a fault on this command (it keeps serving; update the "
    "firmware with hipsense device deploy if it repeats)",
    ErrorCode.RANGE: "the clip refused a time outside 2025-2100 (check this laptop's clock)",
}

SESSION_RECORDING = 0x01
STATUS_RECORDING = 0x01
STATUS_CLOCK_SET = 0x02
STATUS_LIMITED = 0x04
STATUS_PAIRING = 0x08


@dataclass(frozen=True)
class Frame:
    type: int
    req_id: int
    body: bytes

    def encode(self) -> bytes:
        """The frame's bytes (head, body, CRC32), before link framing."""
        return seal(self.type, self.req_id, self.body)


def seal(ftype: int, req_id: int, body: bytes = b"") -> bytes:
    head = HEAD.pack(ftype, req_id, len(body)) + body
    return head + CRC.pack(zlib.crc32(head))


def parse(data: bytes) -> Frame:
    """A frame from its bytes; :class:`FrameError` when length or CRC are wrong."""
    if len(data) < OVERHEAD:
        raise FrameError(f"frame of {len(data)} bytes is shorter than {OVERHEAD}")
    ftype, req_id, length = HEAD.unpack_from(data)
    if length != len(data) - OVERHEAD:
        raise FrameError(f"frame says {length} body bytes but has {len(data) - OVERHEAD}")
    (crc,) = CRC.unpack_from(data, len(data) - CRC.size)
    if crc != zlib.crc32(data[: -CRC.size]):
        raise FrameError("frame CRC does not match")
    return Frame(ftype, req_id, bytes(data[HEAD.size : -CRC.size]))


def wire(frame: bytes) -> bytes:
    """A frame as it goes on the link: COBS encoding plus the 0x00 delimiter."""
    return cobs_encode(frame) + b"\x00"


class Deframer:
    """Splits a byte stream into frames at 0x00 delimiters; keeps the bytes of an unfinished frame."""

    def __init__(self, max_frame: int = 1 << 17):
        self._buf = bytearray()
        self.max_frame = max_frame
        self.bad = 0  #: chunks between delimiters that did not decode to a valid frame

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while True:
            z = self._buf.find(0)
            if z < 0:
                if len(self._buf) > self.max_frame:  # noise without delimiters: drop it
                    self._buf.clear()
                    self.bad += 1
                return frames
            chunk = bytes(self._buf[:z])
            del self._buf[: z + 1]
            if not chunk:
                continue
            try:
                frames.append(parse(cobs_decode(chunk)))
            except FrameError:
                self.bad += 1


# -- command bodies -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceInfo:
    version_major: int
    version_minor: int
    max_chunk: int
    device_id: str
    firmware_version: str
    sensor_model: str


@dataclass(frozen=True)
class SessionEntry:
    session_id: int
    size: int
    recording: bool


@dataclass(frozen=True)
class DeviceStatus:
    recording: bool
    clock_set: bool
    session_id: int
    unix_time: int
    battery_mv: int
    battery_pct: int
    free_kib: int
    sessions: int
    #: an untrusted link: only the flags and the battery are filled in
    limited: bool = False
    #: the clip's pairing window is open
    pairing: bool = False


@dataclass(frozen=True)
class DeviceError:
    code: int
    request_type: int
    detail: int

    @property
    def text(self) -> str:
        try:
            return ERROR_TEXT[ErrorCode(self.code)]
        except ValueError:
            return f"unknown error code {self.code}"


_INFO = struct.Struct("<BBH16s16s16s")
_STATUS = struct.Struct("<BIQHBIH")
_ERROR = struct.Struct("<BBI")
_ENTRY = struct.Struct("<IIB")


def _unpack(layout: struct.Struct | str, body: bytes, what: str) -> tuple:
    layout = layout if isinstance(layout, struct.Struct) else struct.Struct(layout)
    if len(body) != layout.size:
        raise FrameError(f"{what} reply of {len(body)} bytes, expected {layout.size}")
    return layout.unpack(body)


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("utf-8", "replace")


def info_body(body: bytes) -> DeviceInfo:
    # Only the first 4 bytes are fixed for every protocol version; a newer minor may append fields.
    if len(body) < 4:
        raise FrameError(f"INFO reply of {len(body)} bytes")
    major, minor, max_chunk = struct.unpack_from("<BBH", body)
    if major != VERSION_MAJOR or len(body) < _INFO.size:
        return DeviceInfo(major, minor, max_chunk, "", "", "")
    _, _, _, dev, fw, sensor = _INFO.unpack_from(body)
    return DeviceInfo(major, minor, max_chunk, _text(dev), _text(fw), _text(sensor))


def list_request(start: int) -> bytes:
    return struct.pack("<H", start)


def list_body(body: bytes) -> tuple[int, list[SessionEntry]]:
    """(total sessions on the device, the entries of this page)."""
    if len(body) < 3:
        raise FrameError(f"LIST reply of {len(body)} bytes")
    total, n = struct.unpack_from("<HB", body)
    if len(body) != 3 + n * _ENTRY.size:
        raise FrameError(f"LIST reply with {n} entries has {len(body)} bytes")
    entries = [
        SessionEntry(sid, size, bool(flags & SESSION_RECORDING))
        for sid, size, flags in _ENTRY.iter_unpack(body[3:])
    ]
    return total, entries


def read_request(session_id: int, offset: int, length: int) -> bytes:
    return struct.pack("<IIH", session_id, offset, length)


def read_body(body: bytes) -> tuple[int, bytes]:
    """(offset, data) of a READ reply."""
    if len(body) < 4:
        raise FrameError(f"READ reply of {len(body)} bytes")
    return struct.unpack_from("<I", body)[0], body[4:]


def checksum_request(session_id: int, offset: int, length: int) -> bytes:
    return struct.pack("<III", session_id, offset, length)


def checksum_body(body: bytes) -> tuple[int, int, int]:
    """(offset, length covered, CRC32) of a CHECKSUM reply."""
    return _unpack("<III", body, "CHECKSUM")


def delete_request(session_id: int, size: int, digest: bytes) -> bytes:
    """DELETE with the erase proof: the SHA-256 of the whole session file."""
    if len(digest) != DIGEST_SIZE:
        raise ValueError(f"a DELETE needs a {DIGEST_SIZE}-byte SHA-256, not {len(digest)} bytes")
    return struct.pack("<II", session_id, size) + digest


def set_time_request(unix: int) -> bytes:
    return struct.pack("<Q", unix)


def u32_body(body: bytes) -> int:
    return _unpack("<I", body, "session id")[0]


def u64_body(body: bytes) -> int:
    return _unpack("<Q", body, "time")[0]


def empty_body(body: bytes) -> None:
    _unpack("", body, "empty")


def status_body(body: bytes) -> DeviceStatus:
    flags, sid, unix, mv, pct, free_kib, count = _unpack(_STATUS, body, "STATUS")
    return DeviceStatus(
        bool(flags & STATUS_RECORDING),
        bool(flags & STATUS_CLOCK_SET),
        sid,
        unix,
        mv,
        pct,
        free_kib,
        count,
        bool(flags & STATUS_LIMITED),
        bool(flags & STATUS_PAIRING),
    )


@dataclass(frozen=True)
class LiveStart:
    session_id: int
    first_index: int
    channels: int
    per_packet: int


@dataclass(frozen=True)
class LivePacket:
    seq: int
    first_index: int
    dropped_before: bool
    #: ``(n, channels)`` int16 counts
    counts: np.ndarray


LIVE_DROPPED = 0x01


def live_start_body(body: bytes) -> LiveStart:
    return LiveStart(*_unpack("<IIBB", body, "LIVE_START"))


def live_packet(frame: Frame, channels: int) -> LivePacket:
    if len(frame.body) < 6:
        raise FrameError(f"LIVE packet of {len(frame.body)} bytes")
    first, n, flags = struct.unpack_from("<IBB", frame.body)
    if len(frame.body) != 6 + 2 * channels * n:
        raise FrameError(f"LIVE packet with {n} samples has {len(frame.body)} bytes")
    counts = np.frombuffer(frame.body, "<i2", offset=6).reshape(n, channels)
    return LivePacket(frame.req_id, first, bool(flags & LIVE_DROPPED), counts)


@dataclass(frozen=True)
class SelfTest:
    """The SELFTEST reply: a scratch write and read-back on the clip's flash, and its BLE state."""

    bytes_written: int
    write_us: int
    read_us: int
    verified: bool
    ble_on: bool
    keys: int


SELFTEST_BLE = 0x01
#: the most SELFTEST writes (KiB), whatever the host asks
SELFTEST_MAX_KIB = 64


def selftest_request(kib: int) -> bytes:
    return struct.pack("<H", kib)


def selftest_body(body: bytes) -> SelfTest:
    n, write_us, read_us, ok, flags, keys = _unpack("<IIIBBB", body, "SELFTEST")
    return SelfTest(n, write_us, read_us, bool(ok), bool(flags & SELFTEST_BLE), keys)


def error_body(body: bytes) -> DeviceError:
    return DeviceError(*_unpack(_ERROR, body, "ERROR"))
