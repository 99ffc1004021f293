"""Pictures drawn from the model itself: network diagrams, training curves, loss landscapes, filters.

Every picture is computed from a minidl object (its weights, its ``trace``, its
``backward``), so it can never disagree with the code. The functions return matplotlib
objects, to style, show or save as usual::

    import minidl.plot

    ax = minidl.plot.draw_network(network, x=[0, 3])
    ax.figure.savefig("network.png")

What each function returns: a one-panel picture returns its ``Axes`` (and takes ``ax=``,
to draw into a panel of your own figure); a picture of several panels returns the
``Figure`` holding them (its panels are ``figure.axes``). Either way ``ax.figure`` or the
figure itself is what to save.

| function              | returns  | why                                                        |
|-----------------------|----------|------------------------------------------------------------|
| `draw_network`        | `Axes`   | one panel, the diagram                                     |
| `plot_loss_landscape` | `Axes`   | one panel, the curve and its tangent                       |
| `plot_history`        | `Figure` | one panel per key (loss, each metric), even for one key    |
| `plot_filters`        | `Figure` | one small panel per filter                                 |
| `plot_feature_maps`   | `Figure` | one part per layer, one small panel per channel            |

matplotlib is an optional dependency: ``pip install -e ".[plot]"``. It is imported
when a function here is called, never by ``import minidl`` (nor by ``import minidl.plot``);
calling one without matplotlib raises ``ModuleNotFoundError`` saying how to install it.

Texts and lines carry a ``gid`` naming what they show (``"weight:dense:0:1"``,
``"value:node_0"``, ``"history:val_loss"``, ``"tangent"``, ...) and axes a gid naming the image
they show (``"filter:0:1"``, ``"feature_map:conv2d:3"``), so they can be found and
restyled with ``artist.get_gid()``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from minidl._typing import Array, ArrayLike
from minidl._validation import as_float_array, check_int, check_positive_int, check_real
from minidl.course import node_names
from minidl.errors import label
from minidl.layers import AvgPool2D, Conv2D, Dense, Layer, MaxPool2D, Parameter
from minidl.layers.base import looking
from minidl.losses import Loss, get_loss
from minidl.network import Network

if TYPE_CHECKING:
    from types import ModuleType

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = ["draw_network", "plot_feature_maps", "plot_filters", "plot_history", "plot_loss_landscape"]

#: The widest column ``draw_network`` draws in full; a wider one is drawn as its first and last
#: ``(MAX_DRAWN_NODES - 1) // 2`` nodes (5 and 5) with "⋮" between them, so it is no taller.
MAX_DRAWN_NODES = 12

_RADIUS = 0.27  # of a node's circle in draw_network


def _pyplot() -> ModuleType:
    """Import ``matplotlib.pyplot`` on first use, or explain how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError('minidl.plot needs matplotlib, an optional extra: pip install '
                                  f'-e ".[plot]" in minidl\'s clone (import failed: {error})') from error
    return plt


def _finish(ax: Axes, xlabel: str, ylabel: str, title: str) -> None:
    """The labels and title of a chart, a light grid and the legend."""
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(True, alpha=0.3)
    ax.legend()


def _check_network(network: object, owner: str) -> None:
    """Refuse anything but a minidl Network; a minidl.keras model is told to give its ``.network``."""
    if not isinstance(network, Network):
        keras = isinstance(getattr(network, "network", None), Network)
        keras_hint = " (of a minidl.keras model, pass model.network)" if keras else ""
        raise TypeError(f"{owner} expects a minidl Network; got {type(network).__name__}{keras_hint}")


def _number(value: float, precision: int) -> str:
    """A short label for a number: ``2``, ``-5``, ``1.5``, ``0.123``."""
    text = f"{value:.{precision}g}"
    return "0" if text == "-0" else text


