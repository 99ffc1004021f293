"""Helpers for the model-file tests: small networks (of most built-in layers; one to train and
resume), their data, a user's layer, and a file's parts read and written with numpy and zipfile
themselves (no minidl code in between)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from minidl import BatchNorm, Dense, Dropout, Layer, Network, Parameter, ReLU, Softmax, Tanh

#: Inputs for small_network's predictions.
X_SMALL = np.random.default_rng(7).normal(size=(6, 3))
_RNG = np.random.default_rng(0)
#: A regression problem for make_network: y = 2 x0 - x1 + noise.
X = _RNG.normal(size=(60, 4))
Y = X[:, :1] * 2.0 - X[:, 1:2] + 0.1 * _RNG.normal(size=(60, 1))


def small_network(dtype: str = "float64") -> Network:
    return Network([
        Dense(3, 4, seed=0, dtype=dtype), ReLU(),
        Dense(4, 4, seed=1, bias_init="he_normal", dtype=dtype), Tanh(),
        Dense(4, 2, use_bias=False, seed=2, dtype=dtype), Softmax(),
    ])


def make_network(dropout: bool = True) -> Network:
    """A network with state (BatchNorm) and a generator (Dropout) to train, save and resume."""
    layers = [Dense(4, 8, seed=1), BatchNorm(8), ReLU()]
    if dropout:
        layers.append(Dropout(0.25, seed=5))
    layers.append(Dense(8, 1, seed=2))
    return Network(layers)


def compiled(optimizer, dropout: bool = True) -> Network:
    network = make_network(dropout)
    network.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return network


def read_parts(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and arrays of a model file, read with numpy itself (no pickle)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    header = json.loads(arrays.pop("__minidl__").tobytes().decode("utf-8"))
    return header, arrays


def write_parts(path: Path, header: object, arrays: dict[str, np.ndarray], *,
                raw_header: bytes | None = None, allow_pickle: bool = False) -> None:
    """Write a (possibly crafted) model file member by member."""
    payload = raw_header if raw_header is not None else json.dumps(header).encode("utf-8")
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("__minidl__.npy", "w") as stream:
            np.lib.format.write_array(stream, np.frombuffer(payload, dtype=np.uint8))
        for key, value in arrays.items():
            with archive.open(f"{key}.npy", "w") as stream:
                np.lib.format.write_array(stream, value, allow_pickle=allow_pickle)


class Scale(Layer):
    """y = factor * x * w, with one trainable scalar w (a user's layer)."""

    def __init__(self, factor: float = 1.0, name: str | None = None) -> None:
        super().__init__(name)
        self.factor = factor
        self.w = Parameter(np.array([1.0]), name="w")
        self._x: np.ndarray | None = None

    def forward(self, x):
        self._x = x
        return x * (self.factor * self.w.value[0])

    def backward(self, grad_y):
        assert self._x is not None
        self.w.grad[...] = self.factor * np.sum(grad_y * self._x)
        return grad_y * (self.factor * self.w.value[0])

    def output_features(self, input_features):
        return input_features

    def config(self):
        return {"factor": self.factor, "name": self.name}
