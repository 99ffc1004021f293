"""Cross-entropy losses (minidl/losses/cross_entropy.py): values, gradients by finite differences,
extreme logits, target rules, ranks, the fused entry, the last layers each loss fits, epsilon."""

import math

import numpy as np
import pytest

from minidl import (
    SGD,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    LeakyReLU,
    Network,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from minidl.losses import (
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    MeanSquaredError,
    SparseCategoricalCrossEntropy,
)
from tests.messages import raises


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("loss", [CategoricalCrossEntropy(), CategoricalCrossEntropy(from_logits=True)])
def test_categorical_targets_must_be_one_hot_rows(loss):
    # With from_logits=True a row summing to 2 would give a loss whose gradient is not (p - y) / N.
    with pytest.raises(ValueError, match=r"CategoricalCrossEntropy: categorical_crossentropy needs one-hot "
                                         r"rows \(summing to 1\); row 1 sums to 2"):
        loss.forward(np.array([[0.5, 0.5], [0.5, 0.5]]), [[0, 1], [1, 1]])
    with pytest.raises(ValueError, match=r"row 0 sums to 0\.5"):
        loss.forward(np.array([0.5, 0.5]), [0.5, 0.0])
    assert loss.forward(np.array([[0.5, 0.5]]), [[0.1, 0.9]]) > 0  # soft targets summing to 1 are fine


@pytest.mark.parametrize("loss", [CategoricalCrossEntropy(), CategoricalCrossEntropy(from_logits=True)])
@pytest.mark.parametrize(("predicted", "actual"), [
    (np.array([[0.3], [0.9]]), [[1], [1]]),  # one column: the only one-hot row is [1]
    (np.array([0.3]), [1]),                  # one sample of one class
], ids=["batch", "one-sample"])
def test_one_class_is_refused_as_it_cannot_learn(loss, predicted, actual):
    with pytest.raises(ValueError, match=r"^CategoricalCrossEntropy: categorical_crossentropy over a "
                                         r"single output unit \(predicted has shape \((2, 1|1,)\)\).*"
                                         r"one unit with Sigmoid and binary_crossentropy"):
        loss.forward(predicted, actual)


@pytest.mark.parametrize("loss", [SparseCategoricalCrossEntropy(),
                                  SparseCategoricalCrossEntropy(from_logits=True)])
def test_sparse_labels_over_one_unit_are_refused_as_they_cannot_learn(loss):
    # its only label is 0: the loss was 0 whatever the network did
    with pytest.raises(ValueError, match=r"^SparseCategoricalCrossEntropy: sparse_categorical_crossentropy "
                                         r"over a single output unit \(predicted has shape \(2, 1\)\)"):
        loss.forward(np.array([[0.3], [0.9]]), [0, 0])


def test_fit_style_messages_come_from_the_same_checks():
    template = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"^fit y: binary_crossentropy targets must be in \[0, 1\]; "
                                         r"got values from 0 to 2"):
        BinaryCrossEntropy().check_target(template, [[0, 1, 2], [0, 0, 0]], "fit y")
    with pytest.raises(ValueError, match=r"^fit y: class labels must be whole numbers .*got e.g. 0.5"):
        SparseCategoricalCrossEntropy().check_target(template, [0.5, 1.0], "fit y")
    with pytest.raises(ValueError, match=r"^fit y: categorical_crossentropy needs one-hot rows"):
        CategoricalCrossEntropy().check_target(template, np.ones((2, 3)), "fit y")


