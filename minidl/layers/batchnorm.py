"""Batch normalization: standardise each feature (or channel) over the batch, then scale and shift."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from minidl._typing import Array, Shape
from minidl._validation import check_float_dtype, check_positive_int, check_real
from minidl.errors import label
from minidl.initializers import initialize
from minidl.layers.base import Layer, Parameter


class BatchNorm(Layer):
    r"""Batch normalization, for inputs ``(batch, features)`` or images ``(batch, channels, H, W)``.

    Training mode normalises each feature with the statistics of the current batch and
    updates running averages of them; evaluation mode normalises with those running
    averages, so a prediction does not depend on the other samples of its batch::

        x_hat = (x - mean) / sqrt(var + epsilon)        # per feature
        y     = gamma * x_hat + beta

    In training ``mean`` and ``var`` are the batch mean and the *biased* batch variance
    (divided by ``N``, as in the original paper, Keras and PyTorch); in evaluation they
    are ``running_mean`` and ``running_var``.

    **Images** (NCHW, axis 1 the channels) are normalised per channel, as PyTorch's
    ``BatchNorm2d``: the statistics of channel ``c`` are taken over the batch and every
    pixel, ``N * H * W`` values, and ``gamma[c]``, ``beta[c]`` apply to all its pixels.
    Everything below holds with "feature" read as "channel" and ``N`` as ``N * H * W``.

    Parameters
    ----------
    num_features
        The size of the features axis of the input: its last axis ``(batch, features)``,
        or the channels axis 1 of an image batch.
    momentum
        How much of the old running value to keep, in ``[0, 1]``. After every
        training-mode forward::

            running_mean = momentum * running_mean + (1 - momentum) * batch_mean
            running_var  = momentum * running_var  + (1 - momentum) * batch_var

        with ``batch_var`` the biased variance used for normalising.
    epsilon
        Added to the variance before the square root (``> 0``), for stability.
    dtype
        The dtype of ``gamma``, ``beta`` and the running statistics (float64 by default).
    name
        The layer's name in summaries and model files.

    Attributes
    ----------
    gamma : Parameter
        The learnable scale, shape ``(num_features,)``, starting at 1.
    beta : Parameter
        The learnable shift, shape ``(num_features,)``, starting at 0.
    running_mean : Array
        Shape ``(num_features,)``, starting at 0. A plain array, **not** a Parameter:
        optimizers never touch it; it is saved with the model (``state_arrays``).
    running_var : Array
        Shape ``(num_features,)``, starting at 1. Same status as ``running_mean``.

    Notes
    -----
    **Momentum conventions.** minidl's ``momentum`` means what Keras's
    ``BatchNormalization(momentum=...)`` means (the weight of the *old* value); Keras's
    default is 0.99, minidl's 0.9 (the statistics settle in about 10 batches rather
    than 100, which suits small data sets). PyTorch's ``BatchNorm1d(momentum=...)`` is
    the weight of the *new* value: ``momentum_torch = 1 - momentum``, so minidl's 0.9
    is PyTorch's default 0.1.

    **Running variance.** minidl updates ``running_var`` with the *biased* batch
    variance (divide by ``N``), the one it normalises with, as Keras does. PyTorch
    updates it with the unbiased variance (divide by ``N - 1``); to reproduce PyTorch
    exactly, scale the batch variance by ``N / (N - 1)``. With batches of 32 the two
    differ by about 3%.

    Training mode needs at least 2 samples per batch (one sample has no variance:
    ``x_hat`` would be 0 and no gradient would reach ``x``), and raises for a batch of 1,
    as PyTorch does (images need 2 values per channel, ``N * H * W >= 2``, so a single
    image of more than one pixel is accepted). ``Network.fit`` never produces a batch of
    1: the class attribute ``min_training_batch = 2`` tells it to merge a last batch of 1
    sample into the batch before it. Evaluation mode accepts any batch (a single sample of shape
    ``(features,)`` through ``Network.forward``/``predict``).

    Examples
    --------
    >>> bn = BatchNorm(1)
    >>> bn.forward(np.array([[1.0], [3.0]]))      # mean 2, variance 1
    array([[-0.999995],
           [ 0.999995]])
    >>> bn.running_mean, bn.running_var          # 0.9 * old + 0.1 * batch
    (array([0.2]), array([1.]))
    """

    #: ``Network.fit`` merges a smaller last batch into the one before it.
    min_training_batch = 2
    overwrites_gradients = True

    def __init__(self, num_features: int, *, momentum: float = 0.9, epsilon: float = 1e-5,
                 dtype: npt.DTypeLike = np.float64, name: str | None = None) -> None:
        super().__init__(name)
        label = f"BatchNorm {self.name!r}"
        self.num_features = check_positive_int(num_features, f"{label} num_features")
        self.momentum = check_real(momentum, f"{label} momentum", low=0.0, high=1.0)
        self.epsilon = check_real(epsilon, f"{label} epsilon", low=0.0, low_inclusive=False)
        dtype = check_float_dtype(dtype, f"{label}: dtype")
        # Through initialize, as Dense: a model file's loader answers these calls within its memory budget.
        shape, rng = (self.num_features,), np.random.default_rng(0)  # ones and zeros draw nothing
        self.gamma = Parameter(initialize("ones", shape, rng, dtype, name=f"{label} gamma"), name="gamma")
        self.beta = Parameter(initialize("zeros", shape, rng, dtype, name=f"{label} beta"), name="beta")
        self.running_mean: Array = initialize("zeros", shape, rng, dtype, name=f"{label} running_mean")
        self.running_var: Array = initialize("ones", shape, rng, dtype, name=f"{label} running_var")
        self.input_shape = (None, self.num_features)  # or (None, num_features, H, W): _input_problem
        # What backward needs from the last forward.
        self._x_hat: Array
        self._inv_std: Array
        self._batch_stats = False
        self._axes: tuple[int, ...] = (0,)  # the axes the statistics are taken over

    def _input_problem(self, x: Array, expected: tuple[int | None, ...] | None) -> Exception | None:
        """Accept ``(batch, num_features)`` (declared) and images ``(batch, num_features, H, W)``."""
        if x.ndim == 4:
            return super()._input_problem(x, (None, self.num_features, None, None))
        if x.ndim <= 2:
            return super()._input_problem(x, expected)
        return ValueError(f"{label(self)}: expected input of shape (batch, {self.num_features}) or images "
                          f"(batch, {self.num_features}, height, width); got an array of rank {x.ndim} "
                          f"with shape {x.shape}")

    def forward(self, x: Array) -> Array:
        """Normalise each feature, then scale and shift: ``y = gamma * x_hat + beta``.

        Training mode, over the ``N`` samples of the batch::

            mean  = x.mean(axis=0)                       shape (features,)
            var   = ((x - mean) ** 2).mean(axis=0)       biased, shape (features,)
            x_hat = (x - mean) / sqrt(var + epsilon)     shape (N, features)

        and the running statistics move towards ``mean`` and ``var`` (see the class).
        Evaluation mode uses ``running_mean`` and ``running_var`` instead. For images the
        means are over ``axis=(0, 2, 3)`` (batch, height, width), one per channel, and
        the per-channel arrays broadcast as ``(1, channels, 1, 1)``.

        Parameters
        ----------
        x
            Shape ``(batch, num_features)`` or ``(batch, num_features, H, W)``.

        Returns
        -------
        Array
            The same shape as ``x``.
        """
        self._axes = axes = (0,) if x.ndim == 2 else (0, 2, 3)
        if self.training:
            count = x.size // self.num_features  # values per feature: N, or N * H * W for images
            if count < 2:
                raise ValueError(f"BatchNorm {self.name!r}: training mode needs at least 2 samples per batch "
                                 f"to compute batch statistics; got a batch of {x.shape[0]} (input shape "
                                 f"{x.shape}). Use eval() for single samples, or a batch_size that leaves no "
                                 "batch of 1.")
            mean = _mean(x, axes, count)  # (1, features) or (1, channels, 1, 1)
            centred = x - mean
            var = _mean(centred * centred, axes, count)
            for running, batch in ((self.running_mean, mean), (self.running_var, var)):
                running *= self.momentum
                running += (1.0 - self.momentum) * batch.reshape(-1)
        else:
            centred, var = x - _per_feature(self.running_mean, x), _per_feature(self.running_var, x)
        self._batch_stats = self.training
        self._inv_std = inv_std = 1.0 / np.sqrt(var + self.epsilon)
        self._x_hat = x_hat = centred * inv_std
        y: Array = x_hat * _per_feature(self.gamma.value, x)
        y += _per_feature(self.beta.value, x)
        return y

    def backward(self, grad_y: Array) -> Array:
        """The exact gradient, in the standard closed form.

        With ``g = dL/dy`` of shape ``(N, features)`` and sums over the batch (for images
        ``g`` is ``(N, channels, H, W)``, the sums run over ``axis=(0, 2, 3)`` and ``N``
        below is ``N * H * W``)::

            dL/dbeta  = sum(g)                    shape (features,)
            dL/dgamma = sum(g * x_hat)            shape (features,)

        After a training-mode forward ``mean`` and ``var`` depend on every sample, and
        the chain rule through them collapses to::

            dL/dx = gamma / sqrt(var + epsilon) / N * (N * g - dL/dbeta - x_hat * dL/dgamma)

        After an evaluation-mode forward the statistics are constants and
        ``dL/dx = g * gamma / sqrt(running_var + epsilon)``. Returns an array of the
        shape of ``x``.
        """
        x_hat, inv_std, axes = self._x_hat, self._inv_std, self._axes
        grad_y.sum(axis=axes, out=self.beta.grad)
        (grad_y * x_hat).sum(axis=axes, out=self.gamma.grad)
        scale = _per_feature(self.gamma.value, x_hat) * inv_std
        if not self._batch_stats:
            return grad_y * scale
        count = grad_y.size // self.num_features
        grad_beta, grad_gamma = _per_feature(self.beta.grad, x_hat), _per_feature(self.gamma.grad, x_hat)
        if x_hat.dtype is _FLOAT16:  # a count N over 65504 is inf in float16: divide the sums in float32
            per_value = [(total / np.float32(count)).astype(_FLOAT16) for total in (grad_beta, grad_gamma)]
            grad_beta, grad_gamma, count = *per_value, 1
        grad_x: Array = grad_y - (grad_beta + x_hat * grad_gamma) / count
        grad_x *= scale
        return grad_x

    def output_features(self, input_features: int | None) -> int | None:
        """``num_features``: the shape is kept (for images the last axis is the width: unknown here)."""
        return self.num_features

    def output_shape(self, input_shape: Shape | None) -> Shape | None:
        """The input's shape (kept); ``(None, num_features)`` when it is not known."""
        return (None, self.num_features) if input_shape is None else input_shape

    def config(self) -> dict[str, Any]:
        """Constructor arguments: ``num_features``, ``momentum``, ``epsilon``, ``dtype``, ``name``."""
        return {"num_features": self.num_features, "momentum": self.momentum, "epsilon": self.epsilon,
                "dtype": self.gamma.dtype.name, "name": self.name}

    def state_arrays(self) -> dict[str, Array]:
        """``running_mean`` and ``running_var`` (the arrays themselves, not copies)."""
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def load_state_arrays(self, arrays: dict[str, Array]) -> None:
        """Copy saved running statistics in place: :meth:`Layer.load_state_arrays`, and a variance >= 0."""
        variance = np.asarray(arrays.get("running_var", 0.0))  # of a wrong dtype: refused below
        if variance.dtype == self.running_var.dtype and not bool((variance >= 0).all()):
            raise ValueError(f"BatchNorm {self.name!r}: state array 'running_var' has negative entries "
                             f"(min {float(variance.min())}); a variance is never negative")
        super().load_state_arrays(arrays)


#: float16's dtype (float16 arrays have this one): its sums are taken in float32
_FLOAT16 = np.dtype(np.float16)


def _mean(values: Array, axes: tuple[int, ...], count: int) -> Array:
    """The mean over ``axes`` (kept, of size 1); float16 summed in float32, as ``numpy.mean`` does.

    A float16 sum passes 65504 (and becomes inf) on a batch of 16 images of 64 x 64 values near 1.
    """
    mean: Array = values.mean(axis=axes, keepdims=True) if values.dtype is _FLOAT16 else (
        values.sum(axis=axes, keepdims=True) / count)
    return mean


def _per_feature(values: Array, x: Array) -> Array:
    """A ``(features,)`` array shaped to broadcast against ``x``: as is, or ``(channels, 1, 1)`` (images)."""
    return values if x.ndim == 2 else values.reshape(-1, 1, 1)
