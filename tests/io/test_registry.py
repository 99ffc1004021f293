"""The layer registry (minidl/io/registry.py): user layers load once registered, names checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import Dense, ModelFileError, Network
from minidl.io import registry
from tests.io.files import X_SMALL, Scale, read_parts, write_parts


def scaled_network() -> Network:
    layer = Scale(factor=2.5)
    layer.w.value[0] = -0.75
    return Network([Dense(3, 2, seed=5), layer])


def test_custom_layer_needs_registration_and_says_how(tmp_path: Path) -> None:
    path = tmp_path / "custom.npz"
    scaled_network().save(path)
    with pytest.raises(ModelFileError, match=r"unknown type 'Scale'.*register_layer.*custom_layers"):
        minidl.load(path)


def test_custom_layer_loads_with_custom_layers_argument(tmp_path: Path) -> None:
    network = scaled_network()
    path = tmp_path / "custom.npz"
    network.save(path)
    loaded = minidl.load(path, custom_layers={"Scale": Scale})
    assert isinstance(loaded[1], Scale) and loaded[1].factor == 2.5
    assert loaded[1].w.value[0] == -0.75
    np.testing.assert_array_equal(loaded.predict(X_SMALL), network.predict(X_SMALL))


def test_custom_layer_loads_after_register_layer_decorator(tmp_path: Path) -> None:
    @minidl.register_layer(name="MyScale")
    class MyScale(Scale):
        pass

    try:
        layer = MyScale(factor=3.0)
        network = Network([Dense(3, 2, seed=6), layer])
        path = tmp_path / "registered.npz"
        network.save(path)
        header, _ = read_parts(path)
        assert header["layers"][1]["type"] == "MyScale"
        loaded = minidl.load(path)
        assert type(loaded[1]) is MyScale
        np.testing.assert_array_equal(loaded.predict(X_SMALL), network.predict(X_SMALL))
    finally:
        registry.unregister_layer("MyScale")
    with pytest.raises(ModelFileError, match=r"unknown type 'MyScale'"):
        minidl.load(path)


def test_register_layer_rejects_non_layers_builtin_names_and_conflicts() -> None:
    with pytest.raises(TypeError, match=r"subclass of minidl.Layer; got <class 'int'>"):
        minidl.register_layer(int)
    with pytest.raises(ValueError, match=r"'Dense' is a built-in layer"):
        minidl.register_layer(Scale, name="Dense")
    with pytest.raises(ValueError, match=r"identifier.*got 'os.system'"):
        minidl.register_layer(Scale, name="os.system")
    minidl.register_layer(Scale, name="Conflict")
    try:
        with pytest.raises(ValueError, match=r"'Conflict' is already registered"):
            minidl.register_layer(type("Other", (Scale,), {}), name="Conflict")
    finally:
        registry.unregister_layer("Conflict")


def test_load_custom_layers_argument_is_checked(saved: Path) -> None:
    with pytest.raises(TypeError, match=r"custom_layers must be a dict.*got list"):
        minidl.load(saved, custom_layers=[Scale])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"custom_layers\['Scale'\] must be a subclass.*got <class 'str'>"):
        minidl.load(saved, custom_layers={"Scale": str})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match=r"'ReLU' is a built-in layer"):
        minidl.load(saved, custom_layers={"ReLU": Scale})


def test_a_user_class_named_like_a_builtin_is_not_saved_as_the_builtin(tmp_path: Path) -> None:
    class Dense(Scale):  # the clash with the built-in name is the point
        pass

    with pytest.raises(ValueError, match=r"name of a built-in layer.*register_layer"):
        Network([Dense()]).save(tmp_path / "clash.npz")
    assert not (tmp_path / "clash.npz").exists()


def test_custom_config_with_unaccepted_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "custom.npz"
    scaled_network().save(path)
    header, arrays = read_parts(path)
    header["layers"][1]["config"]["command"] = "rm -rf /"
    write_parts(path, header, arrays)
    with pytest.raises(ModelFileError, match=r"layer 1 \(Scale\) config has keys \['command'\].*"
                                             r"expected some of \['factor', 'name'\]"):
        minidl.load(path, custom_layers={"Scale": Scale})


def test_custom_layer_constructor_failure_is_reported_as_a_file_error(tmp_path: Path) -> None:
    class Picky(Scale):
        def __init__(self, factor: float = 1.0, name: str | None = None) -> None:
            if factor > 10:
                raise ValueError(f"factor must be at most 10; got {factor}")
            super().__init__(factor, name)

    path = tmp_path / "picky.npz"
    Network([Picky(factor=2.0)]).save(path)
    header, arrays = read_parts(path)
    header["layers"][0]["config"]["factor"] = 99
    write_parts(path, header, arrays)
    with pytest.raises(ModelFileError, match=r"could not rebuild layer 0 \(Picky\) from its config.*"
                                             r"factor must be at most 10; got 99"):
        minidl.load(path, custom_layers={"Picky": Picky})


def test_a_type_naming_a_module_is_refused_without_importing(saved: Path) -> None:
    header, arrays = read_parts(saved)
    header["layers"][1]["type"] = "subprocess.Popen"
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"layer 1 has the unknown type 'subprocess.Popen'; "
                                             r"known types: AvgPool2D, BatchNorm, Conv2D, Dense"):
        minidl.load(saved)
    header["layers"][1]["type"] = "Popen"
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"layer 1 has the unknown type 'Popen'; "
                                             r"known types: AvgPool2D, BatchNorm, Conv2D, Dense"):
        minidl.load(saved)
