"""Element-wise activation functions: ``Activation`` and its subclasses."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import numpy.typing as npt

from minidl._typing import Array, Shape
from minidl._validation import check_real, class_by_name
from minidl.layers.base import Layer


class KeepsShape:
    """A mixin for layers whose output has the input's shape (activations, Softmax, Dropout)."""

    def output_features(self, input_features: int | None) -> int | None:
        """The same as the input: the layer keeps the shape."""
        return input_features

    def output_shape(self, input_shape: Shape | None) -> Shape | None:
        """The input's shape: the layer keeps it."""
        return input_shape


class Activation(KeepsShape, Layer):
    """Base of element-wise activations ``y = f(x)``: any shape in, the same shape out.

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

    When ``f'`` is cheaper from the output ``y = f(x)`` (Sigmoid: ``y (1 - y)``, Tanh:
    ``1 - y**2``, with no second ``exp``), a subclass also defines
    ``derivative_from_output(y)`` and sets ``derivative_uses_output = True``; ``backward``
    then uses it.

    An activation has no parameters: the inherited ``backward`` fills no gradient, so
    ``fit`` refuses one that holds a :class:`Parameter` (a PReLU's slope); write such a
    layer as a :class:`Layer` with its own ``backward``.

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

    #: True when ``backward`` takes the slope from the output (``derivative_from_output``).
    derivative_uses_output: bool = False
    #: No parameters, so nothing for the network to clear before ``backward`` (saves a call per step).
    overwrites_gradients = True

    _x: Array  # the input of the last forward
    _y: Array  # and its output

    @abstractmethod
    def function(self, x: Array) -> Array:
        """The activation ``f(x)``, element by element."""

    @abstractmethod
    def derivative(self, x: Array) -> npt.NDArray[Any]:
        """The slope ``f'(x)`` at the input ``x``, element by element."""

    def derivative_from_output(self, y: Array) -> npt.NDArray[Any]:
        """The slope ``f'(x)`` written with ``y = f(x)`` (for ``derivative_uses_output``)."""
        raise NotImplementedError(f"{type(self).__name__} has no derivative_from_output")

    def forward(self, x: Array) -> Array:
        """Apply ``f`` to every element: ``y = f(x)``, same shape in and out; keeps ``x`` and ``y``."""
        self._x = x
        self._y = y = self.function(x)
        return y

    def backward(self, grad_y: Array) -> Array:
        """Chain rule, element by element: ``dL/dx = dL/dy * f'(x)``, same shape in and out."""
        if self.derivative_uses_output:
            slope = self.derivative_from_output(self._y)
        else:
            slope = self.derivative(self._x)
        # ReLU's boolean mask as 0/1 in grad_y's dtype: a product of one dtype is cheaper (0.5 vs 0.9 us)
        if type(slope) is np.ndarray and slope.dtype == bool:
            slope = slope.astype(grad_y.dtype)
        grad_x: Array = grad_y * slope
        return grad_x


class Identity(Activation):
    """``f(x) = x``, ``f'(x) = 1``: a linear output, as for regression.

    Examples
    --------
    >>> Identity().forward(np.array([-2.0, 3.0]))
    array([-2.,  3.])
    """

    overwrites_gradients = True  # no parameters: nothing to clear before backward

    def function(self, x: Array) -> Array:
        """Return ``x`` unchanged (not copied)."""
        return x

    def derivative(self, x: Array) -> npt.NDArray[Any]:
        """Ones, shaped like ``x``."""
        return np.ones_like(x)

    def backward(self, grad_y: Array) -> Array:
        """``dL/dx = dL/dy * 1``: the gradient passes through, not copied (no product by ones)."""
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

    def derivative(self, x: Array) -> npt.NDArray[Any]:
        """The step function ``x > 0`` (0 at 0), as a boolean mask.

        ``dL/dy * mask`` is one product in ``dL/dy``'s dtype (``np.heaviside`` or a cast
        to float is much slower on a float32 batch).
        """
        return x > 0.0


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
        (np.maximum if self.alpha <= 1.0 else np.minimum)(x, scaled, out=scaled)
        return scaled

    def derivative(self, x: Array) -> npt.NDArray[Any]:
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
    ``min(x, 0)``. ``backward`` takes the slope ``s * (1 - s)`` from the output ``s``
    of the last forward, with no second ``exp``.

    Examples
    --------
    >>> Sigmoid().forward(np.array([-np.log(3.0), 0.0]))  # 1 / (1 + 3), 1 / (1 + 1)
    array([0.25, 0.5 ])
    """

    derivative_uses_output = True

    def function(self, x: Array) -> Array:
        """``1 / (1 + exp(-x))`` as ``exp(min(x, 0)) / (1 + exp(-|x|))``: exact, stable for any finite ``x``.

        For ``x >= 0`` that is ``1 / (1 + exp(-x))``; for ``x < 0``, ``exp(x) / (1 + exp(x))``.
        """
        denominator = np.exp(-1.0 * np.abs(x))  # not -np.abs(x): numpy has no negative of a boolean array
        denominator += 1.0
        result: Array = np.exp(np.minimum(x, 0.0))
        result /= denominator
        return result

    def derivative(self, x: Array) -> npt.NDArray[Any]:
        """``s * (1 - s)`` with ``s = f(x)``."""
        return self.derivative_from_output(self.function(x))

    def derivative_from_output(self, y: Array) -> npt.NDArray[Any]:
        """``s * (1 - s)`` from the output ``s``."""
        return y * (1.0 - y)


class Tanh(Activation):
    """Hyperbolic tangent ``f(x) = tanh(x)``; ``f'(x) = 1 - tanh(x)**2``.

    Examples
    --------
    >>> Tanh().forward(np.array([0.0, 1.0])).round(4)
    array([0.    , 0.7616])
    """

    derivative_uses_output = True

    def function(self, x: Array) -> Array:
        """``tanh(x)`` element-wise (integers in float64: numpy would pick float16 for uint8)."""
        return np.tanh(x, dtype=None if x.dtype.kind == "f" else np.float64)

    def derivative(self, x: Array) -> npt.NDArray[Any]:
        """``1 - tanh(x)**2``."""
        return self.derivative_from_output(np.tanh(x))

    def derivative_from_output(self, y: Array) -> npt.NDArray[Any]:
        """``1 - t**2`` from the output ``t``."""
        return 1.0 - y * y


ACTIVATIONS: dict[str, type[Activation]] = {"relu": ReLU, "identity": Identity, "linear": Identity,
                                             "sigmoid": Sigmoid, "tanh": Tanh, "leaky_relu": LeakyReLU}


def get_activation(name: str) -> Activation:
    """A new activation layer from its name (``"relu"``, ``"identity"``, ``"sigmoid"``, ...)."""
    return class_by_name(ACTIVATIONS, name, "activation")
