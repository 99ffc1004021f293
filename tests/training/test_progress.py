"""Progress output of fit in each verbose mode, captured."""

import io
import re
import sys

import numpy as np
import pytest

from minidl import SGD, Dense, EarlyStopping, Network

X = np.arange(8.0).reshape(8, 1) / 8


Y = 2 * X[:, 0] + 1


def run(verbose, **kwargs):
    net = Network([Dense(1, 1, seed=0)])
    net.compile(optimizer=SGD(0.1), loss="mse", metrics=["mae"])
    return net.fit(X, Y, epochs=3, batch_size=2, validation_data=(X[:2], Y[:2]), verbose=verbose,
                   shuffle=False, **kwargs)


def test_verbose_0_is_silent(capsys):
    run(0)
    assert capsys.readouterr().out == ""


EPOCH_LINE = re.compile(
    r"Epoch (\d+)/3 - 4 batches - \d+\.\ds - loss: \d+\.\d{4} - mae: \d+\.\d{4}"
    r" - val_loss: \d+\.\d{4} - val_mae: \d+\.\d{4}"
)


@pytest.mark.parametrize("verbose", [1, 2])
def test_one_line_per_epoch_when_not_a_terminal(capsys, verbose):
    # pytest's captured stdout is not a terminal, so verbose=1 prints like verbose=2.
    history = run(verbose)
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


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_verbose_1_on_a_terminal_draws_a_live_bar(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    run(1)
    out = terminal.getvalue()
    assert out.count("\n") == 3  # one finished line per epoch
    for epoch in range(1, 4):
        epoch_text = out.split("\n")[epoch - 1]
        frames = epoch_text.split("\r")[1:]
        first = rf"Epoch {epoch}/3 1/4 \[=======>\.+\] ETA \d+\.\ds - loss: \d+\.\d{{4}} - mae: "
        assert re.match(first, frames[0]), frames[0]
        assert any(re.match(rf"Epoch {epoch}/3 4/4 \[={{30}}\] ETA 0\.0s", frame) for frame in frames)
        assert EPOCH_LINE.fullmatch(frames[-1].rstrip()), frames[-1]


def test_verbose_2_on_a_terminal_prints_no_bar(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    run(2)
    out = terminal.getvalue()
    assert "\r" not in out and "ETA" not in out
    assert len(out.splitlines()) == 3


def test_stop_reason_is_printed(capsys):
    run(2, callbacks=[EarlyStopping(monitor="loss", min_delta=100.0)])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3  # epoch 1 improves on nothing, epoch 2 misses, then the reason
    assert lines[-1].startswith("early stopping: loss did not improve by more than 100")


def test_small_numbers_in_scientific_notation(capsys):
    net = Network([Dense(1, 1, weight_init=[[2.0]], bias_init=[1.0])])
    net.compile(optimizer=SGD(0.0), loss="mse")
    net.fit(X, Y + 1e-5, epochs=1, verbose=2)
    assert "loss: 1.0000e-10" in capsys.readouterr().out
