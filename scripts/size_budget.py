"""The size budget of minidl: fail (exit 1) when the package outgrows what a learner can read.

Counts the code lines of every ``.py`` file under the package (a line with code on it: not blank,
not only a comment, not part of a docstring), prints a table, and checks:

* code lines in all, and in each file;
* the longest function (physical lines, its docstring included: what a reader scrolls through);
* the ``Network`` class and the ``fit`` function (physical lines, docstrings included).

Usage (CI runs it from the repository root)::

    python scripts/size_budget.py                      # minidl/ against the default budget
    python scripts/size_budget.py minidl --total 2900  # a tighter budget

Only the standard library; nothing is imported or run from the package (it is read with
``ast`` and ``tokenize``).
"""

from __future__ import annotations

import argparse
import ast
import io
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

#: The defaults (issue 10's targets); pass ``--total`` etc. to override.
BUDGET = {
    "total": 3000,  # code lines in the whole package
    "per_file": 400,  # code lines in any one file
    "function": 100,  # physical lines of any one function or method
    "network_class": 250,  # physical lines of the class Network
    "fit": 60,  # physical lines of the longest function named fit
}

_NOT_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
             tokenize.ENDMARKER}


def docstring_lines(tree: ast.Module) -> set[int]:
    """The line numbers taken by the docstrings of the module and of its classes and functions."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def code_lines(source: str) -> int:
    """How many lines of ``source`` hold code (not blank, comment-only or docstring)."""
    docstrings = docstring_lines(ast.parse(source))
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in _NOT_CODE:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstrings)


@dataclass
class Sizes:
    """What one package measures: code lines per file, and the lengths of named definitions."""

    files: dict[str, int] = field(default_factory=dict)
    functions: dict[str, int] = field(default_factory=dict)  # "file:qualified.name" -> lines
    network_class: int = 0
    fit: int = 0


def measure(package: Path) -> Sizes:
    """Measure every ``.py`` file under ``package``."""
    sizes = Sizes()
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package.parent).as_posix()
        source = path.read_text(encoding="utf-8")
        sizes.files[name] = code_lines(source)
        _measure_definitions(ast.parse(source), name, sizes)
    return sizes


def _measure_definitions(node: ast.AST, prefix: str, sizes: Sizes) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (child.end_lineno or child.lineno) - child.lineno + 1
            qualified = f"{prefix}{':' if ':' not in prefix else '.'}{child.name}"
            if isinstance(child, ast.ClassDef):
                if child.name == "Network":
                    sizes.network_class = max(sizes.network_class, length)
            else:
                sizes.functions[qualified] = length
                if child.name == "fit":
                    sizes.fit = max(sizes.fit, length)
            _measure_definitions(child, qualified, sizes)
        else:
            _measure_definitions(child, prefix, sizes)


def check(sizes: Sizes, budget: dict[str, int]) -> list[str]:
    """Every way ``sizes`` exceeds ``budget``, one sentence each (empty: within budget)."""
    over = []
    total = sum(sizes.files.values())
    if total > budget["total"]:
        over.append(f"{total} code lines in all, budget {budget['total']}")
    over += [f"{name}: {lines} code lines, budget {budget['per_file']} per file"
             for name, lines in sizes.files.items() if lines > budget["per_file"]]
    over += [f"{name}: {lines} lines, budget {budget['function']} per function"
             for name, lines in sizes.functions.items() if lines > budget["function"]]
    if sizes.network_class > budget["network_class"]:
        over.append(f"class Network: {sizes.network_class} lines, budget {budget['network_class']}")
    if sizes.fit > budget["fit"]:
        over.append(f"fit: {sizes.fit} lines, budget {budget['fit']}")
    return over


def report(sizes: Sizes, budget: dict[str, int]) -> str:
    """The table: code lines per file (largest first), the total, the longest definitions."""
    width = max([len(name) for name in sizes.files] + [len("total")])
    rows = [f"{'file':<{width}}  code lines"]
    for name, lines in sorted(sizes.files.items(), key=lambda item: (-item[1], item[0])):
        mark = "  over" if lines > budget["per_file"] else ""
        rows.append(f"{name:<{width}}  {lines:>10}{mark}")
    rows.append(f"{'total':<{width}}  {sum(sizes.files.values()):>10}  (budget {budget['total']}, "
                f"{budget['per_file']} per file)")
    longest = max(sizes.functions.items(), key=lambda item: item[1], default=("-", 0))
    rows.append(f"longest function: {longest[0]}, {longest[1]} lines (budget {budget['function']})")
    rows.append(f"class Network: {sizes.network_class} lines (budget {budget['network_class']}); "
                f"fit: {sizes.fit} lines (budget {budget['fit']})")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Print the table; return 1 (and say why) if the package is over budget, else 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", nargs="?", type=Path,
                        default=Path(__file__).resolve().parent.parent / "minidl")
    for key, value in BUDGET.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=int, default=value, dest=key)
    args = parser.parse_args(argv)
    if not args.package.is_dir():
        parser.error(f"{args.package} is not a directory")
    budget = {key: getattr(args, key) for key in BUDGET}
    sizes = measure(args.package)
    print(report(sizes, budget))
    over = check(sizes, budget)
    for sentence in over:
        print(f"OVER BUDGET: {sentence}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
