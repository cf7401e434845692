"""How many sample periods each step between two stamped rows holds (:mod:`hipsense.timebase`'s clock fit).

A step of about ``k`` periods holds ``k - 1`` lost rows. Stamps within a quarter period of their clock
tell it step by step. Wider jitter (stamps taken as rows arrive) does not: a step then counts lost rows
only beyond what the jitter explains (:func:`periods`), and the lost rows that leaves out show as a
shift of every later row's offset from the fitted clock, which the mean offsets of the rows either
side of a step reveal (:func:`missed_rows`). Measured (``benchmarks/csv_timebase.py``, variant
``arrival``: a simulated 240 s run at 208 Hz stamped 0-4 ms late, 0.5 % of the rows dropped): 208.00 Hz,
276 samples filled for the 276 rows dropped, step F1 0.9992 as for the exact file, contacts within one
period (4.4 ms) of the exact file's; rounding each step gave 276.8 Hz, 16,771 filled and F1 0.13.

A logger whose reading thread stalls, then reads its backlog at once, makes one step of many periods
followed by steps of almost none (:data:`BACKLOG_STEP`): the stall's periods are not lost rows, and the
backlog's late rows lift the side means. Ahead of such steps the floor of the offsets (the least of
them, :func:`side_floor_shift`: stamps are never early) decides instead, and while it gives rows back
none is gained (rows counted for stalls make the fitted clock fast, which the side means read as lost
rows). Variant ``stalls`` (0-1 ms late, 50 ms stalls every 2 s, the same rows dropped): 207.997 Hz,
275 filled, F1 0.9992, contacts within 4.3 ms; counting the stalls gave 210.47 Hz, 864 filled and
contacts 23.7 ms off. On a 1 ms clock a backlog's rows share a stamp (:func:`coarse_repeats` tells
that from a coarse clock): ``stalls-ms`` 208.000 Hz, 276 filled; ``stalls80-ms`` (80 ms every 2 s, a
1 ms UNIX clock) 208.000 Hz, 276 filled, contacts within 4.9 ms (gaining while giving back: 242 Hz).

Pure numpy.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: Iterations of the rate fit; it converges in one or two on real clocks.
MAX_FIT_ROUNDS = 6
#: Rows each side of a step whose mean offsets from the clock tell a lost row from late stamps, when
#: stamps jitter by more than a quarter period: jitter of up to a period averages to under a tenth of
#: one over 16 rows, while a lost row moves every later row by a whole period.
SIDE_ROWS = 16
#: Rounds of :func:`missed_rows`: each finds the rows of a run of shifted steps that its largest shift
#: says; a stretch losing a row in four (the end of a real MTw walking export) took 20.
MISSED_ROUNDS = 24
#: Periods by which the two sides' means must differ for a step to gain a row (or, below minus it, to
#: lose one it was counted).
SIDE_SHIFT = 0.6
#: Shortest step, in periods, of stamps read step by step alone. Below it the sides' means check
#: every count (:func:`missed_rows`): a step of 0.5-0.6 periods may come with one of 1.5 or more that
#: is late, not lost (the shortest steps of a few hundred rows fall short of the longest's reach).
CLEAN_MIN = 0.6
#: Fewest rows a side may have (at a stretch's ends): the mean of 4 rows whose jitter spans under a
#: period is within half a period of the clock, short of SIDE_SHIFT.
MIN_SIDE_ROWS = 4
#: Steps looked at a time (a few MB of temporaries).
PASS_ROWS = 1 << 20
#: Rows each side of a step whose floors (the least offsets: stamps are never early) are compared
#: ahead of a backlog (:func:`side_floor_shift`): more than a stall's backlog (a 0.1 s stall at 208 Hz
#: leaves 21 rows late), fewer than lie between stalls.
LOSS_ROWS = 32
#: Consecutive rows that must all be early for a counted step to give rows back: a lost row found a
#: few rows from where it was (jitter of most of a period blurs where; up to 7 rows seen) leaves those
#: few rows a period early, while rows counted for a stall leave every later row early.
LOSS_BLOCK = 8
#: Steps shorter than this many periods are rows read from a backlog at once, not jitter.
BACKLOG_STEP = 0.1
#: Periods by which the floor must rise across a run of shifted steps ahead of a backlog for it to gain
#: rows (the backlog's late rows lift the side means; its floor stays).
FLOOR_SHIFT = 0.4
#: A repeated stamp is rows read at once from a backlog, stamped within one tick of the clock, only
#: where the clock ticks at most this share of the rows' median step (a PC logger's 1 ms clock at
#: 208 Hz: 0.21); a clock as coarse as the rows (10 ms at 208 Hz) repeats every few rows, and no fit can
#: tell where each row was taken.
TICK_SHARE = 0.5


def coarse_repeats(d: np.ndarray) -> bool:
    """Whether the steps ``d`` between stamps repeat one on a clock whose tick is over
    :data:`TICK_SHARE` of the rows' median step (then the repeats are the clock's coarseness, not a
    backlog read at once). The tick shows in how far apart the steps' lengths lie (a 1 ms clock at
    208 Hz steps 4, 5 or 6 ms), counted to a millionth of a step so that decimal stamps' float
    rounding makes none."""
    if not (d == 0).any():
        return False
    moving = d[d > 0]
    if not len(moving):
        return True
    levels = np.unique(np.round(moving / np.median(moving), 6))
    tick = min(levels[0], float(np.diff(levels).min())) if len(levels) > 1 else levels[0]
    return bool(tick > TICK_SHARE)


def stretches(k: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Stretch and grid number per row from the steps ``k`` (in periods) between rows."""
    brk = (k - 1) > limit
    run = np.concatenate(([0], np.cumsum(brk))).astype(np.int64)
    steps = np.concatenate(([0], np.where(brk, 0, k))).astype(np.int64)
    total = np.cumsum(steps)
    first = np.concatenate(([0], np.flatnonzero(brk) + 1))
    return run, total - total[first][run]


