"""Checkpoints, exact resumption of training, and Ctrl-C during fit."""

from __future__ import annotations

import json
import os
import signal
import threading
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
    ModelCheckpoint,
    ModelFileError,
    Network,
    ReLU,
    RMSprop,
    Softmax,
)
from minidl.io import archive, saving
from minidl.training import Callback
from minidl.training.interrupts import InterruptGuard

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 4))
Y = X[:, :1] * 2.0 - X[:, 1:2] + 0.1 * RNG.normal(size=(60, 1))


def make_network(dropout: bool = True) -> Network:
    layers = [Dense(4, 8, seed=1), BatchNorm(8), ReLU()]
    if dropout:
        layers.append(Dropout(0.25, seed=5))
    layers.append(Dense(8, 1, seed=2))
    return Network(layers)


def compiled(optimizer, dropout: bool = True) -> Network:
    network = make_network(dropout)
    network.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return network


def assert_same_state(a: Network, b: Network) -> None:
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)
    for layer_a, layer_b in zip(a, b, strict=True):
        for key, value in layer_a.state_arrays().items():
            np.testing.assert_array_equal(value, layer_b.state_arrays()[key])


@pytest.fixture
def default_sigint():
    """Python's default Ctrl-C handler (what a script or a notebook has), whatever pytest set."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


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


# -- crafted training sections ----------------------------------------------------------------
def _parts(path: Path):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    return json.loads(arrays.pop("__minidl__").tobytes()), arrays


def _write(path: Path, header, arrays) -> None:
    saving.write_model_file(path, header, arrays)


@pytest.fixture
def trained_file(tmp_path: Path) -> Path:
    network = compiled(Adam(0.01))
    network.fit(X, Y, epochs=1, batch_size=16, seed=0, verbose=0)
    path = tmp_path / "trained.npz"
    network.save(path)
    return path


@pytest.mark.parametrize(("edit", "message"), [
    (lambda h, a: h["training"]["optimizer"].update(type="os.system"), "unknown optimizer 'os.system'"),
    (lambda h, a: h["training"]["loss"].update(type="evil"),
     "unknown loss 'evil'; known: binary_crossentropy"),
    (lambda h, a: h["training"]["optimizer"]["config"].update(learning_rate=-1.0),
     "could not rebuild the optimizer 'adam'.*learning_rate must be in"),
    (lambda h, a: h["training"]["optimizer"]["config"].update(shell="rm"),
     r"config has keys \['shell'\] that Adam\(\) does not accept"),
    (lambda h, a: h["training"].update(metrics=["steal_data"]),
     "could not compile.*unknown metric 'steal_data'"),
    (lambda h, a: h["training"].update(fit_rng={"bit_generator": "MT19937"}),
     r"fit_rng: bit generator must be one of \['PCG64', 'PCG64DXSM'\]; got 'MT19937'"),
    (lambda h, a: h["training"].update(fit_rng={"bit_generator": "PCG64", "state": "x"}),
     "fit_rng: invalid generator state"),
    (lambda h, a: h["training"]["optimizer"]["state"][0].update(key="../../etc"),
     "optimizer state key must look like 'iterations' or '<i>/<slot>'"),
    (lambda h, a: a.update({"optimizer.1": np.ones(3, dtype=np.int64)}),
     "'optimizer.1': the header says shape"),
    (lambda h, a: a.update({"optimizer.0": np.array(-5, dtype=np.int64)}),
     "invalid optimizer state.*non-negative integer"),
    (lambda h, a: h["layers"][3].update(rng=[]),
     r"layer 3 \(Dropout\): the file has 0 random generator states"),
    (lambda h, a: h["training"].update(extra=1), r"training section has unexpected keys \['extra'\]"),
])
def test_crafted_training_sections_are_refused(trained_file: Path, edit, message: str) -> None:
    header, arrays = _parts(trained_file)
    edit(header, arrays)
    _write(trained_file, header, arrays)
    with pytest.raises(ModelFileError, match=message):
        minidl.load(trained_file)


# -- ModelCheckpoint ------------------------------------------------------------------------------
class RecordPredictions(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.predictions: list[np.ndarray] = []

    def on_epoch_end(self, epoch, logs):
        self.predictions.append(self.network.predict(X))


def test_save_best_only_keeps_the_epoch_with_the_lowest_val_loss(tmp_path: Path) -> None:
    path = tmp_path / "best.npz"
    network = compiled(SGD(0.2), dropout=False)
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
    network = compiled(SGD(0.1), dropout=False)
    checkpoint = ModelCheckpoint(tmp_path / "model-{epoch:02d}-{loss:.3f}.npz", monitor="loss",
                                 save_best_only=False)
    history = network.fit(X, Y, epochs=3, batch_size=30, seed=0, verbose=0, callbacks=[checkpoint])
    expected = [str(tmp_path / f"model-{e + 1:02d}-{loss:.3f}.npz")
                for e, loss in enumerate(history.history["loss"])]
    assert checkpoint.saved == expected
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in expected)
    assert ModelCheckpoint("a.npz", monitor="val_accuracy").mode == "max"


def test_checkpoint_monitor_missing_from_logs_says_so(tmp_path: Path) -> None:
    network = compiled(SGD(0.1), dropout=False)
    with pytest.raises(ValueError, match=r"monitor 'val_loss' is not in the epoch logs \(give fit "
                                         r"validation_split or validation_data\); available: loss, mae"):
        network.fit(X, Y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "m.npz")])


def test_checkpoint_path_with_an_unknown_field_says_so(tmp_path: Path) -> None:
    network = compiled(SGD(0.1), dropout=False)
    checkpoint = ModelCheckpoint(tmp_path / "m-{val_acc}.npz", save_best_only=False)
    with pytest.raises(ValueError, match=r"cannot fill its fields with epoch and the epoch logs "
                                         r"\(loss, mae\)"):
        network.fit(X, Y, epochs=1, verbose=0, callbacks=[checkpoint])


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"path": 3}, TypeError, "ModelCheckpoint path must be a str or os.PathLike; got int"),
    ({"monitor": ""}, TypeError, "ModelCheckpoint monitor must be a name such as 'val_loss'; got ''"),
    ({"save_best_only": "yes"}, TypeError, "ModelCheckpoint save_best_only must be True or False; got 'yes'"),
    ({"mode": "best"}, ValueError, "ModelCheckpoint mode must be 'auto', 'min' or 'max'; got 'best'"),
    ({"verbose": 2}, ValueError, "ModelCheckpoint verbose must be 0 or 1; got 2"),
])
def test_checkpoint_arguments_are_checked(kwargs, error, message) -> None:
    arguments = {"path": "m.npz", **kwargs}
    with pytest.raises(error) as info:
        ModelCheckpoint(**arguments)
    assert message in str(info.value)


def test_checkpoint_prints_when_verbose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    network = compiled(SGD(0.1), dropout=False)
    network.fit(X, Y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "m.npz", monitor="loss",
                                                                      verbose=1)])
    assert capsys.readouterr().out.startswith(f"ModelCheckpoint: epoch 1: saved {tmp_path / 'm.npz'} (loss ")


# -- Ctrl-C during fit -------------------------------------------------------------------------------
class Snapshots(Callback):
    """The parameters after every batch, for comparison with an interrupted run."""

    def __init__(self) -> None:
        super().__init__()
        self.after_batch: list[list[np.ndarray]] = []

    def on_batch_end(self, batch, logs):
        self.after_batch.append([p.value.copy() for p in self.network.parameters()])


def sigint_inside_step(network: Network, at_step: int, times: int = 1) -> None:
    """Deliver SIGINT in the middle of optimizer step ``at_step`` (after its first parameter)."""
    optimizer = network.optimizer
    original = optimizer._update
    calls = {"n": 0}

    def update(parameter, state):
        original(parameter, state)
        calls["n"] += 1
        if calls["n"] == at_step * len(network.parameters()) + 1:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)

    optimizer._update = update


@pytest.mark.parametrize("times", [1, 2])
def test_ctrl_c_during_the_optimizer_step_leaves_whole_parameters(default_sigint, times: int) -> None:
    reference, recorder = compiled(Adam(0.01)), Snapshots()
    reference.fit(X, Y, epochs=2, batch_size=8, seed=4, verbose=0, callbacks=[recorder])

    network = compiled(Adam(0.01))
    sigint_inside_step(network, at_step=10, times=times)  # batch 3 of the second epoch (8 per epoch)
    with pytest.raises(KeyboardInterrupt):
        network.fit(X, Y, epochs=2, batch_size=8, seed=4, verbose=0)
    # Exactly 11 complete steps, every parameter updated by each of them:
    assert network.optimizer.iterations == 11
    assert all(state.t == 11 for state in network.optimizer._state.values())
    values = [p.value for p in network.parameters()]
    for value, expected in zip(values, recorder.after_batch[10], strict=True):
        np.testing.assert_array_equal(value, expected)
    assert network.history.epoch == [0]
    assert len(network.history.history["loss"]) == 1
    assert "interrupted (KeyboardInterrupt) after 1 complete epochs" in network.stop_reason
    assert network.history.stop_reason == network.stop_reason
    assert network.training  # the layers' modes were restored
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_the_guard_the_same_ctrl_c_would_half_update(default_sigint) -> None:
    """The control experiment: with a foreign SIGINT handler fit cannot hold Ctrl-C."""

    def raise_at_once(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, raise_at_once)
    network = compiled(Adam(0.01))
    sigint_inside_step(network, at_step=10)
    with pytest.raises(KeyboardInterrupt):
        network.fit(X, Y, epochs=2, batch_size=8, seed=4, verbose=0)
    counts = sorted(state.t for state in network.optimizer._state.values())
    assert counts[0] == 10 and counts[-1] == 11  # some parameters stepped 11 times, others 10


def test_a_second_ctrl_c_outside_the_step_raises_at_once(default_sigint) -> None:
    class DoubleCtrlC(Callback):
        def on_batch_end(self, batch, logs):
            if batch == 2:
                os.kill(os.getpid(), signal.SIGINT)  # held
                os.kill(os.getpid(), signal.SIGINT)  # raises here
                raise AssertionError("not reached")

    network = compiled(SGD(0.01))
    with pytest.raises(KeyboardInterrupt):
        network.fit(X, Y, epochs=1, batch_size=8, seed=0, verbose=0, callbacks=[DoubleCtrlC()])
    assert network.optimizer.iterations == 3


def test_ctrl_c_during_a_checkpoint_save_finishes_the_save(default_sigint, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ckpt.npz"
    real_write = archive.write_member
    calls = {"n": 0}

    def write_with_ctrl_c(archive, member, value):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGINT)
        real_write(archive, member, value)

    monkeypatch.setattr(archive, "write_member", write_with_ctrl_c)
    network = compiled(SGD(0.01))
    with pytest.raises(KeyboardInterrupt):
        network.fit(X, Y, epochs=3, batch_size=8, seed=0, verbose=0,
                    callbacks=[ModelCheckpoint(path, save_best_only=False)])
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    loaded = minidl.load(path)  # complete and valid
    assert loaded.optimizer.iterations == 8  # the checkpoint of epoch 1
    assert network.history.epoch == [0]


def test_guard_is_inactive_outside_the_main_thread() -> None:
    results = []

    def work():
        guard = InterruptGuard()
        guard.install()
        results.append(guard.active)
        guard.restore()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert results == [False]


def test_guard_raises_a_pending_ctrl_c_when_the_block_ends(default_sigint) -> None:
    with pytest.raises(KeyboardInterrupt):
        with InterruptGuard() as guard:
            os.kill(os.getpid(), signal.SIGINT)
            assert guard.pending
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_fit_in_a_thread_still_trains() -> None:
    network = compiled(SGD(0.05), dropout=False)
    thread = threading.Thread(target=lambda: network.fit(X, Y, epochs=2, batch_size=16, seed=0, verbose=0))
    thread.start()
    thread.join()
    assert len(network.history.epoch) == 2


def test_ctrl_c_between_batches_stops_before_the_next_batch(default_sigint) -> None:
    class CtrlCAfterBatch(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.batches_seen = 0

        def on_batch_end(self, batch, logs):
            self.batches_seen += 1
            if self.batches_seen == 5:
                os.kill(os.getpid(), signal.SIGINT)

    recorder = Snapshots()
    reference = compiled(SGD(0.01))
    reference.fit(X, Y, epochs=1, batch_size=8, seed=2, verbose=0, callbacks=[recorder])
    network, callback = compiled(SGD(0.01)), CtrlCAfterBatch()
    with pytest.raises(KeyboardInterrupt):
        network.fit(X, Y, epochs=1, batch_size=8, seed=2, verbose=0, callbacks=[callback])
    assert callback.batches_seen == 5 and network.optimizer.iterations == 5
    values = [p.value for p in network.parameters()]
    for value, expected in zip(values, recorder.after_batch[4], strict=True):
        np.testing.assert_array_equal(value, expected)
    assert network.history.epoch == []
    assert "after 0 complete epochs" in network.stop_reason


def test_a_full_disk_during_a_checkpoint_keeps_the_previous_checkpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ckpt.npz"

    class FillDiskAfterFirstEpoch(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 0:
                def full(archive, member, value):
                    raise OSError(28, "No space left on device")
                monkeypatch.setattr(archive, "write_member", full)

    network = compiled(SGD(0.01))
    with pytest.raises(OSError, match="No space left on device"):
        network.fit(X, Y, epochs=3, batch_size=8, seed=0, verbose=0,
                    callbacks=[ModelCheckpoint(path, save_best_only=False), FillDiskAfterFirstEpoch()])
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    assert minidl.load(path).optimizer.iterations == 8  # epoch 1's checkpoint, whole
    assert network.history.epoch == [0, 1]  # epoch 2 completed; only its checkpoint failed
