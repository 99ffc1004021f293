"""The README's Quickstart: exactly two commands, and CI runs the same ones verbatim."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def test_quickstart_promises_the_examples_real_output():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert "Mean squared error with weights_0: 37.500000" in section
    assert "Mean squared error with weights_1: 49.890625" in section
