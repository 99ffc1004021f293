"""Keras's layer constructors, each a :class:`KerasLayer` that makes ordinary minidl layers.

A Keras layer is written before its input size is known (``Dense(32)``: 32 outputs, from how
many inputs?). Each constructor here returns a :class:`KerasLayer`, a recipe: its ``build``
receives one sample's input shape and returns the minidl layers (``Dense(50, activation="relu")``
builds ``minidl.Dense(n_inputs, 50)`` then ``minidl.ReLU()``). :class:`~minidl.keras.Sequential`
builds each recipe as soon as the shape reaching it is known.

Images are **channels first** (NCHW), as everywhere in minidl: ``input_shape=(channels, height,
width)``, Keras's ``data_format="channels_first"``. Keras's default is channels last.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from minidl._typing import Seed, Shape
from minidl._validation import check_int_pair, check_positive_int
from minidl.layers import Activation as _Activation
from minidl.layers import AvgPool2D, BatchNorm, Identity, Layer, MaxPool2D, ReLU, Sigmoid, Softmax, Tanh
from minidl.layers import Conv2D as _Conv2D
from minidl.layers import Dense as _Dense
from minidl.layers import Dropout as _Dropout
from minidl.layers import Flatten as _Flatten

__all__ = ["ACTIVATIONS", "Activation", "AveragePooling2D", "BatchNormalization", "Conv2D", "Dense",
           "Dropout", "Flatten", "Input", "KerasLayer", "MaxPooling2D", "output_sample_shape", "sample_shape"]

#: Keras's activation names and the minidl layer each adds ("linear" and None add none).
ACTIVATIONS: dict[str, type[Layer] | None] = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh,
                                               "softmax": Softmax, "linear": None}


def sample_shape(shape: object, where: str) -> tuple[int, ...]:
    """``shape`` (one sample's, without the batch axis) as a tuple of positive ints, or a clear error."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        raise TypeError(f"{where} must be a tuple, one sample's shape without the batch axis: "
                        f"write ({int(shape)},) for {int(shape)} features; got {shape!r}")
    if not isinstance(shape, (tuple, list)) or not shape or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in shape):
        raise ValueError(f"{where} must be a non-empty tuple of positive integers, one sample's shape "
                         f"without the batch axis, e.g. (8,) or (1, 28, 28) (channels first); got {shape!r}")
    return tuple(int(n) for n in shape)


def _activation(name: str | None, where: str, layer_name: str | None = None,
                images: bool = False) -> list[Layer]:
    """The minidl layer for Keras's activation ``name`` (none for "linear" or None); ``images``: on NCHW."""
    if name is not None and (not isinstance(name, str) or name.lower() not in ACTIVATIONS):
        valid = ", ".join(repr(key) for key in ACTIVATIONS)
        raise ValueError(f"{where}: unknown activation {name!r}; use one of {valid} or None")
    if images and name is not None and name.lower() == "softmax":  # Keras's is over the channels
        raise ValueError(f"{where}: activation 'softmax' on images is not supported: Keras's normalises the "
                         "channels, minidl's Softmax the last axis (the width of NCHW images); put Flatten() "
                         "and Dense(..., activation='softmax') after it")
    kind = None if name is None else ACTIVATIONS[name.lower()]
    return [] if kind is None else [kind(name=layer_name)]


class KerasLayer:
    """A Keras layer before its input shape is known: a recipe for minidl layers.

    Parameters
    ----------
    kind
        The Keras class name (for messages): ``"Dense"``, ``"Conv2D"``, ...
    make
        ``make(input_shape) -> layers``: the minidl layers for one sample's ``input_shape``.
    input_shape
        One sample's shape, without the batch axis, when the layer is the first (Keras's
        ``input_shape=``); None otherwise.
    rank
        How many axes one sample must have (1: ``(features,)``; 3: ``(channels, height, width)``),
        checked at :meth:`build`; None: any.
    """

    def __init__(self, kind: str, make: Callable[[tuple[int, ...]], list[Layer]],
                 input_shape: Sequence[int] | None = None, rank: int | None = None) -> None:
        self.kind, self.rank = kind, rank
        self._make = make
        self.input_shape = None if input_shape is None else sample_shape(input_shape, f"{kind} input_shape")
        #: The minidl layers made by :meth:`build` (empty before).
        self.layers: list[Layer] = []

    def build(self, input_shape: tuple[int, ...]) -> list[Layer]:
        """The minidl layers for inputs of one sample's shape ``input_shape`` (kept as ``layers``)."""
        if self.input_shape is not None and self.input_shape != input_shape:
            raise ValueError(f"{self.kind} was declared with input_shape={self.input_shape}, but the "
                             f"shape reaching it is {input_shape}")
        if self.rank is not None and len(input_shape) != self.rank:
            want = "(features,)" if self.rank == 1 else "(channels, height, width), channels first"
            hint = "; put Flatten() before it" if self.rank == 1 else ""
            if self.input_shape is not None and len(input_shape) == self.rank + 1:  # input_shape=x.shape
                hint = f"; input_shape is one sample's, without the batch axis: input_shape={input_shape[1:]}"
            raise ValueError(f"{self.kind} expects samples of shape {want}; got {input_shape}{hint}")
        self.layers = self._make(input_shape)
        return self.layers

    def __repr__(self) -> str:
        return f"<minidl.keras {self.kind}, {'built' if self.layers else 'not built'}>"


