"""Every firmware file compiles with mpy-cross and type-checks against the ESP32-S3 MicroPython stubs."""

from __future__ import annotations

import importlib.metadata as md
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE_FILES = sorted((ROOT / "firmware").rglob("*.py"))
STUB_DISTS = ("micropython-esp32-esp32_generic_s3-stubs", "micropython-stdlib-stubs")


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} not installed: pip install -e '.[dev]'")
    return found


def test_firmware_tree_is_not_empty():
    assert FIRMWARE_FILES, "firmware/ has no Python files"


@pytest.mark.parametrize("path", FIRMWARE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_compiles_with_mpy_cross(path: Path, tmp_path: Path):
    out = tmp_path / (path.stem + ".mpy")
    proc = subprocess.run([_tool("mpy-cross"), "-o", str(out), str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0


@pytest.fixture(scope="module")
def stub_dir(tmp_path_factory) -> Path:
    """The ESP32-S3 stubs laid out as a typeshed (stdlib/ + top-level modules) for mypy."""
    out = tmp_path_factory.mktemp("esp32s3-stubs")
    for dist_name in STUB_DISTS:
        try:
            dist = md.distribution(dist_name)
        except md.PackageNotFoundError:
            pytest.skip(f"{dist_name} not installed: pip install -e '.[dev]'")
        for f in dist.files or ():
            if f.suffix == ".pyi" or f.name == "VERSIONS":
                dst = out / f
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(dist.locate_file(f), dst)
    return out


def test_typechecks_against_esp32s3_stubs(stub_dir: Path):
    env = {**os.environ, "MYPYPATH": os.pathsep.join([str(stub_dir), str(ROOT / "firmware")])}
    proc = subprocess.run(
        [
            _tool("mypy"),
            "--custom-typeshed-dir",
            str(stub_dir),
            "--no-site-packages",
            "--no-incremental",
            "--explicit-package-bases",
            "--check-untyped-defs",
            *map(str, FIRMWARE_FILES),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    # The stubs themselves carry a few redefinitions mypy dislikes; only our files' errors count.
    ours = [ln for ln in proc.stdout.splitlines() if ln.startswith("firmware") and ": error:" in ln]
    assert not ours, "\n".join(ours)
    assert "error: INTERNAL ERROR" not in proc.stdout + proc.stderr
