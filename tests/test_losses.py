import numpy as np
import pytest

from minidl import MeanAbsoluteError, MeanSquaredError
from minidl.metrics import mean_absolute_error, mean_squared_error
from tests.numeric import numerical_gradient


def test_mse_is_the_mean_over_every_element():
    predicted = np.array([[1.0, 2.0], [3.0, 4.0]])
    actual = np.array([[1.0, 0.0], [0.0, 4.0]])
    assert MeanSquaredError().forward(predicted, actual) == (4 + 9) / 4


def test_mae_is_the_mean_absolute_error():
    assert MeanAbsoluteError().forward(np.array([[1.0], [-2.0]]), np.array([0.0, 0.0])) == 1.5


@pytest.mark.parametrize("loss_class", [MeanSquaredError, MeanAbsoluteError])
@pytest.mark.parametrize("shape", [(4, 3), (5, 1), (3,)])
def test_gradient_matches_finite_differences(loss_class, shape):
    rng = np.random.default_rng(1)
    predicted = rng.normal(size=shape)
    actual = predicted + rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 1.0, size=shape)
    loss = loss_class()
    loss.forward(predicted, actual)
    analytic = loss.backward()
    numeric = numerical_gradient(lambda: loss_class().forward(predicted, actual), predicted)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_mse_gradient_is_two_times_error_over_n():
    loss = MeanSquaredError()
    loss.forward(np.array([[3.0], [1.0]]), [1.0, 1.0])
    np.testing.assert_array_equal(loss.backward(), [[2.0], [0.0]])


def test_one_dimensional_target_is_a_column_for_a_single_output():
    loss = MeanSquaredError()
    value = loss.forward(np.array([[1.0], [2.0], [3.0]]), np.array([1.0, 2.0, 5.0]))
    assert value == 4 / 3  # not the (3, 3) broadcast mean
    assert loss.backward().shape == (3, 1)


def test_column_target_for_a_one_dimensional_prediction():
    loss = MeanSquaredError()
    assert loss.forward(np.array([1.0, 2.0]), np.array([[1.0], [4.0]])) == 2.0
    assert loss.backward().shape == (2,)


def test_scalar_target_for_a_single_value():
    assert MeanSquaredError().forward(np.array([9.0]), 3) == 36.0


@pytest.mark.parametrize(
    ("predicted_shape", "actual_shape"), [((3, 2), (3,)), ((3, 1), (4,)), ((3,), (2,)), ((2, 2), (4,))]
)
def test_mismatched_shapes_are_errors_never_broadcast(predicted_shape, actual_shape):
    with pytest.raises(ValueError, match=r"predicted has shape .* but actual has shape"):
        MeanSquaredError().forward(np.ones(predicted_shape), np.ones(actual_shape))


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="before forward"):
        MeanSquaredError().backward()


def test_non_numeric_target_is_an_error():
    with pytest.raises(TypeError, match="real numbers"):
        MeanSquaredError().forward(np.ones(2), np.array(["a", "b"]))


def test_float32_prediction_gives_float32_gradient():
    loss = MeanSquaredError()
    loss.forward(np.ones((2, 1), dtype=np.float32), np.array([0.0, 1.0]))
    assert loss.backward().dtype == np.float32


def test_metric_functions_use_scikit_learn_argument_order():
    y_true, y_pred = [1.0, 3.0, 5.0, 7.0], [9.0, 9.0, 0.0, 12.0]
    assert mean_squared_error(y_true, y_pred) == 37.5
    assert mean_absolute_error(y_true, y_pred) == (8 + 6 + 5 + 5) / 4


def test_metric_functions_reject_nan_and_empty_input():
    with pytest.raises(ValueError, match="finite"):
        mean_squared_error([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        mean_absolute_error([], [])
