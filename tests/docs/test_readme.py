"""The README: its Quickstart commands, its training snippet and its custom-layer section run."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_readme_section_code_runs_and_both_layers_pass():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Writing your own layer", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)\n```", section, flags=re.DOTALL)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True True"


def quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", section, flags=re.DOTALL)


def test_quickstart_has_exactly_two_one_line_commands():
    commands = quickstart_commands()
    assert len(commands) == 2
    assert all("\n" not in command for command in commands)
    assert "examples/need_for_optimization.py" in commands[0]
    for tool in ("pytest", "mypy --strict minidl", "ruff check"):
        assert tool in commands[1]


def test_ci_runs_the_quickstart_commands_verbatim():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in quickstart_commands():
        assert command in ci_lines


def test_ci_installs_pytorch_with_the_readmes_pinned_command():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Checking against PyTorch", 1)[1].split("\n## ", 1)[0]
    (command,) = re.findall(r"```bash\n(.*?)\n```", section, flags=re.DOTALL)
    assert command == ".venv/bin/pip install torch==2.13.0"  # pinned: the CPU build, never an open range
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_quickstart_promises_the_examples_real_output():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert "Mean squared error with weights_0: 37.500000" in section
    assert "Mean squared error with weights_1: 49.890625" in section


def test_readme_training_snippet_runs(tmp_path):
    pytest.importorskip("sklearn")
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Training"):]
    code = section[section.index("```python") + len("```python"):]
    code = code[: code.index("```")]
    script = tmp_path / "snippet.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env=dict(os.environ, MPLBACKEND="Agg"))
    assert result.returncode == 0, result.stderr
    evaluated = ast.literal_eval(re.search(r"^\{'loss'.*\}$", result.stdout, re.M).group(0))
    assert evaluated["accuracy"] >= 0.95
