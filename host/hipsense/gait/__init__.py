"""Gait analysis of the pelvis signals: alignment, activity bouts, step events, sides and metrics.

Each algorithm is a class in the mobgap/gaitmap style: parameters in ``__init__``, an action method
(``detect``/``estimate``) taking data plus keyword-only ``sampling_rate_hz``, results in ``*_``
attributes, returning ``self``.

The detectors below are imported on first use (PEP 562): the store imports :mod:`hipsense.gait.metrics`
through the registry, and the detectors' modules bring scipy, which listing sessions does not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hipsense.gait.events import EventDetectionError, RunningContactDetector
    from hipsense.gait.walking import WalkingContactDetector

_LAZY = {
    "EventDetectionError": "hipsense.gait.events",
    "RunningContactDetector": "hipsense.gait.events",
    "WalkingContactDetector": "hipsense.gait.walking",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EventDetectionError", "RunningContactDetector", "WalkingContactDetector"]
