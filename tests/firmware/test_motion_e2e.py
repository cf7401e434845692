"""Auto-start on running (firmware/motion.py) on simulated runs and walks (hipsense.sim), on MicroPython.

1. Through main(), on each supported chip: a simulated session (stand, run, stand) plays on the fake
   chip locked to the fake clock (fakes/fake_source.py); with ``"auto_start": "motion"`` the device
   watches at 52 Hz (LSM6DSOX) or 50 Hz (ICM-42688-P: its nearest rate), starts a session on the run
   and closes it (``no_running``) a minute after the last step. The host decodes the file: the
   samples are exactly the simulated ones from the moment of detection. A simulated walk starts
   nothing.
2. The detector alone on many simulated runs (2.5-5 m/s) and walks (0.8-2 m/s), at 52 Hz as the watcher
   sees them (means of 4 simulated 208 Hz samples, as the fake chip makes them): every run is detected
   within the documented delay, no walk or stand is.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from hipsense.formats.device_file import SessionFileWarning, read_device_file
from hipsense.sim import RunConfig, Segment, SensorModel, simulate_run
from tests.firmware.motion_cases import detect
from tests.mpy.harness import run_micropython, unavailable_reason

pytestmark = [
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),  # the simulator's stand segments divide by 0
]

MP = Path(__file__).resolve().parent / "mp"
MAX_DELAY_S = 12.0  # docs/firmware.md: 24 steps (7.2-10.3 s at 200-140 steps/min) + a step + 1 s

# Per chip model (mp_device.CHIPS): sim_hz, the simulated rate; source_rate, the rate (samples/us) the
# fake chip plays the simulation at, so that the recording reads it one to one (the LSM6DSOX's 208 Hz
# setting runs at 6667/32 Hz; the ICM-42688-P's nearest setting is 200 Hz); watch_mhz and record_mhz,
# the rates the watcher and the session run at (the headers' odr_mhz); real_watch_mhz, the driver's
# rate_mhz at the watch rate; acc_scale_ng at +-16 g.
CHIPS = {
    "lsm6dsox": {
        "sim_hz": 208.0,
        "source_rate": (6667, 32000000),
        "watch_mhz": 52000,
        "real_watch_mhz": 52085,
        "record_mhz": 208000,
        "acc_scale_ng": 488000,
    },
    "icm42688": {
        "sim_hz": 200.0,
        "source_rate": (1, 5000),
        "watch_mhz": 50000,
        "real_watch_mhz": 50000,
        "record_mhz": 200000,
        "acc_scale_ng": 488281,
    },
}

BOOT = """
import array, mp_device
src = array.array("h", open("/in/counts.bin", "rb").read())
rec, chip, _ = await mp_device.run_device(
    '{"auto_start": "motion", "auto_stop_min": 1}', [], END_MS, src, source_rate=RATE, model=MODEL)
w = rec.watcher
print("@@RESULT", rec.sessions, rec.last_path, rec.last_reason, w.detected_ms, w.imu.odr_mhz,
      w.det.index, w.det.peaks, w.det.landings, w.errors, chip.errors)