# -- draw_network ---------------------------------------------------------------------
def draw_network(network: Network, x: ArrayLike | None = None, *, ax: Axes | None = None,
                 precision: int = 3) -> Axes:
    """Draw a small network as nodes and edges, each edge labelled with its weight.

    The course's forward-propagation diagram, drawn from the model: the input nodes on
    the left, one column per ``Dense`` layer, an edge from every node to every node of
    the next column labelled with the weight ``W[i, j]`` it multiplies by. Given a
    sample ``x``, every node shows its value, computed by :meth:`Network.trace` in
    evaluation mode (as ``predict`` computes): inside the circle the node's output (after
    the layers that follow its Dense layer, such as the activation), below it the node's
    input (the weighted sum, plus the bias if the layer has one). The input nodes show
    what the first Dense layer receives (``x`` itself, or ``x`` after the layers before
    it, which the column header names).

    Parameters
    ----------
    network
        A network whose layers are ``Dense`` layers, each optionally followed by other
        layers (activations, ...); the columns are the ``Dense`` layers. Column headers
        name the layers between one ``Dense`` and the next. A column of more than
        ``MAX_DRAWN_NODES`` (12) nodes, such as the 64 inputs of an 8 x 8 digit, is drawn
        as its first 5 and last 5 nodes with a vertical ellipsis "⋮" between them (the
        text with the gid ``"ellipsis:<column>"``), its header saying how many nodes it
        has (``"64 nodes"``); edges join the drawn nodes only, and the drawn nodes keep
        their names (``x_0`` ... ``x_4``, ``x_59`` ... ``x_63``), weights and values.
    x
        One sample: shape ``(in_features,)`` or ``(1, in_features)`` for a network that
        starts with its Dense layer, else the network's input for one sample without the
        batch axis (an image ``(channels, height, width)`` before ``Conv2D`` and ``Flatten``);
        ``None`` draws the weights only.
    ax
        The matplotlib Axes to draw into; ``None`` makes a new figure.
    precision
        Significant digits of the numbers shown (``2``, ``-5``, ``1.5``, ``0.123``).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn into, ``ax`` if given (its figure is ``ax.figure``): the diagram is
        one panel, so it can be drawn into a panel of your own figure. Weight labels have
        the gid ``"weight:<layer name>:<i>:<j>"``, edges ``"edge:<layer name>:<i>:<j>"``,
        node circles ``"node:<node>"``, node values ``"value:<node>"``, node inputs
        ``"input:<node>"``, biases ``"bias:<node>"``, node names ``"name:<node>"``, column
        headers ``"header:<column>"`` (the inputs are column 0).

    Raises
    ------
    ValueError
        If the network has no ``Dense`` layer, or ``x`` is not a single sample of the
        right size.
    ModuleNotFoundError
        If matplotlib is not installed.

    Examples
    --------
    >>> import minidl.plot
    >>> net = Network.from_node_weights({"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]})
    >>> ax = minidl.plot.draw_network(net, x=[0, 3])
    >>> sorted(t.get_text() for t in ax.texts if t.get_gid().startswith("weight:"))
    ['1', '1', '1', '1', '2', '2']
    >>> [t.get_text() for t in ax.texts if t.get_gid() == "value:output"]
    ['9']
    """
    _check_network(network, "draw_network")
    precision = check_positive_int(precision, "draw_network precision")
    positions, dense_layers, widths = _dense_columns(network)
    columns = [[f"x_{i}" for i in range(widths[0])]]  # node names: the inputs, then one column per Dense
    columns += [node_names(depth, len(dense_layers), width) for depth, width in enumerate(widths[1:])]
    values = {} if x is None else _node_values(network, x, positions, columns)

    layers, ends = network.layers, [*positions[1:], len(network.layers)]
    headers = [" + ".join(["input"] + [type(a).__name__ for a in layers[: positions[0]]])]
    headers += [" + ".join([layers[p].name] + [type(a).__name__ for a in layers[p + 1 : end]])
                for p, end in zip(positions, ends, strict=True)]

    spacing = 1.0 + 0.2 * (int(x is not None) + int(any(d.use_bias for d in dense_layers)))  # lines below
    tallest = max(len(_slots(width)) for width in widths)  # rows of the tallest column
    if ax is None:
        ax = _pyplot().subplots(figsize=(2.6 * len(columns) + 1.0, 1.35 * spacing * tallest + 1.6))[1]
    xy = [{j: (2.2 * c, (len(column) - 1) * spacing / 2 - k * spacing) for k, j in enumerate(column)
           if j is not None} for c, column in enumerate(map(_slots, widths))]  # per column: node -> centre
    _draw_edges(ax, dense_layers, xy, precision)  # first, so nodes and labels sit on top
    _draw_nodes(ax, columns, xy, dense_layers, values, precision)

    top = (tallest - 1) * spacing / 2  # the tallest column's first node; its last at -top
    for c, (header, width) in enumerate(zip(headers, widths, strict=True)):
        if width > MAX_DRAWN_NODES:  # the nodes left out: the middle row, between the first and last
            header += f"\n{width} nodes"
            ax.text(2.2 * c, 0, "⋮", ha="center", va="center", fontsize=20, color="0.3", gid=f"ellipsis:{c}")
        ax.text(2.2 * c, top + _RADIUS + 0.45, header, ha="center", va="bottom", fontsize=9,
                fontstyle="italic", gid=f"header:{c}")
    ax.set(xlim=(-0.6, 2.2 * (len(columns) - 1) + 0.6), ylim=(-top - _RADIUS - 0.55, top + _RADIUS + 0.8),
           aspect="equal")
    ax.axis("off")
    return ax