@pytest.mark.parametrize("from_logits", [False, True])
def test_a_rank_3_batch_reads_the_last_axis_as_classes(from_logits):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2, 4, 3))                     # 2 samples, 4 positions, 3 classes
    labels = rng.integers(0, 3, size=(2, 4))
    predicted = z if from_logits else softmax(z)
    sparse = SparseCategoricalCrossEntropy(from_logits=from_logits)
    flat = SparseCategoricalCrossEntropy(from_logits=from_logits)
    onehot = CategoricalCrossEntropy(from_logits=from_logits)
    value = sparse.forward(predicted, labels)
    assert value == pytest.approx(flat.forward(predicted.reshape(8, 3), labels.reshape(8)), rel=1e-14)
    assert value == pytest.approx(onehot.forward(predicted, np.eye(3)[labels]), rel=1e-14)
    assert value == pytest.approx(-np.log(softmax(z)[np.arange(2)[:, None], np.arange(4), labels]).mean())
    grad = sparse.backward()
    assert grad.shape == (2, 4, 3)
    np.testing.assert_allclose(grad, flat.backward().reshape(2, 4, 3), rtol=1e-14)
    np.testing.assert_allclose(grad, onehot.backward(), rtol=1e-12)


@pytest.mark.parametrize("from_logits", [False, True])
def test_a_float32_rank_3_batch_gives_exactly_the_numbers_of_its_rows_as_a_2d_batch(from_logits):
    # One indexing rule for every rank: p[..., label] is read and written in float32, as for (N, k).
    rng = np.random.default_rng(1)
    z = rng.normal(size=(7, 5, 4)).astype(np.float32)
    labels = rng.integers(0, 4, size=(7, 5))
    predicted = z if from_logits else softmax(z).astype(np.float32)
    ranked = SparseCategoricalCrossEntropy(from_logits=from_logits)
    rows = SparseCategoricalCrossEntropy(from_logits=from_logits)
    assert ranked.forward(predicted, labels) == rows.forward(predicted.reshape(35, 4), labels.reshape(35))
    grad = ranked.backward()
    assert grad.dtype == np.float32
    np.testing.assert_array_equal(grad, rows.backward().reshape(7, 5, 4))


@pytest.mark.parametrize(("loss", "target"), [
    (SparseCategoricalCrossEntropy(), 2), (CategoricalCrossEntropy(), [0.0, 0.0, 1.0]),
])
def test_the_fused_entry_takes_a_single_sample_and_returns_dL_dz_in_its_shape(loss, target):
    z = np.array([1.0, -2.0, 0.5])
    p = softmax(z)
    value = loss.forward_from_logits(z, target, p)
    assert value == pytest.approx(-math.log(p[2]), rel=1e-14)
    np.testing.assert_allclose(loss.backward(), p - [0.0, 0.0, 1.0], rtol=1e-14)
    assert loss.forward_from_logits(z, target) == pytest.approx(value, rel=1e-14)  # p computed here


def test_the_sparse_fused_entry_falls_back_to_log_softmax_when_p_underflows():
    z = np.array([[800.0, 0.0]])
    p = softmax(z)                                     # p[1] = exp(-800) = 0 in float64
    loss = SparseCategoricalCrossEntropy()
    assert loss.forward_from_logits(z, [1], p) == 800.0
    np.testing.assert_array_equal(loss.backward(), [[1.0, -1.0]])


def test_sparse_labels_of_other_dtypes():
    p = np.array([[0.25, 0.75], [0.5, 0.5]])
    loss = SparseCategoricalCrossEntropy()
    assert loss.forward(p, np.array([True, False])) == loss.forward(p, [1, 0])
    assert loss.forward(p, np.array([1, 0], dtype=np.uint8)) == loss.forward(p, [1, 0])
    with pytest.raises(TypeError, match="labels must be integers; got dtype <U1"):
        loss.forward(p, ["1", "0"])
    with pytest.raises(ValueError, match="predicted must have a class axis; got a scalar"):
        loss.forward(np.array(0.5), 0)


def test_bce_value_by_hand():
    p = np.array([[0.9], [0.2], [0.6]])
    y = np.array([1, 0, 0])
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3
    assert BinaryCrossEntropy().forward(p, y) == pytest.approx(expected, rel=1e-12)


def test_cce_value_by_hand_is_mean_over_samples_of_sum_over_classes():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    y = np.array([[1, 0, 0], [0, 0, 1]])
    expected = -(math.log(0.7) + math.log(0.8)) / 2
    assert CategoricalCrossEntropy().forward(p, y) == pytest.approx(expected, rel=1e-12)
    assert SparseCategoricalCrossEntropy().forward(p, [0, 2]) == pytest.approx(expected, rel=1e-12)


