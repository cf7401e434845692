"""Accuracy of running IC/TO detection against a force treadmill, and its speed.

Data: ``../shared/data/running-sacral-accel`` (Alcantara et al. 2022; see hipsense.datasets). Each trial
is scored at its recorded 500 Hz and after resampling the acceleration to the device's 208 Hz
(``scipy.signal.resample_poly``, 52/125), which is what the product sees. Reference contacts come from
the vertical force (0.05 BW with hysteresis, interpolated crossings); only contacts fully inside the
recording are scored (rules in hipsense.gait.scoring).

Usage::

    python benchmarks/running_events.py                 # table per trial and overall, and speed
    python benchmarks/running_events.py --markdown      # the same as markdown (docs/validation.md)
    python benchmarks/running_events.py --sensitivity   # also: other reference thresholds and settings

Prints figures; it is not a test (tests/host/test_events.py holds the regression thresholds). The same
runner on +5 and -5 degree slopes, per slope group, and the simulator's grade x foot-strike grid are in
``benchmarks/slopes.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
import pandas as pd
from scipy import signal

from hipsense.conventions import G
from hipsense.datasets import (
    RUNNING_SACRAL_RATE_HZ,
    load_running_sacral,
    read_running_sacral_csv,
    reference_contacts,
    running_sacral_trials,
    shared_data_dir,
)
from hipsense.gait.events import RunningContactDetector
from hipsense.gait.scoring import pool, score_running_events

DEVICE_RATE_HZ = 208.0
RATES = (RUNNING_SACRAL_RATE_HZ, DEVICE_RATE_HZ)


def resample_to(data: pd.DataFrame, rate_hz: float) -> pd.DataFrame:
    """The accelerometer columns resampled from 500 Hz to ``rate_hz`` (polyphase, zero delay)."""
    if rate_hz == RUNNING_SACRAL_RATE_HZ:
        return data
    up, down = _ratio(rate_hz)
    cols = {c: signal.resample_poly(data[c].to_numpy(), up, down) for c in ("acc_is", "acc_pa")}
    out = pd.DataFrame(cols)
    out.insert(0, "t_s", np.arange(len(out)) / rate_hz)
    return out


def _ratio(rate_hz: float) -> tuple[int, int]:
    from fractions import Fraction

    f = Fraction(rate_hz / RUNNING_SACRAL_RATE_HZ).limit_denominator(1000)
    return f.numerator, f.denominator


def evaluate(
    detector: RunningContactDetector, *, threshold_bw: float | None = None
) -> tuple[pd.DataFrame, dict[float, dict[str, Any]]]:
    """Score every trial at every rate. Returns (per-trial rows, pooled summary per rate)."""
    rows = []
    pooled: dict[float, dict[str, Any]] = {}
    for rate in RATES:
        steps, counts = [], []
        for trial in running_sacral_trials()["trial"]:
            data, ref = load_running_sacral(trial)
            if threshold_bw is not None:
                raw = read_running_sacral_csv(trial)
                ref = reference_contacts(
                    raw["grf_v_bw"].to_numpy(), RUNNING_SACRAL_RATE_HZ, threshold_bw=threshold_bw
                )
            det = detector.detect(resample_to(data, rate), sampling_rate_hz=rate).events_
            summary, st = score_running_events(ref, det)
            steps.append(st)
            counts.append(summary)
            rows.append(_row(trial, rate, summary))
        pooled[rate] = pool(steps, counts)
        rows.append(_row("overall", rate, pooled[rate]))
    return pd.DataFrame(rows), pooled


def _row(trial: str, rate: float, s: dict[str, Any]) -> dict[str, Any]:
    ic, to, ct = s["ic"], s["to"], s["contact_time"]
    return {
        "trial": trial,
        "rate_hz": int(rate),
        "steps": s["n_reference"],
        "TP": s["tp"],
        "FP": s["fp"],
        "FN": s["fn"],
        "F1": s["f1"],
        "IC mean": ic["mean_ms"],
        "IC SD": ic["sd_ms"],
        "IC LoA": f"{ic['loa_low_ms']:+.0f}..{ic['loa_high_ms']:+.0f}",
        "TO mean": to["mean_ms"],
        "TO SD": to["sd_ms"],
        "TO LoA": f"{to['loa_low_ms']:+.0f}..{to['loa_high_ms']:+.0f}",
        "CT bias": ct["mean_ms"],
        "CT SD": ct["sd_ms"],
        "CT RMSE": ct["rmse_ms"],
        "CT LoA": f"{ct['loa_low_ms']:+.0f}..{ct['loa_high_ms']:+.0f}",
    }


def print_table(df: pd.DataFrame, markdown: bool) -> None:
    """An events table (as ``score_running_events`` pools it) as text or markdown, times to 0.1 ms."""
    fmt = df.copy()
    for c in ("IC mean", "TO mean", "CT bias"):
        fmt[c] = df[c].map(lambda v: f"{v:+.1f}")
    for c in ("IC SD", "TO SD", "CT SD", "CT RMSE"):
        fmt[c] = df[c].map(lambda v: f"{v:.1f}")
    fmt["F1"] = df["F1"].map(lambda v: f"{v:.3f}")
    if markdown:
        cols = list(fmt.columns)
        print("| " + " | ".join(cols) + " |")
        print("|" + "|".join("---" for _ in cols) + "|")
        for _, r in fmt.iterrows():
            print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    else:
        with pd.option_context("display.width", 250, "display.max_columns", 40):
            print(fmt.to_string(index=False))


def speed(rate_hz: float = DEVICE_RATE_HZ, hours: float = 1.0, repeats: int = 3) -> tuple[float, int, int]:
    """Seconds to process ``hours`` of running at ``rate_hz`` (the real trials tiled end to end)."""
    pieces = [
        resample_to(load_running_sacral(t)[0], rate_hz)["acc_is"].to_numpy()
        for t in running_sacral_trials()["trial"]
    ]
    one = np.concatenate(pieces)
    reps = int(np.ceil(hours * 3600 * rate_hz / len(one)))
    acc = np.tile(one, reps)[: int(hours * 3600 * rate_hz)]
    data = pd.DataFrame({"acc_is": acc})
    det = RunningContactDetector()
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        det.detect(data, sampling_rate_hz=rate_hz)
        best = min(best, time.perf_counter() - t0)
    return best, len(acc), int(det.diagnostics_["n_contact_times"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    parser.add_argument("--sensitivity", action="store_true", help="also score other settings")
    args = parser.parse_args(argv)
    if shared_data_dir() is None:
        print("../shared/data is absent: nothing to benchmark (set HIPSENSE_SHARED_DATA)")
        return 0

    print(f"# Running IC/TO vs force treadmill (tolerance 40 ms; times in ms, detected - reference); G={G}")
    table, _ = evaluate(RunningContactDetector())
    print_table(table, args.markdown)

    if args.sensitivity:
        print("\n# Sensitivity (overall rows only): reference threshold and detector settings")
        variants = {
            "default": (RunningContactDetector(), None),
            "reference 0.02 BW": (RunningContactDetector(), 0.02),
            "reference 0.10 BW": (RunningContactDetector(), 0.10),
            "to_threshold_g=0.10 (re-arm 0.15)": (RunningContactDetector(to_threshold_g=0.10), None),
            "to_threshold_g=0.10, hysteresis 0.10": (
                RunningContactDetector(to_threshold_g=0.10, to_hysteresis_g=0.10),
                None,
            ),
            "to_threshold_g=0.20 (re-arm 0.25)": (RunningContactDetector(to_threshold_g=0.20), None),
            "to_hysteresis_g=0.10 (re-arm 0.25)": (RunningContactDetector(to_hysteresis_g=0.10), None),
            "no IC ceiling (ic_ceiling_g=50)": (RunningContactDetector(ic_ceiling_g=50.0), None),
            "no TO pause rule (to_plateau_margin_g=None)": (
                RunningContactDetector(to_plateau_margin_g=None),
                None,
            ),
            "to_plateau_margin_g=0.10": (RunningContactDetector(to_plateau_margin_g=0.10), None),
            "to_plateau_margin_g=0.20": (RunningContactDetector(to_plateau_margin_g=0.20), None),
            "lowpass_hz=20": (RunningContactDetector(lowpass_hz=20.0), None),
            "lowpass_hz=40": (RunningContactDetector(lowpass_hz=40.0), None),
            "flight_threshold_g=0.2": (RunningContactDetector(flight_threshold_g=0.2), None),
        }
        rows = []
        for name, (det, thr) in variants.items():
            t, _ = evaluate(det, threshold_bw=thr)
            t = t[t["trial"] == "overall"].assign(trial=name)
            rows.append(t)
        print_table(pd.concat(rows, ignore_index=True), args.markdown)

    sec, n, steps = speed()
    print(
        f"\n# Speed: one hour at {DEVICE_RATE_HZ:.0f} Hz ({n} samples, {steps} contact times): {sec * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
