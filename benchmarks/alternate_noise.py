"""How often the alternate-step verdict says "the sets differ" on real, healthy runners and walkers, and
what the share of steps with a confident side (``MIN_SIDED_SHARE``) rests on.

When the sides are not known, the outputs compare the two sets of alternate steps and judge the
difference with the rule of the left/right verdict (:mod:`hipsense.report.alternate`: a 95 % block
bootstrap interval that excludes 0 and a difference beyond the metric's noise floor). This benchmark
runs it on real recordings with the sides hidden and prints, per recording, every metric's difference,
interval and verdict next to the old rule (a sentence for any difference of 5 % or more):

1. **Treadmill** (``running-sacral-accel`` and ``-slopes``, 19 trials of 5 s, one runner; no gyroscope,
   so the sides are unknown anyway): through ``analyse`` as ``hipsense analyze`` reads the CSV. The
   treadmill force says whether the runner's contacts really alternate: the reference contact times
   judged by the same rule on the force plate's alternate contacts.
2. **Motion capture** (``running-pelvis-mocap``, 76 steps at 2.5 m/s): the sensor-frame file with its
   gyroscope dropped (an accelerometer-only clip), against the left/right verdict of the same steps
   grouped by the markers' sides (same values, same rule): whether the alternate verdict says what the
   left/right one would.
3. **Walking** (``walking-l5-ipol``, 110 trials of 19 adults, about 20 steps each): through ``analyse``
   with its gyroscope, the sides ignored ("give no sides"): the walking steps' alternate sets, against
   the left/right verdict by the foot sensors' sides.

Two sets of steps of one foot have no true difference at all. For every recording and metric, each
set of alternate steps is split once more into its every-other steps (steps 1, 5, 9, ... against 3, 7,
11, ...: the same foot), and judged by the same rule: the "same foot" rows are a false-alarm rate with
nothing real behind it (these sets are half as large, so their intervals are wider than the real
comparison's).

``MIN_SIDED_SHARE``: on the motion capture (with its gyroscope) and on the walking set, the share of
steps that get a side and how many of those are right, per recording.

Run: ``.venv/bin/python benchmarks/alternate_noise.py [--rows]`` (about 1 minute; ``--rows`` prints
every metric of every recording). Prints figures; tests/host/test_report_alternate.py holds the rule's
tests. Deterministic (the bootstrap's seed is fixed).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hipsense import metrics as registry
from hipsense.analysis import NotRunningError, analyse
from hipsense.datasets import (
    RUNNING_SACRAL_RATE_HZ,
    dataset_dir,
    read_running_sacral_csv,
    read_walking_sensor,
    reference_contacts,
    running_sacral_trials,
    walking_dir,
    walking_trial_names,
)
from hipsense.datasets import WALKING_L5_RATE_HZ as WALK_HZ
from hipsense.formats.load import load_recording
from hipsense.gait.parity import step_parity
from hipsense.gait.scoring import match_nearest
from hipsense.recording import Recording
from hipsense.report.alternate import alternate_steps, compare_sets
from hipsense.report.wording import MIN_SIDED_SHARE

#: The old rule: a sentence for every alternate difference of 5 % or more (angles never).
OLD_RULE_PCT = 5.0
#: Matching detected steps to reference contacts.
TOLERANCE_S = {"treadmill": 0.040, "mocap": 0.060, "walking": 0.100}
#: Set sizes (steps in the smaller set) the same-foot false alarms are counted by.
NULL_SIZES = ((3, 5), (6, 9), (10, 10_000))
#: Walking trials whose reference feet look swapped (docs/validation-walking.md).
SWAPPED_SIDE_TRIALS = ("4-1", "4-2")


def _quiet_analyse(recording: Recording) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyse(recording)


def old_rule(row: dict[str, Any]) -> bool:
    """The 5 % rule the HTML report used before (no interval, no floor; angles had no %)."""
    return (row["difference_pct"] or 0.0) >= OLD_RULE_PCT


def same_foot_rows(steps: pd.DataFrame, activity: str) -> list[dict[str, Any]]:
    """Each set of alternate steps split into its every-other steps (same foot, no true difference),
    judged by the alternate rule: one row per set and metric that has enough steps."""
    if "activity" in steps:
        steps = steps[steps["activity"].to_numpy() == activity].reset_index(drop=True)
    parity = step_parity(steps)
    rows = []
    for metric in registry.sided(activity):
        if metric.name not in steps:
            continue
        x = steps[metric.name].to_numpy(dtype=float)
        for p in (0, 1):
            keep = (parity == p) & np.isfinite(x)
            values = x[keep]
            half = np.arange(len(values)) % 2 == 0
            row = compare_sets(values, half, metric)
            if row is not None:
                rows.append(row)
    return rows


def lr_rows(values_by_metric: dict[str, np.ndarray], is_left: np.ndarray) -> dict[str, dict[str, Any]]:
    """The left/right verdict of each metric (same rule: :func:`compare_sets` with the sides as sets)."""
    out = {}
    for name, x in values_by_metric.items():
        ok = np.isfinite(x)
        row = compare_sets(x[ok], is_left[ok], registry.get(name))
        if row is not None:
            out[name] = row
    return out


# -- 1. treadmill ---------------------------------------------------------------------------------------


def treadmill() -> list[dict[str, Any]]:
    """Each real treadmill trial through analyse (no gyroscope): alternate rows and the force's own."""
    out = []
    for _, tr in running_sacral_trials("all").iterrows():
        raw = read_running_sacral_csv(tr["trial"])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{tr['trial']}.csv"
            raw[["t_s", "acc_v_g", "acc_ap_g"]].to_csv(path, index=False)
            rec = load_recording(path, acc_unit="g", columns={"acc_is": "acc_v_g", "acc_pa": "acc_ap_g"})
        try:
            res = _quiet_analyse(rec)
        except NotRunningError:
            out.append({"name": tr["trial"], "slope": tr["slope_deg"], "rows": [], "null": [], "ref": None})
            continue
        ref = reference_contacts(raw["grf_v_bw"].to_numpy(), RUNNING_SACRAL_RATE_HZ)
        ref = ref[ref["complete"]].reset_index(drop=True)
        # The force plate's own alternate contacts: does the runner's contact time alternate?
        ref_parity = step_parity(ref.assign(bout=0))
        ct = ref["contact_time_s"].to_numpy(dtype=float)
        ref_row = compare_sets(ct, ref_parity == 0, registry.get("contact_time_s"))
        out.append(
            {
                "name": tr["trial"],
                "slope": tr["slope_deg"],
                "side_source": res.quality.side_source,
                "rows": alternate_steps(res.steps),
                "null": same_foot_rows(res.steps, "run"),
                "ref": ref_row,
            }
        )
    return out


