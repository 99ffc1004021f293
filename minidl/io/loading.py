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
from minidl._validation import check_finite, check_positive_int
from minidl.initializers import initialize_with
from minidl.io.archive import (
    DEFAULT_MAX_BYTES,
    ModelFileError,
    PathLike,
    array_header,
    check_members,
    need,
    open_regular_file,
    read_array,
)
from minidl.io.header import expected_arrays, is_int, parse_header
from minidl.io.registry import layer_types
from minidl.io.saving import BIT_GENERATORS, HEADER_MEMBER, generators_of
from minidl.layers.base import Layer
from minidl.losses import LOSSES, Loss
from minidl.optimizers import OPTIMIZERS, Optimizer

_HEADER_MAX_BYTES = 16 << 20


@dataclass
class TrainingState:
    """The training settings of a file: ``network.compile`` them, then restore the state."""

    loss: Loss
    optimizer: Optimizer
    metrics: list[str]
    #: For ``optimizer.load_state_arrays(network.parameters(), ...)``.
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
        file = open_regular_file(source, max_bytes)  # OSError (e.g. FileNotFoundError) passes through
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
    try:
        archive = zipfile.ZipFile(file, mode="r")
    except zipfile.BadZipFile:
        raise ModelFileError("not a minidl model file: it is not a zip archive of arrays (.npz), or it is "
                             "truncated (the end of the archive is missing)") from None
    with archive:
        members = check_members(archive, max_bytes)
        need(HEADER_MEMBER in members, f"not a minidl model file: it has no {HEADER_MEMBER} member describing "
             "the network")
        header = parse_header(_header_bytes(archive, members[HEADER_MEMBER]))
        expected = expected_arrays(header)
        wanted = {f"{key}.npy" for key in expected} | {HEADER_MEMBER}
        need(not wanted - set(members), f"the file is missing arrays {sorted(wanted - set(members))} that its "
             "header describes")
        need(not set(members) - wanted, f"the file holds arrays {sorted(set(members) - wanted)} that its header "
             "does not describe")
        for key, entry in expected.items():
            _check_declared(archive, members[f"{key}.npy"], key, entry)
        layers = [_build_layer(index, entry, types) for index, entry in enumerate(header["layers"])]
        _check_sizes_between(layers)
        names = [layer.name for layer in layers]
        need(len(set(names)) == len(names), f"layer names must be unique; got duplicates "
             f"{sorted({name for name in names if names.count(name) > 1})}")
        values = {key: _read_values(archive, members[f"{key}.npy"], key) for key in expected}
    for index, (layer, entry) in enumerate(zip(layers, header["layers"], strict=True)):
        _fill_layer(layer, index, entry, values)
    training = _read_training(header["training"], values) if "training" in header else None
    return ModelContents(layers, training, header)


def _header_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    need(info.file_size <= _HEADER_MAX_BYTES, f"the header is {info.file_size} bytes; expected at most "
         f"{_HEADER_MAX_BYTES}")
    shape, dtype = array_header(archive, info, f"member {HEADER_MEMBER}")
    need(dtype == np.dtype(np.uint8) and len(shape) == 1, f"member {HEADER_MEMBER}: expected a 1-D uint8 "
         f"array of UTF-8 JSON; got dtype {dtype}, shape {shape}")
    return read_array(archive, info).tobytes()


def _check_declared(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, entry: dict[str, Any]) -> None:
    """The member's ``.npy`` header must say what the JSON header says (read nothing else)."""
    label = f"array {key!r}"
    shape, dtype = array_header(archive, info, label)
    kinds = "fi" if entry["dtype"] == "int64" else "f"
    need(dtype.kind in kinds and dtype.fields is None and dtype.subdtype is None,
         f"{label}: expected {'int64' if kinds == 'fi' else 'floating-point'} values; got dtype {dtype}")
    native = dtype.newbyteorder("=").name
    need(native == entry["dtype"], f"{label}: the header says dtype {entry['dtype']}; the array has dtype {native}")
    need(list(shape) == entry["shape"], f"{label}: the header says shape {tuple(entry['shape'])}; the array "
         f"has shape {shape}")


def _read_values(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str) -> Array:
    array = read_array(archive, info)
    if array.dtype.kind == "f":
        try:
            check_finite(array, key)
        except ValueError:
            raise ModelFileError(f"array {key!r}: holds NaN or infinity; parameters must be finite") from None
    return array


