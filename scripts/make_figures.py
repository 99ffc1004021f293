"""Draw every figure of the documentation from minidl itself, into docs/images/.

Run it from the repository root after changing anything a figure shows::

    python scripts/make_figures.py            # writes docs/images/*.png
    python scripts/make_figures.py --out DIR  # somewhere else (the tests do this)

Every picture is computed by minidl (its networks, ``trace``, ``backward``, optimizers
and ``fit``) and drawn by ``minidl.plot``; nothing is typed in by hand, so a figure can
never disagree with the code. Needs the ``plot`` extra (matplotlib).
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np

import minidl
import minidl.plot

ROOT = Path(__file__).resolve().parents[1]

# The course's networks (the-need-for-optimization, cells [3] and [4]).
WEIGHTS_0 = {"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]}
WEIGHTS_1 = {"node_0": [2, 1], "node_1": [1, 0], "output": [1, 1]}
COURSE_X = np.array([[0, 3], [1, 2], [-1, -2], [4, 0]])
COURSE_Y = np.array([1, 3, 5, 7])


def figure_forward_propagation():
    """The first forward-propagation diagram: inputs 2 and 3, hidden 5 and 1, output 9."""
    weights = {"node_0": [1, 1], "node_1": [-1, 1], "output": [2, -1]}
    network = minidl.Network.from_node_weights(weights, activation="identity")
    ax = minidl.plot.draw_network(network, x=[2, 3])
    ax.set_title("Forward propagation: 2·1 + 3·1 = 5, 2·(-1) + 3·1 = 1, 5·2 + 1·(-1) = 9")
    return ax.figure


def figure_network(weights, label):
    """The course's 2-2-1 ReLU network on the sample [0, 3] (target 3)."""

    def draw():
        network = minidl.Network.from_node_weights(weights, activation="relu")
        ax = minidl.plot.draw_network(network, x=[0, 3])
        prediction = network.predict(np.array([0, 3]))[0]
        ax.set_title(f"{label}: prediction {prediction:g}, target 3, error {prediction - 3:g}")
        return ax.figure

    return draw


def figure_deeper_network():
    """The course's network with two hidden layers on the sample [3, 5]."""
    weights = {"node_0_0": [2, 4], "node_0_1": [4, -5], "node_1_0": [-1, 2], "node_1_1": [1, 2],
               "output": [2, 7]}
    network = minidl.Network.from_node_weights(weights, activation="relu")
    ax = minidl.plot.draw_network(network, x=[3, 5])
    ax.set_title("Two hidden layers, ReLU after every node")
    return ax.figure


def figure_loss_landscape():
    """MSE of weights_0 on the four points as weights_0['node_0'][1] varies."""
    network = minidl.Network.from_node_weights(WEIGHTS_0)
    ax = minidl.plot.plot_loss_landscape(network, minidl.MeanSquaredError(), COURSE_X, COURSE_Y,
                                         parameter=network[0].weight, index=(1, 0), span=2.0)
    return ax.figure


def figure_backprop_tangent():
    """Tutorial 4: the MSE on the point [0, 3] as the weight x_1 -> node_0 varies (tangent slope 36)."""
    network = minidl.Network.from_node_weights(WEIGHTS_0)
    ax = minidl.plot.plot_loss_landscape(network, minidl.MeanSquaredError(), np.array([[0.0, 3.0]]),
                                         np.array([[3.0]]), parameter=network[0].weight, index=(1, 0))
    return ax.figure


def gradient_descent_network():
    """The course's gradient-descent model: three inputs, weights [0, 2, 1], no activation."""
    return minidl.Network([
        minidl.Dense(3, 1, use_bias=False, weight_init=[[0.0], [2.0], [1.0]]),
        minidl.Identity(),
    ])


def figure_single_weight():
    """'Optimizing a model with a single weight': the loss over weight 0, slope 14."""
    network = gradient_descent_network()
    ax = minidl.plot.plot_loss_landscape(network, minidl.MeanSquaredError(), [[1, 2, 3]], [[0]],
                                         parameter=0, index=(0, 0), span=9.0)
    ax.set_title("Loss as one weight varies: at w = 0 the slope is 14, the minimum is at w = -7")
    return ax.figure


def figure_gradient_descent_history():
    """The MSE after each of 20 SGD updates (learning rate 0.01) of the course's model."""
    network = gradient_descent_network()
    loss = minidl.MeanSquaredError()
    optimizer = minidl.SGD(learning_rate=0.01)
    x, y = np.array([[1.0, 2.0, 3.0]]), np.array([[0.0]])
    history = []
    for _ in range(20):
        loss.forward(network.forward(x), y)
        network.backward(loss.backward())
        optimizer.step(network.parameters())
        history.append(loss.forward(network.forward(x), y))
    figure = minidl.plot.plot_history({"loss": history})
    figure.axes[0].set_title("Gradient descent: mean squared error after each update")
    figure.axes[0].set_ylabel("mean squared error")
    figure.axes[0].set_xlabel("update")
    return figure


