"""Keras-style training: what ``Network.compile``, ``fit``, ``evaluate``, ``train_step`` run.

The :class:`~minidl.Network` methods are thin wrappers around the functions here.

One training step on a batch ``(xb, yb)``:

1. forward through every layer (in training mode);
2. the loss of the output against ``yb``. When the network ends in ``Softmax`` (for the
   categorical cross-entropies) or ``Sigmoid`` (for binary cross-entropy) and the loss
   reads probabilities, the two are **fused**: the loss is computed from the last
   layer's *input* (the logits) with the exact log-softmax/log-sigmoid formula, and
   backpropagation starts below that layer with ``(p - y) / N``, finite even for logits
   of +-1000. The last layer still runs, so predictions and metrics see probabilities;
3. backpropagation, layer by layer in reverse, down to the first layer that has
   parameters, whose ``backward_parameters`` fills its gradients without computing the
   gradient with respect to the data (nobody needs it);
4. the optimizer's ``step`` on all parameters.

``fit`` checks and converts the data once, up front (numeric, finite, non-empty, cast to
the network's dtype, target shapes); the per-batch loop then calls the layers directly.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from minidl import metrics as _metrics
from minidl._typing import Array, ArrayLike, Seed
from minidl._validation import as_float_array, check_positive_int, check_real
from minidl.callbacks import Callback, History
from minidl.checkpoints import InterruptGuard
from minidl.errors import backward_failure, backward_shape_error, note_failing_layer
from minidl.initializers import make_rng
from minidl.layers.base import Layer, Parameter
from minidl.losses import (
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    Loss,
    SparseCategoricalCrossEntropy,
    _CrossEntropy,
    get_loss,
    match_target,
)
from minidl.optimizers import Optimizer, get_optimizer

if TYPE_CHECKING:
    from minidl.network import Network

#: A metric computed in the loop: ``(predicted, target) -> float`` on checked arrays.
MetricFunction = Callable[[Array, Any], float]

#: Metric names accepted by ``Network.compile``.
METRIC_NAMES = (
    "accuracy",
    "acc",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
)


@dataclass
class Compiled:
    """What ``Network.compile`` decided: the loss, the optimizer and the metrics."""

    loss: Loss
    optimizer: Optimizer
    metrics: list[tuple[str, str | Callable[..., float]]]
    #: The StepPlan of ``train_step``, worked out on its first call (2.6 us saved per call).
    plan: StepPlan | None = None


def compile_network(
    optimizer: str | Optimizer,
    loss: str | Loss | None,
    metrics: Sequence[str | Callable[..., float]] | None,
) -> Compiled:
    """Resolve names into objects and check them (see ``Network.compile``)."""
    if loss is None:
        raise ValueError("compile needs a loss, e.g. loss='mse' or loss='categorical_crossentropy'")
    resolved: list[tuple[str, str | Callable[..., float]]] = []
    if metrics is None:
        metrics = []
    if isinstance(metrics, str) or not isinstance(metrics, Sequence):
        raise TypeError(f"compile metrics must be a list of names or functions; got {metrics!r}")
    for metric in metrics:
        if isinstance(metric, str):
            if metric.lower() not in METRIC_NAMES:
                valid = ", ".join(repr(name) for name in METRIC_NAMES)
                raise ValueError(f"unknown metric {metric!r}; valid names: {valid}, or a function "
                                 "(y_true, y_pred) -> float")
            resolved.append((metric, metric.lower()))
        elif callable(metric):
            resolved.append((getattr(metric, "__name__", type(metric).__name__), metric))
        else:
            raise TypeError(f"compile metrics: each metric must be a name or a function; got {metric!r}")
    names = [name for name, _ in resolved]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates or "loss" in names:
        raise ValueError(f"compile metrics: names must be unique and not 'loss'; got {names}")
    return Compiled(get_loss(loss), get_optimizer(optimizer), resolved)


def require_compiled(network: Network, caller: str) -> Compiled:
    """The network's compiled settings, or a clear error if ``compile`` was not called."""
    compiled = network._compiled
    if compiled is None:
        raise RuntimeError(
            f"{caller}() needs a compiled network: call network.compile(optimizer=..., loss=...) "
            "first, e.g. network.compile(optimizer='adam', loss='mse')"
        )
    return compiled


