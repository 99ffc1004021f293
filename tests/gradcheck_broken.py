"""Layers with exactly one classic mistake each, for the gradient-check tests.

They keep their own caches (``self.seen``, ``self.p``) rather than reading a built-in
layer's private attributes, so they do not depend on how Dense or Activation store theirs.
"""

from __future__ import annotations

import numpy as np

from minidl import Activation, Dense, Layer, Parameter, Softmax


def normal(seed: int, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, scale, size=shape)


def away_from_zero(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """Values in +-[0.05, 3]: no kink of ReLU/LeakyReLU within eps of any of them."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 3.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


X = normal(0, (4, 3))  # the same draws as default_rng(0): the check must not be fooled


class SquareDense(Dense):
    """A correct square Dense, to derive broken variants from; it keeps its input as ``seen``."""

    def __init__(self, size: int = 3) -> None:
        super().__init__(size, size, seed=1, bias_init=[0.1, -0.2, 0.3][:size])

    def forward(self, x):
        self.seen = x
        return super().forward(x)


class MissingTranspose(SquareDense):
    def backward(self, grad_y):
        super().backward(grad_y)  # the parameter gradients are right
        return grad_y @ self.weight.value  # should be weight.T


class WeightGradTransposed(SquareDense):
    def backward(self, grad_y):
        grad_x = super().backward(grad_y)
        self.weight.grad[...] = grad_y.T @ self.seen  # should be x.T @ grad_y
        return grad_x


class ForgottenBiasGradient(Layer):
    """y = x @ W + b, written from scratch, with no line for dL/db."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = Parameter(normal(3, (3, 2)), name="weight")
        self.bias = Parameter(np.array([0.5, -0.5]), name="bias")

    def forward(self, x):
        self.x = x
        return x @ self.weight.value + self.bias.value

    def backward(self, grad_y):
        self.weight.grad[...] = self.x.T @ grad_y
        return grad_y @ self.weight.value.T


class ZeroedBiasGradient(ForgottenBiasGradient):
    def backward(self, grad_y):
        self.bias.grad[...] = 0.0
        return super().backward(grad_y)


class BiasNotSummedOverBatch(ForgottenBiasGradient):
    def backward(self, grad_y):
        self.bias.grad[...] = grad_y.mean(axis=0)  # should be the sum over the batch
        return super().backward(grad_y)


class BiasFromFirstSampleOnly(ForgottenBiasGradient):
    def backward(self, grad_y):
        self.bias.grad[...] = grad_y[0]
        return super().backward(grad_y)


class WeightSignError(ForgottenBiasGradient):
    def backward(self, grad_y):
        self.bias.grad[...] = grad_y.sum(axis=0)
        grad_x = super().backward(grad_y)
        self.weight.grad[...] = -(self.x.T @ grad_y)
        return grad_x


class SigmoidDerivativeAtOutput(Activation):
    """The classic slip: ``s * (1 - s)`` written with the input in place of ``s``."""

    def function(self, x):
        return 1.0 / (1.0 + np.exp(-x))

    def derivative(self, x):
        return x * (1.0 - x)  # the formula in terms of the output, applied to the input


class TanhDerivativeAtOutput(Activation):
    def function(self, x):
        return np.tanh(x)

    def derivative(self, x):
        return 1.0 - x**2


class IgnoresUpstreamGradient(Activation):
    """Right only when grad_y is all ones: it returns f'(x) instead of grad_y * f'(x)."""

    def function(self, x):
        return np.tanh(x)

    def derivative(self, x):
        return 1.0 - np.tanh(x) ** 2

    def forward(self, x):
        self.seen = x
        return super().forward(x)

    def backward(self, grad_y):
        return self.derivative(self.seen)


class DiagonalSoftmax(Softmax):
    """Softmax with backward p * (1 - p) * g, ignoring the off-diagonal Jacobian terms."""

    def forward(self, x):
        self.p = super().forward(x)
        return self.p

    def backward(self, grad_y):
        return grad_y * self.p * (1.0 - self.p)


#: Each broken layer and the gradients the check must name as wrong.
BROKEN = [
    (MissingTranspose, ["input"]),
    (WeightGradTransposed, ["weight"]),
    (ForgottenBiasGradient, ["bias"]),
    (ZeroedBiasGradient, ["bias"]),
    (BiasNotSummedOverBatch, ["bias"]),
    (BiasFromFirstSampleOnly, ["bias"]),
    (WeightSignError, ["weight"]),
    (SigmoidDerivativeAtOutput, ["input"]),
    (TanhDerivativeAtOutput, ["input"]),
    (IgnoresUpstreamGradient, ["input"]),
    (DiagonalSoftmax, ["input"]),
]


class ListScale(Layer):
    """A learner's mistake: the parameter is kept in a list, which parameters() does not see."""

    def __init__(self) -> None:
        super().__init__()
        self.weights = [Parameter(np.ones(3), name="w")]

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x * self.weights[0].value

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        self.weights[0].grad[...] = (grad_y * self.x).sum(axis=0)
        return grad_y * self.weights[0].value


class LazyScale(Layer):
    """A learner's mistake: the parameter is created in the first forward."""

    def __init__(self) -> None:
        super().__init__()
        self.w: Parameter | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.w is None:
            self.w = Parameter(np.ones(x.shape[-1]), name="w")
        self.x = x
        return x * self.w.value

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        assert self.w is not None
        self.w.grad[...] = (grad_y * self.x).sum(axis=0)
        return grad_y * self.w.value


class Helper:
    """A plain object of one's own."""


class HelperScale(Layer):
    """A learner's mistake: the parameter is kept on a plain object, which parameters() does not see."""

    def __init__(self) -> None:
        super().__init__()
        self.p = Helper()
        self.p.w = Parameter(np.ones(3), name="w")

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x * self.p.w.value

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        self.p.w.grad[...] = (grad_y * self.x).sum(axis=0)
        return grad_y * self.p.w.value


class InnerDense(Layer):
    """A learner's mistake (PyTorch's habit): a built-in Dense kept inside, y = tanh(inner(x))."""

    def __init__(self) -> None:
        super().__init__()
        self.inner, self.unused = Dense(3, 3, seed=0), Softmax()  # a layer without parameters is fine

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.tanh(self.inner.forward(x))
        return self.y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        return self.inner.backward(grad_y * (1.0 - self.y**2))
