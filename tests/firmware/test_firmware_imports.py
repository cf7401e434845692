"""The firmware's import graph has no cycles (issue 13 item 6).

Every ``firmware/*.py`` is parsed with ``ast``; an edge runs from a module to every firmware module
it imports, at top level or inside a function (``import x``, ``import x as y``, ``from x import y``).
MicroPython resolves imports at run time, so an import inside a function still ties the two modules
together and counts. Modules that are not in ``firmware/`` (``micropython``, ``machine``, ``asyncio``)
are not nodes.
"""

from __future__ import annotations

import ast
from pathlib import Path

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"


def imported_modules(source: str) -> set[str]:
    """Top-level names of every module ``source`` imports (relative imports are not used on the device)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def import_graph(folder: Path) -> dict[str, set[str]]:
    """``{module: firmware modules it imports}`` for every ``*.py`` directly in ``folder``."""
    sources = {p.stem: p.read_text() for p in sorted(folder.glob("*.py"))}
    return {name: imported_modules(src) & sources.keys() - {name} for name, src in sources.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None (depth-first search, colours white/grey/black)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_firmware_import_graph_has_no_cycle():
    graph = import_graph(FIRMWARE)
    assert len(graph) >= 15, sorted(graph)  # the whole firmware was read, not an empty folder
    cycle = find_cycle(graph)
    assert cycle is None, "firmware import cycle: " + " -> ".join(cycle or [])


def test_the_drivers_import_only_the_shared_interface():
    # The split that removed the imu <-> driver circle: drivers see imu_base, imu.py sees the drivers.
    graph = import_graph(FIRMWARE)
    for driver in ("imu_lsm6dsox", "imu_icm42688"):
        assert graph[driver] == {"imu_base"}, (driver, graph[driver])
    assert {"imu_lsm6dsox", "imu_icm42688", "imu_base"} <= graph["imu"]


def test_cycle_finder_finds_cycles(tmp_path):
    # The check can fail: two modules importing each other (one inside a function) and a longer ring.
    (tmp_path / "a.py").write_text("import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from a import x\n")
    (tmp_path / "c.py").write_text("import micropython\nimport a as alias\n")
    graph = import_graph(tmp_path)
    assert graph == {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert find_cycle(graph) == ["a", "b", "a"]
    ring = {"x": {"y"}, "y": {"z"}, "z": {"x"}, "w": {"x"}}
    assert find_cycle(ring) == ["x", "y", "z", "x"]
    assert find_cycle({"x": {"y"}, "y": set(), "z": {"x", "y"}}) is None
