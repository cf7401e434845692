"""The host side of the IMU drivers' stall trials (test_lsm6dsox_stalls.py, test_icm42688_stalls.py):
each file's MicroPython script runs its cases with ``mp_rig.stall_trial`` and prints the results."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.mpy.harness import run_micropython

MP_RIG = Path(__file__).resolve().parent / "mp" / "mp_rig.py"


def run_trials(tmp_path: Path, trials: str, cases: list[dict]) -> list[dict]:
    """Run the MicroPython script ``trials`` on ``cases`` (written to /in/cases.json): one result each."""
    path = tmp_path / "cases.json"
    # source samples for the longest trial, with 10 % for the time on the bus
    need = max((c["drain_ms"] * (c["pre"] + 9) + c["stall_ms"]) * c["odr"] * 11 // 10000 for c in cases)
    path.write_text(json.dumps({"cases": cases, "samples": need + 600}))
    res = run_micropython(
        trials,
        files=[(path, "/in/cases.json"), (MP_RIG, "/in/mp_rig.py")],
        sys_path=["/in"],
        heapsize=64 * 1024 * 1024,
    )
    out = json.loads(re.search(r"@@RESULT (.*)", res.stdout).group(1))
    assert len(out) == len(cases)
    return out
