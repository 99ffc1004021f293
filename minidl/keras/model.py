"""Keras's ``Sequential`` model and ``load_model``, on an ordinary minidl :class:`~minidl.Network`.

A ``Sequential`` holds its layers' recipes (:class:`~minidl.keras.layers.KerasLayer`) until the
shape of one sample is known (an ``input_shape=``, an ``Input``, or the first data given to
``fit``/``evaluate``/``predict``), then builds them into minidl layers and a ``Network``:
``model.network``. The model is not itself a Network (it may start empty, and Keras's
``evaluate``, ``summary`` and ``loss`` return other things than minidl's); pass
``model.network`` to ``minidl.check_gradients``, ``minidl.plot`` or ``trace``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from minidl._typing import Array, ArrayLike, Seed, Shape
from minidl.keras.layers import KerasLayer, output_sample_shape, sample_shape
from minidl.layers import BatchNorm, Conv2D, Layer
from minidl.losses import Loss
from minidl.network import Network, load
from minidl.optimizers import Optimizer
from minidl.summary import summary_table
from minidl.training import Callback, History

__all__ = ["Sequential", "get_weights", "load_model", "set_weights"]

Metrics = Sequence[str | Callable[..., float]] | None


class Sequential:
    """Keras's ``Sequential``: layers in order, built into a minidl ``Network`` when the input is known.

    Parameters
    ----------
    layers
        Keras layers (:mod:`minidl.keras.layers`) or minidl layers, added in order.
    name
        The model's name in ``summary()``.

    Examples
    --------
    >>> from minidl.keras import Dense, Sequential
    >>> model = Sequential()
    >>> model.add(Dense(4, activation="relu", input_shape=(3,)))
    >>> model.add(Dense(1))
    >>> model.network.layers[0].weight.shape   # minidl.Dense(3, 4): the 3 inputs were inferred
    (3, 4)
    """

    def __init__(self, layers: Sequence[KerasLayer | Layer] | None = None,
                 name: str = "sequential") -> None:
        self.name = name
        self._built: list[Layer] = []  # the minidl layers made so far
        self._pending: list[KerasLayer] = []  # recipes waiting for their input shape
        self._shape: tuple[int, ...] | None = None  # one sample's shape reaching the next layer
        self._network: Network | None = None
        self._compiled: tuple[str | Optimizer, str | Loss, Metrics] | None = None
        for layer in layers or []:
            self.add(layer)

    # -- building -------------------------------------------------------------------------
    def add(self, layer: KerasLayer | Layer) -> None:
        """Append ``layer``, built at once when the shape reaching it is known (else at the first data)."""
        if isinstance(layer, Layer):
            layer = KerasLayer(type(layer).__name__, _as_is(layer))
        elif not isinstance(layer, KerasLayer):
            raise TypeError(f"Sequential.add expects a layer such as Dense(32); got {type(layer).__name__}")
        if self._shape is None and not self._built and not self._pending and layer.input_shape is not None:
            self._shape = layer.input_shape
        if self._built and self._shape is None:
            raise ValueError(f"cannot add {layer.kind} here: the output shape of the last layer is not known")
        self._pending.append(layer)
        if self._shape is not None:
            self._build(self._shape)

    def _build(self, shape: tuple[int, ...]) -> None:
        """Build every pending layer, the first for one sample's ``shape``; make the Network anew."""
        made: list[Layer] = []  # nothing changes if a layer fails to build
        next_shape: tuple[int, ...] | None = shape
        for layer in self._pending:
            if next_shape is None:
                raise ValueError(f"the shape reaching {layer.kind} is not known; give the first layer "
                                 "the full input_shape, e.g. (1, 28, 28) for images")
            built = layer.build(next_shape)
            made.extend(built)
            next_shape = _known(output_sample_shape(built, next_shape))
        self._built.extend(made)
        self._pending, self._shape = [], next_shape
        if self._built:
            self._network = Network(self._built)
            if self._compiled is not None:
                self._network.compile(*self._compiled)

    def _ready(self, x: ArrayLike | None, caller: str) -> Network:
        """The Network, built first from the shape of the data ``x`` if needed; else a clear error."""
        if self._pending and x is not None:
            self._build(sample_shape(np.shape(x)[1:], f"{caller}: the shape of one sample of x"))
        if self._network is None or self._pending:
            first = self._pending[0].kind if self._pending else "a layer"
            raise ValueError(f"{caller}: this model is not built yet: the input size of its first layer "
                             f"({first}) is not known. Pass input_shape=(n_features,) to the first layer "
                             "(or add Input(shape=(n_features,)) first), or call fit or predict with data")
        return self._network

    @property
    def network(self) -> Network:
        """The minidl :class:`~minidl.Network` the model runs (ValueError before it is built)."""
        return self._ready(None, "Sequential.network")

    @property
    def built(self) -> bool:
        """True when every layer has been built."""
        return self._network is not None and not self._pending

    @property
    def layers(self) -> list[Layer]:
        """The minidl layers built so far: a Dense with ``activation=`` is two (``Dense``, ``ReLU``)."""
        return list(self._built)

    # -- training -------------------------------------------------------------------------
    def compile(self, optimizer: str | Optimizer = "rmsprop", loss: str | Loss | None = None,
                metrics: Metrics = None) -> None:
        """Keras's ``compile``: the optimizer, loss and metrics ``fit`` uses (applied when built)."""
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='mean_squared_error' or "
                             "loss='categorical_crossentropy'")
        if self._network is not None and not self._pending:
            self._network.compile(optimizer, loss, metrics)  # the errors come now, when they can
        self._compiled = (optimizer, loss, metrics)

    @property
    def loss(self) -> str | Loss | None:
        """The loss as given to ``compile`` (a name stays a name); None before ``compile``."""
        return None if self._compiled is None else self._compiled[1]

    @property
    def optimizer(self) -> Optimizer | None:
        """The compiled optimizer object (None before the model is compiled and built)."""
        return None if self._network is None else self._network.optimizer

    def fit(self, x: ArrayLike, y: ArrayLike, batch_size: int | None = None, epochs: int = 1,
            verbose: int | str = "auto", callbacks: Sequence[Callback] | None = None,
            validation_split: float = 0.0, validation_data: tuple[ArrayLike, ArrayLike] | None = None,
            shuffle: bool = True, *, seed: Seed = None) -> History:
        """Keras's ``fit`` (its argument order): mini-batch training; returns a History (``.history`` dict).

        ``batch_size`` None means 32, ``verbose="auto"`` means 1; ``seed`` is minidl's (repeatable
        shuffling). See :meth:`minidl.training.Trainer.fit`.
        """
        network = self._ready(x, "fit")
        if network.trainer is None:
            raise RuntimeError("fit needs a compiled model: call model.compile(optimizer='adam', "
                               "loss='mean_squared_error') first")
        return network.fit(x, y, epochs, 32 if batch_size is None else batch_size, shuffle, validation_split,
                           validation_data, callbacks, 1 if verbose == "auto" else verbose, seed)  # type: ignore[arg-type]

    def evaluate(self, x: ArrayLike, y: ArrayLike, batch_size: int | None = None, verbose: int | str = "auto",
                 return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """Keras's ``evaluate``: the loss (a float), or ``[loss, metric, ...]`` when compiled with metrics.

        ``return_dict=True`` gives minidl's ``{"loss": ..., "accuracy": ...}``; nothing is printed.
        """
        logs = self._ready(x, "evaluate").evaluate(x, y, 32 if batch_size is None else batch_size)
        values = list(logs.values())
        return logs if return_dict else values[0] if len(values) == 1 else values

    def predict(self, x: ArrayLike, batch_size: int | None = None, verbose: int | str = "auto") -> Array:
        """The outputs for ``x`` in evaluation mode: shape ``(samples, outputs)``."""
        return self._ready(x, "predict").predict(x, 32 if batch_size is None else batch_size)

    # -- seeing inside, weights, files ----------------------------------------------------
    def summary(self) -> None:
        """Print Keras's table: each minidl layer's name (type), output shape and parameter count.

        Total params counts the trainable parameters and the non-trainable state (BatchNormalization's
        moving mean and variance), as Keras does; the table's rows count the trainable ones.
        """
        network = self.network
        trainable = sum(p.size for p in network.parameters())
        fixed = sum(a.size for layer in network.layers for a in layer.state_arrays().values())
        table = summary_table(network.layers, self._input_sample_shape()).splitlines()[:-1]
        print("\n".join([f'Model: "{self.name}"', *table, f"Total params: {trainable + fixed:,}",
                         f"Trainable params: {trainable:,}", f"Non-trainable params: {fixed:,}"]))

    def _input_sample_shape(self) -> tuple[int, ...] | None:
        first = self.network.layers[0]
        if first.last_input_shape is not None:
            return first.last_input_shape[1:]
        declared = first.input_shape
        return None if declared is None or None in declared[1:] else declared[1:]  # type: ignore[return-value]

    def get_weights(self) -> list[Array]:
        """Every layer's arrays in Keras's order and layouts (copies); see :func:`get_weights`."""
        return [array for layer in self.network.layers for array in get_weights(layer)]

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Copy ``weights`` (as :meth:`get_weights` lists them) into the layers, in place."""
        weights, start = list(weights), 0
        expected = sum(len(get_weights(layer)) for layer in self.network.layers)
        if len(weights) != expected:
            raise ValueError(f"set_weights expects {expected} arrays (as get_weights lists them); "
                             f"got {len(weights)}")
        for layer in self.network.layers:
            count = len(get_weights(layer))
            set_weights(layer, weights[start : start + count])
            start += count

    def save(self, path: str | os.PathLike[str], include_optimizer: bool = True) -> None:
        """Save to ``path`` in **minidl's model file format whatever the extension** (``.h5``, ``.keras``).

        A zip of JSON and plain arrays, never pickled (see :mod:`minidl.io`); Keras cannot read it,
        :func:`load_model` (and ``minidl.load``) can.
        """
        self.network.save(path, include_optimizer=include_optimizer)

    def __repr__(self) -> str:
        return f"<minidl.keras.Sequential {self.name!r}: {len(self._built)} minidl layers, " \
               f"{len(self._pending)} not built>"


def _as_is(layer: Layer) -> Callable[[tuple[int, ...]], list[Layer]]:
    """The recipe of a minidl layer added as it is."""
    return lambda shape: [layer]


def _known(shape: Shape | None) -> tuple[int, ...] | None:
    """``shape`` when every size is known, else None."""
    return None if shape is None or None in shape else tuple(int(n) for n in shape if n is not None)


def _batchnorm_arrays(layer: BatchNorm) -> list[Array]:
    """Keras's order: ``[gamma, beta, moving_mean, moving_variance]`` (the arrays themselves)."""
    return [layer.gamma.value, layer.beta.value, layer.running_mean, layer.running_var]


def get_weights(layer: Layer) -> list[Array]:
    """One minidl layer's arrays as Keras lists them (copies).

    Dense: ``[kernel (inputs, units), bias (units,)]`` (minidl's layout already); Conv2D:
    ``[kernel (kh, kw, in, filters), bias]`` (minidl's ``(filters, in, kh, kw)`` transposed);
    BatchNorm: ``[gamma, beta, moving_mean, moving_variance]``; other layers: their parameters.
    """
    if isinstance(layer, BatchNorm):
        return [array.copy() for array in _batchnorm_arrays(layer)]
    arrays = [p.value.copy() for p in layer.parameters()]
    if isinstance(layer, Conv2D):
        arrays[0] = arrays[0].transpose(2, 3, 1, 0).copy()
    return arrays


def set_weights(layer: Layer, weights: Sequence[ArrayLike]) -> None:
    """Copy ``weights`` (as :func:`get_weights` lists them) into one minidl layer, in place."""
    if isinstance(layer, BatchNorm):
        targets = _batchnorm_arrays(layer)
    else:
        targets = [p.value for p in layer.parameters()]
    if len(weights) != len(targets):
        raise ValueError(f"{type(layer).__name__} {layer.name!r} has {len(targets)} weight arrays; "
                         f"got {len(weights)}")
    for index, (target, value) in enumerate(zip(targets, weights, strict=True)):
        array = np.asarray(value)
        if isinstance(layer, Conv2D) and index == 0:
            array = array.transpose(3, 2, 0, 1) if array.ndim == 4 else array
        if array.shape != target.shape or not np.all(np.isfinite(array)):
            keras_shape = get_weights(layer)[index].shape
            raise ValueError(f"{type(layer).__name__} {layer.name!r} weight {index} must be a finite array "
                             f"of shape {keras_shape}; got shape {np.shape(value)}")
        np.copyto(target, array)


def load_model(path: str | os.PathLike[str], custom_objects: Mapping[str, type[Layer]] | None = None,
               compile: bool = True) -> Sequential:
    """Load a model saved with ``model.save(path)`` (or ``minidl.save``) as a :class:`Sequential`.

    Reads **minidl's model file format whatever the extension** (never pickle, never Keras's
    HDF5); compiled as saved, with the optimizer's state, unless ``compile=False``.
    ``custom_objects``: ``{type name: class}`` for layers of your own.
    """
    network = load(path, custom_layers=custom_objects)
    model = Sequential()
    model._built, model._network = list(network.layers), network
    shape = network.layers[0].input_shape
    first = _known(None if shape is None else shape[1:])
    model._shape = None if first is None else _known(output_sample_shape(network.layers, first))
    trainer = network.trainer
    if trainer is not None and compile:
        model._compiled = (trainer.optimizer, trainer.loss.name, [name for name, _ in trainer.metrics])
    elif trainer is not None:
        network.trainer = None
    return model
