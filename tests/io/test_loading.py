"""Loading (minidl/io/loading.py): the header checked against its form, format and version;
layers come back through their constructors, with no random draws, in the memory of their arrays;
every array and state checked; load's arguments."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import Adam, BatchNorm, Dense, ModelFileError, Network, ReLU, initializers
from tests.io.files import X_SMALL, read_parts, small_network, write_parts
from tests.messages import raises
from tests.training.helpers import NOISY_X as X
from tests.training.helpers import NOISY_Y as Y
from tests.training.helpers import batchnorm_net as compiled


def _rewrite(path: str, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


# -- the header: its form, format, version; the arrays it describes -----------------------------
@pytest.mark.parametrize(("version", "message"), [
    (2, r"format version 2; this minidl reads version 1 \(a file written by a newer minidl needs a newer "),
    (0, "format version 0; this minidl reads version 1"),
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
    (b"{\"format\": \"minidl-model\", \"version\": 1, \"layers\": [], \"x\": NaN}",
     "holds the number NaN; expected a finite number"),
    (b"{\"format\": \"minidl-model\", \"format\": \"minidl-model\"}", "repeats the key 'format'"),
    (b'{"format": "keras", "version": 1, "layers": []}', "format is 'keras'; expected 'minidl-model'"),
    (b"{\"format\": \"minidl-model\", \"version\": 1}", r"missing the keys \['layers'\]"),
    (b"{\"format\": \"minidl-model\", \"version\": 1, \"layers\": []}", "non-empty list"),
    (b"[" * 100_000, "RecursionError: maximum recursion depth exceeded|not valid JSON"),
    (b'{"format": "minidl-model", "version": 1, "layers": [1e400]}',
     "holds the number 1e400; expected a finite number"),
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


def test_duplicate_layer_names_are_refused(saved: Path) -> None:
    header, arrays = read_parts(saved)
    header["layers"][3]["config"]["name"] = "relu"
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"layer names must be unique; got 'relu' more than once"):
        minidl.load(saved)


# -- layers rebuilt through their constructors ----------------------------------------------------
def test_load_refuses_a_negative_batchnorm_running_variance(tmp_path: Path) -> None:
    # A crafted file with running_var < 0 used to load and then predict NaN.
    network = minidl.Network([minidl.Dense(2, 3, seed=0), minidl.BatchNorm(3)])
    path = str(tmp_path / "model.npz")
    network.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO()
    np.save(buffer, np.array([1.0, -1.0, 1.0]), allow_pickle=False)
    members["layer1.state.running_var.npy"] = buffer.getvalue()
    _rewrite(path, members)
    with pytest.raises(minidl.ModelFileError, match="running_var"):
        minidl.load(path)
    layer = minidl.BatchNorm(3)
    with pytest.raises(ValueError, match=r"running_var.*negative"):
        layer.load_state_arrays({"running_mean": np.zeros(3), "running_var": np.array([1.0, -1.0, 1.0])})


def test_load_refuses_a_config_that_implies_huge_parameters_before_allocating(tmp_path: Path) -> None:
    # A 2 KB file whose Dense config says 15000 x 15000 (the stored arrays are 3 x 4) used to
    # build that layer (1.8 GB of weights) before comparing shapes, bypassing max_bytes.
    import tracemalloc

    path = str(tmp_path / "model.npz")
    minidl.Network([minidl.Dense(3, 4, seed=0)]).save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(np.load(path, allow_pickle=False)["__minidl__"].tobytes())
    header["layers"][0]["config"].update(in_features=15000, out_features=15000)
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), allow_pickle=False)
    members["__minidl__.npy"] = buffer.getvalue()
    _rewrite(path, members)
    tracemalloc.start()
    try:
        with pytest.raises(minidl.ModelFileError, match=r"config implies parameter shapes"):
            minidl.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


def test_loading_draws_no_random_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    network = minidl.Network([minidl.Dense(3, 4, seed=0), minidl.ReLU(), minidl.Dense(4, 1, seed=1)])
    path = tmp_path / "model.npz"
    network.save(path)

    def no_draws(*args: object) -> np.ndarray:
        raise AssertionError("an initializer ran while loading")

    monkeypatch.setitem(initializers.INITIALIZERS, "glorot_uniform", no_draws)
    monkeypatch.setitem(initializers.INITIALIZERS, "zeros", no_draws)
    loaded = minidl.load(path)
    x = np.array([[1.0, -2.0, 0.5]])
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))
    with pytest.raises(AssertionError, match="an initializer ran"):
        minidl.Dense(3, 4)  # outside load, initializers run as usual


def test_initialize_with_answers_every_initialize_call_only_inside_the_block() -> None:
    calls: list[tuple[int, ...]] = []

    def record(shape: tuple[int, ...], rng: np.random.Generator, dtype: object) -> np.ndarray:
        calls.append(shape)
        return np.full(shape, 7.0)

    with initializers.initialize_with(record):
        inside = minidl.Dense(2, 3, seed=0)
    outside = minidl.Dense(2, 3, seed=0)
    assert calls == [(2, 3), (3,)]
    assert np.all(inside.weight.value == 7.0) and not np.all(outside.weight.value == 7.0)


def test_a_bad_optimizer_state_is_a_model_file_error_naming_the_file(tmp_path: Path) -> None:
    network = minidl.Network([minidl.Dense(2, 1, seed=0)])
    network.compile(optimizer=minidl.Adam(0.1), loss="mse")
    network.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, verbose=0)
    path = tmp_path / "adam.npz"
    network.save(path)
    header, arrays = read_parts(path)
    keys = [item["key"] for item in header["training"]["optimizer"]["state"]]
    arrays[f"optimizer.{keys.index('0/t')}"] = np.array(-3, dtype=np.int64)
    write_parts(path, header, arrays)
    with pytest.raises(minidl.ModelFileError, match=rf"cannot load {str(path)!r}: training section: "
                                                    r"invalid optimizer state"):
        minidl.load(path)


_MEASURE = """
import resource, sys, time
import minidl
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
network = minidl.load(sys.argv[1])
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((peak - baseline) * 1024, elapsed, sum(p.value.nbytes for p in network.parameters()))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in KiB on Linux")
def test_peak_memory_while_loading_is_at_most_one_and_a_half_times_the_arrays(tmp_path: Path) -> None:
    # A 1.2 MB file whose arrays unpacked to 1,000 MiB used to load with a 2.9 GiB peak (raw
    # bytes, a copy and a randomly initialised layer alive at once). Measured here in a
    # fresh process on 138 MiB of arrays: the extra peak is at most 1.5x the arrays' size.
    network = minidl.Network([minidl.Dense(3000, 3000, weight_init="zeros"), minidl.ReLU(),
                              minidl.Dense(3000, 3000, weight_init="ones")])
    path = tmp_path / "big.npz"
    network.save(path)
    del network
    result = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True,
                            cwd=Path(__file__).parents[2], check=True)
    extra, seconds, array_bytes = (float(value) for value in result.stdout.split())
    assert array_bytes == 2 * (3000 * 3000 + 3000) * 8
    assert extra <= 1.5 * array_bytes, f"peak +{extra / 2**20:.0f} MiB for {array_bytes / 2**20:.0f} MiB"
    assert seconds < 5.0


