"""Saving (minidl/io/saving.py): round trips, the training state saved for exact resumption, what is
not saved, what saving refuses."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import (
    SGD,
    Adam,
    BatchNorm,
    Dense,
    Dropout,
    Identity,
    LeakyReLU,
    ModelCheckpoint,
    Network,
    ReLU,
    RMSprop,
    Sigmoid,
    Softmax,
    Tanh,
)
from minidl.io import saving
from minidl.training import Callback
from tests.gradcheck_broken import InnerDense, ListScale
from tests.io.files import X_SMALL, Scale, read_parts, small_network
from tests.messages import raises
from tests.training.helpers import NOISY_X as X
from tests.training.helpers import NOISY_Y as Y
from tests.training.helpers import batchnorm_net as compiled
from tests.training.helpers import make_network


def test_save_bad_arguments(tmp_path) -> None:
    raises(TypeError, lambda: small_network().save(tmp_path / "m.npz", include_optimizer="no"),
           "save include_optimizer", "True or False", "got 'no'")
    raises(FileNotFoundError, lambda: small_network().save(tmp_path / "missing" / "m.npz"))


def assert_same_state(a: Network, b: Network) -> None:
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)
    for layer_a, layer_b in zip(a, b, strict=True):
        for key, value in layer_a.state_arrays().items():
            np.testing.assert_array_equal(value, layer_b.state_arrays()[key])


# -- resuming exactly ----------------------------------------------------------------------
@pytest.mark.parametrize("make_optimizer", [
    lambda: SGD(0.05), lambda: SGD(0.05, momentum=0.9, nesterov=True), lambda: Adam(0.01),
    lambda: RMSprop(0.005)], ids=["sgd", "nesterov", "adam", "rmsprop"])
def test_save_load_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path: Path, make_optimizer) -> None:
    straight = compiled(make_optimizer())
    straight.fit(X, Y, epochs=6, batch_size=8, seed=3, verbose=0)

    first = compiled(make_optimizer())
    first.fit(X, Y, epochs=3, batch_size=8, seed=3, verbose=0)
    first.save(tmp_path / "half.npz")
    resumed = minidl.load(tmp_path / "half.npz")
    assert type(resumed.optimizer) is type(straight.optimizer)
    assert resumed.optimizer.config() == straight.optimizer.config()
    assert resumed.metrics_names == ["loss", "mae"]
    resumed.fit(X, Y, epochs=3, batch_size=8, seed=resumed.fit_rng, verbose=0)

    assert_same_state(straight, resumed)
    assert resumed.optimizer.iterations == straight.optimizer.iterations == 6 * 8


def test_resuming_without_the_saved_generator_is_not_identical(tmp_path: Path) -> None:
    """The control experiment: the shuffling stream matters, so the test above is meaningful."""
    straight = compiled(Adam(0.01))
    straight.fit(X, Y, epochs=4, batch_size=8, seed=3, verbose=0)
    first = compiled(Adam(0.01))
    first.fit(X, Y, epochs=2, batch_size=8, seed=3, verbose=0)
    first.save(tmp_path / "half.npz")
    resumed = minidl.load(tmp_path / "half.npz")
    resumed.fit(X, Y, epochs=2, batch_size=8, seed=3, verbose=0)  # restarts the stream
    assert not np.array_equal(resumed.parameters()[0].value, straight.parameters()[0].value)


def test_resume_from_a_checkpoint_after_a_crash_is_bit_identical(tmp_path: Path) -> None:
    straight = compiled(Adam(0.01))
    straight.fit(X, Y, epochs=5, batch_size=16, seed=11, verbose=0)

    class Crash(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 2:
                raise RuntimeError("power cut")

    path = tmp_path / "last.npz"
    crashing = compiled(Adam(0.01))
    checkpoint = ModelCheckpoint(path, save_best_only=False)
    with pytest.raises(RuntimeError, match="power cut"):
        crashing.fit(X, Y, epochs=5, batch_size=16, seed=11, verbose=0, callbacks=[checkpoint, Crash()])
    assert checkpoint.saved == [str(path)] * 3  # epochs 1, 2, 3 were saved before the crash
    resumed = minidl.load(path)
    resumed.fit(X, Y, epochs=2, batch_size=16, seed=resumed.fit_rng, verbose=0)
    assert_same_state(straight, resumed)


def test_include_optimizer_false_stores_the_network_only(tmp_path: Path) -> None:
    network = compiled(Adam(0.01))
    network.fit(X, Y, epochs=1, batch_size=16, seed=0, verbose=0)
    network.save(tmp_path / "bare.npz", include_optimizer=False)
    loaded = minidl.load(tmp_path / "bare.npz")
    assert loaded.optimizer is None and loaded.loss is None and loaded.fit_rng is None
    np.testing.assert_array_equal(loaded.predict(X), network.predict(X))
    with np.load(tmp_path / "bare.npz", allow_pickle=False) as archive:
        assert not [key for key in archive.files if key.startswith("optimizer")]


def test_dropout_generator_state_is_saved_even_for_inference_files(tmp_path: Path) -> None:
    network = Network([Dropout(0.5, seed=1)])
    network.forward(np.ones((4, 3)))  # advances the dropout generator
    network.save(tmp_path / "d.npz", include_optimizer=False)
    loaded = minidl.load(tmp_path / "d.npz")
    np.testing.assert_array_equal(loaded.forward(np.ones((4, 3))), network.forward(np.ones((4, 3))))


def test_a_dropout_generator_of_either_pcg64_kind_comes_back_in_its_exact_state(tmp_path: Path) -> None:
    for bit_generator in (np.random.PCG64(5), np.random.PCG64DXSM(5)):
        network = Network([Dense(3, 3, seed=0), Dropout(0.5, seed=np.random.Generator(bit_generator))])
        network.forward(np.ones((2, 3)))  # move the generator away from its seed
        path = tmp_path / "dropout.npz"
        network.save(path)
        loaded = minidl.load(path)
        x = np.ones((4, 3))
        np.testing.assert_array_equal(loaded.forward(x), network.forward(x))  # the same mask
        assert type(loaded[1]._rng.bit_generator) is type(bit_generator)


def test_function_metrics_are_not_saved_and_named_metrics_are(tmp_path: Path) -> None:
    def worst(y_true, y_pred):
        return float(np.max(np.abs(np.asarray(y_true) - y_pred)))

    network = make_network()
    network.compile(optimizer="sgd", loss="mae", metrics=["mse", worst])
    network.save(tmp_path / "m.npz")
    loaded = minidl.load(tmp_path / "m.npz")
    assert loaded.metrics_names == ["loss", "mse"]
    assert type(loaded.loss).__name__ == "MeanAbsoluteError"


def test_cross_entropy_settings_round_trip(tmp_path: Path) -> None:
    network = Network([Dense(4, 3, seed=0), Softmax()])
    network.compile(optimizer=SGD(0.1), loss=minidl.losses.CategoricalCrossEntropy(epsilon=1e-4),
                    metrics=["accuracy"])
    network.save(tmp_path / "ce.npz")
    loaded = minidl.load(tmp_path / "ce.npz")
    assert loaded.loss.config() == {"from_logits": False, "epsilon": 1e-4}
    assert loaded.metrics_names == ["loss", "accuracy"]


def test_a_custom_optimizer_cannot_be_saved_but_the_network_can(tmp_path: Path) -> None:
    class HalfSGD(SGD):
        pass

    network = make_network()
    network.compile(optimizer=HalfSGD(0.1), loss="mse")
    with pytest.raises(ValueError, match="optimizer HalfSGD is not a built-in optimizer; save with "
                                         "include_optimizer=False"):
        network.save(tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()
    network.save(tmp_path / "x.npz", include_optimizer=False)
    assert minidl.load(tmp_path / "x.npz").optimizer is None


# -- round trips -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip_gives_identical_predictions_and_dtype(tmp_path: Path, dtype: str) -> None:
    network = small_network(dtype)
    path = tmp_path / "model.npz"
    network.save(path)
    loaded = minidl.load(path)
    assert loaded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded.predict(X_SMALL), network.predict(X_SMALL))
    assert [layer.config() for layer in loaded] == [layer.config() for layer in network]
    for before, after in zip(network.parameters(), loaded.parameters(), strict=True):
        assert after.value is not before.value
        np.testing.assert_array_equal(after.value, before.value)
        assert after.value.dtype == before.value.dtype


def test_every_simple_builtin_layer_round_trips(tmp_path: Path) -> None:
    network = Network([Dense(3, 5, seed=3), Identity(), Sigmoid(), LeakyReLU(alpha=0.3), Tanh(),
                       ReLU(), Dense(5, 3, seed=4), Softmax()])
    path = tmp_path / "all.npz"
    network.save(path)
    loaded = minidl.load(path)
    assert [type(layer) for layer in loaded] == [type(layer) for layer in network]
    assert loaded[3].alpha == 0.3
    np.testing.assert_array_equal(loaded.predict(X_SMALL), network.predict(X_SMALL))


def test_batchnorm_running_statistics_and_dropout_round_trip(tmp_path: Path) -> None:
    network = Network([Dense(3, 4, seed=0), BatchNorm(4, momentum=0.8, epsilon=1e-3), ReLU(),
                       Dropout(0.25, seed=11), Dense(4, 1, seed=1)])
    rng = np.random.default_rng(1)
    for _ in range(3):  # move the running statistics away from their start (0 and 1)
        network.forward(rng.normal(2.0, 3.0, size=(8, 3)))
    batchnorm = network[1]
    assert isinstance(batchnorm, BatchNorm)
    batchnorm.gamma.value[...] = [1.5, 0.5, 2.0, 1.0]
    path = tmp_path / "bn.npz"
    network.save(path)
    loaded = minidl.load(path)
    loaded_bn = loaded[1]
    assert isinstance(loaded_bn, BatchNorm) and isinstance(loaded[3], Dropout)
    np.testing.assert_array_equal(loaded_bn.running_mean, batchnorm.running_mean)
    np.testing.assert_array_equal(loaded_bn.running_var, batchnorm.running_var)
    assert not np.allclose(loaded_bn.running_var, 1.0)
    assert (loaded_bn.momentum, loaded_bn.epsilon, loaded[3].rate) == (0.8, 1e-3, 0.25)
    # eval mode: running stats
    np.testing.assert_array_equal(loaded.predict(X_SMALL), network.predict(X_SMALL))
    header, arrays = read_parts(path)
    assert [item["name"] for item in header["layers"][1]["state"]] == ["running_mean", "running_var"]
    np.testing.assert_array_equal(arrays["layer1.state.running_mean"], batchnorm.running_mean)


def test_file_is_written_at_exactly_the_given_path(tmp_path: Path) -> None:
    path = tmp_path / "weights.model"
    small_network().save(str(path))
    assert sorted(os.listdir(tmp_path)) == ["weights.model"]
    assert minidl.load(str(path)).predict(X_SMALL).shape == (6, 2)


def test_file_is_a_plain_npz_that_numpy_reads_without_pickle(saved: Path) -> None:
    header, arrays = read_parts(saved)
    assert header["format"] == "minidl-model"
    assert header["version"] == saving.FORMAT_VERSION == 1
    assert [entry["type"] for entry in header["layers"]] == [
        "Dense", "ReLU", "Dense", "Tanh", "Dense", "Softmax"]
    assert header["layers"][0]["config"] == {
        "in_features": 3, "out_features": 4, "use_bias": True, "dtype": "float64", "name": "dense"}
    assert sorted(arrays) == ["layer0.param0", "layer0.param1", "layer2.param0", "layer2.param1",
                              "layer4.param0"]
    assert arrays["layer4.param0"].shape == (4, 2)


# -- saving refuses what could not be loaded ---------------------------------------------
def test_save_refuses_non_finite_parameters_and_keeps_old_file(saved: Path) -> None:
    before = saved.read_bytes()
    network = small_network()
    network.parameters()[1].value[2] = np.nan
    with pytest.raises(ValueError, match=r"layer 0 .*parameter 'bias'.*NaN or infinity"):
        network.save(saved)
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == ["model.npz"]


def test_save_refuses_a_config_that_is_not_json(tmp_path: Path) -> None:
    layer = Scale(factor=np.array([1.0, 2.0]))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"layer 0 .*config\(\).*JSON values.*got ndarray"):
        Network([layer]).save(tmp_path / "bad.npz")


class Configured(minidl.Layer):
    """A user's layer whose config() and array names are given."""

    def __init__(self, config=None, parameter="w", state=None):
        super().__init__()
        self._config, self.w, self._state = config, minidl.Parameter(np.ones(1), name=parameter), state
        self._kept = np.ones(1)

    def forward(self, x):
        return x

    def backward(self, grad_y):
        return grad_y

    def config(self):
        return {} if self._config is None else self._config

    def state_arrays(self):
        return {} if self._state is None else {self._state: self._kept}