def test_logits_paths_agree_with_probabilities_paths_for_moderate_values():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 4))
    labels = rng.integers(0, 4, size=5)
    onehot = np.eye(4)[labels]
    p = softmax(z)
    assert CategoricalCrossEntropy(from_logits=True).forward(z, onehot) == pytest.approx(
        CategoricalCrossEntropy().forward(p, onehot), rel=1e-12)
    assert SparseCategoricalCrossEntropy(from_logits=True).forward(z, labels) == pytest.approx(
        CategoricalCrossEntropy().forward(p, onehot), rel=1e-12)
    y = rng.integers(0, 2, size=(5, 4)).astype(float)
    s = 1 / (1 + np.exp(-z))
    assert BinaryCrossEntropy(from_logits=True).forward(z, y) == pytest.approx(
        BinaryCrossEntropy().forward(s, y), rel=1e-12)


def test_single_sample_rank_1():
    p = np.array([0.25, 0.75])
    assert CategoricalCrossEntropy().forward(p, [0, 1]) == pytest.approx(-math.log(0.75))
    sparse = SparseCategoricalCrossEntropy()
    assert sparse.forward(p, 1) == pytest.approx(-math.log(0.75))
    np.testing.assert_allclose(sparse.backward(), [0.0, -1 / 0.75])


def numeric_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        up = f(x)
        x[index] = old - eps
        down = f(x)
        x[index] = old
        grad[index] = (up - down) / (2 * eps)
    return grad


CASES = [
    (BinaryCrossEntropy, "binary"),
    (CategoricalCrossEntropy, "onehot"),
    (SparseCategoricalCrossEntropy, "labels"),
]


def make_target(kind, rng, shape):
    if kind == "binary":
        return rng.integers(0, 2, size=shape).astype(float)
    labels = rng.integers(0, shape[-1], size=shape[0])
    return labels if kind == "labels" else np.eye(shape[-1])[labels]


@pytest.mark.parametrize(("cls", "kind"), CASES)
@pytest.mark.parametrize("from_logits", [False, True])
def test_gradient_matches_finite_differences(cls, kind, from_logits):
    rng = np.random.default_rng(1)
    shape = (4, 3)
    y = make_target(kind, rng, shape)
    if from_logits:
        x = rng.normal(size=shape)
    elif kind == "binary":
        x = rng.uniform(0.1, 0.9, size=shape)
    else:
        x = softmax(rng.normal(size=shape))
    loss = cls(from_logits=from_logits)
    loss.forward(x, y)
    analytic = loss.backward()
    numeric = numeric_gradient(lambda v: cls(from_logits=from_logits).forward(v, y), x.copy())
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_extreme_logits_loss_and_gradient_finite_and_exact():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    onehot = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    p = np.array([[1.0, 0.0, 0.0], [0.0, 1 / (1 + math.exp(-1)), 1 / (1 + math.e)]])
    for loss, target in ((CategoricalCrossEntropy(from_logits=True), onehot),
                         (SparseCategoricalCrossEntropy(from_logits=True), [1, 2])):
        value = loss.forward(z, target)
        # sample 0: log-softmax of class 1 = -2000; sample 1: -log(1 + e^-1) + ... = log(1 + e)
        assert value == pytest.approx((2000.0 + math.log1p(math.e)) / 2, rel=1e-12)
        grad = loss.backward()
        assert np.all(np.isfinite(grad))
        np.testing.assert_allclose(grad, (p - onehot) / 2, rtol=1e-12, atol=1e-300)
    bce = BinaryCrossEntropy(from_logits=True)
    zb = np.array([[1000.0], [-1000.0], [1000.0], [-1000.0]])
    yb = np.array([1.0, 0.0, 0.0, 1.0])
    assert bce.forward(zb, yb) == pytest.approx(500.0, rel=1e-12)  # (0 + 0 + 1000 + 1000) / 4
    np.testing.assert_array_equal(bce.backward(), (np.array([[1.0], [0.0], [1.0], [0.0]]) - yb[:, None]) / 4)


