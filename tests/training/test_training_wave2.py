"""Wave 2 of the training package: the metric kinds in metrics.resolve, the Monitor's shared checks."""

import numpy as np
import pytest

from minidl import (
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    Dense,
    EarlyStopping,
    MeanSquaredError,
    ModelCheckpoint,
    Network,
    Sigmoid,
    SparseCategoricalCrossEntropy,
    metrics,
)
from minidl.training import Callback

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


def test_fit_with_accuracy_on_a_sigmoid_network_logs_the_binary_accuracy() -> None:
    net = Network([Dense(1, 1, weight_init=[[1.0]], bias_init="zeros"), Sigmoid()])
    net.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    logs = net.evaluate([[2.0], [-2.0], [3.0]], [1.0, 0.0, 0.0])
    assert logs["accuracy"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("make", [lambda **k: EarlyStopping(**k), lambda **k: ModelCheckpoint("m.npz", **k)],
                         ids=["EarlyStopping", "ModelCheckpoint"])
def test_both_monitors_check_verbose_the_same_way(make) -> None:
    assert make(verbose=1).verbose == 1 and make(verbose=True).verbose == 1
    name = type(make()).__name__
    with pytest.raises(ValueError, match=f"{name} verbose must be 0 or 1; got 2"):
        make(verbose=2)


def test_repr_lists_the_config_keys_of_a_callback() -> None:
    class Every(Callback):
        config_keys = ("epochs",)

        def __init__(self, epochs: int) -> None:
            super().__init__()
            self.epochs = epochs

    assert repr(Every(3)) == "Every(epochs=3)" and repr(Callback()) == "Callback()"
    assert repr(EarlyStopping(patience=2)) == ("EarlyStopping(monitor='val_loss', patience=2, min_delta=0.0, "
                                               "restore_best_weights=False, mode='min', verbose=0)")
