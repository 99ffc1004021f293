"""Checks run where data enters minidl, so bad input fails loudly and early.

Layers only compare sizes (cheap, done on every call). The scans that touch every
element (finiteness, dtype conversion) live here and run at the public entry points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

from minidl._typing import Array

T = TypeVar("T")

def as_float_array(value: Any, name: str, *, dtype: Any = None) -> Array:
    """Turn ``value`` into a finite, real floating-point array, or raise.

    Parameters
    ----------
    value
        An array or anything ``numpy.asarray`` accepts.
    name
        How the caller calls it, for the error message (e.g. ``"x"``).
    dtype
        The floating dtype wanted; ``None`` keeps a floating input's dtype and turns
        integers and booleans into float64.

    Raises
    ------
    TypeError
        For non-numeric, complex or object data.
    ValueError
        For empty data, data holding NaN or infinity, values beyond ``dtype``'s range
        (1e6 in float16: the cast would make them infinite), or a numpy masked array with
        masked values (one with none masked is read as its data).
    """
    # Fast path: an ndarray already of the wanted floating dtype is used as it is (no
    # conversion, no copy); only the size and finiteness checks below remain. This is
    # what every call of a training loop sees.
    if type(value) is np.ndarray and (value.dtype == dtype if dtype is not None else value.dtype.kind == "f"):
        array: Array = value
        source = array
    else:
        if isinstance(value, np.ma.MaskedArray):  # np.asarray drops the mask: the hidden values would count
            value = unmasked(value, name)
        try:
            source = np.asarray(value)  # the array before the cast
        except (ValueError, TypeError) as error:  # ragged nested lists end here
            raise TypeError(f"{name} must be a rectangular array of numbers; got {error}") from None
        if source.dtype.kind not in "fiub":
            raise TypeError(f"{name} must hold real numbers (int, float or bool); got dtype {source.dtype}")
        if dtype is None:
            dtype = source.dtype if source.dtype.kind == "f" else np.float64
        with np.errstate(over="ignore"):  # an overflow is reported below, naming the dtype
            array = source.astype(dtype, copy=False)
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}); expected at least one value")
    try:
        check_finite(array, name)
    except ValueError:
        if source is not array:  # finite before the cast: say it was the dtype's range
            check_finite(source, name)
            check_in_range(source, array.dtype, name)
        raise
    return array


def unmasked(value: np.ma.MaskedArray[Any, Any], name: str) -> np.ndarray[Any, Any]:
    """The data of a masked array none of whose values is masked; else a ``ValueError`` naming ``name``."""
    masked = np.asarray(value.mask, dtype=bool)  # np.ma.nomask is False (np.ma's functions are untyped)
    if masked.any():
        raise ValueError(f"{name} is a masked array with {int(masked.sum())} of its "
                         f"{value.size} values masked; minidl would ignore the mask and read the values "
                         "under it: fill them first (.filled(value)) or drop them (.compressed() for 1-D "
                         "data; else keep the rows with no masked value)")
    return np.asarray(value.data)


def check_in_range(array: Array, dtype: Any, name: str) -> Array:
    """Raise ``ValueError`` (naming ``name``, ``dtype``, the largest value) if casting to ``dtype`` overflows.

    ``array`` is finite and real; 1e6 becomes inf in float16 (whose largest value is 65504).
    Returns ``array`` (as it is) when it fits.
    """
    if array.dtype.kind not in "iuf" or np.can_cast(array.dtype, dtype):
        return array
    largest = max(-float(np.min(array)), float(np.max(array)))  # np.abs(int64's minimum) overflows
    with np.errstate(over="ignore"):
        if np.isfinite(np.float64(largest).astype(dtype)):
            return array
    raise ValueError(f"{name} holds {largest:g} (in magnitude), beyond the range of {np.dtype(dtype)} "
                     f"(largest {float(np.finfo(dtype).max):g}), where it would become inf: scale it down, "
                     "or use a wider dtype (e.g. network.astype(np.float64))")


def as_batch(x: Array) -> tuple[Array, bool]:
    """``x`` with a batch axis first, and whether one was added: ``(batch, was_single)``.

    Layers take batches. A single sample of shape ``(features,)`` becomes a batch of one,
    ``x[None]`` (a view, no copy); any other rank is returned as it is. Take the axis off
    the result with ``y[0]`` when ``was_single``.
    """
    return (x[None], True) if x.ndim == 1 else (x, False)


def check_finite(array: Array, name: str) -> None:
    """Raise ``ValueError`` naming ``name`` and the first bad position if NaN or inf is present."""
    # One reduction first: the sum of squares ``x . x``, which a NaN or an infinity anywhere
    # makes NaN or infinite. ``np.vdot`` computes it by BLAS with no temporary, for any size
    # (0.5 us on two numbers, where a mask and ``all`` took 1.2 us), and does not warn when
    # it overflows. A non-contiguous array (which vdot would copy) is summed instead. Only
    # when the result is not finite do we pay for the mask, which also tells an overflow of
    # the reduction (huge finite values) apart from a real NaN/inf.
    if array.flags.c_contiguous:
        total = np.vdot(array, array)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            total = np.sum(array)
    if math.isfinite(total) or np.isfinite(array).all():  # all finite: only the reduction overflowed
        return
    bad = ~np.isfinite(array)
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f" at index {index}" if array.ndim else ""
    raise ValueError(f"{name} must be finite; got {array[index]}{where} ({int(bad.sum())} non-finite values)")


def check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` as an int if it is a positive integer, else raise with its name."""
    return check_int(value, name, 1, "a positive integer")


