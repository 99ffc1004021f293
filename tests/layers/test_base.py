"""The Layer contract (minidl/layers/base.py): Parameter, the shared checks run once in the base
class, modes and dtypes across layers, user layers plugging in and their mistakes named."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import minidl
from minidl import (
    SGD,
    Activation,
    BatchNorm,
    Dense,
    Dropout,
    Identity,
    Layer,
    LeakyReLU,
    Network,
    Parameter,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    check_gradients,
)
from minidl.layers.base import unseen_parameters
from tests.gradcheck_broken import HelperScale, InnerDense, ListScale
from tests.messages import raises


class Doubler(Layer):
    """A user layer that declares its input: batches of 3 features."""

    input_shape = (None, 3)

    def forward(self, x):
        return 2.0 * x

    def backward(self, grad_y):
        return 2.0 * grad_y


def test_a_user_layer_declares_its_input_and_the_base_checks_it():
    layer = Doubler()
    np.testing.assert_array_equal(layer.forward(np.ones((2, 3))), np.full((2, 3), 2.0))
    message = r"Doubler 'doubler': expected 3 input features \(last axis\); got 4"
    with pytest.raises(ValueError, match=message):
        layer.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"rank 3 with shape \(1, 2, 3\)"):
        layer.forward(np.ones((1, 2, 3)))
    with pytest.raises(TypeError, match="real numbers; got dtype <U1"):
        layer.forward(np.array([["a", "b", "c"]]))


def test_a_declared_any_size_axis_accepts_every_size():
    class Images(Doubler):
        input_shape = (None, 2, None)

    layer = Images()
    assert layer.forward(np.ones((4, 2, 5))).shape == (4, 2, 5)
    assert layer.forward(np.ones((1, 2, 1))).shape == (1, 2, 1)
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 2, \*\); got shape \(4, 3, 5\)"):
        layer.forward(np.ones((4, 3, 5)))


def test_user_layers_get_the_backward_checks_too():
    layer = Doubler()
    with pytest.raises(RuntimeError, match=r"Doubler 'doubler': backward\(\) called before forward\(\)"):
        layer.backward(np.ones((2, 3)))
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"expected grad_y of shape \(2, 3\).*got \(3, 2\)"):
        layer.backward(np.ones((3, 2)))


def test_the_shapes_of_the_latest_forward_are_kept():
    layer = Dense(3, 2, seed=0)
    assert layer.last_input_shape is None and layer.last_output_shape is None
    layer.forward(np.ones((5, 3)))
    assert (layer.last_input_shape, layer.last_output_shape) == ((5, 3), (5, 2))
    layer.forward(np.ones((1, 3)))
    assert (layer.last_input_shape, layer.last_output_shape) == ((1, 3), (1, 2))


def test_the_checks_keep_each_methods_name_and_docstring():
    assert Dense.forward.__name__ == "forward" and "y = x @ W + b" in (Dense.forward.__doc__ or "")
    assert "chain rule" in (Dense.backward.__doc__ or "").lower()
    assert ReLU.derivative.__name__ == "derivative"


def test_a_list_input_is_turned_into_an_array_once():
    np.testing.assert_array_equal(Dense(2, 1, weight_init=[[1.0], [1.0]]).forward([[1.0, 2.0]]), [[3.0]])


def test_a_layer_given_one_sample_directly_says_layers_take_batches():
    with pytest.raises(ValueError, match=r"expected a batch.*one sample of shape \(3,\).*x\[None\]"):
        Dense(3, 1).forward(np.ones(3))
    assert Network([Dense(3, 1, seed=0)]).forward(np.ones(3)).shape == (1,)


def test_built_in_layers_with_parameters_overwrite_their_gradients():
    from minidl import BatchNorm

    assert Dense.overwrites_gradients and BatchNorm.overwrites_gradients
    assert not Layer.overwrites_gradients


class _AddingPReLU(Activation):
    """y = x for x > 0, alpha * x otherwise; its backward adds to alpha's gradient (PyTorch's habit)."""

    def __init__(self) -> None:
        super().__init__()
        self.alpha = Parameter(np.full(1, 0.25))

    def function(self, x):
        return np.where(x > 0, x, self.alpha.value * x)

    def derivative(self, x):
        return np.where(x > 0, 1.0, self.alpha.value)

    def backward(self, grad_y):
        self.alpha.grad += (grad_y * np.minimum(self._x, 0.0)).sum()
        return grad_y * self.derivative(self._x)


def test_an_activation_with_its_own_adding_backward_is_cleared_first() -> None:
    # Activation promises overwrites_gradients = True; a subclass with its own backward that
    # adds (p.grad += g) must not inherit the promise, or each pass would add to the last.
    assert Activation.overwrites_gradients and _AddingPReLU.overwrites_gradients is False
    rng = np.random.default_rng(0)
    x, upstream = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    net = Network([Dense(3, 3, seed=0), _AddingPReLU()])
    grads = []
    for _ in range(3):  # an accumulating gradient would be 1x, 2x, 3x the first
        net.forward(x)
        net.backward(upstream)
        grads.append(net[1].alpha.grad.copy())
    np.testing.assert_array_equal(grads[1], grads[0])
    np.testing.assert_array_equal(grads[2], grads[0])
    assert np.abs(grads[0]).sum() > 0
    assert check_gradients(_AddingPReLU(), rng.normal(size=(4, 3))).passed


_ADDING_CALLS = [0]


def _adding_backward(self, grad_y):
    """Dense's gradients, added to grad (PyTorch's habit); counts its calls."""
    _ADDING_CALLS[0] += 1
    self.weight.grad += self._x.T @ grad_y
    self.bias.grad += grad_y.sum(axis=0)
    return grad_y @ self.weight.value.T


class _AddingDense(Dense):
    backward = _adding_backward


class _AddsMixin:
    backward = _adding_backward


class _MixedDense(_AddsMixin, Dense):
    """The adding backward from a mixin before Dense: Dense's promise does not cover it either."""


