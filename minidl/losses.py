"""Loss functions: one number that says how wrong the predictions are, and its gradient.

Every loss is a mean over samples, so the learning rate does not depend on the batch
size, and ``backward`` returns ``dL/dpredicted`` with the shape of ``predicted``.

**Target shapes.** ``predicted`` and ``actual`` must have the same shape, with one
convenience: a 1-D target of ``N`` values against a single-output prediction of shape
``(N, 1)`` is read as a column (and a scalar target against a one-value prediction as
that value). Anything else (for instance ``(N,)`` against ``(N, 2)``) is an error: the
two are never broadcast into an ``(N, N)`` table of differences.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from minidl._typing import Array, ArrayLike
from minidl._validation import check_real, class_by_name
from minidl.layers.activations import Sigmoid, Softmax
from minidl.layers.base import Layer


def match_target(predicted: Array, actual: ArrayLike, owner: str) -> Array:
    """Return ``actual`` as an array of ``predicted``'s shape and dtype, or raise.

    The dtype is ``predicted``'s when it is a float dtype, float64 otherwise (an integer
    prediction never truncates a float target).

    Accepts equal shapes; ``(N,)`` targets for ``(N, 1)`` predictions (and ``(N, 1)``
    targets for ``(N,)`` predictions); a scalar target for a one-value prediction. An
    empty ``predicted`` is an error (a mean over no elements is undefined).
    """
    if type(predicted) is not np.ndarray:
        raise TypeError(f"{owner}: predicted must be a numpy array; got {type(predicted).__name__}")
    if predicted.size == 0:
        raise ValueError(
            f"{owner}: predicted is empty (shape {predicted.shape}); expected at least one value"
        )
    target = np.asarray(actual)
    if target.dtype.kind not in "fiub":
        raise TypeError(f"{owner}: actual must hold real numbers; got dtype {target.dtype}")
    if target.shape != predicted.shape:
        p_shape, a_shape = predicted.shape, target.shape
        column = (
            (len(p_shape) == 2 and p_shape[1] == 1 and a_shape == p_shape[:1])
            or (len(a_shape) == 2 and a_shape[1] == 1 and p_shape == a_shape[:1])
            or (a_shape == () and predicted.size == 1)
        )
        if not column:
            raise ValueError(
                f"{owner}: predicted has shape {p_shape} but actual has shape {a_shape}; "
                "they must match (a 1-D target is accepted only for a single-output "
                "prediction of shape (N, 1))"
            )
        target = target.reshape(p_shape)
    # The target takes the prediction's float dtype (float32 stays float32); never an
    # integer dtype, which would truncate a float target (1.5 -> 1) into a wrong loss.
    dtype = predicted.dtype if predicted.dtype.kind == "f" else np.dtype(np.float64)
    if target.dtype != dtype:
        target = target.astype(dtype)
    return target


class Loss(ABC):
    """Base class of losses: ``forward(predicted, actual) -> float``, ``backward() -> dL/dpredicted``.

    ``forward`` keeps what ``backward`` needs; ``backward`` takes no argument and returns
    an array shaped like the last ``predicted``. Calling a loss runs ``forward``.

    Examples
    --------
    A loss of your own, the sum of squared errors ``L = sum((p - y)**2)``:

    >>> class SumSquaredError(Loss):
    ...     def forward(self, predicted, actual):
    ...         self.error = predicted - np.asarray(actual, dtype=float)
    ...         return float((self.error**2).sum())
    ...     def backward(self):
    ...         return 2.0 * self.error          # dL/dp, shaped like predicted
    >>> loss = SumSquaredError()
    >>> loss(np.array([9.0, 3.0]), [3.0, 3.0]), loss.backward()
    (36.0, array([12.,  0.]))
    """

    #: The name used by ``Network.compile`` and in model files.
    name: str = "loss"

    @abstractmethod
    def forward(self, predicted: Array, actual: ArrayLike) -> float:
        """The loss of ``predicted`` against ``actual``, a Python float."""

    @abstractmethod
    def backward(self) -> Array:
        """``dL/dpredicted`` for the last ``forward``, shaped like ``predicted``."""

    def __call__(self, predicted: Array, actual: ArrayLike) -> float:
        """Run ``forward``."""
        return self.forward(predicted, actual)

    def config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this loss."""
        return {}

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"{type(self).__name__}({arguments})"

    def _not_ready(self) -> RuntimeError:
        return RuntimeError(f"{type(self).__name__}.backward() called before forward()")


