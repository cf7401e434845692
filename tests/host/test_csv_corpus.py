"""The foreign-CSV corpus (tests/vectors/csv): other loggers' conventions, each with its expected
outcome written here by hand from how the file was made (tests/vectors/csv/make_corpus.py), not from
what the reader returned."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hipsense.formats.csv_input import CsvInputError, read_imu_csv

CORPUS = Path(__file__).resolve().parents[1] / "vectors" / "csv"

# name: (options, rate Hz, segments, [(gap start s, gap s, samples)], filled, missing, nan cells, start)
GOOD = {
    "exact_100hz.csv": ({}, 100.0, [[0, 600]], [], 0, 0, 0, None),
    "rounded_208hz.csv": ({}, 208.0, [[0, 832]], [], 0, 0, 0, None),
    "jitter_1ms.csv": ({}, 100.0, [[0, 600]], [], 0, 0, 0, None),
    "dropped_rows.csv": ({}, 100.0, [[0, 600]], [], 3, 3, 0, None),
    "gap_2s.csv": ({}, 100.0, [[0, 400], [400, 700]], [(3.99, 2.0, 200)], 0, 200, 0, None),
    "clock_ms.csv": ({}, 100.0, [[0, 600]], [], 0, 0, 0, None),
    "unix_ms.csv": ({}, 100.0, [[0, 600]], [], 0, 0, 0, 1_767_225_600.0),
    "unix_us.csv": ({}, 100.0, [[0, 600]], [], 0, 0, 0, 1_767_225_601.5),
    "preamble.csv": ({}, 100.0, [[0, 600]], [], 0, 0, 0, None),
    "semicolon_decimal_comma.csv": ({"acc_unit": "g"}, 100.0, [[0, 600]], [], 0, 0, 0, None),
    "nan_cells.csv": ({}, 100.0, [[0, 600]], [], 3, 3, 3, None),
    "nan_run.csv": ({}, 100.0, [[0, 300], [300, 570]], [(2.99, 0.3, 30)], 0, 30, 90, None),
    "gyro_rad_s.csv": ({"gyr_unit": "rad/s"}, 100.0, [[0, 600]], [], 0, 0, 0, None),
}

# name: (line or None, words of the one-line error)
BAD = {
    "gyro_rad_s.csv": (None, "is it in rad/s? then give --gyr-unit rad/s"),
    "huge_value.csv": (125, "column 'gyr_y' has 1e+300 deg/s"),
    "acc_huge.csv": (9, "column 'acc_z' has 1e+300 m/s^2 (read in m/s^2), beyond what any IMU reports"),
    "gyro_x1e6.csv": (2, "column 'gyr_x' has 1.68294e+07 deg/s"),  # 20 sin(1) deg/s x 1e6
    "year_10000.csv": (None, "as UNIX time the year 10000"),
    "ambiguous_step.csv": (None, "median step 0.25 gives 4 Hz in s"),
    "time_repeats.csv": (82, "time goes backwards or repeats (t_s 0.79 then 0.79)"),
    "unknown_header.csv": (None, "the file starts: 'Logger X export' | 'time,ax,ay,az'"),
}


def test_the_corpus_is_what_its_script_makes(tmp_path):
    """Committed files and generator agree, so the corpus can be rebuilt and reviewed as code."""
    subprocess.run([sys.executable, str(CORPUS / "make_corpus.py"), str(tmp_path)], check=True)
    made = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert made == sorted(p.name for p in CORPUS.glob("*.csv"))
    assert set(GOOD) | set(BAD) == set(made)
    for name in made:
        assert (tmp_path / name).read_bytes() == (CORPUS / name).read_bytes(), name
        assert (CORPUS / name).stat().st_size < 50_000
    assert sum(p.stat().st_size for p in CORPUS.iterdir()) < 1_000_000


@pytest.mark.parametrize("name", sorted(GOOD))
def test_a_foreign_csv_reads_as_expected(name):
    options, rate, segments, gaps, filled, missing, nan_cells, start = GOOD[name]
    rec = read_imu_csv(CORPUS / name, **options)
    q = rec.quality
    assert rec.sample_rate_hz == pytest.approx(rate, abs=2e-3)
    assert q.sample_rate_hz == pytest.approx(rate, abs=2e-3)
    assert rec.segments.tolist() == segments
    assert [(g.start_s, g.duration_s, g.missing_samples) for g in q.gaps] == [
        (pytest.approx(s, abs=1e-6), pytest.approx(d, abs=1e-6), m) for s, d, m in gaps
    ]
    assert (q.filled_samples, q.missing_samples, q.nan_cells) == (filled, missing, nan_cells)
    assert rec.start_time_unix == (None if start is None else pytest.approx(start, abs=1e-3))
    assert rec.data["t_s"].iloc[0] == 0.0
    # durations add up exactly: elapsed = recorded + gaps
    assert rec.recorded_time_s + q.gap_time_s == pytest.approx(rec.elapsed_time_s, abs=1e-9)
    assert rec.data["acc_z"].iloc[0] == pytest.approx(9.807, abs=2e-3)  # 1 g at t = 0, in m/s^2


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_foreign_csv_is_one_line(name):
    line, words = BAD[name]
    with pytest.raises(CsvInputError) as info:
        read_imu_csv(CORPUS / name)
    text = str(info.value)
    assert words in text and "\n" not in text and str(CORPUS / name) in text
    assert info.value.offset == line


@pytest.mark.parametrize("name", sorted(BAD))
def test_hipsense_analyze_refuses_it_in_one_line_and_writes_nothing(name, tmp_path):
    steps, summary = tmp_path / "steps.csv", tmp_path / "summary.json"
    proc = subprocess.run(
        [sys.executable, "-m", "hipsense.cli", "analyze", str(CORPUS / name), "--steps-out", str(steps),
         "--summary-out", str(summary)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "Warning" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert BAD[name][1] in proc.stderr.replace("\n", "")
    assert not steps.exists() and not summary.exists()


def test_hipsense_import_stores_none_of_them(tmp_path):
    """Import of every bad file at once: each fails with its own line, nothing is kept."""
    import os

    home = tmp_path / "home"
    proc = subprocess.run(
        [sys.executable, "-m", "hipsense.cli", "import", *(str(CORPUS / n) for n in sorted(BAD))],
        capture_output=True, text=True, timeout=300, env={**os.environ, "HIPSENSE_HOME": str(home)},
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    failed = [line for line in proc.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == len(BAD)
    for name, (_, words) in BAD.items():
        assert any(name in line and words in line for line in failed), name
    assert not any((home / "raw").iterdir()) if (home / "raw").exists() else True