def test_a_mixin_that_is_no_layer_declares_for_the_class_it_is_mixed_into() -> None:
    class SaysItAdds:
        overwrites_gradients = False
        backward = _adding_backward

    class Frozen:
        def backward_parameters(self, grad_y):
            """Leaves the gradients as they are: the layer is not trained when first."""

    class DecayDense(SaysItAdds, Dense):
        pass

    class FrozenDense(Frozen, Dense):
        pass

    assert DecayDense.overwrites_gradients is False
    assert DecayDense.backward_parameters is Layer.backward_parameters  # runs the mixin's backward
    assert FrozenDense.backward_parameters is Frozen.backward_parameters  # the mixin's, kept
    assert FrozenDense.overwrites_gradients is False  # Dense's promise is not for Frozen's method


@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize("adding", [_AddingDense, _MixedDense])
def test_a_dense_subclass_with_its_own_adding_backward_trains_right_first_or_last(adding, first) -> None:
    # First, training asks it for backward_parameters, whose Dense version would skip this backward;
    # and Dense's overwrites_gradients = True would have the additions pile up across steps.
    def build(dense: type[Dense]) -> Network:
        if first:
            return Network([dense(3, 3, seed=1), ReLU(), Dense(3, 2, seed=2)])
        return Network([Dense(3, 3, seed=2), ReLU(), dense(3, 2, seed=1)])

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    plain, network = build(Dense), build(adding)
    plain.loss_and_backward(x, y, "mse")
    _ADDING_CALLS[0] = 0
    for _ in range(3):
        network.loss_and_backward(x, y, "mse")
    assert _ADDING_CALLS[0] == 3 and adding.overwrites_gradients is False
    for expected, got in zip(plain.parameters(), network.parameters(), strict=True):
        np.testing.assert_allclose(got.grad, expected.grad, rtol=1e-12)


def test_a_user_layer_checked_through_the_base_still_passes_the_gradient_check():
    class Scale(Layer):
        input_shape = (None, 2)

        def __init__(self):
            super().__init__()
            self.w = Parameter(np.array([1.5, -0.5]))

        def forward(self, x):
            self.x = x
            return x * self.w.value

        def backward(self, grad_y):
            self.w.grad[...] = (grad_y * self.x).sum(axis=0)
            return grad_y * self.w.value

    assert check_gradients(Scale(), np.array([[1.0, 2.0], [3.0, -1.0]])).passed


def test_parameter_holds_value_and_same_shape_gradient():
    parameter = Parameter(np.ones((2, 3), dtype=np.float32), name="w")
    assert parameter.grad.shape == (2, 3) and parameter.grad.dtype == np.float32
    assert not parameter.grad.any()
    assert "w" in repr(parameter)


X = np.random.default_rng(7).normal(size=(5, 3))


class Softplus(Activation):
    """The whole of a new activation: f and f' at the input."""

    def function(self, x):
        return np.logaddexp(0.0, x)

    def derivative(self, x):
        return 1.0 / (1.0 + np.exp(-x))


