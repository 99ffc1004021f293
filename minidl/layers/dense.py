"""The fully connected layer: every input feeds every output node."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from minidl._typing import Array, Seed
from minidl._validation import check_bool, check_float_dtype, check_positive_int
from minidl.initializers import Initializer, initialize, make_rng
from minidl.layers.base import Layer, Parameter


class Dense(Layer):
    """A fully connected layer, ``y = x @ W + b``.

    Parameters
    ----------
    in_features, out_features
        Sizes of the input and output (positive integers).
    use_bias
        Whether to add a bias ``b``; without it ``bias`` is ``None``.
    weight_init, bias_init
        An initializer name (``"glorot_uniform"`` (default for weights), ``"he_normal"``,
        ``"he_uniform"``, ``"glorot_normal"``, ``"zeros"`` (default for biases),
        ``"ones"``), a function ``(shape, rng, dtype) -> array``, or explicit values of the
        right shape (copied).
    seed
        An int or a ``numpy.random.Generator``: the same seed gives the same weights.
    dtype
        The dtype of the parameters, float64 by default so the course's numbers come out
        exact; use float32 for speed.
    name
        The layer's name in summaries and model files.

    Attributes
    ----------
    weight : Parameter
        Shape ``(in_features, out_features)``. Column ``j`` holds the weights *into*
        output node ``j``, so the course's ``weights['node_0']`` is ``weight.value[:, 0]``.
    bias : Parameter or None
        Shape ``(out_features,)``.

    Examples
    --------
    >>> layer = Dense(2, 1, use_bias=False, weight_init=[[1.0], [1.0]])
    >>> layer.forward(np.array([[3.0, 6.0]]))   # one sample: 3 * 1 + 6 * 1
    array([[9.]])
    """

    overwrites_gradients = True

    def __init__(self, in_features: int, out_features: int, *, use_bias: bool = True,
                 weight_init: str | Initializer | npt.ArrayLike = "glorot_uniform",
                 bias_init: str | Initializer | npt.ArrayLike = "zeros", seed: Seed = None,
                 dtype: npt.DTypeLike = np.float64, name: str | None = None) -> None:
        super().__init__(name)
        label = f"Dense {self.name!r}"
        self.in_features = check_positive_int(in_features, "Dense in_features")
        self.out_features = check_positive_int(out_features, "Dense out_features")
        dtype = check_float_dtype(dtype, f"{label}: dtype")
        check_bool(use_bias, f"{label}: use_bias")
        rng = make_rng(seed)
        weight = initialize(weight_init, (self.in_features, self.out_features), rng, dtype,
                            name=f"{label} weight_init")
        self.weight = Parameter(weight, name="weight")
        self.bias: Parameter | None = None
        if use_bias:
            bias = initialize(bias_init, (self.out_features,), rng, dtype, name=f"{label} bias_init")
            self.bias = Parameter(bias, name="bias")
        self.input_shape = (None, self.in_features)
        self._x: Array  # the input of the last forward, for backward

    @property
    def use_bias(self) -> bool:
        """Whether the layer adds a bias."""
        return self.bias is not None

    def forward(self, x: Array) -> Array:
        """Weighted sums of the inputs: ``y = x @ W + b``.

        Each output node ``j`` computes ``y[n, j] = sum_i x[n, i] * W[i, j] + b[j]``, the
        course's ``(input_data * weights['node_j']).sum()`` for sample ``n``.

        Parameters
        ----------
        x
            Shape ``(batch, in_features)``.

        Returns
        -------
        Array
            Shape ``(batch, out_features)``.
        """
        self._x = x
        y: Array = x @ self.weight.value
        if self.bias is not None:
            y += self.bias.value  # in place: y is ours, and this saves an allocation
        return y

    def backward(self, grad_y: Array) -> Array:
        """Chain rule through ``y[n, j] = sum_i x[n, i] W[i, j] + b[j]``, with ``g = dL/dy``.

        ``g`` has shape ``(batch, out_features)``. Each weight, bias and input reaches the
        loss through the outputs it feeds, so its gradient is the sum, over those outputs,
        of ``g`` times the local slope::

            dy[n,j]/dW[i,j] = x[n,i]    dL/dW = x.T @ g          (in_features, out_features)
            dy[n,j]/db[j]   = 1         dL/db = g.sum(axis=0)    (out_features,)
            dy[n,j]/dx[n,i] = W[i,j]    dL/dx = g @ W.T          (batch, in_features), returned
        """
        self._parameter_gradients(grad_y)
        grad_x: Array = grad_y @ self.weight.value.T
        return grad_x

    def backward_parameters(self, grad_y: Array) -> None:
        """Fill ``weight.grad`` and ``bias.grad`` as ``backward`` does, without ``dL/dx``."""
        self._parameter_gradients(grad_y)

    def _parameter_gradients(self, grad_y: Array) -> None:
        """``dL/dW = x.T @ g`` and ``dL/db = g.sum(axis=0)`` (see ``backward``), into the ``grad`` arrays."""
        x = self._x
        if len(x) == 1:
            # BLAS is slow on an inner size of 1 (4x at 784 x 256); the outer product (x.T broadcast
            # against grad_y) is the same numbers
            np.multiply(x.T, grad_y, out=self.weight.grad)
        else:
            np.matmul(x.T, grad_y, out=self.weight.grad)
        if self.bias is not None:
            grad_y.sum(axis=0, out=self.bias.grad)

    def output_features(self, input_features: int | None) -> int | None:
        """``out_features``, whatever the input."""
        return self.out_features

    def config(self) -> dict[str, Any]:
        """Constructor arguments: sizes, bias, dtype and name."""
        return {"in_features": self.in_features, "out_features": self.out_features, "use_bias": self.use_bias,
                "dtype": self.weight.dtype.name, "name": self.name}
