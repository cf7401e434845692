"""End to end through firmware/main.py: a runner's long presses record simulated running, the host decodes it.

Simulated running counts feed a fake LSM6DSOX; main.main() boots from a config file, probes the chip,
and records between two long presses of a fake button (tests/firmware/mp/mp_device.py drives the fake
time). The exported session must decode on the host with the configured device name and mounting, a
user-stop close, no losses, and samples that are exactly a contiguous stretch of the simulated run.
"""

from __future__ import annotations

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

MP = Path(__file__).resolve().parent / "mp"

BOOT_AND_RECORD = """
import array, mp_device
src = array.array("h", open("/in/counts.bin", "rb").read())
presses = [(1000, 0), (2700, 1), (12000, 0), (13700, 1)]
rec, chip, _ = await mp_device.run_device('{"device_name": "HS-e2e", "mounting": "side_left"}', presses, 15000, src)
print("@@PATH", rec.last_path, rec.last_reason, chip.overwritten + chip.dropped_full, chip.errors)
"""


def test_button_session_decodes_to_the_simulated_samples(tmp_path):
    counts = simulate_run(scenarios.steady_run(duration_s=20, seed=4)).counts
    raw = tmp_path / "counts.bin"
    counts.astype("<i2").tofile(raw)
    out = tmp_path / "main.hsn"
    res = run_micropython(
        BOOT_AND_RECORD,
        files=[(raw, "/in/counts.bin")] + [(p, f"/tests/{p.name}") for p in MP.glob("mp_*.py")],
        sys_path=["/tests"],
        export=[("/mt_sessions/00000001.hsn", out)],
    )
    assert "@@PATH /mt_sessions/00000001.hsn 1 0 []" in res.stdout, res.stdout
    with warnings.catch_warnings():
        warnings.simplefilter("error", SessionFileWarning)
        s = read_device_file(out)
    assert s.header.device_id == "HS-e2e" and s.header.mounting == "side-left"
    assert s.report.close_reason == "user_stop" and s.report.gaps == [] and s.report.overflow_lost == 0
    n = len(s.counts)
    assert 10 * 208 < n < 12 * 208  # long press at 2.5 s starts, the one at 13.5 s stops
    # The chip starts streaming when main configures it at the first start: a contiguous stretch.
    start = int(np.flatnonzero((counts == s.counts[0]).all(axis=1))[0])
    np.testing.assert_array_equal(s.counts, counts[start : start + n])
