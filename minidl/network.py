"""``Network``: layers in order, run forward and backward as one."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from minidl import course, errors
from minidl import training as _training
from minidl._typing import Array, ArrayLike, Seed
from minidl._validation import as_batch, as_float_array, check_positive_int
from minidl.callbacks import Callback, History
from minidl.course import NodeValues, Trace
from minidl.layers.base import Layer, Parameter, mode
from minidl.losses import Loss
from minidl.optimizers import Optimizer

__all__ = ["Network", "NodeValues", "Trace"]

_node_names = course.node_names  # for plot.py, until it imports minidl.course.node_names


class Network:
    """A stack of layers run in order: ``forward`` from first to last, ``backward`` back.

    ``layers`` in the order data flows through them: each layer object once, each
    Parameter in one layer (no tied weights); colliding names become ``name_1``, ... (Keras).

    Examples
    --------
    >>> net = Network([Dense(2, 2, use_bias=False, weight_init=[[2, 1], [1, 2]]), ReLU(),
    ...                Dense(2, 1, use_bias=False, weight_init=[[1], [1]]), ReLU()])
    >>> net.forward(np.array([0.0, 3.0]))
    array([9.])
    """

    def __init__(self, layers: Sequence[Layer]) -> None:
        self.layers: list[Layer] = _checked_layers(layers)
        self._parameters: list[Parameter] | None = None

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    @overload
    def __getitem__(self, index: int) -> Layer: ...
    @overload
    def __getitem__(self, index: slice) -> list[Layer]: ...
    def __getitem__(self, index: int | slice) -> Layer | list[Layer]:
        return self.layers[index]

    def __repr__(self) -> str:
        return "Network([\n" + "".join(f"    {layer!r},\n" for layer in self.layers) + "])"

    # -- parameters, dtype and mode ---------------------------------------------------
    def parameters(self) -> list[Parameter]:
        """Every layer's parameters, first layer first (listed once: layers make them in ``__init__``)."""
        if self._parameters is None:
            self._parameters = [p for layer in self.layers for p in layer.parameters()]
        return self._parameters

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero."""
        for parameter in self.parameters():
            parameter.zero_grad()

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of the parameters (float64 when the network has none)."""
        parameters = self.parameters()
        return parameters[0].dtype if parameters else np.dtype(np.float64)

    def astype(self, dtype: npt.DTypeLike) -> Network:
        """Convert every layer to the floating ``dtype`` (e.g. float32), in place; returns self.

        Parameters stay the same objects (:meth:`Layer.astype`); inputs are converted at
        the entry from then on. The compiled optimizer's state is converted too (one you
        drive yourself: call ``astype`` before its first step).

        Examples
        --------
        >>> net = Network([Dense(3, 2), ReLU(), Dense(2, 1)]).astype(np.float32)
        >>> net.dtype, net.forward(np.ones((4, 3))).dtype
        (dtype('float32'), dtype('float32'))
        """
        target = np.dtype(dtype)
        if target.kind != "f":
            raise TypeError(f"Network.astype needs a floating dtype (float32, float64); got {target}")
        for layer in self.layers:
            layer.astype(target)
        if self.optimizer is not None:  # load_state_arrays casts each array to its parameter's dtype
            parameters = self.parameters()
            self.optimizer.load_state_arrays(parameters, self.optimizer.state_arrays(parameters))
        return self

    @property
    def training(self) -> bool:
        """True in training mode (the start, and after ``train()``), False after ``eval()``."""
        return all(layer.training for layer in self.layers)

    def train(self, mode: bool = True) -> Network:
        """Put every layer in training mode (``mode=False``: evaluation mode); returns self."""
        for layer in self.layers:
            layer.train(mode)
        return self

    def eval(self) -> Network:
        """Put every layer in evaluation mode; returns self."""
        return self.train(False)

    # -- the computation ------------------------------------------------------------
    def forward(self, x: ArrayLike) -> Array:
        """``y = layer_n(... layer_1(x))`` in the current mode, ``x`` of shape ``(batch, features)``.

        One sample ``(features,)`` gets a batch axis for the layers (and loses it after); ``x``
        is checked (numeric, finite, non-empty) and cast to the network's dtype here, once.
        """
        batch, single = as_batch(as_float_array(x, "Network input x", dtype=self.dtype))
        output = self._run(batch)
        return output[0] if single else output

    def _run(self, x: Array) -> Array:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad: Array) -> Array:
        """The chain rule, last layer first: turn ``dL/doutput`` into ``dL/dx``, filling every ``grad``.

        A layer that does not overwrite its gradients is cleared first (so it may add); a
        one-sample gradient gets a batch axis. A layer whose backward returns no array or
        one not shaped like its input, or fails on a missing cache, is named in the error.
        """
        if not isinstance(grad, np.ndarray):
            raise TypeError("Network.backward expects dL/doutput as a numpy array; "
                            f"got {type(grad).__name__}")
        output_shape = self.layers[-1].last_output_shape
        single = output_shape is not None and output_shape[:1] == (1,) and grad.shape == output_shape[1:]
        grad = grad[None] if single else grad
        layer = self.layers[-1]
        try:
            for layer in reversed(self.layers):
                if not layer.overwrites_gradients:
                    layer.zero_grad()
                grad = layer.backward(grad)
                if grad.shape != layer.last_input_shape:
                    raise errors.backward_shape_error(layer, layer.last_input_shape or (), grad)
        except (AttributeError, TypeError) as error:
            raise errors.backward_failure(layer, grad, error) from error
        except ValueError as error:
            errors.note_failing_layer(layer, error)
            raise
        return grad[0] if single else grad

    def predict(self, x: ArrayLike, batch_size: int | None = None) -> Array:
        """The output for ``x`` in evaluation mode; ``batch_size``: in slices of that many samples."""
        data = as_float_array(x, "predict x", dtype=self.dtype)
        if batch_size is not None:
            batch_size = check_positive_int(batch_size, "predict batch_size")
        batch, single = as_batch(data)
        with mode(self.layers, training=False):
            if batch_size is None or batch.ndim == 0 or len(batch) <= batch_size:
                output = self._run(batch)
            else:
                starts = range(0, len(batch), batch_size)
                output = np.concatenate([self._run(batch[i : i + batch_size]) for i in starts])
        output = output[0] if single else output
        # A network of pass-through layers would hand back (a view of) the caller's array.
        return output.copy() if np.may_share_memory(output, data) else output

    def __call__(self, x: ArrayLike) -> Array:
        """Run ``forward``."""
        return self.forward(x)

    # -- training: compile, fit, evaluate (minidl.training) ---------------------------
    # Keras-style training. The loop itself lives in minidl/training.py; these methods
    # check their arguments' names and delegate.

    #: What ``compile`` chose (loss, optimizer, metrics); None before ``compile``.
    _compiled: _training.Compiled | None = None
    #: The :class:`~minidl.callbacks.History` of the latest ``fit``.
    history: History | None = None
    #: Set True (by ``Callback.request_stop``) to end ``fit`` after the current epoch.
    stop_training: bool = False
    #: Why the latest ``fit`` stopped before its last epoch (early stopping, a NaN/inf
    #: loss), or None.
    stop_reason: str | None = None
    #: The random generator the latest ``fit`` shuffled with (advanced by it), restored by
    #: ``minidl.load`` from files saved with the optimizer: ``fit(..., seed=network.fit_rng)``
    #: continues the same run exactly (see :mod:`minidl.checkpoints`).
    fit_rng: np.random.Generator | None = None

    @property
    def loss(self) -> Loss | None:
        """The loss chosen by ``compile`` (None before)."""
        return None if self._compiled is None else self._compiled.loss

    @property
    def optimizer(self) -> Optimizer | None:
        """The optimizer chosen by ``compile`` (None before); it keeps its state across ``fit`` calls."""
        return None if self._compiled is None else self._compiled.optimizer

    @property
    def metrics_names(self) -> list[str]:
        """The names ``fit`` logs: ``"loss"`` then each compiled metric (as given)."""
        return ["loss"] + ([] if self._compiled is None else [name for name, _ in self._compiled.metrics])

    def compile(
        self,
        optimizer: str | Optimizer = "rmsprop",
        loss: str | Loss | None = None,
        metrics: Sequence[str | Callable[..., float]] | None = None,
    ) -> None:
        """Choose how ``fit`` trains: the optimizer, the loss and the metrics to report.

        Parameters
        ----------
        optimizer
            An :class:`~minidl.Optimizer` or a name: ``"sgd"``, ``"rmsprop"`` (default, as
            Keras), ``"adam"`` (default settings).
        loss
            A :class:`~minidl.Loss` or a name: ``"mean_squared_error"``/``"mse"``,
            ``"mean_absolute_error"``/``"mae"``, ``"binary_crossentropy"``,
            ``"categorical_crossentropy"``, ``"sparse_categorical_crossentropy"``.
        metrics
            Names (``"accuracy"``, ``"binary_accuracy"``, ``"categorical_accuracy"``,
            ``"sparse_categorical_accuracy"``, ``"mse"``, ``"mae"``, ...) or functions
            ``f(y_true, y_pred) -> float``. ``"accuracy"`` picks the kind from the loss
            (binary for binary cross-entropy or a single output, sparse for integer
            labels, else categorical), as Keras does. History keys are the names as given.

        Raises
        ------
        ValueError
            For an unknown name (the message lists the valid ones) or a missing loss.

        Examples
        --------
        >>> net = Network([Dense(4, 3), Softmax()])
        >>> net.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        >>> net.optimizer, net.metrics_names
        (Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-08), ['loss', 'accuracy'])
        """
        self._compiled = _training.compile_network(optimizer, loss, metrics)

    def fit(
        self,
        x: ArrayLike,
        y: ArrayLike,
        epochs: int = 1,
        batch_size: int = 32,
        shuffle: bool = True,
        validation_split: float = 0.0,
        validation_data: tuple[ArrayLike, ArrayLike] | None = None,
        callbacks: Sequence[Callback] | None = None,
        verbose: int = 1,
        seed: Seed = None,
    ) -> History:
        """Train the network on ``(x, y)`` by mini-batch gradient descent; returns a History.

        Each epoch visits the training samples once, in batches of ``batch_size`` (the
        last one smaller if needed), doing one step per batch: forward, loss, backward
        (fused with a final Softmax/Sigmoid for cross-entropy, see
        :mod:`minidl.training`), optimizer step. With ``shuffle=False`` and
        ``batch_size >= len(x)``, every epoch is one full-batch gradient step on the
        mean loss.

        Parameters
        ----------
        x
            Inputs, shape ``(samples, features)``.
        y
            Targets: shaped like the output (``(samples,)`` for one output is read as a
            column), or integer labels ``(samples,)`` for
            ``sparse_categorical_crossentropy``.
        epochs
            Number of passes over the training data (positive integer).
        batch_size
            Samples per step (positive integer). The last batch holds the rest; with a
            ``BatchNorm`` (which needs 2 samples in training) a last batch of 1 sample
            joins the batch before it.
        shuffle
            Shuffle the training samples at every epoch (one permutation per epoch).
        validation_split
            A fraction in ``[0, 1)`` of the samples held out for validation: **the last
            ones, taken before any shuffling**, as Keras does.
        validation_data
            ``(x_val, y_val)`` to validate on instead (not together with
            ``validation_split``).
        callbacks
            :class:`~minidl.callbacks.Callback` objects, such as
            :class:`~minidl.callbacks.EarlyStopping`.
        verbose
            0 silent; 1 a live progress bar per epoch on a terminal (batches done, ETA,
            running loss and metrics) and one line per epoch otherwise (logs, files);
            2 one line per epoch.
        seed
            An int or a ``numpy.random.Generator`` for the shuffling: the same seed (and
            the same starting network) gives bit-identical results. The generator is kept
            as ``network.fit_rng``; pass ``seed=network.fit_rng`` to continue a run, e.g.
            after ``minidl.load`` of a checkpoint, exactly as if it had not stopped.

        Returns
        -------
        History
            ``history.history`` maps ``"loss"``, each metric, and ``"val_loss"`` /
            ``"val_<metric>"`` (with validation data) to one value per epoch. The training
            values are means over the epoch's batches (weighted by batch size) as the
            weights changed; the validation values are computed after the epoch, in
            evaluation mode, in batches of ``batch_size``. Also kept as ``network.history``.

        Notes
        -----
        ``x`` and ``y`` are checked and cast to the network's dtype once, up front.
        ``fit`` runs in training mode, validation in evaluation mode, and the layers'
        previous modes are restored at the end.

        **A NaN or infinite loss stops training** with a ``RuntimeWarning`` (also printed
        when ``verbose > 0``), and the reason is kept in ``History.stop_reason`` and
        ``network.stop_reason``. The step of that batch is not applied; if the
        parameters themselves had already turned non-finite, those of the start of the
        epoch are restored and the optimizer's state is reset. The History holds the
        completed epochs only.

        **Ctrl-C (KeyboardInterrupt)** is held until the current batch's update is
        complete, then raised: the parameters are never half-updated, checkpoint files
        are whole (saves are atomic), and ``network.history`` holds the completed epochs.

        Examples
        --------
        >>> net = Network([Dense(1, 1, weight_init="zeros", bias_init="zeros")])
        >>> net.compile(optimizer=SGD(learning_rate=0.1), loss="mse")
        >>> history = net.fit([[0.0], [1.0]], [1.0, 3.0], epochs=500, batch_size=2, verbose=0)
        >>> np.round(net.predict([[2.0]]), 3)
        array([[5.]])
        """
        return _training.fit(
            self, x, y, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
            validation_split=validation_split, validation_data=validation_data,
            callbacks=callbacks, verbose=verbose, seed=seed,
        )

    def evaluate(self, x: ArrayLike, y: ArrayLike, batch_size: int | None = 32) -> dict[str, float]:
        """The compiled loss and metrics on ``(x, y)``, computed in evaluation mode.

        Returns a dict ``{"loss": ..., "<metric>": ...}`` (always a dict, unlike Keras's
        list). ``batch_size`` runs the data in slices of that many samples, 32 by default
        as in Keras and as ``fit`` computes ``val_loss``, so the two agree to the last bit;
        None runs it at once (the same up to rounding). The layers' modes are restored
        afterwards.

        Examples
        --------
        >>> net = Network([Dense(1, 1, weight_init=[[2.0]], bias_init="zeros")])
        >>> net.compile(loss="mse", metrics=["mae"])
        >>> net.evaluate([[1.0], [2.0]], [2.0, 5.0])
        {'loss': 0.5, 'mae': 0.5}
        """
        return _training.evaluate(self, x, y, batch_size)

    def train_step(self, x: ArrayLike, y: ArrayLike) -> float:
        """One training step on one batch with the compiled loss and optimizer; returns the loss.

        Forward (current mode), loss (fused with a final Softmax/Sigmoid as in ``fit``),
        backward, optimizer step. The data is checked on every call. When the loss is
        NaN or infinite, no gradient is computed and no step is applied.
        """
        return _training.train_step(self, x, y)

    def loss_and_backward(self, x: ArrayLike, y: ArrayLike, loss: Loss | str | None = None) -> float:
        """Forward, loss and backward on ``(x, y)``, filling every parameter's ``grad``; returns the loss.

        The explicit training step without the update: follow it with
        ``optimizer.step(network.parameters())``. Runs in the current mode.

        When the network ends in ``Softmax`` (with a categorical cross-entropy) or
        ``Sigmoid`` (with binary cross-entropy) and the loss reads probabilities, the
        loss is computed from the last layer's input, the logits, exactly, and
        backpropagation starts below that layer with ``(p - y) / N`` (finite for any
        logits). Backpropagation stops at the first layer with parameters (its
        ``backward_parameters``): no gradient with respect to ``x`` is computed.
        When the loss is NaN or infinite the gradients are left as they were.

        Parameters
        ----------
        x, y
            A batch and its targets (checked and cast to the network's dtype).
        loss
            A loss object or name; None uses the compiled loss.

        Examples
        --------
        The course's slope: input ``[1, 2, 3]``, weights ``[0, 2, 1]``, target 0.

        >>> net = Network([Dense(3, 1, use_bias=False, weight_init=[[0], [2], [1]]), Identity()])
        >>> net.loss_and_backward([1, 2, 3], [0], MeanSquaredError())
        49.0
        >>> net[0].weight.grad.ravel()
        array([14., 28., 42.])
        """
        return _training.loss_and_backward(self, x, y, loss)

    # -- end of training ------------------------------------------------------------------

    # -- seeing inside, files, the course -------------------------------------------
    def trace(self, x: ArrayLike) -> Trace:
        """Every node's input and output for ``x`` in the course's names (:func:`minidl.course.trace`)."""
        return course.trace(self.layers, as_float_array(x, "trace x", dtype=self.dtype))

    def summary(self) -> str:
        """A table of the layers: name and type, output shape (``None``: the batch), parameter count."""
        return _summary(self.layers)

    def save(self, path: str | os.PathLike[str], *, include_optimizer: bool = True) -> None:
        """Save to one ``.npz`` model file at ``path``, atomically (:mod:`minidl.serialization`)."""
        from minidl.serialization import save

        save(self, path, include_optimizer=include_optimizer)

    @classmethod
    def from_node_weights(cls, weights: Mapping[str, npt.ArrayLike], activation: str = "relu", *,
                          dtype: npt.DTypeLike = np.float64) -> Network:
        """The course's network from its node-weights dict: :func:`minidl.course.layers_from_node_weights`."""
        return cls(course.layers_from_node_weights(weights, activation, dtype=dtype))

    def node_weights(self) -> dict[str, Array]:
        """The course's node-weights dict (copies), the inverse of ``from_node_weights``."""
        return course.node_weights(self.layers)