class MeanSquaredError(Loss):
    """Mean of the squared errors, ``L = mean((predicted - actual)**2)``.

    The mean runs over every element (samples and outputs), as scikit-learn's
    ``mean_squared_error`` does for one output. With ``n`` elements,
    ``dL/dpredicted = 2 * (predicted - actual) / n``.

    Examples
    --------
    >>> MeanSquaredError().forward(np.array([[9.0], [3.0]]), [3.0, 3.0])
    18.0
    """

    name = "mean_squared_error"

    def __init__(self) -> None:
        self._error: Array | None = None

    def forward(self, predicted: Array, actual: ArrayLike) -> float:
        """``mean((predicted - actual)**2)``: shapes ``(N, k)`` (or ``(k,)``) in, a float out."""
        error = predicted - match_target(predicted, actual, "MeanSquaredError")
        self._error = error
        return float(np.vdot(error, error)) / error.size

    def backward(self) -> Array:
        """``2 * (predicted - actual) / n``, shaped like ``predicted``."""
        error = self._error
        if error is None:
            raise self._not_ready()
        grad: Array = error * (2.0 / error.size)
        return grad


class MeanAbsoluteError(Loss):
    """Mean of the absolute errors, ``L = mean(|predicted - actual|)``.

    ``dL/dpredicted = sign(predicted - actual) / n`` (0 where the error is exactly 0).

    Examples
    --------
    The course's ``weights_0`` predictions against its four targets, ``(8 + 6 + 5 + 5) / 4``:

    >>> MeanAbsoluteError().forward(np.array([[9.0], [9.0], [0.0], [12.0]]), [1, 3, 5, 7])
    6.0
    """

    name = "mean_absolute_error"

    def __init__(self) -> None:
        self._error: Array | None = None

    def forward(self, predicted: Array, actual: ArrayLike) -> float:
        """``mean(|predicted - actual|)``: shapes ``(N, k)`` (or ``(k,)``) in, a float out."""
        error = predicted - match_target(predicted, actual, "MeanAbsoluteError")
        self._error = error
        return float(np.abs(error).sum()) / error.size

    def backward(self) -> Array:
        """``sign(predicted - actual) / n``, shaped like ``predicted``."""
        error = self._error
        if error is None:
            raise self._not_ready()
        grad: Array = np.sign(error) * (1.0 / error.size)
        return grad


# -- classification: cross-entropy losses -----------------------------------------------
#
# Each cross-entropy loss reads either probabilities (the default, what a network ending
# in Sigmoid/Softmax outputs) or logits (``from_logits=True``, the raw scores before the
# activation). The logits path is the exact one: it works with log-sigmoid/log-softmax
# computed stably, so the loss and its gradient ``(p - y) / N`` stay finite and exact even
# for logits of +-1000. The probabilities path clips ``p`` to ``[epsilon, 1 - epsilon]``,
# which keeps everything finite but is only approximate for saturated outputs.
#
# Fusion: when a network ends in the activation the loss expects (``fuses_with``), the
# training step (``Network.fit``, ``Network.train_step``, ``Network.loss_and_backward``)
# calls ``forward_from_logits`` with the input of that last layer, so it gets the exact
# logits path with ``from_logits=False`` too.


