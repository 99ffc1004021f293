"""Model files: round trips, exact paths, atomic saves, and refusal of bad or crafted files."""

from __future__ import annotations

import builtins
import io
import json
import os
import pickle
import zipfile
from pathlib import Path

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
    ModelFileError,
    Network,
    Parameter,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from minidl.io import archive, registry, saving

X = np.random.default_rng(7).normal(size=(6, 3))


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


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "model.npz"
    small_network().save(path)
    return path


# -- round trips -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip_gives_identical_predictions_and_dtype(tmp_path: Path, dtype: str) -> None:
    network = small_network(dtype)
    path = tmp_path / "model.npz"
    network.save(path)
    loaded = minidl.load(path)
    assert loaded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded.predict(X), network.predict(X))
    assert [layer.config() for layer in loaded] == [layer.config() for layer in network]
    for before, after in zip(network.parameters(), loaded.parameters(), strict=True):
        assert after.value is not before.value
        np.testing.assert_array_equal(after.value, before.value)
        assert after.value.dtype == before.value.dtype


def test_every_simple_builtin_layer_round_trips(tmp_path: Path) -> None:
    network = Network([Dense(3, 5, seed=3), Identity(), Sigmoid(), LeakyReLU(alpha=0.3), Tanh(),
                       ReLU(), Dense(5, 3, seed=4), Softmax()])
    path = tmp_path / "all.npz"
    network.save(path)
    loaded = minidl.load(path)
    assert [type(layer) for layer in loaded] == [type(layer) for layer in network]
    assert loaded[3].alpha == 0.3
    np.testing.assert_array_equal(loaded.predict(X), network.predict(X))


def test_batchnorm_running_statistics_and_dropout_round_trip(tmp_path: Path) -> None:
    network = Network([Dense(3, 4, seed=0), BatchNorm(4, momentum=0.8, epsilon=1e-3), ReLU(),
                       Dropout(0.25, seed=11), Dense(4, 1, seed=1)])
    rng = np.random.default_rng(1)
    for _ in range(3):  # move the running statistics away from their start (0 and 1)
        network.forward(rng.normal(2.0, 3.0, size=(8, 3)))
    batchnorm = network[1]
    assert isinstance(batchnorm, BatchNorm)
    batchnorm.gamma.value[...] = [1.5, 0.5, 2.0, 1.0]
    path = tmp_path / "bn.npz"
    network.save(path)
    loaded = minidl.load(path)
    loaded_bn = loaded[1]
    assert isinstance(loaded_bn, BatchNorm) and isinstance(loaded[3], Dropout)
    np.testing.assert_array_equal(loaded_bn.running_mean, batchnorm.running_mean)
    np.testing.assert_array_equal(loaded_bn.running_var, batchnorm.running_var)
    assert not np.allclose(loaded_bn.running_var, 1.0)
    assert (loaded_bn.momentum, loaded_bn.epsilon, loaded[3].rate) == (0.8, 1e-3, 0.25)
    np.testing.assert_array_equal(loaded.predict(X), network.predict(X))  # eval mode: running stats
    header, arrays = read_parts(path)
    assert [item["name"] for item in header["layers"][1]["state"]] == ["running_mean", "running_var"]
    np.testing.assert_array_equal(arrays["layer1.state.running_mean"], batchnorm.running_mean)


def test_batchnorm_state_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "bn.npz"
    Network([Dense(3, 2, seed=0), BatchNorm(2)]).save(path)
    header, arrays = read_parts(path)
    arrays["layer1.state.running_var"][0] = np.inf
    write_parts(path, header, arrays)
    with pytest.raises(ModelFileError, match=r"'layer1.state.running_var': holds NaN or infinity"):
        minidl.load(path)
    arrays["layer1.state.running_var"][0] = 1.0
    del arrays["layer1.state.running_mean"]
    header["layers"][1]["state"] = header["layers"][1]["state"][1:]
    write_parts(path, header, arrays)
    with pytest.raises(ModelFileError, match=r"the file has state arrays \['running_var'\]; the layer keeps "
                                             r"\['running_mean', 'running_var'\]"):
        minidl.load(path)


