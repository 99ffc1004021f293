""".ci/run: a failing step fails CI (bash's `set -e` alone lets a failure inside `a && b` pass)."""

from __future__ import annotations

import subprocess
from pathlib import Path

CI = Path(__file__).resolve().parents[2] / ".ci" / "run"


def test_every_and_chain_in_ci_is_followed_by_a_status_check():
    lines = CI.read_text().splitlines()
    for number, line in enumerate(lines):
        code = line.split("#", 1)[0]
        if " && " not in code or code.strip().startswith("[") or code.rstrip().endswith("continue"):
            continue
        checked = code.rstrip().endswith("\\") or "|| failed" in code
        following = lines[number + 1].strip() if number + 1 < len(lines) else ""
        assert checked or following.startswith("[ $? -eq 0 ] || failed"), \
            f".ci/run line {number + 1} can fail without failing CI: {line.strip()}"


def test_the_status_check_pattern_really_stops_a_script(tmp_path):
    script = tmp_path / "run"
    script.write_text("set -euo pipefail\nfailed() { exit 1; }\nfalse && true\n"
                      "[ $? -eq 0 ] || failed \"x\"\necho reached\n")
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "reached" not in result.stdout
    unchecked = tmp_path / "unchecked"
    unchecked.write_text("set -euo pipefail\nfalse && true\necho reached\n")  # what the check is for
    assert "reached" in subprocess.run(["bash", str(unchecked)], capture_output=True, text=True,
                                       check=False).stdout
