"""Both trees (host and firmware) stay ruff clean, and the host package type-checks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> str:
    exe = Path(sys.executable).with_name("ruff")
    found = str(exe) if exe.exists() else shutil.which("ruff")
    if not found:
        pytest.skip("ruff not installed: pip install -e '.[dev]'")
    return found


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_clean(args):
    proc = subprocess.run(
        [_ruff(), *args, "host", "firmware", "tests", "benchmarks"], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_host_package_type_checks(tmp_path):
    # The host's type hints are checked, not only written (the firmware has its own check against the
    # ESP32-S3 stubs in tests/firmware/test_firmware_static.py).
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), "host/hipsense"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
