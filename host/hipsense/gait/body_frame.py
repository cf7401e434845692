"""Sensor-frame samples rotated into the pelvis body frame, with a rotation the aligner estimated.

Column by column, each body axis a weighted sum of three sensor columns in a fixed order, so a whole
frame (:func:`to_body_frame`) and one axis of it (:func:`body_axis`) give the same floats.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hipsense.conventions import BODY_ACC, BODY_GYR, SENSOR_ACC, SENSOR_GYR, TIME_COLUMN

#: Each sensor-frame triple and the body-frame triple it is rotated into.
_FRAMES = ((SENSOR_ACC, BODY_ACC), (SENSOR_GYR, BODY_GYR))


def to_body_frame(data: pd.DataFrame, r_body_from_sensor: np.ndarray) -> pd.DataFrame:
    """Rotate sensor-frame columns into body-frame columns (the time column is kept).

    Column by column, each output axis a weighted sum of the three input columns, into a frame that
    keeps those arrays as they are: no (n, 3) copy in or out, which for a 10 h session was 360 MB.
    """
    out: dict[str, np.ndarray] = {}
    if TIME_COLUMN in data:
        # a copy: a view would keep the whole sensor-frame block alive with it
        out[TIME_COLUMN] = data[TIME_COLUMN].to_numpy().copy()
    r = np.asarray(r_body_from_sensor, dtype=float)
    for src, dst in _FRAMES:
        if all(c in data for c in src):
            cols = [data[c].to_numpy(dtype=float) for c in src]
            for i, name in enumerate(dst):
                out[name] = _weighted(cols, r[i])
    return pd.DataFrame(out, index=data.index, copy=False)


def body_axis(data: pd.DataFrame, r_body_from_sensor: np.ndarray, name: str) -> np.ndarray:
    """One body-frame column (``acc_is``, ``gyr_pa``...) of sensor-frame data: the floats
    :func:`to_body_frame` gives for it, without computing the other axes."""
    for src, dst in _FRAMES:
        if name in dst:
            row = np.asarray(r_body_from_sensor, dtype=float)[dst.index(name)]
            return _weighted([data[c].to_numpy(dtype=float) for c in src], row)
    raise KeyError(name)


def _weighted(cols: list[np.ndarray], row: np.ndarray) -> np.ndarray:
    """``row @ cols`` as three in-place multiply-adds, in this order (the same floats every time)."""
    axis = cols[0] * row[0]
    axis += cols[1] * row[1]
    axis += cols[2] * row[2]
    return axis


__all__ = ["body_axis", "to_body_frame"]
