"""How a model file comes back: layers rebuilt through their constructors, then filled.

Each layer is rebuilt as ``cls(**config)``, so the constructor's own checks judge the
config (no second schema). While it runs, :func:`~minidl.initializers.initialize` is
answered with zeros the OS only hands out when written (nothing is drawn at random),
and refuses a config that asks for more values than the file declares for the layer,
before allocating. Every layer is built and checked before any array is read; then
numpy reads each array once, and it becomes the parameter's value (no copy).
"""

from __future__ import annotations

import inspect
import json
import math
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from minidl._typing import Array
from minidl._validation import check_positive_int
from minidl.initializers import initialize_with
from minidl.io import archive, saving
from minidl.io.archive import DEFAULT_MAX_BYTES, ModelFileError, PathLike, need, refusal
from minidl.io.registry import layer_types
from minidl.io.saving import FLOAT_DTYPES, FORMAT_NAME, FORMAT_VERSION, HEADER_MEMBER
from minidl.layers.base import Layer
from minidl.losses import LOSSES, Loss
from minidl.optimizers import OPTIMIZERS, Optimizer

_HEADER_MAX = 16 << 20  # bytes
_SLACK = 1 << 20  # values
# The header's form: a dict lists its keys (``?``: optional), a list the form of its items,
# a set the strings allowed; a type (or a tuple of types) is the type of a value.
HEADER = {"format": str, "version": int, "minidl_version?": str, "layers": [dict], "training?": dict}
_ARRAY = {"name": str, "shape": [int], "dtype": FLOAT_DTYPES}
LAYER = {"type": str, "config": dict, "parameters": [_ARRAY], "state": [_ARRAY], "rng?": [dict]}
TRAINING = {"loss": {"type": str, "config": dict}, "metrics": [str], "fit_rng": (dict, type(None)),
            "optimizer": {"type": str, "config": dict,
                          "state": [{"key": str, "shape": [int], "dtype": FLOAT_DTYPES | {"int64"}}]}}
_KINDS = {str: "a string", int: "an integer", dict: "a JSON object", type(None): "null"}


@dataclass
class TrainingState:
    """The training settings of a file: ``network.compile`` them, then restore the state."""

    loss: Loss
    optimizer: Optimizer
    metrics: list[str]
    #: For ``optimizer.load_state_arrays(network.parameters(), ...)``, which checks it.
    optimizer_state: dict[str, Array]
    #: The generator ``fit`` shuffles with (``network.fit_rng``), or None.
    fit_rng: np.random.Generator | None


