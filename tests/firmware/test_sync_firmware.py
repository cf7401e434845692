"""The firmware's sync code (protocol.py, sync.py, link_usb.py) on MicroPython against the golden vectors.

Runs tests/firmware/mp/mpsync_vectors.py once in one interpreter with tests/vectors/sync/frames.json
and the session vectors it names copied to /vectors; each of its test functions is one pytest test.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.mpy.harness import run_micropython, unavailable_reason  # noqa: E402

MODULE = ROOT / "tests" / "firmware" / "mp" / "mpsync_vectors.py"
VECTORS = ROOT / "tests" / "vectors"
NAMES = [
    n.name
    for n in ast.parse(MODULE.read_text()).body
    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test_")
]

pytestmark = pytest.mark.firmware


@pytest.fixture(scope="module")
def results() -> dict:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    frames = VECTORS / "sync" / "frames.json"
    sessions = json.loads(frames.read_text())["device"]["sessions"].values()
    out = run_micropython(
        "import mp_unittest\nawait mp_unittest.run_module('mpsync_vectors')\n",
        files=[
            (MODULE, "/tests/mpsync_vectors.py"),
            (ROOT / "tests" / "mpy" / "mp_unittest.py", "/tests/mp_unittest.py"),
            (frames, "/vectors/frames.json"),
            *[(VECTORS / name, f"/vectors/{name}") for name in sessions],
        ],
        sys_path=["/tests"],
    ).stdout
    return {
        r["name"]: r
        for r in (
            json.loads(line[len("@@RESULT ") :]) for line in out.splitlines() if line.startswith("@@RESULT ")
        )
    }


@pytest.mark.parametrize("name", NAMES)
def test_firmware_sync(results: dict, name: str):
    assert name in results, f"{name} did not report (crashed earlier?)"
    assert results[name]["ok"], results[name]["tb"]
