"""Auto-start on running (firmware/motion.py) on simulated runs and walks (hipsense.sim), on MicroPython.

1. Through main(): a simulated session (stand, run, stand) plays on the fake LSM6DSOX locked to the fake
   clock; with ``"auto_start": "motion"`` the device watches at 52 Hz, starts a session on the run and
   closes it (``no_running``) a minute after the last step. The host decodes the file: the samples are
   exactly the simulated ones from the moment of detection.
2. The detector alone on many simulated runs (2.5-5 m/s) and walks (0.8-2 m/s), at 52 Hz as the watcher
   sees them (means of 4 simulated 208 Hz samples, as the fake chip makes them): every run is detected
   within the documented delay, no walk or stand is.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from hipsense.formats.device_file import SessionFileWarning, read_device_file
from hipsense.sim import RunConfig, Segment, simulate_run
from tests.mpy.harness import run_micropython, unavailable_reason

pytestmark = [
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),  # the simulator's stand segments divide by 0
]

MP = Path(__file__).resolve().parent / "mp"
SRC_HZ = 6667 / 32  # the fake chip plays the source at the 208 Hz setting's real rate
MAX_DELAY_S = 12.0  # docs/firmware.md: 24 steps (7.2-10.3 s at 200-140 steps/min) + a step + 1 s

BOOT = """
import array, mp_device
src = array.array("h", open("/in/counts.bin", "rb").read())
rec, chip, _ = await mp_device.run_device(
    '{"auto_start": "motion", "auto_stop_min": 1}', [], 130000, src, source_rate=(6667, 32000000))
w = rec.watcher
print("@@RESULT", rec.sessions, rec.last_path, rec.last_reason, w.detected_ms, chip.errors)
"""


def test_simulated_run_starts_and_stops_a_session(tmp_path):
    run = simulate_run(
        RunConfig(segments=(Segment("stand", 15.0), Segment("run", 30.0), Segment("stand", 75.0)), seed=4)
    )
    counts = run.counts
    raw = tmp_path / "counts.bin"
    counts.astype("<i2").tofile(raw)
    out = tmp_path / "motion.hsn"
    res = run_micropython(
        BOOT,
        files=[(raw, "/in/counts.bin")] + [(p, f"/tests/{p.name}") for p in MP.glob("mp_*.py")],
        sys_path=["/tests"],
        export=[("/mt_sessions/00000001.hsn", out)],
    )
    line = next(x for x in res.stdout.splitlines() if x.startswith("@@RESULT"))
    _, sessions, path, reason, detected_ms, errors = line.split(" ", 5)
    assert (sessions, path, reason, errors) == ("1", "/mt_sessions/00000001.hsn", "5", "[]"), res.stdout
    with warnings.catch_warnings():
        warnings.simplefilter("error", SessionFileWarning)
        s = read_device_file(out)
    assert s.report.close_reason == "no_running" and s.report.gaps == [] and s.report.overflow_lost == 0
    first_ic = run.truth["ic_row"].iloc[0] / SRC_HZ
    last_ic = run.truth["ic_row"].iloc[-1] / SRC_HZ
    delay = int(detected_ms) / 1000 - first_ic
    assert 7.0 < delay < MAX_DELAY_S, delay
    # The samples are the simulated ones from detection on, none missing, until a minute after the last step.
    start = int(np.flatnonzero((counts == s.counts[0]).all(axis=1))[0])
    n = len(s.counts)
    np.testing.assert_array_equal(s.counts, counts[start : start + n])
    assert abs(start / SRC_HZ - int(detected_ms) / 1000) < 0.05
    stop_s = (start + n) / SRC_HZ
    assert last_ic + 59 < stop_s < last_ic + 62, (last_ic, stop_s)


DETECT = """
import array, motion
data = open("/in/cases.bin", "rb").read()
rate_mhz = 52085  # 6667 Hz / 128: the LSM6DSOX's real 52 Hz
out = []
o = 0
for n in CASES:
    a = array.array("h", data[o : o + 12 * n])
    o += 12 * n
    det = motion.StepDetector(rate_mhz, 488000)
    buf = array.array("h", bytes(12 * 52))
    i = 0
    at = -1
    while i < n:
        k = min(52, n - i)  # one watch period (1 s) per feed
        buf[0 : 6 * k] = a[6 * i : 6 * (i + k)]
        if det.feed(buf, k):
            at = det.index
            break
        i += k
    out.append(at)
print("@@DETECT", out)
"""


def _at_52hz(counts: np.ndarray) -> np.ndarray:
    n = len(counts) // 4 * 4
    return np.floor(counts[:n].reshape(-1, 4, 6).astype(np.int64).mean(axis=1)).astype(np.int16)


def test_detector_on_simulated_runs_and_walks(tmp_path):
    cases = []  # (kind, speed, seed, counts at 52 Hz, onset s)
    for speed in (2.5, 3.0, 3.5, 4.0, 4.5, 5.0):
        for seed in (1, 2):
            r = simulate_run(
                RunConfig(segments=(Segment("stand", 5.0), Segment("run", 35.0)), speed_mps=speed, seed=seed)
            )
            cases.append(("run", speed, seed, _at_52hz(r.counts), r.truth["ic_row"].iloc[0] / 208))
    for speed in (0.8, 1.1, 1.4, 1.7, 2.0):
        for seed in (1, 2):
            segs = (Segment("stand", 5.0), Segment("walk", 55.0))
            r = simulate_run(RunConfig(segments=segs, walk_speed_mps=speed, seed=seed))
            cases.append(("walk", speed, seed, _at_52hz(r.counts), None))
    r = simulate_run(RunConfig(segments=(Segment("stand", 60.0),), seed=3))
    cases.append(("stand", 0.0, 3, _at_52hz(r.counts), None))
    raw = tmp_path / "cases.bin"
    np.concatenate([c[3] for c in cases]).astype("<i2").tofile(raw)
    script = "CASES = " + json.dumps([len(c[3]) for c in cases]) + "\n" + DETECT
    res = run_micropython(script, files=[(raw, "/in/cases.bin")])
    line = next(x for x in res.stdout.splitlines() if x.startswith("@@DETECT"))
    found = json.loads(line.split(" ", 1)[1])
    delays = []
    for (kind, speed, seed, _, onset), at in zip(cases, found, strict=True):
        if kind == "run":
            assert at > 0, (speed, seed)
            delays.append(at / 52.085 - onset)
            assert 6.5 < delays[-1] < MAX_DELAY_S, (speed, seed, delays[-1])
        else:
            assert at == -1, (kind, speed, seed, at)
    print(
        f"detection delay after the first step: {min(delays):.1f}-{max(delays):.1f} s on {len(delays)} runs"
    )
