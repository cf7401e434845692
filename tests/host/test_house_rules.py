"""The suite's house rules (docs/testing.md), checked on every test file.

- every ``xfail`` is strict and says why (a non-strict xfail can never report the fix);
- no ``importorskip`` of the project's own modules (an import error would become a skip);
- no test asserts elapsed time (speed targets live in ``benchmarks/``, which print what they measure);
- a test that reads ``../shared/data`` goes through the ``shared_data`` fixture/marker or
  ``hipsense.datasets``, so it skips cleanly when the recordings are absent.

Each checker is also run on a small offending snippet, so a checker that finds nothing fails.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
# Clocks a speed assertion would read (CPython's time module and MicroPython's ticks).
CLOCKS = {"perf_counter", "perf_counter_ns", "time", "time_ns", "monotonic", "monotonic_ns", "process_time"}
CLOCKS |= {"ticks_ms", "ticks_us", "ticks_cpu"}
# Naming the folder, or reading the variable that moves it (setting it to an absent folder is fine).
SHARED_PATH = re.compile(
    r"""["']shared["']|shared/data|["']/work/shared|(environ\.get|environ\[|getenv)\(?["']HIPSENSE_SHARED_DATA"""
)
SHARED_OK = re.compile(r"\bshared_data\b|hipsense\.datasets|from hipsense import datasets")


def _test_sources() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _is_attr_call(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name


def xfail_offences(source: str) -> list[str]:
    """Every ``xfail`` that is not ``strict=True`` with a ``reason``; imperative ``pytest.xfail()`` too."""
    out = []
    tree = ast.parse(source)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "xfail"
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "mark"
            and id(node) not in called
        ):
            out.append(f"line {node.lineno}: bare xfail mark (no strict=True, no reason)")
        if not _is_attr_call(node, "xfail"):
            continue
        func = node.func
        assert isinstance(func, ast.Attribute)
        if not (isinstance(func.value, ast.Attribute) and func.value.attr == "mark"):
            out.append(f"line {node.lineno}: pytest.xfail() call (use a strict xfail mark)")
            continue
        kw = {k.arg: k.value for k in node.keywords}
        strict = kw.get("strict")
        if not (isinstance(strict, ast.Constant) and strict.value is True):
            out.append(f"line {node.lineno}: xfail without strict=True")
        if "reason" not in kw:
            out.append(f"line {node.lineno}: xfail without a reason")
    return out


def importorskip_offences(source: str) -> list[str]:
    """``importorskip`` of a hipsense module."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if _is_attr_call(node, "importorskip") and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and str(arg.value).split(".")[0] == "hipsense":
                out.append(f"line {node.lineno}: importorskip({arg.value!r}) of our own module")
    return out


def _reads_clock(node: ast.AST, timed: set[str]) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr in CLOCKS:
            return True
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in CLOCKS - {"time"}:
            return True
        if isinstance(sub, ast.Name) and sub.id in timed:
            return True
    return False


def timed_assert_offences(source: str) -> list[str]:
    """Asserts on a clock reading or on a name computed from one (within the same function)."""
    out = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        timed: set[str] = set()
        changed = True
        while changed:  # names derived from clock readings (t0 = perf_counter(); dt = perf_counter() - t0)
            changed = False
            for node in ast.walk(fn):
                if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and node.value is not None:
                    if _reads_clock(node.value, timed):
                        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                        for t in targets:
                            for name in ast.walk(t):
                                if isinstance(name, ast.Name) and name.id not in timed:
                                    timed.add(name.id)
                                    changed = True
        for node in ast.walk(fn):
            if isinstance(node, ast.Assert) and _reads_clock(node.test, timed):
                out.append(f"line {node.lineno}: assert on elapsed time (move it to benchmarks/)")
    return out


def shared_data_offence(source: str) -> str | None:
    """A file naming the shared recordings' folder without the fixture/marker or the datasets helpers."""
    if SHARED_PATH.search(source) and not SHARED_OK.search(source):
        return "reads ../shared/data without the shared_data fixture/marker or hipsense.datasets"
    return None


@pytest.mark.parametrize(
    "check", [xfail_offences, importorskip_offences, timed_assert_offences], ids=lambda f: f.__name__
)
def test_no_test_file_breaks_the_rule(check):
    this = Path(__file__).resolve()
    found = [
        f"{p.relative_to(TESTS.parent)} {msg}"
        for p in _test_sources()
        if p != this  # its own offending snippets are strings, but keep it out regardless
        for msg in check(p.read_text(encoding="utf-8"))
    ]
    assert not found, "\n".join(found)


def test_shared_data_goes_through_the_fixture_or_the_helpers():
    found = [
        f"{p.relative_to(TESTS.parent)}: {msg}"
        for p in _test_sources()
        if p != Path(__file__).resolve() and (msg := shared_data_offence(p.read_text(encoding="utf-8")))
    ]
    assert not found, "\n".join(found)


# --- the checkers find what they are meant to ----------------------------------------------------


def test_xfail_checker_flags_non_strict_and_reasonless_marks():
    bad = (
        "import pytest\n"
        "@pytest.mark.xfail(reason='x')\ndef test_a(): pass\n"
        "@pytest.mark.xfail(strict=True)\ndef test_b(): pass\n"
        "@pytest.mark.xfail(strict=False, reason='x')\ndef test_c(): pass\n"
        "def test_d():\n    pytest.xfail('later')\n"
        "@pytest.mark.xfail\ndef test_e(): pass\n"
    )
    assert len(xfail_offences(bad)) == 5
    good = "import pytest\n@pytest.mark.xfail(strict=True, reason='known: issue 7')\ndef test_a(): pass\n"
    assert xfail_offences(good) == []


def test_importorskip_checker_flags_only_our_modules():
    src = "import pytest\nx = pytest.importorskip('hipsense.formats.device_file')\ny = pytest.importorskip('dask')\n"
    assert importorskip_offences(src) == [
        "line 2: importorskip('hipsense.formats.device_file') of our own module"
    ]


def test_timed_assert_checker_follows_names_derived_from_a_clock():
    bad = (
        "import time\n"
        "def test_fast():\n"
        "    t0 = time.perf_counter()\n"
        "    work()\n"
        "    per_sample = (time.perf_counter() - t0) / 100\n"
        "    assert per_sample < 1e-3\n"
        "def test_direct():\n"
        "    assert time.time() - START < 2\n"
        "async def test_mp():\n"
        "    t = ticks_ms()\n"
        "    assert ticks_diff(ticks_ms(), t) < 5\n"
    )
    assert [m.split(":")[0] for m in timed_assert_offences(bad)] == ["line 6", "line 8", "line 11"]
    # A clock used to set a file's age, with asserts on other things, is fine.
    good = "import os, time\ndef test_age(p):\n    os.utime(p, (time.time() - 3600,) * 2)\n    assert p.exists()\n"
    assert timed_assert_offences(good) == []


def test_shared_data_checker():
    assert shared_data_offence("ROOT = Path('..') / 'shared' / 'data'\n") is not None
    assert shared_data_offence("def test_x(shared_data):\n    p = shared_data / 'a.csv'\n") is None
    assert shared_data_offence("from hipsense.datasets import dataset_dir\nd = '../shared/data'\n") is None
    assert shared_data_offence("d = os.environ.get('HIPSENSE_SHARED_DATA')\n") is not None
    assert shared_data_offence("monkeypatch.setenv('HIPSENSE_SHARED_DATA', str(tmp / 'absent'))\n") is None
    assert shared_data_offence("# a bug shared by encoder and decoder\n") is None
