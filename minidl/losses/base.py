"""``Loss``, the base class of every loss, and ``match_target``, the one target-shape rule.

A loss is a mean (over every element for MSE, MAE and binary cross-entropy, over every
sample for the categorical ones), so the learning rate does not depend on the batch size.
Its math is written for a batch (the batch axis first, any rank); the public entry
``forward`` checks the target and gives a single sample a batch axis, once for all losses.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, TypeVar

import numpy as np

from minidl._typing import Array, ArrayLike
from minidl._validation import check_finite, check_in_range, config_repr, unmasked
from minidl.layers.base import Layer

LossT = TypeVar("LossT", bound="Loss")


def total(values: Array) -> float:
    """``sum(values)`` as a Python float, float16 summed in float32 (as ``numpy.mean`` and PyTorch do).

    A float16 sum passes 65504, its largest value, and becomes inf: a loss of 100 averaged
    over 1,000 values came out infinite, and fit stopped blaming the data.
    """
    return float(values.sum(dtype=np.float32) if values.dtype == np.float16 else values.sum())


def dot(a: Array, b: Array) -> float:
    """``sum(a * b)`` as a Python float (BLAS's ``vdot``); float16 in float32, as in :func:`total`."""
    return total(a * b) if a.dtype == np.float16 else float(np.vdot(a, b))


def check_predicted(predicted: Array, owner: str) -> None:
    """Raise unless ``predicted`` is a non-empty real numpy array (a mean over nothing has no value)."""
    if type(predicted) is not np.ndarray:
        raise TypeError(f"{owner}: predicted must be a numpy array; got {type(predicted).__name__}")
    if predicted.dtype.kind not in "fiub":
        raise TypeError(f"{owner}: predicted must hold real numbers; got dtype {predicted.dtype}")
    if predicted.size == 0:
        raise ValueError(f"{owner}: predicted is empty (shape {predicted.shape}); expected at least one "
                         "value")


def as_array(actual: ArrayLike, owner: str, name: str) -> np.ndarray[Any, Any]:
    """``np.asarray(actual)``; a TypeError naming ``name`` for nested lists of unequal lengths.

    A masked array with masked values is refused (``np.asarray`` would drop the mask).
    """
    if isinstance(actual, np.ma.MaskedArray):
        return unmasked(actual, f"{owner}: {name}")
    try:
        return np.asarray(actual)
    except ValueError as error:  # numpy's "inhomogeneous shape" of ragged lists
        raise TypeError(f"{owner}: {name} must be a rectangular array of numbers; got {error}") from None


def match_target(predicted: Array, actual: ArrayLike, owner: str) -> Array:
    """Return ``actual`` as an array of ``predicted``'s shape and dtype, or raise.

    Accepts equal shapes; ``(N,)`` targets for ``(N, 1)`` predictions (and ``(N, 1)``
    targets for ``(N,)`` predictions); a scalar target for a one-value prediction. Anything
    else (for instance ``(N,)`` against ``(N, 2)``) is an error: the two are never
    broadcast into an ``(N, N)`` table. The dtype is ``predicted``'s when it is a float
    dtype (float32 stays float32), float64 otherwise (an integer prediction never
    truncates a float target). An empty ``predicted`` is an error (a mean over nothing).
    """
    check_predicted(predicted, owner)
    target = as_array(actual, owner, "actual")
    if target.dtype.kind not in "fiub":
        raise TypeError(f"{owner}: actual must hold real numbers; got dtype {target.dtype}")
    p_shape, a_shape = predicted.shape, target.shape
    if a_shape != p_shape:
        short, long = sorted((a_shape, p_shape), key=len)
        column = len(long) == 2 and long == (*short, 1)  # (N,) against (N, 1), either way round
        if not (column or (a_shape == () and predicted.size == 1)):
            raise ValueError(
                f"{owner}: predicted has shape {p_shape} but actual has shape {a_shape}; they must "
                "match (a 1-D target is accepted only for a single-output prediction of shape (N, 1))")
        target = target.reshape(p_shape)
    dtype = predicted.dtype if predicted.dtype.kind == "f" else np.dtype(np.float64)
    if target.dtype == dtype:
        return target
    with np.errstate(over="ignore"):  # a value the dtype cannot hold makes the loss inf: forward names it
        return target.astype(dtype)


def one_number(value: Any, what: str) -> float:
    """``value`` as a Python float (np.float32 too); a TypeError naming ``what`` for an array of values."""
    # float() alone would read '0.5', True and (numpy before 2.5, with a warning) a (1,) array
    numpy_like = isinstance(value, (str, bytes, bool, np.bool_, np.ndarray))
    if np.ndim(value) == 0 and not (numpy_like and np.asarray(value).dtype.kind not in "iuf"):
        with contextlib.suppress(TypeError, ValueError):  # None, ...
            return float(value)  # a Python or numpy number, a torch scalar, a Fraction
    got = f"an array of shape {value.shape}" if isinstance(value, np.ndarray) else repr(value)
    raise TypeError(f"{what} must return one number, the mean over the batch; got {got}")


def with_batch_axis(predicted: Array, target: Any) -> tuple[Array, Any]:
    """A single sample ``(k,)`` (or a scalar) and its target, given a batch axis ``(1, k)``."""
    if predicted.ndim >= 2:
        return predicted, target
    added = (1,) * (2 - predicted.ndim)  # (k,) -> (1, k), a scalar -> (1, 1); labels () -> (1,)
    return predicted.reshape(added + predicted.shape), target.reshape(added + target.shape)


class Loss:
    """Base class of losses: a subclass writes ``compute(p, y) -> float`` and ``gradient() -> dL/dp``.

    >>> class SumSquaredError(Loss):                # L = sum((p - y)**2)
    ...     def compute(self, predicted, target):
    ...         self.error = predicted - target
    ...         return float((self.error**2).sum())
    ...     def gradient(self):
    ...         return 2.0 * self.error             # dL/dp = 2 (p - y)
    >>> loss = SumSquaredError()
    >>> loss(np.array([9.0, 3.0]), [3.0, 3.0]), loss.backward()
    (36.0, array([12.,  0.]))
    """

    name: str = "loss"  # the name used by Network.compile and in model files
    #: True when ``compute`` is a mean over every element, the same for any shape (MSE, MAE):
    #: a single sample then needs no batch axis added and taken off again.
    elementwise: bool = False
    _shape: tuple[int, ...] | None = None  # the last predicted's shape, None before a forward

    def __new__(cls: type[LossT], *args: Any, **kwargs: Any) -> LossT:
        """Refuse a class that writes neither ``compute``/``gradient`` nor ``forward``/``backward``."""
        if not (_overrides(cls, "compute", "gradient") or _overrides(cls, "forward", "backward")):
            raise TypeError(f"{cls.__name__} needs compute() and gradient() (or forward() and backward())")
        return super().__new__(cls)

    def __call__(self, predicted: Array, actual: ArrayLike) -> float:
        """Run ``forward`` (the subclass's own, if it writes one).

        The prediction first, PyTorch's order; ``minidl.metrics`` takes scikit-learn's
        ``(y_true, y_pred)``. Swapped, most losses give another number without an error.
        """
        return self.forward(predicted, actual)

    def forward(self, predicted: Array, actual: ArrayLike) -> float:
        """Check ``actual``, give a single sample a batch axis, return ``compute`` as a Python float.

        A loss that comes out NaN or infinite because ``actual`` holds NaN or inf, or a value
        beyond ``predicted``'s dtype (1e6 in float16), is refused (``ValueError`` naming it);
        one that comes from ``predicted`` is returned.
        Integer or boolean predictions are computed in float64.
        """
        self._shape, owner = None, type(self).__name__  # a forward that fails leaves nothing for backward
        target = self.check_target(predicted, actual, owner)
        if predicted.dtype.kind != "f":  # integers (uint8 would wrap around in -z) or booleans
            predicted = predicted.astype(np.float64)
        value = self.compute(predicted, target) if self.elementwise else \
            self.compute(*with_batch_axis(predicted, target))
        if type(value) is not float:  # np.float32 (np.mean of float32), or an array: refused
            value = one_number(value, f"{owner}.compute")
        if not math.isfinite(value):  # a NaN/inf target is refused; a diverged prediction is fit's to see
            check_finite(np.asarray(actual), f"{owner}: actual")
            check_in_range(np.asarray(actual), predicted.dtype, f"{owner}: actual")
        self._shape = predicted.shape
        return value

    def backward(self) -> Array:
        """``dL/dpredicted`` for the last ``forward``, shaped like its ``predicted``."""
        if self._shape is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward()")
        grad = self.gradient()
        shape = getattr(grad, "shape", None)
        if shape == self._shape:
            return grad
        # (N,) for (N, 1), or a single sample's (1, k): the same values in the same order; a (k, N)
        # for (N, k) is not
        if shape is None or [n for n in shape if n != 1] != [n for n in self._shape if n != 1]:
            raise ValueError(f"{type(self).__name__}.gradient returned dL/dp of shape {shape} for "
                             f"predictions of shape {self._shape}; it must be shaped like the predictions")
        return grad.reshape(self._shape)

    def compute(self, predicted: Array, target: Any) -> float:
        """The loss of a batch ``predicted`` ``(N, ...)`` against its checked ``target``."""
        raise NotImplementedError

    def gradient(self) -> Array:
        """``dL/dpredicted`` for the last ``compute``, shaped like its ``predicted``."""
        raise NotImplementedError

    def check_target(self, predicted: Array, actual: ArrayLike, owner: str) -> Any:
        """``actual`` checked and shaped as ``compute`` reads it; errors start with ``owner``."""
        return match_target(predicted, actual, owner)

    def check_fits(self, layer: Layer) -> None:
        """Raise ``ValueError`` when this loss cannot train a network ending in ``layer``.

        ``compile`` asks, and so do ``fit``, ``train_step`` and ``loss_and_backward`` before they
        run; they ask again of the layer before a last Dropout, Flatten, Identity or pooling layer
        (they pass its values on).
        """

    def fuses_with(self, layer: Layer) -> bool:
        """Whether training should hand a last ``layer``'s input to ``forward_from_logits`` (no: unfused)."""
        return False

    def forward_from_logits(self, logits: Array, actual: ArrayLike, probabilities: Array | None = None
                            ) -> float:
        """The loss from the input of the last layer, for a loss that ``fuses_with`` that layer."""
        raise TypeError(f"{type(self).__name__} does not read logits (it fuses with no layer)")

    def logits_loss(self, logits: Array, target: Any, probabilities: Array | None = None) -> float:
        """``forward_from_logits`` for a ``target`` from ``check_target`` (fit's batches); checks it again."""
        return self.forward_from_logits(logits, target, probabilities)

    def config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this loss."""
        return {}

    __repr__ = config_repr


def _overrides(cls: type[Loss], *names: str) -> bool:
    """Whether ``cls`` (or a class between it and :class:`Loss`) replaces each method ``names`` of Loss."""
    return all(getattr(cls, name) is not getattr(Loss, name) for name in names)