# -- a new activation ---------------------------------------------------------------------------
def test_new_activation_needs_only_function_and_derivative():
    layer = Softplus()
    np.testing.assert_allclose(layer.forward(np.array([0.0])), [np.log(2.0)])
    layer.forward(X)
    grad_y = np.random.default_rng(1).normal(size=X.shape)
    np.testing.assert_allclose(layer.backward(grad_y), grad_y / (1.0 + np.exp(-X)))
    assert check_gradients(layer, X).passed
    assert layer.output_features(3) == 3 and layer.parameters() == []


def test_new_activation_in_a_network_passes_the_checker_and_shows_in_summary():
    net = Network([Dense(3, 4, seed=0), Softplus(), Dense(4, 1, seed=1)])
    assert check_gradients(net, X).passed
    summary = net.summary()
    assert "softplus (Softplus)" in summary and "(None, 4)" in summary


class Scale(Layer):
    """y = x * a + c per feature: a layer with parameters, written as a user would."""

    def __init__(self, features, name=None):
        super().__init__(name)
        self.features = features
        self.a = Parameter(np.linspace(0.5, 1.5, features), name="a")
        self.c = Parameter(np.zeros(features), name="c")

    def forward(self, x):
        self.x = x
        return x * self.a.value + self.c.value

    def backward(self, grad_y):
        self.a.grad[...] = (grad_y * self.x).sum(axis=0)
        self.c.grad[...] = grad_y.sum(axis=0)
        return grad_y * self.a.value

    def output_features(self, input_features):
        return self.features

    def config(self):
        return {"features": self.features, "name": self.name}


# -- a new layer with parameters -----------------------------------------------------------------
def test_parameters_are_found_in_assignment_order_without_registration():
    layer = Scale(3)
    assert layer.parameters() == [layer.a, layer.c]
    net = Network([Dense(3, 3, seed=0), layer])
    assert net.parameters()[-2:] == [layer.a, layer.c]


def test_unseen_parameters_names_each_attribute_that_hides_a_parameter():
    def unseen(layer, known=()):  # each message up to what it names
        return [text.split(" that ")[0].split(", whose")[0] for text in unseen_parameters([layer], known)]

    assert unseen(ListScale()) == [
        "ListScale 'listscale': attribute 'weights' holds a Parameter inside a list"]
    assert unseen(HelperScale()) == [
        "HelperScale 'helperscale': attribute 'p' holds a Parameter inside a Helper"]
    inner = InnerDense()  # its Softmax, with no parameters, is not named
    assert unseen(inner) == ["InnerDense 'innerdense': attribute 'inner' holds the layer Dense 'dense'"]
    assert unseen(inner, {id(p) for p in inner.inner.parameters()}) == []  # a layer the Network lists too
    inner.blocks = {"first": Dense(2, 2)}
    assert unseen(inner, {id(p) for p in inner.inner.parameters()}) == [
        "InnerDense 'innerdense': attribute 'blocks' holds the layer Dense 'dense' inside a dict"]
    assert unseen(Scale(3), {id(p) for p in Scale(3).parameters()}) == [
        "Scale 'scale': attribute 'a' holds a Parameter", "Scale 'scale': attribute 'c' holds a Parameter"]
    layer = Scale(3)
    assert unseen(layer, {id(p) for p in layer.parameters()}) == []


def test_new_layer_passes_the_checker_alone_and_in_a_network():
    assert check_gradients(Scale(3), X).passed
    report = check_gradients(Network([Dense(3, 3, seed=0), Scale(3), Tanh()]), X)
    assert report.passed
    assert [row.name for row in report.rows][-2:] == ["scale.a", "scale.c"]


def test_summary_counts_the_new_parameters():
    summary = Network([Dense(3, 3, seed=0), Scale(3)]).summary()
    assert "scale (Scale)" in summary
    assert "Total params: 18" in summary  # 3*3 + 3 for Dense, 3 + 3 for Scale


def test_optimizer_updates_the_new_parameters_in_place():
    layer = Scale(3)
    net = Network([layer])
    a_array = layer.a.value
    net.forward(X)
    net.backward(np.ones((5, 3)))
    expected = layer.a.value - 0.1 * (X.sum(axis=0))
    SGD(learning_rate=0.1).step(net.parameters())
    assert layer.a.value is a_array
    np.testing.assert_allclose(layer.a.value, expected)


def test_zero_grad_and_modes_work_for_the_new_layer():
    net = Network([Scale(3), ReLU()])
    net.forward(X)
    net.backward(np.ones((5, 3)))
    net.zero_grad()
    assert all(not p.grad.any() for p in net.parameters())
    net.eval()
    assert not net[0].training
    net.train()
    assert net[0].training


# -- mistakes get clear errors ------------------------------------------------------------------
class ForgetsToCache(Scale):
    def forward(self, x):  # never stores self.x
        return x * self.a.value + self.c.value