def check_count(value: Any, name: str) -> int:
    """Return ``value`` as an int if it is an integer ``>= 0`` (a patience, a cooldown), else raise."""
    return check_int(value, name, 0, "an integer >= 0")


def check_int(value: Any, name: str, minimum: int, wanted: str) -> int:
    """Return ``value`` as an int if it is an integer ``>= minimum``, else raise: ``name must be wanted``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be {wanted}; got {value!r}")
    return int(value)


def check_int_pair(value: Any, name: str, *, minimum: int = 1) -> tuple[int, int]:
    """Return ``value`` as ``(height, width)``: an int ``n`` means ``(n, n)``; a pair is checked.

    Both entries must be integers of at least ``minimum`` (1 for sizes and strides, 0 for
    paddings), else ``ValueError`` (``TypeError`` for a value that is neither) names ``name``.
    """
    items = [value, value] if isinstance(value, (int, np.integer)) else value
    if not isinstance(items, (list, tuple)) or len(items) != 2:
        raise TypeError(f"{name} must be an int or a pair of ints (height, width); got {value!r}")
    if any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum for n in items):
        least = "positive integers" if minimum == 1 else f"integers >= {minimum}"
        raise ValueError(f"{name} must be {least} (an int or a pair (height, width)); got {value!r}")
    return int(items[0]), int(items[1])


def check_verbose(value: Any, name: str, printing: str = "1 or 2 (print what it does)") -> int:
    """A ``verbose`` as an int: 0 silent; 1 or 2 print, as in Keras (a callback's, or fit's).

    ``printing`` says what 1 and 2 do, for the message (fit's: a progress bar, one line per epoch).
    """
    if value not in (0, 1, 2):  # False and True pass as 0 and 1
        raise ValueError(f"{name} must be 0 (silent), {printing}; got {value!r}")
    return int(value)


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` if it is True or False (a numpy bool too), else raise with its name."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_float_dtype(value: Any, name: str) -> np.dtype[Any]:
    """Return ``value`` as a numpy dtype if it is a floating one (float16/32/64), else raise."""
    try:
        dtype: np.dtype[Any] = np.dtype(value)
    except TypeError:  # "nope", 2.0, object(): numpy's "data type not understood"
        raise TypeError(f"{name} must be a floating dtype; got {value!r}") from None
    if dtype.kind != "f":
        raise TypeError(f"{name} must be a floating dtype; got {dtype}")
    return dtype


def check_real(value: Any, name: str, *, low: float = -math.inf, high: float = math.inf,
               low_inclusive: bool = True, high_inclusive: bool = True) -> float:
    """Return ``value`` as a float if it is a finite real in the given range, else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite; got {number}")
    if not (low < number < high or (number == low and low_inclusive) or (number == high and high_inclusive)):
        interval = f"{'[' if low_inclusive else '('}{low}, {high}{']' if high_inclusive else ')'}"
        raise ValueError(f"{name} must be in {interval}; got {number}")
    return number


def config_repr(obj: Any) -> str:
    """``Type(key=value, ...)`` from ``obj.config()``: the call that rebuilds ``obj``, as its ``repr``.

    Layers, optimizers and callbacks take it as their ``__repr__``.
    """
    arguments = ", ".join(f"{key}={value!r}" for key, value in obj.config().items())
    return f"{type(obj).__name__}({arguments})"


def type_of(value: object) -> str:
    """How an error names what it was given: the type, or for a class, how to make one of it.

    Passing the class itself (``Adam``, ``ReLU``) is a Keras and PyTorch habit.
    """
    if isinstance(value, type):
        return f"the class {value.__name__}; create one with {value.__name__}()"
    return type(value).__name__


def class_by_name(table: Mapping[str, Callable[[], T]], name: object, kind: str,
                  object_kind: str | None = None) -> T:
    """A new object of the class ``table`` names ``name`` (case-insensitive), or a clear error.

    Shared by ``get_activation``, ``get_loss`` and ``get_optimizer``, so a misspelt name
    gets the same message everywhere: the valid names. ``object_kind`` says what else the
    caller accepts besides a name (e.g. "an Optimizer object"), if anything.
    """
    if not isinstance(name, str):
        alternative = f" or {object_kind}" if object_kind else ""
        raise TypeError(f"{kind} must be a name{alternative}; got {type_of(name)}")
    make = table.get(name.lower())
    if make is None:
        valid = ", ".join(repr(key) for key in table) + (f", or {object_kind}" if object_kind else "")
        raise ValueError(f"unknown {kind} {name!r}; valid names: {valid}")
    return make()
