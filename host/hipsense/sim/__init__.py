"""Running simulator: what a sacrum-worn IMU measures in running and walking, with per-step truth.

A test instrument: analysis algorithms are validated against its ground truth. ``docs/simulator.md``
describes the model, its parameters and what it does not capture.

>>> from hipsense.sim import simulate_run, RunConfig
>>> run = simulate_run(RunConfig(duration_s=30, speed_mps=3.3, seed=1))
>>> sorted(run.truth["side"].unique())
['L', 'R']
"""

from hipsense.sim import scenarios
from hipsense.sim.config import (
    Asymmetry,
    Fatigue,
    RunConfig,
    RunningModel,
    Segment,
    SideParams,
    Turn,
    Variability,
    WalkingModel,
)
from hipsense.sim.mounting import Mounting
from hipsense.sim.scenario import SimulatedRun, simulate_run
from hipsense.sim.scenarios import demo_config
from hipsense.sim.sensor import SensorModel

__all__ = [
    "Asymmetry",
    "Fatigue",
    "Mounting",
    "RunConfig",
    "RunningModel",
    "Segment",
    "SensorModel",
    "SideParams",
    "SimulatedRun",
    "Turn",
    "Variability",
    "WalkingModel",
    "demo_config",
    "scenarios",
    "simulate_run",
]