@pytest.mark.parametrize("cls", [CategoricalCrossEntropy, SparseCategoricalCrossEntropy, BinaryCrossEntropy])
def test_probabilities_path_is_finite_at_zero_and_one(cls):
    if cls is BinaryCrossEntropy:
        p, y = np.array([[0.0], [1.0]]), np.array([1.0, 0.0])
    else:
        p = np.array([[1.0, 0.0], [0.0, 1.0]])
        y = [1, 0] if cls is SparseCategoricalCrossEntropy else np.array([[0.0, 1.0], [1.0, 0.0]])
    loss = cls()
    value = loss.forward(p, y)
    assert math.isfinite(value) and value > 10  # -log(1e-7) = 16.1
    assert np.all(np.isfinite(loss.backward()))


@pytest.mark.parametrize(("last", "loss", "y", "analytic_p"), [
    (Softmax, CategoricalCrossEntropy(), np.array([[0.0, 1.0], [1.0, 0.0]]), None),
    (Softmax, SparseCategoricalCrossEntropy(), np.array([1, 0]), None),
    (Sigmoid, BinaryCrossEntropy(), np.array([[0.0, 1.0], [1.0, 1.0]]), None),
])
def test_fused_network_with_logits_1000(last, loss, y, analytic_p):
    # Dense with identity weights passes the logits +-1000 straight to the last activation.
    x = np.array([[1000.0, -1000.0], [1000.0, -1000.0]])
    dense = Dense(2, 2, weight_init=np.eye(2), bias_init="zeros")
    net = Network([dense, last()])
    value = net.loss_and_backward(x, y, loss)
    assert math.isfinite(value)
    probabilities = net.predict(x)
    if last is Softmax:
        onehot = y if y.ndim == 2 else np.eye(2)[y]
        expected_loss = -np.sum(onehot * np.array([[0.0, -2000.0]])) / 2
        grad_logits = (probabilities - onehot) / 2
    else:
        # elementwise: z=1000,y=0 -> 1000; z=-1000,y=1 -> 1000; z=1000,y=1 -> 0; z=-1000,y=1 -> 1000
        expected_loss = (1000.0 + 1000.0 + 0.0 + 1000.0) / 4
        grad_logits = (probabilities - y) / 4
    assert value == pytest.approx(expected_loss, rel=1e-12)
    # dL/dW = x.T @ dL/dz, dL/db = sum of dL/dz
    np.testing.assert_allclose(dense.weight.grad, x.T @ grad_logits, rtol=1e-12)
    np.testing.assert_allclose(dense.bias.grad, grad_logits.sum(axis=0), rtol=1e-12)
    assert np.all(np.isfinite(dense.weight.grad))


def test_float32_stays_float32():
    z = np.array([[2.0, -1.0, 0.5]], dtype=np.float32)
    for loss, y in ((CategoricalCrossEntropy(from_logits=True), np.array([[0, 1, 0]])),
                    (CategoricalCrossEntropy(), np.array([[0, 1, 0]])),
                    (SparseCategoricalCrossEntropy(from_logits=True), np.array([1])),
                    (SparseCategoricalCrossEntropy(), np.array([1])),
                    (BinaryCrossEntropy(from_logits=True), np.array([[0, 1, 1]])),
                    (BinaryCrossEntropy(), np.array([[0, 1, 1]]))):
        pred = z if loss.from_logits else np.abs(z) / 3
        loss.forward(pred, y)
        assert loss.backward().dtype == np.float32, loss


def test_sparse_labels_checked():
    p = np.full((2, 3), 1 / 3)
    loss = SparseCategoricalCrossEntropy()
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        loss.forward(p, [0, 3])
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        loss.forward(p, [-1, 0])
    with pytest.raises(ValueError, match="whole numbers"):
        loss.forward(p, [0.5, 1])
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        loss.forward(p, [[0, 1, 0], [1, 0, 0]])
    assert loss.forward(p, [[0], [2]]) == pytest.approx(math.log(3))


