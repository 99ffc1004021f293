import numpy as np
import pytest

from minidl import Dense, Identity, Layer, MeanSquaredError, Network, Parameter, ReLU, Sigmoid, Softmax, Tanh
from tests.numeric import numerical_gradient

WEIGHTS_0 = {"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]}


def small_network(seed=0):
    layers = [Dense(3, 4, seed=seed, bias_init="he_normal"), Tanh(), Dense(4, 2, seed=seed + 1), Sigmoid()]
    return Network(layers)


def test_forward_runs_layers_in_order():
    network = Network([Dense(1, 1, use_bias=False, weight_init=[[-2.0]]), ReLU()])
    np.testing.assert_array_equal(network.forward(np.array([[1.0], [-1.0]])), [[0.0], [2.0]])


def test_backward_matches_finite_differences_for_input_and_every_parameter():
    rng = np.random.default_rng(0)
    network, x, target = small_network(), rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    loss = MeanSquaredError()

    def objective():
        return MeanSquaredError().forward(network.forward(x), target)

    loss.forward(network.forward(x), target)
    grad_x = network.backward(loss.backward())
    analytic = [p.grad.copy() for p in network.parameters()]
    np.testing.assert_allclose(grad_x, numerical_gradient(objective, x), rtol=1e-6, atol=1e-9)
    for parameter, grad in zip(network.parameters(), analytic, strict=True):
        np.testing.assert_allclose(grad, numerical_gradient(objective, parameter.value), rtol=1e-6, atol=1e-9)


def test_parameters_in_layer_order_and_zero_grad():
    network = small_network()
    shapes = [p.shape for p in network.parameters()]
    assert shapes == [(3, 4), (4,), (4, 2), (2,)]
    network.forward(np.ones((2, 3)))
    network.backward(np.ones((2, 2)))
    assert any(p.grad.any() for p in network.parameters())
    network.zero_grad()
    assert not any(p.grad.any() for p in network.parameters())


def test_len_indexing_iteration():
    network = small_network()
    assert len(network) == 4
    assert isinstance(network[0], Dense) and isinstance(network[-1], Sigmoid)
    assert [type(layer) for layer in network] == [Dense, Tanh, Dense, Sigmoid]
    assert network[1:3] == network.layers[1:3]


def test_layer_names_are_made_unique():
    network = Network([Dense(2, 2), ReLU(), Dense(2, 2), ReLU(), Dense(2, 1)])
    assert [layer.name for layer in network] == ["dense", "relu", "dense_1", "relu_1", "dense_2"]


def test_summary_lists_output_shapes_and_parameter_counts():
    text = Network([Dense(784, 256), ReLU(), Dense(256, 10), Softmax()]).summary()
    lines = text.splitlines()
    assert "Output Shape" in lines[1] and "Param #" in lines[1]
    assert any("dense (Dense)" in line and "(None, 256)" in line and "200,960" in line for line in lines)
    assert any("dense_1 (Dense)" in line and "(None, 10)" in line and "2,570" in line for line in lines)
    assert any("softmax (Softmax)" in line and "(None, 10)" in line for line in lines)
    assert lines[-1] == f"Total params: {784 * 256 + 256 + 256 * 10 + 10:,}"


def test_predict_equals_forward_and_accepts_batches():
    network = small_network()
    x = np.random.default_rng(1).normal(size=(10, 3))
    np.testing.assert_allclose(network.predict(x), network.forward(x))
    np.testing.assert_allclose(network.predict(x, batch_size=3), network.forward(x))


def test_single_sample_gives_rank_one_back():
    network = small_network()
    assert network.predict(np.ones(3)).shape == (2,)
    assert network.backward(np.ones(2)).shape == (3,)


def test_integer_input_is_converted_to_the_network_dtype():
    network = Network.from_node_weights(WEIGHTS_0)
    assert network.forward(np.array([0, 3])).dtype == np.float64
    network32 = Network.from_node_weights(WEIGHTS_0, dtype=np.float32)
    assert network32.forward([0, 3]).dtype == np.float32


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ([[np.nan, 1.0, 2.0]], ValueError, r"must be finite; got nan at index \(0, 0\)"),
        ([[1.0, np.inf, 2.0]], ValueError, "must be finite; got inf"),
        ([[1 + 1j, 0, 0]], TypeError, "real numbers"),
        (np.array([["a", "b", "c"]]), TypeError, "real numbers"),
        (np.empty((0, 3)), ValueError, "empty"),
        ([[1.0, 2.0], [3.0]], TypeError, "rectangular"),
        ([[1.0, 2.0]], ValueError, "expected 3 input features"),
    ],
)
def test_bad_input_gets_a_clear_error(bad, error, message):
    with pytest.raises(error, match=message):
        small_network().predict(bad)
    with pytest.raises(error, match=message):
        small_network().forward(bad)


def test_huge_but_finite_input_is_accepted():
    network = Network([Dense(2, 1, use_bias=False, weight_init=[[0.0], [0.0]])])
    np.testing.assert_array_equal(network.forward(np.array([[1e308, 1e308]])), [[0.0]])


