"""The error messages minidl raises, written once: each names the layer, what was expected and what was got.

Layers, the network, the training loop and the gradient checker all build their errors
here, so a message reads the same wherever the mistake is caught.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from minidl._typing import Array

if TYPE_CHECKING:
    from minidl.layers.base import Layer


def label(layer: Layer) -> str:
    """How every message names a layer: its type and its name, ``Dense 'dense'``."""
    return f"{type(layer).__name__} {layer.name!r}"


def caller_outside_minidl() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside minidl.

    ``network.fit`` and ``minidl.keras``'s ``Model.fit`` reach the warning through different
    numbers of minidl's own frames; the caller of either is the line the user wrote.
    """
    frame, level = sys._getframe(1), 1  # the caller of this function: stacklevel 1 of its warning
    while frame.f_back is not None and frame.f_globals.get("__name__", "").partition(".")[0] == "minidl":
        frame, level = frame.f_back, level + 1
    return level


def input_error(layer: Layer, x: Array, expected: tuple[int | None, ...] | None) -> Exception:
    """The error for an input that does not fit the layer's declared ``input_shape``.

    ``expected`` has one entry per axis: a size, or None for any (the batch axis); None: any rank but 0.
    """
    name = label(layer)
    if x.dtype.kind not in "fiub":
        return TypeError(f"{name}: input must hold real numbers; got dtype {x.dtype}")
    if expected is None:  # a layer that takes any shape: only a scalar does not fit
        return ValueError(f"{name}: expected a batch (the batch axis first); got a 0-d array (a scalar): "
                          "x[None] is a batch of one value")
    # What the axes after the batch axis are called: images are NCHW, any other rank has no names.
    axes = ("channels", "height", "width") if len(expected) == 4 else ("*",) * (len(expected) - 1)
    sizes = [axis if n is None else str(n) for axis, n in zip(axes, expected[1:], strict=True)]
    wanted = f"({', '.join(['batch', *sizes])})"
    # A Network adds the batch axis to a single sample of rank 1 only, (features,).
    into_network = f"expected input of shape {wanted}" + (
        f" or ({sizes[0]},) for one sample into a Network" if len(expected) == 2 else "")
    if x.ndim == len(expected) - 1:  # one sample given straight to a layer, or images without their channel
        network = "; Network.forward, predict and trace accept one sample" if len(expected) == 2 else ""
        grey = ", x[:, None] a batch of grey images" if len(expected) == 4 and expected[1] == 1 else ""
        what = "one sample, or grey images without their channel axis," if grey else "one sample"
        return ValueError(f"{name}: expected a batch, input of shape {wanted}; got {what} of shape "
                          f"{x.shape}: layers take batches (x[None] is a batch of one{grey}){network}")
    if x.ndim != len(expected):
        return ValueError(f"{name}: {into_network}; got an array of rank {x.ndim} with shape {x.shape}")
    # The rank fits and the dtype is real, so (the only caller, Layer._input_problem, asks only for an
    # input that does not fit) some axis has another size: the first one is named.
    axis = next(axis for axis, size in enumerate(expected) if size not in (None, x.shape[axis]))
    size, got = expected[axis], x.shape[axis]
    what = (f"{size} input {axes[axis - 1]} (axis {axis})" if len(expected) == 4
            else f"{size} input features (last axis)" if len(expected) == 2 and axis == 1
            else f"size {size} on axis {axis}")
    hint = (" (minidl images are channels first: x.transpose(0, 3, 1, 2) turns (batch, height, "
            "width, channels) around)" if len(expected) == 4 and axis == 1 and x.shape[-1] == size
            else f" (for {got} samples of one feature, x.reshape(-1, 1))" if expected == (None, 1)
            and x.shape[0] == 1 else "")
    return ValueError(f"{name}: expected {what}; got {got}: {into_network}; got shape {x.shape}{hint}")


def tied_parameter(parameter_name: str, first: tuple[int, str], second: tuple[int, str]) -> ValueError:
    """The error for one Parameter object held by two layers of a network (or twice by one)."""
    where = (f"layer {first[0]} ({first[1]!r}) holds it twice" if first == second else
             f"layers {first[0]} ({first[1]!r}) and {second[0]} ({second[1]!r}) both hold it")
    return ValueError(f"Network: the Parameter {parameter_name!r} is shared (tied weights): {where}. "
                      "minidl does not support tied weights: each layer's backward replaces the gradient, "
                      "so only one use would count, and the optimizer would step it twice; give each layer "
                      "its own Parameter")


def not_initialised(layer: Layer, where: str) -> str:
    """The message for a layer whose ``__init__`` did not call ``super().__init__()``."""
    return (f"{where} ({type(layer).__name__}) was not initialised as a Layer: its __init__ must "
            "call super().__init__() (or super().__init__(name)) first, which gives it a name and a mode")


def grad_y_error(layer: Layer, grad_y: Any) -> Exception:
    """The error for a backward before any forward, or a ``grad_y`` that is not real numbers shaped like y."""
    name, expected = label(layer), layer.last_output_shape
    if expected is None:
        return RuntimeError(f"{name}: backward() called before forward(); run forward on a "
                            "batch first so the layer has its input to differentiate at")
    if not isinstance(grad_y, np.ndarray) or grad_y.dtype.kind not in "fiub":
        got = f"dtype {grad_y.dtype}" if isinstance(grad_y, np.ndarray) else type(grad_y).__name__
        return TypeError(f"{name}: backward expects grad_y (dL/dy) as an array of real numbers; got {got}")
    return ValueError(f"{name}: backward expected grad_y of shape {expected} "
                      f"(the shape of the last forward's output); got {grad_y.shape}")


def backward_shape_error(layer: Layer, expected: tuple[int, ...], grad: Array) -> ValueError:
    """The error for a layer whose backward returned ``dL/dx`` of the wrong shape."""
    return ValueError(f"{label(layer)}: backward returned a gradient of shape "
                      f"{grad.shape}, but the layer's input in the last forward had shape {expected}; "
                      "backward must return dL/dx, shaped like x")


def backward_failure(layer: Layer, grad: Any, error: Exception) -> Exception:
    """A clear error for a backward that returned no array or failed on a missing cache.

    Only built on the error path of ``Network.backward`` (and the training loop).
    """
    if isinstance(error, AttributeError) and error.name == "shape" and not isinstance(grad, np.ndarray):
        return TypeError(f"{label(layer)}: backward returned {type(grad).__name__}; it must return dL/dx, "
                         "an array shaped like the layer's input (does backward end with `return grad_x`?)")
    return RuntimeError(f"{label(layer)}: backward failed with {type(error).__name__}: {error}. If backward "
                        "reads something that forward should keep (e.g. `self.x = x` in forward), check that "
                        "forward stores it on every call and that forward ran before backward")


def note_failing_layer(layer: Layer, error: BaseException) -> None:
    """Add "in the backward of <layer>" to an error that does not name the layer already.

    numpy's own errors (say, a shape mismatch in a user layer's matrix product) do not say
    which layer raised them; the note appears under the traceback (Python 3.11+).
    """
    add_note = getattr(error, "add_note", None)
    if label(layer) not in str(error) and add_note is not None:
        add_note(f"raised in the backward of layer {label(layer)}")
        if "could not broadcast input array" in str(error) and layer.parameters():
            add_note("a parameter's gradient has the parameter's shape: sum over the batch axis, e.g. "
                     "p.grad[...] = (grad_y * x).sum(axis=0)")

