"""Model files: a network saved as JSON plus plain arrays in one ``.npz``, never pickled.

A model file is a zip archive of ``.npy`` arrays (the layout ``numpy.savez`` writes, so
``numpy.load(path)`` can inspect it), written at exactly the path given (no suffix is
added):

* ``__minidl__.npy``: a ``uint8`` array holding UTF-8 JSON, with the format name and
  version, then for every layer its type, its ``config()`` (constructor arguments) and
  the names, shapes and dtypes of its arrays; optionally the training settings.
* ``layer<i>.param<j>.npy``: the ``j``-th :class:`~minidl.Parameter` of layer ``i``.
* ``layer<i>.state.<key>.npy``: non-parameter state (``Layer.state_arrays()``), such
  as BatchNorm's running statistics.
* ``optimizer.<k>.npy``: the optimizer's state (momentum, moments, step counts) when a
  compiled network is saved with ``include_optimizer=True`` (the default); the header's
  ``training`` section then names the loss, the metrics and the optimizer with its
  configuration, and holds the state of the random generator ``fit`` shuffles with, so
  training resumes exactly (see :mod:`minidl.checkpoints`). Layers' own random
  generators (Dropout's) are stored in their header entries.

**Why loading is safe.** Nothing in a file is ever executed. Arrays are read by a small
reader that never unpickles, accepts only real floating-point dtypes and checks every
size against a budget *before* reading (and a built-in layer's config against those
sizes before building the layer); the JSON is parsed by :mod:`json` (no ``eval``); layer
types are looked up in an explicit allow-list, the built-in layers plus the ones *you*
register with :func:`register_layer` or pass as ``custom_layers``, and never imported
from a module named by the file. Everything is checked (format version, types, configs,
shapes, dtypes, finite values, sizes between layers, no missing or extra arrays); any
problem raises :class:`ModelFileError` saying what is wrong.

**Why saving is safe.** :func:`atomic_write` writes a temporary file in the same folder,
flushes and ``fsync``-s it, then renames it over the target in one step
(``os.replace``), so a crash, a full disk or a Ctrl-C during a save leaves the previous
file as it was.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any, TypeVar

import numpy as np

from minidl._typing import Array
from minidl._validation import check_positive_int
from minidl.layers.activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from minidl.layers.base import Layer
from minidl.layers.batchnorm import BatchNorm
from minidl.layers.dense import Dense
from minidl.layers.dropout import Dropout

if TYPE_CHECKING:
    from minidl.network import Network

#: The ``format`` field of every minidl model file.
FORMAT_NAME = "minidl-model"
#: The version this minidl writes and the newest it reads.
FORMAT_VERSION = 1
#: The archive member holding the JSON description.
HEADER_MEMBER = "__minidl__.npy"
#: Default bound on the total size of the arrays a file may unpack to (1 GiB).
DEFAULT_MAX_BYTES = 1 << 30

_HEADER_MAX_BYTES = 16 << 20
_MAX_LAYERS = 100_000
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}\Z")
_FLOAT_DTYPES = frozenset({"float16", "float32", "float64"})
_OPTIMIZER_DTYPES = _FLOAT_DTYPES | {"int64"}
_BIT_GENERATORS = frozenset({"PCG64", "PCG64DXSM"})
_OPTIMIZER_KEY = re.compile(r"(iterations|[0-9]{1,9}/[A-Za-z_][A-Za-z0-9_]{0,40})\Z")

PathLike = str | os.PathLike[str]
LayerClass = TypeVar("LayerClass", bound=type[Layer])


class ModelFileError(ValueError):
    """A model file that minidl refuses to load, with the reason.

    Raised for anything wrong with the file itself: not a zip archive, truncated or
    corrupted data, a format version this minidl does not read, an unknown layer type,
    a configuration, shape or dtype that does not fit, non-finite values, missing or
    extra arrays, or sizes beyond the ``max_bytes`` budget. A subclass of
    ``ValueError``.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "not-a-model.npz")
    >>> with open(path, "wb") as file:
    ...     _ = file.write(b"import os; os.system('echo hello')")
    >>> try:
    ...     minidl.load(path)
    ... except ModelFileError as error:
    ...     print("refused")
    refused
    """


# -- the layer registry -----------------------------------------------------------------
_REGISTRY: dict[str, type[Layer]] = {}


def builtin_layers() -> dict[str, type[Layer]]:
    """The built-in layer classes a model file may name, by type name (the allow-list)."""
    layers: dict[str, type[Layer]] = {
        "Dense": Dense,
        "Identity": Identity,
        "ReLU": ReLU,
        "LeakyReLU": LeakyReLU,
        "Sigmoid": Sigmoid,
        "Tanh": Tanh,
        "Softmax": Softmax,
        "Dropout": Dropout,
        "BatchNorm": BatchNorm,
    }
    return layers


def register_layer(cls: LayerClass | None = None, *, name: str | None = None) -> Any:
    """Allow model files to contain your own layer class (a decorator).

    :func:`load` rebuilds a layer as ``cls(**config)`` from the ``config()`` the layer
    returned when it was saved, then fills its parameters, so ``config()`` must return
    the constructor arguments (JSON values: numbers, strings, booleans, None, lists).

    Parameters
    ----------
    cls
        A subclass of :class:`~minidl.Layer`.
    name
        The type name written in files (default: the class name). It may not be the
        name of a built-in layer, nor that of another registered class (a class defined
        again under the same module and name, as when a notebook cell runs twice,
        replaces its earlier version).

    Examples
    --------
    >>> @minidl.register_layer
    ... class Double(Layer):
    ...     def forward(self, x):
    ...         return 2.0 * x
    ...     def backward(self, grad_y):
    ...         return 2.0 * grad_y
    >>> minidl.serialization.registered_layers()["Double"] is Double
    True
    >>> minidl.serialization.unregister_layer("Double")
    """

    def decorate(layer_class: LayerClass) -> LayerClass:
        if not (isinstance(layer_class, type) and issubclass(layer_class, Layer)):
            raise TypeError(
                f"register_layer expects a subclass of minidl.Layer; got {layer_class!r}"
            )
        type_name = layer_class.__name__ if name is None else name
        _check_type_name(type_name, "register_layer name")
        existing = _REGISTRY.get(type_name)
        redefined = existing is not None and (existing.__module__, existing.__qualname__) == (
            layer_class.__module__, layer_class.__qualname__)  # e.g. a notebook cell run again
        if existing is not None and existing is not layer_class and not redefined:
            raise ValueError(
                f"register_layer: the name {type_name!r} is already registered for "
                f"{existing.__module__}.{existing.__qualname__}; pass name=... to choose another"
            )
        _REGISTRY[type_name] = layer_class
        return layer_class

    if cls is None:
        return decorate
    return decorate(cls)


def unregister_layer(name: str) -> None:
    """Remove a layer type registered with :func:`register_layer` (no error if absent)."""
    _REGISTRY.pop(name, None)


def registered_layers() -> dict[str, type[Layer]]:
    """A copy of the user registry: type name -> layer class."""
    return dict(_REGISTRY)


def _check_type_name(type_name: object, label: str) -> str:
    if not isinstance(type_name, str) or not _NAME.match(type_name):
        raise ValueError(
            f"{label} must be a Python identifier of at most 100 characters; got {type_name!r}"
        )
    if type_name in builtin_layers():
        raise ValueError(f"{label}: {type_name!r} is a built-in layer and cannot be replaced")
    return type_name


def _type_name_of(layer: Layer) -> str:
    """The type name under which ``layer`` is saved."""
    cls = type(layer)
    for type_name, known in builtin_layers().items():
        if known is cls:
            return type_name
    for type_name, known in _REGISTRY.items():
        if known is cls:
            return type_name
    type_name = cls.__name__
    if type_name in builtin_layers():
        raise ValueError(
            f"cannot save layer {layer.name!r}: its class {cls.__module__}.{cls.__qualname__} has "
            f"the name of a built-in layer; register it under another name with "
            f"minidl.register_layer(name=...)"
        )
    return type_name


# -- atomic writing ---------------------------------------------------------------------
def atomic_write(path: PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Write a file so that it is either completely replaced or not touched at all.

    ``write(file)`` writes the content into a temporary file in the same folder; the
    file is flushed and ``fsync``-ed, renamed over ``path`` with ``os.replace`` (atomic
    on POSIX and Windows), and the folder is ``fsync``-ed where the system allows. If
    ``write`` raises (or the process is interrupted), the temporary file is removed and
    ``path`` keeps its previous content.

    Parameters
    ----------
    path
        The file to create or replace.
    write
        A function that writes bytes to the binary file object it is given.
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=folder
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        _copy_permissions(target, temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_folder(folder)


def _copy_permissions(target: str, temporary: str) -> None:
    """Give the new file the old file's mode, or the usual mode for new files."""
    try:
        mode = os.stat(target).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    with contextlib.suppress(OSError):
        os.chmod(temporary, mode)