# -- 2. motion capture ----------------------------------------------------------------------------------


def mocap(folder: Path) -> dict[str, Any]:
    """The motion-capture trial without its gyroscope (alternate rows) against the markers' sides."""
    truth = pd.read_csv(folder / "s01_v25_truth.csv")
    data = pd.read_csv(folder / "s01_v25.csv")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s01_v25_acc_only.csv"
        data.drop(columns=[c for c in data if c.startswith("gyr")]).to_csv(path, index=False)
        res = _quiet_analyse(load_recording(path))
        full = _quiet_analyse(load_recording(folder / "s01_v25.csv"))
    steps = res.steps[res.steps["activity"] == "run"].reset_index(drop=True)
    i_ref, i_det = match_nearest(truth["ic_s"].to_numpy(), steps["ic_s"].to_numpy(), TOLERANCE_S["mocap"])
    matched = steps.iloc[i_det]
    is_left = truth["side"].to_numpy()[i_ref] == "L"
    names = [m.name for m in registry.sided("run") if np.isfinite(matched[m.name].to_numpy(float)).any()]
    lr = lr_rows({n: matched[n].to_numpy(dtype=float) for n in names}, is_left)
    # The markers' own left/right (truth values, truth sides): contact time and drop.
    truth_lr = lr_rows(
        {
            "contact_time_s": truth["contact_time_s"].to_numpy(float),
            "pelvic_drop_deg": truth["drop_deg"].to_numpy(float),
        },
        truth["side"].to_numpy() == "L",
    )
    # Parity of the matched steps against the true sides: one set is one foot throughout?
    parity = step_parity(steps)[i_det]
    agree = float(np.mean((parity == 0) == is_left))
    return {
        "name": "mocap s01_v25 (gyroscope dropped)",
        "side_source": res.quality.side_source,
        "rows": alternate_steps(res.steps),
        "null": same_foot_rows(res.steps, "run"),
        "lr": lr,
        "truth_lr": truth_lr,
        "parity_is_one_foot": max(agree, 1 - agree),
        "share": side_share(full.steps[full.steps["activity"] == "run"], truth, TOLERANCE_S["mocap"]),
    }