def fit_line(
    t: np.ndarray, run: np.ndarray, index: np.ndarray, n_runs: int
) -> tuple[float | None, np.ndarray]:
    """Common slope (period) and per-stretch intercept of ``t = a[run] + period * index``."""
    count = np.bincount(run, minlength=n_runs).astype(np.float64)
    n_mean = np.bincount(run, weights=index, minlength=n_runs) / count
    t_mean = np.bincount(run, weights=t, minlength=n_runs) / count
    dn = index - n_mean[run]
    dt = t - t_mean[run]
    den = float(np.dot(dn, dn))
    period = float(np.dot(dn, dt)) / den if den > 0 else None
    return period, t_mean - (period or 0.0) * n_mean


def periods(d: np.ndarray, period: float) -> np.ndarray:
    """Periods in each step between rows (at least 1).

    Stamps within a quarter period of their clock make no step shorter than half a period, and each
    step rounded is exact. Wider jitter (a step under half a period shows it) can make a step of one
    period look like two: a step then counts lost rows only beyond two periods, which no jitter of
    less than a period reaches, so none is invented; :func:`missed_rows` finds the lost rows this
    leaves out. (Reading the jitter's reach off the shortest steps instead invented rows wherever the
    longest steps reached further than the shortest, as few rows often do.)
    """
    ratio = d / period
    if float(ratio.min()) >= 0.5:
        return np.maximum(np.rint(ratio), 1.0)
    return np.maximum(np.ceil(ratio - 1.0), 1.0)


def side_shift(x: np.ndarray, run: np.ndarray) -> np.ndarray:
    """Per step (between rows ``i`` and ``i + 1``) the mean of ``x`` over the :data:`SIDE_ROWS` rows
    after it minus that over the rows up to it, within its stretch; 0 where a side has fewer than
    :data:`MIN_SIDE_ROWS`. A pass of rows at a time: a few arrays per pass, not per row."""
    n = len(x)
    total = np.concatenate(([0.0], np.cumsum(x)))
    shift = np.empty(n - 1)
    for a, mid, lo, hi in _side_windows(run, SIDE_ROWS, PASS_ROWS):
        before, after = mid - lo, hi - mid
        part = (total[hi] - total[mid]) / np.maximum(after, 1) - (total[mid] - total[lo]) / before
        shift[a : a + len(mid)] = np.where(np.minimum(before, after) >= MIN_SIDE_ROWS, part, 0.0)
    return shift


