"""minidl.keras's Sequential and load_model (minidl/keras/model.py): the course's Keras code, as written."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import minidl
from minidl.keras import (
    SGD,
    Activation,
    Adam,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    EarlyStopping,
    Flatten,
    Input,
    MaxPooling2D,
    ModelCheckpoint,
    RMSprop,
    Sequential,
    load_model,
    to_categorical,
)
from tests.messages import raises


def test_the_course_regression_code_runs_with_only_its_imports_changed(tmp_path, capsys):
    datasets = pytest.importorskip("sklearn.datasets")
    predictors, target = datasets.load_diabetes(return_X_y=True)
    data_to_predict_with = predictors[:5]
    n_cols = predictors.shape[1]
    model = Sequential()
    model.add(Dense(50, activation='relu', input_shape=(n_cols,)))
    model.add(Dense(32, activation='relu'))
    model.add(Dense(1))
    model.compile(optimizer='adam', loss='mean_squared_error')
    print("Loss function: " + model.loss)
    model.fit(predictors, target, validation_split=0.3, epochs=20, callbacks=[EarlyStopping(patience=2)],
              verbose=False)
    model.save(tmp_path / 'model_file.h5')
    my_model = load_model(tmp_path / 'model_file.h5')
    predictions = my_model.predict(data_to_predict_with)
    assert capsys.readouterr().out == "Loss function: mean_squared_error\n"
    assert predictions.shape == (5, 1)
    np.testing.assert_array_equal(predictions, model.predict(data_to_predict_with))
    assert isinstance(my_model, Sequential) and my_model.loss == "mean_squared_error"


#: Keras's import lines as the course writes them (keras.models, keras.layers, ...).
KERAS_IMPORTS = """\
from keras.models import Sequential, load_model
from keras.layers import Dense, Activation, Input, Conv2D, MaxPooling2D, Flatten, Dropout
from keras.optimizers import SGD, Adam, RMSprop
from keras.callbacks import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from keras.utils import to_categorical
"""


def test_kerass_module_paths_work_with_minidl_in_front():
    names: dict[str, object] = {}
    exec(KERAS_IMPORTS.replace("from keras.", "from minidl.keras."), names)
    keras = minidl.keras
    for name in ("Sequential", "load_model", "Dense", "Activation", "Input", "Conv2D", "MaxPooling2D",
                 "Flatten", "Dropout", "SGD", "Adam", "RMSprop", "EarlyStopping", "ModelCheckpoint",
                 "ReduceLROnPlateau", "to_categorical"):
        assert names[name] is getattr(keras, name), name  # the same objects as the flat namespace
    assert names["SGD"] is minidl.SGD and issubclass(names["EarlyStopping"], minidl.EarlyStopping)
    # keras.optimizers.Adam(...) as attributes too, in a fresh interpreter (no submodule imported yet)
    paths = ["optimizers.Adam", "models.Sequential", "callbacks.EarlyStopping", "layers.Dense",
             "utils.to_categorical"]
    code = f"import minidl.keras as keras; print({', '.join(f'keras.{p}.__name__' for p in paths)})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["Adam", "Sequential", "EarlyStopping", "Dense", "to_categorical"]


def get_new_model(n_cols):
    model = Sequential()
    model.add(Dense(100, activation='relu', input_shape=(n_cols,)))
    model.add(Dense(100, activation='relu'))
    model.add(Dense(2, activation='softmax'))
    return model


def test_the_course_classification_code_runs_with_only_its_imports_changed(capsys):
    datasets = pytest.importorskip("sklearn.datasets")
    x, labels = datasets.load_breast_cancer(return_X_y=True)
    predictors = (x - x.mean(axis=0)) / x.std(axis=0)
    target = to_categorical(labels)
    n_cols = predictors.shape[1]
    model = get_new_model(n_cols)
    model.compile(optimizer='sgd', loss='categorical_crossentropy', metrics=['accuracy'])
    history = model.fit(predictors, target, epochs=10, verbose=False, seed=0)
    predictions = model.predict(predictors)
    probability_true = predictions[:, 1]
    assert history.history["accuracy"][-1] > 0.9
    assert probability_true.shape == (len(x),) and np.all((0 <= probability_true) & (probability_true <= 1))
    for lr in [.000001, 0.01, 1]:
        model = get_new_model(n_cols)
        my_optimizer = SGD(learning_rate=lr)
        model.compile(optimizer=my_optimizer, loss='categorical_crossentropy')
        model.fit(predictors, target, verbose=False)
        assert model.optimizer is my_optimizer
    assert model.summary() is None
    assert 'Model: "sequential"' in capsys.readouterr().out


def test_keras_optimizers_are_minidls_and_lr_names_learning_rate():
    assert (SGD, Adam, RMSprop) == (minidl.SGD, minidl.Adam, minidl.RMSprop)
    assert issubclass(ModelCheckpoint, minidl.ModelCheckpoint)
    assert issubclass(EarlyStopping, minidl.EarlyStopping)
    with pytest.raises(TypeError, match="learning_rate"):
        SGD(lr=0.01)


def test_input_sizes_are_inferred_from_input_shape_at_add():
    model = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(2, activation="softmax")])
    assert model.built and isinstance(model.network, minidl.Network)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "ReLU", "Dense", "Softmax"]
    assert model.layers[0].weight.shape == (3, 4) and model.layers[2].weight.shape == (4, 2)


def test_an_input_layer_gives_the_shape():
    model = Sequential([Input(shape=(5,)), Dense(1)])
    assert model.layers[0].weight.shape == (5, 1)


def test_an_input_after_other_layers_is_refused_naming_them():
    message = "Input(shape=(4,)) must be the first layer of a Sequential; got it after Dense, Dense"
    for first in (Dense(4, input_shape=(3,)), Dense(4)):  # built at once, or waiting for data
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            Sequential([first, Dense(4), Input(shape=(4,))])
    with pytest.raises(ValueError, match=r"got it after Input$"):
        Sequential([Input(shape=(4,)), Input(shape=(4,))])


def test_a_sequential_named_none_is_sequential_as_in_keras(capsys):
    model = Sequential([Dense(1, input_shape=(2,))], name=None)
    model.summary()
    assert model.name == "sequential" and capsys.readouterr().out.startswith('Model: "sequential"\n')


def test_pop_removes_the_last_layer_added_with_its_activation():
    model = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="mean_squared_error")
    removed = model.pop()
    assert removed.kind == "Dense"
    assert [type(layer).__name__ for layer in removed.layers] == ["Dense", "Softmax"]
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "ReLU"]
    assert model.predict(np.ones((2, 3))).shape == (2, 4)
    model.add(Dense(1))  # the shape reaching it is the ReLU's
    assert model.layers[-1].weight.shape == (4, 1)
    assert len(model.fit(np.ones((2, 3)), np.zeros(2), epochs=1, verbose=0).history["loss"]) == 1
    waiting = Sequential([Dense(4), Dense(2)])  # not built yet
    assert waiting.pop().kind == "Dense" and waiting.predict(np.ones((2, 3))).shape == (2, 4)
    waiting.pop()
    with pytest.raises(IndexError, match=r"^Sequential.pop: the model has no layers to remove$"):
        waiting.pop()


def test_pop_removes_one_minidl_layer_of_a_loaded_model(tmp_path):
    Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(2)]).save(tmp_path / "model.keras")
    model = load_model(tmp_path / "model.keras")
    assert type(model.pop().layers[0]).__name__ == "Dense"
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "ReLU"]
    model.add(Dense(5))
    assert model.predict(np.ones((2, 3))).shape == (2, 5)


def test_without_an_input_shape_the_first_data_builds_the_model():
    model = Sequential()
    model.add(Dense(3))
    model.add(Dense(1))
    model.compile(optimizer="sgd", loss="mse")
    assert not model.built and model.loss == "mse"
    model.fit(np.ones((8, 6)), np.zeros(8), epochs=1, verbose=0)
    assert model.built and model.layers[0].weight.shape == (6, 3)
    assert model.network.trainer is not None  # compile was applied when it was built


def test_predict_builds_an_uncompiled_model_too():
    model = Sequential([Dense(2)])
    assert model.predict(np.ones((4, 7))).shape == (4, 2)


def test_a_model_with_no_input_shape_and_no_data_says_what_to_pass():
    model = Sequential([Dense(3)])
    with pytest.raises(ValueError, match=r"summary|network") as error:
        model.summary()
    assert "Dense" in str(error.value) and "input_shape=(n_features,)" in str(error.value)


def test_a_minidl_layer_may_be_added_as_it_is():
    model = Sequential([Dense(3, input_shape=(2,)), minidl.Tanh(), Dense(1)])
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Tanh", "Dense"]


def test_model_loss_is_what_compile_was_given():
    model = Sequential([Dense(1, input_shape=(2,))])
    assert model.loss is None
    model.compile(optimizer="adam", loss="mean_squared_error")
    assert model.loss == "mean_squared_error"
    loss = minidl.MeanAbsoluteError()
    model.compile(optimizer="adam", loss=loss)
    assert model.loss is loss


def test_evaluate_returns_a_float_or_a_list_as_keras():
    model = Sequential([Dense(1, input_shape=(1,), kernel_initializer="zeros")])
    model.compile(optimizer="sgd", loss="mse")
    assert model.evaluate([[1.0], [2.0]], [1.0, 3.0]) == pytest.approx(5.0)  # (1 + 9) / 2
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    assert model.evaluate([[1.0], [2.0]], [1.0, 3.0]) == pytest.approx([5.0, 2.0])
    assert model.evaluate([[1.0], [2.0]], [1.0, 3.0], return_dict=True) == pytest.approx(
        {"loss": 5.0, "mae": 2.0})


# Keras 3's table at 76 characters: cells of 31, 22 and 13 characters, a space either side, 4 borders.
TOP = "┏" + "━" * 33 + "┳" + "━" * 24 + "┳" + "━" * 15 + "┓"
HEADER = "┃ Layer (type)" + " " * 20 + "┃ Output Shape" + " " * 11 + "┃" + " " * 7 + "Param # ┃"
UNDER_HEADER = "┡" + "━" * 33 + "╇" + "━" * 24 + "╇" + "━" * 15 + "┩"
BETWEEN = "├" + "─" * 33 + "┼" + "─" * 24 + "┼" + "─" * 15 + "┤"
BOTTOM = "└" + "─" * 33 + "┴" + "─" * 24 + "┴" + "─" * 15 + "┘"


def row(name, shape, count):
    return f"│ {name:<31} │ {shape:<22} │ {count:>13} │"


def summary_lines(model, capsys):
    assert model.summary() is None
    return capsys.readouterr().out.splitlines()


def test_summary_prints_keras_3s_box_table(capsys):
    model = Sequential([Dense(50, activation="relu", input_shape=(10,)), Dense(1)])
    # 10*50 + 50 = 550 and 50*1 + 1 = 51 parameters; 601 float64 values are 4,808 bytes = 4.6953 KB
    assert summary_lines(model, capsys) == [
        'Model: "sequential"',
        TOP, HEADER, UNDER_HEADER,
        "│ dense (Dense)                   │ (None, 50)             │           550 │",
        BETWEEN,
        "│ relu (ReLU)                     │ (None, 50)             │             0 │",
        BETWEEN,
        "│ dense_1 (Dense)                 │ (None, 1)              │            51 │",
        BOTTOM,
        " Total params: 601 (4.70 KB)",
        " Trainable params: 601 (4.70 KB)",
        " Non-trainable params: 0 (0.00 B)",
    ]
    assert all(len(line) == 76 for line in (TOP, HEADER, UNDER_HEADER, BETWEEN, BOTTOM))


def test_summary_sizes_follow_the_dtype_as_keras_float32_gives_kerass_numbers(capsys):
    model = Sequential([Dense(50, activation="relu", input_shape=(10,)), Dense(1)])
    model.network.astype("float32")
    # Keras's own figure for this model: 601 float32 values, 2,404 bytes = 2.3477 KB
    assert summary_lines(model, capsys)[-3:] == [" Total params: 601 (2.35 KB)",
                                                 " Trainable params: 601 (2.35 KB)",
                                                 " Non-trainable params: 0 (0.00 B)"]


def test_summary_size_units_are_powers_of_1024(capsys):
    assert summary_lines(Sequential([Dense(127, input_shape=(1,))]), capsys)[-3] == \
        " Total params: 254 (1.98 KB)"  # 2,032 bytes / 1024
    assert summary_lines(Sequential([Dense(64, input_shape=(1,))]), capsys)[-3] == \
        " Total params: 128 (1.00 KB)"  # 1,024 bytes
    assert summary_lines(Sequential([Dense(63, input_shape=(1,))]), capsys)[-3] == \
        " Total params: 126 (1008.00 B)"
    # 1000 * 1000 + 1000 = 1,001,000 values, 8,008,000 bytes / 1024**2 = 7.637 MB
    assert summary_lines(Sequential([Dense(1000, input_shape=(1000,))]), capsys)[-3] == \
        " Total params: 1,001,000 (7.64 MB)"


def test_summary_counts_batchnorm_state_in_its_row_and_as_non_trainable(capsys):
    model = Sequential([Dense(4, activation="relu", input_shape=(3,)), BatchNormalization(), Dense(1)])
    out = summary_lines(model, capsys)
    # BatchNorm over 4 features: gamma, beta (trainable), moving mean and variance: 16 values, as in Keras
    assert row("batchnorm (BatchNorm)", "(None, 4)", "16") in out
    assert out[-3:] == [" Total params: 37 (296.00 B)",  # 16 + 16 + 5 values, 8 bytes each
                        " Trainable params: 29 (232.00 B)",  # 16 + 8 + 5
                        " Non-trainable params: 8 (64.00 B)"]


def test_summary_shows_the_image_shapes_from_the_input_shape(capsys):
    model = Sequential([Conv2D(2, 3, input_shape=(1, 6, 6)), MaxPooling2D(2), Flatten(), Dense(1)])
    out = summary_lines(model, capsys)
    assert row("conv2d (Conv2D)", "(None, 2, 4, 4)", "20") in out  # 2 * 3*3 + 2
    assert row("maxpool2d (MaxPool2D)", "(None, 2, 2, 2)", "0") in out
    assert row("flatten (Flatten)", "(None, 8)", "0") in out


def test_summary_wraps_a_cell_too_long_for_its_column(capsys):
    model = Sequential([Dense(2, input_shape=(3,), name="hidden_layer_number_one_")])  # 24 + 8 > 31
    out = summary_lines(model, capsys)
    assert out[4:6] == [row("hidden_layer_number_one_", "(None, 2)", "8"), row("(Dense)", "", "")]
    assert max(len(line) for line in out) <= 80


def test_a_loaded_model_prints_its_summary(tmp_path, capsys):
    model = Sequential([Dense(3, input_shape=(2,)), Dense(1)])
    model.save(tmp_path / "model.h5")
    assert summary_lines(load_model(tmp_path / "model.h5"), capsys) == summary_lines(model, capsys)


def test_a_loaded_conv_model_may_grow_after_its_dense_layers(tmp_path):
    # The model file keeps no image height and width, but the last Dense's 10 outputs are known.
    model = Sequential([Input(shape=(1, 8, 8)), Conv2D(4, 3, activation="relu", seed=0), MaxPooling2D(2),
                        Flatten(), Dense(10, activation="relu", seed=1)])
    model.save(tmp_path / "conv.keras")
    again = load_model(tmp_path / "conv.keras")
    again.add(Dense(3, seed=2))
    assert again.layers[-1].weight.shape == (10, 3)
    x = np.random.default_rng(0).normal(size=(2, 1, 8, 8))
    assert again.predict(x, verbose=0).shape == (2, 3)
    # Flatten first (MNIST's usual first model) keeps no input_shape in the file either
    flat = Sequential([Flatten(input_shape=(1, 4, 4)), Dense(3, seed=0)])
    flat.save(tmp_path / "flat.keras")
    grown = load_model(tmp_path / "flat.keras")
    grown.add(Dense(2, seed=1))
    assert grown.layers[-1].weight.shape == (3, 2)


def test_network_summary_still_returns_a_string():
    model = Sequential([Dense(1, input_shape=(2,))])
    assert isinstance(model.network.summary(), str)


def test_save_and_load_model_roundtrip_keeps_predictions_and_compilation(tmp_path):
    model = Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(10, 3))
    model.fit(x, to_categorical(np.arange(10) % 2), epochs=2, verbose=0, seed=0)
    model.save(tmp_path / "model.keras")
    again = load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert again.loss == "categorical_crossentropy" and again.optimizer.name == "adam"
    assert isinstance(minidl.load(tmp_path / "model.keras"), minidl.Network)  # minidl's own format
    assert load_model(tmp_path / "model.keras", compile=False).loss is None
    # A loaded model may grow, one layer at a time: its output shape is known, and its compiled
    # categorical_crossentropy waits for the Softmax that comes after the bare Dense.
    again.add(Dense(3))
    assert again.layers[-1].weight.shape == (2, 3)
    three = to_categorical(np.arange(10) % 3)
    with pytest.raises(ValueError, match="not probabilities"):
        again.fit(x, three, epochs=1, verbose=0)
    again.add(Activation("softmax"))
    assert len(again.fit(x, three, epochs=1, verbose=0).history["loss"]) == 1


def test_a_loaded_model_keeps_its_loss_object_its_optimizer_and_metrics_through_pop_and_add(tmp_path):
    # pop and add compile the new network again, with what load_model kept: the loss's settings too
    x = np.random.default_rng(0).normal(size=(40, 3))
    y = (x[:, 0] > 0).astype(float)
    model = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(1)])  # logits out
    model.compile(optimizer=Adam(learning_rate=0.01), loss=minidl.BinaryCrossEntropy(from_logits=True,
                  epsilon=1e-4), metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0, seed=0)
    model.save(tmp_path / "logits.keras")
    again = load_model(tmp_path / "logits.keras")
    optimizer = again.optimizer
    again.pop()
    again.add(Dense(1))  # a new head, still logits
    assert again.network.loss.config() == {"from_logits": True, "epsilon": 1e-4}
    assert isinstance(again.loss, minidl.BinaryCrossEntropy) and again.loss.config()["from_logits"]
    assert again.optimizer is optimizer and again.network.trainer.optimizer is optimizer
    assert optimizer.learning_rate == 0.01
    logs = again.evaluate(x, y, return_dict=True, verbose=0)  # from_logits=False would refuse the logits
    assert sorted(logs) == ["accuracy", "loss"] and 0.0 <= logs["accuracy"] <= 1.0


def test_get_weights_are_keras_layouts_of_the_minidl_layers():
    model = Sequential([Dense(4, activation="relu", input_shape=(3,)), BatchNormalization(), Dense(2)])
    dense, _, norm, dense_1 = model.layers
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(3, 4), (4,), (4,), (4,), (4,), (4,), (4, 2), (2,)]
    expected = [dense.weight.value, dense.bias.value, norm.gamma.value, norm.beta.value, norm.running_mean,
                norm.running_var, dense_1.weight.value, dense_1.bias.value]
    for got, want in zip(weights, expected, strict=True):
        np.testing.assert_array_equal(got, want)
        assert got is not want


def test_set_weights_writes_into_the_minidl_layers_in_place():
    model = Sequential([Dense(2, input_shape=(3,)), BatchNormalization()])
    dense, norm = model.layers
    weight = dense.weight.value
    new = [np.arange(6.0).reshape(3, 2), np.array([1.0, 2.0]), np.full(2, 3.0), np.full(2, 4.0),
           np.full(2, 5.0), np.full(2, 6.0)]
    model.set_weights(new)
    assert dense.weight.value is weight
    np.testing.assert_array_equal(weight, new[0])
    np.testing.assert_array_equal(norm.running_var, [6.0, 6.0])
    with pytest.raises(ValueError, match="expects 6 arrays"):
        model.set_weights(new[:2])
    with pytest.raises(ValueError, match=r"Dense 'dense' weight 0 .* shape \(3, 2\)"):
        model.set_weights([np.ones((2, 3)), *new[1:]])


def test_conv2d_weights_are_keras_kernel_layout():
    model = Sequential([Conv2D(2, 3, input_shape=(1, 6, 6)), MaxPooling2D(2), Flatten(), Dense(1)])
    conv = model.layers[0]
    kernel, bias = model.get_weights()[:2]
    assert kernel.shape == (3, 3, 1, 2) and bias.shape == (2,)
    np.testing.assert_array_equal(kernel[:, :, 0, 1], conv.weight.value[1, 0])
    model.set_weights([kernel + 1.0, *model.get_weights()[1:]])
    np.testing.assert_array_equal(conv.weight.value, kernel.transpose(3, 2, 0, 1) + 1.0)


def test_the_network_works_with_minidls_tools():
    model = Sequential([Dense(3, activation="tanh", input_shape=(2,)), Dense(1)])
    x = np.array([[0.5, -1.0]])
    assert minidl.check_gradients(model.network, x).passed
    np.testing.assert_allclose(model.network.trace(x[0]).model_output, model.predict(x)[0])


def test_calling_the_model_gives_the_predictions_in_evaluation_mode():
    model = Sequential([Dense(8, activation="relu", input_shape=(3,), seed=0), Dropout(0.5, seed=0),
                        Dense(2, seed=1)])
    x = np.random.default_rng(0).normal(size=(5, 3))
    out = model(x)
    assert isinstance(out, np.ndarray) and out.shape == (5, 2)
    np.testing.assert_array_equal(out, model.predict(x))  # Dropout passed its input through
    np.testing.assert_array_equal(model(x, training=False), out)
    assert model.network.training  # the modes are as they were


def test_calling_the_model_with_training_true_drops_then_restores_the_modes():
    model = Sequential([Input(shape=(1000,)), Dropout(0.5, seed=0)])
    x = np.ones((1, 1000))
    model.network.eval()
    dropped = model(x, training=True)
    assert set(np.unique(dropped)) == {0.0, 2.0}  # each one zeroed, or kept and scaled by 1 / (1 - 0.5)
    assert 400 < np.count_nonzero(dropped) < 600
    assert not model.network.training
    np.testing.assert_array_equal(model(x), x)
    assert not np.shares_memory(model(x), x)  # a new array, even when every layer passes x through


def test_calling_the_model_builds_it_and_checks_training():
    model = Sequential([Dense(2)])
    assert model(np.ones((4, 7))).shape == (4, 2)
    with pytest.raises(TypeError, match="training must be True, False or None; got 'yes'"):
        model(np.ones((4, 7)), training="yes")
    with pytest.raises(ValueError, match=r"Sequential call: .*not built"):
        Sequential([Dense(2)])(None)


def test_model_history_is_the_history_fit_returned():
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    assert model.history is None
    x, y = np.ones((4, 2)), np.zeros(4)
    history = model.fit(x, y, epochs=3, verbose=0)
    assert model.history is history and len(model.history.history["loss"]) == 3
    again = model.fit(x, y, epochs=1, verbose=0)
    assert model.history is again and again is not history
    assert history.model is model and again.model is model  # Keras's: the model, not its network


def test_fit_with_zero_epochs_returns_an_empty_history_as_keras():
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    history = model.fit(np.ones((4, 2)), np.ones(4), epochs=0)
    assert (history.history, history.epoch) == ({}, []) and model.history is history


def test_an_activation_layer_builds_what_the_activation_argument_does():
    x = np.random.default_rng(0).normal(size=(4, 3))
    apart = Sequential([Dense(5, input_shape=(3,), seed=0), Activation("softmax")])
    joined = Sequential([Dense(5, activation="softmax", input_shape=(3,), seed=0)])
    assert [type(layer).__name__ for layer in apart.layers] == ["Dense", "Softmax"]
    np.testing.assert_array_equal(apart.predict(x), joined.predict(x))
    np.testing.assert_allclose(apart.predict(x).sum(axis=1), 1.0)


def test_a_layer_instead_of_a_list_is_a_clear_type_error():
    with pytest.raises(TypeError, match=r"expects a list of layers; got one Dense: write Sequential"):
        Sequential(Dense(3))


def test_compile_checks_the_names_before_the_model_is_built():
    model = Sequential([Dense(3, activation="softmax")])
    with pytest.raises(ValueError, match="unknown optimizer 'adm'"):
        model.compile("adm", "categorical_crossentropy")
    with pytest.raises(ValueError, match="unknown loss 'categorical_crossentropyy'"):
        model.compile("adam", "categorical_crossentropyy")
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        model.compile("adam", "categorical_crossentropy", metrics=["acuracy"])
    assert model.loss is None  # nothing was kept


def test_compile_makes_the_optimizer_object_before_the_model_is_built():
    model = Sequential([Dense(2), Dense(1)])  # no input shape: not built
    model.compile(optimizer="adam", loss="mean_squared_error")
    assert type(model.optimizer) is Adam and model.optimizer.learning_rate == 0.001
    made = model.optimizer
    model.fit(np.ones((4, 3)), np.zeros(4), epochs=2, verbose=0)
    assert model.optimizer is made and model.network.optimizer is made  # fit trained with it


def test_a_compile_that_fails_when_built_gives_its_own_error_again_not_call_compile():
    model = Sequential([Dense(1, activation="softmax")])
    model.compile("adam", "categorical_crossentropy")
    # built by predict, which needs no loss; compile's check of the last layer fails at fit
    np.testing.assert_array_equal(model.predict(np.ones((2, 3))), np.ones((2, 1)))
    with pytest.raises(ValueError, match="normalises a single output unit"):
        model.fit(np.ones((2, 3)), np.ones((2, 1)), verbose=0)
    with pytest.raises(ValueError, match="normalises a single output unit"):
        model.evaluate(np.ones((2, 3)), np.ones((2, 1)))


def test_a_built_model_may_be_compiled_before_its_softmax_is_added(tmp_path):
    model = Sequential([Dense(8, input_shape=(4,), activation="relu"), Dense(3)])  # built at once
    model.compile("adam", "categorical_crossentropy", ["accuracy"])  # was refused: it ends in Dense
    x, y = np.random.default_rng(0).normal(size=(6, 4)), to_categorical([0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match="not probabilities"):
        model.save(tmp_path / "dead-end.keras")  # not a file silently without its compile
    model.add(Activation("softmax"))
    assert len(model.fit(x, y, epochs=2, verbose=0).history["loss"]) == 2


def test_evaluate_before_compile_says_model_compile():
    model = Sequential([Dense(1, input_shape=(2,))])
    with pytest.raises(RuntimeError, match=r"evaluate needs a compiled model: call model.compile\("):
        model.evaluate(np.ones((2, 2)), np.ones(2))


def batchnorm_model():
    return Sequential([Dense(2, input_shape=(2,)), BatchNormalization()])


@pytest.mark.parametrize(("model", "index", "value", "error", "match"), [
    (batchnorm_model, 5, [-5.0, 1.0], ValueError, r"'running_var' has negative entries \(min -5.0\)"),
    (batchnorm_model, 5, [np.inf, 1.0], ValueError, r"weight 3 must be finite; got inf"),
    (lambda: Sequential([Dense(2, input_shape=(2,), dtype="float32")]), 0, np.full((2, 2), 1e300), ValueError,
     r"Dense 'dense' weight 0 holds 1e\+300, too large for the layer's float32"),
    (batchnorm_model, 0, np.full((2, 2), "a"), TypeError, "Dense 'dense' weight 0 must hold real numbers"),
    (batchnorm_model, 1, [1j, 1j], TypeError, r"Dense 'dense' weight 1 must hold real numbers .* complex128"),
])
def test_set_weights_refuses_what_other_loaders_refuse_and_changes_nothing(model, index, value, error, match):
    model = model()
    before = model.get_weights()
    with pytest.raises(error, match=match):
        model.set_weights([*before[:index], value, *before[index + 1:]])
    for got, want in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("first", "shape"), [
    (lambda shape: [Conv2D(8, 3, padding="same", activation="relu", input_shape=shape)], (8, 8, 1)),
    (lambda shape: [Conv2D(8, 3, input_shape=shape)], (32, 32, 3)),
    (lambda shape: [Input(shape), MaxPooling2D(2)] if shape else [MaxPooling2D(2)], (28, 28, 1)),
])
def test_channels_last_images_into_a_first_image_layer_are_refused(first, shape):
    # Conv2D(input_shape=(8, 8, 1)) built 8 channels of 8 x 1 images and trained to 0.908 where
    # channels first gave 0.956; only a window wider than 1 pixel was caught
    expected = (rf"look channels last \(height, width, channels\), as in Keras; minidl's are channels first: "
                rf"input_shape=\({shape[2]}, {shape[0]}, {shape[1]}\), and x.transpose\(0, 3, 1, 2\)")
    with pytest.raises(ValueError, match=expected):
        Sequential(first(shape))
    with pytest.raises(ValueError, match="look channels last"):  # the shape of the first data alike
        model = Sequential([*first(None), Flatten(), Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(np.zeros((4, *shape)), np.zeros((4, 2)), verbose=0)
    # Channels first, and deeper layers whose feature maps are as small as 3 x 3, are built
    assert Sequential([Conv2D(16, 3, input_shape=(1, 8, 8)), MaxPooling2D(2), Conv2D(4, 3, padding="same"),
                       Flatten(), Dense(2)]).predict(np.zeros((1, 1, 8, 8))).shape == (1, 2)


def test_a_minidl_layer_whose_declared_input_does_not_fit_is_refused_at_build():
    with pytest.raises(ValueError, match=r"Dense 'dense': expected 5 input features.*got 3.*"
                                         r"\(Sequential: samples of shape \(3,\) reach it\)"):
        Sequential([Dense(3, input_shape=(4,)), minidl.Dense(5, 2)])
    model = Sequential([minidl.Dense(5, 2)])
    with pytest.raises(ValueError, match="expected 5 input features"):
        model.predict(np.ones((2, 3)))
    assert model.layers == []


def test_set_weights_puts_back_the_layers_set_before_a_refused_array():
    model = batchnorm_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match="negative entries"):
        model.set_weights([before[0] + 1.0, *before[1:5], np.array([-5.0, 1.0])])
    np.testing.assert_array_equal(model.get_weights()[0], before[0])


def test_pop_of_an_input_forgets_its_shape():
    # Input((5,)) after popping Input((3,)) was refused: "the shape reaching it is (3,)"
    model = Sequential([Input(shape=(3,))])
    assert model.pop().kind == "Input"
    model.add(Input(shape=(5,)))
    model.add(Dense(2))
    assert model.layers[0].weight.shape == (5, 2)


def test_a_loaded_conv_models_head_may_be_popped_and_replaced(tmp_path):
    # The file keeps no image size, so after popping the head the shape reaching the next layer was
    # unknown: "cannot add Dense here"; the popped Dense knew it (its 36 inputs)
    model = Sequential([Input(shape=(1, 8, 8)), Conv2D(4, 3, activation="relu", seed=0), MaxPooling2D(2),
                        Flatten(), Dense(10, activation="softmax", seed=1)])
    model.save(tmp_path / "conv.keras")
    again = load_model(tmp_path / "conv.keras")
    assert [type(again.pop().layers[0]).__name__ for _ in range(2)] == ["Softmax", "Dense"]
    again.add(Dense(3, seed=2))
    assert again.layers[-1].weight.shape == (36, 3)
    assert again.predict(np.zeros((2, 1, 8, 8)), verbose=0).shape == (2, 3)


class KeepsItsInput(minidl.Layer):
    """A user's layer that declares no output shape (Layer.output_features says: not known)."""

    def forward(self, x):
        return x

    def backward(self, grad_y):
        return grad_y