def test_cce_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        CategoricalCrossEntropy().forward(np.full((2, 3), 1 / 3), [0, 1])


def test_bad_options():
    with pytest.raises(TypeError, match="from_logits"):
        BinaryCrossEntropy(from_logits="yes")
    with pytest.raises(ValueError, match="epsilon"):
        CategoricalCrossEntropy(epsilon=0.0)


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="before forward"):
        BinaryCrossEntropy().backward()


class StrictSoftmax(Softmax):
    def backward(self, grad_y):
        raise AssertionError("the fused path must start backpropagation below the Softmax")


class StrictSigmoid(Sigmoid):
    def backward(self, grad_y):
        raise AssertionError("the fused path must start backpropagation below the Sigmoid")


def test_fit_uses_the_fused_path_and_stays_finite_with_huge_logits():
    x = np.array([[1.0, -1.0], [-1.0, 1.0]]) * 500.0
    labels = np.array([1, 0])  # the wrong class for the huge logits: loss about 1000
    net = Network([Dense(2, 2, weight_init=np.eye(2), bias_init="zeros"), StrictSoftmax()])
    net.compile(optimizer=SGD(1e-4), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = net.fit(x, labels, epochs=3, batch_size=2, verbose=0)
    assert history.history["loss"][0] == pytest.approx(1000.0, rel=1e-12)
    assert all(math.isfinite(v) for v in history.history["loss"])
    assert all(np.all(np.isfinite(p.value)) for p in net.parameters())
    binary = Network([Dense(2, 1, weight_init=[[1000.0], [0.0]], bias_init="zeros"), StrictSigmoid()])
    binary.compile(optimizer=SGD(1e-4), loss="binary_crossentropy")
    history = binary.fit(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([0.0, 1.0]), epochs=2, verbose=0)
    assert history.history["loss"][0] == pytest.approx(1000.0, rel=1e-12)


@pytest.mark.parametrize(
    ("loss", "predicted", "actual"),
    [
        (BinaryCrossEntropy(), np.array([[1.5], [-0.2]]), [1, 0]),
        (CategoricalCrossEntropy(), np.array([[1.2, -0.2]]), [[1, 0]]),
        (SparseCategoricalCrossEntropy(), np.array([[1.2, -0.2]]), [0]),
        (BinaryCrossEntropy(), np.array([[np.nan], [0.5]]), [1, 0]),
    ],
)
def test_probabilities_outside_zero_one_are_an_error_not_clipped(loss, predicted, actual):
    expected = r"predicted probabilities \(from_logits=False\) must be in \[0, 1\]"
    with pytest.raises(ValueError, match=expected):
        loss.forward(predicted, actual)


@pytest.mark.parametrize(
    "loss", [BinaryCrossEntropy(), BinaryCrossEntropy(from_logits=True), CategoricalCrossEntropy(),
             CategoricalCrossEntropy(from_logits=True)]
)
def test_targets_outside_zero_one_are_an_error(loss):
    with pytest.raises(ValueError, match=r"targets must be in \[0, 1\]; got values from 0 to 2"):
        loss.forward(np.array([[0.5, 0.5]]), [[2, 0]])


def test_single_sample_from_logits_paths_of_both_categorical_losses():
    # One sample of logits (3,), no batch axis: the value and the gradient, by hand.
    z = np.array([1.0, 2.0, 0.5])
    p = np.exp(z) / np.exp(z).sum()
    for loss, target in ((CategoricalCrossEntropy(from_logits=True), np.array([0.0, 1.0, 0.0])),
                         (SparseCategoricalCrossEntropy(from_logits=True), np.array(1))):
        assert loss.forward(z, target) == pytest.approx(-math.log(p[1]), rel=1e-12)
        grad = loss.backward()
        assert grad.shape == (3,)
        np.testing.assert_allclose(grad, p - [0.0, 1.0, 0.0], rtol=1e-12)


class _OwnDense(Dense):  # a layer of one's own (a Dense with a squashing forward, say): not judged
    pass


@pytest.mark.parametrize(("loss", "last", "fragments"), [
    # The categorical losses after Sigmoid: its outputs do not sum to 1 (the loss came out below Softmax's).
    (CategoricalCrossEntropy(), Sigmoid(),
     ["CategoricalCrossEntropy: the network ends in Sigmoid 'sigmoid', whose outputs do not sum to 1",
      "needs Softmax", "binary_crossentropy"]),
    (SparseCategoricalCrossEntropy(), Sigmoid(),
     ["SparseCategoricalCrossEntropy: the network ends in Sigmoid", "do not sum to 1"]),
    # from_logits=True after the other probability layer.
    (CategoricalCrossEntropy(from_logits=True), Sigmoid(),
     ["CategoricalCrossEntropy(from_logits=True) reads logits, but the network ends in Sigmoid 'sigmoid', "
      "whose outputs are probabilities", "end in Softmax with from_logits=False", "remove the Sigmoid"]),
    (BinaryCrossEntropy(from_logits=True), Softmax(),
     ["BinaryCrossEntropy(from_logits=True) reads logits, but the network ends in Softmax 'softmax'",
      "end in Sigmoid with from_logits=False"]),
    # Probabilities after a built-in layer whose outputs are not (failed at epoch 14, naming no layer).
    (BinaryCrossEntropy(), ReLU(),
     ["BinaryCrossEntropy(from_logits=False) reads probabilities, but the network ends in ReLU 'relu', "
      "whose outputs are not probabilities", "add a Sigmoid layer, or use from_logits=True"]),
    (CategoricalCrossEntropy(), Dense(2, 2), ["ends in Dense 'dense'", "add a Softmax layer"]),
    (SparseCategoricalCrossEntropy(), Conv2D(1, 2, 3), ["ends in Conv2D", "not probabilities"]),
    (BinaryCrossEntropy(), BatchNorm(2), ["ends in BatchNorm", "not probabilities"]),
    (BinaryCrossEntropy(), Tanh(), ["ends in Tanh"]),
    (BinaryCrossEntropy(), LeakyReLU(), ["ends in LeakyReLU"]),
    # Dropout after the probabilities: in training its kept values are over 1 (failed in epoch 1).
    (BinaryCrossEntropy(), Dropout(0.2), ["ends in Dropout 'dropout', which in training scales",
                                          "put Dropout before the last Dense layer"]),
])
def test_check_fits_refuses_a_last_layer_whose_outputs_the_loss_cannot_read(loss, last, fragments):
    raises(ValueError, lambda: loss.check_fits(last), *fragments)


@pytest.mark.parametrize(("loss", "last"), [
    (BinaryCrossEntropy(), Sigmoid()), (CategoricalCrossEntropy(), Softmax()),
    (SparseCategoricalCrossEntropy(), Softmax()),
    (BinaryCrossEntropy(), Softmax()),  # every Softmax output is a probability (its width: see test_step)
    (BinaryCrossEntropy(from_logits=True), Dense(2, 1)), (CategoricalCrossEntropy(from_logits=True), ReLU()),
    (BinaryCrossEntropy(), _OwnDense(2, 1)), (CategoricalCrossEntropy(from_logits=True), Dropout(0.5)),
])
def test_check_fits_accepts_probabilities_logits_and_layers_it_cannot_judge(loss, last):
    loss.check_fits(last)


@pytest.mark.parametrize(("dtype", "epsilon"), [(np.float32, 1e-12), (np.float64, 1e-17), (np.float16, 1e-7)])
def test_binary_epsilon_that_rounds_away_in_the_predictions_dtype_is_refused(dtype, epsilon):
    # 1 - 1e-12 is 1 in float32: the clip kept p = 1 and the loss of a 0 target was inf.
    loss, smallest = BinaryCrossEntropy(epsilon=epsilon), float(np.finfo(dtype).epsneg)
    for _ in range(2):  # checked once per dtype, and refused every time
        raises(ValueError, lambda: loss.forward(np.array([[1.0]], dtype=dtype), [0]),
               f"BinaryCrossEntropy epsilon={epsilon:g} is too small for {np.dtype(dtype)} predictions",
               "1 - epsilon rounds to 1", f"an epsilon of at least {smallest:g}")
    one, pair = np.array([[1.0]], dtype=dtype), np.array([[1.0, 0.0]], dtype=dtype)
    assert math.isfinite(BinaryCrossEntropy(epsilon=float(f"{smallest:g}")).forward(one, [0]))
    assert BinaryCrossEntropy(from_logits=True, epsilon=epsilon).forward(one, [1]) > 0  # no clipping
    # A categorical loss reads only log p: p clipped to 1 is exact there, and stays accepted.
    assert math.isfinite(CategoricalCrossEntropy(epsilon=epsilon).forward(pair, [[0, 1]]))


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, bool])
def test_integer_and_boolean_logits_are_computed_in_float64(dtype) -> None:
    # uint8 wrapped around in -|z| (-1 is 255: an infinite loss), booleans had no minus at all.
    logits, onehot = np.array([[1, 0], [0, 1]], dtype=dtype), np.array([[1.0, 0.0], [0.0, 1.0]])
    softplus_minus_1, log_2 = math.log(1 + math.exp(-1)), math.log(2)
    bce = BinaryCrossEntropy(from_logits=True)
    assert bce.forward(logits, onehot) == pytest.approx((softplus_minus_1 + log_2) / 2, rel=1e-15)
    assert bce.backward().dtype == np.float64
    assert bce.forward_from_logits(logits, onehot) == pytest.approx((softplus_minus_1 + log_2) / 2, rel=1e-15)
    # softmax of (1, 0): -log(e / (e + 1)) = log(1 + e^-1) for each row
    for loss, target in ((CategoricalCrossEntropy(from_logits=True), onehot),
                         (SparseCategoricalCrossEntropy(from_logits=True), np.array([0, 1]))):
        assert loss.forward(logits, target) == pytest.approx(softplus_minus_1, rel=1e-15)
        assert loss.backward().dtype == np.float64