def test_a_config_dtype_that_differs_from_the_arrays_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    minidl.Network([minidl.Dense(3, 2, seed=0)]).save(path)
    header, arrays = read_parts(path)
    header["layers"][0]["config"]["dtype"] = "float32"  # the arrays (and their header entries) stay float64
    write_parts(path, header, arrays)
    with pytest.raises(minidl.ModelFileError, match=re.escape(
            "layer 0 (Dense): the file declares the parameters [['weight', [3, 2], 'float64'], ['bias', [2], "
            "'float64']] (name, shape, dtype); the layer built from its config has [['weight', [3, 2], "
            "'float32'], ['bias', [2], 'float32']]")):
        minidl.load(path)


def test_a_file_whose_layers_mix_dtypes_is_refused_as_a_model_file_error(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    minidl.Network([minidl.Dense(3, 2, seed=0), minidl.Dense(2, 1, seed=0)]).save(path)
    header, arrays = read_parts(path)
    header["layers"][1]["config"]["dtype"] = "float32"  # layer 1 made float32 throughout, layer 0 float64
    for item in header["layers"][1]["parameters"]:
        item["dtype"] = "float32"
    arrays = {key: value.astype(np.float32) if key.startswith("layer1.") else value
              for key, value in arrays.items()}
    write_parts(path, header, arrays)
    with pytest.raises(minidl.ModelFileError, match=re.escape(
            "the layers' parameters mix dtypes ['float32', 'float64']; minidl.save writes one dtype")):
        minidl.load(path)


def test_a_refused_file_object_is_named_as_such() -> None:
    with pytest.raises(minidl.ModelFileError, match=r"^cannot load a file object: not a minidl model file"):
        minidl.load(io.BytesIO(b"not a zip"))


# -- load's own arguments ----------------------------------------------------------------------------
def test_load_bad_arguments(tmp_path) -> None:
    raises(FileNotFoundError, lambda: minidl.load(tmp_path / "missing.npz"))
    raises(ValueError, lambda: minidl.load(tmp_path, max_bytes=-1), "load max_bytes", "positive integer",
           "got -1")
    (tmp_path / "text.npz").write_text("hello")
    raises(minidl.ModelFileError, lambda: minidl.load(tmp_path / "text.npz"), "not a minidl model file")


# -- crafted training sections ----------------------------------------------------------------
@pytest.fixture
def trained_file(tmp_path: Path) -> Path:
    network = compiled(Adam(0.01))
    network.fit(X, Y, epochs=1, batch_size=16, seed=0, verbose=0)
    path = tmp_path / "trained.npz"
    network.save(path)
    return path


@pytest.mark.parametrize(("edit", "message"), [
    (lambda h, a: h["training"]["optimizer"].update(type="os.system"), "unknown optimizer 'os.system'"),
    (lambda h, a: h["training"]["loss"].update(type="evil"),
     "unknown loss 'evil'; known: binary_crossentropy"),
    (lambda h, a: h["training"]["optimizer"]["config"].update(learning_rate=-1.0),
     "could not rebuild the optimizer 'adam'.*learning_rate must be in"),
    (lambda h, a: h["training"]["optimizer"]["config"].update(shell="rm"),
     r"config has keys \['shell'\] that Adam\(\) does not accept"),
    (lambda h, a: h["training"].update(metrics=["steal_data"]),
     "could not compile.*unknown metric 'steal_data'"),
    (lambda h, a: h["training"].update(fit_rng={"bit_generator": "MT19937"}),
     r"fit_rng: bit generator must be one of \['PCG64', 'PCG64DXSM'\]; got 'MT19937'"),
    (lambda h, a: h["training"].update(fit_rng={"bit_generator": "PCG64", "state": "x"}),
     "fit_rng: invalid generator state"),
    (lambda h, a: h["training"]["optimizer"]["state"][0].update(key="../../etc"),
     r"invalid optimizer state \(Adam.load_state_arrays: unexpected key '\.\./\.\./etc'"),
    (lambda h, a: h["training"]["optimizer"]["state"][1].update(key="../../etc"),
     r"invalid optimizer state \(Adam.load_state_arrays: unexpected key '\.\./\.\./etc'; expected"),
    (lambda h, a: a.update({"optimizer.1": np.ones(3, dtype=np.int64)}),
     "'optimizer.1': the header says shape"),
    (lambda h, a: a.update({"optimizer.0": np.array(-5, dtype=np.int64)}),
     "invalid optimizer state.*non-negative integer"),
    (lambda h, a: h["layers"][3].update(rng=[]),
     r"layer 3 \(Dropout\): the file has 0 random generator states"),
    (lambda h, a: h["training"].update(extra=1), r"training section has unexpected keys \['extra'\]"),
])
def test_crafted_training_sections_are_refused(trained_file: Path, edit, message: str) -> None:
    header, arrays = read_parts(trained_file)
    edit(header, arrays)
    write_parts(trained_file, header, arrays)
    with pytest.raises(ModelFileError, match=message):
        minidl.load(trained_file)


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


def test_load_accepts_a_binary_file_object(saved: Path) -> None:
    loaded = minidl.load(io.BytesIO(saved.read_bytes()))
    np.testing.assert_array_equal(loaded.predict(X_SMALL), small_network().predict(X_SMALL))


def test_loaded_network_is_in_training_mode_and_independent(saved: Path) -> None:
    first, second = minidl.load(saved), minidl.load(saved)
    assert first.training
    first.parameters()[0].value += 1.0
    assert not np.array_equal(first.predict(X_SMALL), second.predict(X_SMALL))


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


def test_array_shape_must_match_header_and_layer(saved: Path) -> None:
    header, arrays = read_parts(saved)
    arrays["layer0.param0"] = np.zeros((4, 4))
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"header says shape \(3, 4\); the array has shape \(4, 4\)"):
        minidl.load(saved)
    header["layers"][0]["parameters"][0]["shape"] = [4, 4]
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=re.escape(
            "the file declares the parameters [['weight', [4, 4], 'float64'], ['bias', [4], 'float64']] "
            "(name, shape, dtype); the layer built from its config has [['weight', [3, 4], 'float64'], "
            "['bias', [4], 'float64']]")):
        minidl.load(saved)


