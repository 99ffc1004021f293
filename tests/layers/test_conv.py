"""Conv2D (minidl/layers/conv.py): worked examples, a loop reference, gradients, errors, files, training."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import Conv2D, Dense, Flatten, MaxPool2D, Network, ReLU, check_gradients
from tests.messages import raises
from tests.numeric import assert_layer_gradients


def conv(in_channels=1, out_channels=1, kernel_size=3, **kwargs) -> Conv2D:
    return Conv2D(in_channels, out_channels, kernel_size, **kwargs)


# -- worked examples, computed by hand ---------------------------------------------------------
IMAGE = np.array([[1.0, 2.0, 0.0, 1.0],
                  [0.0, 1.0, 3.0, 1.0],
                  [2.0, 1.0, 0.0, 0.0],
                  [1.0, 0.0, 1.0, 2.0]])
EDGE = np.array([[1.0, 0.0, -1.0],   # a vertical-edge filter: left column minus right column
                 [1.0, 0.0, -1.0],
                 [1.0, 0.0, -1.0]])


def test_a_3x3_filter_on_a_4x4_image_by_hand():
    layer = conv(weight_init=EDGE[None, None], bias_init=[0.5])
    y = layer.forward(IMAGE[None, None])
    # Each output: (sum of the window's left column) - (sum of its right column) + 0.5
    #   rows 0-2, cols 0-2: (1 + 0 + 2) - (0 + 3 + 0) = 0
    #   rows 0-2, cols 1-3: (2 + 1 + 1) - (1 + 1 + 0) = 2
    #   rows 1-3, cols 0-2: (0 + 2 + 1) - (3 + 0 + 1) = -1
    #   rows 1-3, cols 1-3: (1 + 1 + 0) - (1 + 0 + 2) = -1
    np.testing.assert_array_equal(y, [[[[0.5, 2.5], [-0.5, -0.5]]]])


def test_the_weight_gradient_by_hand():
    layer = conv(weight_init=EDGE[None, None], use_bias=False)
    layer.forward(IMAGE[None, None])
    layer.backward(np.array([[[[1.0, 0.0], [0.0, 0.0]]]]))  # only output (0, 0) matters
    # dL/dW[i, j] = the pixel that output (0, 0) multiplies by W[i, j]: the top-left 3x3 window
    np.testing.assert_array_equal(layer.weight.grad[0, 0], IMAGE[:3, :3])


def test_the_input_gradient_by_hand():
    layer = conv(weight_init=np.ones((1, 1, 3, 3)), use_bias=False)
    layer.forward(IMAGE[None, None])
    grad_x = layer.backward(np.ones((1, 1, 2, 2)))
    # With all weights 1 and dL/dy = 1, each pixel's gradient counts the windows covering it.
    np.testing.assert_array_equal(grad_x[0, 0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])


def test_stride_2_sums_disjoint_blocks():
    layer = conv(kernel_size=2, stride=2, weight_init=np.ones((1, 1, 2, 2)), use_bias=False)
    y = layer.forward(np.arange(16.0).reshape(1, 1, 4, 4))
    # 0+1+4+5, 2+3+6+7 / 8+9+12+13, 10+11+14+15
    np.testing.assert_array_equal(y, [[[[10.0, 18.0], [42.0, 50.0]]]])


def test_padding_adds_zeros_around_the_image():
    layer = conv(kernel_size=3, padding=1, weight_init=np.ones((1, 1, 3, 3)), use_bias=False)
    # A 2x2 image of ones padded to 4x4: every 3x3 window holds all four ones.
    np.testing.assert_array_equal(layer.forward(np.ones((1, 1, 2, 2))), np.full((1, 1, 2, 2), 4.0))


def test_a_1x1_kernel_mixes_channels():
    layer = Conv2D(2, 1, 1, weight_init=[[[[2.0]], [[-1.0]]]], use_bias=False)
    x = np.stack([np.full((2, 2), 3.0), np.full((2, 2), 1.0)])[None]  # channel 0 all 3, channel 1 all 1
    np.testing.assert_array_equal(layer.forward(x), np.full((1, 1, 2, 2), 2 * 3.0 - 1.0))


def test_same_padding_keeps_the_size_and_pads_an_even_kernel_below_and_right():
    weight = np.zeros((1, 1, 2, 2))
    weight[0, 0, 1, 1] = 1.0  # picks the window's bottom-right pixel
    layer = conv(kernel_size=2, padding="same", weight_init=weight, use_bias=False)
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    # PyTorch's rule: no zero above/left, one below/right, so y[i, j] = x[i + 1, j + 1] (0 past the edge)
    np.testing.assert_array_equal(layer.forward(x), [[[[4.0, 5.0, 0.0], [7.0, 8.0, 0.0], [0.0, 0.0, 0.0]]]])
    assert layer.pads == ((0, 1), (0, 1))
    assert Conv2D(1, 1, (3, 5), padding="same").pads == ((1, 1), (2, 2))
    assert Conv2D(1, 1, (3, 4), padding="same").forward(np.ones((2, 1, 5, 7))).shape == (2, 1, 5, 7)


def test_valid_padding_is_no_padding():
    assert conv(padding="valid").pads == ((0, 0), (0, 0))
    assert conv(padding="valid").forward(np.ones((1, 1, 5, 6))).shape == (1, 1, 3, 4)


def test_output_shape_formula():
    layer = Conv2D(3, 5, (3, 2), stride=(2, 3), padding=(1, 2))
    # Ho = (7 + 2 - 3) // 2 + 1 = 4, Wo = (8 + 4 - 2) // 3 + 1 = 4
    assert layer.forward(np.ones((2, 3, 7, 8))).shape == (2, 5, 4, 4)


# -- an independent reference, with explicit loops ----------------------------------------------
def naive_conv(x, weight, bias, stride, pads):
    """Forward and a backward function, written with loops over every index."""
    (sh, sw), ((top, bottom), (left, right)) = stride, pads
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = np.zeros((n, c, h + top + bottom, w + left + right))
    xp[:, :, top:top + h, left:left + w] = x
    ho, wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    y = np.zeros((n, o, ho, wo))
    for s, f, p, q in itertools.product(range(n), range(o), range(ho), range(wo)):
        y[s, f, p, q] = np.sum(xp[s, :, p * sh:p * sh + kh, q * sw:q * sw + kw] * weight[f]) + bias[f]

    def backward(g):
        dw, dxp = np.zeros_like(weight), np.zeros_like(xp)
        for s, f, p, q in itertools.product(range(n), range(o), range(ho), range(wo)):
            dw[f] += g[s, f, p, q] * xp[s, :, p * sh:p * sh + kh, q * sw:q * sw + kw]
            dxp[s, :, p * sh:p * sh + kh, q * sw:q * sw + kw] += g[s, f, p, q] * weight[f]
        return dw, g.sum(axis=(0, 2, 3)), dxp[:, :, top:top + h, left:left + w]

    return y, backward


CASES = [  # (in, out, kernel, stride, padding, input H x W)
    (1, 1, 3, 1, 0, (5, 5)),
    (2, 3, (2, 3), 1, 0, (5, 6)),
    (3, 2, 3, 2, 1, (7, 6)),
    (2, 4, (3, 1), (1, 2), (2, 0), (4, 5)),
    (1, 2, 2, 1, "same", (4, 5)),
    (2, 2, (3, 4), 1, "same", (5, 6)),
    (3, 1, 5, 3, (1, 2), (8, 9)),
    (2, 3, 1, 1, 0, (3, 4)),
]


@pytest.mark.parametrize(("in_channels", "out_channels", "kernel", "stride", "padding", "size"), CASES)
def test_matches_the_loop_reference(in_channels, out_channels, kernel, stride, padding, size):
    rng = np.random.default_rng(in_channels * 10 + out_channels)
    layer = Conv2D(in_channels, out_channels, kernel, stride=stride, padding=padding, seed=1,
                   bias_init="he_normal")
    x = rng.normal(size=(3, in_channels, *size))
    want, naive_backward = naive_conv(x, layer.weight.value, layer.bias.value, layer.stride, layer.pads)
    np.testing.assert_allclose(layer.forward(x), want, rtol=1e-12, atol=1e-12)
    g = rng.normal(size=want.shape)
    grad_x = layer.backward(g)
    dw, db, dx = naive_backward(g)
    np.testing.assert_allclose(layer.weight.grad, dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, db, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_x, dx, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("in_channels", "out_channels", "kernel", "stride", "padding", "size"), CASES)
def test_gradients_match_finite_differences(in_channels, out_channels, kernel, stride, padding, size):
    layer = Conv2D(in_channels, out_channels, kernel, stride=stride, padding=padding, seed=2,
                   bias_init="he_normal")
    x = np.random.default_rng(3).normal(size=(2, in_channels, *size))
    report = check_gradients(layer, x)
    assert report.passed, report
    assert {row.name for row in report.rows} == {"input", "weight", "bias"}


def test_gradients_without_bias_match_the_independent_finite_differences():
    layer = Conv2D(2, 2, (2, 3), stride=(2, 1), padding=(1, 1), use_bias=False, seed=4)
    assert_layer_gradients(layer, np.random.default_rng(5).normal(size=(2, 2, 4, 5)))


def test_backward_parameters_fills_the_same_gradients_as_backward():
    rng = np.random.default_rng(0)
    layer = Conv2D(2, 3, 3, padding=1, seed=0)
    x = rng.normal(size=(4, 2, 5, 5))
    g = rng.normal(size=(4, 3, 5, 5))
    layer.forward(x)
    layer.backward(g)
    expected = [p.grad.copy() for p in layer.parameters()]
    layer.zero_grad()
    layer.forward(x)
    assert layer.backward_parameters(g) is None
    for parameter, want in zip(layer.parameters(), expected, strict=True):
        np.testing.assert_array_equal(parameter.grad, want)


def test_gradients_are_overwritten_and_grad_y_is_left_alone():
    layer = conv(seed=0)
    x, g = np.ones((2, 1, 4, 4)), np.arange(8.0).reshape(2, 1, 2, 2)
    for _ in range(2):
        layer.forward(x)
        layer.backward(g)
    np.testing.assert_array_equal(layer.weight.grad, np.full((1, 1, 3, 3), g.sum()))  # not twice that
    np.testing.assert_array_equal(g, np.arange(8.0).reshape(2, 1, 2, 2))


# -- dtypes, parameters, initialisation --------------------------------------------------------
def test_float32_stays_float32():
    layer = Conv2D(2, 3, 3, padding=1, stride=2, dtype=np.float32, seed=0)
    x = np.random.default_rng(0).normal(size=(2, 2, 5, 5)).astype(np.float32)
    y = layer.forward(x)
    grad_x = layer.backward(np.ones_like(y))
    assert (y.dtype, grad_x.dtype) == (np.float32, np.float32)
    assert {p.grad.dtype for p in layer.parameters()} == {np.dtype(np.float32)}
    layer.backward_parameters(np.ones_like(y))
    assert {p.grad.dtype for p in layer.parameters()} == {np.dtype(np.float32)}


def test_parameters_have_pytorchs_layout():
    layer = Conv2D(3, 8, (5, 2), seed=0)
    assert [p.name for p in layer.parameters()] == ["weight", "bias"]
    assert layer.weight.shape == (8, 3, 5, 2) and layer.bias.shape == (8,)
    no_bias = Conv2D(3, 8, 2, use_bias=False)
    assert no_bias.bias is None and no_bias.parameters() == [no_bias.weight] and not no_bias.use_bias


def test_default_weights_are_he_normal_with_fan_in_channels_times_window():
    layer = Conv2D(16, 64, 3, seed=0)
    std = float(layer.weight.value.std())
    assert std == pytest.approx(np.sqrt(2.0 / (16 * 3 * 3)), rel=0.05)  # 9,216 draws: within 2%
    assert not layer.bias.value.any()
    np.testing.assert_array_equal(Conv2D(2, 3, 3, seed=7).weight.value, Conv2D(2, 3, 3, seed=7).weight.value)


def test_initializers_are_those_of_dense():
    assert Conv2D(1, 2, 1, weight_init="ones", bias_init="ones").weight.value.sum() == 2
    called = []

    def init(shape, rng, dtype):
        called.append(shape)
        return np.full(shape, 0.5, dtype=dtype)

    assert Conv2D(2, 3, (1, 2), weight_init=init).weight.value.sum() == 0.5 * 12
    assert called == [(3, 2, 1, 2)]
    raises(ValueError, lambda: Conv2D(2, 3, 3, weight_init=np.ones((3, 3))),
           "Conv2D 'conv2d' weight_init", "expected an array of shape (3, 2, 3, 3); got shape (3, 3)")
    raises(ValueError, lambda: Conv2D(2, 3, 3, weight_init="he"), "unknown initializer 'he'")


# -- errors: each names the layer, what was expected and what was got --------------------------
def test_wrong_channel_count():
    raises(ValueError, lambda: Conv2D(3, 2, 3).forward(np.ones((2, 1, 5, 5))),
           "Conv2D 'conv2d'", "expected 3 input channels (axis 1); got 1", "(batch, 3, height, width)",
           "got shape (2, 1, 5, 5)")


@pytest.mark.parametrize("shape", [(5, 5), (2, 3, 5, 5, 1), (2, 9)])
def test_rank_other_than_4(shape):
    raises(ValueError, lambda: Conv2D(3, 2, 3).forward(np.ones(shape)), "Conv2D 'conv2d'",
           "(batch, 3, height, width)", f"got an array of rank {len(shape)} with shape {shape}")


def test_one_image_without_the_batch_axis():
    raises(ValueError, lambda: Conv2D(3, 2, 3).forward(np.ones((3, 5, 5))), "Conv2D 'conv2d'",
           "expected a batch", "one sample of shape (3, 5, 5)", "x[None]")


def test_grey_images_without_their_channel_axis_or_channels_last_get_the_fix():
    # 8 grey images were called "one sample"
    raises(ValueError, lambda: Conv2D(1, 2, 3).forward(np.ones((8, 6, 6))),
           "got one sample, or grey images without their channel axis, of shape (8, 6, 6)",
           "x[None] is a batch of one, x[:, None] a batch of grey images")
    raises(ValueError, lambda: Conv2D(3, 2, 3).forward(np.ones((8, 6, 6, 3))), "expected 3 input channels",
           "got 6", "channels first: x.transpose(0, 3, 1, 2)")
    error = Conv2D(3, 2, 3)._input_problem(np.ones((8, 5, 6, 6)), (None, 3, None, None))
    assert "transpose" not in str(error)  # 5 channels on axis 1 and 6 last: not channels-last data


def test_input_smaller_than_the_kernel():
    raises(ValueError, lambda: Conv2D(1, 1, (3, 4)).forward(np.ones((1, 1, 5, 3))), "Conv2D 'conv2d'",
           "at least the window's 3 x 4", "got 5 x 3", "(input shape (1, 1, 5, 3))")
    raises(ValueError, lambda: Conv2D(1, 1, 5, padding=1).forward(np.ones((1, 1, 2, 2))),
           "at least the window's 5 x 5 after padding ((1, 1), (1, 1))", "got 4 x 4")
    assert Conv2D(1, 1, 5, padding=1).forward(np.ones((1, 1, 3, 3))).shape == (1, 1, 1, 1)


@pytest.mark.parametrize("stride", [0, -1, (1, 0), (2, -2)])
def test_stride_must_be_positive(stride):
    raises(ValueError, lambda: conv(stride=stride), "Conv2D 'conv2d' stride must be positive integers",
           f"got {stride!r}")


@pytest.mark.parametrize(("padding", "error", "fragments"), [
    (-1, ValueError, ["Conv2D 'conv2d' padding must be integers >= 0", "got -1"]),
    ((1, -2), ValueError, ["padding must be integers >= 0", "got (1, -2)"]),
    ("full", ValueError, ["padding must be an int, a pair (height, width), 'valid' or 'same'", "got 'full'"]),
    ("SAME", ValueError, ["'valid' or 'same'", "got 'SAME'"]),
    (1.5, TypeError, ["padding must be an int or a pair of ints", "got 1.5"]),
    ((1, 2, 3), TypeError, ["padding must be an int or a pair", "got (1, 2, 3)"]),
])
def test_invalid_padding(padding, error, fragments):
    raises(error, lambda: conv(padding=padding), *fragments)


def test_same_padding_needs_stride_1():
    raises(ValueError, lambda: conv(stride=2, padding="same"), "Conv2D 'conv2d'",
           "padding='same' needs stride 1", "got stride (2, 2)")
    raises(ValueError, lambda: conv(stride=(1, 2), padding="same"), "got stride (1, 2)")


def test_padding_is_fixed_when_the_layer_is_made():
    # Set afterwards it changed the saved file but not forward (which reads the pads worked out from it)
    layer = conv(padding=1)
    with pytest.raises(AttributeError):
        layer.padding = 0
    assert layer.padding == (1, 1) and layer.pads == ((1, 1), (1, 1))


@pytest.mark.parametrize(("kernel", "error"), [
    (0, ValueError), (-3, ValueError), ((3, 0), ValueError), ((3,), TypeError), ((1, 2, 3), TypeError),
    ("3", TypeError), (2.5, TypeError), ((2.0, 2), ValueError), (True, ValueError), (None, TypeError)])
def test_nonsense_kernel_sizes(kernel, error):
    raises(error, lambda: Conv2D(1, 1, kernel), "Conv2D 'conv2d' kernel_size", repr(kernel))


@pytest.mark.parametrize(("argument", "value"), [("in_channels", 0), ("out_channels", -2),
                                                  ("in_channels", 2.0)])
def test_channel_counts_must_be_positive_integers(argument, value):
    arguments = {"in_channels": 1, "out_channels": 1, argument: value}
    raises(ValueError, lambda: Conv2D(kernel_size=3, **arguments),
           f"Conv2D 'conv2d' {argument} must be a positive integer", f"got {value!r}")


def test_the_layer_name_is_in_every_message():
    raises(ValueError, lambda: Conv2D(1, 1, 3, stride=0, name="first"), "Conv2D 'first' stride")
    raises(TypeError, lambda: Conv2D(1, 1, 3, use_bias=1, name="first"), "Conv2D 'first': use_bias")
    raises(TypeError, lambda: Conv2D(1, 1, 3, dtype=int, name="first"), "Conv2D 'first': dtype")


# -- model files and training ------------------------------------------------------------------
def small_conv_network(dtype="float64") -> Network:
    return Network([Conv2D(1, 3, 3, padding="same", seed=0, bias_init="he_normal", dtype=dtype), ReLU(),
                    MaxPool2D(2), Conv2D(3, 2, (2, 1), stride=(1, 2), use_bias=False, seed=1, dtype=dtype),
                    Flatten(), Dense(2 * 1 * 2, 2, seed=2, dtype=dtype)])


def test_config_rebuilds_the_layer():
    layer = Conv2D(2, 4, (3, 1), stride=(2, 1), padding=(1, 0), use_bias=False,
                   dtype=np.float32, name="c1")
    config = layer.config()
    assert config == {"in_channels": 2, "out_channels": 4, "kernel_size": (3, 1), "stride": (2, 1),
                      "padding": (1, 0), "use_bias": False, "dtype": "float32", "name": "c1"}
    assert Conv2D(**config).config() == config
    assert Conv2D(1, 1, 2, padding="same").config()["padding"] == "same"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_save_and_load_roundtrip(tmp_path: Path, dtype):
    network = small_conv_network(dtype)
    x = np.random.default_rng(0).normal(size=(3, 1, 4, 6)).astype(dtype)
    path = tmp_path / "conv.npz"
    network.save(path)
    loaded = minidl.load(path)
    assert [type(layer) for layer in loaded] == [type(layer) for layer in network]
    assert [layer.config() for layer in loaded] == [layer.config() for layer in network]
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))


def test_fit_lowers_the_loss_of_a_small_conv_net():
    # 6x6 images holding a vertical (class 0) or a horizontal (class 1) bar, at random places
    rng = np.random.default_rng(0)
    images, labels = np.zeros((40, 1, 6, 6)), rng.integers(0, 2, size=40)
    for image, label, place in zip(images, labels, rng.integers(0, 6, size=40), strict=True):
        if label == 0:
            image[0, :, place] = 1.0
        else:
            image[0, place, :] = 1.0
    network = Network([Conv2D(1, 4, 3, seed=0), ReLU(), MaxPool2D(2), Flatten(), Dense(4 * 2 * 2, 2, seed=1)])
    network.compile(optimizer=minidl.Adam(0.02), loss=minidl.SparseCategoricalCrossEntropy(from_logits=True))
    history = network.fit(images, labels, epochs=15, batch_size=8, verbose=0, seed=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert float((network.predict(images).argmax(axis=1) == labels).mean()) > 0.9


def test_a_network_of_conv_layers_passes_the_gradient_check():
    network = small_conv_network()
    report = check_gradients(network, np.random.default_rng(1).normal(size=(2, 1, 4, 6)))
    assert report.passed, report


# -- against PyTorch, when it is installed -------------------------------------------------------
@pytest.mark.parametrize(("in_channels", "out_channels", "kernel", "stride", "padding", "size"), CASES)
def test_matches_pytorch(in_channels, out_channels, kernel, stride, padding, size):
    torch = pytest.importorskip("torch")
    layer = Conv2D(in_channels, out_channels, kernel, stride=stride, padding=padding, seed=6,
                   bias_init="he_normal")
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, in_channels, *size))
    y = layer.forward(x)
    g = rng.normal(size=y.shape)
    grad_x = layer.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(layer.weight.value, requires_grad=True)
    tb = torch.tensor(layer.bias.value, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride=layer.stride,
                                    padding=padding if isinstance(padding, str) else layer.padding)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_x, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, tw.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, tb.grad.numpy(), rtol=1e-12, atol=1e-12)
