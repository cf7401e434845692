"""Run firmware code on the real MicroPython interpreter (the official WebAssembly port under Node).

The firmware tree is mounted at ``/fw`` and the test-only fakes (``machine``, ``bluetooth``, IMU chip
models) at ``/fakes``; ``/fakes`` comes first on ``sys.path`` so ``import machine`` finds the fake.
Code runs through ``runPythonAsync``, so it may use top-level ``await`` (the WebAssembly build has no
``asyncio.run``: its event loop is JavaScript's).
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "mpy" / "runner.mjs"
FIRMWARE = ROOT / "firmware"
FAKES = ROOT / "tests" / "firmware" / "fakes"
MP_PACKAGE = ROOT / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
MP_UNITTEST = ROOT / "tests" / "mpy" / "mp_unittest.py"


class MicroPythonError(AssertionError):
    """The code raised inside MicroPython; the message is MicroPython's own traceback."""


@dataclass
class MicroPythonResult:
    stdout: str
    stderr: str


def unavailable_reason() -> str | None:
    """Why the interpreter cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "Node.js is not installed (needed for the MicroPython WebAssembly port)"
    if not MP_PACKAGE.exists():
        return "npm package @micropython/micropython-webassembly-pyscript missing: run `npm ci`"
    return None


def make_job(
    code: str, *, files: Iterable[tuple[Path | str, str]], sys_path: Iterable[str], heapsize: int
) -> dict:
    """A job for runner.mjs / bridge.mjs: the firmware at ``/fw`` and the fakes at ``/fakes`` (on
    ``sys.path`` after ``sys_path``), ``files`` (host path, MicroPython path) copied in, ``code`` to run."""
    return {
        "mounts": [[str(FIRMWARE), "/fw"], [str(FAKES), "/fakes"]],
        "files": [[str(h), m] for h, m in files],
        "sys_path": [*sys_path, "/fakes", "/fw"],
        "code": code,
        "heapsize": heapsize,
    }


def run_micropython(
    code: str,
    *,
    files: Iterable[tuple[Path | str, str]] = (),
    export: Iterable[tuple[str, Path | str]] = (),
    sys_path: Iterable[str] = (),
    heapsize: int = 32 * 1024 * 1024,
    timeout: float = 600,
) -> MicroPythonResult:
    """Run ``code`` on MicroPython with the firmware and fakes mounted.

    ``files`` are (host path, MicroPython path) pairs copied in before the run; ``export`` are
    (MicroPython path, host path) pairs copied out after it. Raises :class:`MicroPythonError` with
    MicroPython's traceback when the code raises. ``sys_path`` entries come
    before ``/fakes`` and ``/fw``.
    """
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    job = make_job(code, files=files, sys_path=sys_path, heapsize=heapsize)
    job["export"] = [[m, str(h)] for m, h in export]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(job, fh)
        job_path = fh.name
    try:
        proc = subprocess.run(
            ["node", str(RUNNER), job_path], capture_output=True, text=True, timeout=timeout, cwd=ROOT
        )
    finally:
        Path(job_path).unlink(missing_ok=True)
    if proc.returncode == 1:
        raise MicroPythonError(
            f"MicroPython raised:\n{_readable(proc.stderr)}\n--- stdout ---\n{proc.stdout}"
        )
    if proc.returncode != 0:
        raise RuntimeError(f"MicroPython harness failed ({proc.returncode}):\n{_readable(proc.stderr)}")
    return MicroPythonResult(proc.stdout, proc.stderr)


def mp_test_names(module: Path) -> list[str]:
    """The ``test_*`` functions of a MicroPython test module, read from its source (no interpreter run)."""
    return [
        node.name
        for node in ast.parse(module.read_text()).body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
    ]


def run_test_module(
    module: Path, *, files: Iterable[tuple[Path | str, str]] = (), heapsize: int = 32 * 1024 * 1024
) -> dict[str, dict]:
    """Run every test function of ``module`` with tests/mpy/mp_unittest.py in one interpreter.

    The module goes to ``/tests`` (on ``sys.path``) beside mp_unittest; ``files`` are more (host path,
    MicroPython path) pairs to copy in. Returns ``{name: {"name", "ok", "tb"}}`` from the ``@@RESULT`` lines; a test missing from it did not
    report (the module crashed before it). Raises :class:`MicroPythonError` when the module itself raised.
    """
    out = run_micropython(
        f"import mp_unittest\nawait mp_unittest.run_module({module.stem!r})\n",
        files=[(module, f"/tests/{module.name}"), (MP_UNITTEST, "/tests/mp_unittest.py"), *files],
        sys_path=["/tests"],
        heapsize=heapsize,
    ).stdout
    results = (
        json.loads(line[len("@@RESULT ") :]) for line in out.splitlines() if line.startswith("@@RESULT ")
    )
    return {r["name"]: r for r in results}


def _readable(stderr: str) -> str:
    # Node echoes the offending source line on an uncaught error; in the minified WebAssembly glue that
    # line is hundreds of kilobytes, so long lines are cut to their ends.
    return "\n".join(
        line if len(line) <= 400 else f"{line[:150]} [...] {line[-150:]}" for line in stderr.splitlines()
    )
