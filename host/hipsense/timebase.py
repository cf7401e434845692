"""One time base for every input: the recording's own clock, its rate, its gaps and its short holes.

Every adapter (a CSV's time column, a session file's sample numbers, the live stream) goes through the
same two steps, so a fix to the clock lands on every route:

1. :func:`fit_clock` (inputs with time stamps): the rate is a least-squares fit of time against sample
   number over every gap-free stretch at once (one slope, one intercept per stretch), not
   ``1/median(diff(t))``, which stamps rounded to 1e-5 s turn into 207.9 Hz for 208 Hz (0.45 ms of drift
   per second). Each row gets an integer grid number: a step of about ``k`` periods advances it by
   ``k``, so a dropped row shows as a missing number. A step whose missing time exceeds the fill limit
   starts a new stretch (a gap). The fit is iterated until the grid numbers stop changing (at most a
   few rounds), which makes it exact for any time stamps whose jitter stays below a quarter period.
   Wider jitter (stamps taken as rows arrive; a step shorter than 0.6 periods shows it) cannot be
   read step by step, since a late row and a lost one look alike: rounding each step invented rows
   for late ones (the real treadmill run of ``running-pelvis-mocap`` stamped 0-4 ms late: 2,030 rows
   invented among 6,115, contacts up to 40 ms off). Lost rows are then found from the mean offsets of
   the rows either side (:mod:`hipsense.timebase_steps`).
2. :func:`place_on_grid` (every input): the rows that hold data are put on a uniform grid per stretch.
   Holes of at most :data:`MAX_FILL_S` (dropped rows, rows with empty cells, a short FIFO overflow) are
   filled by linear interpolation and marked ``filled``; longer holes and every break of the clock
   become gaps between :class:`Segment` s: no rows are inserted for them.

What it costs: the samples are kept as measured (no resampling); only filled holes are invented, by
straight lines. The clock is the fitted one: row ``i`` of a segment starting at row ``s`` is at
``t[s] + (i - s) / rate`` exactly, so stamp jitter and rounding disappear, and a logger whose stamps
drift against the samples by more than half a period over a stretch shows that as a large
``max_residual_s`` (reported, not corrected). Memory is bounded by the samples given: a grid never holds
more than ``2 * samples + FILL_ALLOWANCE`` rows (holes that would invent more are refused), whatever
sample numbers a forged file claims.

Pure numpy. Times here are seconds; the readers convert other units first (:mod:`hipsense.time_units`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from hipsense.recording import Gap
from hipsense.timebase_steps import (
    CLEAN_MIN,
    MAX_FIT_ROUNDS,
    coarse_repeats,
    fit_line,
    missed_rows,
    periods,
    stretches,
)

#: Longest hole filled by interpolation (s). A running step lasts about 0.3 s and its impact about
#: 30 ms: a 0.1 s hole leaves the step's shape (and its neighbours) intact, a longer one would invent
#: an impact; it is longer than the holes loggers make by dropping a few rows or a short FIFO
#: overflow (12 samples = 58 ms at 208 Hz), shorter than a lost device block (about 1.4 s).
MAX_FILL_S = 0.1

#: Filling holes may invent at most as many samples as were measured, beyond this allowance for short
#: inputs. Real loggers fill a few percent (Xsens MTw exports: at most 18.6 %, mean 4.3 %, 109 files),
#: but a forged clock with a hole just under the fill limit after every row would make the grid
#: ``max_fill + 1`` times the rows (a 790 KB CSV at 10 kHz became 621 MB).
FILL_ALLOWANCE = 4096

#: Grid rows timed at a time (a few MB of temporaries).
PASS_ROWS = 1 << 20


class TimeBaseError(ValueError):
    """The times cannot be put on a clock (not increasing, not finite, too few)."""


@dataclass(frozen=True)
class Clock:
    """A fitted clock: the rate, and per row its stretch and its integer grid number in the stretch.

    Attributes
    ----------
    rate_hz
        The measured sample rate (1 / fitted period).
    run
        Per row, the gap-free stretch of the clock it belongs to (0, 1, ...).
    index
        Per row, its grid number within its stretch (0 at the stretch's first row); a missing number is
        a dropped row.
    run_start_s
        Per stretch, the fitted time of grid number 0, seconds from the first row's time.
    max_residual_s
        Largest distance of a row's time from the fitted clock (stamp jitter, rounding or drift).
    max_fill
        The fill limit in samples the stretches were cut with (give it to :func:`place_on_grid`).
    """

    rate_hz: float
    run: np.ndarray
    index: np.ndarray
    run_start_s: np.ndarray
    max_residual_s: float
    max_fill: int


def nominal_rate(rate_hz: float) -> float:
    """The rate taken to 3 significant digits, for counts of samples the rate decides: a fitted clock's
    99.99992 Hz must count as 100 Hz does."""
    return float(f"{rate_hz:.3g}")


def max_fill_samples(rate_hz: float, max_fill_s: float = MAX_FILL_S) -> int:
    """Most consecutive missing samples filled by interpolation at this rate (at least 1), at the
    :func:`nominal_rate`: a fitted 99.99999 Hz and 100.00001 Hz must not give 9 and 10 (0.1 s is a
    whole number of samples at the usual rates)."""
    return max(1, int(np.floor(round(max_fill_s * nominal_rate(rate_hz), 6))))


def fit_clock(times_s: np.ndarray, *, max_fill_s: float = MAX_FILL_S) -> Clock:
    """Fit a uniform clock to a column of sample times (s).

    Parameters
    ----------
    times_s
        Increasing, finite times in seconds (any origin), at least two. A time may repeat the one
        before it (rows read at once from a backlog, stamped within one tick) where the clock ticks
        finer than the rows (:func:`coarse_repeats`): the rows' offsets place them.
    max_fill_s
        A step missing more than this much time is a gap: it starts a new stretch.

    Raises
    ------
    TimeBaseError
        Fewer than two times, a time that is not finite, a step back, repeats on a coarse clock, or
        times whose span or median step a float64 rate cannot hold.
    """
    t = np.asarray(times_s, dtype=np.float64)
    if t.ndim != 1 or len(t) < 2:
        raise TimeBaseError(f"need at least 2 times, got {t.size}")
    if not np.isfinite(t).all():
        raise TimeBaseError("a time is not a finite number")
    with np.errstate(over="ignore"):  # a span beyond float64 is refused below
        t = t - t[0]
    d = np.diff(t)
    if (d < 0).any() or coarse_repeats(d):
        raise TimeBaseError(f"time does not increase after row {int(np.flatnonzero(d <= 0)[0])}")
    period = float(np.median(d))  # a first guess only: the fit below replaces it
    if not (np.isfinite(t[-1]) and np.isfinite(1.0 / period)):  # 1e308 apart, or 1e-310 s steps
        raise TimeBaseError("the times span too much, or step too little, for a clock")
    k_prev = None
    for _ in range(MAX_FIT_ROUNDS):
        k = periods(d, period)
        run, index = stretches(k, max_fill_samples(1.0 / period, max_fill_s))
        fitted, _ = fit_line(t, run, index, int(run[-1]) + 1)
        if fitted is None or not fitted > 0:  # every stretch a single row: keep the guess
            break
        period = fitted
        if k_prev is not None and np.array_equal(k, k_prev):
            break
        k_prev = k
    limit = max_fill_samples(1.0 / period, max_fill_s)
    k = periods(d, period)
    if float(d.min()) < CLEAN_MIN * period:  # jitter of about a quarter period or more: check the counts
        del run, index, k_prev  # the fit loop's, before missed_rows makes its own
        k = missed_rows(t, d, k, limit)
    run, index = stretches(k, limit)
    n_runs = int(run[-1]) + 1
    fitted, start = fit_line(t, run, index, n_runs)
    if fitted is not None and fitted > 0:
        period = fitted
    else:  # single rows only: each stretch starts where its row is
        start = t[np.concatenate(([0], np.flatnonzero(np.diff(run)) + 1))]
    residual = t - (start[run] + period * index)
    return Clock(1.0 / period, run, index, start, float(np.max(np.abs(residual))), limit)


@dataclass(frozen=True)
class Grid:
    """Rows placed on a uniform grid per segment (what a :class:`~hipsense.recording.Recording` needs).

    Attributes
    ----------
    rate_hz
        The grid's rate.
    times_s
        Per grid row, its time on the recording's clock, seconds from the first grid row (0).
    segments
        ``(k, 2)`` grid-row ranges ``[start, end)`` of the gap-free stretches.
    filled
        Per grid row, ``True`` where no input row landed (interpolated).
    source
        Per grid row, the input row placed there, -1 where filled (:func:`place_on_grid`); ``None``
        from :func:`place_runs`, whose runs say where their samples go.
    gaps
        The breaks between segments.
    origin_s
        Time of grid row 0 on the input's clock (the fitted time of the first row with data).
    """

    rate_hz: float
    times_s: np.ndarray
    segments: np.ndarray
    filled: np.ndarray
    source: np.ndarray | None
    gaps: list[Gap]
    origin_s: float

    @property
    def filled_samples(self) -> int:
        return int(self.filled.sum())

    @property
    def missing_samples(self) -> int:
        """Samples the clock says were lost: filled holes plus the samples of every gap."""
        return self.filled_samples + sum(g.missing_samples for g in self.gaps)

    def take(self, values: np.ndarray) -> np.ndarray:
        """One column of the input rows on the grid, holes filled by straight lines in their segment."""
        if self.source is None:
            raise ValueError("a grid placed from runs has no source rows to take from")
        values = np.asarray(values, dtype=np.float64)
        out = np.empty(len(self.source), dtype=np.float64)
        have = self.source >= 0
        out[have] = values[self.source[have]]
        if not have.all():
            pos = np.arange(len(out))
            # every hole lies inside a segment, between two rows of that segment: one interp is enough
            out[~have] = np.interp(pos[~have], pos[have], out[have])
        return out


def place_on_grid(
    run: np.ndarray,
    index: np.ndarray,
    run_start_s: np.ndarray,
    rate_hz: float,
    *,
    valid: np.ndarray | None = None,
    max_fill_s: float = MAX_FILL_S,
    max_fill: int | None = None,
) -> Grid:
    """Put the rows with data on a uniform grid per gap-free stretch: each row with data is a run of
    one sample for :func:`place_runs` (the parameters and errors are its own), and the grid's
    ``source`` says which input row each grid row holds.

    ``run`` and ``index`` give per input row its clock stretch and integer grid number (from
    :func:`fit_clock`, or a device's sample numbers with ``run`` all 0); ``valid`` is ``False`` where
    a row holds no usable data (an empty cell): it becomes a hole.
    """
    run = np.asarray(run, dtype=np.int64)
    index = np.asarray(index, dtype=np.int64)
    # Every row holds data (a device's samples): use the columns as they are, no copies of them.
    rows = None if valid is None else np.flatnonzero(np.asarray(valid, bool))
    if len(index) == 0 or (rows is not None and len(rows) == 0):
        raise TimeBaseError("no row holds data")
    r, n = (run, index) if rows is None else (run[rows], index[rows])
    grid, dest = place_runs(r, n, 1, run_start_s, rate_hz, max_fill_s=max_fill_s, max_fill=max_fill)
    source = np.full(len(grid.times_s), -1, dtype=np.int64)
    source[dest] = np.arange(len(n)) if rows is None else rows
    return replace(grid, source=source)


def place_runs(
    run: np.ndarray,
    first: np.ndarray,
    count: np.ndarray | int,
    run_start_s: np.ndarray,
    rate_hz: float,
    *,
    max_fill_s: float = MAX_FILL_S,
    max_fill: int | None = None,
) -> tuple[Grid, np.ndarray]:
    """Put runs of consecutive samples on a uniform grid per gap-free stretch.

    Run ``i`` holds ``count[i]`` samples numbered ``first[i], first[i] + 1, ...`` in clock stretch
    ``run[i]`` (a device block; a CSV row is a run of one). A jump of the numbers between two runs by at
    most the fill limit is a hole (filled), a longer one, or a new stretch, a gap. Per-run arrays only:
    a device session's grid needs no array per sample besides its times and ``filled``.

    Parameters
    ----------
    run, first, count
        Per run: its clock stretch, the number of its first sample (increasing within a stretch) and
        how many samples it holds (an array, or one number for every run).
    run_start_s
        Per stretch, the clock time of grid number 0 (s).
    rate_hz
        The clock's rate.
    max_fill_s
        Longest hole filled; a longer one is a gap.
    max_fill
        The same limit in samples, when a :class:`Clock` already chose it (``Clock.max_fill``).

    Returns
    -------
    grid, dest
        The grid (its ``source`` is ``None``) and per run the grid row of its first sample: run ``i``'s
        samples are grid rows ``dest[i]`` to ``dest[i] + count[i] - 1``.

    Raises
    ------
    TimeBaseError
        No run, an empty run, sample numbers that do not increase within a stretch, or holes that
        would invent more samples than the runs hold (beyond :data:`FILL_ALLOWANCE`).
    """
    r = np.asarray(run, dtype=np.int64)
    n = np.asarray(first, dtype=np.int64)
    m = np.asarray(count, dtype=np.int64)
    if len(n) == 0:
        raise TimeBaseError("no row holds data")
    if (m < 1).any():
        raise TimeBaseError("a run holds no sample")
    end = n if m.ndim == 0 and m == 1 else n + (m - 1)  # the last number of each run
    same_run = r[1:] == r[:-1]
    # int64 differences of forged sample numbers could wrap: compare first, then subtract unsigned
    if (same_run & (n[1:] <= end[:-1])).any():
        raise TimeBaseError("sample numbers do not increase")
    step = np.where(same_run, n[1:].view(np.uint64) - end[:-1].view(np.uint64), 0)
    limit = max_fill if max_fill is not None else max_fill_samples(rate_hz, max_fill_s)
    brk = ~same_run | (step > limit + 1)
    del same_run
    first_run = np.concatenate(([0], np.flatnonzero(brk) + 1))
    last_run = np.concatenate((first_run[1:], [len(n)])) - 1
    length = end[last_run] - n[first_run] + 1  # bounded: steps inside a segment are at most limit + 1
    seg_end = np.cumsum(length)
    seg_start = seg_end - length
    total = int(seg_end[-1])
    measured = int(m.sum()) if m.ndim else int(m) * len(n)
    if total - measured > measured + FILL_ALLOWANCE:
        raise TimeBaseError(
            f"filling its short holes would invent {total - measured:,} samples, more than the {measured:,} "
            "measured"
        )
    period = 1.0 / rate_hz
    run_start_s = np.asarray(run_start_s, dtype=np.float64)
    origin = float(run_start_s[r[0]] + n[0] * period)
    # from the first row, not from sample number 0: a device's numbers may start anywhere
    seg_t0 = (run_start_s[r[first_run]] - run_start_s[r[0]]) + (n[first_run] - float(n[0])) * period
    # Grid row of each run's first sample, built in place (a CSV's rows are runs: 10 M of them).
    dest = np.repeat(seg_start - n[first_run], last_run - first_run + 1)
    dest += n
    # Holes: the rows between two runs of one segment.
    hole = np.flatnonzero(~brk & (step > 1))
    size = (step[hole] - 1).astype(np.int64)
    del step, brk
    filled = np.zeros(total, dtype=bool)
    if len(hole):
        after = dest[hole] + (m if m.ndim == 0 else m[hole])
        filled[np.repeat(after - (np.cumsum(size) - size), size) + np.arange(int(size.sum()))] = True
    # seg_t0 + k / rate, the same expression Recording.time_at uses, so both agree to the last bit;
    # a pass of rows at a time, so the only array per row is the times themselves
    times = np.empty(total)
    counting = np.arange(min(PASS_ROWS, total), dtype=np.float64)  # 0, 1, ... (exact) for every pass
    for a in range(0, total, PASS_ROWS):
        b = min(a + PASS_ROWS, total)
        first_seg, last_seg = np.searchsorted(seg_start, [a, b - 1], side="right") - 1
        if last_seg - first_seg < 64:  # a few segments: each one's rows in place, no index arrays
            for g in range(first_seg, last_seg + 1):
                lo, hi = max(a, seg_start[g]), min(b, seg_end[g])
                part = times[lo:hi]
                np.add(counting[: hi - lo], float(lo - seg_start[g]), out=part)  # integers: exact
                np.divide(part, rate_hz, out=part)
                part += seg_t0[g]
            continue
        rows = np.arange(a, b, dtype=np.int64)
        seg = np.searchsorted(seg_start, rows, side="right") - 1
        np.divide(rows - seg_start[seg], rate_hz, out=times[a:b])
        times[a:b] += seg_t0[seg]
    t_last = times[seg_end[:-1] - 1]
    duration = np.maximum(times[seg_start[1:]] - t_last - period, 0.0)
    # a run of empty rows inside a stretch: the clock counts its samples exactly; across stretches
    # the fitted times do
    lost = np.where(
        r[first_run[1:]] == r[last_run[:-1]],
        n[first_run[1:]] - end[last_run[:-1]] - 1,
        np.rint(duration * rate_hz),
    ).astype(np.int64)
    gaps = [Gap(float(a), float(b), int(c)) for a, b, c in zip(t_last, duration, lost, strict=True)]
    segments = np.stack([seg_start, seg_end], axis=1).astype(np.int64)
    return Grid(float(rate_hz), times, segments, filled, None, gaps, origin), dest


__all__ = [
    "FILL_ALLOWANCE",
    "MAX_FILL_S",
    "Clock",
    "Grid",
    "TimeBaseError",
    "fit_clock",
    "max_fill_samples",
    "nominal_rate",
    "place_on_grid",
    "place_runs",
]