def side_floor_shift(x: np.ndarray, run: np.ndarray, rows: int, block: int = 2) -> np.ndarray:
    """Per step (between rows ``i`` and ``i + 1``) the floor of ``x`` over the ``rows`` rows after it
    minus that over the rows up to it, within its stretch; 0 where a side has fewer than
    :data:`MIN_SIDE_ROWS` or ``block`` rows. A side's floor is the least of the largest of each
    ``block`` neighbours, so that fewer early rows than that (a logger's hiccup, a lost row found a few
    rows from where it was) do not lower it. Range minima from a sparse table, a pass of rows at a time."""
    n = len(x)
    if n < 2 * max(MIN_SIDE_ROWS, block):  # no step has enough rows on both sides
        return np.zeros(max(n - 1, 0))
    top = x[: n - block + 1].copy()  # top[i]: the largest of rows i .. i + block - 1
    for j in range(1, block):
        np.maximum(top, x[j : n - block + 1 + j], out=top)
    shift = np.empty(n - 1)
    # a quarter of PASS_ROWS a pass: its sparse table holds log2(rows) levels of the pass's rows
    for a, mid, lo, hi in _side_windows(run, rows, PASS_ROWS // 4):
        ok = np.minimum(mid - lo, hi - mid) >= max(MIN_SIDE_ROWS, block)
        # blocks within each side: starting at lo .. mid - block before the step, mid .. hi - block after
        # (clipped to where blocks start: the steps where that matters are not ok)
        lo = np.minimum(lo, len(top) - 1)
        b_end = np.clip(mid - block + 1, lo + 1, len(top))
        a_start = np.minimum(mid, len(top) - 1)
        a_end = np.clip(hi - block + 1, a_start + 1, len(top))
        base = int(lo.min())
        end = int(a_end.max())
        table = _min_table(top[base:end], rows)
        before = _range_min(table, lo - base, b_end - base)
        after = _range_min(table, a_start - base, a_end - base)
        shift[a : a + len(mid)] = np.where(ok, after - before, 0.0)
    return shift


def _side_windows(
    run: np.ndarray, rows: int, span: int
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """Per pass of ``span`` steps: its first step, and per step the row after it (``mid``) and the rows
    ``[lo, hi)`` within ``rows`` of it on either side, inside its stretch."""
    n = len(run)
    first = np.concatenate(([0], np.flatnonzero(np.diff(run)) + 1))
    stop = np.concatenate((first[1:], [n]))
    for a in range(0, n - 1, span):
        mid = np.arange(a + 1, min(a + span, n - 1) + 1)
        stretch = run[mid - 1]
        yield a, mid, np.maximum(mid - rows, first[stretch]), np.minimum(mid + rows, stop[stretch])


def _min_table(x: np.ndarray, longest: int) -> np.ndarray:
    """Row ``l`` holds the least of ``x[i : i + 2**l]`` at ``i`` (``inf`` past the end), for every
    ``2**l <= longest``."""
    levels = max(1, int(longest).bit_length())
    table = np.full((levels, len(x)), np.inf)
    table[0] = x
    for level in range(1, levels):
        half = 1 << (level - 1)
        np.minimum(table[level - 1][:-half], table[level - 1][half:], out=table[level][:-half])
    return table


def _range_min(table: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The least of ``x[lo:hi]`` per range (each non-empty and at most the table's reach)."""
    length = np.maximum(hi - lo, 1)
    level = np.log2(length).astype(np.int64)
    return np.minimum(table[level, lo], table[level, hi - (1 << level)])


def backlog_ahead(ratio: np.ndarray, rows: int) -> np.ndarray:
    """Per step, whether one of the ``rows`` steps from it on is under :data:`BACKLOG_STEP` periods
    (rows read from a backlog at once; jitter of most of a period still leaves a fifth of one)."""
    quick = np.concatenate(([0], np.cumsum(ratio < BACKLOG_STEP)))
    at = np.arange(len(ratio))
    return quick[np.minimum(at + rows, len(ratio))] > quick[at]


def _runs_of(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The runs of ``True`` in ``mask``: their steps one after the other, each step's run, and per
    run where it begins among the steps and how many steps it holds."""
    edges = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
    first, stop = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    size = stop - first
    offset = np.cumsum(size) - size
    steps = np.arange(int(size.sum())) + np.repeat(first - offset, size)
    return steps, np.repeat(np.arange(len(first)), size), offset, size


def _gains(excess: np.ndarray, shift: np.ndarray, floor: np.ndarray, backlog: np.ndarray) -> np.ndarray:
    """Rows to add per step: around each run of steps whose sides differ by more than
    :data:`SIDE_SHIFT`, as many rows as the largest shift says, one at a time to the step that falls
    furthest short of its count (a step may take up to three). Where a backlog read at once follows
    (``backlog``), its late rows lift the mean after a step: there the floor (:func:`side_floor_shift`)
    must rise too."""
    steps, region, offset, size = _runs_of(shift > SIDE_SHIFT)
    gain = np.zeros_like(excess)
    if not len(steps):
        return gain
    said = np.clip(np.rint(np.maximum.reduceat(shift[steps], offset)), 1, 3 * size)
    late = np.maximum.reduceat(backlog[steps], offset) & (
        np.maximum.reduceat(floor[steps], offset) < FLOOR_SHIFT
    )
    rows = np.where(late, 0, said)
    # each step three times, its excess less what it has gained already: taking the best ones of a
    # run in turn is taking them one at a time
    cand = np.repeat(steps, 3)
    score = excess[cand] - np.tile([0.0, 1.0, 2.0], len(steps))
    order = np.lexsort((-score, np.repeat(region, 3)))
    rank = np.arange(len(order)) - np.repeat(3 * offset, 3 * size)
    np.add.at(gain, cand[order[rank < np.repeat(rows, 3 * size)]], 1.0)
    return gain


def _losses(excess: np.ndarray, shift: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Rows to take back per step: around each run of steps whose sides differ by less than minus
    :data:`SIDE_SHIFT`, one from the counted step that is shortest for its count."""
    steps, region, offset, _ = _runs_of(shift < -SIDE_SHIFT)
    loss = np.zeros_like(excess)
    if not len(steps):
        return loss
    score = np.where(k[steps] > 1, -excess[steps], -np.inf)
    best = np.lexsort((-score, region))[offset]
    loss[steps[best[np.isfinite(score[best])]]] = 1.0
    return loss


def _backlog_losses(lasting: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Rows to take back per step ahead of a backlog: a logger that stalls, then reads its backlog at
    once makes one step of many periods (counted as lost rows) followed by steps of almost none, and
    leaves every row after the backlog early by what was counted. In each run of steps across which
    the floor falls by more than :data:`SIDE_SHIFT` for good (``lasting``), as many as the fall says
    come back from the counted step where it falls most (the latest of equals). The rows' side means
    cannot tell this: the backlog's late rows lift them."""
    steps, region, offset, _ = _runs_of(lasting < -SIDE_SHIFT)
    loss = np.zeros_like(lasting)
    if not len(steps):
        return loss
    fall = np.rint(-np.minimum.reduceat(lasting[steps], offset))
    score = np.where(k[steps] > 1, lasting[steps], np.inf)
    best = np.lexsort((-steps, score, region))[offset]
    keep = np.isfinite(score[best])
    chosen = steps[best[keep]]
    loss[chosen] = np.minimum(fall[keep], k[chosen] - 1)
    return loss


def missed_rows(t: np.ndarray, d: np.ndarray, k: np.ndarray, limit: int) -> np.ndarray:
    """``k`` (periods per step) corrected where the rows' offsets from the fitted clock shift.

    A lost row that no step counted moves every later row's offset by a period: the means of
    :data:`SIDE_ROWS` rows either side of it differ by about one, while jitter moves them by under a
    tenth. Steps gain the rows such shifts say (:func:`_gains`) and give back the ones a shift
    the other way says were never lost (:func:`_losses`); the clock is refitted and this repeated
    until nothing changes (at most :data:`MISSED_ROUNDS` rounds). Ahead of a backlog read at once
    (:func:`backlog_ahead`) the floors of the offsets decide instead (:func:`_backlog_losses`, and a
    gain needs the floor to rise), and a round in which they give rows back gains none.
    """
    k = k.copy()
    for _ in range(MISSED_ROUNDS):
        run, index = stretches(k, limit)
        period, start = fit_line(t, run, index, int(run[-1]) + 1)
        if period is None or not period > 0:
            break
        offset = (t - start[run]) / period - index
        shift = side_shift(offset, run)
        ratio = d / period
        excess = ratio - k  # > 0: the step is longer than its count
        backlog = backlog_ahead(ratio, LOSS_ROWS)
        if backlog.any():  # only then do the floors decide (they cost a few passes)
            near = side_floor_shift(offset, run, LOSS_ROWS)
            lasting = np.where(backlog, side_floor_shift(offset, run, LOSS_ROWS, LOSS_BLOCK), 0.0)
            losses = np.where(backlog, _backlog_losses(lasting, k), _losses(excess, shift, k))
        else:
            near = np.zeros_like(shift)
            losses = _losses(excess, shift, k)
        del offset
        # rows counted for stalls speed the fitted clock up, and a clock SIDE_SHIFT / SIDE_ROWS (3.75 %)
        # fast drifts the side means apart like a lost row at every step (80 ms stalls every 2 s: 4 %,
        # rows gained all along, 208.1-208.5 Hz): while the floors give rows back, none is gained
        settling = bool((losses * backlog).any())
        change = -losses if settling else _gains(excess, shift, near, backlog) - losses
        if not change.any():
            break
        k += change
    return k
