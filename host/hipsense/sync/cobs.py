"""COBS (Consistent Overhead Byte Stuffing, Cheshire and Baker 1999): how frames go on both links
(docs/sync-protocol.md, "On the wire: COBS"), and the error for bytes that are not a valid frame."""

from __future__ import annotations


class FrameError(ValueError):
    """Bytes that are not a valid frame (bad COBS, length or CRC)."""


def cobs_encode(data: bytes) -> bytes:
    """COBS encoding of ``data`` (no zero byte in it); the delimiter is not included."""
    out = bytearray()
    i, n = 0, len(data)
    while True:
        z = data.find(0, i)
        end = n if z < 0 else z
        while end - i >= 254:
            out.append(255)
            out += data[i : i + 254]
            i += 254
        out.append(end - i + 1)
        out += data[i:end]
        if z < 0:
            return bytes(out)
        i = z + 1


def cobs_decode(data: bytes) -> bytes:
    """Inverse of :func:`cobs_encode`; :class:`FrameError` when ``data`` is not a COBS encoding."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise FrameError("zero byte inside a COBS frame")
        i += 1
        if i + code - 1 > n:
            raise FrameError("COBS block runs past the end of the frame")
        out += data[i : i + code - 1]
        i += code - 1
        if code < 255 and i < n:
            out.append(0)
    return bytes(out)
