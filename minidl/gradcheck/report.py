"""What a gradient check found: a report with one row per gradient, printable as a table.

:class:`GradientCheckRow` compares one gradient, :class:`GradientCheckReport` gathers the
rows (and prints them), :class:`GradientCheckError` is raised when the check failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["GradientCheckError", "GradientCheckReport", "GradientCheckRow"]

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
        if any(not row.passed and not np.isfinite(row.max_rel_error) for row in self.rows):
            return float("inf")
        return max((row.max_rel_error for row in self.rows if np.isfinite(row.max_rel_error)), default=0.0)

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
        verdict = "passed"
        if not self.passed:
            others = f", {len(self.problems)} other problem(s)" if self.problems else ""
            verdict = f"FAILED ({len(self.failures)} of {len(self.rows)} gradients wrong{others})"
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
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"GradientCheckReport(subject={self.subject!r}, passed={self.passed}, "
                f"max_relative_error={self.max_relative_error:.3g})")


def _cells(row: GradientCheckRow) -> tuple[str, ...]:
    """One table line: the row's fields as text ("-" for the numbers of a row that compared nothing)."""
    errors = [_number(value, row.checked > 0) for value in (row.max_abs_error, row.max_rel_error)]
    values = [_number(value, row.checked > 0) for value in (row.backward, row.numerical)]
    where = "-" if row.worst_index is None else str(row.worst_index)
    checked = f"{row.checked}/{int(np.prod(row.shape, dtype=np.int64))}"
    return (row.name, str(row.shape), checked, *errors, where, *values, "ok" if row.passed else "WRONG")


def _number(value: float, compared: bool) -> str:
    if np.isnan(value):
        return "NaN" if compared else "-"
    return f"{value:.3g}" if value == 0.0 or 1e-3 <= abs(value) < 1e4 else f"{value:.2e}"