class _CrossEntropy(Loss):
    """Shared machinery of the cross-entropy losses (``from_logits``, ``epsilon``, fusion)."""

    #: The activation whose input are the logits of this loss (Sigmoid or Softmax).
    _activation: type[Layer] = Softmax

    def __init__(self, from_logits: bool = False, epsilon: float = 1e-7) -> None:
        if not isinstance(from_logits, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__} from_logits must be True or False; got {from_logits!r}")
        self.from_logits = bool(from_logits)
        self.epsilon = check_real(epsilon, f"{type(self).__name__} epsilon", low=0.0, high=0.5,
                                  low_inclusive=False, high_inclusive=False)
        # What backward needs: the probabilities p, the target, the divisor N, and whether
        # the last forward read logits (gradient (p - y) / N) or probabilities.
        self._p: Array | None = None
        self._target: np.ndarray[Any, Any] | None = None
        self._count = 1
        self._read_logits = False

    def fuses_with(self, layer: Layer) -> bool:
        """Whether a network ending in ``layer`` should use ``forward_from_logits``.

        True when this loss reads probabilities (``from_logits=False``) and ``layer`` is the
        activation that makes them (:class:`~minidl.Softmax` for the categorical losses,
        :class:`~minidl.Sigmoid` for the binary one).
        """
        return not self.from_logits and isinstance(layer, self._activation)

    def forward(self, predicted: Array, actual: ArrayLike) -> float:
        """The loss of probabilities ``predicted`` (or logits, with ``from_logits=True``)."""
        if self.from_logits:
            return self.forward_from_logits(predicted, actual)
        return self._forward_probabilities(predicted, actual)

    @abstractmethod
    def forward_from_logits(
        self, logits: Array, actual: ArrayLike, probabilities: Array | None = None
    ) -> float:
        """The exact loss from the logits ``z`` (the input of the Sigmoid/Softmax)."""

    @abstractmethod
    def _forward_probabilities(self, predicted: Array, actual: ArrayLike) -> float:
        """The loss from clipped probabilities."""

    def config(self) -> dict[str, Any]:
        """``from_logits`` and ``epsilon``."""
        return {"from_logits": self.from_logits, "epsilon": self.epsilon}


_PROBABILITIES = "predicted probabilities (from_logits=False)"


def _check_unit_interval(values: Array, what: str, owner: str) -> None:
    """Raise unless every value lies in ``[0, 1]`` (probabilities, or cross-entropy targets).

    Two reductions, cheap next to the loss itself; without them a probability of 1.5 or
    a target of 2 would be clipped or used silently into a wrong loss.
    """
    low = float(values.min())
    high = float(values.max())
    if not (low >= 0.0 and high <= 1.0):  # written so that NaN fails too
        raise ValueError(f"{owner}: {what} must be in [0, 1]; got values from {low:g} to {high:g}")


def _samples(predicted: Array) -> int:
    """``N``, the number of samples: rows of a batch, 1 for a single sample ``(k,)``."""
    return predicted.size // predicted.shape[-1] if predicted.ndim else 1


