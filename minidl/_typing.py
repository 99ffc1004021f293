"""Type aliases shared by the package."""

from typing import Any

import numpy as np
import numpy.typing as npt

#: A floating-point array: inputs, outputs, parameters and gradients.
Array = npt.NDArray[np.floating[Any]]

#: What the public entry points accept: an array or anything numpy can turn into one.
ArrayLike = npt.ArrayLike | Array

#: A shape as ``Network.summary`` shows it: one entry per axis, None for a size not known (the batch).
Shape = tuple[int | None, ...]

#: A seed, a numpy Generator, or None for fresh entropy.
Seed = int | np.random.Generator | None