def side_share(steps: pd.DataFrame, truth: pd.DataFrame, tolerance_s: float) -> dict[str, Any]:
    """Share of the steps with a side, and of those matched to the reference, how many are right."""
    side = steps["side"].to_numpy()
    i_ref, i_det = match_nearest(truth["ic_s"].to_numpy(), steps["ic_s"].to_numpy(), tolerance_s)
    sided = side[i_det] != ""
    right = side[i_det][sided] == truth["side"].to_numpy()[i_ref][sided]
    return {
        "steps": len(steps),
        "with_side": int((side != "").sum()),
        "matched_with_side": int(sided.sum()),
        "right": int(right.sum()),
    }


# -- 3. walking -----------------------------------------------------------------------------------------


def walking_trial(folder: Path, name: str) -> dict[str, Any] | None:
    """One walking trial through analyse (gyroscope kept, sides ignored for the alternate rows)."""
    sensor, _ = read_walking_sensor(folder / f"{name}_lb.txt")
    try:
        res = _quiet_analyse(Recording(sensor, "sensor", WALK_HZ))
    except NotRunningError:
        return None
    meta = json.loads((folder / f"{name}.json").read_text())
    ev = np.r_[
        np.asarray(meta["LeftFootEvents"]).reshape(-1, 2), np.asarray(meta["RightFootEvents"]).reshape(-1, 2)
    ]
    sides = np.r_[np.full(len(meta["LeftFootEvents"]), "L"), np.full(len(meta["RightFootEvents"]), "R")]
    order = np.argsort(ev[:, 1], kind="stable")
    truth = pd.DataFrame({"ic_s": ev[order, 1] / WALK_HZ, "side": sides[order]})
    lo, hi = (int(v) / WALK_HZ for v in meta["TrialBoundaries"])
    truth = truth[(truth["ic_s"] >= lo) & (truth["ic_s"] <= hi)].reset_index(drop=True)
    walk = res.steps[res.steps["activity"] == "walk"].reset_index(drop=True)
    i_ref, i_det = match_nearest(truth["ic_s"].to_numpy(), walk["ic_s"].to_numpy(), TOLERANCE_S["walking"])
    matched = walk.iloc[i_det]
    is_left = truth["side"].to_numpy()[i_ref] == "L"
    names = [m.name for m in registry.sided("walk")]
    lr = lr_rows({n: matched[n].to_numpy(dtype=float) for n in names}, is_left)
    parity = step_parity(walk)[i_det]
    agree = float(np.mean((parity == 0) == is_left)) if len(i_det) else float("nan")
    return {
        "name": f"walking {name}",
        "rows": alternate_steps(res.steps, activity="walk"),
        "null": same_foot_rows(res.steps, "walk"),
        "lr": lr,
        "parity_is_one_foot": max(agree, 1 - agree),
        "share": side_share(walk, truth, TOLERANCE_S["walking"]),
        "swapped": name in SWAPPED_SIDE_TRIALS,
    }


# -- printing -------------------------------------------------------------------------------------------


