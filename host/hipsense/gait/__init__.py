"""Gait analysis of the pelvis signals: alignment, activity bouts, step events, sides and metrics.

Each algorithm is a class in the mobgap/gaitmap style: parameters in ``__init__``, an action method
(``detect``/``estimate``) taking data plus keyword-only ``sampling_rate_hz``, results in ``*_``
attributes, returning ``self``.
"""

from hipsense.gait.events import EventDetectionError, RunningContactDetector
from hipsense.gait.walking import WalkingContactDetector

__all__ = ["EventDetectionError", "RunningContactDetector", "WalkingContactDetector"]
