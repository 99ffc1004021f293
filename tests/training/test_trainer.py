"""The Trainer: compile makes one object holding the training state; Network's properties read it;
compile's names, train_step, loss_and_backward, evaluate, the non-finite recovery."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import minidl
from minidl import (
    SGD,
    Adam,
    BinaryCrossEntropy,
    Callback,
    Dense,
    Identity,
    Layer,
    MeanSquaredError,
    Network,
    ReLU,
    Sigmoid,
    Softmax,
    SparseCategoricalCrossEntropy,
    Tanh,
)
from minidl.training import Trainer
from tests.gradcheck_broken import InnerDense, LazyScale, ListScale
from tests.messages import raises
from tests.training.helpers import F32, X_TRAIN, Y_TRAIN, changed, compiled_network, linear_data, network

X = np.linspace(0.0, 1.0, 8)[:, None]
Y = 3.0 * X[:, 0] + 1.0


def compiled(**kwargs) -> Network:
    net = Network([Dense(1, 1, seed=0)])
    net.compile(optimizer=SGD(0.1), loss="mse", **kwargs)
    return net


def test_fit_with_zero_epochs_trains_nothing_and_returns_an_empty_history_as_keras(capsys):
    net = compiled()
    before = [parameter.value.copy() for parameter in net.parameters()]
    history = net.fit(X, Y, epochs=0, verbose=2, validation_split=0.25)
    assert (history.history, history.epoch, history.stop_reason) == ({}, [], None) and net.history is history
    assert all(np.array_equal(p.value, b) for p, b in zip(net.parameters(), before, strict=True))
    assert net.optimizer.iterations == 0 and capsys.readouterr().out == ""
    with pytest.raises(ValueError, match=r"^fit epochs must be an integer >= 0; got -1$"):
        net.fit(X, Y, epochs=-1, verbose=0)


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


@pytest.mark.parametrize("method", ["fit", "evaluate", "train_step"])
def test_training_before_compile_says_to_compile(method: str) -> None:
    call = {"fit": lambda net: net.fit(X_TRAIN, Y_TRAIN, verbose=0),
            "evaluate": lambda net: net.evaluate(X_TRAIN, Y_TRAIN),
            "train_step": lambda net: net.train_step(X_TRAIN, Y_TRAIN)}[method]
    raises(RuntimeError, lambda: call(network()), f"{method}() needs a compiled network",
           "network.compile(optimizer=..., loss=...)")


@pytest.mark.parametrize(("kwargs", "error", "fragments"), [
    ({"optimizer": "adma", "loss": "mse"}, ValueError,
     ["unknown optimizer 'adma'", "'sgd', 'rmsprop', 'adam', 'adamw'"]),
    ({"optimizer": 3, "loss": "mse"}, TypeError,
     ["optimizer must be a name or an Optimizer object", "got int"]),
    ({"optimizer": "sgd", "loss": "mse2"}, ValueError, ["unknown loss 'mse2'", "'mean_squared_error'"]),
    ({"optimizer": "sgd", "loss": 3}, TypeError, ["loss must be a name or a Loss object", "got int"]),
    ({"optimizer": "sgd"}, ValueError, ["compile needs a loss", "loss='mse'"]),
    ({"optimizer": "sgd", "loss": "mse", "metrics": ["acc2"]}, ValueError,
     ["unknown metric 'acc2'", "'accuracy'"]),
    ({"optimizer": "sgd", "loss": "mse", "metrics": "mae"}, TypeError,
     ["compile metrics must be a list of names or functions", "got 'mae'"]),
    ({"optimizer": "sgd", "loss": "mse", "metrics": ["mae", "mae"]}, ValueError,
     ["names must be unique", "got ['mae', 'mae']"]),
])
def test_compile_refuses_unknown_names_and_types(kwargs: dict, error: type[Exception],
                                                 fragments: list[str]) -> None:
    raises(error, lambda: network().compile(**kwargs), *fragments)


@pytest.mark.parametrize("method", ["evaluate", "train_step"])
def test_evaluate_and_train_step_refuse_nan_targets(method: str) -> None:
    net = compiled_network()
    bad_y = changed(Y_TRAIN, (0,), np.nan)
    raises(ValueError, lambda: getattr(net, method)(X_TRAIN, bad_y), f"{method} y",
     "must be finite", "got nan")


def test_a_diverging_run_stops_itself_and_keeps_finite_weights() -> None:
    net = compiled_network(learning_rate=10.0)
    with pytest.warns(RuntimeWarning, match="stopped: the training loss became"), \
            np.errstate(over="ignore", invalid="ignore"):
        history = net.fit(X_TRAIN * 100, Y_TRAIN * 100, epochs=50, batch_size=8, seed=0, verbose=0)
    assert len(history.epoch) < 50
    assert net.stop_reason is not None and "try a smaller learning rate" in net.stop_reason
    assert history.stop_reason == net.stop_reason
    assert all(np.all(np.isfinite(p.value)) for p in net.parameters())


def test_a_non_finite_loss_on_the_first_batch_does_not_blame_the_learning_rate() -> None:
    # It advised "try a smaller learning rate" though no update had been applied yet
    net = Network([Dense(1, 1, weight_init=[[1e200]], bias_init="zeros")])
    net.compile(optimizer=SGD(0.1), loss="mse")
    with pytest.warns(RuntimeWarning, match="stopped"), np.errstate(over="ignore"):
        net.fit(np.array([[1e200], [1.0]]), np.zeros(2), batch_size=2, verbose=0)
    reason = net.stop_reason
    assert reason.startswith("stopped: the training loss became inf at epoch 1, batch 1;")
    assert "no update had been applied yet, so the learning rate is not the cause" in reason
    assert "the inputs and the weights fit started from produce it" in reason
    assert "smaller learning rate" not in reason and net.history.stop_reason == reason


def test_a_non_finite_first_batch_after_earlier_updates_keeps_the_learning_rate_advice() -> None:
    # A second fit said "no update had been applied yet" after the first fit's updates
    net = Network([Dense(1, 1, weight_init=[[1.0]], bias_init="zeros")])
    net.compile(optimizer=SGD(0.1), loss="mse")
    net.fit(np.ones((2, 1)), np.zeros(2), batch_size=2, verbose=0)
    with pytest.warns(RuntimeWarning, match="stopped"), np.errstate(over="ignore"):
        net.fit(np.array([[1e200], [1.0]]), np.zeros(2), batch_size=2, verbose=0)
    assert "(try a smaller learning rate)" in net.stop_reason and "no update" not in net.stop_reason


def test_evaluate_and_train_step_check_sizes_and_batch_size() -> None:
    net = compiled_network()
    raises(ValueError, lambda: net.evaluate(X_TRAIN, Y_TRAIN, batch_size=0), "evaluate batch_size",
           "positive integer", "got 0")
    raises(ValueError, lambda: net.evaluate(X_TRAIN, Y_TRAIN[:5]), "evaluate: x has 20 samples",
           "y has 5 samples")
    raises(ValueError, lambda: net.train_step(X_TRAIN, np.ones((20, 2))), "predicted has shape (20, 1)",
           "actual has shape (20, 2)")
    raises(ValueError, lambda: net.train_step(X_TRAIN[:, :2], Y_TRAIN), "Dense 'dense'",
           "expected 3 input features", "got 2")


def _float32_batch(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_explicit_float32_training_step_keeps_float32_end_to_end() -> None:
    net = Network([Dense(4, 8, dtype=np.float32, seed=0), ReLU(), Dense(8, 3, dtype=np.float32, seed=1)])
    loss = SparseCategoricalCrossEntropy(from_logits=True)
    optimizer = Adam(0.01)
    x, labels = _float32_batch((6, 4)), np.array([0, 1, 2, 0, 1, 2])
    first = None
    for _ in range(20):
        out = net.forward(x)
        assert out.dtype == F32
        value = loss.forward(out, labels)
        first = value if first is None else first
        grad = loss.backward()
        assert grad.dtype == F32
        assert net.backward(grad).dtype == F32
        optimizer.step(net.parameters())
    assert all(p.value.dtype == F32 and p.grad.dtype == F32 for p in net.parameters())
    assert value < first  # it did learn


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



class EpochStarts(Callback):
    """Keeps each epoch's starting parameters and state arrays; can set a weight to inf in epoch 3."""

    def __init__(self, poison: bool) -> None:
        super().__init__()
        self.poison, self.starts = poison, []

    def on_epoch_begin(self, epoch, logs):
        self.starts.append([array.copy() for array in self.arrays()])

    def on_batch_end(self, batch, logs):
        if self.poison and len(self.starts) == 3 and batch == 0:
            self.network[0].weight.value[0, 0] = np.inf

    def arrays(self):
        return [p.value for p in self.network.parameters()] + list(self.network[1].state_arrays().values())


