"""One training step's plan (minidl/training/step.py): which layers a loss is checked against."""

from __future__ import annotations

import numpy as np

from minidl import Flatten, Identity, Network
from tests.messages import raises


def test_a_network_of_layers_that_only_pass_values_on_compiles_and_fit_says_it_has_nothing_to_train():
    # Every layer passes on the values of the one before, so the loss is asked of each in turn.
    network = Network([Flatten(), Identity()])
    network.compile(optimizer="sgd", loss="mse")
    raises(ValueError, lambda: network.fit(np.ones((2, 3)), np.ones((2, 3)), verbose=0),
           "the network has no parameters to train (no layer with weights)")
