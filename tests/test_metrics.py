"""Metric functions (minidl/metrics.py): values by hand, scikit-learn's argument order, bad data."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from minidl import metrics
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
    from minidl import metrics

    assert metrics.binary_accuracy([1, 0, 1, 0], [[0.9], [0.2], [0.4], [0.6]]) == 0.5
    assert metrics.binary_accuracy([1, 0], [[0.3], [-0.1]], threshold=0.0) == 1.0
    probabilities = [[0.2, 0.8], [0.3, 0.7], [0.4, 0.6]]
    assert metrics.categorical_accuracy([[0, 1], [1, 0], [0, 1]], probabilities) == 2 / 3
    assert metrics.sparse_categorical_accuracy([1, 0, 1], probabilities) == 2 / 3
    assert metrics.sparse_categorical_accuracy([[1], [0]], [[0.2, 0.8], [0.9, 0.1]]) == 1.0
    with pytest.raises(ValueError, match="shape"):
        metrics.sparse_categorical_accuracy([1, 0, 1], [[0.2, 0.8], [0.3, 0.7]])
