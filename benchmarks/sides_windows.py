"""Memory and CPU of the side detector over one window against 10-minute windows (issue 17).

A simulated session (default 60 min at 208 Hz: walking, running, a walk break, running, walking) goes
into ``SideDetector.detect`` with the simulator's contacts and their gait (what the analysis passes), once
over the whole body frame and once over ``plan_windows`` windows (10-min cores, 30 s overlaps). Prints
the peak of the memory the call allocates (``tracemalloc``; numpy's arrays are traced; the body frame
itself is allocated before and not counted), the CPU time (``time.process_time``, best of a few
repeats) and whether the two give the same sides.

    .venv/bin/python benchmarks/sides_windows.py [--minutes 60] [--repeats 3] [--no-activity]

Run it with an older checkout on ``PYTHONPATH`` to measure the detector before windows (its ``detect``
has no ``windows``: only the one-window line is printed).
"""

from __future__ import annotations

import argparse
import inspect
import os
import time
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from hipsense.gait.sides import SideDetector  # noqa: E402
from hipsense.gait.windows import plan_windows  # noqa: E402
from hipsense.sim import scenarios, simulate_run  # noqa: E402
from hipsense.sim.config import Segment  # noqa: E402


def measure(fn, repeats: int) -> tuple[float, float, object]:
    """(peak MB allocated during one call, best CPU s over ``repeats`` calls, the last result)."""
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return peak, best, out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-activity", action="store_true", help="let the flight test say the gait")
    args = parser.parse_args()
    total = args.minutes * 60.0
    segments = (
        Segment("walk", 0.05 * total),
        Segment("run", 0.45 * total),
        Segment("walk", 0.03 * total),
        Segment("run", 0.42 * total),
        Segment("walk", 0.05 * total),
    )
    run = simulate_run(scenarios.steady_run(duration_s=None, seed=11, segments=segments))
    fs, body = run.sample_rate_hz, run.body
    ic = run.truth["ic_index"].to_numpy()
    activity = None if args.no_activity else run.truth["activity"].to_numpy()
    print(
        f"{len(body) / fs / 60:.1f} min at {fs:g} Hz: {len(body)} samples, {len(ic)} steps "
        f"({(run.truth['activity'] == 'walk').sum()} walking); body frame {body.memory_usage().sum() / 1e6:.0f} MB"
    )
    one = lambda: SideDetector().detect(body, ic, sampling_rate_hz=fs, activity=activity)  # noqa: E731
    peak, cpu, a = measure(one, args.repeats)
    print(
        f"one window          : peak {peak:7.1f} MB ({peak * 1e6 / len(body):5.1f} B/sample), CPU {cpu:.3f} s"
    )
    if "windows" not in inspect.signature(SideDetector.detect).parameters:
        return
    plan = plan_windows(len(body), fs)
    many = lambda: SideDetector().detect(body, ic, sampling_rate_hz=fs, activity=activity, windows=plan)  # noqa: E731
    peak, cpu, b = measure(many, args.repeats)
    print(
        f"{len(plan):2d} windows of 10 min: peak {peak:7.1f} MB ({peak * 1e6 / len(body):5.1f} B/sample), "
        f"CPU {cpu:.3f} s"
    )
    same = np.array_equal(a.sides_, b.sides_) and np.allclose(a.score_, b.score_, rtol=1e-9, atol=0)
    print(f"same sides and scores (1e-9): {same}")


if __name__ == "__main__":
    main()
