# MicroPython checks of firmware/protocol.py, sync.py and link_usb.py against the golden vectors
# (tests/vectors/sync/frames.json, copied to /vectors by tests/firmware/test_sync_firmware.py).
import asyncio
import binascii
import gc
import json
import os
import struct

import link_usb
import protocol as P
import sync
from fake_sync import CountingWriter, FakeRecorder, FrameLink, MemoryReader, MemoryWriter, StillClock

with open("/vectors/frames.json") as fh:
    V = json.load(fh)


def _device():
    d = V["device"]
    try:
        os.mkdir("/sessions")
    except OSError:
        pass
    for name in os.listdir("/sessions"):
        os.remove("/sessions/" + name)
    for sid, vector in d["sessions"].items():
        with open("/vectors/" + vector, "rb") as src, open("/sessions/%s.hsn" % sid, "wb") as dst:
            dst.write(src.read())
    status = d["battery"]
    return sync.SyncServer(
        "/sessions",
        (d["device_id"], d["firmware_version"], d["sensor_model"]),
        status=lambda: status,
        recorder=FakeRecorder(d["new_session"]),
        clock=StillClock(),
        max_chunk=d["max_chunk"],
    )


def _hex(b):
    return binascii.hexlify(b).decode()


def test_cobs_encode_and_decode_match_the_vectors():
    out = bytearray(1024)
    back = bytearray(1024)
    for case in V["cobs"]:
        raw = bytearray(binascii.unhexlify(case["raw"]))
        n = P.cobs_encode(raw, len(raw), out)
        assert _hex(out[:n]) == case["encoded"], case
        m = P.cobs_decode(out, n, back)
        assert bytes(back[:m]) == bytes(raw), case


def test_cobs_decode_rejects_malformed():
    dst = bytearray(16)
    assert P.cobs_decode(bytearray(b"\x05ab"), 3, dst) == -1  # block runs past the end
    assert P.cobs_decode(bytearray(b"\x02a\x00"), 3, dst) == -1  # zero inside
    assert P.cobs_decode(bytearray(b"\xff" + bytes(range(1, 255))), 255, dst) == -1  # longer than dst


def test_every_exchange_replies_byte_for_byte():
    server = _device()
    for ex in V["exchanges"]:
        req = bytearray(binascii.unhexlify(ex["request"]))
        n = server.handle(req, len(req), ex.get("secure", True))
        assert _hex(server.out[:n]) == ex["reply"], ex["name"] + ": " + _hex(server.out[:n])


def test_reads_allocate_little():
    # The reply buffer is allocated once; a READ allocates only small objects (no chunk-sized copy).
    server = _device()
    req = bytearray(P.OVERHEAD + 10)
    struct.pack_into("<IIH", req, P.HEAD_SIZE, 0x2A, 0, 4096)
    n = P.seal(req, P.READ, 1, 10)
    server.handle(req, n)  # opens the file once
    gc.collect()
    before = gc.mem_free()
    for _ in range(8):
        server.handle(req, n)
    used = before - gc.mem_free()
    assert used < 4096, used


def test_an_untrusted_link_gets_only_info_and_a_minimal_status():
    # Every request type the device knows, each with a body of the right length, on a link that is
    # neither encrypted and bonded nor a cable: INFO and STATUS answered, everything else NOT_SECURE.
    server = _device()
    lengths = {P.LIST: 2, P.READ: 10, P.CHECKSUM: 12, P.DELETE: 40, P.SET_TIME: 8, P.START: 0, P.STOP: 0}
    lengths.update({P.LIVE_START: 0, P.LIVE_STOP: 0, P.AUTH_CHALLENGE: 16, P.AUTH: 40, P.PAIR: 41})
    for ftype, length in sorted(lengths.items()):
        req = bytearray(P.OVERHEAD + length)
        n = P.seal(req, ftype, 7, length)
        server.handle(req, n, False)
        code, rtype = server.out[P.HEAD_SIZE], server.out[P.HEAD_SIZE + 1]
        assert server.out[0] == P.ERROR and code == P.E_NOT_SECURE and rtype == ftype, ftype
    req = bytearray(P.OVERHEAD)
    n = P.seal(req, P.STATUS, 8, 0)
    server.handle(req, n, False)
    flags, sid, unix, mv, pct, free_kib, count = struct.unpack_from("<BIQHBIH", server.out, P.HEAD_SIZE)
    assert server.out[0] == P.STATUS | P.REPLY and flags & P.STATUS_LIMITED
    assert (sid, unix, free_kib, count) == (0, 0, 0, 0) and mv > 0
    assert "00000001.hsn" in os.listdir("/sessions") and server.clock.get() == 0  # nothing changed


