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
import math
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from minidl._typing import Array
from minidl._validation import check_positive_int
from minidl.initializers import initialize_with
from minidl.io import archive
from minidl.io.archive import DEFAULT_MAX_BYTES, ModelFileError, PathLike, need
from minidl.io.header import expected_arrays, parse_header
from minidl.io.registry import layer_types
from minidl.io.saving import BIT_GENERATORS, HEADER_MEMBER, generators_of
from minidl.layers.base import Layer
from minidl.losses import LOSSES, Loss
from minidl.optimizers import OPTIMIZERS, Optimizer

_HEADER_MAX = 16 << 20
_SLACK = 1 << 20  # values


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


@dataclass
class ModelContents:
    """What :func:`read_model_file` found: the filled layers, the training state, the header."""

    layers: list[Layer]
    training: TrainingState | None
    header: dict[str, Any]


def refusal(source: PathLike | IO[bytes], reason: str) -> ModelFileError:
    """A :class:`ModelFileError` that names the file: ``cannot load '<path>': <reason>``."""
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else getattr(source, "name", None)
    return ModelFileError(f"cannot load {'a file object' if name is None else repr(name)}: {reason}")


def read_model_file(source: PathLike | IO[bytes], *, custom_layers: Mapping[str, type[Layer]] | None = None,
                    max_bytes: int = DEFAULT_MAX_BYTES) -> ModelContents:
    """Read and check a model file (a path or a binary file object); see :func:`minidl.load`."""
    max_bytes = check_positive_int(max_bytes, "load max_bytes")
    types = layer_types(custom_layers)
    if not isinstance(source, (str, os.PathLike)):
        return _read_named(source, source, types, max_bytes)
    try:
        file = archive.open_regular_file(source, max_bytes)  # OSError (e.g. FileNotFoundError) passes through
    except ModelFileError as error:
        raise refusal(source, str(error)) from None
    with file:
        return _read_named(source, file, types, max_bytes)


def _read_named(source: PathLike | IO[bytes], file: IO[bytes], types: dict[str, type[Layer]],
                max_bytes: int) -> ModelContents:
    """:func:`_read`, every refusal naming ``source`` and saying why."""
    try:
        return _read(file, types, max_bytes)
    except ModelFileError as error:
        raise refusal(source, str(error)) from error
    except Exception as error:  # anything else a malformed file provokes
        reason = str(error) or "the data ends before its declared end (truncated)"
        raise refusal(source, f"not a valid minidl model file ({type(error).__name__}: {reason})") from error


def _read(file: IO[bytes], types: dict[str, type[Layer]], max_bytes: int) -> ModelContents:
    """The header, then every array's header, then the layers built, then the arrays read."""
    try:
        zipped = zipfile.ZipFile(file, mode="r")
    except zipfile.BadZipFile:
        raise ModelFileError("not a minidl model file: it is not a zip archive of arrays (.npz), or it is "
                             "truncated (the end of the archive is missing)") from None
    with zipped:
        members = archive.check_members(zipped, max_bytes)
        need(HEADER_MEMBER in members, f"not a minidl model file: it has no {HEADER_MEMBER} member")
        info = members[HEADER_MEMBER]
        need(info.file_size <= _HEADER_MAX, f"the header is {info.file_size} bytes; at most {_HEADER_MAX}")
        archive.check_npy(zipped, info, f"member {HEADER_MEMBER}", "uint8", None)
        header = parse_header(archive.read_array(zipped, info, f"member {HEADER_MEMBER}").tobytes())
        expected = expected_arrays(header)
        files = {f"{key}.npy" for key in expected}
        missing, extra = files - members.keys(), members.keys() - files - {HEADER_MEMBER}
        need(not missing, f"the file is missing arrays {sorted(missing)} that its header describes")
        need(not extra, f"the file holds arrays {sorted(extra)} that its header does not describe")
        for key, item in expected.items():
            archive.check_npy(zipped, members[f"{key}.npy"], f"array {key!r}", item["dtype"], item["shape"])
        layers = [_build_layer(index, entry, types) for index, entry in enumerate(header["layers"])]
        _check_sizes_between(layers)
        names = [layer.name for layer in layers]
        need(len(set(names)) == len(names), f"layer names must be unique; got duplicates {sorted(names)}")
        values = {key: archive.read_array(zipped, members[f"{key}.npy"], f"array {key!r}")
                  for key in expected}
    for index, (layer, entry) in enumerate(zip(layers, header["layers"], strict=True)):
        _fill_layer(layer, index, entry, values)
    training = _read_training(header["training"], values) if "training" in header else None
    return ModelContents(layers, training, header)


