"""The watch's clock offset (hipsense.watch_align.align, docs/watch.md "What is aligned, and how"): found
well beyond a minute, never claimed from a fragment or an unrelated file (red-team p14 G1).

The session is a step table made here (interval blocks, cadence rising with speed, step-to-step noise);
the watch records, once a second of its own clock, the 5 s mean cadence, the speed and the distance,
as a watch does. No FIT encoding: the reading is tested in test_fit_link.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hipsense.formats.fit_watch import WatchActivity
from hipsense.watch_align import WIDE_SEARCH_S, align, linked_values, notes

START = 1_735_689_600.0
BLOCKS = ((60, 3.0), (90, 4.2), (45, 3.2), (80, 4.5), (60, 2.9), (100, 3.9), (60, 3.4))


def session(blocks=BLOCKS, seed=5):
    """(steps, truth): running steps with ``ic_s`` and ``cadence_spm``; the truth per 0.1 s."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, sum(d for d, _ in blocks), 0.1)
    edges = np.cumsum([0] + [d for d, _ in blocks])
    speed = np.array([v for _, v in blocks])[
        np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(blocks) - 1)
    ]
    speed = pd.Series(speed).rolling(30, min_periods=1).mean().to_numpy()  # 3 s to change pace
    cadence = 130.0 + 10.0 * speed
    ic, now = [], 0.5
    while now < t[-1]:
        c = np.interp(now, t, cadence) * (1 + rng.normal(0, 0.02))
        ic.append((now, c))
        now += 60.0 / c
    steps = pd.DataFrame(ic, columns=["ic_s", "cadence_spm"]).assign(activity="run")
    distance = np.concatenate([[0.0], np.cumsum(speed[1:] * 0.1)])
    return steps, pd.DataFrame({"t": t, "speed": speed, "cadence": cadence, "distance": distance})


def watch(truth, offset_s, *, cadence=None, speed=None, every=1.0):
    """The watch whose clock reads ``offset_s`` ahead of the session's: records at whole seconds."""
    t_unix = np.arange(np.ceil(START + offset_s), START + offset_s + truth["t"].iloc[-1], every)
    at = t_unix - START - offset_s
    mean5 = truth["cadence"].rolling(50, center=True, min_periods=1).mean()
    return WatchActivity(
        time_unix=t_unix,
        distance_m=np.interp(at, truth["t"], truth["distance"]),
        speed_mps=np.interp(at, truth["t"], truth["speed"]) if speed is None else speed(at),
        altitude_m=None,
        heart_rate_bpm=120 + 10 * np.interp(at, truth["t"], truth["speed"]),
        cadence_spm=np.interp(at, truth["t"], mean5) if cadence is None else cadence(at),
    )


@pytest.fixture(scope="module")
def run():
    return session()


@pytest.mark.parametrize("offset_s", [-420.0, -200.0, 75.0, 120.0, 300.0, 480.0])
def test_offsets_of_minutes_are_found(run, offset_s):
    """The red team's +75, +120, +300 and -200 s: clocks only, or a wrong offset 'cadence matched'."""
    steps, truth = run
    a = align(steps, START, truth["t"].iloc[-1], watch(truth, offset_s))
    assert a.method == "cadence" and abs(a.offset_s - offset_s) <= 0.5, a
    assert a.confidence >= 0.5 and a.note == ""


def test_offset_from_speed_minutes_off(run):
    steps, truth = run
    w = watch(truth, 150.0)
    w = WatchActivity(w.time_unix, w.distance_m, w.speed_mps, None, None, None)
    a = align(steps, START, truth["t"].iloc[-1], w)
    assert a.method == "speed" and abs(a.offset_s - 150.0) <= 0.5, a


def test_unrelated_watches_are_not_matched_nor_linked(run):
    """Watches of other interval runs over the same minutes: none may pass as matched, and those whose
    cadence changes (evidence that they do not follow this run) get no values."""
    steps, truth = run
    rng = np.random.default_rng(7)
    duration = truth["t"].iloc[-1]
    methods = []
    for _ in range(40):
        block = int(rng.choice([20, 40, 60, 90]))
        n = int(duration)
        pace = np.repeat(rng.uniform(2.8, 4.6, size=n // block + 1), block)[:n]
        t_unix = START + np.arange(n, dtype=float)
        w = WatchActivity(t_unix, np.cumsum(pace), pace, None, None, 130 + 10 * pace + rng.normal(0, 1, n))
        a = align(steps, START, duration, w)
        methods.append(a.method)
        assert a.method in ("clock", "none"), a
        assert a.note, a  # said in one line
        values = linked_values(steps, START, a, w)
        if a.method == "none":
            assert values.isna().all().all()
            assert a.note.startswith("no values linked: ") and notes(w, a)[0] == a.note
    assert methods.count("none") >= 30, methods


def test_a_clock_beyond_the_search_is_not_trusted(run):
    """The best match of a watch further off than the search reaches lies at its edge or is a
    fragment: not trusted, not linked."""
    steps, truth = run
    a = align(steps, START, truth["t"].iloc[-1], watch(truth, WIDE_SEARCH_S + 100))
    assert a.method == "none", a
    assert linked_values(steps, START, a, watch(truth, WIDE_SEARCH_S + 100)).isna().all().all()


def test_a_steady_run_keeps_the_clocks(run):
    """Nothing to correlate: the clocks' alignment, values linked, as before."""
    steps, truth = session(blocks=((500, 3.5),), seed=3)
    a = align(steps, START, truth["t"].iloc[-1], watch(truth, 0.0))
    assert a.method == "clock" and a.offset_s == 0.0 and "steady" in a.note
    assert linked_values(steps, START, a, watch(truth, 0.0))["speed_mps"].notna().mean() > 0.95


def test_repeats_that_agree_with_the_clocks_keep_them():
    """Equal repeats (60 s fast, 60 s easy): a match every 120 s, none clear; the clocks agree with
    the cadence, so their alignment is kept and values linked."""
    steps, truth = session(blocks=((60, 4.2), (60, 3.0)) * 5, seed=2)
    w = watch(truth, 0.0)
    a = align(steps, START, truth["t"].iloc[-1], w)
    assert a.method in ("clock", "cadence") and abs(a.offset_s) <= 0.5, a
    assert linked_values(steps, START, a, w)["speed_mps"].notna().mean() > 0.95


def test_a_long_run_is_aligned_too():
    """A 3 h run (the wide search took 0.2 CPU s for it: docs/watch.md)."""
    blocks = tuple(
        (d, v) for d, v in zip(np.tile([300, 180, 240], 15), np.tile([3.2, 4.0, 3.6], 15), strict=True)
    )
    steps, truth = session(blocks=blocks, seed=1)
    a = align(steps, START, truth["t"].iloc[-1], watch(truth, 95.0))
    assert a.method == "cadence" and abs(a.offset_s - 95.0) <= 0.5, a
