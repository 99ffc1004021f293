"""The Trainer: compile makes one object holding the training state; Network's properties read it."""

import math

import numpy as np
import pytest

import minidl
from minidl import SGD, Dense, Network, Softmax
from minidl.training import Trainer

X = np.linspace(0.0, 1.0, 8)[:, None]
Y = 3.0 * X[:, 0] + 1.0


def compiled(**kwargs) -> Network:
    net = Network([Dense(1, 1, seed=0)])
    net.compile(optimizer=SGD(0.1), loss="mse", **kwargs)
    return net


def test_compile_makes_one_trainer_holding_loss_optimizer_and_metrics() -> None:
    def r2(y_true, y_pred):
        return 0.0

    net = compiled(metrics=["MAE", r2])
    assert isinstance(net.trainer, Trainer) and net.trainer.network is net
    assert net.loss is net.trainer.loss and net.optimizer is net.trainer.optimizer
    # (name as given, kind): what the model-file writer reads.
    assert net.trainer.metrics == [("MAE", "mae"), ("r2", r2)]
    assert net.metrics_names == ["loss", "MAE", "r2"]


def test_before_compile_the_properties_say_nothing_is_there() -> None:
    net = Network([Dense(1, 1)])
    assert net.trainer is None and net.loss is None and net.optimizer is None
    assert net.history is None and net.stop_reason is None and net.fit_rng is None
    assert net.stop_training is False and net.metrics_names == ["loss"]
    with pytest.raises(RuntimeError, match=r"train_step\(\) needs a compiled network"):
        net.train_step(X, Y)


def test_fit_keeps_its_history_generator_and_flags_in_the_trainer() -> None:
    net = compiled()
    history = net.fit(X, Y, epochs=2, batch_size=4, verbose=0, seed=3)
    assert net.history is history is net.trainer.history
    assert net.fit_rng is net.trainer.fit_rng and isinstance(net.fit_rng, np.random.Generator)
    assert net.stop_training is False and net.stop_reason is None


def test_fit_rng_is_settable_and_resumes_the_shuffling_exactly() -> None:
    straight, resumed = compiled(), compiled()
    straight.fit(X, Y, epochs=4, batch_size=3, verbose=0, seed=11)
    resumed.fit(X, Y, epochs=2, batch_size=3, verbose=0, seed=11)
    generator = resumed.fit_rng
    resumed.fit_rng = None
    assert resumed.trainer.fit_rng is None
    resumed.fit_rng = generator  # what minidl.load does
    resumed.fit(X, Y, epochs=2, batch_size=3, verbose=0, seed=resumed.fit_rng)
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)


def test_stop_training_set_from_outside_fit_is_the_trainers_flag() -> None:
    net = compiled()
    net.stop_training = True
    assert net.trainer.stop_training is True
    with pytest.raises(RuntimeError, match="needs a compiled network"):
        Network([Dense(1, 1)]).stop_training = True


def test_compiling_again_keeps_the_history_and_the_generator() -> None:
    net = compiled()
    history = net.fit(X, Y, epochs=1, verbose=0, seed=0)
    rng = net.fit_rng
    net.compile(optimizer=SGD(0.01), loss="mae")
    assert net.history is history and net.fit_rng is rng
    assert net.loss.name == "mean_absolute_error"


def test_a_nan_loss_stops_with_the_reason_on_the_trainer() -> None:
    net = compiled()
    with pytest.warns(RuntimeWarning, match="stopped: the training loss became") as caught:
        net.fit(X, Y * 1e200, epochs=3, verbose=0)
    assert caught[0].filename == __file__  # the warning points at the caller of fit
    assert net.stop_training is True and net.trainer.stop_reason == net.stop_reason
    assert all(math.isfinite(float(p.value.sum())) for p in net.parameters())


def test_the_public_training_names_are_the_packages() -> None:
    assert minidl.Callback is minidl.training.Callback
    assert minidl.EarlyStopping is minidl.training.EarlyStopping
    assert minidl.ModelCheckpoint is minidl.training.ModelCheckpoint
    assert minidl.History is minidl.training.History
    assert issubclass(minidl.EarlyStopping, minidl.training.Monitor)
    assert issubclass(minidl.ModelCheckpoint, minidl.training.Monitor)


def test_evaluate_and_validation_use_the_same_fused_step() -> None:
    # Logits of +-1000 through Softmax: only the fused loss (from the logits) stays finite.
    net = Network([Dense(2, 3, weight_init=[[1000.0, -1000.0, 0.0], [0.0, 0.0, 0.0]]), Softmax()])
    net.compile(optimizer=SGD(0.0), loss="sparse_categorical_crossentropy")
    x, labels = np.array([[1.0, 0.0]]), np.array([1])
    assert net.evaluate(x, labels)["loss"] == pytest.approx(2000.0)
    history = net.fit(x, labels, epochs=1, verbose=0, validation_data=(x, labels))
    assert history.history["loss"] == history.history["val_loss"] == [pytest.approx(2000.0)]
