"""Property-based tests (hypothesis) of model files: round trips, random and mutated bytes."""

from __future__ import annotations

import io

import numpy as np
import pytest

import minidl
from minidl import BatchNorm, Dense, ModelFileError, Network, ReLU, Softmax
from minidl.io import describe_network
from tests.random_networks import FAST, model_bytes, networks, registered_scale  # noqa: F401 (autouse fixture)

hypothesis = pytest.importorskip("hypothesis", reason="needs hypothesis: pip install hypothesis")
st = pytest.importorskip("hypothesis.strategies")
given = hypothesis.given
settings = hypothesis.settings


@FAST
@given(spec=networks(every_layer=True), seed=st.integers(0, 2**16))
def test_save_load_round_trip_gives_identical_predictions(spec, seed) -> None:
    network, inputs, _ = spec
    rng = np.random.default_rng(seed)
    for parameter in network.parameters():  # not the initial values: anything finite
        parameter.value[...] = rng.normal(size=parameter.shape)
    network.forward(rng.normal(size=(8, inputs)))  # moves BatchNorm running statistics
    loaded = minidl.load(io.BytesIO(model_bytes(*describe_network(network))))
    assert [type(layer) for layer in loaded] == [type(layer) for layer in network]
    assert [layer.config() for layer in loaded] == [layer.config() for layer in network]
    x = rng.normal(size=(5, inputs))
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))


@FAST
@given(spec=networks(every_layer=True))
def test_save_to_disk_and_load_round_trip(tmp_path_factory, spec) -> None:
    network, inputs, _ = spec
    path = tmp_path_factory.mktemp("model") / "model.npz"
    network.save(path)
    x = np.linspace(-2.0, 2.0, 3 * inputs).reshape(3, inputs)
    np.testing.assert_array_equal(minidl.load(path).predict(x), network.predict(x))


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=2000))
def test_random_bytes_always_give_the_clear_error(data: bytes) -> None:
    try:
        minidl.load(io.BytesIO(data))
    except ModelFileError:
        return
    raise AssertionError("random bytes were loaded as a model")


def _model_bytes() -> bytes:
    network = Network([Dense(3, 4, seed=0), BatchNorm(4), ReLU(), Dense(4, 2, seed=1), Softmax()])
    return model_bytes(*describe_network(network))


MODEL = _model_bytes()


@settings(max_examples=200, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, len(MODEL) - 1), st.integers(0, 255)), min_size=1,
                      max_size=8),
       cut=st.one_of(st.none(), st.integers(0, len(MODEL))))
def test_mutated_model_files_give_the_clear_error_or_a_valid_network(edits, cut) -> None:
    data = bytearray(MODEL)
    for position, value in edits:
        data[position] = value
    if cut is not None:
        data = data[:cut]
    try:
        network = minidl.load(io.BytesIO(bytes(data)))
    except ModelFileError:
        return
    # A mutation that left the file valid (e.g. in a zip field nobody reads) must still
    # give a sound network: finite parameters and a prediction of the right shape.
    assert all(np.all(np.isfinite(p.value)) for p in network.parameters())
    assert network.predict(np.ones((2, 3))).shape == (2, 2)


@settings(max_examples=100, deadline=None)
@given(key=st.sampled_from(["format", "version", "layers", "type", "config", "parameters", "shape",
                            "dtype", "name", "in_features", "out_features", "use_bias", "num_features"]),
       value=st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.floats(allow_nan=False),
                       st.text(max_size=5), st.lists(st.integers(-2, 5), max_size=3),
                       st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)))
def test_crafted_header_values_give_the_clear_error_or_a_valid_network(key, value) -> None:
    header, arrays = describe_network(
        Network([Dense(3, 4, seed=0), BatchNorm(4), ReLU(), Dense(4, 2, seed=1)]))

    def replace(node):
        if isinstance(node, dict):
            return {k: (value if k == key else replace(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [replace(item) for item in node]
        return node

    try:
        network = minidl.load(io.BytesIO(model_bytes(replace(header), arrays)))
    except ModelFileError:
        return
    assert network.predict(np.ones((2, 3))).shape == (2, 2)
