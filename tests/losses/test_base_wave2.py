"""A user loss may follow either contract: the template (compute/gradient) or its own forward/backward."""

import copy

import numpy as np
import pytest

from minidl import Dense, Loss, MeanSquaredError, Network, check_gradients


class TemplateSquaredError(Loss):
    """The template: compute/gradient on a batch; forward checks the target and adds the batch axis."""

    def compute(self, predicted, target):
        self.error = predicted - target
        return float((self.error**2).sum())

    def gradient(self):
        return 2.0 * self.error


class OldStyleSquaredError(Loss):
    """The contract before the redesign: forward(predicted, actual) and backward() written by hand."""

    def forward(self, predicted, actual):
        self.error = predicted - np.asarray(actual, dtype=float)
        return float((self.error**2).sum())

    def backward(self):
        return 2.0 * self.error


class NeitherContract(Loss):
    """Writes none of the four methods."""


class HalfTemplate(Loss):
    """Writes compute but not gradient: half of a contract is not a contract."""

    def compute(self, predicted, target):
        return 0.0


class MixedHalves(Loss):
    """Overrides forward and writes gradient: a half of each contract."""

    def forward(self, predicted, actual):
        return 0.0

    def gradient(self):
        return np.zeros(1)


@pytest.mark.parametrize("make", [TemplateSquaredError, OldStyleSquaredError])
def test_both_contracts_give_the_loss_and_gradient_by_hand_through_forward_and_call(make):
    loss = make()
    assert loss.forward(np.array([[9.0], [3.0]]), np.array([[3.0], [3.0]])) == 36.0  # 6**2 + 0**2
    np.testing.assert_array_equal(loss.backward(), [[12.0], [0.0]])
    assert loss(np.array([[1.0], [5.0]]), np.array([[3.0], [3.0]])) == 8.0  # __call__ runs forward
    np.testing.assert_array_equal(loss.backward(), [[-4.0], [4.0]])


def test_the_template_gets_the_target_checks_and_the_old_style_keeps_its_own_forward():
    with pytest.raises(ValueError, match=r"TemplateSquaredError: predicted has shape \(3, 2\)"):
        TemplateSquaredError().forward(np.ones((3, 2)), np.ones(3))
    old = OldStyleSquaredError()
    assert old(np.ones((3, 2)), np.zeros((3, 2))) == 6.0  # its own forward runs, not Loss.forward
    assert old.backward().shape == (3, 2)


def test_an_old_style_loss_trains_a_network_and_passes_check_gradients():
    network = Network([Dense(1, 1, weight_init=[[0.5]], bias_init="zeros")])
    network.compile(loss=OldStyleSquaredError(), optimizer="sgd")
    x, y = np.array([[1.0], [2.0]]), np.array([[2.0], [4.0]])
    network.fit(x, y, epochs=20, batch_size=2, verbose=0)  # y = 2 x: the weight goes from 0.5 to ~2
    assert float(network.forward(np.array([[1.0]]))[0, 0]) == pytest.approx(2.0, abs=0.2)
    predicted, target = np.array([[0.3], [-1.2]]), np.array([[1.0], [0.5]])
    assert check_gradients(OldStyleSquaredError(), predicted, target=target).passed


@pytest.mark.parametrize("make", [NeitherContract, HalfTemplate, MixedHalves])
def test_a_loss_with_neither_contract_complete_is_refused_at_construction_naming_the_methods(make):
    expected = rf"^{make.__name__} needs compute\(\) and gradient\(\) \(or forward\(\) and backward\(\)\)$"
    with pytest.raises(TypeError, match=expected):
        make()


def test_a_subclass_of_a_built_in_loss_that_overrides_only_forward_is_still_complete():
    class LoggedMSE(MeanSquaredError):
        def forward(self, predicted, actual):
            self.calls = getattr(self, "calls", 0) + 1
            return super().forward(predicted, actual)

    loss = LoggedMSE()
    assert loss(np.array([[3.0]]), [1.0]) == 4.0 and loss.calls == 1
    np.testing.assert_array_equal(loss.backward(), [[4.0]])
    assert copy.deepcopy(loss).calls == 1  # copying (as check_gradients does) builds through __new__
