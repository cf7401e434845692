"""Per-step metrics from body-frame signals and step events (contract: the step table's columns).

Every metric is defined in docs/metrics.md with the paper behind it. All computations are vectorised
over steps with the segment helpers in :mod:`hipsense.gait.filters`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import signal

from hipsense.conventions import G
from hipsense.gait.filters import lowpass, segment_argext, segment_ids

#: Columns of the step table, in order (contract).
STEP_COLUMNS = (
    "bout",
    "side",
    "ic_s",
    "to_s",
    "step_time_s",
    "contact_time_s",
    "flight_time_s",
    "cadence_spm",
    "impact_g",
    "loading_rate_g_per_s",
    "braking_g",
    "pelvic_drop_deg",
    "pelvic_rotation_deg",
    "vertical_oscillation_cm",
    "quality",
)

#: Early stance, where the impact peak is searched: 60 ms or the whole contact if shorter.
IMPACT_WINDOW_S = 0.06
#: Steps longer than this many typical steps are not one step (a missed contact or a pause).
MAX_STEP_FACTOR = 1.6
#: Longer than any running stance (about 0.15-0.35 s): the landing into a stop, whose toe-off is
#: found only when the runner sets off again.
MAX_CONTACT_S = 0.6
#: High-pass for integrated angles: removes gyro bias drift and slow turns, keeps stride-rate motion.
ANGLE_HIGHPASS_HZ = 0.3


def _segment_mean(x: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    c = np.r_[0.0, np.cumsum(x)]
    return (c[ends] - c[starts]) / np.maximum(ends - starts, 1)


def integrated_angle(rate_dps: np.ndarray, fs: float) -> np.ndarray:
    """Angle (deg) from an angular rate (deg/s): integrated, then high-passed against drift."""
    sos = signal.butter(2, ANGLE_HIGHPASS_HZ, btype="high", fs=fs, output="sos")
    rate = signal.sosfiltfilt(sos, rate_dps - np.median(rate_dps))
    return signal.sosfiltfilt(sos, np.cumsum(rate) / fs)


def step_metrics(
    body: pd.DataFrame,
    ic: np.ndarray,
    to: np.ndarray,
    sides: np.ndarray,
    bout: np.ndarray,
    *,
    sampling_rate_hz: float,
    side_inferred: np.ndarray | None = None,
) -> pd.DataFrame:
    """Build the step table: one row per initial contact.

    Parameters
    ----------
    body
        Body-frame signals: ``acc_is`` (required), ``acc_pa``, ``gyr_is``, ``gyr_pa`` when present.
    ic, to
        Initial contact and toe-off of each step as (fractional) sample indices; ``to`` NaN when unknown.
    sides
        ``"L"``/``"R"`` per step.
    bout
        Bout number per step; a step's successor must be in the same bout to give a step time.
    side_inferred
        True where the side came from a neighbour, noted in ``quality``.
    """
    fs = float(sampling_rate_hz)
    n = len(body)
    ic = np.asarray(ic, dtype=float)
    to = np.asarray(to, dtype=float)
    k = len(ic)
    bout = np.asarray(bout)
    sign = np.where(np.asarray(sides) == "L", 1.0, -1.0)
    quality: list[list[str]] = [[] for _ in range(k)]

    def note(mask: np.ndarray, text: str) -> None:
        for i in np.flatnonzero(mask):
            quality[i].append(text)

    ic_s, to_s = ic / fs, to / fs
    next_ic = np.r_[ic[1:], np.nan]
    same_bout = np.r_[bout[1:] == bout[:-1], False]
    step_time = np.where(same_bout, (next_ic - ic) / fs, np.nan)
    typical = np.nanmedian(step_time) if np.isfinite(step_time).any() else np.nan
    too_long = step_time > MAX_STEP_FACTOR * typical
    step_time[too_long] = np.nan
    note(too_long, "next contact missing or a pause: no step time")
    note(~same_bout, "last step of its bout: no step time")
    contact = to_s - ic_s
    too_long = contact > MAX_CONTACT_S
    contact = np.where((contact > 0) & ~too_long, contact, np.nan)
    to_s = np.where(too_long, np.nan, to_s)
    note(~np.isfinite(to) & ~too_long, "no toe-off found")
    note(too_long, "landing into a stop: no toe-off within the step")
    flight = np.where(np.isfinite(step_time), step_time - contact, np.nan)
    flight = np.where(flight > 0, flight, np.nan)
    cadence = 60.0 / step_time

    # Step ranges in whole samples: [ic, next ic) or a typical step when the next is unknown.
    # First sample at or after the IC (a hair of tolerance so an IC on a sample is not pushed past it).
    start = np.clip(np.ceil(ic - 1e-6).astype(np.int64), 0, max(n - 1, 0))
    fallback = int(round((typical if np.isfinite(typical) else 0.35) * fs))
    end = np.where(np.isfinite(step_time), np.floor(next_ic), start + fallback)
    end = np.clip(np.nan_to_num(end).astype(np.int64), start + 1, n)
    stance_len = np.where(np.isfinite(contact), contact * fs, 0.4 * (end - start))
    stance_end = np.clip(start + np.maximum(np.round(stance_len).astype(np.int64), 1), start + 1, end)

    # Impact: peak vertical specific force within early stance; loading rate: its mean slope from IC.
    acc_is = body["acc_is"].to_numpy(dtype=float) / G
    early_end = np.minimum(stance_end, start + int(round(IMPACT_WINDOW_S * fs)) + 1)  # 60 ms included
    peak = segment_argext(acc_is, start, early_end, largest=True)
    impact = acc_is[peak]
    rise_s = (peak - ic) / fs
    loading = np.where(rise_s > 0.5 / fs, (impact - acc_is[start]) / np.maximum(rise_s, 1 / fs), np.nan)

    cols: dict[str, np.ndarray] = {}
    if "acc_pa" in body:
        acc_pa = lowpass(body["acc_pa"].to_numpy(dtype=float) / G, 20.0, fs)
        half = start + np.maximum((stance_end - start) // 2, 1)
        braking = -acc_pa[segment_argext(acc_pa, start, half, largest=False)]
    else:
        braking = np.full(k, np.nan)
        note(np.ones(k, bool), "no forward axis: no braking")

    if "gyr_pa" in body and "gyr_is" in body:
        obliquity = integrated_angle(body["gyr_pa"].to_numpy(dtype=float), fs)
        rotation = integrated_angle(body["gyr_is"].to_numpy(dtype=float), fs)
        # Contralateral drop: the obliquity's excursion from its value at contact toward the swing side.
        idx, owner = segment_ids(start, end)
        drop = np.full(k, -np.inf)
        np.maximum.at(drop, owner, sign[owner] * (obliquity[idx] - obliquity[start[owner]]))
        pelvic_rotation = sign * (rotation[np.minimum(end, n - 1)] - rotation[start])
        pelvic_rotation[~np.isfinite(step_time)] = np.nan
    else:
        drop = np.full(k, np.nan)
        pelvic_rotation = np.full(k, np.nan)
        note(np.ones(k, bool), "no gyroscope: no pelvic drop or rotation")

    # Vertical oscillation: vertical acceleration integrated twice over the step, the velocity made
    # zero-mean over the step (the pelvis is at the same height at both contacts), then the height range.
    vel = np.cumsum((acc_is - 1.0) * G) / fs
    idx, owner = segment_ids(start, end)
    v = vel[idx] - _segment_mean(vel, start, end)[owner]
    pos = np.cumsum(v) / fs
    pos = pos - pos[np.r_[0, np.cumsum(end - start)[:-1]]][owner]
    hi = np.full(k, -np.inf)
    lo = np.full(k, np.inf)
    np.maximum.at(hi, owner, pos)
    np.minimum.at(lo, owner, pos)
    osc = np.where(np.isfinite(step_time), (hi - lo) * 100.0, np.nan)

    if side_inferred is not None:
        note(np.asarray(side_inferred, bool), "side inferred from neighbours")
    cols.update(
        bout=bout,
        side=np.asarray(sides),
        ic_s=ic_s,
        to_s=to_s,
        step_time_s=step_time,
        contact_time_s=contact,
        flight_time_s=flight,
        cadence_spm=cadence,
        impact_g=impact,
        loading_rate_g_per_s=loading,
        braking_g=braking,
        pelvic_drop_deg=drop,
        pelvic_rotation_deg=pelvic_rotation,
        vertical_oscillation_cm=osc,
        quality=np.array(["; ".join(q) for q in quality], dtype=object),
    )
    return pd.DataFrame({c: cols[c] for c in STEP_COLUMNS})
