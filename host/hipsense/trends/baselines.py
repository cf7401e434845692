"""Personal baselines: what is usual for this runner, from their own previous sessions."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

#: The median of |x_t - x_t-1| of independent normal values is sqrt(2) x 0.6745 standard deviations.
MEDIAN_MOVING_RANGE_TO_SD = 0.9539


class PersonalBaseline:
    """Rolling robust baseline of per-session values: median and run-to-run spread of previous sessions.

    For every session, the baseline of a column is the median of that column over the ``n_sessions``
    sessions before it (the session itself is never part of its own baseline). Its spread is the median
    of the absolute changes from one session to the next in that window, scaled to a standard deviation
    (divided by 0.954, its value for independent normal values), never below the column's ``floor``
    (the measurement's own noise floor: a change smaller than what the clip can resolve is not a change).
    Fewer than ``min_sessions`` finite values give no baseline (NaN).

    Why session-to-session changes and not the median absolute deviation (MAD) around the median: both
    are robust to the odd unusual run, but a slow drift inside the window (the very thing a baseline is
    there to reveal) inflates the MAD and so hides itself, while it barely moves the typical change from
    one run to the next. This is the moving-range estimate of individuals control charts, made robust
    with a median (Rousseeuw & Croux 1993 discuss the MAD's efficiency and alternatives).

    Parameters
    ----------
    n_sessions
        How many previous sessions make the baseline (default 12: about four weeks at three runs a week).
    min_sessions
        Fewest finite values before any baseline exists.
    k
        Width of the band a value must leave to count as a change, in spreads: ``band = median +- k x
        spread``.
    floors
        Smallest spread per column (column -> value in the column's unit); columns not named get 0.

    Attributes
    ----------
    baseline_, spread_, count_
        One row per session, one column per input column.
    lower_, upper_
        The band ``baseline_ -+ k x spread_``.

    Notes
    -----
    Data requirements: sessions in time order, one row each; NaN where a value is missing.
    The median is robust to the odd bad session (a 50 % breakdown point), so one unusual run moves the
    baseline little; a lasting change moves it within about ``n_sessions / 2`` sessions, which is why
    flags compare the newest sessions with it rather than waiting for it to settle.

    References
    ----------
    Rousseeuw P.J., Croux C. (1993) Alternatives to the median absolute deviation. J Am Stat Assoc
    88(424):1273-1283. doi:10.1080/01621459.1993.10476408
    """

    def __init__(
        self,
        n_sessions: int = 12,
        min_sessions: int = 6,
        k: float = 3.0,
        floors: dict[str, float] | None = None,
    ):
        self.n_sessions = n_sessions
        self.min_sessions = min_sessions
        self.k = k
        self.floors = floors

    def estimate(self, values: pd.DataFrame) -> PersonalBaseline:
        """Baselines of every column of ``values`` (rows: sessions in time order)."""
        if self.min_sessions < 2 or self.n_sessions < self.min_sessions:
            raise ValueError("need 2 <= min_sessions <= n_sessions")
        x = values.to_numpy(dtype=float)
        n, cols = x.shape
        # Window i holds the n_sessions rows before row i (NaN-padded at the start).
        padded = np.vstack([np.full((self.n_sessions, cols), np.nan), x])[:-1] if n else x
        windows = sliding_window_view(padded, self.n_sessions, axis=0) if n else np.zeros((0, cols, 1))
        count = np.isfinite(windows).sum(axis=2)
        enough = count >= self.min_sessions
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows before a baseline exists
            med = np.nanmedian(np.where(enough[..., None], windows, np.nan), axis=2)
            # Pairs of neighbours in the window; a missing session breaks its pairs.
            moving_range = np.nanmedian(np.abs(np.diff(windows, axis=2)), axis=2)
        floor = np.array([(self.floors or {}).get(c, 0.0) for c in values.columns], dtype=float)
        spread = np.where(enough, np.maximum(moving_range / MEDIAN_MOVING_RANGE_TO_SD, floor), np.nan)
        self.baseline_ = pd.DataFrame(med, index=values.index, columns=values.columns)
        self.spread_ = pd.DataFrame(spread, index=values.index, columns=values.columns)
        self.count_ = pd.DataFrame(count, index=values.index, columns=values.columns)
        self.lower_ = self.baseline_ - self.k * self.spread_
        self.upper_ = self.baseline_ + self.k * self.spread_
        return self
