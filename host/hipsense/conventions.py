"""Frames, axis names, units and sign conventions shared by every part of hipsense.

This module is the single source of these facts on the host; ``docs/conventions.md`` explains them
and the tests in ``tests/host/test_conventions.py`` check each row of :data:`SIGN_TABLE` against the
simulator (and, as the analysis grows, against it too).

Body frame of the pelvis (as mobgap's lower-back frame), right-handed, ``(is, ml, pa)``:

- ``is``: inferior to superior, points up;
- ``ml``: medio-lateral, points to the runner's **right**;
- ``pa``: posterior to anterior, points forward.

``is x ml = pa``, so ``(is, ml, pa)`` is right-handed. Angular rates follow the right-hand rule about
each axis:

- ``gyr_pa > 0``: the pelvis rolls so that its **right** side goes down (viewed from behind: clockwise);
- ``gyr_ml > 0``: the pelvis pitches so that its top goes backward (posterior tilt);
- ``gyr_is > 0``: the pelvis yaws to the left (viewed from above: counter-clockwise), the right hip
  moving forward.

Accelerometers measure specific force (acceleration minus gravity), so an upright pelvis at rest reads
``acc_is = +g`` and a body in free flight reads about 0 on every axis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

#: Standard gravity, m/s^2 (the conversion used for every "g" in hipsense).
G = 9.80665

SENSOR_ACC = ("acc_x", "acc_y", "acc_z")
SENSOR_GYR = ("gyr_x", "gyr_y", "gyr_z")
SENSOR_COLUMNS = SENSOR_ACC + SENSOR_GYR
BODY_ACC = ("acc_is", "acc_ml", "acc_pa")
BODY_GYR = ("gyr_is", "gyr_ml", "gyr_pa")
BODY_COLUMNS = BODY_ACC + BODY_GYR
TIME_COLUMN = "t_s"

#: Units on the host.
UNITS = {
    "acc": "m/s^2",
    "gyr": "deg/s",
    "time": "s",
    "impact": "g",
}

Side = Literal["L", "R"]
SIDES: tuple[Side, Side] = ("L", "R")

#: Full-scale ranges the device records at by default.
DEFAULT_ACC_RANGE_G = 16
DEFAULT_GYR_RANGE_DPS = 2000
DEFAULT_SAMPLE_RATE_HZ = 208.0

#: Default mounting: clip on the back of the waistband at the sacrum, board facing away from the body.
#: Sensor x points up, sensor z points backward (out of the runner's back), sensor y = z x x points left.
#: Rows are body axes (is, ml, pa) expressed in sensor coordinates: ``body = R @ sensor``.
R_BODY_FROM_SENSOR_DEFAULT = np.array(
    [
        [1.0, 0.0, 0.0],  # is =  x
        [0.0, -1.0, 0.0],  # ml = -y
        [0.0, 0.0, -1.0],  # pa = -z
    ]
)


def sensor_to_body(
    values: np.ndarray, r_body_from_sensor: np.ndarray = R_BODY_FROM_SENSOR_DEFAULT
) -> np.ndarray:
    """Rotate an ``(n, 3)`` array of sensor-frame vectors into the body frame."""
    return np.asarray(values) @ np.asarray(r_body_from_sensor).T


def body_to_sensor(
    values: np.ndarray, r_body_from_sensor: np.ndarray = R_BODY_FROM_SENSOR_DEFAULT
) -> np.ndarray:
    """Rotate an ``(n, 3)`` array of body-frame vectors into the sensor frame."""
    return np.asarray(values) @ np.asarray(r_body_from_sensor)


@dataclass(frozen=True)
class SignRule:
    """One row of the movement -> expected sign table.

    ``quantity`` is a body-frame column or a derived angle; ``sign`` is +1 or -1; ``when`` says in
    which part of the gait cycle the sign holds.
    """

    movement: str
    quantity: str
    sign: int
    when: str


#: Pelvic obliquity (roll about ``pa``), degrees: positive when the **right** side of the pelvis is
#: lower than the left, i.e. the integral of ``gyr_pa``.
OBLIQUITY = "obliquity_deg"
#: Pelvic rotation (yaw about ``is``), degrees: positive when the right hip is ahead of the left, i.e.
#: the integral of ``gyr_is``.
ROTATION = "rotation_deg"
#: Pelvic drop of one stance (per-step metric), degrees: positive when the swing side drops.
PELVIC_DROP = "pelvic_drop_deg"

SIGN_TABLE: tuple[SignRule, ...] = (
    SignRule("standing upright, still", "acc_is", +1, "any time: reads +1 g"),
    SignRule("flight phase of running", "acc_is", 0, "between toe-off and contact: near 0 g"),
    SignRule("impact after initial contact", "acc_is", +1, "first 50 ms of stance: peak well above 1 g"),
    SignRule("braking after initial contact", "acc_pa", -1, "first quarter of stance"),
    SignRule("propulsion before toe-off", "acc_pa", +1, "second half of stance"),
    SignRule("left-foot stance, right hip drops", "gyr_pa", +1, "loading phase of left stance"),
    SignRule("left-foot stance, right hip drops", OBLIQUITY, +1, "at the end of left loading"),
    SignRule("right-foot stance, left hip drops", "gyr_pa", -1, "loading phase of right stance"),
    SignRule("right-foot stance, left hip drops", OBLIQUITY, -1, "at the end of right loading"),
    SignRule("either stance with contralateral drop", PELVIC_DROP, +1, "per step"),
    SignRule("left-foot stance, right hip swings forward", "gyr_is", +1, "left stance"),
    SignRule("right-foot stance, left hip swings forward", "gyr_is", -1, "right stance"),
    # Running: the stance force (2-3 g) tilts with the obliquity (swing side low) and its projection
    # outweighs the small push toward the midline (motion capture: -0.84 m/s^2, 97 % of left steps).
    SignRule(
        "left-foot stance, stance force tilted with the dropped right side", "acc_ml", -1, "mid left stance"
    ),
    SignRule(
        "right-foot stance, stance force tilted with the dropped left side", "acc_ml", +1, "mid right stance"
    ),
    SignRule("turning left while running", "gyr_is", +1, "mean over the turn"),
)

#: Device scale factors at the default ranges (LSM6DSOX datasheet sensitivities; ICM-42688-P is
#: close: 2048 LSB/g and 16.4 LSB/(deg/s)). The device file header carries the real values, so the
#: host never assumes these when decoding; the simulator uses them to quantise.
ACC_LSB_MG = {2: 0.061, 4: 0.122, 8: 0.244, 16: 0.488}
GYR_LSB_MDPS = {125: 4.375, 250: 8.75, 500: 17.5, 1000: 35.0, 2000: 70.0}

_NOT_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9._-]")


def file_name_part(name: str, default: str = "unnamed") -> str:
    """``name`` (a runner, a device id, a file's stem) as part of a file or folder name that is safe on
    every system: ASCII letters, digits, ``.``, ``_`` and ``-`` are kept, every other character
    (path separators among them) becomes ``_``; ``default`` when ``name`` is empty."""
    return _NOT_IN_FILE_NAMES.sub("_", name) or default
