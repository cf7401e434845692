"""Real walking through the runner's own route: each walking-l5-ipol trial as a sensor-frame recording
into ``hipsense.analysis.analyse`` (alignment, bouts, walking contacts, sides), scored against the
foot-sensor reference (IC within 100 ms, inside the trial's boundaries).

    .venv/bin/python benchmarks/walking_analyse.py [--trials]

Each trial is also re-written as another logger would write it (times in ms rounded to 1 ms, 0.5 %
of rows dropped at random) and read back through the CSV reader, to show the figures do not move
(issue 14: the recording's own clock).

benchmarks/walking.py scores the walking detector on its own; this one shows what `hipsense analyze`
gives a user on the same data. Prints figures; tests/host/test_walking.py holds the thresholds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from hipsense.analysis import NotRunningError, analyse
from hipsense.datasets import WALKING_L5_RATE_HZ as RATE_HZ
from hipsense.datasets import read_walking_sensor, walking_dir, walking_trial_names
from hipsense.formats.load import load_recording
from hipsense.gait.scoring import match_nearest
from hipsense.recording import Recording

TOLERANCE_S = 0.100
#: Trials whose reference feet look swapped (docs/validation-walking.md); left out of side accuracy.
SWAPPED_SIDE_TRIALS = ("4-1", "4-2")


def as_logger_csv(sensor: pd.DataFrame, path: Path, seed: int) -> Path:
    """The trial as a foreign logger's CSV: a ms clock rounded to 1 ms and 0.5 % of the rows lost."""
    rng = np.random.default_rng(seed)
    keep = rng.random(len(sensor)) >= 0.005
    keep[0] = keep[-1] = True
    out = sensor[keep].copy()
    out["t_s"] = np.round(out["t_s"].to_numpy() * 1000.0)
    out.rename(columns={"t_s": "time_ms"}).to_csv(path, index=False)
    return path


def score(name: str, logger_dir: Path | None = None) -> dict:
    """One trial through analyse(): matched steps, false and missed ones, side agreement. With
    ``logger_dir``, the trial goes through a foreign-logger CSV (:func:`as_logger_csv`) first."""
    import json

    folder = walking_dir()
    assert folder is not None
    sensor, _ = read_walking_sensor(folder / f"{name}_lb.txt")
    if logger_dir is not None:
        path = as_logger_csv(sensor, logger_dir / f"{name}.csv", seed=len(name) + int(name.replace("-", "")))
        recording = load_recording(path, columns={"t_s": "time_ms"}, time_unit="ms")
    else:
        recording = Recording(sensor, "sensor", RATE_HZ)
    meta = json.loads((folder / f"{name}.json").read_text())
    steps = np.r_[
        np.asarray(meta["LeftFootEvents"]).reshape(-1, 2), np.asarray(meta["RightFootEvents"]).reshape(-1, 2)
    ]
    sides = np.r_[np.full(len(meta["LeftFootEvents"]), "L"), np.full(len(meta["RightFootEvents"]), "R")]
    order = np.argsort(steps[:, 1], kind="stable")
    ref_ic, ref_side = steps[order, 1] / RATE_HZ, sides[order]
    lo, hi = (int(v) / RATE_HZ for v in meta["TrialBoundaries"])
    keep = (ref_ic >= lo) & (ref_ic <= hi)
    ref_ic, ref_side = ref_ic[keep], ref_side[keep]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = analyse(recording, n_boot=0)
        det = result.steps
    except NotRunningError:
        det = pd.DataFrame({"ic_s": [], "side": [], "activity": []})
    ic = det["ic_s"].to_numpy(dtype=float)
    window = (ic >= lo - TOLERANCE_S) & (ic <= hi + TOLERANCE_S)
    ic, side = ic[window], det["side"].to_numpy()[window]
    i_ref, i_det = match_nearest(ref_ic, ic, TOLERANCE_S)
    return {
        "trial": name,
        "TP": len(i_ref),
        "FP": len(ic) - len(i_det),
        "FN": len(ref_ic) - len(i_ref),
        "side_right": int((side[i_det] == ref_side[i_ref]).sum()),
        "side_unknown": int((side[i_det] == "").sum()),
        "side_n": len(i_ref),
        "walk_steps": int((det["activity"] == "walk").sum()),
        "run_steps": int((det["activity"] == "run").sum()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", action="store_true", help="also print one row per trial")
    args = parser.parse_args(argv)
    if walking_dir() is None:
        print("../shared/data/walking-l5-ipol is absent: nothing to measure")
        return 0
    rows = pd.DataFrame([score(n) for n in walking_trial_names()])
    _print("walking-l5-ipol through analyse()", rows)
    with tempfile.TemporaryDirectory() as tmp:
        logged = pd.DataFrame([score(n, Path(tmp)) for n in walking_trial_names()])
    _print("the same as a foreign logger's CSV (ms clock rounded to 1 ms, 0.5 % rows lost)", logged)
    if args.trials:
        print(rows.to_string(index=False))
    return 0


def _print(title: str, rows: pd.DataFrame) -> None:
    tp, fp, fn = rows["TP"].sum(), rows["FP"].sum(), rows["FN"].sum()
    clean = rows[~rows["trial"].isin(SWAPPED_SIDE_TRIALS)]
    known = clean["side_n"].sum() - clean["side_unknown"].sum()
    print(f"{title}: {len(rows)} trials, {tp + fn} reference steps")
    print(f"  steps @100 ms: TP {tp}, FP {fp}, FN {fn}, F1 {2 * tp / (2 * tp + fp + fn):.3f}")
    print(
        f"  sides of matched steps (without {', '.join(SWAPPED_SIDE_TRIALS)}): "
        f"{clean['side_right'].sum() / max(known, 1):.1%} right of {known} with a side, "
        f"{clean['side_unknown'].sum()} unknown"
    )
    print(f"  steps labelled walk {rows['walk_steps'].sum()}, run {rows['run_steps'].sum()}")


if __name__ == "__main__":
    sys.exit(main())
