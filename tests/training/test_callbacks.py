"""Callbacks (minidl/training/callbacks.py): the shared Monitor, EarlyStopping, ModelCheckpoint,
the callback list of fit, what callbacks see, and the progress output of each verbose mode."""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import SGD, Callback, Dense, EarlyStopping, ModelCheckpoint, Network
from minidl.io import archive
from minidl.training import CallbackList, LearningRateScheduler, Monitor
from tests.messages import raises
from tests.training.helpers import (
    NOISY_X,
    NOISY_Y,
    X_TRAIN,
    Y_TRAIN,
    batchnorm_net,
    compiled_net,
    compiled_network,
    linear_data,
)

X, Y = NOISY_X, NOISY_Y  # 60 noisy samples, 4 features (tests/training/helpers.py)


@pytest.mark.parametrize(("monitor", "mode", "expected"), [
    ("val_loss", "auto", "min"), ("val_accuracy", "auto", "max"), ("acc", "auto", "max"),
    ("loss", "max", "max"), ("val_acc", "min", "min"),
])
def test_mode_auto_is_max_for_accuracies_else_min(monitor: str, mode: str, expected: str) -> None:
    for callback in (EarlyStopping(monitor=monitor, mode=mode), ModelCheckpoint("m.npz", monitor, mode=mode)):
        assert callback.mode == expected
        assert callback.best == (math.inf if expected == "min" else -math.inf)


def test_improved_needs_more_than_min_delta_and_a_finite_value() -> None:
    low = Monitor("val_loss", "min", min_delta=0.5)
    low.best = 2.0
    assert low.improved(1.4) and not low.improved(1.5) and not low.improved(math.nan)
    high = Monitor("val_accuracy", "auto", min_delta=0.1)
    high.best = 0.5
    assert high.improved(0.61) and not high.improved(0.6) and not high.improved(math.inf)


def test_a_missing_monitor_names_the_callback_and_the_logs() -> None:
    expected = (r"ModelCheckpoint monitor 'val_loss' is not in the epoch logs "
                r"\(give fit validation_split or validation_data\); available: loss$")
    with pytest.raises(ValueError, match=expected):
        ModelCheckpoint("m.npz").monitored({"loss": 1.0})
    expected = r"EarlyStopping monitor 'loss_2' is not in the epoch logs; available: a, b$"
    with pytest.raises(ValueError, match=expected):
        EarlyStopping(monitor="loss_2").monitored({"b": 1.0, "a": 2.0})


@pytest.mark.parametrize(("monitor", "split", "hint"), [
    # validation there, the metric not compiled: the validation hint was given all the same
    ("val_acc", 0.2, "fit logs a metric under the name compile was given: metrics=['acc'] logs 'acc' and "
                     "'val_acc'"),
    ("mae", 0.0, "fit logs a metric under the name compile was given: metrics=['mae'] logs 'mae' and "
                 "'val_mae'"),
    ("val_mse", 0.0, "give fit validation_split or validation_data; fit logs a metric under the name compile "
                     "was given: metrics=['mse'] logs 'mse' and 'val_mse'"),
    ("val_score", 0.2, None),  # validation there, and not a metric minidl knows: no hint
])
def test_a_missing_monitor_says_what_to_compile_or_give_fit(monitor: str, split: float, hint: str | None):
    net = compiled_net()  # no metrics
    x, y = linear_data()
    logged = "loss, val_loss" if split else "loss"
    expected = f"EarlyStopping monitor {monitor!r} is not in the epoch logs{f' ({hint})' if hint else ''}; " \
               f"available: {logged}"
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        net.fit(x, y, epochs=2, validation_split=split, verbose=0, callbacks=[EarlyStopping(monitor)])


def test_the_callback_list_calls_in_order_and_only_batch_callbacks_per_batch() -> None:
    calls = []

    class PerEpoch(Callback):
        def on_epoch_end(self, epoch, logs):
            calls.append(("epoch", type(self).__name__))

    class PerBatch(PerEpoch):
        def on_batch_end(self, batch, logs):
            calls.append(("batch", batch))

    built_in, given = PerEpoch(), PerBatch()
    callbacks = CallbackList([given], built_in, None)  # the user's first, then the built-in ones (Keras's)
    assert callbacks.callbacks == [given, built_in] and callbacks.per_batch == [given]
    callbacks.call("on_epoch_end", 0, {})
    callbacks.batch_end(3, {})
    assert calls == [("epoch", "PerBatch"), ("epoch", "PerEpoch"), ("batch", 3)]
    with pytest.raises(TypeError, match="fit callbacks must be minidl Callback objects; got int"):
        CallbackList([built_in, 3])
    with pytest.raises(TypeError, match=r"got the class EarlyStopping; create one with EarlyStopping\(\)"):
        CallbackList([EarlyStopping])  # was "got type"