# -- metrics ------------------------------------------------------------------------------


def _metric_function(kind: str | Callable[..., float], loss: Loss, output_width: int) -> MetricFunction:
    """The fast ``(predicted, target) -> float`` for a compiled metric."""
    if not isinstance(kind, str):
        user = kind
        return lambda predicted, target: float(user(target, predicted))
    if kind in ("accuracy", "acc"):
        if isinstance(loss, SparseCategoricalCrossEntropy):
            kind = "sparse_categorical_accuracy"
        elif isinstance(loss, CategoricalCrossEntropy):
            kind = "categorical_accuracy"
        elif isinstance(loss, BinaryCrossEntropy) or output_width == 1:
            kind = "binary_accuracy"
        else:
            kind = "categorical_accuracy"
    if kind == "binary_accuracy":
        # Logits are positive exactly where the probability is above 0.5.
        threshold = 0.0 if isinstance(loss, BinaryCrossEntropy) and loss.from_logits else 0.5
        return lambda predicted, target: _metrics._binary_accuracy(predicted, target, threshold)
    if kind == "categorical_accuracy":
        if isinstance(loss, SparseCategoricalCrossEntropy):
            return _metrics._sparse_categorical_accuracy
        return _metrics._categorical_accuracy
    if kind == "sparse_categorical_accuracy":
        if not isinstance(loss, SparseCategoricalCrossEntropy):
            raise ValueError("the sparse_categorical_accuracy metric needs integer labels: use it with "
                             "loss='sparse_categorical_crossentropy' (or 'categorical_accuracy' for one-hot)")
        return _metrics._sparse_categorical_accuracy
    if isinstance(loss, SparseCategoricalCrossEntropy):
        raise ValueError(f"the {kind} metric needs targets shaped like the output; with integer labels "
                         "(sparse_categorical_crossentropy) use 'accuracy'")
    if kind in ("mean_squared_error", "mse"):
        return _mse
    return _mae


def _mse(predicted: Array, target: Array) -> float:
    error = predicted - target
    return float(np.vdot(error, error)) / error.size


def _mae(predicted: Array, target: Array) -> float:
    return float(np.abs(predicted - target).sum()) / predicted.size


# -- data -----------------------------------------------------------------------------------


def prepare_data(
    network: Network, loss: Loss, x: ArrayLike, y: ArrayLike, owner: str
) -> tuple[Array, Any, int]:
    """Check and convert ``x`` and ``y`` once: returns ``(x, target, output_width)``.

    ``x`` becomes a finite array of the network's dtype with a batch axis; ``y`` the
    target in the form the loss reads during the loop (the output's shape and dtype,
    or integer labels for ``SparseCategoricalCrossEntropy``).
    """
    dtype = network.dtype
    data = as_float_array(x, f"{owner} x", dtype=dtype)
    if data.ndim < 2:
        raise ValueError(
            f"{owner} x must have a batch axis, shape (samples, features); got shape {data.shape} "
            "(for one feature per sample use x.reshape(-1, 1); for one sample, x[None, :])"
        )
    target = as_float_array(y, f"{owner} y", dtype=dtype)
    if target.ndim == 0 or len(target) != len(data):
        got = "a scalar" if target.ndim == 0 else f"{len(target)} samples (shape {target.shape})"
        raise ValueError(f"{owner}: x has {len(data)} samples (shape {data.shape}) but y has {got}")
    output_shape = network.predict(data[:1]).shape[1:]
    samples = len(data)
    if isinstance(loss, SparseCategoricalCrossEntropy):
        classes = output_shape[-1] if output_shape else 1
        if target.shape == (samples, 1):
            target = target.reshape(samples)
        if target.shape != (samples, *output_shape[:-1]):
            raise ValueError(
                f"{owner} y: sparse_categorical_crossentropy needs one integer label per sample, "
                f"shape ({samples},); got shape {target.shape}"
            )
        labels = target.astype(np.intp)
        if not np.array_equal(labels, target):
            example = target[labels != target][0]
            raise ValueError(f"{owner} y: class labels must be whole numbers; got e.g. {example}")
        if int(labels.min()) < 0 or int(labels.max()) >= classes:
            raise ValueError(
                f"{owner} y: labels must be in [0, {classes}) for a network with {classes} outputs; "
                f"got values from {int(labels.min())} to {int(labels.max())}"
            )
        return data, labels, classes
    template = np.broadcast_to(np.zeros((), dtype=dtype), (samples, *output_shape))
    target = match_target(template, target, f"{owner} y")
    if isinstance(loss, (BinaryCrossEntropy, CategoricalCrossEntropy)):
        if float(target.min()) < 0.0 or float(target.max()) > 1.0:
            raise ValueError(f"{owner} y: {loss.name} targets must be in [0, 1]; got values from "
                             f"{float(target.min()):g} to {float(target.max()):g}")
    if isinstance(loss, CategoricalCrossEntropy) and target.ndim >= 1:
        sums = target.sum(axis=-1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-3)
        if bad.size:
            raise ValueError(
                f"{owner} y: categorical_crossentropy needs one-hot rows (summing to 1); row "
                f"{int(bad[0])} sums to {float(sums.flat[bad[0]]):g} (for integer labels use "
                "sparse_categorical_crossentropy)"
            )
    return data, target, int(output_shape[-1]) if output_shape else 1


