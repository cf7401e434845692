"""Collects the MicroPython unit tests (tests/firmware/mp/mptest_*.py) and runs them on MicroPython.

Each file runs once in a fresh interpreter; each of its ``test_*`` functions becomes one pytest item.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.mpy.harness import MicroPythonError, mp_test_names, run_test_module, unavailable_reason  # noqa: E402

HERE = Path(__file__).resolve().parent


def pytest_collect_file(file_path: Path, parent):
    if file_path.parent == HERE / "mp" and file_path.name.startswith("mptest_") and file_path.suffix == ".py":
        return MicroPythonFile.from_parent(parent, path=file_path)
    return None


class MicroPythonFile(pytest.File):
    _results: dict | None = None

    def results(self) -> dict:
        if self._results is None:
            try:
                self._results = run_test_module(
                    self.path,
                    files=[(p, f"/tests/{p.name}") for p in (HERE / "mp").glob("mp_*.py")],
                    heapsize=64 * 1024 * 1024,
                )
            except MicroPythonError as e:
                self._results = {"__module__": {"ok": False, "tb": str(e)}}
        return self._results

    def collect(self):
        # Names are read from the source so collection needs no interpreter run.
        for name in mp_test_names(self.path):
            yield MicroPythonItem.from_parent(self, name=name)


class MicroPythonItem(pytest.Item):
    def runtest(self):
        reason = unavailable_reason()
        if reason:
            if os.environ.get("CI"):  # CI must run the firmware on MicroPython, never skip it
                pytest.fail(reason)
            pytest.skip(reason)
        results = self.parent.results()
        if "__module__" in results:
            raise MicroPythonFailure(results["__module__"]["tb"])
        r = results.get(self.name)
        if r is None:
            raise MicroPythonFailure(f"{self.name} did not report a result (crashed earlier in the file?)")
        if not r["ok"]:
            raise MicroPythonFailure(r["tb"])

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, MicroPythonFailure):
            return f"MicroPython failure:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"[micropython] {self.name}"


class MicroPythonFailure(Exception):
    pass