def test_what_follows_a_layer_of_unknown_output_shape_is_refused_naming_it():
    model = Sequential([Input((3,)), KeepsItsInput()])
    raises(ValueError, lambda: model.add(Dense(2)),
           "cannot add Dense here: the output shape of the last layer is not known")
    waiting = Sequential([KeepsItsInput(), Dense(2)])  # built at the first data, where it fails
    raises(ValueError, lambda: waiting.predict(np.ones((2, 3))),
           "the shape reaching Dense is not known; give the first layer the full input_shape")
    assert waiting.layers == []  # nothing built


def test_add_and_compile_refuse_what_is_no_layer_and_no_loss():
    model = Sequential([Dense(1, input_shape=(2,))])
    raises(TypeError, lambda: model.add("dense"), "Sequential.add expects a layer such as Dense(32); got str")
    raises(TypeError, lambda: model.add(minidl.ReLU), "got the class ReLU; create one with ReLU()")
    raises(ValueError, lambda: model.compile(optimizer="sgd"),
           "compile needs a loss, e.g. loss='mean_squared_error' or loss='categorical_crossentropy'")


def test_stop_training_reads_the_networks_flag():
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    assert model.stop_training is False
    model.network.stop_training = True
    assert model.stop_training is True


def test_repr_counts_the_minidl_layers_built_and_the_recipes_waiting():
    # A Dense with an activation is two minidl layers.
    assert repr(Sequential([Dense(3, activation="relu", input_shape=(2,)), Dense(1)])) == \
        "<minidl.keras.Sequential 'sequential': 3 minidl layers, 0 not built>"
    assert repr(Sequential([Dense(3), Dense(1)], name="later")) == \
        "<minidl.keras.Sequential 'later': 0 minidl layers, 2 not built>"