class CacheStartsAsNone(Scale):
    def __init__(self, features):
        super().__init__(features)
        self.x = None

    def forward(self, x):
        self.saved = x  # stored under another name than backward reads
        return x * self.a.value + self.c.value


@pytest.mark.parametrize("layer", [ForgetsToCache(3), CacheStartsAsNone(3)], ids=["missing", "None"])
def test_forgotten_cache_names_the_layer_in_network_backward(layer):
    net = Network([Dense(3, 3, seed=0), layer, Tanh()])
    net.forward(X)
    label = rf"{type(layer).__name__} '{layer.name}': backward failed"
    with pytest.raises(RuntimeError, match=label) as caught:
        net.backward(np.ones((5, 3)))
    assert "self.x = x" in str(caught.value)
    assert isinstance(caught.value.__cause__, (AttributeError, TypeError))


def test_forgotten_cache_names_the_layer_in_the_checker():
    with pytest.raises(RuntimeError, match="ForgetsToCache 'forgetstocache': backward failed"):
        check_gradients(ForgetsToCache(3), X)


class WrongShape(Scale):
    def backward(self, grad_y):
        super().backward(grad_y)
        return (grad_y * self.a.value).sum(axis=0)  # summed over the batch by mistake


def test_gradient_of_the_wrong_shape_names_the_layer_and_both_shapes():
    net = Network([Dense(3, 3, seed=0), WrongShape(3, name="scaler"), Tanh()])
    net.forward(X)
    with pytest.raises(ValueError, match=r"WrongShape 'scaler'.*shape \(3,\).*had shape \(5, 3\)"):
        net.backward(np.ones((5, 3)))


def test_wrong_shape_is_caught_even_when_broadcasting_would_hide_it():
    # (1, 3) broadcasts against (5, 3) in the Dense below; the network must still object.
    class KeepsDims(Scale):
        def backward(self, grad_y):
            super().backward(grad_y)
            return (grad_y * self.a.value).sum(axis=0, keepdims=True)

    net = Network([KeepsDims(3), Dense(3, 2, seed=0)])
    net.forward(X)
    with pytest.raises(ValueError, match=r"KeepsDims.*\(1, 3\).*\(5, 3\)"):
        net.backward(np.ones((5, 2)))


@pytest.mark.parametrize(
    ("layer", "error", "match"),
    [
        (WrongShape(3, name="scaler"), ValueError, r"WrongShape 'scaler'.*shape \(3,\).*had shape \(4, 3\)"),
        (ForgetsToCache(3), RuntimeError, r"ForgetsToCache 'forgetstocache': backward failed"),
    ],
    ids=["wrong shape", "forgotten cache"],
)
def test_fit_names_the_faulty_layer_too(layer, error, match):
    net = Network([Dense(3, 3, seed=0), layer, Tanh(), Dense(3, 1, seed=1)])
    net.compile(optimizer="sgd", loss="mse")
    with pytest.raises(error, match=match):
        net.fit(X[:4], np.zeros(4), epochs=1, batch_size=4, verbose=0)


def test_forward_returning_no_array_is_named_where_it_returns():
    class ReturnsList(Scale):
        def forward(self, x):
            return super().forward(x).tolist()

    message = r"ReturnsList 'returnslist': forward must return a numpy array; got list"
    # the next Dense turned the list into an array, and backward then said "called before forward()"
    net = Network([ReturnsList(3), Dense(3, 1, seed=0)])
    net.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match=message):
        net.fit(X, np.zeros(5), epochs=1, verbose=0)
    with pytest.raises(TypeError, match=message):  # as the last layer: fit raised an AttributeError
        Network([Dense(3, 3, seed=0), ReturnsList(3)]).forward(X)


def test_backward_returning_nothing_is_named():
    class NoReturn(Scale):
        def backward(self, grad_y):
            super().backward(grad_y)

    net = Network([NoReturn(3), Tanh()])
    net.forward(X)
    with pytest.raises(TypeError, match=r"NoReturn 'noreturn': backward returned NoneType.*return grad_x"):
        net.backward(np.ones((5, 3)))


def test_network_backward_rejects_a_non_array_gradient():
    net = Network([Dense(3, 1, seed=0)])
    net.forward(X)
    with pytest.raises(TypeError, match=r"Network\.backward expects dL/doutput as a numpy array; got list"):
        net.backward([[1.0]] * 5)


def test_network_backward_rejects_a_gradient_that_is_not_real_numbers():
    # after a first backward of the same shape, the chain ran the bare math: Dense's matmul failed
    # and was reported as a missing cache
    net = Network([Dense(3, 1, seed=0)])
    net.forward(X)
    net.backward(np.ones((5, 1)))
    raises(TypeError, lambda: net.backward(np.ones((5, 1), dtype=complex)),
           "Network.backward expects dL/doutput of real numbers; got dtype complex128")


