"""Running and walking bouts' edges at their own steps, not at the whole seconds the activity is judged on.

:class:`~hipsense.gait.bouts.ActivityBoutDetector` judges each 1-s window on the 3 s around it, so
the windows on either side of a run see its steps and a running bout reaches up to a second past the
running at each end (a stand of 5 s after a run kept about 3 s of its own). Here each running bout
is cut back to its steps: it starts one step before the first landing (the end of a flight) and ends
at the last landing, when standing or walking follows it. A walking bout reached further, seconds into
the stands around it (a stand shorter than the shortest bout is absorbed), where the walking detector
found "steps" in the sway: each is pulled in to its own movement (:func:`walking_edges`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def _place(edges: np.ndarray, i: int, start: int, end: int, cut: list[int | None]) -> None:
    """Give bout ``i`` the edges ``start`` and ``end`` in place; an edge at the input's own start or
    end stays, and the new edge is kept in ``cut`` (at the start, at the end) for :func:`_cut_ends`."""
    if i:
        edges[i] = start
    elif start > 0:
        cut[0] = start
    if i + 2 < len(edges):
        edges[i + 1] = end
    elif end < int(edges[-1]):
        cut[1] = end


def _cut_ends(
    edges: np.ndarray, kinds: list[str], cut: list[int | None], fill: str
) -> tuple[np.ndarray, list[str]]:
    """The bouts with the rows given up at the input's start and end (``cut``) as ``fill`` bouts."""
    head, tail = cut
    n = int(edges[-1])
    if tail is not None:
        edges = np.r_[edges[:-1], tail, n]
        kinds.append(fill)
    if head is not None:
        edges = np.r_[0, head, edges[1:]]
        kinds.insert(0, fill)
    return edges, kinds


def landings(flight: np.ndarray, q: int) -> np.ndarray:
    """Input rows where a flight ends: the first judged row back at or above the flight level.

    ``flight`` holds, for every ``q``-th input row, whether the low-passed vertical is below the flight
    level (free fall reads about 0 g)."""
    return (np.flatnonzero(flight[:-1] & ~flight[1:]) + 1) * q


