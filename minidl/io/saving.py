"""What goes into a model file: the JSON header and the named arrays of a network."""

from __future__ import annotations

import inspect
import json
from typing import TYPE_CHECKING, Any

import numpy as np

from minidl._typing import Array
from minidl._validation import check_bool
from minidl._version import __version__
from minidl.initializers import initialize_with
from minidl.io.archive import PathLike, write_archive
from minidl.io.registry import NAME, type_name_of
from minidl.layers.base import Layer, restorable_states, unseen_parameters
from minidl.losses import LOSSES
from minidl.optimizers import OPTIMIZERS

if TYPE_CHECKING:
    from minidl.network import Network
    from minidl.training import Trainer

#: The ``format`` field of every minidl model file.
FORMAT_NAME = "minidl-model"
#: The version this minidl writes and the newest it reads.
FORMAT_VERSION = 1
#: The archive member holding the JSON description.
HEADER_MEMBER = "__minidl__.npy"
FLOAT_DTYPES = frozenset({"float16", "float32", "float64"})
#: The bit generators a file may name (``numpy.random.default_rng`` makes a PCG64).
BIT_GENERATORS = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM}


def save(network: Network, path: PathLike, *, include_optimizer: bool = True) -> None:
    """Save ``network`` to ``path`` (one ``.npz`` file, written atomically).

    Prefer the method form ``network.save(path)``. See :mod:`minidl.io` for what is
    stored. ``include_optimizer`` also stores the training settings (loss, metrics,
    optimizer and its state, fit's random generator) of a compiled network.

    Raises
    ------
    ValueError
        If a layer's ``config()`` is not made of JSON values, or a parameter holds NaN
        or infinity (such a file could not be loaded back).
    """
    write_model_file(path, *describe_network(network, include_optimizer=include_optimizer))


def write_model_file(path: PathLike, header: dict[str, Any], arrays: dict[str, Array]) -> None:
    """Write ``header`` (as UTF-8 JSON bytes) and ``arrays`` as a model file, atomically."""
    payload = json.dumps(header, allow_nan=False, separators=(",", ":")).encode("utf-8")
    write_archive(path, {HEADER_MEMBER: np.frombuffer(payload, dtype=np.uint8),
                         **{f"{key}.npy": value for key, value in arrays.items()}})


def describe_network(network: Network, *, include_optimizer: bool = True) -> tuple[
        dict[str, Any], dict[str, Array]]:
    """The JSON header and the named arrays that :func:`save` writes for ``network``."""
    include_optimizer = check_bool(include_optimizer, "save include_optimizer")
    arrays: dict[str, Array] = {}
    known = {id(parameter) for parameter in network.parameters()}  # a layer may refer to another (tied)
    layers = [_describe_layer(index, layer, arrays, known) for index, layer in enumerate(network.layers)]
    header: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION,
                              "minidl_version": __version__, "layers": layers}
    if include_optimizer and network.trainer is not None:
        header["training"] = _describe_training(network.trainer, arrays)
    return header, arrays


def _describe_layer(index: int, layer: Layer, arrays: dict[str, Array], known: set[int]) -> dict[str, Any]:
    label = f"layer {index} ({type(layer).__name__} {layer.name!r})"
    config = layer.config()
    if not isinstance(config, dict) or not all(isinstance(key, str) for key in config):
        raise ValueError(f"cannot save {label}: config() must return a dict with str keys; got {config!r}")
    try:  # only JSON values: None, bool, int, finite float, str, lists, str-keyed dicts
        json.dumps(config, allow_nan=False, default=_not_json)
    except (ValueError, TypeError, RecursionError) as error:
        raise ValueError(f"cannot save {label}: config() must hold JSON values (numbers, strings, booleans, "
                         f"None, lists); {error}") from None
    for problem in unseen_parameters([layer], known, ", nor saved"):
        raise ValueError(f"cannot save layer {index}: {problem}")
    entry: dict[str, Any] = {"type": type_name_of(layer), "config": config, "parameters": [], "state": []}
    named = [("parameters", f"param{j}", p.name, p.value) for j, p in enumerate(layer.parameters())]
    named += [("state", f"state.{name}", name, value) for name, value in restorable_states(layer).items()]
    for kind, key, name, value in named:
        if not NAME.match(name):
            raise ValueError(f"cannot save {label}: array names must be Python identifiers; got {name!r}")
        item = _add_array(arrays, f"layer{index}.{key}", value, f"{label} {kind.rstrip('s')} {name!r}")
        entry[kind].append({"name": name, **item})
    if generators_of(layer):  # (Dropout's)
        entry["rng"] = [generator_state(rng, f"{label} generator") for rng in generators_of(layer).values()]
    _check_arguments_in(config, layer, label)  # last: the arrays' own refusals say more
    return entry