def _build_layer(index: int, entry: dict[str, Any], types: dict[str, type[Layer]]) -> Layer:
    """``cls(**config)`` with no random draws, checked against the file's declarations."""
    type_name, config = entry["type"], entry["config"]
    where = f"layer {index} ({type_name})"
    cls = types.get(type_name)
    need(cls is not None, f"layer {index} has the unknown type {type_name!r}; known types: "
         f"{', '.join(sorted(types))}. For a layer of your own, decorate its class with "
         "@minidl.register_layer or pass custom_layers={'Name': Class} to minidl.load")
    assert cls is not None
    check_accepted(cls, config, f"{where} config")
    declared = [item["shape"] for item in entry["parameters"]]
    budget = [sum(math.prod(item["shape"]) for item in entry["parameters"] + entry["state"])]

    def from_file(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any) -> Array:
        budget[0] -= math.prod(shape)
        need(budget[0] >= 0, f"{where}: its config implies parameter shapes including {list(shape)}, more "
             f"values than the file declares ({declared})")
        return np.zeros(shape, dtype=dtype)  # untouched pages: the file's array replaces it

    try:
        with initialize_with(from_file):
            layer = cls(**config)
    except ModelFileError:
        raise
    except Exception as error:
        raise ModelFileError(f"{where}: could not be rebuilt from its config {config!r:.200} "
                             f"({type(error).__name__}: {error})") from error
    need(isinstance(layer.name, str), f"{where}: its name must be a string; got {layer.name!r:.80}")
    need(not set(layer.config()) - set(config), f"{where} config is missing the keys "
         f"{sorted(set(layer.config()) - set(config))}")
    parameters = layer.parameters()
    names = [item["name"] for item in entry["parameters"]]
    need(names == [p.name for p in parameters], f"{where}: the file has parameters {names}; the layer built "
         f"from its config has {[p.name for p in parameters]}")
    implied = [list(p.shape) for p in parameters]
    need(implied == declared, f"{where}: its config implies parameter shapes {implied}; the file declares {declared}")
    for parameter, item in zip(parameters, entry["parameters"], strict=True):
        need(parameter.dtype.name == item["dtype"], f"{where} parameter {parameter.name!r}: the layer has dtype "
             f"{parameter.dtype}; the file declares {item['dtype']}")
    fresh = layer.state_arrays()
    stored = {item["name"]: item for item in entry["state"]}
    need(set(fresh) == set(stored), f"{where}: the file has state arrays {sorted(stored)}; the layer keeps "
         f"{sorted(fresh)}")
    for name, value in fresh.items():
        need([*value.shape] == stored[name]["shape"] and value.dtype.name == stored[name]["dtype"],
             f"{where} state {name!r}: expected shape {value.shape} and dtype {value.dtype}; the file declares "
             f"shape {tuple(stored[name]['shape'])} and dtype {stored[name]['dtype']}")
    states = entry.get("rng", [])
    need(len(states) == len(generators_of(layer)), f"{where}: the file has {len(states)} random generator "
         f"states; the layer keeps {len(generators_of(layer))}")
    return layer


def _fill_layer(layer: Layer, index: int, entry: dict[str, Any], values: dict[str, Array]) -> None:
    """Put the file's arrays and generator states into a layer from :func:`_build_layer`."""
    where = f"layer {index} ({entry['type']})"
    for position, parameter in enumerate(layer.parameters()):
        parameter.value = values[f"layer{index}.param{position}"]  # as Layer.astype does: a new array
    stored = {item["name"]: values[f"layer{index}.state.{item['name']}"] for item in entry["state"]}
    if stored:
        try:
            layer.load_state_arrays(stored)
        except ValueError as error:
            raise ModelFileError(f"{where}: could not load its state ({error})") from error
    for generator, state in zip(generators_of(layer), entry.get("rng", []), strict=True):
        generator.bit_generator.state = new_generator(state, f"{where} rng").bit_generator.state


def _check_sizes_between(layers: list[Layer]) -> None:
    """Each layer that declares its input size must get it from the layer before."""
    features: int | None = None
    for index, layer in enumerate(layers):
        wanted = getattr(layer, "in_features", getattr(layer, "num_features", None))
        need(not (is_int(wanted) and features is not None and wanted != features),
             f"layer {index} ({type(layer).__name__} {layer.name!r}) expects {wanted} input features but the "
             f"layer before it gives {features}")
        try:
            output = layer.output_features(features)
        except Exception:  # a user layer's guess is no reason to refuse the file
            output = None
        features = output if is_int(output) else None


def check_accepted(cls: type[Any], config: dict[str, Any], where: str) -> None:
    """Refuse config keys the constructor of ``cls`` does not accept (before calling it)."""
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):  # no signature to check against
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    accepted = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    unexpected = sorted(set(config) - accepted)
    need(not unexpected, f"{where} has keys {unexpected} that {cls.__qualname__}() does not accept; expected "
         f"some of {sorted(accepted)}")


def new_generator(state: dict[str, Any], label: str) -> np.random.Generator:
    """A generator in exactly the saved ``state`` (PCG64 or PCG64DXSM only)."""
    name = state.get("bit_generator")
    need(name in BIT_GENERATORS, f"{label}: bit generator must be one of {sorted(BIT_GENERATORS)}; got {name!r:.80}")
    bit_generator = np.random.PCG64() if name == "PCG64" else np.random.PCG64DXSM()
    try:
        bit_generator.state = state  # type: ignore[assignment]  # checked by numpy
    except Exception as error:
        raise ModelFileError(f"{label}: invalid generator state ({error})") from error
    return np.random.Generator(bit_generator)


def _read_training(training: dict[str, Any], values: dict[str, Array]) -> TrainingState:
    """The loss and optimizer rebuilt from their configs, their state, fit's generator."""
    where = "training section"
    parts: dict[str, Any] = {}
    for part, known in (("loss", LOSSES), ("optimizer", OPTIMIZERS)):
        item = training[part]
        cls = known.get(item["type"])
        need(isinstance(cls, type), f"{where}: unknown {part} {item['type']!r:.80}; known: {', '.join(sorted(known))}")
        assert isinstance(cls, type)
        check_accepted(cls, item["config"], f"{where} {part} {item['type']!r} config")
        try:
            parts[part] = cls(**item["config"])
        except Exception as error:
            raise ModelFileError(f"{where}: could not rebuild the {part} {item['type']!r} from its config "
                                 f"{item['config']!r:.200} ({error})") from error
    state = {item["key"]: values[f"optimizer.{position}"] for position, item in enumerate(training["optimizer"]["state"])}
    fit_rng = None if training["fit_rng"] is None else new_generator(training["fit_rng"], f"{where} fit_rng")
    return TrainingState(parts["loss"], parts["optimizer"], list(training["metrics"]), state, fit_rng)