def test_kerass_on_train_batch_end_runs_after_each_batch() -> None:
    # It was never called: fit calls on_batch_end, so a Keras habit did nothing without a word
    seen = []

    class KerasStyle(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    network = compiled_network()
    network.fit(X_TRAIN, Y_TRAIN, epochs=2, batch_size=8, verbose=0, callbacks=[KerasStyle()])
    assert seen == [0, 1, 2, 0, 1, 2]  # 20 samples in batches of 8: three batches an epoch


def test_helpers_of_ones_own_named_on_something_are_not_hooks() -> None:
    helpers = {"on_improvement": lambda self: None, "on_epoch_end_plot": lambda self: None, "on_cpu": True}
    assert type("Helpers", (Callback,), helpers).on_cpu is True


@pytest.mark.parametrize("hook", ["on_train_batch_begin", "on_batch_begin", "on_test_end",
                                  "on_predict_begin", "on_epoch_ends", "on_batchend"])  # misspelt too
def test_a_keras_hook_fit_never_calls_is_refused_when_the_class_is_defined(hook: str) -> None:
    with pytest.raises(TypeError, match=f"^Quiet defines {hook}, which minidl's fit never calls; it calls "
                       "on_train_begin, on_epoch_begin, on_batch_end"):
        type("Quiet", (Callback,), {hook: lambda self, *args: None})


@pytest.mark.parametrize(("kwargs", "error", "fragments"), [
    ({"patience": -1}, ValueError, ["EarlyStopping patience", "integer >= 0", "got -1"]),
    ({"patience": 1.5}, ValueError, ["EarlyStopping patience", "integer >= 0", "got 1.5"]),
    ({"min_delta": -1}, ValueError, ["EarlyStopping min_delta", "[0.0, inf]", "got -1.0"]),
    ({"mode": "best"}, ValueError, ["EarlyStopping mode", "'auto', 'min' or 'max'", "got 'best'"]),
    ({"monitor": 3}, TypeError, ["EarlyStopping monitor", "a name such as 'val_loss'", "got 3"]),
    # "no" was once taken as True
    ({"restore_best_weights": "no"}, TypeError, ["EarlyStopping restore_best_weights", "True or False",
                                                  "got 'no'"]),
])
def test_early_stopping_arguments_are_checked(kwargs: dict, error: type[Exception],
                                              fragments: list[str]) -> None:
    raises(error, lambda: minidl.EarlyStopping(**kwargs), *fragments)


def test_early_stopping_on_a_missing_monitor_names_it() -> None:
    stop = minidl.EarlyStopping(monitor="val_loss")
    raises(ValueError, lambda: compiled_network().fit(X_TRAIN, Y_TRAIN, verbose=0, callbacks=[stop]),
           "EarlyStopping monitor 'val_loss' is not in the epoch logs", "available: loss, mae")


# One weight w (no bias), starting at 0. Training data pulls w towards 2 (w <- w + 0.4 (2 - w)
# per full-batch step at learning rate 0.2); the validation target wants w = 0.5.
# After epoch 0: w = 0.8 (val_loss 0.09), epoch 1: w = 1.28 (0.6084), epoch 2: 1.568 ...
X_ONE, Y_ONE = np.array([[1.0]]), np.array([2.0])


X_VAL_ONE, Y_VAL_ONE = np.array([[1.0]]), np.array([0.5])


def one_weight_network():
    net = Network([Dense(1, 1, use_bias=False, weight_init="zeros")])
    net.compile(optimizer=SGD(learning_rate=0.2), loss="mse")
    return net


def weights_by_epoch(epochs):
    w, out = 0.0, []
    for _ in range(epochs):
        w = w + 0.2 * 2 * (2.0 - w)
        out.append(w)
    return out


def fit(net, **kwargs):
    return net.fit(X_ONE, Y_ONE, epochs=20, batch_size=1, shuffle=False,
                   validation_data=(X_VAL_ONE, Y_VAL_ONE), verbose=0, **kwargs)


def test_history_has_kerass_history_epoch_model_and_params():
    net = one_weight_network()
    history = net.fit(X_ONE, Y_ONE, epochs=2, batch_size=1, verbose=0)
    assert list(history.history) == ["loss"] and history.epoch == [0, 1]
    assert history.model is net and history.params["epochs"] == 2
    assert minidl.History().model is None  # before fit


def test_early_stopping_with_patience_2_restores_the_best_weights():
    net = one_weight_network()
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = fit(net, callbacks=[stop])
    # Best at epoch 0, two epochs without improvement, stop after epoch 2.
    assert history.epoch == [0, 1, 2]
    assert stop.best_epoch == 0 and stop.stopped_epoch == 2
    assert stop.best == pytest.approx((0.8 - 0.5) ** 2)
    assert net[0].weight.value[0, 0] == pytest.approx(weights_by_epoch(1)[0], rel=1e-15)
    assert history.stop_reason.startswith("early stopping: val_loss did not improve")
    assert net.stop_reason == history.stop_reason


def test_early_stopping_without_restore_keeps_the_last_weights():
    net = one_weight_network()
    history = fit(net, callbacks=[EarlyStopping(patience=2)])
    assert len(history.epoch) == 3
    assert net[0].weight.value[0, 0] == pytest.approx(weights_by_epoch(3)[-1], rel=1e-15)


def test_patience_0_stops_at_the_first_miss():
    history = fit(one_weight_network(), callbacks=[EarlyStopping(patience=0)])
    assert history.epoch == [0, 1]


def test_min_delta_counts_small_improvements_as_misses():
    # Monitoring the training loss, which falls by a factor 0.36 each epoch: from 4 * 0.36**k.
    # With min_delta 0.5, improvements smaller than 0.5 stop training.
    net = one_weight_network()
    history = fit(net, callbacks=[EarlyStopping(monitor="loss", min_delta=0.5, patience=1)])
    losses = history.history["loss"]
    assert all(a - b > 0.5 for a, b in itertools.pairwise(losses[:-1]))
    assert losses[-2] - losses[-1] <= 0.5
    assert len(losses) < 20


def test_mode_max_for_accuracy_names():
    assert EarlyStopping(monitor="val_accuracy").mode == "max"
    assert EarlyStopping(monitor="val_loss").mode == "min"


def test_monitor_missing_is_a_clear_error():
    net = one_weight_network()
    with pytest.raises(ValueError, match=r"'val_loss' is not in the epoch logs.*validation_split"):
        net.fit(X_ONE, Y_ONE, epochs=2, verbose=0, callbacks=[EarlyStopping()])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"patience": -1}, "patience"), ({"min_delta": -0.1}, "min_delta"), ({"mode": "up"}, "mode"),
    ({"monitor": 3}, "monitor"),
])
def test_bad_early_stopping_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        EarlyStopping(**kwargs)


