"""The data and the small networks the training tests share (one copy, imported by each test module)."""

from __future__ import annotations

import numpy as np

import minidl
from minidl import SGD, Adam, BatchNorm, Dense, Dropout, Layer, Network, ReLU, Softmax

F32 = np.dtype(np.float32)

# -- a regression of 20 samples, 3 features: the hyper-parameter and data checks of fit --------------

X_TRAIN = np.random.default_rng(1).normal(size=(20, 3))
Y_TRAIN = X_TRAIN @ np.array([1.0, -2.0, 0.5])


def network(dtype: str = "float64") -> Network:
    return Network([Dense(3, 4, seed=0, dtype=dtype), ReLU(), Dense(4, 1, seed=1, dtype=dtype)])


def compiled_network(dtype: str = "float64", learning_rate: float = 0.05) -> Network:
    net = network(dtype)
    net.compile(optimizer=SGD(learning_rate), loss="mse", metrics=["mae"])
    return net


def changed(array: np.ndarray, index: tuple, value: float) -> np.ndarray:
    """A float64 copy of ``array`` with ``value`` at ``index`` (a NaN or an inf, say)."""
    copy = array.astype(np.float64).copy()
    copy[index] = value
    return copy


# -- a noisy linear regression and one Dense layer -----------------------------------------------------


def linear_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=n)
    return x, y


def compiled_net():
    net = Network([Dense(3, 1, seed=0)])
    net.compile(optimizer="sgd", loss="mse")
    return net


# -- 60 noisy samples of 4 features, and a network with BatchNorm and Dropout (checkpoints, Ctrl-C) --

_RNG = np.random.default_rng(0)
NOISY_X = _RNG.normal(size=(60, 4))
NOISY_Y = NOISY_X[:, :1] * 2.0 - NOISY_X[:, 1:2] + 0.1 * _RNG.normal(size=(60, 1))


def make_network(dropout: bool = True) -> Network:
    layers = [Dense(4, 8, seed=1), BatchNorm(8), ReLU()]
    if dropout:
        layers.append(Dropout(0.25, seed=5))
    layers.append(Dense(8, 1, seed=2))
    return Network(layers)


def batchnorm_net(optimizer, dropout: bool = True) -> Network:
    network = make_network(dropout)
    network.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return network


# -- a float32 classifier of 60 samples, and layers that record what they see --------------------------


class InputRecorder(minidl.Layer):
    """A pass-through layer that keeps every input it sees (by reference)."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[np.ndarray] = []

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.inputs.append(x)
        return x

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        return grad_y


def classifier(recorder: InputRecorder) -> Network:
    net = Network([recorder, Dense(4, 8, seed=0), ReLU(), Dense(8, 3, seed=1), Softmax()])
    net.astype(np.float32)
    net.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(0.01), metrics=["accuracy"])
    return net


def classification_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((60, 4))  # float64 on purpose
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    return x, labels


class Recorder(Layer):
    """A parameter-free layer that records what it sees (and must never be backpropagated)."""

    def __init__(self):
        super().__init__()
        self.seen = []
        self.modes = []

    def forward(self, x):
        self.seen.append(x.copy())
        self.modes.append(self.training)
        return x

    def backward(self, grad_y):
        raise AssertionError("backward must stop at the first layer with parameters")