def test_set_weights_of_one_layer_refuses_a_wrong_number_of_arrays():
    from minidl.keras.model import set_weights

    raises(ValueError, lambda: set_weights(minidl.Dense(2, 3), [np.ones((2, 3))]),
           "Dense 'dense' has 2 weight arrays; got 1")


def test_a_stop_on_a_non_finite_loss_warns_at_the_line_calling_fit():
    # It pointed at minidl/keras/model.py: Model.fit reaches the warning through one more frame than
    # network.fit does
    model = Sequential([Dense(1, input_shape=(1,))])
    model.compile(optimizer=SGD(learning_rate=0.1), loss="mse")
    with pytest.warns(RuntimeWarning, match="stopped: the training loss became") as caught:
        model.fit(np.ones((4, 1)), np.full((4, 1), 1e200), epochs=2, verbose=0)
    assert caught[0].filename == __file__


def test_kerass_losses_module_gives_minidls_losses_under_kerass_names(tmp_path):
    from minidl.keras.losses import (
        BinaryCrossentropy,
        CategoricalCrossentropy,
        MeanAbsoluteError,
        MeanSquaredError,
        SparseCategoricalCrossentropy,
    )

    for keras_name, minidls in [(BinaryCrossentropy, minidl.BinaryCrossEntropy),
                                (CategoricalCrossentropy, minidl.CategoricalCrossEntropy),
                                (SparseCategoricalCrossentropy, minidl.SparseCategoricalCrossEntropy)]:
        assert type(keras_name(from_logits=True)) is minidls and keras_name(True).from_logits is True
        # Keras's second argument is label_smoothing; read as minidl's epsilon it changed the loss
        with pytest.raises(TypeError):
            keras_name(False, 0.1)
        with pytest.raises(TypeError, match="label_smoothing"):
            keras_name(label_smoothing=0.1)
    assert (MeanSquaredError, MeanAbsoluteError) == (minidl.MeanSquaredError, minidl.MeanAbsoluteError)
    # Keras's logits recipe: no softmax in the model, the loss reads the logits
    model = Sequential([Dense(3, input_shape=(2,), seed=0)])
    model.compile(optimizer="sgd", loss=SparseCategoricalCrossentropy(from_logits=True))
    x, labels = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 2])
    logits = model.predict(x)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert model.evaluate(x, labels) == pytest.approx(-log_softmax[[0, 1], labels].mean())
    model.save(tmp_path / "logits.keras")
    assert load_model(tmp_path / "logits.keras").loss.from_logits is True
    assert minidl.keras.losses is sys.modules["minidl.keras.losses"]
