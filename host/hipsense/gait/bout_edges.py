"""Running bouts' edges at the running's own steps, not at the whole seconds the activity is judged on.

:class:`~hipsense.gait.bouts.ActivityBoutDetector` judges each 1-s window on the 3 s around it, so
the windows on either side of a run see its steps and a running bout reaches up to a second past the
running at each end (a stand of 5 s after a run kept about 3 s of its own). Here each running bout
is cut back to its steps: it starts one step before the first landing (the end of a flight) and ends
at the last landing, when standing or walking follows it.
"""

from __future__ import annotations

import numpy as np


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
    head = tail = None
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
        if i:
            edges[i] = start
        elif start > 0:
            head = start
        if i + 2 < len(edges):
            edges[i + 1] = end
        elif end < n:
            tail = end
    if tail is not None:
        edges = np.r_[edges[:-1], tail, n]
        kinds.append("unknown")
    if head is not None:
        edges = np.r_[0, head, edges[1:]]
        kinds.insert(0, "unknown")
    return edges, kinds
