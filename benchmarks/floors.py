"""The floors: the same training steps written as minimal hand-written numpy.

Each floor is what a careful person would type without a framework: plain arrays, the
formulas in order, the parameters updated in place. They are the yardstick minidl is
measured against in ``run.py`` (a ratio of 1.0 means "as fast as the numpy you would
write by hand").

These choices make the floors as fast as plain numpy can be, so that the ratios are honest:

* the weight gradient of a batch of one is an outer product (``np.multiply.outer``),
  not a matrix product with a dimension of 1, which OpenBLAS runs several times slower;
* the MLP floor does not compute the gradient with respect to the input data (nobody
  needs it during training). ``MLPFloor(with_input_grad=True)`` adds that one matrix
  product, which is what ``Network.backward`` returns;
* on the 2-2-1 network, where every numpy call costs about the same whatever it
  computes, the tight floor (:class:`TinyFloor`) makes as few calls as it can: scalars
  are Python floats and nothing is allocated that the math does not need.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Array = np.ndarray[Any, Any]


def softmax_cross_entropy(z: Array, labels: Array) -> tuple[float, Array]:
    """Fused softmax + cross-entropy of logits ``z`` ``(N, k)``: ``(mean loss, dL/dz = (p - onehot) / N)``.

    ``z`` is overwritten (shifted by its row maxima); the gradient reuses the array of ``p``.
    """
    n = z.shape[0]
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = -float(np.log(p[rows, labels]).sum()) / n
    p[rows, labels] -= 1.0
    p *= 1.0 / n
    return loss, p


class TinyFloor:
    """The seed's 2-2-1 ReLU network (no biases, ReLU after both layers), one sample: the tight floor.

    One step: forward, mean squared error, backward, SGD update ``W -= lr * dL/dW``, in as
    few numpy calls as the math allows (eleven, two of them ``tolist``, on arrays of two
    elements, where each call costs ~0.4 us whatever it computes). What is a scalar is a
    Python float: the output ``o`` (one unit), the error, the loss and ``dL/do``; the
    one-output product ``h . w2`` is read with ``tolist`` and summed in Python; ``lr`` is
    folded into the scalar before it meets an array; ``w2``'s column is a view made once, so
    nothing is reshaped per step.
    Fastest of the variants measured (``np.dot``/``@``/``.dot``, ``out=`` buffers, a mask
    computed once); the step is the same as :class:`LooseTinyFloor`'s to rounding.
    """

    def __init__(self, w1: Array, w2: Array, x: Array, y: Array, lr: float) -> None:
        self.w1, self.w2 = w1.copy(), w2.copy()
        self.w2_column = self.w2[:, 0]  # a view: updating it updates w2
        self.x, self.y, self.lr = x, float(y[0]), lr

    def parameters(self) -> list[Array]:
        return [self.w1, self.w2]

    def step(self) -> float:
        x, w1, w2, lr = self.x, self.w1, self.w2_column, self.lr
        h_in = np.dot(x, w1)  # (2,)
        h = np.maximum(h_in, 0.0)
        (h0, h1), (v0, v1) = h.tolist(), w2.tolist()
        o_in = h0 * v0 + h1 * v1  # the one output unit, a Python float
        err = (o_in if o_in > 0.0 else 0.0) - self.y
        step = lr * 2.0 * err if o_in > 0.0 else 0.0  # lr * dL/do_in
        g_hin = w2 * step  # lr * dL/dh_in, before w2 changes
        g_hin *= h_in > 0.0
        w2 -= h * step
        w1 -= np.multiply.outer(x, g_hin)
        return err * err


class LooseTinyFloor:
    """The 2-2-1 step as first written (the floor of issue 6): the same math, array by array.

    Every quantity an array, products with ``@`` on 1-D arrays, ``lr`` multiplied into
    each gradient array: about twenty numpy calls, twice :class:`TinyFloor`'s time. Kept as
    the "loose floor" column.
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
        loss, g3 = softmax_cross_entropy(z3, labels)
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