def _dense_columns(network: Network) -> tuple[list[int], list[Dense], list[int]]:
    """The Dense layers' positions, the layers, and every column's width (the inputs first)."""
    positions = [i for i, layer in enumerate(network.layers) if isinstance(layer, Dense)]
    dense_layers = [layer for layer in network.layers if isinstance(layer, Dense)]
    if not dense_layers:
        raise ValueError("draw_network needs a network with at least one Dense layer; it has none")
    return positions, dense_layers, [dense_layers[0].in_features] + [d.out_features for d in dense_layers]


def _slots(width: int) -> list[int | None]:
    """The rows of a column of ``width`` nodes, top to bottom: each drawn node's index, ``None`` for "⋮".

    Every node up to ``MAX_DRAWN_NODES``; beyond, the first and last ``(MAX_DRAWN_NODES - 1) // 2``.
    """
    end = (MAX_DRAWN_NODES - 1) // 2
    return list(range(width)) if width <= MAX_DRAWN_NODES else [*range(end), None, *range(width - end, width)]


def _node_values(network: Network, x: ArrayLike, positions: list[int],
                 columns: list[list[str]]) -> dict[str, tuple[float, float]]:
    """Node name -> (input, output) for the sample ``x``, computed in evaluation mode.

    The course's node values (:meth:`Network.trace`): a node's input is its Dense layer's
    weighted sum; its output the value after the layers that follow and keep its shape, up
    to the next Dense layer (its activation).
    """
    sample = as_float_array(x, "draw_network x", dtype=network.dtype)
    n = len(columns[0])
    if positions[0] == 0 and sample.shape not in ((n,), (1, n)):
        raise ValueError(f"draw_network x must be one sample of shape ({n},) or (1, {n}); "
                         f"got shape {np.shape(x)}")
    batch = sample if sample.shape == (1, n) else sample[None]  # (1, n): a batch of one, as predict takes
    first = network.layers[0]  # its own check, as forward runs it (BatchNorm takes features or images)
    if positions[0] > 0 and (problem := first._input_problem(batch, first.input_shape)) is not None:
        raise ValueError(f"draw_network x must be one sample without the batch axis (got shape "
                         f"{np.shape(x)}): {problem}")
    traced = network.trace(batch)  # in evaluation mode, as predict runs
    # An input node's input and output: what the first Dense layer multiplies (the sample, after any
    # layers before it).
    inputs = traced.layers[positions[0]][1][0]
    values = {name: (float(v),) * 2 for name, v in zip(columns[0], inputs, strict=True)}
    return values | {node.name: (float(node.input[0]), float(node.output[0])) for node in traced.nodes}


def _draw_edges(ax: Axes, dense_layers: list[Dense], xy: list[dict[int, tuple[float, float]]],
                precision: int) -> None:
    """Every edge between two columns' drawn nodes, labelled with the weight it multiplies by."""
    for depth, dense in enumerate(dense_layers):
        weights, sources = dense.weight.value, len(xy[depth])
        for k, (i, (x0, y0)) in enumerate(xy[depth].items()):
            for j, (x1, y1) in xy[depth + 1].items():
                ax.plot([x0, x1], [y0, y1], color="0.55", linewidth=1.0, zorder=1,
                        gid=f"edge:{dense.name}:{i}:{j}")
                # Labels of edges from different source nodes sit at different distances
                # along their edges, so labels of crossing edges stay apart; each label is
                # turned to follow its edge.
                t = 0.3 if sources == 1 else 0.22 + 0.5 * k / (sources - 1)
                angle = float(np.degrees(np.arctan2(y1 - y0, x1 - x0)))
                ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), _number(float(weights[i, j]), precision),
                        ha="center", va="center", rotation=angle, rotation_mode="anchor", fontsize=11,
                        color="tab:blue", zorder=4, gid=f"weight:{dense.name}:{i}:{j}",
                        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})


