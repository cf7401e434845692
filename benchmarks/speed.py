"""Speed of the full analysis: decode to summary of a one-hour 208 Hz 6-axis session, on one core.

Prints the CPU time of each stage (``time.process_time``, best of a few repeats: on a shared machine the
wall clock measures the other programs as much as this one) and the total. Compares with mobgap's
IcdIonescu + LrcMcCamley on the same data when mobgap is installed (optional).

    .venv/bin/python benchmarks/speed.py [--minutes 60] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the target says
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from hipsense.analysis import analyse  # noqa: E402
from hipsense.formats.device_file import read_device_file  # noqa: E402
from hipsense.formats.session_input import recording_from_session  # noqa: E402
from hipsense.gait.summary import summarize  # noqa: E402
from hipsense.sim import scenarios, simulate_run  # noqa: E402


def best_of(repeats: int, fn):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    run = simulate_run(scenarios.steady_run(duration_s=args.minutes * 60, seed=1))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "session.hsn"
        run.write_device_file(path)
        size_mb = path.stat().st_size / 1e6
        t_decode, session = best_of(args.repeats, lambda: read_device_file(path))
        t_prep, recording = best_of(args.repeats, lambda: recording_from_session(session))
        t_whole, analysis = best_of(args.repeats, lambda: analyse(recording))
        # The summary's share of analyse(), timed on its own with the same inputs.
        t_summary, summary = best_of(
            args.repeats,
            lambda: summarize(
                analysis.steps,
                source=analysis.source,
                algorithm_version=analysis.algorithm_version,
                duration_s=analysis.duration_s,
                running_time_s=analysis.running_time_s,
                quality=analysis.quality.to_dict(),
                alignment=analysis.alignment,
            ),
        )
        t_analyze = max(t_whole - t_summary, 0.0)

    total = t_decode + t_prep + t_whole
    print(
        f"session: {args.minutes:g} min at {run.sample_rate_hz:g} Hz, {len(run.data)} samples x {len(run.counts[0])} "
        f"channels, {size_mb:.2f} MB on disk, {summary.steps} running steps"
    )
    print(f"{'stage':<28}{'CPU s':>10}")
    for name, t in [
        ("decode device file", t_decode),
        ("to uniform recording", t_prep),
        ("align, bouts, events, sides, metrics", t_analyze),
        ("summary (bootstrap CIs)", t_summary),
    ]:
        print(f"{name:<28}{t:>10.3f}")
    print(
        f"{'total':<28}{total:>10.3f}   (issue 17 target: 0.3 CPU s for 60 min; benchmarks/long_session.py measures CPU and memory)"
    )

    try:
        import mobgap  # noqa: F401
    except ImportError:
        print("mobgap not installed: no comparison (pip install -e '.[compare]' to add it)")
        return
    _compare_mobgap(analysis, run.sample_rate_hz, args.repeats)


def _compare_mobgap(analysis, fs: float, repeats: int) -> None:
    from mobgap.initial_contacts import IcdIonescu
    from mobgap.laterality import LrcMcCamley

    data = analysis.body[["acc_is", "acc_ml", "acc_pa", "gyr_is", "gyr_ml", "gyr_pa"]]

    def both():
        ic = IcdIonescu().detect(data, sampling_rate_hz=fs).ic_list_
        return LrcMcCamley().predict(data, ic, sampling_rate_hz=fs).ic_lr_list_

    t, _ = best_of(repeats, both)
    print(f"{'mobgap IcdIonescu + LrcMcCamley':<28}{t:>10.3f}   (initial contacts and sides only)")


if __name__ == "__main__":
    main()
