"""Regression tests for layer extension, BatchNorm in fit and model files: each failed before its fix."""

from __future__ import annotations

import numpy as np
import pytest

import minidl


def _batchnorm_network() -> minidl.Network:
    network = minidl.Network([minidl.Dense(3, 4, seed=0), minidl.BatchNorm(4), minidl.ReLU(),
                              minidl.Dense(4, 1, seed=1)])
    network.compile(optimizer="sgd", loss="mse")
    return network


@pytest.mark.parametrize("shuffle", [True, False])
def test_fit_with_batchnorm_never_trains_on_a_batch_of_one(shuffle: bool) -> None:
    # 33 samples in batches of 32 would leave a last batch of 1, on which BatchNorm has no
    # variance: the lone sample joins the batch before it instead of failing mid-epoch.
    x = np.random.default_rng(0).normal(size=(33, 3))
    y = x.sum(axis=1)
    network = _batchnorm_network()
    sizes: list[float] = []

    class Sizes(minidl.Callback):
        def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
            assert logs is not None
            sizes.append(logs["size"])

    history = network.fit(x, y, epochs=2, batch_size=32, shuffle=shuffle, verbose=0, callbacks=[Sizes()])
    assert sizes == [33.0, 33.0]
    assert len(history.history["loss"]) == 2
    assert all(np.isfinite(p.value).all() for p in network.parameters())


def test_fit_batchnorm_one_sample_merge_is_plain_gradient_descent() -> None:
    # The merged batch is one step on the mean loss of its 33 samples (shuffle off).
    x = np.random.default_rng(1).normal(size=(33, 3))
    y = x.sum(axis=1)
    merged = _batchnorm_network()
    merged.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    full = _batchnorm_network()
    full.fit(x, y, epochs=1, batch_size=33, shuffle=False, verbose=0)
    for a, b in zip(merged.parameters(), full.parameters(), strict=True):
        assert np.array_equal(a.value, b.value)


def test_fit_without_batchnorm_keeps_a_last_batch_of_one() -> None:
    x = np.random.default_rng(0).normal(size=(33, 3))
    network = minidl.Network([minidl.Dense(3, 1, seed=0)])
    network.compile(optimizer="sgd", loss="mse")
    sizes: list[float] = []

    class Sizes(minidl.Callback):
        def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
            assert logs is not None
            sizes.append(logs["size"])

    network.fit(x, x.sum(axis=1), epochs=1, batch_size=32, verbose=0, callbacks=[Sizes()])
    assert sizes == [32.0, 1.0]


class _LazyScale(minidl.Layer):
    """A learner's mistake: the parameter is created in the first forward."""

    def __init__(self) -> None:
        super().__init__()
        self.w: minidl.Parameter | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.w is None:
            self.w = minidl.Parameter(np.ones(x.shape[-1]), name="w")
        self.x = x
        return x * self.w.value

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        assert self.w is not None
        self.w.grad[...] = (grad_y * self.x).sum(axis=0)
        return grad_y * self.w.value


class _ListScale(minidl.Layer):
    """A learner's mistake: the parameters are kept in a list, which parameters() does not see."""

    def __init__(self) -> None:
        super().__init__()
        self.weights = [minidl.Parameter(np.ones(3), name="w")]

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x * self.weights[0].value

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        self.weights[0].grad[...] = (grad_y * self.x).sum(axis=0)
        return grad_y * self.weights[0].value


def test_check_gradients_fails_a_parameter_created_in_forward() -> None:
    x = np.random.default_rng(0).normal(size=(4, 3))
    report = minidl.check_gradients(_LazyScale(), x)
    assert not report.passed
    assert any("'w'" in problem and "__init__" in problem for problem in report.problems)


def test_check_gradients_fails_parameters_hidden_in_a_container() -> None:
    x = np.random.default_rng(0).normal(size=(4, 3))
    report = minidl.check_gradients(_ListScale(), x)
    assert not report.passed
    assert any("'weights'" in problem and "list" in problem for problem in report.problems)
    network_report = minidl.check_gradients(minidl.Network([minidl.Dense(3, 3, seed=0), _ListScale()]), x)
    assert not network_report.passed


def test_parameter_from_integers_is_float64_and_trains() -> None:
    parameter = minidl.Parameter([1, 2, 3], name="w")
    assert parameter.value.dtype == np.float64 and parameter.grad.dtype == np.float64
    parameter.grad[...] = [1.0, 1.0, 1.0]
    minidl.SGD(learning_rate=0.5).step([parameter])
    assert parameter.value.tolist() == [0.5, 1.5, 2.5]


@pytest.mark.parametrize("value", [np.array([1j]), np.array(["a"]), np.array([None], dtype=object)])
def test_parameter_refuses_non_real_values(value: np.ndarray) -> None:
    with pytest.raises(TypeError, match=r"Parameter 'w'.*dtype"):
        minidl.Parameter(value, name="w")


# (The two model-file regressions moved to tests/io/test_loading.py.)


class _RebindsGrad(minidl.Layer):
    """A learner's mistake: the bias gradient is not summed over the batch and rebinds grad."""

    def __init__(self) -> None:
        super().__init__()
        self.b = minidl.Parameter(np.zeros(3))  # no name: the error uses the attribute's

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x + self.b.value

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        self.b.grad = grad_y.copy()  # shape (batch, 3), should be grad_y.sum(axis=0)
        return grad_y


def test_fit_names_a_parameter_gradient_of_the_wrong_shape() -> None:
    x = np.random.default_rng(0).normal(size=(8, 3))
    network = minidl.Network([minidl.Dense(3, 3, seed=0), _RebindsGrad()])
    network.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"_RebindsGrad '_rebindsgrad'.*'b'.*\(8, 3\).*\(3,\)"):
        network.fit(x, x, epochs=1, batch_size=8, verbose=0)


def test_fit_refuses_a_parameter_created_in_forward() -> None:
    # It would never be trained: the optimizer's list of parameters was made before it existed.
    x = np.random.default_rng(0).normal(size=(8, 3))
    network = minidl.Network([minidl.Dense(3, 3, seed=0), _LazyScale()])
    network.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"_LazyScale '_lazyscale'.*'w'.*__init__"):
        network.fit(x, x, epochs=1, verbose=0)


def test_dropout_keeps_float16_input_float16() -> None:
    y = minidl.Dropout(0.5, seed=0).forward(np.ones((4, 5), dtype=np.float16))
    assert y.dtype == np.float16
    assert set(y.ravel().tolist()) <= {0.0, 2.0}
