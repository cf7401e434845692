"""Every algorithm class keeps the mobgap/gaitmap contract (hipsense.gait.base), checked statically and by
running it once on a simulated run."""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pandas as pd
import pytest

import hipsense.gait
from hipsense.gait.base import Algorithm, check_contract
from hipsense.gait.body_frame import to_body_frame
from hipsense.sim import scenarios, simulate_run


def _all_algorithms() -> list[type[Algorithm]]:
    for mod in pkgutil.iter_modules(hipsense.gait.__path__):
        importlib.import_module(f"hipsense.gait.{mod.name}")
    found, todo = [], list(Algorithm.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return sorted(found, key=lambda c: c.__name__)


ALGORITHMS = _all_algorithms()


def test_the_pipeline_detectors_are_all_algorithms():
    names = {c.__name__ for c in ALGORITHMS}
    assert {
        "MountingAligner",
        "ActivityBoutDetector",
        "RunningContactDetector",
        "SideDetector",
        "WalkingContactDetector",
    } <= names


@pytest.mark.parametrize("cls", ALGORITHMS, ids=lambda c: c.__name__)
def test_static_contract(cls):
    assert check_contract(cls) == []


def test_check_contract_catches_each_breach():
    class NoRate(Algorithm):
        def __init__(self, a: int = 1):
            self.a = a

        def detect(self, data, sampling_rate_hz):  # positional rate
            return self

    class Computes(Algorithm):
        def __init__(self, a: int = 1):
            self.a = a
            self.cache_ = None  # results made before any data

        def detect(self, data, *, sampling_rate_hz):
            return self

    class Renames(Algorithm):
        def __init__(self, a: int = 1):
            self.alpha = a

        def detect(self, data, *, sampling_rate_hz):
            return self

    assert any("keyword-only" in p for p in check_contract(NoRate))
    assert any("more than its parameters" in p for p in check_contract(Computes))
    assert any("does not store a" in p for p in check_contract(Renames))


@pytest.fixture(scope="module")
def run():
    return simulate_run(scenarios.steady_run(duration_s=20, seed=2))


def _act(algo: Algorithm, sensor: pd.DataFrame, fs: float) -> Algorithm:
    """Run ``algo``'s action on data of the kind it takes."""
    from hipsense.gait.alignment import MountingAligner

    action = getattr(algo, type(algo)._action_method)
    if isinstance(algo, MountingAligner):
        return action(sensor, sampling_rate_hz=fs)
    body = to_body_frame(sensor, MountingAligner().estimate(sensor, sampling_rate_hz=fs).r_body_from_sensor_)
    if type(algo).__name__ == "SideDetector":
        ic = np.arange(int(fs), len(body) - int(fs), int(0.36 * fs))
        return action(body, ic, sampling_rate_hz=fs)
    return action(body, sampling_rate_hz=fs)


@pytest.mark.parametrize("cls", ALGORITHMS, ids=lambda c: c.__name__)
def test_action_returns_self_with_results_ending_in_underscore(cls, run):
    algo = cls()
    params = algo.get_params()
    assert algo.results() == {}, "no results before the action"
    out = _act(algo, run.data, run.sample_rate_hz)
    assert out is algo, "the action returns self"
    assert algo.results(), "the action stored its results"
    others = [k for k in vars(algo) if not k.endswith("_") and k not in params]
    assert others == [], f"results must end in '_': {others}"
    for name, value in algo.get_params().items():
        assert np.array_equal(np.asarray(value, dtype=object), np.asarray(params[name], dtype=object)), (
            f"the action changed the parameter {name}"
        )
