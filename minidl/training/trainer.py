"""The :class:`Trainer`: what ``network.compile`` sets up and ``fit``, ``evaluate``, ``train_step`` run.

``network.compile(...)`` makes ``network.trainer``, which holds the training state: the
loss, the optimizer, the metrics, the History of the latest ``fit``, the stop flags and
``fit``'s random generator. The :class:`~minidl.Network` methods hand over to it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from minidl import metrics as _metrics
from minidl._typing import Array, ArrayLike, Seed
from minidl._validation import check_bool, check_count, check_positive_int, check_real
from minidl.errors import caller_outside_minidl, label
from minidl.initializers import make_rng
from minidl.layers.base import Layer, Parameter, copy_states, mode
from minidl.losses import Loss, get_loss
from minidl.metrics import MetricFunction
from minidl.optimizers import Optimizer, get_optimizer
from minidl.training.callbacks import Callback, CallbackList, History, progress_for
from minidl.training.data import Batches, checked_batch, fit_data, prepare_data
from minidl.training.interrupts import InterruptGuard
from minidl.training.step import StepPlan, check_loss_fits, forward_loss, step

if TYPE_CHECKING:
    from minidl.network import Network


class Trainer:
    """The training state of one network: compiled loss, optimizer and metrics, history, stop flags.

    Made by ``network.compile(optimizer, loss, metrics)`` as ``network.trainer``; the
    network's ``fit``, ``evaluate``, ``train_step`` and ``loss_and_backward`` hand over
    to it, and its attributes are the network's ``loss``, ``optimizer``, ``history``,
    ``stop_training``, ``stop_reason`` and ``fit_rng``.

    Parameters
    ----------
    network
        The network to train.
    optimizer
        An :class:`~minidl.Optimizer` or a name: ``"sgd"``, ``"rmsprop"`` (default, as
        Keras), ``"adam"``, ``"adamw"`` (default settings).
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

    Attributes
    ----------
    metrics : list[tuple[str, str | Callable]]
        ``(name as given, kind)``: the kind is the lower-case name, or the function.
    history : History or None
        The History of the latest ``fit`` (kept when ``compile`` is called again).
    stop_training : bool
        Set True (by ``Callback.request_stop``) to end ``fit`` after the current epoch, or after
        the current batch when set by a callback's ``on_batch_end``.
    stop_reason : str or None
        Why the latest ``fit`` stopped before its last epoch (early stopping, a NaN/inf
        loss, Ctrl-C), or None.
    fit_rng : numpy.random.Generator or None
        The random generator the latest ``fit`` shuffled with (advanced by it; kept when
        ``compile`` is called again), restored by ``minidl.load`` from files saved with
        the optimizer: ``fit(..., seed=network.fit_rng)`` continues the same run exactly.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones), a missing loss, or a loss
        that cannot read the last layer (``loss.check_fits``, asked of the layer before too
        when the last is a Dropout, Flatten, Identity or pooling layer, which pass its values on),
        or a last Softmax over a single output unit (it always gives 1.0).

    Examples
    --------
    >>> net = Network([Dense(4, 3), Softmax()])
    >>> net.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    >>> net.optimizer
    Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-08, weight_decay=0.0)
    >>> net.metrics_names
    ['loss', 'accuracy']
    """

    def __init__(self, network: Network, optimizer: str | Optimizer = "rmsprop",
                 loss: str | Loss | None = None, metrics: Sequence[str | Callable[..., float]] | None = None,
                 ) -> None:
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='mse' or loss='categorical_crossentropy'")
        self.network, self.metrics = network, _metrics.compiled(metrics)
        self.loss, self.optimizer = get_loss(loss), get_optimizer(optimizer)
        check_loss_fits(network.layers, self.loss)
        previous = network.trainer
        self.history: History | None = previous.history if previous else None
        self.fit_rng: np.random.Generator | None = previous.fit_rng if previous else None
        self.stop_training = False
        self.stop_reason: str | None = None
        self._step_plan: StepPlan | None = None  # train_step's, worked out on its first call

    def fit(self, x: ArrayLike, y: ArrayLike, epochs: int = 1, batch_size: int = 32, shuffle: bool = True,
            validation_split: float = 0.0, validation_data: tuple[ArrayLike, ArrayLike] | None = None,
            callbacks: Iterable[Callback] | None = None, verbose: int = 1, seed: Seed = None) -> History:
        """Train by mini-batch gradient descent; returns a History (what ``network.fit`` runs).

        Each epoch visits the samples once, in batches of ``batch_size``: one step
        (:mod:`~minidl.training.step`) and one update per batch, in training mode
        (validation in evaluation mode); the layers' modes are restored at the end.

        Parameters
        ----------
        x, y
            Inputs ``(samples, features)``; targets shaped like the output (``(samples,)``
            is read as a column), or integer labels for ``sparse_categorical_crossentropy``.
            Checked and cast to the network's dtype once (:mod:`~minidl.training.data`).
        epochs, batch_size
            Passes over the data (0: none, as Keras); samples per step (the last batch the rest).
        shuffle
            Shuffle the training samples at every epoch (one permutation per epoch).
        validation_split, validation_data
            A fraction in ``[0, 1)`` held out, **the last samples, before any shuffling**
            (as Keras); or ``(x_val, y_val)``. Not both.
        callbacks
            :class:`~minidl.Callback` objects (any iterable, read once; each object once).
        verbose
            0 silent; 1 a live bar on a terminal, else one line per epoch; 2 one line per epoch.
        seed
            An int or a ``numpy.random.Generator`` for the shuffling (the same seed, the same
            bits), kept as ``fit_rng``: ``seed=network.fit_rng`` continues a run exactly.

        Returns
        -------
        History
            One value per epoch of ``"loss"``, each metric, ``"val_loss"``, ``"val_<metric>"``
            (training values: means over the epoch's batches; validation: after the epoch).
            A NaN or infinite loss stops training (:class:`NonFiniteRecovery`); Ctrl-C
            waits for the batch's update (:class:`~minidl.training.InterruptGuard`).

        Examples
        --------
        >>> net = Network([Dense(1, 1, weight_init="zeros", bias_init="zeros")])
        >>> net.compile(optimizer=SGD(learning_rate=0.1), loss="mse")
        >>> history = net.fit([[0.0], [1.0]], [1.0, 3.0], epochs=500, batch_size=2, verbose=0)
        >>> np.round(net.predict([[2.0]]), 3)
        array([[5.]])
        """
        epochs = check_count(epochs, "fit epochs")  # 0 trains nothing, as in Keras
        batch_size = check_positive_int(batch_size, "fit batch_size")
        split = check_real(validation_split, "fit validation_split", low=0.0, high=1.0, high_inclusive=False)
        rng, history, shuffle = make_rng(seed), History(), check_bool(shuffle, "fit shuffle")
        callback_list = CallbackList(callbacks, history, progress_for(verbose))
        plan = StepPlan(self.network, self.loss)
        data, target, width, validation = fit_data(self.network, self.loss, x, y, split, validation_data)
        batches = Batches(self.network, data, target, batch_size, rng if shuffle else None)
        self.history, self.stop_training, self.stop_reason, self.fit_rng = history, False, None, rng
        # every callback gets the network and what fit was asked to do (Callback.params)
        callback_list.call("set_network", self.network, {"epochs": epochs, "batch_size": batch_size,
                           "steps": len(batches), "samples": len(data), "verbose": verbose})
        self._train(plan, batches, validation, self._metric_functions(width), callback_list, epochs)
        return history

    def _train(self, plan: StepPlan, batches: Batches, validation: tuple[Array, Any] | None,
               functions: dict[str, MetricFunction], callback_list: CallbackList, epochs: int) -> None:
        """The epochs of ``fit``, in training mode, with Ctrl-C held until each batch's update is complete."""
        recovery, logs = NonFiniteRecovery(self, plan.parameters), {}
        try:
            with InterruptGuard() as guard, mode(self.network.layers, training=True):
                callback_list.call("on_train_begin", {})
                for epoch in range(epochs):
                    callback_list.call("on_epoch_begin", epoch, {})
                    recovery.epoch_begin()
                    epoch_logs = self._epoch(plan, batches, functions, callback_list, guard, recovery, epoch)
                    if epoch_logs is None:
                        break
                    logs = epoch_logs
                    if validation is not None:
                        # In batches of batch_size, as Keras: all of x_val at once would hold
                        # the activations of every validation sample (fit's memory grew with it).
                        validated = self._evaluate(plan, functions, *validation, batches.batch_size)
                        logs.update({f"val_{key}": value for key, value in validated.items()})
                    if callback_list.logs_learning_rate:  # a scheduler or ReduceLROnPlateau is in fit
                        logs["learning_rate"] = self.optimizer.learning_rate
                    callback_list.call("on_epoch_end", epoch, logs)
                    guard.check()
                    if self.stop_training:
                        break
                callback_list.call("on_train_end", logs)
        except KeyboardInterrupt:
            assert self.history is not None
            self.stop_reason = self.history.stop_reason = (
                f"interrupted (KeyboardInterrupt) after {len(self.history.epoch)} complete epochs; the "
                "parameters are those after the last complete batch, network.history holds the epochs")
            raise

    def _epoch(self, plan: StepPlan, batches: Batches, functions: dict[str, MetricFunction],
               callback_list: CallbackList, guard: InterruptGuard, recovery: NonFiniteRecovery,
               epoch: int) -> dict[str, float] | None:
        """One pass over the batches: the epoch's logs, or None when it stopped on a non-finite number."""
        means, per_batch = RunningMeans(functions), bool(callback_list.per_batch)
        for batch, (xb, yb) in enumerate(batches):
            guard.check()  # a Ctrl-C held during the last batch: stop before this one
            seen = xb.copy() if epoch == batch == 0 else None
            value, output = step(plan, xb, yb, checked=True)  # the data was checked once, by fit
            # After the first backward of fit (step checked the parameters): did the layers change x?
            # (with shuffle=False, the user's own x)
            if seen is not None and not np.array_equal(seen, xb, equal_nan=True):
                raise ValueError("fit: the network's forward or backward changed the first batch of "
                                 "x in place (a layer writing x *= a, say); a layer must leave its input "
                                 "as it is (x = x * a), or training changes the data it trains on")
            if not math.isfinite(value):
                recovery.stop(f"the training loss became {value} at epoch {epoch + 1}, batch {batch + 1}",
                              first=epoch == batch == 0 and self.optimizer.iterations == 0)
                return None
            means.add(value, output, yb)  # before the update: a metric that refuses the target leaves all be
            guard.protected = True
            self.optimizer.step(plan.parameters)
            guard.protected = False
            if per_batch:
                callback_list.batch_end(batch, {**means.logs(), "size": float(len(xb))})
                if self.stop_training:  # asked after a batch: Keras ends the epoch there too
                    break
        if not recovery.all_finite():
            recovery.stop(f"the parameters or state arrays became non-finite during epoch {epoch + 1}")
            return None
        return means.logs()

    def evaluate(self, x: ArrayLike, y: ArrayLike, batch_size: int | None = 32) -> dict[str, float]:
        """The compiled loss and metrics on ``(x, y)``, computed in evaluation mode.

        Returns a dict ``{"loss": ..., "<metric>": ...}`` (always a dict, unlike Keras's
        list). ``batch_size`` runs the data in slices of that many samples, 32 by default
        as in Keras; ``fit`` computes ``val_loss`` in slices of its own ``batch_size``, so the
        two agree to the last bit when the batch sizes do; None runs it at once (the same up
        to rounding). The layers' modes are restored
        afterwards. A network ending in Softmax or Sigmoid under its cross-entropy gets the
        exact loss from the logits, as ``fit`` does, not ``loss(predict(x), y)``'s clipped one
        (the two differ once outputs saturate).

        Examples
        --------
        >>> net = Network([Dense(1, 1, weight_init=[[2.0]], bias_init="zeros")])
        >>> net.compile(loss="mse", metrics=["mae"])
        >>> net.evaluate([[1.0], [2.0]], [2.0, 5.0])
        {'loss': 0.5, 'mae': 0.5}
        """
        batch_size = None if batch_size is None else check_positive_int(batch_size, "evaluate batch_size")
        plan = StepPlan(self.network, self.loss, for_training=False)
        data, target, width = prepare_data(self.network, self.loss, x, y, "evaluate")
        return self._evaluate(plan, self._metric_functions(width), data, target, batch_size)

    def _evaluate(self, plan: StepPlan, functions: dict[str, MetricFunction], x: Array, target: Any,
                  batch_size: int | None) -> dict[str, float]:
        """Loss and metrics on checked data, in evaluation mode, in batches of ``batch_size``."""
        size, means = len(x) if batch_size is None else batch_size, RunningMeans(functions)
        with mode(self.network.layers, training=False):
            for start in range(0, len(x), size):
                xb, yb = x[start : start + size], target[start : start + size]
                value, output = forward_loss(plan, xb, yb, checked=True)
                means.add(value, output, yb)
        return means.logs()

    def train_step(self, x: ArrayLike, y: ArrayLike) -> float:
        """One training step on one batch with the compiled loss and optimizer; returns the loss.

        Forward (current mode), loss (fused with a final Softmax/Sigmoid as in ``fit``),
        backward, optimizer step. The data is checked on every call. When the loss is
        NaN or infinite, no gradient is computed and no step is applied.
        """
        if self._step_plan is None or self._step_plan.loss is not self.loss:  # a loss set since: checked
            self._step_plan = StepPlan(self.network, self.loss)
        value, _ = step(self._step_plan, *checked_batch(self.network, x, y, "train_step"))
        if math.isfinite(value):
            self.optimizer.step(self._step_plan.parameters)
        return value

    def _metric_functions(self, width: int) -> dict[str, MetricFunction]:
        return {name: _metrics.resolve(kind, self.loss, width) for name, kind in self.metrics}


class RunningMeans:
    """The loss and metrics of a pass over batches: sums weighted by batch size, over the samples seen."""

    def __init__(self, functions: dict[str, MetricFunction]) -> None:
        self.functions, self.totals, self.seen = functions, dict.fromkeys(["loss", *functions], 0.0), 0

    def add(self, value: float, output: Array, target: Any) -> None:
        """Count one batch: its loss ``value``, and each metric of ``output`` against ``target``."""
        count = len(target)
        self.seen += count
        self.totals["loss"] += value * count
        for name, function in self.functions.items():
            self.totals[name] += function(output, target) * count

    def logs(self) -> dict[str, float]:
        """``{"loss": ..., "<metric>": ...}``: the means so far."""
        return {name: total / self.seen for name, total in self.totals.items()}


def loss_and_backward(network: Network, x: ArrayLike, y: ArrayLike, loss: Loss | str | None = None) -> float:
    """Forward, loss and backward on ``(x, y)``, filling every parameter's ``grad``; returns the loss.

    The explicit training step without the update: follow it with
    ``optimizer.step(network.parameters())``. Runs in the current mode.

    When the network ends in ``Softmax`` (with a categorical cross-entropy) or
    ``Sigmoid`` (with binary cross-entropy) and the loss reads probabilities, the
    loss is computed from the last layer's input, the logits, exactly, and
    backpropagation starts below that layer with ``(p - y) / N`` (finite for any
    logits). Backpropagation stops at the first layer with parameters (its
    ``backward_parameters``): no gradient with respect to ``x`` is computed.
    When the loss is NaN or infinite the gradients are left as they were. A loss that
    cannot read the last layer is refused as ``compile`` refuses it (``ValueError``), and so
    is it in ``train_step``.

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
    loss = require_trainer(network, "loss_and_backward").loss if loss is None else loss
    return step(StepPlan(network, get_loss(loss)), *checked_batch(network, x, y, "loss_and_backward"))[0]


def require_trainer(network: Network, caller: str) -> Trainer:
    """The network's trainer, or a clear error if ``compile`` was not called."""
    if network.trainer is None:
        raise RuntimeError(f"{caller}() needs a compiled network: call network.compile(optimizer=..., "
                           "loss=...) first, e.g. network.compile(optimizer='adam', loss='mse')")
    return network.trainer


class NonFiniteRecovery:
    """A NaN or infinite loss stops ``fit``; what it spoilt is put back from the start of the epoch.

    The step of the batch with a non-finite loss is not applied. The parameters (into
    buffers allocated once) and the layers' state arrays (BatchNorm's running statistics,
    put back by the layer's ``load_state_arrays``) are copied at each epoch's start. Those
    copies are restored, and the optimizer's state is reset, when the parameters or state
    arrays turned non-finite, or when the network has state arrays: the forward pass of the
    batch with the non-finite loss has already updated them (so the network is that of the
    last complete epoch; nothing is copied per batch).
    The reason (advising a smaller learning rate, except on fit's first batch: no update had
    been applied, so the inputs or the starting weights gave it) is kept in ``stop_reason`` and
    ``History.stop_reason``, warned as a
    ``RuntimeWarning`` and printed when ``verbose > 0``; the History holds the
    completed epochs only.
    """

    def __init__(self, trainer: Trainer, parameters: list[Parameter]) -> None:
        self.trainer, self.parameters = trainer, parameters
        self.stateful = [layer for layer in trainer.network.layers if layer.state_arrays()]
        self.snapshot = [p.value.copy() for p in parameters]
        self.states: list[tuple[Layer, dict[str, Array]]] = []

    def epoch_begin(self) -> None:
        """Copy the parameters and state arrays of the epoch's start."""
        for saved, parameter in zip(self.snapshot, self.parameters, strict=True):
            np.copyto(saved, parameter.value)
        self.states = copy_states(self.stateful)

    def all_finite(self) -> bool:
        """Whether every parameter and state array is finite (a cheap sum first, then element-wise).

        A loss can stay finite while a state array does not (BatchNorm's running variance of
        inputs near float32's largest number normalises with the batch's own statistics).
        """
        arrays = [p.value for p in self.parameters] + [
            np.asarray(array) for layer in self.stateful for array in layer.state_arrays().values()]
        return all(math.isfinite(float(a.sum())) or np.isfinite(a).all() for a in arrays)

    def stop(self, where: str, first: bool = False) -> None:
        """Stop training, saying ``where`` it went wrong; restore the epoch's start if needed.

        ``first``: on fit's first batch, before any update, so the learning rate is not the cause.
        """
        broken = not self.all_finite()
        states = "; ".join(f"{label(layer)} ({', '.join(layer.state_arrays())})" for layer in self.stateful)
        kept = "the parameters are those before that batch (its update was not applied)"
        if broken:
            which = f"the parameters or the state arrays of {states}" if self.stateful else "the parameters"
            kept = f"{which} had turned non-finite, so those of the start of the epoch were restored"
        elif self.stateful:
            kept = (f"that batch's forward had already updated the state arrays of {states}, so they and the "
                    "parameters of the start of the epoch were restored")
        if broken or self.stateful:
            for saved, parameter in zip(self.snapshot, self.parameters, strict=True):
                np.copyto(parameter.value, saved)
            for layer, saved_states in self.states:
                layer.load_state_arrays(saved_states)
            self.trainer.optimizer.reset()
            kept += " and the optimizer's state was reset"
        advice = ("; no update had been applied yet, so the learning rate is not the cause: the inputs and "
                  "the weights fit started from produce it (check x and y for huge values, and the weight "
                  "initialisation)") if first else " (try a smaller learning rate)"
        reason = f"stopped: {where}; {kept}{advice}"
        self.trainer.stop_training, self.trainer.stop_reason = True, reason
        warnings.warn(reason, RuntimeWarning, stacklevel=caller_outside_minidl())  # fit's caller