@pytest.mark.parametrize("config", [[1, 2], {1: "one"}])
def test_save_refuses_a_config_that_is_no_dict_of_str_keys(tmp_path: Path, config) -> None:
    raises(ValueError, lambda: Network([Dense(2, 1), Configured(config)]).save(tmp_path / "bad.npz"),
           "cannot save layer 1 (Configured 'configured'): config() must return a dict with str keys; "
           f"got {config!r}")
    assert not (tmp_path / "bad.npz").exists()


class Slope(minidl.Activation):
    """A user's activation with an argument its config() (Layer's: the name only) leaves out."""

    def __init__(self, slope=0.1, name=None):
        super().__init__(name)
        self.slope = slope

    def function(self, x):
        return np.where(x > 0, x, self.slope * x)

    def derivative(self, x):
        return np.where(x > 0, 1.0, self.slope)


class Width(Configured):
    """A user's layer with an argument without a default, which its config() leaves out."""

    def __init__(self, width):
        super().__init__()


def test_save_refuses_a_users_layer_whose_config_leaves_out_an_argument(tmp_path: Path) -> None:
    # load rebuilds cls(**config): Slope(0.3) would come back as Slope(0.1), Width not at all
    raises(ValueError, lambda: Network([Dense(2, 2), Slope(0.3)]).save(tmp_path / "bad.npz"),
           "cannot save layer 1 (Slope 'slope'): config() does not return its constructor argument 'slope' "
           "(self.slope is 0.3, but rebuilt from config() it is 0.1)",
           "{**super().config(), 'slope': self.slope}")
    raises(ValueError, lambda: Network([Width(3)]).save(tmp_path / "bad.npz"),
           "cannot save layer 0 (Width 'width'): load rebuilds it as Width(**config()), which fails",
           "missing 1 required positional argument: 'width'",
           "config() must return its constructor arguments")
    assert not (tmp_path / "bad.npz").exists()
    Network([Dense(2, 2), Slope(0.1)]).save(tmp_path / "default.npz")  # as it would load back: saved
    assert minidl.load(tmp_path / "default.npz", custom_layers={"Slope": Slope})[1].slope == 0.1