def _check_arguments_in(config: dict[str, Any], layer: Layer, label: str) -> None:
    """Refuse a user's layer that ``load`` would not rebuild as it is from ``config()``.

    ``load`` rebuilds a layer as ``cls(**config)``, then puts the file's arrays in: an argument
    that ``config()`` leaves out fails there when it has no default, and is silently its default
    otherwise (an ``ELU(alpha=0.2)`` loaded as alpha 1.0). So the layer is rebuilt here the same
    way (no random draws), and each constructor argument it keeps as a number, string or boolean
    must come back the same; arrays come back from the file, ``seed`` only drew the arrays the
    file replaces, and ``name`` is a label.
    """
    if type(layer).__init__.__module__.startswith("minidl."):  # (the built-ins leave out weight_init)
        return
    try:
        with initialize_with(lambda shape, rng, dtype: np.zeros(shape, dtype)):
            rebuilt = type(layer)(**config)
    except Exception as error:
        raise ValueError(f"cannot save {label}: load rebuilds it as {type(layer).__name__}(**config()), "
                         f"which fails ({type(error).__name__}: {error}); config() must return its "
                         "constructor arguments: def config(self): return {**super().config(), 'argument': "
                         "self.argument}") from None
    for name in inspect.signature(type(layer)).parameters:
        value, again = vars(layer).get(name), vars(rebuilt).get(name)
        kept = isinstance(value, (bool, int, float, str)) and name not in {*config, "name", "seed"}
        if kept and value != again:
            raise ValueError(f"cannot save {label}: config() does not return its constructor argument "
                             f"{name!r} (self.{name} is {value!r}, but rebuilt from config() it is "
                             f"{again!r}), so load would not rebuild it as it is; return it: def "
                             f"config(self): return {{**super().config(), {name!r}: self.{name}}}")


def generators_of(layer: Layer) -> dict[str, np.random.Generator]:
    """The random generators a layer keeps (Dropout's), by attribute name."""
    return {name: value for name, value in vars(layer).items() if isinstance(value, np.random.Generator)}


def generator_state(generator: np.random.Generator, label: str) -> dict[str, Any]:
    """The state of a PCG64-family generator (``default_rng``'s; plain ints, so JSON), or raise."""
    state = dict(generator.bit_generator.state)
    if state.get("bit_generator") not in BIT_GENERATORS:
        raise ValueError(f"cannot save {label}: its bit generator {state.get('bit_generator')!r} is not one "
                         f"of {sorted(BIT_GENERATORS)} (numpy.random.default_rng uses PCG64)")
    return state


def _describe_training(trainer: Trainer, arrays: dict[str, Array]) -> dict[str, Any]:
    """The compile settings, the optimizer's state and the shuffling generator of ``fit``."""
    loss, optimizer, counts = trainer.loss, trainer.optimizer, FLOAT_DTYPES | {"int64"}  # int64: step counts
    for part, item, known in (("loss", loss, LOSSES), ("optimizer", optimizer, OPTIMIZERS)):
        if known.get(item.name) is not type(item):  # a built-in's config holds numbers and booleans
            raise ValueError(f"cannot save the training settings: the {part} {type(item).__name__} is not a "
                             f"built-in {part}; save with include_optimizer=False and compile again after "
                             "loading")
    state = [{"key": key, **_add_array(arrays, f"optimizer.{j}", value, f"optimizer state {key!r}", counts)}
             for j, (key, value) in enumerate(optimizer.state_arrays(trainer.network.parameters()).items())]
    fit_rng = None if trainer.fit_rng is None else generator_state(trainer.fit_rng, "the fit generator")
    return {"loss": {"type": loss.name, "config": loss.config()},
            "optimizer": {"type": optimizer.name, "config": optimizer.config(), "state": state},
            "metrics": [kind for _, kind in trainer.metrics if isinstance(kind, str)],  # (not functions)
            "fit_rng": fit_rng}


def _add_array(arrays: dict[str, Array], key: str, value: Any, label: str,
               dtypes: frozenset[str] = FLOAT_DTYPES) -> dict[str, Any]:
    """Put ``value`` in ``arrays[key]`` if it holds finite values of ``dtypes``; its shape and dtype."""
    array = np.asarray(value)
    if array.dtype.name not in dtypes or not np.all(np.isfinite(array)):
        problem = " with NaN or infinity" if array.dtype.kind == "f" else ""
        raise ValueError(f"cannot save {label}: a model file holds finite {', '.join(sorted(dtypes))} "
                         f"values; got dtype {array.dtype}{problem}")
    arrays[key] = array
    return {"shape": list(array.shape), "dtype": array.dtype.name}


def _not_json(value: Any) -> Any:
    raise ValueError(f"got {type(value).__name__} {value!r:.80}")
