"""Repeated stamps and long stalls: loggers that stamp rows as they arrive on a 1 ms clock.

A PC or phone logger whose reading thread stalls reads the rows that came meanwhile at once: on a
1 ms clock they share a stamp. Before, any repeat refused the whole file ("time goes backwards or
repeats"), so such a logger could only be read with ``--time-unit none`` (its rate taken on trust,
its lost rows unseen). Repeats are read where the clock ticks finer than the rows
(``timebase_steps.coarse_repeats``); a clock as coarse as the rows and a time that goes back are still
refused at their line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hipsense.formats.csv_input import CsvInputError, read_imu_csv
from hipsense.timebase import TimeBaseError, fit_clock
from hipsense.timebase_steps import coarse_repeats

FS = 208.0
START_MS = 1_767_225_600_000  # 2026-01-01 00:00:00 UTC


def _stalled(
    n: int, stall_s: float, every_s: float, *, tick_s: float, drop: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Stamps (s) of rows taken at FS and stamped 0-1 ms late on arrival by a logger whose thread
    stalls ``stall_s`` every ``every_s`` then reads its backlog at 20 us a row, on a clock of
    ``tick_s``; ``drop`` of the rows lost. And the kept rows' true numbers."""
    rng = np.random.default_rng(seed)
    true = np.arange(n) / FS
    t = true + rng.uniform(0, 0.001, n)
    for start in np.arange(every_s, true[-1], every_s):
        held = np.flatnonzero((true >= start) & (true < start + stall_s))
        t[held] = start + stall_s + 20e-6 * np.arange(len(held))
    keep = rng.random(n) >= drop if drop else np.ones(n, dtype=bool)
    keep[0] = keep[-1] = True
    return (np.round(t / tick_s) * tick_s)[keep], np.flatnonzero(keep)


@pytest.mark.parametrize(("stall_s", "every_s"), [(0.02, 2.0), (0.05, 2.0), (0.08, 2.0), (0.05, 0.5)])
def test_a_backlog_stamped_to_the_ms_is_placed_row_by_row(stall_s, every_s):
    # refused before: "time does not increase after row 416"
    t, number = _stalled(20_000, stall_s, every_s, tick_s=0.001)
    assert (np.diff(t) == 0).any()
    clock = fit_clock(t)
    assert (clock.run == 0).all()
    assert clock.rate_hz == pytest.approx(FS, rel=1e-4)
    assert np.abs(clock.index - number).max() <= 1


@pytest.mark.parametrize("seed", range(4))
def test_stalls_of_a_sixth_of_the_rows_spacing_do_not_run_the_rate_away(seed):
    # 80 ms stalls every 2 s (17 rows late in 416) with 0.5 % of the rows lost, stamps to 10 us.
    # Counting each stall's periods sped the first fitted clock up 4 %, which drifts the side means
    # of 16 rows apart by more than a lost row's shift: rows were gained all along the file, 208.1-208.5
    # Hz with rows 20-103 periods off (seed 8538 periods off at 243 Hz on a 1 ms clock). Now the
    # stalls' rows are given back before anything is gained.
    t, number = _stalled(49_920, 0.08, 2.0, tick_s=1e-5, drop=0.005, seed=seed)
    clock = fit_clock(t)
    assert (clock.run == 0).all()
    assert clock.rate_hz == pytest.approx(FS, rel=2e-4)
    off = clock.index - (number - number[0])
    assert np.abs(off).max() <= 6


@pytest.mark.parametrize(
    ("steps_ms", "coarse"),
    [
        ([4, 5, 0, 0, 6, 5, 5], False),  # a 1 ms clock at 208 Hz: rows read at once
        ([10, 0, 0, 10, 0, 10, 0], True),  # a 10 ms clock at 208 Hz: repeats every few rows
        ([1, 0, 2, 1, 1, 0, 1], True),  # a 1 ms clock at 1000 Hz: as coarse as the rows
        ([0, 0, 0], True),  # nothing moves
        ([5, 5, 5], False),  # no repeat
    ],
)
def test_repeats_are_a_backlog_only_on_a_clock_finer_than_the_rows(steps_ms, coarse):
    d = np.asarray(steps_ms, dtype=float) / 1000
    assert coarse_repeats(d) is coarse
    # decimal stamps' float rounding makes no tick: 10 ms steps differ by 1e-18 s here and there
    noisy = np.where(d > 0, d + np.resize([0.0, 2e-18, -2e-18], len(d)), 0.0)
    assert coarse_repeats(noisy) is coarse


