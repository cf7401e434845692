# MicroPython tests of "auto_start": "motion" through main() (mp_device.py): the fake chip reads a
# synthetic world (mp_motion.py, 208 Hz; 200 Hz for the ICM-42688-P) locked to the fake clock
# (fakes/fake_source.py), so what the chip sees while idle (motion.Watcher at 52 Hz, or the chip's
# nearest rate) and while recording is the same motion at the same times. The first test runs on both
# chips, the others on the LSM6DSOX. tests/firmware/test_motion_e2e.py does the same with hipsense.sim
# runs and decodes on the host.
import struct

import log
from mp_device import run_device
from mp_motion import join, steps, still

SRC_HZ = 208
SOURCE_RATE = (6667, 32000000)  # the source plays at the 208 Hz setting's real rate (208.34 Hz)


def _end_block(path):
    with open(path, "rb") as f:
        data = f.read()
    return struct.unpack_from("<IIIB", data, len(data) - 2048 + 32), data


def _run(seconds, seed=1):
    return steps(SRC_HZ, seconds, 170, 3000, seed=seed)


async def test_running_starts_a_session_and_a_still_stretch_stops_it():
    # On each chip: the ICM-42688-P watches at 50 Hz and records at 50 Hz (its nearest rates to 52 Hz).
    chips = (("lsm6dsox", SRC_HZ, SOURCE_RATE, 52000), ("icm42688", 200, (1, 5000), 50000))
    for model, src_hz, source_rate, odr_mhz in chips:
        src = join(still(src_hz, 20), steps(src_hz, 30, 170, 3000, seed=1), still(src_hz, 80))
        rec, chip, _ = await run_device(
            '{"auto_start": "motion", "auto_stop_min": 1, "rate_hz": 52}',
            [],
            125000,
            src,
            source_rate=source_rate,
            model=model,
        )
        w = rec.watcher
        assert rec.sessions == 1 and not rec.recording and w.started == 1, (model, rec.sessions, w.errors)
        assert rec.last_reason == log.REASON_NO_RUNNING and w.imu.odr_mhz == odr_mhz, model
        # Detected after 24 steps (8.5 s at 170/min) + up to a step + one watch period (1 s).
        delay = w.detected_ms - 20000
        assert 8000 <= delay <= 10500, (model, delay)
        (total, _, lost, reason), data = _end_block(rec.last_path)
        assert reason == log.REASON_NO_RUNNING and lost == 0
        # The session at the configured rate (the chip's nearest), not the watcher's by chance.
        assert struct.unpack_from("<I", data, 20)[0] == odr_mhz
        # Recorded from detection to 1 min after the last step (+ up to the 1 s check): 50 s -> 111 s.
        stop_s = w.detected_ms / 1000 + total * 1000 / odr_mhz
        assert 50 + 59 <= stop_s <= 50 + 62, (model, stop_s)
        assert chip.errors == []


async def test_walking_and_stillness_do_not_start_a_session():
    walk = steps(SRC_HZ, 60, 115, 1350, contact_frac=1.0, floor_mg=750)
    src = join(still(SRC_HZ, 20), walk, still(SRC_HZ, 20))
    rec, chip, _ = await run_device('{"auto_start": "motion"}', [], 99000, src, source_rate=SOURCE_RATE)
    w = rec.watcher
    assert rec.sessions == 0 and w.started == 0 and w.errors == 0
    assert w.on and 95 * 52 <= w.det.index <= 99 * 52, w.det.index  # it watched all along, at 52 Hz
    assert w.imu.odr_mhz == 52000 and w.det.peaks == 0
    assert chip.errors == []


async def test_a_jolt_does_not_start_and_auto_start_true_still_starts_at_boot():
    from mp_motion import bump, jump

    src = jump(bump(still(SRC_HZ, 40), SRC_HZ, 10, 4500), SRC_HZ, 20)  # set down hard; a jump
    rec, _, _ = await run_device('{"auto_start": "motion"}', [], 39000, src, source_rate=SOURCE_RATE)
    det = rec.watcher.det
    assert rec.sessions == 0 and (det.peaks, det.landings) == (3, 1), (det.peaks, det.landings)
    rec, _, _ = await run_device('{"auto_start": true}', [], 3000, src, source_rate=SOURCE_RATE)
    assert rec.sessions == 1 and rec.watcher is None  # true: at power-on, as before


async def test_stopping_by_hand_while_running_waits_for_a_pause():
    # Running from 0 s; auto-start at ~9 s; a long press stops it at 16.5 s; running goes on to 40 s:
    # no new session. After 65 s still, running again starts session 2.
    src = join(_run(40, seed=2), still(SRC_HZ, 65), _run(30, seed=3))
    presses = [(15000, 0), (16700, 1)]
    rec, _, _ = await run_device(
        '{"auto_start": "motion", "rate_hz": 52}', presses, 125000, src, source_rate=SOURCE_RATE
    )
    w = rec.watcher
    assert rec.sessions == 2 and w.started == 2, (rec.sessions, w.started)
    assert 105000 + 8000 <= w.detected_ms <= 105000 + 10500, w.detected_ms
    # Session 1: ~9 s -> 16.5 s, by hand; session 2 was still recording when the test ended.
    (total, _, _, reason), _ = _end_block(rec.last_path[:-5] + "1.hsn")
    assert reason == log.REASON_USER_STOP and 6 * 52 <= total <= 9 * 52, total


async def test_a_session_started_by_hand_does_not_stop_on_its_own():
    src = still(SRC_HZ, 200)
    presses = [(1000, 0), (2700, 1)]
    rec, _, _ = await run_device(
        '{"auto_start": "motion", "auto_stop_min": 1, "rate_hz": 26}',
        presses,
        140000,
        src,
        source_rate=SOURCE_RATE,
    )
    # Still for 137 s, auto_stop_min 1: recorded until the test ended (main() closes it by hand).
    assert rec.sessions == 1 and rec.last_reason == log.REASON_USER_STOP
    total = _end_block(rec.last_path)[0][0]
    assert 136 * 26 <= total <= 139 * 26, total
