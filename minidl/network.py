"""``Network``: layers in order, run forward and backward as one."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, overload

import numpy as np
import numpy.typing as npt

from minidl import io as _io
from minidl._typing import Array, ArrayLike, Seed
from minidl._validation import as_float_array, check_positive_int
from minidl.errors import backward_failure, backward_shape_error, not_initialised, note_failing_layer
from minidl.layers.activations import Activation, get_activation
from minidl.layers.base import Layer, Parameter
from minidl.layers.dense import Dense
from minidl.losses import Loss
from minidl.optimizers import Optimizer
from minidl.training import Callback, History, Trainer, loss_and_backward, require_trainer

_NODE_KEY = re.compile(r"node_(0|[1-9]\d*)(?:_(0|[1-9]\d*))?\Z")  # no leading zeros: node_00 is not node_0


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
        self.nodes = nodes
        self.layers = layers
        self._values: dict[str, Any] = {}
        for node in nodes:
            self._values[f"{node.name}_input"] = node.input
            self._values[f"{node.name}_output"] = node.output

    @property
    def model_output(self) -> Array:
        """The network's output for the traced input."""
        return self.layers[-1][2]

    def __getitem__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise KeyError(f"no node value {key!r}; available: {', '.join(self._values)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __str__(self) -> str:
        def show(value: Any) -> str:
            if isinstance(value, float):
                return f"{value:g}"
            return np.array2string(np.asarray(value), precision=6, separator=", ")

        rows = [("node", "input", "output")]
        rows += [(node.name, show(node.input), show(node.output)) for node in self.nodes]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        return "\n".join(
            f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}".rstrip() for a, b, c in rows
        )

    def __repr__(self) -> str:
        return f"Trace({', '.join(f'{k}={v!r}' for k, v in self._values.items())})"


