"""Metric functions (minidl/metrics.py): values by hand, scikit-learn's argument order, bad data."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from minidl import (
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    Dense,
    MeanSquaredError,
    Network,
    Sigmoid,
    SparseCategoricalCrossEntropy,
    metrics,
)
from minidl.metrics import mean_absolute_error, mean_squared_error
from tests.messages import raises


@pytest.mark.parametrize("metric", [metrics.mean_squared_error, metrics.mean_absolute_error],
                         ids=lambda metric: metric.__name__)
@pytest.mark.parametrize(("y_true", "y_pred", "error", "fragments"), [
    ([1.0, np.nan], [1.0, 2.0], ValueError, ["y_true", "must be finite", "got nan at index (1,)"]),
    ([1.0, 2.0], [np.inf, 2.0], ValueError, ["y_pred", "must be finite", "got inf at index (0,)"]),
    ([], [], ValueError, ["y_pred", "is empty", "expected at least one value"]),
    ([1.0, 2.0, 3.0], [1.0, 2.0], ValueError, ["predicted has shape (2,)", "actual has shape (3,)"]),
    ([1.0, 2.0], [1j, 2.0], TypeError, ["y_pred", "real numbers", "got dtype complex128"]),
])
def test_metrics_refuse_bad_data(metric: Callable, y_true: object, y_pred: object,
                                 error: type[Exception], fragments: list[str]) -> None:
    raises(error, lambda: metric(y_true, y_pred), metric.__name__, *fragments)


def test_categorical_accuracy_refuses_scalars() -> None:
    # A scalar has no class axis to take the argmax of (it was an IndexError from inside).
    raises(ValueError, lambda: metrics.categorical_accuracy(1.0, 0.3), "categorical_accuracy: y_pred must "
           "have a class axis", "got a scalar")


def test_metrics_accept_integers_with_the_float_answer() -> None:
    assert metrics.mean_absolute_error([1, 3], [2, 1]) == 1.5
    assert metrics.mean_squared_error(np.array([1, 3], dtype=np.int8), [2.0, 1.0]) == 2.5


def test_metric_functions_use_scikit_learn_argument_order():
    y_true, y_pred = [1.0, 3.0, 5.0, 7.0], [9.0, 9.0, 0.0, 12.0]
    assert mean_squared_error(y_true, y_pred) == 37.5
    assert mean_absolute_error(y_true, y_pred) == (8 + 6 + 5 + 5) / 4


def test_metric_functions_reject_nan_and_empty_input():
    with pytest.raises(ValueError, match="finite"):
        mean_squared_error([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        mean_absolute_error([], [])


def test_accuracy_functions_by_hand():
    from minidl import (
    metrics,
)

    assert metrics.binary_accuracy([1, 0, 1, 0], [[0.9], [0.2], [0.4], [0.6]]) == 0.5
    assert metrics.binary_accuracy([1, 0], [[0.3], [-0.1]], threshold=0.0) == 1.0
    probabilities = [[0.2, 0.8], [0.3, 0.7], [0.4, 0.6]]
    assert metrics.categorical_accuracy([[0, 1], [1, 0], [0, 1]], probabilities) == 2 / 3
    assert metrics.sparse_categorical_accuracy([1, 0, 1], probabilities) == 2 / 3
    assert metrics.sparse_categorical_accuracy([[1], [0]], [[0.2, 0.8], [0.9, 0.1]]) == 1.0
    with pytest.raises(ValueError, match="shape"):
        metrics.sparse_categorical_accuracy([1, 0, 1], [[0.2, 0.8], [0.3, 0.7]])


# -- metrics.resolve and metrics.compiled: what compile and fit use ------------------------------------

PROBABILITIES = np.array([[0.9], [0.2], [0.4], [0.6]])
BINARY = np.array([[1.0], [0.0], [1.0], [0.0]])


def test_accuracy_is_binary_for_one_output_and_categorical_for_several() -> None:
    binary = metrics.resolve("accuracy", MeanSquaredError(), output_width=1)
    assert binary(PROBABILITIES, BINARY) == 0.5
    categorical = metrics.resolve("acc", MeanSquaredError(), output_width=2)
    rows = np.array([[0.2, 0.8], [0.3, 0.7], [0.4, 0.6]])
    assert categorical(rows, np.array([[0, 1], [1, 0], [0, 1]])) == pytest.approx(2 / 3)


def test_binary_accuracy_reads_logits_at_zero_for_a_from_logits_loss() -> None:
    logits = np.array([[0.1], [-0.1]])  # probabilities just above and below 0.5
    on_logits = metrics.resolve("binary_accuracy", BinaryCrossEntropy(from_logits=True), 1)
    on_probabilities = metrics.resolve("binary_accuracy", BinaryCrossEntropy(), 1)
    assert on_logits(logits, np.array([[1.0], [0.0]])) == 1.0
    assert on_probabilities(logits, np.array([[1.0], [0.0]])) == 0.5  # both under 0.5: both read as 0


def test_accuracy_with_integer_labels_compares_the_argmax_with_the_label() -> None:
    sparse = metrics.resolve("accuracy", SparseCategoricalCrossEntropy(), output_width=2)
    assert sparse(np.array([[0.2, 0.8], [0.3, 0.7]]), np.array([1, 0])) == 0.5


def test_error_metrics_are_the_losses_own_formulas() -> None:
    predicted, target = np.array([[9.0], [9.0], [0.0], [12.0]]), np.array([[1.0], [3.0], [5.0], [7.0]])
    assert metrics.resolve("mse", MeanSquaredError(), 1)(predicted, target) == 37.5
    assert metrics.resolve("mean_absolute_error", MeanSquaredError(), 1)(predicted, target) == 6.0


def test_a_user_metric_gets_scikit_learns_argument_order() -> None:
    order = []
    function = metrics.resolve(lambda y_true, y_pred: order.append((y_true, y_pred)) or 1.0,
                               MeanSquaredError(), 1)
    assert function("predicted", "target") == 1.0 and order == [("target", "predicted")]


@pytest.mark.parametrize(("kind", "loss", "message"), [
    ("sparse_categorical_accuracy", CategoricalCrossEntropy(), "needs integer labels"),
    ("mse", SparseCategoricalCrossEntropy(), "needs targets shaped like the output"),
    # Integer labels (N,) against outputs (N, k) used to reach numpy: "operands could not be broadcast".
    ("binary_accuracy", SparseCategoricalCrossEntropy(), "the binary_accuracy metric needs targets shaped"),
])
def test_metrics_that_cannot_read_the_targets_are_refused(kind, loss, message) -> None:
    with pytest.raises(ValueError, match=message):
        metrics.resolve(kind, loss, 3)


def test_compiled_keeps_the_names_as_given_and_the_kind_lower_case() -> None:
    def r2(y_true, y_pred):
        return 0.0

    assert metrics.compiled(["MAE", r2, "Accuracy"]) == [("MAE", "mae"), ("r2", r2), ("Accuracy", "accuracy")]
    assert metrics.compiled(None) == []
    with pytest.raises(TypeError, match="each metric must be a name or a function; got 3"):
        metrics.compiled(["mae", 3])


def test_categorical_accuracies_over_one_output_unit_are_refused() -> None:
    # argmax over one unit is always 0, as is the target's: both gave 1.0 whatever the predictions.
    single = ["has a single unit, so its argmax is always class 0", "every sample counts as a hit",
              "use binary_accuracy, or metrics=['accuracy']"]
    column = [[0.1], [0.9], [0.2], [0.3]]
    raises(ValueError, lambda: metrics.categorical_accuracy([1, 0, 0, 1], column),
           "categorical_accuracy: y_pred has a single unit", *single)
    raises(ValueError, lambda: metrics.sparse_categorical_accuracy([0, 0, 0, 0], column),
           "sparse_categorical_accuracy: y_pred has a single unit", *single)
    for kind, loss in [("categorical_accuracy", BinaryCrossEntropy()),
                       ("sparse_categorical_accuracy", SparseCategoricalCrossEntropy())]:
        with pytest.raises(ValueError, match=f"the {kind} metric: the network's output has a single unit"):
            metrics.resolve(kind, loss, 1)
    assert metrics.resolve("accuracy", BinaryCrossEntropy(), 1) is not None  # the binary one
    network = Network([Dense(2, 1, seed=0), Sigmoid()])
    network.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["categorical_accuracy"])
    raises(ValueError, lambda: network.fit(np.ones((4, 2)), np.array([1, 0, 0, 1]), verbose=0),
           "the categorical_accuracy metric: the network's output has a single unit")


def test_a_user_metric_gives_a_python_float_or_a_clear_error_naming_it() -> None:
    def per_sample(y_true, y_pred):
        return (y_true - y_pred) ** 2

    function = metrics.resolve(per_sample, MeanSquaredError(), 1)
    raises(TypeError, lambda: function(np.ones((4, 1)), np.zeros((4, 1))),
           "the metric 'per_sample' must return one number, the mean over the batch",
           "got an array of shape (4, 1)")
    mean32 = metrics.resolve(lambda y_true, y_pred: np.mean(np.float32(y_pred)), MeanSquaredError(), 1)
    assert type(mean32(np.ones((4, 1)), np.zeros((4, 1)))) is float  # not np.float32: History stays JSON


@pytest.mark.parametrize(("labels", "low", "high"), [([1, 2, 1, 2], 1, 2), ([-1, 1, -1, 1], -1, 1)])
def test_binary_accuracy_refuses_values_that_are_not_labels(labels: list[int], low: int, high: int) -> None:
    # Read as 1 where >= 0.5, labels {1, 2} gave 0.5 and labels {-1, 1} gave 1.0.
    raises(ValueError, lambda: metrics.binary_accuracy(labels, [[0.9], [0.2], [0.4], [0.6]]),
           "binary accuracy: y_true (labels 0 or 1", f"must be in [0, 1]; got values from {low} to {high}")


def test_accuracy_of_a_regression_is_refused_on_the_first_batch() -> None:
    # A linear output trained with mse, targets around 36: 'accuracy' (binary) reported 0.57.
    x = np.arange(8.0).reshape(4, 2)
    net = Network([Dense(2, 1, seed=0)])
    net.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
    before = [p.value.copy() for p in net.parameters()]
    raises(ValueError, lambda: net.fit(x, np.array([35.0, 36.5, 37.0, 38.0]), epochs=1, verbose=0),
           "binary accuracy", "a regression has 'mae' or 'mse'", "got values from 35 to 38")
    assert net.optimizer.iterations == 0  # refused before the batch's update
    assert all(np.array_equal(p.value, b) for p, b in zip(net.parameters(), before, strict=True))
    labels, classifier = np.array([0.0, 1.0, 1.0, 0.0]), Network([Dense(2, 1, seed=0)])
    hits = np.mean((classifier.predict(x)[:, 0] > 0.5) == (labels == 1))  # one batch, scored before its step
    classifier.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
    assert classifier.fit(x, labels, epochs=1, verbose=0).history["accuracy"] == [hits]


def test_sparse_categorical_accuracy_of_a_scalar_prediction_asks_for_a_class_axis():
    raises(ValueError, lambda: metrics.sparse_categorical_accuracy([0], 0.5),
           "sparse_categorical_accuracy: predicted must have a class axis; got a scalar")