def _checked_layers(layers: Sequence[Layer]) -> list[Layer]:
    """``layers`` as a list, checked (Layer objects, each once, no shared Parameter), names made unique."""
    if isinstance(layers, Layer) or not isinstance(layers, Sequence):
        raise TypeError(f"Network expects a list of layers; got {type(layers).__name__}")
    if not layers:
        raise ValueError("Network expects at least one layer; got an empty list")
    seen: set[int] = set()
    owners: dict[int, int] = {}  # id of a Parameter -> index of the layer holding it
    for index, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise TypeError(f"Network layer {index} must be a minidl Layer; got {type(layer).__name__}")
        if not hasattr(layer, "training") or not hasattr(layer, "name"):
            raise TypeError(errors.not_initialised(layer, f"Network layer {index}"))
        if id(layer) in seen:
            raise ValueError(f"Network layer {index} ({layer.name!r}) appears twice; create a new layer "
                             "object for each position (a layer's gradients belong to one position)")
        seen.add(id(layer))
        for parameter in layer.parameters():
            if id(parameter) in owners:
                first = owners[id(parameter)]
                raise errors.tied_parameter(parameter.name, (first, layers[first].name), (index, layer.name))
            owners[id(parameter)] = index
    used: dict[str, int] = {}  # name -> how many times it was taken, as base of name_1, name_2, ...
    for layer in layers:
        if layer.name in used:
            base = layer.name
            while layer.name in used:
                used[base] += 1
                layer.name = f"{base}_{used[base]}"
        used[layer.name] = 0
    return list(layers)


def _summary(layers: list[Layer]) -> str:
    """Keras's summary table; ``?`` for a size a layer does not declare (``Layer.output_features``)."""
    rows = [("Layer (type)", "Output Shape", "Param #")]
    features: int | None = None
    for layer in layers:
        features = layer.output_features(features)
        count = sum(p.size for p in layer.parameters())
        width = "?" if features is None else str(features)
        rows.append((f"{layer.name} ({type(layer).__name__})", f"(None, {width})", f"{count:,}"))
    widths = [max(len(row[i]) for row in rows) + 2 for i in range(3)]
    lines = [f"{a:<{widths[0]}}{b:<{widths[1]}}{c:>{widths[2] - 2}}" for a, b, c in rows]
    rule = "-" * sum(widths)
    total = sum(p.size for layer in layers for p in layer.parameters())
    return "\n".join([rule, lines[0], "=" * sum(widths), *lines[1:], rule, f"Total params: {total:,}"])