def _fmt(row: dict[str, Any]) -> str:
    m = registry.get(row["metric"])
    if row["judged_on"] == "difference":
        unit, scale = m.unit, 1.0
    else:
        unit, scale = "%", 1.0
    verdict = "DIFFERS" if row["larger_than_noise"] else "noise"
    old = "5%: yes" if old_rule(row) else "5%: no"
    return (
        f"{m.name:24s} n {row['n_a']:3d}/{row['n_b']:<3d} {scale * row['estimate']:6.1f} {unit:3s} "
        f"[{row['ci_low']:+6.1f} {row['ci_high']:+6.1f}] floor {row['noise_floor']:.1f} -> {verdict:7s} ({old})"
    )


def _rate(rows: list[dict[str, Any]], key: str = "larger_than_noise") -> str:
    if not rows:
        return "0 of 0"
    fired = sum(bool(r[key]) if key != "old" else old_rule(r) for r in rows)
    # A verdict needs MIN_VERDICT_STEPS a set (hipsense/gait/verdict.py): the rest are not judged.
    unjudged = 0 if key == "old" else sum(r[key] is None for r in rows)
    judged = len(rows) - unjudged
    rate = f"{fired} of {judged} ({100 * fired / judged:.0f} %)" if judged else "0 of 0"
    return rate + (f", {unjudged} not judged (too few steps a set)" if unjudged else "")


def _by_metric(rows: list[dict[str, Any]], old: bool = False) -> str:
    parts = []
    for m in registry.sided():
        mine = [r for r in rows if r["metric"] == m.name]
        if mine:
            fired = sum(old_rule(r) if old else bool(r["larger_than_noise"]) for r in mine)
            parts.append(f"{m.name} {fired}/{len(mine)}")
    return ", ".join(parts)


