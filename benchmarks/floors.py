"""The floors: the same training steps written as minimal hand-written numpy.

Each floor is what a careful person would type without a framework: plain arrays, the
formulas in order, the parameters updated in place. They are the yardstick minidl is
measured against in ``run.py`` (a ratio of 1.0 means "as fast as the numpy you would
write by hand").

Two choices make the floors as fast as plain numpy can be, so that the ratios are honest:

* the weight gradient of a batch of one is an outer product (``np.multiply.outer``),
  not a matrix product with a dimension of 1, which OpenBLAS runs several times slower;
* the MLP floor does not compute the gradient with respect to the input data (nobody
  needs it during training). ``MLPFloor(with_input_grad=True)`` adds that one matrix
  product, which is what ``Network.backward`` returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]


class TinyFloor:
    """The seed's 2-2-1 ReLU network (no biases, ReLU after both layers) on one sample.

    One step: forward, mean squared error, backward, SGD update ``W -= lr * dL/dW``.
    """

    def __init__(self, w1: Array, w2: Array, x: Array, y: Array, lr: float) -> None:
        self.w1, self.w2 = w1.copy(), w2.copy()
        self.x, self.y, self.lr = x, y, lr

    def parameters(self) -> list[Array]:
        return [self.w1, self.w2]

    def step(self) -> float:
        x, w1, w2, lr = self.x, self.w1, self.w2, self.lr
        h_in = x @ w1  # (2,)
        h = np.maximum(h_in, 0.0)
        o_in = h @ w2  # (1,)
        o = np.maximum(o_in, 0.0)
        err = o - self.y
        loss = float(err @ err) / err.size
        g_oin = err * ((2.0 / err.size) * (o_in > 0.0))
        g_hin = (w2 @ g_oin) * (h_in > 0.0)
        w2 -= lr * np.multiply.outer(h, g_oin)
        w1 -= lr * np.multiply.outer(x, g_hin)
        return loss


class MLPFloor:
    """A 784-256-128-10 style MLP: Dense-ReLU-Dense-ReLU-Dense, softmax + cross-entropy, SGD.

    ``weights`` is a list of ``(W, b)`` pairs (copied). ``x`` is ``(batch, in)`` and
    ``labels`` integer class labels ``(batch,)``. The loss is the mean over the batch of
    ``-log p[label]``; its gradient with respect to the logits is ``(p - onehot) / batch``.
    """

    def __init__(
        self, weights: list[tuple[Array, Array]], lr: float, *, with_input_grad: bool = False
    ) -> None:
        self.params = [(w.copy(), b.copy()) for w, b in weights]
        self.lr = lr
        self.with_input_grad = with_input_grad
        self.input_grad: Array | None = None

    def parameters(self) -> list[Array]:
        return [a for pair in self.params for a in pair]

    def step(self, x: Array, labels: Array) -> float:
        (w1, b1), (w2, b2), (w3, b3) = self.params
        lr = self.lr
        n = x.shape[0]
        # forward
        z1 = x @ w1
        z1 += b1
        a1 = np.maximum(z1, 0.0)
        z2 = a1 @ w2
        z2 += b2
        a2 = np.maximum(z2, 0.0)
        z3 = a2 @ w3
        z3 += b3
        # softmax + cross-entropy, fused
        z3 -= z3.max(axis=1, keepdims=True)
        p = np.exp(z3)
        p /= p.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = -float(np.log(p[rows, labels]).sum()) / n
        g3 = p
        g3[rows, labels] -= 1.0
        g3 *= 1.0 / n
        # backward
        g2 = (g3 @ w3.T) * (z2 > 0.0)
        g1 = (g2 @ w2.T) * (z1 > 0.0)
        if self.with_input_grad:
            self.input_grad = g1 @ w1.T
        if n == 1:
            gw3 = np.multiply.outer(a2[0], g3[0])
            gw2 = np.multiply.outer(a1[0], g2[0])
            gw1 = np.multiply.outer(x[0], g1[0])
        else:
            gw3 = a2.T @ g3
            gw2 = a1.T @ g2
            gw1 = x.T @ g1
        # SGD, in place
        w3 -= lr * gw3
        b3 -= lr * g3.sum(axis=0)
        w2 -= lr * gw2
        b2 -= lr * g2.sum(axis=0)
        w1 -= lr * gw1
        b1 -= lr * g1.sum(axis=0)
        return loss


def floor_fit(
    floor: MLPFloor, x: Array, labels: Array, *, batch_size: int, epochs: int, seed: int, shuffle: bool = True
) -> None:
    """The plain training loop: one permutation per epoch; each batch gathered from it.

    ``x[index]`` copies one batch (no shuffled copy of the whole data set is kept).
    """
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    for _ in range(epochs):
        if not shuffle:
            for start in range(0, n, batch_size):
                floor.step(x[start : start + batch_size], labels[start : start + batch_size])
            continue
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            floor.step(x[index], labels[index])
