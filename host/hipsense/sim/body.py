"""Pelvis kinetics and kinematics: body-frame specific force and angular rate at any times.

Model (see docs/simulator.md for the equations and their sources):

1. In the *heading frame* (``is`` up, ``ml`` right, ``pa`` forward of the direction of travel) the
   specific force ``f = a - g`` is the ground reaction force per unit mass: a vertical force whose
   impulse over each step balances body weight, braking then propulsion with zero net impulse, a
   mediolateral push toward the midline, plus the forces that change speed and heading. In flight all
   of it is zero.
2. The pelvis is rotated from the heading frame by yaw ``psi`` (pelvic rotation, about ``is``), pitch
   ``theta`` (about ``ml``) and roll ``phi`` (obliquity plus leaning into turns, about ``pa``), in
   that order: ``R = R_is(psi) R_ml(theta) R_pa(phi)`` maps body to heading coordinates.
3. Body-frame specific force is ``R^T f``, so gravity projects into ``ml`` and ``pa`` whenever the pelvis
   tilts; the body angular rate follows from the angle rates through the same rotations.
"""

from __future__ import annotations

import numpy as np

from hipsense.conventions import G
from hipsense.sim.gait import Timeline
from hipsense.sim.mounting import rot_ml, rot_pa

DEG = np.pi / 180.0


