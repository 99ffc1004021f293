"""Network.compile / fit / evaluate / train_step: semantics, learning, reproducibility, errors."""

import numpy as np
import pytest

from minidl import (
    SGD,
    Adam,
    Callback,
    Dense,
    Identity,
    Layer,
    MeanSquaredError,
    Network,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])


class Recorder(Layer):
    """A parameter-free layer that records what it sees (and must never be backpropagated)."""

    def __init__(self):
        super().__init__()
        self.seen = []
        self.modes = []

    def forward(self, x):
        self.seen.append(x.copy())
        self.modes.append(self.training)
        return x

    def backward(self, grad_y):
        raise AssertionError("backward must stop at the first layer with parameters")


def linear_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=n)
    return x, y


# -- learning ---------------------------------------------------------------------------------


def test_xor_learned_to_100_percent_from_a_fixed_seed():
    net = Network([Dense(2, 8, seed=0), Tanh(), Dense(8, 1, seed=1), Sigmoid()])
    net.compile(optimizer=Adam(learning_rate=0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = net.fit(XOR_X, XOR_Y, epochs=300, batch_size=4, verbose=0, seed=0)
    predicted = (net.predict(XOR_X)[:, 0] > 0.5).astype(float)
    np.testing.assert_array_equal(predicted, XOR_Y)
    assert history.history["accuracy"][-1] == 1.0
    assert net.evaluate(XOR_X, XOR_Y)["accuracy"] == 1.0


def test_full_batch_sgd_converges_to_least_squares():
    x, y = linear_data()
    net = Network([Dense(3, 1, weight_init="zeros")])
    net.compile(optimizer=SGD(learning_rate=0.2), loss="mse")
    net.fit(x, y, epochs=600, batch_size=len(x), shuffle=False, verbose=0)
    design = np.hstack([x, np.ones((len(x), 1))])
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    np.testing.assert_allclose(net[0].weight.value[:, 0], solution[:3], rtol=0, atol=1e-6)
    np.testing.assert_allclose(net[0].bias.value, solution[3:], rtol=0, atol=1e-6)


def test_one_full_batch_epoch_is_one_gradient_step_on_the_mean_loss():
    x, y = linear_data(n=10)
    w0 = np.array([[0.1], [0.2], [-0.3]])
    net = Network([Dense(3, 1, weight_init=w0, bias_init=[0.5])])
    net.compile(optimizer=SGD(learning_rate=0.05), loss="mse")
    history = net.fit(x, y, epochs=1, batch_size=100, shuffle=False, verbose=0)
    residual = x @ w0[:, 0] + 0.5 - y
    grad_w = 2 * x.T @ residual / len(x)
    grad_b = 2 * residual.sum() / len(x)
    np.testing.assert_allclose(net[0].weight.value[:, 0], w0[:, 0] - 0.05 * grad_w, rtol=1e-13)
    np.testing.assert_allclose(net[0].bias.value, [0.5 - 0.05 * grad_b], rtol=1e-13)
    # The logged loss is the mean loss at the weights before the step.
    assert history.history["loss"] == [pytest.approx(np.mean(residual**2), rel=1e-13)]


def test_train_step_matches_a_full_batch_epoch():
    x, y = linear_data(n=12)
    nets = [Network([Dense(3, 4, seed=3), ReLU(), Dense(4, 1, seed=4)]) for _ in range(2)]
    for net in nets:
        net.compile(optimizer=SGD(learning_rate=0.01, momentum=0.9), loss="mse")
    for _ in range(3):
        nets[0].train_step(x, y)
    nets[1].fit(x, y, epochs=3, batch_size=12, shuffle=False, verbose=0)
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)


def test_classification_with_sparse_labels_and_softmax():
    rng = np.random.default_rng(5)
    centers = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    labels = rng.integers(0, 3, size=150)
    x = centers[labels] + 0.5 * rng.normal(size=(150, 2))
    net = Network([Dense(2, 16, seed=1), ReLU(), Dense(16, 3, seed=2), Softmax()])
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = net.fit(x, labels, epochs=40, batch_size=16, verbose=0, seed=1)
    assert history.history["accuracy"][-1] > 0.95
    probabilities = net.predict(x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    # The same data as one-hot rows with categorical cross-entropy gives the same loss.
    onehot = np.eye(3)[labels]
    net.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    both = net.evaluate(x, onehot)
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert net.evaluate(x, labels) == pytest.approx(both, rel=1e-12)


# -- reproducibility -----------------------------------------------------------------------------


def fitted(seed, **kwargs):
    x, y = linear_data(n=30)
    net = Network([Dense(3, 5, seed=7), Tanh(), Dense(5, 1, seed=8)])
    net.compile(optimizer=Adam(0.01), loss="mse", metrics=["mae"])
    history = net.fit(x, y, epochs=4, batch_size=7, verbose=0, seed=seed, validation_split=0.2, **kwargs)
    return net, history


def test_same_seed_gives_bit_identical_results():
    a, history_a = fitted(123)
    b, history_b = fitted(123)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)
    assert history_a.history == history_b.history
    c, _ = fitted(124)
    assert not np.array_equal(a[0].weight.value, c[0].weight.value)
    gen_1, _ = fitted(np.random.default_rng(9))
    gen_2, _ = fitted(np.random.default_rng(9))
    np.testing.assert_array_equal(gen_1[0].weight.value, gen_2[0].weight.value)


# -- History and validation semantics ------------------------------------------------------------


def test_history_keys_lengths_and_values():
    x, y = linear_data(n=20)
    net, history = fitted(0)
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert all(len(values) == 4 for values in history.history.values())
    assert history.epoch == [0, 1, 2, 3]
    assert history.stop_reason is None
    assert net.history is history
    # The validation numbers are evaluate() on the held-out last 20 %, after the epoch.
    x, y = linear_data(n=30)
    held_out = net.evaluate(x[24:], y[24:])
    assert history.history["val_loss"][-1] == pytest.approx(held_out["loss"], rel=1e-14)
    assert history.history["val_mae"][-1] == pytest.approx(held_out["mae"], rel=1e-14)


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


def test_modes_training_in_fit_evaluation_in_evaluate_and_restored():
    x, y = linear_data(n=8)
    recorder = Recorder()
    net = Network([recorder, Dense(3, 1, seed=0)])
    net.compile(optimizer=SGD(0.01), loss="mse")
    net.eval()
    net.fit(x, y, epochs=1, batch_size=8, verbose=0, validation_split=0.25)
    assert recorder.modes[-2:] == [True, False]  # last batch in training, validation in evaluation
    assert not net.training  # restored
    net.train()
    recorder.modes.clear()
    net.evaluate(x, y)
    assert recorder.modes == [False, False]  # the shape probe and the evaluation
    assert net.training


def test_float32_network_trains_in_float32():
    x, y = linear_data(n=16)
    net = Network([Dense(3, 4, seed=0, dtype=np.float32), ReLU(), Dense(4, 1, seed=1, dtype=np.float32)])
    net.compile(optimizer="adam", loss="mse")
    net.fit(x, y, epochs=2, batch_size=4, verbose=0, seed=0)
    assert all(p.value.dtype == np.float32 and p.grad.dtype == np.float32 for p in net.parameters())


def test_loss_and_backward_fills_gradients_like_explicit_backward():
    x, y = linear_data(n=6)
    net = Network([Dense(3, 4, seed=1), Tanh(), Dense(4, 1, seed=2), Identity()])
    value = net.loss_and_backward(x, y, "mse")
    grads = [p.grad.copy() for p in net.parameters()]
    loss = MeanSquaredError()
    assert loss.forward(net.forward(x), y) == pytest.approx(value, rel=1e-15)
    net.backward(loss.backward())
    for before, parameter in zip(grads, net.parameters(), strict=True):
        np.testing.assert_allclose(before, parameter.grad, rtol=1e-14)


def test_fit_accepts_an_int_target_and_column_target():
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    for y in ([1, 3, 5, 7], [[1], [3], [5], [7]]):
        net = Network([Dense(1, 1, weight_init="zeros")])
        net.compile(optimizer=SGD(0.05), loss="mse")
        history = net.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
        assert history.history["loss"][0] == pytest.approx(np.mean(np.array([1, 3, 5, 7]) ** 2))


# -- errors ------------------------------------------------------------------------------------------


def compiled_net():
    net = Network([Dense(3, 1, seed=0)])
    net.compile(optimizer="sgd", loss="mse")
    return net


def test_fit_before_compile_is_a_clear_error():
    x, y = linear_data(n=4)
    with pytest.raises(RuntimeError, match=r"compile\(optimizer=..., loss=...\)"):
        Network([Dense(3, 1)]).fit(x, y)
    with pytest.raises(RuntimeError, match="compile"):
        Network([Dense(3, 1)]).evaluate(x, y)


def test_compile_misspelt_names_list_the_valid_ones():
    net = Network([Dense(3, 1)])
    with pytest.raises(ValueError, match="valid names: 'mean_squared_error', 'mse'"):
        net.compile(optimizer="sgd", loss="mean_square_error")
    with pytest.raises(ValueError, match="valid names: 'sgd', 'rmsprop', 'adam'"):
        net.compile(optimizer="adamw", loss="mse")
    with pytest.raises(ValueError, match="valid names: 'accuracy'"):
        net.compile(optimizer="sgd", loss="mse", metrics=["acuracy"])
    with pytest.raises(ValueError, match="needs a loss"):
        net.compile(optimizer="sgd")
    with pytest.raises(TypeError, match="list of names"):
        net.compile(optimizer="sgd", loss="mse", metrics="accuracy")


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"epochs": 0}, "epochs"),
    ({"epochs": 2.5}, "epochs"),
    ({"batch_size": -1}, "batch_size"),
    ({"validation_split": 1.0}, "validation_split"),
    ({"validation_split": -0.1}, "validation_split"),
    ({"validation_split": float("nan")}, "validation_split"),
    ({"verbose": 3}, "verbose"),
    ({"shuffle": "yes"}, "shuffle"),
    ({"seed": "abc"}, "seed"),
    ({"callbacks": [print]}, "Callback"),
])
def test_bad_fit_arguments(kwargs, match):
    x, y = linear_data(n=8)
    with pytest.raises((ValueError, TypeError), match=match):
        compiled_net().fit(x, y, **{"verbose": 0, **kwargs})