def test_forgetting_super_init_is_explained():
    class NoSuper(Layer):
        def __init__(self):
            self.w = Parameter(np.ones(3))

        def forward(self, x):
            return x

        def backward(self, grad_y):
            return grad_y

    with pytest.raises(TypeError, match=r"Network layer 0 \(NoSuper\).*super\(\).__init__\(\)"):
        Network([NoSuper()])
    with pytest.raises(TypeError, match=r"super\(\).__init__\(\)"):
        check_gradients(NoSuper(), X)


def test_correct_layers_still_pass_through_the_checks_unchanged():
    net = Network([Dense(3, 4, seed=0), Scale(4), Softplus(), Dense(4, 2, seed=1)])
    y = net.forward(X)
    grad_x = net.backward(np.ones_like(y))
    assert grad_x.shape == X.shape
    # A rank-1 sample goes through too, with rank-1 gradients.
    net.forward(X[0])
    assert net.backward(np.ones(2)).shape == (3,)


def test_abstract_methods_must_be_defined():
    class Incomplete(Activation):
        def function(self, x):
            return x

    with pytest.raises(TypeError, match="derivative"):
        Incomplete()


def test_network_backward_after_a_training_call_does_not_use_stale_shapes():
    # forward on 5 samples, then a train_step on 2 (the layers now hold the 2-sample
    # batch): a backward for that batch must not be judged against the 5-sample shapes.
    net = Network([Dense(3, 3, seed=0), Scale(3), Dense(3, 1, seed=1)])
    net.compile(optimizer="sgd", loss="mse")
    net.forward(X)
    net.train_step(X[:2], np.zeros(2))
    assert net.backward(np.ones((2, 1))).shape == (2, 3)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes need Python 3.11")
def test_a_numpy_error_inside_a_user_backward_is_noted_with_the_layer():
    class WrongMatmul(Layer):
        def forward(self, x):
            self.x = x
            return x

        def backward(self, grad_y):
            return grad_y @ np.ones((5, 5))  # wrong size: numpy's message names no layer

    network = Network([Dense(3, 3, seed=0), WrongMatmul(name="mine")])
    network.forward(np.ones((2, 3)))
    with pytest.raises(ValueError) as caught:
        network.backward(np.ones((2, 3)))
    assert "raised in the backward of layer WrongMatmul 'mine'" in getattr(caught.value, "__notes__", [])
    network.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError) as caught:
        network.fit(np.ones((4, 3)), np.ones((4, 3)), verbose=0)
    assert "raised in the backward of layer WrongMatmul 'mine'" in getattr(caught.value, "__notes__", [])


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes need Python 3.11")
def test_a_gradient_not_summed_over_the_batch_gets_the_hint_to_sum():
    class Unsummed(Scale):
        def backward(self, grad_y):
            self.a.grad[...] = grad_y * self.x  # (batch, 3) into (3,): numpy's broadcast error
            return grad_y * self.a.value

    network = Network([Unsummed(3, name="mine"), Dense(3, 1, seed=0)])
    network.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match="could not broadcast") as caught:
        network.backward(np.ones((4, 1)))
    assert getattr(caught.value, "__notes__", []) == [
        "raised in the backward of layer Unsummed 'mine'",
        "a parameter's gradient has the parameter's shape: sum over the batch axis, e.g. "
        "p.grad[...] = (grad_y * x).sum(axis=0)"]


# -- backward misuse ------------------------------------------------------------------------
@pytest.mark.parametrize("layer", [Dense(3, 2), ReLU(), Sigmoid(), Tanh(), LeakyReLU(), Softmax()],
                         ids=lambda layer: type(layer).__name__)
def test_backward_before_forward_names_the_layer(layer: minidl.Layer) -> None:
    raises(RuntimeError, lambda: layer.backward(np.ones((2, 2))), f"{type(layer).__name__} '{layer.name}'",
           "backward() called before forward()")


@pytest.mark.parametrize("layer", [Dense(3, 3), ReLU(), Sigmoid(), Softmax()],
                         ids=lambda layer: type(layer).__name__)
def test_backward_with_a_gradient_of_the_wrong_shape(layer: minidl.Layer) -> None:
    layer.forward(np.ones((4, 3)))
    raises(ValueError, lambda: layer.backward(np.ones((4, 2))), f"'{layer.name}'",
           "expected grad_y of shape (4, 3)", "got (4, 2)")


