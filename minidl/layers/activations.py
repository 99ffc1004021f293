"""Activation functions: element-wise ``Activation`` subclasses, and ``Softmax``."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np

from minidl._typing import Array
from minidl._validation import check_real, class_by_name
from minidl.errors import backward_before_forward, gradient_shape_error
from minidl.layers.base import Layer


class Activation(Layer):
    """Base of element-wise activations ``y = f(x)``.

    A subclass defines exactly two methods, ``function(x)`` (``f``) and
    ``derivative(x)`` (``f'``, evaluated at the *input* ``x``); it inherits
    ``forward`` and ``backward``::

        class Softplus(Activation):
            def function(self, x):
                return np.logaddexp(0.0, x)

            def derivative(self, x):
                return 1.0 / (1.0 + np.exp(-x))

    ``derivative`` takes the *input* ``x``, not the output: writing the sigmoid's slope
    as ``x * (1 - x)`` (its formula in terms of the output) is a classic mistake that
    ``minidl.check_gradients(activation, x)`` reports as a wrong ``input`` gradient.

    Examples
    --------
    >>> class Square(Activation):
    ...     def function(self, x):
    ...         return x * x
    ...     def derivative(self, x):
    ...         return 2.0 * x
    >>> square = Square()
    >>> square.forward(np.array([3.0])), square.backward(np.array([1.0]))  # f(3), 1 * f'(3)
    (array([9.]), array([6.]))
    """

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._x: Array | None = None

    @abstractmethod
    def function(self, x: Array) -> Array:
        """The activation ``f(x)``, element by element."""

    @abstractmethod
    def derivative(self, x: Array) -> Array:
        """The slope ``f'(x)`` at the input ``x``, element by element."""

    def forward(self, x: Array) -> Array:
        """Apply ``f`` to every element: ``y = f(x)``, any shape in, the same shape out."""
        self._x = x
        return self.function(x)

    def backward(self, grad_y: Array) -> Array:
        """Chain rule, element by element: ``dL/dx = dL/dy * f'(x)`` (same shape as ``x``)."""
        x = self._x
        if x is None:
            raise backward_before_forward(self)
        if grad_y.shape != x.shape:
            raise gradient_shape_error(self, x.shape, grad_y.shape)
        grad_x: Array = grad_y * self.derivative(x)
        return grad_x

    def output_features(self, input_features: int | None) -> int | None:
        """The same as the input: activations keep the shape."""
        return input_features


class Identity(Activation):
    """``f(x) = x``, ``f'(x) = 1``: a linear output, as for regression.

    Examples
    --------
    >>> Identity().forward(np.array([-2.0, 3.0]))
    array([-2.,  3.])
    """

    def function(self, x: Array) -> Array:
        """Return ``x`` unchanged."""
        return x

    def derivative(self, x: Array) -> Array:
        """Ones, shaped like ``x``."""
        return np.ones_like(x)

    def backward(self, grad_y: Array) -> Array:
        """``dL/dx = dL/dy * 1``: the gradient passes through unchanged (not copied); any shape."""
        x = self._x
        if x is None:
            raise backward_before_forward(self)
        if grad_y.shape != x.shape:
            raise gradient_shape_error(self, x.shape, grad_y.shape)
        return grad_y


class ReLU(Activation):
    """Rectified linear unit, ``f(x) = max(0, x)``; ``f'(x) = 1`` if ``x > 0`` else ``0``.

    The derivative at exactly 0 is taken as 0, as in PyTorch and Keras.

    Examples
    --------
    >>> ReLU().forward(np.array([-3.0, 0.0, 3.0]))
    array([0., 0., 3.])
    """

    def function(self, x: Array) -> Array:
        """``max(0, x)`` element-wise (``0.0``, a Python float, keeps float32 as float32)."""
        return np.maximum(x, 0.0)

    def derivative(self, x: Array) -> Array:
        """1 where ``x > 0``, else 0 (the step function, 0 at 0), in ``x``'s dtype."""
        slope: Array = (x > 0.0).astype(x.dtype)
        return slope

    def backward(self, grad_y: Array) -> Array:
        """Chain rule: ``dL/dx = dL/dy * (x > 0)``, the gradient kept where the input was positive.

        The same as the inherited ``dL/dy * f'(x)``, with the step function left as a
        boolean mask: one comparison and one product (``np.heaviside`` is ten times
        slower on a float32 batch). Shape and dtype of ``grad_y`` in and out.
        """
        x = self._x
        if x is None:
            raise backward_before_forward(self)
        if grad_y.shape != x.shape:
            raise gradient_shape_error(self, x.shape, grad_y.shape)
        grad_x: Array = grad_y * (x > 0.0)
        return grad_x


class LeakyReLU(Activation):
    """``f(x) = x`` if ``x > 0`` else ``alpha * x``; ``f'(x) = 1`` or ``alpha`` (``alpha`` at 0).

    Parameters
    ----------
    alpha
        The slope for negative inputs, a finite number ``>= 0`` (default 0.01).

    Examples
    --------
    >>> LeakyReLU(alpha=0.1).forward(np.array([-2.0, 3.0]))
    array([-0.2,  3. ])
    """

    def __init__(self, alpha: float = 0.01, name: str | None = None) -> None:
        super().__init__(name)
        self.alpha = check_real(alpha, "LeakyReLU alpha", low=0.0)

    def function(self, x: Array) -> Array:
        """``x`` where positive, ``alpha * x`` elsewhere: ``max(x, alpha x)`` (``min`` if ``alpha > 1``).

        Two fast element-wise calls (``np.where`` took 10x longer on a float32 batch).
        """
        scaled: Array = x * self.alpha
        if self.alpha <= 1.0:
            np.maximum(x, scaled, out=scaled)
        else:
            np.minimum(x, scaled, out=scaled)
        return scaled

    def derivative(self, x: Array) -> Array:
        """1 where ``x > 0``, ``alpha`` elsewhere, in ``x``'s dtype: ``alpha + (1 - alpha) [x > 0]``."""
        slope: Array = (x > 0).astype(x.dtype if x.dtype.kind == "f" else np.float64)
        slope *= 1.0 - self.alpha
        slope += self.alpha
        return slope

    def config(self) -> dict[str, Any]:
        """``alpha`` and ``name``."""
        return {"alpha": self.alpha, "name": self.name}


class Sigmoid(Activation):
    """Logistic function ``f(x) = 1 / (1 + exp(-x))``; ``f'(x) = f(x) * (1 - f(x))``.

    Computed without overflow for large ``|x|``: ``exp`` only ever sees ``-|x|`` and
    ``min(x, 0)``. ``forward`` keeps its output ``s``, so ``backward`` is
    ``dL/dy * s * (1 - s)`` with no second ``exp``.

    Examples
    --------
    >>> Sigmoid().forward(np.array([-np.log(3.0), 0.0]))  # 1 / (1 + 3), 1 / (1 + 1)
    array([0.25, 0.5 ])
    """

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._y: Array | None = None

    def function(self, x: Array) -> Array:
        """``1 / (1 + exp(-x))`` as ``exp(min(x, 0)) / (1 + exp(-|x|))``: exact, stable for any finite ``x``.

        For ``x >= 0`` that is ``1 / (1 + exp(-x))``; for ``x < 0``, ``exp(x) / (1 + exp(x))``.
        """
        denominator = np.exp(-np.abs(x))
        denominator += 1.0
        result: Array = np.exp(np.minimum(x, 0.0))
        result /= denominator
        return result

    def derivative(self, x: Array) -> Array:
        """``s * (1 - s)`` with ``s = f(x)``."""
        s = self.function(x)
        return s * (1.0 - s)

    def forward(self, x: Array) -> Array:
        """``s = f(x)`` element-wise, any shape in, the same shape out; keeps ``x`` and ``s``."""
        self._x = x
        self._y = y = self.function(x)
        return y

    def backward(self, grad_y: Array) -> Array:
        """``dL/dx = dL/dy * s * (1 - s)`` with the ``s`` of the last forward; shape of ``x``."""
        x, s = self._x, self._y
        if x is None or s is None:
            raise backward_before_forward(self)
        if grad_y.shape != s.shape:
            raise gradient_shape_error(self, s.shape, grad_y.shape)
        grad_x: Array = grad_y * (s * (1.0 - s))
        return grad_x


class Tanh(Activation):
    """Hyperbolic tangent ``f(x) = tanh(x)``; ``f'(x) = 1 - tanh(x)**2``.

    Examples
    --------
    >>> Tanh().forward(np.array([0.0, 1.0])).round(4)
    array([0.    , 0.7616])
    """

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._y: Array | None = None

    def function(self, x: Array) -> Array:
        """``tanh(x)`` element-wise."""
        return np.tanh(x)

    def derivative(self, x: Array) -> Array:
        """``1 - tanh(x)**2``."""
        t = np.tanh(x)
        return 1.0 - t * t

    def forward(self, x: Array) -> Array:
        """``t = tanh(x)`` element-wise, any shape in, the same shape out; keeps ``x`` and ``t``."""
        self._x = x
        self._y = y = np.tanh(x)
        return y

    def backward(self, grad_y: Array) -> Array:
        """``dL/dx = dL/dy * (1 - t**2)`` with the ``t`` of the last forward; shape of ``x``."""
        x, t = self._x, self._y
        if x is None or t is None:
            raise backward_before_forward(self)
        if grad_y.shape != t.shape:
            raise gradient_shape_error(self, t.shape, grad_y.shape)
        grad_x: Array = grad_y * (1.0 - t * t)
        return grad_x


class Softmax(Layer):
    """Softmax over the last axis: ``p[i] = exp(z[i]) / sum_k exp(z[k])``.

    Each row of the output is a probability distribution (non-negative, summing to 1).
    Computed as ``exp(z - max(z))``, which gives the same ``p`` without overflow.

    Not element-wise, so it is a ``Layer`` with its own backward. Followed by a
    cross-entropy loss in ``Network.fit``, the two are fused (see the losses).

    Examples
    --------
    >>> Softmax().forward(np.array([0.0, np.log(3.0)]))
    array([0.25, 0.75])
    """

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._p: Array | None = None

    def forward(self, x: Array) -> Array:
        """``p = exp(z - max z) / sum(exp(z - max z))`` along the last axis; same shape out."""
        if x.dtype.kind != "f":  # integer or boolean input: exp below writes into a float array
            x = x.astype(np.float64)
        shifted = x - x.max(axis=-1, keepdims=True)
        p: Array = np.exp(shifted, out=shifted)  # in place: shifted is ours and not needed after
        total: Array = p.sum(axis=-1, keepdims=True)
        p /= total
        self._p = p
        return p

    def backward(self, grad_y: Array) -> Array:
        """The Jacobian-vector product, row by row, without building the Jacobian.

        The Jacobian is ``dp[i]/dz[j] = p[i] * (delta_ij - p[j])``, so with ``g = dL/dp``:
        ``dL/dz[j] = p[j] * (g[j] - sum_i g[i] * p[i])``. Same shape in and out.
        """
        p = self._p
        if p is None:
            raise backward_before_forward(self)
        if grad_y.shape != p.shape:
            raise gradient_shape_error(self, p.shape, grad_y.shape)
        weighted: Array = (grad_y * p).sum(axis=-1, keepdims=True)
        grad_x: Array = p * (grad_y - weighted)
        return grad_x

    def output_features(self, input_features: int | None) -> int | None:
        """The same as the input."""
        return input_features


ACTIVATIONS: dict[str, type[Activation]] = {
    "relu": ReLU,
    "identity": Identity,
    "linear": Identity,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "leaky_relu": LeakyReLU,
}


def get_activation(name: str) -> Activation:
    """A new activation layer from its name (``"relu"``, ``"identity"``, ``"sigmoid"``, ...)."""
    return class_by_name(ACTIVATIONS, name, "activation")