# -- one step ---------------------------------------------------------------------------------


class StepPlan:
    """The layer lists one training step walks, worked out once per ``fit``.

    Attributes
    ----------
    head
        Layers run before the loss: all of them, or all but the last when fused.
    last
        The fused activation (Softmax/Sigmoid), or None.
    back
        Layers whose ``backward`` runs, last first (down to, not including, ``first``).
    first
        The first layer with parameters (gets ``backward_parameters``).
    """

    def __init__(self, network: Network, loss: Loss) -> None:
        layers = network.layers
        with_parameters = [i for i, layer in enumerate(layers) if layer.parameters()]
        if not with_parameters:
            raise ValueError("the network has no parameters to train (no layer with weights)")
        first_index = with_parameters[0]
        self.fused = isinstance(loss, _CrossEntropy) and loss.fuses_with(layers[-1])
        end = len(layers) - 1 if self.fused else len(layers)
        self.head: list[Layer] = layers[:end]
        self.last: Layer | None = layers[-1] if self.fused else None
        self.back: list[Layer] = layers[first_index + 1 : end][::-1]
        # (layer, its position): backward checks the gradient against the input shape.
        self.back_steps: list[tuple[Layer, int]] = [(layers[i], i) for i in range(end - 1, first_index, -1)]
        self.first: Layer = layers[first_index]
        self.loss = loss
        self.parameters: list[Parameter] = network.parameters()
        # The layers are about to cache this call's batches: the shapes Network.forward
        # recorded for Network.backward's check no longer describe them.
        network._steps = None


def forward_loss_backward(plan: StepPlan, x: Array, target: Any) -> tuple[float, Array]:
    """Forward, loss (fused when planned) and backward for one batch; returns (loss, output).

    The parameters' ``grad`` are filled only when the loss is finite.
    """
    output = x
    shapes: list[tuple[int, ...]] = []
    for layer in plan.head:
        shapes.append(output.shape)
        output = layer.forward(output)
    loss = plan.loss
    if plan.last is not None:
        logits = output
        output = plan.last.forward(logits)
        assert isinstance(loss, _CrossEntropy)
        value = loss.forward_from_logits(logits, target, output)
    else:
        value = loss.forward(output, target)
    if math.isfinite(value):
        grad = loss.backward()
        layer = plan.first
        try:
            for layer, position in plan.back_steps:
                grad = layer.backward(grad)
                if grad.shape != shapes[position]:
                    raise backward_shape_error(layer, shapes[position], grad)
            layer = plan.first
            plan.first.backward_parameters(grad)
        except (AttributeError, TypeError) as error:
            raise backward_failure(layer, grad, error) from error
        except ValueError as error:
            note_failing_layer(layer, error)
            raise
    return value, output


