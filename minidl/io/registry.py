"""The allow-list: the layer classes a model file may name, and how yours join it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from minidl import layers
from minidl.layers import Layer

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}\Z")
LayerClass = TypeVar("LayerClass", bound=type[Layer])

#: The built-in layer classes a model file may name, by type name.
BUILTIN_LAYERS: dict[str, type[Layer]] = {cls.__name__: cls for cls in (
    layers.Dense, layers.Identity, layers.ReLU, layers.LeakyReLU, layers.Sigmoid, layers.Tanh, layers.Softmax,
    layers.Dropout, layers.BatchNorm, layers.Conv2D, layers.MaxPool2D, layers.AvgPool2D, layers.Flatten)}
_REGISTRY: dict[str, type[Layer]] = {}


def register_layer(cls: LayerClass | None = None, *, name: str | None = None) -> Any:
    """Allow model files to contain your own layer class (a decorator).

    :func:`minidl.load` rebuilds a layer as ``cls(**config)`` from the ``config()`` the
    layer returned when it was saved, then puts its arrays in place, so ``config()`` must
    return the constructor arguments (JSON values: numbers, strings, booleans, None,
    lists) and the constructor should check them (a file supplies them).

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
    >>> minidl.io.registered_layers()["Double"] is Double
    True
    >>> minidl.io.unregister_layer("Double")
    """

    def decorate(layer_class: LayerClass) -> LayerClass:
        type_name = check_entry(layer_class.__name__ if name is None else name, layer_class,
                                "the class given to register_layer")
        existing = _REGISTRY.get(type_name, layer_class)
        # Same module and name: a class defined again (a notebook cell run twice) replaces itself.
        if (existing.__module__, existing.__qualname__) != (layer_class.__module__, layer_class.__qualname__):
            raise ValueError(f"register_layer: the name {type_name!r} is already registered for "
                             f"{existing.__module__}.{existing.__qualname__}; pass name=... to choose "
                             "another")
        _REGISTRY[type_name] = layer_class
        return layer_class

    return decorate if cls is None else decorate(cls)


def unregister_layer(name: str) -> None:
    """Remove a layer type registered with :func:`register_layer` (no error if absent)."""
    _REGISTRY.pop(name, None)


def registered_layers() -> dict[str, type[Layer]]:
    """A copy of the user registry: type name -> layer class."""
    return dict(_REGISTRY)


def check_entry(type_name: object, cls: object, where: str) -> str:
    """``type_name`` if it may name ``cls`` in files (a Layer subclass; not a built-in's name), else raise."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"{where} must be a subclass of minidl.Layer; got {cls!r}")
    if not isinstance(type_name, str) or not NAME.match(type_name):
        raise ValueError(f"{where}: its name must be a Python identifier of at most 100 characters; got "
                         f"{type_name!r}")
    if type_name in BUILTIN_LAYERS:
        raise ValueError(f"{where}: its name {type_name!r} is a built-in layer and cannot be replaced")
    return type_name


def type_name_of(layer: Layer) -> str:
    """The type name under which ``layer`` is saved."""
    cls = type(layer)
    known = [name for name, known_class in {**BUILTIN_LAYERS, **_REGISTRY}.items() if known_class is cls]
    if not known and cls.__name__ in BUILTIN_LAYERS:
        raise ValueError(f"cannot save layer {layer.name!r}: its class {cls.__module__}.{cls.__qualname__} "
                         "has the name of a built-in layer; register it under another name with "
                         "minidl.register_layer(name=...)")
    return known[0] if known else cls.__name__


def layer_types(custom_layers: Mapping[str, type[Layer]] | None) -> dict[str, type[Layer]]:
    """The allow-list for one load: built-in, registered, then ``custom_layers`` (checked)."""
    if custom_layers is not None and not isinstance(custom_layers, Mapping):
        raise TypeError("load custom_layers must be a dict {type name: Layer subclass}; got "
                        f"{type(custom_layers).__name__}")
    custom = {check_entry(name, cls, f"load custom_layers[{name!r}]"): cls
              for name, cls in (custom_layers or {}).items()}
    return {**BUILTIN_LAYERS, **_REGISTRY, **custom}
