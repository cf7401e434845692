"""End to end: a session closed by the guard (storage full, ENOSPC, low battery) decodes on the host.

Simulated running -> fake LSM6DSOX -> driver -> sampler -> log.SessionWriter on guard.SafeFile on a
fake volume of limited size (tests/firmware/fakes/fake_fs.py), with guard.Guard checking free space
and a fake ADC battery every second of fake time. The host must decode the exported file with the
close reason the guard wrote and exactly the samples the file says it holds (a prefix of the run).
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from hipsense.formats.device_file import SessionFileWarning, read_device_file
from hipsense.sim import scenarios, simulate_run
from tests.mpy.harness import run_micropython, unavailable_reason

pytestmark = [
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
]


@pytest.fixture(scope="module")
def running() -> np.ndarray:
    return simulate_run(scenarios.steady_run(duration_s=30, seed=2)).counts


RECORD = r"""
import array, asyncio, guard, imu, json, log, machine, sampler
from fake_clock import FakeClock
from fake_fs import Volume
from fake_lsm6dsox import FakeLSM6DSOX

cfg = json.loads(open("/in/cfg.json").read())
src = array.array("h", open("/in/counts.bin", "rb").read())
clock = FakeClock(start_ms=5000)
i2c = machine.I2C(0)
chip = i2c.attach(0x6A, FakeLSM6DSOX(clock, src))
drv = imu.probe(i2c, clock=clock.ticks_ms)
vol = Volume(cfg["capacity"])
if cfg["ballast"]:
    vol.ballast(cfg["ballast"])
safe = guard.SafeFile(vol.open("/out.session", "wb"), 2048)
w = log.SessionWriter(safe, **imu.writer_args(drv, session_id=77, device_id="HS-guard", start_time_unix=1767225600))
s = sampler.Sampler(drv, w, clock=clock.ticks_ms)
adc = machine.ADC(machine.Pin(2))
adc.uv = cfg["uv0"]
bat = guard.Battery(adc, divider_milli=2000, low_mv=3450)


async def sampler_sleep(ms):
    if chip.exhausted and chip.level() == 0:
        s.stop()
    await clock.sleep_ms(ms)


async def guard_sleep(ms):
    await asyncio.sleep_ms(0)
    # The guard's period in fake time: let the sampler catch up to it.
    target = clock.us + ms * 1000
    while clock.us < target and s.running:
        await asyncio.sleep_ms(0)
    adc.uv = cfg["uv0"] - cfg["uv_per_s"] * s.t_ms() // 1000


s._sleep = sampler_sleep
g = guard.Guard(
    s, safe, free_bytes=vol.free_bytes if cfg["watch_space"] else None, battery=bat,
    reserve_bytes=cfg["reserve"], statvfs_ms=cfg["statvfs_ms"], clock=clock.ticks_ms, sleep_ms=guard_sleep,
    release=vol.release if cfg["release"] else None,
)
s.start()
# Both as tasks (the WebAssembly port's top-level coroutine is not scheduled among tasks).
st = asyncio.create_task(s.run())
gt = asyncio.create_task(g.run())
await st
reason = await gt
written = g.finish(reason or log.REASON_USER_STOP)
safe.f.close()
print("@@RESULT " + json.dumps({
    "reason": written, "enospc": vol.enospc, "free": vol.capacity - vol.used, "mv": bat.mv,
    "statvfs": vol.statvfs_calls, "stored": safe.samples, "t_s": clock.us // 1000000, "checks": g.checks,
}))
"""


def record(tmp_path: Path, counts: np.ndarray, **cfg) -> tuple[Path, dict]:
    conf = {
        "capacity": 10_000_000,
        "ballast": 0,
        "release": False,
        "watch_space": True,
        "reserve": 0,
        "statvfs_ms": 30000,
        "uv0": 1_950_000,
        "uv_per_s": 0,
    }
    conf.update(cfg)
    raw = tmp_path / "counts.bin"
    counts.astype("<i2").tofile(raw)
    (tmp_path / "cfg.json").write_text(json.dumps(conf))
    out = tmp_path / "guard.session"
    res = run_micropython(
        RECORD,
        files=[(raw, "/in/counts.bin"), (tmp_path / "cfg.json", "/in/cfg.json")],
        export=[("/out.session", out)],
    )
    return out, json.loads(re.search(r"@@RESULT (.*)", res.stdout).group(1))


def decode_clean(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", SessionFileWarning)
        return read_device_file(path)


def test_no_limit_user_stop(tmp_path, running):
    path, facts = record(tmp_path, running)
    s = decode_clean(path)
    assert s.report.close_reason == "user_stop"
    np.testing.assert_array_equal(s.counts, running)
    assert facts["enospc"] == 0 and facts["statvfs"] >= 1


def test_storage_full_closes_before_enospc(tmp_path, running):
    # The 30 s run takes ~14 blocks (30 KB); 45 KB minus the 24 KiB reserve leaves room for ~9.
    path, facts = record(tmp_path, running, capacity=45_000, statvfs_ms=10_000)
    assert facts["reason"] == 2 and facts["enospc"] == 0
    s = decode_clean(path)
    r = s.report
    assert r.close_reason == "storage_full" and r.torn_tail_bytes == 0 and r.gaps == []
    n = len(s.counts)
    assert 0 < n < len(running)
    np.testing.assert_array_equal(s.counts, running[:n])
    assert facts["free"] >= 0 and path.stat().st_size <= 45_000


@pytest.mark.parametrize("release", [True, False])
def test_enospc_leaves_a_decodable_file(tmp_path, running, release):
    # No free-space check: the volume fills and a block write fails half-way with ENOSPC.
    path, facts = record(
        tmp_path,
        running,
        capacity=20_000 + (4096 if release else 0),
        ballast=4096 if release else 0,
        watch_space=False,
        release=release,
    )
    assert facts["enospc"] >= 1 and facts["reason"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SessionFileWarning)
        s = read_device_file(path)
    r = s.report
    n = len(s.counts)
    assert n == facts["stored"] and 0 < n < len(running)
    np.testing.assert_array_equal(s.counts, running[:n])
    assert r.corrupt_blocks == []
    if release:  # the ballast made room for the end block
        assert r.close_reason == "storage_full" and r.torn_tail_bytes == 0
        decode_clean(path)
    else:  # whole blocks plus a torn one: what recovery.recover() closes on the next boot
        assert r.close_reason is None


def test_low_battery_closes_the_session(tmp_path, running):
    # 3.90 V falling 20 mV/s (battery side) crosses 3.45 V after 22.5 s; confirmed 3 checks later.
    path, facts = record(tmp_path, running, uv0=1_950_000, uv_per_s=10_000)
    assert facts["reason"] == 3 and 3350 <= facts["mv"] < 3450
    s = decode_clean(path)
    assert s.report.close_reason == "low_battery"
    n = len(s.counts)
    assert 22 * 208 < n < 27 * 208
    np.testing.assert_array_equal(s.counts, running[:n])
