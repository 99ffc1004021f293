"""Gradient checking: is a backward pass right? ``check_gradients`` compares it with finite differences.

A wrong ``backward`` does not crash: the network just learns badly. ``check_gradients``
tells you, gradient by gradient, whether a layer's (or a network's, or a loss's)
backward pass agrees with the slope measured numerically, and if not, where and by how
much.

**The method.** For a layer with output ``y = f(x; params)`` the check draws a random
upstream gradient ``G`` (shape of ``y``, seeded) and looks at the scalar
``s = sum(G * y)``. Its exact gradients are what ``backward(G)`` returns (``ds/dx``) and
writes into every parameter's ``grad``. The numerical estimate of each entry ``v[i]``
(of ``x`` or of a parameter) is the central difference::

    ds/dv[i] ~ (s(v[i] + eps) - s(v[i] - eps)) / (2 * eps)

computed as ``sum(G * (y_plus - y_minus)) / (2 * eps)`` (subtracting the outputs first
keeps the rounding error small). A random ``G`` rather than all ones means a backward
that is only right for ``G = 1`` (a forgotten factor of ``grad_y``, a sum in the wrong
place) is caught. For a loss ``s`` is the loss itself (``G = 1``).

The two values ``a`` (backward) and ``n`` (numerical) of an entry are compared by the
relative error ``|a - n| / max(|a|, |n|, atol / rtol)``: an entry passes when it is at
most ``rtol``, i.e. when ``|a - n| <= max(rtol * max(|a|, |n|), atol)``.

**Why a copy.** The object you pass is never changed: not its parameters, gradients,
caches, running statistics or random generators. The check moves every entry of ``x``
and of each parameter and runs forward hundreds of times, so it works on a deep copy
(:func:`float64_clone`) in which every floating array is float64, whatever the
object's dtype (finite differences in float32 are meaningless), and it puts every
random generator of the copy back to its first state before each forward, so a Dropout
draws the same mask every time.

The module reads top down: :func:`check_gradients` and its steps, then the copy it
works on, then the report it returns (:class:`GradientCheckReport`, a
:class:`GradientCheckRow` per gradient, :class:`GradientCheckError`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from minidl._typing import Array, ArrayLike
from minidl._validation import as_float_array, check_int, check_positive_int, check_real
from minidl.errors import backward_failure, label, not_initialised
from minidl.layers.base import Layer, Parameter, unseen_parameters
from minidl.layers.chain import Chain
from minidl.losses import Loss
from minidl.network import Network

__all__ = ["GradientCheckError", "GradientCheckReport", "GradientCheckRow", "check_gradients"]

#: Default finite-difference step. Central differences have a truncation error of
#: about ``eps**2 * f''' / 6`` and a rounding error of about ``1e-16 * |y| / eps``;
#: in float64 ``eps = 1e-6`` keeps both near 1e-10 for values of order 1..100.
DEFAULT_EPS = 1e-6
#: Default relative tolerance: a correct float64 backward typically agrees to 1e-8 or
#: better, while the mistakes the check exists for (a missing transpose, a sign error,
#: a missing sum over the batch) are off by 10% to 100% or more.
DEFAULT_RTOL = 1e-5
#: Default absolute tolerance, for entries whose true gradient is (nearly) zero, where
#: a relative error means nothing: differences below it always pass. Rounding inside a
#: deep forward pass (a BatchNorm subtracting its mean, say) leaves finite differences of
#: true zeros at around 1e-8; the mistakes to catch are many orders larger.
DEFAULT_ATOL = 1e-6
#: The absolute tolerance is raised to ``NOISE_FACTOR * machine epsilon * sum(|G * y|) /
#: eps`` when that is larger: the rounding noise of a finite difference grows with the
#: size of the outputs (``y`` of order 1000 would otherwise fail correct code).
NOISE_FACTOR = 100.0
#: Default number of entries checked per gradient (sampled at random above it).
DEFAULT_MAX_ENTRIES = 1000

STILL_NAN = ("backward never wrote this gradient, or added to it: it is still the NaN the check puts "
                     "in for a layer with overwrites_gradients = True, which must assign it: p.grad[...] = g")
ALL_ZERO = ("backward left this gradient all 0 (the check, like a network, clears it first when the layer "
            "has overwrites_gradients = False): backward never wrote it, or wrote zeros")


def check_gradients(obj: Layer | Network | Loss, x: ArrayLike, target: ArrayLike | None = None, *,
                    eps: float = DEFAULT_EPS, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL,
                    seed: int | None = 0, max_entries: int | None = DEFAULT_MAX_ENTRIES,
                    raise_on_failure: bool = False) -> GradientCheckReport:
    """Check a backward pass against central finite differences, in float64.

    Compares ``dL/dx`` and every parameter's gradient, as computed by ``backward`` (``a``),
    with ``n = (f(x + eps) - f(x - eps)) / (2 eps)``, entry by entry, for ``f = sum(G * y)``
    and a seeded random upstream gradient ``G`` (``f`` is the loss itself for a loss). An
    entry passes when its relative error ``|a - n| / max(|a|, |n|, atol / rtol)`` is at
    most ``rtol``. The check runs on a float64 deep copy: ``obj`` is left as it was.

    **The gradient contract** is the network's (``Layer.overwrites_gradients``). Before
    ``backward``, a layer with ``overwrites_gradients = False`` (a user layer, by
    default) gets ``zero_grad()``, as ``Network.backward`` and ``fit`` do, so it may
    assign (``p.grad[...] = g``) or add (``p.grad += g``). A layer that declares
    ``overwrites_gradients = True`` (the built-ins) finds its gradients filled with NaN,
    so one it never writes, or adds to, stays NaN and fails. A gradient a clearing
    layer never writes stays 0: it fails unless the true gradient is 0 too (then the
    parameter does not affect the output, and 0 is right). A layer with its own
    ``backward_parameters`` (what training runs on the first layer with parameters, also
    checked in a network) must fill its ``backward``'s gradients, or the check names them.

    Parameters
    ----------
    obj
        A :class:`~minidl.Layer` (built-in or your own), a :class:`~minidl.Network`, or a
        :class:`~minidl.Loss` (then ``target`` is required and ``x`` is the prediction).
    x
        The input to differentiate at, e.g. shape ``(batch, features)``. Integers are
        converted to float64. Avoid points where the function has a kink (ReLU at 0,
        an absolute error of exactly 0): no derivative exists there.
    target
        The target for a loss; must be None for a layer or a network.
    eps
        The finite-difference step (default ``1e-6``, see ``DEFAULT_EPS``).
    rtol, atol
        Tolerances: an entry passes when ``|a - n| <= max(rtol * max(|a|, |n|), atol)``.
        Defaults ``rtol=1e-5`` (correct code agrees to about ``1e-8``; real mistakes are
        off by ``1e-1`` or more) and ``atol=1e-6`` (for zero gradients, where rounding
        leaves ~1e-8). For large outputs ``atol`` is raised to the rounding noise of the
        finite differences, ``100 * 2.2e-16 * sum(|G * y|) / eps`` (the report says so).
    seed
        Seed of the random upstream gradient (and of the sampled entries): the same seed
        gives the same report.
    max_entries
        At most this many entries are checked per gradient (a random sample of them,
        shown in the report's ``checked`` column); ``None`` checks every entry. Each
        checked entry costs two forward passes.
    raise_on_failure
        Raise :class:`GradientCheckError`, its message the report's table, when the
        check fails (same as calling ``raise_if_failed()`` on the report).

    Returns
    -------
    GradientCheckReport
        ``passed``, ``max_relative_error``, ``rows`` (one per gradient); ``print`` it
        for a table.

    Notes
    -----
    The check runs in the object's current mode. In training mode, BatchNorm uses the
    batch statistics, which the finite differences then see too. Layers with
    randomness are made repeatable: the state of every ``numpy.random.Generator`` (and
    ``RandomState``) the object holds, and numpy's global random state, is restored
    before each forward, so Dropout draws the same mask in every forward of the check.
    Keep a user layer's randomness in such a generator attribute for the same effect; a
    forward that still gives two different outputs for the same input fails the check
    with that explanation. A Parameter that ``parameters()`` does not list (created in
    ``forward``, or kept in a list or dict) fails the check too: the optimizers would
    never update it.

    Examples
    --------
    >>> report = check_gradients(Dense(3, 2, seed=0), np.arange(12.0).reshape(4, 3))
    >>> report.passed, [row.name for row in report.rows]
    (True, ['input', 'weight', 'bias'])
    >>> check_gradients(MeanSquaredError(), np.array([[1.0], [2.0]]), [0.5, 3.0]).passed
    True
    """
    check = _Check(obj, x, target, eps=eps, rtol=rtol, atol=atol, seed=seed, max_entries=max_entries)
    try:
        report = check.run()
    finally:
        check.rewind()  # numpy's global random state, as it was
    return report.raise_if_failed() if raise_on_failure else report


def _label(obj: object, target: ArrayLike | None) -> str:
    """What the report calls ``obj`` (``"Dense 'dense'"``), after refusing what cannot be checked."""
    if not isinstance(obj, (Layer, Network, Loss)):
        raise TypeError(f"check_gradients expects a minidl Layer, Network or Loss; got {type(obj).__name__}")
    if isinstance(obj, Layer) and not (hasattr(obj, "training") and hasattr(obj, "name")):
        raise TypeError(not_initialised(obj, "check_gradients obj"))
    if isinstance(obj, Loss) and target is None:
        raise TypeError(f"check_gradients of the loss {type(obj).__name__} needs a target")
    if not isinstance(obj, Loss) and target is not None:
        raise TypeError(f"check_gradients: target is only used for a Loss, not a {type(obj).__name__}")
    if isinstance(obj, Network):
        return f"Network of {len(obj)} layers"
    return type(obj).__name__ if isinstance(obj, Loss) else label(obj)


class _Check:
    """One gradient check under way: the float64 clone, the point ``x``, the upstream gradient ``G``."""

    def __init__(self, obj: object, x: ArrayLike, target: ArrayLike | None, *, eps: float, rtol: float,
                 atol: float, seed: int | None, max_entries: int | None):
        """Check the arguments of :func:`check_gradients` and make the clone the check works on."""
        self.eps = check_real(eps, "check_gradients eps", low=0.0, low_inclusive=False)
        self.rtol = check_real(rtol, "check_gradients rtol", low=0.0, low_inclusive=False)
        self.atol = check_real(atol, "check_gradients atol", low=0.0)
        self.max_entries = (None if max_entries is None
                            else check_positive_int(max_entries, "check_gradients max_entries"))
        if seed is not None:
            seed = check_int(seed, "check_gradients seed", 0, "a non-negative int or None")
        self.point = np.array(as_float_array(x, "check_gradients x", dtype=np.float64), order="C", copy=True)
        # Entropy (seed, tag) rather than seed alone: an x drawn by the user from
        # default_rng(seed) must not coincide with the upstream gradient (x.T @ G symmetric
        # would hide a transposed weight gradient).
        self.rng = np.random.default_rng(None if seed is None else [seed, 0x6D696E69])
        self.label = _label(obj, target)  # before the copy: it refuses what cannot be checked
        self.clone, self.rewind = float64_clone(obj)
        self.problems: list[str] = []
        self.upstream: Array = np.ones(())  # G; for a loss, the loss itself is differentiated (G = 1)
        self.named = [] if isinstance(self.clone, Loss) else named_parameters(self.clone)
        self.forward: Callable[[Array], Any] = self.clone.forward
        if isinstance(self.clone, Loss):
            actual = _to_float64(np.asarray(target), [], set())  # labels stay integers
            self.forward = lambda predicted: self.clone.forward(predicted, actual)

    def run(self) -> GradientCheckReport:
        """Forward and backward once (under the gradient contract), then each entry's central difference.

        A gradient is ``(name, the values it is the gradient of, what backward gave)``:
        ``dL/dx`` first, then each parameter's ``grad``, all copied before any other
        forward runs (a layer may reuse its buffers, or clear its gradients in forward).
        The report has a row per gradient.
        """
        clone, before = self.clone, self.point.copy()
        self.rewind()
        output = self.forward(self.point)
        if not np.array_equal(self.point, before):
            self.problems.append("forward changed its input x in place; it must leave x as it is")
            self.point[...] = before
        if isinstance(clone, Loss):
            if not isinstance(output, (float, np.floating)):
                raise TypeError(f"{self.label}: forward must return a float; got {type(output).__name__}")
            returned = clone.backward()
        elif not isinstance(output, np.ndarray):
            raise TypeError(f"{self.label}: forward must return a numpy array; got {type(output).__name__}")
        else:
            if output.dtype != np.float64:
                self.problems.append(f"forward returned dtype {output.dtype} for a float64 input; the "
                                     "check needs float64 (forward should compute in its input's dtype)")
            self.upstream = np.asarray(self.rng.standard_normal(output.shape))
            sent = self.upstream.copy()
            # The gradients as a backward through a network finds them (Layer.overwrites_gradients):
            # 0 for a layer that may add to them (Network.backward calls its zero_grad()); NaN for
            # one that promises to overwrite them, so a gradient it never writes (or adds to) shows.
            for _, parameter, layer in self.named:
                parameter.grad.fill(np.nan if layer.overwrites_gradients else 0.0)
            values = [parameter.value.copy() for _, parameter, _ in self.named]
            # A layer's missing cache is explained here; Network.backward explains its layers' itself.
            failures = (AttributeError, TypeError) if isinstance(clone, Layer) else ()
            try:
                returned = clone.backward(sent)
            except failures as error:
                raise backward_failure(clone, sent, error) from error
            if not np.array_equal(sent, self.upstream):
                self.problems.append("backward changed grad_y in place; it must leave its argument as it is")
            for (name, parameter, _), value in zip(self.named, values, strict=True):
                if not np.array_equal(parameter.value, value, equal_nan=True):
                    self.problems.append(f"backward changed the value of {name}; it must only fill its "
                                         "gradient, p.grad (the optimizer changes the values)")
                    parameter.value[...] = value  # the finite differences need the point backward was at
            layers = clone.layers if isinstance(clone, Network) else [clone]
            known = {id(parameter) for _, parameter, _ in self.named}
            self.problems.extend(unseen_parameters(layers, known, " (nor was it checked)"))
        gradients = [("input", self.point, returned), *((name, p.value, p.grad) for name, p, _ in self.named)]
        gradients = [(name, v, copy.copy(g)) for name, v, g in gradients]  # before any other forward
        # Training's shortcut, run by the first layer with parameters (the layer, or one in the network)
        first = next((layer for _, _, layer in self.named), None)  # None for a loss
        if first is not None and type(first).backward_parameters is not Layer.backward_parameters:
            self.problems.extend(self.shortcut_problems(first, layers, gradients[1:]))
        output = np.array(output, dtype=np.float64)

        if not np.array_equal(output, self.output()):  # finite differences need a function of x
            self.problems.append("forward gave different outputs for the same input; keep any randomness in "
                                 "a numpy.random.Generator attribute (the check rewinds it before a forward)")
        # How big the differenced quantity is sets the rounding noise of finite differences.
        magnitude = float(np.vdot(np.abs(self.upstream), np.abs(output)))
        atol = max(self.atol, NOISE_FACTOR * float(np.finfo(np.float64).eps) * magnitude / self.eps)
        rows = [self.row(name, value, gradient, atol) for name, value, gradient in gradients]
        return GradientCheckReport(self.label, rows, self.problems, eps=self.eps, rtol=self.rtol, atol=atol,
                                   requested_atol=self.atol)

    def shortcut_problems(self, layer: Layer, layers: list[Layer],
                          gradients: list[tuple[str, Array, Array]]) -> list[str]:
        """Whether ``layer``'s own ``backward_parameters`` fills the gradients ``backward`` filled.

        Training runs it, not ``backward``, on the first layer with parameters (no ``dL/dx``
        needed there), so a shortcut that differs trains wrong where the check saw ``backward``.
        ``layers`` (the checked layer, or the network's) run as training runs them: a ``Chain``'s
        ``backward_parameters``, ``backward`` down to ``layer``, then its shortcut.
        """
        self.output()  # a fresh forward: a layer may free what it kept for the first backward
        for _, parameter, owner in self.named:
            parameter.grad.fill(np.nan if owner.overwrites_gradients else 0.0)
        # (a network's single sample comes out without a batch axis; the chain takes the batch of 1)
        Chain(layers).backward_parameters(np.reshape(self.upstream, layers[-1].last_output_shape or ()))
        return [f"backward_parameters of {label(layer)} filled the gradient of {name} otherwise than "
                "backward did; training runs it on the first layer with parameters, so both must agree"
                for (name, _, expected), (_, parameter, _) in zip(gradients, self.named, strict=True)
                if not np.allclose(parameter.grad, expected, rtol=1e-9, atol=1e-12, equal_nan=True)]

    def output(self) -> Array:
        """The forward pass at ``point``, randomness rewound first, as a float64 copy."""
        self.rewind()
        return np.array(self.forward(self.point), dtype=np.float64, copy=True)

    def row(self, name: str, values: Array, analytic: Any, atol: float) -> GradientCheckRow:
        """Compare one gradient with its central differences (at most ``max_entries`` of them)."""
        shape, problem = values.shape, ""
        if not isinstance(analytic, np.ndarray):
            hint = " (does backward end with `return grad_x`?)" if name == "input" else ""
            problem = f"backward gave {type(analytic).__name__}, not an array{hint}"
        elif analytic.shape != shape:
            problem = f"backward gave shape {analytic.shape}; expected {shape} (the shape of {name})"
        if problem:
            return GradientCheckRow(name, shape, 0, np.nan, np.nan, None, np.nan, np.nan, False, problem)
        if values.size == 0:
            return GradientCheckRow(name, shape, 0, 0.0, 0.0, None, np.nan, np.nan, True)
        indices: Any = np.arange(values.size)
        if self.max_entries is not None and values.size > self.max_entries:
            indices = np.sort(self.rng.choice(values.size, size=self.max_entries, replace=False))
        grad = np.asarray(analytic, dtype=np.float64).reshape(-1)
        backward, numerical = grad[indices], self.central_differences(values.reshape(-1), indices)
        if np.isnan(backward).any():
            problem = STILL_NAN if name != "input" and np.isnan(grad).all() else "backward gave NaN values"
        elif not np.isfinite(numerical).all():
            problem = "forward gave NaN or infinity near this point; choose another x"
        # The relative error |a - n| / max(|a|, |n|, atol / rtol); NaN (from NaN values) counts as infinite.
        abs_error = np.abs(backward - numerical)
        scale = np.maximum(np.maximum(np.abs(backward), np.abs(numerical)), atol / self.rtol)
        rel_error = np.where(np.isnan(abs_error / scale), np.inf, abs_error / scale)
        worst = int(np.argmax(rel_error))
        max_rel = float(rel_error[worst])
        if not problem and max_rel > self.rtol and name != "input" and not grad.any():
            problem = ALL_ZERO
        max_abs = np.nan if np.isnan(abs_error).all() else float(np.nanmax(abs_error))
        where = tuple(int(v) for v in np.unravel_index(int(indices[worst]), shape))
        return GradientCheckRow(name, shape, len(indices), max_abs, max_rel, where, float(backward[worst]),
                                float(numerical[worst]), not problem and max_rel <= self.rtol, problem)

    def central_differences(self, flat: Array, indices: Collection[int]) -> Array:
        """``(s(v + eps) - s(v - eps)) / (2 eps)`` for ``s = sum(G * y)``, at each index of ``flat``.

        ``flat`` is a view of ``x`` or of a parameter's value (both are C-contiguous): each
        entry is moved and put back. The step divided by is ``(v + eps) - (v - eps)`` as
        represented in float64.
        """
        numerical = np.empty(len(indices))
        for k, i in enumerate(indices):
            original = flat[i]
            high, low = original + self.eps, original - self.eps
            flat[i] = high
            plus = self.output()
            flat[i] = low
            minus = self.output()
            flat[i] = original
            numerical[k] = float(np.vdot(self.upstream, plus - minus)) / (high - low)
        return numerical


# -- the copy the check works on ----------------------------------------------------------
def float64_clone(obj: Any) -> tuple[Any, Callable[[], None]]:
    """A deep copy of ``obj``, every floating array and Parameter in it float64; and its rewind.

    Calling the rewind puts numpy's global random state, and every random generator the
    copy holds, back to the state it has now.
    """
    try:
        clone = copy.deepcopy(obj)
    except Exception as error:
        raise TypeError(f"check_gradients works on a copy, but {type(obj).__name__} could not be copied "
                        f"({type(error).__name__}: {error}); keep only arrays, numbers and numpy Generators "
                        "as attributes") from error
    restores: list[Callable[[], None]] = [partial(np.random.set_state, np.random.get_state())]  # noqa: NPY002
    _to_float64(clone, restores, set())

    def rewind() -> None:
        for restore in restores:
            restore()

    return clone, rewind


def _to_float64(value: Any, restores: list[Callable[[], None]], seen: set[int]) -> Any:
    """``value`` in float64.

    Arrays, scalars, dtypes and tuples are returned converted; Parameters, lists, dicts,
    layers, networks and losses are converted in place (each once), and each random
    generator met adds to ``restores`` a step that puts its current state back.
    """
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind == "f":
        return value.astype(np.float64, copy=False)  # the same array when it is float64 already
    if isinstance(value, (np.dtype, type)) and value in (np.float16, np.float32, np.float64, np.longdouble):
        return np.dtype(np.float64) if isinstance(value, np.dtype) else np.float64  # self.dtype = np.float32
    if isinstance(value, tuple):
        return tuple(_to_float64(item, restores, seen) for item in value)
    if id(value) in seen:
        return value
    seen.add(id(value))
    if isinstance(value, Parameter):
        value.value = np.ascontiguousarray(value.value, dtype=np.float64)
        value.grad = np.zeros_like(value.value)
    elif isinstance(value, np.random.Generator):
        restores.append(partial(setattr, value.bit_generator, "state", value.bit_generator.state))
    elif isinstance(value, np.random.RandomState):
        restores.append(partial(value.set_state, value.get_state()))
    elif isinstance(value, (list, dict, Layer, Network, Loss)):  # each item converted in place
        items = value if isinstance(value, (list, dict)) else vars(value)  # an object's attributes
        for key, item in list(items.items() if isinstance(items, dict) else enumerate(items)):
            items[key] = _to_float64(item, restores, seen)
    return value


def named_parameters(module: Layer | Network) -> list[tuple[str, Parameter, Layer]]:
    """``(name, parameter, its layer)``: attribute names for a layer, ``layer.attribute`` in a network.

    A name is never given twice (nor ``"input"``): a second parameter named ``"w"`` is ``"w_2"``.
    """
    if isinstance(module, Network):
        return [(f"{layer.name}.{name}", parameter, layer)
                for layer in module.layers for name, parameter, _ in named_parameters(layer)]
    attributes = {id(value): key for key, value in vars(module).items() if isinstance(value, Parameter)}
    named: list[tuple[str, Parameter, Layer]] = []
    for parameter in module.parameters():
        base = attributes.get(id(parameter), parameter.name)
        used = {"input", *(name for name, _, _ in named)}
        candidates = [base, *(f"{base}_{count}" for count in range(2, len(used) + 2))]  # w, w_2, w_3, ...
        named.append((next(name for name in candidates if name not in used), parameter, module))
    return named


# -- the report --------------------------------------------------------------------------
COLUMNS = ("gradient", "shape", "checked", "max abs err", "max rel err", "worst at",
           "backward", "numerical", "result")


class GradientCheckError(AssertionError):
    """Raised by a failed gradient check; the message is the report's table.

    An ``AssertionError``, so a failed check reads as a failed test. ``report`` holds
    the :class:`GradientCheckReport`.

    Examples
    --------
    >>> class SignError(Activation):                # f(x) = x**2 with a wrong slope
    ...     def function(self, x):
    ...         return x * x
    ...     def derivative(self, x):
    ...         return -2.0 * x
    >>> try:
    ...     check_gradients(SignError(), np.array([[1.0, 2.0]]), raise_on_failure=True)
    ... except GradientCheckError as error:
    ...     print(error.report.passed, [row.name for row in error.report.rows])
    False ['input']
    """

    def __init__(self, report: GradientCheckReport) -> None:
        super().__init__(str(report))
        self.report = report


@dataclass(frozen=True)
class GradientCheckRow:
    """The comparison for one gradient (the input's, or one parameter's).

    Attributes
    ----------
    name
        ``"input"`` for ``dL/dx``; a parameter's attribute name (``"weight"``) for a
        layer; ``"<layer name>.<attribute>"`` for a network.
    shape
        The shape of the gradient.
    checked
        How many entries were compared (all of them unless ``max_entries`` sampled).
    max_abs_error
        The largest ``|backward - numerical|`` over the checked entries.
    max_rel_error
        The largest relative error ``|a - n| / max(|a|, |n|, atol / rtol)``.
    worst_index
        Where the relative error is largest (an index into the gradient), or None.
    backward, numerical
        The two values at ``worst_index`` (NaN when there is none).
    passed
        True when ``max_rel_error <= rtol`` and no problem was found.
    problem
        What went wrong beyond the numbers (wrong shape, NaN, nothing returned), or "".
    """

    name: str
    shape: tuple[int, ...]
    checked: int
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple[int, ...] | None
    backward: float
    numerical: float
    passed: bool
    problem: str = ""


@dataclass(eq=False)
class GradientCheckReport:
    """The result of :func:`check_gradients`: one row per gradient, printable as a table.

    ``bool(report)`` is ``report.passed``, so ``assert check_gradients(layer, x)`` works;
    ``report.raise_if_failed()`` gives the better message (the whole table).

    Attributes
    ----------
    subject
        What was checked, e.g. ``"Dense 'dense'"``.
    rows
        A :class:`GradientCheckRow` per gradient: ``"input"`` first, then the parameters.
    problems
        Contract violations found outside the numbers (an input or ``grad_y`` changed
        in place, an output that is not float64); any of them fails the check.
    eps, rtol, atol
        The settings used (``atol`` after any raise for rounding noise, see
        ``NOISE_FACTOR``).
    requested_atol
        The ``atol`` asked for (None when constructing: then the same as ``atol``).

    Examples
    --------
    >>> report = check_gradients(Dense(3, 2, seed=0), np.ones((4, 3)))
    >>> report.passed, [row.name for row in report.rows]
    (True, ['input', 'weight', 'bias'])
    >>> report.max_relative_error < 1e-6
    True
    """

    subject: str
    rows: list[GradientCheckRow]
    problems: list[str]
    eps: float = field(kw_only=True)
    rtol: float = field(kw_only=True)
    atol: float = field(kw_only=True)
    requested_atol: float | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.requested_atol is None:
            self.requested_atol = self.atol

    @property
    def passed(self) -> bool:
        """True when every gradient agrees with finite differences and nothing else is wrong."""
        return not self.problems and all(row.passed for row in self.rows)

    @property
    def max_relative_error(self) -> float:
        """The worst relative error over all gradients (``inf`` if one could not be compared)."""
        return max((np.inf if np.isnan(r.max_rel_error) else r.max_rel_error for r in self.rows), default=0.0)

    @property
    def failures(self) -> list[GradientCheckRow]:
        """The rows that failed."""
        return [row for row in self.rows if not row.passed]

    @property
    def failed_names(self) -> list[str]:
        """The names of the gradients that failed, e.g. ``["weight"]``."""
        return [row.name for row in self.failures]

    def __getitem__(self, name: str) -> GradientCheckRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no gradient named {name!r}; the report has {[row.name for row in self.rows]}")

    def raise_if_failed(self) -> GradientCheckReport:
        """Raise :class:`GradientCheckError` (the table as message) if the check failed.

        Returns the report itself when it passed, so calls can be chained.
        """
        if not self.passed:
            raise GradientCheckError(self)
        return self

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        """The verdict and settings, a table with a row per gradient, then each problem found."""
        wrong = f"{len(self.failures)} of {len(self.rows)} gradients wrong"
        others = f", {len(self.problems)} other problem(s)" if self.problems else ""
        verdict = "passed" if self.passed else f"FAILED ({wrong}{others})"
        raised = (f" (atol raised from {self.requested_atol:g} to the rounding noise of large outputs)"
                  if self.requested_atol is not None and self.atol > self.requested_atol else "")
        table = [COLUMNS, *(_cells(row) for row in self.rows)]
        widths = [max(len(cell) for cell in column) for column in zip(*table, strict=True)]
        table.insert(1, tuple("-" * width for width in widths))  # under the column names
        lines = [f"Gradient check of {self.subject}: {verdict}",
                 f"  float64, eps={self.eps:g}; an entry is ok when |backward - numerical| <= "
                 f"max({self.rtol:g} * max(|backward|, |numerical|), {self.atol:.3g}){raised}"]
        for cells in table:  # names and shapes to the left, numbers to the right
            aligned = [cell.ljust(width) if column < 2 else cell.rjust(width)
                       for column, (cell, width) in enumerate(zip(cells, widths, strict=True))]
            lines.append(("  " + "  ".join(aligned)).rstrip())
        lines += [f"  {row.name}: {row.problem}" for row in self.rows if row.problem]
        lines += [f"  problem: {problem}" for problem in self.problems]
        if any(not row.problem for row in self.failures):  # a correct layer fails there: it looks broken
            lines.append("  (if x sits on a kink of the function, ReLU's or |x|'s at 0, it has no derivative "
                         "there: check again at a point off it)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"GradientCheckReport(subject={self.subject!r}, passed={self.passed}, "
                f"max_relative_error={self.max_relative_error:.3g})")


def _cells(row: GradientCheckRow) -> tuple[str, ...]:
    """One table line: the row's fields as text ("-" for the numbers of a row that compared nothing)."""
    abs_error, rel_error, backward, numerical = (_number(value, row.checked > 0) for value in (
        row.max_abs_error, row.max_rel_error, row.backward, row.numerical))
    where = "-" if row.worst_index is None else str(row.worst_index)
    return (row.name, str(row.shape), f"{row.checked}/{np.prod(row.shape, dtype=int)}", abs_error, rel_error,
            where, backward, numerical, "ok" if row.passed else "WRONG")


def _number(value: float, compared: bool) -> str:
    if np.isnan(value):
        return "NaN" if compared else "-"
    return f"{value:.3g}" if value == 0.0 or 1e-3 <= abs(value) < 1e4 else f"{value:.2e}"
