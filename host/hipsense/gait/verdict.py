"""When a left/right (or alternate-step) difference gets a verdict, and why it gets none.

A verdict is "larger than noise" (True), "within noise" (False), or none at all (None) when nothing
was compared: sides unknown, too few steps a side, no interval. A False where nothing was compared
reads as "symmetrical within noise" in every table that carries it (red-team p13 F1).
"""

from __future__ import annotations

import numpy as np

#: Fewest steps with a value on each side before a metric's sides are compared.
MIN_STEPS_A_SIDE = 3

#: Why a metric's sides were not compared when the session's side source is unknown.
SIDES_UNKNOWN_NOTE = "which foot made each step is not known"

#: Why a metric's sides were not compared when the bootstrap gave no interval.
NO_INTERVAL_NOTE = "the bootstrap could not give an interval"


def too_few_steps(n_left: int | None, n_right: int | None) -> str:
    """Why a metric with ``n_left`` and ``n_right`` steps a side is not compared ("" when it may be)."""
    nl, nr = n_left or 0, n_right or 0
    if nl >= MIN_STEPS_A_SIDE and nr >= MIN_STEPS_A_SIDE:
        return ""
    return f"too few steps to compare ({nl} left, {nr} right; {MIN_STEPS_A_SIDE} a side needed)"


def beyond_noise(low: float, high: float, estimate: float, floor: float) -> bool:
    """The interval excludes zero and the estimate exceeds the noise floor."""
    return bool(np.isfinite(low) and (low > 0 or high < 0) and abs(estimate) > floor)
