"""Random valid networks for the property tests (hypothesis), with a user layer among them.

Imported by the property test modules only: without hypothesis, importing it skips them.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import minidl
from minidl import (
    BatchNorm,
    Dense,
    Dropout,
    Identity,
    Layer,
    LeakyReLU,
    Network,
    Parameter,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)

hypothesis = pytest.importorskip("hypothesis", reason="needs hypothesis: pip install hypothesis")
st = pytest.importorskip("hypothesis.strategies")

#: The settings every property module runs with.
FAST = hypothesis.settings(max_examples=40, deadline=None,
                           suppress_health_check=[hypothesis.HealthCheck.too_slow])


class Scale(Layer):
    """A user layer with one parameter per feature: ``y = x * w * factor``."""

    def __init__(self, features: int, factor: float = 1.0, dtype: str = "float64",
                 name: str | None = None) -> None:
        super().__init__(name)
        self.features, self.factor = features, factor
        self.w = Parameter(np.ones(features, dtype=dtype), name="w")
        self._x: np.ndarray | None = None

    def forward(self, x):
        self._x = x
        return x * (self.w.value * self.factor)

    def backward(self, grad_y):
        assert self._x is not None
        self.w.grad[...] = np.sum(grad_y * self._x, axis=0) * self.factor
        return grad_y * (self.w.value * self.factor)

    def output_features(self, input_features):
        return self.features

    def config(self):
        return {"features": self.features, "factor": self.factor, "dtype": self.w.dtype.name,
                "name": self.name}


ACTIVATIONS = [ReLU, Tanh, Sigmoid, Identity, lambda: LeakyReLU(0.1)]


@st.composite
def networks(draw: st.DrawFn, *, every_layer: bool = False) -> tuple[Network, int, int]:
    """A random valid network, its input and output sizes."""
    dtype = draw(st.sampled_from(["float64", "float32"]))
    seed = draw(st.integers(0, 2**16))
    inputs = draw(st.integers(1, 5))
    widths = draw(st.lists(st.integers(1, 6), min_size=0, max_size=3))
    layers: list[Layer] = []
    size = inputs
    for width in widths:
        layers.append(Dense(size, width, use_bias=draw(st.booleans()), seed=seed, dtype=dtype))
        seed += 1
        size = width
        if every_layer or draw(st.booleans()):
            kind = draw(st.sampled_from(["activation", "dropout", "batchnorm", "custom"]))
            if kind == "dropout":
                layers.append(Dropout(draw(st.sampled_from([0.0, 0.2, 0.5])), seed=seed))
            elif kind == "batchnorm" and size > 0:
                layers.append(BatchNorm(size, dtype=dtype))
            elif kind == "custom":
                layers.append(Scale(size, factor=draw(st.sampled_from([0.5, 1.0, 2.0])), dtype=dtype))
        layers.append(draw(st.sampled_from(ACTIVATIONS))())
    outputs = draw(st.integers(1, 3))
    layers.append(Dense(size, outputs, seed=seed, dtype=dtype))
    if outputs > 1 and draw(st.booleans()):  # a Softmax over one unit is refused by compile
        layers.append(Softmax())
    return Network(layers), inputs, outputs


def model_bytes(header: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """A model file in memory: the header and arrays from ``describe_network``, zipped."""
    buffer = io.BytesIO()
    payload = json.dumps(header).encode("utf-8")
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in [("__minidl__", np.frombuffer(payload, np.uint8)), *arrays.items()]:
            with archive.open(f"{name}.npy", "w") as stream:
                np.lib.format.write_array(stream, array, allow_pickle=False)
    return buffer.getvalue()


@pytest.fixture(autouse=True, scope="module")
def registered_scale():
    """Register ``Scale`` for model files while a property module runs (autouse where imported)."""
    minidl.register_layer(Scale, name="PropertyScale")
    yield
    minidl.io.unregister_layer("PropertyScale")
