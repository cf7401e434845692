"""Alternate steps: which of the two interleaved sets of a run each step belongs to.

Every other step of a run is the same foot, whether or not the foot is known. The sets are built per
bout: the parity starts again at each bout and after any interval longer than :data:`MAX_STEP_RATIO`
typical step times (a missed contact would otherwise swap the sets mid-run). The summary uses them for
drift when the sides are not known; the reports compare the two sets instead of left and right.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: An interval this many times the median step time breaks the alternation (a missed contact).
MAX_STEP_RATIO = 1.5


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


__all__ = ["MAX_STEP_RATIO", "step_parity"]
