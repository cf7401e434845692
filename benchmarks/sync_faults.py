"""Fault injection over the pseudo-terminal against the firmware on MicroPython; prints the counts.

The same run as tests/host/test_sync_faults.py (tests/mpy/sync_faults.py), longer: random bytes
dropped, duplicated and bit-flipped in both directions, links cut, the host killed mid-sync. Printed:
faults by kind, sync rounds, device refills (cycles), sessions that reached the store byte-identical,
reports of incomplete sessions, reconnects and resends, and the two counts that must be 0: sessions
gone from the device without a verified copy in the store, and corrupt copies in the store.

Usage: ``.venv/bin/python benchmarks/sync_faults.py [--faults 500] [--seed 1]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.mpy.sync_faults import run_faults  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faults", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    vectors = ROOT / "tests" / "vectors"
    sessions = {
        0x01: vectors / "three_axis_accel.session",
        0x2A: vectors / "six_axis_gap_overflow.session",
        0x2B: vectors / "extremes.session",
    }
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run = run_faults(sessions, Path(tmp), faults=args.faults, seed=args.seed, max_rounds=2000)
    print(
        f"faults injected: {sum(run.faults.values())} ({', '.join(f'{k} {v}' for k, v in sorted(run.faults.items()))})"
    )
    print(
        f"sync rounds {run.rounds}, device refills {run.cycles}, sessions stored byte-identical {run.stored}"
    )
    print(f"incomplete reports {run.incomplete_reports}, reconnects {run.reconnects}, resends {run.resends}")
    print(
        f"deleted without a verified copy: {run.deleted_unstored}; corrupt copies in the store: {run.corrupt_in_store}"
    )
    print(f"wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
