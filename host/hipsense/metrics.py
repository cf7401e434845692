"""The metric registry (contract): every column of the step table and every summarised metric, declared once.

The step table (:func:`step_table`), the store's steps table, the export schema and data dictionary,
the session summary (sided medians, asymmetry judgement, drift), the terminal and HTML tables, the trend
tables and the flag inputs all read this registry when they run, so adding a metric is one
:class:`Metric` entry here plus one function in :mod:`hipsense.gait.metrics` (docs/code-layout.md has
the recipe). Definitions and papers: docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from hipsense.gait import metrics as m
from hipsense.gait.metrics import StepContext

Asymmetry = Literal["index", "difference"]


@dataclass(frozen=True)
class Metric:
    """One column of the step table (or one session figure), and how every output treats it.

    Parameters
    ----------
    name
        Column name, with its unit suffix (``_s``, ``_g``, ``_deg`` ...).
    unit
        Unit of the stored value.
    description
        One line for the data dictionary and ``schema.json``.
    compute
        ``f(ctx: StepContext) -> array`` with one value per step (step-level entries only).
    dtype
        pandas dtype name of the stored value.
    kind
        ``"event"`` for the step table's bookkeeping columns (bout, side, times, quality), ``"metric"``
        for measured quantities, ``"linked"`` for values another device measured (the runner's watch,
        written by :mod:`hipsense.link`, not by the analysis; no ``compute``).
    label, display_unit, display_scale, display_format
        How terminal and HTML tables show it (value x scale, formatted).
    precision
        Decimals kept in CSV output.
    sided
        Summarised per side, with an asymmetry and its interval.
    asymmetry, noise_floor
        How a side difference is judged: the asymmetry index in points, or (for angles, whose index
        is ill-conditioned) the left-minus-right difference in the metric's unit; an asymmetry counts
        only when its interval excludes zero and it exceeds ``noise_floor`` (the validation's error
        bound, docs/validation.md).
    drift
        Early-versus-late change within a run is reported (fatigue).
    flag
        May drive an asymmetry-drift flag (docs/flags.md).
    trend
        Shown in the trend tables.
    reference
        The paper behind the definition (docs/metrics.md has the full citation).
    larger
        The word for "greater" in sentences ("longer" for durations).
    activities
        The gaits the definition holds for (``"run"``, ``"walk"``); other steps get no value.
    """

    name: str
    unit: str
    description: str
    compute: Callable[[StepContext], np.ndarray] | None = None
    dtype: str = "float64"
    kind: Literal["event", "metric", "linked"] = "metric"
    label: str = ""
    display_unit: str = ""
    display_scale: float = 1.0
    display_format: str = "{:.2f}"
    precision: int = 4
    sided: bool = False
    asymmetry: Asymmetry = "index"
    noise_floor: float = 0.0
    drift: bool = False
    flag: bool = False
    trend: bool = False
    reference: str = ""
    larger: str = "larger"
    activities: tuple[str, ...] = ("run",)

    def display(self, value: float | None) -> str:
        """The value as a table shows it, with its unit; an em dash when there is none."""
        if value is None or not np.isfinite(value):
            return "—"
        return self.display_format.format(value * self.display_scale)


# Linked from the runner's watch (hipsense.link, docs/watch.md): no compute, the analysis leaves them
# empty and `hipsense link` / `import --fit` fill them in the store. One line each (fmt: off) to keep
# this module short.
# fmt: off
_LINKED = [
    Metric(n, u, d, kind="linked", label=lb, display_unit=du, display_format=f, precision=p, activities=("run", "walk"))
    for n, u, d, lb, du, f, p in (
        ("speed_mps", "m/s", "running speed from the linked watch at the step's initial contact", "speed", "m/s", "{:.2f}", 3),
        ("grade_pct", "%", "grade from the linked watch's distance and altitude (Savitzky-Golay, 25 m), + uphill", "grade", "%", "{:.1f}", 2),
        ("heart_rate_bpm", "beats/min", "heart rate from the linked watch at the step's initial contact", "heart rate", "bpm", "{:.0f}", 1),
    )
]
# fmt: on


#: The registry, in step-table order (contract: docs/metrics.md, docs/data-dictionary.md).
REGISTRY: list[Metric] = [
    Metric(
        "bout",
        "-",
        "number of the activity bout the step belongs to, from 0 over every bout of the session, standing included (walk breaks and stops split bouts)",
        m.bout,
        dtype="Int64",
        kind="event",
        precision=0,
        activities=("run", "walk"),
    ),
    Metric(
        "activity",
        "-",
        "the gait of the step: run, or walk (walking steps have contacts, sides, step time and pelvic angles)",
        m.activity,
        dtype="string",
        kind="event",
        activities=("run", "walk"),
    ),
    Metric(
        "side",
        "L/R",
        "foot in contact at this step's initial contact (empty when the analysis cannot tell)",
        m.side,
        dtype="string",
        kind="event",
        activities=("run", "walk"),
    ),
    Metric(
        "ic_s",
        "s",
        "initial contact, seconds from the session start",
        m.ic_time,
        kind="event",
        precision=4,
        activities=("run", "walk"),
    ),
    Metric(
        "to_s",
        "s",
        "toe-off, seconds from the session start",
        m.to_time,
        kind="event",
        precision=4,
        activities=("run", "walk"),
    ),
    Metric(
        "step_time_s",
        "s",
        "this initial contact to the next one in the same bout",
        m.step_time,
        label="step time",
        display_unit="ms",
        display_scale=1000.0,
        display_format="{:.0f}",
        sided=True,
        noise_floor=1.5,  # >= its measured AI errors: 1.35 (motion capture), 0.12 (simulated grid)
        flag=True,
        trend=True,
        larger="longer",
        reference="Robinson et al. 1987",
        activities=("run", "walk"),
    ),
    Metric(
        "contact_time_s",
        "s",
        "ground contact time: to_s - ic_s",
        m.contact_time,
        label="contact time",
        display_unit="ms",
        display_scale=1000.0,
        display_format="{:.0f}",
        sided=True,
        # >= its measured AI errors: 3.67 on the motion capture (IMU -5.04 against the force's -1.37),
        # 0.78 in the simulated grid (docs/validation.md, "Noise floors"); 1.5 was below the first.
        noise_floor=3.7,
        drift=True,
        flag=True,
        trend=True,
        larger="longer",
        activities=("run", "walk"),
    ),
    Metric(
        "flight_time_s",
        "s",
        "step_time_s - contact_time_s: no foot on the ground",
        m.flight_time,
        label="flight time",
        display_unit="ms",
        display_scale=1000.0,
        display_format="{:.0f}",
        sided=True,
        # Toe-off is found at a fixed level above flight, so its bias depends on each side's falling
        # slope: flight asymmetries are understated by up to ~15 % of their size (docs/validation.md).
        # >= its measured AI errors: 9.98 on the motion capture (IMU +5.37 against the force's -4.61),
        # 10.78 in the simulated grid (2.14 with |AI| <= 20); 2.0 was below all but the last.
        noise_floor=11.0,
        larger="longer",
    ),
    Metric(
        "cadence_spm",
        "steps/min",
        "60 / step_time_s",
        m.cadence,
        label="cadence",
        display_unit="steps/min",
        display_format="{:.0f}",
        precision=2,
        activities=("run", "walk"),
    ),
    Metric(
        "impact_g",
        "g",
        "peak vertical specific force (acc_is) in the first 60 ms of stance",
        m.impact,
        label="impact",
        display_unit="g",
        sided=True,
        noise_floor=1.5,
        drift=True,
        flag=True,
        trend=True,
    ),
    Metric(
        "loading_rate_g_per_s",
        "g/s",
        "mean slope of acc_is from initial contact to the impact peak",
        m.loading_rate,
        label="loading rate",
        display_unit="g/s",
        display_format="{:.0f}",
        sided=True,
        noise_floor=2.0,
        trend=True,
        precision=2,
    ),
    Metric(
        "braking_g",
        "g",
        "magnitude of the most negative forward acceleration in the first half of stance",
        m.braking,
        label="braking",
        display_unit="g",
        sided=True,
        noise_floor=2.0,
    ),
    Metric(
        "pelvic_drop_deg",
        "deg",
        "contralateral pelvic drop in the step; positive when the swing side drops",
        m.pelvic_drop,
        label="pelvic drop",
        display_unit="deg",
        display_format="{:.1f}",
        sided=True,
        asymmetry="difference",
        # >= its measured L-R errors: 0.47 deg on the motion capture (medians; 0.35 as means: IMU -0.64
        # against the markers' -0.17), 0.18 in the simulated grid; 0.3 was below the first (p13 F9).
        noise_floor=0.5,
        drift=True,
        flag=True,
        trend=True,
        precision=3,
        activities=("run", "walk"),
    ),
    Metric(
        "pelvic_rotation_deg",
        "deg",
        "range of the transverse pelvic rotation (yaw) from this contact to the next; side = the stance foot",
        m.pelvic_rotation,
        label="pelvic rotation",
        display_unit="deg",
        display_format="{:.1f}",
        sided=True,
        asymmetry="difference",
        noise_floor=0.3,
        precision=3,
        activities=("run", "walk"),
    ),
    Metric(
        "vertical_oscillation_cm",
        "cm",
        "range of the pelvis height over the step",
        m.vertical_oscillation,
        label="vertical osc.",
        display_unit="cm",
        display_format="{:.1f}",
        sided=True,
        noise_floor=2.0,
        precision=3,
    ),
    *_LINKED,  # from the runner's watch (above)
    Metric(
        "quality",
        "text",
        "'; '-joined reasons a value is missing or doubtful (missing when there is none)",
        m.quality,
        dtype="string",
        kind="event",
        activities=("run", "walk"),
    ),
]


def all_metrics() -> Iterator[Metric]:
    return iter(REGISTRY)


def get(name: str) -> Metric:
    for metric in REGISTRY:
        if metric.name == name:
            return metric
    raise KeyError(name)


def step_columns() -> tuple[str, ...]:
    """Columns of the step table, in order."""
    return tuple(x.name for x in REGISTRY)


def measured() -> list[Metric]:
    """Measured per-step quantities (not the bookkeeping columns)."""
    return [x for x in REGISTRY if x.kind == "metric"]


def sided(activity: str | None = None) -> list[Metric]:
    """The metrics compared per side; with ``activity`` (``"run"``, ``"walk"``) only those that hold for it."""
    return [x for x in REGISTRY if x.sided and (activity is None or activity in x.activities)]


def drift() -> list[Metric]:
    return [x for x in REGISTRY if x.drift]


def flaggable() -> list[Metric]:
    return [x for x in REGISTRY if x.flag]


def trended() -> list[Metric]:
    return [x for x in REGISTRY if x.trend]


def drift_names() -> tuple[str, ...]:
    return tuple(x.name for x in REGISTRY if x.drift)


def labels() -> dict[str, tuple[str, str, float, str]]:
    """How tables show each labelled metric: ``name -> (label, display unit, scale, format)``."""
    return {x.name: (x.label, x.display_unit, x.display_scale, x.display_format) for x in REGISTRY if x.label}


def noise_floors(asymmetry: Asymmetry) -> dict[str, float]:
    """Sided metrics judged by ``asymmetry`` (``"index"`` in points, ``"difference"`` in their unit),
    with their noise floors."""
    return {x.name: x.noise_floor for x in REGISTRY if x.sided and x.asymmetry == asymmetry}


def rounded(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every registered float column rounded to its declared ``precision`` (CSV output:
    no float noise such as 0.30000000000000004); other columns as they are."""
    out = table.copy()
    for x in REGISTRY:
        if x.name in out and x.dtype.startswith("float"):
            out[x.name] = out[x.name].round(x.precision)
    return out


def step_table(ctx: StepContext) -> pd.DataFrame:
    """The step table: every registered column, computed from one :class:`StepContext`.

    ``quality`` is computed last: it joins the notes every other column made."""
    order = sorted(REGISTRY, key=lambda x: x.name == "quality")
    cols = {x.name: x.compute(ctx) for x in order if x.compute is not None}
    # Columns filled later (a linked watch) are there from the start, empty.
    empty = np.full(ctx.k, np.nan)
    table = pd.DataFrame({x.name: cols.get(x.name, empty) for x in REGISTRY})
    gait = table["activity"].to_numpy()
    # One mask per set of gaits (the registry has two), not one isin per column.
    masks = {acts: ~np.isin(gait, acts) for acts in {x.activities for x in REGISTRY}}
    for x in REGISTRY:  # a value only where its definition holds for the step's gait
        undefined = masks[x.activities]
        if x.name in table and undefined.any():
            table[x.name] = table[x.name].where(~undefined)
    return table


__all__ = [
    "REGISTRY",
    "Metric",
    "all_metrics",
    "drift",
    "drift_names",
    "flaggable",
    "get",
    "labels",
    "measured",
    "noise_floors",
    "rounded",
    "sided",
    "step_columns",
    "step_table",
    "trended",
]
