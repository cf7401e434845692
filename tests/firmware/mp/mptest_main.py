# MicroPython tests of firmware/main.py, the boot wiring: config -> I2C -> IMU probe -> sampler, guard,
# button and LED, on fake hardware and fake time (mp_device.py). tests/firmware/test_main_e2e.py
# decodes such a session on the host.
import os
import struct

import log
import main
import protocol as P
from fake_sync import MemoryReader, MemoryWriter, decode_frames, wire
from mp_device import FOLDER, rm_tree, run_device
from mp_rig import walk

# Press at 1 s, released at 2.7 s (long press fires at 2.5 s: start), again at 12 s (stop at 13.5 s).
TWO_LONG_PRESSES = [(1000, 0), (2700, 1), (12000, 0), (13700, 1)]


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _end_block(data):
    # (total samples, blocks, samples lost, close reason) from the end block's payload.
    return struct.unpack_from("<IIIB", data, len(data) - 2048 + 32)


async def test_long_press_starts_and_stops_a_session():
    rec, _, led_ms = await run_device(
        '{"device_name": "HS-main", "mounting": "side_right"}', TWO_LONG_PRESSES, 15000
    )
    assert rec.sessions == 1 and not rec.recording and rec.last_reason == log.REASON_USER_STOP
    assert rec.last_path == FOLDER + "/00000001.hsn"
    data = _read(rec.last_path)
    assert data[0:4] == b"HSNS" and b"HS-main" in data[:2048]
    assert data[-2048 + 5] == log.BLOCK_END
    total, _, lost, reason = _end_block(data)
    assert reason == log.REASON_USER_STOP and lost == 0
    assert 10 * 208 < total < 12 * 208, total  # 2.5 s -> 13.5 s at 208 Hz
    assert led_ms > 0  # the recording pattern blinked


async def test_auto_start_and_configured_rate():
    rec, _, _ = await run_device('{"auto_start": true, "rate_hz": 104}', [(3000, 0), (5000, 1)], 6000)
    assert rec.sessions == 1 and rec.last_reason == log.REASON_USER_STOP
    data = _read(rec.last_path)
    assert struct.unpack_from("<I", data, 20)[0] == 104000  # odr in mHz: the config's rate
    total = _end_block(data)[0]
    assert 4 * 104 < total < 6 * 104, total  # started at boot, stopped by the long press at 4.5 s


async def test_low_battery_refuses_to_start():
    rec, _, _ = await run_device("{}", [(1000, 0), (3000, 1)], 4000, adc_uv=1_600_000)  # 3.2 V cell
    assert rec.sessions == 0 and not rec.recording
    assert rec.led.showing() == "battery_low"


async def test_no_imu_shows_error():
    rec, _, _ = await run_device(None, [(100, 0), (2100, 1)], 2600, adc_uv=None, imu=False)
    assert rec.sessions == 0 and rec.error is not None and "no supported IMU" in str(rec.error)
    assert rec.led.showing() == "error"


