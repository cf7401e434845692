"""Speed of the full analysis: decode to summary of a one-hour 208 Hz 6-axis session, on one core.

Prints the CPU time of each stage (``time.process_time``, best of a few repeats: on a shared machine the
wall clock measures the other programs as much as this one) and the total. Compares with mobgap's
IcdIonescu + LrcMcCamley on the same data when mobgap is installed (optional).

``--file`` times a device file instead (e.g. ``benchmarks/long_session.py``'s cached hour) and splits
:func:`~hipsense.analysis.analyse_file` by stage: each stage's entry point on the route (the aligner's
``estimate``, the contact and side detectors' ``detect``, ``metrics.step_table``, ``summarize``) is
wrapped with a CPU timer for the run, so the split is of the real route, not of a copy of it.

    .venv/bin/python benchmarks/speed.py [--minutes 60] [--repeats 3] [--file PATH]

A speed change must not change a number. ``--dump OUT FILE...`` writes everything the analysis returns
(step tables, bouts, body frames, summaries, alignment, quality) for the given device files and, when
``../shared/data`` is there, for the 19 real treadmill trials at 500 and 208 Hz (their contact
detector too), the motion-capture trial and the first 10 walking trials; run it once with the old code
first on ``PYTHONPATH`` (a ``git worktree`` of the commit before), once with the new, then
``--compare OLD NEW`` says whether every frame is the same bit for bit (``check_exact``, signed zeros
included). The dumps are pickles: compare only dumps you wrote.
"""

from __future__ import annotations

import argparse
import functools
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
    parser.add_argument("--file", default=None, help="a device file: time analyse_file on it by stage")
    parser.add_argument("--dump", nargs="+", metavar=("OUT", "FILE"), help="write every output (see above)")
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), help="two dumps: the same numbers?")
    args = parser.parse_args()
    if args.dump:
        dump_outputs(Path(args.dump[0]), [Path(f) for f in args.dump[1:]])
        return
    if args.compare:
        raise SystemExit(compare_dumps(Path(args.compare[0]), Path(args.compare[1])))
    if args.file:
        stages_of_file(Path(args.file), args.repeats)
        return

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


def time_calls(owner: object, name: str, label: str, spent: dict[str, float]) -> None:
    """Replace ``owner.name`` by a wrapper that adds the CPU seconds of each call to ``spent[label]``."""
    fn = getattr(owner, name)

    @functools.wraps(fn)
    def wrapper(*a, **k):
        t0 = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            spent[label] = spent.get(label, 0.0) + time.process_time() - t0

    setattr(owner, name, wrapper)


def best_split(path: Path, repeats: int, spent: dict[str, float], total: str, derive=None):
    """``analyse_file(path)`` once to warm up (imports, caches), then ``repeats`` times: the least CPU
    seconds of each entry the timers put in ``spent``, of the whole run (``total``) and of what
    ``derive(spent)`` adds from a run's figures; and the last run's result."""
    import gc

    import hipsense.analysis as route

    route.analyse_file(path)
    best: dict[str, float] = {}
    result = None
    for _ in range(repeats):
        spent.clear()
        gc.collect()
        t0 = time.process_time()
        result = route.analyse_file(path)
        spent[total] = time.process_time() - t0
        if derive is not None:
            derive(spent)
        for k, v in spent.items():
            best[k] = min(best.get(k, float("inf")), v)
    return best, result


def stages_of_file(path: Path, repeats: int) -> None:
    """CPU seconds of each stage of ``analyse_file(path)``, each the best of ``repeats`` runs."""
    import hipsense.analysis as route
    from hipsense import metrics
    from hipsense.gait import alignment, events, sides, walking, windows

    spent: dict[str, float] = {}

    for owner, name, label in [
        (route, "load_recording", "decode and recording"),
        (alignment.MountingAligner, "estimate", "alignment (incl. bouts)"),
        (windows.RotatedRows, "rows", "body frame (per window)"),
        (events.RunningContactDetector, "detect", "running contacts"),
        (walking.WalkingContactDetector, "detect", "walking contacts"),
        (sides.SideDetector, "detect", "sides"),
        (metrics, "step_table", "step table"),
        (route, "summarize", "summary"),
    ]:
        time_calls(owner, name, label, spent)
    best, result = best_split(path, repeats, spent, "total, file to summary")
    print(f"{path}: {len(result.rows)} samples, {len(result.steps)} steps; CPU s, best of {repeats}")
    for k, v in best.items():
        print(f"{k:<28}{v:>10.3f}")


