"""Network's training properties are ordinary typed properties (wave 2), with the same values."""

import typing

import pytest

from minidl import SGD, Dense, History, MeanSquaredError, Network
from minidl.losses import Loss
from minidl.optimizers import Optimizer


@pytest.mark.parametrize(("name", "annotation"), [
    ("loss", Loss | None), ("optimizer", Optimizer | None), ("history", History | None),
    ("stop_reason", str | None), ("metrics_names", list[str]),
])
def test_each_training_property_is_typed(name, annotation):
    getter = getattr(Network, name).fget
    assert typing.get_type_hints(getter)["return"] == annotation
    assert getter.__doc__


def test_the_properties_before_and_after_compile():
    net = Network([Dense(1, 1)])
    assert (net.loss, net.optimizer, net.history, net.stop_reason) == (None, None, None, None)
    assert net.metrics_names == ["loss"]
    optimizer = SGD(0.1)
    net.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    assert net.optimizer is optimizer
    assert isinstance(net.loss, MeanSquaredError)
    assert net.metrics_names == ["loss", "mae"]
    with pytest.raises(AttributeError):
        net.loss = MeanSquaredError()