def test_request_stop_from_a_custom_callback():
    class StopAfterTwo(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 1:
                self.request_stop("enough")

    history = fit(one_weight_network(), callbacks=[StopAfterTwo()])
    assert history.epoch == [0, 1]
    assert history.stop_reason == "enough"


def test_restore_best_weights_also_when_all_epochs_ran():
    net = one_weight_network()
    stop = EarlyStopping(patience=10, restore_best_weights=True)
    history = net.fit(
        X_ONE, Y_ONE, epochs=3, batch_size=1, shuffle=False, validation_data=(X_VAL_ONE, Y_VAL_ONE),
        verbose=0, callbacks=[stop])
    assert history.stop_reason is None and stop.stopped_epoch is None
    assert net[0].weight.value[0, 0] == pytest.approx(weights_by_epoch(1)[0], rel=1e-15)


def test_restore_best_weights_also_restores_batchnorm_s_running_statistics() -> None:
    rng = np.random.default_rng(0)
    x, x_val = rng.standard_normal((200, 4)), rng.standard_normal((60, 4))
    y, y_val = (x[:, 0] + x[:, 1] > 0).astype(float), (x_val[:, 0] + x_val[:, 1] > 0).astype(float)
    layers = [Dense(4, 8, seed=0), minidl.BatchNorm(8), minidl.ReLU(), Dense(8, 1, seed=1), minidl.Sigmoid()]
    net = Network(layers)
    net.compile(SGD(learning_rate=2.0), "binary_crossentropy")
    stop = EarlyStopping("val_loss", patience=3, restore_best_weights=True)
    history = net.fit(x, y, validation_data=(x_val, y_val), callbacks=[stop], epochs=40, batch_size=8, seed=0,
                      verbose=0)
    assert stop.stopped_epoch is not None and stop.best_epoch < stop.stopped_epoch
    assert net.evaluate(x_val, y_val, batch_size=8)["loss"] == min(history.history["val_loss"])


def test_restore_best_weights_also_after_a_stop_on_an_infinite_loss() -> None:
    # The loss turns infinite in the middle of epoch 3 (rate 1e3): fit stops keeping the weights of
    # that epoch's first batches, and no epoch after the best (epoch 2) ended, so wait is 0.
    class Record(Callback):
        def on_epoch_end(self, epoch, logs):
            self.weights = [p.value.copy() for p in self.network.parameters()]

    net, record = compiled_network(learning_rate=1e-3), Record()
    stop = EarlyStopping("loss", patience=5, restore_best_weights=True)
    blow_up = LearningRateScheduler(lambda epoch: 1e-3 if epoch < 2 else 1e3)
    with pytest.warns(RuntimeWarning, match="the training loss became inf at epoch 3, batch [2-5]"):
        history = net.fit(X_TRAIN, Y_TRAIN, epochs=10, batch_size=4, shuffle=False, verbose=0,
                          callbacks=[record, stop, blow_up])
    assert history.epoch == [0, 1] and stop.best_epoch == 1 and stop.wait == 0
    assert all(np.array_equal(p.value, w) for p, w in zip(net.parameters(), record.weights, strict=True))
    # The reason said "the parameters are those before that batch": the restore is said after it
    assert "the parameters are those before that batch" in net.stop_reason
    assert net.stop_reason.endswith("; EarlyStopping then restored the weights of epoch 2")
    assert history.stop_reason == net.stop_reason


# -- ModelCheckpoint ------------------------------------------------------------------------------
class RecordPredictions(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.predictions: list[np.ndarray] = []

    def on_epoch_end(self, epoch, logs):
        self.predictions.append(self.network.predict(X))


def test_save_best_only_keeps_the_epoch_with_the_lowest_val_loss(tmp_path: Path) -> None:
    path = tmp_path / "best.npz"
    network = batchnorm_net(SGD(0.2), dropout=False)
    checkpoint = ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    recorder = RecordPredictions()
    history = network.fit(X, Y, epochs=8, batch_size=8, seed=1, verbose=0, validation_split=0.25,
                          callbacks=[checkpoint, recorder])
    val_loss = history.history["val_loss"]
    improving = [epoch for epoch, value in enumerate(val_loss)
                 if value < min(val_loss[:epoch], default=np.inf)]
    assert len(checkpoint.saved) == len(improving)
    best = int(np.argmin(val_loss))
    assert checkpoint.best_epoch == best and checkpoint.best == val_loss[best]
    np.testing.assert_array_equal(minidl.load(path).predict(X), recorder.predictions[best])


def test_monitor_in_max_mode_and_formatted_paths(tmp_path: Path) -> None:
    network = batchnorm_net(SGD(0.1), dropout=False)
    checkpoint = ModelCheckpoint(tmp_path / "model-{epoch:02d}-{loss:.3f}.npz", monitor="loss",
                                 save_best_only=False)
    history = network.fit(X, Y, epochs=3, batch_size=30, seed=0, verbose=0, callbacks=[checkpoint])
    expected = [str(tmp_path / f"model-{e + 1:02d}-{loss:.3f}.npz")
                for e, loss in enumerate(history.history["loss"])]
    assert checkpoint.saved == expected
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in expected)
    assert ModelCheckpoint("a.npz", monitor="val_accuracy").mode == "max"


def test_checkpoint_monitor_missing_from_logs_says_so(tmp_path: Path) -> None:
    network = batchnorm_net(SGD(0.1), dropout=False)
    with pytest.raises(ValueError, match=r"monitor 'val_loss' is not in the epoch logs \(give fit "
                                         r"validation_split or validation_data\); available: loss, mae"):
        network.fit(X, Y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "m.npz")])


@pytest.mark.parametrize(("field", "error"), [
    ("{val_acc}", "KeyError: 'val_acc'"), ("{epoch.x}", "AttributeError: 'int' object has no attribute 'x'"),
    ("{loss[0]}", "TypeError: 'float' object is not subscriptable"),
])
def test_checkpoint_path_with_a_field_it_cannot_fill_says_so(tmp_path: Path, field: str, error: str) -> None:
    network = batchnorm_net(SGD(0.1), dropout=False)
    path = str(tmp_path / f"m-{field}.npz")
    checkpoint = ModelCheckpoint(path, save_best_only=False)
    raises(ValueError, lambda: network.fit(X, Y, epochs=1, verbose=0, callbacks=[checkpoint]),
           f"ModelCheckpoint path {path!r}: cannot fill its fields with epoch and the epoch logs "
           f"(loss, mae): {error}")


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"path": 3}, TypeError, "ModelCheckpoint path must be a str or os.PathLike; got int"),
    ({"monitor": ""}, TypeError, "ModelCheckpoint monitor must be a name such as 'val_loss'; got ''"),
    ({"save_best_only": "yes"}, TypeError, "ModelCheckpoint save_best_only must be True or False; got 'yes'"),
    ({"mode": "best"}, ValueError, "ModelCheckpoint mode must be 'auto', 'min' or 'max'; got 'best'"),
    ({"verbose": 3}, ValueError,
     "ModelCheckpoint verbose must be 0 (silent), 1 or 2 (print what it does); got 3"),
])
def test_checkpoint_arguments_are_checked(kwargs, error, message) -> None:
    arguments = {"path": "m.npz", **kwargs}
    with pytest.raises(error) as info:
        ModelCheckpoint(**arguments)
    assert message in str(info.value)


def test_checkpoint_prints_when_verbose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    network = batchnorm_net(SGD(0.1), dropout=False)
    network.fit(X, Y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "m.npz", monitor="loss",
                                                                      verbose=1)])
    assert capsys.readouterr().out.startswith(f"ModelCheckpoint: epoch 1: saved {tmp_path / 'm.npz'} (loss ")


def test_a_full_disk_during_a_checkpoint_keeps_the_previous_checkpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ckpt.npz"

    class FillDiskAfterFirstEpoch(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 0:
                def full(archive, member, value):
                    raise OSError(28, "No space left on device")
                monkeypatch.setattr(archive, "write_member", full)

    network = batchnorm_net(SGD(0.01))
    with pytest.raises(OSError, match="No space left on device"):
        network.fit(X, Y, epochs=3, batch_size=8, seed=0, verbose=0,
                    callbacks=[ModelCheckpoint(path, save_best_only=False), FillDiskAfterFirstEpoch()])
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    assert minidl.load(path).optimizer.iterations == 8  # epoch 1's checkpoint, whole
    # epoch 2 completed, but its checkpoint raised before the History, which runs after the user's
    # callbacks (as Keras's), recorded it
    assert network.history.epoch == [0]


def test_fit_callbacks_given_a_single_callback_names_the_fix():
    net = Network([Dense(1, 1, seed=0)])
    net.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match=r"fit callbacks must be a list.*got a single EarlyStopping"):
        net.fit(np.ones((4, 1)), np.ones(4), verbose=0, callbacks=EarlyStopping(monitor="loss"))