def dump_outputs(out: Path, files: list[Path]) -> None:
    """Every output of the analysis on ``files`` and on the shared real data sets, pickled to ``out``."""
    import dataclasses
    import pickle
    import sys
    import warnings

    from hipsense.analysis import analyse_file
    from hipsense.datasets import (
        WALKING_L5_RATE_HZ,
        dataset_dir,
        load_running_sacral,
        read_walking_sensor,
        running_sacral_trials,
        walking_dir,
        walking_trial_names,
    )
    from hipsense.gait.events import RunningContactDetector
    from hipsense.recording import Recording

    sys.path.insert(0, str(Path(__file__).parent))
    from running_events import resample_to

    def outputs(run) -> dict:
        return {
            "steps": run.steps,
            "bouts": run.bouts,
            "body": run.body,
            "summary": run.summary.to_dict() if run.summary else None,
            "alignment": run.alignment,
            "quality": dataclasses.asdict(run.quality),
        }

    def attempt(fn, arg) -> object:
        try:
            return outputs(fn(arg))
        except Exception as e:  # a refusal is an output too: it must not change either
            return repr(e)

    found: dict[str, object] = {}
    warnings.simplefilter("ignore")
    for path in files:
        found[path.name] = attempt(analyse_file, path)
    if dataset_dir("running-sacral-accel") is not None:
        for _, trial in running_sacral_trials("all").iterrows():
            data, _ = load_running_sacral(trial["trial"])
            for rate in (500.0, 208.0):
                d = data if rate == 500.0 else resample_to(data, rate)
                found[f"{trial['trial']} {rate:g} Hz contacts"] = (
                    RunningContactDetector().detect(d, sampling_rate_hz=rate).events_
                )
                found[f"{trial['trial']} {rate:g} Hz"] = attempt(analyse, Recording(d, "body", rate))
    mocap = dataset_dir("running-pelvis-mocap")
    if mocap is not None:
        found["mocap s01_v25"] = attempt(analyse_file, mocap / "s01_v25.csv")
    if walking_dir() is not None:
        for name in walking_trial_names()[:10]:
            sensor, _ = read_walking_sensor(walking_dir() / f"{name}_lb.txt")
            found[f"walking {name}"] = attempt(analyse, Recording(sensor, "sensor", WALKING_L5_RATE_HZ))
    with open(out, "wb") as f:
        pickle.dump(found, f)
    print(f"{len(found)} outputs written to {out}")


def compare_dumps(old: Path, new: Path) -> int:
    """0 when every output of the two dumps is the same bit for bit; prints the first difference."""
    import math
    import pickle

    import numpy as np
    import pandas as pd

    with open(old, "rb") as f, open(new, "rb") as g:
        a, b = pickle.load(f), pickle.load(g)

    def same(x, y, where: str) -> None:
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True, obj=where)
            for c in x.columns:  # check_exact takes -0.0 for 0.0
                if x[c].dtype.kind == "f":
                    assert np.array_equal(np.signbit(x[c].to_numpy()), np.signbit(y[c].to_numpy())), where
        elif isinstance(x, dict):
            assert x.keys() == y.keys(), where
            for k in x:
                same(x[k], y[k], f"{where}.{k}")
        elif isinstance(x, (list, tuple)):
            assert len(x) == len(y), where
            for i, (u, v) in enumerate(zip(x, y, strict=True)):
                same(u, v, f"{where}[{i}]")
        elif isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            pass
        else:
            assert type(x) is type(y) and x == y, f"{where}: {x!r} != {y!r}"
            if isinstance(x, float):
                assert math.copysign(1, x) == math.copysign(1, y), where

    try:
        same(a, b, "dump")
    except AssertionError as e:
        print(f"DIFFERENT: {e}")
        return 1
    print(f"identical: all {len(a)} outputs, bit for bit")
    return 0


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
