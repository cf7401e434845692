"""A hostile central against the firmware's sync server, on the real MicroPython interpreter.

Runs tests/firmware/mp/mpredteam_sync.py once in one interpreter; each of its test functions is one
pytest test: AUTH brute force across reconnects (the back-off in pairing.Pairing), out-of-range ids,
offsets and lengths, oversized, broken and split frames, and memory after 10,000 hostile frames.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.mpy.harness import mp_test_names, run_test_module, unavailable_reason  # noqa: E402

MODULE = ROOT / "tests" / "firmware" / "mp" / "mpredteam_sync.py"

pytestmark = pytest.mark.firmware


@pytest.fixture(scope="module")
def results() -> dict:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    return run_test_module(MODULE, files=[(p, f"/tests/{p.name}") for p in (MODULE.parent).glob("mp_*.py")])


@pytest.mark.parametrize("name", mp_test_names(MODULE))
def test_firmware_against_a_hostile_central(results: dict, name: str):
    assert name in results, f"{name} did not report (crashed earlier?)"
    assert results[name]["ok"], results[name]["tb"]