def test_batchnorm_size_must_match_the_layer_before(tmp_path: Path) -> None:
    path = tmp_path / "bn.npz"
    Network([Dense(3, 2, seed=0), BatchNorm(5)]).save(path)
    with pytest.raises(ModelFileError, match=r"layer 1 \(BatchNorm 'batchnorm'\) expects 5 input features"):
        minidl.load(path)


def test_a_layer_without_state_refuses_state_arrays() -> None:
    with pytest.raises(ValueError, match=r"ReLU 'relu' keeps no state arrays; got \['x'\]"):
        ReLU().load_state_arrays({"x": np.zeros(2)})
    assert ReLU().state_arrays() == {}


def test_file_is_written_at_exactly_the_given_path(tmp_path: Path) -> None:
    path = tmp_path / "weights.model"
    small_network().save(str(path))
    assert sorted(os.listdir(tmp_path)) == ["weights.model"]
    assert minidl.load(str(path)).predict(X).shape == (6, 2)


def test_file_is_a_plain_npz_that_numpy_reads_without_pickle(saved: Path) -> None:
    header, arrays = read_parts(saved)
    assert header["format"] == "minidl-model"
    assert header["version"] == saving.FORMAT_VERSION == 1
    assert [entry["type"] for entry in header["layers"]] == [
        "Dense", "ReLU", "Dense", "Tanh", "Dense", "Softmax"]
    assert header["layers"][0]["config"] == {
        "in_features": 3, "out_features": 4, "use_bias": True, "dtype": "float64", "name": "dense"}
    assert sorted(arrays) == ["layer0.param0", "layer0.param1", "layer2.param0", "layer2.param1",
                              "layer4.param0"]
    assert arrays["layer4.param0"].shape == (4, 2)


def test_load_accepts_a_binary_file_object(saved: Path) -> None:
    loaded = minidl.load(io.BytesIO(saved.read_bytes()))
    np.testing.assert_array_equal(loaded.predict(X), small_network().predict(X))


def test_loaded_network_is_in_training_mode_and_independent(saved: Path) -> None:
    first, second = minidl.load(saved), minidl.load(saved)
    assert first.training
    first.parameters()[0].value += 1.0
    assert not np.array_equal(first.predict(X), second.predict(X))


# -- custom layers -----------------------------------------------------------------------
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
    np.testing.assert_array_equal(loaded.predict(X), network.predict(X))


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
        np.testing.assert_array_equal(loaded.predict(X), network.predict(X))
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


# -- saving refuses what could not be loaded ---------------------------------------------
def test_save_refuses_non_finite_parameters_and_keeps_old_file(saved: Path) -> None:
    before = saved.read_bytes()
    network = small_network()
    network.parameters()[1].value[2] = np.nan
    with pytest.raises(ValueError, match=r"layer 0 .*parameter 'bias'.*NaN or infinity"):
        network.save(saved)
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == ["model.npz"]


def test_save_refuses_a_config_that_is_not_json(tmp_path: Path) -> None:
    layer = Scale(factor=np.array([1.0, 2.0]))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"layer 0 .*config\(\).*JSON values.*got ndarray"):
        Network([layer]).save(tmp_path / "bad.npz")


# -- atomic writes -----------------------------------------------------------------------
@pytest.mark.parametrize("failure", [OSError("No space left on device"), KeyboardInterrupt()])
def test_crash_mid_save_keeps_previous_file_and_leaves_no_temporary(
        saved: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException) -> None:
    before = saved.read_bytes()
    real_write = archive.write_member
    calls = []

    def failing_write(archive, member, value):
        calls.append(member)
        if len(calls) == 3:  # the header and one array are written, then the "disk" fails
            raise failure
        real_write(archive, member, value)

    monkeypatch.setattr(archive, "write_member", failing_write)
    other = small_network()
    other.parameters()[0].value[...] = 0.0
    with pytest.raises(type(failure)):
        other.save(saved)
    assert len(calls) == 3
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == ["model.npz"]
    monkeypatch.undo()
    np.testing.assert_array_equal(minidl.load(saved).predict(X), small_network().predict(X))


def test_atomic_write_replaces_content_and_keeps_permissions(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    archive.atomic_write(path, lambda file: file.write(b"first"))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o600)
    archive.atomic_write(path, lambda file: file.write(b"second"))
    assert path.read_bytes() == b"second"
    assert path.stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["file.bin"]


