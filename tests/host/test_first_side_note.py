"""``first_side`` ("--first-side") states the first foot where the signals cannot tell. With a gyroscope
the side signal decides every step and the statement is not used: before, silently (red-team F25,
session 13); now the analysis says so in a note."""

from __future__ import annotations

import pytest

from hipsense.analysis import analyse
from hipsense.formats.load import load_recording
from hipsense.sim import scenarios, simulate_run


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("first-side") / "run.hsn"
    simulate_run(scenarios.steady_run(duration_s=30.0, seed=4)).write_device_file(path)
    return load_recording(path)


def test_a_first_side_the_gyroscope_overrules_is_said_to_be_unused(recording):
    said = analyse(recording, first_side="R", n_boot=50)
    assert said.quality.side_source == "gyroscope"
    assert "the first side given (R) was not used: the gyroscope tells each step's side" in said.notes
    plain = analyse(recording, n_boot=50)
    assert not any("first side" in note for note in plain.notes)
    # the sides are the gyroscope's either way
    assert list(said.steps["side"]) == list(plain.steps["side"])
