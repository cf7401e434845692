"""Score detected running events against reference contacts (force plate or treadmill).

Used by ``benchmarks/running_events.py`` and the regression tests, so the figures in
docs/validation.md and the test thresholds come from the same code.

Rules
-----
- Only reference contacts fully inside the recording (``complete``: both IC and TO measured) are
  scored. Detected ICs count only inside the scoring window ``[first scored reference IC - tolerance,
  last scored reference TO]``, so a step cut by the start or end of the recording is neither a miss nor
  a false detection.
- A detected IC matches a reference IC when they are at most ``tolerance_s`` apart (40 ms by
  default), one-to-one, nearest first. F1 = 2 TP / (2 TP + FP + FN).
- Timing errors are detected minus reference (positive: detected late), over matched steps; TO and
  contact time need both events found on both sides. Limits of agreement are mean +/- 1.96 SD (Bland
  and Altman 1986, doi:10.1016/S0140-6736(86)90837-8).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Default IC matching tolerance, seconds.
TOLERANCE_S = 0.040


def match_nearest(
    reference_s: np.ndarray, detected_s: np.ndarray, tolerance_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one nearest matching of two sorted event-time arrays within a tolerance.

    Returns index arrays ``(i_ref, i_det)`` of the matched pairs, in reference order.
    """
    ref = np.asarray(reference_s, dtype=float)
    det = np.asarray(detected_s, dtype=float)
    if len(ref) == 0 or len(det) == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    # Candidate pairs: each detection with its two neighbouring references.
    pos = np.searchsorted(ref, det)
    cand_ref = np.concatenate([np.clip(pos - 1, 0, len(ref) - 1), np.clip(pos, 0, len(ref) - 1)])
    cand_det = np.concatenate([np.arange(len(det)), np.arange(len(det))])
    dist = np.abs(det[cand_det] - ref[cand_ref])
    ok = dist <= tolerance_s
    cand_ref, cand_det, dist = cand_ref[ok], cand_det[ok], dist[ok]
    order = np.argsort(dist, kind="stable")
    cand_ref, cand_det = cand_ref[order], cand_det[order]
    # Greedy, nearest first: keep a pair only if neither side is taken yet.
    used_ref = np.zeros(len(ref), dtype=bool)
    used_det = np.zeros(len(det), dtype=bool)
    keep = np.zeros(len(cand_ref), dtype=bool)
    for j, (r, d) in enumerate(zip(cand_ref, cand_det, strict=True)):  # candidates ~ 2 per step
        if not used_ref[r] and not used_det[d]:
            used_ref[r] = used_det[d] = keep[j] = True
    i_ref, i_det = cand_ref[keep], cand_det[keep]
    order = np.argsort(i_ref)
    return i_ref[order], i_det[order]


def _stats(err_s: np.ndarray) -> dict[str, float]:
    e = np.asarray(err_s, dtype=float) * 1000.0
    e = e[np.isfinite(e)]
    if len(e) == 0:
        return {
            "n": 0,
            "mean_ms": np.nan,
            "sd_ms": np.nan,
            "loa_low_ms": np.nan,
            "loa_high_ms": np.nan,
            "rmse_ms": np.nan,
        }
    mean = float(e.mean())
    sd = float(e.std(ddof=1)) if len(e) > 1 else 0.0
    return {
        "n": len(e),
        "mean_ms": mean,
        "sd_ms": sd,
        "loa_low_ms": mean - 1.96 * sd,
        "loa_high_ms": mean + 1.96 * sd,
        "rmse_ms": float(np.sqrt(np.mean(e**2))),
    }


