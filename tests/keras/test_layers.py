"""minidl.keras's layer constructors (minidl/keras/layers.py): what each builds, and their errors."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl.keras import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Input,
    MaxPooling2D,
    Sequential,
)


def kinds(model):
    return [type(layer).__name__ for layer in model.layers]


@pytest.mark.parametrize(("name", "kind"), [("relu", "ReLU"), ("sigmoid", "Sigmoid"), ("tanh", "Tanh"),
                                            ("softmax", "Softmax")])
def test_activation_names_add_the_minidl_layer_after_the_dense(name, kind):
    assert kinds(Sequential([Dense(2, activation=name, input_shape=(3,))])) == ["Dense", kind]


@pytest.mark.parametrize("name", ["linear", None])
def test_linear_and_none_add_no_activation(name):
    assert kinds(Sequential([Dense(2, activation=name, input_shape=(3,))])) == ["Dense"]


@pytest.mark.parametrize(("name", "kind"), [("relu", "ReLU"), ("sigmoid", "Sigmoid"), ("tanh", "Tanh"),
                                            ("softmax", "Softmax"), ("Softmax", "Softmax"),
                                            ("linear", "Identity"), (None, "Identity")])
def test_an_activation_layer_adds_the_minidl_activation(name, kind):
    model = Sequential([Dense(2, input_shape=(3,)), Activation(name)])
    assert kinds(model) == ["Dense", kind]


def test_an_activation_layer_after_a_convolution_keeps_the_image_shape():
    model = Sequential([Conv2D(2, 3, input_shape=(1, 5, 5)), Activation("relu")])
    out = model.predict(np.random.default_rng(0).normal(size=(2, 1, 5, 5)))
    assert out.shape == (2, 2, 3, 3) and out.min() >= 0.0


def test_an_activation_layer_takes_a_name_or_a_minidl_activation():
    assert Sequential([Input(shape=(2,)), Activation("tanh", name="squash")]).layers[0].name == "squash"
    leaky = minidl.LeakyReLU(alpha=0.2)
    model = Sequential([Input(shape=(2,)), Activation(leaky)])
    assert model.layers == [leaky]
    np.testing.assert_allclose(model.predict([[-1.0, 3.0]]), [[-0.2, 3.0]])  # 0.2 * -1, and 3 kept


def test_an_activation_layer_refuses_an_unknown_name_at_once():
    with pytest.raises(ValueError, match=r"Activation: unknown activation 'relu6'.*'relu', 'sigmoid', "
                                         r"'tanh', 'softmax', 'linear' or None"):
        Activation("relu6")
    with pytest.raises(ValueError, match="Activation: unknown activation 3"):
        Activation(3)
    with pytest.raises(TypeError, match=r"Activation expects an activation name .* got Dense"):
        Activation(minidl.Dense(2, 3))


def test_an_unknown_activation_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"unknown activation 'relu6'.*'relu', 'sigmoid', 'tanh', "
                                         r"'softmax', 'linear' or None"):
        Dense(2, activation="relu6")


def test_initializer_names_and_use_bias_reach_the_minidl_dense():
    (dense,) = Sequential([Dense(2, use_bias=False, kernel_initializer="ones", input_shape=(3,))]).layers
    np.testing.assert_array_equal(dense.weight.value, np.ones((3, 2)))
    assert dense.bias is None
    (dense,) = Sequential([Dense(2, bias_initializer="ones", input_shape=(3,))]).layers
    np.testing.assert_array_equal(dense.bias.value, [1.0, 1.0])


def test_dtype_reaches_the_minidl_layers_and_float32_data_stays_float32():
    model = Sequential([Conv2D(2, 3, input_shape=(1, 4, 4), dtype="float32", activation="relu"), Flatten(),
                        Dense(3, dtype="float32", activation="softmax")])
    assert [p.value.dtype for p in model.network.parameters()] == [np.dtype(np.float32)] * 4
    out = model.predict(np.zeros((2, 1, 4, 4), dtype=np.float32))
    assert out.dtype == np.float32 and out.shape == (2, 3)
    (dense,) = Sequential([Dense(2, input_shape=(3,))]).layers
    assert dense.weight.value.dtype == np.float64  # minidl's default, not Keras's float32


@pytest.mark.parametrize(("shape", "error", "match"), [
    (8, TypeError, r"Dense input_shape must be a tuple.*\(8,\)"),
    ((0,), ValueError, "positive integers"),
    ((), ValueError, "non-empty tuple"),
    ("8", ValueError, "positive integers"),
])
def test_a_wrong_input_shape_is_refused_with_the_fix(shape, error, match):
    with pytest.raises(error, match=match):
        Dense(1, input_shape=shape)


def test_data_of_another_shape_than_declared_names_the_layer():
    model = Sequential([Dense(1, input_shape=(3,))])
    with pytest.raises(ValueError, match="dense"):
        model.predict(np.ones((2, 4)))


def test_dense_on_images_asks_for_flatten():
    with pytest.raises(ValueError, match=r"Dense expects samples of shape \(features,\).*Flatten"):
        Sequential([Conv2D(2, 3, input_shape=(1, 5, 5)), Dense(1)])


def test_an_input_shape_with_the_batch_axis_says_to_leave_it_out():
    # input_shape=x.shape was told to put Flatten() before the Dense, which then wanted 115008 features
    with pytest.raises(ValueError, match=r"got \(1797, 64\); input_shape is one sample's, without the batch "
                                         r"axis: input_shape=\(64,\)$"):
        Sequential([Dense(50, input_shape=(1797, 64))])


def test_a_small_convnet_is_channels_first():
    model = Sequential([Conv2D(4, 3, activation="relu", padding="same", input_shape=(1, 8, 8)),
                        MaxPooling2D(2), AveragePooling2D(2), BatchNormalization(), Flatten(), Dropout(0.5),
                        Dense(3, activation="softmax")])
    assert kinds(model) == ["Conv2D", "ReLU", "MaxPool2D", "AvgPool2D", "BatchNorm", "Flatten", "Dropout",
                            "Dense", "Softmax"]
    conv, norm, dense = model.layers[0], model.layers[4], model.layers[7]
    assert (conv.in_channels, conv.out_channels) == (1, 4)
    assert norm.num_features == 4 and dense.in_features == 4 * 2 * 2
    assert (norm.momentum, norm.epsilon) == (0.99, 0.001)  # Keras's defaults
    assert model.predict(np.ones((2, 1, 8, 8))).shape == (2, 3)


def test_a_float32_convnet_with_batchnormalization_is_float32_throughout():
    # BatchNormalization took no dtype, so a float32 Conv2D before it made the model refuse to build
    model = Sequential([Conv2D(2, 3, input_shape=(1, 6, 6), dtype="float32"),
                        BatchNormalization(dtype="float32"), Flatten(), Dense(1, dtype="float32")])
    assert {p.dtype for p in model.network.parameters()} == {np.dtype(np.float32)}
    assert model.layers[1].running_var.dtype == np.float32
    assert model.predict(np.ones((2, 1, 6, 6), dtype=np.float32)).dtype == np.float32


def test_pooling_refuses_same_padding():
    with pytest.raises(ValueError, match="padding='valid'"):
        MaxPooling2D(2, padding="same")


def test_a_failed_build_leaves_the_model_unchanged():
    model = Sequential([Dense(2)])
    with pytest.raises(ValueError, match="Flatten"):
        model.predict(np.ones((1, 1, 2, 2)))
    assert model.layers == [] and model.predict(np.ones((1, 3))).shape == (1, 2)


def test_a_layer_declaring_another_shape_than_reaches_it_is_refused():
    with pytest.raises(ValueError, match=r"input_shape=\(5,\).*is \(2,\)"):
        Sequential([Dense(2, input_shape=(3,)), Dense(1, input_shape=(5,))])


def test_the_built_layers_are_ordinary_minidl_layers():
    layer = Dense(3, activation="relu")
    (dense, relu) = layer.build((2,))
    assert isinstance(dense, minidl.Dense) and isinstance(relu, minidl.ReLU) and layer.layers == [dense, relu]


def test_softmax_on_images_is_refused_keras_normalises_the_channels_minidl_the_width():
    with pytest.raises(ValueError, match=r"Conv2D: activation 'softmax' on images is not supp.*channels"):
        Conv2D(3, 3, activation="softmax", input_shape=(1, 6, 6))
    with pytest.raises(ValueError, match=r"Activation: activation 'softmax' on images is not supported"):
        Sequential([Conv2D(2, 3, input_shape=(1, 5, 5)), Activation("softmax")])
    assert kinds(Sequential([Conv2D(2, 3, input_shape=(1, 5, 5)), Flatten(), Activation("softmax")])) == [
        "Conv2D", "Flatten", "Softmax"]


@pytest.mark.parametrize(("make", "match"), [
    (lambda: Dense(0), "Dense units must be a positive integer; got 0"),
    (lambda: Conv2D(0, 3), "Conv2D filters must be a positive integer; got 0"),
    (lambda: Conv2D(2, 0), "Conv2D kernel_size must be positive integers"),
    (lambda: Conv2D(2, 3, strides=0), "Conv2D strides must be positive integers"),
    (lambda: MaxPooling2D(0), "MaxPool2D 'maxpool2d' pool_size must be positive integers"),
    (lambda: Dropout(1.5), r"Dropout rate must be in \[0.0, 1.0\)"),
    (lambda: BatchNormalization(momentum=2.0), r"BatchNorm 'batchnorm' momentum must be in \[0.0, 1.0\]"),
])
def test_recipe_arguments_are_checked_at_once_not_at_build(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_layers_other_than_dense_take_input_shape_as_in_keras():
    (norm,) = Sequential([BatchNormalization(input_shape=(3,))]).layers
    assert norm.num_features == 3
    assert kinds(Sequential([Dropout(0.5, input_shape=(4,)), Dense(1)])) == ["Dropout", "Dense"]
    assert kinds(Sequential([Activation("relu", input_shape=(2,)), Dense(1)])) == ["ReLU", "Dense"]


def test_batchnormalization_refuses_samples_of_rank_2_whose_last_axis_keras_would_normalise():
    with pytest.raises(ValueError, match=r"BatchNormalization expects samples of shape \(features,\) or "
                                         r"\(channels, height, width\); got \(5, 3\): Keras normalises"):
        Sequential([Input((5, 3)), BatchNormalization()])


def test_a_keras_layer_says_whether_it_is_built():
    layer = Dense(3)
    assert repr(layer) == "<minidl.keras Dense, not built>"
    Sequential([Input((2,)), layer])
    assert repr(layer) == "<minidl.keras Dense, built>"


def test_dense_reads_keras_2s_input_dim_as_input_shape():
    # Dense(8, input_dim=4) was "unexpected keyword argument"; Keras 3 still reads it
    model = Sequential([Dense(8, activation="relu", input_dim=4), Dense(1)])
    assert model.network.layers[0].weight.value.shape == (4, 8)
    assert model.predict(np.ones((2, 4))).shape == (2, 1)
    with pytest.raises(ValueError, match="Dense input_dim"):
        Dense(8, input_dim=0)
    with pytest.raises(TypeError, match=r"input_shape or input_dim, not both; got \(5,\) and 4"):
        Dense(2, input_dim=4, input_shape=(5,))
