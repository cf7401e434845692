"""Pelvic drop and rotation per step from the integrated roll and yaw rates, checked against motion capture.

**Definition** (docs/metrics.md): the obliquity ``phi`` is the pelvis's roll in the frontal plane,
positive when the right side is lower (docs/conventions.md). For a left-foot step the drop is
``max(phi) - phi(IC)`` over ``[IC, next IC)``; for a right-foot step ``phi(IC) - min(phi)``. Positive means
the swing side dropped below where it was at contact. This is the definition of the motion-capture
reference in ``running-pelvis-mocap`` (its README), i.e. the contralateral pelvic drop of optical
running studies measured from contact (Bramah et al. 2018 report the peak contralateral drop in stance
from the pelvis's frontal-plane angle).

From the IMU, ``phi`` is the body-frame roll rate ``gyr_pa`` integrated and high-passed against drift
(:func:`obliquity_deg`). On the motion-capture trial this gives 1.96 / 2.21 degrees (left / right stance)
from the reference contacts against 1.98 / 2.23 from the markers; the drop depends on the contact time
(a contact found 30 ms late reads about 1 degree less on that runner's left steps), see
docs/validation.md.

**Rotation** (:func:`pelvic_rotation_deg`): the range of the yaw (integrated ``gyr_is``) from a
contact to the next, the stance foot's side. On the same trial 3.27 / 3.43 degrees (left / right
stance medians, detected contacts) against 3.37 / 3.52 from the markers' yaw, per step bias -0.00,
SD 0.58 (docs/validation.md, "Pelvic rotation against motion capture").

References
----------
Bramah C., Preece S.J., Gill N., Herrington L. (2018) Is there a pathological gait associated with
common soft tissue running injuries? Am J Sports Med 46(12):3023-3031. doi:10.1177/0363546518793657

Fukuchi R.K., Fukuchi C.A., Duarte M. (2017) A public dataset of running biomechanics and the effects of
running speed on lower extremity kinematics and kinetics. PeerJ 5:e3298. doi:10.7717/peerj.3298
"""

from __future__ import annotations

import numpy as np

from hipsense.errors import HipsenseError
from hipsense.gait.filters import butter_sos, segment_ids, zero_phase

#: High-pass of the integrated obliquity: removes gyroscope bias drift and slow lean (turns), keeps the
#: stride-rate motion (a stride is 0.6-1.2 s).
OBLIQUITY_HIGHPASS_HZ = 0.3


def obliquity_deg(gyr_pa: np.ndarray, fs: float, *, highpass_hz: float = OBLIQUITY_HIGHPASS_HZ) -> np.ndarray:
    """Pelvic obliquity (deg, right side down positive) from the body-frame roll rate (deg/s).

    The rate, freed of its median, is high-passed (second-order Butterworth, forwards and backwards),
    integrated, and the angle high-passed again: the angle's mean and any drift are not known to an IMU,
    only its changes within a stride.
    """
    rate = np.asarray(gyr_pa, dtype=float)
    if rate.ndim != 1:
        raise HipsenseError("gyr_pa must be one-dimensional")
    if not (np.isfinite(fs) and fs > 0):
        raise HipsenseError(f"sampling rate must be positive, got {fs!r}")
    if len(rate) == 0:
        return rate.copy()
    if not np.isfinite(rate).all():
        raise HipsenseError("gyr_pa holds NaN or infinite values")
    padlen = 3 * (2 * len(butter_sos(2, highpass_hz, fs, "high")) + 1)
    if len(rate) <= padlen:  # too short for the zero-phase filter: the plain integral, mean removed
        angle = np.cumsum(rate - np.median(rate)) / fs
        return angle - angle.mean()
    return integrated_angle(rate, fs, highpass_hz)


def integrated_angle(
    rate_dps: np.ndarray, fs: float, highpass_hz: float = OBLIQUITY_HIGHPASS_HZ
) -> np.ndarray:
    """Angle (deg) from an angular rate (deg/s, float64, longer than the filter's padding), unchecked:
    the rate freed of its median and high-passed (second-order Butterworth, forwards and backwards),
    integrated, and high-passed again. :func:`obliquity_deg` checks its input, then calls this; the
    step table's angles (``gait.metrics.integrated_angle``) are this too."""
    sos = butter_sos(2, highpass_hz, fs, "high")
    rate = zero_phase(sos, rate_dps - np.median(rate_dps))
    np.cumsum(rate, out=rate)  # in place: the filter's output is this function's own
    rate /= fs
    return zero_phase(sos, rate)


