"""Cross-entropy losses for classification: binary, categorical (one-hot) and sparse (labels).

Each reads either probabilities (the default, what a network ending in Sigmoid/Softmax
outputs) or logits (``from_logits=True``, the raw scores before the activation). The
logits path is the exact one: it works with log-sigmoid/log-softmax computed stably, so
the loss and its gradient ``(p - y) / N`` stay finite and exact even for logits of
+-1000 (``N`` the number of predictions the loss averages: for the categorical losses every
position of ``(N, ..., k)`` but the class axis, for the binary one every element). The
probabilities path clips ``p`` to ``[epsilon, 1 - epsilon]``, which keeps everything finite
but is only approximate for saturated outputs.

**Fusion.** When a network ends in the activation a loss reads (``loss.fuses_with(last)``:
Softmax for the categorical losses, Sigmoid for the binary one, with
``from_logits=False``), the training step calls ``loss.forward_from_logits(logits,
target, probabilities)`` with that layer's input and output, then starts backpropagation
below the layer with ``loss.backward() = (p - y) / N`` (``N`` as above): the exact logits path, and no
Softmax Jacobian to multiply. The activation still runs, so predictions and metrics see
probabilities.
"""

from __future__ import annotations

import functools
from abc import abstractmethod
from typing import Any

import numpy as np

from minidl._typing import Array, ArrayLike
from minidl._validation import check_bool, check_real
from minidl.layers import BatchNorm, Conv2D, Dense, Dropout, Layer, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from minidl.losses.base import Loss, as_array, check_predicted, dot, match_target, total, with_batch_axis

#: The built-in layers whose outputs are not probabilities (a user's layer is not judged).
_NOT_PROBABILITIES = (Dense, Conv2D, BatchNorm, ReLU, LeakyReLU, Tanh)

#: Integer class labels, one per sample: shape ``(N, ...)`` for predictions ``(N, ..., k)``.
Labels = np.ndarray[Any, np.dtype[np.intp]]


def check_unit_interval(values: Array, what: str, owner: str) -> None:
    """Raise unless every value lies in ``[0, 1]`` (probabilities, or cross-entropy targets).

    Two reductions, cheap next to the loss itself; without them a probability of 1.5 or
    a target of 2 would be clipped or used silently into a wrong loss.
    """
    low, high = float(np.min(values)), float(np.max(values))
    if not (low >= 0.0 and high <= 1.0):  # written so that NaN fails too
        raise ValueError(f"{owner}: {what} must be in [0, 1]; got values from {low:g} to {high:g}")


def _one_hot_hint(predicted: tuple[int, ...], actual: tuple[int, ...]) -> str:
    """How to make one-hot rows for ``(N, k)`` predictions from a target of another shape, or ""."""
    if len(predicted) != 2 or actual[:1] != predicted[:1]:
        return ""
    if len(actual) == 1:  # the commonest mistake of all: integer labels
        return ("; for integer labels use sparse_categorical_crossentropy, or make one-hot rows with "
                "minidl.keras.utils.to_categorical(y)")
    if len(actual) == 2 and actual[1] < predicted[1]:  # a test set without the last classes
        return (f"; one-hot rows for {predicted[1]} classes: minidl.keras.utils.to_categorical(y, "
                f"num_classes={predicted[1]})")
    return ""


