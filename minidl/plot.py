"""Pictures drawn from the model itself: network diagrams, training curves, loss landscapes.

Every picture is computed from a minidl object (its weights, its ``trace``, its
``backward``), so it can never disagree with the code. The functions return matplotlib
objects, to style, show or save as usual::

    import minidl.plot

    ax = minidl.plot.draw_network(network, x=[0, 3])
    ax.figure.savefig("network.png")

matplotlib is an optional dependency: ``pip install "minidl[plot]"``. It is imported
when a function here is called, never by ``import minidl`` (nor by ``import minidl.plot``);
calling one without matplotlib raises ``ModuleNotFoundError`` saying how to install it.

Texts and lines carry a ``gid`` naming what they show (``"weight:dense:0:1"``,
``"value:node_0"``, ``"history:val_loss"``, ``"tangent"``, ...), so they can be found and
restyled with ``artist.get_gid()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from minidl._typing import Array, ArrayLike
from minidl._validation import as_float_array, check_positive_int, check_real
from minidl.course import node_names
from minidl.layers.base import Parameter, mode
from minidl.layers.dense import Dense
from minidl.losses import Loss, get_loss
from minidl.network import Network

if TYPE_CHECKING:
    from types import ModuleType

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["draw_network", "plot_history", "plot_loss_landscape"]

#: The widest layer ``draw_network`` draws (more nodes make an unreadable picture).
MAX_DRAWN_NODES = 12

_RADIUS = 0.27  # of a node's circle in draw_network


def _pyplot() -> ModuleType:
    """Import ``matplotlib.pyplot`` on first use, or explain how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError('minidl.plot needs matplotlib, an optional extra: pip install '
                                  f'"minidl[plot]" (import failed: {error})') from error
    return plt


def _finish(ax: Axes, xlabel: str, ylabel: str, title: str) -> None:
    """The labels and title of a chart, a light grid and the legend."""
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(True, alpha=0.3)
    ax.legend()


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
        layers (activations, ...); the columns are the ``Dense`` layers. At most
        ``MAX_DRAWN_NODES`` (12) nodes per column.
        Column headers name the layers between one ``Dense`` and the next.
    x
        One sample, shape ``(in_features,)`` or ``(1, in_features)``; ``None`` draws the
        weights only.
    ax
        The matplotlib Axes to draw into; ``None`` makes a new figure.
    precision
        Significant digits of the numbers shown (``2``, ``-5``, ``1.5``, ``0.123``).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn into (its figure is ``ax.figure``). Weight labels have the gid
        ``"weight:<layer name>:<i>:<j>"``, node values ``"value:<node>"``, node inputs
        ``"input:<node>"``, biases ``"bias:<node>"``, node names ``"name:<node>"``.

    Raises
    ------
    ValueError
        If the network has no ``Dense`` layer or a layer too wide to draw, or ``x`` is
        not a single sample of the right size.
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
    if not isinstance(network, Network):
        raise TypeError(f"draw_network expects a minidl Network; got {type(network).__name__}")
    precision = check_positive_int(precision, "draw_network precision")
    positions, dense_layers, widths = _dense_columns(network)
    columns = [[f"x_{i}" for i in range(widths[0])]]
    columns += [node_names(depth, len(dense_layers), width) for depth, width in enumerate(widths[1:])]
    values = {} if x is None else _node_values(network, x, positions, columns)

    layers, ends = network.layers, [*positions[1:], len(network.layers)]
    headers = [" + ".join(["input"] + [type(a).__name__ for a in layers[: positions[0]]])]
    headers += [" + ".join([layers[p].name] + [type(a).__name__ for a in layers[p + 1 : end]])
                for p, end in zip(positions, ends, strict=True)]

    spacing = 1.0 + 0.2 * (int(x is not None) + int(any(d.use_bias for d in dense_layers)))  # lines below
    if ax is None:
        ax = _pyplot().subplots(figsize=(2.6 * len(columns) + 1.0, 1.35 * spacing * max(widths) + 1.6))[1]
    xy = [[(2.2 * c, (len(column) - 1) * spacing / 2 - k * spacing) for k in range(len(column))]
          for c, column in enumerate(columns)]
    _draw_edges(ax, dense_layers, xy, precision)  # first, so nodes and labels sit on top
    _draw_nodes(ax, columns, xy, dense_layers, values, precision)

    top = (max(widths) - 1) * spacing / 2  # the tallest column's first node; its last at -top
    for c, header in enumerate(headers):
        ax.text(xy[c][0][0], top + _RADIUS + 0.45, header, ha="center", va="bottom", fontsize=9,
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
    widths = [dense_layers[0].in_features] + [layer.out_features for layer in dense_layers]
    for column, width in enumerate(widths):
        if width > MAX_DRAWN_NODES:
            what = "inputs" if column == 0 else "nodes"
            raise ValueError(f"draw_network draws networks of at most {MAX_DRAWN_NODES} nodes per layer; "
                             f"Dense {dense_layers[max(column - 1, 0)].name!r} has {width} {what}")
    return positions, dense_layers, widths


def _node_values(network: Network, x: ArrayLike, positions: list[int],
                 columns: list[list[str]]) -> dict[str, tuple[float, float]]:
    """Node name -> (input, output) for the sample ``x``, computed in evaluation mode.

    A node's input is its Dense layer's weighted sum; its output the value after the layers
    that follow, up to the next Dense layer (its activation).
    """
    sample = as_float_array(x, "draw_network x", dtype=network.dtype)
    n = len(columns[0])
    if sample.shape not in ((n,), (1, n)):
        raise ValueError(f"draw_network x must be one sample of shape ({n},) or (1, {n}); "
                         f"got shape {np.shape(x)}")
    records = network.trace(sample.reshape(n)).layers  # in evaluation mode, as predict runs
    # An input node's input and output: what the first Dense layer multiplies (the sample, after any
    # layers before it).
    values = {name: (float(v),) * 2 for name, v in zip(columns[0], records[positions[0]][1], strict=True)}
    for column, position, end in zip(columns[1:], positions, [*positions[1:], len(records)], strict=True):
        node_in, node_out = records[position][2], records[end - 1][2]
        node_out = node_out if node_out.shape == node_in.shape else node_in  # width changed: show the sums
        values.update({name: (float(node_in[j]), float(node_out[j])) for j, name in enumerate(column)})
    return values


def _draw_edges(ax: Axes, dense_layers: list[Dense], xy: list[list[tuple[float, float]]],
                precision: int) -> None:
    """Every edge between two columns, labelled with the weight it multiplies by."""
    for depth, dense in enumerate(dense_layers):
        weights, sources = dense.weight.value, len(xy[depth])
        for i, (x0, y0) in enumerate(xy[depth]):
            for j, (x1, y1) in enumerate(xy[depth + 1]):
                ax.plot([x0, x1], [y0, y1], color="0.55", linewidth=1.0, zorder=1,
                        gid=f"edge:{dense.name}:{i}:{j}")
                # Labels of edges from different source nodes sit at different distances
                # along their edges, so labels of crossing edges stay apart; each label is
                # turned to follow its edge.
                t = 0.3 if sources == 1 else 0.22 + 0.5 * i / (sources - 1)
                angle = float(np.degrees(np.arctan2(y1 - y0, x1 - x0)))
                ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), _number(float(weights[i, j]), precision),
                        ha="center", va="center", rotation=angle, rotation_mode="anchor", fontsize=11,
                        color="tab:blue", zorder=4, gid=f"weight:{dense.name}:{i}:{j}",
                        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})


