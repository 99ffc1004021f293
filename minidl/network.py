"""``Network``: layers in order, run forward and backward as one."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, overload

import numpy as np
import numpy.typing as npt

from minidl import course, errors
from minidl import io as _io
from minidl._typing import Array, ArrayLike, Seed
from minidl._validation import as_batch, as_float_array, check_float_dtype, check_positive_int, type_of
from minidl.course import NodeValues, Trace
from minidl.layers.base import Layer, Parameter, looking
from minidl.layers.chain import Chain
from minidl.losses import Loss
from minidl.optimizers import Optimizer
from minidl.summary import summary_table
from minidl.training import Callback, History, Trainer, loss_and_backward, require_trainer

__all__ = ["Network", "NodeValues", "Trace"]



class Network:
    """A stack of layers run in order: ``forward`` from first to last, ``backward`` back.

    ``layers`` in the order data flows through them: each layer object once, each
    Parameter in one layer (no tied weights); colliding names become ``name_1``, ... (Keras).

    Examples
    --------
    >>> net = Network([Dense(2, 2, use_bias=False, weight_init=[[2, 1], [1, 2]]), ReLU(),
    ...                Dense(2, 1, use_bias=False, weight_init=[[1], [1]]), ReLU()])
    >>> net.forward(np.array([0.0, 3.0]))
    array([9.])
    """

    def __init__(self, layers: Sequence[Layer], *more: Layer) -> None:
        if more:  # Network(Dense(2, 4), ReLU()): PyTorch's nn.Sequential habit
            raise TypeError(f"Network expects one list of layers, Network([layer, layer, ...]); got "
                            f"{1 + len(more)} separate arguments (put them in square brackets)")
        self.layers: list[Layer] = _checked_layers(layers)
        self._chain = Chain(self.layers)  # runs them, checking each layer once per batch shape
        self._parameters: list[Parameter] | None = None

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    @overload
    def __getitem__(self, index: int) -> Layer: ...
    @overload
    def __getitem__(self, index: slice) -> list[Layer]: ...
    def __getitem__(self, index: int | slice) -> Layer | list[Layer]:
        return self.layers[index]

    def __repr__(self) -> str:
        return "Network([\n" + "".join(f"    {layer!r},\n" for layer in self.layers) + "])"

    # -- parameters, dtype and mode ---------------------------------------------------
    def parameters(self) -> list[Parameter]:
        """Every layer's parameters, first layer first (listed once: layers make them in ``__init__``)."""
        if self._parameters is None:
            self._parameters = [p for layer in self.layers for p in layer.parameters()]
        return self._parameters

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero."""
        for parameter in self.parameters():
            parameter.grad.fill(0)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of the parameters, one for all layers (float64 when the network has none)."""
        parameters = self.parameters()
        return parameters[0].dtype if parameters else np.dtype(np.float64)

    def astype(self, dtype: npt.DTypeLike) -> Network:
        """Convert every layer to the floating ``dtype`` (e.g. float32), in place; returns self.

        Parameters stay the same objects (:meth:`Layer.astype`); inputs are converted at the entry,
        and the compiled optimizer's state too (one you drive yourself: ``astype`` before its first step).

        Examples
        --------
        >>> net = Network([Dense(3, 2), ReLU(), Dense(2, 1)]).astype(np.float32)
        >>> net.dtype, net.forward(np.ones((4, 3))).dtype
        (dtype('float32'), dtype('float32'))
        """
        target = check_float_dtype(dtype, "Network.astype: dtype")
        for layer in self.layers:
            layer.astype(target)
        if self.optimizer is not None:  # load_state_arrays casts each array to its parameter's dtype
            parameters = self.parameters()
            self.optimizer.load_state_arrays(parameters, self.optimizer.state_arrays(parameters))
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
        """``y = layer_n(... layer_1(x))`` in the current mode, ``x`` of shape ``(batch, ...)``.

        ``(batch, features)`` for a dense network, ``(batch, channels, height, width)`` for images;
        ``y`` is ``(batch, ...)`` as the last layer gives it.

        One sample (``(features,)``) gets a batch axis for the layers (and loses it after); ``x``
        is checked (numeric, finite, non-empty) and cast to the network's dtype here, once.
        """
        batch, single = as_batch(as_float_array(x, "Network input x", dtype=self.dtype))
        output = self._chain.forward(batch)
        return output[0] if single else output

    def backward(self, grad: Array) -> Array:
        """The chain rule, last layer first: turn ``dL/doutput`` into ``dL/dx``, filling every ``grad``.

        A layer that does not overwrite its gradients is cleared first (so it may add); a one-sample
        gradient gets a batch axis, and every gradient the network's dtype. A layer whose backward
        returns no array or one not shaped like its input, or fails on a missing cache, is named in
        the error.
        """
        if not isinstance(grad, np.ndarray):
            raise TypeError("Network.backward expects dL/doutput as a numpy array; "
                            f"got {type(grad).__name__}")
        if grad.dtype.kind not in "fiub":
            raise TypeError(f"Network.backward expects dL/doutput of real numbers; got dtype {grad.dtype}")
        grad = grad.astype(self.dtype, copy=False)  # a float64 grad_y made a float32 network's dL/dx float64
        output_shape = self.layers[-1].last_output_shape
        single = output_shape is not None and grad.shape == output_shape[1:] and output_shape[0] == 1
        grad = self._chain.backward(grad[None] if single else grad)
        return grad[0] if single else grad

    def predict(self, x: ArrayLike, batch_size: int | None = None) -> Array:
        """The output for ``x`` in evaluation mode; ``batch_size``: in slices of that many samples."""
        data = as_float_array(x, "predict x", dtype=self.dtype)
        size = None if batch_size is None else check_positive_int(batch_size, "predict batch_size")
        batch, single = as_batch(data)
        run = self._chain.forward
        with looking(self.layers):
            if size is None or batch.ndim == 0 or len(batch) <= size:
                output = run(batch)
            else:
                output = np.concatenate([run(batch[i : i + size]) for i in range(0, len(batch), size)])
        output = output[0] if single else output
        return output.copy() if np.may_share_memory(output, data) else output  # never a view of x

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
            callbacks: Iterable[Callback] | None = None, verbose: int = 1, seed: Seed = None) -> History:
        """Train on ``(x, y)``; returns a History (see :meth:`Trainer.fit <minidl.training.Trainer.fit>`)."""
        return require_trainer(self, "fit").fit(x, y, epochs, batch_size, shuffle, validation_split,
                                                validation_data, callbacks, verbose, seed)

    def evaluate(self, x: ArrayLike, y: ArrayLike, batch_size: int | None = 32) -> dict[str, float]:
        """The compiled loss and metrics on ``(x, y)`` (see :meth:`~minidl.training.Trainer.evaluate`)."""
        return require_trainer(self, "evaluate").evaluate(x, y, batch_size)

    def train_step(self, x: ArrayLike, y: ArrayLike) -> float:
        """One step on one batch; returns the loss (see :meth:`~minidl.training.Trainer.train_step`)."""
        return require_trainer(self, "train_step").train_step(x, y)

    def loss_and_backward(self, x: ArrayLike, y: ArrayLike, loss: Loss | str | None = None) -> float:
        """Fill every ``grad``; returns the loss (see :func:`minidl.training.loss_and_backward`)."""
        return loss_and_backward(self, x, y, loss)

    @property
    def loss(self) -> Loss | None:
        """The compiled loss (None before ``compile``)."""
        return None if self.trainer is None else self.trainer.loss

    @property
    def optimizer(self) -> Optimizer | None:
        """The compiled optimizer (None before); it keeps its state across ``fit`` calls."""
        return None if self.trainer is None else self.trainer.optimizer

    @property
    def history(self) -> History | None:
        """The :class:`~minidl.History` of the latest ``fit`` (None before)."""
        return None if self.trainer is None else self.trainer.history

    @property
    def stop_reason(self) -> str | None:
        """Why the latest ``fit`` stopped early (early stopping, NaN, Ctrl-C), or None."""
        return None if self.trainer is None else self.trainer.stop_reason

    @property
    def metrics_names(self) -> list[str]:
        """The names ``fit`` logs: ``"loss"`` then each compiled metric (as given)."""
        return ["loss"] + [name for name, _ in (self.trainer.metrics if self.trainer is not None else [])]

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

    # -- seeing inside, files, the course -------------------------------------------
    def trace(self, x: ArrayLike) -> Trace:
        """Every node's input and output for ``x`` in the course's names (:func:`minidl.course.trace`)."""
        return course.trace(self.layers, as_float_array(x, "trace x", dtype=self.dtype))

    def summary(self, input_shape: int | Sequence[int] | None = None) -> str:
        """The layers' table: name (type), output shape (``None``: the batch, ``?``: not known), parameters.

        ``input_shape``: one sample's, e.g. ``(1, 28, 28)``; default: the first layer's latest or declared.

        Examples
        --------
        >>> print(Network([Conv2D(1, 6, 5), Flatten()]).summary((1, 28, 28)).splitlines()[3])
        conv2d (Conv2D)    (None, 6, 24, 24)      156
        """
        return summary_table(self.layers, input_shape)

    def save(self, path: str | os.PathLike[str], *, include_optimizer: bool = True) -> None:
        """Save to one ``.npz`` model file at exactly ``path``, atomically (see :mod:`minidl.io`)."""
        _io.save(self, path, include_optimizer=include_optimizer)

    @classmethod
    def from_node_weights(cls, weights: Mapping[str, npt.ArrayLike], activation: str = "relu", *,
                          dtype: npt.DTypeLike = np.float64) -> Network:
        """The course's network from its node-weights dict: :func:`minidl.course.layers_from_node_weights`."""
        return cls(course.layers_from_node_weights(weights, activation, dtype=dtype))

    def node_weights(self) -> dict[str, Array]:
        """The course's node-weights dict (copies), the inverse of ``from_node_weights``.

        The dict holds the weights only: give ``from_node_weights`` the same ``activation``
        again to rebuild the same network (by default it builds ReLU's).
        """
        return course.node_weights(self.layers)