class BinaryCrossEntropy(_CrossEntropy):
    """Binary cross-entropy, ``L = mean(-(y log p + (1 - y) log(1 - p)))``.

    For one or several independent yes/no outputs: ``p`` is the predicted probability of
    a 1 (a network ending in :class:`~minidl.Sigmoid`), ``y`` the target, 0 or 1 (or a
    probability). The mean runs over every element, as Keras and PyTorch reduce it.
    Shapes as for :class:`MeanSquaredError` (``(N,)`` targets for ``(N, 1)`` outputs).

    Parameters
    ----------
    from_logits
        False (default): ``predicted`` are probabilities in ``[0, 1]``; they are clipped
        to ``[epsilon, 1 - epsilon]``, and ``backward`` returns the (finite) gradient
        ``dL/dp = (p - y) / (p (1 - p)) / n`` at the clipped ``p``. True: ``predicted``
        are logits ``z`` (``p = sigmoid(z)``), and the loss is computed exactly as
        ``mean(max(z, 0) - z y + log(1 + exp(-|z|)))`` with
        ``dL/dz = (sigmoid(z) - y) / n``, finite for any finite ``z``.
    epsilon
        The clipping margin of the probabilities path, in ``(0, 0.5)`` (default 1e-7).

    Notes
    -----
    When a network ends in ``Sigmoid`` and this loss has ``from_logits=False``, the
    training step (``Network.fit``, ``train_step``, ``loss_and_backward``) *fuses* them:
    it computes the loss from the Sigmoid's input with the exact logits formula and starts
    backpropagation below the Sigmoid with ``(p - y) / n``. The Sigmoid still runs, so
    predictions and metrics see probabilities.

    Examples
    --------
    >>> loss = BinaryCrossEntropy()
    >>> round(loss.forward(np.array([[0.9], [0.2]]), [1, 0]), 6)  # -(log 0.9 + log 0.8) / 2
    0.164252
    >>> BinaryCrossEntropy(from_logits=True).forward(np.array([[1000.0], [-1000.0]]), [1, 0])
    0.0
    """

    name = "binary_crossentropy"
    _activation = Sigmoid

    def forward_from_logits(
        self, logits: Array, actual: ArrayLike, probabilities: Array | None = None
    ) -> float:
        """``mean(max(z, 0) - z y + log(1 + exp(-|z|)))``, stable for any finite ``z``.

        Parameters
        ----------
        logits
            ``z``, any shape ``(N, k)`` or ``(k,)``.
        actual
            ``y``, the targets, shaped like ``z`` (or ``(N,)`` for ``(N, 1)``).
        probabilities
            ``sigmoid(z)`` if already computed (by the network's Sigmoid), else computed.

        Returns
        -------
        float
            The mean over every element; ``backward()`` then returns ``(p - y) / n``.
        """
        target = match_target(logits, actual, "BinaryCrossEntropy")
        _check_unit_interval(target, "targets", "BinaryCrossEntropy")
        if probabilities is None:
            exp_neg_abs = np.exp(-np.abs(logits))
            probabilities = np.where(logits >= 0, 1.0, exp_neg_abs) / (1.0 + exp_neg_abs)
            probabilities = probabilities.astype(logits.dtype, copy=False)
            softplus_neg_abs = np.log1p(exp_neg_abs)
        else:
            softplus_neg_abs = np.log1p(np.exp(-np.abs(logits)))
        per_element = np.maximum(logits, 0.0) - logits * target + softplus_neg_abs
        self._p, self._target, self._count, self._read_logits = probabilities, target, logits.size, True
        return float(per_element.sum()) / logits.size

    def _forward_probabilities(self, predicted: Array, actual: ArrayLike) -> float:
        target = match_target(predicted, actual, "BinaryCrossEntropy")
        _check_unit_interval(target, "targets", "BinaryCrossEntropy")
        _check_unit_interval(predicted, _PROBABILITIES, "BinaryCrossEntropy")
        p = np.clip(predicted, self.epsilon, 1.0 - self.epsilon)
        per_element = target * np.log(p) + (1.0 - target) * np.log(1.0 - p)
        self._p, self._target, self._count, self._read_logits = p, target, predicted.size, False
        return -float(per_element.sum()) / predicted.size

    def backward(self) -> Array:
        """``dL/dz = (p - y) / n`` after logits; ``dL/dp = (p - y) / (p (1 - p) n)`` after probabilities.

        ``n`` counts every element; the result has the shape of the last ``predicted``
        (``(N, k)`` or ``(k,)``).
        """
        p, target = self._p, self._target
        if p is None or target is None:
            raise self._not_ready()
        grad: Array = (p - target) * (1.0 / self._count)
        if not self._read_logits:
            grad /= p * (1.0 - p)
        return grad


