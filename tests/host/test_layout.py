"""The code's layout keeps the data flow readable: no import circles, no overlong modules without a reason,
and the layers of docs/code-layout.md import only downwards."""

from __future__ import annotations

import ast
from pathlib import Path

HOST = Path(__file__).resolve().parents[2] / "host"
PACKAGE = HOST / "hipsense"

#: Modules allowed over MAX_LINES, each with the reason (docs/code-layout.md).
LONG_MODULES = {
    "hipsense.trends.flags": "five flag rules with their wording and references; each rule is short",
    "hipsense.export.schema": "the data dictionary itself: one Column per exported field",
    "hipsense.gait.events": "one detector class; half of it is its numpydoc (method, references, deviations)",
    "hipsense.gait.sides": "one detector class; half of it is its numpydoc (running and walking rules, chain)",
    "hipsense.metrics": "the registry itself: one declarative Metric per step column, no logic between them",
}
MAX_LINES = 400


def _module_name(path: Path) -> str:
    rel = path.relative_to(HOST).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (anywhere in the file: top level, functions, TYPE_CHECKING)."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                while t and t not in modules:  # `import hipsense.gait.metrics as m` -> that module
                    t = t.rpartition(".")[0]
                if t and t != name and t.startswith("hipsense"):
                    graph[name].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    found = cycles(import_graph())
    assert found == [], "import circles (docs/code-layout.md says who may import whom): " + "; ".join(
        " <-> ".join(c) for c in found
    )


def test_the_cycle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_lower_layers_do_not_import_upper_ones():
    """The stages of docs/code-layout.md: formats and gait know nothing of the store, trends, reports,
    sync or the command line; sync knows nothing of the store."""
    graph = import_graph()
    rules = {
        "hipsense.formats": (
            "hipsense.store",
            "hipsense.library",
            "hipsense.trends",
            "hipsense.report",
            "hipsense.cli",
        ),
        "hipsense.gait": (
            "hipsense.analysis",
            "hipsense.store",
            "hipsense.library",
            "hipsense.report",
            "hipsense.cli",
        ),
        "hipsense.recording": ("hipsense.analysis", "hipsense.store", "hipsense.formats"),
        "hipsense.metrics": ("hipsense.analysis", "hipsense.store", "hipsense.report"),
        "hipsense.store": ("hipsense.analysis", "hipsense.library", "hipsense.trends", "hipsense.report"),
        "hipsense.sync": ("hipsense.store", "hipsense.library", "hipsense.cli"),
    }
    broken = [
        f"{m} imports {t}"
        for m, targets in graph.items()
        for layer, banned in rules.items()
        if m == layer or m.startswith(layer + ".")
        for t in targets
        if any(t == b or t.startswith(b + ".") for b in banned)
    ]
    assert broken == []


def test_modules_are_short_or_say_why():
    long = {
        name: len(path.read_text().splitlines())
        for name, path in _modules().items()
        if len(path.read_text().splitlines()) > MAX_LINES
    }
    unexplained = {m: n for m, n in long.items() if m not in LONG_MODULES}
    assert unexplained == {}, (
        f"modules over {MAX_LINES} lines without a reason in LONG_MODULES: {unexplained}"
    )