# -- reading: the file, its header, its arrays ---------------------------------------------
def read_model_file(source: PathLike | IO[bytes], *, custom_layers: Mapping[str, type[Layer]] | None = None,
                    max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[list[Layer], TrainingState | None]:
    """Read and check a model file (a path or a binary file object); see :func:`minidl.load`.

    Returns the layers, rebuilt and filled, and the training settings (None if the file
    has none). Every refusal is a :class:`ModelFileError` naming ``source`` and saying why.
    """
    max_bytes = check_positive_int(max_bytes, "load max_bytes")
    types = layer_types(custom_layers)
    with archive.open_regular_file(source, max_bytes) as file:
        try:
            return _read(file, types, max_bytes)
        except ModelFileError as error:
            raise refusal(source, str(error)) from error
        except Exception as error:  # anything else a malformed file provokes
            reason = str(error) or "the data ends before its declared end (truncated)"
            raise refusal(source, f"not a valid minidl model file ({type(error).__name__}: "
                                  f"{reason})") from error


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"  # the first 8 bytes of every HDF5 file, Keras's .h5 among them
_ONLY_OURS = "minidl reads only the files minidl.save and model.save write"


def _read(file: IO[bytes], types: dict[str, type[Layer]], max_bytes: int) -> tuple[
        list[Layer], TrainingState | None]:
    """The header, then every array's ``.npy`` header, then the layers built, then the arrays read."""
    try:
        zipped = zipfile.ZipFile(file, mode="r")
    except zipfile.BadZipFile:
        file.seek(0)
        need(file.read(8) != _HDF5_SIGNATURE, f"not a minidl model file: it is an HDF5 file (Keras's .h5 "
             f"format); {_ONLY_OURS}")
        raise ModelFileError("not a minidl model file: it is not a zip archive of arrays (.npz), or it is "
                             "truncated (the end of the archive is missing)") from None
    with zipped:
        members = archive.check_members(zipped, max_bytes)
        need(HEADER_MEMBER in members or "config.json" not in members,
             f"not a minidl model file: it is a Keras 3 .keras file (config.json); {_ONLY_OURS}")
        need(HEADER_MEMBER in members, f"not a minidl model file: it has no {HEADER_MEMBER} member")
        info, label = members[HEADER_MEMBER], f"member {HEADER_MEMBER}"
        need(info.file_size <= _HEADER_MAX, f"the header is {info.file_size} bytes; at most {_HEADER_MAX}")
        archive.check_npy(zipped, info, label, "uint8", None)
        header = parse_header(archive.read_array(zipped, info, label).tobytes())
        expected = expected_arrays(header)
        dtypes = sorted({item["dtype"] for entry in header["layers"] for item in entry["parameters"]})
        need(len(dtypes) <= 1, f"the layers' parameters mix dtypes {dtypes}; minidl.save writes one dtype")
        files = {f"{key}.npy" for key in expected}
        missing, extra = files - members.keys(), members.keys() - files - {HEADER_MEMBER}
        need(not missing, f"the file is missing arrays {sorted(missing)} that its header describes")
        need(not extra, f"the file holds arrays {sorted(extra)} that its header does not describe")
        for key, item in expected.items():
            archive.check_npy(zipped, members[f"{key}.npy"], f"array {key!r}", item["dtype"], item["shape"])
        layers = [_build_layer(index, entry, types) for index, entry in enumerate(header["layers"])]
        _check_sizes_between(layers)
        counts = Counter(layer.name for layer in layers)
        repeated = sorted(name for name, count in counts.items() if count > 1)
        need(not repeated, f"layer names must be unique; got {', '.join(map(repr, repeated))} more than once")
        values = {key: archive.read_array(zipped, members[f"{key}.npy"], f"array {key!r}")
                  for key in expected}
    for index, (layer, entry) in enumerate(zip(layers, header["layers"], strict=True)):
        _fill_layer(layer, index, entry, values)
    return layers, (_read_training(header["training"], values) if "training" in header else None)


def parse_header(payload: bytes) -> dict[str, Any]:
    """The header as a dict, after checking its form (:data:`HEADER`), format, version and names."""
    try:
        header = json.loads(payload.decode("utf-8"), parse_constant=_finite_float,
                            parse_float=_finite_float, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError:
        raise ModelFileError("the header is not UTF-8 text") from None
    except json.JSONDecodeError as error:  # (nested too deeply: a RecursionError, refused by read_model_file)
        raise ModelFileError(f"the header is not valid JSON ({error})") from None
    conform(header, HEADER, "the header")
    need(header["format"] == FORMAT_NAME, f"the header's format is {header['format']!r}; expected "
         f"{FORMAT_NAME!r}")
    need(header["version"] == FORMAT_VERSION, f"the file has format version {header['version']}; this minidl "
         f"reads version {FORMAT_VERSION} (a file written by a newer minidl needs a newer minidl to load)")
    need(0 < len(header["layers"]) <= 100_000, "the header's layers must be a non-empty list (<= 100000)")
    for index, entry in enumerate(header["layers"]):
        conform(entry, LAYER, f"layer {index}")
    if "training" in header:
        conform(header["training"], TRAINING, "the training section")
    return dict(header)


def conform(value: Any, form: Any, where: str) -> None:
    """Refuse ``value`` unless it has ``form`` (see :data:`HEADER`); ``where`` names it."""
    if isinstance(form, dict):
        need(isinstance(value, dict), f"{where} must be a JSON object; got {type(value).__name__}")
        required, names = {key for key in form if not key.endswith("?")}, {key.rstrip("?") for key in form}
        need(not required - value.keys(), f"{where} is missing the keys {sorted(required - value.keys())}")
        need(not value.keys() - names, f"{where} has unexpected keys {sorted(value.keys() - names)}; "
             f"expected {sorted(names)}")
        for key, item in form.items():
            if key.rstrip("?") in value:
                conform(value[key.rstrip("?")], item, f"{where}'s {key.rstrip('?')}")
    elif isinstance(form, list):
        need(isinstance(value, list), f"{where} must be a list; got {value!r:.80}")
        for index, item in enumerate(value):
            conform(item, form[0], f"{where}[{index}]")
    elif isinstance(form, frozenset):
        need(isinstance(value, str) and value in form, f"{where} must be one of {sorted(form)}; got "
             f"{value!r:.80}")
    else:
        kinds = form if isinstance(form, tuple) else (form,)
        need(isinstance(value, kinds) and not isinstance(value, bool),
             f"{where} must be {' or '.join(_KINDS[kind] for kind in kinds)}; got {value!r:.80}")


def _finite_float(text: str) -> float:
    """A JSON number (or NaN, Infinity: JSON has no such constants) as a float, if it is finite."""
    need(math.isfinite(float(text)), f"the header holds the number {text:.40}; expected a finite number")
    return float(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        need(key not in result, f"the header repeats the key {key!r}")
        result[key] = value
    return result


def expected_arrays(header: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every array the header describes: ``{key: {"name" or "key", "shape", "dtype"}}``."""
    expected: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(header["layers"]):
        expected.update({f"layer{index}.param{j}": item for j, item in enumerate(entry["parameters"])})
        expected.update({f"layer{index}.state.{item['name']}": item for item in entry["state"]})
    for position, item in enumerate(header.get("training", {}).get("optimizer", {}).get("state", [])):
        expected[f"optimizer.{position}"] = item
    return expected


# -- building: layers through their constructors, then filled ------------------------------
def _build_layer(index: int, entry: dict[str, Any], types: dict[str, type[Layer]]) -> Layer:
    """``cls(**config)`` with no random draws, checked against the file's declarations."""
    where, config = f"layer {index} ({entry['type']})", entry["config"]
    cls = types.get(entry["type"])
    need(cls is not None, f"layer {index} has the unknown type {entry['type']!r:.80}; known types: "
         f"{', '.join(sorted(types))}. For a layer of your own, decorate its class with "
         "@minidl.register_layer or pass custom_layers={'Name': Class} to minidl.load")
    # What the constructor may ask of initialize: the values the file declares for this layer,
    # plus room for small differences, which the exact checks below then name.
    budget = sum(math.prod(item["shape"]) for item in entry["parameters"] + entry["state"]) + _SLACK

    def from_file(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any) -> Array:
        nonlocal budget
        budget -= math.prod(shape)  # refused before allocating far more than the file holds
        need(budget >= 0, f"its config implies parameter shapes including {list(shape)}, far more values "
             f"than the file declares ({[item['shape'] for item in entry['parameters']]})")
        return np.zeros(shape, dtype=dtype)  # pages untouched: the file's array replaces it

    layer: Layer = _construct(cls, config, where, from_file)
    need(isinstance(layer.name, str), f"{where}: its name must be a string; got {layer.name!r:.80}")
    missing = sorted(layer.config().keys() - config.keys())
    need(not missing, f"{where} config is missing the keys {missing}")
    built = [[p.name, list(p.shape), p.dtype.name] for p in layer.parameters()]
    declared = [[item["name"], item["shape"], item["dtype"]] for item in entry["parameters"]]
    need(built == declared, f"{where}: the file declares the parameters {declared} (name, shape, dtype); the "
         f"layer built from its config has {built}")
    # The state arrays' shapes: load_state_arrays checks them.
    stored, state = sorted(item["name"] for item in entry["state"]), sorted(layer.state_arrays())
    need(stored == state, f"{where}: the file has state arrays {stored}; the layer keeps {state}")
    rngs, generators = len(entry.get("rng", [])), len(saving.generators_of(layer))
    need(rngs == generators, f"{where}: the file has {rngs} random generator states; the layer keeps "
         f"{generators}")
    return layer


def _construct(cls: Any, config: dict[str, Any], where: str, initializer: Any) -> Any:
    """``cls(**config)``; its own checks speak, wrapped in a ModelFileError naming ``where``."""
    parameters = inspect.signature(cls).parameters.values()
    accepted = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    unexpected = sorted(config.keys() - accepted)
    need(not unexpected or any(p.kind is p.VAR_KEYWORD for p in parameters), f"{where} config has keys "
         f"{unexpected} that {cls.__qualname__}() does not accept; expected some of {sorted(accepted)}")
    try:
        with initialize_with(initializer):
            return cls(**config)
    except Exception as error:  # a ModelFileError too: the budget refusal of _build_layer's from_file
        raise ModelFileError(f"could not rebuild {where} from its config {config!r:.200} "
                             f"({type(error).__name__}: {error})") from error


def _fill_layer(layer: Layer, index: int, entry: dict[str, Any], values: dict[str, Array]) -> None:
    """Put the file's arrays and generator states into a layer from :func:`_build_layer`."""
    for position, parameter in enumerate(layer.parameters()):
        parameter.value = values[f"layer{index}.param{position}"]  # as Layer.astype does: a new array
    # The layer checks its state (shapes, dtypes, a variance >= 0): its ValueError names the layer and
    # becomes the refusal in read_model_file.
    layer.load_state_arrays({item["name"]: values[f"layer{index}.state.{item['name']}"]
                             for item in entry["state"]})
    for attribute, generator_state in zip(saving.generators_of(layer), entry.get("rng", []), strict=True):
        setattr(layer, attribute, new_generator(generator_state, f"layer {index} rng"))


def _check_sizes_between(layers: list[Layer]) -> None:
    """Each layer that declares its ``input_shape`` must get that many features from the layer before."""
    features: int | None = None
    for index, layer in enumerate(layers):
        wanted = None if layer.input_shape is None else layer.input_shape[-1]
        need(wanted is None or features is None or wanted == features, f"layer {index} "
             f"({type(layer).__name__} {layer.name!r}) expects {wanted} input features but the layer before "
             f"it gives {features}")
        output = layer.output_features(features)
        features = output if isinstance(output, int) else None  # None: unknown from here on


def new_generator(state: dict[str, Any], label: str) -> np.random.Generator:
    """A generator in exactly the saved ``state`` (PCG64 or PCG64DXSM only)."""
    name = str(state.get("bit_generator"))
    need(name in saving.BIT_GENERATORS, f"{label}: bit generator must be one of "
         f"{sorted(saving.BIT_GENERATORS)}; got {name!r:.80}")
    bit_generator = saving.BIT_GENERATORS[name]()
    try:
        bit_generator.state = state
    except Exception as error:
        raise ModelFileError(f"{label}: invalid generator state ({error})") from error
    return np.random.Generator(bit_generator)


def _read_training(training: dict[str, Any], values: dict[str, Array]) -> TrainingState:
    """The loss and optimizer rebuilt from their configs, their state, fit's generator."""
    parts = {}
    for part, known in (("loss", LOSSES), ("optimizer", OPTIMIZERS)):
        name, config = training[part]["type"], training[part]["config"]
        need(name in known, f"training section: unknown {part} {name!r}; known: {', '.join(sorted(known))}")
        parts[part] = _construct(known[name], config, f"the {part} {name!r}", None)
    state = {item["key"]: values[f"optimizer.{j}"] for j, item in enumerate(training["optimizer"]["state"])}
    # Each key is checked by the optimizer's load_state_arrays; a repeated one would hide in this dict.
    need(len(state) == len(training["optimizer"]["state"]), "the training section: optimizer keys repeat")
    rng = training["fit_rng"]
    fit_rng = None if rng is None else new_generator(rng, "training section fit_rng")
    return TrainingState(parts["loss"], parts["optimizer"], list(training["metrics"]), state, fit_rng)
