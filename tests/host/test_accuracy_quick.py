"""Known-answer regression of the whole analysis on a few simulated runs (benchmarks/accuracy.py).

Each cell goes the user's way (device file -> load_input -> analyze -> summarize) and is scored against
the simulator's truth with the benchmark's own code. Thresholds sit a little outside what the benchmark
measures (docs/validation.md, "Simulated runs"), so they catch regressions, not noise. The known miss
of the asymmetry-index target is kept as a strict xfail: it fails the run when it gets fixed, so the
marker is then removed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hipsense.sim import Asymmetry, Mounting, SensorModel

ROOT = Path(__file__).resolve().parents[2]


def _load_benchmark():
    name = "hipsense_benchmark_accuracy"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "accuracy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


bench = _load_benchmark()
RUN_S = 90.0

CELLS = {
    "back 3.3 m/s": dict(seed=101, speed=3.3),
    "side-left 4.2 m/s": dict(seed=102, speed=4.2, mounting=Mounting(position="left")),
    "acc-only 3.3 m/s": dict(seed=103, speed=3.3, sensor=SensorModel(accel_only=True)),
    "random mount, 3x noise, wobble 0.1 g, 2.5 m/s": dict(
        seed=104,
        speed=2.5,
        mounting=Mounting(r_body_from_sensor=bench.random_mounting(104).matrix(), wobble_g=0.1),
        sensor=SensorModel(acc_noise_ms2=0.06, gyr_noise_dps=0.3),
    ),
    "contact+impact 10 % R, 5.5 m/s": dict(seed=105, speed=5.5, asymmetry=bench.asymmetric(10.0, "R")),
    "clock +1 %, 20 gaps/min": dict(
        seed=106, speed=3.3, sensor=SensorModel(clock_error_pct=1.0, drops_per_min=20.0)
    ),
}


def _evaluate(seed: int, **kw: Any) -> dict[str, Any]:
    cfg = bench._session(seed, run_s=RUN_S, **kw)
    return bench.evaluate_cell(bench.Cell("test", str(seed), cfg))


@pytest.fixture(scope="module", params=list(CELLS), ids=list(CELLS))
def cell(request) -> dict[str, Any]:
    return _evaluate(**CELLS[request.param])


def test_steps_found(cell):
    s = cell["summary"]
    gaps = cell["cell"].config.sensor.drops_per_min > 0
    assert not cell["error"]
    # A gap filled linearly across a contact hides its start: the weight-acceptance tangent then times
    # the fill's ramp (measured: 3 of 244 steps at 20 gaps/min, each also a miss).
    assert s["fp"] <= (3 if gaps else 0)
    assert s["fn"] <= (4 if gaps else 1)  # the first step out of standing has no flight before it: no IC
    assert s["f1"] >= (0.98 if gaps else 0.997)


def test_event_timing(cell):
    """Limits just outside the measured figures (IC +1.9..+2.1 ms, SD <= 0.31; TO -5.6..-7.8 ms, SD
    <= 1.1; contact time -7.6..-9.7 ms, SD <= 1.13): the simulated sacrum has no soft-tissue lag, so
    TO at flight + 0.15 g comes early by 0.15 g over the final force slope."""
    s = cell["summary"]
    assert abs(s["ic"]["mean_ms"]) <= 3.0 and s["ic"]["sd_ms"] <= 0.5
    assert abs(s["to"]["mean_ms"]) <= 9.0 and s["to"]["sd_ms"] <= 1.5
    ct = cell["steps"]["contact_time_err_s"].to_numpy() * 1000.0
    ct = ct[np.isfinite(ct)]
    assert abs(ct.mean()) <= 11.0
    assert ct.std(ddof=1) <= 1.5


def test_sides(cell):
    st = cell["steps"]
    m = st["side_det"] != ""
    if not cell["gyro"]:  # no gyroscope: which foot is which is unknown, not guessed
        assert not m.any()
        return
    assert (st.loc[m, "side_det"] == st.loc[m, "side_true"]).mean() >= 0.995


def test_pelvic_drop(cell):
    d = cell["steps"]["drop_err_deg"].to_numpy()
    if not cell["gyro"]:
        assert np.isnan(d).all()
        return
    d = d[np.isfinite(d)]
    assert np.mean(np.abs(d)) <= 0.3
    assert abs(np.mean(d)) <= 0.25


@pytest.mark.parametrize(
    ("metric", "limit"), [("step_time_s", 0.5), ("contact_time_s", 0.8), ("impact_g", 1.5)]
)
def test_asymmetry_index(cell, metric, limit):
    est, true = cell["ai"][metric]
    if not cell["gyro"]:  # sides unknown: no left-right asymmetry is reported
        assert np.isnan(est)
        return
    assert abs(est - true) <= limit


def test_flight_and_drop_asymmetry_of_a_symmetric_gait(cell):
    """A symmetric runner shows no flight or drop asymmetry beyond the noise floor."""
    if cell["cell"].config.asymmetry != Asymmetry():
        pytest.skip("asymmetric gait: see the xfail tests below")
    est, true = cell["ai"]["flight_time_s"]
    if not cell["gyro"]:  # sides unknown: no left-right asymmetry is reported
        assert np.isnan(est)
        return
    assert abs(est - true) <= 1.5
    if cell["gyro"]:
        est, true = cell["ai"]["pelvic_drop_deg"]
        assert abs(est - true) <= 1.5


@pytest.mark.xfail(
    strict=True,
    reason="known miss (docs/validation.md, Simulated runs): flight-time AI shrinks by the contact-time "
    "dependent toe-off bias (measured -42.8 against -52.6 points)",
)
def test_flight_ai_under_contact_time_asymmetry():
    r = _evaluate(201, speed=2.5, asymmetry=bench.asymmetric(15.0, "L"))
    est, true = r["ai"]["flight_time_s"]
    assert abs(est - true) <= 1.5


def test_drop_ai_under_step_time_asymmetry():
    """Was a known miss until the alignment de-rotated the pelvis's yaw and roll (gyroscope)."""
    r = _evaluate(202, speed=5.5, asymmetry=bench.asymmetric(15.0, "R", step=True))
    est, true = r["ai"]["pelvic_drop_deg"]
    assert abs(est - true) <= 1.5