def test_a_time_that_goes_back_is_still_refused():
    with pytest.raises(TimeBaseError, match="time does not increase after row 2"):
        fit_clock([0.0, 0.005, 0.010, 0.009, 0.015])


def _csv(path: Path, stamps_ms: np.ndarray) -> Path:
    n = len(stamps_ms)
    rng = np.random.default_rng(3)
    w = 2 * np.pi * 2.8 * np.arange(n) / FS
    acc = np.stack([1.2 * np.sin(w / 2), 9.81 + 4.0 * np.sin(w), 1.5 * np.cos(w)], axis=1)
    acc += rng.normal(0, 0.05, acc.shape)
    gyr = np.stack([40 * np.sin(w / 2), 25 * np.cos(w / 2), 60 * np.sin(w / 2 + 0.4)], axis=1)
    rows = [
        f"{s:.3f},{','.join(f'{v:.4f}' for v in (*a, *g))}"
        for s, a, g in zip(stamps_ms, acc, gyr, strict=True)
    ]
    header = "t_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_a_ms_logger_that_stalls_is_read_and_says_so(tmp_path):
    # UNIX ms stamps from a logger stalling 50 ms every 2 s: refused before at the first backlog
    # ("time goes backwards or repeats (t_s 1.76723e+12 then 1.76723e+12); 2% of steps are 0 ...")
    t, _ = _stalled(12_480, 0.05, 2.0, tick_s=0.001)
    rec = read_imu_csv(_csv(tmp_path / "pc-logger.csv", START_MS + np.rint(t * 1000)))
    assert rec.sample_rate_hz == pytest.approx(FS, rel=1e-4)
    assert len(rec.data) == 12_480 and rec.quality.filled_samples == 0
    assert rec.quality.start_time_unix == START_MS // 1000
    repeats = int((np.diff(np.rint(t * 1000)) == 0).sum())
    assert f"t_s repeats the row before's at {repeats} rows" in " ".join(rec.notes)


def test_a_coarse_clock_is_refused_at_its_line_and_a_row_written_twice_is_a_sample_more(tmp_path):
    t = np.arange(2000) / FS
    coarse = _csv(tmp_path / "coarse.csv", START_MS + np.floor(t * 100) * 10)  # a 10 ms clock
    with pytest.raises(CsvInputError) as e:
        read_imu_csv(coarse)
    assert "at line 3" in str(e.value) and "stamps coarser than the samples" in str(e.value)
    stamps = START_MS + np.round(t * 1e6) / 1000  # to the us: a regular clock
    rec = read_imu_csv(_csv(tmp_path / "twice.csv", np.insert(stamps, 1001, stamps[1000])))
    assert len(rec.data) == 2001 and rec.sample_rate_hz == pytest.approx(FS, rel=1e-3)
    assert "t_s repeats the row before's at 1 row:" in " ".join(rec.notes)


def test_a_coarse_iso_clock_is_refused_with_its_date_times(tmp_path):
    # ISO 8601 stamps to the second at 208 Hz: the refusal showed them as UNIX seconds (1.79289e+09)
    t = 1_792_886_400 + np.arange(2000) / FS
    stamps = pd.to_datetime(np.floor(t), unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path / "iso.csv"
    pd.DataFrame({"t_s": stamps, "acc_x": 0.1, "acc_y": 9.81, "acc_z": 0.2}).to_csv(path, index=False)
    with pytest.raises(CsvInputError) as e:
        read_imu_csv(path)
    assert "(t_s 2026-10-25T00:00:00Z then 2026-10-25T00:00:00Z)" in str(e.value)
    assert "stamps coarser than the samples" in str(e.value)
