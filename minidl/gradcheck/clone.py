"""The object a gradient check works on: a float64 deep copy, its parameters by name, its randomness.

The check never touches the object it is given. It differentiates a deep copy in which
every floating array is float64 (finite differences in float32 are meaningless), and it
puts every random generator back to its first state before each forward, so a Dropout
draws the same mask every time.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import numpy as np

from minidl.layers.base import Layer, Parameter
from minidl.losses import Loss
from minidl.network import Network

Checked = TypeVar("Checked")


class Rewind(list[Callable[[], None]]):
    """Steps that put random states back as they were; calling it runs them all.

    The first step restores numpy's global random state; ``float64_clone`` adds one for
    each generator the clone holds.
    """

    def __call__(self) -> None:
        """Run every step: each random state is as it was when its step was added."""
        for step in self:
            step()


def float64_clone(obj: Checked) -> tuple[Checked, Rewind]:
    """A deep copy of ``obj``, every floating array and Parameter in it float64; and its rewind."""
    try:
        clone = copy.deepcopy(obj)
    except Exception as error:
        raise TypeError(f"check_gradients works on a copy of the object, but {type(obj).__name__} could not "
                        f"be copied ({type(error).__name__}: {error}); keep only arrays, numbers and numpy "
                        "Generators as attributes") from error
    rewind = Rewind([partial(np.random.set_state, np.random.get_state())])  # noqa: NPY002 (legacy global state)
    _to_float64(clone, rewind, set())
    return clone, rewind


def _to_float64(value: Any, rewind: Rewind, seen: set[int]) -> Any:
    """``value`` in float64.

    Arrays, scalars, dtypes and tuples are returned converted; Parameters, lists, dicts,
    layers, networks and losses are converted in place (each once), and each random
    generator met gets a step in ``rewind`` that restores its current state.
    """
    if isinstance(value, np.ndarray):
        return value.astype(np.float64) if value.dtype.kind == "f" and value.dtype != np.float64 else value
    if isinstance(value, np.floating):
        return np.float64(value)
    if isinstance(value, np.dtype) and value.kind == "f":
        return np.dtype(np.float64)
    if isinstance(value, type) and issubclass(value, np.floating):  # e.g. self.dtype = np.float32
        return np.float64
    if isinstance(value, tuple):
        return tuple(_to_float64(item, rewind, seen) for item in value)
    if id(value) in seen:
        return value
    seen.add(id(value))
    if isinstance(value, Parameter):
        value.value = np.ascontiguousarray(value.value, dtype=np.float64)
        value.grad = np.zeros_like(value.value)
    elif isinstance(value, np.random.Generator):
        rewind.append(partial(setattr, value.bit_generator, "state", value.bit_generator.state))
    elif isinstance(value, np.random.RandomState):
        rewind.append(partial(value.set_state, value.get_state()))
    elif isinstance(value, list):
        value[:] = [_to_float64(item, rewind, seen) for item in value]
    elif isinstance(value, dict):
        value.update({key: _to_float64(item, rewind, seen) for key, item in value.items()})
    elif isinstance(value, (Layer, Network, Loss)):
        for key, item in list(vars(value).items()):
            if (new := _to_float64(item, rewind, seen)) is not item:
                setattr(value, key, new)
    return value


def named_parameters(module: Layer | Network) -> list[tuple[str, Parameter, Layer]]:
    """``(name, parameter, its layer)``: attribute names for a layer, ``layer.attribute`` in a network."""
    if isinstance(module, Network):
        return [(f"{layer.name}.{name}", parameter, layer)
                for layer in module.layers for name, parameter, _ in named_parameters(layer)]
    attributes = {id(value): key for key, value in vars(module).items() if isinstance(value, Parameter)}
    named: list[tuple[str, Parameter, Layer]] = []
    for parameter in module.parameters():
        name = base = attributes.get(id(parameter), parameter.name)
        count = 1
        while name in {"input", *(used for used, _, _ in named)}:  # a name is never given twice
            count += 1
            name = f"{base}_{count}"
        named.append((name, parameter, module))
    return named


def unseen_parameters(module: Layer | Network, named: list[tuple[str, Parameter, Layer]]) -> list[str]:
    """Parameters that ``parameters()`` did not list before the forward pass, one message each.

    Two learner mistakes leave a parameter that optimizers never update (and that the
    check cannot compare): creating it in ``forward`` rather than ``__init__``, and
    keeping it inside a list, tuple or dict, where the attribute scan does not look.
    """
    known = {id(parameter) for _, parameter, _ in named}
    messages: list[str] = []
    for layer in module.layers if isinstance(module, Network) else [module]:
        label = f"{type(layer).__name__} {layer.name!r}"
        for key, value in vars(layer).items():
            container = isinstance(value, (list, tuple, dict))
            items = (value.values() if isinstance(value, dict) else value) if container else [value]
            if any(isinstance(item, Parameter) and id(item) not in known for item in items):
                inside = f" inside a {type(value).__name__}" if container else ""
                messages.append(f"{label}: attribute {key!r} holds a Parameter{inside} that parameters() did "
                                "not list before forward ran; create every Parameter in __init__ (after "
                                "super().__init__()) as an attribute of its own, self.w = Parameter(...), or "
                                "the optimizers never update it (it was not checked)")
    return messages