"""


def _boot(tmp_path: Path, model: str, counts: np.ndarray, end_ms: int, export: bool) -> list[str]:
    raw = tmp_path / "counts.bin"
    counts.astype("<i2").tofile(raw)
    code = f"END_MS = {end_ms}\nRATE = {CHIPS[model]['source_rate']!r}\nMODEL = {model!r}\n" + BOOT
    res = run_micropython(
        code,
        files=[(raw, "/in/counts.bin")] + [(p, f"/tests/{p.name}") for p in MP.glob("mp_*.py")],
        sys_path=["/tests"],
        export=[("/mt_sessions/00000001.hsn", tmp_path / "motion.hsn")] if export else [],
    )
    line = next(x for x in res.stdout.splitlines() if x.startswith("@@RESULT"))
    return line.split(" ", 10)[1:]


def _simulate(model: str, segments: tuple[Segment, ...], seed: int, **kw):
    sensor = SensorModel(sample_rate_hz=CHIPS[model]["sim_hz"])
    return simulate_run(RunConfig(segments=segments, seed=seed, sensor=sensor, **kw))


@pytest.mark.parametrize("model", sorted(CHIPS))
def test_simulated_run_starts_and_stops_a_session(tmp_path, model):
    chip = CHIPS[model]
    ns, ds = chip["source_rate"]
    src_hz = ns * 1e6 / ds
    run = _simulate(model, (Segment("stand", 15.0), Segment("run", 30.0), Segment("stand", 75.0)), seed=4)
    counts = run.counts
    sessions, path, reason, detected_ms, odr, _, _, _, errs, chip_errs = _boot(
        tmp_path, model, counts, 130000, export=True
    )
    assert (sessions, path, reason, errs, chip_errs) == ("1", "/mt_sessions/00000001.hsn", "5", "0", "[]")
    assert int(odr) == chip["watch_mhz"]  # the watcher ran the chip at (its nearest rate to) 52 Hz
    with warnings.catch_warnings():
        warnings.simplefilter("error", SessionFileWarning)
        s = read_device_file(tmp_path / "motion.hsn")
    assert s.report.close_reason == "no_running" and s.report.gaps == [] and s.report.overflow_lost == 0
    assert s.header.odr_mhz == chip["record_mhz"]
    first_ic = run.truth["ic_row"].iloc[0] / src_hz
    last_ic = run.truth["ic_row"].iloc[-1] / src_hz
    delay = int(detected_ms) / 1000 - first_ic
    print(f"{model}: detected {delay:.2f} s after the first step")
    assert 7.0 < delay < MAX_DELAY_S, delay
    # The samples are the simulated ones from detection on, none missing, until a minute after the last step.
    start = int(np.flatnonzero((counts == s.counts[0]).all(axis=1))[0])
    n = len(s.counts)
    np.testing.assert_array_equal(s.counts, counts[start : start + n])
    assert abs(start / src_hz - int(detected_ms) / 1000) < 0.05
    stop_s = (start + n) / src_hz
    assert last_ic + 59 < stop_s < last_ic + 62, (last_ic, stop_s)


@pytest.mark.parametrize("model", sorted(CHIPS))
def test_simulated_walk_does_not_start_a_session(tmp_path, model):
    # The fastest walk of the detector test below, brisk enough to load the pelvis most.
    run = _simulate(model, (Segment("stand", 5.0), Segment("walk", 55.0)), seed=1, walk_speed_mps=2.0)
    sessions, _, _, _, odr, index, peaks, landings, errs, chip_errs = _boot(
        tmp_path, model, run.counts, 59000, export=False
    )
    assert (sessions, errs, chip_errs) == ("0", "0", "[]")
    watch_hz = CHIPS[model]["watch_mhz"] // 1000
    assert int(odr) == CHIPS[model]["watch_mhz"]
    assert 57 * watch_hz <= int(index) <= 59 * watch_hz, index  # it watched all along, at its rate
    assert (peaks, landings) == ("0", "0")  # walking never reaches 1.8 g, let alone after a flight


def _at_watch_rate(counts: np.ndarray) -> np.ndarray:
    # What the fake chip makes at a quarter of the simulated rate: the floor of the means of 4.
    n = len(counts) // 4 * 4
    return np.floor(counts[:n].reshape(-1, 4, 6).astype(np.int64).mean(axis=1)).astype(np.int16)


@pytest.mark.parametrize("model", sorted(CHIPS))
def test_detector_on_simulated_runs_and_walks(tmp_path, model):
    # At each chip's watch rate (52 Hz; 50 Hz on the ICM-42688-P), on a quarter of its simulated rate.
    chip = CHIPS[model]
    sim_hz = chip["sim_hz"]
    cases = []  # (kind, speed, seed, counts at the watch rate, onset s)
    for speed in (2.5, 3.0, 3.5, 4.0, 4.5, 5.0):
        for seed in (1, 2):
            r = _simulate(model, (Segment("stand", 5.0), Segment("run", 35.0)), seed, speed_mps=speed)
            cases.append(("run", speed, seed, _at_watch_rate(r.counts), r.truth["ic_row"].iloc[0] / sim_hz))
    for speed in (0.8, 1.1, 1.4, 1.7, 2.0):
        for seed in (1, 2):
            r = _simulate(model, (Segment("stand", 5.0), Segment("walk", 55.0)), seed, walk_speed_mps=speed)
            cases.append(("walk", speed, seed, _at_watch_rate(r.counts), None))
    r = _simulate(model, (Segment("stand", 60.0),), 3)
    cases.append(("stand", 0.0, 3, _at_watch_rate(r.counts), None))
    # one watch period (1 s) per feed
    per_poll = chip["watch_mhz"] // 1000
    found = detect(tmp_path, [c[3] for c in cases], chip["real_watch_mhz"], per_poll, chip["acc_scale_ng"])
    delays = []
    for (kind, speed, seed, _, onset), d in zip(cases, found, strict=True):
        at = d.at
        if kind == "run":
            assert at > 0, (speed, seed)
            delays.append(at / (sim_hz / 4) - onset)
            assert 6.5 < delays[-1] < MAX_DELAY_S, (speed, seed, delays[-1])
        else:
            assert at == -1, (kind, speed, seed, at)
    print(
        f"{model}: detection delay after the first step: {min(delays):.1f}-{max(delays):.1f} s"
        f" on {len(delays)} runs"
    )
