"""A step whose side is unknown says why in its quality note (the schema: ``quality`` holds the reasons
a value is missing). Before, an accelerometer-only run's steps had empty sides and only "no gyroscope:
no pelvic drop or rotation" (red-team p13 F5)."""

from __future__ import annotations

import pandas as pd

from hipsense.analysis import analyse_file
from hipsense.sim import scenarios, simulate_run


def test_steps_without_a_side_say_why(tmp_path):
    path = tmp_path / "run.csv"
    simulate_run(scenarios.steady_run(duration_s=20.0, seed=6)).write_csv(path)
    table = pd.read_csv(path)
    table.drop(columns=[c for c in table if c.startswith("gyr")]).to_csv(path, index=False)
    steps = analyse_file(path).steps
    unknown = steps["side"].fillna("") == ""
    assert unknown.sum() > 10
    assert steps.loc[unknown, "quality"].str.contains("side unknown: no gyroscope", regex=False).all()
    assert not steps.loc[~unknown, "quality"].str.contains("side unknown", regex=False).any()
