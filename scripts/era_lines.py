"""How a change moved the size of the code as it was at an earlier commit (the "era").

Issue 10's size goal is about the package as it was before the convolutions (commit
``ebf3cb6``: 3,080 code lines); the package has grown since with new features, so its total
no longer tells whether that code got shorter. For a change ``BASE..HEAD`` this counts, per
file under ``minidl/``, the code lines (as ``size_budget.py`` counts them) that the change
deleted and that date from the era (``git blame``: written at or before the era commit), and
the code lines it inserted. Conservatively, every inserted line of a hunk that deleted era
lines, and of a hunk that only inserts, is counted as era code, so the era's net change is
never reported smaller than it is (files written after the era hold no era code)::

    python scripts/era_lines.py 332ec9f main            # era ebf3cb6 (the default)
    python scripts/era_lines.py BASE HEAD --era COMMIT

Only the standard library and git.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import subprocess
import tokenize
from functools import cache

from size_budget import _NOT_CODE, docstring_lines


def git(*args: str) -> str:
    """The output of ``git args``."""
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def code_line_numbers(source: str) -> set[int]:
    """The (1-based) numbers of the lines of ``source`` that hold code."""
    docstrings, lines = docstring_lines(ast.parse(source)), set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in _NOT_CODE:
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines - docstrings


@cache
def in_era(commit: str, era: str) -> bool:
    """Whether ``commit`` is the era commit or one of its ancestors."""
    return subprocess.run(["git", "merge-base", "--is-ancestor", commit, era]).returncode == 0


def existed(commit: str, path: str) -> bool:
    """Whether ``path`` is a file at ``commit``."""
    return subprocess.run(["git", "cat-file", "-e", f"{commit}:{path}"], capture_output=True).returncode == 0


def origins(base: str, path: str) -> list[str]:
    """The commit that wrote each line of ``path`` at ``base`` (``git blame``)."""
    commits = []
    for line in git("blame", "--porcelain", base, "--", path).splitlines():
        parts = line.split()
        if len(parts) >= 3 and len(parts[0]) == 40 and parts[1].isdigit() and parts[2].isdigit():
            commits.append(parts[0])
    return commits


def file_change(base: str, head: str, era: str, path: str) -> tuple[int, int]:
    """``(era lines deleted, lines counted as inserted era code)`` in ``path``."""
    old, new = git("show", f"{base}:{path}"), git("show", f"{head}:{path}")
    old_code, new_code, commits = code_line_numbers(old), code_line_numbers(new), origins(base, path)
    deleted = inserted = 0
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        era_deleted = sum(1 for i in range(i1, i2) if i + 1 in old_code and in_era(commits[i], era))
        if era_deleted or tag == "insert":
            inserted += sum(1 for j in range(j1, j2) if j + 1 in new_code)
        deleted += era_deleted
    return deleted, inserted


def main() -> None:
    """Print the era code's change per file and in all."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("head")
    parser.add_argument("--era", default="ebf3cb6")
    args = parser.parse_args()
    for name, value in (("base", args.base), ("head", args.head), ("--era", args.era)):
        if subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{value}^{{commit}}"],
                          capture_output=True).returncode != 0:
            parser.error(f"{name}: expected a commit of this repository; got {value!r}")
    era = git("rev-parse", args.era).strip()
    changed = git("diff", "--name-only", "--diff-filter=M", args.base, args.head, "--", "minidl").split()
    total = 0
    for path in sorted(p for p in changed if p.endswith(".py") and existed(era, p)):
        deleted, inserted = file_change(args.base, args.head, era, path)
        if deleted or inserted:
            print(f"{path:34} -{deleted:<4} +{inserted:<4} net {inserted - deleted:+d}")
            total += inserted - deleted
    print(f"net change of the era's code lines ({args.era}): {total:+d}")


if __name__ == "__main__":
    main()
