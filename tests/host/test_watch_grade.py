"""The grade from a watch's distance and altitude (hipsense.watch_grade, docs/watch.md "Grade"): GPS
altitude noise is measured and the fit widened so that a flat route reads flat, or the grade is left
unknown in one line; a barometer's clean altitude keeps the narrow fit (red-team p14 G2).

Routes: records once a second at 3.5 m/s (3.5 m apart), altitude at FIT's 0.2 m resolution plus the
noise named.
"""

from __future__ import annotations

import numpy as np
import pytest

from hipsense.formats.fit_watch import WatchActivity
from hipsense.watch_align import Alignment, grade_pct, notes
from hipsense.watch_grade import MAX_WINDOW_M, TARGET_SE_PCT, grade_estimate, noise, slope_se_pct

D = np.arange(0.0, 1730.0, 3.5)  # 495 records, as the red team's interval run


def fit_resolution(z):
    return np.round(z / 0.2) * 0.2


def ar1(n, sd, tau_records, rng):
    """GPS-like wander: AR(1) of this standard deviation and correlation time (records)."""
    a = np.exp(-1.0 / tau_records)
    e = np.zeros(n)
    for i in range(1, n):
        e[i] = a * e[i - 1] + np.sqrt(1 - a * a) * sd * rng.normal()
    return e


@pytest.mark.parametrize("sd", [0.5, 1.0, 1.5])
def test_gps_noise_on_the_flat_reads_flat(sd):
    """Before: 1.5 m of noise put 649 of 1373 steps beyond +-5 % and 321 on the flat."""
    rng = np.random.default_rng(int(10 * sd))
    z = fit_resolution(100.0 + rng.normal(0, sd, len(D)))
    g = grade_pct(D, z)
    assert g is not None
    inner = g[(D > 150) & (D < D[-1] - 150)]  # a fit's ends lean on one side
    assert np.mean(np.abs(inner) < 2.0) >= 0.99, np.percentile(inner, [1, 50, 99])
    assert np.mean(np.abs(g) < 2.0) >= 0.95


@pytest.mark.parametrize("kind", ["white 3 m", "wander 3 m"])
def test_too_noisy_an_altitude_leaves_the_grade_unknown(kind):
    rng = np.random.default_rng(3)
    noise_m = rng.normal(0, 3.0, len(D)) if kind.startswith("white") else ar1(len(D), 3.0, 20, rng)
    z = fit_resolution(100.0 + noise_m)
    est = grade_estimate(D, z)
    assert est.grade is None and grade_pct(D, z) is None
    assert "too noisy to tell the grade" in est.note and "unknown" in est.note
    assert est.note.count("\n") == 0
    w = WatchActivity(1e9 + np.arange(len(D), dtype=float), D, np.full(len(D), 3.5), z, None, None)
    assert est.note in notes(w, Alignment(0.0, 1.0, "cadence", 1.0, 400))


@pytest.mark.parametrize("grade", [0.02, 0.06, -0.08])
def test_a_barometers_altitude_keeps_constant_grades_exact(grade):
    # Records 2.9-4.5 m apart (a pace that varies): a fixed spacing would alias the 0.2 m steps.
    d = np.cumsum(np.random.default_rng(1).uniform(2.9, 4.5, 495))
    est = grade_estimate(d, fit_resolution(100.0 + grade * d))
    assert est.window_m <= 35 and est.note == ""
    assert np.nanmedian(est.grade) == pytest.approx(100 * grade, abs=0.1)
    # The 0.2 m steps over the 25 m fit: up to 0.2 / 25 = 0.8 % either way, as before the noise was measured.
    assert np.all(np.abs(np.nanpercentile(est.grade, [5, 95]) - 100 * grade) <= 0.8)


def test_rolling_hills_are_not_smoothed_away():
    """Terrain is not noise: +-5 % rolling hills (300 m from crest to crest) with a barometer's altitude
    keep a narrow fit and follow the hills."""
    d = np.arange(0.0, 3000.0, 3.5)
    truth = 5.0 * np.sin(2 * np.pi * d / 300.0)  # percent
    z = 100.0 + np.concatenate([[0.0], np.cumsum(np.diff(d) * truth[1:] / 100)])
    est = grade_estimate(d, fit_resolution(z))
    assert est.window_m <= 51, est.window_m
    inner = (d > 100) & (d < d[-1] - 100)
    assert np.sqrt(np.mean((est.grade[inner] - truth[inner]) ** 2)) < 1.0


def test_noise_is_measured_and_the_window_follows_the_standard_error():
    rng = np.random.default_rng(0)
    for sd in (0.5, 1.5, 3.0):
        white, q, h = noise(D, 100.0 + rng.normal(0, sd, len(D)))
        assert white == pytest.approx(sd, rel=0.2) and h == pytest.approx(3.5)
    # The white-noise standard error sigma sqrt(12 / n) / L, checked by fitting lines to noise.
    x = np.arange(0.0, 101.0, 3.5)
    slopes = [np.polyfit(x, rng.normal(0, 1.5, len(x)), 1)[0] for _ in range(3000)]
    assert 100 * np.std(slopes) == pytest.approx(slope_se_pct(101, 1.5, 0.0, 3.5), rel=0.1)
    # 1.5 m needs about 160 m for 0.5 %; 3 m needs about 250 m, past the cap.
    assert slope_se_pct(151, 1.5, 0.0, 3.5) > TARGET_SE_PCT >= slope_se_pct(MAX_WINDOW_M, 1.5, 0.0, 3.5)
    assert slope_se_pct(MAX_WINDOW_M, 3.0, 0.0, 3.5) > TARGET_SE_PCT