def _draw_nodes(ax: Axes, columns: list[list[str]], xy: list[dict[int, tuple[float, float]]],
                dense_layers: list[Dense], values: dict[str, tuple[float, float]], precision: int) -> None:
    """Every drawn node: its circle and name; its value (given a sample); its input and bias below it."""
    from matplotlib.patches import Circle

    for c, column in enumerate(columns):
        bias = dense_layers[c - 1].bias if c > 0 else None  # the inputs' column has none
        face = "#dbe9f6" if c == 0 else ("#fde2c8" if c == len(columns) - 1 else "#e2f0d9")
        for k, (cx, cy) in xy[c].items():
            name = column[k]
            ax.add_patch(Circle((cx, cy), _RADIUS, facecolor=face, edgecolor="0.25", zorder=2,
                                gid=f"node:{name}"))
            ax.text(cx, cy + _RADIUS + 0.06, name, ha="center", va="bottom", fontsize=8,
                    color="0.3", zorder=5, gid=f"name:{name}")
            # Below the node: its input (the weighted sum; column c > 0 only) and its bias.
            below = [(f"in {_number(values[name][0], precision)}", f"input:{name}")] if values and c else []
            if values:
                text = _number(values[name][1], precision)
                size = 12 if len(text) <= 3 else (9 if len(text) <= 5 else 7)
                ax.text(cx, cy, text, ha="center", va="center", fontsize=size, fontweight="bold",
                        zorder=5, gid=f"value:{name}")
            if bias is not None:
                below.append((f"b {_number(float(bias.value[k]), precision)}", f"bias:{name}"))
            for line, (text, gid) in enumerate(below):
                ax.text(cx, cy - _RADIUS - 0.05 - 0.17 * line, text, ha="center", va="top",
                        fontsize=8, color="0.3", zorder=5, gid=gid)


# -- plot_history ----------------------------------------------------------------------
def plot_history(history: Any, keys: Sequence[str] | None = None, *,
                 axes: Axes | Sequence[Axes] | np.ndarray[Any, Any] | None = None,
                 label: str | None = None) -> Figure:
    """Draw the loss and each metric per epoch, training and validation, one panel each.

    Parameters
    ----------
    history
        What ``Network.fit`` returns (an object with a ``history`` dict), or a plain dict
        of per-epoch lists such as ``{"loss": [...], "val_loss": [...]}``. A key
        ``"val_<name>"`` is drawn in the panel of ``"<name>"`` as a dashed line.
    keys
        The quantities to draw, without ``"val_"`` (default: all, ``"loss"`` first).
    axes
        Axes to draw into, one per key: an Axes, a list of them, or the array that
        ``plt.subplots`` returns (to overlay several histories, pass ``figure.axes`` of
        an earlier call); ``None`` makes a new figure.
    label
        A prefix for the legend entries (``"small: training"``), to tell overlaid runs
        apart; a labelled run draws its training and validation lines in one colour.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the panels: a new one, or with ``axes`` given the figure they
        are in. A Figure, not an Axes, because there is one panel per key; a new figure's
        ``axes`` are the panels, one per key in order. Each line has the gid
        ``"history:<key>"`` (``"history:val_loss"``, ...), and its y data are the
        values of that key, for epochs 1, 2, ...

    Raises
    ------
    ValueError
        If the history is empty, holds no ``keys[i]``, or ``axes`` has the wrong length.

    Examples
    --------
    >>> import minidl.plot
    >>> figure = minidl.plot.plot_history({"loss": [4.0, 2.0, 1.0], "val_loss": [5.0, 3.0, 2.5]})
    >>> [line.get_gid() for line in figure.axes[0].get_lines()]
    ['history:loss', 'history:val_loss']
    """
    series = _series(history)
    bases = [key for key in series if not key.startswith("val_")]
    bases += [key[4:] for key in series if key.startswith("val_") and key[4:] not in series]
    bases = sorted(bases, key=lambda name: name != "loss")  # stable: loss first, then as given
    if not any(values.size for values in series.values()):  # also no key at all
        raise ValueError("plot_history got an empty history; train for at least one epoch")
    keys = bases if keys is None else ([keys] if isinstance(keys, str) else list(keys))
    if not keys:
        raise ValueError(f"plot_history keys is empty; give at least one of {bases}")
    missing = [key for key in keys if key not in bases]
    if missing:
        hint = " (give a key without val_: its validation curve is drawn with it)" if any(
            key.startswith("val_") for key in missing) else ""
        raise ValueError(f"plot_history: no {missing} in the history; it has {bases}{hint}")
    if axes is None:
        axes = _pyplot().subplots(1, len(keys), figsize=(4.6 * len(keys), 3.4), squeeze=False)[1]
    panels = list(np.array(axes, dtype=object).ravel())  # an Axes, a list, plt.subplots(...)'s array
    if len(panels) != len(keys):
        raise ValueError(f"plot_history: got {len(panels)} axes for {len(keys)} keys {list(keys)}; "
                         "pass one Axes per key")
    # The canvas's figure is the top-level one (a new figure itself), also for an Axes in a subfigure
    # (get_figure(root=True) says the same, but only from matplotlib 3.10 on).
    figure: Figure = panels[0].figure.canvas.figure
    from matplotlib.ticker import MaxNLocator

    prefix = f"{label}: " if label else ""
    for panel, key in zip(panels, keys, strict=True):
        color = None
        for name, style, role in ((key, "-", "training"), (f"val_{key}", "--", "validation")):
            if name in series and series[name].size:
                (line,) = panel.plot(np.arange(1, series[name].size + 1), series[name], style, marker="o",
                                     markersize=3, color=color, gid=f"history:{name}", label=prefix + role)
                if label:  # a labelled run keeps one colour: solid training, dashed validation
                    color = line.get_color()
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))
        _finish(panel, "epoch", key, key.replace("_", " "))
    figure.tight_layout()
    return figure


