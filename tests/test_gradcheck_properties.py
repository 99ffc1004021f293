"""Every built-in layer and loss passes check_gradients over random shapes and seeds (hypothesis)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import minidl
from minidl import (
    Activation,
    AvgPool2D,
    BatchNorm,
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Identity,
    Layer,
    LeakyReLU,
    MaxPool2D,
    MeanAbsoluteError,
    MeanSquaredError,
    Network,
    ReLU,
    Sigmoid,
    Softmax,
    SparseCategoricalCrossEntropy,
    Tanh,
    check_gradients,
)
from tests.gradcheck_broken import away_from_zero, normal

hypothesis = pytest.importorskip("hypothesis", reason="needs hypothesis: pip install hypothesis")
st = pytest.importorskip("hypothesis.strategies")
given = hypothesis.given
settings = hypothesis.settings

FAST = settings(max_examples=25, deadline=None)


shapes = st.tuples(st.integers(1, 5), st.integers(1, 5))


seeds = st.integers(0, 2**32 - 1)


# -- every built-in passes over random shapes ------------------------------------------------
@FAST
@given(shape=shapes, out=st.integers(1, 5), use_bias=st.booleans(), seed=seeds,
       dtype=st.sampled_from([np.float64, np.float32]))
def test_dense_passes(shape, out, use_bias, seed, dtype):
    layer = Dense(shape[1], out, use_bias=use_bias, seed=seed, dtype=dtype)
    check_gradients(layer, normal(seed, shape).astype(dtype), seed=seed).raise_if_failed()


@FAST
@given(shape=shapes, seed=seeds)
def test_dense_passes_on_a_single_sample(shape, seed):
    # Layers take batches; a single sample enters through the Network, which adds the batch axis.
    net = Network([Dense(shape[1], shape[0], seed=seed)])
    check_gradients(net, normal(seed, (shape[1],))).raise_if_failed()


@FAST
@given(shape=shapes, seed=seeds, kind=st.sampled_from([Sigmoid, Tanh, Identity, Softmax]))
def test_smooth_activations_and_softmax_pass(shape, seed, kind):
    check_gradients(kind(), normal(seed, shape, scale=3.0), seed=seed).raise_if_failed()


@FAST
@given(shape=shapes, seed=seeds, layer=st.sampled_from([ReLU(), LeakyReLU(0.1), LeakyReLU(0.0)]))
def test_kinked_activations_pass_away_from_the_kink(shape, seed, layer):
    check_gradients(layer, away_from_zero(seed, shape), seed=seed).raise_if_failed()


@FAST
@given(shape=shapes, seed=seeds, rate=st.sampled_from([0.0, 0.3, 0.8]), training=st.booleans())
def test_dropout_passes_in_both_modes(shape, seed, rate, training):
    layer = Dropout(rate, seed=seed)
    layer.train(training)
    check_gradients(layer, normal(seed, shape), seed=seed).raise_if_failed()


@FAST
@given(batch=st.integers(2, 6), features=st.integers(1, 4), seed=seeds, training=st.booleans())
def test_batchnorm_passes_in_both_modes(batch, features, seed, training):
    layer = BatchNorm(features)
    rng = np.random.default_rng(seed)
    layer.gamma.value[...] = rng.uniform(0.5, 2.0, features) * rng.choice([-1, 1], features)
    layer.beta.value[...] = rng.normal(size=features)
    layer.running_mean[...] = rng.normal(size=features)
    layer.running_var[...] = rng.uniform(0.5, 2.0, features)
    layer.train(training)
    # Rows from a spread-out normal: no column with (nearly) equal values, whose variance
    # would be ~0 and its normalisation ill-conditioned.
    x = normal(seed, (batch, features), scale=2.0) + np.arange(batch)[:, None]
    check_gradients(layer, x, seed=seed).raise_if_failed()


pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))


@FAST
@given(channels=pairs, kernel=pairs, stride=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       padding=st.one_of(st.tuples(st.integers(0, 2), st.integers(0, 2)), st.just("same")),
       extra=st.tuples(st.integers(0, 3), st.integers(0, 3)), use_bias=st.booleans(), seed=seeds,
       dtype=st.sampled_from([np.float64, np.float32]))
def test_conv2d_passes(channels, kernel, stride, padding, extra, use_bias, seed, dtype):
    stride = (1, 1) if padding == "same" else stride
    layer = Conv2D(*channels, kernel, stride=stride, padding=padding, use_bias=use_bias, seed=seed,
                   bias_init="he_normal" if use_bias else "zeros", dtype=dtype)
    x = normal(seed, (2, channels[0], kernel[0] + extra[0], kernel[1] + extra[1])).astype(dtype)
    check_gradients(layer, x, seed=seed).raise_if_failed()


@FAST
@given(pool=pairs, stride=st.one_of(st.none(), pairs), extra=st.tuples(st.integers(0, 3), st.integers(0, 3)),
       channels=st.integers(1, 3), seed=seeds, kind=st.sampled_from([MaxPool2D, AvgPool2D]))
def test_pooling_passes(pool, stride, extra, channels, seed, kind):
    x = normal(seed, (2, channels, pool[0] + extra[0], pool[1] + extra[1]))  # ties: probability 0
    check_gradients(kind(pool, stride), x, seed=seed).raise_if_failed()


@FAST
@given(shape=st.lists(st.integers(1, 3), min_size=2, max_size=4), seed=seeds)
def test_flatten_passes(shape, seed):
    check_gradients(Flatten(), normal(seed, tuple(shape)), seed=seed).raise_if_failed()


@FAST
@given(batch=st.integers(1, 3), channels=st.integers(1, 3), seed=seeds, training=st.booleans())
def test_batchnorm_on_images_passes_in_both_modes(batch, channels, seed, training):
    layer = BatchNorm(channels)
    rng = np.random.default_rng(seed)
    layer.gamma.value[...] = rng.uniform(0.5, 2.0, channels) * rng.choice([-1, 1], channels)
    layer.running_var[...] = rng.uniform(0.5, 2.0, channels)
    layer.train(training)
    check_gradients(layer, normal(seed, (batch, channels, 3, 2), scale=2.0), seed=seed).raise_if_failed()


@FAST
@given(shape=shapes, seed=seeds)
def test_mean_squared_error_passes(shape, seed):
    predicted, actual = normal(seed, shape), normal(seed + 1, shape)
    check_gradients(MeanSquaredError(), predicted, actual, seed=seed).raise_if_failed()


@FAST
@given(shape=shapes, seed=seeds)
def test_mean_absolute_error_passes_away_from_zero_error(shape, seed):
    actual = normal(seed, shape)
    predicted = actual + away_from_zero(seed + 1, shape)
    check_gradients(MeanAbsoluteError(), predicted, actual, seed=seed).raise_if_failed()


@FAST
@given(shape=shapes, seed=seeds)
def test_binary_cross_entropy_passes_on_probabilities_and_on_logits(shape, seed):
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 2, size=shape).astype(float)
    probabilities = rng.uniform(0.05, 0.95, size=shape)  # away from the clipping at epsilon
    check_gradients(BinaryCrossEntropy(), probabilities, target, seed=seed).raise_if_failed()
    logits = rng.normal(0.0, 4.0, size=shape)
    check_gradients(BinaryCrossEntropy(from_logits=True), logits, target, seed=seed).raise_if_failed()


@FAST
@given(shape=st.tuples(st.integers(1, 5), st.integers(2, 5)), seed=seeds)
def test_categorical_cross_entropies_pass_on_probabilities_and_on_logits(shape, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, shape[1], size=shape[0])
    one_hot = np.eye(shape[1])[labels]
    probabilities = Softmax().forward(rng.normal(size=shape))
    logits = rng.normal(0.0, 4.0, size=shape)
    for loss, target in [(CategoricalCrossEntropy(), one_hot), (SparseCategoricalCrossEntropy(), labels)]:
        check_gradients(loss, probabilities, target, seed=seed).raise_if_failed()
    for loss, target in [(CategoricalCrossEntropy(from_logits=True), one_hot),
                         (SparseCategoricalCrossEntropy(from_logits=True), labels)]:
        check_gradients(loss, logits, target, seed=seed).raise_if_failed()


@FAST
@given(batch=st.integers(2, 5), sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4), seed=seeds)
def test_networks_of_built_ins_pass(batch, sizes, seed):
    layers: list[Layer] = []
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(Dense(fan_in, fan_out, seed=seed + index))
        layers.append([Tanh(), Sigmoid(), BatchNorm(fan_out), Dropout(0.4, seed=seed)][index % 4])
    layers.append(Softmax())
    net = Network(layers)
    check_gradients(net, normal(seed, (batch, sizes[0])) + np.arange(batch)[:, None],
                    seed=seed).raise_if_failed()


def test_every_public_layer_class_is_covered_here():
    covered = {Dense, Sigmoid, Tanh, Identity, Softmax, ReLU, LeakyReLU, Dropout, BatchNorm,
               Conv2D, MaxPool2D, AvgPool2D, Flatten}
    public_layers = {
        value for value in vars(minidl).values()
        if isinstance(value, type) and issubclass(value, Layer) and value not in (Layer, Activation)
    }
    assert public_layers <= covered, f"add a gradient check for {public_layers - covered}"


def test_every_public_loss_class_is_covered_here():
    covered = {MeanSquaredError, MeanAbsoluteError, BinaryCrossEntropy, CategoricalCrossEntropy,
               SparseCategoricalCrossEntropy}
    public_losses = {
        value for value in vars(minidl).values()
        if isinstance(value, type) and issubclass(value, minidl.Loss) and value is not minidl.Loss
    }
    assert public_losses <= covered, f"add a gradient check for {public_losses - covered}"