class CategoricalCrossEntropy(_CrossEntropy):
    """Categorical cross-entropy for one-hot targets, ``L = mean over samples of -sum_c y_c log p_c``.

    ``p`` is a row of class probabilities (a network ending in :class:`~minidl.Softmax`),
    ``y`` the one-hot target row (or any probability row summing to 1). Shapes: ``(N, k)``
    predictions and targets (or ``(k,)`` for one sample); ``N`` is the number of samples.

    Parameters
    ----------
    from_logits
        False (default): ``predicted`` are probabilities; they are clipped to
        ``[epsilon, 1 - epsilon]`` and ``backward`` returns the (finite) gradient
        ``dL/dp = -y / p / N`` at the clipped ``p``. True: ``predicted`` are logits ``z``
        and the loss uses the stable log-softmax ``log p = z - max z - log(sum exp(z - max z))``,
        with ``dL/dz = (softmax(z) - y) / N``, finite for any finite ``z`` (target rows
        summing to 1 assumed, as for one-hot rows).
    epsilon
        The clipping margin of the probabilities path, in ``(0, 0.5)`` (default 1e-7).

    Notes
    -----
    When a network ends in ``Softmax`` and this loss has ``from_logits=False``, the
    training step (``Network.fit``, ``train_step``, ``loss_and_backward``) *fuses* them:
    the loss is computed from the Softmax's input (the logits) with the exact formula,
    and backpropagation starts below the Softmax with ``(p - y) / N``. The Softmax still
    runs, so predictions and metrics see probabilities.

    Examples
    --------
    >>> loss = CategoricalCrossEntropy()
    >>> round(loss.forward(np.array([[0.25, 0.75], [0.5, 0.5]]), [[0, 1], [1, 0]]), 6)
    0.490415
    >>> CategoricalCrossEntropy(from_logits=True).forward(np.array([[1000.0, -1000.0]]), [[0, 1]])
    2000.0
    """

    name = "categorical_crossentropy"
    _activation = Softmax

    def forward_from_logits(
        self, logits: Array, actual: ArrayLike, probabilities: Array | None = None
    ) -> float:
        """``-sum(y * log_softmax(z)) / N`` with a stable log-softmax.

        Parameters
        ----------
        logits
            ``z``, shape ``(N, k)`` or ``(k,)``.
        actual
            ``y``, one-hot rows of the same shape.
        probabilities
            ``softmax(z)`` if already computed (by the network's Softmax), else computed.

        Returns
        -------
        float
            The mean over samples; ``backward()`` then returns ``(p - y) / N``.
        """
        target = match_target(logits, actual, "CategoricalCrossEntropy")
        _check_unit_interval(target, "targets", "CategoricalCrossEntropy")
        shifted = logits - np.max(logits, axis=-1, keepdims=True)
        exp_shifted = np.exp(shifted)
        total: Array = exp_shifted.sum(axis=-1, keepdims=True)
        log_total = np.log(total)
        # -sum_c y_c log p_c with log p_c = shifted_c - log_total
        count = _samples(logits)
        value = float(np.vdot(target, log_total - shifted)) / count
        if probabilities is None:
            probabilities = exp_shifted / total
        self._p, self._target, self._count, self._read_logits = probabilities, target, count, True
        return value

    def _forward_probabilities(self, predicted: Array, actual: ArrayLike) -> float:
        target = match_target(predicted, actual, "CategoricalCrossEntropy")
        _check_unit_interval(target, "targets", "CategoricalCrossEntropy")
        _check_unit_interval(predicted, _PROBABILITIES, "CategoricalCrossEntropy")
        p = np.clip(predicted, self.epsilon, 1.0 - self.epsilon)
        count = _samples(predicted)
        self._p, self._target, self._count, self._read_logits = p, target, count, False
        return -float(np.vdot(target, np.log(p))) / count

    def backward(self) -> Array:
        """``dL/dz = (p - y) / N`` after logits; ``dL/dp = -y / (p N)`` after probabilities.

        ``N`` counts samples; the result has the shape of the last ``predicted``, ``(N, k)``
        (or ``(k,)`` for one sample).
        """
        p, target = self._p, self._target
        if p is None or target is None:
            raise self._not_ready()
        if self._read_logits:
            grad: Array = (p - target) * (1.0 / self._count)
        else:
            grad = target / p
            grad *= -1.0 / self._count
        return grad


