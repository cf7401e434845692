"""Which foot is on the ground: the side of every step, decided step by step."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import signal

from hipsense.errors import HipsenseError


class SideDetector:
    """Assign ``"L"`` or ``"R"`` to each step from the pelvis's own movement during that step.

    Each step (from one initial contact to the next) gets a score whose sign says the side, following
    the sign conventions (docs/conventions.md):

    - with a gyroscope: in left-foot stance the right hip swings forward (``gyr_is > 0``) and drops
      (``gyr_pa > 0`` while loading); in right-foot stance both are negative. The score is the mean of
      the low-passed ``gyr_is`` over the step plus the mean ``gyr_pa`` over its first 40 %, each
      normalised by its spread. This is the pelvis-yaw principle of McCamley et al. (2012), with the
      frontal-plane drop added because running has more of it than walking.
    - accelerometer only: the ground pushes the pelvis back toward the midline, to the right in
      left-foot stance (``acc_ml > 0``), so the score is the mean low-passed ``acc_ml`` over the step.
    - neither ``acc_ml`` nor a gyroscope: sides cannot be told apart; steps alternate from an arbitrary
      start and ``source_`` says so.

    Because every step is scored on its own signal, a missed or extra step does not flip the sides of
    the steps after it. Only steps with a weak score (below ``min_confidence`` of the typical one) take
    their side from a confident neighbour by alternation, and only across a normal step time.

    Data requirements: body-frame data after alignment: ``gyr_is`` and ``gyr_pa`` (deg/s), or
    ``acc_ml`` (m/s^2); initial contacts as sample indices.

    Parameters
    ----------
    lowpass_hz
        Low-pass cut-off for the side signals (the stride-frequency content is kept).
    min_confidence
        Scores weaker than this fraction of the median absolute score count as ambiguous.

    Attributes
    ----------
    sides_
        ``"L"``/``"R"`` per initial contact (the foot that lands at it).
    score_
        The signed score per step (positive: left).
    confidence_
        ``|score|`` relative to the median ``|score|``.
    source_
        ``"gyroscope"``, ``"acc_ml"`` or ``"alternation"``.
    inferred_
        True where the side came from a neighbour, not from the step's own signal.

    References
    ----------
    McCamley J., Donati M., Grimpampi E., Mazza C. (2012) An enhanced estimate of initial contact and
    final contact instants of time using lower trunk inertial sensor data. Gait Posture 36(2):316-318.
    doi:10.1016/j.gaitpost.2012.02.019
    """

    def __init__(self, *, lowpass_hz: float = 3.0, n_phases: int = 10, min_confidence: float = 0.25) -> None:
        self.lowpass_hz = lowpass_hz
        self.n_phases = n_phases
        self.min_confidence = min_confidence

    def detect(self, data: pd.DataFrame, ic: np.ndarray, *, sampling_rate_hz: float) -> SideDetector:
        fs = float(sampling_rate_hz)
        ic = np.asarray(ic, dtype=np.int64)
        n = len(data)
        if len(ic) and (ic.min() < 0 or ic.max() >= n):
            raise HipsenseError("initial contacts lie outside the data")
        bounds = np.r_[ic, n] if len(ic) else np.array([n])
        if len(ic) == 0:
            self._store(np.array([]), np.array([]), "alternation")
            return self

        step_len = np.diff(bounds)
        # Each step's profile: the side signals sampled at fixed phases of the step (capped at 1 s so a
        # pause does not stretch it), each signal scaled by its spread.
        length = np.minimum(step_len, int(round(1.0 * fs)))
        phases = (np.arange(self.n_phases) + 0.5) / self.n_phases
        at = np.minimum(ic[:, None] + (phases[None, :] * length[:, None]).astype(np.int64), n - 1)
        early = phases < 0.25  # loading: first half of stance in running, loading response in walking

        sos = signal.butter(2, self.lowpass_hz, fs=fs, output="sos")

        def lowpassed(col: str) -> np.ndarray:
            x = data[col].to_numpy(dtype=float)
            x = x - np.median(x)
            x = signal.sosfiltfilt(sos, x) if n > 15 else x
            return x / _spread(x)

        columns = set(data.columns)
        if {"gyr_is", "gyr_pa"} <= columns:
            yaw, roll = lowpassed("gyr_is")[at], lowpassed("gyr_pa")[at]
            # Physical rule (conventions): left stance -> right hip forward (gyr_is > 0) and dropping
            # while loading (gyr_pa > 0).
            score = yaw.mean(axis=1) + roll[:, early].mean(axis=1)
            source = "gyroscope"
        elif "acc_ml" in columns:
            score = lowpassed("acc_ml")[at].mean(axis=1)  # left stance pushes the pelvis to the right
            source = "acc_ml"
        else:
            self._store(np.where(np.arange(len(ic)) % 2 == 0, 1.0, -1.0) * 1e-9, step_len, "alternation")
            return self
        self._store(score, step_len, source)
        return self

    def _store(self, score: np.ndarray, step_len: np.ndarray, source: str) -> None:
        k = len(score)
        typical = np.median(np.abs(score)) if k else 1.0
        conf = np.abs(score) / typical if typical > 0 else np.zeros(k)
        left = score > 0
        inferred = np.zeros(k, dtype=bool)
        if source == "alternation":
            inferred[:] = True
        elif k:
            weak = np.flatnonzero(conf < self.min_confidence)
            normal = step_len < 1.5 * np.median(step_len)
            for i in weak:  # few by construction; the loop is over ambiguous steps only
                if i > 0 and conf[i - 1] >= self.min_confidence and normal[i - 1]:
                    left[i], inferred[i] = not left[i - 1], True
                elif i + 1 < k and conf[i + 1] >= self.min_confidence and normal[i]:
                    left[i], inferred[i] = not left[i + 1], True
        self.score_ = score
        self.confidence_ = conf
        self.sides_ = np.where(left, "L", "R")
        self.source_ = source
        self.inferred_ = inferred


def _spread(x: np.ndarray) -> float:
    """A robust scale (median absolute value), never zero."""
    s = float(np.median(np.abs(x))) if len(x) else 0.0
    return s if s > 0 else 1.0