def Input(shape: Sequence[int], name: str | None = None) -> KerasLayer:
    """One sample's input ``shape`` (without the batch axis), as the first item of a Sequential."""
    return KerasLayer("Input", lambda shape: [], input_shape=sample_shape(shape, "Input shape"))


def Dense(units: int, activation: str | None = None, use_bias: bool = True,
          input_shape: Sequence[int] | None = None, kernel_initializer: str = "glorot_uniform",
          bias_initializer: str = "zeros", name: str | None = None, seed: Seed = None,
          dtype: npt.DTypeLike = np.float64, input_dim: int | None = None) -> KerasLayer:
    """Keras's ``Dense(units)``: ``y = activation(x @ kernel + bias)``, kernel ``(inputs, units)``.

    Builds ``minidl.Dense(inputs, units)`` (its ``weight`` is Keras's kernel, same layout), then
    the activation layer. The number of inputs comes from the shape reaching the layer (or
    from ``input_shape=(inputs,)``, or Keras 2's ``input_dim=inputs``, which Keras 3 reads too).
    ``seed`` (minidl's, not Keras's) makes the initial weights repeatable. ``dtype`` is
    minidl's default float64 (Keras's is float32: pass ``dtype="float32"`` for it).

    Examples
    --------
    >>> from minidl.keras import Dense
    >>> Dense(3, activation="relu").build((2,))
    [Dense(in_features=2, out_features=3, use_bias=True, dtype='float64', name='dense'), ReLU(name='relu')]
    """
    def make(shape: tuple[int, ...]) -> list[Layer]:
        dense = _Dense(shape[0], units, use_bias=use_bias, weight_init=kernel_initializer,
                       bias_init=bias_initializer, seed=seed, dtype=dtype, name=name)
        return [dense, *_activation(activation, f"Dense {dense.name!r}")]

    check_positive_int(units, "Dense units")
    _activation(activation, "Dense")  # an unknown name fails at once, not at build
    if input_dim is not None:
        if input_shape is not None:
            raise TypeError(f"Dense takes input_shape or input_dim, not both; got {input_shape} and "
                            f"{input_dim}")
        input_shape = (check_positive_int(input_dim, "Dense input_dim"),)
    return KerasLayer("Dense", make, input_shape, rank=1)


def Activation(activation: str | Layer | None, name: str | None = None,
               input_shape: Sequence[int] | None = None) -> KerasLayer:
    """Keras's ``Activation("relu")``: the activation as a layer of its own, ``y = f(x)``, any shape.

    ``model.add(Dense(10)); model.add(Activation("softmax"))`` builds the same minidl layers as
    ``Dense(10, activation="softmax")``: a ``minidl.Dense`` then a ``minidl.Softmax``.

    Parameters
    ----------
    activation
        A Keras name: ``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"softmax"`` (any case), or
        ``"linear"`` or None (a ``minidl.Identity``: Keras's layer passes its input through);
        or a minidl activation layer itself (``minidl.LeakyReLU(0.2)``, ``minidl.Softmax()``),
        added as it is. Anything else is a ValueError (an unknown name, listing the known ones)
        or a TypeError.
    name
        The minidl layer's name (by default the layer type's, e.g. ``"relu"``); not used with a
        minidl layer, which keeps its own.

    Examples
    --------
    >>> from minidl.keras import Activation
    >>> Activation("softmax").build((10,))
    [Softmax(name='softmax')]
    """
    if isinstance(activation, Layer):
        if not isinstance(activation, (_Activation, Softmax)):
            raise TypeError("Activation expects an activation name such as 'relu' or a minidl activation "
                            f"layer (minidl.ReLU(), minidl.Softmax(), ...); got {type(activation).__name__}")
        return KerasLayer("Activation", lambda shape: [activation], input_shape)
    _activation(activation, "Activation")  # an unknown name fails at once, not at build
    return KerasLayer("Activation", lambda shape: _activation(activation, "Activation", name, len(shape) == 3)
                      or [Identity(name=name)], input_shape)