async def test_boot_recovers_a_session_torn_by_a_power_cut():
    rec, _, _ = await run_device("{}", TWO_LONG_PRESSES, 15000)
    path = rec.last_path
    data = _read(path)
    cut = len(data) - 2048 - 700  # the end block and part of the last data block never reached flash
    with open(path, "wb") as f:
        f.write(data[:cut])
    rec, _, _ = await run_device("{}", [], 1500, keep=True)
    fixed = _read(path)
    assert rec.sessions == 0  # booting does not start a session by itself
    assert len(fixed) == (cut // 2048) * 2048 + 2048  # whole blocks kept, torn tail dropped, end block added
    assert fixed[: cut // 2048 * 2048] == data[: cut // 2048 * 2048]
    assert _end_block(fixed)[3] == log.REASON_RECOVERED


def test_session_ids():
    rm_tree(FOLDER)
    assert main.next_session_id(FOLDER) == 1
    os.mkdir(FOLDER)
    for name in ("0000000a.hsn", "00000003.hsn", "zzzzzzzz.hsn", ".ballast"):
        with open(FOLDER + "/" + name, "wb") as f:
            f.write(b"x")
    assert main.next_session_id(FOLDER) == 11


def _send(reader, ftype, req, body=b""):
    # An action for run_device's script: the request arrives on USB (as the host sends it: 0x00 first).
    return lambda: reader.feed(b"\x00" + wire(ftype, req, body))


async def test_usb_sync_link_starts_stops_and_lists_sessions():
    reader, writer = MemoryReader(), MemoryWriter()
    script = [
        (500, _send(reader, P.INFO, 1)),
        (1000, _send(reader, P.START, 2)),  # recording starts from the laptop, not the button
        (4000, _send(reader, P.STATUS, 3)),
        (6000, _send(reader, P.STOP, 4)),
        (8000, _send(reader, P.LIST, 5, struct.pack("<H", 0))),
    ]
    rec, _, _ = await run_device('{"device_name": "HS-usb"}', script, 9000, usb=(reader, writer))
    replies = decode_frames(writer.data)
    assert [(t, r) for t, r, _ in replies] == [
        (P.INFO | P.REPLY, 1),
        (P.START | P.REPLY, 2),
        (P.STATUS | P.REPLY, 3),
        (P.STOP | P.REPLY, 4),
        (P.LIST | P.REPLY, 5),
    ], replies
    assert b"HS-usb" in replies[0][2] and b"LSM6DSOX" in replies[0][2]  # the IMU found at boot
    assert struct.unpack_from("<I", replies[1][2])[0] == 1  # session 1 started
    flags, active = struct.unpack_from("<BI", replies[2][2])
    assert flags & P.STATUS_RECORDING and active == 1
    assert rec.sessions == 1 and not rec.recording and rec.last_reason == log.REASON_USER_STOP
    total = _end_block(_read(rec.last_path))[0]
    assert 4 * 208 < total < 6 * 208, total  # 1 s -> 6 s
    total_listed, n, sid, size, flags = struct.unpack_from("<HBIIB", replies[4][2])
    assert (total_listed, n, sid, flags) == (1, 1, 1, 0)  # the closed session, no longer being recorded
    assert size == len(_read(rec.last_path))


async def test_usb_live_stream_is_the_sampled_data():
    # LIVE_START through main(): the sampler hands each batch to the tap, which streams it over USB.
    src = walk(208 * 30)
    reader, writer = MemoryReader(), MemoryWriter()
    script = [
        (500, _send(reader, P.START, 1)),
        (2000, _send(reader, P.LIVE_START, 2)),
        (5000, _send(reader, P.LIVE_STOP, 3)),
        (6000, _send(reader, P.STOP, 4)),
    ]
    await run_device("{}", script, 7000, src, usb=(reader, writer))
    replies = decode_frames(writer.data)
    assert [(t, r) for t, r, _ in replies if t != P.LIVE] == [
        (P.START | P.REPLY, 1),
        (P.LIVE_START | P.REPLY, 2),
        (P.LIVE_STOP | P.REPLY, 3),
        (P.STOP | P.REPLY, 4),
    ], replies
    sid, first, channels, per_packet = struct.unpack_from("<IIBB", replies[1][2])
    assert (sid, channels, per_packet) == (1, 6, 16)
    packets = [(req, body) for t, req, body in replies if t == P.LIVE]
    assert [req for req, _ in packets] == list(range(len(packets)))  # numbered from 0, none missing
    samples = []
    for _, body in packets:
        at, n, flags = struct.unpack_from("<IBB", body)
        # contiguous from the first index LIVE_START gave, nothing dropped
        assert at == first + len(samples) // 6 and flags == 0, (at, first, flags)
        samples += struct.unpack_from("<%dh" % (6 * n), body, 6)
    assert len(samples) > 2 * 208 * 6, len(samples)  # about 3 s streamed
    # The chip's own samples (the source is a random walk, so its first sample places the stretch).
    k = 0
    while k < len(src) // 6 and list(src[6 * k : 6 * k + 6]) != samples[:6]:
        k += 1
    assert list(src[6 * k : 6 * k + len(samples)]) == samples


KEY_ID = b"laptop01"
KEY = bytes(range(32, 64))


def _keys_file():
    try:
        with open("/sync_keys.json") as f:
            return f.read()
    except OSError:
        return ""


async def test_pair_over_usb_keeps_the_key_and_opens_the_window_for_a_minute():
    import json

    try:
        os.remove("/sync_keys.json")
    except OSError:
        pass
    reader, writer = MemoryReader(), MemoryWriter()
    script = [
        (500, _send(reader, P.PAIR, 1, KEY_ID + KEY + b"\x00")),
        (30000, _send(reader, P.STATUS, 2)),
        (65000, _send(reader, P.STATUS, 3)),
    ]
    rec, _, _ = await run_device("{}", script, 66000, usb=(reader, writer))
    replies = decode_frames(writer.data)
    assert [(t, r) for t, r, _ in replies] == [
        (P.PAIR | P.REPLY, 1),
        (P.STATUS | P.REPLY, 2),
        (P.STATUS | P.REPLY, 3),
    ]
    clip_id, window_s, keys = replies[0][2][:8], replies[0][2][8], replies[0][2][9]
    assert (window_s, keys) == (60, 1)
    doc = json.loads(_keys_file())
    assert doc["clip"] == clip_id.hex() and doc["keys"] == [[KEY_ID.hex(), KEY.hex()]]
    assert replies[1][2][0] & P.STATUS_PAIRING  # open at 30 s
    assert not replies[2][2][0] & P.STATUS_PAIRING  # closed a minute after PAIR
    assert rec.led.showing() != "pairing"


async def test_double_press_opens_the_pairing_window():
    rec, _, _ = await run_device("{}", [(1000, 0), (1200, 1), (1400, 0), (1600, 1)], 5000)
    assert rec.led.showing() == "pairing" and not rec.recording and rec.sessions == 0
