"""(Re)generate the golden vectors of the sync protocol (docs/sync-protocol.md).

Not run by the tests: run it by hand after a deliberate protocol change, review the diff of
``frames.json`` and commit it with the spec change. Replies are built here field by field from the
spec (struct + CRC32), not by either side's code; the host tests (tests/host/test_sync_protocol.py)
and the firmware tests (tests/firmware/test_sync_firmware.py, on MicroPython) check their code
against them.

The device of the exchanges: storage folder ``/sessions`` holding ``00000001.hsn`` (the bytes of
tests/vectors/three_axis_accel.session) and ``0000002a.hsn`` (six_axis_gap_overflow.session); INFO
``HS-0001`` / ``1.0.0`` / ``LSM6DSOX``, max_chunk 4096; a clock that is not set until SET_TIME and
then stands still; battery 3870 mV / 76 %, 12000 KiB free; a recorder that starts session 0x2b.
The exchanges run in order on one device (state carries over). An exchange with ``"secure": false``
comes over a link that is not trusted (a radio link not encrypted and bonded, or not authenticated):
the device answers it with INFO, a minimal STATUS or ``NOT_SECURE``; the others come over a trusted
link (the device's server is built without a key store, so an encrypted, bonded link is trusted).

Usage: ``.venv/bin/python tests/vectors/sync/make_vectors.py``
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
VECTORS = HERE.parent
SESSIONS = {0x01: "three_axis_accel.session", 0x2A: "six_axis_gap_overflow.session"}
DEVICE = {"device_id": "HS-0001", "firmware_version": "1.0.0", "sensor_model": "LSM6DSOX", "max_chunk": 4096}
BATTERY = (3870, 76, 12000)
UNIX = 1_790_000_000
NEW_SESSION = 0x2B


def frame(ftype: int, req: int, body: bytes = b"") -> bytes:
    head = struct.pack("<BHH", ftype, req, len(body)) + body
    return head + struct.pack("<I", zlib.crc32(head))


def error(req: int, code: int, ftype: int, detail: int) -> bytes:
    return frame(0xFF, req, struct.pack("<BBI", code, ftype, detail))


def cobs(data: bytes) -> bytes:
    # Straight from Cheshire and Baker's definition, independent of both sides' code.
    out, block = bytearray(), bytearray()
    for b in data:
        if b == 0:
            out += bytes([len(block) + 1]) + block
            block.clear()
        else:
            block.append(b)
            if len(block) == 254:
                out += b"\xff" + block
                block.clear()
    out += bytes([len(block) + 1]) + block
    return bytes(out)


def main() -> None:
    files = {sid: (VECTORS / name).read_bytes() for sid, name in SESSIONS.items()}
    crc = {sid: zlib.crc32(b) for sid, b in files.items()}
    size = {sid: len(b) for sid, b in files.items()}
    ex = []

    def add(name, request, reply, fields=None, secure=True):
        e = {"name": name, "request": request.hex(), "reply": reply.hex(), "fields": fields or {}}
        if not secure:
            e["secure"] = False
        ex.append(e)

    def status(req, clock_set, unix, sessions, recording=False, sid=0):
        flags = (1 if recording else 0) | (2 if clock_set else 0)
        body = struct.pack("<BIQHBIH", flags, sid, unix, *BATTERY, sessions)
        fields = {
            "recording": recording,
            "clock_set": clock_set,
            "session_id": sid,
            "unix_time": unix,
            "battery_mv": BATTERY[0],
            "battery_pct": BATTERY[1],
            "free_kib": BATTERY[2],
            "sessions": sessions,
            "limited": False,
            "pairing": False,
        }
        return frame(0x89, req, body), fields

    info_body = struct.pack("<BBH16s16s16s", 2, 2, DEVICE["max_chunk"], b"HS-0001", b"1.0.0", b"LSM6DSOX")
    add("info", frame(0x01, 0), frame(0x81, 0, info_body), {"version_major": 2, "version_minor": 2, **DEVICE})
    add("status_clock_not_set", frame(0x09, 1), *status(1, False, 0, 2))

    # An untrusted link: INFO and a minimal STATUS (flags 0x04 "limited", battery; no session id,
    # time, free space or count); every other command NOT_SECURE (7) before its length is looked at.
    add(
        "info_untrusted",
        frame(0x01, 30),
        frame(0x81, 30, info_body),
        {"version_major": 2, "version_minor": 2, **DEVICE},
        secure=False,
    )
    minimal = struct.pack("<BIQHBIH", 0x04, 0, 0, BATTERY[0], BATTERY[1], 0, 0)
    add(
        "status_untrusted",
        frame(0x09, 31),
        frame(0x89, 31, minimal),
        {
            "recording": False,
            "clock_set": False,
            "session_id": 0,
            "unix_time": 0,
            "battery_mv": BATTERY[0],
            "battery_pct": BATTERY[1],
            "free_kib": 0,
            "sessions": 0,
            "limited": True,
            "pairing": False,
        },
        secure=False,
    )
    untrusted = [
        ("list", 0x02, struct.pack("<H", 0)),
        ("checksum", 0x04, struct.pack("<III", 1, 0, 4)),
        ("read", 0x03, struct.pack("<IIH", 1, 0, 32)),
        ("delete", 0x05, struct.pack("<II", 1, size[1]) + hashlib.sha256(files[1]).digest()),
        ("set_time", 0x06, struct.pack("<Q", UNIX)),
        ("start", 0x07, b""),
        ("live_start", 0x0A, b""),
        ("list_bad_length", 0x02, b"\x00"),
    ]
    for i, (what, ftype, body) in enumerate(untrusted):
        req = 32 + i
        add(
            f"{what}_untrusted",
            frame(ftype, req, body),
            error(req, 7, ftype, 0),
            {"code": 7, "request_type": ftype, "detail": 0},
            secure=False,
        )
    add(
        "pair_not_physical",
        frame(0x0E, 40, bytes(41)),
        error(40, 7, 0x0E, 0),
        {"code": 7, "request_type": 0x0E, "detail": 0},
    )
    # 2.2: a time before 2025 or from 2100 on (a host's dead clock) is refused, the clock left unset.
    for req, what, unix in (
        (41, "set_time_before_2025", 1_735_689_599),
        (42, "set_time_in_2100", 4_102_444_800),
    ):
        add(
            what,
            frame(0x06, req, struct.pack("<Q", unix)),
            error(req, 12, 0x06, 0),
            {"code": 12, "request_type": 0x06, "detail": 0},
        )
    add(
        "set_time",
        frame(0x06, 2, struct.pack("<Q", UNIX)),
        frame(0x86, 2, struct.pack("<Q", 0)),
        {"previous": 0},
    )
    entries = b"".join(struct.pack("<IIB", sid, size[sid], 0) for sid in sorted(files))
    add(
        "list",
        frame(0x02, 3, struct.pack("<H", 0)),
        frame(0x82, 3, struct.pack("<HB", 2, 2) + entries),
        {"total": 2, "entries": [[sid, size[sid], False] for sid in sorted(files)]},
    )
    add(
        "read_start",
        frame(0x03, 4, struct.pack("<IIH", 1, 0, 32)),
        frame(0x83, 4, struct.pack("<I", 0) + files[1][:32]),
        {"offset": 0, "data": files[1][:32].hex()},
    )
    add(
        "read_tail",
        frame(0x03, 5, struct.pack("<IIH", 1, 6000, 4096)),
        frame(0x83, 5, struct.pack("<I", 6000) + files[1][6000:]),
        {"offset": 6000, "data": files[1][6000:].hex()},
    )
    add(
        "read_past_end",
        frame(0x03, 6, struct.pack("<IIH", 1, 6144, 100)),
        frame(0x83, 6, struct.pack("<I", 6144)),
        {"offset": 6144, "data": ""},
    )
    add(
        "read_no_session",
        frame(0x03, 7, struct.pack("<IIH", 9, 0, 100)),
        error(7, 4, 0x03, 9),
        {"code": 4, "request_type": 3, "detail": 9},
    )
    add(
        "checksum_whole",
        frame(0x04, 8, struct.pack("<III", 0x2A, 0, size[0x2A])),
        frame(0x84, 8, struct.pack("<III", 0, size[0x2A], crc[0x2A])),
        {"offset": 0, "length": size[0x2A], "crc": crc[0x2A]},
    )
    part = zlib.crc32(files[1][100:])
    add(
        "checksum_clipped",
        frame(0x04, 9, struct.pack("<III", 1, 100, 1_000_000)),
        frame(0x84, 9, struct.pack("<III", 100, size[1] - 100, part)),
        {"offset": 100, "length": size[1] - 100, "crc": part},
    )
    # DELETE carries the SHA-256 of the whole file; a wrong one is MISMATCH with detail 0 (nothing
    # about the file), the version 1 body (size and CRC, no digest) is BAD_LENGTH.
    digest = hashlib.sha256(files[1]).digest()
    wrong = bytes([digest[0] ^ 1]) + digest[1:]
    add(
        "delete_missing_digest",
        frame(0x05, 21, struct.pack("<III", 1, size[1], crc[1])),
        error(21, 3, 0x05, 12),
        {"code": 3, "request_type": 5, "detail": 12},
    )
    add(
        "delete_wrong_digest",
        frame(0x05, 10, struct.pack("<II", 1, size[1]) + wrong),
        error(10, 5, 0x05, 0),
        {"code": 5, "request_type": 5, "detail": 0},
    )
    add(
        "delete_wrong_size",
        frame(0x05, 22, struct.pack("<II", 1, size[1] - 1) + digest),
        error(22, 5, 0x05, 0),
        {"code": 5, "request_type": 5, "detail": 0},
    )
    add("delete", frame(0x05, 11, struct.pack("<II", 1, size[1]) + digest), frame(0x85, 11))
    add(
        "list_after_delete",
        frame(0x02, 12, struct.pack("<H", 0)),
        frame(0x82, 12, struct.pack("<HB", 1, 1) + struct.pack("<IIB", 0x2A, size[0x2A], 0)),
        {"total": 1, "entries": [[0x2A, size[0x2A], False]]},
    )
    add(
        "start", frame(0x07, 13), frame(0x87, 13, struct.pack("<I", NEW_SESSION)), {"session_id": NEW_SESSION}
    )
    add("start_again", frame(0x07, 14), error(14, 6, 0x07, 0), {"code": 6, "request_type": 7, "detail": 0})
    add("status_recording", frame(0x09, 15), *status(15, True, UNIX, 1, recording=True, sid=NEW_SESSION))
    add("stop", frame(0x08, 16), frame(0x88, 16, struct.pack("<I", NEW_SESSION)), {"session_id": NEW_SESSION})
    add(
        "unknown_type", frame(0x42, 17), error(17, 2, 0x42, 0), {"code": 2, "request_type": 0x42, "detail": 0}
    )
    add(
        "bad_length",
        frame(0x02, 18, b"\x00\x00\x00"),
        error(18, 3, 0x02, 3),
        {"code": 3, "request_type": 2, "detail": 3},
    )
    # SELFTEST (2.1): its reply carries times measured on the clip, so only its refusals are vectors.
    add(
        "selftest_untrusted",
        frame(0x0F, 41, struct.pack("<H", 64)),
        error(41, 7, 0x0F, 0),
        {"code": 7, "request_type": 0x0F, "detail": 0},
        secure=False,
    )
    add(
        "selftest_bad_length",
        frame(0x0F, 42, b"\x40"),
        error(42, 3, 0x0F, 1),
        {"code": 3, "request_type": 0x0F, "detail": 1},
    )
    add(
        "live_start_unsupported",
        frame(0x0A, 20),
        error(20, 9, 0x0A, 0),
        {"code": 9, "request_type": 10, "detail": 0},
    )
    damaged = bytearray(frame(0x01, 19))
    damaged[-1] ^= 0x80
    add("bad_crc", bytes(damaged), error(19, 1, 0, 9), {"code": 1, "request_type": 0, "detail": 9})

    # A LIVE packet: 3 samples from index 100 (the first packet after LIVE_START: sequence 0).
    samples = [[i * 100 + c - 3 for c in range(6)] for i in range(3)]
    body = struct.pack("<IBB", 100, 3, 0) + struct.pack("<18h", *[v for row in samples for v in row])
    live = {"first_index": 100, "samples": samples, "frame": frame(0x40, 0, body).hex()}

    cases = [
        b"",
        b"\x00",
        b"\x00\x00",
        b"\x11\x22\x00\x33",
        bytes(range(1, 255)),
        bytes(range(1, 255)) + b"\x00",
        bytes(range(1, 256)),
        bytes(300),
        frame(0x01, 0),
    ]
    doc = {
        "about": "Golden vectors of docs/sync-protocol.md; regenerate with make_vectors.py in this folder.",
        "device": {
            **DEVICE,
            "sessions": {f"{sid:08x}": SESSIONS[sid] for sid in SESSIONS},
            "battery": BATTERY,
            "new_session": NEW_SESSION,
        },
        "cobs": [{"raw": c.hex(), "encoded": cobs(c).hex()} for c in cases],
        "exchanges": ex,
        "live": live,
    }
    (HERE / "frames.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(ex)} exchanges and {len(cases)} COBS cases to {HERE / 'frames.json'}")


if __name__ == "__main__":
    main()