def running_edges(
    edges: np.ndarray,
    kinds: list[str],
    land: np.ndarray,
    step_rows: np.ndarray,
    hop: int,
    margin: int = 0,
) -> tuple[np.ndarray, list[str]]:
    """Move every running bout's edges to its steps; its neighbours take or give the rows between.

    A running bout starts one step before its first landing (the first contact: a step is a contact
    and a flight, so the contact before the first flight comes a step before that flight's landing)
    and ends at its last landing. Landings are looked for up to a step outside the bout too (a window
    judged still may hold the last landing at its very start); an edge moves out by at most a step and
    half its neighbour, so no neighbour disappears. A bout with fewer than two landings is left as it
    is. Where the running bout opens or closes the input, its edge moves only when that frees a step
    or more (less may be a step the input cut in two: a recording that starts or stops mid-run), and
    the rows it gives up become an ``unknown`` bout of their own (a stand long enough to be judged is a
    ``stand`` bout already, which takes them).

    Parameters
    ----------
    edges
        Bout boundaries in input rows, ``len(kinds) + 1`` of them, from 0 to the input's length.
    kinds
        Activity of each bout; neighbours differ.
    land
        Rows of the landings (:func:`landings`), ascending.
    step_rows
        Step period of each window in rows where the window was judged running, else NaN.
    hop
        Rows per window.
    margin
        Rows added outside each moved edge, so the contacts at the edges stay inside (a landing is
        found late by the sacrum's delay and the judged rows' spacing).

    Returns
    -------
    edges, kinds
        The boundaries and activities after the moves.
    """
    edges = edges.astype(np.int64)  # a copy: the caller's boundaries stay as they were
    kinds = list(kinds)
    n = int(edges[-1])
    cut: list[int | None] = [None, None]  # new edges at the input's start and end
    for i in (i for i, kind in enumerate(kinds) if kind == "run"):
        a, b = int(edges[i]), int(edges[i + 1])
        periods = step_rows[a // hop : -(-b // hop)]
        periods = periods[np.isfinite(periods)]
        if not len(periods):
            continue
        step = int(round(np.median(periods)))
        lo = a - min(step, (a - int(edges[i - 1])) // 2) if i else 0
        hi = b + min(step, (int(edges[i + 2]) - b) // 2) if i + 2 < len(edges) else n
        inside = land[np.searchsorted(land, lo, side="right") : np.searchsorted(land, hi)]
        if len(inside) < 2:
            continue
        start = max(lo, int(inside[0]) - step - margin)
        end = min(hi, int(inside[-1]) + margin)
        # The input's own ends move only for a step or more: less may be a step the input cut.
        start = 0 if not i and start < step else start
        end = n if i + 2 == len(edges) and n - end < step else end
        _place(edges, i, start, end, cut)
    return _cut_ends(edges, kinds, cut, "unknown")


def moving_rows(smooth: np.ndarray, q: int, width: int, still_g: float) -> np.ndarray:
    """Input rows (every ``q``-th judged row) where the ``width`` judged rows around hold movement:
    their standard deviation reaches ``still_g`` (standing reads a few thousandths of a g)."""
    mean = ndimage.uniform_filter1d(smooth, width, mode="nearest")
    square = ndimage.uniform_filter1d(smooth * smooth, width, mode="nearest")
    return np.flatnonzero(square - mean * mean >= still_g * still_g) * q


def walking_edges(
    edges: np.ndarray, kinds: list[str], moving: np.ndarray, *, pause: int, least: int, lead: int, trail: int
) -> tuple[np.ndarray, list[str]]:
    """Pull every walking bout's edges in to its walking movement, ``lead`` rows before it and
    ``trail`` rows after it.

    A second is judged walking on the 3 s around it, and a stand shorter than the shortest bout is
    absorbed, so a walking bout reached up to a few seconds into the standing before and after it, and
    the walking detector found "steps" in the stand's sway. Here a walking bout's moving rows
    (:func:`moving_rows`) make stretches of movement, split where the body is still for ``pause`` rows
    or more; a stretch shorter than ``least`` rows (a touch of the sensor, a shift of weight) is no
    walking. The bout starts ``lead`` rows before the first row of its first walking stretch and
    ends ``trail`` rows after the last row of its last; an edge only moves in. The rows given up are
    still: the neighbour takes them, or, at the input's own ends, they become a ``stand`` bout. A bout
    without a walking stretch (or without any movement) is left as it is.

    Parameters
    ----------
    edges, kinds
        Bout boundaries in input rows (from 0 to the input's length) and each bout's activity.
    moving
        Rows holding movement, ascending (:func:`moving_rows`).
    pause, least, lead, trail
        Rows of stillness that split the movement, of the shortest walking stretch, and kept before
        and after the walking.

    Returns
    -------
    edges, kinds
        The boundaries and activities after the moves.
    """
    edges = edges.astype(np.int64)  # a copy: the caller's boundaries stay as they were
    kinds = list(kinds)
    cut: list[int | None] = [None, None]  # new edges at the input's start and end
    for i in (i for i, kind in enumerate(kinds) if kind == "walk"):
        a, b = int(edges[i]), int(edges[i + 1])
        inside = moving[np.searchsorted(moving, a) : np.searchsorted(moving, b)]
        if not len(inside):  # no movement judged in it (a very quiet walk): left as it is
            continue
        split = np.flatnonzero(np.diff(inside) >= pause) + 1
        firsts, lasts = inside[np.r_[0, split]], inside[np.r_[split, len(inside)] - 1]
        walks = lasts - firsts >= least
        if not walks.any():
            continue
        start = max(a, int(firsts[walks][0]) - lead)
        end = min(b, int(lasts[walks][-1]) + trail)
        _place(edges, i, start, end, cut)
    return _cut_ends(edges, kinds, cut, "stand")