@pytest.mark.parametrize("layer", [Dense(3, 3), ReLU(), Softmax(), minidl.BatchNorm(3), minidl.Flatten()],
                         ids=lambda layer: type(layer).__name__)
@pytest.mark.parametrize(("grad_y", "got"), [([[1.0] * 3] * 4, "got list"), (None, "got NoneType"),
                                             (np.ones((4, 3), dtype=complex), "got dtype complex128"),
                                             (np.ones((4, 3), dtype=object), "got dtype object")])
def test_backward_refuses_a_gradient_that_is_not_an_array_of_real_numbers(layer, grad_y, got) -> None:
    # an AttributeError on .shape, numpy's "Cannot cast ufunc 'matmul' output", or a complex
    # or object gradient passed on without a word
    layer.forward(np.ones((4, 3)))
    raises(TypeError, lambda: layer.backward(grad_y), f"{type(layer).__name__} '{layer.name}'",
           "backward expects grad_y (dL/dy) as an array of real numbers", got)


@pytest.mark.parametrize("layer", [minidl.Dropout(0.5), minidl.BatchNorm(2)], ids=["dropout", "batchnorm"])
def test_dropout_and_batchnorm_backward_before_forward(layer: minidl.Layer) -> None:
    raises(RuntimeError, lambda: layer.backward(np.ones((2, 2))), f"'{layer.name}'",
           "backward() called before forward()")


F32 = np.dtype(np.float32)


def _float32_batch(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


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


def test_parameter_from_integers_is_float64_and_trains() -> None:
    parameter = minidl.Parameter([1, 2, 3], name="w")
    assert parameter.value.dtype == np.float64 and parameter.grad.dtype == np.float64
    parameter.grad[...] = [1.0, 1.0, 1.0]
    minidl.SGD(learning_rate=0.5).step([parameter])
    assert parameter.value.tolist() == [0.5, 1.5, 2.5]


@pytest.mark.parametrize("value", [np.array([1j]), np.array(["a"]), np.array([None], dtype=object)])
def test_parameter_refuses_non_real_values(value: np.ndarray) -> None:
    with pytest.raises(TypeError, match=r"Parameter 'w'.*dtype"):
        minidl.Parameter(value, name="w")


def test_new_layer_saves_and_loads_through_the_registry(tmp_path):
    minidl.register_layer(Scale)
    try:
        net = Network([Dense(3, 3, seed=0), Scale(3)])
        net[1].a.value[...] = [2.0, -1.0, 0.5]
        net.save(tmp_path / "scale.npz")
        loaded = minidl.load(tmp_path / "scale.npz")
        assert isinstance(loaded[1], Scale)
        np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    finally:
        minidl.io.unregister_layer("Scale")


# -- state arrays: Layer.load_state_arrays works for any layer that declares state_arrays
class Counter(Layer):
    """A user layer with one state array and no load_state_arrays of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = np.zeros(2)

    def forward(self, x):
        self.seen += x.sum(axis=0)
        return x

    def backward(self, grad_y):
        return grad_y

    def state_arrays(self):
        return {"seen": self.seen}


def test_a_user_layer_with_state_loads_it_back_in_place():
    layer = Counter()
    target = layer.seen
    layer.load_state_arrays({"seen": np.array([3.0, 4.0])})
    assert layer.seen is target
    assert layer.seen.tolist() == [3.0, 4.0]


def test_a_user_layer_refuses_wrong_keys_shapes_and_dtypes_naming_itself():
    layer = Counter()
    with pytest.raises(ValueError, match=r"Counter 'counter': expected state arrays \['seen'\]; got \['x'\]"):
        layer.load_state_arrays({"x": np.zeros(2)})
    with pytest.raises(ValueError, match=r"state array 'seen' must have shape \(2,\) and dtype float64; "
                                         r"got shape \(3,\) and dtype float64"):
        layer.load_state_arrays({"seen": np.zeros(3)})
    with pytest.raises(ValueError, match=r"got shape \(2,\) and dtype float32"):
        layer.load_state_arrays({"seen": np.zeros(2, dtype=np.float32)})
    assert layer.seen.tolist() == [0.0, 0.0]


class CountAsNumber(Counter):
    """Keeps its count as a Python float; state_arrays() makes a new array of it on each call."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0.0

    def forward(self, x):
        self.count += len(x)
        return x

    def state_arrays(self):
        return {"count": np.array(self.count)}


def test_state_arrays_that_are_new_on_each_call_are_refused_not_silently_left_unloaded(tmp_path):
    message = ("CountAsNumber 'countasnumber': state_arrays() returns new arrays on each call, so copying "
               "into them would restore nothing; return the arrays the layer keeps, or override "
               "load_state_arrays")
    layer = CountAsNumber()
    raises(TypeError, lambda: layer.load_state_arrays({"count": np.array(5.0)}), message)
    assert layer.count == 0.0
    # Refused before anything depends on a restore: by save (no file is written) and when fit starts.
    network = Network([CountAsNumber(), Dense(2, 1, seed=0)])
    raises(TypeError, lambda: network.save(tmp_path / "model.npz"), message)
    assert not (tmp_path / "model.npz").exists()
    network.compile(optimizer="sgd", loss="mse")
    before = network[1].weight.value.copy()
    raises(TypeError, lambda: network.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=3, verbose=0), message)
    np.testing.assert_array_equal(network[1].weight.value, before)  # refused before the first step
    # minidl's own loaders call Layer's, so a BatchNorm subclass that returns copies is refused too,
    # and a user's loader that calls Layer's is refused when it runs
    class CopiedBatchNorm(BatchNorm):
        def state_arrays(self):
            return {key: value.copy() for key, value in super().state_arrays().items()}

    raises(TypeError, lambda: Network([CopiedBatchNorm(2)]).save(tmp_path / "bn.npz"),
           "CopiedBatchNorm 'copiedbatchnorm': state_arrays() returns new arrays on each call")

    class Validating(CountAsNumber):
        def load_state_arrays(self, arrays):
            assert arrays["count"] >= 0
            super().load_state_arrays(arrays)

    raises(TypeError, lambda: Validating().load_state_arrays({"count": np.array(5.0)}), "new arrays")
    viewed = Counter()
    viewed.state_arrays = lambda: {"seen": viewed.seen[:]}  # a new view each call: copying into it works
    viewed.load_state_arrays({"seen": np.array([3.0, 4.0])})
    assert viewed.seen.tolist() == [3.0, 4.0]


