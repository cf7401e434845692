"""End to end: simulated running -> fake IMU chip (register level) -> driver -> sampler -> session file.

The firmware (imu drivers, sampler, log, codec) runs on the MicroPython WebAssembly port against the
chip models in tests/firmware/fakes/, on a fake clock; the host decodes the exported file with
hipsense.formats.device_file and must get back exactly the simulated counts. Stalls (a GC pause, a
slow flash erase while a block is written) shorter than the FIFO must cost nothing; longer ones must
show up in the file as FIFO overflows whose size and position are exactly what the chip lost.
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

MP_DIR = Path(__file__).resolve().parent / "mp"


@pytest.fixture(scope="module")
def running() -> np.ndarray:
    run = simulate_run(scenarios.steady_run(duration_s=20, seed=1))
    assert run.counts.dtype == np.int16 and run.counts.shape[1] == 6
    return run.counts


RECORD = r"""
import array, asyncio, imu, json, log, machine, sampler
from fake_clock import FakeClock
from fake_icm42688 import FakeICM42688
from fake_lsm6dsox import FakeLSM6DSOX

cfg = json.loads(open("/in/cfg.json").read())
src = array.array("h", open("/in/counts.bin", "rb").read())
clock = FakeClock(start_ms=cfg["start_ms"])
i2c = machine.I2C(0)
if cfg["chip"] == "lsm":
    chip = i2c.attach(0x6B, FakeLSM6DSOX(clock, src, freq_fine=cfg["freq_fine"]))
else:
    chip = i2c.attach(0x69, FakeICM42688(clock, src, invalid_first=5, stream_drop=cfg["drop"]))
drv = imu.probe(i2c, clock=clock.ticks_ms)


class SlowFlash:
    # The session file, where some block writes stall (a sector erase): the fake clock jumps while
    # the sampler is blocked inside writer.append().
    def __init__(self, f, stalls):
        self.f = f
        self.n = 0
        self.stalls = stalls

    def write(self, b):
        self.n += 1
        clock.advance_ms(self.stalls.get(str(self.n), 0))
        return self.f.write(b)

    def flush(self):
        self.f.flush()


f = open("/out.session", "wb")
w = log.SessionWriter(
    SlowFlash(f, cfg["write_stalls"]),
    **imu.writer_args(drv, session_id=4242, device_id="HS-e2e", firmware_version="0.1.0", start_time_unix=1767225600)
)
s = sampler.Sampler(drv, w, clock=clock.ticks_ms)
sleeps = [0]


async def sleep(ms):
    # Between drains: fake time passes; a planned stall (GC pause, busy task) makes it jump.
    sleeps[0] += 1
    if chip.exhausted and chip.level() == 0:
        s.stop()
    await clock.sleep_ms(ms + cfg["sleep_stalls"].get(str(sleeps[0]), 0))


s._sleep = sleep
await s.run()
s.close()
f.close()
lost = chip.lost_indices()
print("@@RESULT " + json.dumps({
    "lost": lost, "model": drv.MODEL, "odr_mhz": drv.odr_mhz, "drains": s.drains, "gaps": s.gaps,
    "max_interval_ms": s.max_interval_ms, "overflows": drv.overflows, "errors": chip.errors,
}))
"""


def record(tmp_path: Path, counts: np.ndarray, chip: str, **cfg) -> tuple[Path, dict]:
    """Run RECORD on MicroPython; returns the exported session file and the run's facts."""
    conf = {
        "chip": chip,
        "start_ms": -2000,
        "freq_fine": 3,
        "drop": "oldest",
        "sleep_stalls": {},
        "write_stalls": {},
    }
    conf.update(cfg)
    raw = tmp_path / "counts.bin"
    counts.astype("<i2").tofile(raw)
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(conf))
    out = tmp_path / f"{chip}.session"
    res = run_micropython(
        RECORD,
        files=[(raw, "/in/counts.bin"), (cfg_path, "/in/cfg.json")],
        export=[("/out.session", out)],
    )
    facts = json.loads(re.search(r"@@RESULT (.*)", res.stdout).group(1))
    assert facts["errors"] == [], facts["errors"]
    return out, facts


