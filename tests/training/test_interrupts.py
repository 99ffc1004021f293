"""Ctrl-C during fit (minidl/training/interrupts.py): whole updates, whole saves, then stop."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import SGD, Adam, ModelCheckpoint, Network
from minidl.io import archive
from minidl.training import Callback
from minidl.training.interrupts import InterruptGuard
from tests.training.helpers import NOISY_X, NOISY_Y, batchnorm_net

X, Y = NOISY_X, NOISY_Y  # 60 noisy samples, 4 features (tests/training/helpers.py)


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

    def update(parameter, grad, state):
        original(parameter, grad, state)
        calls["n"] += 1
        if calls["n"] == at_step * len(network.parameters()) + 1:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)

    optimizer._update = update


@pytest.fixture
def default_sigint():
    """Python's default Ctrl-C handler (what a script or a notebook has), whatever pytest set."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("times", [1, 2])
def test_ctrl_c_during_the_optimizer_step_leaves_whole_parameters(default_sigint, times: int) -> None:
    reference, recorder = batchnorm_net(Adam(0.01)), Snapshots()
    reference.fit(X, Y, epochs=2, batch_size=8, seed=4, verbose=0, callbacks=[recorder])

    network = batchnorm_net(Adam(0.01))
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
    network = batchnorm_net(Adam(0.01))
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

    network = batchnorm_net(SGD(0.01))
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
    network = batchnorm_net(SGD(0.01))
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
        with InterruptGuard() as guard:
            results.append(guard.active)

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
    network = batchnorm_net(SGD(0.05), dropout=False)
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
    reference = batchnorm_net(SGD(0.01))
    reference.fit(X, Y, epochs=1, batch_size=8, seed=2, verbose=0, callbacks=[recorder])
    network, callback = batchnorm_net(SGD(0.01)), CtrlCAfterBatch()
    with pytest.raises(KeyboardInterrupt):
        network.fit(X, Y, epochs=1, batch_size=8, seed=2, verbose=0, callbacks=[callback])
    assert callback.batches_seen == 5 and network.optimizer.iterations == 5
    values = [p.value for p in network.parameters()]
    for value, expected in zip(values, recorder.after_batch[4], strict=True):
        np.testing.assert_array_equal(value, expected)
    assert network.history.epoch == []
    assert "after 0 complete epochs" in network.stop_reason
