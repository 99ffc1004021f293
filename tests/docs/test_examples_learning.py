"""The learning examples, run as a user runs them; their printed numbers checked."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minidl

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name, cwd, extra_path=None):
    env = dict(os.environ, MPLBACKEND="Agg")
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    result = subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_gradient_descent_prints_the_course_numbers(tmp_path):
    out = run_example("gradient_descent.py", tmp_path)
    lines = out.splitlines()
    assert lines[0] == "Slope (gradient of the MSE for each weight): [14. 28. 42.]"
    assert lines[1] == "Error before the update: 7"
    assert lines[2] == "Error after the update:  5.04"
    updates = [float(v) for v in re.findall(r"update\s+\d+: (\S+)", out)]
    assert len(updates) == 20
    # Each step multiplies the error by 1 - 2 * 0.01 * (1 + 4 + 9) = 0.72, the MSE by 0.72**2.
    for k, mse in enumerate(updates, start=1):
        assert mse == pytest.approx(49 * 0.5184**k, rel=1e-5)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "pip install matplotlib" in out
    else:
        png = tmp_path / "gradient_descent_mse.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gradient_descent_without_matplotlib_prints_a_hint(tmp_path):
    fake = tmp_path / "fake"
    (fake / "matplotlib").mkdir(parents=True)
    (fake / "matplotlib" / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    out = run_example("gradient_descent.py", tmp_path, extra_path=fake)
    assert out.splitlines()[-1] == "Install matplotlib to also get the plot: pip install matplotlib"
    assert not (tmp_path / "gradient_descent_mse.png").exists()


def number_after(label, out):
    match = re.search(re.escape(label) + r"\s*(-?[\d.]+(?:e-?\d+)?)", out)
    assert match, f"no {label!r} in:\n{out}"
    return float(match.group(1))


def test_train_2_2_1_falls_below_both_course_errors(tmp_path):
    out = run_example("train_2_2_1.py", tmp_path)
    assert out.splitlines()[0] == "Mean squared error with weights_0: 37.500000"
    errors = [float(v) for v in re.findall(r"after\s+\d+ epochs: mean squared error (\S+)", out)]
    assert len(errors) == 5 and errors == sorted(errors, reverse=True)
    trained = number_after("Trained mean squared error:", out)
    assert trained < 37.5 and trained < 49.890625
    # The printed weights, put back into the course's network, give the printed error.
    learned = ast.literal_eval(out.split("Learned weights: ")[1].splitlines()[0])
    assert set(learned) == {"node_0", "node_1", "output"}
    x = np.array([[0, 3], [1, 2], [-1, -2], [4, 0]])
    predicted = minidl.Network.from_node_weights(learned).predict(x)
    mse = minidl.metrics.mean_squared_error([1, 3, 5, 7], predicted)
    assert mse == pytest.approx(trained, abs=0.01)


def test_classify_digits_reaches_95_percent(tmp_path):
    pytest.importorskip("sklearn")
    out = run_example("classify_digits.py", tmp_path)
    accuracy = number_after("Test accuracy:", out)
    assert accuracy >= 0.95
    assert "early stopping: val_loss did not improve" in out or "Epoch 200/200" in out
    assert len(re.findall(r"^Epoch \d+/200 .* val_accuracy: ", out, re.M)) >= 2


def test_classify_digits_cnn_reaches_98_5_percent(tmp_path):
    pytest.importorskip("sklearn")
    out = run_example("classify_digits_cnn.py", tmp_path)
    assert "conv2d (Conv2D)" in out and "maxpool2d (MaxPool2D)" in out and "flatten (Flatten)" in out
    assert len(re.findall(r"^Epoch \d+/100 .* val_accuracy: ", out, re.M)) >= 2
    assert number_after("Test accuracy:", out) >= 0.985


def test_regression_diabetes_compares_with_least_squares(tmp_path):
    datasets = pytest.importorskip("sklearn.datasets")
    out = run_example("regression_diabetes.py", tmp_path)
    constant = number_after("predicting the mean:", out)
    linear = number_after("linear least squares:", out)
    mlp = number_after("MLP 10-8-1 (minidl):", out)
    # The baseline, recomputed here on the same split (rng 0 permutation, first 80 % to train).
    data = datasets.load_diabetes()
    order = np.random.default_rng(0).permutation(len(data.target))
    x, y = data.data[order], data.target[order]
    split = int(0.8 * len(x))
    design = np.hstack([x, np.ones((len(x), 1))])
    coefficients, *_ = np.linalg.lstsq(design[:split], y[:split], rcond=None)
    assert linear == pytest.approx(np.mean((design[split:] @ coefficients - y[split:]) ** 2), abs=0.06)
    assert mlp < constant and mlp < 1.3 * linear