def diabetes_data():
    """scikit-learn's diabetes data as tutorial 5 prepares it (shuffled, standardised)."""
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    order = np.random.default_rng(0).permutation(len(data.target))
    x, y = data.data[order], data.target[order]
    n_train = int(len(x) * 0.7)
    x = (x - x[:n_train].mean(axis=0)) / x[:n_train].std(axis=0)
    y = (y - y[:n_train].mean()) / y[:n_train].std()
    return x, y


def regression_model(hidden_sizes, seed=0):
    """Tutorial 5's make_model: ReLU hidden layers of the given sizes, one linear output."""
    layers, width = [], 10
    for k, size in enumerate(hidden_sizes):
        layers += [minidl.Dense(width, size, seed=seed + k), minidl.ReLU()]
        width = size
    layers.append(minidl.Dense(width, 1, seed=seed + 99))
    return minidl.Network(layers)


def figure_model_capacity():
    """Tutorial 5: a small and a large network on the same data, training and validation."""
    x, y = diabetes_data()
    figure = None
    for label, hidden in (("small [2]", [2]), ("large [100, 100]", [100, 100])):
        network = regression_model(hidden)
        network.compile(optimizer=minidl.Adam(learning_rate=0.01), loss="mean_squared_error")
        history = network.fit(x, y, epochs=60, validation_split=0.3, seed=0, verbose=0)
        figure = minidl.plot.plot_history(history, keys=["loss"], label=label,
                                          axes=None if figure is None else figure.axes)
    figure.set_size_inches(7.0, 4.2)
    figure.axes[0].set_title("Model capacity: mean squared error per epoch (diabetes data)")
    figure.tight_layout()
    return figure