def test_parameter_names_must_match_the_layer(saved: Path) -> None:
    header, arrays = read_parts(saved)
    header["layers"][0]["parameters"][0]["name"] = "kernel"
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=re.escape(
            "parameters [['kernel', [3, 4], 'float64'], ['bias', [4], 'float64']] (name, shape, dtype); the "
            "layer built from its config has [['weight', [3, 4], 'float64'], ['bias', [4], 'float64']]")):
        minidl.load(saved)


@pytest.mark.parametrize("dtype", [np.int64, np.complex128, np.bool_, "U3"])
def test_non_float_arrays_are_refused(saved: Path, dtype: object) -> None:
    header, arrays = read_parts(saved)
    arrays["layer0.param1"] = np.zeros(4, dtype=dtype)
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"'layer0.param1': the header says dtype float64; the array has "
                                             rf"dtype {np.dtype(dtype).name}$"):
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
    np.testing.assert_array_equal(loaded.predict(X_SMALL), small_network().predict(X_SMALL))
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


def test_a_repeated_state_name_in_the_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bn.npz"
    Network([Dense(3, 2, seed=0), BatchNorm(2)]).save(path)
    header, arrays = read_parts(path)
    state = header["layers"][1]["state"]
    state.append(dict(state[1]))  # running_var listed twice
    write_parts(path, header, arrays)
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
    header, arrays = read_parts(path)
    item = (header["layers"][0]["parameters"][0] if where == "layer"
            else header["training"]["optimizer"]["state"][0])
    item["dtype"] = dtype
    write_parts(path, header, arrays)
    with pytest.raises(ModelFileError, match=rf"dtype must be one of \[.*'float64'.*\]; got '{dtype}'"):
        minidl.load(path)


def test_repeated_optimizer_state_keys_are_refused(tmp_path: Path) -> None:
    network = Network([Dense(2, 1, seed=0)])
    network.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "model.npz"
    network.save(path)
    header, arrays = read_parts(path)
    state = header["training"]["optimizer"]["state"]
    state.append(dict(state[0]))
    arrays[f"optimizer.{len(state) - 1}"] = arrays["optimizer.0"]
    write_parts(path, header, arrays)
    with pytest.raises(ModelFileError, match=r"optimizer keys repeat"):
        minidl.load(path)


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
