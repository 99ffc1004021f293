"""Dense (minidl/layers/dense.py): weights, bias, gradients, arguments and shapes checked."""

from __future__ import annotations

import numpy as np
import pytest

from minidl import Dense, Network
from tests.messages import raises
from tests.numeric import assert_layer_gradients


def test_weight_column_j_holds_the_weights_into_node_j():
    layer = Dense(2, 2, use_bias=False, weight_init=[[2, 1], [1, 2]])
    # Course: node_0 = (x * [2, 1]).sum(), node_1 = (x * [1, 2]).sum()
    np.testing.assert_array_equal(layer.forward(np.array([[0.0, 3.0]])), [[3.0, 6.0]])
    np.testing.assert_array_equal(layer.weight.value[:, 0], [2, 1])


def test_forward_adds_the_bias():
    layer = Dense(2, 1, weight_init=[[1.0], [2.0]], bias_init=[0.5])
    np.testing.assert_array_equal(layer.forward(np.array([[1.0, 1.0], [2.0, 0.0]])), [[3.5], [2.5]])


def test_parameters_and_shapes():
    layer = Dense(3, 4, seed=0)
    assert [p.name for p in layer.parameters()] == ["weight", "bias"]
    assert layer.weight.shape == (3, 4)
    assert layer.bias is not None and layer.bias.shape == (4,)
    assert Dense(3, 4, use_bias=False).bias is None
    assert len(Dense(3, 4, use_bias=False).parameters()) == 1


def test_single_sample_keeps_rank_one():
    # The one-sample convenience lives where data enters, the Network; the layer takes batches.
    net = Network([Dense(3, 2, seed=1)])
    assert net.forward(np.ones(3)).shape == (2,)
    assert net.backward(np.ones(2)).shape == (3,)
    assert net.forward(np.ones((5, 3))).shape == (5, 2)
    with pytest.raises(ValueError, match=r"expected a batch.*\(batch, 3\).*one sample of shape \(3,\)"):
        Dense(3, 2).forward(np.ones(3))


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("batch", [1, 4])
def test_gradients_match_finite_differences(use_bias, batch):
    rng = np.random.default_rng(batch)
    layer = Dense(3, 2, use_bias=use_bias, seed=7, bias_init="he_normal" if use_bias else "zeros")
    assert_layer_gradients(layer, rng.normal(size=(batch, 3)))


def test_gradients_for_a_single_sample_match_finite_differences():
    net = Network([Dense(4, 3, seed=3, bias_init="glorot_normal")])
    assert_layer_gradients(net, np.random.default_rng(5).normal(size=4))


def test_gradients_are_overwritten_not_accumulated():
    layer = Dense(2, 1, weight_init=[[1.0], [1.0]])
    x = np.array([[1.0, 2.0]])
    layer.forward(x)
    layer.backward(np.array([[1.0]]))
    first = layer.weight.grad.copy()
    layer.forward(x)
    layer.backward(np.array([[1.0]]))
    np.testing.assert_array_equal(layer.weight.grad, first)  # not 2 * first
    layer.zero_grad()
    assert not layer.weight.grad.any()


def test_backward_does_not_change_the_incoming_gradient():
    layer = Dense(2, 2, seed=0)
    layer.forward(np.ones((3, 2)))
    upstream = np.arange(6.0).reshape(3, 2)
    layer.backward(upstream)
    np.testing.assert_array_equal(upstream, np.arange(6.0).reshape(3, 2))


def test_backward_parameters_fills_the_same_gradients_as_backward():
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    a, b = Dense(3, 2, seed=1), Dense(3, 2, seed=1)
    a.forward(x)
    a.backward(g)
    b.forward(x)
    assert b.backward_parameters(g) is None
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_allclose(pa.grad, pb.grad, rtol=1e-12)


def test_explicit_weights_are_copied():
    weights = np.array([[1.0], [2.0]])
    layer = Dense(2, 1, weight_init=weights)
    layer.weight.value[0, 0] = 99.0
    assert weights[0, 0] == 1.0


def test_wrong_number_of_features_names_layer_expected_and_got():
    with pytest.raises(ValueError, match=r"Dense 'dense'.*expected 2 input features.*got 3"):
        Dense(2, 3).forward(np.ones((4, 3)))


def test_samples_of_one_feature_given_as_one_sample_get_the_reshape_hint():
    # (5,) into a Network is one sample of 5 features; a learner meant 5 samples of one feature
    hint = r"got shape \(1, 5\) \(for 5 samples of one feature, x.reshape\(-1, 1\)\)$"
    with pytest.raises(ValueError, match=hint):
        Network([Dense(1, 1)]).predict(np.arange(5.0))
    with pytest.raises(ValueError, match=r"got shape \(4, 3\)$"):  # a real batch: no hint
        Dense(1, 3).forward(np.ones((4, 3)))


