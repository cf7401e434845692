"""Where the clip sits on the pelvis: the rotation from the sensor frame to the body frame.

A mounting is a proper rotation ``R`` with ``body = R @ sensor`` (rows: the body axes ``is, ml, pa`` in
sensor coordinates), the same matrix :mod:`hipsense.conventions` calls ``r_body_from_sensor``. Its
columns are the sensor axes in body coordinates, so turning the clip by a rotation ``Q`` (written in the
body frame) from a reference mounting ``R0`` gives ``R = Q @ R0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from hipsense.conventions import R_BODY_FROM_SENSOR_DEFAULT

Position = Literal["back", "left", "right"]


def rot_is(angle_rad: float | np.ndarray) -> np.ndarray:
    """Right-hand rotation about the body ``is`` axis (yaw, positive turns ``ml`` toward ``pa``)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.moveaxis(np.array([[o, z, z], [z, c, -s], [z, s, c]]), (0, 1), (-2, -1))


def rot_ml(angle_rad: float | np.ndarray) -> np.ndarray:
    """Right-hand rotation about the body ``ml`` axis (pitch, positive tips the top backward)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.moveaxis(np.array([[c, z, s], [z, o, z], [-s, z, c]]), (0, 1), (-2, -1))


def rot_pa(angle_rad: float | np.ndarray) -> np.ndarray:
    """Right-hand rotation about the body ``pa`` axis (roll, positive lowers the right side)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.moveaxis(np.array([[c, -s, z], [s, c, z], [z, z, o]]), (0, 1), (-2, -1))


def is_rotation(r: np.ndarray, atol: float = 1e-9) -> bool:
    """True when ``r`` is a 3x3 proper rotation (orthonormal, determinant +1)."""
    r = np.asarray(r, dtype=float)
    return r.shape == (3, 3) and np.allclose(r @ r.T, np.eye(3), atol=atol) and np.linalg.det(r) > 0


@dataclass(frozen=True)
class Mounting:
    """How the clip sits on the waistband.

    Parameters
    ----------
    position
        ``"back"`` (default, at the sacrum, :data:`~hipsense.conventions.R_BODY_FROM_SENSOR_DEFAULT`),
        ``"left"`` or ``"right"`` hip: the back mounting turned 90 degrees about ``is`` so the board
        faces out of that hip.
    tilt_deg
        Extra rotation of the clip about the body ``ml`` axis (right-hand rule: positive tips the
        sensor's top backward), e.g. a clip following the curve of the sacrum. Realistic: 0-30.
    roll_deg
        Extra rotation about the body ``pa`` axis (positive lowers the clip's right edge).
    upside_down
        ``None``, or ``"pa"`` / ``"ml"``: the clip turned 180 degrees about that body axis.
    r_body_from_sensor
        An explicit 3x3 rotation (rows: body axes in sensor coordinates). Overrides everything above.
    wobble_g
        Amplitude (g, along body ``is``) of a damped oscillation of the clip on the belt after each
        running contact; 0 (default) rigidly attaches the clip to the pelvis. The oscillation has zero
        net impulse, so it leaves the step's mean acceleration unchanged. It is added to what the
        sensor measures, not to the pelvis truth in ``SimulatedRun.body``.
    wobble_hz, wobble_decay_s
        Frequency and decay time constant of that oscillation.

    The rotations are applied in the order: upside down, then roll, then tilt, then the position's
    turn about ``is``: ``R = Q_position @ Q_tilt @ Q_roll @ Q_flip @ R_default``.
    """

    position: Position = "back"
    tilt_deg: float = 0.0
    roll_deg: float = 0.0
    upside_down: Literal["pa", "ml"] | None = None
    r_body_from_sensor: tuple[tuple[float, ...], ...] | np.ndarray | None = None
    wobble_g: float = 0.0
    wobble_hz: float = 18.0
    wobble_decay_s: float = 0.025

    def matrix(self) -> np.ndarray:
        """The rotation ``R`` with ``body = R @ sensor``."""
        if self.r_body_from_sensor is not None:
            r = np.asarray(self.r_body_from_sensor, dtype=float)
            if not is_rotation(r, atol=1e-6):
                raise ValueError("Mounting.r_body_from_sensor must be a 3x3 proper rotation matrix")
            return r.copy()
        positions = {"back": 0.0, "left": -90.0, "right": 90.0}
        if self.position not in positions:
            raise ValueError(f"unknown mounting position {self.position!r}: use back, left or right")
        flips = {None: np.eye(3), "pa": rot_pa(np.pi), "ml": rot_ml(np.pi)}
        if self.upside_down not in flips:
            raise ValueError(f"upside_down must be None, 'pa' or 'ml', not {self.upside_down!r}")
        q = (
            rot_is(np.radians(positions[self.position]))
            @ rot_ml(np.radians(self.tilt_deg))
            @ rot_pa(np.radians(self.roll_deg))
            @ flips[self.upside_down]
        )
        r = q @ R_BODY_FROM_SENSOR_DEFAULT
        r[np.abs(r) < 1e-15] = 0.0
        return r

    def hint(self) -> str:
        """A short name of the mounting for a device file header (what a user would tell the app)."""
        if self.r_body_from_sensor is not None:
            return "custom"
        name = {"back": "back", "left": "side-left", "right": "side-right"}[self.position]
        if self.upside_down is not None:
            name += "-upside-down"
        return name