def _checked_steps(
    n: int, start: np.ndarray, end: np.ndarray, sides: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(start, end, sign)`` of steps over ``n`` samples, checked: one entry each, non-empty ranges
    inside the data; ``sign`` +1 for a left step, -1 for a right one, 0 where the side is unknown."""
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    sides = np.asarray(sides)
    k = len(start)
    if len(end) != k or len(sides) != k:
        raise HipsenseError("start, end and sides must have one entry per step")
    if k and (start.min() < 0 or end.max() > n or (end <= start).any()):
        raise HipsenseError("step ranges must lie inside the data and be non-empty")
    return start, end, np.select([sides == "L", sides == "R"], [1.0, -1.0], 0.0)


def pelvic_drop_deg(
    obliquity: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    sides: np.ndarray,
) -> np.ndarray:
    """Contralateral pelvic drop of each step (deg) from the obliquity, ``NaN`` where the side is unknown.

    Parameters
    ----------
    obliquity
        Obliquity in degrees, positive when the right side is lower (:func:`obliquity_deg`).
    start, end
        Each step's sample range ``[start, end)``: from its initial contact to the next contact (or a
        typical step's length when the next is unknown).
    sides
        ``"L"``/``"R"`` per step (the foot on the ground); any other value (``""``: unknown) gives NaN,
        since the drop's direction is the side's.

    Returns
    -------
    For a left step ``max(phi) - phi(start)``, for a right step ``phi(start) - min(phi)``, over the range.
    """
    obliquity = np.asarray(obliquity, dtype=float)
    start, end, sign = _checked_steps(len(obliquity), start, end, sides)
    k = len(start)
    if k == 0:
        return np.zeros(0)
    idx, _ = segment_ids(start, end)
    # Every range is non-empty (checked above), so each step is one block: its start's values spread
    # by np.repeat and the blocks reduced at their first entries (the owner gathers' floats, fewer passes).
    length = end - start
    excursion = obliquity[idx]
    excursion -= np.repeat(obliquity[start], length)
    excursion *= np.repeat(sign, length)
    drop = np.maximum.reduceat(excursion, np.cumsum(length) - length)
    return np.where(sign != 0, drop, np.nan)


def pelvic_rotation_deg(
    rotation: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    sides: np.ndarray,
) -> np.ndarray:
    """Transverse pelvic rotation of each step (deg): the range of the yaw angle from the step's
    contact to the next, ``NaN`` where the side is unknown.

    Parameters
    ----------
    rotation
        Yaw angle in degrees (the integrated ``gyr_is``, high-passed; positive when the right hip is
        ahead, docs/conventions.md). Its zero is not known to an IMU, and the range does not need it.
    start, end
        Each step's sample range ``[start, end)`` as for :func:`pelvic_drop_deg`; the angle at ``end``
        (the next contact) is included when it lies inside the data.
    sides
        ``"L"``/``"R"`` per step (the stance foot); any other value gives NaN.

    Returns
    -------
    ``max - min`` of the yaw over ``[start, end]``: how far the pelvis turns while this foot is the
    stance foot. The literature reports the range over a stride (e.g. Schache et al. 2002); over a
    step, each foot's half of the stride, each foot gets its own value (3.4 against 5.7 degrees over
    the stride on the motion-capture runner). The change from contact to contact (the old
    definition) depends on where the turning points fall: on the motion-capture runner they fall
    at 50-60 % of the step and the change is near zero (docs/validation.md, "Pelvic rotation against
    motion capture").
    """
    rotation = np.asarray(rotation, dtype=float)
    n = len(rotation)
    start, end, sign = _checked_steps(n, start, end, sides)
    if len(start) == 0:
        return np.zeros(0)
    stop = np.minimum(end + 1, n)  # the next contact's own sample, when there is one
    idx, _ = segment_ids(start, stop)
    length = stop - start
    first = np.cumsum(length) - length
    yaw = rotation[idx]
    turn = np.maximum.reduceat(yaw, first) - np.minimum.reduceat(yaw, first)
    return np.where(sign != 0, turn, np.nan)


def step_pelvic_drop(
    gyr_pa: np.ndarray,
    ic: np.ndarray,
    next_ic: np.ndarray,
    sides: np.ndarray,
    *,
    sampling_rate_hz: float,
) -> np.ndarray:
    """Pelvic drop per step from the body-frame roll rate and the contacts (sample indices).

    ``next_ic`` is each step's next contact (NaN when unknown: the step then spans the median step).
    One call does it all: :func:`obliquity_deg` then :func:`pelvic_drop_deg`.
    """
    fs = float(sampling_rate_hz)
    phi = obliquity_deg(gyr_pa, fs)
    n = len(phi)
    ic = np.asarray(ic, dtype=float)
    next_ic = np.asarray(next_ic, dtype=float)
    if len(ic) == 0:
        return np.zeros(0)
    if not np.isfinite(ic).all():
        raise HipsenseError("initial contacts must be finite sample indices")
    start = np.clip(np.ceil(ic - 1e-6).astype(np.int64), 0, max(n - 1, 0))
    known = np.isfinite(next_ic)
    typical = float(np.median(next_ic[known] - ic[known])) if known.any() else 0.35 * fs
    end = np.where(known, np.floor(np.nan_to_num(next_ic)), start + round(typical))
    end = np.clip(end.astype(np.int64), start + 1, n)
    return pelvic_drop_deg(phi, start, end, sides)


__all__ = [
    "OBLIQUITY_HIGHPASS_HZ",
    "integrated_angle",
    "obliquity_deg",
    "pelvic_drop_deg",
    "pelvic_rotation_deg",
    "step_pelvic_drop",
]