# -- output_shape: what Network.summary shows -------------------------------------------------------
@pytest.mark.parametrize(("layer", "shape"), [
    (Dense(3, 2), (4, 3)), (ReLU(), (2, 3, 5, 5)), (Softmax(), (2, 4)), (Dropout(0.5), (2, 3, 4, 4)),
    (BatchNorm(3), (4, 3)), (BatchNorm(3), (4, 3, 5, 6)), (minidl.Flatten(), (2, 3, 4, 5)),
    (minidl.Conv2D(3, 4, (3, 2), stride=(2, 1), padding=(1, 0)), (2, 3, 7, 6)),
    (minidl.Conv2D(2, 3, 4, padding="same"), (1, 2, 5, 5)),
    (minidl.MaxPool2D(3, stride=2), (2, 3, 9, 8)), (minidl.AvgPool2D((2, 3)), (1, 2, 5, 7)),
])
def test_output_shape_is_the_shape_forward_gives_with_the_batch_axis_none(layer, shape):
    y = layer.forward(np.random.default_rng(0).normal(size=shape))
    assert layer.output_shape((None, *shape[1:])) == (None, *y.shape[1:])


def test_output_shape_keeps_unknown_sizes_unknown():
    conv = minidl.Conv2D(1, 6, 5)
    assert conv.output_shape(None) == (None, 6, None, None)
    assert conv.output_shape((None, 1, 28, None)) == (None, 6, 24, None)
    assert minidl.MaxPool2D(2).output_shape((None, None, 8, 8)) == (None, None, 4, 4)
    assert minidl.Flatten().output_shape((None, 6, None, None)) == (None, None)
    assert ReLU().output_shape((None, 6, None, None)) == (None, 6, None, None)
    assert Dense(3, 2).output_shape(None) == (None, 2)


def test_output_shape_default_comes_from_output_features():
    assert Scale(3).output_shape((None, 5, 7)) == (None, 5, 3)  # the last axis from output_features
    assert Scale(3).output_shape(None) == (None, 3)
    assert Softplus().output_shape((None, 2, 4)) == (None, 2, 4)  # an Activation keeps the shape
    assert Layer.output_shape(Softplus(), (None, 4)) == (None, 4)  # the default, via output_features


@pytest.mark.parametrize("mode", ["eval", None, 0])
def test_train_takes_true_or_false_only(mode: object) -> None:
    # bool(mode) took "eval" for training mode; Network.train hands its mode to every layer
    raises(TypeError, lambda: Network([Dense(2, 1)]).train(mode), "Dense 'dense': train mode",
           f"must be True or False; got {mode!r}")


SHAPE_FREE_LAYERS = [ReLU(), LeakyReLU(0.1), Sigmoid(), Tanh(), Identity(), Softmax(), Dropout(0.5, seed=0),
                     minidl.Flatten()]


