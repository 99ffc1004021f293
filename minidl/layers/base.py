"""The two building blocks every layer is made of: ``Parameter`` and ``Layer``."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

from minidl._typing import Array, Shape
from minidl._validation import check_bool, check_float_dtype, config_repr
from minidl.errors import grad_y_error, input_error, label


class Parameter:
    """A trainable array ``value`` and its gradient ``grad`` (same shape, same dtype).

    ``grad`` holds ``dL/dvalue`` after the owning layer's ``backward``. Optimizers read
    ``grad`` and change ``value`` in place, so a Parameter object keeps its identity (and
    its optimizer state) for its whole life.

    A floating array is used as given (not copied); integers and booleans become float64
    (a gradient step cannot be stored in an integer array); any other dtype (complex,
    strings, objects) raises ``TypeError``.

    Examples
    --------
    >>> p = Parameter(np.array([1.0, 2.0]), name="w")
    >>> p.grad
    array([0., 0.])
    >>> Parameter([1, 2]).value
    array([1., 2.])
    """

    __slots__ = ("grad", "name", "value")

    def __init__(self, value: npt.ArrayLike, name: str = "parameter") -> None:
        array = np.asarray(value)
        if array.dtype.kind in "biu":
            array = array.astype(np.float64)
        elif array.dtype.kind != "f":
            raise TypeError(f"Parameter {name!r}: value must hold real numbers (a floating array); "
                            f"got dtype {array.dtype}")
        self.value: Array = array
        self.grad: Array = np.zeros(array.shape, dtype=array.dtype)  # pages from the OS when written
        self.name = name

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``value`` (and of ``grad``)."""
        return self.value.shape

    @property
    def size(self) -> int:
        """The number of scalars in ``value``."""
        return int(self.value.size)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of ``value`` (and of ``grad``)."""
        return self.value.dtype

    def zero_grad(self) -> None:
        """Set every entry of ``grad`` to zero, in place."""
        self.grad.fill(0)

    def __repr__(self) -> str:
        return f"Parameter(name={self.name!r}, shape={self.shape}, dtype={self.dtype})"


class Layer(ABC):
    """Base class of every layer: ``forward`` computes, ``backward`` differentiates.

    The contract, for built-in and user layers alike:

    * ``forward(x) -> y`` computes the output and keeps (by reference) whatever
      ``backward`` will need, typically the input ``x``. ``x`` is a batch: the batch axis
      first, any rank (``(batch, features)`` for Dense); the network adds that axis to a
      single sample before the first layer.
    * ``backward(grad_y) -> grad_x`` receives ``dL/dy`` (same shape as ``y``), writes
      ``dL/dparameter`` into every parameter's ``grad`` and returns ``dL/dx`` (same shape
      as ``x``). It never changes ``value`` (that is the optimizer's job) and never
      changes ``grad_y`` in place (the caller may still need it).
    * Parameters are created in ``__init__`` as attributes of type :class:`Parameter`;
      ``parameters()`` finds them, in the order they were assigned, with no registration.

    **The checks are written once, here.** Every subclass's ``forward``, ``backward`` and
    ``backward_parameters`` are wrapped when the class is defined (``__init_subclass__``),
    so their bodies are the math only. Before ``forward``, the input is checked: real numbers,
    a batch, fitting the declared ``input_shape`` (when a layer declares one); after it, the shapes of
    the input and output are kept in ``last_input_shape`` and ``last_output_shape``.
    Before ``backward``, the wrapper checks that a forward ran and that ``grad_y`` is an array
    of real numbers shaped like its output. The errors name the layer, what was expected and what was got.
    A Network runs its layers through a :class:`~minidl.layers.chain.Chain`, which calls
    these checked methods for a batch of a new shape or dtype and the bare math otherwise.

    **Each backward pass starts from fresh gradients** (see ``overwrites_gradients``). A
    layer object appears once in a :class:`~minidl.Network`; a Parameter belongs to one layer.

    A layer has a mode: ``training`` is True after construction and ``train()``, False
    after ``eval()``. Only layers that behave differently (Dropout, BatchNorm) look at it.

    **Writing your own layer.** Subclass ``Layer``; in ``__init__`` call
    ``super().__init__(name)`` first (it sets ``name`` and ``training``), then create the
    parameters; implement ``forward`` and ``backward`` as above. Optionally set
    ``input_shape`` (checked before each forward) and override ``output_shape`` (or, for
    a layer that changes only the last axis, ``output_features``; for ``Network.summary()``),
    ``config()`` (the constructor arguments, for model files with ``minidl.register_layer``;
    the constructor should validate them, since a model file supplies them),
    ``backward_parameters`` and ``min_training_batch``. For an
    element-wise function subclass :class:`Activation` instead. Then check it:
    ``minidl.check_gradients(layer, x)`` compares ``backward`` with finite differences
    and names any wrong gradient. ``Network.backward`` and ``fit`` name a layer whose
    ``backward`` returns a gradient not shaped like its input, returns nothing, or fails
    on something ``forward`` did not store.

    Examples
    --------
    >>> class Double(Layer):
    ...     def forward(self, x):
    ...         return 2.0 * x
    ...     def backward(self, grad_y):
    ...         return 2.0 * grad_y
    >>> check_gradients(Double(), np.array([[1.0, -2.0]])).passed
    True
    """

    #: The fewest samples a training batch may have for this layer. ``fit`` merges a
    #: smaller last batch into the one before it (BatchNorm sets 2: one sample has no
    #: variance). A user layer with the same need sets this class attribute.
    min_training_batch: int = 1

    #: True when ``backward`` *sets* every parameter's ``grad`` to the gradient of the latest
    #: ``forward`` (all built-in layers). Otherwise (the default, for user layers) the network
    #: clears the gradients right before calling ``backward``, so a layer may assign
    #: (``p.grad[...] = g``) or add (``p.grad += g``, PyTorch's habit) and both train right.
    #: The promise covers the ``backward`` and ``backward_parameters`` of the class that declares
    #: it: a subclass with other ones (its own, or a mixin's) is False again unless it says True
    #: (which does not bring back a base's ``backward_parameters`` shortcut: see that method).
    overwrites_gradients: bool = False

    #: The input a layer accepts, checked before every ``forward``: one entry per axis,
    #: a size or None for any size (the batch axis is None). Dense declares
    #: ``(None, in_features)``; None (the default) checks nothing.
    input_shape: tuple[int | None, ...] | None = None

    #: The shapes of the latest forward's input and output (None before the first).
    last_input_shape: tuple[int, ...] | None = None
    last_output_shape: tuple[int, ...] | None = None
    _accepted_dtype: np.dtype[Any] | None = None  # the dtype of the last input that passed the check

    def __init__(self, name: str | None = None) -> None:
        self.name: str = name if name is not None else type(self).__name__.lower()
        self.training: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Wrap the subclass's own forward and backward in the shared checks (see the class)."""
        super().__init_subclass__(**kwargs)
        for name, wrap in (("forward", _checked_forward), ("backward", _checked_backward),
                           ("backward_parameters", _checked_backward)):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "__isabstractmethod__", False):
                setattr(cls, name, wrap(method))
        # A shortcut (Dense's backward_parameters) or a promise (overwrites_gradients) that a base
        # class wrote for its own backward does not hold for another one (a subclass's, a mixin's):
        # the default backward_parameters runs this backward, and the gradients are cleared first.
        if _declaring(cls, "backward_parameters").backward is not cls.backward:
            cls.backward_parameters = Layer.backward_parameters  # type: ignore[method-assign]
        promised = _declaring(cls, "overwrites_gradients")
        if (promised.backward, promised.backward_parameters) != (cls.backward, cls.backward_parameters):
            cls.overwrites_gradients = False

    # -- the computation ------------------------------------------------------------
    @abstractmethod
    def forward(self, x: Array) -> Array:
        """Compute the layer's output ``y`` from its input ``x``."""

    @abstractmethod
    def backward(self, grad_y: Array) -> Array:
        """Given ``dL/dy``, fill the parameters' ``grad`` and return ``dL/dx``."""

    def backward_parameters(self, grad_y: Array) -> None:
        """Fill the parameters' ``grad`` only; ``dL/dx`` is not needed.

        The network calls this on its first layer with parameters during training, where
        nobody needs the gradient with respect to the data. The default runs ``backward``
        and drops its result; layers for which ``dL/dx`` is costly (Dense) skip it. A subclass
        whose ``backward`` is another one than its base's (its own, or a mixin's) gets this
        default back, so that ``backward`` runs in training wherever the layer sits.
        """
        self.backward(grad_y)

    def __call__(self, x: Array) -> Array:
        """Run ``forward``: ``layer(x)`` is ``layer.forward(x)``."""
        return self.forward(x)

    # -- parameters and mode --------------------------------------------------------
    def parameters(self) -> list[Parameter]:
        """Every :class:`Parameter` attribute of this layer, in assignment order."""
        return [value for value in vars(self).values() if isinstance(value, Parameter)]

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for parameter in self.parameters():
            parameter.zero_grad()

    def train(self, mode: bool = True) -> None:
        """Put the layer in training mode (or evaluation mode with ``mode=False``)."""
        self.training = check_bool(mode, f"{label(self)}: train mode")

    def eval(self) -> None:
        """Put the layer in evaluation mode (``train(False)``)."""
        self.train(False)

    def astype(self, dtype: npt.DTypeLike) -> Layer:
        """Convert the layer's arrays to the floating ``dtype``, in place; returns self.

        Every :class:`Parameter` keeps its identity (so optimizer state keyed by it stays
        attached); its ``value`` and ``grad`` become new arrays of ``dtype``. State
        arrays (:meth:`state_arrays`, e.g. BatchNorm's running statistics) stored under
        attributes of the same name are converted too. A layer that keeps other
        dtype-bearing arrays overrides this and calls ``super().astype(dtype)``.

        Examples
        --------
        >>> layer = Dense(2, 1).astype(np.float32)
        >>> layer.weight.value.dtype, layer.weight.grad.dtype
        (dtype('float32'), dtype('float32'))
        """
        target = check_float_dtype(dtype, f"{label(self)}: astype dtype")
        for parameter in self.parameters():  # astype(copy=False): an array already of dtype is kept
            parameter.value = parameter.value.astype(target, copy=False)
            parameter.grad = parameter.grad.astype(target, copy=False)
        for key, array in self.state_arrays().items():
            if getattr(self, key, None) is array:
                setattr(self, key, array.astype(target, copy=False))
        return self

    def _input_problem(self, x: Array, expected: tuple[int | None, ...] | None) -> Exception | None:
        """The error for an input that does not fit ``expected`` (``input_shape``), or None if it fits.

        Called by the forward check only when the quick comparison fails. With no ``input_shape``,
        any batch of real numbers fits (any rank but 0). BatchNorm overrides it to take images
        too, keeping ``input_shape = (None, num_features)`` for model files; Softmax, to refuse
        an empty last axis.
        """
        shape_fits = x.ndim > 0 if expected is None else x.ndim == len(expected) and all(
            size is None or size == got for size, got in zip(expected, x.shape, strict=True))
        return None if shape_fits and x.dtype.kind in "fiub" else input_error(self, x, expected)

    # -- description ----------------------------------------------------------------
    def output_features(self, input_features: int | None) -> int | None:
        """The size of the last axis of the output, given that of the input (None: unknown).

        Used by ``Network.summary()``. Layers that keep the shape (activations, Dropout,
        BatchNorm) return ``input_features``; Dense returns ``out_features``. The default
        says "unknown", never a guess.
        """
        return None

    def output_shape(self, input_shape: Shape | None) -> Shape | None:
        """The output's shape for an input of ``input_shape`` (None: unknown), for ``Network.summary()``.

        One entry per axis, the batch axis first; an entry is None where the size is not known
        (the batch, or an image's height and width when not given). The default keeps every axis
        but the last, which :meth:`output_features` gives; it says None (unknown) when that does.
        Layers that keep the shape, or change other axes (Conv2D, the poolings, Flatten), override it.

        Examples
        --------
        >>> Dense(3, 2).output_shape((None, 3)), Conv2D(1, 6, 5).output_shape((None, 1, 28, 28))
        ((None, 2), (None, 6, 24, 24))
        """
        features = self.output_features(input_shape[-1] if input_shape else None)
        return None if features is None else (*(input_shape[:-1] if input_shape else (None,)), features)

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this layer (parameters excluded)."""
        return {"name": self.name}

    # -- non-parameter state (saved in model files) -------------------------------------
    def state_arrays(self) -> dict[str, Array]:
        """Arrays the layer keeps that are not Parameters but must be saved (none by default).

        BatchNorm's running mean and variance are such state: learned during training,
        never touched by the optimizer. Keys are Python identifiers; model files store
        the arrays and :meth:`load_state_arrays` puts them back, copying into the arrays
        returned here: so return the arrays the layer keeps (or views of them), not new ones.
        """
        return {}

    def load_state_arrays(self, arrays: dict[str, Array]) -> None:
        """Copy saved arrays into :meth:`state_arrays`, in place (keys, shapes and dtypes checked).

        So ``state_arrays()`` must return the arrays the layer keeps (or views of them), not new
        ones on each call (see :func:`restorable_states`); a layer that keeps its state some other
        way overrides this.
        """
        own = restorable_states(self, checked=True)
        if set(arrays) != set(own):
            if not own:
                raise ValueError(f"{label(self)} keeps no state arrays; got {sorted(arrays)}")
            raise ValueError(f"{label(self)}: expected state arrays {sorted(own)}; got {sorted(arrays)}")
        for key, target in sorted(own.items()):
            value = np.asarray(arrays[key])
            if value.shape != target.shape or value.dtype != target.dtype:
                raise ValueError(f"{label(self)}: state array {key!r} must have shape {target.shape} "
                                 f"and dtype {target.dtype}; got shape {value.shape} and dtype {value.dtype}")
            target[...] = value

    __repr__ = config_repr


def _declaring(cls: type[Layer], name: str) -> type[Layer]:
    """The class, ``cls`` or the first of its bases in method order, whose own body defines ``name``.

    A mixin that is no Layer declares for the class it is mixed into: ``cls``.
    """
    base = next(base for base in cls.__mro__ if name in base.__dict__)
    return base if issubclass(base, Layer) else cls


#: Forward passes run so far, counted by every checked ``forward`` and every ``Chain`` forward. A
#: chain runs a layer's bare math only when nothing else ran the layers since its own last forward.
forward_runs = [0]


def _checked_forward(forward: Callable[[Any, Array], Array]) -> Callable[[Any, Array], Array]:
    """``forward`` preceded by the input check and followed by recording the shapes."""

    @functools.wraps(forward)
    def checked(self: Layer, x: Array) -> Array:
        if type(x) is not np.ndarray:
            x = np.asarray(x)
        shape = x.shape
        # A batch of the shape and dtype accepted last time passes again: training's common case
        # costs one tuple comparison. (The check's shape and dtype conditions are independent.)
        if shape != self.last_input_shape or x.dtype is not self._accepted_dtype:
            if (error := self._input_problem(x, self.input_shape)) is not None:
                raise error
            self._accepted_dtype = x.dtype
        y = forward(self, x)
        # (a list would be turned into an array by the next layer, and backward would then find no
        # output shape to check against: say so here, where it comes from)
        if type(y) is not np.ndarray and not isinstance(y, (np.ndarray, np.generic)):
            raise TypeError(f"{label(self)}: forward must return a numpy array; got {type(y).__name__}")
        forward_runs[0] += 1
        self.last_input_shape = shape
        self.last_output_shape = y.shape
        return y

    return checked


def _checked_backward(backward: Callable[[Any, Array], Any]) -> Callable[[Any, Array], Any]:
    """``backward`` (or ``backward_parameters``) preceded by the forward-ran and grad_y checks."""

    @functools.wraps(backward)
    def checked(self: Layer, grad_y: Array) -> Any:
        if (not isinstance(grad_y, np.ndarray) or grad_y.shape != self.last_output_shape
                or grad_y.dtype.kind not in "fiub"):
            raise grad_y_error(self, grad_y)
        return backward(self, grad_y)

    return checked


@contextmanager
def mode(layers: Iterable[Layer], training: bool) -> Iterator[None]:
    """Run the ``with`` block with every layer in training (or evaluation) mode, then restore their modes.

    ``evaluate`` runs in ``mode(layers, training=False)`` (``predict`` and ``trace`` in
    :func:`looking`, which also leaves what the layers kept for backward); ``fit`` in
    ``mode(layers, training=True)``.
    """
    modes = [(layer, layer.training) for layer in layers]
    for layer, _ in modes:
        layer.train(training)
    try:
        yield
    finally:
        for layer, was_training in modes:
            layer.train(was_training)


@contextmanager
def looking(layers: Sequence[Layer]) -> Iterator[None]:
    """Evaluation mode (:func:`mode`) for a look at the values, leaving every layer as it was after.

    What the built-in layers' last forward kept for backward (``self._x``, BatchNorm's choice
    of statistics, the shapes) is put back, so ``predict``, ``trace`` and ``plot_loss_landscape``
    may run between a ``forward`` and its ``backward``: before, that backward used the look's
    values. A layer of your own keeps what the look's forward left (what it records to be seen,
    say), so run forward again before its backward.
    """
    kept = [(layer, dict(vars(layer))) for layer in layers
            if type(layer).__module__.startswith("minidl.") and layer.last_output_shape is not None]
    try:
        with mode(layers, training=False):
            yield
    finally:
        for layer, attributes in kept:  # the same objects: a Parameter's values are never copied
            layer.__dict__ = attributes
        forward_runs[0] += 1  # a chain's next forward checks its layers again, which keeps their shapes


def copy_states(layers: Iterable[Layer]) -> list[tuple[Layer, dict[str, Array]]]:
    """``(layer, copies of its state arrays)`` for each layer that keeps some (BatchNorm's statistics).

    ``layer.load_state_arrays(copies)`` puts them back (``EarlyStopping`` and ``fit``'s stop on
    a non-finite loss do): the layer's own loader. Checked by :func:`restorable_states`, so a
    layer that could not be restored is refused when the copies are made, not at the restore.
    """
    return [(layer, {key: np.array(value, copy=True) for key, value in states.items()})
            for layer in layers if (states := restorable_states(layer))]


def restorable_states(layer: Layer, *, checked: bool = False) -> dict[str, Array]:
    """``layer.state_arrays()``, refused (TypeError) when the default loader could not put them back.

    :meth:`Layer.load_state_arrays` copies into the arrays ``state_arrays()`` returns, which
    restores nothing when they are new arrays on each call (the state kept as Python numbers,
    say). ``save`` and ``fit`` ask this first, so such a layer is refused before a file or a
    training run depends on it; a loader written outside minidl may not need those arrays, so
    it is checked (``checked=True``) only if it calls ``Layer.load_state_arrays`` (minidl's all do).
    """
    own = layer.state_arrays()
    if own and (checked or type(layer).load_state_arrays.__module__.startswith("minidl.")):
        again = layer.state_arrays()  # the arrays kept (or views), or copying into them changes nothing
        if any(target.size and not np.may_share_memory(target, again[key]) for key, target in own.items()):
            raise TypeError(f"{label(layer)}: state_arrays() returns new arrays on each call, so copying "
                            "into them would restore nothing; return the arrays the layer keeps, or override "
                            "load_state_arrays")
    return own


def unseen_parameters(layers: Iterable[Layer], known: Collection[int], aside: str = "") -> Iterator[str]:
    """Parameters of ``layers`` that ``parameters()`` did not list before the forward pass, one message each.

    ``known``: the ids of those it listed; ``aside`` is added after "never update it".
    The learner mistakes that leave a parameter optimizers never update (``fit``, ``train_step``,
    ``check_gradients`` and ``save`` ask): creating it in ``forward`` rather than ``__init__``,
    keeping it inside a list, tuple, dict or a plain object of one's own, where the attribute scan
    does not look, and keeping a layer with parameters inside one's layer (PyTorch's habit,
    ``self.inner = Dense(3, 8)``), which minidl does not do: its Parameters are not the layer's.
    """
    for layer in layers:
        for key, value in vars(layer).items():
            held = _held(value)
            where = f"{label(layer)}: attribute {key!r} holds"
            inside = "" if held is None else f" inside a {type(value).__name__}"
            for item in [value] if held is None else held:
                unseen = [p for p in (item.parameters() if isinstance(item, Layer) else [item])
                          if isinstance(p, Parameter) and id(p) not in known]
                if unseen and isinstance(item, Layer):
                    yield (f"{where} the layer {label(item)}{inside}, whose Parameter {unseen[0].name!r} "
                           f"parameters() does not list, so the optimizers never update it{aside}: minidl "
                           f"does not nest layers; list {item.name!r} in the Network, or keep its "
                           "Parameters as attributes of your layer: self.w = Parameter(...)")
                elif unseen:
                    yield (f"{where} a Parameter{inside} that parameters() did not list before forward "
                           f"ran, so the optimizers never update it{aside}: create it in __init__, as an "
                           "attribute: self.w = Parameter(...)")
                if unseen:
                    break


def _held(value: Any) -> Iterable[Any] | None:
    """What a list, tuple, dict or plain object of one's own holds (the attribute scan looks no deeper).

    None for anything else: a Parameter (it has no ``__dict__``), a Layer, a number, an array.
    """
    if isinstance(value, (list, tuple, dict)):
        return value.values() if isinstance(value, dict) else value
    return vars(value).values() if hasattr(value, "__dict__") and not isinstance(value, Layer) else None