def Conv2D(filters: int, kernel_size: int | tuple[int, int], strides: int | tuple[int, int] = 1,
           padding: str = "valid", activation: str | None = None, use_bias: bool = True,
           input_shape: Sequence[int] | None = None, kernel_initializer: str = "glorot_uniform",
           bias_initializer: str = "zeros", name: str | None = None, seed: Seed = None,
           dtype: npt.DTypeLike = np.float64) -> KerasLayer:
    """Keras's ``Conv2D(filters, kernel_size)`` on **channels-first** images, ``input_shape=(C, H, W)``.

    Builds ``minidl.Conv2D(C, filters, kernel_size, stride=strides, padding=padding)``; its weight
    has PyTorch's layout ``(filters, C, kh, kw)`` (``get_weights`` gives Keras's ``(kh, kw, C, filters)``).
    ``dtype``: float64 by default, as in minidl (``dtype="float32"`` for Keras's).
    """
    def make(shape: tuple[int, ...]) -> list[Layer]:
        conv = _Conv2D(shape[0], filters, kernel_size, stride=strides, padding=padding, use_bias=use_bias,
                       weight_init=kernel_initializer, bias_init=bias_initializer, seed=seed, dtype=dtype,
                       name=name)
        return [conv, *_activation(activation, f"Conv2D {conv.name!r}")]

    check_positive_int(filters, "Conv2D filters")
    check_int_pair(kernel_size, "Conv2D kernel_size")
    check_int_pair(strides, "Conv2D strides")
    _activation(activation, "Conv2D", images=True)
    return KerasLayer("Conv2D", make, input_shape, rank=3)


def _pooling(kind: str, layer: type[MaxPool2D] | type[AvgPool2D], pool_size: int | tuple[int, int],
             strides: int | tuple[int, int] | None, padding: str, name: str | None) -> KerasLayer:
    if padding != "valid":
        raise ValueError(f"{kind}: only padding='valid' is supported; got {padding!r}")
    layer(pool_size, strides, name=name)  # bad sizes fail at once, not at build
    return KerasLayer(kind, lambda shape: [layer(pool_size, strides, name=name)], rank=3)


def MaxPooling2D(pool_size: int | tuple[int, int] = 2, strides: int | tuple[int, int] | None = None,
                 padding: str = "valid", name: str | None = None) -> KerasLayer:
    """Keras's ``MaxPooling2D``: the largest value of each window (``minidl.MaxPool2D``, NCHW)."""
    return _pooling("MaxPooling2D", MaxPool2D, pool_size, strides, padding, name)


def AveragePooling2D(pool_size: int | tuple[int, int] = 2, strides: int | tuple[int, int] | None = None,
                     padding: str = "valid", name: str | None = None) -> KerasLayer:
    """Keras's ``AveragePooling2D``: the mean of each window (``minidl.AvgPool2D``, NCHW)."""
    return _pooling("AveragePooling2D", AvgPool2D, pool_size, strides, padding, name)


def Flatten(input_shape: Sequence[int] | None = None, name: str | None = None) -> KerasLayer:
    """Keras's ``Flatten``: ``(batch, d1, ..., dk) -> (batch, d1 * ... * dk)`` (``minidl.Flatten``)."""
    return KerasLayer("Flatten", lambda shape: [_Flatten(name=name)], input_shape)


def Dropout(rate: float, seed: Seed = None, name: str | None = None,
            input_shape: Sequence[int] | None = None) -> KerasLayer:
    """Keras's ``Dropout(rate)``: in training, zero each input with probability ``rate``.

    The others are scaled by ``1 / (1 - rate)``; in evaluation the layer passes its input through.
    """
    _Dropout(rate, seed=seed, name=name)  # a bad rate or seed fails at once, not at build
    return KerasLayer("Dropout", lambda shape: [_Dropout(rate, seed=seed, name=name)], input_shape)


def BatchNormalization(momentum: float = 0.99, epsilon: float = 0.001, name: str | None = None,
                       input_shape: Sequence[int] | None = None,
                       dtype: npt.DTypeLike = np.float64) -> KerasLayer:
    """Keras's ``BatchNormalization`` (its defaults): ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    The features are the last axis of ``(features,)`` samples and the channels (axis 1) of
    channels-first images, inferred from the shape reaching it (``minidl.BatchNorm``). Samples of
    rank 2, ``(a, b)``, are refused: Keras normalises their last axis, ``minidl.BatchNorm`` axis 1.
    ``dtype``: float64 by default, as the other layers (``dtype="float32"`` for Keras's).
    """
    def make(shape: tuple[int, ...]) -> list[Layer]:
        if len(shape) not in (1, 3):
            raise ValueError(f"BatchNormalization expects samples of shape (features,) or (channels, "
                             f"height, width); got {shape}: Keras normalises the last axis, minidl's "
                             "BatchNorm axis 1 (features, or channels); put Flatten() before it")
        return [BatchNorm(shape[0], momentum=momentum, epsilon=epsilon, dtype=dtype, name=name)]

    BatchNorm(1, momentum=momentum, epsilon=epsilon, dtype=dtype, name=name)  # bad settings fail at once
    return KerasLayer("BatchNormalization", make, input_shape)


def output_sample_shape(layers: Sequence[Layer], shape: Shape | None) -> Shape | None:
    """One sample's shape after ``layers`` (None entries, or None: not known), from their ``output_shape``."""
    full: Shape | None = None if shape is None else (None, *shape)
    for layer in layers:
        full = layer.output_shape(full)
    return None if full is None else full[1:]
