"""Mounting alignment: the rotation from the clip's sensor frame to the pelvis body frame.

The clip can sit tilted, on the back or the side of the waistband, or upside down. The vertical axis
comes from gravity; the forward axis from the gait itself: the horizontal direction along which the
pelvis brakes and propels once per step, signed by the mechanics of the gait (running brakes while the
vertical force rises, walking slows while the pelvis rises).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy import signal

from hipsense.conventions import (
    R_BODY_FROM_SENSOR_DEFAULT,
    SENSOR_ACC,
    SENSOR_GYR,
    G,
)
from hipsense.errors import HipsenseError
from hipsense.gait.base import Algorithm
from hipsense.gait.bouts import checked_rate
from hipsense.gait.filters import every_nth, zero_phase

#: Named mountings a user can state instead of letting hipsense estimate one. Rows: body axes
#: (is, ml, pa) in sensor coordinates.
KNOWN_MOUNTINGS: dict[str, np.ndarray] = {
    "back": R_BODY_FROM_SENSOR_DEFAULT,
    # Board facing away from the body on the left hip: sensor z points left, x up.
    "side-left": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]),
    "side-right": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),
    # On the back, turned 180 degrees about the forward axis.
    "back-upside-down": np.array([[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]]),
}


class AlignmentError(HipsenseError):
    """The data do not allow a mounting estimate (too short, no movement, no gravity)."""


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


#: Rows of the recording converted to float64 at a time (a few MB per column).
PASS_ROWS = 1 << 20


def _f64(columns: list[np.ndarray], a: int, b: int) -> list[np.ndarray]:
    """Rows ``[a, b)`` of each column as float64 (the recording's columns are float32)."""
    return [c[a:b].astype(np.float64) for c in columns]


def _sos(order: int, cut: float | tuple[float, float], fs: float, btype: str) -> np.ndarray:
    """A Butterworth design, made once per process; each caller gets its own copy (scipy's filters
    want a writable one)."""
    return _design(order, cut, fs, btype).copy()


@functools.lru_cache(maxsize=16)
def _design(order: int, cut: float | tuple[float, float], fs: float, btype: str) -> np.ndarray:
    return signal.butter(
        order, list(cut) if isinstance(cut, tuple) else cut, btype=btype, fs=fs, output="sos"
    )


def _zero_phase_columns(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``sosfiltfilt(sos, x, axis=0)``: scipy filters each column alone, so :func:`zero_phase` of each
    column gives the same floats, in about half the time."""
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        out[:, j] = zero_phase(sos, x[:, j])
    return out


def _vertical(acc: list[np.ndarray], up: np.ndarray) -> np.ndarray:
    """The acceleration along ``up``, summed in the order :func:`~hipsense.gait.body_frame.to_body_frame` sums ``acc_is``; in
    float64 whatever the columns' dtype (a float32 value is exact in float64: the same products)."""
    vertical = np.multiply(acc[0], up[0], dtype=np.float64)
    vertical += np.multiply(acc[1], up[1], dtype=np.float64)
    vertical += np.multiply(acc[2], up[2], dtype=np.float64)
    return vertical


def _blocks(x: np.ndarray, q: int) -> np.ndarray:
    """Means of consecutive blocks of ``q`` samples (the tail that fills no block left out).

    ``reshape(-1, q).mean(axis=1)``, bit for bit: numpy sums a row of fewer than 8 values one after
    the other from +0.0, which strided adds repeat about 9x faster (``+ 0.0`` makes a sum of -0.0s
    +0.0 as numpy's does); longer rows are summed pairwise, so they keep numpy's ``mean``.
    """
    rows = x[: len(x) // q * q].reshape(-1, q)
    if q >= 8:
        return rows.astype(np.float64, copy=False).mean(axis=1)
    out = np.add(rows[:, 0], 0.0, dtype=np.float64)  # float64 sums of float32 columns too
    for j in range(1, q):
        out += rows[:, j]
    out /= q
    return out


class _Rotation:
    """Small-angle rotation (rad, per axis) of the sensor from its mean orientation, window by window.

    The gyroscope at ~50 Hz (block means), integrated and high-passed at 0.3 Hz (bias and slow turns
    removed); for the few degrees the pelvis moves, a vector in the mean orientation is
    ``v + theta x v`` to first order. The median and the integral up to each window's start are
    taken over the whole recording first, one column at a time.
    """

    def __init__(self, gyr: list[np.ndarray], q: int, m: int, fs_q: float, starts: list[int]) -> None:
        self.gyr, self.q, self.fs_q = gyr, q, fs_q
        self.sos = _sos(2, 0.3, fs_q, "high")
        self.median = np.empty(3)
        self.before = np.zeros((len(starts), 3))  # the integral (not yet / fs) before each window
        at, step = np.asarray(starts, dtype=np.int64), q * max(PASS_ROWS // q, 1)
        for j, g in enumerate(gyr):  # block means of whole blocks, a pass of the float32 column at a time
            col = np.concatenate([_blocks(g[a : min(a + step, m * q)], q) for a in range(0, m * q, step)])
            self.median[j] = np.median(col)
            col -= self.median[j]  # in place: the column is this loop's own
            total = np.cumsum(np.radians(col, out=col), out=col)
            self.before[at > 0, j] = total[at[at > 0] - 1]

    def window(self, w: int, lo: int, hi: int) -> np.ndarray:
        g = np.column_stack([_blocks(x[lo * self.q : hi * self.q], self.q) for x in self.gyr])
        g -= self.median  # in place: g is this window's own
        integral = np.cumsum(np.radians(g, out=g), axis=0, out=g)
        integral += self.before[w]
        integral /= self.fs_q
        return _zero_phase_columns(self.sos, integral)


#: Shortest recording the mounting is estimated from, and the least walking or running in it: a few
#: strides give the forward direction (a 5-s treadmill trial holds about 14); the confidence says how
#: well the stretch agrees with itself.
MIN_ALIGN_S = 4.0
MIN_GAIT_S = 3.0


class MountingAligner(Algorithm):
    """Estimate the rotation from the sensor frame to the pelvis body frame ``(is, ml, pa)``.

    Method: the vertical (``is``) is the direction of the mean specific force, which over whole steps
    equals +1 g upward whatever the gait (the vertical impulse balances body weight; Moe-Nilssen 1998
    tilt-corrects trunk accelerometry on the same principle). Forward comes from the cross-covariance of
    the horizontal acceleration (0.5-10 Hz) with a vertical cue, over the running bouts (or walking when
    there is no running): the braking-propulsion cycle repeats every step and is locked to the vertical
    loading, while the mediolateral push flips sign from foot to foot and averages out, so the vector
    points along the anterior-posterior axis. Its sign follows from the gait's mechanics: in running
    (spring-mass) the pelvis brakes while the vertical force rises, so the cue is the vertical jerk; in
    walking (inverted pendulum, Zijlstra & Hof 2003) it slows while rising over the stance leg, so the
    cue is the vertical velocity. With a gyroscope, every sample is first expressed in the pelvis's mean
    orientation (the integrated rotation, high-passed at 0.3 Hz, undone to first order), so the per-foot
    yaw and roll of the pelvis do not turn the estimate when the feet differ. ``ml = pa x is`` completes
    the right-handed frame.

    Data requirements: sensor-frame ``acc_x, acc_y, acc_z`` in m/s^2 (gyroscope optional, rotated
    along), at least MIN_ALIGN_S (4 s) holding MIN_GAIT_S (3 s) of walking or running. Standing only
    gives the vertical, not forward.

    Parameters
    ----------
    mounting
        ``None`` to estimate; a name from :data:`KNOWN_MOUNTINGS`; or an explicit 3x3 rotation
        (rows: body axes in sensor coordinates).

    Attributes
    ----------
    r_body_from_sensor_
        The rotation, ``body = R @ sensor``.
    confidence_
        0 to 1: the weaker of the gravity cue (window-to-window spread of the vertical, and how close
        its magnitude is to 1 g) and the forward cue (strength of the correlation, and the share of
        10-s windows that agree); 1 for an explicit mounting.
    bouts_
        The activity bouts found on the vertical (``None`` for an explicit mounting); the same as
        :class:`~hipsense.gait.bouts.ActivityBoutDetector` gives on the aligned ``acc_is``.
    diagnostics_
        The cues behind the confidence: ``tilt_deg`` (angle of the sensor x axis from vertical),
        ``gravity_g``, ``gravity_spread_deg``, ``gait`` (``run`` or ``walk``), ``anisotropy`` (forward
        over sideways variance, for inspection), ``sign_correlation``, ``window_agreement``, ``method``.

    Notes
    -----
    Deviation from the references: they tilt-correct only; the forward direction and its sign from the
    gait-dependent cue are ours, checked on simulated mountings, on the public treadmill running
    recordings and on 110 real walking trials (see docs/validation.md).

    References
    ----------
    Moe-Nilssen R. (1998) A new method for evaluating motor control in gait under real-life environmental
    conditions. Part 1: The instrument. Clin Biomech 13(4-5):320-327. doi:10.1016/S0268-0033(98)00089-8
    Zijlstra W., Hof A.L. (2003) Assessment of spatio-temporal gait parameters from trunk accelerations
    during human walking. Gait Posture 18(2):1-10. doi:10.1016/S0966-6362(02)00190-X
    """

    _action_method = "estimate"

    def __init__(self, *, mounting: str | np.ndarray | None = None) -> None:
        self.mounting = mounting

    def estimate(self, data: pd.DataFrame, *, sampling_rate_hz: float) -> MountingAligner:
        if self.mounting is not None:
            r = self._explicit()
            self.r_body_from_sensor_ = r
            self.confidence_ = 1.0
            self.bouts_ = None
            self.diagnostics_ = {
                "method": "explicit",
                "tilt_deg": float(np.degrees(np.arccos(np.clip(r[0, 0], -1, 1)))),
            }
            return self
        missing = [c for c in SENSOR_ACC if c not in data.columns]
        if missing:
            raise AlignmentError(f"alignment needs sensor-frame columns {', '.join(missing)}")
        # The recording's own columns as they are (float32), converted to float64 a pass or a window
        # at a time: a float64 copy of a 10 h session's six columns is 360 MB.
        acc = [data[c].to_numpy() for c in SENSOR_ACC]
        # the activity bouts it finds need this range too; far below it the gravity windows are empty
        fs = checked_rate(sampling_rate_hz, "alignment", AlignmentError)
        gyr = [data[c].to_numpy() for c in SENSOR_GYR] if all(c in data for c in SENSOR_GYR) else None
        n = len(acc[0])
        if n < MIN_ALIGN_S * fs:
            raise AlignmentError(
                f"only {n / fs:.1f} s of data, too little to find the mounting from (at least "
                f"{MIN_ALIGN_S:g} s): give the mounting explicitly"
            )

        # Vertical from gravity, checked window by window for consistency (5-s windows, or halves of
        # a shorter recording).
        win = int(min(5 * fs, n // 2))
        n_win = n // win
        means, total, step = np.empty((n_win, 3)), np.zeros(3), win * max(PASS_ROWS // win, 1)
        for a in range(0, n, step):
            k = max(min(a + step, n_win * win) - a, 0) // win
            for j, x in enumerate(_f64(acc, a, a + step)):
                total[j] += x.sum()
                means[a // win : a // win + k, j] = x[: k * win].reshape(k, win).mean(axis=1)
        mean = total / n
        up = _unit(mean)
        spread = np.degrees(
            np.arccos(np.clip((means / np.linalg.norm(means, axis=1, keepdims=True)) @ up, -1, 1))
        )
        gravity_g = float(np.linalg.norm(mean) / G)

        # _vertical's sums, each product straight from the float32 column into float64 (no copies)
        vertical, product = np.empty(n), np.empty(min(n, PASS_ROWS))
        for a in range(0, n, PASS_ROWS):
            v = vertical[a : a + PASS_ROWS]
            np.multiply(acc[0][a : a + PASS_ROWS], up[0], out=v, dtype=np.float64)
            for j in (1, 2):
                np.multiply(acc[j][a : a + PASS_ROWS], up[j], out=product[: len(v)], dtype=np.float64)
                v += product[: len(v)]
        del product, v  # v is a view: kept, it would keep the whole vertical alive after its del
        from hipsense.gait.bouts import (
            ActivityBoutDetector,
            overlapping,
        )  # local: bouts imports nothing from here

        vertical_frame = pd.DataFrame({"acc_is": vertical}, copy=False)  # pandas copies a dict's arrays
        bouts = ActivityBoutDetector().detect(vertical_frame, sampling_rate_hz=fs).bouts_
        del vertical_frame
        del vertical
        self.bouts_ = bouts  # the vertical is the body frame's acc_is: the pipeline reuses these bouts
        # Per bout, then per sample: no array of a label per sample to compare (15 ms for an hour).
        activity, samples = bouts["activity"].to_numpy(), (bouts["end"] - bouts["start"]).to_numpy()
        run, walk = np.repeat(activity == "run", samples), np.repeat(activity == "walk", samples)
        if run.sum() >= 10 * fs:
            gait, mask = "run", run
        elif walk.sum() >= 10 * fs:
            gait, mask = "walk", walk
        elif (run | walk).sum() >= MIN_GAIT_S * fs:
            gait, mask = ("run", run) if run.sum() >= walk.sum() else ("walk", walk)
        elif (run | walk).any():
            raise AlignmentError(
                f"only {(run | walk).sum() / fs:.1f} s of walking or running, too little to tell forward "
                "from sideways: give the mounting explicitly"
            )
        else:  # a mounting would not help: say what the recording holds
            found = ", ".join(sorted(set(activity))) or "nothing"
            raise AlignmentError(f"no running or walking found (activities: {found})")

        # Everything from here is judged at ~50 Hz: the cues lie below 10 Hz, and averaging blocks of
        # q samples treats horizontal and vertical alike, so their covariance is kept. It runs window
        # by window (bouts.overlapping: 10-min cores, 30 s of context), keeping the gait's samples only.
        q = every_nth(fs, 50)
        m = n // q
        fs_q = fs / q
        mask = mask[: m * q : q].copy()
        del run, walk
        windows = overlapping(m, fs_q)
        # With a gyroscope, express every sample in the pelvis's mean orientation first: the pelvis yaws
        # and rolls with each stance, so each foot's braking would appear turned its own way and each
        # roll would tip gravity sideways, which no longer cancels when the feet differ.
        rotation = _Rotation(gyr, q, m, fs_q, [w[0] for w in windows]) if gyr is not None else None
        sos = _sos(2, (0.5, min(10.0, 0.45 * fs_q)), fs_q, "band")
        high = _sos(2, 0.5, fs_q, "high")
        horiz, cue = np.empty((int(mask.sum()), 3)), np.empty(int(mask.sum()))
        kept, rising = 0, 0.0  # gait samples so far; the vertical's running sum (walking's cue)
        for w, (lo, hi, a, b) in enumerate(windows):
            raw = [x[lo * q : hi * q] for x in acc]  # float32 views: _vertical and _blocks sum in float64
            vert_q, steady = _blocks(_vertical(raw, up), q), np.column_stack([_blocks(x, q) for x in raw])
            del raw
            if rotation is not None:
                steady = steady + np.cross(rotation.window(w, lo, hi), steady)
            both = _zero_phase_columns(sos, np.column_stack([steady - np.outer(vert_q, up), vert_q]))
            vert_f = both[:, 3]
            if gait == "run":
                # Spring-mass: the pelvis brakes while the vertical force rises after contact.
                cue_w = np.gradient(vert_f, 1 / fs_q)
            else:
                # Inverted pendulum: the pelvis slows while it rises over the stance leg (the running
                # sum carried from the windows before, which the high-pass makes immaterial but for
                # rounding).
                start = rising - vert_f[: a - lo].sum() if lo else 0.0
                cue_w = zero_phase(high, (start + np.cumsum(vert_f)) / fs_q)
                rising = start + vert_f[: b - lo].sum()
            core = slice(a - lo, b - lo)
            sel = mask[a:b]
            take = int(sel.sum())
            horiz[kept : kept + take] = both[core, :3][sel]
            cue[kept : kept + take] = cue_w[core][sel]
            kept += take
        # Cross-covariance of the horizontal acceleration with the cue: mediolateral sway alternates
        # sign every step and averages out, so the vector points along the anterior-posterior axis,
        # backward (braking coincides with a positive cue).
        cov = (horiz * cue[:, None]).mean(axis=0)
        fwd = _unit(-(cov - (cov @ up) * up))
        along = horiz @ fwd
        corr = float(-(along * cue).mean() / (along.std() * cue.std()))
        # Consistency: the same estimate on 10-s windows should agree with the whole.
        size = int(10 * fs_q)
        n_chunks = max(kept // size, 1)
        per_sample = along * cue
        chunk_cov = (
            per_sample[: n_chunks * size].reshape(n_chunks, -1).mean(axis=1)
            if kept >= size
            else per_sample.mean(keepdims=True)
        )
        agree = float(np.mean(chunk_cov < 0))
        right = np.cross(fwd, up)
        r = np.vstack([up, right, fwd])

        # Share of horizontal variance along forward: low when the estimate rests on little.
        anisotropy = float(along.var() / max(np.var(horiz @ right), 1e-12))
        c_gravity = float(
            np.clip(1 - np.median(spread) / 20.0, 0, 1) * np.clip(1 - abs(gravity_g - 1) / 0.3, 0, 1)
        )
        c_sign = float(np.clip(corr / 0.3, 0, 1) * np.clip((agree - 0.5) / 0.4, 0, 1))
        self.r_body_from_sensor_ = r
        self.confidence_ = min(c_gravity, c_sign)
        self.diagnostics_ = {
            "method": "estimated",
            "tilt_deg": float(np.degrees(np.arccos(np.clip(up[0], -1, 1)))),
            "gravity_g": gravity_g,
            "gravity_spread_deg": float(np.median(spread)),
            "gait": gait,
            "anisotropy": anisotropy,
            "sign_correlation": corr,
            "window_agreement": float(agree),
        }
        return self

    def _explicit(self) -> np.ndarray:
        if isinstance(self.mounting, str):
            if self.mounting not in KNOWN_MOUNTINGS:
                raise AlignmentError(
                    f"unknown mounting {self.mounting!r}: use one of {', '.join(KNOWN_MOUNTINGS)} or a 3x3 rotation"
                )
            return KNOWN_MOUNTINGS[self.mounting]
        r = np.asarray(self.mounting, dtype=float)
        if r.shape != (3, 3) or not np.allclose(r @ r.T, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0:
            raise AlignmentError("an explicit mounting must be a 3x3 proper rotation matrix")
        return r