def _samples(p: Array) -> int:
    """``N``, the number of samples of a batch ``(N, ..., k)``: every position but the class axis."""
    return int(p.size // p.shape[-1])


class _CrossEntropy(Loss):
    """What the cross-entropy losses share: ``from_logits``, ``epsilon``, clipping and fusion.

    A subclass writes ``_from_logits(z, y, p) -> (loss, p)``, ``_from_probabilities(p, y)
    -> loss`` (``p`` already clipped) and ``gradient``; this class keeps ``p``, ``y`` and
    which path the last forward took, for ``gradient``.
    """

    #: The activation whose input are the logits of this loss (Sigmoid or Softmax).
    _activation: type[Layer] = Softmax

    def __init__(self, from_logits: bool = False, epsilon: float = 1e-7) -> None:
        self.from_logits = check_bool(from_logits, f"{type(self).__name__} from_logits")
        self.epsilon = check_real(epsilon, f"{type(self).__name__} epsilon", low=0.0, high=0.5,
                                  low_inclusive=False, high_inclusive=False)

    def check_target(self, predicted: Array, actual: ArrayLike, owner: str) -> Any:
        """``match_target``, then every target value in ``[0, 1]``."""
        target = match_target(predicted, actual, owner)
        check_unit_interval(target, f"{self.name} targets", owner)
        return target

    def check_fits(self, layer: Layer) -> None:
        """Refuse a last ``layer`` whose outputs this loss cannot read (compile and each training run ask).

        ``from_logits=True`` after Sigmoid or Softmax (their outputs are probabilities);
        ``from_logits=False`` after a built-in layer whose outputs are not probabilities
        (Dense, ReLU, ..., and Dropout, which scales them above 1 in training), the
        categorical losses after Sigmoid (its outputs do not sum to 1).
        """
        owner, kind, own = type(self).__name__, type(layer).__name__, self._activation.__name__
        ends = f"the network ends in {kind} {layer.name!r}"
        if self.from_logits and isinstance(layer, (Sigmoid, Softmax)):
            same = isinstance(layer, self._activation)
            fix = "use from_logits=False (the default)" if same else f"end in {own} with from_logits=False"
            raise ValueError(f"{owner}(from_logits=True) reads logits, but {ends}, whose outputs are "
                             f"probabilities: {fix}, or remove the {kind} layer to train on logits")
        if not self.from_logits and isinstance(layer, Sigmoid) and self._activation is Softmax:
            raise ValueError(f"{owner}: {ends}, whose outputs do not sum to 1; categorical cross-entropy "
                             "needs Softmax (binary_crossentropy for several independent yes/no labels)")
        if not self.from_logits and type(layer) is Dropout and layer.rate > 0:
            raise ValueError(f"{owner}(from_logits=False) reads probabilities, but {ends}, which in training "
                             "scales what it keeps by 1 / (1 - rate), above 1: put Dropout before the last "
                             "Dense layer")
        if not self.from_logits and type(layer) in _NOT_PROBABILITIES:
            raise ValueError(f"{owner}(from_logits=False) reads probabilities, but {ends}, whose outputs are "
                             f"not probabilities: add a {own} layer, or use from_logits=True")

    def fuses_with(self, layer: Layer) -> bool:
        """True when this loss reads probabilities and ``layer`` is the activation that makes them.

        A subclass that computes something else (its own ``forward`` or ``function``, a
        temperature, say) is not fused: the loss would compute the plain activation instead.
        Nor is a loss of yours built on this one that writes its own ``compute``, ``gradient``,
        ``forward`` or ``backward`` (a weighted or smoothed cross-entropy): fused, it would not run.
        """
        own, kind = self._activation, type(layer)
        same = all(getattr(kind, name, None) is getattr(own, name, None) for name in ("forward", "function"))
        built_in = next(cls for cls in type(self).__mro__ if cls.__module__ == __name__)
        ours = all(getattr(type(self), name) is getattr(built_in, name)
                   for name in ("compute", "gradient", "forward", "backward"))
        return not self.from_logits and isinstance(layer, own) and same and ours

    def forward_from_logits(self, logits: Array, actual: ArrayLike, probabilities: Array | None = None
                            ) -> float:
        """The exact loss from the logits ``z`` (the Sigmoid's/Softmax's input), any shape ``compute`` takes.

        ``probabilities`` is that layer's output if it already ran (else computed here);
        ``backward()`` then returns ``dL/dz = (p - y) / N``, shaped like ``logits`` (``N`` the
        number of predictions averaged, as the module docstring says). Integer or boolean
        logits are computed in float64.
        """
        target = self.check_target(logits, actual, type(self).__name__)
        return self.logits_loss(logits if logits.dtype.kind == "f" else logits.astype(np.float64), target,
                                probabilities)

    def logits_loss(self, logits: Array, target: Any, probabilities: Array | None = None) -> float:
        """``forward_from_logits`` for a ``target`` from ``check_target`` (fit checks its data once)."""
        self._shape = None
        z, target = with_batch_axis(logits, target)
        if probabilities is not None and z is not logits:  # a single sample: add the batch axis too
            probabilities = probabilities.reshape(z.shape)
        value, self._p = self._from_logits(z, target, probabilities)
        self._target, self._read_logits, self._shape = target, True, logits.shape
        return value

    def compute(self, predicted: Array, target: Any) -> float:
        """The loss of logits (``from_logits=True``) or of probabilities, clipped to ``[eps, 1 - eps]``.

        Keeps for ``gradient`` the probabilities ``p``, the target, and which path was taken.
        """
        if self.from_logits:
            value, self._p = self._from_logits(predicted, target, None)
        else:
            check_unit_interval(predicted, "predicted probabilities (from_logits=False)", type(self).__name__)
            self._p = np.clip(predicted, self.epsilon, 1.0 - self.epsilon)
            value = self._from_probabilities(self._p, target)
        self._target, self._read_logits = target, self.from_logits
        return value

    @abstractmethod
    def _from_logits(self, z: Array, target: Any, p: Array | None) -> tuple[float, Array]:
        """The loss from logits ``z`` and the probabilities ``p`` (computed when None)."""

    @abstractmethod
    def _from_probabilities(self, p: Array, target: Any) -> float:
        """The loss from clipped probabilities ``p``."""

    def config(self) -> dict[str, Any]:
        """``from_logits`` and ``epsilon``."""
        return {"from_logits": self.from_logits, "epsilon": self.epsilon}


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
        The clipping margin of the probabilities path, in ``(0, 0.5)`` (default 1e-7); refused
        (at the first forward) when ``1 - epsilon`` rounds to 1 in the predictions' dtype
        (below about 3e-8 in float32, 5.6e-17 in float64); ``np.finfo(dtype).epsneg`` never is.

    Notes
    -----
    A network ending in ``Sigmoid`` is fused with this loss in training (``from_logits=False``):
    see :mod:`minidl.losses.cross_entropy`.

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

    def compute(self, predicted: Array, target: Any) -> float:
        """As every cross-entropy's, after checking (once per dtype) that ``1 - epsilon`` is below 1."""
        if not self.from_logits and predicted.dtype.kind == "f":
            _check_margin(type(self).__name__, self.epsilon, predicted.dtype)
        return super().compute(predicted, target)

    def _from_logits(self, z: Array, target: Array, p: Array | None) -> tuple[float, Array]:
        """``L = mean(max(z, 0) - z y + log(1 + exp(-|z|)))``, stable for any finite ``z`` ``(N, ...)``."""
        exp_neg_abs = np.exp(-np.abs(z))
        if p is None:  # sigmoid(z) without overflow: exp(-|z|) / (1 + exp(-|z|)) for z < 0
            p = (np.where(z >= 0, 1.0, exp_neg_abs) / (1.0 + exp_neg_abs)).astype(z.dtype, copy=False)
        return total(np.maximum(z, 0.0) - z * target + np.log1p(exp_neg_abs)) / z.size, p

    def _from_probabilities(self, p: Array, target: Array) -> float:
        """``L = -mean(y log p + (1 - y) log(1 - p))`` for clipped ``p`` ``(N, ...)``."""
        return -total(target * np.log(p) + (1.0 - target) * np.log(1.0 - p)) / p.size

    def gradient(self) -> Array:
        """``dL/dz = (p - y) / n`` after logits; ``dL/dp = (p - y) / (p (1 - p) n)`` after probabilities.

        ``n`` counts every element; shape ``(N, ...)``, like the batch given.
        """
        p = self._p
        grad: Array = (p - self._target) * (1.0 / p.size)
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
        with ``dL/dz = (softmax(z) - y) / N``, finite for any finite ``z`` (the target rows
        sum to 1: checked, as for one-hot rows).
    epsilon
        The clipping margin of the probabilities path, in ``(0, 0.5)`` (default 1e-7).

    Notes
    -----
    A network ending in ``Softmax`` is fused with this loss in training (``from_logits=False``):
    see :mod:`minidl.losses.cross_entropy`.

    Examples
    --------
    >>> loss = CategoricalCrossEntropy()
    >>> round(loss.forward(np.array([[0.25, 0.75], [0.5, 0.5]]), [[0, 1], [1, 0]]), 6)
    0.490415
    >>> CategoricalCrossEntropy(from_logits=True).forward(np.array([[1000.0, -1000.0]]), [[0, 1]])
    2000.0
    """

    name = "categorical_crossentropy"

    def check_target(self, predicted: Array, actual: ArrayLike, owner: str) -> Any:
        """Targets in ``[0, 1]`` whose rows (the last axis) sum to 1, as one-hot rows do; k >= 2 classes.

        A target of the wrong shape that looks like labels, or like one-hot rows of too few
        classes, is told how to make one-hot rows.
        """
        try:
            target = super().check_target(predicted, actual, owner)
        except ValueError as error:
            raise ValueError(f"{error}{_one_hot_hint(predicted.shape, np.shape(actual))}") from None
        if predicted.ndim == 0 or predicted.shape[-1] == 1:  # the one one-hot row, [1], teaches nothing
            raise _one_unit(owner, self.name, predicted.shape, "one-hot target is [1]")
        sums = target.sum(axis=-1)  # target has predicted's shape: at least one axis, checked above
        off = np.flatnonzero(np.abs(sums - 1.0) > 1e-3)
        if off.size:
            raise ValueError(f"{owner}: categorical_crossentropy needs one-hot rows (summing to 1); row "
                             f"{off[0]} sums to {float(sums.flat[off[0]]):g} (for integer labels use "
                             "sparse_categorical_crossentropy)")
        return target

    def _from_logits(self, z: Array, target: Array, p: Array | None) -> tuple[float, Array]:
        """``L = -sum(y log_softmax(z)) / N``: logits ``(N, ..., k)``, the log-softmax stable."""
        shifted, log_total, p = _softmax_parts(z, p)
        return dot(target, log_total - shifted) / _samples(z), p

    def _from_probabilities(self, p: Array, target: Array) -> float:
        """``L = -sum(y log p) / N`` for clipped ``p`` ``(N, ..., k)``."""
        return -dot(target, np.log(p)) / _samples(p)

    def gradient(self) -> Array:
        """``dL/dz = (p - y) / N`` after logits; ``dL/dp = -y / (p N)`` after probabilities.

        ``N`` counts every position of the batch ``(N, ..., k)`` but the class axis (the samples,
        for a batch ``(N, k)``); the shape is the batch's.
        """
        p, scale = self._p, 1.0 / _samples(self._p)
        if self._read_logits:
            grad: Array = (p - self._target) * scale
        else:
            grad = self._target / p
            grad *= -scale
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

    def check_target(self, predicted: Array, actual: ArrayLike, owner: str) -> Labels:
        """``actual`` as intp labels of shape ``predicted.shape[:-1]``, whole numbers in ``[0, k)``."""
        check_predicted(predicted, owner)
        if predicted.ndim == 0:
            raise ValueError(f"{owner}: predicted must have a class axis; got a scalar")
        labels, expected = as_array(actual, owner, "labels"), predicted.shape[:-1]
        classes = predicted.shape[-1]
        if classes == 1:  # its only label, 0, teaches nothing (the loss is always 0)
            raise _one_unit(owner, self.name, predicted.shape, "label is 0")
        if labels.shape == (*expected, 1):
            labels = labels.reshape(expected)
        if labels.shape != expected:
            raise ValueError(f"{owner}: labels must have shape {expected} (one integer class per sample) "
                             f"for predictions of shape {predicted.shape}; got {labels.shape}")
        if labels.dtype.kind not in "iufb":
            raise TypeError(f"{owner}: labels must be integers; got dtype {labels.dtype}")
        as_int = labels.astype(np.intp, copy=False)
        if labels.dtype.kind == "f" and not np.array_equal(as_int, labels):
            raise ValueError(f"{owner}: class labels must be whole numbers (class indices); got e.g. "
                             f"{labels[as_int != labels][0]}")
        low, high = int(np.min(as_int)), int(np.max(as_int))  # not empty: predicted is not
        if low < 0 or high >= classes:
            raise ValueError(f"{owner}: labels must be in [0, {classes}) for a network with {classes} "
                             f"outputs (one per class); got values from {low} to {high}")
        return as_int

    def _from_logits(self, z: Array, labels: Labels, p: Array | None) -> tuple[float, Array]:
        """``L = -mean(log_softmax(z)[label])``: logits ``(N, ..., k)``, labels ``(N, ...)``."""
        self._at_labels = at_labels = _label_index(labels, z.shape[-1])  # kept for gradient
        if p is not None:
            # Fused after the network's Softmax: -log p[label] read from its p is as exact
            # as the log-softmax while every p[label] is a normal number (a loss up to
            # ~87 in float32, ~708 in float64), and costs three small calls instead of a
            # second softmax. Saturated logits fall through to the log-softmax below.
            picked = p.reshape(-1)[at_labels]  # 1-D: the method's min(axis=0), 1 us sooner than np.min
            if float(picked.min(axis=0)) >= _smallest_normal(picked.dtype):
                return -total(np.log(picked)) / _samples(z), p
        shifted, log_total, p = _softmax_parts(z, p)  # -log p[label] = log_total - shifted[label]
        return (total(log_total) - total(shifted.reshape(-1)[at_labels])) / _samples(z), p

    def _from_probabilities(self, p: Array, labels: Labels) -> float:
        """``L = -mean(log p[label])`` for clipped ``p`` ``(N, ..., k)``."""
        self._at_labels = at_labels = _label_index(labels, p.shape[-1])  # kept for gradient
        return -total(np.log(p.reshape(-1)[at_labels])) / _samples(p)

    def gradient(self) -> Array:
        """``dL/dz = (p - onehot) / N`` after logits; ``dL/dp = -onehot / (p N)`` after probabilities.

        ``onehot`` is the label as a one-hot row; ``N`` counts every position of the batch
        ``(N, ..., k)`` but the class axis (the samples, for a batch ``(N, k)``); the shape is the batch's.
        """
        p, at_labels, scale = self._p, self._at_labels, 1.0 / _samples(self._p)
        # grad in C order, so that grad.reshape(-1) is a view and writing into it writes grad
        if self._read_logits:
            grad: Array = np.multiply(p, scale, order="C")
            grad.reshape(-1)[at_labels] -= scale
        else:
            grad = np.zeros(p.shape, dtype=p.dtype)
            grad.reshape(-1)[at_labels] = -scale / p.reshape(-1)[at_labels]
        return grad


def _softmax_parts(z: Array, p: Array | None) -> tuple[Array, Array, Array]:
    """For logits ``z`` ``(..., k)``: ``z - max z``, ``log(sum(exp(z - max z)))`` and ``p = softmax(z)``.

    ``log_softmax(z)`` is the first minus the second, stable for any finite ``z``; a ``p``
    given (the network's Softmax already ran) is returned as is instead of a second softmax.
    """
    shifted = z - z.max(axis=-1, keepdims=True)
    exp_shifted = np.exp(shifted)
    total = exp_shifted.sum(axis=-1, keepdims=True)
    if p is None:  # exp_shifted is ours: it becomes p, with no new array
        p = np.divide(exp_shifted, total, out=exp_shifted)
    return shifted, np.log(total), p


def _one_unit(owner: str, loss: str, shape: tuple[int, ...], only: str) -> ValueError:
    """The error for a categorical loss over one output unit: its ``only`` target teaches nothing."""
    return ValueError(f"{owner}: {loss} over a single output unit (predicted has shape {shape}): its only "
                      f"{only}, so it cannot learn the classes; for two classes use one unit with Sigmoid "
                      "and binary_crossentropy, or two units with Softmax")


@functools.cache
def _check_margin(owner: str, epsilon: float, dtype: np.dtype[Any]) -> None:
    """Refuse an ``epsilon`` for which ``1 - epsilon`` is 1 in ``dtype`` (log(1 - p) at p = 1: -inf)."""
    if dtype.type(1.0 - epsilon) == 1:
        raise ValueError(f"{owner} epsilon={epsilon:g} is too small for {dtype} predictions: 1 - epsilon "
                         "rounds to 1, so a probability of 1 gives log(1 - p) = -inf; pass an epsilon of at "
                         f"least {float(np.finfo(dtype).epsneg):g} (fit and evaluate on a network ending in "
                         "Sigmoid take the exact logits path, which has no epsilon)")


@functools.cache
def _smallest_normal(dtype: np.dtype[Any]) -> float:
    """``np.finfo(dtype).tiny``, looked up once per dtype (finfo itself costs a microsecond a call)."""
    return float(np.finfo(dtype).tiny)


def _label_index(labels: Labels, classes: int) -> Labels:
    """Where each sample's label sits in a batch ``(N, ..., k)`` flattened in C order: ``sample * k + label``.

    ``values.reshape(-1)[index]`` are the values at the labels, one per sample in the labels'
    order, for any rank. One flat index reads and writes 2-3x faster than a pair of index
    arrays (``values[rows, labels]``: 25k instructions for ``-=`` on a 32x10 batch, 12k flat).
    The ``sample * k`` are counted out by ``arange``'s step (one numpy call fewer than a product).
    """
    return np.arange(0, labels.size * classes, classes) + labels.ravel()
