"""Alternate steps compared, for recordings whose sides are not known.

Without a side, a run still has two interleaved sets of steps (every other step is the same foot), and a
large difference between them is worth telling, as long as nothing says which foot is which. The sets
are built per bout: the step parity starts again at each bout and after any interval longer than
:data:`MAX_STEP_RATIO` local step times (a missed contact would otherwise swap the sets mid-run).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hipsense import metrics as registry

#: An interval this many times the bout's median step time breaks the alternation (a missed contact).
MAX_STEP_RATIO = 1.5

#: Fewest steps in each set before its median is shown.
MIN_STEPS = 3


def step_parity(steps: pd.DataFrame) -> np.ndarray:
    """0 or 1 per step: its parity within its run of consecutive, about-one-step-apart contacts."""
    n = len(steps)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ic = steps["ic_s"].to_numpy(dtype=float)
    bout = steps["bout"].to_numpy() if "bout" in steps else np.zeros(n)
    dt = np.diff(ic)
    typical = np.nanmedian(dt) if len(dt) and np.isfinite(dt).any() else np.inf
    new_run = np.r_[True, (bout[1:] != bout[:-1]) | ~(dt <= MAX_STEP_RATIO * typical)]
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(n), 0))
    return (np.arange(n) - run_start) % 2


def alternate_steps(steps: pd.DataFrame) -> list[dict[str, Any]]:
    """Each sided metric's medians over the two sets of alternate steps and how far apart they are.

    ``difference`` is the absolute difference in the metric's unit and ``difference_pct`` the same as a
    share of the mean of both medians (None for angles, whose index says little, docs/metrics.md). No
    sign is given: which set is which foot is unknown. Metrics with too few values are left out.
    """
    parity = step_parity(steps)
    rows: list[dict[str, Any]] = []
    for metric in registry.sided():
        if metric.name not in steps:
            continue
        x = steps[metric.name].to_numpy(dtype=float)
        a, b = x[(parity == 0) & np.isfinite(x)], x[(parity == 1) & np.isfinite(x)]
        if len(a) < MIN_STEPS or len(b) < MIN_STEPS:
            continue
        ma, mb = float(np.median(a)), float(np.median(b))
        mean = 0.5 * (ma + mb)
        pct = None if metric.asymmetry == "difference" or mean == 0 else 100.0 * abs(ma - mb) / abs(mean)
        rows.append(
            {
                "metric": metric.name,
                "median_a": ma,
                "median_b": mb,
                "difference": abs(ma - mb),
                "difference_pct": pct,
                "n_a": int(len(a)),
                "n_b": int(len(b)),
            }
        )
    return rows
