"""The custom-layer example runs as a user runs it and reports what it claims."""

import re
import subprocess
import sys
from pathlib import Path


def test_custom_layer_example_runs_and_reports_what_it_claims():
    script = Path(__file__).resolve().parents[2] / "examples" / "custom_layer.py"
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("== 1. A new activation, Swish")  # every section prints, in order
    assert out.index("== 2.") < out.index("== 3.") < out.index("== 4.") < out.index("== 5.")
    assert "f([-1, 0, 1]) = [-0.2689  0.      0.7311]" in out  # -1 * sigmoid(-1), 0, sigmoid(1)
    assert "['a (4,)', 'c (4,)']" in out
    assert "Gradient check of Swish 'swish': passed" in out
    assert "Gradient check of Scale 'scale': passed" in out
    assert "Gradient check of BrokenScale 'brokenscale': FAILED (1 of 3 gradients wrong)" in out
    assert "wrong gradients: ['a']" in out
    assert re.search(r"^\s+a\s+\(4,\).*WRONG$", out, flags=re.MULTILINE)
    assert "scale (Scale)    (None, 32)         64" in out  # summary counts a and c
    assert "whole network: passed" in out
    before = float(re.search(r"before training: ([\d.]+)", out).group(1))
    after = float(re.search(r"after training:\s+([\d.]+)", out).group(1))
    assert after < 0.05 * before
