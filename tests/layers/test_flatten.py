"""Flatten (minidl/layers/flatten.py): C order, any rank >= 2, the gradient reshaped back."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import Conv2D, Flatten, Network, check_gradients
from tests.messages import raises


def test_images_become_rows_in_c_order():
    x = np.arange(24.0).reshape(2, 3, 2, 2)  # sample 0 holds 0..11, sample 1 holds 12..23
    y = Flatten().forward(x)
    assert y.shape == (2, 12)
    np.testing.assert_array_equal(y[0], np.arange(12.0))
    # entry c * H * W + h * W + w is pixel (c, h, w): channel 1, row 0, column 1 -> 1 * 4 + 0 + 1 = 5
    assert y[1, 5] == x[1, 1, 0, 1]


@pytest.mark.parametrize("shape", [(3, 4), (3, 4, 5), (2, 1, 3, 4), (2, 1, 1, 2, 3)])
def test_any_rank_from_2_up(shape):
    layer = Flatten()
    x = np.random.default_rng(0).normal(size=shape)
    y = layer.forward(x)
    assert y.shape == (shape[0], int(np.prod(shape[1:])))
    g = np.random.default_rng(1).normal(size=y.shape)
    np.testing.assert_array_equal(layer.backward(g), g.reshape(shape))


def test_gradient_check_and_float32():
    assert check_gradients(Flatten(), np.random.default_rng(0).normal(size=(2, 2, 3, 2))).passed
    layer = Flatten()
    y = layer.forward(np.ones((2, 2, 2, 2), dtype=np.float32))
    assert y.dtype == np.float32 and layer.backward(y).dtype == np.float32


def test_after_a_conv2d_the_transposed_output_is_flattened_in_c_order():
    conv = Conv2D(1, 2, 1, weight_init=[[[[1.0]]], [[[-1.0]]]], use_bias=False)
    y = Flatten().forward(conv.forward(np.arange(8.0).reshape(2, 1, 2, 2)))
    np.testing.assert_array_equal(y, [[0, 1, 2, 3, 0, -1, -2, -3], [4, 5, 6, 7, -4, -5, -6, -7]])


def test_an_empty_batch_flattens_to_an_empty_batch_and_back():
    layer = Flatten()
    y = layer.forward(np.ones((0, 2, 3, 3)))
    assert y.shape == (0, 18)
    assert layer.backward(y).shape == (0, 2, 3, 3)


def test_rank_below_2_is_refused():
    raises(ValueError, lambda: Flatten().forward(np.ones(3)), "Flatten 'flatten'",
           "expected a batch of rank 2 or more", "got an array of rank 1 with shape (3,)")


def test_config_and_model_file(tmp_path):
    assert Flatten(name="f").config() == {"name": "f"}
    network = Network([Flatten()])
    network.save(tmp_path / "flat.npz")
    loaded = minidl.load(tmp_path / "flat.npz")
    assert type(loaded[0]) is Flatten
    np.testing.assert_array_equal(loaded.predict(np.ones((2, 2, 2))), np.ones((2, 4)))
