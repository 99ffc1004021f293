"""Regression tests for fit: validation in batches, float32 end to end, one permutation per epoch."""

from __future__ import annotations

import numpy as np
import pytest

import minidl

F32 = np.dtype(np.float32)


class _Recorder(minidl.Layer):
    """A pass-through layer noting what it sees: (mode, shape, dtype) forward, dtypes backward."""

    def __init__(self) -> None:
        super().__init__()
        self.forward_seen: list[tuple[bool, tuple[int, ...], np.dtype]] = []
        self.backward_dtypes: set[np.dtype] = set()

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.forward_seen.append((self.training, x.shape, x.dtype))
        return x

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        self.backward_dtypes.add(grad_y.dtype)
        return grad_y


def test_fit_validates_in_batches_of_batch_size_not_all_at_once() -> None:
    # Validating all held-out samples in one forward pass holds their activations all at
    # once: with validation_split=0.2 that took fit's peak memory on the benchmark's MLP
    # from 1.11x to 1.22x of the arrays it must hold (issue 6's target is 1.2x), and it
    # grows with the data set. Keras validates in batches of batch_size too.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 3))
    y = x @ np.array([1.0, -2.0, 0.5])
    recorder = _Recorder()
    network = minidl.Network([minidl.Dense(3, 4, seed=0), recorder, minidl.ReLU(),
                              minidl.Dense(4, 1, seed=1)])
    network.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = network.fit(x, y, epochs=1, batch_size=8, validation_split=0.4, verbose=0, seed=0)
    validation_rows = [shape[0] for training, shape, _ in recorder.forward_seen if not training]
    assert sum(validation_rows) >= 40  # the 40 held-out samples were all validated...
    assert max(validation_rows) <= 8  # ...in batches of at most batch_size
    # Batching does not change the numbers: the same as evaluate on the held-out samples.
    expected = network.evaluate(x[60:], y[60:])
    assert history.history["val_loss"][0] == pytest.approx(expected["loss"], rel=1e-12)
    assert history.history["val_mae"][0] == pytest.approx(expected["mae"], rel=1e-12)


@pytest.mark.parametrize(
    ("loss", "head", "outputs", "kind"),
    [
        ("sparse_categorical_crossentropy", minidl.Softmax, 3, "labels"),  # fused with Softmax
        (minidl.SparseCategoricalCrossEntropy(from_logits=True), None, 3, "labels"),
        ("categorical_crossentropy", minidl.Softmax, 3, "onehot"),  # fused with Softmax
        ("binary_crossentropy", minidl.Sigmoid, 1, "binary"),  # fused with Sigmoid
        ("mse", None, 1, "real"),
    ],
    ids=["sparse-fused", "sparse-logits", "categorical-fused", "binary-fused", "mse"],
)
def test_fit_of_a_float32_network_keeps_float32_through_every_forward_and_backward(
    loss: str | minidl.Loss, head: type[minidl.Layer] | None, outputs: int, kind: str
) -> None:
    # A recorder between the layers (not only before the first one, whose backward fit
    # never calls) sees the activations and the gradients flowing back. A float64
    # gradient here would be silently cast back by Dense's out= buffers, so checking
    # the parameters' dtypes alone could not notice it.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 4))  # float64 on purpose: fit casts it once
    classes = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    y = {"labels": classes, "onehot": np.eye(3)[classes], "binary": (x[:, 0] > 0).astype(float),
         "real": x[:, 0] * 2.0}[kind]
    early, late = _Recorder(), _Recorder()
    layers: list[minidl.Layer] = [minidl.Dense(4, 8, seed=0), early, minidl.ReLU(),
                                  minidl.Dense(8, outputs, seed=1), late]
    if head is not None:
        layers.append(head())
    network = minidl.Network(layers).astype(np.float32)
    network.compile(optimizer=minidl.Adam(0.01), loss=loss)
    network.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, seed=0)
    for recorder in (early, late):
        assert {dtype for _, _, dtype in recorder.forward_seen} == {F32}
        assert recorder.backward_dtypes == {F32}


def test_fit_shuffles_with_one_permutation_per_epoch_of_its_seed() -> None:
    # Each epoch draws one permutation from the seed's generator and trains on its
    # consecutive slices: the same steps as this hand-written loop of train_step calls.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((24, 3))
    y = x @ np.array([0.5, -1.0, 2.0])

    def network() -> minidl.Network:
        net = minidl.Network([minidl.Dense(3, 5, seed=0), minidl.Tanh(), minidl.Dense(5, 1, seed=1)])
        net.compile(optimizer=minidl.SGD(0.05), loss="mse")
        return net

    fitted = network()
    fitted.fit(x, y, epochs=3, batch_size=8, verbose=0, seed=7)
    by_hand = network()
    generator = np.random.default_rng(7)
    for _ in range(3):
        order = generator.permutation(len(x))
        for start in range(0, len(x), 8):
            batch = order[start : start + 8]
            by_hand.train_step(x[batch], y[batch])
    for a, b in zip(fitted.parameters(), by_hand.parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)
