"""Cross-entropy losses (minidl/losses/cross_entropy.py): target rules, ranks, the fused entry."""

import math

import numpy as np
import pytest

from minidl.losses import BinaryCrossEntropy, CategoricalCrossEntropy, SparseCategoricalCrossEntropy


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