@pytest.mark.parametrize("shape", [(), (2, 3, 2)])
def test_wrong_rank_is_an_error(shape):
    with pytest.raises(ValueError, match="rank"):
        Dense(2, 3).forward(np.ones(shape))


@pytest.mark.parametrize("value", [np.array([1 + 2j, 3]), np.array(["a", "b"]), np.array([None, 1])])
def test_non_real_input_is_a_type_error(value):
    with pytest.raises(TypeError, match="real numbers"):
        Dense(2, 3).forward(value)


@pytest.mark.parametrize("sizes", [(0, 3), (2, -1), (2.5, 3), (True, 2)])
def test_non_positive_or_non_integer_sizes_are_errors(sizes):
    with pytest.raises(ValueError, match="must be a positive integer"):
        Dense(*sizes)


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="backward\\(\\) called before forward"):
        Dense(2, 3).backward(np.ones((1, 3)))


def test_gradient_of_wrong_shape_is_an_error():
    layer = Dense(2, 3)
    layer.forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"expected grad_y of shape \(4, 3\).*got \(4, 2\)"):
        layer.backward(np.ones((4, 2)))


# -- arguments checked -------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "got"), [(0, "0"), (-3, "-3"), (2.5, "2.5"), (True, "True"),
                                            ("3", "'3'"), (None, "None")])
@pytest.mark.parametrize("argument", ["in_features", "out_features"])
def test_dense_sizes_must_be_positive_integers(argument: str, value: object, got: str) -> None:
    sizes = {"in_features": 3, "out_features": 2, argument: value}
    raises(ValueError, lambda: Dense(**sizes), f"Dense {argument}", "positive integer", f"got {got}")


def test_dense_numpy_integer_sizes_are_accepted() -> None:
    layer = Dense(np.int64(3), np.int32(2))
    assert (layer.in_features, layer.out_features) == (3, 2)
    assert type(layer.in_features) is int


@pytest.mark.parametrize(("dtype", "got"), [(int, "int64"), (complex, "complex128"), (bool, "bool"),
                                            (object, "object")])
def test_dense_dtype_must_be_floating(dtype: object, got: str) -> None:
    raises(TypeError, lambda: Dense(3, 2, dtype=dtype), "Dense 'dense'", "dtype must be a floating dtype",
           f"got {got}")


def test_dense_use_bias_must_be_a_boolean() -> None:
    raises(TypeError, lambda: Dense(3, 2, use_bias="no"), "Dense 'dense'", "use_bias must be True or False",
           "got 'no'")


@pytest.mark.parametrize(("kwargs", "fragments"), [
    ({"weight_init": "gloro"}, ["weight_init", "unknown initializer 'gloro'", "glorot_uniform"]),
    ({"weight_init": [[1.0, 2.0]]}, ["weight_init", "expected an array of shape (3, 2)", "got shape (1, 2)"]),
    ({"weight_init": [[np.nan, 1.0]] * 3}, ["weight_init", "must be finite"]),
    ({"bias_init": [1.0, 2.0, 3.0]}, ["bias_init", "expected an array of shape (2,)", "got shape (3,)"]),
])
def test_dense_initial_values_are_checked(kwargs: dict, fragments: list[str]) -> None:
    raises(ValueError, lambda: Dense(3, 2, **kwargs), "Dense 'dense'", *fragments)


def test_dense_seed_must_be_an_int_or_generator() -> None:
    raises(TypeError, lambda: Dense(3, 2, seed="7"), "seed", "int, a numpy.random.Generator or None",
           "got '7'")


F32 = np.dtype(np.float32)


def test_dense_is_float64_by_default_and_float32_on_request() -> None:
    assert Dense(3, 2).weight.dtype == np.float64
    layer = Dense(3, 2, dtype=np.float32)
    assert layer.weight.dtype == F32 and layer.weight.grad.dtype == F32
    assert layer.bias is not None and layer.bias.dtype == F32 and layer.bias.grad.dtype == F32


def test_dense_refuses_a_non_floating_dtype() -> None:
    with pytest.raises(TypeError, match="floating"):
        Dense(3, 2, dtype=np.int64)


def test_negative_seed_names_the_argument():
    with pytest.raises(ValueError, match=r"seed must be .*non-negative.*got -1"):
        Dense(2, 2, seed=-1)