def test_fit_callbacks_from_a_generator_run_every_epoch():
    # The check read the generator, so the list made after it was empty: no callback ever ran
    class Count(Callback):
        epochs = 0

        def on_epoch_end(self, epoch, logs):
            self.epochs += 1

    counts = [Count(), Count()]
    net = Network([Dense(1, 1, seed=0)])
    net.compile(optimizer="sgd", loss="mse")
    net.fit(np.ones((4, 1)), np.ones(4), epochs=3, verbose=0, callbacks=(c for c in counts))
    assert [c.epochs for c in counts] == [3, 3]


def test_fit_callbacks_refuse_the_same_object_twice():
    # Its hooks ran twice each epoch (a counter of epochs counted 4 in 2 epochs)
    stop = EarlyStopping(monitor="loss")
    net = Network([Dense(1, 1, seed=0)])
    net.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 1)), np.ones(4)
    raises(ValueError, lambda: net.fit(x, y, verbose=0, callbacks=[stop, Callback(), stop]),
           "fit callbacks: the EarlyStopping at position 2 is the same object as the one at position 0",
           "give each callback once")
    assert net.history is None


def test_callbacks_see_the_network_and_logs():
    calls = []

    class Spy(Callback):
        def on_train_begin(self, logs):
            calls.append(("train_begin", self.network is net, self.params["steps"]))

        def on_epoch_begin(self, epoch, logs):
            calls.append(("epoch_begin", epoch))

        def on_batch_end(self, batch, logs):
            calls.append(("batch_end", batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs):
            calls.append(("epoch_end", epoch, sorted(logs)))

        def on_train_end(self, logs):
            calls.append(("train_end",))

    x, y = linear_data(n=6)
    net = compiled_net()
    net.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    net.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[Spy()])
    assert calls == [
        ("train_begin", True, 2),
        ("epoch_begin", 0),
        ("batch_end", 0, ["loss", "mae", "size"]),
        ("batch_end", 1, ["loss", "mae", "size"]),
        ("epoch_end", 0, ["loss", "mae"]),
        ("epoch_begin", 1),
        ("batch_end", 0, ["loss", "mae", "size"]),
        ("batch_end", 1, ["loss", "mae", "size"]),
        ("epoch_end", 1, ["loss", "mae"]),
        ("train_end",),
    ]


@pytest.mark.parametrize("make", [lambda **k: EarlyStopping(**k), lambda **k: ModelCheckpoint("m.npz", **k),
                                  lambda **k: LearningRateScheduler(lambda epoch: 0.1, **k)],
                         ids=["EarlyStopping", "ModelCheckpoint", "LearningRateScheduler"])
def test_callbacks_check_verbose_the_same_way_taking_kerass_2(make) -> None:
    assert make(verbose=1).verbose == 1 and make(verbose=True).verbose == 1 and make(verbose=2).verbose == 2
    name = type(make()).__name__
    message = f"{name} verbose must be 0 (silent), 1 or 2 (print what it does); got 3"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make(verbose=3)


def test_early_stopping_with_verbose_2_prints_as_with_1(capsys: pytest.CaptureFixture[str]) -> None:
    net = Network([Dense(1, 1, weight_init="zeros", bias_init="zeros")])
    net.compile(optimizer=SGD(0.0), loss="mse")  # a rate of 0: the loss never improves after epoch 1
    net.fit([[1.0]], [1.0], epochs=5, verbose=0, callbacks=[EarlyStopping("loss", verbose=2)])
    assert capsys.readouterr().out == "EarlyStopping: stopped after epoch 2\n"


def test_repr_lists_the_config_keys_of_a_callback() -> None:
    class Every(Callback):
        config_keys = ("epochs",)

        def __init__(self, epochs: int) -> None:
            super().__init__()
            self.epochs = epochs

    assert repr(Every(3)) == "Every(epochs=3)" and repr(Callback()) == "Callback()"
    assert repr(EarlyStopping(patience=2)) == ("EarlyStopping(monitor='val_loss', patience=2, min_delta=0.0, "
                                               "restore_best_weights=False, mode='min', verbose=0)")


# -- the progress output (verbose 0, 1, 2), captured --------------------------------------------------

PROGRESS_X = np.arange(8.0).reshape(8, 1) / 8
PROGRESS_Y = 2 * PROGRESS_X[:, 0] + 1


def run_fit(verbose, **kwargs):
    net = Network([Dense(1, 1, seed=0)])
    net.compile(optimizer=SGD(0.1), loss="mse", metrics=["mae"])
    return net.fit(PROGRESS_X, PROGRESS_Y, epochs=3, batch_size=2, verbose=verbose, shuffle=False,
                   validation_data=(PROGRESS_X[:2], PROGRESS_Y[:2]), **kwargs)


def test_verbose_0_is_silent(capsys):
    run_fit(0)
    assert capsys.readouterr().out == ""


EPOCH_LINE = re.compile(
    r"Epoch (\d+)/3 - 4 batches - \d+\.\ds - loss: \d+\.\d{4} - mae: \d+\.\d{4}"
    r" - val_loss: \d+\.\d{4} - val_mae: \d+\.\d{4}"
)


@pytest.mark.parametrize("verbose", [1, 2])
def test_one_line_per_epoch_when_not_a_terminal(capsys, verbose):
    # pytest's captured stdout is not a terminal, so verbose=1 prints like verbose=2.
    history = run_fit(verbose)
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        match = EPOCH_LINE.fullmatch(line)
        assert match, line
        assert int(match.group(1)) == epoch
    # The printed loss is the History's, rounded to 4 decimals.
    assert f"loss: {history.history['loss'][0]:.4f}" in lines[0]


