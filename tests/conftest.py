"""Shared fixtures. Tests that read the real recordings in ../shared/data skip cleanly without them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# Property tests: in CI (.ci/run exports CI) every run replays the same examples, so its result depends
# on the code alone; local runs draw new ones and may find a new case (pin each as an @example). A
# random CI example once failed a tolerance that did not count float64 rounding (test_timebase).
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def _shared_data() -> Path | None:
    env = os.environ.get("HIPSENSE_SHARED_DATA")
    path = Path(env) if env else ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real recordings; the test is skipped when it is absent."""
    path = _shared_data()
    if path is None:
        pytest.skip("../shared/data is absent (real recordings are not part of the repository)")
    return path