def _series(history: Any) -> dict[str, Array]:
    """The per-epoch values of a History or dict, each key's as a 1-D float64 array."""
    record = getattr(history, "history", history)
    if not isinstance(record, Mapping):
        raise TypeError("plot_history expects a History (with a .history dict) or a dict of per-epoch lists; "
                        f"got {type(history).__name__}")
    series: dict[str, Array] = {}
    for key, values in record.items():
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            array = np.empty((0, 0))
        if array.ndim != 1:
            raise ValueError(f"plot_history history[{key!r}] must be a list of numbers, one per epoch")
        series[str(key)] = array
    return series


# -- plot_loss_landscape ---------------------------------------------------------------
def plot_loss_landscape(network: Network, loss: Loss | str, x: ArrayLike, y: ArrayLike,
                        parameter: Parameter | int, index: int | tuple[int, ...], *,
                        span: float | None = None, num: int = 101, ax: Axes | None = None) -> Axes:
    """Draw the loss as one weight varies, the current point, and the gradient's tangent.

    The course's "optimizing a model with a single weight": every other parameter is
    held fixed and one entry ``w = parameter.value[index]`` is swept over
    ``[w0 - span, w0 + span]``; the curve is ``L(w) = loss(network(x), y)``. At the
    current value ``w0`` the tangent ``L(w0) + g * (w - w0)`` is drawn, with the slope
    ``g = dL/dw`` taken from the network's own ``backward`` (the number gradient descent
    uses), so the picture shows whether backward is right: the tangent touches the curve.

    The network runs in evaluation mode (Dropout off, BatchNorm on running statistics),
    then its mode, the weight, every parameter's ``grad`` and what the layers' last forward kept
    for a backward are put back as they were.

    Parameters
    ----------
    network
        The model.
    loss
        A :class:`~minidl.Loss` object, such as ``MeanSquaredError()``, or its name as
        ``compile`` takes it (``"mse"``, ``"categorical_crossentropy"``, ...).
    x, y
        The data: inputs ``(batch, features)`` (or one sample) and targets.
    parameter
        One of ``network.parameters()``, or its position in that list.
    index
        Which entry of ``parameter.value``: an int for a 1-D parameter or a tuple
        (``(i, j)`` for ``W[i, j]`` of a Dense layer).
    span
        Half the width of the swept interval (default ``max(1, |w0|)``).
    num
        How many points of the curve to compute (each one forward pass).
    ax
        The Axes to draw into; ``None`` makes a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn into, ``ax`` if given (its figure is ``ax.figure``): the picture is
        one panel. Lines have the gids ``"landscape"`` (the curve), ``"tangent"`` and
        ``"current"`` (the point ``(w0, L(w0))``).

    Examples
    --------
    >>> import minidl.plot
    >>> net = Network([Dense(3, 1, use_bias=False, weight_init=[[0.0], [2.0], [1.0]]), Identity()])
    >>> ax = minidl.plot.plot_loss_landscape(net, MeanSquaredError(), [[1, 2, 3]], [[0]],
    ...                                      parameter=0, index=(0, 0))
    >>> tangent = next(line for line in ax.get_lines() if line.get_gid() == "tangent")
    >>> xs, ys = tangent.get_data()
    >>> float((ys[-1] - ys[0]) / (xs[-1] - xs[0]))  # dL/dw = 2 * 7 * 1
    14.0
    """
    _check_network(network, "plot_loss_landscape")
    if ax is None:
        _pyplot()  # without matplotlib, say so before sweeping the loss (num forward passes)
    loss = get_loss(loss)  # the message of a wrong one lists the loss names, as compile's does
    target, position, weight_name = _entry(network, parameter, index)
    num = check_int(num, "plot_loss_landscape num", 3, "an integer of at least 3")
    data = as_float_array(x, "plot_loss_landscape x", dtype=network.dtype)
    w0 = float(target.value[position])
    span = check_real(max(1.0, abs(w0)) if span is None else span, "plot_loss_landscape span",
                      low=0.0, low_inclusive=False)

    # L(w0), dL/dw at w0 (from backward) and L(w) for each w of the grid, in evaluation mode;
    # the mode, the weight and every parameter's grad are put back.
    grid = np.linspace(w0 - span, w0 + span, num)
    saved_grads = [p.grad.copy() for p in network.parameters()]
    try:
        with looking(network.layers):
            loss_0 = loss.forward(network.forward(data), y)
            network.backward(loss.backward())
            slope = float(target.grad[position])
            curve = np.empty(grid.size)
            for k, w in enumerate(grid):
                target.value[position] = w
                curve[k] = loss.forward(network.forward(data), y)
    finally:
        target.value[position] = w0
        for p, grad in zip(network.parameters(), saved_grads, strict=True):
            p.grad[...] = grad

    if ax is None:
        ax = _pyplot().subplots(figsize=(6.0, 4.0))[1]
    ax.plot(grid, curve, color="tab:blue", linewidth=2, label=f"{loss.name}", gid="landscape")
    tangent_x = np.array([w0 - span / 2, w0 + span / 2])
    ax.plot(tangent_x, loss_0 + slope * (tangent_x - w0), "--", color="tab:red",
            label=f"tangent, slope dL/dw = {slope:.4g}", gid="tangent")
    ax.plot([w0], [loss_0], "o", color="tab:red", markersize=7,
            label=f"current: w = {w0:.4g}, loss = {loss_0:.4g}", gid="current")
    _finish(ax, f"weight {weight_name}", "loss", f"Loss as {weight_name} varies (other weights fixed)")
    return ax