class Network:
    """A stack of layers run in order: ``forward`` from first to last, ``backward`` back.

    Parameters
    ----------
    layers
        The layers, in the order data flows through them. Each layer object may appear
        only once (gradients are overwritten per backward, see :class:`~minidl.Layer`).
        Layers whose names collide are renamed ``name_1``, ``name_2``, ... (as Keras does).

    Examples
    --------
    >>> net = Network([Dense(2, 2, use_bias=False, weight_init=[[2, 1], [1, 2]]), ReLU(),
    ...                Dense(2, 1, use_bias=False, weight_init=[[1], [1]]), ReLU()])
    >>> net.forward(np.array([0.0, 3.0]))
    array([9.])
    """

    def __init__(self, layers: Sequence[Layer]) -> None:
        if isinstance(layers, Layer) or not isinstance(layers, Sequence):
            raise TypeError(f"Network expects a list of layers; got {type(layers).__name__}")
        layers = list(layers)
        if not layers:
            raise ValueError("Network expects at least one layer; got an empty list")
        seen: set[int] = set()
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"Network layer {index} must be a minidl Layer; got {type(layer).__name__}"
                )
            if not hasattr(layer, "training") or not hasattr(layer, "name"):
                raise TypeError(not_initialised(layer, f"Network layer {index}"))
            if id(layer) in seen:
                raise ValueError(
                    f"Network layer {index} ({layer.name!r}) appears twice; create a new layer "
                    "object for each position (a layer's gradients belong to one position)"
                )
            seen.add(id(layer))
        self.layers: list[Layer] = layers
        self._uniquify_names()
        self._parameters: list[Parameter] | None = None
        # (layer, its input's shape) in the last forward, for backward's shape check.
        self._steps: list[tuple[Layer, tuple[int, ...]]] | None = None

    def _uniquify_names(self) -> None:
        used: dict[str, int] = {}
        for layer in self.layers:
            base = layer.name
            if base in used:
                used[base] += 1
                candidate = f"{base}_{used[base]}"
                while candidate in used:
                    used[base] += 1
                    candidate = f"{base}_{used[base]}"
                layer.name = candidate
                used[candidate] = 0
            else:
                used[base] = 0

    # -- containers ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.layers)

    @overload
    def __getitem__(self, index: int) -> Layer: ...
    @overload
    def __getitem__(self, index: slice) -> list[Layer]: ...
    def __getitem__(self, index: int | slice) -> Layer | list[Layer]:
        return self.layers[index]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = ",\n    ".join(repr(layer) for layer in self.layers)
        return f"Network([\n    {inner},\n])"

    # -- parameters and mode --------------------------------------------------------
    def parameters(self) -> list[Parameter]:
        """Every layer's parameters, first layer first (the list is built once and reused).

        Layers create their parameters in ``__init__``, so the list does not change.
        """
        if self._parameters is None:
            self._parameters = [p for layer in self.layers for p in layer.parameters()]
        return self._parameters

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero."""
        for parameter in self.parameters():
            parameter.grad.fill(0)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of the parameters (float64 when the network has none)."""
        parameters = self.parameters()
        return parameters[0].dtype if parameters else np.dtype(np.float64)

    def astype(self, dtype: npt.DTypeLike) -> Network:
        """Convert the whole network to the floating ``dtype`` (e.g. float32), in place; returns self.

        Every layer's parameters (values and gradients) and state arrays are converted
        (:meth:`Layer.astype`); the :class:`Parameter` objects stay the same, so
        ``parameters()`` and anything keyed by them stay valid. From then on ``forward``,
        ``predict`` and ``fit`` convert their input to ``dtype`` once, at the entry.

        **Optimizer state.** The optimizer given to ``compile`` (``self.optimizer``)
        keeps its per-parameter state (momentum, running averages, step counts): it is
        converted to ``dtype`` too, so training resumes where it was, in the new dtype.
        An optimizer you drive yourself is not known to the network: call ``astype``
        before its first step, or it keeps arrays of the old dtype.

        Examples
        --------
        >>> net = Network([Dense(3, 2), ReLU(), Dense(2, 1)]).astype(np.float32)
        >>> net.dtype, net.forward(np.ones((4, 3))).dtype
        (dtype('float32'), dtype('float32'))
        """
        target = np.dtype(dtype)
        if target.kind != "f":
            raise TypeError(f"Network.astype needs a floating dtype (float32, float64); got {target}")
        for layer in self.layers:
            layer.astype(target)
        optimizer = self.optimizer
        if optimizer is not None:
            # load_state_arrays casts every state array to its parameter's (new) dtype.
            parameters = self.parameters()
            optimizer.load_state_arrays(parameters, optimizer.state_arrays(parameters))
        return self

    @property
    def training(self) -> bool:
        """True in training mode (the start, and after ``train()``), False after ``eval()``."""
        return all(layer.training for layer in self.layers)

    def train(self, mode: bool = True) -> Network:
        """Put every layer in training mode (``mode=False``: evaluation mode); returns self."""
        for layer in self.layers:
            layer.train(mode)
        return self

    def eval(self) -> Network:
        """Put every layer in evaluation mode; returns self."""
        return self.train(False)

    # -- the computation ------------------------------------------------------------
    def forward(self, x: ArrayLike) -> Array:
        """Run ``x`` through every layer in order: ``y = layer_n(... layer_1(x))``.

        ``x`` has shape ``(batch, features)``, or ``(features,)`` for one sample (the
        output then has rank 1 too). It is checked once here (numeric, finite,
        non-empty) and converted to the network's dtype; the layers only compare sizes.
        Uses the current mode (see ``train``/``eval``).
        """
        output = as_float_array(x, "Network input x", dtype=self.dtype)
        steps: list[tuple[Layer, tuple[int, ...]]] = []
        for layer in self.layers:
            steps.append((layer, output.shape))
            output = layer.forward(output)
        self._steps = steps
        return output

    def backward(self, grad: Array) -> Array:
        """Backpropagate ``dL/doutput`` through the layers in reverse; return ``dL/dx``.

        Each layer turns the gradient of its output into the gradient of its input and
        fills its parameters' ``grad`` on the way (the chain rule, one layer at a time).

        Every gradient a layer returns must have the shape of that layer's input in the
        last ``forward``; a layer that breaks this (or whose backward fails for want of
        something ``forward`` should have cached) is named in the error.
        """
        steps = self._steps
        if steps is None:  # no forward yet: no shapes to check; the layers say what is missing
            steps = [(layer, ()) for layer in self.layers]
        upstream = grad
        layer = self.layers[-1]
        try:
            for layer, shape in reversed(steps):
                grad = layer.backward(grad)
                if grad.shape != shape and self._steps is not None:
                    raise backward_shape_error(layer, shape, grad)
        except (AttributeError, TypeError) as error:
            if grad is upstream and not isinstance(upstream, np.ndarray):
                raise TypeError(
                    f"Network.backward expects dL/doutput as a numpy array; got {type(upstream).__name__}"
                ) from None
            raise backward_failure(layer, grad, error) from error
        except ValueError as error:
            note_failing_layer(layer, error)
            raise
        return grad

    def predict(self, x: ArrayLike, batch_size: int | None = None) -> Array:
        """The network's output for ``x``, computed in evaluation mode.

        Parameters
        ----------
        x
            Shape ``(batch, features)`` or ``(features,)``.
        batch_size
            Run the data in slices of this many samples (saves memory on big data);
            ``None`` runs it all at once.
        """
        data = as_float_array(x, "predict x", dtype=self.dtype)
        if batch_size is not None:
            batch_size = check_positive_int(batch_size, "predict batch_size")
        was_training = [layer.training for layer in self.layers]
        self.eval()
        try:
            if batch_size is None or data.ndim == 1 or len(data) <= batch_size:
                output = self._run(data)
                # A network of pass-through layers would hand back the caller's own array.
                return output.copy() if output is x else output
            return np.concatenate(
                [self._run(data[start : start + batch_size])
                 for start in range(0, len(data), batch_size)]
            )
        finally:
            for layer, mode in zip(self.layers, was_training, strict=True):
                layer.train(mode)

    def _run(self, x: Array) -> Array:
        steps: list[tuple[Layer, tuple[int, ...]]] = []
        for layer in self.layers:
            steps.append((layer, x.shape))
            x = layer.forward(x)
        self._steps = steps
        return x

    def __call__(self, x: ArrayLike) -> Array:
        """Run ``forward``."""
        return self.forward(x)

    # -- training: compile, fit, evaluate (minidl.training) -----------------------------
    #: The training state (:class:`~minidl.training.Trainer`) made by ``compile``; None before.
    trainer: Trainer | None = None

    def compile(self, optimizer: str | Optimizer = "rmsprop", loss: str | Loss | None = None,
                metrics: Sequence[str | Callable[..., float]] | None = None) -> None:
        """Choose how ``fit`` trains: optimizer, loss, metrics (see :class:`~minidl.training.Trainer`)."""
        self.trainer = Trainer(self, optimizer, loss, metrics)

    def fit(self, x: ArrayLike, y: ArrayLike, epochs: int = 1, batch_size: int = 32, shuffle: bool = True,
            validation_split: float = 0.0, validation_data: tuple[ArrayLike, ArrayLike] | None = None,
            callbacks: Sequence[Callback] | None = None, verbose: int = 1, seed: Seed = None) -> History:
        """Train on ``(x, y)``; returns a History (see :meth:`Trainer.fit <minidl.training.Trainer.fit>`)."""
        return self._trainer("fit").fit(x, y, epochs, batch_size, shuffle, validation_split, validation_data,
                                        callbacks, verbose, seed)

    def evaluate(self, x: ArrayLike, y: ArrayLike, batch_size: int | None = 32) -> dict[str, float]:
        """The compiled loss and metrics on ``(x, y)`` (see :meth:`~minidl.training.Trainer.evaluate`)."""
        return self._trainer("evaluate").evaluate(x, y, batch_size)

    def train_step(self, x: ArrayLike, y: ArrayLike) -> float:
        """One step on one batch; returns the loss (see :meth:`~minidl.training.Trainer.train_step`)."""
        return self._trainer("train_step").train_step(x, y)

    def loss_and_backward(self, x: ArrayLike, y: ArrayLike, loss: Loss | str | None = None) -> float:
        """Fill every ``grad``; returns the loss (see :func:`minidl.training.loss_and_backward`)."""
        self._steps = None  # the step runs the layers itself: forward's recorded shapes go stale
        return loss_and_backward(self, x, y, loss)

    def _trainer(self, caller: str) -> Trainer:
        self._steps = None  # the trainer runs the layers itself: forward's recorded shapes go stale
        return require_trainer(self, caller)

    loss = property(lambda self: None if self.trainer is None else self.trainer.loss,
                    doc="The compiled loss (None before ``compile``).")
    optimizer = property(lambda self: None if self.trainer is None else self.trainer.optimizer,
                         doc="The compiled optimizer (None before); it keeps its state across ``fit`` calls.")
    history = property(lambda self: None if self.trainer is None else self.trainer.history,
                       doc="The :class:`~minidl.History` of the latest ``fit`` (None before).")
    stop_reason = property(lambda self: None if self.trainer is None else self.trainer.stop_reason,
                           doc="Why the latest ``fit`` stopped early (early stopping, NaN, Ctrl-C), or None.")

    metrics_names = property(lambda self: ["loss"] + [n for n, _ in getattr(self.trainer, "metrics", ())],
                             doc="The names ``fit`` logs: ``\"loss\"`` then each compiled metric (as given).")

    @property
    def stop_training(self) -> bool:
        """Set True (``Callback.request_stop`` does) to end ``fit`` after the current epoch."""
        return False if self.trainer is None else self.trainer.stop_training

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        require_trainer(self, "stop_training").stop_training = value

    @property
    def fit_rng(self) -> np.random.Generator | None:
        """The generator the latest ``fit`` shuffled with: ``fit(seed=network.fit_rng)`` resumes exactly."""
        return None if self.trainer is None else self.trainer.fit_rng

    @fit_rng.setter
    def fit_rng(self, generator: np.random.Generator | None) -> None:
        require_trainer(self, "fit_rng").fit_rng = generator

    # -- end of training ------------------------------------------------------------------

    # -- seeing inside ---------------------------------------------------------------
    def trace(self, x: ArrayLike) -> Trace:
        """Every node's input and output for ``x``, named as in the course.

        Dense nodes are named ``node_j`` (one hidden layer) or ``node_l_j`` (several), and
        the last Dense layer's nodes ``output`` (one node) or ``output_j``. A node's
        *input* is its weighted sum; its *output* is that sum after the layers that
        follow the Dense layer up to the next one and keep its shape (activations,
        Softmax, Dropout, ...): what the next Dense layer receives, or, for the last, the
        network's output. Runs in evaluation mode, as ``predict`` (so the values are
        ``predict``'s and nothing changes: no Dropout draws, no BatchNorm statistics
        updated); the layers' modes are restored afterwards.

        Examples
        --------
        >>> net = Network.from_node_weights({'node_0': [2, 1], 'node_1': [1, 2], 'output': [1, 1]})
        >>> t = net.trace([3, 5])
        >>> t["node_0_input"], t["node_1_output"], t["output_output"]
        (11.0, 13.0, 24.0)
        """
        values = as_float_array(x, "trace x", dtype=self.dtype)
        records: list[tuple[Layer, Array, Array]] = []
        was_training = [layer.training for layer in self.layers]
        self.eval()  # as predict: no Dropout draws, no BatchNorm statistics updated
        try:
            for layer in self.layers:
                output = layer.forward(values)
                records.append((layer, values, output))
                values = output
        finally:
            for layer, mode in zip(self.layers, was_training, strict=True):
                layer.train(mode)
        self._steps = [(record[0], record[1].shape) for record in records]
        dense_positions = [i for i, layer in enumerate(self.layers) if isinstance(layer, Dense)]
        nodes: list[NodeValues] = []
        for depth, position in enumerate(dense_positions):
            dense_out = records[position][2]
            after = position  # fold the shape-keeping layers up to the next Dense (ReLU, Softmax, ...)
            while (after + 1 < len(records) and not isinstance(self.layers[after + 1], Dense)
                   and records[after + 1][2].shape == dense_out.shape):
                after += 1
            activated = records[after][2]
            layer = self.layers[position]
            assert isinstance(layer, Dense)
            names = _node_names(depth, len(dense_positions), layer.out_features)
            for j, name in enumerate(names):
                node_in, node_out = dense_out[..., j], activated[..., j]
                if node_in.ndim == 0:
                    nodes.append(NodeValues(name, float(node_in), float(node_out)))
                else:
                    nodes.append(NodeValues(name, node_in.copy(), node_out.copy()))
        return Trace(nodes, records)

    def summary(self) -> str:
        """A table of every layer: name and type, output shape, parameter count (as Keras).

        ``None`` in a shape stands for the batch size; ``?`` for a size the layer does not
        declare (see ``Layer.output_features``).
        """
        rows = [("Layer (type)", "Output Shape", "Param #")]
        features: int | None = None
        total = 0
        for layer in self.layers:
            features = layer.output_features(features)
            count = sum(p.size for p in layer.parameters())
            total += count
            width = "?" if features is None else str(features)
            rows.append((f"{layer.name} ({type(layer).__name__})", f"(None, {width})", f"{count:,}"))
        widths = [max(len(row[i]) for row in rows) + 2 for i in range(3)]
        rule = "-" * sum(widths)
        lines = [rule]
        for index, (label, shape, params) in enumerate(rows):
            lines.append(f"{label:<{widths[0]}}{shape:<{widths[1]}}{params:>{widths[2] - 2}}")
            if index == 0:
                lines.append("=" * sum(widths))
        lines += [rule, f"Total params: {total:,}"]
        return "\n".join(lines)

    # -- model files ------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str], *, include_optimizer: bool = True) -> None:
        """Save the network to one ``.npz`` model file at exactly ``path``, atomically.

        Stores every layer's type and ``config()`` as JSON and its parameters (and
        non-parameter state) as plain arrays; nothing is pickled. ``minidl.load(path)``
        rebuilds it. With ``include_optimizer`` (the default) a compiled network also
        stores its loss, metrics and optimizer state, so training can resume exactly.
        See :mod:`minidl.io`.
        """
        _io.save(self, path, include_optimizer=include_optimizer)

    # -- the course bridge ----------------------------------------------------------
    @classmethod
    def from_node_weights(
        cls,
        weights: Mapping[str, npt.ArrayLike],
        activation: str = "relu",
        *,
        dtype: npt.DTypeLike = np.float64,
    ) -> Network:
        """Build the course's bias-free network from its dict of node weights.

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
        Network
            ``[Dense, activation] * (hidden layers + 1)``, every Dense without bias, with
            ``weight.value[:, j]`` equal to the weights of node ``j``.

        Examples
        --------
        >>> net = Network.from_node_weights({'node_0': [2, 1], 'node_1': [1, 2], 'output': [1, 1]})
        >>> net.forward([0, 3])
        array([9.])
        """
        matrices = _matrices_from_node_weights(weights)
        get_activation(activation)  # fail on a bad name before building anything
        layers: list[Layer] = []
        for matrix in matrices:
            layers.append(
                Dense(matrix.shape[0], matrix.shape[1], use_bias=False, weight_init=matrix,
                      dtype=dtype)
            )
            layers.append(get_activation(activation))
        return cls(layers)

    def node_weights(self) -> dict[str, Array]:
        """The weights in the course's dict form (copies), the inverse of ``from_node_weights``.

        Works for networks of bias-free Dense layers (each optionally followed by
        activations) ending in a single output node.
        """
        dense_layers = [layer for layer in self.layers if isinstance(layer, Dense)]
        problems = []
        if not dense_layers:
            problems.append("it has no Dense layer")
        elif dense_layers[-1].out_features != 1:
            problems.append(f"its last Dense layer has {dense_layers[-1].out_features} outputs, not 1")
        if any(layer.use_bias for layer in dense_layers):
            problems.append("a Dense layer has a bias, which the course's dict cannot hold")
        others = [layer.name for layer in self.layers if not isinstance(layer, (Dense, Activation))]
        if others:
            problems.append(f"layers {others} are neither Dense nor element-wise activations")
        if problems:
            raise ValueError("node_weights() needs the course's kind of network, but " + "; ".join(problems))
        result: dict[str, Array] = {}
        for depth, layer in enumerate(dense_layers):
            names = _node_names(depth, len(dense_layers), layer.out_features)
            for j, name in enumerate(names):
                result[name] = layer.weight.value[:, j].copy()
        return result


