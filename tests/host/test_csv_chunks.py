"""The CSV reader reads in chunks (bounded memory): the same recording, the same errors, whatever the
chunk size and whether the file is parsed once or twice (docs/csv-input.md, "Memory").

The reference is the whole file parsed at once and put on its clock directly with the time base
(:mod:`hipsense.timebase`), as the reader did before it read in chunks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hipsense.conventions import TIME_COLUMN
from hipsense.formats.csv_input import CsvInputError, read_imu_csv
from hipsense.time_units import seconds_from
from hipsense.timebase import fit_clock, place_on_grid

CORPUS = Path(__file__).resolve().parents[1] / "vectors" / "csv"
#: Corpus files with gaps, filled holes, empty cells, a preamble, a decimal comma, ms and UNIX clocks.
FILES = {
    "gap_2s.csv": {},
    "nan_run.csv": {},
    "nan_cells.csv": {},
    "dropped_rows.csv": {},
    "preamble.csv": {},
    "semicolon_decimal_comma.csv": {"acc_unit": "g"},
    "unix_ms.csv": {},
    "jitter_1ms.csv": {},
}
#: Small enough that chunk edges fall inside the gaps and runs of empty rows (7 is prime: the edges
#: move against the 100 Hz rows); one pass (every value kept) and two passes (the file read again).
WAYS = [(7, 10**9), (7, 0), (64, 0)]


def _whole_file(path: Path, header: int, sep: str, **opts) -> tuple[pd.DataFrame, np.ndarray]:
    """The samples on their grid, from one pandas read of the whole file and the time base."""
    table = pd.read_csv(
        path, sep=sep, skiprows=header, dtype=np.float64, skipinitialspace=True,
        keep_default_na=False, na_values=["", "nan", "NaN"], decimal="," if sep != "," else ".",
    )  # fmt: skip
    table.columns = [str(c).strip() for c in table.columns]
    scale = 9.80665 if opts.get("acc_unit") == "g" else 1.0
    seconds, _, _ = seconds_from(table[TIME_COLUMN].to_numpy(), "auto")
    clock = fit_clock(seconds)
    channels = [c for c in table.columns if c != TIME_COLUMN]
    valid = ~table[channels].isna().any(axis=1).to_numpy()
    grid = place_on_grid(
        clock.run, clock.index, clock.run_start_s, clock.rate_hz, valid=valid, max_fill=clock.max_fill
    )
    data = {TIME_COLUMN: grid.times_s}
    for c in channels:
        # the recording's channels are float32 (recording.py, "Precision"): its filled holes are
        # interpolated between the float32 neighbours
        si = (table[c].to_numpy() * (scale if c.startswith("acc_") else 1.0)).astype(np.float32)
        data[c] = grid.take(si).astype(np.float32)
    return pd.DataFrame(data), grid.segments


def _header(path: Path) -> tuple[int, str]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    i = next(i for i, line in enumerate(lines) if "acc_x" in line or "acc_is" in line)
    return i, ";" if ";" in lines[i] and "," not in lines[i] else ","


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.data, b.data, check_exact=True)
    np.testing.assert_array_equal(a.segments, b.segments)
    assert (a.filled is None) == (b.filled is None)
    if a.filled is not None:
        np.testing.assert_array_equal(a.filled, b.filled)
    assert a.quality == b.quality and a.notes == b.notes
    assert (a.sample_rate_hz, a.start_time_unix, a.frame) == (b.sample_rate_hz, b.start_time_unix, b.frame)


@pytest.mark.parametrize("name", sorted(FILES))
def test_chunks_give_the_recording_of_the_whole_file(name):
    path = CORPUS / name
    header, sep = _header(path)
    data, segments = _whole_file(path, header, sep, **FILES[name])
    whole = read_imu_csv(path, **FILES[name], chunk_rows=10**6)
    pd.testing.assert_frame_equal(whole.data, data, check_exact=True)
    np.testing.assert_array_equal(whole.segments, segments)
    for chunk_rows, keep_rows in WAYS:
        _same(read_imu_csv(path, **FILES[name], chunk_rows=chunk_rows, keep_rows=keep_rows), whole)


def test_the_corpus_has_what_the_chunks_must_split():
    """The files above hold gaps, filled holes and empty cells (else the test above proves little)."""
    recs = {name: read_imu_csv(CORPUS / name, **opts) for name, opts in FILES.items()}
    assert len(recs["gap_2s.csv"].quality.gaps) == 1 and len(recs["nan_run.csv"].quality.gaps) == 1
    assert (
        recs["nan_cells.csv"].quality.nan_cells == 3 and recs["dropped_rows.csv"].quality.filled_samples == 3
    )


def test_a_long_simulated_file_with_holes_and_gaps_reads_the_same_in_chunks(tmp_path):
    rng = np.random.default_rng(7)
    n = 20_000
    t = np.arange(n) / 208.0
    t[12_000:] += 3.0  # a pause: a gap
    keep = np.ones(n, bool)
    keep[rng.choice(n, 40, replace=False)] = False  # dropped rows: filled holes
    acc = rng.normal(0, 3, (n, 3)) + [0, 0, 9.81]
    gyr = rng.normal(0, 80, (n, 3))
    frame = pd.DataFrame(
        np.column_stack([t, acc, gyr]), columns=["t_s", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
    )
    frame.loc[rng.choice(n, 25, replace=False), "gyr_y"] = np.nan  # empty cells
    frame.loc[5000:5100, ["acc_x", "gyr_z"]] = np.nan  # a run of empty cells longer than the fill limit
    path = tmp_path / "long.csv"
    frame[keep].to_csv(path, index=False, float_format="%.9g", na_rep="")
    whole = read_imu_csv(path, chunk_rows=10**6)
    assert len(whole.quality.gaps) == 2 and whole.quality.filled_samples > 40 and whole.quality.nan_cells > 25
    for chunk_rows, keep_rows in [(997, 0), (997, 10**9), (4096, 0)]:
        _same(read_imu_csv(path, chunk_rows=chunk_rows, keep_rows=keep_rows), whole)


BAD = [
    "huge_value.csv",
    "acc_huge.csv",
    "gyro_x1e6.csv",
    "time_repeats.csv",
    "year_10000.csv",
    "ambiguous_step.csv",
]


@pytest.mark.parametrize("name", BAD)
def test_chunks_give_the_error_of_the_whole_file(name):
    with pytest.raises(CsvInputError) as whole:
        read_imu_csv(CORPUS / name, chunk_rows=10**6)
    for chunk_rows, keep_rows in WAYS:
        with pytest.raises(CsvInputError) as chunked:
            read_imu_csv(CORPUS / name, chunk_rows=chunk_rows, keep_rows=keep_rows)
        assert str(chunked.value) == str(whole.value)


def test_text_in_two_columns_names_the_first_column_whatever_the_chunks(tmp_path):
    rows = [f"{i / 100:.2f},0.1,0.2,9.8" for i in range(400)]
    rows[300] = "3.00,abc,0.2,9.8"  # acc_x: the first column, late in the file
    rows[20] = "0.20,0.1,xyz,9.8"  # acc_y: an earlier row, a later column
    path = tmp_path / "text.csv"
    path.write_text("t_s,acc_x,acc_y,acc_z\n" + "\n".join(rows) + "\n")
    messages = set()
    for chunk_rows, keep_rows in [(10**6, 10**9), *WAYS]:
        with pytest.raises(CsvInputError) as e:
            read_imu_csv(path, chunk_rows=chunk_rows, keep_rows=keep_rows)
        messages.add(str(e.value))
    assert messages == {f"{path} at line 302: column 'acc_x' has 'abc', not a number"}


def test_missing_words_read_as_text_give_the_same_recording_in_chunks(tmp_path):
    # " NaN " and "N/a" are not pandas' own spellings: the file goes through the text path
    rows = [f"{i / 100:.2f},0.1,0.2,9.8" for i in range(600)]
    rows[100] = "1.00, N/a ,0.2,9.8"
    rows[401] = "4.01,0.1,none,9.8"
    path = tmp_path / "words.csv"
    path.write_text("t_s,acc_x,acc_y,acc_z\n" + "\n".join(rows) + "\n")
    whole = read_imu_csv(path, chunk_rows=10**6)
    assert whole.quality.nan_cells == 2 and whole.quality.filled_samples == 2
    for chunk_rows, keep_rows in WAYS:
        _same(read_imu_csv(path, chunk_rows=chunk_rows, keep_rows=keep_rows), whole)


def test_a_chunk_size_that_is_no_row_count_is_refused():
    with pytest.raises(ValueError, match="chunk_rows"):
        read_imu_csv(CORPUS / "exact_100hz.csv", chunk_rows=0)


@pytest.mark.parametrize("change", ["append", "blank a cell"])
def test_a_file_that_changes_between_the_two_readings_is_refused(tmp_path, change):
    from hipsense.formats.csv_passes import Reading

    text = (CORPUS / "exact_100hz.csv").read_text()
    path = tmp_path / "moving.csv"
    path.write_text(text)
    header = text.splitlines()[0].split(",")
    wanted = [c for c in header if c != TIME_COLUMN]
    reading = Reading(path, 0, ",", {c: c for c in header}, 2, wanted, dict.fromkeys(wanted, 1.0), 50, 0)
    seen = reading.first_pass()
    block = np.empty((len(wanted), seen.rows))
    if change == "append":
        path.write_text(text + text.splitlines()[-1] + "\n")
    else:  # same size and modification time (a coarse clock): only the empty cell shows it
        before = path.stat()
        lines = text.splitlines()
        cells = lines[100].split(",")
        cells[1] = " " * len(cells[1])
        lines[100] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    with pytest.raises(CsvInputError, match="the file changed while it was read"):
        reading.second_pass(block, seen.holes > 0)
    # read once and kept, the values do not depend on the file any more
    path.write_text(text)
    kept = Reading(path, 0, ",", {c: c for c in header}, 2, wanted, dict.fromkeys(wanted, 1.0), 50, 10**9)
    seen = kept.first_pass()
    path.write_text(text + text.splitlines()[-1] + "\n")
    assert kept.second_pass(np.empty((len(wanted), seen.rows)), seen.holes > 0) == seen.rows


@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_the_magnitude_the_unit_checks_use_is_the_plain_formula_to_the_bit(k):
    from hipsense.formats.csv_values import magnitude

    rng = np.random.default_rng(k)
    cols = [rng.normal(0, 10, 10_001) for _ in range(k)]
    before = [c.copy() for c in cols]
    np.testing.assert_array_equal(magnitude(cols), np.sqrt(sum(c**2 for c in cols)))
    for c, b in zip(cols, before, strict=True):  # the columns (views of the recording) are left alone
        np.testing.assert_array_equal(c, b)
    assert magnitude([np.array([3, 0]), np.array([4, 2])]).tolist() == [5.0, 2.0]  # whole numbers too