class Normalised(minidl.Layer):
    """Layers that load back as they are though config() leaves arguments out (a reviewer's cases)."""

    def __init__(self, fn=None, mask=None, seed=None, name=None):
        super().__init__(name)
        self.fn, self.seed = fn or "tanh", seed  # a default filled in; a seed for arrays the file holds
        self.mask = np.ones(2) if mask is None else np.asarray(mask, dtype=float)

    def state_arrays(self):
        return {"mask": self.mask}

    def load_state_arrays(self, arrays):
        self.mask = arrays["mask"].copy()

    def forward(self, x):
        return x * self.mask

    def backward(self, grad_y):
        return grad_y * self.mask


def test_save_takes_a_layer_that_loads_back_as_it_is_from_a_shorter_config(tmp_path: Path) -> None:
    # The first check compared each kept value with its default: all three were refused
    network = Network([Dense(2, 2, seed=0), Normalised(mask=[1.0, 0.0], seed=3)])
    network.save(tmp_path / "m.npz")
    loaded = minidl.load(tmp_path / "m.npz", custom_layers={"Normalised": Normalised})
    np.testing.assert_array_equal(loaded[1].mask, [1.0, 0.0])
    assert loaded[1].fn == "tanh"


def test_save_refuses_parameters_that_parameters_does_not_list(tmp_path: Path) -> None:
    # they would not be in the file: the loaded network would compute with fresh ones
    raises(ValueError, lambda: Network([Dense(3, 3), InnerDense()]).save(tmp_path / "bad.npz"),
           "cannot save layer 1: InnerDense 'innerdense': attribute 'inner' holds the layer Dense 'dense', "
           "whose Parameter 'weight' parameters() does not list, so the optimizers never update it, "
           "nor saved: minidl does not nest layers")
    raises(ValueError, lambda: Network([ListScale()]).save(tmp_path / "bad.npz"),
           "cannot save layer 0: ListScale 'listscale': attribute 'weights' holds a Parameter inside a list")
    assert not (tmp_path / "bad.npz").exists()