def _checked_layers(layers: Sequence[Layer]) -> list[Layer]:
    """``layers`` as a list, checked (Layer objects, each once, no shared Parameter), names made unique."""
    if isinstance(layers, Layer) or not isinstance(layers, Sequence):
        raise TypeError(f"Network expects a list of layers; got {type(layers).__name__}")
    if not layers:
        raise ValueError("Network expects at least one layer; got an empty list")
    owners: dict[int, int] = {}  # id of a Parameter -> index of the layer holding it
    firsts: dict[np.dtype[Any], int] = {}
    for index, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            in_keras = type(layer).__module__.startswith("minidl.keras")
            keras = " (minidl.keras layers go into minidl.keras.Sequential)" if in_keras else ""
            raise TypeError(f"Network layer {index} must be a minidl Layer; got {type_of(layer)}{keras}")
        if not hasattr(layer, "training") or not hasattr(layer, "name"):
            raise TypeError(errors.not_initialised(layer, f"Network layer {index}"))
        if not isinstance(layer.name, str):  # a model file could not hold it
            raise TypeError(f"Network layer {index} ({type(layer).__name__}): its name must be a string; "
                            f"got {layer.name!r}")
        if any(earlier is layer for earlier in layers[:index]):
            raise ValueError(f"Network layer {index} ({layer.name!r}) appears twice; create a new layer "
                             "object for each position (a layer's gradients belong to one position)")
        for parameter in layer.parameters():
            if id(parameter) in owners:
                first = owners[id(parameter)]
                raise errors.tied_parameter(parameter.name, (first, layers[first].name), (index, layer.name))
            owners[id(parameter)] = index
            firsts.setdefault(parameter.dtype, index)  # each dtype's first layer, in layer order
    if len(firsts) > 1:  # numpy would promote float32 to float64 after the float64 layer, silently
        mixed = ", ".join(f"{dtype} from layer {i} ({type(layers[i]).__name__})"
                          for dtype, i in firsts.items())
        raise TypeError(f"Network: the layers' parameters mix dtypes ({mixed}); give every layer the same "
                        "dtype= (or convert one in place: layer.astype(np.float32))")
    taken: set[str] = set()
    for layer in layers:  # a name taken before becomes name_1, name_2, ...
        base, count = layer.name, 0
        while layer.name in taken:
            count += 1
            layer.name = f"{base}_{count}"
        taken.add(layer.name)
    return list(layers)


# -- model files: save and load
def save(network: Network, path: str | os.PathLike[str], *, include_optimizer: bool = True) -> None:
    """Save ``network`` to one ``.npz`` model file at ``path``: the same as ``network.save(path)``.

    The pair of :func:`load`, as ``torch.save``/``torch.load`` and Keras's
    ``model.save``/``load_model`` are; see :meth:`Network.save`.
    """
    if not isinstance(network, Network):
        raise TypeError(f"minidl.save expects a Network first (save(network, path)); got "
                        f"{type(network).__name__}")
    network.save(path, include_optimizer=include_optimizer)


def load(path: str | os.PathLike[str] | IO[bytes], *, custom_layers: Mapping[str, type[Layer]] | None = None,
         max_bytes: int = _io.DEFAULT_MAX_BYTES) -> Network:
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
    layers, training = _io.read_model_file(path, custom_layers=custom_layers, max_bytes=max_bytes)
    network = Network(layers)
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