def runs(indices: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs of indices as (first, count)."""
    out: list[list[int]] = []
    for i in indices:
        if out and out[-1][0] + out[-1][1] == i:
            out[-1][1] += 1
        else:
            out.append([i, 1])
    return [(a, n) for a, n in out]


@pytest.mark.parametrize("chip", ["lsm", "icm"])
def test_running_round_trips_exactly(tmp_path, running, chip):
    path, facts = record(tmp_path, running, chip)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SessionFileWarning)  # a clean session decodes without a warning
        s = read_device_file(path)
    np.testing.assert_array_equal(s.counts, running)
    assert np.array_equal(s.sample_index, np.arange(len(running)))
    r = s.report
    assert r.gaps == [] and r.overflow_lost == 0 and r.corrupt_blocks == [] and r.torn_tail_bytes == 0
    assert r.close_reason == "user_stop" and facts["lost"] == []
    h = s.header
    assert h.sensor_model == facts["model"] and h.device_id == "HS-e2e" and h.session_id == 4242
    assert h.sample_rate_hz == facts["odr_mhz"] / 1000 == (208.0 if chip == "lsm" else 200.0)
    assert h.acc_range_g == 16 and h.gyr_range_dps == 2000 and h.channels == 6
    # Block times are the FIFO reads: never before the block's first sample was produced, and at most
    # one drain period (+ a sample) after it.
    bt = s.block_table
    t_first = bt["first_index"] * 1000 / h.sample_rate_hz
    lag = bt["t_ms"] - t_first
    assert lag.min() >= -0.01 * t_first.max() and lag.max() <= 200, (lag.min(), lag.max())


@pytest.mark.parametrize("chip", ["lsm", "icm"])
def test_stalls_within_the_fifo_cost_nothing(tmp_path, running, chip):
    # GC-like pauses between drains and flash stalls inside block writes, each shorter than what the
    # FIFO holds (LSM6DSOX 1.23 s, ICM-42688-P 0.64 s) with the drain period (they do not overlap:
    # two stalls in a row add up and overflow, as the next test shows).
    pause = 1000 - 153 if chip == "lsm" else 480 - 80
    flash = 900 if chip == "lsm" else 420
    path, facts = record(
        tmp_path,
        running,
        chip,
        sleep_stalls={str(k): pause for k in (40, 41, 70)},  # from about 6 s on
        write_stalls={str(k): flash for k in (2, 3)},  # the first two blocks, before 4 s
    )
    s = read_device_file(path)
    np.testing.assert_array_equal(s.counts, running)
    assert s.report.gaps == [] and s.report.overflow_lost == 0 and facts["lost"] == []
    assert facts["max_interval_ms"] >= pause


@pytest.mark.parametrize(("chip", "drop"), [("lsm", "oldest"), ("icm", "oldest"), ("icm", "newest")])
def test_overflows_are_counted_never_silent(tmp_path, running, chip, drop):
    # Stalls past the FIFO depth (2 s and 3.5 s between drains, 2.5 s in a block write) lose samples
    # in the chip; the file must say how many and where, exactly.
    path, facts = record(
        tmp_path,
        running,
        chip,
        drop=drop,
        sleep_stalls={"10": 2000, "40": 3500},
        write_stalls={"6": 2500},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SessionFileWarning)
        s = read_device_file(path)
    truth = runs(facts["lost"])
    assert len(truth) == 3 and sum(n for _, n in truth) > 700, truth
    r = s.report
    assert r.gaps == truth
    assert r.overflow_lost == len(facts["lost"])
    assert [(i - n, n) for i, n in r.overflow_events] == truth
    # Every decoded sample is the simulated one at its index; the missing ones are exactly the lost.
    np.testing.assert_array_equal(s.counts, running[s.sample_index])
    assert sorted(set(range(len(running))) - set(s.sample_index.tolist())) == facts["lost"]
    assert facts["overflows"] >= 3 and facts["gaps"] == 3
