"""Phrases the terminal and the HTML report share, so both say the same thing the same way."""

from __future__ import annotations

import math
from typing import Any

from hipsense import metrics as registry


def number(value: Any, fmt: str = "{:.1f}") -> str:
    """``value`` formatted with ``fmt``; ``-`` when it is unknown (None, NaN or infinite)."""
    if value is None or not math.isfinite(value):
        return "-"
    return fmt.format(value)


def asymmetry_keys(metric: str) -> tuple[str, str, str, str]:
    """Where a summary's ``sides`` entry has a metric's asymmetry: (estimate, ci low, ci high, unit).

    Angles use left minus right in degrees, because an index of two small angles says little
    (docs/metrics.md); the others use the asymmetry index in %.
    """
    if metric in registry.noise_floors("difference"):
        return "difference", "diff_ci_low", "diff_ci_high", "deg"
    return "asymmetry_pct", "ci_low_pct", "ci_high_pct", "%"


def duration(seconds: float | None) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on; ``-`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def quality_notes(quality: dict[str, Any]) -> list[str]:
    """A session's data quality (the summary's ``quality``) as short phrases."""
    q = quality
    parts = [
        f"alignment confidence {q.get('alignment_confidence', 0):.2f}",
        f"sides from {q.get('side_source', '?')}",
    ]
    if q.get("missing_samples"):
        parts.append(f"{q['missing_samples']} samples missing in {len(q.get('gaps', []))} gaps")
    if q.get("clipped_share"):
        parts.append(f"{100 * q['clipped_share']:.2f} % of samples at full scale")
    parts.append(f"{100 * q.get('doubtful_step_share', 0):.1f} % of steps with a doubtful value")
    return parts