def _build_layer(index: int, entry: dict[str, Any], types: dict[str, type[Layer]]) -> Layer:
    """``cls(**config)`` with no random draws, checked against the file's declarations."""
    where, config = f"layer {index} ({entry['type']})", entry["config"]
    cls = types.get(entry["type"])
    need(cls is not None, f"layer {index} has the unknown type {entry['type']!r}; known types: "
         f"{', '.join(sorted(types))}. For a layer of your own, decorate its class with "
         "@minidl.register_layer or pass custom_layers={'Name': Class} to minidl.load")
    declared = [item["shape"] for item in entry["parameters"]]
    # What the constructor may ask of initialize: the values the file declares for this layer,
    # plus room for small differences, which the exact checks below then name.
    budget = sum(math.prod(item["shape"]) for item in entry["parameters"] + entry["state"]) + _SLACK

    def from_file(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any) -> Array:
        nonlocal budget
        budget -= math.prod(shape)  # refused before allocating far more than the file holds
        need(budget >= 0, f"{where}: its config implies parameter shapes including {list(shape)}, far more "
             f"values than the file declares ({declared})")
        return np.zeros(shape, dtype=dtype)  # pages untouched: the file's array replaces it

    layer: Layer = _construct(cls, config, where, from_file)
    parameters, state = layer.parameters(), sorted(layer.state_arrays())
    need(isinstance(layer.name, str), f"{where}: its name must be a string; got {layer.name!r:.80}")
    missing = sorted(layer.config().keys() - config.keys())
    need(not missing, f"{where} config is missing the keys {missing}")
    found = [item["name"] for item in entry["parameters"]]
    need(found == [p.name for p in parameters], f"{where}: the file has parameters {found}; the layer built "
         f"from its config has {[p.name for p in parameters]}")
    implied = [list(p.shape) for p in parameters]
    need(implied == declared, f"{where}: its config implies parameter shapes {implied}; the file declares "
         f"{declared}")
    for parameter, item in zip(parameters, entry["parameters"], strict=True):
        need(parameter.dtype.name == item["dtype"], f"{where} {parameter.name!r}: the layer has "
             f"{parameter.dtype} of shape {parameter.shape}; the file {item['dtype']} of {item['shape']}")
    stored = sorted(item["name"] for item in entry["state"])  # their shapes: load_state_arrays checks them
    need(stored == state, f"{where}: the file has state arrays {stored}; the layer keeps {state}")
    rngs, generators = len(entry.get("rng", [])), len(generators_of(layer))
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
    except ModelFileError:
        raise
    except Exception as error:
        raise ModelFileError(f"could not rebuild {where} from its config {config!r:.200} "
                             f"({type(error).__name__}: {error})") from error


def _fill_layer(layer: Layer, index: int, entry: dict[str, Any], values: dict[str, Array]) -> None:
    """Put the file's arrays and generator states into a layer from :func:`_build_layer`."""
    for position, parameter in enumerate(layer.parameters()):
        parameter.value = values[f"layer{index}.param{position}"]  # as Layer.astype does: a new array
    state = {item["name"]: values[f"layer{index}.state.{item['name']}"] for item in entry["state"]}
    try:
        layer.load_state_arrays(state)
    except ValueError as error:
        raise ModelFileError(f"layer {index} ({entry['type']}): could not load its state ({error})") from None
    for attribute, generator_state in zip(generators_of(layer), entry.get("rng", []), strict=True):
        setattr(layer, attribute, new_generator(generator_state, f"layer {index} rng"))


def _check_sizes_between(layers: list[Layer]) -> None:
    """Each layer that declares its ``input_shape`` must get that many features from the layer before."""
    features: int | None = None
    for index, layer in enumerate(layers):
        wanted = None if layer.input_shape is None else layer.input_shape[-1]
        need(wanted is None or features is None or wanted == features, f"layer {index} "
             f"({type(layer).__name__} {layer.name!r}) expects {wanted} input features but the layer before "
             f"it gives {features}")
        features = layer.output_features(features)


def new_generator(state: dict[str, Any], label: str) -> np.random.Generator:
    """A generator in exactly the saved ``state`` (PCG64 or PCG64DXSM only)."""
    name = str(state.get("bit_generator"))
    need(name in BIT_GENERATORS, f"{label}: bit generator must be one of {sorted(BIT_GENERATORS)}; got "
         f"{name!r:.80}")
    bit_generator = BIT_GENERATORS[name]()
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
    rng = training["fit_rng"]
    fit_rng = None if rng is None else new_generator(rng, "training section fit_rng")
    return TrainingState(parts["loss"], parts["optimizer"], list(training["metrics"]), state, fit_rng)