def _entry(network: Network, parameter: Parameter | int,
           index: int | tuple[int, ...]) -> tuple[Parameter, tuple[int, ...], str]:
    """The parameter (given, or by its position), the checked index of its swept entry, and its name.

    The name says which layer holds the entry: ``"dense.weight[0, 1]"``.
    """
    parameters = network.parameters()
    owners = {id(p): layer.name for layer in network.layers for p in layer.parameters()}
    if isinstance(parameter, (int, np.integer)) and not isinstance(parameter, bool):
        if not -len(parameters) <= parameter < len(parameters):
            count = len(parameters)
            raise ValueError(f"plot_loss_landscape parameter index must be in [-{count}, {count}) (the "
                             f"network has {count} parameters); got {parameter}")
        parameter = parameters[int(parameter)]
    elif not isinstance(parameter, Parameter):
        raise TypeError("plot_loss_landscape parameter must be a Parameter of the network or its position "
                        f"in network.parameters(); got {type(parameter).__name__}")
    if id(parameter) not in owners:
        raise ValueError(f"plot_loss_landscape: {parameter!r} is not a parameter of this network")
    position = tuple(index) if isinstance(index, (tuple, list, np.ndarray)) else (index,)
    integers = all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in position)
    in_range = integers and all(-n <= int(i) < n for i, n in zip(position, parameter.shape, strict=False))
    if len(position) != parameter.value.ndim or not in_range:
        raise ValueError(f"plot_loss_landscape index must pick one entry of a parameter of shape "
                         f"{parameter.shape}; got {index!r}")
    name = f"{owners[id(parameter)]}.{parameter.name}[{', '.join(str(int(i)) for i in position)}]"
    return parameter, position, name


