"""scripts/era_lines.py: a change's effect on the code lines written at or before an era commit.

Each test builds a small git repository in tmp_path: an era commit, a later feature commit, then
the change measured; the counts are worked out by hand from the files written here.
"""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "era_lines.py"

ERA = '''\
"""Module docstring: not code."""


def old_one(x):
    """Docstring: not code."""
    y = x + 1  # code
    z = y * 2  # code
    return z


def old_two(x):
    return x - 1
'''

FEATURE = '''
def new_feature(x):
    a = x * 3
    b = a + 3
    return b
'''


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def commit(repo: Path, text: str, message: str) -> str:
    (repo / "minidl").mkdir(exist_ok=True)
    (repo / "minidl" / "module.py").write_text(text)
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


def era_lines(repo: Path, base: str, head: str, era: str) -> str:
    result = subprocess.run([sys.executable, str(SCRIPT), base, head, "--era", era], cwd=repo,
                            check=True, capture_output=True, text=True)
    return result.stdout


def test_era_lines_deleted_count_and_feature_lines_do_not(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    era = commit(tmp_path, ERA, "era")
    base = commit(tmp_path, ERA + FEATURE, "a feature after the era")
    # The change: old_one's three code lines become one, and the feature loses a line.
    changed = (ERA.replace("    y = x + 1  # code\n    z = y * 2  # code\n    return z\n",
                           "    return (x + 1) * 2\n")
               + FEATURE.replace("    b = a + 3\n    return b\n", "    return a + 3\n"))
    head = commit(tmp_path, changed, "the trim")
    output = era_lines(tmp_path, base, head, era)
    assert "minidl/module.py" in output
    # old_one: "y = ...", "z = ...", "return z" deleted (3 era code lines), "return (x + 1) * 2" inserted
    # (1): net -2. The feature's hunk deletes no era line, so its inserted line is not counted.
    assert output.splitlines()[-1] == "net change of the era's code lines (" + era + "): -2"


def test_an_insert_only_hunk_counts_as_era_code(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    era = commit(tmp_path, ERA, "era")
    head = commit(tmp_path, ERA + "\n\ndef helper(x):\n    return x\n", "a helper")
    # Conservative: two inserted code lines, no era line deleted: +2.
    assert era_lines(tmp_path, era, head, era).splitlines()[-1].endswith(": +2")


def test_a_file_written_after_the_era_holds_no_era_code(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    era = commit(tmp_path, ERA, "era")
    (tmp_path / "minidl" / "later.py").write_text(FEATURE)
    base = commit(tmp_path, ERA, "a new file")
    (tmp_path / "minidl" / "later.py").write_text(FEATURE + "\n\ndef more(x):\n    return x\n")
    head = commit(tmp_path, ERA, "the new file grows")
    output = era_lines(tmp_path, base, head, era)
    assert "later.py" not in output
    assert output.splitlines()[-1].endswith(": +0")


@pytest.mark.parametrize(("arguments", "message"), [
    (["nosuch", "HEAD"], "base: expected a commit of this repository; got 'nosuch'"),
    (["HEAD", "HEAD", "--era", "zz"], "--era: expected a commit of this repository; got 'zz'"),
])
def test_a_bad_commit_gets_a_clear_error_naming_the_argument(tmp_path: Path, arguments, message) -> None:
    git(tmp_path, "init", "-q")
    commit(tmp_path, ERA, "era")
    result = subprocess.run([sys.executable, str(SCRIPT), *arguments], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == f"era_lines.py: error: {message}"
