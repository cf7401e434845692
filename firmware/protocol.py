# Sync protocol v2 frames and COBS framing (docs/sync-protocol.md). One protocol, two links.
#
# A frame: type u8, req_id u16, length u16, body (length bytes), CRC32 of everything before it.
# On the wire (USB serial and the BLE byte stream alike) each frame is COBS-encoded and followed by
# one 0x00 delimiter. Everything here works in caller-owned buffers allocated once.
import binascii
import struct

from micropython import const

VERSION_MAJOR = const(2)
VERSION_MINOR = const(2)

HEAD = "<BHH"
HEAD_SIZE = const(5)
CRC_SIZE = const(4)
OVERHEAD = const(9)  # head + CRC

# Requests; a reply has the request's type | REPLY, an error reply the type ERROR.
INFO = const(0x01)
LIST = const(0x02)
READ = const(0x03)
CHECKSUM = const(0x04)
DELETE = const(0x05)
SET_TIME = const(0x06)
START = const(0x07)
STOP = const(0x08)
STATUS = const(0x09)
LIVE_START = const(0x0A)
LIVE_STOP = const(0x0B)
AUTH_CHALLENGE = const(0x0C)  # a BLE host proves it holds a key given over USB (docs/security.md)
AUTH = const(0x0D)
PAIR = const(0x0E)  # USB only: store a host's key and open the pairing window
SELFTEST = const(0x0F)  # 2.1: flash write/read test and BLE state, for `hipsense device check`
LIVE = const(0x40)  # device-initiated: a packet of live samples, req_id = packet sequence
REPLY = const(0x80)
ERROR = const(0xFF)

# Error codes (body of an ERROR reply: code u8, request type u8, detail u32).
E_BAD_FRAME = const(1)
E_UNKNOWN_TYPE = const(2)
E_BAD_LENGTH = const(3)
E_NO_SESSION = const(4)
E_MISMATCH = const(5)
E_STATE = const(6)
E_NOT_SECURE = const(7)
E_IO = const(8)
E_UNSUPPORTED = const(9)
E_AUTH = const(10)
E_INTERNAL = const(11)
E_RANGE = const(12)  # 2.2: SET_TIME outside 2025-2100

# LIST entry flags, STATUS flags.
SESSION_RECORDING = const(0x01)
STATUS_RECORDING = const(0x01)
STATUS_CLOCK_SET = const(0x02)
STATUS_LIMITED = const(0x04)  # an untrusted link: only flags and battery are filled in
STATUS_PAIRING = const(0x08)  # the pairing window is open
SELFTEST_BLE = const(0x01)  # SELFTEST ble flags: the BLE link runs (advertises while no central is connected)
SELFTEST_MAX_KIB = const(64)  # the most SELFTEST writes, whatever the host asks

DIGEST_SIZE = const(32)  # SHA-256 of a whole session file: the erase proof of DELETE
NONCE_SIZE = const(16)
KEY_ID_SIZE = const(8)
KEY_SIZE = const(32)
CLIP_ID_SIZE = const(8)


def cobs_max(n):
    # Longest COBS encoding of n bytes (one code byte per 254 plus one), delimiter not included.
    return n + n // 254 + 1


def cobs_encode(src, n, dst):
    # COBS-encode src[0:n] (a bytearray) into dst; returns the encoded length (no delimiter).
    s = memoryview(src)
    d = memoryview(dst)
    o = 0
    i = 0
    while True:
        z = src.find(b"\x00", i, n)
        end = n if z < 0 else z
        while end - i >= 254:
            dst[o] = 255
            d[o + 1 : o + 255] = s[i : i + 254]
            o += 255
            i += 254
        k = end - i
        dst[o] = k + 1
        d[o + 1 : o + 1 + k] = s[i:end]
        o += k + 1
        if z < 0:
            return o
        i = z + 1


def cobs_decode(src, n, dst):
    # Decode src[0:n] (no delimiter) into dst; returns the decoded length, or -1 if malformed/too long.
    s = memoryview(src)
    d = memoryview(dst)
    cap = len(dst)
    i = 0
    o = 0
    while i < n:
        c = src[i]
        if c == 0:
            return -1
        i += 1
        k = c - 1
        if i + k > n or o + k > cap:
            return -1
        d[o : o + k] = s[i : i + k]
        o += k
        i += k
        if c < 255 and i < n:
            if o >= cap:
                return -1
            dst[o] = 0
            o += 1
    return o


def seal(buf, ftype, req_id, length):
    # Write the head and the CRC around a body already in buf[5:5 + length]; returns the frame length.
    struct.pack_into(HEAD, buf, 0, ftype, req_id, length)
    end = HEAD_SIZE + length
    struct.pack_into("<I", buf, end, binascii.crc32(memoryview(buf)[0:end]))
    return end + CRC_SIZE


def check(buf, n):
    # (type, req_id, body length) of a received frame, or None when its length or CRC is wrong.
    if n < OVERHEAD:
        return None
    ftype, req_id, length = struct.unpack_from(HEAD, buf, 0)
    if length != n - OVERHEAD:
        return None
    if struct.unpack_from("<I", buf, n - CRC_SIZE)[0] != binascii.crc32(memoryview(buf)[0 : n - CRC_SIZE]):
        return None
    return ftype, req_id, length
