"""MaxPool2D and AvgPool2D (minidl/layers/pooling.py): worked examples, ties, a loop reference, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import minidl
from minidl import AvgPool2D, MaxPool2D, Network, check_gradients
from tests.messages import raises
from tests.numeric import assert_layer_gradients

IMAGE = np.array([[1.0, 3.0, 2.0, 0.0],
                  [4.0, 2.0, 1.0, 5.0],
                  [0.0, 1.0, 7.0, 6.0],
                  [2.0, 8.0, 3.0, 1.0]])[None, None]


# -- worked examples, computed by hand ---------------------------------------------------------
def test_max_pool_2x2_by_hand():
    pool = MaxPool2D(2)
    # windows: [1 3; 4 2] -> 4, [2 0; 1 5] -> 5, [0 1; 2 8] -> 8, [7 6; 3 1] -> 7
    np.testing.assert_array_equal(pool.forward(IMAGE), [[[[4.0, 5.0], [8.0, 7.0]]]])
    grad_x = pool.backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
    np.testing.assert_array_equal(grad_x[0, 0], [[0, 0, 0, 0], [10, 0, 0, 20], [0, 0, 40, 0], [0, 30, 0, 0]])


def test_avg_pool_2x2_by_hand():
    pool = AvgPool2D(2)
    # (1 + 3 + 4 + 2) / 4, (2 + 0 + 1 + 5) / 4, (0 + 1 + 2 + 8) / 4, (7 + 6 + 3 + 1) / 4
    np.testing.assert_array_equal(pool.forward(IMAGE), [[[[2.5, 2.0], [2.75, 4.25]]]])
    grad_x = pool.backward(np.array([[[[4.0, 8.0], [12.0, 16.0]]]]))
    np.testing.assert_array_equal(grad_x[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])


def test_overlapping_windows_sum_their_gradients():
    pool = MaxPool2D(2, stride=1)
    x = np.array([[[[1.0, 2.0, 1.0], [2.0, 9.0, 2.0], [1.0, 2.0, 1.0]]]])
    np.testing.assert_array_equal(pool.forward(x), np.full((1, 1, 2, 2), 9.0))  # 9 is in every window
    grad_x = pool.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    np.testing.assert_array_equal(grad_x[0, 0], [[0, 0, 0], [0, 10, 0], [0, 0, 0]])


def test_a_tie_sends_the_gradient_to_the_first_maximum_in_row_major_order():
    pool = MaxPool2D(2)
    x = np.array([[[[1.0, 5.0], [5.0, 5.0]]]])  # three maxima: (0, 1) comes first
    pool.forward(x)
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 1, 1)))[0, 0], [[0, 1], [0, 0]])
    pool.forward(np.full((1, 1, 2, 2), 3.0))
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 1, 1)))[0, 0], [[1, 0], [0, 0]])


def test_rows_and_columns_the_windows_do_not_reach_are_left_out():
    x = np.arange(35.0).reshape(1, 1, 5, 7)
    # Ho = (5 - 2) // 2 + 1 = 2, Wo = (7 - 3) // 2 + 1 = 3
    assert MaxPool2D((2, 3), stride=2).forward(x).shape == (1, 1, 2, 3)
    pool = MaxPool2D(2)
    np.testing.assert_array_equal(pool.forward(x), [[[[8, 10, 12], [22, 24, 26]]]])
    grad_x = pool.backward(np.ones((1, 1, 2, 3)))
    assert not grad_x[0, 0, 4].any() and not grad_x[0, 0, :, 6].any()  # the last row and column get 0


def test_channels_and_samples_are_pooled_separately():
    x = np.stack([IMAGE[0], -IMAGE[0]])  # two samples, the second negated
    x = np.concatenate([x, 2 * x], axis=1)  # two channels, the second doubled
    y = MaxPool2D(2).forward(x)
    np.testing.assert_array_equal(y[0, 1], 2 * y[0, 0])
    np.testing.assert_array_equal(y[1, 0], [[-1.0, 0.0], [0.0, -1.0]])  # max of the negated windows


# -- an independent reference, with explicit loops ----------------------------------------------
def naive_pool(x, size, stride, reduce):
    (ph, pw), (sh, sw) = size, stride
    n, c, h, w = x.shape
    ho, wo = (h - ph) // sh + 1, (w - pw) // sw + 1
    y, dx_of = np.zeros((n, c, ho, wo)), {}
    for s, k, p, q in itertools.product(range(n), range(c), range(ho), range(wo)):
        window = x[s, k, p * sh:p * sh + ph, q * sw:q * sw + pw]
        y[s, k, p, q] = reduce(window)
        dx_of[s, k, p, q] = window

    def backward(g, kind):
        dx = np.zeros_like(x)
        for (s, k, p, q), window in dx_of.items():
            target = dx[s, k, p * sh:p * sh + ph, q * sw:q * sw + pw]
            if kind == "max":
                i, j = np.unravel_index(np.argmax(window), window.shape)
                target[i, j] += g[s, k, p, q]
            else:
                target += g[s, k, p, q] / window.size
        return dx

    return y, backward


CASES = [((2, 2), None, (4, 6)), ((3, 3), (1, 1), (5, 5)), ((2, 3), (1, 2), (5, 7)), ((3, 1), (2, 1), (7, 3)),
         ((1, 1), None, (2, 3)), ((4, 4), (3, 3), (9, 10))]


@pytest.mark.parametrize(("cls", "kind", "reduce"), [(MaxPool2D, "max", np.max), (AvgPool2D, "avg", np.mean)])
@pytest.mark.parametrize(("size", "stride", "shape"), CASES)
def test_matches_the_loop_reference(cls, kind, reduce, size, stride, shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, *shape))
    pool = cls(size, stride)
    want, backward = naive_pool(x, pool.pool_size, pool.stride, reduce)
    np.testing.assert_allclose(pool.forward(x), want, rtol=1e-12, atol=0)
    g = rng.normal(size=want.shape)
    np.testing.assert_allclose(pool.backward(g), backward(g, kind), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
@pytest.mark.parametrize(("size", "stride", "shape"), CASES)
def test_gradients_match_finite_differences(cls, size, stride, shape):
    x = np.random.default_rng(1).normal(size=(2, 2, *shape))  # ties have probability 0
    report = check_gradients(cls(size, stride), x)
    assert report.passed, report
    assert_layer_gradients(cls(size, stride), x)


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
def test_float32_stays_float32(cls):
    pool = cls(2)
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 4)).astype(np.float32)
    y = pool.forward(x)
    assert y.dtype == np.float32 and pool.backward(np.ones_like(y)).dtype == np.float32


def test_a_float16_average_whose_window_sum_passes_65504_is_not_inf():
    # 16 x 16 values of 300 sum to 76800, beyond float16's 65504: summed in float16 the mean was inf
    # (PyTorch's is 300). The window is summed in float32, the mean given back in float16.
    x = np.full((1, 2, 16, 32), 300.0, dtype=np.float16)
    y = AvgPool2D(16).forward(x)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, np.full((1, 2, 1, 2), 300.0, dtype=np.float16))


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
def test_backward_leaves_grad_y_alone(cls):
    pool = cls(2)
    pool.forward(np.random.default_rng(0).normal(size=(1, 1, 4, 4)))
    g = np.arange(4.0).reshape(1, 1, 2, 2)
    pool.backward(g)
    np.testing.assert_array_equal(g, np.arange(4.0).reshape(1, 1, 2, 2))


# -- arguments, errors, files --------------------------------------------------------------------
@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
def test_stride_defaults_to_the_pool_size_and_config_rebuilds(cls):
    pool = cls((2, 3))
    assert pool.pool_size == (2, 3) and pool.stride == (2, 3)
    assert pool.parameters() == []
    config = cls((3, 2), stride=1, name="p").config()
    assert config == {"pool_size": (3, 2), "stride": (1, 1), "name": "p"}
    assert cls(**config).config() == config


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
@pytest.mark.parametrize(("arguments", "error", "fragment"), [
    ({"pool_size": 0}, ValueError, "pool_size must be positive integers"),
    ({"pool_size": (2, -1)}, ValueError, "pool_size must be positive integers"),
    ({"pool_size": (2,)}, TypeError, "pool_size must be an int or a pair"),
    ({"pool_size": 1.5}, TypeError, "pool_size must be an int or a pair"),
    ({"pool_size": 2, "stride": 0}, ValueError, "stride must be positive integers"),
    ({"pool_size": 2, "stride": -1}, ValueError, "stride must be positive integers"),
])
def test_bad_arguments(cls, arguments, error, fragment):
    raises(error, lambda: cls(**arguments), f"{cls.__name__} '{cls.__name__.lower()}' {fragment}")


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
def test_bad_inputs(cls):
    label = f"{cls.__name__} '{cls.__name__.lower()}'"
    raises(ValueError, lambda: cls(3).forward(np.ones((1, 2, 2, 5))), label, "at least the window's 3 x 3",
           "got 2 x 5", "(input shape (1, 2, 2, 5))")
    raises(ValueError, lambda: cls(2).forward(np.ones((4, 4))), label,
           "(batch, channels, height, width)", "rank 2 with shape (4, 4)")
    raises(ValueError, lambda: cls(2).forward(np.ones((1, 4, 4))), label, "expected a batch",
           "one sample of shape (1, 4, 4)")


def test_save_and_load_roundtrip(tmp_path):
    network = Network([MaxPool2D((2, 1), stride=(1, 2)), AvgPool2D(2, name="mean")])
    path = tmp_path / "pools.npz"
    network.save(path)
    loaded = minidl.load(path)
    assert [layer.config() for layer in loaded] == [layer.config() for layer in network]
    x = np.random.default_rng(0).normal(size=(2, 3, 6, 7))
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))


# -- against PyTorch, when it is installed -------------------------------------------------------
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(("size", "stride", "shape"), CASES)
def test_matches_pytorch(kind, size, stride, shape):
    torch = pytest.importorskip("torch")
    pool = (MaxPool2D if kind == "max" else AvgPool2D)(size, stride)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, *shape))
    y = pool.forward(x)
    g = rng.normal(size=y.shape)
    tx = torch.tensor(x, requires_grad=True)
    function = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    ty = function(tx, pool.pool_size, pool.stride)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(pool.backward(g), tx.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_pytorch_breaks_ties_as_minidl_does_first_maximum_in_row_major_order():
    # What the MaxPool2D notes say of PyTorch's CPU max_pool2d (its documentation does not say it).
    torch = pytest.importorskip("torch")
    x = np.array([[[[0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]]])  # overlapping windows, ties
    tx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(tx, 2, 1).sum().backward()
    expected = [[0, 2, 0], [1, 1, 0], [0, 0, 0]]  # windows' first maxima: (0, 1), (0, 1), (1, 0), (1, 1)
    np.testing.assert_array_equal(tx.grad.numpy()[0, 0], expected)
    pool = MaxPool2D(2, stride=1)
    pool.forward(x)
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 2, 2)))[0, 0], expected)