def loss_and_backward(network: Network, x: ArrayLike, y: ArrayLike, loss: Loss | str | None) -> float:
    """See ``Network.loss_and_backward``."""
    if loss is None:
        loss = require_compiled(network, "loss_and_backward").loss
    loss = get_loss(loss)
    data = as_float_array(x, "loss_and_backward x", dtype=network.dtype)
    target = as_float_array(y, "loss_and_backward y", dtype=network.dtype)
    value, _ = forward_loss_backward(StepPlan(network, loss), data, target)
    return value


def train_step(network: Network, x: ArrayLike, y: ArrayLike) -> float:
    """See ``Network.train_step``."""
    compiled = require_compiled(network, "train_step")
    data = as_float_array(x, "train_step x", dtype=network.dtype)
    target = as_float_array(y, "train_step y", dtype=network.dtype)
    plan = compiled.plan
    if plan is None:
        plan = compiled.plan = StepPlan(network, compiled.loss)
    value, _ = forward_loss_backward(plan, data, target)
    if math.isfinite(value):
        compiled.optimizer.step(plan.parameters)
    return value


# -- evaluation --------------------------------------------------------------------------------


def _evaluate_arrays(
    network: Network,
    plan: StepPlan,
    metric_functions: list[tuple[str, MetricFunction]],
    x: Array,
    target: Any,
    batch_size: int | None,
) -> dict[str, float]:
    """Loss and metrics on checked data, in evaluation mode (the previous modes restored)."""
    modes = [layer.training for layer in network.layers]
    network.eval()
    try:
        size = len(x) if batch_size is None else batch_size
        totals = [0.0] * (1 + len(metric_functions))
        for start in range(0, len(x), size):
            xb, yb = x[start : start + size], target[start : start + size]
            output = xb
            for layer in plan.head:
                output = layer.forward(output)
            if plan.last is not None:
                logits = output
                output = plan.last.forward(logits)
                assert isinstance(plan.loss, _CrossEntropy)
                value = plan.loss.forward_from_logits(logits, yb, output)
            else:
                value = plan.loss.forward(output, yb)
            count = len(xb)
            totals[0] += value * count
            for i, (_, function) in enumerate(metric_functions, start=1):
                totals[i] += function(output, yb) * count
    finally:
        for layer, mode in zip(network.layers, modes, strict=True):
            layer.train(mode)
    names = ["loss", *(name for name, _ in metric_functions)]
    return {name: total / len(x) for name, total in zip(names, totals, strict=True)}


def evaluate(network: Network, x: ArrayLike, y: ArrayLike, batch_size: int | None) -> dict[str, float]:
    """See ``Network.evaluate``."""
    compiled = require_compiled(network, "evaluate")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "evaluate batch_size")
    data, target, width = prepare_data(network, compiled.loss, x, y, "evaluate")
    plan = StepPlan(network, compiled.loss)
    functions = [(name, _metric_function(kind, compiled.loss, width)) for name, kind in compiled.metrics]
    return _evaluate_arrays(network, plan, functions, data, target, batch_size)


# -- progress output ------------------------------------------------------------------------------


def _format_logs(logs: dict[str, float]) -> str:
    return " - ".join(f"{key}: {_format_number(value)}" for key, value in logs.items())


def _format_number(value: float) -> str:
    if value != 0 and math.isfinite(value) and abs(value) < 1e-3:
        return f"{value:.4e}"
    return f"{value:.4f}"


def _format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds + 0.5), 60)
    return f"{minutes}m{seconds:02d}s"