@pytest.mark.parametrize("layer", SHAPE_FREE_LAYERS, ids=lambda layer: type(layer).__name__)
@pytest.mark.parametrize("dtype", [complex, object, str])
def test_a_layer_without_input_shape_still_refuses_input_that_is_not_real_numbers(layer, dtype) -> None:
    # Softmax took the real part of complex scores silently; the others returned complex or object
    # arrays, or failed inside numpy (strings)
    raises(TypeError, lambda: layer.forward(np.ones((2, 3), dtype=dtype)), f"{type(layer).__name__} ",
           "input must hold real numbers; got dtype")


@pytest.mark.parametrize("layer", SHAPE_FREE_LAYERS, ids=lambda layer: type(layer).__name__)
def test_a_layer_without_input_shape_refuses_a_scalar(layer) -> None:
    # LeakyReLU and Softmax failed inside numpy ("return arrays must be of ArrayType"), the others
    # returned a numpy scalar
    raises(ValueError, lambda: layer.forward(np.array(1.0)), f"{type(layer).__name__} ",
           "expected a batch (the batch axis first); got a 0-d array")


def test_a_user_layer_without_input_shape_gets_the_dtype_check_too() -> None:
    class Double(Layer):
        def forward(self, x):
            return 2.0 * x

        def backward(self, grad_y):
            return 2.0 * grad_y

    raises(TypeError, lambda: Double().forward(np.ones((2, 2), dtype=complex)), "Double 'double'",
           "real numbers")
    np.testing.assert_array_equal(Double().forward(np.ones((2, 2), dtype=int)), np.full((2, 2), 2.0))


def test_calling_a_layer_runs_its_forward():
    layer = minidl.Dense(2, 3, seed=0)
    x = np.array([[1.0, -2.0], [0.5, 4.0]])
    np.testing.assert_allclose(layer(x), x @ layer.weight.value + layer.bias.value, rtol=1e-15)


class KeepsAView(minidl.Layer):
    """A user's layer whose state array is a view, under no attribute of its key's name."""

    def __init__(self):
        super().__init__()
        self._stats = np.arange(4.0)

    def forward(self, x):
        return x

    def backward(self, grad_y):
        return grad_y

    def state_arrays(self):
        return {"stats": self._stats[:2]}


def test_astype_leaves_a_state_array_it_cannot_rebind_and_adds_no_attribute():
    layer = KeepsAView().astype(np.float32)
    assert layer._stats.dtype == np.float64 and not hasattr(layer, "stats")  # the layer's own astype's job


def _gradients_after(look):
    """The gradients of one forward and backward, with ``look(network, x)`` run between the two."""
    rng = np.random.default_rng(0)
    network = minidl.Network([Dense(3, 4, seed=0), minidl.BatchNorm(4), minidl.ReLU(),
                              minidl.Dropout(0.5, seed=1), Dense(4, 2, seed=2)])
    x = rng.normal(size=(6, 3))
    output = network.forward(x)
    look(network, rng.normal(size=(5, 3)))  # other data, in evaluation mode
    network.backward(np.ones_like(output))
    return [p.grad.copy() for p in network.parameters()]


@pytest.mark.parametrize("look", [lambda net, x: net.predict(x), lambda net, x: net.trace(x),
                                  lambda net, x: net.predict(x, batch_size=2)],
                         ids=["predict", "trace", "batches"])
def test_a_look_between_forward_and_backward_leaves_the_gradients_alone(look):
    # The backward used what the look's forward kept (eval mode, other data): a gradient off by 7.98
    expected = _gradients_after(lambda net, x: None)
    for got, want in zip(_gradients_after(look), expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_forward_after_a_look_of_another_batch_size_backpropagates():
    # The look put back the layers' shapes while the chain took predict's batch for checked: backward
    # then expected the old batch's shape
    network = minidl.Network([Dense(3, 4, seed=0), minidl.ReLU(), Dense(4, 1, seed=1)])
    network.forward(np.ones((5, 3)))
    network.predict(np.ones((2, 3)))
    network.forward(np.ones((2, 3)))
    assert network.backward(np.ones((2, 1))).shape == (2, 3)


class Records(Layer):  # a layer of one's own that keeps its input to be looked at
    def forward(self, x):
        self.seen = x.copy()
        return x

    def backward(self, grad_y):
        return grad_y


def test_a_layer_of_ones_own_keeps_what_a_look_left():
    network = minidl.Network([Dense(2, 3, seed=0), Records(), Dense(3, 1, seed=1)])
    network.forward(np.ones((8, 2)))
    network.predict(np.ones((1, 2)))
    assert network[1].seen.shape == (1, 3)  # what the user looks at after predict
