"""Weight initializers: how a layer's parameters start.

Each initializer is a function ``(shape, rng, dtype) -> array`` where ``shape`` is
``(fan_in, fan_out)`` for a weight matrix, or ``(out_channels, in_channels, kh, kw)`` for a
convolution kernel (PyTorch's layout), whose ``fan_in`` is ``in_channels * kh * kw`` and
``fan_out`` is ``out_channels * kh * kw``. The names follow Keras:

| name                      | distribution                                        |
|---------------------------|-----------------------------------------------------|
| ``"he_normal"``           | normal, std ``sqrt(2 / fan_in)`` (good before ReLU) |
| ``"he_uniform"``          | uniform on ``[-l, l]``, ``l = sqrt(6 / fan_in)``    |
| ``"glorot_normal"``       | normal, std ``sqrt(2 / (fan_in + fan_out))``        |
| ``"glorot_uniform"``      | uniform, ``l = sqrt(6 / (fan_in + fan_out))``       |
| ``"zeros"``, ``"ones"``   | constant                                            |

Keras truncates its normal initializers at two standard deviations; minidl draws
from the plain normal distribution, as PyTorch's ``kaiming_normal_`` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import numpy.typing as npt

from minidl._typing import Array, Seed

Initializer = Callable[[tuple[int, ...], np.random.Generator, npt.DTypeLike], Array]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)``: the first two sizes of ``shape`` (``(n, n)`` for a vector).

    A shape of rank 3 or more is a kernel ``(out, in, *window)``: each fan is multiplied
    by the window's size (``kh * kw``), as in PyTorch and Keras.
    """
    if len(shape) > 2:
        window = math.prod(shape[2:])
        return shape[1] * window, shape[0] * window
    return shape[0], shape[-1]


def he_normal(shape: tuple[int, ...], rng: np.random.Generator, dtype: npt.DTypeLike) -> Array:
    """Normal with mean 0 and standard deviation ``sqrt(2 / fan_in)`` (He et al., 2015)."""
    return rng.normal(0.0, math.sqrt(2.0 / _fans(shape)[0]), size=shape).astype(dtype)


def he_uniform(shape: tuple[int, ...], rng: np.random.Generator, dtype: npt.DTypeLike) -> Array:
    """Uniform on ``[-l, l]`` with ``l = sqrt(6 / fan_in)`` (He et al., 2015)."""
    limit = math.sqrt(6.0 / _fans(shape)[0])
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(shape: tuple[int, ...], rng: np.random.Generator, dtype: npt.DTypeLike) -> Array:
    """Normal with standard deviation ``sqrt(2 / (fan_in + fan_out))`` (Glorot & Bengio, 2010)."""
    return rng.normal(0.0, math.sqrt(2.0 / sum(_fans(shape))), size=shape).astype(dtype)


def glorot_uniform(shape: tuple[int, ...], rng: np.random.Generator, dtype: npt.DTypeLike) -> Array:
    """Uniform on ``[-l, l]`` with ``l = sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio, 2010)."""
    limit = math.sqrt(6.0 / sum(_fans(shape)))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def zeros(shape: tuple[int, ...], rng: np.random.Generator, dtype: npt.DTypeLike) -> Array:
    """All zeros (the usual start for biases)."""
    return np.zeros(shape, dtype=dtype)


def ones(shape: tuple[int, ...], rng: np.random.Generator, dtype: npt.DTypeLike) -> Array:
    """All ones."""
    return np.ones(shape, dtype=dtype)


#: The initializers by name (the names ``Dense(weight_init=...)`` accepts).
INITIALIZERS: dict[str, Initializer] = {init.__name__: init for init in (
    he_normal, he_uniform, glorot_normal, glorot_uniform, zeros, ones)}


_OVERRIDE: ContextVar[Initializer | None] = ContextVar("initializer_override", default=None)


@contextmanager
def initialize_with(initializer: Initializer) -> Iterator[None]:
    """Within the block, every :func:`initialize` call is answered by ``initializer``.

    Model files use it: their arrays replace the values, so none is drawn at random.
    """
    token = _OVERRIDE.set(initializer)
    try:
        yield
    finally:
        _OVERRIDE.reset(token)


def make_rng(seed: Seed) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from an int seed, a Generator (used as is) or None."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer, np.random.Generator, type(None))):
        raise TypeError(f"seed must be an int, a numpy.random.Generator or None; got {seed!r}")
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise ValueError(f"seed must be a non-negative int, a numpy.random.Generator or None; got {seed!r}")
    return np.random.default_rng(seed)  # numpy returns a Generator as it is


def initialize(init: str | Initializer | npt.ArrayLike, shape: tuple[int, ...], rng: np.random.Generator,
               dtype: npt.DTypeLike, *, name: str) -> Array:
    """Make an array of ``shape`` from an initializer name, a function, or explicit values.

    Explicit values (a list or array) must have exactly ``shape`` and be finite; they are
    copied, so the caller's array is never changed by training.
    """
    if (override := _OVERRIDE.get()) is not None:
        return override(shape, rng, dtype)
    if isinstance(init, str):
        if init not in INITIALIZERS:
            valid = ", ".join(sorted(INITIALIZERS))
            raise ValueError(f"{name}: unknown initializer {init!r}; valid names: {valid}")
        return INITIALIZERS[init](shape, rng, dtype)
    values = np.asarray(init(shape, rng, dtype) if callable(init) else init)
    if values.dtype.kind not in "fiub":  # a cast would drop an imaginary part, or fail on text
        raise TypeError(f"{name}: initial values must be real numbers; got dtype {values.dtype}")
    array = np.array(values, dtype=dtype)  # a copy, never the caller's array
    if array.shape != shape:
        raise ValueError(f"{name}: expected an array of shape {shape}; got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: initial values must be finite")
    return array
