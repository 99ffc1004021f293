"""minidl.keras's callbacks (minidl/keras/callbacks.py): Keras's arguments and defaults."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl.keras import Dense, Sequential, load_model
from minidl.keras.callbacks import Callback, EarlyStopping, ModelCheckpoint


def test_model_checkpoint_takes_kerass_filepath_and_saves_every_epoch_by_default(tmp_path):
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    checkpoint = ModelCheckpoint(filepath=str(tmp_path / "model-{epoch:02d}.keras"), monitor="loss")
    x = np.array([[0.0, 1.0], [1.0, 0.0]])
    model.fit(x, np.array([1.0, 2.0]), epochs=3, verbose=0, callbacks=[checkpoint])
    written = [str(tmp_path / f"model-0{epoch}.keras") for epoch in (1, 2, 3)]
    assert checkpoint.save_best_only is False and checkpoint.saved == written
    assert checkpoint.filepath == str(tmp_path / "model-{epoch:02d}.keras")
    np.testing.assert_array_equal(load_model(written[-1]).predict(x), model.predict(x))


def test_model_checkpoint_takes_kerass_argument_order():
    checkpoint = ModelCheckpoint("best.keras", "val_accuracy", 1, True)  # filepath, monitor, verbose, best
    assert (checkpoint.monitor, checkpoint.verbose, checkpoint.save_best_only) == ("val_accuracy", 1, True)
    assert checkpoint.mode == "max"
    assert minidl.ModelCheckpoint("best.npz").save_best_only is True  # minidl's own keeps its default
    # Keras's fifth is save_weights_only (it landed on mode: "mode must be 'auto', ..., got False")
    checkpoint = ModelCheckpoint("best.keras", "loss", 0, True, False, "min", "epoch", None)
    assert (checkpoint.save_best_only, checkpoint.mode) == (True, "min")
    for name, value, default in [("save_weights_only", True, "False"), ("save_freq", 100, "'epoch'"),
                                 ("initial_value_threshold", 0.5, "None")]:
        with pytest.raises(ValueError, match=f"^ModelCheckpoint {name}: minidl does not support it, so it "
                                             f"must be {default}; got {value}$"):
            ModelCheckpoint("best.keras", **{name: value})


def test_kerass_verbose_2_is_taken_and_prints_as_1(tmp_path, capsys):
    model = Sequential([Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    path = str(tmp_path / "model.keras")
    model.fit(np.ones((2, 1)), np.ones(2), epochs=1, verbose=0,
              callbacks=[ModelCheckpoint(path, monitor="loss", verbose=2)])
    assert capsys.readouterr().out == f"ModelCheckpoint: epoch 1: saved {path}\n"


def test_early_stopping_takes_kerass_argument_order():
    stop = EarlyStopping("loss", 0.5, 3, 1, "max", None, True, 2)
    assert (stop.monitor, stop.min_delta, stop.patience) == ("loss", 0.5, 3)
    assert (stop.verbose, stop.mode) == (1, "max")
    assert (stop.restore_best_weights, stop.start_from_epoch) == (True, 2)
    assert minidl.keras.EarlyStopping is EarlyStopping
    assert minidl.EarlyStopping("loss", 3).patience == 3  # minidl's own keeps patience second


def test_early_stopping_start_from_epoch_does_not_watch_the_first_epochs():
    model = Sequential([Dense(1, input_shape=(1,))])
    model.compile(optimizer=minidl.SGD(0.0), loss="mean_squared_error")  # the loss stays the same
    stop = EarlyStopping(monitor="loss", patience=1, start_from_epoch=3)
    history = model.fit(np.ones((2, 1)), np.zeros(2), epochs=10, verbose=0, callbacks=[stop])
    # epochs 0-2 unwatched, epoch 3 is the first best, epoch 4 does not improve: stop
    assert history.epoch == [0, 1, 2, 3, 4] and stop.best_epoch == 3


def test_early_stopping_refuses_baseline_and_a_negative_start_from_epoch():
    with pytest.raises(ValueError, match=r"^EarlyStopping baseline: minidl does not support it, so it must "
                                         r"be None; got 0\.9$"):
        EarlyStopping(baseline=0.9)
    with pytest.raises(ValueError, match=r"EarlyStopping start_from_epoch must be an integer >= 0; got -1$"):
        EarlyStopping(start_from_epoch=-1)


def test_kerass_callback_subclass_gets_the_sequential_as_model_and_stops_fit():
    seen = []

    class StopAfterTwo(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, self.model))
            if epoch == 1:
                self.model.stop_training = True

    model = Sequential([Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    callbacks = (callback for callback in [StopAfterTwo()])  # any iterable, as fit takes
    history = model.fit(np.ones((2, 1)), np.zeros(2), epochs=5, verbose=0, callbacks=callbacks)
    assert seen == [(0, model), (1, model)] and history.epoch == [0, 1]
    assert minidl.keras.callbacks.Callback is minidl.Callback


def test_kerass_custom_early_stopping_callback_runs_end_to_end(capsys):
    class StopAtMinimumLoss(Callback):  # the pattern of Keras's guide to writing callbacks
        def __init__(self, patience=0):
            super().__init__()
            self.patience = patience

        def on_train_begin(self, logs=None):
            self.wait, self.stopped_epoch, self.best, self.best_weights = 0, 0, np.inf, None

        def on_epoch_end(self, epoch, logs=None):
            if logs["loss"] < self.best:
                self.best, self.wait, self.best_weights = logs["loss"], 0, self.model.get_weights()
                return
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                self.model.set_weights(self.best_weights)

        def on_train_end(self, logs=None):
            if self.stopped_epoch > 0:
                print(f"Epoch {self.stopped_epoch + 1}: early stopping")

    model = Sequential([Dense(1, input_shape=(1,))])
    model.set_weights([np.array([[1.0]]), np.array([0.0])])
    model.compile(optimizer=minidl.keras.SGD(learning_rate=1.0), loss="mean_squared_error")
    history = model.fit(np.ones((1, 1)), np.zeros(1), epochs=10, verbose=0, callbacks=[StopAtMinimumLoss(2)])
    # loss (w + b)^2, and each step multiplies w + b by 1 - 4 * 1.0 = -3: w, b = 1, 0 -> -1, -2 -> 5, 4
    assert history.history["loss"] == [1.0, 9.0, 81.0]
    assert [weights.tolist() for weights in model.get_weights()] == [[[-1.0]], [-2.0]]  # after epoch 0
    assert capsys.readouterr().out == "Epoch 3: early stopping\n"


def test_a_keras_callback_reads_this_fits_history_and_stops_after_a_batch():
    # model.history was None in the first fit's callbacks (the previous History in later fits),
    # and stop_training set after a batch still ran the rest of the epoch
    seen = []

    class StopAfterTwoBatches(Callback):
        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)  # Keras's base class has the hook too
            seen.append(batch)
            if batch == 1:
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.history is history_during_fit())

    model = Sequential([Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    history_during_fit = lambda: model.network.history  # noqa: E731 (the History fit is filling)
    for _ in range(2):
        seen.clear()
        history = model.fit(np.ones((8, 1)), np.zeros(8), batch_size=2, epochs=3, verbose=0,
                            callbacks=[StopAfterTwoBatches()])
        assert seen == [0, 1, True] and history.epoch == [0] and model.history is history


def test_reduce_lr_on_plateau_takes_kerass_argument_order():
    # Keras's fourth is verbose; minidl's own ReduceLROnPlateau takes mode there ("mode must be ...; got 1")
    from minidl.keras.callbacks import ReduceLROnPlateau

    reduce = ReduceLROnPlateau("val_loss", 0.5, 3, 1, "min", 0.01, 2, 1e-4)
    assert (reduce.monitor, reduce.factor, reduce.patience, reduce.verbose) == ("val_loss", 0.5, 3, 1)
    assert (reduce.mode, reduce.min_delta, reduce.cooldown, reduce.min_lr) == ("min", 0.01, 2, 1e-4)
    assert minidl.keras.ReduceLROnPlateau is ReduceLROnPlateau
    assert isinstance(reduce, minidl.ReduceLROnPlateau)


def test_early_stopping_that_never_stopped_has_kerass_stopped_epoch_0(capsys):
    # Keras code such as print(stop.stopped_epoch + 1) failed on minidl's None
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    stop = EarlyStopping(monitor="loss", patience=50, verbose=1)
    model.fit(np.eye(2), np.array([1.0, 2.0]), epochs=3, verbose=0, callbacks=[stop])
    assert stop.stopped_epoch == 0 and "stopped" not in capsys.readouterr().out  # and says no stop
    stop = EarlyStopping(monitor="loss", min_delta=1e9, patience=1)
    model.fit(np.eye(2), np.array([1.0, 2.0]), epochs=3, verbose=0, callbacks=[stop])
    assert stop.stopped_epoch == 1