def test_save_into_missing_folder_raises_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        small_network().save(tmp_path / "no" / "such" / "model.npz")
    assert os.listdir(tmp_path) == []


def test_load_of_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        minidl.load(tmp_path / "absent.npz")


# -- refusing bad files ------------------------------------------------------------------
def test_random_bytes_and_empty_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "noise.npz"
    for content in (b"", b"hello", np.random.default_rng(0).bytes(5000)):
        path.write_bytes(content)
        with pytest.raises(ModelFileError, match=r"not a zip archive.*or it is truncated"):
            minidl.load(path)


def test_every_truncation_is_refused(saved: Path) -> None:
    data = saved.read_bytes()
    for cut in range(0, len(data), 97):
        with pytest.raises(ModelFileError):
            minidl.load(io.BytesIO(data[:cut]))


def test_flipped_data_bytes_fail_the_checksum(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    start = data.index(b"\x93NUMPY", data.index(b"layer0.param0.npy")) + 128
    data[start + 3] ^= 0xFF
    with pytest.raises(ModelFileError, match=r"CRC|Bad CRC"):
        minidl.load(io.BytesIO(bytes(data)))


def test_pickled_object_array_is_refused_and_never_run(tmp_path: Path, saved: Path) -> None:
    class Exploit:
        def __reduce__(self):
            return (exec, ("import builtins; builtins._minidl_was_exploited = True",))

    header, arrays = read_parts(saved)
    arrays["layer0.param0"] = np.array([Exploit()], dtype=object)
    path = tmp_path / "exploit.npz"
    write_parts(path, header, arrays, allow_pickle=True)
    with pytest.raises(ModelFileError, match=r"'layer0.param0': expected floating-point "
                                             r"values; got dtype object"):
        minidl.load(path)
    assert not hasattr(builtins, "_minidl_was_exploited")


def test_a_pickle_file_is_refused_and_never_run(tmp_path: Path) -> None:
    class Exploit:
        def __reduce__(self):
            return (exec, ("import builtins; builtins._minidl_was_exploited = True",))

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(ModelFileError):
        minidl.load(path)
    assert not hasattr(builtins, "_minidl_was_exploited")


def test_a_type_naming_a_module_is_refused_without_importing(saved: Path) -> None:
    header, arrays = read_parts(saved)
    header["layers"][1]["type"] = "subprocess.Popen"
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"layer 1: type must be a layer class name; "
                                             r"got 'subprocess.Popen'"):
        minidl.load(saved)
    header["layers"][1]["type"] = "Popen"
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"layer 1 has the unknown type 'Popen'; "
                                             r"known types: BatchNorm, Dense"):
        minidl.load(saved)


@pytest.mark.parametrize(("version", "message"), [
    (2, "format version 2, written by a newer minidl; this minidl reads versions up to 1"),
    (0, "unsupported format version 0; this minidl reads version 1"),
    ("1", "version must be an integer; got '1'"),
])
def test_wrong_version_is_refused(saved: Path, version: object, message: str) -> None:
    header, arrays = read_parts(saved)
    header["version"] = version
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=message):
        minidl.load(saved)


def test_a_foreign_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.npz"
    with open(path, "wb") as file:
        np.savez(file, x=np.ones(3))
    with pytest.raises(ModelFileError, match=r"no __minidl__.npy member"):
        minidl.load(path)


@pytest.mark.parametrize(("raw", "message"), [
    (b"\xff\xfe", "not UTF-8"),
    (b"{\"format\": ", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object; got list"),
    (b"{\"format\": \"minidl-model\", \"version\": 1, \"layers\": [], \"x\": NaN}", "non-finite number NaN"),
    (b"{\"format\": \"minidl-model\", \"format\": \"minidl-model\"}", "repeats the key 'format'"),
    (b'{"format": "keras", "version": 1, "layers": []}', "format is 'keras'; expected 'minidl-model'"),
    (b"{\"format\": \"minidl-model\", \"version\": 1}", r"missing the keys \['layers'\]"),
    (b"{\"format\": \"minidl-model\", \"version\": 1, \"layers\": []}", "non-empty list"),
    (b"[" * 100_000, "nested too deeply|not valid JSON"),
    (b'{"format": "minidl-model", "version": 1, "layers": [1e400]}', "1e400, too large for a float"),
])
def test_malformed_headers_are_refused(tmp_path: Path, raw: bytes, message: str) -> None:
    path = tmp_path / "bad.npz"
    write_parts(path, None, {}, raw_header=raw)
    with pytest.raises(ModelFileError, match=message):
        minidl.load(path)


def test_header_with_unexpected_keys_is_refused(saved: Path) -> None:
    header, arrays = read_parts(saved)
    header["layers"][0]["code"] = "print('hi')"
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"layer 0 has unexpected keys \['code'\]"):
        minidl.load(saved)