class _Progress:
    """Prints training progress: a live bar on a terminal, else one line per epoch."""

    #: Minimum seconds between two redraws of the live bar.
    interval = 0.1
    width = 30

    def __init__(self, stream: TextIO, live: bool, epochs: int, steps: int) -> None:
        self.stream = stream
        self.live = live
        self.epochs = epochs
        self.steps = steps
        self.epoch = 0
        self.start = 0.0
        self.last_draw = -math.inf
        self.drawn = 0

    def epoch_begin(self, epoch: int) -> None:
        self.epoch = epoch
        self.start = time.perf_counter()
        self.last_draw = -math.inf
        self.drawn = 0

    def batch_end(self, done: int, logs: dict[str, float]) -> None:
        """Redraw the bar (live mode only; throttled, but always the first and last batch)."""
        now = time.perf_counter()
        if done != 1 and done != self.steps and now - self.last_draw < self.interval:
            return
        self.last_draw = now
        elapsed = now - self.start
        eta = elapsed / done * (self.steps - done)
        filled = self.width * done // self.steps
        bar = "=" * filled + (">" if filled < self.width else "") + "." * (self.width - filled - 1)
        text = (f"Epoch {self.epoch + 1}/{self.epochs} {done:>{len(str(self.steps))}}/{self.steps} "
                f"[{bar}] ETA {_format_seconds(eta)} - {_format_logs(logs)}")
        self._draw(text)

    def _draw(self, text: str) -> None:
        padding = " " * max(self.drawn - len(text), 0)
        self.stream.write("\r" + text + padding)
        self.stream.flush()
        self.drawn = len(text)

    def epoch_end(self, logs: dict[str, float]) -> None:
        elapsed = time.perf_counter() - self.start
        text = (f"Epoch {self.epoch + 1}/{self.epochs} - {self.steps} batches - "
                f"{_format_seconds(elapsed)} - {_format_logs(logs)}")
        if self.live:
            self._draw(text)
            self.stream.write("\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        if self.live and self.drawn:
            self.stream.write("\n")
            self.drawn = 0
        self.stream.write(text + "\n")
        self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):  # a closed stream
        return False


# -- fit ----------------------------------------------------------------------------------------------


def _all_finite(parameters: list[Parameter]) -> bool:
    for parameter in parameters:
        value = parameter.value
        if not math.isfinite(float(value.sum())) and not np.isfinite(value).all():
            return False
    return True


def _check_parameters_after_backward(network: Network, parameters: list[Parameter]) -> None:
    """After the first backward of ``fit``: every gradient fits its parameter, none was missed.

    Catches two mistakes of a user's layer that would otherwise end in a numpy error
    inside the optimizer or in a parameter that is silently never trained: a ``grad``
    rebound to an array of another shape, and a Parameter created in ``forward``.
    """
    known = {id(parameter) for parameter in parameters}
    for layer in network.layers:
        label = f"{type(layer).__name__} {layer.name!r}"
        attributes = {id(value): key for key, value in vars(layer).items() if isinstance(value, Parameter)}
        for parameter in layer.parameters():
            name = attributes.get(id(parameter), parameter.name)
            if id(parameter) not in known:
                raise ValueError(
                    f"{label}: the Parameter {name!r} did not exist when training started "
                    "(created in forward?), so the optimizer would never update it; create every "
                    "Parameter in __init__, after super().__init__()"
                )
            if parameter.grad.shape != parameter.value.shape:
                raise ValueError(
                    f"{label}: backward set the gradient of parameter {name!r} to shape "
                    f"{parameter.grad.shape}; expected {parameter.value.shape}, the shape of the "
                    "parameter (sum over the batch axis, and assign in place: `p.grad[...] = ...`)"
                )