def test_construction_errors():
    with pytest.raises(ValueError, match="at least one layer"):
        Network([])
    with pytest.raises(TypeError, match="layer 1 must be a minidl Layer; got str"):
        Network([Dense(2, 2), "relu"])
    with pytest.raises(TypeError, match="list of layers"):
        Network(Dense(2, 2))
    relu = ReLU()
    with pytest.raises(ValueError, match="appears twice"):
        Network([Dense(2, 2), relu, Dense(2, 2), relu])


def test_backward_before_forward_names_the_layer():
    with pytest.raises(RuntimeError, match="Sigmoid 'sigmoid': backward\\(\\) called before forward"):
        small_network().backward(np.ones((1, 2)))


def test_mode_starts_in_training_and_propagates():
    network = small_network()
    assert network.training
    network.eval()
    assert not network.training and not any(layer.training for layer in network)
    network.train()
    assert all(layer.training for layer in network)


def test_predict_runs_in_evaluation_mode_and_restores_the_mode():
    seen = []

    class Probe(Identity):
        def forward(self, x):
            seen.append(self.training)
            return super().forward(x)

    network = Network([Dense(2, 2), Probe()])
    network.predict(np.ones((1, 2)))
    assert seen == [False]
    assert network.training


def test_predict_never_hands_back_the_callers_array():
    x = np.ones((2, 3))
    output = Network([Identity()]).predict(x)
    assert output is not x
    output[0, 0] = 5.0
    assert x[0, 0] == 1.0


# -- who clears a gradient, and tied weights (issue 10, item 8) --------------------------------
class ScaleBy(Layer):
    """y = a * x per feature; ``adds`` chooses PyTorch's habit (grad +=) or assigning."""

    def __init__(self, adds):
        super().__init__()
        self.adds = adds
        self.a = Parameter(np.array([2.0, -1.0, 0.5]), name="a")

    def forward(self, x):
        self.x = x
        return x * self.a.value

    def backward(self, grad_y):
        g = (grad_y * self.x).sum(axis=0)
        if self.adds:
            self.a.grad += g
        else:
            self.a.grad[...] = g
        return grad_y * self.a.value


def test_a_layer_that_adds_to_grad_gets_the_same_gradients_as_one_that_assigns():
    rng = np.random.default_rng(0)
    x, upstream = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    grads = {}
    for adds in (False, True):
        net = Network([ScaleBy(adds), Dense(3, 3, seed=0)])
        for _ in range(3):  # three passes: an accumulating layer would hold 3x the gradient
            net.forward(x)
            grad_x = net.backward(upstream)
        grads[adds] = (net[0].a.grad.copy(), grad_x)
    np.testing.assert_array_equal(grads[True][0], grads[False][0])
    np.testing.assert_array_equal(grads[True][1], grads[False][1])
    assert np.abs(grads[True][0]).sum() > 0


def test_built_in_layers_are_not_cleared_first():
    net = Network([Dense(3, 2, seed=0)])
    net.forward(np.ones((2, 3)))
    before = net[0].weight.grad
    net.backward(np.ones((2, 2)))
    assert net[0].weight.grad is before  # written in place by backward, never re-allocated


def test_tied_weights_are_refused_naming_both_layers():
    first, second = Dense(3, 3, seed=0, name="encoder"), Dense(3, 3, seed=1, name="decoder")
    second.weight = first.weight
    expected = (r"Parameter 'weight' is shared \(tied weights\): layers 0 \('encoder'\) and 2 \('decoder'\) "
                r"both hold it.*give each layer its own Parameter")
    with pytest.raises(ValueError, match=expected):
        Network([first, ReLU(), second])


def test_a_parameter_held_twice_by_one_layer_is_refused():
    layer = ScaleBy(adds=False)
    layer.b = layer.a
    expected = r"Parameter 'a' is shared \(tied weights\): layer 1 \('scaleby'\) holds it twice"
    with pytest.raises(ValueError, match=expected):
        Network([Dense(3, 3, seed=0), layer])


def test_backward_after_a_one_sample_forward_takes_and_gives_one_sample():
    net = Network([Dense(3, 2, seed=0), ReLU(), Dense(2, 1, seed=1)])
    y = net.forward(np.array([1.0, 2.0, 3.0]))
    assert y.shape == (1,)
    grad_x = net.backward(np.ones(1))
    assert grad_x.shape == (3,)
    batched = Network([Dense(3, 2, seed=0), ReLU(), Dense(2, 1, seed=1)])
    batched.forward(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(batched.backward(np.ones((1, 1)))[0], grad_x)


def test_a_flat_gradient_after_a_batch_forward_is_refused_with_its_own_shape():
    net = Network([Dense(3, 1, seed=0)])
    net.forward(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"expected grad_y of shape \(5, 1\).*got \(5,\)"):
        net.backward(np.ones(5))
