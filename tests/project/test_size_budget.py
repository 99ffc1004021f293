"""scripts/size_budget.py: counts code lines as promised and fails CI above the budget.

Every test measures a small package written into tmp_path, so none depends on minidl's own size.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "size_budget.py"


def load_script():
    spec = importlib.util.spec_from_file_location("size_budget", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["size_budget"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


size_budget = load_script()


# 5 code lines: the docstrings, the comments and the blank lines do not count.
SMALL_MODULE = '''\
"""A module docstring,
over two lines."""

# a comment line
import math  # a comment after code: the line counts


def area(radius):
    """A function docstring."""
    return math.pi * radius**2


class Network:
    """Three lines long, the docstring included."""
    size = 3
'''


def test_code_lines_leave_out_blank_comment_and_docstring_lines():
    assert size_budget.code_lines(SMALL_MODULE) == 5


def test_a_multiline_statement_counts_every_line_and_a_string_that_is_not_a_docstring_counts():
    source = 'x = [\n    1,\n    2,\n]\nNOTE = """not a docstring:\nan assignment"""\n'
    assert size_budget.code_lines(source) == 6


TWO_FITS = '''\
class Network:
    def fit(self):
        """Three lines, the docstring included."""
        return 1


def fit():
    pass
'''


def write_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "pkg"
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text, encoding="utf-8")
    return package


def test_definitions_are_measured_in_physical_lines_with_docstrings(tmp_path):
    sizes = size_budget.measure(write_package(tmp_path, {"a.py": TWO_FITS}))
    assert sizes.network_class == 4
    assert sizes.fit == 3  # the longer of the two fits: the method
    assert sizes.functions == {"pkg/a.py:Network.fit": 3, "pkg/a.py:fit": 2}


def run(package: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), str(package), *options],
                          capture_output=True, text=True, check=False)


def test_under_budget_exits_0_and_prints_the_table(tmp_path):
    package = write_package(tmp_path, {"__init__.py": SMALL_MODULE, "sub/deep.py": "x = 1\ny = 2\n"})
    result = run(package, "--total", "7", "--per-file", "5")
    assert result.returncode == 0, result.stdout
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:4]}
    assert rows == {"pkg/__init__.py": "5", "pkg/sub/deep.py": "2", "total": "7"}
    assert "OVER BUDGET" not in result.stdout


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (("--total", "6"), "7 code lines in all, budget 6"),
        (("--per-file", "4"), "pkg/__init__.py: 5 code lines, budget 4 per file"),
        (("--function", "2"), "pkg/__init__.py:area: 3 lines, budget 2 per function"),
        (("--network-class", "2"), "class Network: 3 lines, budget 2"),
    ],
)
def test_over_budget_exits_1_and_says_which_limit(tmp_path, options, reason):
    package = write_package(tmp_path, {"__init__.py": SMALL_MODULE, "sub/deep.py": "x = 1\ny = 2\n"})
    result = run(package, *options)
    assert result.returncode == 1
    assert f"OVER BUDGET: {reason}" in result.stdout.splitlines()


def test_a_long_fit_is_over_budget(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(5))
    package = write_package(tmp_path, {"training.py": f"def fit():\n{body}"})
    assert run(package, "--fit", "6").returncode == 0
    result = run(package, "--fit", "5")
    assert result.returncode == 1
    assert "OVER BUDGET: fit: 6 lines, budget 5" in result.stdout


def test_the_defaults_are_the_issue_targets():
    assert size_budget.BUDGET == {"total": 3000, "per_file": 400, "function": 100,
                                  "network_class": 250, "fit": 60}


def test_a_missing_package_is_a_usage_error(tmp_path):
    result = run(tmp_path / "nowhere")
    assert result.returncode == 2
    assert "is not a directory" in result.stderr
