"""minidl.plot: the pictures show the model's own numbers (structure checked, not pixels)."""

import inspect
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import minidl
import minidl.keras
import minidl.plot as mplot
from tests.messages import raises

os.environ.setdefault("MPLBACKEND", "Agg")


# -- matplotlib stays optional -----------------------------------------------------------
def test_importing_minidl_and_minidl_plot_does_not_import_matplotlib():
    code = "import sys, minidl, minidl.plot; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


COURSE_WEIGHTS_0 = {"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]}


def test_without_matplotlib_the_error_says_how_to_install_it(monkeypatch):
    for name in ("matplotlib", "matplotlib.pyplot", "matplotlib.patches", "matplotlib.ticker"):
        monkeypatch.setitem(sys.modules, name, None)
    network = minidl.Network.from_node_weights(COURSE_WEIGHTS_0)
    with pytest.raises(ModuleNotFoundError, match=r'pip install -e "\.\[plot\]"'):
        mplot.draw_network(network)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[plot\]"'):
        mplot.plot_history({"loss": [1.0]})
    with pytest.raises(ModuleNotFoundError, match=r'pip install -e "\.\[plot\]"'):
        mplot.plot_filters(minidl.Conv2D(1, 2, 3))


# The tests that draw need matplotlib; those about matplotlib being optional, and the argument
# checks that run before anything is drawn, pass without it.
needs_matplotlib = pytest.mark.usefixtures("pyplot")


def texts_by_gid(ax, prefix):
    return {t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith(prefix)}


# -- draw_network ------------------------------------------------------------------------
@needs_matplotlib
def test_draw_network_labels_every_edge_with_its_weight():
    network = minidl.Network.from_node_weights(COURSE_WEIGHTS_0)
    ax = mplot.draw_network(network)
    labels = texts_by_gid(ax, "weight:")
    # 2 inputs x 2 hidden nodes + 2 hidden nodes x 1 output = 6 edges
    assert len(labels) == 6
    expected = {
        "weight:dense:0:0": "2", "weight:dense:1:0": "1",  # into node_0: [2, 1]
        "weight:dense:0:1": "1", "weight:dense:1:1": "2",  # into node_1: [1, 2]
        "weight:dense_1:0:0": "1", "weight:dense_1:1:0": "1",  # into output: [1, 1]
    }
    assert labels == expected
    assert len([line for line in ax.get_lines() if line.get_gid().startswith("edge:")]) == 6


@needs_matplotlib
def test_draw_network_edge_labels_match_random_weights_to_the_shown_precision():
    network = minidl.Network([minidl.Dense(3, 4, seed=1), minidl.Tanh(), minidl.Dense(4, 2, seed=2)])
    ax = mplot.draw_network(network, precision=4)
    labels = texts_by_gid(ax, "weight:")
    assert len(labels) == 3 * 4 + 4 * 2
    for layer in (network[0], network[2]):
        for (i, j), weight in np.ndenumerate(layer.weight.value):
            shown = float(labels[f"weight:{layer.name}:{i}:{j}"])
            assert shown == pytest.approx(weight, rel=1e-3, abs=1e-12)
    biases = texts_by_gid(ax, "bias:")
    assert len(biases) == 4 + 2  # Dense layers have biases by default (zeros)
    assert set(biases.values()) == {"b 0"}


@needs_matplotlib
def test_draw_network_shows_the_course_node_values_for_the_sample_0_3():
    network = minidl.Network.from_node_weights(COURSE_WEIGHTS_0)
    ax = mplot.draw_network(network, x=np.array([0, 3]))
    # By hand: node_0 = 0*2 + 3*1 = 3, node_1 = 0*1 + 3*2 = 6, output = 3*1 + 6*1 = 9.
    assert texts_by_gid(ax, "value:") == {
        "value:x_0": "0", "value:x_1": "3", "value:node_0": "3", "value:node_1": "6", "value:output": "9",
    }
    assert texts_by_gid(ax, "input:") == {
        "input:node_0": "in 3", "input:node_1": "in 6", "input:output": "in 9",
    }


@needs_matplotlib
def test_draw_network_shows_tutorial_1_identity_network_values_and_weights():
    # docs/tutorials/01: inputs [2, 3]; node_0 = 2*1 + 3*1 = 5, node_1 = 2*(-1) + 3*1 = 1,
    # output = 5*2 + 1*(-1) = 9, no activation.
    weights = {"node_0": [1, 1], "node_1": [-1, 1], "output": [2, -1]}
    network = minidl.Network.from_node_weights(weights, activation="identity")
    ax = mplot.draw_network(network, x=np.array([2, 3]))
    assert texts_by_gid(ax, "value:") == {
        "value:x_0": "2", "value:x_1": "3", "value:node_0": "5", "value:node_1": "1", "value:output": "9",
    }
    labels = texts_by_gid(ax, "weight:")
    assert labels["weight:dense:1:1"] == "1"  # from input 1 to node_1: weights["node_1"][1]
    assert labels["weight:dense:0:1"] == "-1"  # from input 0 to node_1: weights["node_1"][0]


@needs_matplotlib
def test_draw_network_shows_relu_clipping_input_and_output_apart():
    weights = {"node_0_0": [2, 4], "node_0_1": [4, -5], "node_1_0": [-1, 2], "node_1_1": [1, 2],
               "output": [2, 7]}
    ax = mplot.draw_network(minidl.Network.from_node_weights(weights), x=[3, 5])
    values, inputs = texts_by_gid(ax, "value:"), texts_by_gid(ax, "input:")
    # node_0_1 = 3*4 + 5*(-5) = -13 -> relu 0; node_0_0 = 3*2 + 5*4 = 26
    assert (inputs["input:node_0_1"], values["value:node_0_1"]) == ("in -13", "0")
    # node_1_0 = -26 -> 0; node_1_1 = 26; output = 0*2 + 26*7 = 182
    assert (inputs["input:node_1_0"], values["value:node_1_0"]) == ("in -26", "0")
    assert values["value:output"] == "182"


@needs_matplotlib
def test_draw_network_shows_softmax_probabilities_as_output_values():
    network = minidl.Network([minidl.Dense(2, 3, seed=0), minidl.Softmax()])
    ax = mplot.draw_network(network, x=[0.5, -1.0], precision=6)
    shown = [float(text) for gid, text in texts_by_gid(ax, "value:output").items()]
    assert len(shown) == 3
    assert sum(shown) == pytest.approx(1.0, abs=1e-5)


@pytest.fixture
def pyplot():
    """matplotlib.pyplot, closing the figures a test drew; without matplotlib the test is skipped."""
    plt = pytest.importorskip("matplotlib.pyplot", reason='needs matplotlib: pip install -e ".[plot]"')
    yield plt
    plt.close("all")


def test_draw_network_keeps_the_network_mode_and_draws_into_a_given_axes(pyplot):
    network = minidl.Network.from_node_weights(COURSE_WEIGHTS_0)
    _, ax = pyplot.subplots()
    assert mplot.draw_network(network, x=[0, 3], ax=ax) is ax
    assert network.training


@needs_matplotlib
def test_draw_network_names_layers_before_the_first_dense_and_shows_what_it_receives():
    network = minidl.Network([minidl.Dropout(0.5, seed=0), minidl.Dense(2, 1, use_bias=False,
                                                                         weight_init=[[2.0], [1.0]])])
    ax = mplot.draw_network(network, x=[1.5, -1.0])
    headers = texts_by_gid(ax, "header:")
    assert headers["header:0"] == "input + Dropout"
    # evaluation mode: Dropout passes the sample through, output = 1.5*2 + (-1)*1 = 2
    assert texts_by_gid(ax, "value:") == {"value:x_0": "1.5", "value:x_1": "-1", "value:output": "2"}
    assert network.training  # the mode is put back


@pytest.mark.parametrize(
    ("x", "message"),
    [([1, 2, 3], r"shape \(2,\)"), ([[0, 3], [1, 2]], r"one sample"), ([0, np.nan], "finite")],
)
def test_draw_network_rejects_a_bad_sample(x, message):
    network = minidl.Network.from_node_weights(COURSE_WEIGHTS_0)
    with pytest.raises(ValueError, match=message):
        mplot.draw_network(network, x=x)


def test_draw_network_shows_the_values_of_a_network_with_layers_before_its_first_dense():
    network = minidl.Network([minidl.Conv2D(1, 2, 3, seed=0), minidl.Flatten(), minidl.Dense(8, 1, seed=1)])
    image = np.arange(16.0).reshape(1, 4, 4)  # one sample (channels, height, width), as plot_feature_maps
    ax = mplot.draw_network(network, x=image)
    flat = network.layers[1].forward(network.layers[0].forward(image[None]))[0]  # what the Dense receives
    expected = float(flat @ network.layers[2].weight.value[:, 0] + network.layers[2].bias.value[0])
    values = texts_by_gid(ax, "value:")
    assert values["value:output"] == f"{expected:.3g}"
    assert values["value:x_0"] == f"{flat[0]:.3g}" and len(values) == 9
    with pytest.raises(ValueError, match=r"x must be one sample without the batch axis \(got shape "
                                         r"\(1, 1, 4, 4\)\): Conv2D 'conv2d': expected input of shape"):
        mplot.draw_network(network, x=image[None])
    # BatchNorm first: features or images, as its forward takes them (a declared-rank check refused both)
    for layers, sample in [([minidl.BatchNorm(2), minidl.Flatten(), minidl.Dense(18, 1)], np.ones((2, 3, 3))),
                           ([minidl.BatchNorm(3), minidl.Dense(3, 1)], np.ones((1, 3)))]:
        values = texts_by_gid(mplot.draw_network(minidl.Network(layers), x=sample), "value:")
        assert "value:output" in values


def test_draw_network_refuses_what_is_not_a_network_of_dense_layers():
    with pytest.raises(ValueError, match="at least one Dense layer"):
        mplot.draw_network(minidl.Network([minidl.ReLU()]))
    with pytest.raises(TypeError, match="Network"):
        mplot.draw_network([minidl.Dense(2, 1)])


def circles_per_column(ax):
    """Column x position -> the gids of the node circles drawn there, top to bottom."""
    columns = {}
    for circle in sorted(ax.patches, key=lambda patch: -patch.center[1]):
        columns.setdefault(round(circle.center[0], 6), []).append(circle.get_gid())
    return [columns[x] for x in sorted(columns)]


@needs_matplotlib
def test_draw_network_draws_a_digits_sized_network_as_the_first_and_last_5_nodes_of_wide_columns():
    assert mplot.MAX_DRAWN_NODES == 12
    network = minidl.Network([minidl.Dense(64, 16, seed=0), minidl.ReLU(), minidl.Dense(16, 10, seed=1),
                              minidl.Softmax()])
    network[0].bias.value[...] = np.linspace(-1, 1, 16)  # non-zero biases, to check which one is shown
    x = np.random.default_rng(0).uniform(0, 16, size=64)  # an 8 x 8 digit's pixels, 0 to 16
    ax = mplot.draw_network(network, x=x, precision=8)

    inputs, hidden = [0, 1, 2, 3, 4, 59, 60, 61, 62, 63], [0, 1, 2, 3, 4, 11, 12, 13, 14, 15]
    assert circles_per_column(ax) == [[f"node:x_{i}" for i in inputs], [f"node:node_{j}" for j in hidden],
                                      [f"node:output_{k}" for k in range(10)]]  # 10 nodes: all drawn
    ellipses = [t for t in ax.texts if (t.get_gid() or "").startswith("ellipsis:")]
    assert [(t.get_gid(), t.get_text()) for t in ellipses] == [("ellipsis:0", "⋮"), ("ellipsis:1", "⋮")]
    (circle_4,) = [c for c in ax.patches if c.get_gid() == "node:x_4"]
    (circle_59,) = [c for c in ax.patches if c.get_gid() == "node:x_59"]
    assert circle_59.center[1] < ellipses[0].get_position()[1] < circle_4.center[1]  # between them
    headers = texts_by_gid(ax, "header:")
    assert headers == {"header:0": "input\n64 nodes", "header:1": "dense + ReLU\n16 nodes",
                       "header:2": "dense_1 + Softmax"}  # 10 nodes: drawn in full, no count

    # Edges and weights between drawn nodes only, each labelled with its own W[i, j].
    weights = texts_by_gid(ax, "weight:")
    assert len(weights) == len([line for line in ax.get_lines() if line.get_gid().startswith("edge:")])
    assert len(weights) == 10 * 10 + 10 * 10
    for i in inputs:
        for j in hidden:
            assert float(weights[f"weight:dense:{i}:{j}"]) == pytest.approx(network[0].weight.value[i, j])
    assert "weight:dense:5:0" not in weights and "weight:dense:0:5" not in weights

    # The drawn nodes' values, computed here by hand: relu(x W1 + b1), softmax(h W2 + b2).
    sums = x @ network[0].weight.value + network[0].bias.value
    hidden_out = np.maximum(sums, 0.0)
    logits = hidden_out @ network[2].weight.value + network[2].bias.value
    probabilities = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    values, node_inputs = texts_by_gid(ax, "value:"), texts_by_gid(ax, "input:")
    biases = texts_by_gid(ax, "bias:")
    assert len(values) == 10 + 10 + 10
    for i in inputs:
        assert float(values[f"value:x_{i}"]) == pytest.approx(x[i], rel=1e-6)
    for j in hidden:
        assert float(values[f"value:node_{j}"]) == pytest.approx(hidden_out[j], rel=1e-6, abs=1e-12)
        assert float(node_inputs[f"input:node_{j}"].removeprefix("in ")) == pytest.approx(sums[j], rel=1e-6)
        assert float(biases[f"bias:node_{j}"].removeprefix("b ")) == pytest.approx(network[0].bias.value[j])
    for k in range(10):
        assert float(values[f"value:output_{k}"]) == pytest.approx(probabilities[k], rel=1e-6)


@needs_matplotlib
def test_draw_network_draws_every_node_of_a_column_up_to_max_drawn_nodes():
    network = minidl.Network([minidl.Dense(12, 13, seed=0), minidl.Dense(13, 1, seed=1)])
    ax = mplot.draw_network(network)
    assert [len(column) for column in circles_per_column(ax)] == [12, 10, 1]
    assert [t.get_gid() for t in ax.texts if (t.get_gid() or "").startswith("ellipsis:")] == ["ellipsis:1"]
    assert texts_by_gid(ax, "header:")["header:1"] == "dense\n13 nodes"


@needs_matplotlib
def test_draw_network_draws_a_narrow_network_with_no_ellipsis_nor_count():
    network = minidl.Network.from_node_weights(COURSE_WEIGHTS_0)
    ax = mplot.draw_network(network, x=[0, 3])
    assert circles_per_column(ax) == [["node:x_0", "node:x_1"], ["node:node_0", "node:node_1"],
                                      ["node:output"]]
    assert not [t for t in ax.texts if (t.get_gid() or "").startswith("ellipsis:")]
    assert texts_by_gid(ax, "header:") == {"header:0": "input", "header:1": "dense + ReLU",
                                           "header:2": "dense_1 + ReLU"}


def line_by_gid(ax, gid):
    (line,) = [line for line in ax.get_lines() if line.get_gid() == gid]
    return line


# -- plot_history ------------------------------------------------------------------------
@needs_matplotlib
def test_plot_history_draws_each_key_per_epoch_with_validation_in_the_same_panel():
    record = {"accuracy": [0.5, 0.75, 1.0], "loss": [3.0, 2.0, 1.5], "val_loss": [4.0, 3.5, 3.25],
              "val_accuracy": [0.25, 0.5, 0.5]}
    figure = mplot.plot_history(record)
    loss_panel, accuracy_panel = figure.axes  # loss first, whatever the dict order
    assert loss_panel.get_ylabel() == "loss" and accuracy_panel.get_ylabel() == "accuracy"
    for panel, key in ((loss_panel, "loss"), (accuracy_panel, "accuracy")):
        for name in (key, f"val_{key}"):
            xs, ys = line_by_gid(panel, f"history:{name}").get_data()
            assert list(xs) == [1, 2, 3]
            assert list(ys) == record[name]
    assert line_by_gid(loss_panel, "history:val_loss").get_linestyle() == "--"


@needs_matplotlib
def test_plot_history_accepts_an_object_with_a_history_dict_and_overlays_runs():
    class History:
        def __init__(self, history):
            self.history = history

    first = mplot.plot_history(History({"loss": [2.0, 1.0]}), label="small")
    second = mplot.plot_history(History({"loss": [3.0, 0.5, 0.25]}), axes=first.axes, label="large")
    assert second is first
    (panel,) = first.axes
    assert [len(line.get_ydata()) for line in panel.get_lines()] == [2, 3]
    legend = [text.get_text() for text in panel.get_legend().get_texts()]
    assert legend == ["small: training", "large: training"]


@needs_matplotlib
def test_plot_history_overlaid_runs_draw_training_and_validation_lines_each():
    # docs/tutorials/05 overlays a small and a large run, each with loss and val_loss.
    small = {"loss": [2.0, 1.5], "val_loss": [2.5, 2.0]}
    large = {"loss": [1.0, 0.5], "val_loss": [1.5, 3.0]}
    figure = mplot.plot_history(small, keys=["loss"], label="small [2]")
    mplot.plot_history(large, keys=["loss"], axes=figure.axes, label="large [100, 100]")
    (panel,) = figure.axes
    assert [list(line.get_ydata()) for line in panel.get_lines()] == [
        small["loss"], small["val_loss"], large["loss"], large["val_loss"]]
    legend = [text.get_text() for text in panel.get_legend().get_texts()]
    assert legend == ["small [2]: training", "small [2]: validation",
                      "large [100, 100]: training", "large [100, 100]: validation"]


@needs_matplotlib
def test_plot_history_errors_are_clear():
    with pytest.raises(ValueError, match="empty history"):
        mplot.plot_history({})
    with pytest.raises(ValueError, match="empty history"):  # drew an empty panel
        mplot.plot_history({"loss": [], "val_loss": []})
    with pytest.raises(ValueError, match=r"plot_history keys is empty; give at least one of \['loss'\]"):
        mplot.plot_history({"loss": [1.0]}, keys=[])  # matplotlib's "Number of columns must be ..."
    with pytest.raises(ValueError, match=r"no \['accuracy'\]"):
        mplot.plot_history({"loss": [1.0]}, keys=["accuracy"])
    with pytest.raises(ValueError, match=r"no \['val_loss'\] in the history; it has \['loss'\] "
                                         r"\(give a key without val_"):
        mplot.plot_history({"loss": [1.0], "val_loss": [2.0]}, keys=["val_loss"])
    with pytest.raises(TypeError, match="History"):
        mplot.plot_history([1.0, 2.0])
    with pytest.raises(ValueError, match="one Axes per key"):
        figure = mplot.plot_history({"loss": [1.0], "mae": [1.0]})
        mplot.plot_history({"loss": [1.0], "mae": [1.0]}, axes=figure.axes[:1])


COURSE_X = np.array([[0, 3], [1, 2], [-1, -2], [4, 0]])


COURSE_Y = np.array([1, 3, 5, 7])


def test_plot_history_draws_into_the_axes_array_that_plt_subplots_returns():
    plt = pytest.importorskip("matplotlib.pyplot", reason='needs matplotlib: pip install -e ".[plot]"')

    record = {"loss": [2.0, 1.0], "accuracy": [0.5, 0.75]}
    figure, grid = plt.subplots(1, 2)  # a numpy array of two Axes
    assert mplot.plot_history(record, axes=grid) is figure
    for panel, key in zip(grid, ["loss", "accuracy"], strict=True):
        (line,) = panel.get_lines()
        assert line.get_gid() == f"history:{key}" and list(line.get_ydata()) == record[key]
    figure, grid = plt.subplots(1, 1, squeeze=False)  # shape (1, 1)
    assert mplot.plot_history({"loss": [3.0]}, axes=grid) is figure
    assert list(grid[0, 0].get_lines()[0].get_ydata()) == [3.0]
    plt.close("all")


# -- plot_loss_landscape -----------------------------------------------------------------
@needs_matplotlib
def test_loss_landscape_between_forward_and_backward_leaves_the_gradients_alone():
    # The backward used the forward of the sweep's last point: [[11, 11], [9.5, 9.5]] for [[10, 11], [0, 9.5]]
    network, loss = minidl.Network.from_node_weights(COURSE_WEIGHTS_0), minidl.MeanSquaredError()
    loss.forward(network.forward(COURSE_X), COURSE_Y)
    mplot.plot_loss_landscape(network, minidl.MeanSquaredError(), COURSE_X[:2], COURSE_Y[:2],
                              parameter=network[0].weight, index=(0, 0), span=3)
    network.backward(loss.backward())
    looked = network[0].weight.grad.copy()
    loss.forward(network.forward(COURSE_X), COURSE_Y)
    network.backward(loss.backward())
    np.testing.assert_array_equal(looked, network[0].weight.grad)
    mplot._pyplot().close("all")


def course_mse_with(weight_value, index):
    """The course network's MSE on cell [4]'s data with one weight of node_0/1 replaced."""
    weights = {key: np.array(value, dtype=float) for key, value in COURSE_WEIGHTS_0.items()}
    row, node = index
    weights[f"node_{node}"][row] = weight_value
    predicted = minidl.Network.from_node_weights(weights).predict(COURSE_X)
    return minidl.metrics.mean_squared_error(COURSE_Y, predicted)


@needs_matplotlib
def test_loss_landscape_curve_point_and_tangent_agree_with_finite_differences():
    network = minidl.Network.from_node_weights(COURSE_WEIGHTS_0)
    weight = network[0].weight
    ax = mplot.plot_loss_landscape(network, minidl.MeanSquaredError(), COURSE_X, COURSE_Y,
                                   parameter=weight, index=(1, 0), span=2.0, num=41)
    w0 = 1.0  # weights['node_0'][1]
    (px,), (py,) = line_by_gid(ax, "current").get_data()
    assert (px, py) == (w0, 37.5)  # the course's MSE with weights_0
    xs, ys = line_by_gid(ax, "landscape").get_data()
    assert len(xs) == 41 and xs[0] == pytest.approx(-1.0) and xs[-1] == pytest.approx(3.0)
    for w, loss in zip(xs[::8], ys[::8], strict=True):
        assert loss == pytest.approx(course_mse_with(w, (1, 0)), rel=1e-12)
    tx, ty = line_by_gid(ax, "tangent").get_data()
    slope = (ty[-1] - ty[0]) / (tx[-1] - tx[0])
    h = 1e-5
    finite = (course_mse_with(w0 + h, (1, 0)) - course_mse_with(w0 - h, (1, 0))) / (2 * h)
    assert slope == pytest.approx(finite, rel=1e-6)
    assert ty[0] + slope * (w0 - tx[0]) == pytest.approx(37.5)  # the tangent touches the curve


@needs_matplotlib
def test_loss_landscape_slope_is_the_course_gradient_14():
    network = minidl.Network(
        [minidl.Dense(3, 1, use_bias=False, weight_init=[[0.0], [2.0], [1.0]]), minidl.Identity()]
    )
    ax = mplot.plot_loss_landscape(network, minidl.MeanSquaredError(), [[1, 2, 3]], [[0]],
                                   parameter=0, index=(0, 0))
    tx, ty = line_by_gid(ax, "tangent").get_data()
    # error = 1*0 + 2*2 + 3*1 - 0 = 7; dMSE/dw_0 = 2 * error * x_0 = 14
    assert (ty[-1] - ty[0]) / (tx[-1] - tx[0]) == pytest.approx(14.0, rel=1e-12)


@needs_matplotlib
def test_loss_landscape_slope_is_tutorial_4_backprop_gradient_36():
    # docs/tutorials/04: the point [0, 3], target 3; prediction 9, so raising the weight from
    # x_1 into node_0 by h makes the squared error (6 + 3h)^2: slope 2 * 6 * 3 = 36.
    network = minidl.Network.from_node_weights(COURSE_WEIGHTS_0)
    ax = mplot.plot_loss_landscape(network, minidl.MeanSquaredError(), [[0.0, 3.0]], [[3.0]],
                                   parameter=network[0].weight, index=(1, 0))
    (tx0, tx1), (ty0, ty1) = line_by_gid(ax, "tangent").get_data()
    assert (ty1 - ty0) / (tx1 - tx0) == pytest.approx(36.0, rel=1e-10)
    (_,), (loss_at_w0,) = line_by_gid(ax, "current").get_data()
    assert loss_at_w0 == 36.0


@needs_matplotlib
def test_loss_landscape_takes_a_loss_name():
    network = minidl.Network.from_node_weights(COURSE_WEIGHTS_0)
    ax = mplot.plot_loss_landscape(network, "mse", COURSE_X, COURSE_Y, parameter=0, index=(1, 0))
    (_,), (loss_at_w0,) = line_by_gid(ax, "current").get_data()
    assert loss_at_w0 == 37.5


@needs_matplotlib
def test_loss_landscape_leaves_weights_gradients_and_mode_as_they_were():
    network = minidl.Network([minidl.Dense(2, 3, seed=0), minidl.Tanh(), minidl.Dense(3, 1, seed=1)])
    before = [p.value.copy() for p in network.parameters()]
    for p in network.parameters():
        p.grad[...] = 7.0
    mplot.plot_loss_landscape(network, minidl.MeanSquaredError(), COURSE_X, COURSE_Y, parameter=2,
                              index=(1, 0), num=11)
    for p, value in zip(network.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.value, value)
        assert np.all(p.grad == 7.0)
    assert network.training


@needs_matplotlib
def test_loss_landscape_rejects_bad_arguments():
    network = minidl.Network.from_node_weights(COURSE_WEIGHTS_0)
    loss = minidl.MeanSquaredError()
    for position in (5, 2, -3):  # -1 and -2 count from the end, as in a list
        with pytest.raises(ValueError, match=r"parameter index must be in \[-2, 2\)"):
            mplot.plot_loss_landscape(network, loss, COURSE_X, COURSE_Y, parameter=position, index=(0, 0))
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        mplot.plot_loss_landscape(network, loss, COURSE_X, COURSE_Y, parameter=0, index=(2, 0))
    for index in (True, 0.0, slice(0, 2), (0, True), "0", [[0, 0]]):  # one entry, by integers
        with pytest.raises(ValueError, match=r"index must pick one entry of a parameter of shape \(2, 2\)"):
            mplot.plot_loss_landscape(network, loss, COURSE_X, COURSE_Y, parameter=0, index=index)
    with_bias = minidl.Network([minidl.Dense(2, 1, seed=0)])  # a bias of shape (1,): True was a mask
    with pytest.raises(ValueError, match=r"index must pick one entry of a parameter of shape \(1,\)"):
        mplot.plot_loss_landscape(with_bias, loss, COURSE_X, COURSE_Y, parameter=1, index=True)
    with pytest.raises(ValueError, match="not a parameter of this network"):
        mplot.plot_loss_landscape(network, loss, COURSE_X, COURSE_Y,
                                  parameter=minidl.Parameter(np.zeros(2)), index=0)
    with pytest.raises(TypeError, match="Loss object"):
        mplot.plot_loss_landscape(network, len, COURSE_X, COURSE_Y, parameter=0, index=(0, 0))
    with pytest.raises(ValueError, match=r"unknown loss 'msq'.*'mean_squared_error'"):
        mplot.plot_loss_landscape(network, "msq", COURSE_X, COURSE_Y, parameter=0, index=(0, 0))
    with pytest.raises(ValueError, match="span"):
        mplot.plot_loss_landscape(network, loss, COURSE_X, COURSE_Y, parameter=0, index=(0, 0),
                                  span=-1.0)
    for num in (0, 2, 2.5, True):  # one refusal: an integer of at least 3 (was two: positive, then >= 3)
        with pytest.raises(ValueError, match=rf"num must be an integer of at least 3; got {num!r}"):
            mplot.plot_loss_landscape(network, loss, COURSE_X, COURSE_Y, parameter=0, index=(0, 0), num=num)


def test_plot_loss_landscape_without_matplotlib_says_how_to_install_before_any_forward(monkeypatch):
    for name in ("matplotlib", "matplotlib.pyplot", "matplotlib.patches", "matplotlib.ticker"):
        monkeypatch.setitem(sys.modules, name, None)
    network = minidl.Network.from_node_weights({"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]})
    calls = []
    monkeypatch.setattr(network, "forward", lambda x: calls.append(x))
    with pytest.raises(ModuleNotFoundError, match=r'pip install -e "\.\[plot\]"'):
        mplot.plot_loss_landscape(network, "mse", [[0, 3]], [3], parameter=0, index=(1, 0))
    assert calls == []  # it did not sweep the loss only to fail at drawing


# -- plot_filters --------------------------------------------------------------------------
def image_data(ax):
    (image,) = ax.images
    return np.asarray(image.get_array())


@needs_matplotlib
def test_plot_filters_of_a_grey_conv_draws_each_filter_as_one_image_on_a_scale_centred_on_0():
    conv = minidl.Conv2D(1, 6, 5, seed=0)
    figure = mplot.plot_filters(conv)
    assert len(figure.axes) == 6  # a 3 x 2 grid, every cell used
    assert figure.get_suptitle() == "Filters of Conv2D 'conv2d': 6 x 1 x 5 x 5"
    largest = np.abs(conv.weight.value).max()
    for o, ax in enumerate(figure.axes):
        np.testing.assert_array_equal(image_data(ax), conv.weight.value[o, 0])
        assert (ax.get_title(), ax.get_gid()) == (str(o), f"filter:{o}:0")
        assert ax.images[0].get_clim() == (-largest, largest)
        assert (ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start) == divmod(o, 3)


@needs_matplotlib
def test_plot_filters_draws_a_row_per_output_channel_and_a_column_per_input_channel():
    conv = minidl.Conv2D(2, 3, (2, 3), seed=1)
    figure = mplot.plot_filters(conv)
    assert len(figure.axes) == 3 * 2
    for ax, (o, c) in zip(figure.axes, [(o, c) for o in range(3) for c in range(2)], strict=True):
        np.testing.assert_array_equal(image_data(ax), conv.weight.value[o, c])  # a 2 x 3 window
        assert (ax.get_title(), ax.get_gid()) == (f"{o}, {c}", f"filter:{o}:{c}")
        assert (ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start) == (o, c)


@needs_matplotlib
def test_plot_filters_takes_the_weights_array_and_drops_the_unused_cells_of_the_grid():
    weights = np.arange(5 * 4.0).reshape(5, 1, 2, 2) - 10.0
    figure = mplot.plot_filters(weights, cmap="RdBu")
    assert figure.get_suptitle() == "Filters: 5 x 1 x 2 x 2"
    assert len(figure.axes) == 5  # a 3 x 2 grid less its last cell
    np.testing.assert_array_equal(image_data(figure.axes[4]), [[6.0, 7.0], [8.0, 9.0]])
    assert figure.axes[0].images[0].get_clim() == (-10.0, 10.0)
    assert figure.axes[0].images[0].get_cmap().name == "RdBu"


def test_plot_filters_refuses_other_layers_and_weights_of_another_rank():
    with pytest.raises(TypeError, match="expects a Conv2D layer or its weights; got Dense 'dense'"):
        mplot.plot_filters(minidl.Dense(2, 3))
    with pytest.raises(ValueError, match=r"\(out_channels, in_channels, kh, kw\); got shape \(2, 3, 3\)"):
        mplot.plot_filters(np.ones((2, 3, 3)))


# -- plot_feature_maps ---------------------------------------------------------------------
FILTERS = np.array([[[[1.0, 0.0, -1.0]] * 3], [[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -1.0, -1.0]]]])


def correlate(image, kernel):
    """Written out here, apart from im2col: out[p, q] = sum_ij image[p + i, q + j] * kernel[i, j]."""
    k = len(kernel)
    size = len(image) - k + 1
    return np.array([[np.sum(image[p:p + k, q:q + k] * kernel) for q in range(size)] for p in range(size)])


def small_conv_network():
    conv = minidl.Conv2D(1, 2, 3, use_bias=False, weight_init=FILTERS)  # vertical and horizontal edges
    return minidl.Network([conv, minidl.ReLU(), minidl.Dropout(0.5, seed=0), minidl.MaxPool2D(2)])


IMAGE = np.random.default_rng(3).normal(size=(1, 6, 6))


@needs_matplotlib
def test_plot_feature_maps_draws_every_conv_and_pooling_output_channel_by_channel():
    network = small_conv_network()
    figure = mplot.plot_feature_maps(network, IMAGE)
    conv_part, pool_part = figure.subfigs
    assert conv_part.get_suptitle() == "Conv2D 'conv2d': (2, 4, 4)"
    assert pool_part.get_suptitle() == "MaxPool2D 'maxpool2d': (2, 2, 2)"
    assert len(figure.axes) == 2 + 2
    for c in range(2):
        conv = correlate(IMAGE[0], FILTERS[c, 0])  # 4 x 4
        pooled = np.maximum(conv, 0.0).reshape(2, 2, 2, 2).max(axis=(1, 3))  # evaluation mode: no dropout
        conv_ax, pool_ax = conv_part.axes[c], pool_part.axes[c]
        np.testing.assert_allclose(image_data(conv_ax), conv, rtol=1e-12)
        np.testing.assert_allclose(image_data(pool_ax), pooled, rtol=1e-12)
        assert (conv_ax.get_title(), conv_ax.get_gid()) == (str(c), f"feature_map:conv2d:{c}")
        assert pool_ax.get_gid() == f"feature_map:maxpool2d:{c}"
    everything = np.stack([correlate(IMAGE[0], FILTERS[c, 0]) for c in range(2)])
    assert conv_part.axes[0].images[0].get_clim() == pytest.approx((everything.min(), everything.max()))
    assert network.training  # the mode is put back


@needs_matplotlib
def test_plot_feature_maps_draws_the_chosen_layers_by_name_or_object():
    network = small_conv_network()
    figure = mplot.plot_feature_maps(network, IMAGE, layers=["relu", network[3]])
    assert [part.get_suptitle() for part in figure.subfigs] == ["ReLU 'relu': (2, 4, 4)",
                                                               "MaxPool2D 'maxpool2d': (2, 2, 2)"]
    np.testing.assert_allclose(image_data(figure.subfigs[0].axes[1]),
                               np.maximum(correlate(IMAGE[0], FILTERS[1, 0]), 0.0), rtol=1e-12)
    (part,) = mplot.plot_feature_maps(network, IMAGE, layers="conv2d").subfigs
    assert len(part.axes) == 2


@needs_matplotlib
def test_plot_feature_maps_errors_name_the_image_or_the_layer():
    network = small_conv_network()
    with pytest.raises(ValueError, match=r"one image of shape \(channels, height, width\); got shape "
                                         r"\(6, 6\); a grey image \(height, width\) is image\[None\]"):
        mplot.plot_feature_maps(network, IMAGE[0])
    with pytest.raises(ValueError, match=r"got shape \(1, 1, 6, 6\)"):
        mplot.plot_feature_maps(network, IMAGE[None])
    with pytest.raises(ValueError, match="Conv2D 'conv2d': expected 1 input channels"):
        mplot.plot_feature_maps(network, np.ones((3, 6, 6)))
    with pytest.raises(ValueError, match=r"no layer 'conv' in the network; its layers are \['conv2d', "):
        mplot.plot_feature_maps(network, IMAGE, layers=["conv"])
    flat = minidl.Network([*small_conv_network().layers, minidl.Flatten()])
    with pytest.raises(ValueError, match=r"Flatten 'flatten' does not output images .* shape \(8,\)"):
        mplot.plot_feature_maps(flat, IMAGE, layers=["flatten"])
    with pytest.raises(ValueError, match="no Conv2D or pooling layer"):
        mplot.plot_feature_maps(minidl.Network([minidl.ReLU()]), IMAGE)
    with pytest.raises(TypeError, match="minidl Network"):
        mplot.plot_feature_maps([minidl.Conv2D(1, 2, 3)], IMAGE)
    with pytest.raises(ValueError, match="layers is empty; give at least one layer"):
        mplot.plot_feature_maps(network, IMAGE, layers=[])


@needs_matplotlib
def test_plot_filters_and_feature_maps_of_the_digits_cnn_of_tutorial_8():
    """Tutorial 8 draws these for its trained CNN; the page shows the pictures, this checks them."""
    network = minidl.Network([
        minidl.Conv2D(1, 16, 3, padding=1, seed=51, dtype=np.float32), minidl.ReLU(), minidl.MaxPool2D(2),
        minidl.Conv2D(16, 32, 3, padding=1, seed=52, dtype=np.float32), minidl.ReLU(), minidl.MaxPool2D(2),
        minidl.Flatten(), minidl.Dense(128, 10, seed=53, dtype=np.float32), minidl.Softmax(),
    ])
    filters = mplot.plot_filters(network.layers[0])
    assert len(filters.axes) == 16
    assert filters.get_suptitle() == "Filters of Conv2D 'conv2d': 16 x 1 x 3 x 3"
    image = np.random.default_rng(7).uniform(size=(1, 8, 8)).astype(np.float32)
    figure = mplot.plot_feature_maps(network, image, layers=["conv2d", "maxpool2d"])
    assert [part.get_suptitle() for part in figure.subfigs] == [
        "Conv2D 'conv2d': (16, 8, 8)", "MaxPool2D 'maxpool2d': (16, 4, 4)"]
    assert len(figure.axes) == 16 + 16
    assert [image_data(ax).shape for ax in figure.subfigs[1].axes] == [(4, 4)] * 16


# -- what each function returns ------------------------------------------------------------
def documented_returns():
    """The module docstring's table: function name -> "Axes" or "Figure"."""
    rows = re.findall(r"^\| `(\w+)` +\| `(Axes|Figure)` +\|", mplot.__doc__, flags=re.MULTILINE)
    return dict(rows)


def test_the_returns_table_lists_every_public_function_as_its_docstring_and_annotation_say():
    table = documented_returns()
    assert sorted(table) == sorted(mplot.__all__)
    for name, kind in table.items():
        function = getattr(mplot, name)
        assert inspect.signature(function).return_annotation == kind  # annotations are strings here
        # cleandoc: Python 3.13 strips docstrings' indentation itself, older ones do not
        returns = inspect.cleandoc(function.__doc__).split("Returns\n-------\n")[1]
        expected = {"Axes": "matplotlib.axes.Axes", "Figure": "matplotlib.figure.Figure"}[kind]
        assert returns.lstrip().startswith(expected + "\n")


@needs_matplotlib
def test_each_function_returns_what_the_table_says(pyplot):
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    course = minidl.Network.from_node_weights(COURSE_WEIGHTS_0)
    conv = minidl.Network([minidl.Conv2D(1, 2, 3, seed=0), minidl.MaxPool2D(2)])
    results = {
        "draw_network": mplot.draw_network(course, x=[0, 3]),
        "plot_loss_landscape": mplot.plot_loss_landscape(course, "mse", [[0, 3]], [[1]], parameter=0,
                                                         index=(0, 0), num=5),
        "plot_history": mplot.plot_history({"loss": [2.0, 1.0]}),  # one key: still a Figure
        "plot_filters": mplot.plot_filters(conv[0]),
        "plot_feature_maps": mplot.plot_feature_maps(conv, np.ones((1, 6, 6))),
    }
    kinds = {"Axes": Axes, "Figure": Figure}
    assert {name: type(result).__name__ for name, result in results.items()} == documented_returns()
    for name, result in results.items():
        assert isinstance(result, kinds[documented_returns()[name]])
    # Given where to draw, the one-panel functions return that Axes, plot_history the figure holding its axes.
    _, (left, right) = pyplot.subplots(1, 2)
    assert mplot.draw_network(course, ax=left) is left
    assert mplot.plot_loss_landscape(course, "mse", [[0, 3]], [[1]], parameter=0, index=(0, 0), num=5,
                                     ax=right) is right
    figure, panels = pyplot.subplots(1, 1, squeeze=False)
    assert mplot.plot_history({"loss": [2.0, 1.0]}, axes=panels) is figure


@needs_matplotlib
@pytest.mark.parametrize("values", [["high", "low"], [[1.0, 2.0]], None])
def test_plot_history_refuses_values_that_are_no_list_of_numbers(values):
    raises(ValueError, lambda: mplot.plot_history({"loss": [1.0], "mae": values}),
           "plot_history history['mae'] must be a list of numbers, one per epoch")


@needs_matplotlib
def test_plot_loss_landscape_refuses_what_is_no_network_or_no_parameter():
    network = minidl.Network.from_node_weights(COURSE_WEIGHTS_0)
    raises(TypeError, lambda: mplot.plot_loss_landscape(network[0], "mse", COURSE_X, COURSE_Y, 0, (0, 0)),
           "plot_loss_landscape expects a minidl Network; got Dense")
    model = minidl.keras.Sequential([minidl.keras.Dense(1, input_shape=(2,))])
    for plot in (lambda: mplot.draw_network(model),
                 lambda: mplot.plot_feature_maps(model, np.zeros((1, 2, 2))),
                 lambda: mplot.plot_loss_landscape(model, "mse", COURSE_X, COURSE_Y, 0, (0, 0))):
        raises(TypeError, plot, "expects a minidl Network; got Sequential (of a minidl.keras model, pass "
               "model.network)")
    raises(TypeError, lambda: mplot.plot_loss_landscape(network, "mse", COURSE_X, COURSE_Y, "weight", (0, 0)),
           "plot_loss_landscape parameter must be a Parameter of the network or its position in "
           "network.parameters(); got str")
