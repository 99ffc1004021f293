"""The benchmark runs end to end in its quick mode (no timing is asserted, ever)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


BENCHMARKS = ROOT / "benchmarks"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, object]]:
    out = tmp_path_factory.mktemp("bench") / "result.json"
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--quick", "--no-torch", "--json", str(out)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout, json.loads(out.read_text(encoding="utf-8"))


def test_quick_run_prints_machine_and_every_step_case(quick_run: tuple[str, dict[str, object]]) -> None:
    stdout, _ = quick_run
    for text in ("cpu_count", "numpy", "blas", "tiny:", "mlp-1:", "mlp-32:", "mlp-128:", "fit-128:", "small:",
                 "memory:", "targets"):
        assert text in stdout


def test_quick_run_reports_a_positive_ratio_for_every_implementation(
    quick_run: tuple[str, dict[str, object]],
) -> None:
    _, payload = quick_run
    cases = payload["cases"]
    assert isinstance(cases, dict)
    assert {"tiny", "small", "mlp-1", "mlp-32", "mlp-128", "fit-128"} <= set(cases)
    memory = payload["memory"]
    assert isinstance(memory, dict) and memory["peak_bytes"] > 0 and memory["ratio"] > 0.0
    for case in cases.values():
        assert case["ratio"]["floor"] == 1.0
        for key in ("minidl", "minidl fit"):
            if key in case["ratio"]:
                assert case["ratio"][key] > 0.0


def _load(name: str) -> object:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_tiny_floor_takes_the_gradient_step_computed_by_hand() -> None:
    floors = _load("floors")
    # weights_0, input [0, 3], target 3: hidden inputs (3, 6), output 9, error 6.
    w1 = np.array([[2.0, 1.0], [1.0, 2.0]])
    w2 = np.array([[1.0], [1.0]])
    floor = floors.TinyFloor(w1, w2, np.array([0.0, 3.0]), np.array([3.0]), 0.01)
    loss = floor.step()
    assert loss == 36.0
    # dL/do = 2 * 6 = 12; dL/dW2 = h * 12 = (36, 72); dL/dh = 12 * (1, 1);
    # dL/dW1 = outer(x, dL/dh) = rows (0, 0) and (36, 36).
    np.testing.assert_allclose(floor.w2, [[1.0 - 0.36], [1.0 - 0.72]])
    np.testing.assert_allclose(floor.w1, [[2.0, 1.0], [1.0 - 0.36, 2.0 - 0.36]])


def test_mlp_floor_gradient_matches_finite_differences() -> None:
    floors = _load("floors")
    rng = np.random.default_rng(3)
    sizes = (5, 4, 3, 3)
    weights = [(rng.standard_normal((a, b)), rng.standard_normal(b)) for a, b in itertools.pairwise(sizes)]
    x = rng.standard_normal((4, 5))
    labels = np.array([0, 2, 1, 2])
    lr = 1e-3
    floor = floors.MLPFloor(weights, lr)
    floor.step(x, labels)
    # The step moved W by -lr * dL/dW: recover the gradient and check one entry numerically.
    gradient = (weights[0][0] - floor.params[0][0]) / lr

    def loss_at(w1: np.ndarray) -> float:
        probe = floors.MLPFloor([(w1, weights[0][1]), *weights[1:]], 0.0)
        return float(probe.step(x, labels))

    eps = 1e-6
    for i, j in [(0, 0), (2, 3), (4, 1)]:
        up, down = weights[0][0].copy(), weights[0][0].copy()
        up[i, j] += eps
        down[i, j] -= eps
        numeric = (loss_at(up) - loss_at(down)) / (2 * eps)
        assert gradient[i, j] == pytest.approx(numeric, rel=1e-5, abs=1e-8)
