"""dtype policy: float64 by default, and float32 stays float32 everywhere (no silent upcast)."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import (
    SGD,
    Adam,
    BatchNorm,
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    Dense,
    Dropout,
    Identity,
    LeakyReLU,
    MeanAbsoluteError,
    MeanSquaredError,
    Network,
    ReLU,
    RMSprop,
    Sigmoid,
    Softmax,
    SparseCategoricalCrossEntropy,
    Tanh,
)

F32 = np.dtype(np.float32)


def _float32_batch(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_dense_is_float64_by_default_and_float32_on_request() -> None:
    assert Dense(3, 2).weight.dtype == np.float64
    layer = Dense(3, 2, dtype=np.float32)
    assert layer.weight.dtype == F32 and layer.weight.grad.dtype == F32
    assert layer.bias is not None and layer.bias.dtype == F32 and layer.bias.grad.dtype == F32


def test_dense_refuses_a_non_floating_dtype() -> None:
    with pytest.raises(TypeError, match="floating"):
        Dense(3, 2, dtype=np.int64)


@pytest.mark.parametrize(
    "layer",
    [Dense(4, 4, dtype=np.float32), ReLU(), Identity(), Sigmoid(), Tanh(), LeakyReLU(0.1), Softmax(),
     Dropout(0.5, seed=0), BatchNorm(4, dtype=np.float32)],
    ids=lambda layer: type(layer).__name__,
)
def test_every_layer_keeps_float32_through_forward_and_backward(layer: minidl.Layer) -> None:
    x = _float32_batch((5, 4))
    y = layer.forward(x)
    assert y.dtype == F32
    grad_x = layer.backward(_float32_batch(y.shape, seed=1))
    assert grad_x.dtype == F32
    for parameter in layer.parameters():
        assert parameter.value.dtype == F32 and parameter.grad.dtype == F32


@pytest.mark.parametrize(
    ("loss", "target"),
    [
        (MeanSquaredError(), np.arange(6, dtype=np.float64).reshape(3, 2)),  # float64 target
        (MeanAbsoluteError(), np.arange(6, dtype=np.float64).reshape(3, 2)),
        (BinaryCrossEntropy(), np.array([[1, 0], [0, 1], [1, 1]])),
        (BinaryCrossEntropy(from_logits=True), np.array([[1, 0], [0, 1], [1, 1]])),
        (CategoricalCrossEntropy(), np.eye(2)[[0, 1, 1]]),
        (CategoricalCrossEntropy(from_logits=True), np.eye(2)[[0, 1, 1]]),
        (SparseCategoricalCrossEntropy(), np.array([0, 1, 1])),
        (SparseCategoricalCrossEntropy(from_logits=True), np.array([0, 1, 1])),
    ],
    ids=lambda value: repr(value) if isinstance(value, minidl.Loss) else "",
)
def test_every_loss_gradient_stays_float32_whatever_the_target_dtype(
    loss: minidl.Loss, target: np.ndarray
) -> None:
    predicted = np.array([[0.2, 0.8], [0.6, 0.4], [0.3, 0.7]], dtype=np.float32)
    value = loss.forward(predicted, target)
    assert isinstance(value, float) and np.isfinite(value)
    assert loss.backward().dtype == F32


@pytest.mark.parametrize(
    "optimizer",
    [SGD(0.1), SGD(0.1, momentum=0.9), SGD(0.1, momentum=0.9, nesterov=True), RMSprop(0.01), Adam(0.01)],
    ids=repr,
)
def test_every_optimizer_updates_float32_in_float32(optimizer: minidl.Optimizer) -> None:
    layer = Dense(3, 2, dtype=np.float32, seed=0)
    x = _float32_batch((4, 3))
    values = [p.value for p in layer.parameters()]
    for _ in range(3):
        layer.forward(x)
        layer.backward(_float32_batch((4, 2), seed=2))
        optimizer.step(layer.parameters())
    for parameter, original in zip(layer.parameters(), values, strict=True):
        assert parameter.value.dtype == F32
        assert parameter.value is original  # updated in place, not replaced
    for name, array in optimizer.state_arrays(layer.parameters()).items():
        if array.ndim:  # the per-parameter slot arrays (counts are 0-d integers)
            assert array.dtype == F32, name


def test_network_forward_casts_its_input_to_the_network_dtype() -> None:
    net = Network([Dense(3, 2, dtype=np.float32), ReLU()])
    assert net.forward(np.ones((2, 3))).dtype == F32  # float64 in
    assert net.forward([[1, 2, 3]]).dtype == F32  # a list of ints in
    assert net.predict(np.ones((2, 3))).dtype == F32


def test_network_astype_converts_every_parameter_and_keeps_their_identity() -> None:
    net = Network([Dense(3, 4, seed=0), BatchNorm(4), ReLU(), Dense(4, 1, seed=1)])
    before = net.parameters()
    weights64 = [p.value.copy() for p in before]
    assert net.astype(np.float32) is net
    assert net.dtype == F32
    assert net.parameters() == before and all(a is b for a, b in zip(net.parameters(), before, strict=True))
    for parameter, original in zip(net.parameters(), weights64, strict=True):
        assert parameter.value.dtype == F32 and parameter.grad.dtype == F32
        np.testing.assert_array_equal(parameter.value, original.astype(np.float32))
    batchnorm = net[1]
    assert isinstance(batchnorm, BatchNorm)
    assert batchnorm.running_mean.dtype == F32 and batchnorm.running_var.dtype == F32
    assert net.forward(np.ones((2, 3))).dtype == F32


def test_network_astype_back_to_float64_round_trips_float32_values_exactly() -> None:
    net = Network([Dense(3, 2, seed=0, dtype=np.float32)])
    original = net[0].parameters()[0].value.copy()
    net.astype(np.float64)
    assert net.dtype == np.float64
    np.testing.assert_array_equal(net[0].parameters()[0].value, original.astype(np.float64))


def test_network_astype_refuses_a_non_floating_dtype() -> None:
    net = Network([Dense(3, 2)])
    with pytest.raises(TypeError, match=r"Network\.astype.*floating.*int32"):
        net.astype(np.int32)
    assert net.dtype == np.float64


def test_explicit_float32_training_step_keeps_float32_end_to_end() -> None:
    net = Network([Dense(4, 8, dtype=np.float32, seed=0), ReLU(), Dense(8, 3, dtype=np.float32, seed=1)])
    loss = SparseCategoricalCrossEntropy(from_logits=True)
    optimizer = Adam(0.01)
    x, labels = _float32_batch((6, 4)), np.array([0, 1, 2, 0, 1, 2])
    first = None
    for _ in range(20):
        out = net.forward(x)
        assert out.dtype == F32
        value = loss.forward(out, labels)
        first = value if first is None else first
        grad = loss.backward()
        assert grad.dtype == F32
        assert net.backward(grad).dtype == F32
        optimizer.step(net.parameters())
    assert all(p.value.dtype == F32 and p.grad.dtype == F32 for p in net.parameters())
    assert value < first  # it did learn


class _Recorder(minidl.Layer):
    """A pass-through layer that keeps every input it sees (by reference)."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[np.ndarray] = []

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.inputs.append(x)
        return x

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        return grad_y