# -- plot_filters and plot_feature_maps: one small image per channel --------------------------
def plot_filters(layer: Conv2D | ArrayLike, *, cmap: str = "gray") -> Figure:
    """Draw a Conv2D's filters as a grid of small images, on one colour scale centred on 0.

    One image per (output channel ``o``, input channel ``c``): the ``kh x kw`` weights
    ``W[o, c]`` that slide over input channel ``c``, a row per output channel and a column
    per input channel. With one input channel (grey images) each filter is one image, on
    a near-square grid. Weight 0 is the middle of the colour map (grey for ``"gray"``) and
    the largest ``|w|`` its ends, so the filters can be compared.

    Parameters
    ----------
    layer
        A :class:`~minidl.Conv2D`, or weights of its shape ``(out_channels, in_channels, kh, kw)``.
    cmap
        The matplotlib colour map.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure, not an Axes: it has one small panel per filter. Its ``axes``, in
        the order ``(o, c)`` row by row, each show ``W[o, c]``, titled
        ``"o"`` (one input channel) or ``"o, c"``, with the gid ``"filter:<o>:<c>"``; the
        figure's title names the layer and the weights' shape.

    Raises
    ------
    TypeError
        If ``layer`` is a layer but not a Conv2D.
    ValueError
        If the weights are not of rank 4.

    Examples
    --------
    >>> import minidl.plot
    >>> figure = minidl.plot.plot_filters(Conv2D(1, 6, 5, seed=0))
    >>> len(figure.axes), figure.axes[5].get_title(), figure.get_suptitle()
    (6, '5', "Filters of Conv2D 'conv2d': 6 x 1 x 5 x 5")
    """
    if isinstance(layer, Layer) and not isinstance(layer, Conv2D):
        raise TypeError(f"plot_filters expects a Conv2D layer or its weights; got {label(layer)}")
    weights = layer.weight.value if isinstance(layer, Conv2D) else as_float_array(layer, "plot_filters layer")
    if weights.ndim != 4:
        raise ValueError("plot_filters weights must have a Conv2D's shape (out_channels, in_channels, kh, "
                         f"kw); got shape {weights.shape}")
    outs, ins = weights.shape[:2]
    columns = ins if ins > 1 else _columns(outs)
    size = (1.1 * columns + 0.4, 1.1 * math.ceil(outs * ins / columns) + 0.6)
    figure: Figure = _pyplot().figure(figsize=size, layout="constrained")
    name = f" of {label(layer)}" if isinstance(layer, Conv2D) else ""
    figure.suptitle(f"Filters{name}: {' x '.join(map(str, weights.shape))}")
    limit = float(np.abs(weights).max()) or 1.0
    titles = {f"filter:{o}:{c}": f"{o}" if ins == 1 else f"{o}, {c}" for o in range(outs) for c in range(ins)}
    _image_grid(figure, weights.reshape(-1, *weights.shape[2:]), columns, cmap, (-limit, limit), titles)
    return figure


