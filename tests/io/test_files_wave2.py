"""Model files after the wave-2 slimming: the checks that moved still refuse, generators come back whole."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import BatchNorm, Dense, Dropout, ModelFileError, Network


def _parts(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    return json.loads(arrays.pop("__minidl__").tobytes()), arrays


def test_a_repeated_state_name_in_the_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bn.npz"
    Network([Dense(3, 2, seed=0), BatchNorm(2)]).save(path)
    header, arrays = _parts(path)
    state = header["layers"][1]["state"]
    state.append(dict(state[1]))  # running_var listed twice
    minidl.io.write_model_file(path, header, arrays)
    with pytest.raises(ModelFileError, match=r"the file has state arrays \['running_mean', 'running_var', "
                                             r"'running_var'\]; the layer keeps"):
        minidl.load(path)


@pytest.mark.parametrize(("where", "dtype"), [("layer", "int64"), ("layer", "float128"), ("optimizer", "U3")])
def test_a_header_dtype_outside_the_allowed_set_is_refused_by_the_form(tmp_path: Path, where: str,
                                                                       dtype: str) -> None:
    network = Network([Dense(2, 1, seed=0)])
    network.compile(optimizer="adam", loss="mse")
    path = tmp_path / "model.npz"
    network.save(path)
    header, arrays = _parts(path)
    item = (header["layers"][0]["parameters"][0] if where == "layer"
            else header["training"]["optimizer"]["state"][0])
    item["dtype"] = dtype
    minidl.io.write_model_file(path, header, arrays)
    with pytest.raises(ModelFileError, match=rf"dtype must be one of \[.*'float64'.*\]; got '{dtype}'"):
        minidl.load(path)


def test_repeated_optimizer_state_keys_are_refused(tmp_path: Path) -> None:
    network = Network([Dense(2, 1, seed=0)])
    network.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "model.npz"
    network.save(path)
    header, arrays = _parts(path)
    state = header["training"]["optimizer"]["state"]
    state.append(dict(state[0]))
    arrays[f"optimizer.{len(state) - 1}"] = arrays["optimizer.0"]
    minidl.io.write_model_file(path, header, arrays)
    with pytest.raises(ModelFileError, match=r"optimizer keys repeat"):
        minidl.load(path)


def test_a_dropout_generator_of_either_pcg64_kind_comes_back_in_its_exact_state(tmp_path: Path) -> None:
    for bit_generator in (np.random.PCG64(5), np.random.PCG64DXSM(5)):
        network = Network([Dense(3, 3, seed=0), Dropout(0.5, seed=np.random.Generator(bit_generator))])
        network.forward(np.ones((2, 3)))  # move the generator away from its seed
        path = tmp_path / "dropout.npz"
        network.save(path)
        loaded = minidl.load(path)
        x = np.ones((4, 3))
        np.testing.assert_array_equal(loaded.forward(x), network.forward(x))  # the same mask
        assert type(loaded[1]._rng.bit_generator) is type(bit_generator)


def test_a_user_layer_that_declares_input_shape_is_checked_against_the_layer_before(tmp_path: Path) -> None:
    class Scale(minidl.Layer):
        def __init__(self, features: int = 2, name: str | None = None) -> None:
            super().__init__(name)
            self.features = features
            self.input_shape = (None, features)

        def forward(self, x):
            return 2.0 * x

        def backward(self, grad_y):
            return 2.0 * grad_y

        def output_features(self, input_features):
            return self.features

        def config(self):
            return {"features": self.features, "name": self.name}

    path = tmp_path / "scale.npz"
    Network([Dense(3, 4, seed=0), Scale(5)]).save(path)
    with pytest.raises(ModelFileError, match=r"layer 1 \(Scale 'scale'\) expects 5 input features but the "
                                             r"layer before it gives 4"):
        minidl.load(path, custom_layers={"Scale": Scale})
    Network([Dense(3, 4, seed=0), Scale(4)]).save(path)
    assert isinstance(minidl.load(path, custom_layers={"Scale": Scale})[1], Scale)