class TemperatureSoftmax(Softmax):
    def forward(self, x):
        return super().forward(x / 2.0)


class SteepSigmoid(Sigmoid):
    def function(self, x):
        return super().function(3.0 * x)

    def derivative(self, x, y):
        return 3.0 * y * (1.0 - y)


@pytest.mark.parametrize(("loss", "last", "classes"), [
    (CategoricalCrossEntropy(), TemperatureSoftmax(), 3),
    (SparseCategoricalCrossEntropy(), TemperatureSoftmax(), 3),
    (BinaryCrossEntropy(), SteepSigmoid(), 1),
])
def test_a_subclass_that_changes_the_activation_is_not_fused(loss, last, classes):
    # Fused, the loss read the plain softmax/sigmoid of the layer's input: fit's loss was 0.908
    # where the loss of the network's own predictions was 0.727, and the gradient was off by 0.115.
    assert not loss.fuses_with(last)
    x = np.random.default_rng(0).normal(size=(6, 4))
    labels = np.array([0, 1, 2, 1, 0, 2])
    y = {3: labels if isinstance(loss, SparseCategoricalCrossEntropy) else np.eye(3)[labels],
         1: (labels[:, None] == 1).astype(float)}[classes]
    net = Network([Dense(4, classes, seed=1), last])
    net.compile(optimizer=SGD(0.1), loss=loss)
    # The training path (fit's, fused when it may) against the plain one: loss of the output, full backward.
    trained = net.loss_and_backward(x, y)
    gradients = [p.grad.copy() for p in net.parameters()]
    assert trained == pytest.approx(loss.forward(net.forward(x), y), rel=1e-12)
    net.backward(loss.backward())
    for gradient, parameter in zip(gradients, net.parameters(), strict=True):
        np.testing.assert_allclose(gradient, parameter.grad, rtol=1e-10, atol=1e-14)


