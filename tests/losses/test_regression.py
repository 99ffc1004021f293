"""Regression losses (minidl/losses/regression.py): MSE and MAE values, gradients, target shapes."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import MeanAbsoluteError, MeanSquaredError, metrics
from tests.messages import raises
from tests.numeric import numerical_gradient

# -- targets of the wrong kind, and misuse -----------------------------------------------------------
PREDICTED = np.array([[9.0], [9.0], [0.0], [12.0]])  # the course: MSE 37.5 against TARGET


TARGET = np.array([1.0, 3.0, 5.0, 7.0])


@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError()], ids=lambda loss: loss.name)
def test_one_dimensional_target_for_one_output_is_read_as_a_column(loss: minidl.Loss) -> None:
    assert loss(PREDICTED, TARGET) == loss(PREDICTED, TARGET[:, None])
    assert loss.backward().shape == (4, 1)


def test_course_mean_squared_error_with_column_and_flat_targets() -> None:
    assert MeanSquaredError()(PREDICTED, TARGET) == 37.5
    assert metrics.mean_squared_error(TARGET, PREDICTED) == 37.5
    assert metrics.mean_squared_error(TARGET[:, None], PREDICTED[:, 0]) == 37.5


@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError()], ids=lambda loss: loss.name)
@pytest.mark.parametrize(("predicted", "actual", "got"), [
    (np.ones((4, 2)), np.ones(4), "actual has shape (4,)"),     # never broadcast to (4, 4) or (4, 2)
    (np.ones((4, 1)), np.ones(3), "actual has shape (3,)"),     # sample counts differ
    (np.ones((4, 2)), np.ones((2, 4)), "actual has shape (2, 4)"),
])
def test_loss_targets_of_the_wrong_shape(loss: minidl.Loss, predicted: np.ndarray, actual: np.ndarray,
                                         got: str) -> None:
    raises(ValueError, lambda: loss(predicted, actual), type(loss).__name__,
           f"predicted has shape {predicted.shape}", got, "must match")


@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError()], ids=lambda loss: loss.name)
def test_loss_target_of_strings(loss: minidl.Loss) -> None:
    raises(TypeError, lambda: loss(np.ones((2, 1)), ["a", "b"]), type(loss).__name__, "actual",
           "real numbers", "got dtype <U1")


@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError()], ids=lambda loss: loss.name)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_target_is_refused_but_a_diverged_prediction_gives_its_loss(loss: minidl.Loss,
                                                                                 bad: float) -> None:
    # The target's NaN/inf gave a NaN/inf loss with no error; the prediction's is what fit watches for.
    raises(ValueError, lambda: loss(PREDICTED, [1.0, bad, 5.0, 7.0]), type(loss).__name__, "actual must be "
           f"finite; got {bad} at index (1,)")
    predicted = PREDICTED.copy()
    predicted[1, 0] = bad
    assert np.isnan(loss(predicted, TARGET)) if np.isnan(bad) else loss(predicted, TARGET) == np.inf


@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError()], ids=lambda loss: loss.name)
def test_a_target_beyond_the_predictions_dtype_is_named_not_returned_as_inf(loss: minidl.Loss) -> None:
    # A float16 prediction against 1e6 returned inf: the cast of the target to float16 made it
    predicted = PREDICTED.astype(np.float16)
    raises(ValueError, lambda: loss(predicted, [1.0, 1e6, 5.0, 7.0]), f"{type(loss).__name__}: actual holds "
           "1e+06 (in magnitude), beyond the range of float16 (largest 65504)")
    with np.errstate(over="ignore"):  # in range: a float16 square may still overflow (the sum does not)
        value = loss(predicted, [1.0, 65504.0, 5.0, 7.0])
    in_float64 = loss(PREDICTED, [1.0, 65504.0, 5.0, 7.0])
    assert value == (np.inf if isinstance(loss, MeanSquaredError) else pytest.approx(in_float64, rel=1e-3))


@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError()], ids=lambda loss: loss.name)
def test_a_masked_target_with_masked_values_is_refused(loss: minidl.Loss) -> None:
    # np.asarray dropped the mask: MSE read the hidden 1e3 (499000.5 for [1, masked 1e3] against 0)
    target = np.ma.array([1.0, 1e3], mask=[False, True])
    raises(ValueError, lambda: loss(np.zeros((2, 1)), target), f"{type(loss).__name__}: actual is a masked "
           "array with 1 of its 2 values masked")
    expected = 5.0 if isinstance(loss, MeanSquaredError) else 2.0  # nothing masked: read as its data
    assert loss(np.zeros((2, 1)), np.ma.array([1.0, 3.0], mask=[False, False])) == expected


@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError()], ids=lambda loss: loss.name)
def test_loss_backward_before_forward(loss: minidl.Loss) -> None:
    raises(RuntimeError, loss.backward, type(loss).__name__, "backward() called before forward()")


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


def test_integer_predictions_do_not_truncate_float_targets():
    # By hand: errors 0.5 and 0.5, so MSE 0.25 and MAE 0.5 (the target was cast to int: 0).
    mse = MeanSquaredError()
    assert mse.forward(np.array([1, 2]), np.array([1.5, 2.5])) == 0.25
    np.testing.assert_array_equal(mse.backward(), [-0.5, -0.5])
    assert MeanAbsoluteError().forward(np.array([[1], [2]]), [1.5, 2.5]) == 0.5
