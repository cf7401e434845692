# MicroPython tests of firmware/link_ble.py with the fake aioble (tests/firmware/fakes/aioble.py).
import asyncio
import os
import struct

import aioble
import link_ble
import protocol as P
import sync
from fake_sync import FakeRecorder, StillClock, decode_frames, wire

SIZE = 9000


def _setup():
    try:
        os.mkdir("/ble")
    except OSError:
        pass
    data = bytes((i * 7 + i // 251) & 0xFF for i in range(SIZE))
    with open("/ble/00000005.hsn", "wb") as f:
        f.write(data)
    server = sync.SyncServer(
        "/ble",
        ("HS-BLE", "1.2.3", "LSM6DSOX"),
        status=lambda: (3900, 81, 5000),
        recorder=FakeRecorder(),
        clock=StillClock(),
        max_chunk=4096,
    )
    return server, data


async def _send(conn, data):
    step = conn.mtu - 3
    for i in range(0, len(data), step):
        await conn.write(link_ble.CONTROL_UUID, data[i : i + step])


def _frames(conn):
    # Every complete frame in the notifications received so far: [(type, req, body)].
    return decode_frames(b"".join(conn.received))


async def _wait_frames(conn, count, ms=3000):
    for _ in range(ms):
        if b"".join(conn.received).count(b"\x00") >= count:
            return _frames(conn)
        await asyncio.sleep_ms(1)
    raise AssertionError("timed out: %d frames" % b"".join(conn.received).count(b"\x00"))


async def _read_all(conn, req0=1):
    # READ the whole session in 4 KiB chunks, one request at a time.
    got = b""
    req = req0
    base = len(_frames(conn))
    while len(got) < SIZE:
        await _send(conn, wire(P.READ, req, struct.pack("<IIH", 5, len(got), 4096)))
        frames = await _wait_frames(conn, base + req - req0 + 1)
        ftype, rid, body = frames[-1]
        assert ftype == P.READ | P.REPLY and rid == req, (ftype, rid)
        got += body[4:]
        req += 1
    return got


def test_services_and_readable_values():
    server, _ = _setup()
    ble = link_ble.BleSync(server, "hs-clip", battery_pct=lambda: 81)
    ble.refresh()
    assert aioble._chars[link_ble.BATTERY_LEVEL].read() == bytes((81,))
    assert aioble._chars[link_ble.FIRMWARE].read() == b"1.2.3"
    assert aioble._chars[link_ble.SERIAL].read() == b"HS-BLE"
    status = aioble._chars[link_ble.STATUS_UUID].read()
    flags, sid, unix, mv, pct, free_kib, count = struct.unpack("<BIQHBIH", status)
    assert (mv, pct, free_kib, count) == (3900, 81, 5000, 1)
    ctrl = aioble._chars[link_ble.CONTROL_UUID].flags
    assert ctrl["write"] and ctrl["capture"] and aioble._chars[link_ble.DATA_UUID].flags["notify"]


async def test_download_at_mtu_23_and_247_with_pacing():
    await asyncio.create_task(_download())


async def _download():
    server, data = _setup()
    ble = link_ble.BleSync(server, "hs-clip")
    task = asyncio.create_task(ble.run())
    for mtu in (23, 247):
        conn = aioble.central(mtu=mtu, encrypted=True, bonded=True, buffers=3, per_ms=2)
        await _send(conn, wire(P.INFO, 0))
        ftype, _, body = (await _wait_frames(conn, 1))[0]
        assert ftype == P.INFO | P.REPLY and body[0] == P.VERSION_MAJOR
        got = await _read_all(conn)
        assert got == data, mtu
        assert max(len(n) for n in conn.received) == mtu - 3  # MTU-aware chunking
        assert conn.refused > 0  # the stack was full at times: paced and retried, nothing lost
        conn.disconnect()
        await asyncio.sleep_ms(5)
    assert ble.links == 2  # advertised again after the first central left
    task.cancel()


async def test_data_and_erase_need_encryption_and_bond():
    await asyncio.create_task(_insecure())


async def _insecure():
    server, _ = _setup()
    ble = link_ble.BleSync(server, "hs-clip")
    task = asyncio.create_task(ble.run())
    conn = aioble.central(mtu=247, encrypted=True, bonded=False)
    await _send(conn, wire(P.READ, 1, struct.pack("<IIH", 5, 0, 100)))
    await _send(conn, wire(P.DELETE, 2, struct.pack("<III", 5, SIZE, 0)))
    await _send(conn, wire(P.STATUS, 3))
    frames = await _wait_frames(conn, 3)
    assert [f[0] for f in frames] == [P.ERROR, P.ERROR, P.STATUS | P.REPLY]
    assert frames[0][2][0] == P.E_NOT_SECURE and frames[1][2][0] == P.E_NOT_SECURE
    assert "00000005.hsn" in os.listdir("/ble")
    conn.disconnect()
    await asyncio.sleep_ms(2)
    task.cancel()


async def test_disconnect_mid_transfer_then_resume():
    await asyncio.create_task(_drop())


async def _drop():
    server, data = _setup()
    ble = link_ble.BleSync(server, "hs-clip")
    task = asyncio.create_task(ble.run())
    conn = aioble.central(mtu=185, encrypted=True, bonded=True)
    await _send(conn, wire(P.READ, 1, struct.pack("<IIH", 5, 0, 4096)))
    await asyncio.sleep_ms(3)
    conn.disconnect()  # while the reply is being notified
    await asyncio.sleep_ms(20)
    conn2 = aioble.central(mtu=185, encrypted=True, bonded=True)
    assert await _read_all(conn2) == data
    assert ble.links == 2
    conn2.disconnect()
    await asyncio.sleep_ms(2)
    task.cancel()