REBUILD = r"could not rebuild layer 0 \(Dense\) from its config"


# The constructors' own checks speak (no second schema in the reader), wrapped in a
# ModelFileError that names the layer, its type and the config.
@pytest.mark.parametrize(("key", "value", "message"), [
    ("in_features", "3", rf"{REBUILD}.*in_features must be a positive integer; got '3'"),
    ("in_features", True, rf"{REBUILD}.*in_features must be a positive integer; got True"),
    ("in_features", -3, "in_features must be a positive integer; got -3"),
    ("use_bias", "yes", rf"{REBUILD}.*use_bias must be True or False; got 'yes'"),
    ("dtype", "object", rf"{REBUILD}.*dtype must be a floating dtype; got object"),
    ("name", 7, r"layer 0 \(Dense\): its name must be a string; got 7"),
])
def test_builtin_config_values_are_type_checked(saved: Path, key: str, value: object, message: str) -> None:
    header, arrays = read_parts(saved)
    header["layers"][0]["config"][key] = value
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=message):
        minidl.load(saved)


def test_builtin_config_with_extra_or_missing_keys_is_refused(saved: Path) -> None:
    header, arrays = read_parts(saved)
    header["layers"][0]["config"]["activation"] = "relu"
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"layer 0 \(Dense\) config has keys \['activation'\] that "
                                             r"Dense\(\) does not accept"):
        minidl.load(saved)
    del header["layers"][0]["config"]["activation"]
    del header["layers"][0]["config"]["dtype"]
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"config is missing the keys \['dtype'\]"):
        minidl.load(saved)


def test_missing_and_extra_arrays_are_refused(saved: Path) -> None:
    header, arrays = read_parts(saved)
    bias = arrays.pop("layer2.param1")
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"missing arrays \['layer2.param1.npy'\]"):
        minidl.load(saved)
    arrays["layer2.param1"] = bias
    arrays["payload"] = np.zeros(3)
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"holds arrays \['payload.npy'\] that its "
                                             r"header does not describe"):
        minidl.load(saved)


def test_array_shape_must_match_header_and_layer(saved: Path) -> None:
    header, arrays = read_parts(saved)
    arrays["layer0.param0"] = np.zeros((4, 4))
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"header says shape \(3, 4\); the array has shape \(4, 4\)"):
        minidl.load(saved)
    header["layers"][0]["parameters"][0]["shape"] = [4, 4]
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"config implies parameter shapes \[\[3, 4\], \[4\]\]; "
                                             r"the file declares \[\[4, 4\], \[4\]\]"):
        minidl.load(saved)


def test_parameter_names_must_match_the_layer(saved: Path) -> None:
    header, arrays = read_parts(saved)
    header["layers"][0]["parameters"][0]["name"] = "kernel"
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"parameters \['kernel', 'bias'\]; the layer built from its "
                                             r"config has \['weight', 'bias'\]"):
        minidl.load(saved)


@pytest.mark.parametrize("dtype", [np.int64, np.complex128, np.bool_, "U3"])
def test_non_float_arrays_are_refused(saved: Path, dtype: object) -> None:
    header, arrays = read_parts(saved)
    arrays["layer0.param1"] = np.zeros(4, dtype=dtype)
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"'layer0.param1': expected floating-point values; got dtype"):
        minidl.load(saved)


def test_dtype_must_match_header(saved: Path) -> None:
    header, arrays = read_parts(saved)
    arrays["layer0.param1"] = arrays["layer0.param1"].astype(np.float32)
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"header says dtype float64; the array has dtype float32"):
        minidl.load(saved)


