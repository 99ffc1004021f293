"""The course bridge: the course's dict of node weights <-> layers, and every node's values.

The course writes a network as ``{'node_0': [...], 'node_1': [...], 'output': [...]}``,
the weights *into* each node, and follows a sample node by node. ``Network`` hands over
to this module: ``Network.from_node_weights`` (:func:`layers_from_node_weights`),
``network.node_weights()`` (:func:`node_weights`) and ``network.trace(x)``
(:func:`trace`). It works on a list of layers and imports nothing but the layers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from minidl._typing import Array
from minidl._validation import as_batch
from minidl.layers.activations import Activation, get_activation
from minidl.layers.base import Layer, looking
from minidl.layers.dense import Dense

T = TypeVar("T")

# node_<j> or node_<layer>_<j>, groups (layer or None, j); no leading zeros: node_00 is not node_0
_NODE_KEY = re.compile(r"node_(?:(0|[1-9]\d*)_)?(0|[1-9]\d*)\Z")


@dataclass(frozen=True)
class NodeValues:
    """What one node computes for the traced sample(s).

    Attributes
    ----------
    name
        The node's name, as in the course: ``node_0``, ``node_1_0``, ``output``.
    input
        The weighted sum into the node (before its activation): a float for one sample,
        an array of shape ``(batch,)`` for a batch.
    output
        The node's value after its activation (equal to ``input`` when the node has none).

    Examples
    --------
    >>> net = Network.from_node_weights({'node_0': [2, 4], 'node_1': [4, -5], 'output': [2, 7]})
    >>> net.trace([3, 5]).nodes[1]                  # 3*4 + 5*(-5) = -13, then relu
    NodeValues(name='node_1', input=-13.0, output=0.0)
    """

    name: str
    input: Any
    output: Any


class Trace(Mapping[str, Any]):
    """Every node's input and output for one sample (or a batch), from ``Network.trace``.

    Index it with the course's variable names: ``trace["node_0_input"]``,
    ``trace["node_0_output"]``, ..., ``trace["output_output"]`` (also
    ``trace.model_output``); ``trace.nodes`` lists :class:`NodeValues` in order;
    ``print(trace)`` shows them as a table. ``trace.layers`` holds every layer's input
    and output arrays, for networks of any shape.

    Examples
    --------
    >>> net = Network.from_node_weights({"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]})
    >>> print(net.trace([0, 3]))
    node    input  output
    node_0      3       3
    node_1      6       6
    output      9       9
    """

    def __init__(self, nodes: list[NodeValues], layers: list[tuple[Layer, Array, Array]]) -> None:
        self.nodes, self.layers = nodes, layers
        self._values: dict[str, Any] = {f"{node.name}_{side}": getattr(node, side)
                                        for node in nodes for side in ("input", "output")}

    @property
    def model_output(self) -> Array:
        """The network's output for the traced input."""
        return self.layers[-1][2]

    def __getitem__(self, key: str) -> Any:
        if key not in self._values:
            raise KeyError(f"no node value {key!r}; available: {', '.join(self._values)}")
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __str__(self) -> str:
        rows = [("node", "input", "output"), *((n.name, _show(n.input), _show(n.output)) for n in self.nodes)]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        return "\n".join(f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}".rstrip() for a, b, c in rows)

    def __repr__(self) -> str:
        return f"Trace({', '.join(f'{k}={v!r}' for k, v in self._values.items())})"


def _show(value: Any) -> str:
    """A node value for the table: ``3`` for one sample, ``[3, 6]`` for a batch."""
    return f"{value:g}" if isinstance(value, float) else np.array2string(value, precision=6, separator=", ")


def trace(layers: Sequence[Layer], x: Array) -> Trace:
    """Every node's input and output for ``x`` (checked, of the network's dtype): see ``Network.trace``.

    Dense nodes are named ``node_j`` (one hidden layer) or ``node_l_j`` (several), and
    the last Dense layer's nodes ``output`` (one node) or ``output_j``. A node's
    *input* is its weighted sum; its *output* is that sum after the layers that
    follow the Dense layer up to the next one and keep its shape (activations,
    Softmax, Dropout, ...): what the next Dense layer receives, or, for the last, the
    network's output. Runs in evaluation mode, as ``predict`` (so the values are
    ``predict``'s and nothing changes: no Dropout draws, no BatchNorm statistics
    updated); the layers' modes, and what their last forward kept for a backward, are
    restored afterwards.

    Examples
    --------
    >>> net = Network.from_node_weights({'node_0': [2, 1], 'node_1': [1, 2], 'output': [1, 1]})
    >>> t = net.trace([3, 5])
    >>> t["node_0_input"], t["node_1_output"], t["output_output"]
    (11.0, 13.0, 24.0)
    """
    batch, single = as_batch(x)
    arrays = [batch]  # the input, then each layer's output
    with looking(layers):
        for layer in layers:
            arrays.append(layer.forward(arrays[-1]))
    if single:  # one sample in: every array without the batch axis, as given
        arrays = [array[0] for array in arrays]
    records = list(zip(layers, arrays[:-1], arrays[1:], strict=True))  # (layer, its input, its output)
    value: Callable[[Array], Any] = float if single else np.copy  # a node's value: a float, or one per sample
    dense_positions = [i for i, layer in enumerate(layers) if isinstance(layer, Dense)]
    nodes: list[NodeValues] = []
    for depth, position in enumerate(dense_positions):
        dense_out = activated = records[position][2]
        # fold the shape-keeping layers that follow, up to the next Dense (ReLU, Softmax, ...)
        for layer, _, output in records[position + 1 :]:
            if isinstance(layer, Dense) or output.shape != dense_out.shape:
                break
            activated = output
        for j, name in enumerate(node_names(depth, len(dense_positions), dense_out.shape[-1])):
            nodes.append(NodeValues(name, value(dense_out[..., j]), value(activated[..., j])))
    return Trace(nodes, records)


def node_names(depth: int, dense_count: int, width: int) -> list[str]:
    """Course names for the nodes of the Dense layer at ``depth`` among ``dense_count``.

    ``node_j`` with one hidden layer, ``node_<depth>_j`` with several; the last Dense
    layer's nodes are ``output`` (one node) or ``output_j``.
    """
    if depth == dense_count - 1:
        return ["output"] if width == 1 else [f"output_{j}" for j in range(width)]
    prefix = "node_" if dense_count == 2 else f"node_{depth}_"
    return [f"{prefix}{j}" for j in range(width)]


def node_weights(layers: Sequence[Layer]) -> dict[str, Array]:
    """The weights in the course's dict form (copies): see ``Network.node_weights``.

    Works for networks of bias-free Dense layers (each optionally followed by
    activations) ending in a single output node.
    """
    dense = [layer for layer in layers if isinstance(layer, Dense)]
    outputs = dense[-1].out_features if dense else 1  # 1 without a Dense layer: that problem is named instead
    others = [layer.name for layer in layers if not isinstance(layer, (Dense, Activation))]
    problems = [problem for found, problem in [
        (not dense, "it has no Dense layer"),
        (outputs != 1, f"its last Dense layer has {outputs} outputs, not 1"),
        (any(d.use_bias for d in dense), "a Dense layer has a bias, which the course's dict cannot hold"),
        (bool(others), f"layers {others} are neither Dense nor element-wise activations")] if found]
    if problems:
        raise ValueError("node_weights() needs the course's kind of network, but " + "; ".join(problems))
    return {name: layer.weight.value[:, j].copy() for depth, layer in enumerate(dense)
            for j, name in enumerate(node_names(depth, len(dense), layer.out_features))}


def layers_from_node_weights(weights: Mapping[str, npt.ArrayLike], activation: str = "relu", *,
                             dtype: npt.DTypeLike = np.float64) -> list[Layer]:
    """The course's bias-free layers from its dict of node weights.

    Parameters
    ----------
    weights
        ``{'node_0': [...], 'node_1': [...], 'output': [...]}`` for one hidden layer,
        or ``{'node_0_0': ..., 'node_0_1': ..., 'node_1_0': ..., 'output': ...}`` for
        several (``node_<layer>_<j>``). Each value lists the weights *into* that node,
        one per node of the previous layer (the inputs for the first layer); the
        ``'output'`` node is the single output.
    activation
        The activation applied after every layer, the output included, exactly as
        the course's ``predict_with_network`` does: ``"relu"``, ``"identity"``,
        ``"sigmoid"``, ``"tanh"`` or ``"leaky_relu"``.
    dtype
        The parameters' dtype (float64 keeps the course's numbers exact).

    Returns
    -------
    list[Layer]
        ``[Dense, activation] * (hidden layers + 1)``, every Dense without bias, with
        ``weight.value[:, j]`` equal to the weights of node ``j``.

    Examples
    --------
    >>> net = Network.from_node_weights({'node_0': [2, 1], 'node_1': [1, 2], 'output': [1, 1]})
    >>> net.forward([0, 3])
    array([9.])
    """
    matrices = _matrices_from_node_weights(weights)  # each of shape (in_features, out_features)
    get_activation(activation)  # fail on a bad name before building anything
    dense = [Dense(*matrix.shape, use_bias=False, weight_init=matrix, dtype=dtype) for matrix in matrices]
    return [layer for d in dense for layer in (d, get_activation(activation))]  # Dense, activation, ...


def _matrices_from_node_weights(weights: Mapping[str, npt.ArrayLike]) -> list[Array]:
    """Weight matrices ``(in, out)`` per layer from the course's node dict, validated."""
    if not isinstance(weights, Mapping):
        raise TypeError(f"node weights must be a dict; got {type(weights).__name__}")
    if "output" not in weights:
        raise ValueError("node weights have no 'output' key; expected keys like 'node_0', 'node_1', "
                         f"'output'; got {list(weights)}")
    hidden: dict[int, dict[int, Array]] = {}  # hidden layer -> node -> the weights into it
    for key, value in weights.items():
        vector = _node_vector(key, value)
        if key == "output":
            continue
        match = _NODE_KEY.match(key) if isinstance(key, str) else None
        if match is None:
            raise ValueError(f"node weights: unexpected key {key!r}; expected 'node_<j>', "
                             "'node_<layer>_<j>' or 'output'")
        layer, node = match.groups(default="0")  # node_<j> is node_0_<j>
        hidden.setdefault(int(layer), {})[int(node)] = vector
    if len({key.count("_") for key in weights if key != "output"}) > 1:  # node_<j> and node_<layer>_<j>
        raise ValueError("node weights mix 'node_<j>' and 'node_<layer>_<j>' keys; use one style")
    layers = [_numbered(nodes, f"nodes of hidden layer {i}")
              for i, nodes in enumerate(_numbered(hidden, "hidden layers"))]
    layers.append([_node_vector("output", weights["output"])])
    for i, nodes in enumerate(layers):
        where = "'output'" if i == len(layers) - 1 else f"hidden layer {i}"
        lengths = sorted({len(vector) for vector in nodes})
        if len(lengths) > 1:
            raise ValueError(f"node weights: the nodes of {where} have different lengths {lengths}")
        if i > 0 and lengths[0] != len(layers[i - 1]):
            raise ValueError(f"node weights: each node of {where} needs {len(layers[i - 1])} weight(s) "
                             f"(one per node of the layer before); got {lengths[0]}")
    return [np.stack(nodes, axis=1) for nodes in layers]


def _numbered(items: dict[int, T], what: str) -> list[T]:
    """The values of ``items`` in key order, when the keys are exactly 0, 1, 2, ..."""
    if sorted(items) != list(range(len(items))):
        raise ValueError(f"node weights: {what} must be numbered 0, 1, ...; got {sorted(items)}")
    return [items[i] for i in range(len(items))]


def _node_vector(key: str, value: npt.ArrayLike) -> Array:
    """The weights into one node as a flat, non-empty, finite float64 vector, or a clear error."""
    try:
        vector = np.asarray(value)
        if vector.dtype.kind not in "iufb":  # strings such as "1" are not weights
            raise TypeError
    except (ValueError, TypeError):
        raise ValueError(f"node weights[{key!r}] must be a flat list of numbers; got {value!r}") from None
    if vector.ndim != 1 or vector.size == 0:
        raise ValueError(f"node weights[{key!r}] must be a flat, non-empty list of numbers; "
                         f"got shape {vector.shape}")
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"node weights[{key!r}] must be finite; got {vector}")
    return vector.astype(np.float64)