class SparseCategoricalCrossEntropy(_CrossEntropy):
    """Categorical cross-entropy with integer class labels, ``L = mean over samples of -log p[label]``.

    The same loss as :class:`CategoricalCrossEntropy` with the one-hot rows given as
    their class index. Predictions ``(N, k)`` (or ``(k,)``); labels ``(N,)`` or
    ``(N, 1)`` (or a scalar for one sample), integers in ``[0, k)`` (integer-valued floats
    are accepted).

    Parameters
    ----------
    from_logits
        As for :class:`CategoricalCrossEntropy`: False reads clipped probabilities
        (``dL/dp = -onehot / p / N``); True reads logits exactly
        (``dL/dz = (softmax(z) - onehot) / N``).
    epsilon
        The clipping margin of the probabilities path, in ``(0, 0.5)`` (default 1e-7).

    Notes
    -----
    Fused with a final ``Softmax`` in training exactly as :class:`CategoricalCrossEntropy`.

    Examples
    --------
    >>> loss = SparseCategoricalCrossEntropy()
    >>> round(loss.forward(np.array([[0.25, 0.75], [0.5, 0.5]]), [1, 0]), 6)
    0.490415
    """

    name = "sparse_categorical_crossentropy"
    _activation = Softmax

    def _labels(self, predicted: Array, actual: ArrayLike) -> np.ndarray[Any, np.dtype[np.intp]]:
        """``actual`` as an intp array of shape ``predicted.shape[:-1]``, checked to be in range."""
        owner = "SparseCategoricalCrossEntropy"
        if type(predicted) is not np.ndarray:
            raise TypeError(f"{owner}: predicted must be a numpy array; got {type(predicted).__name__}")
        if predicted.ndim == 0:
            raise ValueError(f"{owner}: predicted must have a class axis; got a scalar")
        labels = np.asarray(actual)
        expected = predicted.shape[:-1]
        if labels.shape != expected:
            if labels.shape == (*expected, 1):
                labels = labels.reshape(expected)
            else:
                raise ValueError(
                    f"{owner}: labels must have shape {expected} (one integer class per sample) "
                    f"for predictions of shape {predicted.shape}; got {labels.shape}"
                )
        if labels.dtype.kind not in "iu":
            if labels.dtype.kind not in "fb":
                raise TypeError(f"{owner}: labels must be integers; got dtype {labels.dtype}")
            as_int = labels.astype(np.intp)
            if not np.array_equal(as_int, labels):
                raise ValueError(f"{owner}: labels must be whole numbers (class indices); got {labels!r}")
            labels = as_int
        labels = labels.astype(np.intp, copy=False)
        classes = predicted.shape[-1]
        if labels.size and (
            int(labels.min()) < 0
            or int(labels.max()) >= classes
        ):
            raise ValueError(
                f"{owner}: labels must be in [0, {classes}) for {classes} classes; "
                f"got values from {int(labels.min())} to {int(labels.max())}"
            )
        return labels

    def forward_from_logits(
        self, logits: Array, actual: ArrayLike, probabilities: Array | None = None
    ) -> float:
        """``-mean(log_softmax(z)[label])`` with a stable log-softmax.

        Parameters
        ----------
        logits
            ``z``, shape ``(N, k)`` or ``(k,)``.
        actual
            Labels, shape ``(N,)`` (or ``(N, 1)``; a scalar for one sample).
        probabilities
            ``softmax(z)`` if already computed, else computed.

        Returns
        -------
        float
            The mean over samples; ``backward()`` then returns ``(p - onehot) / N``.
        """
        labels = self._labels(logits, actual)
        count = _samples(logits)
        if probabilities is not None:
            # Fused after the network's Softmax: -log p[label] read from its p is as exact
            # as the log-softmax while every p[label] is a normal number (a loss up to
            # ~87 in float32, ~708 in float64), and costs three small calls instead of a
            # second softmax. Saturated logits fall through to the log-softmax below.
            picked = _pick(probabilities, labels)
            if float(picked.min()) >= np.finfo(picked.dtype).tiny:
                self._p, self._target, self._count, self._read_logits = probabilities, labels, count, True
                return -float(np.log(picked).sum()) / count
        shifted = logits - logits.max(axis=-1, keepdims=True)
        exp_shifted = np.exp(shifted)
        total: Array = exp_shifted.sum(axis=-1, keepdims=True)
        # sum over samples of -log p[label] = log(total) - shifted[label]
        value = (
            float(np.log(total).sum())
            - float(_pick(shifted, labels).sum())
        ) / count
        if probabilities is None:
            exp_shifted /= total  # exp_shifted is ours: it becomes p, with no new array
            probabilities = exp_shifted
        self._p, self._target, self._count, self._read_logits = probabilities, labels, count, True
        return value

    def _forward_probabilities(self, predicted: Array, actual: ArrayLike) -> float:
        labels = self._labels(predicted, actual)
        _check_unit_interval(predicted, _PROBABILITIES, "SparseCategoricalCrossEntropy")
        p = np.clip(predicted, self.epsilon, 1.0 - self.epsilon)
        count = _samples(predicted)
        self._p, self._target, self._count, self._read_logits = p, labels, count, False
        return -float(np.log(_pick(p, labels)).sum()) / count

    def backward(self) -> Array:
        """``dL/dz = (p - onehot) / N`` after logits; ``dL/dp = -onehot / (p N)`` after probabilities.

        ``onehot`` is the label as a one-hot row; the result has the shape of the last
        ``predicted``, ``(N, k)`` (or ``(k,)`` for one sample).
        """
        p, labels = self._p, self._target
        if p is None or labels is None:
            raise self._not_ready()
        scale = 1.0 / self._count
        if self._read_logits:
            grad: Array = p * scale
            _add_at_labels(grad, labels, -scale)
        else:
            grad = np.zeros_like(p)
            _add_at_labels(grad, labels, -scale / _pick(p, labels))
        return grad


