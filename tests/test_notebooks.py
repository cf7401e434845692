"""The notebooks run from a clean state on a real kernel and are committed without outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"clear the outputs of {path.name}"


def _execute(path: Path, folder: Path):
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        book, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, when one fails
    return book


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_from_a_clean_state(path, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' temporary folders go where pytest cleans
    book = _execute(path, tmp_path)
    figures = [
        out
        for cell in book.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if "image/png" in out.get("data", {})
    ]
    assert figures, f"{path.name} drew no figure"


def test_reference_notebook_falls_back_to_a_simulated_run(tmp_path, monkeypatch):
    monkeypatch.setenv("HIPSENSE_SHARED_DATA", str(tmp_path / "absent"))  # the kernel inherits it
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    book = _execute(next(p for p in NOTEBOOKS if p.name.startswith("03")), tmp_path)
    printed = "".join(out.get("text", "") for cell in book.cells for out in cell.get("outputs", []))
    assert "simulated run" in printed


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_notebooks_are_ruff_clean(args):
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff not installed: pip install -e '.[dev]'")
    proc = subprocess.run(
        [str(ruff), *args, "notebooks"], capture_output=True, text=True, cwd=NOTEBOOKS[0].parent.parent
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
