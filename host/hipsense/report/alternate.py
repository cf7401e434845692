"""Alternate steps compared, for recordings whose sides are not known.

Without a side, a run still has two interleaved sets of steps (every other step is the same foot), and a
large difference between them is worth telling, as long as nothing says which foot is which. The sets
come from :func:`hipsense.gait.parity.step_parity`.

The difference is judged by the rule of the left/right verdict (:func:`hipsense.gait.summary.summarize`):
a 95 % moving-block bootstrap interval (:func:`hipsense.gait.summary.block_bootstrap`, with the parity as
the two groups) and the registry's noise floor of the metric; the two sets "differ" only when the
interval excludes 0 and the difference exceeds the floor. It is computed here, not in the summary: the
summary's contract (``sides``, the stored JSON) stays left/right, and every output that shows alternate
steps (terminal, HTML, ``--json``) calls :func:`alternate_steps` on the step table it already has.
:func:`alternate_section` is the HTML report's section (kept here, next to the rule it shows).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hipsense import metrics as registry
from hipsense.gait.parity import step_parity

# The L/R verdict's own rule (interval excludes 0, estimate beyond the floor), so both judge alike.
from hipsense.gait.summary import asymmetry_index, beyond_noise, block_bootstrap
from hipsense.gait.verdict import MIN_STEPS_A_SIDE, MIN_VERDICT_STEPS, too_few_steps
from hipsense.report.page import Cell, esc, section, table
from hipsense.report.wording import (
    ALTERNATE_RULE,
    alternate_apart,
    alternate_interval,
    alternate_sentence,
    alternate_verdict,
    sides_unknown_sentence,
)

#: Fewest steps in each set before a metric's medians are shown (as the summary's per-side minimum);
#: a verdict needs :data:`~hipsense.gait.verdict.MIN_VERDICT_STEPS`.
MIN_STEPS = MIN_STEPS_A_SIDE


def alternate_steps(
    steps: pd.DataFrame, *, activity: str = "run", n_boot: int = 1000
) -> list[dict[str, Any]]:
    """Each sided metric's medians over the two sets of alternate steps, how far apart, and the verdict.

    Only the steps of ``activity`` (the summary's left/right figures are of the running steps) when the
    table has an ``activity`` column. Per metric (those with at least :data:`MIN_STEPS` values in each
    set; others are left out):

    - ``median_a``, ``median_b``, ``n_a``, ``n_b``: the two sets' medians and sizes;
    - ``difference``: the absolute difference of the medians in the metric's unit; ``difference_pct``:
      the same as a share of their mean (None for angles, whose index says little, docs/metrics.md);
    - ``judged_on`` (``"index"`` or ``"difference"``, the registry's ``asymmetry``), ``estimate`` (the
      judged quantity: ``difference_pct`` or ``difference``), ``ci_low``/``ci_high`` (its 95 % interval),
      ``noise_floor`` and ``larger_than_noise``: the verdict.

    No sign is given: which set is which foot is unknown, so the estimate is the absolute value and its
    interval is turned the same way (the bootstrap is symmetric in the two sets).
    """
    if "activity" in steps:
        steps = steps[steps["activity"].to_numpy() == activity].reset_index(drop=True)
    parity = step_parity(steps)
    rows: list[dict[str, Any]] = []
    for metric in registry.sided(activity):
        if metric.name not in steps:
            continue
        x = steps[metric.name].to_numpy(dtype=float)
        ok = np.isfinite(x)
        row = compare_sets(x[ok], parity[ok] == 0, metric, n_boot=n_boot)
        if row is not None:
            rows.append(row)
    return rows


def compare_sets(
    values: np.ndarray,
    in_a: np.ndarray,
    metric: registry.Metric,
    *,
    n_boot: int = 1000,
    min_steps: int = MIN_VERDICT_STEPS,
) -> dict[str, Any] | None:
    """Two sets of one metric's values judged as :func:`alternate_steps` does (one row of it), or None
    with fewer than :data:`MIN_STEPS` values in either set.

    ``values`` are in step order (the bootstrap resamples blocks of consecutive steps), finite;
    ``in_a`` says which belong to the first set. benchmarks/alternate_noise.py also calls it with two
    sets of the same foot, whose true difference is nil, to measure how often the rule cries wolf.
    With fewer than ``min_steps`` in either set the row has its medians but no verdict
    (``larger_than_noise`` None, ``note`` why; benchmarks/verdict_min_steps.py measures the rule below it).
    """
    values = np.asarray(values, dtype=float)
    in_a = np.asarray(in_a, dtype=bool)
    n_a, n_b = int(in_a.sum()), int((~in_a).sum())
    if n_a < MIN_STEPS or n_b < MIN_STEPS:
        return None
    few = too_few_steps(n_a, n_b, min_steps)
    ma, mb = float(np.median(values[in_a])), float(np.median(values[~in_a]))
    (ai_lo, ai_hi), (d_lo, d_hi), _, _ = block_bootstrap(values, in_a, n_boot=n_boot)
    mean = 0.5 * (ma + mb)
    pct = None if metric.asymmetry == "difference" or mean == 0 else 100.0 * abs(ma - mb) / abs(mean)
    if metric.asymmetry == "difference":
        signed, lo, hi = ma - mb, d_lo, d_hi
    else:
        signed = asymmetry_index(ma, mb) if ma + mb != 0 else np.nan
        lo, hi = ai_lo, ai_hi
    if signed < 0:  # set a is the smaller: turn the interval with the estimate
        signed, lo, hi = -signed, -hi, -lo
    return {
        "metric": metric.name,
        "median_a": ma,
        "median_b": mb,
        "difference": abs(ma - mb),
        "difference_pct": pct,
        "n_a": n_a,
        "n_b": n_b,
        "judged_on": metric.asymmetry,
        "estimate": float(signed),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "noise_floor": metric.noise_floor,
        "larger_than_noise": None if few else beyond_noise(lo, hi, signed, metric.noise_floor),
        "note": few,
    }


def alternate_section(why: str, steps: pd.DataFrame) -> str:
    """The HTML report's section instead of left versus right when the sides are not known: why, and
    alternate steps compared, each with its verdict (here, next to the rule, so html.py stays short)."""
    found = alternate_steps(steps)
    lead = f'<p class="warn">{esc(sides_unknown_sentence(why))}</p>'
    beyond = [r for r in found if r["larger_than_noise"]]
    if beyond:
        lead += (
            "<p>Differences between the two sets of alternate steps larger than the measurement's noise:</p>"
            "<ul class='points'>"
            + "".join(f"<li>{esc(alternate_sentence(r))}</li>" for r in beyond)
            + "</ul>"
        )
    elif any(r["larger_than_noise"] is False for r in found):
        lead += (
            "<p>The two sets of alternate steps were alike, within what the measurement can tell apart.</p>"
        )
    elif found:  # medians, but no metric with the steps a verdict needs: "alike" would claim too much
        lead += f"<p>The two sets of alternate steps were not judged: {esc(found[0]['note'])}.</p>"
    rows: list[list[Cell]] = []
    for r in found:
        m = registry.get(r["metric"])
        verdict = ("differs" if r["larger_than_noise"] else "noise", alternate_verdict(r))
        rows.append(
            [
                f"{esc(m.label)} ({m.display_unit})",
                esc(m.display(r["median_a"])),
                esc(m.display(r["median_b"])),
                esc(alternate_apart(r)),
                esc(alternate_interval(r)),
                verdict,
            ]
        )
    body = (
        table(["metric", "one set of steps", "the other set", "apart", "95 % CI", ""], rows) if rows else ""
    )
    return section(
        "sides",
        "Alternate steps",
        lead
        + body
        + '<p class="note">Every other step is the same foot, so the two sets are the two feet; which '
        "set is which foot is not known. Medians over each set; apart = the difference as a share of "
        f"their mean (for angles, in degrees). {esc(ALTERNATE_RULE)}</p>",
    )


__all__ = ["MIN_STEPS", "alternate_section", "alternate_steps", "compare_sets"]