def figure_digits_history():
    """Tutorial 6: the digits classifier's loss and accuracy per epoch."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    images, labels = digits.data[order] / 16.0, digits.target[order]
    model = minidl.Network([
        minidl.Dense(64, 32, seed=0), minidl.ReLU(),
        minidl.Dense(32, 10, seed=1), minidl.Softmax(),
    ])
    model.compile(optimizer=minidl.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(
        images[:-300], labels[:-300], epochs=50, batch_size=32, validation_split=0.2, seed=0,
        verbose=0,
        callbacks=[minidl.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)],
    )
    return minidl.plot.plot_history(history)


@functools.cache
def digits_cnn():
    """Tutorial 8: the small CNN trained 8 epochs on the digits as (1, 8, 8) images, and the test images."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.data / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(images))
    images, labels = images[order], digits.target[order]
    split = int(0.8 * len(images))
    f32 = np.float32
    network = minidl.Network([
        minidl.Conv2D(1, 16, 3, padding=1, seed=51, dtype=f32), minidl.ReLU(), minidl.MaxPool2D(2),
        minidl.Conv2D(16, 32, 3, padding=1, seed=52, dtype=f32), minidl.ReLU(), minidl.MaxPool2D(2),
        minidl.Flatten(),
        minidl.Dense(128, 64, seed=53, dtype=f32), minidl.ReLU(),
        minidl.Dense(64, 10, seed=54, dtype=f32), minidl.Softmax(),
    ])
    network.compile(optimizer=minidl.Adam(learning_rate=0.002),
                    loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    network.fit(images[:split], labels[:split], epochs=8, batch_size=32, seed=0, verbose=0)
    return network, images[split:]


def figure_digits_cnn_filters():
    """Tutorial 8: the 16 trained filters of the CNN's first Conv2D."""
    network, _ = digits_cnn()
    return minidl.plot.plot_filters(network.layers[0])


def figure_digits_cnn_feature_maps():
    """Tutorial 8: one test digit (a 7) after the CNN's first Conv2D and first MaxPool2D."""
    network, test_images = digits_cnn()
    return minidl.plot.plot_feature_maps(network, test_images[6], layers=["conv2d", "maxpool2d"])


def breast_cancer_data():
    """Tutorials 12 and 13: the breast cancer data shuffled, standardised on its first 70%, one-hot."""
    from sklearn.datasets import load_breast_cancer

    from minidl.keras import to_categorical

    data = load_breast_cancer()
    order = np.random.default_rng(0).permutation(len(data.target))
    features, labels = data.data[order], data.target[order]
    n_train = int(0.7 * len(features))
    predictors = (features - features[:n_train].mean(axis=0)) / features[:n_train].std(axis=0)
    return predictors, to_categorical(labels)


def keras_classifier(hidden, seeds):
    """Tutorials 12 and 13: ReLU hidden layers of the given sizes and a softmax over 2 classes."""
    from minidl.keras import Dense, Sequential

    model = Sequential()
    model.add(Dense(hidden[0], activation="relu", input_shape=(30,), seed=seeds[0]))
    for units, seed in zip(hidden[1:], seeds[1:-1], strict=True):  # seeds: one per Dense
        model.add(Dense(units, activation="relu", seed=seed))
    model.add(Dense(2, activation="softmax", seed=seeds[-1]))
    return model


def figure_learning_rates():
    """Tutorial 12: SGD's training loss for the learning rates 0.000001, 0.01 and 1 (10 epochs)."""
    from minidl.keras import SGD

    predictors, target = breast_cancer_data()
    figure = None
    for lr in [0.000001, 0.01, 1]:
        model = keras_classifier((100, 100), seeds=(1, 2, 3))
        model.compile(optimizer=SGD(learning_rate=lr), loss="categorical_crossentropy")
        history = model.fit(predictors, target, epochs=10, verbose=0, seed=0)
        figure = minidl.plot.plot_history(history, label=f"learning rate {lr:g}",
                                          axes=None if figure is None else figure.axes)
    figure.axes[0].set_yscale("log")
    figure.axes[0].set_title("SGD with three learning rates, from the same initial weights")
    figure.axes[0].legend(loc="center left", bbox_to_anchor=(1.02, 0.5))   # beside the curves
    figure.set_size_inches(9.0, 4.2)
    return figure


def figure_wider_deeper():
    """Tutorial 13: validation loss of wider (10 vs 100 nodes) and deeper (1 vs 3 layers) networks."""
    import matplotlib.pyplot as plt

    from minidl.keras import EarlyStopping

    predictors, target = breast_cancer_data()
    early_stopping_monitor = EarlyStopping(patience=2)

    def val_loss_of(hidden):
        model = keras_classifier(hidden, seeds=(*range(1, len(hidden) + 1), 99))
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        training = model.fit(predictors, target, epochs=15, validation_split=0.2,
                             callbacks=[early_stopping_monitor], verbose=False, seed=0)
        return training.history["val_loss"]

    figure, (wider, deeper) = plt.subplots(1, 2, figsize=(10.0, 4.0), sharey=True)
    for ax, runs in [(wider, {"2 layers of 10": (10, 10), "2 layers of 100": (100, 100)}),
                     (deeper, {"1 layer of 50": (50,), "3 layers of 50": (50, 50, 50)})]:
        for label, hidden in runs.items():
            minidl.plot.plot_history({"val_loss": val_loss_of(hidden)}, axes=ax, label=label)
    wider.set_ylabel("validation loss")
    deeper.set_ylabel("")
    wider.set_title("Wider: more nodes per layer")
    deeper.set_title("Deeper: more layers")
    return figure


FIGURES: dict[str, Callable[[], object]] = {
    "forward_propagation.png": figure_forward_propagation,
    "network_weights_0.png": figure_network(WEIGHTS_0, "weights_0"),
    "network_weights_1.png": figure_network(WEIGHTS_1, "weights_1"),
    "deeper_network.png": figure_deeper_network,
    "loss_landscape.png": figure_loss_landscape,
    "backprop_tangent.png": figure_backprop_tangent,
    "single_weight.png": figure_single_weight,
    "gradient_descent_history.png": figure_gradient_descent_history,
    "model_capacity.png": figure_model_capacity,
    "digits_history.png": figure_digits_history,
    "digits_cnn_filters.png": figure_digits_cnn_filters,
    "digits_cnn_feature_maps.png": figure_digits_cnn_feature_maps,
    "learning_rates.png": figure_learning_rates,
    "wider_deeper.png": figure_wider_deeper,
}


def main(argv: list[str] | None = None) -> list[Path]:
    """Write every figure; return the paths written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images",
                        help="folder for the PNG files (default: docs/images)")
    parser.add_argument("names", nargs="*", help="only these figures (file names)")
    args = parser.parse_args(argv)
    import matplotlib.pyplot as plt

    unknown = sorted(set(args.names) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figures {unknown}; known: {sorted(FIGURES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in FIGURES.items():
        if args.names and name not in args.names:
            continue
        figure = make()
        path = args.out / name
        # metadata without a date, so an unchanged figure gives an unchanged file
        figure.savefig(path, dpi=100, bbox_inches="tight", metadata={"Software": None})
        plt.close(figure)
        written.append(path)
        print(path)
    return written


if __name__ == "__main__":
    main()