def test_verbose_false_and_true_are_keras_s_0_and_1(capsys):
    run_fit(False)
    assert capsys.readouterr().out == ""
    run_fit(True)  # not a terminal here: one line per epoch, as verbose=1
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_an_epoch_of_one_batch_says_1_batch(capsys):
    net = Network([Dense(1, 1, seed=0)])
    net.compile(optimizer=SGD(0.1), loss="mse")
    net.fit(PROGRESS_X, PROGRESS_Y, epochs=1, batch_size=8, verbose=2)
    assert capsys.readouterr().out.startswith("Epoch 1/1 - 1 batch - ")


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_verbose_1_on_a_terminal_draws_a_live_bar(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("COLUMNS", "200")  # room for the full 30-character bar
    run_fit(1)
    out = terminal.getvalue()
    assert out.count("\n") == 3  # one finished line per epoch
    for epoch in range(1, 4):
        epoch_text = out.split("\n")[epoch - 1]
        frames = epoch_text.split("\r")[1:]
        first = rf"Epoch {epoch}/3 1/4 \[=======>\.+\] ETA \d+\.\ds - loss: \d+\.\d{{4}} - mae: "
        assert re.match(first, frames[0]), frames[0]
        # After the last batch the bar is erased (the line left empty for what callbacks print)
        assert frames[-2].strip() == "" and len(frames[-2]) >= len(frames[-3])  # spaces over the whole bar
        assert EPOCH_LINE.fullmatch(frames[-1].rstrip()), frames[-1]


@pytest.mark.parametrize("columns", [40, 80, 200])
def test_the_live_bar_never_outgrows_the_terminal(monkeypatch, columns):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("COLUMNS", str(columns))
    run_fit(1)
    lines = terminal.getvalue().split("\n")[:-1]
    frames = [frame for line in lines for frame in line.split("\r")[1:-1] if frame.strip()]  # the bar's draws
    assert frames and all(len(frame.rstrip()) < columns for frame in frames)  # the last column wraps
    for line in lines:  # the epoch's line is whole, whatever the width
        assert EPOCH_LINE.fullmatch(line.split("\r")[-1].rstrip())
    widest = max(len(re.search(r"\[([=>.]*)\]", frame).group(1)) for frame in frames)
    # "Epoch 1/3 1/4 " is 14 characters and " ETA 0.0s - loss: 1.2089 - mae: 1.0953" 38: at 80
    # columns (79 usable) the bar gets 79 - 14 - 38 - 2 brackets = 25; at 40 even one metric
    # leaves it under 10, so both go and it gets 39 - 14 - 9 - 2 = 14.
    assert widest == {40: 14, 80: 25, 200: 30}[columns]
    if columns == 40:
        assert all("loss" not in frame for frame in frames)
    if columns == 200:
        assert all("mae: " in frame for frame in frames)


def test_verbose_2_on_a_terminal_prints_no_bar(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    run_fit(2)
    out = terminal.getvalue()
    assert "\r" not in out and "ETA" not in out
    assert len(out.splitlines()) == 3


class AddScore(Callback):  # a number of the user's own in the epoch logs (a validation F1 score, say)
    def on_epoch_end(self, epoch, logs):
        logs["val_score"] = 10.0 + epoch


def test_a_number_a_callback_adds_to_the_logs_reaches_the_history_and_the_line(capsys, tmp_path):
    # The History and the progress printer run after the user's callbacks, as in Keras.
    history = run_fit(2, callbacks=[AddScore(), minidl.CSVLogger(tmp_path / "log.csv")])
    assert history.history["val_score"] == [10.0, 11.0, 12.0]
    lines = capsys.readouterr().out.splitlines()
    assert [line.rsplit(" - ", 1)[-1] for line in lines] == ["val_score: 10.0000", "val_score: 11.0000",
                                                             "val_score: 12.0000"]
    with open(tmp_path / "log.csv", newline="") as file:
        assert [row["val_score"] for row in csv.DictReader(file)] == ["10.0", "11.0", "12.0"]


class PrintsAtEpochEnd(Callback):
    def on_epoch_end(self, epoch, logs):
        print(f"user: epoch {epoch}")


def test_what_callbacks_print_at_epoch_end_gets_a_line_of_its_own_below_no_bar(monkeypatch, tmp_path):
    # They run before the progress printer (as in Keras): their text was glued to the end of the live bar
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("COLUMNS", "200")
    run_fit(1, callbacks=[PrintsAtEpochEnd(), ModelCheckpoint(tmp_path / "m.npz", "loss", verbose=1)])
    lines = [line.split("\r")[-1].rstrip() for line in terminal.getvalue().split("\n")]
    assert lines[0] == "user: epoch 0"
    assert lines[1].startswith(f"ModelCheckpoint: epoch 1: saved {tmp_path / 'm.npz'} (loss ")
    assert EPOCH_LINE.fullmatch(lines[2]), lines[2]
    assert lines[3] == "user: epoch 1"


def test_stop_reason_is_printed(capsys):
    run_fit(2, callbacks=[EarlyStopping(monitor="loss", min_delta=100.0)])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3  # epoch 1 improves on nothing, epoch 2 misses, then the reason
    assert lines[-1].startswith("early stopping: loss did not improve by more than 100")


def test_small_numbers_in_scientific_notation(capsys):
    net = Network([Dense(1, 1, weight_init=[[2.0]], bias_init=[1.0])])
    net.compile(optimizer=SGD(0.0), loss="mse")
    net.fit(PROGRESS_X, PROGRESS_Y + 1e-5, epochs=1, verbose=2)
    assert "loss: 1.0000e-10" in capsys.readouterr().out


# -- LearningRateScheduler, ReduceLROnPlateau, CSVLogger ------------------------------------------------


def driven(callback, values, learning_rate=1.0, monitor="val_loss"):
    """Feed ``values`` of ``monitor`` to ``callback.on_epoch_end``; the learning rate after each epoch."""
    net = Network([Dense(1, 1, seed=0)])
    net.compile(optimizer=SGD(learning_rate), loss="mse")
    callback.set_network(net, {})
    callback.on_train_begin({})
    rates = []
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {"loss": 0.0, monitor: value})
        rates.append(net.optimizer.learning_rate)
    return rates


def test_plateau_with_patience_cooldown_and_min_lr_follows_keras_by_hand() -> None:
    plateau = minidl.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=2, min_lr=0.3)
    rates = driven(plateau, [5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4])
    # e0, e1 improve; e2 wait 1; e3 wait 2: 1.0 -> 0.5, cooldown 2; e4 cooldown 1 (not counted);
    # e5 cooldown 0, wait 1; e6 wait 2: max(0.25, 0.3) = 0.3, cooldown 2; e7 cooldown 1; e8 wait 1;
    # e9 wait 2 but lr 0.3 is not > min_lr: no change; e10 wait 3, still none.
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3]
    assert (plateau.wait, plateau.cooldown_counter, plateau.best, plateau.best_epoch) == (3, 0, 4.0, 1)


def test_plateau_cooldown_1_counts_the_next_epoch_as_keras_does() -> None:
    # Keras decrements the cooldown before testing it: cooldown=1 leaves the next miss counted.
    rates = driven(minidl.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=1), [3, 3, 3, 3])
    assert rates == [1.0, 0.5, 0.25, 0.125]


