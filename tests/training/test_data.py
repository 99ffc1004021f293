"""The data of fit (minidl/training/data.py): validation split, batches, one permutation per epoch."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import SGD, Dense, Network
from tests.messages import raises
from tests.training.helpers import F32, InputRecorder, Recorder, classification_data, classifier, linear_data


def test_fit_casts_the_data_once_up_front_and_batches_are_views_of_it() -> None:
    recorder = InputRecorder()
    net = classifier(recorder)
    x, labels = classification_data()
    net.fit(x, labels, epochs=2, batch_size=16, verbose=0, shuffle=False)
    batches = recorder.inputs[1:]  # the first input is fit's shape probe
    assert len(batches) >= 8
    roots = {id(batch.base) for batch in batches}
    assert len(roots) == 1  # every batch is a slice of one array...
    root = batches[0].base
    assert root is not None and root.dtype == F32 and root.shape == x.shape  # ...the one float32 copy
    np.testing.assert_array_equal(root, x.astype(np.float32))


def test_data_that_does_not_fit_the_network_is_named_with_its_own_shape() -> None:
    # the layers see fit's one-sample probe, (1, 6, 6): the message names the data given
    net = Network([minidl.Conv2D(1, 2, 3, seed=0), minidl.Flatten(), Dense(32, 1, seed=1)])
    net.compile(optimizer="sgd", loss="mse")
    images, y = np.ones((8, 1, 6, 6)), np.zeros((8, 1))
    # the data's own shape, not the probe's (1, 6, 6)
    with pytest.raises(ValueError, match=r"^fit x of shape \(8, 6, 6\) does not fit the network: Conv2D .*"
                                         r"without their channel axis, of shape \(8, 6, 6\)"):
        net.fit(images[:, 0], y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"^fit validation_data x of shape \(8, 1, 5, 5\) does not fit the "
                                         r"network: Dense 'dense': expected 32 input features"):
        net.fit(images, y, epochs=1, verbose=0, validation_data=(images[:, :, :5, :5], y))
    with pytest.raises(ValueError, match=r"^evaluate x of shape \(8, 36\) does not fit the network"):
        net.evaluate(np.ones((8, 36)), y)


def _batchnorm_network() -> minidl.Network:
    network = minidl.Network([minidl.Dense(3, 4, seed=0), minidl.BatchNorm(4), minidl.ReLU(),
                              minidl.Dense(4, 1, seed=1)])
    network.compile(optimizer="sgd", loss="mse")
    return network


@pytest.mark.parametrize("shuffle", [True, False])
def test_fit_with_batchnorm_never_trains_on_a_batch_of_one(shuffle: bool) -> None:
    # 33 samples in batches of 32 would leave a last batch of 1, on which BatchNorm has no
    # variance: the lone sample joins the batch before it instead of failing mid-epoch.
    x = np.random.default_rng(0).normal(size=(33, 3))
    y = x.sum(axis=1)
    network = _batchnorm_network()
    sizes: list[float] = []

    class Sizes(minidl.Callback):
        def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
            assert logs is not None
            sizes.append(logs["size"])

    history = network.fit(x, y, epochs=2, batch_size=32, shuffle=shuffle, verbose=0, callbacks=[Sizes()])
    assert sizes == [33.0, 33.0]
    assert len(history.history["loss"]) == 2
    assert all(np.isfinite(p.value).all() for p in network.parameters())


def test_fit_batchnorm_one_sample_merge_is_plain_gradient_descent() -> None:
    # The merged batch is one step on the mean loss of its 33 samples (shuffle off).
    x = np.random.default_rng(1).normal(size=(33, 3))
    y = x.sum(axis=1)
    merged = _batchnorm_network()
    merged.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    full = _batchnorm_network()
    full.fit(x, y, epochs=1, batch_size=33, shuffle=False, verbose=0)
    for a, b in zip(merged.parameters(), full.parameters(), strict=True):
        assert np.array_equal(a.value, b.value)


def test_fit_without_batchnorm_keeps_a_last_batch_of_one() -> None:
    x = np.random.default_rng(0).normal(size=(33, 3))
    network = minidl.Network([minidl.Dense(3, 1, seed=0)])
    network.compile(optimizer="sgd", loss="mse")
    sizes: list[float] = []

    class Sizes(minidl.Callback):
        def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
            assert logs is not None
            sizes.append(logs["size"])

    network.fit(x, x.sum(axis=1), epochs=1, batch_size=32, verbose=0, callbacks=[Sizes()])
    assert sizes == [32.0, 1.0]


def test_fit_shuffles_with_one_permutation_per_epoch_of_its_seed() -> None:
    # Each epoch draws one permutation from the seed's generator and trains on its
    # consecutive slices: the same steps as this hand-written loop of train_step calls.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((24, 3))
    y = x @ np.array([0.5, -1.0, 2.0])

    def network() -> minidl.Network:
        net = minidl.Network([minidl.Dense(3, 5, seed=0), minidl.Tanh(), minidl.Dense(5, 1, seed=1)])
        net.compile(optimizer=minidl.SGD(0.05), loss="mse")
        return net

    fitted = network()
    fitted.fit(x, y, epochs=3, batch_size=8, verbose=0, seed=7)
    by_hand = network()
    generator = np.random.default_rng(7)
    for _ in range(3):
        order = generator.permutation(len(x))
        for start in range(0, len(x), 8):
            batch = order[start : start + 8]
            by_hand.train_step(x[batch], y[batch])
    for a, b in zip(fitted.parameters(), by_hand.parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)


def test_validation_split_holds_out_the_last_samples_before_shuffling():
    x = np.arange(10.0).reshape(10, 1)
    y = np.arange(10.0)
    recorder = Recorder()
    net = Network([recorder, Dense(1, 1, seed=0)])
    net.compile(optimizer=SGD(0.001), loss="mse")
    history = net.fit(x, y, epochs=3, batch_size=3, validation_split=0.25, verbose=0, seed=1)
    training = [batch for batch, mode in zip(recorder.seen, recorder.modes, strict=True) if mode]
    validation = [batch for batch, mode in zip(recorder.seen, recorder.modes, strict=True) if not mode]
    # int(10 * 0.75) = 7 training samples: 0..6, each once per epoch, shuffled; 7..9 validate.
    trained = np.concatenate(training).ravel()
    assert sorted(trained.tolist()) == sorted(list(range(7)) * 3)
    assert not np.array_equal(trained[:7], np.arange(7.0))  # shuffled
    np.testing.assert_array_equal(np.concatenate(validation[-1:]).ravel(), [7.0, 8.0, 9.0])
    assert history.history["val_loss"][-1] == pytest.approx(net.evaluate(x[7:], y[7:])["loss"])


def test_validation_data_and_batches_without_shuffle():
    x, y = linear_data(n=10)
    recorder = Recorder()
    net = Network([recorder, Dense(3, 1, seed=0)])
    net.compile(optimizer=SGD(0.01), loss="mse")
    history = net.fit(x, y, epochs=1, batch_size=4, shuffle=False, validation_data=(x[:3], y[:3]), verbose=0)
    training = [batch for batch, mode in zip(recorder.seen, recorder.modes, strict=True) if mode]
    assert [len(batch) for batch in training] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(training), x)  # in order
    assert "val_loss" in history.history


def test_targets_beyond_the_networks_dtype_are_refused_naming_y() -> None:
    # fit and evaluate said "MeanSquaredError: actual must be finite; got inf" of y = 1e6, finite
    net = Network([Dense(1, 1, seed=0, dtype=np.float16)])
    net.compile(optimizer=SGD(0.1), loss="mse")
    x, y = np.ones((4, 1)), np.array([1.0, 2.0, -1e6, 3.0])
    fragment = "y holds 1e+06 (in magnitude), beyond the range of float16 (largest 65504)"
    raises(ValueError, lambda: net.fit(x, y, verbose=0), f"fit {fragment}")
    raises(ValueError, lambda: net.fit(x, x[:, 0], verbose=0, validation_data=(x, y)),
           f"fit validation_data {fragment}")
    raises(ValueError, lambda: net.evaluate(x, y), f"evaluate {fragment}")
    raises(ValueError, lambda: net.fit(y[:, None], x[:, 0], verbose=0), "fit x holds 1e+06 (in magnitude)")


def test_fit_refuses_masked_targets_naming_y() -> None:
    net = Network([Dense(1, 1, seed=0)])
    net.compile(optimizer=SGD(0.1), loss="mse")
    y = np.ma.array([1.0, 1.0, 1e3], mask=[False, False, True])
    raises(ValueError, lambda: net.fit(np.ones((3, 1)), y, verbose=0),
           "fit y is a masked array with 1 of its 3 values masked")
    net.fit(np.ones((3, 1)), y.filled(1.0), epochs=200, verbose=0)  # filled: trained on ones
    assert net.predict([[1.0]])[0, 0] == pytest.approx(1.0, abs=1e-6)