def _bump(tau: np.ndarray, peak: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smooth 0 -> 1 -> 0 bump over a step (peak at ``peak``), and its time derivative (1/s)."""
    rising = tau < peak
    x_up = np.clip(tau / peak, 0, 1)
    x_dn = np.clip((tau - peak) / (T - peak), 0, 1)
    val = np.where(rising, 0.5 * (1 - np.cos(np.pi * x_up)), 0.5 * (1 + np.cos(np.pi * x_dn)))
    der = np.where(
        rising, 0.5 * np.pi / peak * np.sin(np.pi * x_up), -0.5 * np.pi / (T - peak) * np.sin(np.pi * x_dn)
    )
    return val, der


#: Running obliquity at contact, deg (the swing side already low: it dropped in the previous flight).
ROLL_AT_CONTACT_DEG = 2.3
#: Running: how far the obliquity overshoots past the mirror of its contact value at toe-off, deg.
ROLL_OVERSHOOT_DEG = 1.7


def _bump_to(tau: np.ndarray, peak: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`_bump` but back to 0 at ``end`` and 0 after it."""
    val, der = _bump(np.minimum(tau, end), peak, end)
    after = tau >= end
    return np.where(after, 0.0, val), np.where(after, 0.0, der)


def _ramp(tau: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smooth step from 1 (``tau <= a``) to -1 (``tau >= b``), and its time derivative (1/s)."""
    width = np.maximum(b - a, 1e-9)
    x = np.clip((tau - a) / width, 0.0, 1.0)
    inside = (tau > a) & (tau < b)
    return np.cos(np.pi * x), np.where(inside, -np.pi / width * np.sin(np.pi * x), 0.0)


def running_roll(
    tau: np.ndarray,
    peak: np.ndarray,
    contact: np.ndarray,
    T: np.ndarray,
    drop: np.ndarray,
    first: np.ndarray | None = None,
    last: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Obliquity of a left-foot running step (deg, right side down positive) and its rate (deg/s).

    The shape of the motion-capture trial (docs/simulator.md, ``benchmarks/mocap.py``): at contact the
    swing side is already ``ROLL_AT_CONTACT_DEG`` low; it drops by ``drop`` more until ``peak`` (the
    contralateral drop), then the pelvis rolls back toward the stance side well before toe-off,
    overshooting to ``-(ROLL_AT_CONTACT_DEG + ROLL_OVERSHOOT_DEG)`` at toe-off (``contact``), and
    returns to ``-ROLL_AT_CONTACT_DEG`` at the next contact (``T``), where the right step begins with
    the mirror image. Three smooth terms with zero slope at their ends:
    ``B ramp(peak..contact) + drop bump(0..peak..contact) - E bump(peak..contact..T)``; each is at most
    its value at ``peak``, so the drop from contact to the peak is exactly ``drop``. The first step of a
    bout (``first``) starts level (the ramp goes from 0 to -1) and the last (``last``) ends level (from
    1 to 0), so a bout begins and ends with the pelvis level.
    """
    base, base_der = _ramp(tau, peak, contact)
    first = np.zeros(np.shape(tau), bool) if first is None else first
    last = np.zeros(np.shape(tau), bool) if last is None else last
    scale = np.where(first | last, 0.5, 1.0) * np.where(first & last, 0.0, 1.0)
    offset = np.where(first & ~last, -0.5, 0.0) + np.where(last & ~first, 0.5, 0.0)
    base, base_der = scale * base + offset, scale * base_der
    bump, bump_der = _bump_to(tau, peak, contact)
    x = np.clip(tau - peak, 0.0, None)
    over, over_der = _bump_to(x, contact - peak, T - peak)
    over = np.where(tau > peak, over, 0.0)
    over_der = np.where(tau > peak, over_der, 0.0)
    val = ROLL_AT_CONTACT_DEG * base + drop * bump - ROLL_OVERSHOOT_DEG * over
    der = ROLL_AT_CONTACT_DEG * base_der + drop * bump_der - ROLL_OVERSHOOT_DEG * over_der
    return val, der


def evaluate(tl: Timeline, t: np.ndarray, *, wobble=None) -> dict[str, np.ndarray]:
    """Noiseless body-frame signals at true times ``t`` (s).

    Returns ``acc`` ``(n, 3)`` m/s^2 and ``gyr`` ``(n, 3)`` deg/s in ``(is, ml, pa)``, the angles
    ``obliquity_deg``, ``rotation_deg``, ``pitch_deg``, ``heading_deg``, the step index ``step``
    (-1 outside steps), ``in_contact`` (a foot on the ground) and, when ``wobble`` (a
    :class:`~hipsense.sim.mounting.Mounting`) is given, ``wobble`` ``(n, 3)`` m/s^2: the clip's own
    oscillation on the belt in body axes (not part of the pelvis truth).
    """
    t = np.asarray(t, dtype=float)
    n = len(t)
    if tl.n_steps:
        idx = np.searchsorted(tl.ic, t, side="right") - 1
        k = np.clip(idx, 0, tl.n_steps - 1)
        tau = t - tl.ic[k]
        T = tl.step_time[k]
        in_step = (idx >= 0) & (tau < T)
    else:
        k = np.zeros(n, dtype=np.int64)
        tau = np.zeros(n)
        T = np.ones(n)
        in_step = np.zeros(n, dtype=bool)

    def per_step(arr: np.ndarray) -> np.ndarray:
        return arr[k] if tl.n_steps else np.zeros(n)

    is_run = per_step(tl.is_run).astype(bool) & in_step
    is_walk = ~per_step(tl.is_run).astype(bool) & in_step
    Tc = per_step(tl.contact_time)
    side = per_step(tl.side)
    u = np.where(in_step, tau / T, 0.0)
    stance = is_run & (tau < Tc)
    s1 = np.sin(np.pi * np.clip(tau / Tc, 0, 1))  # half sine over the contact

    # --- specific force in the heading frame, in g -------------------------------------------------
    fv = np.ones(n)  # standing
    a, b, tp = per_step(tl.vert_a), per_step(tl.vert_b), per_step(tl.impact_peak_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        hann = np.where(
            (tau < 2 * tp) & (tp > 0), np.sin(0.5 * np.pi * tau / np.where(tp > 0, tp, 1)) ** 2, 0
        )
    fv = np.where(is_run, np.where(stance, a * s1 + b * hann, 0.0), fv)
    fv = np.where(is_walk, 1.0 + a * np.sin(2 * np.pi * u), fv)

    ap = per_step(tl.ap_g)
    fap = np.where(stance, -ap * np.sin(2 * np.pi * np.clip(tau / Tc, 0, 1)), 0.0)
    fap = np.where(is_walk, -ap * np.sin(2 * np.pi * u), fap)

    ml = per_step(tl.ml_g)
    fml = np.where(stance, side * ml * s1, 0.0)
    fml = np.where(is_walk, side * ml * np.sin(np.pi * u), fml)

    # Horizontal forces that change speed and heading act through the feet: spread over contact with
    # the same half-sine weight (mean 1 over the step) when running, evenly when walking.
    weight = np.where(stance, np.pi * T / (2 * Tc) * s1, 0.0) + is_walk
    v = tl.speed_profile(t)
    dv = tl.speed_profile.derivative(t)
    omega_h = tl.heading_profile.rate(t)
    fap = fap + weight * dv / G
    fml = fml - weight * v * omega_h / G
    f_h = np.column_stack([fv, fml, fap]) * G

    # --- pelvis angles --------------------------------------------------------------------------------
    D = per_step(tl.drop_deg) * in_step
    tpk = per_step(tl.drop_peak_s)
    # Walking: the swing side drops from level at contact to D and comes back by the next contact.
    drop_val, drop_der = _bump(tau, tpk, T)
    phi = side * D * drop_val
    phi_dot = side * D * drop_der
    # Running: the roll of the motion capture (running_roll); exactly D from contact to the peak.
    # A bout starts and ends level: its first step rolls in from 0, its last one back to 0.
    if tl.n_steps:
        b = tl.bout
        first_of_bout = np.r_[True, b[1:] != b[:-1]][k]
        last_of_bout = np.r_[b[1:] != b[:-1], True][k]
    else:
        first_of_bout = last_of_bout = np.zeros(n, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):  # only running steps' values are kept
        r_val, r_der = running_roll(tau, tpk, np.where(is_run, Tc, T), T, D, first_of_bout, last_of_bout)
    phi = np.where(is_run, side * r_val, phi) * DEG
    phi_dot = np.where(is_run, side * r_der, phi_dot) * DEG

    def lean(tt):  # roll into a turn so that the mean force passes through the centre of mass
        return -np.arctan(tl.speed_profile(tt) * tl.heading_profile.rate(tt) / G)

    if tl.heading_profile.turns:
        h = 1e-3
        phi = phi + lean(t)
        phi_dot = phi_dot + (lean(t + h) - lean(t - h)) / (2 * h)

    rs, re = per_step(tl.rot_start_deg), per_step(tl.rot_end_deg)
    psi = np.where(in_step, rs + (re - rs) * 0.5 * (1 - np.cos(np.pi * u)), 0.0) * DEG
    psi_dot = np.where(in_step, (re - rs) * 0.5 * np.pi / T * np.sin(np.pi * u), 0.0) * DEG

    P = per_step(tl.pitch_deg) * in_step
    theta = -P * np.sin(2 * np.pi * u) * DEG
    theta_dot = -P * 2 * np.pi / T * np.cos(2 * np.pi * u) * DEG

    # --- rotate into the body frame ------------------------------------------------------------------
    c_psi, s_psi = np.cos(psi), np.sin(psi)
    r_pitch_roll = rot_ml(theta) @ rot_pa(phi)  # (n, 3, 3)
    # R = R_is(psi) @ r_pitch_roll; f_body = R^T f_h = r_pitch_roll^T (R_is(psi)^T f_h)
    f_yaw = np.column_stack(
        [f_h[:, 0], c_psi * f_h[:, 1] + s_psi * f_h[:, 2], -s_psi * f_h[:, 1] + c_psi * f_h[:, 2]]
    )
    acc = np.einsum("nji,nj->ni", r_pitch_roll, f_yaw)

    # omega_body = R_pa^T R_ml^T [psi_dot_total, 0, 0] + R_pa^T [0, theta_dot, 0] + [0, 0, phi_dot]
    psi_dot_total = psi_dot + omega_h
    c_th, s_th, c_ph, s_ph = np.cos(theta), np.sin(theta), np.cos(phi), np.sin(phi)
    # R_ml(theta)^T e_is * w = w (c_th, 0, s_th); then R_pa(phi)^T (x, y, z) = (c x + s y, -s x + c y, z)
    wx, wz = psi_dot_total * c_th, psi_dot_total * s_th
    gyr = np.column_stack([c_ph * wx + s_ph * theta_dot, -s_ph * wx + c_ph * theta_dot, wz + phi_dot]) / DEG

    out = {
        "acc": acc,
        "gyr": gyr,
        "obliquity_deg": phi / DEG,
        "rotation_deg": psi / DEG,
        "pitch_deg": theta / DEG,
        "heading_deg": tl.heading_profile.heading(t) / DEG,
        "step": np.where(in_step, k, -1),
        "in_contact": ~in_step | ~is_run | stance,
        "speed_mps": np.where(in_step, v, 0.0),
    }
    if wobble is not None and wobble.wobble_g != 0:
        w = 2 * np.pi * wobble.wobble_hz
        td = wobble.wobble_decay_s
        # d/dtau [exp(-tau/td) sin(w tau)] / w: starts at 1, zero integral over the step.
        osc = np.exp(-tau / td) * (np.cos(w * tau) - np.sin(w * tau) / (w * td))
        wob = np.where(is_run, wobble.wobble_g * G * osc, 0.0)
        out["wobble"] = np.column_stack([wob, np.zeros(n), np.zeros(n)])
    return out
