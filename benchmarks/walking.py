"""Walking steps and sides against foot-worn reference sensors: 110 real trials at L5.

Data: ``../shared/data/walking-l5-ipol`` (Voisard et al. 2023, IPOL article 497, AGPL-3.0; never
copied into this repository): 19 healthy adults, an Xsens MTw at L5 (100 Hz), each trial: stand, walk
10 m, U-turn, walk back, stop. The reference footsteps come from foot-worn sensors, checked by hand.

How the files are read (what we checked before scoring against them):

- **Lost packets.** The wireless sensor drops packets: in 79 of 110 files ``PacketCounter`` jumps,
  and up to 20 % of a file's samples are missing (5 % overall). The reference sample indices follow the
  counter, not the rows, so each row is placed at its ``PacketCounter`` and the missing samples are
  linearly interpolated. Scored on the raw rows instead, the reference drifts away from the signal
  after the first gap (step F1 0.89 instead of 0.95, side accuracy 93.7 % instead of 97.6 %).
- **Footsteps.** ``LeftFootEvents``/``RightFootEvents`` are ``[start, end]`` of each footstep. A
  footstep is the **swing** of that foot: its duration is 38 % of the stride (stance would be about
  60 %), the gap to the other foot's next footstep is 12 % (double support), and the vertical
  acceleration at L5 peaks 30-50 ms after the footstep's end (the loading response after heel strike).
  So the end of a footstep is the initial contact (IC) of that foot, and its side is that foot. The
  benchmark prints these checks.
- **Scored part.** Only ICs inside ``TrialBoundaries`` (the first toe-off to the last heel strike) are
  scored; after it some subjects shuffle on, and those footsteps are not scored. A detection counts
  when it lies in ``[first bound - tolerance, last bound + tolerance]``.
- **Segments.** ``UTurnBoundaries`` splits each trial into straight walking and the U-turn.
- **Two trials with swapped sides.** In 4-1 and 4-2 the side signals (roll rate at loading, yaw rate,
  mediolateral acceleration) have the opposite sign to the physical rule (the loading roll follows it
  in the trial mean of all 108 other trials), and the subject's own pitch-rate asymmetry is reversed
  relative to the subject's other trials. Their reference sides are most likely swapped (foot sensors on the wrong
  feet); side accuracy is reported with and without them.

Tolerance: an IC matches a reference IC within 100 ms, one-to-one, nearest first
(hipsense.gait.scoring.match_nearest). 100 ms is less than half the shortest walking step (about 0.4 s
at 150 steps/min), so a detection cannot match the neighbouring step, and about the length of double
support. mobgap's ICD scorer uses a window of 0.5 s; F1 at 50 and 250 ms are printed for context.

Usage::

    python benchmarks/walking.py              # tables
    python benchmarks/walking.py --markdown   # the same as markdown (docs/validation-walking.md)
    python benchmarks/walking.py --trials     # also one row per trial
    python benchmarks/walking.py --baseline   # also the McCamley/Ionescu method, for comparison

Prints figures; it is not a test (tests/host/test_walking.py holds the regression thresholds).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
import pandas as pd
from scipy import signal

from hipsense.datasets import WALKING_L5 as DATASET
from hipsense.datasets import WALKING_L5_RATE_HZ as RATE_HZ
from hipsense.datasets import WalkingTrial, load_walking_trials
from hipsense.datasets import walking_dir as data_dir
from hipsense.gait import walking_evidence
from hipsense.gait.filters import lowpass
from hipsense.gait.scoring import match_nearest
from hipsense.gait.sides import SideDetector
from hipsense.gait.walking import WalkingContactDetector

TOLERANCE_S = 0.100
TOLERANCES_S = (0.050, 0.100, 0.250)
#: Trials whose reference sides look swapped (see the module docstring).
SWAPPED_SIDE_TRIALS = ("4-1", "4-2")
DEVICE_RATE_HZ = 208.0


class McCamleyIonescuBaseline:
    """For comparison only: the vertical-acceleration IC method of McCamley et al. (2012) as modified by
    Paraschiv-Ionescu et al. (2020) and implemented in mobgap's ``IcdIonescu``, approximated with
    numpy/scipy: resample to 40 Hz, band-pass 0.15-3.14 Hz (fourth-order Butterworth, zero phase,
    instead of mobgap's FIR), integrate, continuous wavelet transform with a second derivative of a
    Gaussian (``gaus2``) at scale 9, IC at the minimum between each downward and the next upward zero
    crossing. Same interface as :class:`WalkingContactDetector` (``detect(...).ic_list_``)."""

    fs_internal = 40.0
    scale = 9.0

    def detect(self, data: pd.DataFrame, *, sampling_rate_hz: float) -> McCamleyIonescuBaseline:
        from fractions import Fraction

        ratio = Fraction(self.fs_internal / sampling_rate_hz).limit_denominator(1000)
        x = signal.resample_poly(data["acc_is"].to_numpy(dtype=float), ratio.numerator, ratio.denominator)
        sos = signal.butter(4, [0.15, 3.14], btype="band", fs=self.fs_internal, output="sos")
        v = np.cumsum(signal.sosfiltfilt(sos, x)) / self.fs_internal
        u = np.arange(-5 * self.scale, 5 * self.scale + 1) / self.scale
        # gaus2 as in PyWavelets: minus the second derivative of exp(-u^2), positive at the centre
        # (a Ricker-like "Mexican hat", as mobgap's docstring says).
        wavelet = (2 - 4 * u**2) * np.exp(-(u**2)) / np.sqrt(self.scale)
        c = np.convolve(v, wavelet[::-1], mode="same")
        c -= c.mean()
        neg = c < 0
        down = np.flatnonzero(~neg[:-1] & neg[1:]) + 1
        up = np.flatnonzero(neg[:-1] & ~neg[1:]) + 1
        ics = []
        for a in down:  # one per step: a few hundred per trial
            b = up[np.searchsorted(up, a)] if np.searchsorted(up, a) < len(up) else len(c)
            ics.append(a + int(np.argmin(c[a:b])))
        ic = np.unique(
            np.rint(np.asarray(ics, dtype=float) * sampling_rate_hz / self.fs_internal).astype(np.int64)
        )
        ic = ic[(ic >= 0) & (ic < len(data))]
        self.ic_list_ = pd.DataFrame({"ic": ic, "ic_s": ic / sampling_rate_hz})
        return self


def tuning_half(names: list[str]) -> set[str]:
    """The trials the step-evidence weights are fitted on: the first half by name, sorted as text
    (1-1 ... 18-3: subjects 1 and 10 to 17 and three trials of 18); the rest is the held-out half."""
    return set(sorted(names)[: len(names) // 2])


def fit_evidence(trials: list[WalkingTrial]) -> str:
    """Fit :mod:`hipsense.gait.walking_evidence` on the tuning half; its weights as Python source."""
    half = tuning_half([t.name for t in trials])
    rows = []
    for t in trials:
        if t.name in half:
            times = t.body["t_s"].to_numpy(dtype=float)
            lo, hi = times[t.bounds[0]], times[min(t.bounds[1], len(times) - 1)]
            rows.append((t.body, RATE_HZ, times[t.ic], lo, hi))
    w1, w2 = walking_evidence.fit(rows)

    def literal(name: str, w: np.ndarray) -> str:
        rows = "\n".join(" ".join(f"{v:+.5f}" for v in w[i : i + 10]) for i in range(0, len(w), 10))
        return f'{name}: tuple[float, ...] = tuple(\n    float(v)\n    for v in """\n{rows}\n""".split()\n)'

    return literal("STAGE1_WEIGHTS", w1) + "\n" + literal("STAGE2_WEIGHTS", w2)


def segment_of(trial: WalkingTrial, samples: np.ndarray) -> np.ndarray:
    """``"uturn"`` inside UTurnBoundaries, else ``"straight"``."""
    a, b = trial.uturn
    return np.where((samples >= a) & (samples <= b), "uturn", "straight")


def position_of(trial: WalkingTrial) -> np.ndarray:
    """Role of each reference IC: ``first`` (of the trial), ``closing`` (the last, the stop),
    ``uturn`` or ``straight``."""
    pos = segment_of(trial, trial.ic).astype(object)
    if len(pos):
        pos[0], pos[-1] = "first", "closing"
    return pos.astype(str)


# -- reference check ------------------------------------------------------------------------------
def footstep_check(trials: list[WalkingTrial]) -> dict[str, float]:
    """Evidence that a footstep is the swing (toe-off to heel strike) of its foot."""
    duration, gap, stride, lag_is, lag_pa = [], [], [], [], []
    for t in trials:
        ic, to = t.ic, t.swing_start
        if len(ic) < 3:
            continue
        duration.append(ic - to)
        gap.append(to[1:] - ic[:-1])
        stride.append(ic[2:] - ic[:-2])
        lags = np.arange(-20, 21)
        for col, out in (("acc_is", lag_is), ("acc_pa", lag_pa)):
            x = lowpass(t.body[col].to_numpy(), 15.0, RATE_HZ, 2)
            w = x[np.clip(ic[:, None] + lags, 0, len(x) - 1)].mean(axis=0)
            out.append(lags[np.argmax(w)])
    s = np.median(np.concatenate(stride))
    g = np.concatenate(gap)
    return {
        "footstep_pct_of_stride": float(100 * np.median(np.concatenate(duration)) / s),
        "gap_to_next_footstep_pct_of_stride": float(100 * np.median(g) / s),
        "overlapping_footsteps": int(np.sum(g < 0)),
        "pairs": len(g),
        "acc_is_peak_after_end_ms": float(10 * np.median(lag_is)),
        "acc_pa_peak_after_end_ms": float(10 * np.median(lag_pa)),
    }


# -- scoring --------------------------------------------------------------------------------------
def score_trial(
    trial: WalkingTrial,
    detector: Any = None,
    side_detector: SideDetector | None = None,
) -> dict[str, Any]:
    """Detect steps and sides on one trial and compare with its reference.

    Returns the detected ICs (all, in samples), the sides from the reference ICs, and, per tolerance,
    the matched pairs.
    """
    detector = detector or WalkingContactDetector()
    side_detector = side_detector or SideDetector()
    body = trial.body
    found = detector.detect(body, sampling_rate_hz=RATE_HZ)
    det = found.ic_list_["ic"].to_numpy()
    events = getattr(found, "events_", None)
    to = events["to"].to_numpy() if events is not None and "to" in events else np.full(len(det), np.nan)
    sides_ref = side_detector.detect(body, trial.ic, sampling_rate_hz=RATE_HZ).sides_
    sides_det = side_detector.detect(body, det, sampling_rate_hz=RATE_HZ).sides_
    out: dict[str, Any] = {
        "detected": det,
        "detected_to": to,
        "sides_ref_ic": sides_ref,
        "sides_det_ic": sides_det,
    }
    lo, hi = trial.bounds
    for tol in TOLERANCES_S:
        margin = int(round(tol * RATE_HZ))
        window = (det >= lo - margin) & (det <= hi + margin)
        d_idx = np.flatnonzero(window)
        i_ref, i_det = match_nearest(trial.ic / RATE_HZ, det[d_idx] / RATE_HZ, tol)
        out[tol] = {"i_ref": i_ref, "i_det": d_idx[i_det], "scored_det": d_idx}
    return out


def reference_toe_off(trial: WalkingTrial) -> np.ndarray:
    """The toe-off that ends each reference IC's stance: the start of the same foot's next footstep
    (NaN when that footstep is outside the scored part)."""
    to = np.full(len(trial.ic), np.nan)
    for side in ("L", "R"):
        own = np.flatnonzero(trial.side == side)
        to[own[:-1]] = trial.swing_start[own[1:]]
    return to


def reference_alternates(trial: WalkingTrial) -> np.ndarray:
    """Whether each reference IC is followed by one of the other foot and then one of its own: where
    not, the reference lost a footstep, and its "next toe-off of the same foot" is a stride off."""
    side = trial.side
    ok = np.zeros(len(side), dtype=bool)
    if len(side) >= 3:
        ok[:-2] = (side[1:-1] != side[:-2]) & (side[2:] == side[:-2])
    return ok


def _agreement(err_ms: np.ndarray) -> dict[str, float]:
    """Bias, SD and 95 % limits of agreement (Bland-Altman) of differences in ms."""
    if len(err_ms) < 2:
        return {"n": len(err_ms), "mean": np.nan, "sd": np.nan, "loa_low": np.nan, "loa_high": np.nan}
    mean, sd = float(err_ms.mean()), float(err_ms.std(ddof=1))
    return {
        "n": len(err_ms),
        "mean": mean,
        "sd": sd,
        "median": float(np.median(err_ms)),
        "loa_low": mean - 1.96 * sd,
        "loa_high": mean + 1.96 * sd,
        "within_50ms": float(np.mean(np.abs(err_ms) <= 50)),
    }


def _f1(tp: int, fp: int, fn: int) -> dict[str, float]:
    return {
        "TP": tp,
        "FP": fp,
        "FN": fn,
        "precision": tp / (tp + fp) if tp + fp else np.nan,
        "recall": tp / (tp + fn) if tp + fn else np.nan,
        "F1": 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else np.nan,
    }


def evaluate(
    trials: list[WalkingTrial],
    detector: Any = None,
    side_detector: SideDetector | None = None,
) -> dict[str, Any]:
    """All figures over the trials: step F1 (by tolerance and segment), IC timing error, side accuracy."""
    counts: dict[tuple[float, str], list[int]] = {}
    errors_ms: list[np.ndarray] = []
    stance_rows: list[pd.DataFrame] = []
    with_ref: list[int] = []
    side_rows: list[pd.DataFrame] = []
    det_side_rows: list[pd.DataFrame] = []
    per_trial = []
    for t in trials:
        r = score_trial(t, detector, side_detector)
        det = r["detected"]
        pos = position_of(t)
        for tol in TOLERANCES_S:
            m = r[tol]
            ref_seg = segment_of(t, t.ic)
            det_seg = segment_of(t, det[m["scored_det"]])
            matched_ref = np.zeros(len(t.ic), dtype=bool)
            matched_ref[m["i_ref"]] = True
            matched_det = np.isin(m["scored_det"], m["i_det"])
            for seg in ("all", "straight", "uturn"):
                rs = np.ones(len(t.ic), bool) if seg == "all" else ref_seg == seg
                ds = np.ones(len(det_seg), bool) if seg == "all" else det_seg == seg
                c = counts.setdefault((tol, seg), [0, 0, 0])
                c[0] += int((matched_ref & rs).sum())
                c[1] += int((~matched_det & ds).sum())
                c[2] += int((~matched_ref & rs).sum())
            for role in ("first", "closing"):
                c = counts.setdefault((tol, role), [0, 0, 0])
                c[0] += int((matched_ref & (pos == role)).sum())
                c[2] += int((~matched_ref & (pos == role)).sum())
            if tol == TOLERANCE_S:
                err = (det[m["i_det"]] - t.ic[m["i_ref"]]) / RATE_HZ * 1000.0
                errors_ms.append(err)
                ref_to = reference_toe_off(t)[m["i_ref"]]
                det_to = r["detected_to"][m["i_det"]]
                both = np.isfinite(ref_to) & np.isfinite(det_to)
                stance_rows.append(
                    pd.DataFrame(
                        {
                            "segment": ref_seg[m["i_ref"]][both],
                            "alternating": reference_alternates(t)[m["i_ref"]][both],
                            "reference_ms": (ref_to - t.ic[m["i_ref"]])[both] / RATE_HZ * 1000.0,
                            "detected_ms": (det_to - det[m["i_det"]])[both] / RATE_HZ * 1000.0,
                            "to_error_ms": (det_to - ref_to)[both] / RATE_HZ * 1000.0,
                        }
                    )
                )
                with_ref.append(int(np.isfinite(ref_to).sum()))
                det_side_rows.append(
                    pd.DataFrame(
                        {
                            "trial": t.name,
                            "correct": r["sides_det_ic"][m["i_det"]] == t.side[m["i_ref"]],
                            "position": pos[m["i_ref"]],
                        }
                    )
                )
                tp, fn = int(matched_ref.sum()), int((~matched_ref).sum())
                fp = int((~matched_det).sum())
                per_trial.append(
                    {
                        "trial": t.name,
                        "steps": len(t.ic),
                        "lost_samples": t.lost_samples,
                        **{k: v for k, v in _f1(tp, fp, fn).items() if k in ("TP", "FP", "FN", "F1")},
                        "IC mean ms": float(np.mean(err)) if len(err) else np.nan,
                        "side (ref IC)": float(np.mean(r["sides_ref_ic"] == t.side)),
                    }
                )
        side_rows.append(
            pd.DataFrame({"trial": t.name, "correct": r["sides_ref_ic"] == t.side, "position": pos})
        )
    err = np.concatenate(errors_ms) if errors_ms else np.zeros(0)
    sides = pd.concat(side_rows, ignore_index=True)
    det_sides = pd.concat(det_side_rows, ignore_index=True)
    stance = pd.concat(stance_rows, ignore_index=True)
    return {
        "stance": {
            seg: {
                **_agreement((rows["detected_ms"] - rows["reference_ms"]).to_numpy()),
                "reference_mean": float(rows["reference_ms"].mean()) if len(rows) else np.nan,
                "to": _agreement(rows["to_error_ms"].to_numpy()),
            }
            for seg, rows in (
                ("all", stance),
                ("straight", stance[stance["segment"] == "straight"]),
                ("uturn", stance[stance["segment"] == "uturn"]),
                ("all, reference alternating", stance[stance["alternating"]]),
            )
        },
        "stance_with_reference": int(sum(with_ref)),
        "n_trials": len(trials),
        "n_reference": int(sum(len(t.ic) for t in trials)),
        "lost_samples": int(sum(t.lost_samples for t in trials)),
        "samples": int(sum(len(t.body) for t in trials)),
        "steps": {f"{seg}@{int(tol * 1000)}ms": _f1(*c) for (tol, seg), c in counts.items()},
        "ic_error_ms": {
            "n": len(err),
            "mean": float(err.mean()),
            "sd": float(err.std(ddof=1)),
            "median": float(np.median(err)),
            "loa_low": float(err.mean() - 1.96 * err.std(ddof=1)),
            "loa_high": float(err.mean() + 1.96 * err.std(ddof=1)),
            "within_20ms": float(np.mean(np.abs(err) <= 20)),
            "within_50ms": float(np.mean(np.abs(err) <= 50)),
        },
        "sides_ref": _side_summary(sides),
        "sides_detected": _side_summary(det_sides),
        "per_trial": pd.DataFrame(per_trial),
    }


def _side_summary(rows: pd.DataFrame) -> dict[str, Any]:
    clean = rows[~rows["trial"].isin(SWAPPED_SIDE_TRIALS)]
    out: dict[str, Any] = {
        "n": len(rows),
        "all": float(rows["correct"].mean()),
        "n_excl": len(clean),
        "excl_swapped": float(clean["correct"].mean()),
    }
    for role in ("straight", "uturn", "first", "closing"):
        sel = clean[clean["position"] == role]
        out[role] = float(sel["correct"].mean()) if len(sel) else np.nan
        out[f"n_{role}"] = len(sel)
    return out


def speed(hours: float = 1.0, repeats: int = 3) -> tuple[float, float, int]:
    """Seconds for the step and side detectors on ``hours`` of walking at the device rate (the real
    trials resampled to 208 Hz and tiled)."""
    trials = load_walking_trials()[:30]
    cols = ["acc_is", "acc_ml", "acc_pa", "gyr_is", "gyr_ml", "gyr_pa"]
    one = np.concatenate([t.body[cols].to_numpy() for t in trials])
    one = signal.resample_poly(one, 52, 25, axis=0)
    n = int(hours * 3600 * DEVICE_RATE_HZ)
    data = pd.DataFrame(np.tile(one, (int(np.ceil(n / len(one))), 1))[:n], columns=cols)
    best_steps = best_sides = np.inf
    ic = np.zeros(0, dtype=np.int64)
    for _ in range(repeats):
        t0 = time.perf_counter()
        ic = WalkingContactDetector().detect(data, sampling_rate_hz=DEVICE_RATE_HZ).ic_list_["ic"].to_numpy()
        t1 = time.perf_counter()
        SideDetector().detect(data, ic, sampling_rate_hz=DEVICE_RATE_HZ)
        t2 = time.perf_counter()
        best_steps, best_sides = min(best_steps, t1 - t0), min(best_sides, t2 - t1)
    return best_steps, best_sides, len(ic)


# -- printing -------------------------------------------------------------------------------------
def _table(rows: list[dict[str, Any]], markdown: bool) -> str:
    df = pd.DataFrame(rows)
    if markdown:
        cols = list(df.columns)
        lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
        lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for _, r in df.iterrows()]
        return "\n".join(lines)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        return df.to_string(index=False)


def report(res: dict[str, Any], check: dict[str, float], markdown: bool) -> str:
    out = []
    out.append(
        f"# {DATASET}: {res['n_trials']} trials, {res['n_reference']} reference ICs, "
        f"{res['lost_samples']} of {res['samples']} samples interpolated (lost packets)"
    )
    out.append(
        "\n## Reference check: a footstep is the swing of its foot\n"
        f"footstep = {check['footstep_pct_of_stride']:.0f} % of the stride (swing), gap to the other foot's "
        f"next footstep = {check['gap_to_next_footstep_pct_of_stride']:.0f} % (double support), "
        f"{check['overlapping_footsteps']} of {check['pairs']} consecutive footsteps overlap; after the "
        f"footstep's end acc_is peaks at +{check['acc_is_peak_after_end_ms']:.0f} ms and acc_pa at "
        f"{check['acc_pa_peak_after_end_ms']:+.0f} ms: the end is the heel strike (IC)."
    )
    rows = []
    for key, s in res["steps"].items():
        seg, tol = key.split("@")
        if seg in ("first", "closing"):
            continue
        rows.append(
            {
                "segment": seg,
                "tolerance": tol,
                "reference": s["TP"] + s["FN"],
                "TP": s["TP"],
                "FP": s["FP"],
                "FN": s["FN"],
                "precision": f"{s['precision']:.3f}",
                "recall": f"{s['recall']:.3f}",
                "F1": f"{s['F1']:.3f}",
            }
        )
    out.append("\n## Step detection (WalkingContactDetector)\n" + _table(rows, markdown))
    tol = f"{int(TOLERANCE_S * 1000)}ms"
    first, closing = res["steps"][f"first@{tol}"], res["steps"][f"closing@{tol}"]
    out.append(
        f"recall of the first step of each trial {first['recall']:.3f}, of the closing step "
        f"{closing['recall']:.3f} (at {tol})"
    )
    e = res["ic_error_ms"]
    out.append(
        f"\n## IC timing (detected - reference, {e['n']} matched at {tol})\n"
        f"mean {e['mean']:+.1f} ms, SD {e['sd']:.1f} ms, median {e['median']:+.0f} ms, limits of agreement "
        f"{e['loa_low']:+.0f} to {e['loa_high']:+.0f} ms; |error| <= 20 ms: {100 * e['within_20ms']:.1f} %, "
        f"<= 50 ms: {100 * e['within_50ms']:.1f} % (the reference has 10 ms resolution)"
    )
    st = res["stance"]
    rows = [
        {
            "segment": seg,
            "steps": v["n"],
            "reference mean": f"{v['reference_mean']:.0f}",
            "bias": f"{v['mean']:+.1f}",
            "SD": f"{v['sd']:.1f}",
            "limits of agreement": f"{v['loa_low']:+.0f} to {v['loa_high']:+.0f}",
            "|error| <= 50 ms": f"{100 * v['within_50ms']:.1f} %",
            "TO bias": f"{v['to']['mean']:+.1f}",
            "TO SD": f"{v['to']['sd']:.1f}",
            "TO within 50 ms": f"{100 * v['to']['within_50ms']:.1f} %",
        }
        for seg, v in st.items()
    ]
    out.append(
        f"\n## Stance time (IC to TO of the same foot, detected - reference, ms; matched steps at {tol})\n"
        + _table(rows, markdown)
        + f"\n{st['all']['n']} of {res['stance_with_reference']} matched steps whose reference has the "
        "foot's next toe-off got a detected toe-off (none for the last step of a walking stretch, nor in a turn); "
        "'reference alternating': without the steps whose reference lost the other foot's next footstep"
    )
    rows = []
    for label, s in (
        ("reference ICs", res["sides_ref"]),
        (f"detected ICs (matched at {tol})", res["sides_detected"]),
    ):
        rows.append(
            {
                "given": label,
                "steps": s["n"],
                "all trials": f"{100 * s['all']:.1f} %",
                f"without {'/'.join(SWAPPED_SIDE_TRIALS)}": f"{100 * s['excl_swapped']:.1f} %",
                "straight": f"{100 * s['straight']:.1f} %",
                "U-turn": f"{100 * s['uturn']:.1f} %",
                "first": f"{100 * s['first']:.1f} %",
                "closing": f"{100 * s['closing']:.1f} %",
            }
        )
    out.append("\n## Side accuracy (SideDetector)\n" + _table(rows, markdown))
    out.append("(straight / U-turn / first / closing: without the two swapped trials)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    parser.add_argument("--trials", action="store_true", help="also print one row per trial")
    parser.add_argument(
        "--baseline", action="store_true", help="also score the McCamley/Ionescu vertical-acceleration method"
    )
    parser.add_argument(
        "--fit", action="store_true", help="fit the step-evidence weights on the tuning half and print them"
    )
    args = parser.parse_args(argv)
    if data_dir() is None:
        print(f"../shared/data/{DATASET} is absent: nothing to benchmark (set HIPSENSE_SHARED_DATA)")
        return 0
    trials = load_walking_trials()
    if args.fit:
        print(fit_evidence(trials))
        return 0
    res = evaluate(trials)
    print(report(res, footstep_check(trials), args.markdown))
    tuning = tuning_half([t.name for t in trials])
    pt = res["per_trial"]
    for label, part in (
        ("tuning", pt[pt["trial"].isin(tuning)]),
        ("held-out", pt[~pt["trial"].isin(tuning)]),
    ):
        tp, fp, fn = (int(part[k].sum()) for k in ("TP", "FP", "FN"))
        print(
            f"{label} half ({len(part)} trials): step F1 at 100 ms {_f1(tp, fp, fn)['F1']:.3f} (TP {tp}, FP {fp}, FN {fn})"
        )
    if args.trials:
        pt = res["per_trial"].copy()
        pt["F1"] = pt["F1"].map(lambda v: f"{v:.3f}")
        pt["IC mean ms"] = pt["IC mean ms"].map(lambda v: f"{v:+.1f}")
        pt["side (ref IC)"] = pt["side (ref IC)"].map(lambda v: f"{100 * v:.0f} %")
        print("\n## Per trial\n" + _table(pt.to_dict("records"), args.markdown))
    if args.baseline:
        base = evaluate(trials, McCamleyIonescuBaseline())
        rows = []
        for tol in TOLERANCES_S:
            st = base["steps"][f"all@{int(tol * 1000)}ms"]
            rows.append(
                {
                    "tolerance": f"{int(tol * 1000)}ms",
                    **{k: st[k] for k in ("TP", "FP", "FN")},
                    "F1": f"{st['F1']:.3f}",
                }
            )
        e = base["ic_error_ms"]
        print(
            "\n## Baseline: McCamley/Ionescu (vertical acceleration, approximated), all segments\n"
            + _table(rows, args.markdown)
            + f"\nIC error at {int(TOLERANCE_S * 1000)} ms: mean {e['mean']:+.1f} ms, SD {e['sd']:.1f} ms"
        )
    steps_s, sides_s, n_steps = speed()
    print(
        f"\n## Speed: one hour of walking at {DEVICE_RATE_HZ:.0f} Hz ({n_steps} steps): steps "
        f"{steps_s * 1000:.0f} ms, sides {sides_s * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