def _pick(values: Array, labels: np.ndarray[Any, np.dtype[np.intp]]) -> Array:
    """``values[..., label]`` for each sample: shape ``values.shape[:-1]``.

    A batch ``(N, k)`` uses plain integer indexing with a row index (several times
    faster than ``np.take_along_axis`` on small batches); other ranks use the latter.
    """
    if values.ndim == 2:
        picked: Array = values[np.arange(values.shape[0]), labels]
        return picked
    along: Array = np.take_along_axis(values, labels[..., None], axis=-1)[..., 0]
    return along


def _add_at_labels(values: Array, labels: np.ndarray[Any, np.dtype[np.intp]], amount: Any) -> None:
    """``values[..., label] += amount`` for each sample, in place (labels are unique per row)."""
    if values.ndim == 2:
        values[np.arange(values.shape[0]), labels] += amount
    else:
        index = labels[..., None]
        shifted = np.take_along_axis(values, index, axis=-1) + np.expand_dims(amount, -1)
        np.put_along_axis(values, index, shifted, axis=-1)


#: Loss names accepted by ``Network.compile`` (and ``get_loss``), Keras's spellings.
LOSSES: dict[str, type[Loss]] = {
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossEntropy,
    "categorical_crossentropy": CategoricalCrossEntropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossEntropy,
}


def get_loss(loss: str | Loss) -> Loss:
    """A loss from its name (see ``LOSSES``); a :class:`Loss` object is returned as is.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.

    Examples
    --------
    >>> get_loss("categorical_crossentropy")
    CategoricalCrossEntropy(from_logits=False, epsilon=1e-07)
    """
    if isinstance(loss, Loss):
        return loss
    return class_by_name(LOSSES, loss, "loss", "a Loss object")