def report(title: str, recs: list[dict[str, Any]], show_rows: bool) -> None:
    rows = [r for rec in recs for r in rec["rows"]]
    null = [r for rec in recs for r in rec["null"]]
    print(f"\n## {title}: {len(recs)} recordings")
    if show_rows:
        for rec in recs:
            print(f"  {rec['name']}")
            for r in rec["rows"]:
                print("    " + _fmt(r))
    print(f"  alternate sets, new rule 'differs': {_rate(rows)}; old 5 % rule: {_rate(rows, 'old')}")
    print(f"    per metric (new rule): {_by_metric(rows)}")
    with_any = sum(any(r["larger_than_noise"] for r in rec["rows"]) for rec in recs)
    with_any_old = sum(any(old_rule(r) for r in rec["rows"]) for rec in recs)
    print(f"    recordings with at least one 'differs': {with_any} of {len(recs)} (old rule: {with_any_old})")
    print(
        f"  same foot split in two (no true difference): 'differs' {_rate(null)}; old 5 % rule {_rate(null, 'old')}"
    )
    print(f"    per metric (new rule): {_by_metric(null)}")
    print(f"    per metric (old rule): {_by_metric(null, old=True)}")
    sizes = ", ".join(
        f"{lo}-{hi} steps: {_rate([r for r in null if lo <= min(r['n_a'], r['n_b']) <= hi])}"
        for lo, hi in NULL_SIZES
        if any(lo <= min(r["n_a"], r["n_b"]) <= hi for r in null)
    )
    print(f"    by the smaller set's size: {sizes}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", action="store_true", help="print every metric of every recording")
    args = parser.parse_args(argv)
    print(f"MIN_SIDED_SHARE = {MIN_SIDED_SHARE}; old rule: a sentence at >= {OLD_RULE_PCT:.0f} %")

    if dataset_dir("running-sacral-accel") is not None:
        tm = treadmill()
        report("Treadmill, accelerometer only (19 trials of 5 s)", tm, args.rows)
        refs = [t for t in tm if t["ref"] is not None]
        both = [t for t in refs if any(r["metric"] == "contact_time_s" for r in t["rows"])]
        agree = sum(
            next(r for r in t["rows"] if r["metric"] == "contact_time_s")["larger_than_noise"]
            == t["ref"]["larger_than_noise"]
            for t in both
        )
        print(
            f"  force plate's own alternate contact times 'differ' in {_rate([t['ref'] for t in refs])} trials; "
            f"the IMU's contact-time verdict agrees with the force plate's in {agree} of {len(both)}"
        )
        if args.rows:
            for t in refs:
                r = t["ref"]
                print(
                    f"    {t['name']:22s} force CT {r['estimate']:5.1f} % [{r['ci_low']:+5.1f} {r['ci_high']:+5.1f}] "
                    f"-> {'DIFFERS' if r['larger_than_noise'] else 'noise'}"
                )
        print(
            "  side source of every trial:",
            sorted({t.get("side_source") for t in tm}),
            "(share with a side: 0)",
        )
    else:
        print("../shared/data/running-sacral-accel is absent: treadmill part skipped")

    folder = dataset_dir("running-pelvis-mocap")
    if folder is not None:
        mc = mocap(folder)
        report("Motion capture, gyroscope dropped", [mc], True)
        print(f"  parity sets are one foot each: {100 * mc['parity_is_one_foot']:.0f} % of matched steps")
        print("  the same steps by the markers' sides (left/right verdict, same rule):")
        for r in mc["lr"].values():
            print("    " + _fmt(r))
        print("  the markers' own values by their sides:")
        for r in mc["truth_lr"].values():
            print("    " + _fmt(r))
        alt = {r["metric"]: r["larger_than_noise"] for r in mc["rows"]}
        same = sum(alt.get(k) == v["larger_than_noise"] for k, v in mc["lr"].items() if k in alt)
        print(
            f"  alternate verdict = left/right verdict for {same} of {len([k for k in mc['lr'] if k in alt])} metrics"
        )
        s = mc["share"]
        print(
            f"  with the gyroscope: {s['with_side']} of {s['steps']} running steps have a side "
            f"({100 * s['with_side'] / max(s['steps'], 1):.0f} %); of {s['matched_with_side']} matched, "
            f"{s['right']} right ({100 * s['right'] / max(s['matched_with_side'], 1):.0f} %)"
        )
    else:
        print("../shared/data/running-pelvis-mocap is absent: motion-capture part skipped")

    wdir = walking_dir()
    if wdir is not None:
        wk = [w for w in (walking_trial(wdir, n) for n in walking_trial_names()) if w is not None]
        report("Walking, sides ignored (gyroscope kept)", wk, args.rows)
        lr = [r for w in wk for r in w["lr"].values()]
        print(f"  the same steps by the foot sensors' sides (left/right verdict): 'differs' {_rate(lr)}")
        pairs = [
            (r["larger_than_noise"], w["lr"][r["metric"]]["larger_than_noise"])
            for w in wk
            for r in w["rows"]
            if r["metric"] in w["lr"]
        ]
        print(
            f"  alternate verdict = left/right verdict in {sum(a == b for a, b in pairs)} of {len(pairs)} comparisons"
        )
        one = np.array([w["parity_is_one_foot"] for w in wk])
        print(
            f"  parity sets one foot each: median {100 * np.nanmedian(one):.0f} %, trials below 90 %: {(one < 0.9).sum()}"
        )
        clean = [w for w in wk if not w["swapped"]]
        n = sum(w["share"]["steps"] for w in wk)
        ws = sum(w["share"]["with_side"] for w in wk)
        m = sum(w["share"]["matched_with_side"] for w in clean)
        ok = sum(w["share"]["right"] for w in clean)
        shares = np.array([w["share"]["with_side"] / max(w["share"]["steps"], 1) for w in wk])
        print(
            f"  sides: {ws} of {n} walking steps have one ({100 * ws / max(n, 1):.1f} %; trials below "
            f"{MIN_SIDED_SHARE:.0%}: {(shares < MIN_SIDED_SHARE).sum()}); of {m} matched (without "
            f"{', '.join(SWAPPED_SIDE_TRIALS)}) {ok} right ({100 * ok / max(m, 1):.1f} %)"
        )
    else:
        print("../shared/data/walking-l5-ipol is absent: walking part skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
