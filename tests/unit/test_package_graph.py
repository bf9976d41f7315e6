"""The package import graph is a DAG: imports only run one way, so a package can be read,
tested and deployed on top of the ones below it.

The graph is built from the source (every `import` and `from ... import`, at module level and
inside functions alike: a lazy import is still a dependency), not from a hand-kept list.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_PRODUCTION = {"tests", "bench", "migrations", ".venv", "instance", "node_modules"}


def production_packages(root: Path = ROOT) -> set[str]:
    return {
        path.parent.name
        for path in root.glob("*/__init__.py")
        if path.parent.name not in NOT_PRODUCTION and not path.parent.name.startswith(".")
    }


def imported_modules(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def package_graph(root: Path = ROOT) -> dict[str, dict[str, list[str]]]:
    """package → imported package → the files (relative paths) that import it."""
    packages = production_packages(root)
    graph: dict[str, dict[str, list[str]]] = {package: {} for package in packages}
    for package in sorted(packages):
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for module in imported_modules(tree):
                target = module.split(".")[0]
                if target in packages and target != package:
                    graph[package].setdefault(target, []).append(str(path.relative_to(root)))
    return graph


def find_cycle(graph: Mapping[str, Mapping[str, object]]) -> list[str] | None:
    """One cycle as a path that ends where it starts, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_package_import_graph_has_no_cycle() -> None:
    graph = package_graph()
    cycle = find_cycle(graph)
    if cycle:
        steps = [
            f"{a} -> {b} ({', '.join(sorted(set(graph[a][b]))[:3])})" for a, b in zip(cycle, cycle[1:], strict=False)
        ]
        raise AssertionError("package import cycle:\n  " + "\n  ".join(steps))


def test_the_graph_sees_production_packages_and_lazy_imports(tmp_path: Path) -> None:
    (tmp_path / "low").mkdir()
    (tmp_path / "low" / "__init__.py").write_text("")
    (tmp_path / "high").mkdir()
    (tmp_path / "high" / "__init__.py").write_text("import low.thing\n")
    (tmp_path / "low" / "late.py").write_text("def f():\n    from high import x\n    return x\n")
    graph = package_graph(tmp_path)
    assert graph == {"high": {"low": ["high/__init__.py"]}, "low": {"high": ["low/late.py"]}}
    assert find_cycle(graph) in (["high", "low", "high"], ["low", "high", "low"])


def test_a_chain_without_a_way_back_is_no_cycle() -> None:
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {}, "d": {"a": 1, "c": 1}}) is None
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]


# ARCHITECTURE.md's layers: a package imports only packages on lower layers.
LAYERS = {
    "config_ui": 6, "storefront": 6, "demo": 6,
    "experiments": 5,
    "layout_engine": 4,
    "slots": 3, "shoppers": 3,
    "personalization_client": 2, "catalog": 2,
    "recommender": 1,
    "core": 0,
}  # fmt: skip


def test_every_package_has_a_layer() -> None:
    assert production_packages() == set(LAYERS), "place a new package on a layer here and in ARCHITECTURE.md"


def test_every_import_points_down_the_layers() -> None:
    graph = package_graph()
    upward = [
        f"{package} (layer {LAYERS[package]}) -> {target} (layer {LAYERS[target]}): {files[0]}"
        for package, targets in sorted(graph.items())
        for target, files in sorted(targets.items())
        if LAYERS[target] >= LAYERS[package]
    ]
    assert not upward, "imports that do not point down:\n  " + "\n  ".join(upward)