def _node_names(depth: int, dense_count: int, width: int) -> list[str]:
    """Course names for the nodes of the Dense layer at ``depth`` among ``dense_count``."""
    if depth == dense_count - 1:
        return ["output"] if width == 1 else [f"output_{j}" for j in range(width)]
    if dense_count == 2:
        return [f"node_{j}" for j in range(width)]
    return [f"node_{depth}_{j}" for j in range(width)]


def _matrices_from_node_weights(weights: Mapping[str, npt.ArrayLike]) -> list[Array]:
    """Weight matrices ``(in, out)`` per layer from the course's node dict, validated."""
    if not isinstance(weights, Mapping):
        raise TypeError(f"node weights must be a dict; got {type(weights).__name__}")
    if "output" not in weights:
        raise ValueError(
            "node weights have no 'output' key; expected keys like 'node_0', 'node_1', "
            f"'output'; got {list(weights)}"
        )
    layers: dict[int, dict[int, Array]] = {}
    styles = set()
    for key, value in weights.items():
        vector = _node_vector(key, value)
        if key == "output":
            continue
        match = _NODE_KEY.match(key) if isinstance(key, str) else None
        if match is None:
            raise ValueError(
                f"node weights: unexpected key {key!r}; expected 'node_<j>', "
                "'node_<layer>_<j>' or 'output'"
            )
        if match.group(2) is None:
            styles.add("node_<j>")
            layer_index, node_index = 0, int(match.group(1))
        else:
            styles.add("node_<layer>_<j>")
            layer_index, node_index = int(match.group(1)), int(match.group(2))
        layers.setdefault(layer_index, {})[node_index] = vector
    if len(styles) > 1:
        raise ValueError("node weights mix 'node_<j>' and 'node_<layer>_<j>' keys; use one style")
    if sorted(layers) != list(range(len(layers))):
        raise ValueError(f"node weights: hidden layers must be numbered 0, 1, ...; got {sorted(layers)}")
    matrices: list[Array] = []
    previous_width: int | None = None
    for layer_index in range(len(layers)):
        nodes = layers[layer_index]
        if sorted(nodes) != list(range(len(nodes))):
            raise ValueError(
                f"node weights: nodes of hidden layer {layer_index} must be numbered 0, 1, ...; "
                f"got {sorted(nodes)}"
            )
        matrices.append(_stack_layer(nodes, previous_width, f"hidden layer {layer_index}"))
        previous_width = len(nodes)
    output = _node_vector("output", weights["output"])
    matrices.append(_stack_layer({0: output}, previous_width, "'output'"))
    return matrices


