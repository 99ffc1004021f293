"""Helpers for the model-file tests: a small network of most built-in layers and its inputs, a
user's layer, and a file's parts read and written with numpy and zipfile themselves (no minidl
code in between). The network to train and resume comes from tests/training/helpers.py."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from minidl import Dense, Layer, Network, Parameter, ReLU, Softmax, Tanh

#: Inputs for small_network's predictions.
X_SMALL = np.random.default_rng(7).normal(size=(6, 3))


def small_network(dtype: str = "float64") -> Network:
    return Network([
        Dense(3, 4, seed=0, dtype=dtype), ReLU(),
        Dense(4, 4, seed=1, bias_init="he_normal", dtype=dtype), Tanh(),
        Dense(4, 2, use_bias=False, seed=2, dtype=dtype), Softmax(),
    ])


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
