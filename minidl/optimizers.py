"""Optimizers: turn each parameter's gradient into a step that lowers the loss.

An optimizer's ``step(parameters)`` reads every ``Parameter.grad`` and changes
``Parameter.value`` **in place** (the arrays keep their identity, so layers and
optimizer state stay attached to them). Optimizers that remember something between
steps (momentum, running averages) keep it per parameter, keyed by the
:class:`~minidl.Parameter` object itself and created lazily on its first step, so one
optimizer serves a whole network and two layers can never share state by accident.

The update arithmetic stays in the parameter's dtype: a float32 network is updated in
float32 (the hyper-parameters are Python floats, which numpy does not let upcast an
array).

Saving and resuming
-------------------
``state_arrays(parameters)`` returns the optimizer's state as named numpy arrays
(``"iterations"`` plus ``"<i>/<slot>"`` for the ``i``-th parameter of the list, e.g.
``"0/m"``, ``"0/v"``, ``"0/t"`` for Adam) and ``load_state_arrays(parameters, arrays)``
puts it back, so a training run can be saved and resumed bit-identically; ``config()``
gives the constructor arguments (JSON-friendly) that rebuild the optimizer.

Weight decay and gradient clipping
----------------------------------
Every optimizer takes Keras's clipping arguments (at most one of them; ``None``: off),
applied first, to a copy of each gradient ``g`` (``Parameter.grad`` is never changed):

* ``clipvalue=c``: every element clipped to ``[-c, c]``.
* ``clipnorm=c``: each parameter's gradient rescaled, ``g <- g * c / ||g||`` when ``||g|| > c``.
* ``global_clipnorm=c``: all the gradients of the step rescaled together, ``g <- g * min(1,
  c / (N + 1e-6))`` with ``N`` the norm of all of them joined, exactly as
  ``torch.nn.utils.clip_grad_norm_`` (its ``1e-6`` included).

Keras refuses ``clipnorm`` with ``global_clipnorm`` and silently ignores ``clipvalue`` when
a norm is set; minidl refuses any two. Then ``SGD``, ``RMSprop`` and ``Adam`` add an L2
penalty's gradient, ``g <- g + weight_decay * w``, as ``torch.optim`` does (Keras 3's
``weight_decay`` is decoupled instead, as :class:`AdamW`'s). With ``weight_decay=0`` and no
clipping the update reads ``Parameter.grad`` directly: no copy, no extra arithmetic.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from minidl._typing import Array
from minidl._validation import check_bool, check_finite, check_real, class_by_name, config_repr
from minidl.layers.base import Parameter


class Optimizer(ABC):
    """Base class of optimizers: ``step(parameters)`` updates values from gradients in place.

    The base class handles the per-parameter state, the step counter, clipping, weight decay
    and saving/loading state. An optimizer of your own implements one method,
    ``_update(self, parameter, grad, state)``, one step for one parameter:

    * change ``parameter.value`` **in place** (``parameter.value -= ...`` or
      ``parameter.value[...] = ...``): ``parameter.value = parameter.value - ...`` makes a new
      array (float64 from a float32 network, say), which the first step refuses;
    * ``grad`` is the gradient to use (``parameter.grad`` itself, or its clipped or decayed
      copy): read it, never write to it;
    * ``state.t`` is the parameter's step count, this step included (1 on the first), and
      ``state.arrays`` holds one array per name listed in the class's ``slots``, zeros of
      the parameter's shape and dtype at first and kept between steps: change them in place
      too (``total += ...``; ``total = total + ...`` would forget the sum).

    An ``__init__`` of its own calls ``super().__init__(learning_rate)`` first and lists its
    arguments in ``arguments`` (for ``config``).

    Attributes
    ----------
    iterations : int
        How many times ``step`` has been called.

    Examples
    --------
    Every optimizer is used the same way, after ``backward`` filled the gradients:

    >>> weight = Parameter(np.array([0.0, 2.0, 1.0]), name="w")
    >>> weight.grad[...] = [14.0, 28.0, 42.0]      # the course's slopes
    >>> optimizer = SGD(learning_rate=0.01)
    >>> optimizer.step([weight])                   # w -= 0.01 * grad, in place
    >>> weight.value, optimizer.iterations
    (array([-0.14,  1.72,  0.58]), 1)

    An optimizer of your own, Adagrad: ``s <- s + g**2``, ``w <- w - lr * g / (sqrt(s) + 1e-7)``,
    whose first step moves each weight by about ``lr`` against its gradient's sign:

    >>> class Adagrad(Optimizer):
    ...     slots = ("sum",)                         # one state array per parameter: s
    ...     def _update(self, parameter, grad, state):
    ...         (total,) = state.arrays
    ...         total += grad * grad                 # in place, kept for the next step
    ...         parameter.value -= self.learning_rate * grad / (np.sqrt(total) + 1e-7)
    >>> weight = Parameter(np.array([1.0, 1.0]), name="w")
    >>> weight.grad[...] = [3.0, -4.0]
    >>> Adagrad(learning_rate=0.5).step([weight])
    >>> np.round(weight.value, 6)
    array([0.5, 1.5])
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        """Refuse ``lr=`` (Keras 2 and old tutorials) by naming ``learning_rate``, as Keras 3 does."""
        if "lr" in kwargs:
            raise TypeError(f"{cls.__name__} has no argument 'lr'; the learning rate is learning_rate=..., "
                            f"e.g. {cls.__name__}(learning_rate={kwargs['lr']!r})")
        return super().__new__(cls)

    #: The name used by ``Network.compile`` and in saved files.
    name: ClassVar[str] = "optimizer"
    #: Names of the per-parameter state arrays (besides the step count ``"t"``).
    slots: tuple[str, ...] = ()
    #: Slots that are means of squared gradients: never negative (a file holding one is refused).
    squares: ClassVar[tuple[str, ...]] = ()
    #: The constructor arguments, read back as attributes by ``config`` (the clipping ones, when set, too).
    arguments: ClassVar[tuple[str, ...]] = ("learning_rate",)
    #: True when ``weight_decay`` shrinks the weights directly (AdamW), not through the gradient.
    decoupled: ClassVar[bool] = False
    #: The list of parameters the last step checked (all of them before any is changed).
    _checked_list: list[Parameter] | None = None

    def __init__(self, learning_rate: float, weight_decay: float = 0.0, *, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None) -> None:
        self.learning_rate, self.iterations = learning_rate, 0  # (the setter checks the learning rate)
        owner = type(self).__name__
        self.weight_decay = check_real(weight_decay, f"{owner} weight_decay", low=0.0)
        clipping = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        chosen = [name for name, value in clipping.items() if value is not None]
        if len(chosen) > 1:
            raise ValueError(f"{owner}: at most one of clipnorm, clipvalue and global_clipnorm may be set; "
                             f"got {', '.join(f'{name}={clipping[name]!r}' for name in chosen)}")
        # Each None (off) or a finite number > 0.
        self.clipnorm, self.clipvalue, self.global_clipnorm = (
            None if value is None else check_real(value, f"{owner} {name}", low=0.0, low_inclusive=False)
            for name, value in clipping.items())
        # Per-parameter state: the slot arrays, in ``slots`` order, and the number of
        # steps this parameter has taken (Adam's bias correction needs it).
        self._state: dict[Parameter, _ParameterState] = {}

    @property
    def lr(self) -> float:
        """Keras 2's and PyTorch's habit for ``learning_rate``: the same number, read or set.

        (Set as an attribute of its own, a callback's ``optimizer.lr = 0.0`` did nothing.)
        """
        return self.learning_rate

    @lr.setter
    def lr(self, value: float) -> None:
        self.learning_rate = value

    @property
    def learning_rate(self) -> float:
        """The step size, a finite number ``>= 0`` (may be changed between steps)."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = check_real(value, f"{type(self).__name__} learning_rate", low=0.0)
        self._rates: dict[np.dtype[Any], Array] = {}  # the rate as a 0-d array per dtype (see _rate)

    def _rate(self, dtype: np.dtype[Any]) -> Array:
        """The learning rate as a 0-d array of ``dtype``, made once per value and dtype.

        ``rate * g`` is the same product as ``learning_rate * g`` (a Python float meets an array
        in the array's dtype), and numpy computes it sooner: 0.6 against 0.8 us on a small array.
        """
        if dtype not in self._rates:
            self._rates[dtype] = np.array(self._learning_rate, dtype=dtype)
        return self._rates[dtype]

    def step(self, parameters: Iterable[Parameter]) -> None:
        """Update every parameter in place from its current ``grad``.

        Parameters
        ----------
        parameters
            The parameters to update, e.g. ``network.parameters()`` (any iterable of distinct
            Parameters, each ``grad`` of its ``value``'s shape, checked before any is changed,
            once per list object: ``fit`` passes one list every batch); the same objects must be
            passed on every step for the state (momentum, averages) to follow them.
        """
        if parameters is not self._checked_list:  # fit passes one list every batch: checked at the first
            if not hasattr(self, "_state"):  # (not vars(self): it would slow every attribute down)
                raise TypeError(f"{type(self).__name__} was not initialised as an Optimizer: its __init__ "
                                "must call super().__init__(learning_rate) first")
            parameters = self._checked_list = _checked_parameters(parameters, f"{type(self).__name__}.step")
            if not self.iterations:  # the first step, checked after it: off the path of the others
                values = [parameter.value for parameter in parameters]
                Optimizer.step(self, parameters)  # (not self.step: a subclass's own step would run twice)
                return self._check_in_place(parameters, values)
        # The hot path: no decay through the gradient and no clipping, the update reads grad itself.
        plain = ((not self.weight_decay or self.decoupled) and self.clipnorm is None
                 and self.clipvalue is None and self.global_clipnorm is None)
        scale = 1.0 if self.global_clipnorm is None else _global_scale(parameters, self.global_clipnorm)
        self.iterations += 1
        for parameter in parameters:
            state = self._state.get(parameter)
            if state is None:  # the first step of this parameter
                state = self._state[parameter] = self._new_state(parameter)
            state.t += 1
            self._update(parameter, parameter.grad if plain else self._gradient(parameter, scale), state)

    def _check_in_place(self, parameters: list[Parameter], values: list[Array]) -> None:
        """After the first step: each ``_update`` changed its value in place, not made a new array.

        A new array (``parameter.value = parameter.value - ...``) turns a float32 network into
        float64, say, and leaves behind whatever held the old one.
        """
        for parameter, value in zip(parameters, values, strict=True):
            if parameter.value is not value:
                new = np.asarray(parameter.value).dtype
                dtypes = f" ({value.dtype} became {new})" if new != value.dtype else ""
                raise TypeError(f"{type(self).__name__}._update replaced the value of parameter "
                                f"{parameter.name!r} by a new array{dtypes}; update it in place: "
                                "parameter.value -= ... or parameter.value[...] = ...")

    def _new_state(self, parameter: Parameter) -> _ParameterState:
        """The state of a parameter's first step: its slots at zero.

        Refuses an ``epsilon`` that rounds to 0 in the parameter's dtype (1e-8 in float16): the
        step divides by ``sqrt(v) + epsilon``, so a zero gradient would give 0/0, NaN.
        """
        epsilon = getattr(self, "epsilon", None)
        if epsilon is not None and parameter.dtype.type(epsilon) == 0:
            smallest = float(np.finfo(parameter.dtype).smallest_subnormal)
            raise ValueError(f"{type(self).__name__} epsilon={epsilon:g} is 0 in {parameter.dtype} "
                             f"(parameter {parameter.name!r}), so sqrt(v) + epsilon can be 0; pass an "
                             f"epsilon of at least {smallest:g}, or train in float32")
        return _ParameterState([np.zeros_like(parameter.value) for _ in self.slots])

    def _gradient(self, parameter: Parameter, scale: float) -> Array:
        """The gradient the update uses: ``grad`` clipped, plus ``weight_decay * w`` (``grad`` kept)."""
        grad = parameter.grad
        if self.clipvalue is not None:
            grad = np.clip(grad, -self.clipvalue, self.clipvalue)
        elif self.clipnorm is not None:
            norm = math.sqrt(_squared_norm(grad))
            grad = grad * (self.clipnorm / norm) if norm > self.clipnorm else grad
        elif scale < 1.0:
            grad = grad * scale
        if self.weight_decay and not self.decoupled:
            decayed = np.asarray(self.weight_decay * parameter.value)  # (a 0-d value's product is a scalar)
            grad = np.add(decayed, grad, out=decayed)
        return grad

    @abstractmethod
    def _update(self, parameter: Parameter, grad: Array, state: _ParameterState) -> None:
        """Apply one step to ``parameter.value`` in place from ``grad`` (``state.t`` already counts it).

        ``grad`` may be ``parameter.grad`` itself (the plain path): read it, never write to it.
        """

    def reset(self) -> None:
        """Forget all state (momentum, averages, step counts), as a new optimizer."""
        self.iterations = 0
        self._state.clear()

    # -- saving and resuming --------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this optimizer (JSON-friendly values)."""
        config = {name: getattr(self, name) for name in self.arguments}
        config.update({name: getattr(self, name) for name in ("clipnorm", "clipvalue", "global_clipnorm")
                       if getattr(self, name) is not None})
        return config

    def state_arrays(self, parameters: Sequence[Parameter]) -> dict[str, np.ndarray[Any, Any]]:
        """The optimizer's state as named arrays (copies), for saving.

        Keys: ``"iterations"`` (a 0-d int64 array), and for the ``i``-th parameter of
        ``parameters`` that has state, ``"<i>/t"`` (its step count, 0-d int64) and one
        ``"<i>/<slot>"`` array per name in ``slots``. Parameters not stepped yet have no
        entries.

        Examples
        --------
        >>> w = Parameter(np.array([1.0, 2.0]))
        >>> w.grad[...] = [1.0, 1.0]
        >>> opt = SGD(learning_rate=0.1, momentum=0.9)
        >>> opt.step([w])
        >>> sorted(opt.state_arrays([w]))
        ['0/t', '0/velocity', 'iterations']
        """
        arrays: dict[str, np.ndarray[Any, Any]] = {"iterations": np.array(self.iterations, dtype=np.int64)}
        for index, parameter in enumerate(parameters):
            if (state := self._state.get(parameter)) is not None:
                arrays[f"{index}/t"] = np.array(state.t, dtype=np.int64)
                for slot, array in zip(self.slots, state.arrays, strict=True):
                    arrays[f"{index}/{slot}"] = array.copy()
        return arrays

    def load_state_arrays(self, parameters: Sequence[Parameter], arrays: Mapping[str, np.ndarray[Any, Any]]
                          ) -> None:
        """Replace the optimizer's state by ``arrays`` (as made by ``state_arrays``).

        Every array is checked (known key, shape and dtype of its parameter, finite
        values, non-negative counts and second moments) before anything is changed, so a
        bad file leaves the optimizer as it was. The arrays are copied.

        Raises
        ------
        ValueError
            For a missing ``"iterations"``, an unknown key, an index outside
            ``parameters``, a wrong shape, a non-finite value, a negative second moment
            (Adam's and RMSprop's ``v``) or an incomplete parameter entry.
        """
        owner, keys, count = f"{type(self).__name__}.load_state_arrays", ("t", *self.slots), len(parameters)
        known = {"iterations"} | {f"{index}/{key}" for index in range(count) for key in keys}
        unexpected = [key for key in arrays if key not in known]
        if unexpected:
            expected = ", ".join(f"'<i>/{key}'" for key in keys)
            raise ValueError(f"{owner}: unexpected key {unexpected[0]!r}; expected 'iterations' or "
                             f"{expected}, for i < {count} (only {count} parameters were given)")
        iterations = _count(arrays, "iterations", owner)
        new_state: dict[Parameter, _ParameterState] = {}
        for index, parameter in enumerate(parameters):
            if any(f"{index}/{key}" in arrays for key in keys):  # a parameter not stepped yet has none
                slots = [self._checked(arrays, index, slot, parameter, owner) for slot in self.slots]
                new_state[parameter] = _ParameterState(slots, _count(arrays, f"{index}/t", owner))
        self.iterations, self._state = iterations, new_state

    def _checked(self, arrays: Mapping[str, Any], index: int, slot: str, parameter: Parameter, owner: str
                 ) -> Array:
        """A copy of the saved ``"<index>/<slot>"`` array in ``parameter``'s dtype, once it is checked."""
        array, label = _entry(arrays, f"{index}/{slot}", owner), f"{owner}: '{index}/{slot}'"
        if array.shape != parameter.shape or array.dtype.kind not in "fiu":
            raise ValueError(f"{label} must hold real numbers in shape {parameter.shape}; got {array.dtype} "
                             f"of shape {array.shape}")
        check_finite(array, label)
        if slot in self.squares and (array < 0).any():
            raise ValueError(f"{label}, the second moment of parameter {parameter.name!r}, must be >= 0 (a "
                             "mean of squared gradients; the next step takes its square root); got "
                             f"{float(np.min(array)):g}")
        return array.astype(parameter.dtype, copy=True)

    __repr__ = config_repr


@dataclass(slots=True)
class _ParameterState:
    """One parameter's optimizer state: its slot arrays and its step count ``t``."""

    arrays: list[Array]
    t: int = 0


def _entry(arrays: Mapping[str, Any], key: str, owner: str) -> Array:
    """The saved ``arrays[key]`` as an array; a ValueError naming ``key`` when the file lacks it."""
    if key not in arrays:
        raise ValueError(f"{owner}: no {key!r} entry; got keys {sorted(arrays)}")
    return np.asarray(arrays[key])


def _checked_parameters(parameters: Iterable[Parameter], owner: str) -> list[Parameter]:
    """``parameters`` as a list (the same list if it is one), refused unless distinct Parameters."""
    if isinstance(parameters, Parameter):
        raise TypeError(f"{owner} expects a list of Parameters; got a single Parameter {parameters.name!r} "
                        "(write step([parameter]))")
    listed = parameters if isinstance(parameters, list) else list(parameters)  # a generator: used once
    for parameter in listed:
        if not isinstance(parameter, Parameter):
            raise TypeError(f"{owner} expects a list of minidl Parameters (e.g. network.parameters()); got "
                            f"an element of type {type(parameter).__name__}")
        grad = parameter.grad
        if not isinstance(grad, np.ndarray):
            raise TypeError(f"{owner}: the gradient of parameter {parameter.name!r} must be a numpy array; "
                            f"got {type(grad).__name__} (assign in place: p.grad[...] = g)")
        if grad.shape != parameter.value.shape:  # numpy would broadcast a (1,) gradient
            raise ValueError(f"{owner}: the gradient of parameter {parameter.name!r} has shape {grad.shape}; "
                             f"expected {parameter.value.shape}, its value's")
    if len({id(parameter) for parameter in listed}) != len(listed):
        raise ValueError(f"{owner} got a Parameter twice; it would be stepped twice")
    return listed


def _global_scale(parameters: Sequence[Parameter], limit: float) -> float:
    """``min(1, limit / (N + 1e-6))``, ``N`` the norm of all gradients: ``clip_grad_norm_``'s factor."""
    total = math.sqrt(sum(_squared_norm(parameter.grad) for parameter in parameters))
    return min(1.0, limit / (total + 1e-6))


def _squared_norm(array: Array) -> float:
    """``sum(array**2)`` as a Python float, in float64 when the array's own dtype overflows."""
    total = float(np.vdot(array, array))
    if math.isinf(total):  # float16 squares pass its largest number, 65504, from a gradient of 256
        total = float(np.vdot(wide := array.astype(np.float64), wide))
    return total


def _count(arrays: Mapping[str, Any], key: str, owner: str) -> int:
    """The saved count ``arrays[key]`` (a step count), checked: a non-negative integer scalar."""
    array = _entry(arrays, key, owner)
    if array.shape != () or array.dtype.kind not in "iu" or int(array) < 0:
        raise ValueError(f"{owner}: '{key}' must be a non-negative integer scalar; got {arrays[key]!r}")
    return int(array)


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum, as Keras defines it.

    With learning rate ``lr``, momentum ``mu`` and gradient ``g``:

    * ``momentum=0``: ``w <- w - lr * g`` (the course's "take a step downhill").
    * ``momentum>0``: ``v <- mu * v - lr * g``, then ``w <- w + v`` (``v`` starts at 0).
    * ``nesterov=True``: ``v <- mu * v - lr * g``, then ``w <- w + mu * v - lr * g``.

    With ``weight_decay=wd``, ``g = grad + wd * w`` (L2, as ``torch.optim.SGD``; for a constant
    ``lr`` its ``buf <- mu * buf + g``, ``w <- w - lr * buf`` is the same ``v = -lr * buf``).

    Parameters
    ----------
    learning_rate
        ``lr``, a finite number ``>= 0``.
    momentum
        ``mu``, in ``[0, 1)``.
    nesterov
        Use Nesterov momentum (needs ``momentum > 0`` to make a difference).
    weight_decay
        ``wd >= 0``, the L2 penalty's coefficient (default 0: none).
    clipnorm, clipvalue, global_clipnorm
        Gradient clipping, at most one, ``> 0`` (see the module's docstring).

    Examples
    --------
    >>> w = Parameter(np.array([0.0, 2.0, 1.0]))
    >>> w.grad[...] = [14.0, 28.0, 42.0]
    >>> SGD(learning_rate=0.01).step([w])
    >>> w.value
    array([-0.14,  1.72,  0.58])
    """

    name = "sgd"
    arguments = ("learning_rate", "momentum", "nesterov", "weight_decay")

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, *, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm)
        self.momentum = check_real(momentum, "SGD momentum", low=0.0, high=1.0, high_inclusive=False)
        self.nesterov = check_bool(nesterov, "SGD nesterov")
        # Plain SGD keeps no state at all (state_arrays then holds only the counts).
        self.slots = ("velocity",) if self.momentum > 0.0 else ()

    def _update(self, parameter: Parameter, grad: Array, state: _ParameterState) -> None:
        """``w -= lr g``; with momentum ``v <- mu v - lr g``, ``w += v`` (Nesterov: ``w += mu v - lr g``)."""
        step = self._rate(parameter.value.dtype) * grad  # (an integer grad's dtype would make the rate 0)
        if not state.arrays:
            parameter.value -= step
            return
        (velocity,) = state.arrays
        velocity *= self.momentum
        velocity -= step
        if self.nesterov:
            parameter.value += self.momentum * velocity
            parameter.value -= step
        else:
            parameter.value += velocity


class RMSprop(Optimizer):
    """RMSprop: divide the step by a running root-mean-square of recent gradients.

    With ``v`` starting at 0: ``v <- rho * v + (1 - rho) * g**2``, then
    ``w <- w - lr * g / (sqrt(v) + epsilon)``, with ``g = grad + weight_decay * w`` (L2, as
    ``torch.optim.RMSprop``, whose ``alpha`` is ``rho``).

    Parameters
    ----------
    learning_rate
        ``lr``, a finite number ``>= 0`` (default 0.001, as in Keras).
    rho
        Decay of the running average, in ``[0, 1)`` (default 0.9, as in Keras).
    epsilon
        Added to the root mean square to avoid dividing by zero, ``> 0`` (default 1e-7).
    weight_decay
        The L2 penalty's coefficient, ``>= 0`` (default 0).
    clipnorm, clipvalue, global_clipnorm
        Gradient clipping, at most one, ``> 0`` (see the module's docstring).

    Examples
    --------
    One step from ``v = 0``: ``v = 0.1 * 2**2 = 0.4`` and ``w = 1 - 0.1 * 2 / sqrt(0.4)``.

    >>> w = Parameter(np.array([1.0]))
    >>> w.grad[...] = [2.0]
    >>> RMSprop(learning_rate=0.1, rho=0.9).step([w])
    >>> w.value.round(6)
    array([0.683772])
    """

    name = "rmsprop"
    slots = ("v",)
    squares = ("v",)
    arguments = ("learning_rate", "rho", "epsilon", "weight_decay")

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, epsilon: float = 1e-7,
                 weight_decay: float = 0.0, *, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm)
        self.rho = check_real(rho, "RMSprop rho", low=0.0, high=1.0, high_inclusive=False)
        self.epsilon = check_real(epsilon, "RMSprop epsilon", low=0.0, low_inclusive=False)

    def _update(self, parameter: Parameter, grad: Array, state: _ParameterState) -> None:
        """``v = rho v + (1 - rho) g**2``; ``w -= lr g / (sqrt(v) + eps)``."""
        (v,) = state.arrays
        v *= self.rho
        v += (1.0 - self.rho) * (grad * grad)
        denominator = np.sqrt(v)
        denominator += self.epsilon
        parameter.value -= self._learning_rate * grad / denominator


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with bias correction.

    For a parameter's ``t``-th step (``t = 1, 2, ...``), with ``m`` and ``v`` starting at 0::

        m <- beta_1 * m + (1 - beta_1) * g
        v <- beta_2 * v + (1 - beta_2) * g**2
        m_hat = m / (1 - beta_1**t)
        v_hat = v / (1 - beta_2**t)
        w <- w - lr * m_hat / (sqrt(v_hat) + epsilon)

    ``epsilon`` is added to the square root of the corrected second moment (as in the
    paper and PyTorch). ``g = grad + weight_decay * w`` (L2 through the moments, as
    ``torch.optim.Adam``; :class:`AdamW` decays the weights directly instead).

    Parameters
    ----------
    learning_rate
        ``lr``, a finite number ``>= 0`` (default 0.001).
    beta_1, beta_2
        Decay rates of the first and second moment averages, in ``[0, 1)``.
    epsilon
        ``> 0``, keeps the division finite (default 1e-8). It must not round to 0 in the
        parameters' dtype: 1e-8 does in float16, so the first step refuses it there.
    weight_decay
        The L2 penalty's coefficient, ``>= 0`` (default 0).
    clipnorm, clipvalue, global_clipnorm
        Gradient clipping, at most one, ``> 0`` (see the module's docstring).

    Examples
    --------
    The first step moves every weight by about ``lr`` against the gradient's sign:

    >>> w = Parameter(np.array([1.0, 1.0]))
    >>> w.grad[...] = [3.0, -0.5]
    >>> Adam(learning_rate=0.1).step([w])
    >>> np.round(w.value, 6)
    array([0.9, 1.1])
    """

    name = "adam"
    slots = ("m", "v")
    squares = ("v",)
    arguments = ("learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay")

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 0.0, *, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm)
        owner = type(self).__name__
        self.beta_1 = check_real(beta_1, f"{owner} beta_1", low=0.0, high=1.0, high_inclusive=False)
        self.beta_2 = check_real(beta_2, f"{owner} beta_2", low=0.0, high=1.0, high_inclusive=False)
        self.epsilon = check_real(epsilon, f"{owner} epsilon", low=0.0, low_inclusive=False)

    def _update(self, parameter: Parameter, grad: Array, state: _ParameterState) -> None:
        """``m, v <- beta m + (1 - beta) (g, g**2)``; ``w -= lr m_hat / (sqrt(v_hat) + eps)``."""
        (m, v), beta_1, beta_2 = state.arrays, self.beta_1, self.beta_2
        m *= beta_1
        m += (1.0 - beta_1) * grad
        v *= beta_2
        v += (1.0 - beta_2) * (grad * grad)
        # m_hat / (sqrt(v_hat) + eps), with the corrections folded into Python scalars:
        # sqrt(v_hat) = sqrt(v) / sqrt(1 - beta_2**t).
        denominator = np.sqrt(v)
        denominator *= 1.0 / math.sqrt(1.0 - beta_2**state.t)
        denominator += self.epsilon
        parameter.value -= (self._learning_rate / (1.0 - beta_1**state.t)) * m / denominator


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    Each step first shrinks the weights, ``w <- w - lr * weight_decay * w`` (computed as
    ``w *= 1 - lr * weight_decay``, as PyTorch does), then takes :class:`Adam`'s step with
    the gradient itself (clipped if asked): the decay does not pass through ``m`` and ``v``,
    so it is not rescaled by them. Arguments as :class:`Adam`'s, ``weight_decay`` default 0.01.

    Examples
    --------
    ``w = 1`` decays to ``1 - 0.1 * 0.5 = 0.95``, then Adam's first step moves it by ``-0.1``:

    >>> w = Parameter(np.array([1.0]))
    >>> w.grad[...] = [3.0]
    >>> AdamW(learning_rate=0.1, weight_decay=0.5).step([w])
    >>> np.round(w.value, 6)
    array([0.85])
    """

    name = "adamw"
    decoupled = True

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 0.01, *, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm)

    def _update(self, parameter: Parameter, grad: Array, state: _ParameterState) -> None:
        """``w *= 1 - lr wd``, then Adam's step."""
        if self.weight_decay:
            parameter.value *= 1.0 - self._learning_rate * self.weight_decay
        super()._update(parameter, grad, state)


#: Optimizer names accepted by ``Network.compile`` (and ``get_optimizer``).
OPTIMIZERS: dict[str, Callable[[], Optimizer]] = {cls.name: cls for cls in (SGD, RMSprop, Adam, AdamW)}


def get_optimizer(optimizer: str | Optimizer) -> Optimizer:
    """An optimizer from its name (``"sgd"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``, default settings).

    An :class:`Optimizer` object is returned as is. Names are case-insensitive.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.

    Examples
    --------
    >>> get_optimizer("adam")
    Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-08, weight_decay=0.0)
    """
    if isinstance(optimizer, Optimizer):
        return optimizer
    return class_by_name(OPTIMIZERS, optimizer, "optimizer", "an Optimizer object")
