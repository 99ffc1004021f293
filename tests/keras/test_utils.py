"""minidl.keras.to_categorical (minidl/keras/utils.py): Keras's one-hot rows, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from minidl.keras import to_categorical


def test_labels_become_one_hot_float_rows():
    out = to_categorical([0, 2, 1, 2])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]])


def test_num_classes_widens_the_rows():
    np.testing.assert_array_equal(to_categorical([1], num_classes=4), [[0, 1, 0, 0]])


def test_a_column_of_labels_loses_its_last_axis_as_in_keras():
    assert to_categorical(np.array([[0], [1]])).shape == (2, 2)
    assert to_categorical(np.zeros((2, 3), dtype=int)).shape == (2, 3, 1)


def test_whole_floats_and_bools_are_labels():
    np.testing.assert_array_equal(to_categorical(np.array([1.0, 0.0])), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(to_categorical(np.array([True, False])), [[0, 1], [1, 0]])


def test_a_pandas_column_works():
    pd = pytest.importorskip("pandas")
    np.testing.assert_array_equal(to_categorical(pd.Series([0, 1, 1])), [[1, 0], [0, 1], [0, 1]])


@pytest.mark.parametrize(("labels", "kwargs", "match"), [
    ([0, -1], {}, "labels >= 0; got -1"),
    ([0.5, 1.0], {}, "not whole numbers"),
    (["a", "b"], {}, "integer class labels"),
    ([0, 3], {"num_classes": 3}, r"label 3 does not fit num_classes=3 \(labels must be 0 to 2\)"),
    ([], {}, "pass num_classes"),
])
def test_labels_that_are_not_class_indices_are_refused(labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        to_categorical(labels, **kwargs)


@pytest.mark.parametrize("labels", [[1e20], np.array([2**63 + 5], dtype=np.uint64), [10**12]])
def test_labels_too_large_to_be_class_indices_are_refused_with_the_label(labels):
    label = int(np.asarray(labels).max())
    with pytest.raises(ValueError, match=rf"the largest label, {label}, would make {label + 1:,} classes "
                                         r"\(more than 1,048,576\).*pass num_classes=\.\.\. if you mean"):
        to_categorical(labels)


def test_the_cap_is_on_the_classes_a_label_implies_and_num_classes_lifts_it():
    assert to_categorical([2**20 - 1]).shape == (1, 2**20)  # the most classes inferred
    with pytest.raises(ValueError, match="would make 1,048,577 classes"):
        to_categorical([2**20])
    assert to_categorical([2**20], num_classes=2**20 + 1)[0, -1] == 1


def test_many_classes_do_not_need_a_square_identity_matrix():
    out = to_categorical([49_999, 0])  # an identity of 50000 x 50000 would take 20 GB
    assert out.shape == (2, 50_000) and out.sum() == 2 and out[0, -1] == out[1, 0] == 1


def test_to_categorical_refuses_masked_labels():
    # The hidden 9 made ten classes of [0, masked 9]
    with pytest.raises(ValueError, match=r"^to_categorical y is a masked array with 1 of its 2 values"):
        to_categorical(np.ma.array([0, 9], mask=[False, True]))
    assert to_categorical(np.ma.array([0, 1], mask=[False, False])).tolist() == [[1.0, 0.0], [0.0, 1.0]]
