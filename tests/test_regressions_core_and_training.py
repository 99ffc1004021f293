"""Regression tests for the core and training: each failed before its fix."""

import numpy as np
import pytest

import minidl
from minidl import SGD, Dense, EarlyStopping, MeanAbsoluteError, MeanSquaredError, Network, Sigmoid, Softmax


def test_trace_output_column_is_the_network_output_after_softmax():
    # Softmax is not an element-wise Activation; the node outputs must still be what the
    # network outputs, not the weighted sums.
    net = Network([Dense(2, 2, weight_init=[[1.0, 0.0], [0.0, 1.0]], use_bias=False), Softmax()])
    trace = net.trace(np.array([0.0, np.log(3.0)]))
    assert trace["output_0_input"] == 0.0
    assert trace["output_0_output"] == pytest.approx(0.25)
    assert trace["output_1_output"] == pytest.approx(0.75)
    np.testing.assert_allclose([trace["output_0_output"], trace["output_1_output"]],
                               net.predict(np.array([0.0, np.log(3.0)])))


def test_trace_folds_every_shape_keeping_layer_up_to_the_next_dense():
    net = Network([Dense(1, 2, weight_init=[[1.0, -1.0]], use_bias=False), minidl.ReLU(),
                   minidl.Dropout(0.5), Dense(2, 1, weight_init=[[2.0], [3.0]], use_bias=False), Sigmoid()])
    trace = net.trace(np.array([2.0]))
    assert trace["node_0_output"] == 2.0 and trace["node_1_output"] == 0.0
    assert trace["output_input"] == 4.0
    assert trace["output_output"] == pytest.approx(1.0 / (1.0 + np.exp(-4.0)))



def test_fit_callbacks_given_a_single_callback_names_the_fix():
    net = Network([Dense(1, 1, seed=0)])
    net.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match=r"fit callbacks must be a list.*got a single EarlyStopping"):
        net.fit(np.ones((4, 1)), np.ones(4), verbose=0, callbacks=EarlyStopping(monitor="loss"))



def test_negative_seed_names_the_argument():
    with pytest.raises(ValueError, match=r"seed must be .*non-negative.*got -1"):
        Dense(2, 2, seed=-1)



@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError()])
def test_empty_arrays_in_a_loss_are_a_clear_error(loss):
    with pytest.raises(ValueError, match=r"predicted is empty"):
        loss.forward(np.zeros((0, 1)), np.zeros(0))



def test_softmax_accepts_integer_input():
    np.testing.assert_allclose(Softmax().forward(np.array([0, 0])), [0.5, 0.5])
    np.testing.assert_allclose(Softmax().forward(np.array([True, True])), [0.5, 0.5])


def test_integer_predictions_do_not_truncate_float_targets():
    # By hand: errors 0.5 and 0.5, so MSE 0.25 and MAE 0.5 (the target was cast to int: 0).
    mse = MeanSquaredError()
    assert mse.forward(np.array([1, 2]), np.array([1.5, 2.5])) == 0.25
    np.testing.assert_array_equal(mse.backward(), [-0.5, -0.5])
    assert MeanAbsoluteError().forward(np.array([[1], [2]]), [1.5, 2.5]) == 0.5


def test_optimizer_step_given_one_parameter_names_the_fix():
    parameter = minidl.Parameter(np.zeros(2), name="w")
    optimizer = SGD()
    with pytest.raises(TypeError, match=r"expects a list of Parameters; got a single Parameter 'w'"):
        optimizer.step(parameter)  # type: ignore[arg-type]
    assert optimizer.iterations == 0


def test_trace_computes_what_predict_computes_and_changes_nothing():
    net = Network([Dense(2, 4, seed=0), minidl.BatchNorm(4), minidl.ReLU(), minidl.Dropout(0.5, seed=0),
                   Dense(4, 1, seed=1)])
    running = [array.copy() for array in net[1].state_arrays().values()]
    x = np.array([1.0, 2.0])
    first, second = net.trace(x), net.trace(x)  # a fresh network is in training mode
    assert first["output_output"] == second["output_output"] == net.predict(x)[0]
    for before, after in zip(running, net[1].state_arrays().values(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert all(layer.training for layer in net)
