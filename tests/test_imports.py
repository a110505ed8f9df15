"""The import graph of our packages has no cycle, counting imports inside function bodies too
(a cycle hidden in a function is still a cycle a reader has to untangle), and models/ does not
import pipeline/ (models are usable without the pipeline)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("pipeline", "transforms", "models")


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """{module: our modules it imports}, anywhere in its body."""
    modules = {module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            found.update(t for t in targets if t in modules and t != name)
        graph[name] = found
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle as [a, b, ..., a], or [] when the graph has none.

    >>> find_cycle({"a": {"b"}, "b": {"a"}}), find_cycle({"a": {"b"}, "b": set()})
    (['a', 'b', 'a'], [])
    """
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_find_cycle_finds_a_cycle_through_three_modules():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_our_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 30  # the walk found the packages
    assert find_cycle(graph) == []


def test_models_do_not_import_the_pipeline():
    bad = {m: sorted(t for t in deps if t.startswith("pipeline"))
           for m, deps in import_graph().items() if m.startswith("models")}
    assert {m: d for m, d in bad.items() if d} == {}
