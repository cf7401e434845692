"""Real walking through the runner's own route: each walking-l5-ipol trial as a sensor-frame recording
into ``hipsense.analysis.analyse`` (alignment, bouts, walking contacts, sides), scored against the
foot-sensor reference (IC within 100 ms, inside the trial's boundaries).

    .venv/bin/python benchmarks/walking_analyse.py [--trials]

Each trial is also re-written as another logger would write it (times in ms rounded to 1 ms, 0.5 %
of rows dropped at random) and read back through the CSV reader, to show the figures do not move
(issue 14: the recording's own clock).

benchmarks/walking.py scores the walking detector on its own; this one shows what `hipsense analyze`
gives a user on the same data, and where its missed steps are: by place in the trial (the first
step, straight walking, the U-turn, the closing step of the stop) and by cause (lost by the route,
i.e. found by the walking detector on the same body frame but not in the step table, or missed by
the detector itself). Prints figures; tests/host/test_walking.py holds the thresholds.
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
from hipsense.gait.walking import WalkingContactDetector
from hipsense.recording import Recording

TOLERANCE_S = 0.100
PLACES = ("first", "straight", "uturn", "closing")
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
    turn_lo, turn_hi = (int(v) / RATE_HZ for v in meta["UTurnBoundaries"])
    place = np.where((ref_ic >= turn_lo) & (ref_ic <= turn_hi), "uturn", "straight").astype(object)
    if len(place):
        place[0], place[-1] = "first", "closing"
    alone = np.zeros(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = analyse(recording, n_boot=0)
        det = result.steps
        # The detector on its own on the same body frame: what the route could have kept.
        found = WalkingContactDetector().detect(result.body, sampling_rate_hz=result.sampling_rate_hz)
        alone = np.asarray(result.body["t_s"].to_numpy()[found.ic_list_["ic"].to_numpy()], dtype=float)
    except NotRunningError:
        det = pd.DataFrame({"ic_s": [], "side": [], "activity": []})
    ic = det["ic_s"].to_numpy(dtype=float)
    window = (ic >= lo - TOLERANCE_S) & (ic <= hi + TOLERANCE_S)
    ic, side = ic[window], det["side"].to_numpy()[window]
    i_ref, i_det = match_nearest(ref_ic, ic, TOLERANCE_S)
    missed = np.ones(len(ref_ic), dtype=bool)
    missed[i_ref] = False
    j_ref, _ = match_nearest(ref_ic, alone, TOLERANCE_S)
    by_detector = np.zeros(len(ref_ic), dtype=bool)
    by_detector[j_ref] = True
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
        **{f"FN_{p}": int((missed & (place == p)).sum()) for p in PLACES},
        **{f"ref_{p}": int((place == p).sum()) for p in PLACES},
        "FN_lost_by_route": int((missed & by_detector).sum()),
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
    # The step-evidence weights were fitted on the first half by name (benchmarks/walking.py --fit).
    tuning = set(sorted(rows["trial"])[: len(rows) // 2])
    for label, part in (
        ("tuning half", rows[rows["trial"].isin(tuning)]),
        ("held-out half", rows[~rows["trial"].isin(tuning)]),
    ):
        tp, fp, fn = part["TP"].sum(), part["FP"].sum(), part["FN"].sum()
        print(
            f"  {label} ({len(part)} trials): TP {tp}, FP {fp}, FN {fn}, F1 {2 * tp / (2 * tp + fp + fn):.3f}"
        )
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
    places = ", ".join(f"{p} {rows[f'FN_{p}'].sum()} of {rows[f'ref_{p}'].sum()}" for p in PLACES)
    print(
        f"  missed steps by place: {places}; lost by the route (found by the walking detector on the "
        f"same body frame): {rows['FN_lost_by_route'].sum()}, missed by the detector: "
        f"{fn - rows['FN_lost_by_route'].sum()}"
    )


if __name__ == "__main__":
    sys.exit(main())