def test_delete_needs_the_sha256_of_the_whole_file():
    import hashlib

    server = _device()
    with open("/sessions/0000002a.hsn", "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).digest()

    def delete(size, proof, req):
        body = struct.pack("<II", 0x2A, size) + proof
        frame = bytearray(P.OVERHEAD + len(body))
        frame[P.HEAD_SIZE : P.HEAD_SIZE + len(body)] = body
        n = P.seal(frame, P.DELETE, req, len(body))
        m = server.handle(frame, n)
        return server.out[0], (server.out[P.HEAD_SIZE] if m > P.OVERHEAD else 0)

    crc = struct.pack("<I", binascii.crc32(data))
    assert delete(len(data), crc, 1) == (P.ERROR, P.E_BAD_LENGTH)  # v1's CRC proof: no digest
    assert delete(len(data), bytes(32), 2) == (P.ERROR, P.E_MISMATCH)
    assert delete(len(data), digest[:31] + bytes([digest[31] ^ 1]), 3) == (P.ERROR, P.E_MISMATCH)
    assert "0000002a.hsn" in os.listdir("/sessions")
    assert delete(len(data), digest, 4) == (P.DELETE | P.REPLY, 0)
    assert "0000002a.hsn" not in os.listdir("/sessions")


async def test_usb_link_serves_frames_through_noise():
    server = _device()
    reader, writer = MemoryReader(piece=7), MemoryWriter()
    link = link_usb.UsbLink(reader, writer, idle_ms=50)
    wire = bytearray()
    out = bytearray(4200)
    picks = ("info", "list", "read_tail", "bad_crc", "unknown_type")
    for name in picks:
        req = bytearray(binascii.unhexlify([e for e in V["exchanges"] if e["name"] == name][0]["request"]))
        n = P.cobs_encode(req, len(req), out)
        wire += b"\x00\x03junk with no delimiter " if name == "list" else b""  # noise, then a delimiter
        wire += b"\x00" + out[:n] + b"\x00"
    reader.feed(wire)
    task = asyncio.create_task(server.serve(link))
    for _ in range(200):
        await asyncio.sleep_ms(1)
        if writer.data.count(b"\x00") >= len(picks):
            break
    assert link.quiet  # Ctrl-C off while frames arrive
    replies = bytes(writer.data).split(b"\x00")[:-1]
    assert len(replies) == len(picks), replies
    for i, name in enumerate(picks):
        enc = replies[i]
        ex = [e for e in V["exchanges"] if e["name"] == name][0]
        raw = bytearray(len(enc))
        m = P.cobs_decode(bytearray(enc), len(enc), raw)
        assert _hex(raw[:m]) == ex["reply"], name  # same device state as in the vectors so far
    assert link.bad_frames == 1  # the junk
    await asyncio.sleep_ms(120)  # idle: Ctrl-C back
    assert not link.quiet
    reader.close()
    await task


async def test_live_packet_matches_the_vector():
    import array

    import live

    v = V["live"]
    tap = live.LiveTap(CountingWriter(v["first_index"]))
    link = FrameLink()
    tap.start(link)
    rows = v["samples"]
    tap.append(array.array("h", [x for row in rows for x in row]), len(rows), 0)
    await asyncio.sleep_ms(150)  # fewer than a packet's worth: sent after the wait
    tap.stop()
    assert [_hex(f) for f in link.frames] == [v["frame"]], link.frames
