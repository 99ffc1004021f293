"""``check_gradients``: is a backward pass right? Compare it with finite differences.

A wrong ``backward`` does not crash: the network just learns badly. This module tells
you, gradient by gradient, whether a layer's (or a network's, or a loss's) backward pass
agrees with the slope measured numerically, and if not, where and by how much.

How it works
------------
For a layer with output ``y = f(x; params)`` the check draws a random upstream gradient
``G`` (shape of ``y``, seeded) and looks at the scalar ``s = sum(G * y)``. Its exact
gradients are what ``backward(G)`` returns (``ds/dx``) and writes into every
parameter's ``grad``. The numerical estimate of each entry is the central difference::

    ds/dv[i] ~ (s(v[i] + eps) - s(v[i] - eps)) / (2 * eps)

computed as ``sum(G * (y_plus - y_minus)) / (2 * eps)`` (subtracting the outputs first
keeps the rounding error small). A random ``G`` rather than all ones means a backward
that is only right for ``G = 1`` (a forgotten factor of ``grad_y``, a sum in the wrong
place) is caught. For a loss ``s`` is the loss itself.

Everything runs in float64 on a deep copy of the object, whatever its dtype: a float32
layer is checked as the same layer in float64 (finite differences in float32 are
meaningless). The object you pass is never changed: not its parameters, gradients,
caches, running statistics or random generators.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from minidl._typing import Array, ArrayLike
from minidl._validation import as_float_array, check_positive_int, check_real
from minidl.errors import backward_failure, not_initialised
from minidl.layers.base import Layer, Parameter
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


class GradientCheckReport:
    """The result of :func:`check_gradients`: one row per gradient, printable as a table.

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
        The ``atol`` asked for.

    ``bool(report)`` is ``report.passed``, so ``assert check_gradients(layer, x)`` works;
    ``report.raise_if_failed()`` gives the better message (the whole table).

    Examples
    --------
    >>> report = check_gradients(Dense(3, 2, seed=0), np.ones((4, 3)))
    >>> report.passed, [row.name for row in report.rows]
    (True, ['input', 'weight', 'bias'])
    >>> report.max_relative_error < 1e-6
    True
    """

    def __init__(
        self,
        subject: str,
        rows: list[GradientCheckRow],
        problems: list[str],
        *,
        eps: float,
        rtol: float,
        atol: float,
        requested_atol: float | None = None,
    ) -> None:
        self.subject = subject
        self.requested_atol = atol if requested_atol is None else requested_atol
        self.rows = rows
        self.problems = problems
        self.eps = eps
        self.rtol = rtol
        self.atol = atol

    @property
    def passed(self) -> bool:
        """True when every gradient agrees with finite differences and nothing else is wrong."""
        return not self.problems and all(row.passed for row in self.rows)

    @property
    def max_relative_error(self) -> float:
        """The worst relative error over all gradients (``inf`` if one could not be compared)."""
        worst = 0.0
        for row in self.rows:
            error = row.max_rel_error
            if not np.isfinite(error) and not row.passed:
                return float("inf")
            worst = max(worst, error)
        return worst

    @property
    def failures(self) -> list[GradientCheckRow]:
        """The rows that failed."""
        return [row for row in self.rows if not row.passed]

    @property
    def failed_names(self) -> list[str]:
        """The names of the gradients that failed, e.g. ``["weight"]``."""
        return [row.name for row in self.rows if not row.passed]

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
        verdict = "passed" if self.passed else (
            f"FAILED ({len(self.failures)} of {len(self.rows)} gradients wrong"
            + (f", {len(self.problems)} other problem(s))" if self.problems else ")")
        )
        header = (
            f"Gradient check of {self.subject}: {verdict}\n"
            f"  float64, eps={self.eps:g}; an entry is ok when |backward - numerical| <= "
            f"max({self.rtol:g} * max(|backward|, |numerical|), {self.atol:.3g})"
            + (f" (atol raised from {self.requested_atol:g} to the rounding noise of large outputs)"
               if self.atol > self.requested_atol else "")
        )
        table = [("gradient", "shape", "checked", "max abs err", "max rel err", "worst at",
                  "backward", "numerical", "result")]
        for row in self.rows:
            size = int(np.prod(row.shape, dtype=np.int64))
            table.append((
                row.name,
                str(row.shape),
                f"{row.checked}/{size}",
                _number(row.max_abs_error, row.checked > 0),
                _number(row.max_rel_error, row.checked > 0),
                "-" if row.worst_index is None else str(row.worst_index),
                _number(row.backward, row.checked > 0),
                _number(row.numerical, row.checked > 0),
                "ok" if row.passed else "WRONG",
            ))
        widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
        lines = [header]
        for index, line in enumerate(table):
            cells = [
                cell.ljust(width) if column in (0, 1) else cell.rjust(width)
                for column, (cell, width) in enumerate(zip(line, widths, strict=True))
            ]
            lines.append("  " + "  ".join(cells).rstrip())
            if index == 0:
                lines.append("  " + "  ".join("-" * width for width in widths))
        for row in self.rows:
            if row.problem:
                lines.append(f"  {row.name}: {row.problem}")
        lines.extend(f"  problem: {problem}" for problem in self.problems)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"GradientCheckReport(subject={self.subject!r}, passed={self.passed}, "
            f"max_relative_error={self.max_relative_error:.3g})"
        )


def _number(value: float, compared: bool = True) -> str:
    if np.isnan(value):
        return "NaN" if compared else "-"
    return f"{value:.3g}" if value == 0.0 or 1e-3 <= abs(value) < 1e4 else f"{value:.2e}"


def check_gradients(
    obj: Layer | Network | Loss,
    x: ArrayLike,
    target: ArrayLike | None = None,
    *,
    eps: float = DEFAULT_EPS,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    seed: int | None = 0,
    max_entries: int | None = DEFAULT_MAX_ENTRIES,
    raise_on_failure: bool = False,
) -> GradientCheckReport:
    """Check a backward pass against central finite differences, in float64.

    Compares ``dL/dx`` and every parameter's gradient, as computed by ``backward``, with
    numerical derivatives of the forward pass (see the module docstring for the method).
    The check runs on a float64 deep copy: ``obj`` itself is left exactly as it was.

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
        Tolerances: an entry passes when ``|a - n| <= max(rtol * max(|a|, |n|), atol)``
        for the backward value ``a`` and the numerical value ``n``; the report's relative
        error is ``|a - n| / max(|a|, |n|, atol / rtol)``, so the check passes when it is
        at most ``rtol``. Defaults ``rtol=1e-5`` (correct code agrees to about ``1e-8``;
        real mistakes are off by ``1e-1`` or more) and ``atol=1e-6`` (for gradients that
        are zero, where a relative error means nothing and rounding leaves ~1e-8). When
        the outputs are large, ``atol`` is raised to the rounding noise of the finite
        differences, ``100 * 2.2e-16 * sum(|G * y|) / eps`` (the report says so).
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
    with that explanation.

    Before ``backward`` runs, every parameter's ``grad`` is filled with NaN, so a
    gradient that ``backward`` forgets to write (or adds to instead of assigning, which
    breaks minidl's overwrite contract) shows up as such. A Parameter that
    ``parameters()`` does not list (created in ``forward``, or kept in a list or dict)
    fails the check too: the optimizers would never update it.

    Examples
    --------
    >>> report = check_gradients(Dense(3, 2, seed=0), np.arange(12.0).reshape(4, 3))
    >>> report.passed, [row.name for row in report.rows]
    (True, ['input', 'weight', 'bias'])
    >>> check_gradients(MeanSquaredError(), np.array([[1.0], [2.0]]), [0.5, 3.0]).passed
    True
    """
    eps = check_real(eps, "check_gradients eps", low=0.0, low_inclusive=False)
    rtol = check_real(rtol, "check_gradients rtol", low=0.0, low_inclusive=False)
    atol = check_real(atol, "check_gradients atol", low=0.0)
    if max_entries is not None:
        max_entries = check_positive_int(max_entries, "check_gradients max_entries")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"check_gradients seed must be a non-negative int or None; got {seed!r}")
    if not isinstance(obj, (Layer, Network, Loss)):
        raise TypeError(
            "check_gradients expects a minidl Layer, Network or Loss; "
            f"got {type(obj).__name__}"
        )
    if isinstance(obj, Layer) and not (hasattr(obj, "training") and hasattr(obj, "name")):
        raise TypeError(not_initialised(obj, "check_gradients obj"))
    is_loss = isinstance(obj, Loss)
    if is_loss and target is None:
        raise TypeError(f"check_gradients of the loss {type(obj).__name__} needs a target")
    if not is_loss and target is not None:
        raise TypeError(
            f"check_gradients: target is only used for a Loss; got a target for a {type(obj).__name__}"
        )
    point = np.array(as_float_array(x, "check_gradients x", dtype=np.float64), order="C", copy=True)
    # Entropy (seed, tag) rather than seed alone: an x drawn by the user from
    # default_rng(seed) must not coincide with the upstream gradient (x.T @ G symmetric
    # would hide a transposed weight gradient).
    rng = np.random.default_rng(None if seed is None else [seed, 0x6D696E69])

    try:
        clone = copy.deepcopy(obj)
    except Exception as error:
        raise TypeError(
            f"check_gradients works on a copy of the object, but {type(obj).__name__} could not "
            f"be copied ({type(error).__name__}: {error}); keep only arrays, numbers and "
            "numpy Generators as attributes"
        ) from error
    generators = _to_float64(clone)
    global_state = np.random.get_state()  # noqa: NPY002 (layers may use the legacy global state)
    try:
        return _check(
            clone, point, target, rng, generators, global_state,
            eps=eps, rtol=rtol, atol=atol, max_entries=max_entries,
            raise_on_failure=raise_on_failure,
        )
    finally:
        np.random.set_state(global_state)  # noqa: NPY002


def _check(
    clone: Layer | Network | Loss,
    point: Array,
    target: ArrayLike | None,
    rng: np.random.Generator,
    generators: list[tuple[Any, Any]],
    global_state: Any,
    *,
    eps: float,
    rtol: float,
    atol: float,
    max_entries: int | None,
    raise_on_failure: bool,
) -> GradientCheckReport:
    def reset_randomness() -> None:
        for generator, state in generators:
            if isinstance(generator, np.random.Generator):
                generator.bit_generator.state = state
            else:
                generator.set_state(state)
        np.random.set_state(global_state)  # noqa: NPY002

    problems: list[str] = []
    named: list[tuple[str, Parameter]]
    forward: Callable[[Array], Any]
    if isinstance(clone, Loss):
        loss = clone
        actual = np.asarray(target)
        if actual.dtype.kind == "f":
            actual = actual.astype(np.float64)
        subject = type(loss).__name__
        named = []

        def forward(value: Array) -> Any:
            return loss.forward(value, actual)
    else:
        module = clone
        subject = (
            f"Network of {len(module)} layers" if isinstance(module, Network)
            else f"{type(module).__name__} {module.name!r}"
        )
        named = _named_parameters(module)
        forward = module.forward

    # -- the backward pass under test ---------------------------------------------------
    reset_randomness()
    before = point.copy()
    output = forward(point)
    if not np.array_equal(point, before):
        problems.append("forward changed its input x in place; it must leave x as it is")
        point[...] = before
    if isinstance(clone, Loss):
        if not isinstance(output, (float, np.floating)):
            raise TypeError(f"{subject}.forward must return a float; got {type(output).__name__}")
        upstream = None
        returned = clone.backward()
    else:
        if not isinstance(output, np.ndarray):
            raise TypeError(f"{subject}: forward must return a numpy array; got {type(output).__name__}")
        if output.dtype != np.float64:
            problems.append(
                f"forward returned dtype {output.dtype} for a float64 input; the check needs "
                "float64 to be reliable (a forward should compute in its input's dtype)"
            )
        upstream = rng.standard_normal(output.shape)
        sent = upstream.copy()
        for _, parameter in named:
            parameter.grad = np.full(parameter.shape, np.nan)
        try:
            returned = clone.backward(sent)
        except (AttributeError, TypeError) as error:
            if isinstance(clone, Network):
                raise  # Network.backward already named the layer
            raise backward_failure(clone, sent, error) from error
        if not np.array_equal(sent, upstream):
            problems.append("backward changed grad_y in place; it must leave its argument as it is")
    # Copies of what backward produced, taken before any other forward runs (a layer may
    # reuse its buffers, or clear its gradients in forward).
    analytic: list[Any] = [returned, *(parameter.grad for _, parameter in named)]
    analytic = [value.copy() if isinstance(value, np.ndarray) else value for value in analytic]
    if not isinstance(clone, Loss):
        problems.extend(_unseen_parameters(clone, named))
    # Finite differences need a forward that is a function of its input: run it again.
    first = float(output) if upstream is None else np.array(output, dtype=np.float64, copy=True)
    reset_randomness()
    again = forward(point)
    if not np.array_equal(first, again):
        problems.append(
            "forward gave different outputs for the same input; keep any randomness in a "
            "numpy.random.Generator attribute (the check restores its state before each forward)"
        )
    # How big the differenced quantity is sets the rounding noise of finite differences.
    magnitude = abs(float(output)) if upstream is None else float(np.vdot(np.abs(upstream), np.abs(output)))
    requested_atol = atol
    atol = max(atol, NOISE_FACTOR * float(np.finfo(np.float64).eps) * magnitude / eps)

    def directional(plus: Any, minus: Any) -> float:
        if upstream is None:
            return float(plus) - float(minus)
        return float(np.vdot(upstream, plus - np.asarray(minus)))

    def measure(values: Array, analytic: Any, name: str) -> GradientCheckRow:
        shape = values.shape
        problem = ""
        if not isinstance(analytic, np.ndarray):
            problem = (
                f"backward gave {type(analytic).__name__}, not an array "
                + ("(does backward end with `return grad_x`?)" if name == "input" else "")
            ).rstrip()
        elif analytic.shape != shape:
            problem = f"backward gave shape {analytic.shape}; expected {shape} (the shape of {name})"
        if problem:
            nan = float("nan")
            return GradientCheckRow(name, shape, 0, nan, nan, None, nan, nan, False, problem)
        flat_values = values.reshape(-1)
        flat_analytic = np.asarray(analytic, dtype=np.float64).reshape(-1)
        size = flat_values.size
        if max_entries is not None and size > max_entries:
            indices = np.sort(rng.choice(size, size=max_entries, replace=False))
        else:
            indices = np.arange(size)
        numerical = np.empty(len(indices))
        for k, i in enumerate(indices):
            original = flat_values[i]
            high, low = original + eps, original - eps
            flat_values[i] = high
            reset_randomness()
            plus = forward(point)
            plus = float(plus) if upstream is None else np.array(plus, dtype=np.float64, copy=True)
            flat_values[i] = low
            reset_randomness()
            minus = forward(point)
            # Before restoring the entry: ``minus`` may be a view of the input.
            numerical[k] = directional(plus, minus) / (high - low)
            flat_values[i] = original
        backward_values = flat_analytic[indices]
        if np.isnan(backward_values).any():
            all_nan = bool(np.isnan(flat_analytic).all())
            problem = (
                "backward never wrote this gradient (it is still NaN); assign every entry, "
                "e.g. `self.b.grad[...] = grad_y.sum(axis=0)`, not `+=`"
                if all_nan and name != "input"
                else "backward gave NaN values"
            )
        elif not np.isfinite(numerical).all():
            problem = "forward gave NaN or infinity near this point; choose another x"
        if len(indices) == 0:
            return GradientCheckRow(name, shape, 0, 0.0, 0.0, None, float("nan"), float("nan"),
                                    not problem, problem)
        abs_error = np.abs(backward_values - numerical)
        scale = np.maximum(np.maximum(np.abs(backward_values), np.abs(numerical)), atol / rtol)
        rel_error = abs_error / scale
        rel_error = np.where(np.isnan(rel_error), np.inf, rel_error)
        worst = int(np.argmax(rel_error))
        max_rel = float(rel_error[worst])
        worst_index = tuple(int(v) for v in np.unravel_index(int(indices[worst]), shape))
        return GradientCheckRow(
            name=name,
            shape=shape,
            checked=len(indices),
            max_abs_error=float(np.nanmax(abs_error)) if not np.isnan(abs_error).all() else float("nan"),
            max_rel_error=max_rel,
            worst_index=worst_index,
            backward=float(backward_values[worst]),
            numerical=float(numerical[worst]),
            passed=not problem and max_rel <= rtol,
            problem=problem,
        )

    rows = [measure(point, analytic[0], "input")]
    rows += [
        measure(parameter.value, gradient, name)
        for (name, parameter), gradient in zip(named, analytic[1:], strict=True)
    ]
    report = GradientCheckReport(subject, rows, problems, eps=eps, rtol=rtol, atol=atol,
                                 requested_atol=requested_atol)
    if raise_on_failure:
        report.raise_if_failed()
    return report


def _named_parameters(module: Layer | Network) -> list[tuple[str, Parameter]]:
    """``(name, parameter)`` pairs: attribute names for a layer, ``layer.attribute`` for a network."""
    if isinstance(module, Network):
        return [
            (f"{layer.name}.{name}", parameter)
            for layer in module.layers
            for name, parameter in _named_parameters(layer)
        ]
    attributes = {id(value): key for key, value in getattr(module, "__dict__", {}).items()
                  if isinstance(value, Parameter)}
    named: list[tuple[str, Parameter]] = []
    used: set[str] = {"input"}
    for parameter in module.parameters():
        base = attributes.get(id(parameter), parameter.name)
        name, count = base, 1
        while name in used:
            count += 1
            name = f"{base}_{count}"
        used.add(name)
        named.append((name, parameter))
    return named


def _unseen_parameters(module: Layer | Network, named: list[tuple[str, Parameter]]) -> list[str]:
    """Parameters that ``parameters()`` did not list before the forward pass, one message each.

    Two learner mistakes leave a parameter that optimizers never update (and that the
    check cannot compare): creating it in ``forward`` rather than ``__init__``, and
    keeping it inside a list, tuple or dict, where the attribute scan does not look.
    """
    known = {id(parameter) for _, parameter in named}
    messages: list[str] = []
    for layer in module.layers if isinstance(module, Network) else [module]:
        label = f"{type(layer).__name__} {layer.name!r}"
        for key, value in vars(layer).items():
            if isinstance(value, Parameter) and id(value) not in known:
                messages.append(
                    f"{label}: the Parameter {key!r} was not among parameters() before forward ran "
                    "(created in forward?); create every Parameter in __init__, after "
                    "super().__init__(), or the optimizers never see it (it was not checked)"
                )
            elif isinstance(value, (list, tuple, dict)):
                items = value.values() if isinstance(value, dict) else value
                if any(isinstance(item, Parameter) and id(item) not in known for item in items):
                    messages.append(
                        f"{label}: attribute {key!r} holds Parameters inside a "
                        f"{type(value).__name__}; parameters() finds only Parameter attributes "
                        "(self.w = Parameter(...)), so the optimizers would never update them "
                        "(they were not checked)"
                    )
    return messages


def _to_float64(root: Any) -> list[tuple[Any, Any]]:
    """Cast, in place, every floating array and Parameter reachable from ``root`` to float64.

    Walks attributes of layers, networks, losses and the lists, tuples and dicts they
    hold. Returns each random generator found, with its current state.
    """
    generators: list[tuple[Any, Any]] = []
    seen: set[int] = set()

    def cast(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            if value.dtype.kind == "f" and value.dtype != np.float64:
                return value.astype(np.float64)
            return value
        if isinstance(value, np.floating) and not isinstance(value, np.float64):
            return np.float64(value)
        if isinstance(value, np.dtype) and value.kind == "f":
            return np.dtype(np.float64)
        if isinstance(value, type) and issubclass(value, np.floating):  # e.g. self.dtype = np.float32
            return np.float64
        if id(value) in seen:
            return value
        if isinstance(value, Parameter):
            seen.add(id(value))
            value.value = np.ascontiguousarray(value.value, dtype=np.float64)
            value.grad = np.zeros_like(value.value)
        elif isinstance(value, np.random.Generator):
            seen.add(id(value))
            generators.append((value, value.bit_generator.state))
        elif isinstance(value, np.random.RandomState):
            seen.add(id(value))
            generators.append((value, value.get_state()))
        elif isinstance(value, list):
            seen.add(id(value))
            value[:] = [cast(item) for item in value]
        elif isinstance(value, dict):
            seen.add(id(value))
            for key in list(value):
                value[key] = cast(value[key])
        elif isinstance(value, tuple):
            return tuple(cast(item) for item in value)
        elif isinstance(value, (Layer, Network, Loss)):
            seen.add(id(value))
            for key, item in list(vars(value).items()):
                new = cast(item)
                if new is not item:
                    setattr(value, key, new)
        return value

    cast(root)
    return generators
