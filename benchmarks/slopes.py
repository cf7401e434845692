"""Running IC/TO on hills and across foot strikes: the real sloped trials and the simulator's grade grid.

1. **Real trials** (``../shared/data/running-sacral-accel`` and ``running-sacral-accel-slopes``,
   Alcantara et al. 2022; see hipsense.datasets): the same runner on the level and on +5 and -5 degree
   treadmill slopes, 19 trials of 5 s. Scored per trial and pooled per slope group against the
   treadmill force (0.05 BW with hysteresis), at the recorded 500 Hz and at the device's 208 Hz, with
   the rules of :mod:`hipsense.gait.scoring` (as ``benchmarks/running_events.py``).
2. **Simulator grid**: grades -10, -5, 0, +5, +10 degrees x rearfoot / midfoot / forefoot strike
   (:class:`hipsense.sim.RunConfig` ``grade_deg`` and ``RunningModel.foot_strike``); each cell pools
   four sessions (2.5, 3.3, 4.2 and 5.5 m/s; 5 s standing, 60 s running, 5 s standing) recorded by
   the simulated clip at 208 Hz with its noise and errors. The event detector runs on the recording
   turned into the body frame with the true mounting, so the figures are the event detector's alone
   (the alignment is validated apart, ``benchmarks/accuracy.py``).

Targets (issue 15): real trials F1 >= 0.99 and contact-time |bias| <= 10 ms per slope group, pooled
RMSE <= 20 ms; simulator F1 >= 0.99 and contact-time RMSE <= 15 ms in every cell.

Usage::

    python benchmarks/slopes.py              # both parts (about 15 s)
    python benchmarks/slopes.py --real       # the real trials only
    python benchmarks/slopes.py --sim        # the simulator grid only
    python benchmarks/slopes.py --markdown   # tables as markdown (docs/validation.md, "Slopes")
    python benchmarks/slopes.py --diagnose   # also: why uphill contacts are long (real trials, ~1 min)

Deterministic (fixed seeds). Prints figures; it is not a test (tests/host/test_events_real.py and
tests/host/test_events.py hold the regression limits).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hipsense.conventions import G
from hipsense.datasets import load_running_sacral, running_sacral_trials, shared_data_dir
from hipsense.gait.events import RunningContactDetector
from hipsense.gait.filters import lowpass, segment_argext
from hipsense.gait.scoring import pool, score_running_events
from hipsense.sim import RunConfig, Segment, simulate_run
from hipsense.sim.config import FOOT_STRIKES, FootStrike, RunningModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from running_events import DEVICE_RATE_HZ, RATES, print_table, resample_to  # noqa: E402

GRADES = (-10.0, -5.0, 0.0, 5.0, 10.0)
SIM_SPEEDS = (2.5, 3.3, 4.2, 5.5)
SIM_RUN_S = 60.0
TARGETS = {"f1": 0.99, "real_bias_ms": 10.0, "real_rmse_ms": 20.0, "sim_rmse_ms": 15.0}


def slope_group(slope_deg: float) -> str:
    return "level" if slope_deg == 0 else f"{slope_deg:+.0f} deg"


def score_real(
    detector: RunningContactDetector | None = None, rates: tuple[float, ...] = RATES
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every real trial at every rate: ``(per-trial rows, per-group and pooled rows)``."""
    detector = detector or RunningContactDetector()
    trials = running_sacral_trials("all")
    rows, groups = [], []
    for rate in rates:
        by_group: dict[str, list[tuple[dict[str, Any], pd.DataFrame]]] = {}
        for _, tr in trials.iterrows():
            data, ref = load_running_sacral(tr["trial"])
            det = detector.detect(resample_to(data, rate), sampling_rate_hz=rate).events_
            summary, steps = score_running_events(ref, det)
            g = slope_group(float(tr["slope_deg"]))
            by_group.setdefault(g, []).append((summary, steps))
            rows.append(_row(tr["trial"], g, rate, summary))
        everything = [x for v in by_group.values() for x in v]
        for g, items in [*sorted(by_group.items()), ("pooled", everything)]:
            p = pool([s for _, s in items], [c for c, _ in items])
            groups.append(_row(f"{len(items)} trials", g, rate, p))
    return pd.DataFrame(rows), pd.DataFrame(groups)


