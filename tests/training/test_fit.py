"""fit, train_step and loss_and_backward clear a user layer's gradients before it fills them."""

import numpy as np
import pytest

from minidl import SGD, Dense, Layer, Network, Parameter


class AccumulatingPolynomial(Layer):
    """y = a0 + a1 x + a2 x^2, whose backward ADDS to its gradient (PyTorch's habit)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = Parameter(np.zeros(3), name="a")

    def forward(self, x):
        self.powers = np.concatenate([np.ones_like(x), x, x * x], axis=1)  # (N, 3)
        return self.powers @ self.a.value[:, None]

    def backward(self, grad_y):
        self.a.grad += self.powers.T @ grad_y[:, 0]  # accumulates: += rather than =
        return grad_y * (self.a.value[1] + 2 * self.a.value[2] * self.powers[:, 1:2])


X = np.linspace(-1.0, 1.0, 21)[:, None]
Y = 2.0 - 1.0 * X[:, 0] + 0.5 * X[:, 0] ** 2  # exactly reachable: a = [2, -1, 0.5]


def test_an_accumulating_layer_trains_to_the_exact_polynomial_under_fit() -> None:
    # Before the step cleared user layers' gradients, this ended at a = [2.67, -0.96, 0.07]:
    # each batch's gradient was added to all the previous ones (a momentum nobody asked for).
    layer = AccumulatingPolynomial()
    net = Network([layer])
    net.compile(optimizer=SGD(learning_rate=0.5), loss="mse")
    net.fit(X, Y, epochs=400, batch_size=7, verbose=0, seed=0)
    np.testing.assert_allclose(layer.a.value, [2.0, -1.0, 0.5], atol=1e-6)


def test_without_clearing_the_same_layer_would_not_converge() -> None:
    # The control experiment: the same loop written by hand without zero_grad drifts away.
    layer = AccumulatingPolynomial()
    optimizer = SGD(learning_rate=0.5)
    with np.errstate(all="ignore"):  # it diverges
        run_without_clearing(layer, optimizer)
    assert not np.allclose(layer.a.value, [2.0, -1.0, 0.5], atol=1e-2)


def run_without_clearing(layer, optimizer):
    for _ in range(400):
        for start in range(0, len(X), 7):
            xb, yb = X[start : start + 7], Y[start : start + 7, None]
            grad = 2 * (layer.forward(xb) - yb) / len(xb)
            layer.backward(grad)
            optimizer.step(layer.parameters())


def test_train_step_clears_an_accumulating_layer_before_each_backward() -> None:
    layer = AccumulatingPolynomial()
    net = Network([layer])
    net.compile(optimizer=SGD(learning_rate=0.5), loss="mse")
    for _ in range(500):
        net.train_step(X, Y)
    np.testing.assert_allclose(layer.a.value, [2.0, -1.0, 0.5], atol=1e-6)


def test_loss_and_backward_twice_gives_the_same_gradient_not_twice_it() -> None:
    layer = AccumulatingPolynomial()
    net = Network([layer])
    net.compile(optimizer="sgd", loss="mse")
    net.loss_and_backward(X, Y)
    first = layer.a.grad.copy()
    net.loss_and_backward(X, Y)
    np.testing.assert_array_equal(layer.a.grad, first)
    # dL/da = 2/N * powers.T @ (prediction - y) with a = 0: -2/N * powers.T @ y.
    powers = np.concatenate([np.ones_like(X), X, X * X], axis=1)
    np.testing.assert_allclose(first, -2.0 / len(X) * powers.T @ Y, rtol=1e-12)


def test_a_layer_that_overwrites_is_not_cleared_by_the_step() -> None:
    # A layer that declares overwrites_gradients is trusted: the step does not zero its grad.
    class Declared(AccumulatingPolynomial):
        overwrites_gradients = True

    layer = Declared()
    net = Network([layer])
    net.compile(optimizer="sgd", loss="mse")
    net.loss_and_backward(X, Y)
    first = layer.a.grad.copy()
    net.loss_and_backward(X, Y)
    np.testing.assert_allclose(layer.a.grad, 2 * first)  # it said it overwrites; it added


@pytest.mark.parametrize("method", ["train_step", "loss_and_backward"])
def test_a_single_sample_is_a_batch_of_one(method: str) -> None:
    nets = [Network([Dense(3, 2, seed=1), Dense(2, 1, seed=2)]) for _ in range(2)]
    for net in nets:
        net.compile(optimizer=SGD(0.1), loss="mse")
    sample, target = np.array([1.0, -2.0, 0.5]), np.array([3.0])
    value_one = getattr(nets[0], method)(sample, target)
    value_batch = getattr(nets[1], method)(sample[None, :], target[None, :])
    assert value_one == value_batch
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)
        np.testing.assert_array_equal(a.grad, b.grad)