def _draw_nodes(ax: Axes, columns: list[list[str]], xy: list[list[tuple[float, float]]],
                dense_layers: list[Dense], values: dict[str, tuple[float, float]], precision: int) -> None:
    """Every node: its circle and name; its value (given a sample); its input and bias below it."""
    from matplotlib.patches import Circle

    for c, column in enumerate(columns):
        owner = dense_layers[c - 1] if c > 0 else None
        face = "#dbe9f6" if c == 0 else ("#fde2c8" if c == len(columns) - 1 else "#e2f0d9")
        for k, name in enumerate(column):
            cx, cy = xy[c][k]
            ax.add_patch(Circle((cx, cy), _RADIUS, facecolor=face, edgecolor="0.25", zorder=2))
            ax.text(cx, cy + _RADIUS + 0.06, name, ha="center", va="bottom", fontsize=8,
                    color="0.3", zorder=5, gid=f"name:{name}")
            # Below the node: its input (the weighted sum; column c > 0 only) and its bias.
            below = [(f"in {_number(values[name][0], precision)}", f"input:{name}")] if values and c else []
            if values:
                text = _number(values[name][1], precision)
                size = 12 if len(text) <= 3 else (9 if len(text) <= 5 else 7)
                ax.text(cx, cy, text, ha="center", va="center", fontsize=size, fontweight="bold",
                        zorder=5, gid=f"value:{name}")
            if owner is not None and owner.bias is not None:
                below.append((f"b {_number(float(owner.bias.value[k]), precision)}", f"bias:{name}"))
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
        The figure; its ``axes`` hold one panel per key. Each line has the gid
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
    if not bases:
        raise ValueError("plot_history got an empty history; train for at least one epoch")
    keys = bases if keys is None else ([keys] if isinstance(keys, str) else list(keys))
    missing = [key for key in keys if key not in bases]
    if missing:
        raise ValueError(f"plot_history: no {missing} in the history; it has {bases}")
    figure, panels = _panels(axes, keys)
    from matplotlib.ticker import MaxNLocator

    prefix = f"{label}: " if label else ""
    for panel, key in zip(panels, keys, strict=True):
        color = None
        for name, style in ((key, "-"), (f"val_{key}", "--")):
            if name in series and series[name].size:
                (line,) = panel.plot(np.arange(1, series[name].size + 1), series[name], style, marker="o",
                                     markersize=3, color=color, gid=f"history:{name}",
                                     label=f"{prefix}{'validation' if name != key else 'training'}")
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