def test_a_subclass_that_only_changes_backward_is_still_fused():
    assert CategoricalCrossEntropy().fuses_with(StrictSoftmax())
    assert BinaryCrossEntropy().fuses_with(StrictSigmoid())


def test_a_shape_mismatch_of_class_targets_says_how_to_make_them():
    # The commonest Keras learner's mistake: integer labels with categorical_crossentropy
    net = Network([Dense(4, 3, seed=0), Softmax()])
    net.compile(optimizer="sgd", loss="categorical_crossentropy")
    x = np.ones((5, 4))
    raises(ValueError, lambda: net.fit(x, np.array([0, 1, 2, 1, 0]), epochs=1, verbose=0),
           "fit y: predicted has shape (5, 3) but actual has shape (5,)",
           "for integer labels use sparse_categorical_crossentropy, or make one-hot rows with "
           "minidl.keras.utils.to_categorical(y)")
    # A test set that misses the last class: to_categorical made 2 columns
    raises(ValueError, lambda: net.evaluate(x, np.eye(2)[[0, 1, 0, 1, 1]]),
           "actual has shape (5, 2)", "one-hot rows for 3 classes: minidl.keras.utils.to_categorical(y, "
           "num_classes=3)")
    # No hint where it would mislead: more columns than classes, another loss, a 2-D prediction of one unit
    misleading = [(CategoricalCrossEntropy(), np.full((5, 3), 0.2), np.eye(5)),
                  (MeanSquaredError(), np.full((5, 3), 0.2), [0, 1, 2, 1, 0]),
                  (BinaryCrossEntropy(), np.full((4, 1), 0.5), np.eye(2)[[0, 1, 0, 1]])]
    for loss, predicted, y in misleading:
        message = raises(ValueError, lambda: loss.forward(predicted, y), "shape")  # noqa: B023 (called at once)
        assert "to_categorical" not in message and "sparse" not in message


