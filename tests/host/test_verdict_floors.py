"""Every noise floor is at least the error its metric's asymmetry showed against a reference (red-team
p13 F9): a verdict "differs" says the true difference is beyond what the measurement gets wrong.

The real reference is the motion-capture trial (``running-pelvis-mocap``: treadmill force contacts and
the markers' pelvic drop, per step, with the markers' sides): the recording goes through
``analyse_file`` as ``hipsense analyze`` reads it, and each metric the reference measures is compared
side by side with the reference's own medians. Skipped when the shared data are absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense import metrics as registry
from hipsense.gait.summary import asymmetry_index

#: The reference's column for each metric it measures (flight time: step time minus contact time).
REFERENCE = {
    "step_time_s": "step_time_s",
    "contact_time_s": "contact_time_s",
    "flight_time_s": "flight_time_s",
    "pelvic_drop_deg": "drop_deg",
}


@pytest.fixture(scope="module")
def mocap(shared_data):
    from hipsense.analysis import analyse_file

    folder = shared_data / "running-pelvis-mocap"
    if not (folder / "s01_v25.csv").exists():
        pytest.skip("running-pelvis-mocap is absent from the shared data")
    truth = pd.read_csv(folder / "s01_v25_truth.csv")
    truth["flight_time_s"] = truth["step_time_s"] - truth["contact_time_s"]
    return analyse_file(folder / "s01_v25.csv").summary, truth


@pytest.mark.parametrize("metric", list(REFERENCE))
def test_the_floor_covers_the_asymmetry_error_against_the_reference(mocap, metric):
    summary, truth = mocap
    side = summary.side(metric)
    col = REFERENCE[metric]
    left = float(np.nanmedian(truth.loc[truth["side"] == "L", col]))
    right = float(np.nanmedian(truth.loc[truth["side"] == "R", col]))
    m = registry.get(metric)
    if m.asymmetry == "difference":
        error = side.difference - (left - right)
    else:
        error = side.asymmetry_pct - asymmetry_index(left, right)
    assert abs(error) <= m.noise_floor, (
        f"{metric}: floor {m.noise_floor} is below its measured error {abs(error):.2f} on the motion capture"
    )


def test_every_sided_floor_is_positive():
    """No sided metric is judged without a floor (a zero floor would make any interval a verdict)."""
    assert all(m.noise_floor > 0 for m in registry.sided())
