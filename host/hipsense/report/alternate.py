"""Alternate steps compared, for recordings whose sides are not known.

Without a side, a run still has two interleaved sets of steps (every other step is the same foot), and a
large difference between them is worth telling, as long as nothing says which foot is which. The sets
come from :func:`hipsense.gait.parity.step_parity`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hipsense import metrics as registry
from hipsense.gait.parity import step_parity

#: Fewest steps in each set before its median is shown.
MIN_STEPS = 3


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