def _classifier(recorder: _Recorder) -> Network:
    net = Network([recorder, Dense(4, 8, seed=0), ReLU(), Dense(8, 3, seed=1), Softmax()])
    net.astype(np.float32)
    net.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(0.01), metrics=["accuracy"])
    return net


def _classification_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((60, 4))  # float64 on purpose
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    return x, labels


def test_fit_keeps_a_float32_network_float32_end_to_end() -> None:
    recorder = _Recorder()
    net = _classifier(recorder)
    x, labels = _classification_data()
    parameters = net.parameters()
    values = [p.value for p in parameters]
    history = net.fit(x, labels, epochs=5, batch_size=16, verbose=0, seed=0, validation_split=0.2)
    assert all(batch.dtype == F32 for batch in recorder.inputs)
    for parameter, original in zip(net.parameters(), values, strict=True):
        assert parameter.value.dtype == F32 and parameter.grad.dtype == F32
        assert parameter.value is original  # updated in place all along
    state = net.optimizer.state_arrays(parameters)
    assert all(array.dtype == F32 for array in state.values() if array.ndim)
    assert net.predict(x).dtype == F32
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_fit_casts_the_data_once_up_front_and_batches_are_views_of_it() -> None:
    recorder = _Recorder()
    net = _classifier(recorder)
    x, labels = _classification_data()
    net.fit(x, labels, epochs=2, batch_size=16, verbose=0, shuffle=False)
    batches = recorder.inputs[1:]  # the first input is fit's shape probe
    assert len(batches) >= 8
    roots = {id(batch.base) for batch in batches}
    assert len(roots) == 1  # every batch is a slice of one array...
    root = batches[0].base
    assert root is not None and root.dtype == F32 and root.shape == x.shape  # ...the one float32 copy
    np.testing.assert_array_equal(root, x.astype(np.float32))


def test_network_astype_converts_a_compiled_optimizers_state_too() -> None:
    net = Network([Dense(3, 2, seed=0), ReLU(), Dense(2, 1, seed=1)])
    net.compile(loss="mse", optimizer=SGD(0.01, momentum=0.9))
    x = np.random.default_rng(1).standard_normal((8, 3))
    y = x.sum(axis=1)
    net.fit(x, y, epochs=2, batch_size=4, verbose=0, seed=0)
    before = net.optimizer.state_arrays(net.parameters())
    net.astype(np.float32)
    after = net.optimizer.state_arrays(net.parameters())
    assert sorted(before) == sorted(after)
    for key, array in after.items():
        if array.ndim:
            assert array.dtype == F32
            np.testing.assert_array_equal(array, before[key].astype(np.float32))
        else:
            assert array == before[key]  # step counts kept
    net.fit(x.astype(np.float32), y, epochs=1, batch_size=4, verbose=0, seed=0)
    assert all(p.value.dtype == F32 for p in net.parameters())