@pytest.mark.parametrize(("poison", "fragment"), [
    (False, "epoch 1, batch 5; that batch's forward had already updated the state arrays of BatchNorm "
            "'batchnorm' (running_mean, running_var), so they and the parameters of the start of the epoch "
            "were restored and the optimizer's state was reset"),
    (True, "epoch 3, batch 2; the parameters or the state arrays of BatchNorm 'batchnorm' (running_mean, "
           "running_var) had turned non-finite, so those of the start of the epoch were restored"),
], ids=["nan-loss", "non-finite-parameters"])
def test_a_stop_restores_batchnorm_s_running_statistics_with_the_parameters(poison, fragment):
    # A batch with a non-finite loss has already moved the running statistics in its forward pass.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 4))
    y = (x[:, 0] + x[:, 1] > 0) * (1.0 if poison else 100.0)
    net = Network([Dense(4, 8, seed=0), minidl.BatchNorm(8), ReLU(), Dense(8, 1, seed=1)])
    net.compile(SGD(learning_rate=0.01 if poison else 10.0), "mse")
    starts = EpochStarts(poison)
    with pytest.warns(RuntimeWarning, match="restored"), np.errstate(over="ignore", invalid="ignore"):
        net.fit(x, y, epochs=20, batch_size=8, seed=0, verbose=0, callbacks=[starts])
    assert fragment in net.stop_reason
    for saved, array in zip(starts.starts[-1], starts.arrays(), strict=True):
        np.testing.assert_array_equal(array, saved)
    assert np.isfinite(net.predict(x)).all()