def _fsync_folder(folder: str) -> None:
    """Make the rename durable; a no-op where folders cannot be opened (Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# -- saving -----------------------------------------------------------------------------
def save(network: Network, path: PathLike, *, include_optimizer: bool = True) -> None:
    """Save ``network`` to ``path`` (one ``.npz`` file, written atomically).

    Prefer the method form ``network.save(path)``. See the module documentation for
    what is stored. ``include_optimizer`` also stores the training settings (loss,
    metrics, optimizer and its state) of a compiled network.

    Raises
    ------
    ValueError
        If a layer's ``config()`` is not made of JSON values, or a parameter holds NaN
        or infinity (such a file could not be loaded back).
    """
    header, arrays = describe_network(network, include_optimizer=include_optimizer)
    write_model_file(path, header, arrays)


def describe_network(network: Network, *, include_optimizer: bool = True) -> tuple[
        dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
    """The JSON header and the named arrays that :func:`save` writes for ``network``."""
    if not isinstance(include_optimizer, (bool, np.bool_)):
        raise TypeError(f"save include_optimizer must be True or False; got {include_optimizer!r}")
    layers: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    for index, layer in enumerate(network.layers):
        label = f"layer {index} ({type(layer).__name__} {layer.name!r})"
        config = layer.config()
        if not isinstance(config, dict) or not all(isinstance(key, str) for key in config):
            raise ValueError(f"cannot save {label}: config() must return a dict with str keys; "
                             f"got {config!r}")
        _check_json(config, f"{label} config()")
        parameters = []
        for position, parameter in enumerate(layer.parameters()):
            key = f"layer{index}.param{position}"
            arrays[key] = _savable(parameter.value, f"{label} parameter {parameter.name!r}")
            parameters.append(_array_entry(parameter.name, parameter.value))
        state = []
        for name, value in layer.state_arrays().items():
            if not _NAME.match(name):
                raise ValueError(f"cannot save {label}: state_arrays() keys must be Python "
                                 f"identifiers; got {name!r}")
            arrays[f"layer{index}.state.{name}"] = _savable(value, f"{label} state {name!r}")
            state.append(_array_entry(name, value))
        entry: dict[str, Any] = {
            "type": _type_name_of(layer),
            "config": config,
            "parameters": parameters,
            "state": state,
        }
        generators = _generators_of(layer)
        if generators:
            entry["rng"] = [_generator_state(g, f"{label} random generator") for g in generators]
        layers.append(entry)
    from minidl._version import __version__

    header: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "minidl_version": __version__,
        "layers": layers,
    }
    if include_optimizer and getattr(network, "_compiled", None) is not None:
        header["training"] = _describe_training(network, arrays)
    return header, arrays


def _generators_of(layer: Layer) -> list[np.random.Generator]:
    """The random generators a layer keeps (Dropout's), in attribute order."""
    return [value for value in vars(layer).values() if isinstance(value, np.random.Generator)]


def _generator_state(generator: np.random.Generator, label: str) -> dict[str, Any]:
    state = generator.bit_generator.state
    if state.get("bit_generator") not in _BIT_GENERATORS:
        raise ValueError(
            f"cannot save {label}: its bit generator {state.get('bit_generator')!r} is not one of "
            f"{sorted(_BIT_GENERATORS)} (numpy.random.default_rng uses PCG64)"
        )
    _check_json(state, label)
    return dict(state)


def _describe_training(network: Network, arrays: dict[str, np.ndarray[Any, Any]]) -> dict[str, Any]:
    """The compile settings, the optimizer's state and the shuffling generator of ``fit``."""
    from minidl.losses import LOSSES
    from minidl.optimizers import OPTIMIZERS

    loss, optimizer = network.loss, network.optimizer
    assert loss is not None and optimizer is not None
    if LOSSES.get(loss.name) is not type(loss):
        raise ValueError(
            f"cannot save the training settings: the loss {type(loss).__name__} is not a built-in "
            "loss; save with include_optimizer=False and compile again after loading"
        )
    if OPTIMIZERS.get(optimizer.name) is not type(optimizer):
        raise ValueError(
            f"cannot save the training settings: the optimizer {type(optimizer).__name__} is not a "
            "built-in optimizer; save with include_optimizer=False and compile again after loading"
        )
    loss_config, optimizer_config = loss.config(), optimizer.config()
    _check_json(loss_config, f"loss {loss.name} config()")
    _check_json(optimizer_config, f"optimizer {optimizer.name} config()")
    state = []
    for position, (key, value) in enumerate(optimizer.state_arrays(network.parameters()).items()):
        array = np.asarray(value)
        if array.dtype.name not in _OPTIMIZER_DTYPES or (array.dtype.kind == "f" and not np.all(
                np.isfinite(array))):
            raise ValueError(f"cannot save optimizer state {key!r}: expected finite floats or int64 "
                             f"counts; got dtype {array.dtype}")
        arrays[f"optimizer.{position}"] = array
        state.append({"key": key, "shape": list(array.shape), "dtype": array.dtype.name})
    compiled = network._compiled
    assert compiled is not None
    fit_rng = getattr(network, "fit_rng", None)
    return {
        "loss": {"type": loss.name, "config": loss_config},
        "optimizer": {"type": optimizer.name, "config": optimizer_config, "state": state},
        "metrics": [kind for _, kind in compiled.metrics if isinstance(kind, str)],
        "fit_rng": None if fit_rng is None else _generator_state(fit_rng, "the fit random generator"),
    }


def write_model_file(path: PathLike, header: Mapping[str, Any], arrays: Mapping[str, Array]) -> None:
    """Write ``header`` (as JSON) and ``arrays`` as a model file, atomically."""
    payload = json.dumps(header, allow_nan=False, separators=(",", ":")).encode("utf-8")
    header_array = np.frombuffer(payload, dtype=np.uint8)

    def write(file: IO[bytes]) -> None:
        with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            _write_member(archive, HEADER_MEMBER, header_array)
            for key, value in arrays.items():
                _write_member(archive, f"{key}.npy", value)

    atomic_write(path, write)


def _write_member(archive: zipfile.ZipFile, member: str, value: np.ndarray[Any, Any]) -> None:
    with archive.open(member, mode="w", force_zip64=True) as stream:
        # (np.ascontiguousarray would turn a 0-d array into shape (1,).)
        contiguous = value if value.flags.c_contiguous else value.copy(order="C")
        np.lib.format.write_array(stream, contiguous, allow_pickle=False)


def _array_entry(name: str, value: Array) -> dict[str, Any]:
    return {"name": name, "shape": list(value.shape), "dtype": value.dtype.name}


def _savable(value: Any, label: str) -> Array:
    array = np.asarray(value)
    if array.dtype.name not in _FLOAT_DTYPES:
        raise ValueError(f"cannot save {label}: expected float16, float32 or float64 values; "
                         f"got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"cannot save {label}: it holds NaN or infinity, and a model file "
                         "must hold finite values")
    return array


def _check_json(value: Any, label: str, depth: int = 0) -> None:
    """Accept only JSON values (None, bool, int, finite float, str, lists, str-keyed dicts)."""
    if depth > 16:
        raise ValueError(f"cannot save {label}: nested more than 16 levels deep")
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot save {label}: holds the non-finite number {value}")
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_json(item, label, depth + 1)
        return
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        for item in value.values():
            _check_json(item, label, depth + 1)
        return
    raise ValueError(
        f"cannot save {label}: expected JSON values (numbers, strings, booleans, None, lists); "
        f"got {type(value).__name__} {value!r}"
    )


# -- loading ----------------------------------------------------------------------------
def load(
    path: PathLike | IO[bytes],
    *,
    custom_layers: Mapping[str, type[Layer]] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Network:
    """Load a network saved with ``network.save(path)``; no code from the file runs.

    Parameters
    ----------
    path
        The model file (or a binary file object open on it).
    custom_layers
        ``{type name: class}`` for layers of your own, in addition to those registered
        with :func:`register_layer` (the type name is the class name unless registered
        under another).
    max_bytes
        The most bytes the arrays in the file may unpack to (1 GiB by default); a file
        claiming more is refused before anything is read.

    Returns
    -------
    Network
        A new network, in training mode, whose predictions equal the saved network's.

    Raises
    ------
    ModelFileError
        For a corrupted, truncated, wrong-version, foreign or crafted file; the message
        says what is wrong.
    OSError
        If the file cannot be opened (e.g. ``FileNotFoundError``).

    Examples
    --------
    >>> import os, tempfile
    >>> net = Network([Dense(2, 3, seed=0), ReLU(), Dense(3, 1, seed=1)])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "model.npz")
    ...     net.save(path)
    ...     again = minidl.load(path)
    >>> bool(np.array_equal(again.predict([[1.0, 2.0]]), net.predict([[1.0, 2.0]])))
    True
    """
    contents = read_model_file(path, custom_layers=custom_layers, max_bytes=max_bytes)
    return contents.network


class ModelFileContents:
    """What :func:`read_model_file` found: the rebuilt network, the header and extra arrays.

    Attributes
    ----------
    network
        The rebuilt network, parameters and state filled.
    header
        The parsed (and checked) JSON header.
    extra_arrays
        The arrays that belong to no layer (``optimizer.*``), by key without ``.npy``.
    """

    def __init__(self, network: Network, header: dict[str, Any], extra_arrays: dict[str, Array]) -> None:
        self.network = network
        self.header = header
        self.extra_arrays = extra_arrays


def read_model_file(
    path: PathLike | IO[bytes],
    *,
    custom_layers: Mapping[str, type[Layer]] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ModelFileContents:
    """Read and check a model file; the work behind :func:`load` (same arguments).

    Returns the rebuilt network together with the parsed header and the optimizer's
    arrays, for tools that want to look inside a file.
    """
    max_bytes = check_positive_int(max_bytes, "load max_bytes")
    types = _layer_types(custom_layers)
    if isinstance(path, (str, os.PathLike)):
        with open(path, "rb") as file:
            return _read(file, types, max_bytes)
    return _read(path, types, max_bytes)


def _layer_types(custom_layers: Mapping[str, type[Layer]] | None) -> dict[str, type[Layer]]:
    types = builtin_layers()
    types.update(_REGISTRY)
    if custom_layers is None:
        return types
    if not isinstance(custom_layers, Mapping):
        raise TypeError(
            f"load custom_layers must be a dict {{type name: Layer subclass}}; got "
            f"{type(custom_layers).__name__}"
        )
    for type_name, cls in custom_layers.items():
        _check_type_name(type_name, f"load custom_layers key {type_name!r}")
        if not (isinstance(cls, type) and issubclass(cls, Layer)):
            raise TypeError(
                f"load custom_layers[{type_name!r}] must be a subclass of minidl.Layer; got {cls!r}"
            )
        types[type_name] = cls
    return types


def _read(
    file: IO[bytes],
    types: dict[str, type[Layer]],
    max_bytes: int,
) -> ModelFileContents:
    try:
        return _read_unchecked(file, types, max_bytes)
    except ModelFileError:
        raise
    except Exception as error:  # anything else a malformed file provokes
        raise ModelFileError(
            f"not a valid minidl model file ({type(error).__name__}: {error})"
        ) from error


def _read_unchecked(
    file: IO[bytes],
    types: dict[str, type[Layer]],
    max_bytes: int,
) -> ModelFileContents:
    try:
        archive = zipfile.ZipFile(file, mode="r")
    except zipfile.BadZipFile:
        raise ModelFileError(
            "not a minidl model file: it is not a zip archive of arrays (.npz), or it is "
            "truncated (the end of the archive is missing)"
        ) from None
    with archive:
        members = _check_members(archive, max_bytes)
        if HEADER_MEMBER not in members:
            raise ModelFileError(
                f"not a minidl model file: it has no {HEADER_MEMBER} member describing the network"
            )
        header = _parse_header(_read_header_bytes(archive, members[HEADER_MEMBER]))
        expected = _expected_arrays(header)
        wanted = {f"{key}.npy" for key in expected} | {HEADER_MEMBER}
        missing = sorted(wanted - set(members))
        extra = sorted(set(members) - wanted)
        if missing:
            raise ModelFileError(f"the file is missing arrays {missing} that its header describes")
        if extra:
            raise ModelFileError(f"the file holds arrays {extra} that its header does not describe")
        values = {
            key: _read_array(archive, members[f"{key}.npy"], key, entry)
            for key, entry in expected.items()
        }
    from minidl.network import Network

    layers = [
        _build_layer(index, entry, types, values) for index, entry in enumerate(header["layers"])
    ]
    _check_sizes_between(layers)
    network = Network(layers)
    renamed = [(a.name, b["config"].get("name")) for a, b in zip(layers, header["layers"], strict=True)
               if "name" in b["config"] and a.name != b["config"]["name"]]
    if renamed:
        raise ModelFileError(f"layer names must be unique; got duplicates {renamed}")
    for index, (layer, entry) in enumerate(zip(layers, header["layers"], strict=True)):
        _restore_generators(layer, entry.get("rng", []), f"layer {index} ({entry['type']})")
    if "training" in header:
        _restore_training(network, header["training"], values)
    others = {key: value for key, value in values.items() if not key.startswith("layer")}
    return ModelFileContents(network, header, others)


def _new_generator(state: dict[str, Any], label: str) -> np.random.Generator:
    """A generator in exactly the saved ``state`` (PCG64 or PCG64DXSM only)."""
    name = state.get("bit_generator")
    _need(name in _BIT_GENERATORS, f"{label}: bit generator must be one of {sorted(_BIT_GENERATORS)}; "
          f"got {name!r:.80}")
    bit_generator = np.random.PCG64() if name == "PCG64" else np.random.PCG64DXSM()
    try:
        bit_generator.state = state  # type: ignore[assignment]  # checked by numpy
    except Exception as error:
        raise ModelFileError(f"{label}: invalid generator state ({error})") from error
    return np.random.Generator(bit_generator)


def _restore_generators(layer: Layer, states: list[dict[str, Any]], where: str) -> None:
    generators = _generators_of(layer)
    _need(len(states) == len(generators), f"{where}: the file has {len(states)} random generator "
          f"states; the layer keeps {len(generators)}")
    for generator, state in zip(generators, states, strict=True):
        generator.bit_generator.state = _new_generator(state, f"{where} rng").bit_generator.state


def _restore_training(network: Network, training: dict[str, Any], values: dict[str, Array]) -> None:
    """Compile ``network`` as saved and put back the optimizer's state and fit's generator."""
    from minidl.losses import LOSSES, Loss
    from minidl.optimizers import OPTIMIZERS, Optimizer

    where = "training section"
    parts: dict[str, Any] = {}
    for part, known in (("loss", LOSSES), ("optimizer", OPTIMIZERS)):
        item = training[part]
        cls = known.get(item["type"])
        _need(isinstance(cls, type), f"{where}: unknown {part} {item['type']!r:.80}; known: "
              f"{', '.join(sorted(known))}")
        assert isinstance(cls, type)
        _check_config(cls, "", item["config"], f"{where} {part} {item['type']!r}")
        try:
            parts[part] = cls(**item["config"])
        except Exception as error:
            raise ModelFileError(f"{where}: could not rebuild the {part} {item['type']!r} from its "
                                 f"config {item['config']!r:.200} ({error})") from error
    loss, optimizer = parts["loss"], parts["optimizer"]
    assert isinstance(loss, Loss) and isinstance(optimizer, Optimizer)
    try:
        network.compile(optimizer=optimizer, loss=loss, metrics=list(training["metrics"]))
    except Exception as error:
        raise ModelFileError(f"{where}: could not compile with the saved settings ({error})") from error
    state = {item["key"]: values[f"optimizer.{position}"]
             for position, item in enumerate(training["optimizer"]["state"])}
    try:
        optimizer.load_state_arrays(network.parameters(), state)
    except Exception as error:
        raise ModelFileError(f"{where}: invalid optimizer state ({error})") from error
    if training["fit_rng"] is not None:
        network.fit_rng = _new_generator(training["fit_rng"], f"{where} fit_rng")


def _check_members(archive: zipfile.ZipFile, max_bytes: int) -> dict[str, zipfile.ZipInfo]:
    """Every member by name, after checking names, compression and the size budget."""
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in archive.infolist():
        if info.filename in members:
            raise ModelFileError(f"the archive holds two members named {info.filename!r}")
        if info.flag_bits & 0x1:
            raise ModelFileError(f"archive member {info.filename!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(
                f"archive member {info.filename!r} uses compression method {info.compress_type}; "
                "expected stored (0) or deflated (8)"
            )
        total += info.file_size
        if total > max_bytes:
            raise ModelFileError(
                f"the arrays in the file would unpack to more than max_bytes={max_bytes} bytes "
                f"(at least {total}); pass a larger max_bytes to load if you trust this file"
            )
        members[info.filename] = info
        if len(members) > 4 * _MAX_LAYERS:
            raise ModelFileError(f"the archive holds more than {4 * _MAX_LAYERS} members")
    return members


def _open_npy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> tuple[
        IO[bytes], tuple[int, ...], bool, np.dtype[Any]]:
    stream = archive.open(info)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ModelFileError(f"{label}: unsupported .npy format version {version}")
    except BaseException:
        stream.close()
        raise
    return stream, shape, fortran, dtype


def _read_payload(stream: IO[bytes], shape: tuple[int, ...], dtype: np.dtype[Any],
                  fortran: bool, info: zipfile.ZipInfo, label: str) -> np.ndarray[Any, Any]:
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise ModelFileError(f"{label}: invalid shape {shape}")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > info.file_size:
        raise ModelFileError(
            f"{label}: its header claims {nbytes} bytes of data but the member holds at most "
            f"{info.file_size}; the file is truncated or crafted"
        )
    data = stream.read(nbytes)
    if len(data) != nbytes:
        raise ModelFileError(f"{label}: truncated data ({len(data)} of {nbytes} bytes)")
    if stream.read(1):
        raise ModelFileError(f"{label}: unexpected bytes after the array data")
    flat: np.ndarray[Any, Any] = np.frombuffer(data, dtype=dtype)
    shaped: np.ndarray[Any, Any] = flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
    return shaped


def _read_header_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > _HEADER_MAX_BYTES:
        raise ModelFileError(
            f"the header is {info.file_size} bytes; expected at most {_HEADER_MAX_BYTES}"
        )
    label = f"member {HEADER_MEMBER}"
    stream, shape, fortran, dtype = _open_npy(archive, info, label)
    with stream:
        if dtype != np.dtype(np.uint8) or len(shape) != 1:
            raise ModelFileError(
                f"{label}: expected a 1-D uint8 array of UTF-8 JSON; got dtype {dtype}, shape {shape}"
            )
        return _read_payload(stream, shape, dtype, fortran, info, label).tobytes()


def _read_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str,
                entry: dict[str, Any]) -> Array:
    label = f"array {key!r}"
    stream, shape, fortran, dtype = _open_npy(archive, info, label)
    kinds = "fi" if entry["dtype"] == "int64" else "f"
    with stream:
        if dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype is not None:
            expected = "floating-point values" if kinds == "f" else "int64 values"
            raise ModelFileError(f"{label}: expected {expected}; got dtype {dtype}")
        native = dtype.newbyteorder("=")
        if native.name != entry["dtype"]:
            raise ModelFileError(
                f"{label}: the header says dtype {entry['dtype']}; the array has dtype {native.name}"
            )
        if list(shape) != entry["shape"]:
            raise ModelFileError(
                f"{label}: the header says shape {tuple(entry['shape'])}; the array has shape {shape}"
            )
        raw = _read_payload(stream, shape, dtype, fortran, info, label)
    array: Array = np.array(raw, dtype=native, order="C")  # a writable, native-endian copy
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ModelFileError(f"{label}: holds NaN or infinity; parameters must be finite")
    return array


# -- the JSON header --------------------------------------------------------------------
def _reject_constant(name: str) -> None:
    raise ModelFileError(f"the header holds the non-finite number {name}; expected finite numbers")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # e.g. 1e400, which float() reads as infinity
        raise ModelFileError(f"the header holds the number {text:.40}, too large for a float")
    return number


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ModelFileError(f"the header repeats the key {key!r}")
        result[key] = value
    return result


def _parse_header(payload: bytes) -> dict[str, Any]:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelFileError("the header is not UTF-8 text") from None
    try:
        header = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float,
                            object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise ModelFileError(f"the header is not valid JSON ({error})") from None
    except RecursionError:
        raise ModelFileError("the header is nested too deeply") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"the header must be a JSON object; got {type(header).__name__}")
    _check_keys(header, {"format", "version", "layers"}, {"minidl_version", "training"}, "the header")
    _need(header["format"] == FORMAT_NAME,
          f"the header's format is {header['format']!r}; expected {FORMAT_NAME!r}")
    version = header["version"]
    _need(_is_int(version), f"the header's version must be an integer; got {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"the file has format version {version}, written by a newer minidl; this minidl "
            f"reads versions up to {FORMAT_VERSION} (upgrade minidl to load it)"
        )
    _need(version == FORMAT_VERSION,
          f"unsupported format version {version}; this minidl reads version {FORMAT_VERSION}")
    if "minidl_version" in header:
        _need(isinstance(header["minidl_version"], str),
              f"the header's minidl_version must be a string; got {header['minidl_version']!r}")
    layers = header["layers"]
    _need(isinstance(layers, list) and 0 < len(layers) <= _MAX_LAYERS,
          f"the header's layers must be a non-empty list of at most {_MAX_LAYERS}; got {layers!r:.80}")
    for index, entry in enumerate(layers):
        where = f"layer {index}"
        _need(isinstance(entry, dict), f"{where} must be a JSON object; got {entry!r:.80}")
        _check_keys(entry, {"type", "config", "parameters", "state"}, {"rng"}, where)
        if "rng" in entry:
            _need(isinstance(entry["rng"], list) and all(isinstance(g, dict) for g in entry["rng"]),
                  f"{where}: rng must be a list of generator states; got {entry['rng']!r:.80}")
        _need(isinstance(entry["type"], str) and bool(_NAME.match(entry["type"])),
              f"{where}: type must be a layer class name; got {entry['type']!r:.80}")
        _need(isinstance(entry["config"], dict), f"{where}: config must be a JSON object; got "
              f"{entry['config']!r:.80}")
        for kind in ("parameters", "state"):
            items = entry[kind]
            _need(isinstance(items, list), f"{where}: {kind} must be a list; got {items!r:.80}")
            for item in items:
                _check_array_entry(item, f"{where} {kind}")
    if "training" in header:
        _parse_training(header["training"])
    return header


def _parse_training(training: Any) -> None:
    where = "the header's training section"
    _need(isinstance(training, dict), f"{where} must be a JSON object; got {training!r:.80}")
    _check_keys(training, {"loss", "optimizer", "metrics", "fit_rng"}, set(), where)
    for part in ("loss", "optimizer"):
        item = training[part]
        _need(isinstance(item, dict), f"{where}: {part} must be a JSON object; got {item!r:.80}")
        _check_keys(item, {"type", "config"} | ({"state"} if part == "optimizer" else set()), set(),
                    f"{where} {part}")
        _need(isinstance(item["type"], str), f"{where}: {part} type must be a name; got {item['type']!r:.80}")
        _need(isinstance(item["config"], dict), f"{where}: {part} config must be a JSON object")
    state = training["optimizer"]["state"]
    _need(isinstance(state, list), f"{where}: optimizer state must be a list; got {state!r:.80}")
    keys = []
    for item in state:
        _need(isinstance(item, dict), f"{where}: optimizer state entries must be JSON objects")
        _check_keys(item, {"key", "shape", "dtype"}, set(), f"{where} optimizer state entry")
        _need(isinstance(item["key"], str) and bool(_OPTIMIZER_KEY.match(item["key"])),
              f"{where}: optimizer state key must look like 'iterations' or '<i>/<slot>'; "
              f"got {item['key']!r:.80}")
        _check_array_entry({"name": "state", "shape": item["shape"], "dtype": item["dtype"]},
                          f"{where} optimizer state {item['key']!r}", _OPTIMIZER_DTYPES)
        keys.append(item["key"])
    _need(len(set(keys)) == len(keys), f"{where}: optimizer state keys repeat")
    metrics = training["metrics"]
    _need(isinstance(metrics, list) and all(isinstance(m, str) for m in metrics),
          f"{where}: metrics must be a list of names; got {metrics!r:.80}")
    _need(training["fit_rng"] is None or isinstance(training["fit_rng"], dict),
          f"{where}: fit_rng must be a generator state or null; got {training['fit_rng']!r:.80}")


def _check_array_entry(item: Any, where: str, dtypes: frozenset[str] = _FLOAT_DTYPES) -> None:
    """Check one ``{"name", "shape", "dtype"}`` description from a header, or raise."""
    _need(isinstance(item, dict), f"{where}: each entry must be a JSON object; got {item!r:.80}")
    _check_keys(item, {"name", "shape", "dtype"}, set(), f"{where} entry")
    _need(isinstance(item["name"], str) and bool(_NAME.match(item["name"])),
          f"{where}: name must be an identifier; got {item['name']!r:.80}")
    shape = item["shape"]
    _need(isinstance(shape, list) and len(shape) <= 32 and all(_is_int(n) and n >= 0 for n in shape),
          f"{where} {item['name']!r}: shape must be a list of non-negative integers; got {shape!r:.80}")
    _need(item["dtype"] in dtypes,
          f"{where} {item['name']!r}: dtype must be one of {sorted(dtypes)}; "
          f"got {item['dtype']!r:.80}")


def _expected_arrays(header: dict[str, Any]) -> dict[str, dict[str, Any]]:
    expected: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(header["layers"]):
        for position, item in enumerate(entry["parameters"]):
            expected[f"layer{index}.param{position}"] = item
        names = [item["name"] for item in entry["state"]]
        _need(len(set(names)) == len(names), f"layer {index}: state names repeat: {names}")
        for item in entry["state"]:
            expected[f"layer{index}.state.{item['name']}"] = item
    if "training" in header:
        for position, item in enumerate(header["training"]["optimizer"]["state"]):
            expected[f"optimizer.{position}"] = item
    return expected


def _check_keys(mapping: dict[str, Any], required: set[str], optional: set[str], where: str) -> None:
    missing = sorted(required - set(mapping))
    unexpected = sorted(set(mapping) - required - optional)
    _need(not missing, f"{where} is missing the keys {missing}")
    _need(not unexpected, f"{where} has unexpected keys {unexpected}; expected "
          f"{sorted(required | optional)}")


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise ModelFileError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- rebuilding layers ------------------------------------------------------------------
def _is_real(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_float_dtype(value: Any) -> bool:
    return value in _FLOAT_DTYPES


def _is_optional_int(value: Any) -> bool:
    return value is None or _is_int(value)


_CheckValue = Callable[[Any], bool]
_NAME_ONLY: dict[str, tuple[_CheckValue, str]] = {"name": (_is_str, "a string")}

#: For each built-in layer, its exact config keys and what each must be.
BUILTIN_CONFIGS: dict[str, dict[str, tuple[_CheckValue, str]]] = {
    "Dense": {
        "in_features": (_is_int, "an integer"),
        "out_features": (_is_int, "an integer"),
        "use_bias": (_is_bool, "true or false"),
        "dtype": (_is_float_dtype, f"one of {sorted(_FLOAT_DTYPES)}"),
        "name": (_is_str, "a string"),
    },
    "Identity": _NAME_ONLY,
    "ReLU": _NAME_ONLY,
    "Sigmoid": _NAME_ONLY,
    "Tanh": _NAME_ONLY,
    "Softmax": _NAME_ONLY,
    "LeakyReLU": {"alpha": (_is_real, "a finite number"), "name": (_is_str, "a string")},
    "Dropout": {
        "rate": (_is_real, "a finite number"),
        "seed": (_is_optional_int, "an integer or null"),
        "name": (_is_str, "a string"),
    },
    "BatchNorm": {
        "num_features": (_is_int, "an integer"),
        "momentum": (_is_real, "a finite number"),
        "epsilon": (_is_real, "a finite number"),
        "dtype": (_is_float_dtype, f"one of {sorted(_FLOAT_DTYPES)}"),
        "name": (_is_str, "a string"),
    },
}


def _check_config(cls: type[Any], type_name: str, config: dict[str, Any], where: str) -> None:
    schema = BUILTIN_CONFIGS.get(type_name) if builtin_layers().get(type_name) is cls else None
    if schema is not None:
        _check_keys(config, set(schema), set(), f"{where} config")
        for key, (check, expected) in schema.items():
            _need(check(config[key]), f"{where} config[{key!r}] must be {expected}; "
                  f"got {config[key]!r:.80}")
        return
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):  # no signature to check against
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    accepted = {p.name for p in parameters
                if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    unexpected = sorted(set(config) - accepted)
    _need(not unexpected, f"{where} config has keys {unexpected} that {cls.__qualname__}() does "
          f"not accept; expected some of {sorted(accepted)}")


def _builtin_parameter_shapes(type_name: str, config: dict[str, Any]) -> list[list[int]] | None:
    """The parameter shapes the (already checked) config of a built-in layer implies."""
    if type_name == "Dense":
        weight = [config["in_features"], config["out_features"]]
        return [weight, [config["out_features"]]] if config["use_bias"] else [weight]
    if type_name == "BatchNorm":
        return [[config["num_features"]], [config["num_features"]]]
    return []  # the activations and Dropout have none


def _build_layer(index: int, entry: dict[str, Any], types: dict[str, type[Layer]],
                 values: dict[str, Array]) -> Layer:
    type_name = entry["type"]
    where = f"layer {index} ({type_name})"
    cls = types.get(type_name)
    if cls is None:
        raise ModelFileError(
            f"layer {index} has the unknown type {type_name!r}; known types: "
            f"{', '.join(sorted(types))}. For a layer of your own, decorate its class with "
            "@minidl.register_layer or pass custom_layers={'Name': Class} to minidl.load"
        )
    config = entry["config"]
    _check_config(cls, type_name, config, where)
    shapes = _builtin_parameter_shapes(type_name, config) if builtin_layers().get(type_name) is cls else None
    declared_shapes = [item["shape"] for item in entry["parameters"]]
    # Before building: a crafted config (Dense(15000, 15000) over 3 x 4 arrays) must not
    # allocate gigabytes that max_bytes never saw. (Sizes below 1 are left to the
    # constructor, which refuses them, with its own message, before allocating.)
    _need(shapes is None or shapes == declared_shapes or min(min(shape) for shape in shapes) < 1,
          f"{where}: its config implies parameter shapes {shapes}; the file declares {declared_shapes}")
    try:
        layer = cls(**config)
    except Exception as error:
        raise ModelFileError(
            f"{where}: could not be rebuilt from its config {config!r:.200} "
            f"({type(error).__name__}: {error})"
        ) from error
    parameters = layer.parameters()
    declared = entry["parameters"]
    names = [p.name for p in parameters]
    _need(len(declared) == len(parameters) and [d["name"] for d in declared] == names,
          f"{where}: the file has parameters {[d['name'] for d in declared]}; the layer built "
          f"from its config has {names}")
    for position, parameter in enumerate(parameters):
        value = values[f"layer{index}.param{position}"]
        _need(value.shape == parameter.shape and value.dtype == parameter.dtype,
              f"{where} parameter {parameter.name!r}: expected shape {parameter.shape} and dtype "
              f"{parameter.dtype}; the file has shape {value.shape} and dtype {value.dtype}")
        parameter.value[...] = value
    fresh = layer.state_arrays()
    stored = {item["name"]: values[f"layer{index}.state.{item['name']}"] for item in entry["state"]}
    _need(set(fresh) == set(stored), f"{where}: the file has state arrays {sorted(stored)}; the "
          f"layer keeps {sorted(fresh)}")
    for name, value in stored.items():
        expected = np.asarray(fresh[name])
        _need(value.shape == expected.shape and value.dtype == expected.dtype,
              f"{where} state {name!r}: expected shape {expected.shape} and dtype {expected.dtype}; "
              f"the file has shape {value.shape} and dtype {value.dtype}")
    if stored:
        try:
            layer.load_state_arrays(stored)
        except Exception as error:
            raise ModelFileError(f"{where}: could not load its state ({error})") from error
    return layer


def _check_sizes_between(layers: list[Layer]) -> None:
    """Each layer that declares its input size must get it from the layer before."""
    features: int | None = None
    for index, layer in enumerate(layers):
        wanted = layer.num_features if isinstance(layer, BatchNorm) else getattr(layer, "in_features", None)
        if _is_int(wanted) and features is not None and wanted != features:
            raise ModelFileError(
                f"layer {index} ({type(layer).__name__} {layer.name!r}) expects {wanted} input "
                f"features but the layer before it gives {features}"
            )
        try:
            features = layer.output_features(features)
        except Exception:
            features = None
        if not _is_int(features):
            features = None
