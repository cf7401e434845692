"""hipsense: open pelvis-IMU running analysis, from the clip's raw recording to trends and flags."""

__version__ = "0.1.0"