def test_bad_fit_data():
    x, y = linear_data(n=8)
    net = compiled_net()
    with pytest.raises(ValueError, match=r"8 samples .* 7 samples"):
        net.fit(x, y[:7], verbose=0)
    bad = x.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"fit x must be finite.*\(2, 1\)"):
        net.fit(bad, y, verbose=0)
    with pytest.raises(ValueError, match="batch axis"):
        net.fit(x[0], y[:1], verbose=0)
    with pytest.raises(ValueError, match="shape"):
        net.fit(x, np.ones((8, 2)), verbose=0)
    with pytest.raises(ValueError, match="leaves 0 for training"):
        net.fit(x[:1], y[:1], validation_split=0.1, verbose=0)
    with pytest.raises(ValueError, match="not both"):
        net.fit(x, y, validation_split=0.2, validation_data=(x, y), verbose=0)
    with pytest.raises(ValueError, match="features"):
        net.fit(np.ones((8, 2)), y, verbose=0)


def test_bad_classification_targets():
    x = np.ones((4, 2))
    net = Network([Dense(2, 3, seed=0), Softmax()])
    net.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        net.fit(x, [0, 1, 2, 3], verbose=0)
    with pytest.raises(ValueError, match="whole numbers"):
        net.fit(x, [0, 1, 2, 1.5], verbose=0)
    net.compile(optimizer="sgd", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="one-hot rows"):
        net.fit(x, [[1, 1, 0]] * 4, verbose=0)
    with pytest.raises(ValueError, match="shape"):
        net.fit(x, [0, 1, 2, 1], verbose=0)
    binary = Network([Dense(2, 1, seed=0), Sigmoid()])
    binary.compile(optimizer="sgd", loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        binary.fit(x, [0, 1, 2, 1], verbose=0)


def test_fit_on_a_network_without_parameters():
    net = Network([ReLU()])
    net.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="no parameters"):
        net.fit(np.ones((2, 1)), np.ones(2), verbose=0)


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


