"""Training and evaluation modes: who sets them, and which mode each entry point computes in."""

import numpy as np
import pytest

from minidl import SGD, BatchNorm, Dense, Dropout, Layer, Network, ReLU

RNG = np.random.default_rng(5)
X = RNG.normal(size=(8, 2))
Y = X @ np.array([[1.0], [-2.0]]) + 0.5


class ModeProbe(Layer):
    """The identity, recording (batch size, training?) at every forward."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[int, bool]] = []

    def forward(self, x):
        self.calls.append((x.shape[0] if x.ndim == 2 else 1, self.training))
        return x

    def backward(self, grad_y):
        return grad_y

    def output_features(self, input_features):
        return input_features


def probed_network():
    probe = ModeProbe()
    net = Network([Dense(2, 3, seed=0), probe, ReLU(), Dense(3, 1, seed=1)])
    net.compile(optimizer=SGD(learning_rate=0.01), loss="mse")
    return net, probe


def test_a_new_network_and_its_layers_start_in_training_mode():
    net = Network([Dense(2, 2, seed=0), Dropout(0.5), BatchNorm(2)])
    assert net.training and all(layer.training for layer in net)


def test_train_and_eval_propagate_to_every_layer_and_return_the_network():
    net = Network([Dense(2, 2, seed=0), Dropout(0.5), BatchNorm(2)])
    assert net.eval() is net
    assert not net.training and not any(layer.training for layer in net)
    assert net.train() is net
    assert all(layer.training for layer in net)
    net.train(False)
    assert not any(layer.training for layer in net)


def test_network_is_in_training_mode_only_when_every_layer_is():
    net = Network([Dense(2, 2, seed=0), Dropout(0.5)])
    net[1].eval()
    assert not net.training


def test_forward_uses_the_current_mode():
    net = Network([Dropout(0.5, seed=0)])
    x = np.ones((4, 6))
    assert (net.forward(x) == 0).any()
    net.eval()
    np.testing.assert_array_equal(net.forward(x), x)


@pytest.mark.parametrize("start_in_training", [True, False])
def test_predict_computes_in_evaluation_mode_and_restores_the_modes(start_in_training):
    net, probe = probed_network()
    net.train(start_in_training)
    net.predict(X)
    net.predict(X, batch_size=3)
    assert probe.calls and all(not training for _, training in probe.calls)
    assert net.training is start_in_training


def test_predict_restores_mixed_modes_even_after_an_error():
    net = Network([Dense(2, 2, seed=0), Dropout(0.5), BatchNorm(2)])
    net[1].eval()
    with pytest.raises(ValueError, match="features"):
        net.predict(np.ones((3, 5)))
    assert [layer.training for layer in net] == [True, False, True]


@pytest.mark.parametrize("start_in_training", [True, False])
def test_fit_trains_in_training_mode_and_validates_in_evaluation_mode(start_in_training):
    net, probe = probed_network()
    net.train(start_in_training)
    x_val, y_val = X[:3], Y[:3]
    net.fit(X, Y, epochs=2, batch_size=4, validation_data=(x_val, y_val), verbose=0, seed=0)
    training_calls = [training for size, training in probe.calls if size == 4]
    validation_calls = [training for size, training in probe.calls if size == 3]
    assert len(training_calls) == 4 and all(training_calls)        # 2 epochs x 2 batches
    assert validation_calls == [False, False]                       # once per epoch
    assert net.training is start_in_training                        # restored afterwards


@pytest.mark.parametrize("start_in_training", [True, False])
def test_evaluate_computes_in_evaluation_mode_and_restores_the_modes(start_in_training):
    net, probe = probed_network()
    net.train(start_in_training)
    net.evaluate(X, Y)
    net.evaluate(X, Y, batch_size=3)
    assert probe.calls and all(not training for _, training in probe.calls)
    assert net.training is start_in_training


def test_train_step_and_loss_and_backward_use_the_current_mode():
    net, probe = probed_network()
    net.train_step(X, Y)
    net.eval()
    net.loss_and_backward(X, Y)
    assert [training for _, training in probe.calls] == [True, False]


def test_fit_updates_batchnorm_running_statistics_but_predict_and_evaluate_do_not():
    net = Network([Dense(2, 3, seed=0), BatchNorm(3), Dense(3, 1, seed=1)])
    net.compile(optimizer=SGD(learning_rate=0.01), loss="mse")
    bn = net[1]
    net.fit(X, Y, epochs=1, batch_size=4, verbose=0, seed=0)
    assert not np.array_equal(bn.running_mean, np.zeros(3))
    after_fit = bn.running_mean.copy(), bn.running_var.copy()
    net.predict(X)
    net.evaluate(X, Y)
    np.testing.assert_array_equal(bn.running_mean, after_fit[0])
    np.testing.assert_array_equal(bn.running_var, after_fit[1])


def test_dropout_is_active_in_fit_and_silent_in_predict():
    net = Network([Dense(2, 16, seed=0), Dropout(0.5, seed=1), Dense(16, 1, seed=2)])
    net.compile(optimizer=SGD(learning_rate=0.01), loss="mse")
    net.fit(X, Y, epochs=1, batch_size=8, verbose=0, seed=0)
    assert net[1].mask is not None and (net[1].mask == 0).any()  # the last training batch dropped
    first = net.predict(X)
    np.testing.assert_array_equal(net.predict(X), first)
    net.eval()
    np.testing.assert_array_equal(net.forward(X), first)