def test_big_endian_arrays_are_read_correctly(saved: Path) -> None:
    header, arrays = read_parts(saved)
    arrays = {key: value.astype(value.dtype.newbyteorder(">")) for key, value in arrays.items()}
    write_parts(saved, header, arrays)
    loaded = minidl.load(saved)
    np.testing.assert_array_equal(loaded.predict(X), small_network().predict(X))
    assert loaded.parameters()[0].value.dtype.isnative


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_parameters_are_refused(saved: Path, bad: float) -> None:
    header, arrays = read_parts(saved)
    arrays["layer2.param0"][1, 2] = bad
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"'layer2.param0': holds NaN or infinity"):
        minidl.load(saved)


def test_mismatched_sizes_between_layers_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "mismatch.npz"
    Network([Dense(3, 4, name="first"), ReLU(), Dense(5, 1, name="second")]).save(path)
    with pytest.raises(ModelFileError, match=r"layer 2 \(Dense 'second'\) expects 5 input features but "
                                             "the layer before it gives 4"):
        minidl.load(path)


def test_duplicate_layer_names_are_refused(saved: Path) -> None:
    header, arrays = read_parts(saved)
    header["layers"][3]["config"]["name"] = "relu"
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"layer names must be unique"):
        minidl.load(saved)


# -- size bounds (zip bombs) ---------------------------------------------------------------
def test_max_bytes_bounds_what_a_file_may_unpack_to(saved: Path) -> None:
    with pytest.raises(ModelFileError, match=r"more than max_bytes=100 bytes.*pass a larger max_bytes"):
        minidl.load(saved, max_bytes=100)
    with pytest.raises(ValueError, match=r"load max_bytes must be a positive integer; got 0"):
        minidl.load(saved, max_bytes=0)


def test_a_compressed_bomb_is_refused_before_it_is_unpacked(saved: Path, tmp_path: Path) -> None:
    header, arrays = read_parts(saved)
    path = tmp_path / "bomb.npz"
    write_parts(path, header, arrays)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("bomb.npy", "w", force_zip64=True) as stream:
            np.lib.format.write_array(stream, np.zeros(4_000_000))  # 32 MB of zeros, ~30 kB packed
    assert path.stat().st_size < 200_000
    with pytest.raises(ModelFileError, match=r"more than max_bytes=1000000 bytes"):
        minidl.load(path, max_bytes=1_000_000)


def test_an_array_header_claiming_more_data_than_the_member_holds_is_refused(saved: Path) -> None:
    header, arrays = read_parts(saved)
    header["layers"][0]["parameters"][1]["shape"] = [10**12]
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.zeros(4))
    forged = fix_npy_header(buffer.getvalue().replace(b"(4,)", b"(1000000000000,)"))
    stream = io.BytesIO(forged)
    assert np.lib.format.read_magic(stream) == (1, 0)
    assert np.lib.format.read_array_header_1_0(stream)[0] == (10**12,)  # the forgery is well formed
    path = saved
    write_parts(path, header, {k: v for k, v in arrays.items() if k != "layer0.param1"})
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("layer0.param1.npy", forged)
    with pytest.raises(ModelFileError, match=r"claims 8000000000000 bytes of data but "
                                             r"the member holds at most"):
        minidl.load(path)


def fix_npy_header(data: bytes) -> bytes:
    """Re-pad a hand-edited .npy version 1.0 header so its length field is right."""
    magic, rest = data[:8], data[10:]
    text, payload = rest.split(b"\n", 1)
    text = text.rstrip(b" ")
    total = 10 + len(text) + 1
    padding = (64 - total % 64) % 64
    text = text + b" " * padding + b"\n"
    return magic + len(text).to_bytes(2, "little") + text + payload


def test_other_compression_methods_are_refused(saved: Path, tmp_path: Path) -> None:
    header, _ = read_parts(saved)
    path = tmp_path / "lzma.npz"
    payload = json.dumps(header).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_LZMA) as archive:
        with archive.open("__minidl__.npy", "w") as stream:
            np.lib.format.write_array(stream, np.frombuffer(payload, dtype=np.uint8))
    with pytest.raises(ModelFileError, match=r"compression method 14; expected stored "
                                             r"\(0\) or deflated \(8\)"):
        minidl.load(path)