# -- metrics ----------------------------------------------------------------------------------------


def test_accuracy_functions_by_hand():
    from minidl import metrics

    assert metrics.binary_accuracy([1, 0, 1, 0], [[0.9], [0.2], [0.4], [0.6]]) == 0.5
    assert metrics.binary_accuracy([1, 0], [[0.3], [-0.1]], threshold=0.0) == 1.0
    probabilities = [[0.2, 0.8], [0.3, 0.7], [0.4, 0.6]]
    assert metrics.categorical_accuracy([[0, 1], [1, 0], [0, 1]], probabilities) == 2 / 3
    assert metrics.sparse_categorical_accuracy([1, 0, 1], probabilities) == 2 / 3
    assert metrics.sparse_categorical_accuracy([[1], [0]], [[0.2, 0.8], [0.9, 0.1]]) == 1.0
    with pytest.raises(ValueError, match="shape"):
        metrics.sparse_categorical_accuracy([1, 0, 1], [[0.2, 0.8], [0.3, 0.7]])


def test_accuracy_by_name_follows_the_loss():
    x = np.array([[2.0], [-1.0], [0.5], [-3.0]])
    y = np.array([1.0, 0.0, 0.0, 0.0])
    # Logits out (no Sigmoid), from_logits=True: a positive logit means class 1.
    net = Network([Dense(1, 1, weight_init=[[1.0]], bias_init="zeros")])
    from minidl import BinaryCrossEntropy

    net.compile(optimizer="sgd", loss=BinaryCrossEntropy(from_logits=True), metrics=["accuracy"])
    assert net.evaluate(x, y)["accuracy"] == 0.75  # 0.5 -> class 1, wrong
    net2 = Network([Dense(1, 1, weight_init=[[1.0]], bias_init="zeros"), Sigmoid()])
    net2.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy", "mse"])
    result = net2.evaluate(x, y)
    assert result["accuracy"] == 0.75
    p = 1 / (1 + np.exp(-x[:, 0]))
    assert result["mse"] == pytest.approx(np.mean((p - y) ** 2), rel=1e-12)
    assert result["loss"] == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rel=1e-12)


def test_evaluate_by_default_agrees_exactly_with_fits_val_loss():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 3)), rng.normal(size=(200, 1))
    network = Network([Dense(3, 4, seed=0), ReLU(), Dense(4, 1, seed=1)])
    network.compile(optimizer="sgd", loss="mse")
    history = network.fit(x, y, epochs=1, batch_size=32, validation_split=0.25, verbose=0, seed=0)
    assert network.evaluate(x[150:], y[150:])["loss"] == history.history["val_loss"][-1]
