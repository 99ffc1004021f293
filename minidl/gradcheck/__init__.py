"""Gradient checking: is a backward pass right? ``check_gradients`` compares it with finite differences.

A wrong ``backward`` does not crash: the network just learns badly. ``check_gradients``
tells you, gradient by gradient, whether a layer's (or a network's, or a loss's)
backward pass agrees with the slope measured numerically, and if not, where and by how
much. Everything runs in float64 on a deep copy of the object, whatever its dtype: a
float32 layer is checked as the same layer in float64 (finite differences in float32
are meaningless). The object you pass is never changed: not its parameters, gradients,
caches, running statistics or random generators.

* :mod:`minidl.gradcheck.check`: ``check_gradients``, the central differences, the float64 copy;
* :mod:`minidl.gradcheck.report`: the report it returns (a row per gradient, a table).
"""

from minidl.gradcheck.check import check_gradients
from minidl.gradcheck.report import GradientCheckError, GradientCheckReport, GradientCheckRow

__all__ = ["GradientCheckError", "GradientCheckReport", "GradientCheckRow", "check_gradients"]
