"""Long sessions in bounded memory: `analyse_file` builds no whole-session body frame (it is rotated window by
window on demand); its results are those of `analyse` on the same recording, bout for bout and step for step."""

from __future__ import annotations

import pandas as pd
import pytest

from hipsense.analysis import analyse, analyse_file
from hipsense.formats.load import load_recording
from hipsense.sim import scenarios, simulate_run


@pytest.fixture(scope="module")
def session_with_gaps(tmp_path_factory):
    """Walk, run, walk with a few short holes (filled) and two long gaps (three segments)."""
    run = simulate_run(scenarios.walk_run_walk(walk_s=40, run_s=150, seed=5))
    cut = run.losing((1 / 4, 3), (1 / 3, 2000), (2 / 3, 1500))  # a filled hole, two gaps of 7-10 s
    path = tmp_path_factory.mktemp("long") / "gaps.hsn"
    cut.write_device_file(path)
    return path


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.steps, b.steps, check_exact=True)
    pd.testing.assert_frame_equal(a.bouts, b.bouts, check_exact=True)
    pd.testing.assert_frame_equal(a.body, b.body, check_exact=True)
    assert a.summary.to_dict() == b.summary.to_dict()
    assert a.quality == b.quality and a.duration_s == b.duration_s and a.recorded_s == b.recorded_s


def test_analyse_file_gives_what_analyse_gives(session_with_gaps) -> None:
    recording = load_recording(session_with_gaps)
    assert len(recording.segments) == 3 and recording.filled is not None and recording.filled.any()
    kept = recording.data.copy()
    whole = analyse(recording)
    pd.testing.assert_frame_equal(recording.data, kept)  # analyse leaves the caller's recording alone
    assert whole.running_time_s > 100 and whole.walking_time_s > 30
    _same(analyse_file(session_with_gaps), whole)


def test_a_body_frame_file_is_not_copied_and_gives_the_same(session_with_gaps, tmp_path) -> None:
    body = analyse_file(session_with_gaps).body
    path = tmp_path / "body.csv"
    body.iloc[: len(body) // 3].to_csv(path, index=False)  # the first segment, in the body frame
    recording = load_recording(path)
    assert recording.frame == "body"
    _same(analyse_file(path), analyse(recording))
