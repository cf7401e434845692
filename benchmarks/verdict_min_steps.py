"""How many steps a side a left/right verdict needs: false "differs" on symmetric runs, by steps a side.

A simulated runner with no asymmetry at all (``steady_run``: every left/right difference is nil) is
recorded as the clip's device file and analysed as ``hipsense analyze`` does (``analyse_file``). Its
running steps are then cut into windows of ``n`` consecutive steps a side (as short recordings would
give) and each sided metric of each window is judged by the verdict's own rule
(:func:`hipsense.report.alternate.compare_sets` with the sides as the two sets: a 95 % moving-block
bootstrap interval that excludes 0 and an estimate beyond the registry's noise floor). Every "differs"
is a false alarm. The printed table is the false-alarm rate per ``n``; the long windows' rate is the
rate of a long run. ``MIN_VERDICT_STEPS`` (hipsense/gait/verdict.py) is chosen from it.

Run: ``.venv/bin/python benchmarks/verdict_min_steps.py`` (about 1-2 minutes). Deterministic.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from hipsense import metrics as registry
from hipsense.analysis import analyse_file
from hipsense.gait.verdict import MIN_STEPS_A_SIDE
from hipsense.report.alternate import compare_sets
from hipsense.sim import simulate_run
from hipsense.sim.scenarios import steady_run

#: Steps a side per window.
SIZES = (3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 30, 50, 100)
#: Symmetric runs: (speed m/s, seed).
RUNS = ((2.5, 11), (3.3, 12), (4.2, 13), (5.5, 14), (3.3, 15), (2.8, 16))
#: Windows of one size per run, at most (spread over the run).
MAX_WINDOWS = 40


def step_tables(duration_s: float = 400.0) -> list:
    """The running steps (with a side) of each symmetric run."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for speed, seed in RUNS:
            path = Path(tmp) / f"sym-{seed}.hsn"
            simulate_run(steady_run(duration_s, speed_mps=speed, seed=seed)).write_device_file(path)
            steps = analyse_file(path).steps
            steps = steps[(steps["activity"] == "run") & steps["side"].isin(["L", "R"])]
            out.append(steps.reset_index(drop=True))
    return out


def false_alarms(tables: list, n: int) -> tuple[int, int]:
    """(false "differs", verdicts) over windows of ``n`` steps a side (2n consecutive steps)."""
    fired = judged = 0
    for steps in tables:
        starts = np.arange(0, len(steps) - 2 * n + 1, 2 * n)
        if len(starts) > MAX_WINDOWS:
            starts = starts[np.linspace(0, len(starts) - 1, MAX_WINDOWS).astype(int)]
        for a in starts:
            win = steps.iloc[a : a + 2 * n]
            is_left = (win["side"] == "L").to_numpy()
            for metric in registry.sided("run"):
                x = win[metric.name].to_numpy(dtype=float)
                ok = np.isfinite(x)
                row = compare_sets(x[ok], is_left[ok], metric, min_steps=MIN_STEPS_A_SIDE)
                if row is None or row["larger_than_noise"] is None:
                    continue
                judged += 1
                fired += bool(row["larger_than_noise"])
    return fired, judged


def main() -> None:
    tables = step_tables()
    print(f"{len(tables)} symmetric simulated runs, {sum(map(len, tables))} sided running steps")
    print("| steps a side | verdicts | false 'differs' | rate |")
    print("|---|---|---|---|")
    for n in SIZES:
        fired, judged = false_alarms(tables, n)
        rate = 100 * fired / judged if judged else float("nan")
        print(f"| {n} | {judged} | {fired} | {rate:.1f} % |")


if __name__ == "__main__":
    main()