def _row(name: str, group: str, rate: float, s: dict[str, Any]) -> dict[str, Any]:
    ct = s["contact_time"]
    return {
        "trial": name,
        "slope": group,
        "rate_hz": int(rate),
        "steps": s["n_reference"],
        "FP": s["fp"],
        "FN": s["fn"],
        "F1": s["f1"],
        "IC mean": s["ic"]["mean_ms"],
        "IC SD": s["ic"]["sd_ms"],
        "TO mean": s["to"]["mean_ms"],
        "TO SD": s["to"]["sd_ms"],
        "CT bias": ct["mean_ms"],
        "CT SD": ct["sd_ms"],
        "CT RMSE": ct["rmse_ms"],
    }


def sim_cell(
    grade_deg: float, strike: FootStrike, speed_mps: float, seed: int, detector: RunningContactDetector
):
    """One simulated session scored by the event detector: ``(summary, steps)`` as score_running_events."""
    cfg = RunConfig(
        duration_s=SIM_RUN_S + 10.0,
        speed_mps=speed_mps,
        seed=seed,
        grade_deg=grade_deg,
        running=RunningModel(foot_strike=strike),
        segments=(Segment("stand", 5.0), Segment("run", None), Segment("stand", 5.0)),
    )
    run = simulate_run(cfg)
    acc = run.data[["acc_x", "acc_y", "acc_z"]].to_numpy() @ run.r_body_from_sensor.T
    body = pd.DataFrame({"acc_is": acc[:, 0], "acc_ml": acc[:, 1], "acc_pa": acc[:, 2]})
    # Times on the physical clock, like the truth's (the default sensor drops no samples).
    events = detector.detect(body, sampling_rate_hz=run.true_sample_rate_hz).events_
    t0 = float(run.body["t_true_s"].iloc[0])
    truth = run.truth[run.truth["activity"] == "run"]
    reference = pd.DataFrame(
        {"ic_s": truth["ic_s"].to_numpy(), "to_s": truth["to_s"].to_numpy(), "complete": True}
    )
    detected = pd.DataFrame({"ic_s": events["ic_s"] + t0, "to_s": events["to_s"] + t0})
    return score_running_events(reference, detected)


def score_sim(detector: RunningContactDetector | None = None) -> pd.DataFrame:
    """The grade x foot-strike grid, one row per cell (its speeds pooled)."""
    detector = detector or RunningContactDetector()
    rows = []
    for gi, grade in enumerate(GRADES):
        for si, strike in enumerate(FOOT_STRIKES):
            results = [
                sim_cell(grade, strike, v, 9000 + 100 * gi + 10 * si + k, detector)
                for k, v in enumerate(SIM_SPEEDS)
            ]
            p = pool([st for _, st in results], [s for s, _ in results])
            row = _row(strike, f"{grade:+.0f} deg", DEVICE_RATE_HZ, p)
            row["trial"] = strike
            rows.append(row)
    return pd.DataFrame(rows).rename(columns={"trial": "strike", "slope": "grade"})


#: TO levels above the flight level (g) swept by ``--diagnose``.
DIAGNOSE_TO_LEVELS = (0.10, 0.15, 0.20, 0.30, 0.50)


def to_level_sweep(
    levels: tuple[float, ...] = DIAGNOSE_TO_LEVELS, plateau_margin_g: float | None = None
) -> pd.DataFrame:
    """Per slope group at 208 Hz: TO error and contact-time bias with TO at each level above the flight.

    With ``plateau_margin_g=None`` (the late-stance pause rule off) the rows show whether any fixed
    level closes the gap between uphill and downhill; it does not (docs/validation.md, "Slopes").
    """
    rows = []
    for level in levels:
        detector = RunningContactDetector(to_threshold_g=level, to_plateau_margin_g=plateau_margin_g)
        _, groups = score_real(detector, rates=(DEVICE_RATE_HZ,))
        for _, g in groups.iterrows():
            rows.append(
                {
                    "TO level g": f"{level:.2f}",
                    "slope": g["slope"],
                    "IC mean": g["IC mean"],
                    "TO mean": g["TO mean"],
                    "CT bias": g["CT bias"],
                    "CT RMSE": g["CT RMSE"],
                }
            )
    return pd.DataFrame(rows)


