"""The shared Monitor of EarlyStopping and ModelCheckpoint, and the callback list of fit."""

import math

import pytest

from minidl import EarlyStopping, ModelCheckpoint
from minidl.training import Callback, CallbackList, Monitor


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
    expected = r"EarlyStopping monitor 'mae' is not in the epoch logs; available: a, b$"
    with pytest.raises(ValueError, match=expected):
        EarlyStopping(monitor="mae").monitored({"b": 1.0, "a": 2.0})


def test_the_callback_list_calls_in_order_and_only_batch_callbacks_per_batch() -> None:
    calls = []

    class PerEpoch(Callback):
        def on_epoch_end(self, epoch, logs):
            calls.append(("epoch", type(self).__name__))

    class PerBatch(PerEpoch):
        def on_batch_end(self, batch, logs):
            calls.append(("batch", batch))

    first, second = PerEpoch(), PerBatch()
    callbacks = CallbackList([second], first, None)
    assert callbacks.callbacks == [first, second] and callbacks.per_batch == [second]
    callbacks.call("on_epoch_end", 0, {})
    callbacks.batch_end(3, {})
    assert calls == [("epoch", "PerEpoch"), ("epoch", "PerBatch"), ("batch", 3)]
    with pytest.raises(TypeError, match="fit callbacks must be minidl Callback objects; got int"):
        CallbackList([first, 3])