class LeNetFloor:
    """A LeNet-5-like network on ``(batch, 1, 28, 28)`` images; one SGD step, float32.

    Conv 6@5x5 (padding 2) - ReLU - MaxPool 2 - Conv 16@5x5 - ReLU - MaxPool 2 - Flatten -
    Dense 120 - ReLU - Dense 84 - ReLU - Dense 10, softmax + cross-entropy on integer labels.

    ``weights`` is a list of ``(W, b)`` pairs (copied): the convolutions' ``W`` of shape
    ``(out, in, kh, kw)``, the Dense layers' ``(in, out)``. The floor is the numpy a careful
    person writes for this network, layer by layer:

    * the image is transposed once to ``(C, H, W, N)`` (batch innermost) and stays in that
      layout through the convolutional part, so no other transpose is needed before Flatten;
    * im2col by stride tricks, ``cols`` of shape ``(C * 25, Ho * Wo * N)``; one matrix
      product per convolution, ``W @ cols``;
    * max-pooling by a reshape, ``(C, Ho, 2, Wo, 2, N).max(axis=(2, 4))``, and its backward
      by comparing each input with its window's maximum;
    * col2im by summing shifted slices, one ``+=`` per kernel offset (25), no ``np.add.at``;
    * no gradient with respect to the input images (the first convolution's ``dL/dx``).
    """

    def __init__(self, weights: list[tuple[Array, Array]], lr: float) -> None:
        self.params = [(w.copy(), b.copy()) for w, b in weights]
        self.lr = lr

    def parameters(self) -> list[Array]:
        return [a for pair in self.params for a in pair]

    def step(self, x: Array, labels: Array) -> float:
        (k1, c1), (k2, c2), (w3, b3), (w4, b4), (w5, b5) = self.params
        lr = self.lr
        n = x.shape[0]
        # conv 1: 1 -> 6 channels, 5x5, padding 2: (1, 32, 32, N) -> (6, 28, 28, N)
        xt = np.zeros((1, 32, 32, n), dtype=np.float32)
        xt[:, 2:30, 2:30, :] = x.transpose(1, 2, 3, 0)
        cols1 = sliding_window_view(xt, (5, 5), axis=(1, 2)).transpose(0, 4, 5, 1, 2, 3).reshape(25, -1)
        z1 = k1.reshape(6, 25) @ cols1  # (6, 28 * 28 * N)
        z1 += c1[:, None]
        a1 = np.maximum(z1, 0.0).reshape(6, 14, 2, 14, 2, n)
        p1 = a1.max(axis=(2, 4))  # (6, 14, 14, N)
        # conv 2: 6 -> 16 channels, 5x5: (6, 14, 14, N) -> (16, 10, 10, N)
        cols2 = sliding_window_view(p1, (5, 5), axis=(1, 2)).transpose(0, 4, 5, 1, 2, 3).reshape(150, -1)
        z2 = k2.reshape(16, 150) @ cols2  # (16, 10 * 10 * N)
        z2 += c2[:, None]
        a2 = np.maximum(z2, 0.0).reshape(16, 5, 2, 5, 2, n)
        p2 = a2.max(axis=(2, 4))  # (16, 5, 5, N)
        f = p2.transpose(3, 0, 1, 2).reshape(n, 400)  # Flatten in (c, h, w) order
        # the Dense layers and the fused softmax + cross-entropy
        z3 = f @ w3
        z3 += b3
        a3 = np.maximum(z3, 0.0)
        z4 = a3 @ w4
        z4 += b4
        a4 = np.maximum(z4, 0.0)
        z5 = a4 @ w5
        z5 += b5
        loss, g5 = softmax_cross_entropy(z5, labels)
        # backward through the Dense layers
        g4 = (g5 @ w5.T) * (z4 > 0.0)
        g3 = (g4 @ w4.T) * (z3 > 0.0)
        gf = g3 @ w3.T  # (N, 400)
        # max-pool 2 and ReLU: the gradient goes to the window's maximum, where z2 > 0
        gp2 = gf.reshape(n, 16, 5, 5).transpose(1, 2, 3, 0)[:, :, None, :, None]
        gz2 = ((a2 == p2[:, :, None, :, None]) * gp2).reshape(16, -1)
        gz2 *= z2 > 0.0
        # conv 2: weights, bias, and back to its input by col2im
        gk2 = (gz2 @ cols2.T).reshape(k2.shape)
        gc2 = gz2.sum(axis=1)
        gcols2 = (k2.reshape(16, 150).T @ gz2).reshape(6, 5, 5, 10, 10, n)
        gp1 = np.zeros((6, 14, 14, n), dtype=np.float32)
        for i in range(5):
            for j in range(5):
                gp1[:, i:i + 10, j:j + 10, :] += gcols2[:, i, j]
        gz1 = ((a1 == p1[:, :, None, :, None]) * gp1[:, :, None, :, None]).reshape(6, -1)
        gz1 *= z1 > 0.0
        # conv 1: weights and bias only
        gk1 = (gz1 @ cols1.T).reshape(k1.shape)
        gc1 = gz1.sum(axis=1)
        # SGD, in place
        w5 -= lr * (a4.T @ g5)
        b5 -= lr * g5.sum(axis=0)
        w4 -= lr * (a3.T @ g4)
        b4 -= lr * g4.sum(axis=0)
        w3 -= lr * (f.T @ g3)
        b3 -= lr * g3.sum(axis=0)
        k2 -= lr * gk2
        c2 -= lr * gc2
        k1 -= lr * gk1
        c1 -= lr * gc1
        return loss