def fit(
    network: Network,
    x: ArrayLike,
    y: ArrayLike,
    *,
    epochs: int,
    batch_size: int,
    shuffle: bool,
    validation_split: float,
    validation_data: tuple[ArrayLike, ArrayLike] | None,
    callbacks: Sequence[Callback] | None,
    verbose: int,
    seed: Seed,
) -> History:
    """See ``Network.fit``."""
    compiled = require_compiled(network, "fit")
    epochs = check_positive_int(epochs, "fit epochs")
    batch_size = check_positive_int(batch_size, "fit batch_size")
    validation_split = check_real(validation_split, "fit validation_split", low=0.0, high=1.0,
                                  high_inclusive=False)
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"fit verbose must be 0 (silent), 1 (progress bar) or 2 (one line per epoch); "
                         f"got {verbose!r}")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"fit shuffle must be True or False; got {shuffle!r}")
    rng = make_rng(seed)
    if isinstance(callbacks, Callback):
        raise TypeError(f"fit callbacks must be a list of Callback objects; got a single "
                        f"{type(callbacks).__name__} (write callbacks=[...])")
    callbacks = list(callbacks) if callbacks is not None else []
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"fit callbacks must be minidl Callback objects; got {type(callback).__name__}")
    if validation_data is not None and validation_split > 0.0:
        raise ValueError("fit: give validation_split or validation_data, not both")

    loss, optimizer = compiled.loss, compiled.optimizer
    data, target, width = prepare_data(network, loss, x, y, "fit")
    x_val: Array | None = None
    y_val: Any = None
    if validation_split > 0.0:
        # As Keras: the last fraction of the samples, taken before any shuffling.
        split_at = int(len(data) * (1.0 - validation_split))
        if split_at == 0 or split_at == len(data):
            raise ValueError(
                f"fit validation_split={validation_split} of {len(data)} samples leaves "
                f"{split_at} for training and {len(data) - split_at} for validation; both need at least one"
            )
        data, x_val = data[:split_at], data[split_at:]
        target, y_val = target[:split_at], target[split_at:]
    elif validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            got = (f"a {type(validation_data).__name__} of {len(validation_data)}"
                   if isinstance(validation_data, (tuple, list)) else type(validation_data).__name__)
            raise TypeError(f"fit validation_data must be a pair (x_val, y_val); got {got}")
        x_val, y_val, _ = prepare_data(network, loss, validation_data[0], validation_data[1],
                                       "fit validation_data")

    plan = StepPlan(network, loss)
    functions = [(name, _metric_function(kind, loss, width)) for name, kind in compiled.metrics]
    parameters = plan.parameters
    samples = len(data)
    # Batch boundaries. A layer may need more than one sample per training batch
    # (BatchNorm: ``min_training_batch = 2``, a single sample has no variance); a last
    # batch smaller than that joins the batch before it (33 samples in batches of 32
    # train as one batch of 33) rather than failing in the middle of an epoch.
    starts = list(range(0, samples, batch_size))
    min_batch = max((layer.min_training_batch for layer in network.layers), default=1)
    if len(starts) > 1 and samples - starts[-1] < min_batch:
        starts.pop()
    bounds = list(zip(starts, [*starts[1:], samples], strict=True))
    largest = max(end - start for start, end in bounds)
    steps = len(bounds)
    history = History()
    network.history = history
    network.stop_training = False
    network.stop_reason = None
    network.fit_rng = rng  # saved with the optimizer: fit(seed=network.fit_rng) resumes exactly
    all_callbacks: list[Callback] = [history, *callbacks]
    params = {"epochs": epochs, "batch_size": batch_size, "steps": steps, "samples": samples,
              "verbose": verbose}
    for callback in all_callbacks:
        callback.set_network(network, params)
    batch_callbacks = [c for c in all_callbacks if type(c).on_batch_end is not Callback.on_batch_end]

    stream = sys.stdout
    progress = None
    if verbose:
        progress = _Progress(stream, verbose == 1 and _is_terminal(stream), epochs, steps)
    live = progress is not None and progress.live
    want_batch_logs = live or bool(batch_callbacks)

    # Buffers allocated once: one batch of shuffled samples, and the snapshot of the
    # parameters taken at each epoch's start (restored if they turn non-finite). Each
    # epoch draws one permutation; each batch is gathered through its slice of it into
    # the batch buffer, so no shuffled copy of the whole data set is ever made (it
    # would double fit's memory). Unshuffled batches are views of the data.
    if shuffle:
        x_batch = np.empty((largest, *data.shape[1:]), dtype=data.dtype)
        y_batch = np.empty((largest, *target.shape[1:]), dtype=target.dtype)
    snapshot = [p.value.copy() for p in parameters]
    metric_count = len(functions)
    modes = [layer.training for layer in network.layers]
    logs: dict[str, float] = {}
    network.train()
    # Ctrl-C is held until the current batch's update is complete (see InterruptGuard).
    guard = InterruptGuard()
    first_step = True
    try:
        guard.install()
        for callback in all_callbacks:
            callback.on_train_begin({})
        for epoch in range(epochs):
            for callback in all_callbacks:
                callback.on_epoch_begin(epoch, {})
            if progress is not None:
                progress.epoch_begin(epoch)
            for saved, parameter in zip(snapshot, parameters, strict=True):
                np.copyto(saved, parameter.value)
            if shuffle:
                order = rng.permutation(samples)
            loss_total = 0.0
            metric_totals = [0.0] * metric_count
            seen = 0
            bad_value: float | None = None
            for batch, (start, end) in enumerate(bounds):
                if guard.pending:  # a Ctrl-C held during the last batch: stop before this one
                    guard.check()
                if shuffle:
                    index = order[start:end]
                    # mode="clip" (the indices are valid) lets take write straight into
                    # out; the default mode="raise" would go through a temporary copy.
                    xb = np.take(data, index, axis=0, out=x_batch[: len(index)], mode="clip")
                    yb = np.take(target, index, axis=0, out=y_batch[: len(index)], mode="clip")
                else:
                    xb = data[start:end]
                    yb = target[start:end]
                value, output = forward_loss_backward(plan, xb, yb)
                if first_step:
                    first_step = False
                    _check_parameters_after_backward(network, parameters)
                if not math.isfinite(value):
                    bad_value = value
                    break
                guard.protected = True
                optimizer.step(parameters)
                guard.protected = False
                count = len(xb)
                seen += count
                loss_total += value * count
                for i in range(metric_count):
                    metric_totals[i] += functions[i][1](output, yb) * count
                if want_batch_logs:
                    batch_logs = {"loss": loss_total / seen}
                    for i in range(metric_count):
                        batch_logs[functions[i][0]] = metric_totals[i] / seen
                    if live:
                        assert progress is not None
                        progress.batch_end(batch + 1, batch_logs)
                    if batch_callbacks:
                        batch_logs["size"] = float(count)
                        for callback in batch_callbacks:
                            callback.on_batch_end(batch, batch_logs)
            if bad_value is not None or not _all_finite(parameters):
                restored = not _all_finite(parameters)
                if restored:
                    for saved, parameter in zip(snapshot, parameters, strict=True):
                        np.copyto(parameter.value, saved)
                    optimizer.reset()
                where = (f"the training loss became {bad_value} at epoch {epoch + 1}, batch {batch + 1}"
                         if bad_value is not None else
                         f"the parameters became non-finite during epoch {epoch + 1}")
                kept = ("the parameters had turned non-finite, so those of the start of the epoch were "
                        "restored and the optimizer's state was reset" if restored else
                        "the parameters are those before that batch (its update was not applied)")
                reason = f"stopped: {where}; {kept} (try a smaller learning rate)"
                network.stop_training = True
                network.stop_reason = reason
                warnings.warn(reason, RuntimeWarning, stacklevel=3)
                break
            logs = {"loss": loss_total / seen}
            for i in range(metric_count):
                logs[functions[i][0]] = metric_totals[i] / seen
            if x_val is not None:
                # In batches of batch_size, as Keras: one pass over all of x_val at once would
                # hold the activations of every validation sample (fit's memory grew with it).
                validation = _evaluate_arrays(network, plan, functions, x_val, y_val, batch_size)
                for key, number in validation.items():
                    logs[f"val_{key}"] = number
            if progress is not None:
                progress.epoch_end(logs)
            for callback in all_callbacks:
                callback.on_epoch_end(epoch, logs)
            if guard.pending:
                guard.check()
            if network.stop_training:
                break
        for callback in all_callbacks:
            callback.on_train_end(logs)
        if progress is not None and network.stop_reason is not None:
            progress.message(network.stop_reason)
        guard.check()
    except KeyboardInterrupt:
        network.stop_reason = history.stop_reason = (
            f"interrupted (KeyboardInterrupt) after {len(history.epoch)} complete epochs; the "
            "parameters are those after the last complete batch, network.history holds the epochs"
        )
        raise
    finally:
        guard.restore()
        for layer, mode in zip(network.layers, modes, strict=True):
            layer.train(mode)
    return history