@pytest.mark.parametrize(("kwargs", "name"), [({"parameter": "my w"}, "my w"), ({"state": "2nd"}, "2nd")])
def test_save_refuses_array_names_that_are_no_identifiers(tmp_path: Path, kwargs, name) -> None:
    raises(ValueError, lambda: Network([Configured(**kwargs)]).save(tmp_path / "bad.npz"),
           "cannot save layer 0 (Configured 'configured'): array names must be Python identifiers; "
           f"got {name!r}")


def test_save_refuses_a_dropout_generator_other_than_pcg64(tmp_path: Path) -> None:
    network = Network([Dense(3, 3, seed=0), Dropout(0.5, seed=np.random.Generator(np.random.MT19937(5)))])
    raises(ValueError, lambda: network.save(tmp_path / "bad.npz"),
           "cannot save layer 1 (Dropout 'dropout') generator: its bit generator 'MT19937' is not one of "
           "['PCG64', 'PCG64DXSM']")


@minidl.register_layer
class TiedDecoder(minidl.Layer):
    """Decodes with the transpose of a Dense of the same network (tied weights, held by reference)."""

    def __init__(self, name=None):
        super().__init__(name)
        self.encoder = None

    def forward(self, x):
        self.x = x
        return x @ self.encoder.weight.value.T

    def backward(self, grad_y):
        self.encoder.weight.grad += grad_y.T @ self.x
        return grad_y @ self.encoder.weight.value


def test_save_takes_a_layer_that_refers_to_another_layer_of_the_network(tmp_path: Path) -> None:
    # The encoder's weight is the network's own: it is trained and saved with the encoder, yet save
    # refused it as a Parameter parameters() does not list
    encoder, decoder = Dense(4, 2, use_bias=False, seed=0), TiedDecoder()
    decoder.encoder = encoder
    Network([encoder, decoder]).save(tmp_path / "tied.npz")
    assert minidl.load(tmp_path / "tied.npz")[0].weight.value.shape == (4, 2)