def plot_feature_maps(network: Network, image: ArrayLike,
                      layers: str | Layer | Sequence[str | Layer] | None = None, *,
                      cmap: str = "viridis") -> Figure:
    """Draw what one image becomes after each Conv2D and pooling layer: one small image per channel.

    The network runs on the image in evaluation mode (:meth:`Network.trace`: the values
    ``predict`` computes; the modes are restored). Each chosen layer's output
    ``(channels, Ho, Wo)`` is a grid of ``channels`` images on one colour scale (from the
    layer's smallest value to its largest), so the channels can be compared.

    Parameters
    ----------
    network
        The model; its first layer takes images (a :class:`~minidl.Conv2D`, ...).
    image
        One image, shape ``(channels, height, width)`` (a grey ``(height, width)`` one: ``image[None]``).
    layers
        The layers whose outputs to draw, by name or as layer objects; default every Conv2D,
        MaxPool2D and AvgPool2D. Each must output images ``(batch, channels, height, width)``.
    cmap
        The matplotlib colour map.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure, not an Axes: it has one small panel per channel of each layer.
        One part (``figure.subfigs``) per layer, titled with the layer and its output's shape
        for the image; its axes show ``output[c]``, titled ``"c"``, with the gid
        ``"feature_map:<layer name>:<c>"``.

    Raises
    ------
    ValueError
        If ``image`` is not one image, has channels the first layer does not take (that
        layer's own error), or a chosen layer is not in the network or gives no images.

    Examples
    --------
    >>> import minidl.plot
    >>> net = Network([Conv2D(1, 4, 3, seed=0), ReLU(), MaxPool2D(2)])
    >>> figure = minidl.plot.plot_feature_maps(net, np.ones((1, 8, 8)))
    >>> [part.get_suptitle() for part in figure.subfigs], len(figure.axes)
    (["Conv2D 'conv2d': (4, 6, 6)", "MaxPool2D 'maxpool2d': (4, 3, 3)"], 8)
    """
    _check_network(network, "plot_feature_maps")
    x = as_float_array(image, "plot_feature_maps image", dtype=network.dtype)
    if x.ndim != 3:
        grey = "; a grey image (height, width) is image[None]" if x.ndim == 2 else ""
        raise ValueError("plot_feature_maps image must be one image of shape (channels, height, width); "
                         f"got shape {x.shape}{grey}")
    chosen = _chosen_layers(network, layers)
    outputs = {id(layer): output[0] for layer, _, output in network.trace(x[None]).layers}
    maps = [outputs[id(layer)] for layer in chosen]
    for layer, output in zip(chosen, maps, strict=True):
        if output.ndim != 3:
            raise ValueError(f"plot_feature_maps: {label(layer)} does not output images (channels, height, "
                             f"width); it gives shape {output.shape} per sample")
    rows = [math.ceil(len(output) / _columns(len(output))) for output in maps]
    size = (1.1 * max(_columns(len(output)) for output in maps) + 0.4, 1.1 * sum(rows) + 0.5 * len(maps))
    figure: Figure = _pyplot().figure(figsize=size, layout="constrained")
    parts = figure.subfigures(len(maps), 1, height_ratios=[r + 0.5 for r in rows], squeeze=False).ravel()
    for part, layer, output in zip(parts, chosen, maps, strict=True):
        part.suptitle(f"{label(layer)}: {output.shape}")
        _image_grid(part, output, _columns(len(output)), cmap, (float(output.min()), float(output.max())),
                    {f"feature_map:{layer.name}:{c}": str(c) for c in range(len(output))})
    return figure


def _columns(count: int) -> int:
    """How many columns a near-square grid of ``count`` images has."""
    return math.ceil(math.sqrt(count))


def _chosen_layers(network: Network, layers: str | Layer | Sequence[str | Layer] | None) -> list[Layer]:
    """The network's layers named or given in ``layers``; by default its Conv2D and pooling layers."""
    if layers is None:
        chosen = [layer for layer in network.layers if isinstance(layer, (Conv2D, MaxPool2D, AvgPool2D))]
        if not chosen:
            raise ValueError("plot_feature_maps: the network has no Conv2D or pooling layer; choose the "
                             "layers whose outputs are images with layers=[...]")
        return list(chosen)
    by_name = {layer.name: layer for layer in network.layers}
    wanted = [layers] if isinstance(layers, (str, Layer)) else list(layers)
    if not wanted:
        raise ValueError("plot_feature_maps layers is empty; give at least one layer (a name or the layer), "
                         "or None for every Conv2D and pooling layer")
    for given in wanted:
        layer = by_name.get(given) if isinstance(given, str) else given
        if not any(layer is own for own in network.layers):
            raise ValueError(f"plot_feature_maps: no layer {given!r} in the network; its layers are "
                             f"{list(by_name)}")
    return [by_name[given] if isinstance(given, str) else given for given in wanted]


def _image_grid(parent: Figure | SubFigure, images: Array, columns: int, cmap: str,
                limits: tuple[float, float], titles: dict[str, str]) -> None:
    """``images[k]`` on a grid of ``columns``, one colour scale; Axes ``k``: the k-th gid and title."""
    grid = parent.subplots(math.ceil(len(images) / columns), columns, squeeze=False).ravel()
    for ax in grid[len(images):]:
        ax.remove()  # the grid's last row is not full
    for ax, picture, (gid, title) in zip(grid, images, titles.items(), strict=False):
        ax.imshow(picture, cmap=cmap, vmin=limits[0], vmax=limits[1])
        ax.set(xticks=[], yticks=[], gid=gid)
        ax.set_title(title, fontsize=8)