def test_plateau_in_mode_max_with_min_delta() -> None:
    plateau = minidl.ReduceLROnPlateau(monitor="score", mode="max", factor=0.5, patience=1, min_delta=0.05)
    # e0 best 0.5; e1 0.52 is not > 0.55: 1.0 -> 0.5; e2 0.6 > 0.55: best; e3 0.6 not > 0.65: 0.25;
    # e4 0.7 > 0.65: best, no change.
    assert driven(plateau, [0.5, 0.52, 0.6, 0.6, 0.7], monitor="score") == [1.0, 0.5, 0.5, 0.25, 0.25]
    assert minidl.ReduceLROnPlateau(monitor="val_accuracy").mode == "max"


def test_plateau_patience_0_reduces_at_every_miss_and_a_new_fit_starts_afresh() -> None:
    plateau = minidl.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0)
    assert driven(plateau, [1.0, 2.0, 0.5, 0.5], monitor="loss") == [1.0, 0.5, 0.5, 0.25]
    assert driven(plateau, [9.0], monitor="loss") == [1.0]  # best forgotten: 9 improves on inf


def test_plateau_lowers_the_learning_rate_during_fit() -> None:
    # one_weight_network at lr 0.2: val_loss 0.09 after epoch 0, 0.6084 after epoch 1 (a miss: 0.2 -> 0.1);
    # epoch 2 at lr 0.1: w = 1.28 + 0.1 * 2 * (2 - 1.28) = 1.424, val_loss 0.853776 (a miss: 0.1 -> 0.05).
    net = one_weight_network()
    history = net.fit(X_ONE, Y_ONE, epochs=3, batch_size=1, shuffle=False, verbose=0,
                      validation_data=(X_VAL_ONE, Y_VAL_ONE),
                      callbacks=[minidl.ReduceLROnPlateau(factor=0.5, patience=1)])
    assert net.optimizer.learning_rate == 0.05
    assert history.history["learning_rate"] == [0.2, 0.2, 0.1]  # the rate each epoch trained with
    assert history.history["val_loss"] == pytest.approx([0.09, 0.6084, 0.853776], rel=1e-12)
    assert net[0].weight.value.item() == pytest.approx(1.424, rel=1e-12)


def test_scheduler_sets_each_epoch_s_rate_and_training_uses_it() -> None:
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return 0.1 if epoch == 0 else lr * 0.5

    net = one_weight_network()  # SGD(0.2)
    history = net.fit(X_ONE, Y_ONE, epochs=4, batch_size=1, shuffle=False, verbose=0,
                      callbacks=[minidl.LearningRateScheduler(schedule)])
    assert seen == [(0, 0.2), (1, 0.1), (2, 0.05), (3, 0.025)]
    assert history.history["learning_rate"] == [0.1, 0.05, 0.025, 0.0125]
    w = 0.0
    for lr in (0.1, 0.05, 0.025, 0.0125):  # one step per epoch: w <- w - lr * 2 (w - 2)
        w -= lr * 2 * (w - 2.0)
    assert net[0].weight.value.item() == pytest.approx(w, rel=1e-12)
    assert net.optimizer.learning_rate == 0.0125


def test_scheduler_takes_a_schedule_of_the_epoch_alone_as_keras_does() -> None:
    net = one_weight_network()
    history = net.fit(X_ONE, Y_ONE, epochs=3, verbose=0,
                      callbacks=[minidl.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))])
    assert history.history["learning_rate"] == [0.1, 0.05, 0.1 / 3]


def test_scheduler_prints_when_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    one_weight_network().fit(X_ONE, Y_ONE, epochs=1, verbose=0,
                             callbacks=[minidl.LearningRateScheduler(lambda epoch, lr: 0.5, verbose=1)])
    assert capsys.readouterr().out == "Epoch 1: LearningRateScheduler setting learning rate to 0.5.\n"


def test_no_learning_rate_in_the_logs_without_a_learning_rate_callback() -> None:
    assert sorted(fit(one_weight_network()).history) == ["loss", "val_loss"]


@pytest.mark.parametrize(("result", "error", "fragment"), [
    (math.nan, ValueError, "LearningRateScheduler schedule returned nan at epoch 0"),
    (-0.1, ValueError, "LearningRateScheduler schedule returned -0.1 at epoch 0"),
    (math.inf, ValueError, "a learning rate must be a finite number >= 0"),
    ("0.1", TypeError, "LearningRateScheduler schedule must return a number; got '0.1'"),
])
def test_scheduler_refuses_a_bad_learning_rate(result, error, fragment) -> None:
    net = one_weight_network()
    scheduler = minidl.LearningRateScheduler(lambda epoch, lr: result)
    raises(error, lambda: net.fit(X_ONE, Y_ONE, verbose=0, callbacks=[scheduler]), fragment)
    assert net.optimizer.learning_rate == 0.2


@pytest.mark.parametrize(("make", "error", "fragments"), [
    (lambda: minidl.ReduceLROnPlateau(factor=1.0), ValueError, ["ReduceLROnPlateau factor must be < 1"]),
    (lambda: minidl.ReduceLROnPlateau(factor=2), ValueError, ["ReduceLROnPlateau factor must be < 1", "2"]),
    (lambda: minidl.ReduceLROnPlateau(factor=-0.5), ValueError, ["ReduceLROnPlateau factor", "got -0.5"]),
    (lambda: minidl.ReduceLROnPlateau(mode="best"), ValueError,
     ["ReduceLROnPlateau mode must be 'auto', 'min' or 'max'; got 'best'"]),
    (lambda: minidl.ReduceLROnPlateau(patience=-1), ValueError, ["ReduceLROnPlateau patience", "got -1"]),
    (lambda: minidl.ReduceLROnPlateau(cooldown=1.5), ValueError, ["ReduceLROnPlateau cooldown", "got 1.5"]),
    (lambda: minidl.ReduceLROnPlateau(min_lr=-1), ValueError, ["ReduceLROnPlateau min_lr"]),
    (lambda: minidl.LearningRateScheduler(0.1), TypeError, ["LearningRateScheduler schedule must be a"]),
    (lambda: minidl.LearningRateScheduler(lambda epoch, lr, extra: lr), TypeError,
     ["LearningRateScheduler schedule must take (epoch, lr) or (epoch)", "which takes (epoch, lr, extra)"]),
    (lambda: minidl.CSVLogger(3), TypeError, ["CSVLogger filename must be a str or os.PathLike"]),
    (lambda: minidl.CSVLogger("a.csv", separator=";;"), ValueError, ["CSVLogger separator", "';;'"]),
    *[(lambda separator=separator: minidl.CSVLogger("a.csv", separator=separator), ValueError,
       ["CSVLogger separator must be one character, not a quote, a newline or a carriage return",
        f"got {separator!r}"]) for separator in ['"', "\n", "\r", ""]],
])
def test_learning_rate_and_csv_arguments_are_checked(make, error, fragments) -> None:
    raises(error, make, *fragments)


