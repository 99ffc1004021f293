"""Keras's ``Sequential`` model and ``load_model``, on an ordinary minidl :class:`~minidl.Network`.

A ``Sequential`` holds its layers' recipes (:class:`~minidl.keras.layers.KerasLayer`) until the
shape of one sample is known (an ``input_shape=``, an ``Input``, or the first data given to
``fit``/``evaluate``/``predict``), then builds them into minidl layers and a ``Network``:
``model.network``. The model is not itself a Network (it may start empty, and Keras's
``evaluate``, ``summary`` and ``loss`` return other things than minidl's); pass
``model.network`` to ``minidl.check_gradients``, ``minidl.plot`` or ``trace``.

As in Keras, ``model(x)`` gives the outputs for ``x`` (in evaluation mode unless
``training=True``), ``model.history`` is the History of the latest ``fit`` (None before), and
``summary()`` prints Keras 3's box-drawn table.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import zip_longest
from typing import Any

import numpy as np

from minidl._typing import Array, ArrayLike, Seed, Shape
from minidl._validation import as_float_array, type_of
from minidl.errors import label
from minidl.keras.layers import KerasLayer, output_sample_shape, sample_shape
from minidl.layers import BatchNorm, Conv2D, Layer
from minidl.layers.base import mode
from minidl.losses import Loss, get_loss
from minidl.metrics import compiled as compiled_metrics
from minidl.network import Network, load
from minidl.optimizers import Optimizer, get_optimizer
from minidl.summary import output_shapes, show
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
        The model's name in ``summary()``; None (the default) is ``"sequential"``.

    Examples
    --------
    >>> from minidl.keras import Dense, Sequential
    >>> model = Sequential()
    >>> model.add(Dense(4, activation="relu", input_shape=(3,)))
    >>> model.add(Dense(1))
    >>> model.network.layers[0].weight.shape   # minidl.Dense(3, 4): the 3 inputs were inferred
    (3, 4)
    >>> model(np.ones((2, 3))).shape           # Keras's model(x): the outputs, as predict gives them
    (2, 1)
    """

    #: The :class:`~minidl.History` of the latest ``fit`` (the object ``fit`` returned); None before.
    history: History | None

    def __init__(self, layers: Sequence[KerasLayer | Layer] | None = None, name: str | None = None) -> None:
        self.name = "sequential" if name is None else name
        self._built: list[Layer] = []  # the minidl layers made so far
        self._added: list[KerasLayer] = []  # the recipes built so far (what pop removes)
        self._pending: list[KerasLayer] = []  # recipes waiting for their input shape
        self._shape: tuple[int, ...] | None = None  # one sample's shape reaching the next layer
        self._input: tuple[int, ...] | None = None  # one sample's shape reaching the first layer
        self.history = None
        self._network: Network | None = None
        self._compiled: tuple[Optimizer, str | Loss, Metrics] | None = None
        if isinstance(layers, (KerasLayer, Layer)):
            kind = layers.kind if isinstance(layers, KerasLayer) else type(layers).__name__
            raise TypeError(f"Sequential expects a list of layers; got one {kind}: write Sequential([...])")
        for layer in layers or []:
            self.add(layer)

    # -- building -------------------------------------------------------------------------
    def add(self, layer: KerasLayer | Layer) -> None:
        """Append ``layer``, built at once when the shape reaching it is known (else at the first data)."""
        if isinstance(layer, Layer):
            layer = KerasLayer(type(layer).__name__, _as_is(layer))
        elif not isinstance(layer, KerasLayer):
            raise TypeError(f"Sequential.add expects a layer such as Dense(32); got {type_of(layer)}")
        if layer.kind == "Input" and (self._added or self._pending):
            before = ", ".join(recipe.kind for recipe in self._added + self._pending)
            raise ValueError(f"Input(shape={layer.input_shape}) must be the first layer of a Sequential; "
                             f"got it after {before}")
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
            reaching = next_shape
            # (height, width, 1 or 3): Keras's images; read channels first, they trained on the wrong layout
            channels_last = len(reaching) == 3 and reaching[2] <= 4 and reaching[2] < reaching[0]
            if channels_last and not self._built and not made and layer.kind in _IMAGE_LAYERS:
                raise ValueError(f"{layer.kind}: images of shape {reaching} look channels last (height, "
                                 "width, channels), as in Keras; minidl's are channels first: input_shape="
                                 f"{(reaching[2], *reaching[:2])}, and x.transpose(0, 3, 1, 2) for the data "
                                 f"(for {reaching[0]} channels of {reaching[1]}x{reaching[2]} images, use "
                                 "minidl.Conv2D in a minidl.Network)")
            built = layer.build(reaching)
            made.extend(built)
            next_shape = _known(output_sample_shape(built, reaching))
        if not self._built:
            self._input = shape
        self._built.extend(made)
        self._added, self._pending, self._shape = self._added + self._pending, [], next_shape
        self._renew()

    def pop(self) -> KerasLayer:
        """Keras's ``pop``: remove the last layer added (a Dense with its activation) and return it."""
        if self._pending:
            return self._pending.pop()
        if not self._added:
            raise IndexError("Sequential.pop: the model has no layers to remove")
        layer = self._added.pop()
        self._built = self._built[:len(self._built) - len(layer.layers)]
        if layer.kind == "Input":
            self._input = None
        self._shape = _known(output_sample_shape(self._built, self._input))  # what reaches the next add
        if self._shape is None and layer.layers and layer.layers[0].input_shape is not None:
            self._shape = _known(layer.layers[0].input_shape[1:])  # a loaded model knows no image size
        self._renew()
        return layer

    def _renew(self) -> None:
        """Make the Network anew from the built layers (none: no Network), compiled as ``compile`` said."""
        self._network = Network(self._built) if self._built else None
        if self._network is not None and self._compiled is not None:
            self._compile_network()

    def _compile_network(self) -> None:
        """Compile the built network as ``compile`` was told; a loss it cannot take yet is fit's to raise."""
        assert self._network is not None and self._compiled is not None
        try:
            self._network.compile(*self._compiled)
        except (TypeError, ValueError):  # its last layer cannot feed the loss yet: a softmax may come
            pass  # next (Keras adds and compiles in any order); fit, evaluate and save raise it

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

    def _compiled_network(self, x: ArrayLike, caller: str) -> Network:
        """The Network, built from ``x`` if needed and compiled; else a clear error."""
        network = self._ready(x, caller)
        if network.trainer is None and self._compiled is None:
            raise RuntimeError(f"{caller} needs a compiled model: call model.compile(optimizer='adam', "
                               "loss='mean_squared_error') first")
        if network.trainer is None and self._compiled is not None:  # compile failed at build: its error
            network.compile(*self._compiled)
        return network

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
        """Keras's ``compile``: the optimizer, loss and metrics ``fit`` uses (applied when built).

        The optimizer object is made here, as Keras does (``model.optimizer`` is ``Adam(...)``
        for ``"adam"``, built or not) and kept across ``fit`` calls. A wrong name is refused
        here; a loss the last layer cannot feed yet (a Dense whose softmax is still to be
        added) by ``fit``, ``evaluate`` and ``save``, as layers may come.
        """
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='mean_squared_error' or "
                             "loss='categorical_crossentropy'")
        get_loss(loss), compiled_metrics(metrics)  # a wrong name: its error now
        self._compiled = (get_optimizer(optimizer), loss, metrics)
        if self._network is not None and not self._pending:
            self._compile_network()

    @property
    def loss(self) -> str | Loss | None:
        """The loss as given to ``compile`` (a name stays a name); None before ``compile``."""
        return None if self._compiled is None else self._compiled[1]

    @property
    def optimizer(self) -> Optimizer | None:
        """The optimizer object ``compile`` made (None before ``compile``); ``fit`` trains with it."""
        return None if self._compiled is None else self._compiled[0]

    def fit(self, x: ArrayLike, y: ArrayLike, batch_size: int | None = None, epochs: int = 1,
            verbose: int | str = "auto", callbacks: Iterable[Callback] | None = None,
            validation_split: float = 0.0, validation_data: tuple[ArrayLike, ArrayLike] | None = None,
            shuffle: bool = True, *, seed: Seed = None) -> History:
        """Keras's ``fit`` (its argument order): mini-batch training; returns a History (``.history`` dict).

        ``batch_size`` None means 32, ``verbose="auto"`` means 1; ``seed`` is minidl's (repeatable
        shuffling). The History is also kept as ``model.history``; its ``model``, and each
        callback's during ``fit``, is this model, as in Keras. See
        :meth:`minidl.training.Trainer.fit`.
        """
        network = self._compiled_network(x, "fit")
        given = callbacks if callbacks is None or isinstance(callbacks, Callback) else list(callbacks)
        if isinstance(given, list):  # read once (a generator); a single Callback is fit's to refuse
            given = [*given, _ModelIs(self, given)]
        self.history = network.fit(x, y, epochs, 32 if batch_size is None else batch_size, shuffle,
                                   validation_split, validation_data, given,
                                   1 if verbose == "auto" else verbose, seed)  # type: ignore[arg-type]
        self.history.model = self  # Keras's History.model is the model, not its network
        return self.history

    @property
    def stop_training(self) -> bool:
        """Keras's flag (the Network's): a callback sets it True to end ``fit`` after this epoch or batch."""
        return self.network.stop_training

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        self.network.stop_training = value

    def evaluate(self, x: ArrayLike, y: ArrayLike, batch_size: int | None = None, verbose: int | str = "auto",
                 return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """Keras's ``evaluate``: the loss (a float), or ``[loss, metric, ...]`` when compiled with metrics.

        ``return_dict=True`` gives minidl's ``{"loss": ..., "accuracy": ...}``; nothing is printed.
        """
        logs = self._compiled_network(x, "evaluate").evaluate(x, y, 32 if batch_size is None else batch_size)
        values = list(logs.values())
        return logs if return_dict else values[0] if len(values) == 1 else values

    def predict(self, x: ArrayLike, batch_size: int | None = None, verbose: int | str = "auto") -> Array:
        """The outputs for ``x`` in evaluation mode: shape ``(samples, outputs)``.

        One sample given without its batch axis, ``(features,)``, gives ``(outputs,)`` back
        (Keras would read it as a batch): ``predict(x[None])`` keeps the batch axis.
        """
        return self._ready(x, "predict").predict(x, 32 if batch_size is None else batch_size)

    def __call__(self, x: ArrayLike, training: bool | None = None) -> Array:
        """Keras's ``model(x)``: the outputs for ``x`` in one forward, shaped as the last layer gives.

        Parameters
        ----------
        x
            A batch of samples (one sample's shape as the model's input), built on first use.
        training
            False or None (the default): evaluation mode, the same numbers as ``predict(x)``
            (Dropout passes its input through, BatchNormalization uses its moving averages).
            True: training mode, as ``fit`` runs the layers (Dropout drops; BatchNormalization
            normalizes with the batch's statistics and updates its moving averages, as in Keras).
            Each layer's mode is restored afterwards.

        Returns
        -------
        numpy.ndarray
            A new array (Keras returns a tensor), never a view of ``x``.
        """
        if training is not None and not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"Sequential call: training must be True, False or None; got {training!r}")
        network = self._ready(x, "Sequential call")
        with mode(network.layers, training=bool(training)):
            output = network.forward(x)
        return output.copy() if np.may_share_memory(output, x) else output

    # -- seeing inside, weights, files ----------------------------------------------------
    def summary(self) -> None:
        """Print Keras 3's summary table, in box-drawing characters: each minidl layer, then the totals.

        One row a minidl layer (a Dense with ``activation="relu"`` is two): ``name (type)``, the
        output shape (batch axis None) and the number of values it keeps: its parameters and
        its non-trainable state (BatchNormalization's moving mean and variance), as Keras counts.
        ``Total params`` sums them; ``Trainable params`` are the parameters, ``Non-trainable
        params`` the state. Each count shows its size in memory as Keras does (the arrays' own
        dtype, 1024 bytes a KB): minidl's float64 takes 8 bytes a value, twice Keras's float32,
        so the sizes are twice Keras's (``model.network.astype("float32")`` halves them). After
        training, Keras also shows ``Optimizer params`` and adds them to the total; minidl does not.

        The table is 76 characters wide, as Keras prints it in a notebook or an 80-column
        terminal; a cell too long for its column wraps at a space.

        Examples
        --------
        >>> from minidl.keras import Dense, Sequential
        >>> Sequential([Dense(50, activation="relu", input_shape=(10,)), Dense(1)]).summary()
        Model: "sequential"
        ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
        ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
        ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
        │ dense (Dense)                   │ (None, 50)             │           550 │
        ├─────────────────────────────────┼────────────────────────┼───────────────┤
        │ relu (ReLU)                     │ (None, 50)             │             0 │
        ├─────────────────────────────────┼────────────────────────┼───────────────┤
        │ dense_1 (Dense)                 │ (None, 1)              │            51 │
        └─────────────────────────────────┴────────────────────────┴───────────────┘
         Total params: 601 (4.70 KB)
         Trainable params: 601 (4.70 KB)
         Non-trainable params: 0 (0.00 B)
        """
        network = self.network
        shapes = output_shapes(network.layers, self._input)
        rows = [(f"{layer.name} ({type(layer).__name__})", show(shape), f"{_count(_arrays(layer)):,}")
                for layer, shape in zip(network.layers, shapes, strict=True)]
        trainable = [p.value for p in network.parameters()]
        fixed = [a for layer in network.layers for a in layer.state_arrays().values()]
        totals = [("Total", trainable + fixed), ("Trainable", trainable), ("Non-trainable", fixed)]
        print("\n".join([f'Model: "{self.name}"', *_box_table(rows),
                         *(f" {kind} params: {_count(arrays):,} ({_readable_size(arrays)})"
                           for kind, arrays in totals)]))

    def get_weights(self) -> list[Array]:
        """Every layer's arrays in Keras's order and layouts (copies); see :func:`get_weights`."""
        return [array for layer in self.network.layers for array in get_weights(layer)]

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Copy ``weights`` (as :meth:`get_weights` lists them) into the layers, in place (all or none).

        Each array is checked as :func:`set_weights` says; when one is refused, no layer changes.
        """
        weights, before = list(weights), self.get_weights()
        counts = [len(_keras_arrays(layer)) for layer in self.network.layers]
        if len(weights) != sum(counts):
            raise ValueError(f"set_weights expects {sum(counts)} arrays (as get_weights lists them); "
                             f"got {len(weights)}")
        try:
            for layer, count in zip(self.network.layers, counts, strict=True):
                set_weights(layer, weights[:count])  # this layer's: the first count of those left
                weights = weights[count:]
        except (TypeError, ValueError):
            self.set_weights(before)  # the layers set before the refused array are put back
            raise

    def save(self, path: str | os.PathLike[str], include_optimizer: bool = True) -> None:
        """Save to ``path`` in **minidl's model file format whatever the extension** (``.h5``, ``.keras``).

        A zip of JSON and plain arrays, never pickled (see :mod:`minidl.io`); Keras cannot read it,
        :func:`load_model` (and ``minidl.load``) can.
        """
        if self._compiled is not None and self.network.trainer is None:  # raise what compile could not
            self.network.compile(*self._compiled)  # do, rather than write a file without it
        self.network.save(path, include_optimizer=include_optimizer)

    def __repr__(self) -> str:
        return f"<minidl.keras.Sequential {self.name!r}: {len(self._built)} minidl layers, " \
               f"{len(self._pending)} not built>"


class _ModelIs(Callback):
    """The last of a Sequential's ``fit`` callbacks: it makes the Sequential the others' ``model`` (Keras's).

    ``fit`` gives every callback its network (``set_network``) in order, so this one comes after.
    """

    def __init__(self, model: Sequential, callbacks: list[Callback]) -> None:
        super().__init__()
        self.sequential, self.callbacks = model, callbacks

    def set_network(self, network: Network, params: dict[str, Any]) -> None:
        """Make the Sequential the ``model`` of the user's callbacks."""
        super().set_network(network, params)
        self.sequential.history = network.history  # this fit's, as Keras's model.history during fit
        for callback in self.callbacks:
            callback.model = self.sequential


def _as_is(layer: Layer) -> Callable[[tuple[int, ...]], list[Layer]]:
    """The recipe of a minidl layer added as it is: its declared input must fit the shape reaching it."""
    def make(shape: tuple[int, ...]) -> list[Layer]:
        problem = layer._input_problem(np.broadcast_to(np.zeros(()), (1, *shape)), layer.input_shape)
        if problem is not None:
            raise ValueError(f"{problem} (Sequential: samples of shape {shape} reach it)")
        return [layer]
    return make


def _known(shape: Shape | None) -> tuple[int, ...] | None:
    """``shape`` when every size is known, else None."""
    return None if shape is None or None in shape else tuple(int(n) for n in shape if n is not None)


#: The Keras layers that read images, channels first: refused on an input that looks channels last.
_IMAGE_LAYERS = ("Conv2D", "MaxPooling2D", "AveragePooling2D", "BatchNormalization")

#: The text widths of the summary's three columns: 76 characters with the borders and a space
#: either side of each cell, Keras 3's table in a notebook or an 80-column terminal.
_WIDTHS = (31, 22, 13)


def _arrays(layer: Layer) -> list[Array]:
    """Every array a layer keeps: its parameters' values, then its state (BatchNorm's moving averages)."""
    return [p.value for p in layer.parameters()] + list(layer.state_arrays().values())


def _count(arrays: Sequence[Array]) -> int:
    """How many values the arrays hold."""
    return sum(array.size for array in arrays)


def _readable_size(arrays: Sequence[Array]) -> str:
    """The arrays' bytes as Keras writes a size: two decimals, the unit a power of 1024 (``4.70 KB``)."""
    size, units = float(sum(array.nbytes for array in arrays)), ["B", "KB", "MB", "GB", "TB", "PB"]
    while size >= 1024 and len(units) > 1:
        size, units = size / 1024, units[1:]
    return f"{size:.2f} {units[0]}"


def _box_table(rows: Sequence[tuple[str, str, str]]) -> list[str]:
    """Keras 3's table: a heavy header, a light rule between rows, the counts right-aligned."""
    def rule(left: str, line: str, join: str, right: str) -> str:
        return left + join.join(line * (width + 2) for width in _WIDTHS) + right

    def lines(cells: tuple[str, str, str], bar: str) -> list[str]:
        wrapped = [textwrap.wrap(cell, width, break_on_hyphens=False) or [""]
                   for cell, width in zip(cells, _WIDTHS, strict=True)]
        return [f"{bar} {a:<{_WIDTHS[0]}} {bar} {b:<{_WIDTHS[1]}} {bar} {c:>{_WIDTHS[2]}} {bar}"
                for a, b, c in zip_longest(*wrapped, fillvalue="")]

    body: list[str] = []
    for index, row in enumerate(rows):
        body += ([rule("├", "─", "┼", "┤")] if index else []) + lines(row, "│")
    return [rule("┏", "━", "┳", "┓"), *lines(("Layer (type)", "Output Shape", "Param #"), "┃"),
            rule("┡", "━", "╇", "┩"), *body, rule("└", "─", "┴", "┘")]


def _keras_arrays(layer: Layer) -> list[Array]:
    """The arrays Keras lists, in minidl's layouts (the arrays themselves): the parameters' values.

    BatchNorm's are ``[gamma, beta, moving_mean, moving_variance]``: its state arrays too.
    """
    return _arrays(layer) if isinstance(layer, BatchNorm) else [p.value for p in layer.parameters()]


def get_weights(layer: Layer) -> list[Array]:
    """One minidl layer's arrays as Keras lists them (copies).

    Dense: ``[kernel (inputs, units), bias (units,)]`` (minidl's layout already); Conv2D:
    ``[kernel (kh, kw, in, filters), bias]`` (minidl's ``(filters, in, kh, kw)`` transposed);
    BatchNorm: ``[gamma, beta, moving_mean, moving_variance]``; other layers: their parameters.
    """
    arrays = [array.copy() for array in _keras_arrays(layer)]
    if isinstance(layer, Conv2D):
        arrays[0] = arrays[0].transpose(2, 3, 1, 0).copy()
    return arrays


def set_weights(layer: Layer, weights: Sequence[ArrayLike]) -> None:
    """Copy ``weights`` (as :func:`get_weights` lists them) into one minidl layer, in place.

    Each must be real, finite, of Keras's shape and within the layer's dtype (1e300 does not fit
    float32); BatchNorm's moving variance must be >= 0. Nothing is copied if one is refused:
    a TypeError (not real numbers) or ValueError names the layer and the weight's index.
    """
    targets = _keras_arrays(layer)
    if len(weights) != len(targets):
        raise ValueError(f"{label(layer)} has {len(targets)} weight arrays; got {len(weights)}")
    arrays = []
    for index, (target, value) in enumerate(zip(targets, weights, strict=True)):
        array = as_float_array(value, f"{label(layer)} weight {index}")
        if isinstance(layer, Conv2D) and index == 0:
            array = array.transpose(3, 2, 0, 1) if array.ndim == 4 else array
        if array.shape != target.shape:
            keras_shape = get_weights(layer)[index].shape
            raise ValueError(f"{label(layer)} weight {index} must have shape {keras_shape}; got shape "
                             f"{np.shape(value)}")
        with np.errstate(over="ignore"):
            arrays.append(array.astype(target.dtype))
        if not np.isfinite(arrays[-1]).all():
            raise ValueError(f"{label(layer)} weight {index} holds {np.abs(array).max():g}, too large for "
                             f"the layer's {target.dtype} (at most {np.finfo(target.dtype).max:g})")
    count = len(list(layer.parameters()))
    if count < len(arrays):  # BatchNorm's moving mean and variance: its own checks (a variance >= 0)
        layer.load_state_arrays(dict(zip(layer.state_arrays(), arrays[count:], strict=True)))
    for target, array in zip(targets[:count], arrays[:count], strict=True):
        np.copyto(target, array)


def load_model(path: str | os.PathLike[str], custom_objects: Mapping[str, type[Layer]] | None = None,
               compile: bool = True) -> Sequential:
    """Load a model saved with ``model.save(path)`` (or ``minidl.save``) as a :class:`Sequential`.

    Reads **minidl's model file format whatever the extension** (never pickle, never Keras's
    HDF5); compiled as saved, with the optimizer's state, unless ``compile=False``. ``model.loss``
    is the loss's name, or the loss object when its settings are not that name's defaults
    (``BinaryCrossEntropy(from_logits=True)``): ``add`` and ``pop`` compile with it again.
    ``custom_objects``: ``{type name: class}`` for layers of your own.

    A model file keeps no image height and width, so a loaded convolutional model's summary
    shows ``?`` for them up to its first Dense; layers may still be added after a Dense.
    """
    network = load(path, custom_layers=custom_objects)
    model = Sequential()
    model._built, model._network = list(network.layers), network
    for layer in network.layers:  # each minidl layer is one layer to pop
        model._added.append(KerasLayer(type(layer).__name__, _as_is(layer)))
        model._added[-1].layers = [layer]
    shape = network.layers[0].input_shape
    model._input = _known(None if shape is None else shape[1:])
    # The file keeps no image height and width, yet a Dense after the convolutions knows its outputs
    model._shape = _known(output_sample_shape(network.layers, None if shape is None else shape[1:]))
    trainer = network.trainer
    if trainer is not None and compile:
        # The loss object when its settings are not its name's (a later add or pop compiles with it again)
        loss = trainer.loss if repr(trainer.loss) != repr(get_loss(trainer.loss.name)) else trainer.loss.name
        model._compiled = (trainer.optimizer, loss, [name for name, _ in trainer.metrics])
    elif trainer is not None:
        network.trainer = None
    return model