class Counter(Layer):
    """Counts its training forwards; its state_arrays() makes new arrays, load_state_arrays reads them."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def forward(self, x):
        self.count += self.training
        return x

    def backward(self, grad_y):
        return grad_y

    def state_arrays(self):
        return {"count": np.array([self.count])}

    def load_state_arrays(self, arrays):
        self.count = int(arrays["count"][0])


def test_a_stop_restores_a_layer_s_state_through_its_own_load_state_arrays():
    x = np.random.default_rng(0).standard_normal((40, 3)) * 1e3
    counter = Counter()
    net = Network([Dense(3, 1, seed=0), counter])
    net.compile(SGD(1e3), "mse")
    with pytest.warns(RuntimeWarning, match="restored"), np.errstate(over="ignore", invalid="ignore"):
        net.fit(x, x[:, :1] * 1e3, epochs=5, batch_size=8, verbose=0)
    epochs_done = len(net.history.history.get("loss", []))
    assert counter.count == 5 * epochs_done  # the start of the stopped epoch: 5 batches an epoch


def test_a_state_array_that_turns_non_finite_while_the_loss_stays_finite_stops_fit():
    # In training mode BatchNorm normalises with the batch's own statistics, so the loss stays finite
    # while its running variance of inputs near float32's largest number overflows to inf.
    rng = np.random.default_rng(0)
    x, y = (rng.standard_normal((64, 3)) * 1e20).astype(np.float32), rng.standard_normal((64, 1))
    net = Network([minidl.BatchNorm(3), Dense(3, 1, seed=0)]).astype(np.float32)
    net.compile("sgd", "mse")
    with pytest.warns(RuntimeWarning, match="restored"), np.errstate(over="ignore", invalid="ignore"):
        history = net.fit(x, y, epochs=3, verbose=0)
    assert "the parameters or state arrays became non-finite during epoch 1" in net.stop_reason
    assert history.history == {} and np.isfinite(net[0].running_var).all()


def test_train_step_skips_the_update_on_a_non_finite_loss():
    net = Network([Dense(1, 1, weight_init=[[1e200]], bias_init="zeros")])
    net.compile(optimizer=SGD(0.1), loss="mse")
    with np.errstate(over="ignore"):
        value = net.train_step(np.array([[1e200]]), np.array([0.0]))
    assert value == math.inf
    assert net[0].weight.value[0, 0] == 1e200


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


@pytest.mark.parametrize(("layers", "loss", "fragment"), [
    ([Dense(3, 2, seed=0), Softmax()], minidl.CategoricalCrossEntropy(from_logits=True),
     "CategoricalCrossEntropy(from_logits=True) reads logits, but the network ends in Softmax 'softmax'"),
    ([Dense(3, 2, seed=0), Sigmoid()], minidl.CategoricalCrossEntropy(),
     "CategoricalCrossEntropy: the network ends in Sigmoid 'sigmoid', whose outputs do not sum to 1"),
    ([Dense(3, 1, seed=0), Softmax()], MeanSquaredError(),
     "Softmax 'softmax' normalises a single output unit, so it always gives 1.0"),
], ids=["logits-after-softmax", "categorical-after-sigmoid", "softmax-of-one"])
def test_loss_and_backward_runs_compiles_loss_check(layers, loss, fragment):
    # It trained silently on what compile refuses (loss 0.705 for the first, gradients filled)
    net = Network(layers)
    x, y = np.ones((4, 3)), np.eye(2)[[0, 1, 0, 1]][:, : net[0].weight.value.shape[1]]
    raises(ValueError, lambda: net.loss_and_backward(x, y, loss), fragment)
    assert all(not p.grad.any() for p in net.parameters())


def test_train_step_runs_compiles_loss_check_for_a_loss_set_after_compile():
    net = Network([Dense(3, 2, seed=0), Softmax()])
    net.compile(optimizer="sgd", loss="categorical_crossentropy")
    net.trainer.loss = minidl.CategoricalCrossEntropy(from_logits=True)  # Trainer attributes can be set
    before = [p.value.copy() for p in net.parameters()]
    raises(ValueError, lambda: net.train_step(np.ones((4, 3)), np.eye(2)[[0, 1, 0, 1]]),
           "CategoricalCrossEntropy(from_logits=True) reads logits, but the network ends in Softmax")
    assert all(np.array_equal(b, p.value) for b, p in zip(before, net.parameters(), strict=True))
    # after a train_step too: the step kept the first loss, so it trained on, unchecked
    net.trainer.loss = minidl.CategoricalCrossEntropy()
    net.train_step(np.ones((4, 3)), np.eye(2)[[0, 1, 0, 1]])
    net.trainer.loss = minidl.CategoricalCrossEntropy(from_logits=True)
    raises(ValueError, lambda: net.train_step(np.ones((4, 3)), np.eye(2)[[0, 1, 0, 1]]),
           "CategoricalCrossEntropy(from_logits=True) reads logits, but the network ends in Softmax")


@pytest.mark.parametrize("method", ["train_step", "loss_and_backward"])
def test_train_step_and_loss_and_backward_refuse_targets_beyond_the_networks_dtype(method):
    # They returned inf (numpy's "overflow encountered in cast" the only sign) for y = 1e6 in float16
    net = Network([Dense(1, 1, seed=0, dtype=np.float16)])
    net.compile(optimizer=SGD(0.1), loss="mse")
    raises(ValueError, lambda: getattr(net, method)(np.ones((2, 1)), np.array([1.0, 1e6])),
           "MeanSquaredError: actual holds 1e+06 (in magnitude), beyond the range of float16 (largest 65504)")


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
    with pytest.raises(ValueError, match="valid names: 'sgd', 'rmsprop', 'adam', 'adamw'"):
        net.compile(optimizer="adma", loss="mse")
    with pytest.raises(ValueError, match="valid names: 'accuracy'"):
        net.compile(optimizer="sgd", loss="mse", metrics=["acuracy"])
    with pytest.raises(ValueError, match="needs a loss"):
        net.compile(optimizer="sgd")
    with pytest.raises(TypeError, match="list of names"):
        net.compile(optimizer="sgd", loss="mse", metrics="accuracy")


def test_accuracy_by_name_follows_the_loss():
    x = np.array([[2.0], [-1.0], [0.5], [-3.0]])
    y = np.array([1.0, 0.0, 0.0, 0.0])
    # Logits out (no Sigmoid), from_logits=True: a positive logit means class 1.
    net = Network([Dense(1, 1, weight_init=[[1.0]], bias_init="zeros")])

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


def test_accuracy_on_a_sigmoid_network_is_the_binary_accuracy() -> None:
    net = Network([Dense(1, 1, weight_init=[[1.0]], bias_init="zeros"), Sigmoid()])
    net.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    logs = net.evaluate([[2.0], [-2.0], [3.0]], [1.0, 0.0, 0.0])
    assert logs["accuracy"] == pytest.approx(2 / 3)



@pytest.mark.parametrize(("last", "loss"), [
    (minidl.Softmax, minidl.SparseCategoricalCrossEntropy(from_logits=True)),
    (minidl.Softmax, minidl.CategoricalCrossEntropy(from_logits=True)),
    (minidl.Sigmoid, minidl.BinaryCrossEntropy(from_logits=True)),
])
def test_logits_losses_after_the_activation_that_made_probabilities_are_refused(last, loss):
    network = minidl.Network([minidl.Dense(3, 2), last()])
    name = type(loss).__name__
    raises(ValueError, lambda: network.compile(optimizer="sgd", loss=loss),
           f"{name}(from_logits=True) reads logits, but the network ends in {last.__name__}",
           "use from_logits=False")
    network.compile(optimizer="sgd", loss=type(loss)())  # the probabilities version trains
    assert network.loss.fuses_with(network.layers[-1])


def test_a_softmax_over_one_output_unit_is_refused_at_compile():
    network = minidl.Network([minidl.Dense(3, 1), minidl.Softmax()])
    raises(ValueError, lambda: network.compile(optimizer="sgd", loss="mse"),
           "Softmax 'softmax' normalises a single output unit, so it always gives 1.0",
           "one unit with Sigmoid and binary_crossentropy")
    minidl.Network([minidl.Dense(3, 2), minidl.Softmax()]).compile(optimizer="sgd", loss="mse")


@pytest.mark.parametrize("y", [np.array([0, 1, 1, 0]), np.ones(4)], ids=["labels", "ones"])
def test_a_categorical_crossentropy_over_one_output_unit_is_refused_by_fit(y):
    # Labels 0/1 got "for integer labels use sparse_categorical_crossentropy", which needs two units
    # too; all-ones targets trained (loss 0.47 and falling) and learnt nothing. After a Sigmoid compile
    # refuses it already; on logits (or after a layer of one's own) fit's check is the one that speaks.
    sigmoid = minidl.Network([minidl.Dense(3, 1), minidl.Sigmoid()])
    raises(ValueError, lambda: sigmoid.compile(optimizer="sgd", loss="categorical_crossentropy"),
           "ends in Sigmoid 'sigmoid', whose outputs do not sum to 1", "binary_crossentropy")
    network = minidl.Network([minidl.Dense(3, 1)])
    network.compile(optimizer="sgd", loss=minidl.CategoricalCrossEntropy(from_logits=True))
    x = np.ones((4, 3))
    for run in (lambda: network.fit(x, y, verbose=0), lambda: network.evaluate(x, y)):
        raises(ValueError, run, "categorical_crossentropy over a single output unit",
               "one-hot target is [1]", "one unit with Sigmoid and binary_crossentropy")
    network.compile(optimizer="sgd", loss=minidl.BinaryCrossEntropy(from_logits=True))
    assert len(network.fit(x, y, verbose=0).history["loss"]) == 1


def test_integer_labels_stay_exact_in_a_float16_network():
    # float16 holds integers exactly only up to 2048: label 2049 must not become 2048.
    network = minidl.Network([minidl.Dense(2, 3000, seed=0), minidl.Softmax()]).astype(np.float16)
    network.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, labels = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([2049, 1])
    probabilities = network.predict(x).astype(np.float64)
    assert probabilities[0, 2049] != probabilities[0, 2048]  # so the two labels give different losses
    expected = -np.mean(np.log([probabilities[0, 2049], probabilities[1, 1]]))
    assert network.evaluate(x, labels)["loss"] == pytest.approx(expected, rel=2e-3)  # float16 arithmetic
    assert network.train_step(x, labels) == pytest.approx(expected, rel=2e-3)


@pytest.mark.parametrize(("layers", "loss", "fragment"), [
    ([minidl.Dense(2, 1), minidl.Dropout(0.5)], "binary_crossentropy", "ends in Dropout 'dropout', which"),
    ([minidl.Dense(2, 1), minidl.Sigmoid(), minidl.Dropout(0.5)], "binary_crossentropy", "ends in Dropout"),
    ([minidl.Dense(2, 1), Identity()], "binary_crossentropy", "ends in Dense 'dense'"),
    ([minidl.Conv2D(1, 2, 3), minidl.MaxPool2D(2), minidl.Flatten()], "categorical_crossentropy", "Conv2D"),
    ([minidl.Dense(2, 3), minidl.Sigmoid(), minidl.Dropout(0.5), minidl.Flatten()],
     minidl.BinaryCrossEntropy(from_logits=True), "ends in Sigmoid 'sigmoid', whose outputs are probab"),
])
def test_compile_looks_through_dropout_flatten_and_pooling_to_the_layer_that_made_the_values(layers, loss,
                                                                                             fragment):
    # Dense + Dropout with binary_crossentropy passed compile and failed in training, naming no layer.
    raises(ValueError, lambda: Network(layers).compile(optimizer="sgd", loss=loss), fragment)


@pytest.mark.parametrize("layers", [
    [minidl.Dense(2, 3), Softmax(), Identity()],  # Keras's Activation("linear") after the softmax
    [minidl.Dense(2, 3), Softmax(), minidl.Dropout(0.0)],  # a sweep that switches dropout off
])
def test_compile_takes_probabilities_passed_on_unchanged(layers):
    Network(layers).compile(optimizer="sgd", loss="categorical_crossentropy")


def test_a_sigmoid_then_flatten_still_trains_on_probabilities():
    network = Network([minidl.Conv2D(1, 1, 3, seed=0), Sigmoid(), minidl.Flatten()])
    network.compile(optimizer="sgd", loss="binary_crossentropy")
    x, y = np.ones((2, 1, 3, 3)), np.array([[1.0], [0.0]])
    assert math.isfinite(network.fit(x, y, verbose=0).history["loss"][0])


def test_a_user_loss_of_np_float32_gives_python_floats_to_history_evaluate_and_train_step():
    class Float32Error(minidl.Loss):
        def compute(self, predicted, target):
            self.error = predicted - target
            return np.mean(self.error**2)  # an np.float32 for a float32 network

        def gradient(self):
            return 2.0 * self.error / self.error.size

    network = Network([Dense(2, 1, seed=0)]).astype(np.float32)
    network.compile(optimizer="sgd", loss=Float32Error(), metrics=["mae"])
    x, y = np.ones((4, 2), dtype=np.float32), np.zeros(4)
    history = network.fit(x, y, epochs=2, verbose=0).history
    json.dumps(history)  # failed: "Object of type float32 is not JSON serializable"
    assert {type(value) for values in history.values() for value in values} == {float}
    assert type(network.evaluate(x, y)["loss"]) is float and type(network.train_step(x, y)) is float


@pytest.mark.parametrize(("layer", "fragment"), [
    (ListScale, "ListScale 'listscale': attribute 'weights' holds a Parameter inside a list"),
    (LazyScale, "LazyScale 'lazyscale': the Parameter 'w' did not exist when training started (created in "
                "forward?), so the optimizer would never update it"),
    (InnerDense, "InnerDense 'innerdense': attribute 'inner' holds the layer Dense 'dense'")])
def test_train_step_and_loss_and_backward_refuse_parameters_the_optimizer_would_never_update(layer, fragment):
    # fit refused them after its first backward; train_step and a hand loop trained on without them
    x = np.random.default_rng(0).normal(size=(8, 3))
    net = Network([Dense(3, 3, seed=0), layer(), Dense(3, 1, seed=1)])
    raises(ValueError, lambda: net.loss_and_backward(x, x[:, :1], "mse"), fragment)
    net = Network([Dense(3, 3, seed=0), layer(), Dense(3, 1, seed=1)])
    net.compile(optimizer="sgd", loss="mse")
    for _ in range(2):  # refused again, not let through by the plan kept after the first refusal
        raises(ValueError, lambda: net.train_step(x, x[:, :1]), fragment)


def test_train_step_checks_the_parameters_once_per_plan(monkeypatch):
    net = compiled_network()
    net.train_step(X_TRAIN, Y_TRAIN)
    monkeypatch.setattr(minidl.training.step, "check_parameters_after_backward", lambda *_: pytest.fail())
    net.train_step(X_TRAIN, Y_TRAIN)  # not checked again: no cost per step