def test_plateau_on_a_missing_monitor_names_it() -> None:
    plateau = minidl.ReduceLROnPlateau(monitor="val_mae")
    raises(ValueError, lambda: fit(one_weight_network(), callbacks=[plateau]),
           "ReduceLROnPlateau monitor 'val_mae' is not in the epoch logs", "available: learning_rate, loss")


def read_csv(path, separator=","):
    with open(path, newline="") as file:
        return list(csv.reader(file, delimiter=separator))


def test_csv_logger_writes_the_history_exactly(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    logger = minidl.CSVLogger(path)
    net = compiled_network()
    history = net.fit(X_TRAIN, Y_TRAIN, epochs=3, batch_size=8, validation_split=0.25, verbose=0, seed=0,
                      callbacks=[logger, minidl.LearningRateScheduler(lambda epoch, lr: 0.05 / (epoch + 1))])
    header, *rows = read_csv(path)
    assert header == ["epoch", "learning_rate", "loss", "mae", "val_loss", "val_mae"]
    assert [int(row[0]) for row in rows] == [0, 1, 2]
    for column, key in enumerate(header[1:], start=1):
        assert [float(row[column]) for row in rows] == history.history[key]  # repr: exact floats
    assert logger.file is None  # closed at the end of training


def test_csv_logger_appends_without_a_second_header(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    net = one_weight_network()
    first = net.fit(X_ONE, Y_ONE, epochs=2, verbose=0, callbacks=[minidl.CSVLogger(path, separator=";")])
    second = net.fit(X_ONE, Y_ONE, epochs=1, verbose=0,
                     callbacks=[minidl.CSVLogger(path, separator=";", append=True)])
    losses = first.history["loss"] + second.history["loss"]
    rows = [[str(epoch), repr(loss)] for epoch, loss in zip([0, 1, 0], losses, strict=True)]
    assert read_csv(path, ";") == [["epoch", "loss"], *rows]
    net.fit(X_ONE, Y_ONE, epochs=1, verbose=0, callbacks=[minidl.CSVLogger(path)])  # append=False: anew
    assert read_csv(path) == [["epoch", "loss"], ["0", repr(net.history.history["loss"][0])]]
    new = tmp_path / "new.csv"
    net.fit(X_ONE, Y_ONE, epochs=1, verbose=0, callbacks=[minidl.CSVLogger(new, append=True)])
    assert read_csv(new)[0] == ["epoch", "loss"]  # a new file gets its header


def test_csv_logger_appending_follows_the_file_s_header_and_refuses_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    net = one_weight_network()
    scheduler = minidl.LearningRateScheduler(lambda epoch, lr: lr)
    first = net.fit(X_ONE, Y_ONE, epochs=1, verbose=0, callbacks=[minidl.CSVLogger(path), scheduler])
    second = net.fit(X_ONE, Y_ONE, epochs=1, verbose=0, callbacks=[minidl.CSVLogger(path, append=True)])
    expected = [["epoch", "learning_rate", "loss"], ["0", "0.2", repr(first.history["loss"][0])],
                ["0", "NA", repr(second.history["loss"][0])]]  # the loss under loss, not under learning_rate
    assert read_csv(path) == expected
    logger = minidl.CSVLogger(path, append=True)
    raises(ValueError, lambda: net.fit(X_ONE, Y_ONE, epochs=1, verbose=0, callbacks=[logger],
                                       validation_data=(X_VAL_ONE, Y_VAL_ONE)),
           f"CSVLogger {str(path)!r}: append=True, but the file's header is epoch,learning_rate,loss and "
           "this fit logs epoch,loss,val_loss", "write a new file")
    assert read_csv(path) == expected  # nothing written under the wrong header


def test_csv_logger_appends_to_a_spreadsheet_s_file_and_names_what_it_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes("\ufeffepoch,loss\r\n0,1.5".encode())  # a byte-order mark, and no end to the last line
    net = one_weight_network()
    history = net.fit(X_ONE, Y_ONE, epochs=1, verbose=0, callbacks=[minidl.CSVLogger(path, append=True)])
    assert read_csv(path) == [["\ufeffepoch", "loss"], ["0", "1.5"], ["0", repr(history.history["loss"][0])]]
    path.write_bytes(b"epoch;loss\r\n")
    raises(ValueError, lambda: net.fit(X_ONE, Y_ONE, epochs=1, verbose=0,
                                       callbacks=[minidl.CSVLogger(path, append=True)]),
           "the file's header is epoch;loss", "or the file separates them with another character than ','")
    path.write_bytes(b"epoch,loss\xff\r\n")
    raises(ValueError, lambda: net.fit(X_ONE, Y_ONE, epochs=1, verbose=0,
                                       callbacks=[minidl.CSVLogger(path, append=True)]),
           "append=True, but the file is not UTF-8 text")


def test_csv_logger_writes_na_for_a_key_missing_later(tmp_path: Path) -> None:
    logger = minidl.CSVLogger(tmp_path / "log.csv")
    logger.on_train_begin({})
    logger.on_epoch_end(0, {"loss": 0.5, "acc": 0.25})
    logger.on_epoch_end(1, {"loss": 0.1})
    logger.on_train_end({})
    expected = [["epoch", "acc", "loss"], ["0", "0.25", "0.5"], ["1", "NA", "0.1"]]
    assert read_csv(tmp_path / "log.csv") == expected


def test_the_new_callbacks_are_exported_from_minidl_and_minidl_keras() -> None:
    import minidl.keras

    for name in ("LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger"):
        assert name in minidl.__all__ and name in minidl.keras.__all__
    assert minidl.LearningRateScheduler is minidl.keras.LearningRateScheduler
    assert minidl.CSVLogger is minidl.keras.CSVLogger
    # minidl.keras's takes Keras's argument order (tests/keras/test_callbacks.py)
    assert issubclass(minidl.keras.ReduceLROnPlateau, minidl.ReduceLROnPlateau)


def test_a_callbacks_model_is_the_network_it_trains_as_kerass():
    seen = []

    class Watch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model)
            self.model.stop_training = epoch == 1  # Keras's way to stop fit

    net = one_weight_network()
    watch = Watch()
    assert watch.model is None  # before fit
    history = net.fit(X_ONE, Y_ONE, epochs=5, batch_size=1, verbose=0, callbacks=[watch])
    assert seen == [net, net] and history.epoch == [0, 1]


# -- what only a direct call, a verbose flag or a narrow terminal reaches --------------------------


def test_callbacks_used_outside_fit_say_so(tmp_path):
    raises(RuntimeError, lambda: Callback().request_stop("done"),
           "Callback.request_stop() called outside fit()")
    raises(RuntimeError, lambda: ModelCheckpoint(tmp_path / "m.npz").on_epoch_end(0, {"loss": 1.0}),
           "ModelCheckpoint.on_epoch_end called outside fit()")
    raises(RuntimeError, lambda: minidl.CSVLogger(tmp_path / "log.csv").on_epoch_end(0, {"loss": 1.0}),
           "CSVLogger.on_epoch_end called before on_train_begin (outside fit())")
    raises(RuntimeError, lambda: LearningRateScheduler(lambda epoch: 0.1).on_epoch_begin(0, {}),
           "LearningRateScheduler needs a compiled network: it is used inside fit()")
    plateau = minidl.ReduceLROnPlateau(monitor="loss", patience=0)
    plateau.on_epoch_end(0, {"loss": 1.0})  # an improvement needs no optimizer
    raises(RuntimeError, lambda: plateau.on_epoch_end(1, {"loss": 2.0}),
           "ReduceLROnPlateau needs a compiled network: it is used inside fit()")
    history = minidl.History()
    history.on_train_end({})  # no network: nothing to copy
    assert history.stop_reason is None


def test_history_repr_counts_its_epochs_and_names_its_keys():
    net = one_weight_network()
    history = net.fit(X_ONE, Y_ONE, epochs=2, batch_size=1, verbose=0, validation_data=(X_VAL_ONE, Y_VAL_ONE))
    assert repr(history) == "History(epochs=2, keys=['loss', 'val_loss'])"
    assert repr(minidl.History()) == "History(epochs=0, keys=[])"


def test_verbose_early_stopping_says_which_epoch_it_restored(capsys):
    net = one_weight_network()
    fit(net, callbacks=[EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True, verbose=1)])
    # Best at epoch 0 (w = 0.8, val_loss (0.8 - 0.5)**2 = 0.09), stopped after epoch 2.
    assert capsys.readouterr().out.splitlines() == [
        "EarlyStopping: stopped after epoch 3",
        "EarlyStopping: restored the weights of epoch 1 (val_loss 0.09)"]


