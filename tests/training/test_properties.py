"""Property-based tests (hypothesis) of training: random networks fit and resume exactly."""

from __future__ import annotations

import io

import numpy as np
import pytest

import minidl
from minidl import SGD, Adam, MeanSquaredError, Network
from minidl.io import describe_network
from tests.random_networks import FAST, model_bytes, networks, registered_scale  # noqa: F401 (autouse fixture)

hypothesis = pytest.importorskip("hypothesis", reason="needs hypothesis: pip install hypothesis")
st = pytest.importorskip("hypothesis.strategies")
given = hypothesis.given
settings = hypothesis.settings
HealthCheck = hypothesis.HealthCheck


@FAST
@given(spec=networks(), seed=st.integers(0, 2**16), optimizer=st.sampled_from(["sgd", "adam"]))
def test_random_networks_train_without_crashing_and_stay_finite(spec, seed, optimizer) -> None:
    network, inputs, outputs = spec
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(16, inputs)).astype(network.dtype)
    y = rng.uniform(-1.0, 1.0, size=(16, outputs))
    loss = MeanSquaredError()
    step = SGD(learning_rate=0.01) if optimizer == "sgd" else Adam(learning_rate=0.001)
    for _ in range(10):
        value = loss(network.forward(x), y)
        assert np.isfinite(value)
        network.backward(loss.backward())
        step.step(network.parameters())
    for parameter in network.parameters():
        assert parameter.value.dtype == network.dtype
        assert np.all(np.isfinite(parameter.value)), parameter
    prediction = network.predict(x)
    assert prediction.shape == (16, outputs) and np.all(np.isfinite(prediction))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=networks(), seed=st.integers(0, 2**16),
       batch_size=st.sampled_from([2, 3, 5, 8, 24, 64]),  # never a last batch of 1 (BatchNorm)
       optimizer=st.sampled_from(["sgd", "adam", "rmsprop"]), integer_data=st.booleans())
def test_random_networks_fit_without_crashing_and_stay_finite(spec, seed, batch_size, optimizer,
                                                              integer_data) -> None:
    network, inputs, outputs = spec
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(24, inputs))
    if integer_data:
        x = np.rint(x * 2).astype(np.int64)
    y = rng.uniform(-1.0, 1.0, size=(24, outputs))
    step = {"sgd": SGD(0.01), "adam": Adam(0.001), "rmsprop": minidl.RMSprop(0.001)}[optimizer]
    network.compile(optimizer=step, loss="mse", metrics=["mae"])
    history = network.fit(x, y, epochs=3, batch_size=batch_size, seed=seed, verbose=0)
    assert len(history.epoch) == 3 and network.stop_reason is None
    assert all(np.isfinite(value) for value in history.history["loss"])
    for parameter in network.parameters():
        assert parameter.value.dtype == network.dtype
        assert np.all(np.isfinite(parameter.value))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=networks(every_layer=True), seed=st.integers(0, 2**16), split=st.integers(1, 3),
       optimizer=st.sampled_from(["sgd", "adam", "rmsprop"]))
def test_save_load_resume_matches_an_uninterrupted_fit(spec, seed, split, optimizer) -> None:
    network, inputs, outputs = spec
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(20, inputs))
    y = rng.uniform(-1.0, 1.0, size=(20, outputs))
    start = model_bytes(*describe_network(network))  # the same starting network, twice

    def fresh() -> Network:
        copy = minidl.load(io.BytesIO(start))
        make = {"sgd": lambda: SGD(0.01, momentum=0.9), "adam": lambda: Adam(0.001),
                "rmsprop": lambda: minidl.RMSprop(0.001)}[optimizer]
        copy.compile(optimizer=make(), loss="mse")
        return copy

    straight = fresh()
    straight.fit(x, y, epochs=4, batch_size=6, seed=seed, verbose=0)
    first = fresh()
    first.fit(x, y, epochs=split, batch_size=6, seed=seed, verbose=0)
    resumed = minidl.load(io.BytesIO(model_bytes(*describe_network(first))))
    resumed.fit(x, y, epochs=4 - split, batch_size=6, seed=resumed.fit_rng, verbose=0)
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)