def _node_vector(key: str, value: npt.ArrayLike) -> Array:
    try:
        vector = np.asarray(value)
        if vector.dtype.kind not in "iufb":  # strings such as "1" are not weights
            raise TypeError
        vector = vector.astype(np.float64)
    except (ValueError, TypeError):
        raise ValueError(
            f"node weights[{key!r}] must be a flat list of numbers; got {value!r}"
        ) from None
    if vector.ndim != 1 or vector.size == 0:
        raise ValueError(
            f"node weights[{key!r}] must be a flat, non-empty list of numbers; got shape {vector.shape}"
        )
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"node weights[{key!r}] must be finite; got {vector}")
    return vector


def _stack_layer(nodes: dict[int, Array], previous_width: int | None, label: str) -> Array:
    lengths = {len(vector) for vector in nodes.values()}
    if len(lengths) > 1:
        raise ValueError(f"node weights: the nodes of {label} have different lengths {sorted(lengths)}")
    (length,) = lengths
    if previous_width is not None and length != previous_width:
        raise ValueError(
            f"node weights: each node of {label} needs {previous_width} weights (one per node "
            f"of the layer before); got {length}"
        )
    return np.stack([nodes[j] for j in range(len(nodes))], axis=1)


# -- model files: load
def load(
    path: _io.PathLike | IO[bytes],
    *,
    custom_layers: Mapping[str, type[Layer]] | None = None,
    max_bytes: int = _io.DEFAULT_MAX_BYTES,
) -> Network:
    """Load a network saved with ``network.save(path)``; no code from the file runs.

    :mod:`minidl.io` reads and checks the file and rebuilds the layers; here they become
    a ``Network``, compiled as saved, with the optimizer's state and ``fit``'s random
    generator put back (so ``fit(..., seed=network.fit_rng)`` resumes exactly).

    Parameters
    ----------
    path
        The model file (a regular file), or a binary file object open on it.
    custom_layers
        ``{type name: class}`` for layers of your own, in addition to those registered
        with :func:`minidl.register_layer`.
    max_bytes
        The most bytes the file and its arrays may unpack to (1 GiB by default); a file
        claiming more is refused before its arrays are read.

    Returns
    -------
    Network
        A new network, in training mode, whose predictions equal the saved network's.

    Raises
    ------
    ModelFileError
        For a corrupted, truncated, wrong-version, foreign or crafted file, or a path
        that is not a regular file; the message names the file and says what is wrong.
    OSError
        If the file cannot be opened (e.g. ``FileNotFoundError``).

    Examples
    --------
    >>> import os, tempfile
    >>> net = Network([Dense(2, 3, seed=0), ReLU(), Dense(3, 1, seed=1)])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "model.npz")
    ...     net.save(path)
    ...     again = minidl.load(path)
    >>> bool(np.array_equal(again.predict([[1.0, 2.0]]), net.predict([[1.0, 2.0]])))
    True
    """
    contents = _io.read_model_file(path, custom_layers=custom_layers, max_bytes=max_bytes)
    network = Network(contents.layers)
    training = contents.training
    if training is not None:
        try:
            network.compile(optimizer=training.optimizer, loss=training.loss, metrics=training.metrics)
        except (TypeError, ValueError) as error:
            raise _io.refusal(path, f"training section: could not compile ({error})") from error
        try:
            training.optimizer.load_state_arrays(network.parameters(), training.optimizer_state)
        except ValueError as error:  # e.g. a negative second moment
            raise _io.refusal(path, f"training section: invalid optimizer state ({error})") from error
        network.fit_rng = training.fit_rng
    return network
