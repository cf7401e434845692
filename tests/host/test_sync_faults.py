"""Fault injection: 200 random faults between the host and the firmware (on MicroPython, over a pty).

Bytes dropped, duplicated and bit-flipped both ways, links cut, the host killed mid-sync. After every
sync round: each session is on the device or in the store byte-identical, never neither; a session
reported incomplete is still on the device. The counts are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.mpy.harness import unavailable_reason
from tests.mpy.sync_faults import BYTE_FAULTS, run_faults

pytestmark = [
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
    pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX"),
]
VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def test_200_random_faults_never_lose_or_corrupt_a_session(tmp_path):
    sessions = {
        0x01: VECTORS / "three_axis_accel.session",
        0x2A: VECTORS / "six_axis_gap_overflow.session",
        0x2B: VECTORS / "extremes.session",
    }
    run = run_faults(sessions, tmp_path, faults=200, seed=11)
    print(
        f"\nfaults {sum(run.faults.values())}: {dict(sorted(run.faults.items()))}; rounds {run.rounds}, "
        f"cycles {run.cycles}, sessions stored {run.stored}, incomplete reports {run.incomplete_reports}, "
        f"reconnects {run.reconnects}, resends {run.resends}"
    )
    assert sum(run.faults.values()) == 200
    assert all(run.faults[k] > 0 for k in (*BYTE_FAULTS, "disconnect", "kill")), run.faults
    assert run.deleted_unstored == 0
    assert run.corrupt_in_store == 0
    assert run.stored == len(sessions) * run.cycles  # every cycle ended with all sessions stored
