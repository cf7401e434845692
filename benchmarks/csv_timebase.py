"""The recording's own clock on CSVs: one simulated run written as the CSVs other loggers write.

Issue 14's check. One simulated run (:mod:`hipsense.sim`, 208 Hz, known truth) is written as CSV
variants and each goes the user's way, ``analyse_file`` (the CSV reader's time base, then the analysis):

- ``exact``: ``t_s`` at full precision; ``rounded``: to 1e-5 s (207.9 Hz by the median step);
  ``jitter``: +-0.5 ms of stamp jitter; ``dropped``: 0.5 % of rows removed at random; ``nan``: 1 % of
  rows with an empty acceleration cell; ``gap+pause``: 2 s of rows lost at 100 s and the clock jumping
  10 minutes at 160 s; ``rate+2%``: a second simulation whose IMU runs 2 % fast (212.16 Hz) with true
  stamps; ``ms``: ``t_s`` in milliseconds; ``unix-ms``: UNIX milliseconds, whole (a 1 ms clock);
  ``arrival``: stamps taken as rows arrive, 0-4 ms late (0.83 periods) and written to 0.1 ms, with the
  ``dropped`` rows lost.
  ``stalls``: stamps taken as rows arrive, 0-1 ms late, by a logger whose reading thread stalls 50 ms
  every 2 s and then reads its backlog at 20 us a row (written to 10 us), with the ``dropped`` rows lost;
  ``stalls-ms``: the same stamps on a 1 ms clock (each backlog's rows share a stamp); ``stalls80-ms``:
  80 ms stalls every 2 s (17 rows late in 416) on a 1 ms UNIX clock, the ``dropped`` rows lost.

For each it prints step F1 against the simulator's truth (40 ms, one-to-one: hipsense.gait.scoring),
the largest difference of an initial contact's time to the ``exact`` analysis (same physical step),
contact-time RMSE against the truth, and the reported durations (elapsed, recorded, gap) against the
ones the variant was made with. Targets: F1 >= 0.99, IC times within 2 ms of ``exact``, durations exact.

Then the level treadmill trials (``../shared/data/running-sacral-accel``, when present): each trial's
CSV as published and re-written with a 1 ms logger clock (+-0.4 ms jitter, stamps to 3 decimals) and
0.5 % of rows dropped, both scored against the force plate's contacts; the figures should agree.

Usage::

    python benchmarks/csv_timebase.py            # about a minute
    python benchmarks/csv_timebase.py --seconds 120

Prints figures; it is not a test (tests/host/test_csv_corpus.py and test_timebase.py hold the checks).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hipsense.analysis import analyse_file
from hipsense.datasets import (
    RUNNING_SACRAL_RATE_HZ,
    dataset_dir,
    read_running_sacral_csv,
    reference_contacts,
    running_sacral_trials,
)
from hipsense.errors import HipsenseError
from hipsense.gait.scoring import pool, score_running_events
from hipsense.sim import scenarios, simulate_run

FS = 208.0
GAP_AT_S, GAP_S = 100.0, 2.0
PAUSE_AT_S, PAUSE_S = 160.0, 600.0
UNIX_MS = 1_767_225_600_000


def _variants(run, run_fast, rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    """Each variant: its table, how its clock maps to physical time, the truth and the durations."""
    data = run.data.reset_index(drop=True)
    n = len(data)
    t = data["t_s"].to_numpy()  # = physical time: this run's clock is exact
    full = {"elapsed": n / FS, "recorded": n / FS, "gap": 0.0}
    out: dict[str, dict[str, Any]] = {}

    def add(name, df, *, truth=run.truth, to_phys=lambda x: x, durations=full, options=None):
        out[name] = {
            "df": df,
            "truth": truth,
            "to_phys": to_phys,
            "durations": durations,
            "options": options or {},
        }

    add("exact", data)
    add("rounded", data.assign(t_s=np.round(t, 5)))
    add("jitter", data.assign(t_s=t + rng.uniform(-0.0005, 0.0005, n)))
    keep = rng.random(n) >= 0.005
    keep[0] = keep[-1] = True
    add("dropped", data[keep])
    # stamped on arrival, 0-4 ms late (0.83 periods), to 0.1 ms, and the same rows dropped
    add("arrival", data.assign(t_s=np.round(t + rng.uniform(0, 0.004, n), 4))[keep])
    # stamped on arrival 0-1 ms late, to 10 us, by a thread that stalls 50 ms every 2 s and then reads
    # its backlog at 20 us a row; the same rows dropped
    stalled = t + rng.uniform(0, 0.001, n)
    for start in np.arange(2.0, t[-1], 2.0):
        held = np.flatnonzero((t >= start) & (t < start + 0.05))
        stalled[held] = start + 0.05 + 20e-6 * np.arange(len(held))
    add("stalls", data.assign(t_s=np.round(stalled, 5))[keep])
    # the same stamps on a 1 ms clock: each backlog's rows share a stamp
    add("stalls-ms", data.assign(t_s=np.round(stalled, 3))[keep])
    nan = data.copy()
    rows = rng.choice(np.arange(1, n - 1), size=n // 100, replace=False)
    nan.loc[rows, "acc_y"] = np.nan
    add("nan", nan)
    # 2 s of rows lost, then the clock jumps 10 minutes (the logger paused)
    lost = (t >= GAP_AT_S) & (t < GAP_AT_S + GAP_S)
    paused = data.assign(t_s=t + np.where(t >= PAUSE_AT_S, PAUSE_S, 0.0))[~lost]
    truth = run.truth[(run.truth["to_s"] < GAP_AT_S) | (run.truth["ic_s"] >= GAP_AT_S + GAP_S)]
    truth = truth.assign(
        **{c: truth[c] + np.where(truth[c] >= PAUSE_AT_S, PAUSE_S, 0.0) for c in ("ic_s", "to_s")}
    )
    truth = truth[~((truth["ic_s"] < PAUSE_AT_S) & (truth["to_s"] >= PAUSE_AT_S))]
    add(
        "gap+pause",
        paused,
        truth=truth,
        to_phys=lambda x: x - np.where(x >= PAUSE_AT_S + PAUSE_S, PAUSE_S, 0.0),
        durations={"elapsed": n / FS + PAUSE_S, "recorded": n / FS - GAP_S, "gap": GAP_S + PAUSE_S},
    )
    fast = run_fast.data.reset_index(drop=True)
    true_t = run_fast.sample_index / run_fast.true_sample_rate_hz
    nf = len(fast)
    add(
        "rate+2%",
        fast.assign(t_s=true_t),
        truth=run_fast.truth,
        durations={
            "elapsed": nf / run_fast.true_sample_rate_hz,
            "recorded": nf / run_fast.true_sample_rate_hz,
            "gap": 0.0,
        },
    )
    add("ms", data.assign(t_s=np.round(t * 1000, 3)))
    add("unix-ms", data.assign(t_s=UNIX_MS + np.round(t * 1000).astype(np.int64)))
    # 80 ms stalls every 2 s (17 rows late in 416) on a 1 ms UNIX clock, the same rows dropped
    long_stalls = t + rng.uniform(0, 0.001, n)
    for start in np.arange(2.0, t[-1], 2.0):
        held = np.flatnonzero((t >= start) & (t < start + 0.08))
        long_stalls[held] = start + 0.08 + 20e-6 * np.arange(len(held))
    add("stalls80-ms", data.assign(t_s=UNIX_MS + np.round(long_stalls * 1000).astype(np.int64))[keep])
    return out


def _score(steps: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any]:
    run = truth[truth["activity"] == "run"]
    reference = pd.DataFrame({"ic_s": run["ic_s"], "to_s": run["to_s"], "complete": True})
    detected = pd.DataFrame({"ic_s": steps["ic_s"].to_numpy(float), "to_s": steps["to_s"].to_numpy(float)})
    summary, _ = score_running_events(reference, detected)
    return summary


def _ic_diff_ms(ic: np.ndarray, exact_ic: np.ndarray) -> tuple[float, int]:
    """Largest |IC - nearest exact IC| (ms) over ICs within 40 ms of one, and how many had none."""
    j = np.clip(np.searchsorted(exact_ic, ic), 1, len(exact_ic) - 1)
    d = np.minimum(np.abs(ic - exact_ic[j - 1]), np.abs(ic - exact_ic[j]))
    near = d <= 0.040
    return float(d[near].max() * 1000) if near.any() else float("nan"), int((~near).sum())


def simulated(seconds: float, seed: int) -> pd.DataFrame:
    cfg = scenarios.steady_run(duration_s=seconds, seed=seed)
    run = simulate_run(cfg)
    cfg_fast = scenarios.steady_run(duration_s=seconds, seed=seed)
    cfg_fast.sensor = dataclasses.replace(cfg_fast.sensor, clock_error_pct=2.0)
    run_fast = simulate_run(cfg_fast)
    rows = []
    exact_ic = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, v in _variants(run, run_fast, np.random.default_rng(seed)).items():
            path = Path(tmp) / f"{name}.csv"
            v["df"].to_csv(path, index=False)
            try:
                result = analyse_file(path, **v["options"])
            except HipsenseError as e:
                rows.append({"variant": name, "error": str(e)})
                continue
            steps = result.steps
            s = _score(steps, v["truth"])
            ic_phys = np.sort(v["to_phys"](steps["ic_s"].to_numpy(float)))
            if name == "exact":
                exact_ic = ic_phys
            diff, unmatched = _ic_diff_ms(ic_phys, exact_ic) if exact_ic is not None else (np.nan, 0)
            d = v["durations"]
            rows.append(
                {
                    "variant": name,
                    "rate_hz": round(result.sampling_rate_hz, 4),
                    "segments": len(result.quality.gaps) + 1,
                    "filled": result.quality.filled_samples,
                    "f1": round(s["f1"], 4),
                    "ic_vs_exact_max_ms": round(diff, 2),
                    "ic_unmatched": unmatched,
                    "ct_rmse_ms": round(s["contact_time"]["rmse_ms"], 2),
                    "elapsed_s": round(result.duration_s, 3),
                    "recorded_s": round(result.recorded_s, 3),
                    "gap_s": round(result.gap_s, 3),
                    "durations_err_ms": round(
                        1000
                        * max(
                            abs(result.duration_s - d["elapsed"]),
                            abs(result.recorded_s - d["recorded"]),
                            abs(result.gap_s - d["gap"]),
                        ),
                        3,
                    ),
                }
            )
    return pd.DataFrame(rows)


def _logger_clock(raw: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The trial as a logger with a 1 ms clock writes it, 0.5 % of its rows dropped."""
    t = raw["t_s"].to_numpy(float)
    keep = rng.random(len(t)) >= 0.005
    keep[0] = keep[-1] = True
    return raw.assign(t_s=np.round(t + rng.uniform(-0.0004, 0.0004, len(t)), 3))[keep]