def _panels(axes: Axes | Sequence[Axes] | np.ndarray[Any, Any] | None,
            keys: list[str]) -> tuple[Figure, list[Axes]]:
    """The figure and one Axes per key: new ones, or those given (checked)."""
    if axes is None:
        figure, grid = _pyplot().subplots(1, len(keys), figsize=(4.6 * len(keys), 3.4), squeeze=False)
        return figure, list(grid[0])
    panels = list(np.array(axes, dtype=object).ravel())  # an Axes, a list, plt.subplots(...)'s array
    if len(panels) != len(keys):
        raise ValueError(f"plot_history: got {len(panels)} axes for {len(keys)} keys {list(keys)}; "
                         "pass one Axes per key")
    return panels[0].get_figure(root=True), panels  # the figure holding the Axes


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
    then its mode, the weight and every parameter's ``grad`` are put back as they were.

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
        The Axes. Lines have the gids ``"landscape"`` (the curve), ``"tangent"`` and
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
    if not isinstance(network, Network):
        raise TypeError(f"plot_loss_landscape expects a minidl Network; got {type(network).__name__}")
    if ax is None:
        _pyplot()  # without matplotlib, say so before sweeping the loss (num forward passes)
    loss = get_loss(loss)  # the message of a wrong one lists the loss names, as compile's does
    target, position, weight_name = _entry(network, parameter, index)
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 3:
        raise ValueError(f"plot_loss_landscape num must be an integer of at least 3; got {num!r}")
    data = as_float_array(x, "plot_loss_landscape x", dtype=network.dtype)
    w0 = float(target.value[position])
    span = check_real(max(1.0, abs(w0)) if span is None else span, "plot_loss_landscape span",
                      low=0.0, low_inclusive=False)

    grid = np.linspace(w0 - span, w0 + span, num)
    loss_0, slope, curve = _sweep(network, loss, data, y, target, position, w0, grid)

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


def _sweep(network: Network, loss: Loss, x: Array, y: ArrayLike, target: Parameter,
           position: tuple[int, ...], w0: float, grid: Array) -> tuple[float, float, Array]:
    """``L(w0)``, ``dL/dw`` at ``w0`` (from backward) and ``L(w)`` for each ``w`` of ``grid``.

    ``w0`` is the entry's value now, ``target.value[position]``. Runs in evaluation mode;
    the mode, the weight and every parameter's ``grad`` are put back.
    """
    saved_grads = [p.grad.copy() for p in network.parameters()]
    try:
        with mode(network.layers, training=False):
            loss_0 = loss.forward(network.forward(x), y)
            network.backward(loss.backward())
            slope = float(target.grad[position])
            curve = np.empty(grid.size)
            for k, w in enumerate(grid):
                target.value[position] = w
                curve[k] = loss.forward(network.forward(x), y)
    finally:
        target.value[position] = w0
        for p, grad in zip(network.parameters(), saved_grads, strict=True):
            p.grad[...] = grad
    return loss_0, slope, curve


def _entry(network: Network, parameter: Parameter | int,
           index: int | tuple[int, ...]) -> tuple[Parameter, tuple[int, ...], str]:
    """The parameter (given, or by its position), the checked index of its swept entry, and its name.

    The name says which layer holds the entry: ``"dense.weight[0, 1]"``.
    """
    parameters = network.parameters()
    owners = {id(p): layer.name for layer in network.layers for p in layer.parameters()}
    if isinstance(parameter, (int, np.integer)) and not isinstance(parameter, bool):
        if not -len(parameters) <= parameter < len(parameters):
            raise ValueError(f"plot_loss_landscape parameter index must be in [0, {len(parameters)}) (the "
                             f"network has {len(parameters)} parameters); got {parameter}")
        parameter = parameters[int(parameter)]
    elif not isinstance(parameter, Parameter):
        raise TypeError("plot_loss_landscape parameter must be a Parameter of the network or its position "
                        f"in network.parameters(); got {type(parameter).__name__}")
    if id(parameter) not in owners:
        raise ValueError(f"plot_loss_landscape: {parameter!r} is not a parameter of this network")
    position = (index,) if isinstance(index, (int, np.integer)) else tuple(index)
    in_range = all(-n <= int(i) < n for i, n in zip(position, parameter.shape, strict=False))
    if len(position) != parameter.value.ndim or not in_range:
        raise ValueError(f"plot_loss_landscape index must pick one entry of a parameter of shape "
                         f"{parameter.shape}; got {index!r}")
    name = f"{owners[id(parameter)]}.{parameter.name}[{', '.join(str(int(i)) for i in position)}]"
    return parameter, position, name
