"""EarlyStopping, the NaN/inf stop and Callback.request_stop."""

import itertools
import math
import warnings

import numpy as np
import pytest

from minidl import SGD, Callback, Dense, EarlyStopping, Network

# One weight w (no bias), starting at 0. Training data pulls w towards 2 (w <- w + 0.4 (2 - w)
# per full-batch step at learning rate 0.2); the validation target wants w = 0.5.
# After epoch 0: w = 0.8 (val_loss 0.09), epoch 1: w = 1.28 (0.6084), epoch 2: 1.568 ...
X_TRAIN, Y_TRAIN = np.array([[1.0]]), np.array([2.0])
X_VAL, Y_VAL = np.array([[1.0]]), np.array([0.5])


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
    return net.fit(X_TRAIN, Y_TRAIN, epochs=20, batch_size=1, shuffle=False,
                   validation_data=(X_VAL, Y_VAL), verbose=0, **kwargs)


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
        net.fit(X_TRAIN, Y_TRAIN, epochs=2, verbose=0, callbacks=[EarlyStopping()])


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


# -- the NaN / inf stop --------------------------------------------------------------------------


def diverging_fit(learning_rate, epochs=200):
    x = np.array([[3.0], [4.0]])
    y = np.array([1.0, 2.0])
    net = Network([Dense(1, 1, weight_init=[[0.5]], bias_init=[0.1])])
    net.compile(optimizer=SGD(learning_rate=learning_rate), loss="mse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = net.fit(x, y, epochs=epochs, batch_size=2, shuffle=False, verbose=0)
    return net, history, caught


def test_diverging_training_stops_with_a_clear_message_and_finite_weights():
    net, history, caught = diverging_fit(learning_rate=5.0)
    assert len(history.epoch) < 200
    assert history.stop_reason is not None and "became" in history.stop_reason
    assert "smaller learning rate" in history.stop_reason
    assert any(issubclass(w.category, RuntimeWarning) and "stopped" in str(w.message) for w in caught)
    assert all(np.all(np.isfinite(p.value)) for p in net.parameters())
    assert all(math.isfinite(v) for v in history.history["loss"])
    assert history.history["loss"][-1] > 1e100  # it really diverged before stopping


def test_parameters_turned_non_finite_are_restored_to_the_epoch_start():
    x = np.array([[1.0], [2.0], [3.0], [4.0]])
    y = np.array([1.0, 2.0, 3.0, 4.0])
    starts = []

    class Poison(Callback):
        def on_epoch_begin(self, epoch, logs):
            starts.append([p.value.copy() for p in self.network.parameters()])

        def on_batch_end(self, batch, logs):
            if len(starts) == 3 and batch == 0:
                self.network[0].weight.value[0, 0] = np.inf

    net = Network([Dense(1, 1, seed=0)])
    net.compile(optimizer=SGD(learning_rate=0.01, momentum=0.9), loss="mse")
    with pytest.warns(RuntimeWarning, match="restored"):
        history = net.fit(x, y, epochs=10, batch_size=2, shuffle=False, verbose=0, callbacks=[Poison()])
    assert history.epoch == [0, 1]
    for saved, parameter in zip(starts[2], net.parameters(), strict=True):
        np.testing.assert_array_equal(parameter.value, saved)
    assert net.optimizer.iterations == 0  # state reset with the restore


def test_restore_best_weights_also_when_all_epochs_ran():
    net = one_weight_network()
    stop = EarlyStopping(patience=10, restore_best_weights=True)
    history = net.fit(
        X_TRAIN, Y_TRAIN, epochs=3, batch_size=1, shuffle=False, validation_data=(X_VAL, Y_VAL), verbose=0,
        callbacks=[stop])
    assert history.stop_reason is None and stop.stopped_epoch is None
    assert net[0].weight.value[0, 0] == pytest.approx(weights_by_epoch(1)[0], rel=1e-15)


def test_train_step_skips_the_update_on_a_non_finite_loss():
    net = Network([Dense(1, 1, weight_init=[[1e200]], bias_init="zeros")])
    net.compile(optimizer=SGD(0.1), loss="mse")
    with np.errstate(over="ignore"):
        value = net.train_step(np.array([[1e200]]), np.array([0.0]))
    assert value == math.inf
    assert net[0].weight.value[0, 0] == 1e200