def test_verbose_plateau_prints_each_reduction(capsys):
    # The rates of test_plateau_lowers_the_learning_rate_during_fit: 0.2 -> 0.1 after epoch 2, 0.05 after 3.
    net = one_weight_network()
    net.fit(X_ONE, Y_ONE, epochs=3, batch_size=1, shuffle=False, verbose=0,
            validation_data=(X_VAL_ONE, Y_VAL_ONE),
            callbacks=[minidl.ReduceLROnPlateau(factor=0.5, patience=1, verbose=1)])
    assert capsys.readouterr().out.splitlines() == [
        "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.1.",
        "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.05."]


def test_a_schedule_without_a_signature_is_called_with_epoch_and_rate():
    # inspect.signature(max) raises ValueError: the built-in is called as Keras calls it, (epoch, lr).
    net = one_weight_network()
    history = net.fit(X_ONE, Y_ONE, epochs=3, batch_size=1, verbose=0, callbacks=[LearningRateScheduler(max)])
    assert history.history["learning_rate"] == [max(0, 0.2), max(1, 0.2), max(2, 1)]


def test_the_stop_reason_after_a_live_bar_is_a_line_of_its_own(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    run_fit(1, callbacks=[EarlyStopping(monitor="loss", min_delta=100.0)])
    lines = terminal.getvalue().split("\n")
    assert len(lines) == 4 and lines[-1] == ""  # two epochs, the reason, and the last newline
    assert lines[2].startswith("early stopping: loss did not improve by more than 100")  # no "\r", no padding


def test_a_terminal_too_narrow_for_any_metric_gets_the_10_character_bar_cut_at_its_width():
    from minidl.training.callbacks import _fitted

    head, eta = "Epoch 1/1 1/2 ", " ETA 1.0s"
    # 14 + 9 + 2 brackets leave no 10 characters in 26 columns, even without the metric: the bar is
    # the 10-character minimum, half filled, and the line is cut after 26 characters (the ETA goes).
    assert _fitted(head, 0.5, eta, ["loss: 1.0000"], 30, 26) == head + "[=====>....]"


@pytest.mark.parametrize(("seconds", "text"), [(0.04, "0.0s"), (59.9, "59.9s"), (65.0, "1m05s"),
                                               (119.5, "2m00s"), (3601.0, "60m01s")])
def test_elapsed_time_is_seconds_under_a_minute_then_minutes_and_seconds(seconds, text):
    from minidl.training.callbacks import _format_seconds

    assert _format_seconds(seconds) == text


def test_a_stream_without_isatty_or_a_closed_one_is_no_terminal():
    from minidl.training.callbacks import _is_terminal

    closed = io.StringIO()
    closed.close()  # isatty() of a closed stream raises ValueError
    assert _is_terminal(FakeTerminal()) is True
    assert _is_terminal(closed) is False and _is_terminal(object()) is False


def test_model_checkpoint_makes_a_missing_folder_as_keras_does(tmp_path: Path) -> None:
    # It failed with a bare FileNotFoundError at the end of the first epoch, after training it
    network = compiled_net()
    x, y = linear_data()
    path = tmp_path / "runs" / "{epoch}" / "model.npz"
    checkpoint = ModelCheckpoint(path, monitor="loss", save_best_only=False)
    network.fit(x, y, epochs=2, verbose=0, callbacks=[checkpoint])
    assert checkpoint.saved == [str(tmp_path / "runs" / str(epoch) / "model.npz") for epoch in (1, 2)]
    np.testing.assert_array_equal(minidl.load(checkpoint.saved[-1]).predict(x), network.predict(x))


def test_early_stopping_says_it_stopped_only_when_it_did(capsys) -> None:
    x, y = linear_data()
    patient = EarlyStopping(monitor="loss", patience=50, verbose=1)
    compiled_net().fit(x, y, epochs=3, verbose=0, callbacks=[patient])
    assert patient.stopped_epoch is None and "EarlyStopping" not in capsys.readouterr().out
    eager = EarlyStopping(monitor="loss", min_delta=1e9, patience=1, verbose=1)
    compiled_net().fit(x, y, epochs=3, verbose=0, callbacks=[eager])
    assert eager.stopped_epoch == 1 and "EarlyStopping: stopped after epoch 2" in capsys.readouterr().out
