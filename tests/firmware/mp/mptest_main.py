# MicroPython tests of firmware/main.py, the boot wiring: config -> I2C -> IMU probe -> sampler, guard,
# button and LED, on fake hardware and fake time (mp_device.py). tests/firmware/test_main_e2e.py
# decodes such a session on the host.
import os
import struct

import log
import main
from mp_device import FOLDER, rm_tree, run_device

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
