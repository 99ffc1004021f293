"""``Network.summary()``: a table of the layers, their output shapes (any rank) and parameter counts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from minidl._typing import Shape
from minidl._validation import check_positive_int
from minidl.layers.base import Layer


def summary_table(layers: Sequence[Layer], input_shape: int | Sequence[int] | None = None) -> str:
    """Keras's summary table: each layer's name (type), output shape and parameter count.

    The shapes follow the input through :meth:`Layer.output_shape <minidl.Layer.output_shape>`:
    the batch axis shows ``None``, a size not known ``?`` (a whole shape not known: ``?``).
    ``input_shape`` is one sample's, without the batch axis (``(1, 28, 28)``); when not given,
    the first layer's input of the latest forward, else its declared ``input_shape`` (Dense
    declares its features; Conv2D its channels, not the height and width). After a forward,
    a layer that does not say its output shape shows the one it gave. Raises ``ValueError``
    when a layer's declared input does not fit the shape it would get (the message is the
    one its forward would give, for a batch of one).

    Examples
    --------
    >>> print(summary_table([Conv2D(1, 2, 3), MaxPool2D(2), Flatten(), Dense(8, 1)], (1, 6, 6)))
    -------------------------------------------------
    Layer (type)           Output Shape     Param #
    =================================================
    conv2d (Conv2D)        (None, 2, 4, 4)       20
    maxpool2d (MaxPool2D)  (None, 2, 2, 2)        0
    flatten (Flatten)      (None, 8)              0
    dense (Dense)          (None, 1)              9
    -------------------------------------------------
    Total params: 29
    """
    counts = [sum(p.size for p in layer.parameters()) for layer in layers]
    rows = [("Layer (type)", "Output Shape", "Param #")]
    for layer, shape, count in zip(layers, output_shapes(layers, input_shape), counts, strict=True):
        rows.append((f"{layer.name} ({type(layer).__name__})", show(shape), f"{count:,}"))
    widths = [max(len(row[i]) for row in rows) + 2 for i in range(3)]
    lines = [f"{a:<{widths[0]}}{b:<{widths[1]}}{c:>{widths[2] - 2}}" for a, b, c in rows]
    rule = "-" * sum(widths)
    return "\n".join([rule, lines[0], "=" * sum(widths), *lines[1:], rule, f"Total params: {sum(counts):,}"])


def output_shapes(layers: Sequence[Layer],
                  input_shape: int | Sequence[int] | None = None) -> list[Shape | None]:
    """Each layer's output shape, batch axis None, as :func:`summary_table` shows them (None: not known).

    ``input_shape`` as for :func:`summary_table` (one sample's; when None, the first layer's
    input of the latest forward, else its declared one); the same ``ValueError`` for a declared
    input that does not fit.
    """
    shapes = [_first_input(layers[0], input_shape)]  # then each layer's output, from the shape before it
    for layer in layers:
        shapes.append(_output_shape(layer, shapes[-1]))
    return shapes[1:]


def show(shape: Shape | None) -> str:
    """A shape as the table shows it: ``(None, 16, ?, ?)``; ``?`` for a shape not known."""
    if shape is None:
        return "?"
    sizes = ["?" if size is None and axis else str(size) for axis, size in enumerate(shape)]
    return f"({', '.join(sizes)}{',' * (len(sizes) == 1)})"


def _first_input(layer: Layer, input_shape: int | Sequence[int] | None) -> Shape | None:
    """The shape going into the first layer, batch axis None (see :func:`summary_table`)."""
    if input_shape is not None:
        sizes = tuple(input_shape) if isinstance(input_shape, Iterable) else (input_shape,)
        name = "Network.summary input_shape (one sample's, without the batch axis): each size"
        return (None, *(check_positive_int(size, name) for size in sizes))
    if layer.last_input_shape is not None:
        return (None, *layer.last_input_shape[1:])
    return layer.input_shape


def _output_shape(layer: Layer, shape: Shape | None) -> Shape | None:
    """``layer``'s output shape for an input of ``shape``, after checking its declared input."""
    declared = layer.input_shape
    if shape is not None and declared is not None:  # a zero-stride probe: any shape, no memory
        fill = declared if len(declared) == len(shape) else (None,) * len(shape)
        sizes = tuple(size or known or 1 for size, known in zip(shape, fill, strict=True))
        if (problem := layer._input_problem(np.broadcast_to(np.zeros(()), sizes), declared)) is not None:
            raise ValueError(f"Network.summary: an input of shape {show(shape)} does not fit: {problem}")
    output = layer.output_shape(shape)
    last_in, last_out = layer.last_input_shape, layer.last_output_shape
    if output is None and last_in is not None and last_out is not None and (None, *last_in[1:]) == shape:
        output = (None, *last_out[1:])  # not said, but seen in the latest forward
    return output