def score_running_events(
    reference: pd.DataFrame, detected: pd.DataFrame, *, tolerance_s: float = TOLERANCE_S
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Compare detected steps with reference contacts.

    Parameters
    ----------
    reference
        ``ic_s``, ``to_s`` and ``complete`` per contact (as from :func:`hipsense.datasets.reference_contacts`).
    detected
        ``ic_s`` and ``to_s`` per step (as ``RunningContactDetector.events_``; NaN where not found).
    tolerance_s
        IC matching tolerance.

    Returns
    -------
    summary
        ``n_reference``, ``tp``, ``fp``, ``fn``, ``precision``, ``recall``, ``f1``, and for ``ic``,
        ``to`` and ``contact_time`` the error statistics (``n``, ``mean_ms``, ``sd_ms``,
        ``loa_low_ms``, ``loa_high_ms``, ``rmse_ms``).
    steps
        One row per scored reference contact: reference and matched detected times and the errors
        (``ic_err_s``, ``to_err_s``, ``contact_time_err_s``; NaN when unmatched or missing).
    """
    ref = reference[reference["complete"].astype(bool)].sort_values("ic_s")
    ref_ic = ref["ic_s"].to_numpy(dtype=float)
    ref_to = ref["to_s"].to_numpy(dtype=float)
    det = detected[np.isfinite(detected["ic_s"].to_numpy(dtype=float))].sort_values("ic_s")
    det_ic = det["ic_s"].to_numpy(dtype=float)
    det_to = det["to_s"].to_numpy(dtype=float)
    if len(ref_ic):
        window = (det_ic >= ref_ic[0] - tolerance_s) & (det_ic <= ref_to[-1])
        det_ic, det_to = det_ic[window], det_to[window]
    else:
        det_ic, det_to = det_ic[:0], det_to[:0]
    i_ref, i_det = match_nearest(ref_ic, det_ic, tolerance_s)
    tp = len(i_ref)
    fp = len(det_ic) - tp
    fn = len(ref_ic) - tp

    steps = pd.DataFrame(
        {
            "ref_ic_s": ref_ic,
            "ref_to_s": ref_to,
            "ref_contact_time_s": ref_to - ref_ic,
            "ic_s": np.nan,
            "to_s": np.nan,
        }
    )
    steps.loc[i_ref, "ic_s"] = det_ic[i_det]
    steps.loc[i_ref, "to_s"] = det_to[i_det]
    steps["contact_time_s"] = steps["to_s"] - steps["ic_s"]
    steps["ic_err_s"] = steps["ic_s"] - steps["ref_ic_s"]
    steps["to_err_s"] = steps["to_s"] - steps["ref_to_s"]
    steps["contact_time_err_s"] = steps["contact_time_s"] - steps["ref_contact_time_s"]

    precision = tp / (tp + fp) if tp + fp else np.nan
    recall = tp / (tp + fn) if tp + fn else np.nan
    f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else np.nan
    summary: dict[str, Any] = {
        "n_reference": len(ref_ic),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "ic": _stats(steps["ic_err_s"].to_numpy()),
        "to": _stats(steps["to_err_s"].to_numpy()),
        "contact_time": _stats(steps["contact_time_err_s"].to_numpy()),
    }
    return summary, steps


def pool(steps: list[pd.DataFrame], counts: list[dict[str, Any]]) -> dict[str, Any]:
    """Summary over several recordings: counts summed, errors pooled over all steps."""
    all_steps = pd.concat(steps, ignore_index=True) if steps else pd.DataFrame()
    tp = sum(int(c["tp"]) for c in counts)
    fp = sum(int(c["fp"]) for c in counts)
    fn = sum(int(c["fn"]) for c in counts)
    return {
        "n_reference": sum(int(c["n_reference"]) for c in counts),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else np.nan,
        "recall": tp / (tp + fn) if tp + fn else np.nan,
        "f1": 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else np.nan,
        "ic": _stats(all_steps["ic_err_s"].to_numpy() if len(all_steps) else np.array([])),
        "to": _stats(all_steps["to_err_s"].to_numpy() if len(all_steps) else np.array([])),
        "contact_time": _stats(
            all_steps["contact_time_err_s"].to_numpy() if len(all_steps) else np.array([])
        ),
    }