class WeightedBinaryCrossEntropy(BinaryCrossEntropy):  # a loss of one's own, as help(minidl.Loss) shows
    def compute(self, predicted, target):
        self.p, self.t, self.weights = predicted, target, 1.0 + target  # positives count twice
        per_value = target * np.log(predicted) + (1 - target) * np.log1p(-predicted)
        return -float(np.mean(self.weights * per_value))

    def gradient(self):
        p, t = self.p, self.t
        return -self.weights * (t / p - (1 - t) / (1 - p)) / p.size


class SmoothedCategoricalCrossEntropy(CategoricalCrossEntropy):
    def forward(self, predicted, actual):
        return super().forward(predicted, 0.9 * np.asarray(actual) + 0.05)


@pytest.mark.parametrize(("loss", "last", "y"), [
    (WeightedBinaryCrossEntropy(), Sigmoid(), np.array([[1.0], [0.0], [1.0], [0.0], [1.0], [1.0]])),
    (SmoothedCategoricalCrossEntropy(), Softmax(), np.eye(2)[[0, 1, 1, 0, 1, 0]]),
])
def test_a_loss_of_ones_own_built_on_a_cross_entropy_is_not_fused(loss, last, y):
    # Fused, the built-in logits path ran and the learner's compute never did: evaluate gave plain
    # binary cross-entropy's 0.6706 where the loss of the predictions was 1.3536
    assert not loss.fuses_with(last)
    x = np.random.default_rng(0).normal(size=(6, 4))
    net = Network([Dense(4, y.shape[1], seed=1), last])
    net.compile(optimizer=SGD(0.1), loss=loss)
    assert net.evaluate(x, y)["loss"] == pytest.approx(loss.forward(net.predict(x), y), rel=1e-12)
    assert BinaryCrossEntropy().fuses_with(Sigmoid()) and CategoricalCrossEntropy().fuses_with(Softmax())
