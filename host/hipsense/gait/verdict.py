"""When a left/right (or alternate-step) difference gets a verdict, and why it gets none.

A verdict is "larger than noise" (True), "within noise" (False), or none at all (None) when nothing
was compared: sides unknown, too few steps a side, no interval. A False where nothing was compared
reads as "symmetrical within noise" in every table that carries it (red-team p13 F1).
"""

from __future__ import annotations

import numpy as np

#: Fewest steps with a value on each side before a metric's side medians are given.
MIN_STEPS_A_SIDE = 3

#: Fewest steps with a value on each side before a side difference gets a verdict. Below it the
#: bootstrap interval of a median of so few values is too narrow: on symmetric simulated runs (no true
#: difference, every "differs" a false alarm) the rule says "differs" in 8.1 % of the verdicts at 3
#: steps a side and 4.8 % at 4, against 4.3-4.6 % at 15-30 steps a side (a long run's rate); from 5 on
#: it is at or below that (2.2-4.5 %). benchmarks/verdict_min_steps.py, docs/validation.md "How many
#: steps a verdict needs" (red-team p13 F11).
MIN_VERDICT_STEPS = 5

#: Why a metric's sides were not compared when the session's side source is unknown.
SIDES_UNKNOWN_NOTE = "which foot made each step is not known"

#: Why a metric's sides were not compared when the bootstrap gave no interval.
NO_INTERVAL_NOTE = "the bootstrap could not give an interval"


def too_few_steps(n_left: int | None, n_right: int | None, minimum: int = MIN_VERDICT_STEPS) -> str:
    """Why a difference of ``n_left`` and ``n_right`` steps a side gets no verdict ("" when it may)."""
    nl, nr = n_left or 0, n_right or 0
    if nl >= minimum and nr >= minimum:
        return ""
    return f"too few steps to compare ({nl} and {nr}; {minimum} a side needed)"


def beyond_noise(low: float, high: float, estimate: float, floor: float) -> bool:
    """The interval excludes zero and the estimate exceeds the noise floor."""
    return bool(np.isfinite(low) and (low > 0 or high < 0) and abs(estimate) > floor)
