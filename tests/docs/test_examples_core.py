"""The core examples run as a user runs them, and print what they promise."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_example(name: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.splitlines()


def test_need_for_optimization_prints_the_courses_four_lines():
    assert run_example("need_for_optimization.py") == [
        "6",
        "0",
        "Mean squared error with weights_0: 37.500000",
        "Mean squared error with weights_1: 49.890625",
    ]


def test_forward_propagation_shows_node_values_computed_by_trace():
    lines = run_example("forward_propagation.py")
    # By hand, input [3, 5], weights node_0 [2, 4], node_1 [4, -5], output [2, 7]:
    assert "  node_0_input = 26   node_0_output = 26" in lines
    assert "  node_1_input = -13   node_1_output = 0" in lines
    assert "model_output = 52" in lines
    # The 2-2-2-1 network: hidden layer 1 gets [26, 0] -> [-26, 26] -> [0, 26]; output 7 * 26 = 182.
    assert ["output", "182", "182"] in [line.split() for line in lines]
