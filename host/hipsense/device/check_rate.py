"""The output rate of ``hipsense device check`` (docs/device-check.md): the clip's real sample rate
from the laptop arrival times of its live packets, and how far that figure may be off.

Pure functions of numbers the check already bounded (:class:`~hipsense.device.check_rows.LiveSamples`);
the row built from them is :func:`hipsense.device.check_rows.rate_row`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: the rate fit expects the stream to catch up (a packet arriving promptly) at least once this often (s)
CATCH_UP_S = 1.0
#: the fewest seconds of arrivals the rate is fitted to (more than 2 windows: the bound divides by T - 2 W)
MIN_SPAN_S = 5.0


def _envelope(x: np.ndarray, y: np.ndarray) -> float | None:
    """Slope of the line below every point (x, y) that runs closest to them: the lower envelope.

    The linear programme of Moon, Skelly and Towsley (1999), "Estimation and removal of clock skew
    from network delay measurements", IEEE INFOCOM, doi:10.1109/INFCOM.1999.752155: maximise the
    line's mean height subject to lying below every point.
    """
    from scipy.optimize import linprog

    res = linprog(
        c=[-1.0, -float(x.mean())],
        A_ub=np.column_stack([np.ones_like(x), x]),
        b_ub=y,
        bounds=[(None, None), (None, None)],
        method="highs",
    )
    return float(res.x[1]) if res.status == 0 else None


class RateFit(NamedTuple):
    """The measured rate: Hz, ppm against the header's rate, and how far that may be off.

    ``se_ppm`` is the bootstrap standard error of the envelope; ``behind_s`` the longest the stream
    stayed behind (the largest gap, in any second of arrivals, between the envelope and the quickest
    packet); ``bound_ppm`` the +- the check states: twice ``se_ppm`` or the tilt ``behind_s`` allows,
    whichever is larger.
    """

    hz: float
    ppm: float
    se_ppm: float
    behind_s: float
    bound_ppm: float


def fit_rate(arrival: np.ndarray, end_index: np.ndarray, nominal_hz: float) -> RateFit | None:
    """The clip's real sample rate from live packet arrival times, with an honest bound (ppm).

    A packet arrives some time after its last sample was taken: never earlier, often later (the
    sampler drains the IMU's FIFO in batches; the USB link and the laptop add delays). So the rate
    comes from the lower envelope of arrival time against sample index (:func:`_envelope`), whose
    slope is one over the rate. Its spread over 40 bootstrap resamples of the packets is the
    standard error. That error assumes some packets arrive promptly all along; a busy laptop (or
    clip) can instead keep every packet late by tens of milliseconds for seconds at a time. A stream
    late by ``L`` from its start to a fraction ``a >= 1/2`` of its span ``T`` (and prompt after; the
    envelope maximises its height at the middle, so a shorter late stretch does not tilt it) tilts the
    envelope by ``L / (a T) <= 2 L / T``. So the stream is cut into windows of :data:`CATCH_UP_S`
    (``W``) of arrival time, and ``F`` is the largest height of a window's quickest packet above the
    envelope: the lateness seen. The late stretch may end inside a window, where the prompt packets
    hide it, so ``F`` may fall short of ``L`` by the tilt over one window, and the bound of that model
    is ``2 F / (T - 2 W)``. The stated bound is the larger of that and twice the standard error. It is
    a model, not a guarantee: a stream falling steadily further behind looks like a slower clip. None
    when fewer than 5 s or 10 packets were seen, or the rate is not within half to twice the header's.
    """
    if len(arrival) < 10 or not (np.all(np.isfinite(arrival)) and arrival[-1] - arrival[0] >= MIN_SPAN_S):
        return None
    x = (end_index - end_index[0]).astype(np.float64)
    y = arrival - arrival[0]
    slope = _envelope(x, y)
    if slope is None or not slope > 0:
        return None
    hz = 1.0 / slope
    if not 0.5 * nominal_hz < hz < 2 * nominal_hz:  # no envelope of a working stream is this far off
        return None
    rng = np.random.default_rng(0)
    boot = []
    for _ in range(40):
        pick = np.sort(rng.integers(0, len(x), len(x)))
        b = _envelope(x[pick], y[pick])
        if b is not None and b > 0:
            boot.append(b)
    se = float(np.std(boot) / slope * 1e6) if len(boot) > 2 else float("nan")
    height = y - slope * x
    height -= height.min()  # the envelope's intercept: its lowest point touches
    window = np.floor(y / CATCH_UP_S).astype(np.int64)
    quickest = np.full(int(window[-1]) + 1, np.inf)
    np.minimum.at(quickest, window, height)
    behind = float(np.max(quickest[np.isfinite(quickest)]))
    tilt_ppm = 2 * behind / (y[-1] - 2 * CATCH_UP_S) * 1e6
    bound = max(2 * se, tilt_ppm) if np.isfinite(se) else tilt_ppm
    return RateFit(hz, (hz / nominal_hz - 1) * 1e6, se, behind, float(bound))
