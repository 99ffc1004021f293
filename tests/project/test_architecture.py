"""minidl's imports point one way: down the layers below, with no cycle (issue 10, item 1).

The same layers as the import-linter contract in pyproject.toml, checked here with ``ast`` so the
suite fails even where ``lint-imports`` is not run. Every import counts (module level or inside a
function), except those under ``if TYPE_CHECKING:``, which are for type hints and never run.
``from pkg import sub`` (``sub`` a module) depends on ``pkg.sub``; ``from pkg import name`` on
``pkg`` itself; importing the package root ``minidl`` from inside it is always a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


# -- reading the imports --------------------------------------------------------------------
def module_names(package: Path) -> dict[str, Path]:
    """Every module of the package: dotted name -> file (a package is its __init__.py)."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(tree: ast.AST, module: str, modules: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported module, line) for every import that runs, anywhere in the tree."""
    found: list[tuple[str, int]] = []
    is_package = modules[module].name == "__init__.py"

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:  # the else branch of `if TYPE_CHECKING:` does run
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, one level up per extra dot
                parts = module.split(".")
                parts = parts[: len(parts) - node.level + is_package]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:  # `from pkg import sub`: pkg.sub; any other name: pkg
                sub = f"{base}.{alias.name}"
                found.append((sub if sub in modules else base, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph(package: Path) -> dict[str, dict[str, int]]:
    """module -> {module of the same package it imports: first line}."""
    modules = module_names(package)
    graph: dict[str, dict[str, int]] = {}
    for module, path in modules.items():
        edges: dict[str, int] = {}
        for name, line in runtime_imports(ast.parse(path.read_text(encoding="utf-8")), module, modules):
            while name and name not in modules:  # `import pkg.mod.Class`-like names: their module
                name = name.rpartition(".")[0]
            if name and name != module:
                edges.setdefault(name, line)
        graph[module] = dict(sorted(edges.items()))
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One import cycle as a path ``[a, b, ..., a]``, or None (depth-first search)."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" after
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for imported in sorted(graph.get(module, {})):
            if state.get(imported) == "open":
                return [*path[path.index(imported):], imported]
            if imported not in state and (cycle := visit(imported)):
                return cycle
        state[module] = "done"
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


# -- minidl ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def minidl_graph():
    return import_graph(ROOT / "minidl")


def test_minidl_has_no_import_cycle(minidl_graph):
    cycle = find_cycle(minidl_graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


# Top to bottom; a layer may import only the layers below it. "a | b": siblings that must not
# import each other; "a : b": siblings that may (without a cycle); "(a)": may not exist yet.
LAYERS = [
    "plot | gradcheck | export | keras",
    "network",
    "training",
    "io",
    "course | summary",
    "losses : optimizers : metrics",
    "layers",
    "initializers",
    "errors : _validation",
    "_typing | _version",
]


# -- judging them ---------------------------------------------------------------------------
def parse_layers(layers: list[str], root: str) -> list[tuple[list[str], bool]]:
    """Each layer as (its modules, whether they are independent), optional marks dropped."""
    parsed = []
    for layer in layers:
        independent = ":" not in layer
        names = [part.strip().strip("()") for part in layer.replace(":", "|").split("|")]
        parsed.append(([f"{root}.{name}" for name in names], independent))
    return parsed


def place(module: str, layers: list[tuple[list[str], bool]]) -> tuple[int, str] | None:
    """(layer index, the layer member holding ``module``), or None if it has no place."""
    for index, (members, _) in enumerate(layers):
        for member in members:
            if module == member or module.startswith(member + "."):
                return index, member
    return None


def reached(graph: dict[str, dict[str, int]], module: str, skip: set[str]) -> dict[str, tuple[int, str]]:
    """What ``module`` imports, directly or through modules in ``skip``: {module: (line, via)}."""
    found: dict[str, tuple[int, str]] = {}
    todo = [(imported, line, "") for imported, line in graph[module].items()]
    while todo:
        imported, line, via = todo.pop(0)
        if imported in found or imported == module:
            continue
        found[imported] = (line, via)
        if imported in skip:  # an unplaced module: what it imports counts as imported here too
            todo += [(further, line, f"{via} via {imported}") for further in graph[imported]]
    return found


def wrong_way_imports(graph: dict[str, dict[str, int]], layers: list[str], root: str) -> list[str]:
    """Every import that does not point down the layers, one sentence each.

    An import through modules that have no layer is followed (as import-linter does), so
    ``a -> unplaced -> b`` counts as ``a -> b``.
    """
    parsed = parse_layers(layers, root)
    unplaced = set(unplaced_modules(graph, layers, root))
    problems = []
    for importer in sorted(graph):
        here = place(importer, parsed)
        if here is None and importer != root:
            continue  # its imports are followed from the placed modules that import it
        for imported, (line, via) in sorted(reached(graph, importer, unplaced).items()):
            where = f"{importer} (line {line}) imports {imported}{via}"
            if imported == root:
                problems.append(f"{where}, the package root (which imports everything)")
                continue
            there = place(imported, parsed)
            if here is None or there is None or here[1] == there[1]:
                continue  # from the root, to an unplaced module, or inside one layer member
            if there[0] < here[0]:
                problems.append(f"{where}, a layer above it")
            elif there[0] == here[0] and parsed[here[0]][1]:
                problems.append(f"{where}, an independent sibling")
    return problems


def unplaced_modules(graph: dict[str, dict[str, int]], layers: list[str], root: str) -> list[str]:
    parsed = parse_layers(layers, root)
    return sorted(m for m in graph if m != root and place(m, parsed) is None)


def test_every_minidl_import_points_down_the_layers(minidl_graph):
    assert wrong_way_imports(minidl_graph, LAYERS, "minidl") == []


def test_every_minidl_module_has_its_layer(minidl_graph):
    assert unplaced_modules(minidl_graph, LAYERS, "minidl") == [], "add them to LAYERS and pyproject"


def test_the_layers_are_the_import_linter_contract():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    assert contract["layers"] == LAYERS
    assert contract["containers"] == ["minidl"] and contract["exhaustive"] is True
    assert config["exclude_type_checking_imports"] is True


# -- the checks themselves, on small packages written into tmp_path --------------------------
def write_package(tmp_path: Path, files: dict[str, str]) -> Path:
    package = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text, encoding="utf-8")
    return package


def test_a_cycle_through_a_lazy_import_inside_a_function_is_found(tmp_path):
    graph = import_graph(write_package(tmp_path, {
        "a.py": "from pkg.b import g\n",
        "b.py": "def g():\n    from pkg import c\n    return c\n",
        "c.py": "import pkg.a\n",
    }))
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]


def test_an_import_under_type_checking_is_not_a_cycle_but_its_else_branch_is(tmp_path):
    files = {"a.py": "import pkg.b\n",
             "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n"}
    assert find_cycle(import_graph(write_package(tmp_path, files))) is None
    files["b.py"] = "import typing\nif typing.TYPE_CHECKING:\n    pass\nelse:\n    import pkg.a\n"
    assert find_cycle(import_graph(write_package(tmp_path, files))) == ["pkg.a", "pkg.b", "pkg.a"]


def test_relative_imports_and_from_package_import_module_are_resolved(tmp_path):
    graph = import_graph(write_package(tmp_path, {
        "sub/__init__.py": "from .x import X\nfrom . import y\n",
        "sub/x.py": "from ..base import B\nX = B\n",
        "sub/y.py": "from pkg import base\n\nfrom pkg import VERSION, base\n",
        "base.py": "B = 1\n",
    }))
    assert graph["pkg.sub"] == {"pkg.sub.x": 1, "pkg.sub.y": 2}
    assert graph["pkg.sub.x"] == {"pkg.base": 1}
    assert graph["pkg.sub.y"] == {"pkg": 3, "pkg.base": 1}  # VERSION is a name of pkg's __init__


def test_an_import_of_the_package_root_or_a_layer_above_is_reported(tmp_path):
    graph = import_graph(write_package(tmp_path, {
        "top.py": "import pkg.low\n",
        "low.py": "def f():\n    import pkg.top\n",
        "other.py": "from pkg import __version__\n",
        "side.py": "import pkg.other\n",
    }))
    layers = ["top", "low", "other | side"]
    assert wrong_way_imports(graph, layers, "pkg") == [
        "pkg.low (line 2) imports pkg.top, a layer above it",
        "pkg.other (line 1) imports pkg, the package root (which imports everything)",
        "pkg.side (line 1) imports pkg.other, an independent sibling",
    ]
    assert wrong_way_imports(graph, ["top", "low", "other : side"], "pkg")[2:] == []
    assert unplaced_modules(graph, ["top", "(low)"], "pkg") == ["pkg.other", "pkg.side"]


def test_an_upward_import_through_a_module_without_a_layer_is_reported(tmp_path):
    graph = import_graph(write_package(tmp_path, {
        "top.py": "", "low.py": "import pkg.helper\n", "helper.py": "import pkg.top\n",
    }))
    assert wrong_way_imports(graph, ["top", "low"], "pkg") == [
        "pkg.low (line 1) imports pkg.top via pkg.helper, a layer above it",
    ]


def test_imports_inside_one_layer_package_and_downward_imports_pass(tmp_path):
    graph = import_graph(write_package(tmp_path, {
        "layers/__init__.py": "from pkg.layers.dense import Dense\n",
        "layers/base.py": "import pkg.util\n",
        "layers/dense.py": "from pkg.layers.base import *\n",
        "util.py": "import os, sys\n",
    }))
    assert find_cycle(graph) is None
    assert wrong_way_imports(graph, ["layers", "(planned)", "util"], "pkg") == []
    assert unplaced_modules(graph, ["layers", "util"], "pkg") == []