def treadmill(seed: int) -> tuple[pd.DataFrame, str] | None:
    if dataset_dir("running-sacral-accel") is None:
        return None
    rng = np.random.default_rng(seed)
    options = {"acc_unit": "g", "columns": {"acc_is": "acc_v_g", "acc_pa": "acc_ap_g"}}
    parts: dict[str, tuple[list, list]] = {"published": ([], []), "logger clock": ([], [])}
    ics: dict[str, list[np.ndarray]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for trial in running_sacral_trials("level")["trial"]:
            raw = read_running_sacral_csv(trial)
            reference = reference_contacts(raw["grf_v_bw"].to_numpy(), RUNNING_SACRAL_RATE_HZ)
            for label, df in (("published", raw), ("logger clock", _logger_clock(raw, rng))):
                path = Path(tmp) / f"{trial}-{label.replace(' ', '_')}.csv"
                df.drop(columns="grf_v_bw").to_csv(path, index=False)
                try:
                    steps = analyse_file(path, **options).steps
                except HipsenseError as e:
                    print(f"  {trial} {label}: {e}", file=sys.stderr)
                    continue
                detected = pd.DataFrame(
                    {"ic_s": steps["ic_s"].to_numpy(float), "to_s": steps["to_s"].to_numpy(float)}
                )
                summary, scored = score_running_events(reference, detected)
                parts[label][0].append(scored)
                parts[label][1].append(summary)
                ics.setdefault(trial, []).append(np.sort(detected["ic_s"].to_numpy()))
    rows = []
    for label, (scored, counts) in parts.items():
        p = pool(scored, counts)
        rows.append(
            {
                "trials": label,
                "n_ref": p["n_reference"],
                "f1": round(p["f1"], 4),
                "ic_mean_ms": round(p["ic"]["mean_ms"], 3),
                "ic_sd_ms": round(p["ic"]["sd_ms"], 3),
                "to_mean_ms": round(p["to"]["mean_ms"], 2),
                "ct_mean_ms": round(p["contact_time"]["mean_ms"], 2),
                "ct_rmse_ms": round(p["contact_time"]["rmse_ms"], 2),
            }
        )
    # the same steps found at the same times, trial by trial
    same = [len(a) == len(b) for a, b in (v for v in ics.values() if len(v) == 2)]
    shift = [np.abs(a - b).max() for a, b in (v for v in ics.values() if len(v) == 2) if len(a) == len(b)]
    note = (
        f"trials with the same number of steps: {sum(same)}/{len(same)}; largest IC shift between the two: "
        f"{1000 * max(shift, default=np.nan):.4f} ms"
    )
    return pd.DataFrame(rows), note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=240.0, help="simulated running (default: 240)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # file warnings are the reader's business here, not the figures'
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)
    sim = simulated(args.seconds, args.seed)
    print(f"# One simulated run ({args.seconds:g} s at {FS:g} Hz, seed {args.seed}) as CSV variants")
    print(sim.to_string(index=False))
    ok = sim.get("error") is None or sim["error"].isna().all()
    if ok:
        worst = sim[sim["variant"] != "exact"]
        print(
            f"\nworst: F1 {sim['f1'].min():.4f} (target >= 0.99), IC vs exact {worst['ic_vs_exact_max_ms'].max():.2f} ms "
            f"(target <= 2), durations off by {sim['durations_err_ms'].max():.3f} ms (target 0)"
        )
    tm = treadmill(args.seed)
    if tm is None:
        print("\n# Level treadmill trials: ../shared/data/running-sacral-accel not found, skipped")
    else:
        print(
            "\n# Level treadmill trials (force-plate contacts), published CSV vs a 1 ms logger clock with 0.5 % rows dropped"
        )
        print(tm[0].to_string(index=False))
        print(tm[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