def trial_features(rate: float = DEVICE_RATE_HZ) -> pd.DataFrame:
    """Per real trial, medians over its scored steps, from the signals the detector sees (``rate``):

    - ``v at IC g`` / ``v at TO g``: the event signal above the flight level at the force's IC / TO;
    - ``pause g``: the level of the late-stance pause above the flight level (the detector's step 4),
      over the steps that have one (``steps with pause``);
    - ``AP min ms``: delay of the anterior-posterior braking minimum (``acc_pa`` low-passed like the
      event signal, lowest value within 60 ms after the force's IC) after the force's IC. The sacrum's
      braking dip follows the force's contact; a trial whose sensor clock were offset from the force
      would show it shifted by the offset.
    """
    detector = RunningContactDetector()
    rows = []
    for _, tr in running_sacral_trials("all").iterrows():
        data, ref = load_running_sacral(tr["trial"])
        data = resample_to(data, rate)
        det = detector.detect(data, sampling_rate_hz=rate)
        x, gaps = det.signal_g_, det.gaps_
        ap = lowpass(
            data["acc_pa"].to_numpy(dtype=float) / G, detector.lowpass_hz, rate, detector.filter_order
        )
        t = np.arange(len(x)) / rate
        # The flight level before each reference contact's IC / after its TO: the detector's gap there.
        gap_of = np.searchsorted(gaps["end"].to_numpy() / rate, ref["ic_s"].to_numpy(), side="left")
        gap_after = np.searchsorted(gaps["start"].to_numpy() / rate, ref["to_s"].to_numpy(), side="left")
        level = gaps["flight_level_g"].to_numpy()
        # The pause level per detected stance, found by the detector's own step 4 (a private method,
        # called here so the figure is the one the detector uses; NaN where there is none).
        ev = det.events_
        ok = ev["flight_after"].to_numpy() & ev["to_s"].notna().to_numpy()
        peaks = ev["stance_peak"].to_numpy()[ok]
        nxt = np.flatnonzero(ok) + 1  # the gap after each stance
        lows = segment_argext(x, gaps["start"].to_numpy()[nxt], gaps["end"].to_numpy()[nxt], largest=False)
        after = level[nxt]
        pause = detector._plateau(x, np.gradient(x), peaks, lows, after, after + detector.to_threshold_g)
        pause_at = ev["to_s"].to_numpy()[ok]
        pause_above = np.where(np.isfinite(pause), pause - after, np.nan)
        v_ic, v_to, ap_min, p_to = [], [], [], []
        for i, r in enumerate(ref.itertuples()):
            if not r.complete:
                continue
            gi, ga = gap_of[i], gap_after[i]
            if gi < len(level) and np.isfinite(level[gi]):
                v_ic.append(np.interp(r.ic_s, t, x) - level[gi])
            if ga < len(level) and np.isfinite(level[ga]):
                v_to.append(np.interp(r.to_s, t, x) - level[ga])
                near = np.flatnonzero(np.abs(pause_at - r.to_s) < 0.04)
                if len(near) and np.isfinite(pause_above[near[0]]):
                    p_to.append(pause_above[near[0]])
            a = int(np.ceil(r.ic_s * rate))
            b = min(a + round(0.06 * rate), len(ap))
            if b > a:
                ap_min.append((a + int(np.argmin(ap[a:b]))) / rate - r.ic_s)
        rows.append(
            {
                "trial": tr["trial"],
                "slope": slope_group(float(tr["slope_deg"])),
                "v at IC g": float(np.median(v_ic)) if v_ic else np.nan,
                "v at TO g": float(np.median(v_to)) if v_to else np.nan,
                "pause g": float(np.median(p_to)) if p_to else np.nan,
                "steps with pause": f"{len(p_to)}/{len(v_to)}",
                "AP min ms": 1000 * float(np.median(ap_min)) if ap_min else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _print_plain(df: pd.DataFrame, markdown: bool, digits: int = 1) -> None:
    fmt = df.copy()
    for c in fmt.columns:
        if pd.api.types.is_float_dtype(fmt[c]):
            sign = "" if "RMSE" in c else "+"  # an RMSE has no sign
            fmt[c] = fmt[c].map(lambda v, s=sign: f"{v:{s}.{digits}f}" if np.isfinite(v) else "-")
    if markdown:
        print("| " + " | ".join(fmt.columns) + " |")
        print("|" + "|".join("---" for _ in fmt.columns) + "|")
        for _, r in fmt.iterrows():
            print("| " + " | ".join(str(v) for v in r) + " |")
    else:
        print(fmt.to_string(index=False))


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true", help="the real trials only")
    parser.add_argument("--sim", action="store_true", help="the simulator grid only")
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    parser.add_argument("--diagnose", action="store_true", help="also: why uphill contacts are long")
    args = parser.parse_args(argv)
    both = not (args.real or args.sim)
    t0 = time.perf_counter()

    if args.real or both:
        if shared_data_dir() is None:
            print("../shared/data is absent: no real trials (set HIPSENSE_SHARED_DATA)")
        else:
            print("# Real trials vs force treadmill (tolerance 40 ms; ms, detected - reference)")
            per_trial, groups = score_real()
            print_table(per_trial, args.markdown)
            print("\n# Per slope group and pooled")
            print_table(groups, args.markdown)
            g = groups[(groups["rate_hz"] == int(DEVICE_RATE_HZ))]
            slopes, pooled = g[g["slope"] != "pooled"], g[g["slope"] == "pooled"].iloc[0]
            print(
                f"\nTargets at {DEVICE_RATE_HZ:.0f} Hz: F1 >= {TARGETS['f1']} per group "
                f"({_verdict(bool((slopes['F1'] >= TARGETS['f1']).all()))}, worst {slopes['F1'].min():.3f}); "
                f"|CT bias| <= {TARGETS['real_bias_ms']:.0f} ms per group "
                f"({_verdict(bool((slopes['CT bias'].abs() <= TARGETS['real_bias_ms']).all()))}, worst "
                f"{slopes.loc[slopes['CT bias'].abs().idxmax(), 'CT bias']:+.1f}); pooled RMSE <= "
                f"{TARGETS['real_rmse_ms']:.0f} ms ({_verdict(pooled['CT RMSE'] <= TARGETS['real_rmse_ms'])}, "
                f"{pooled['CT RMSE']:.1f})"
            )

    if args.diagnose and shared_data_dir() is not None:
        print(
            f"\n# Diagnose: TO at a fixed level above the flight, pause rule off (real trials, "
            f"{DEVICE_RATE_HZ:.0f} Hz; ms)"
        )
        _print_plain(to_level_sweep(), args.markdown)
        print("\n# Diagnose: the pause rule's margin below the pause (TO level 0.15 g; ms)")
        rows = []
        for margin in (0.10, 0.15, 0.20):
            _, g = score_real(RunningContactDetector(to_plateau_margin_g=margin), rates=(DEVICE_RATE_HZ,))
            g = g.assign(trial=f"margin {margin:.2f} g")
            rows.append(g[["trial", "slope", "IC mean", "TO mean", "CT bias", "CT RMSE"]])
        _print_plain(pd.concat(rows, ignore_index=True), args.markdown)
        print("\n# Diagnose: per trial, the event signal at the force's IC and TO (g above flight) and the")
        print("# delay of the anterior-posterior braking minimum after the force's IC (ms); medians")
        _print_plain(trial_features(), args.markdown, digits=2)

    if args.sim or both:
        print(
            f"\n# Simulator: grade x foot strike ({len(SIM_SPEEDS)} sessions of {SIM_RUN_S:.0f} s running "
            f"per cell at {', '.join(f'{v:g}' for v in SIM_SPEEDS)} m/s, {DEVICE_RATE_HZ:.0f} Hz; ms)"
        )
        sim = score_sim()
        print_table(sim, args.markdown)
        print(
            f"\nTargets in every cell: F1 >= {TARGETS['f1']} ({_verdict(bool((sim['F1'] >= TARGETS['f1']).all()))}, "
            f"worst {sim['F1'].min():.3f}); CT RMSE <= {TARGETS['sim_rmse_ms']:.0f} ms "
            f"({_verdict(bool((sim['CT RMSE'] <= TARGETS['sim_rmse_ms']).all()))}, worst {sim['CT RMSE'].max():.1f})"
        )
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
