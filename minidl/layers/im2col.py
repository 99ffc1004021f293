"""im2col and col2im: a convolution as one matrix product over image patches.

A convolution slides a ``kh x kw`` window over every channel of every image. **im2col**
copies each window position into one column of a matrix ``cols``; the convolution is then
one matrix product ``W @ cols`` (:class:`~minidl.layers.conv.Conv2D`). **col2im** goes back:
it adds every column onto the image positions it was copied from, which is what the
gradient with respect to the input needs (a position seen by several windows gets the
sum of their gradients).

**Layout.** ``cols`` has shape ``(C * kh * kw, Ho * Wo * N)``: row ``(c, i, j)`` (channel,
offset in the window), column ``(ho, wo, n)`` (output position, sample), with the batch
axis *innermost*. The image is first transposed to ``(C, H, W, N)``, so every run the
copy reads is ``Wo * N`` adjacent numbers; per-image patch rows (``(N * Ho * Wo, C * kh
* kw)``) copy runs of only ``kw`` numbers and were 1.5-2.3x slower here for a whole
forward and backward (``python benchmarks/conv_layouts.py``).

The module also holds what the convolution and pooling layers share: the output size of
a sliding window (and shape, for ``Network.summary``) and its error for an input smaller
than the window.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib import stride_tricks

from minidl._typing import Array, Shape

#: numpy's own; typed loosely because numpy 2.2's stubs (Python 3.10) refuse a tuple ``axis``.
_sliding_window_view: Any = stride_tricks.sliding_window_view

#: ``((top, bottom), (left, right))``: the zeros added around each image.
Pads = tuple[tuple[int, int], tuple[int, int]]
Pair = tuple[int, int]
NO_PADS: Pads = ((0, 0), (0, 0))


def output_size(where: str, shape: Shape, window: Pair, stride: Pair, pads: Pads = NO_PADS) -> Pair:
    """``(Ho, Wo)``: how many window positions fit along the height and the width.

    ``Ho = (H + top + bottom - kh) // sh + 1`` (and the same for the width). Raises
    ``ValueError`` naming ``where`` when the (padded) image is smaller than the window.
    """
    height = (shape[2] or 0) + pads[0][0] + pads[0][1]  # `or 0`: for mypy (the sizes are known here)
    width = (shape[3] or 0) + pads[1][0] + pads[1][1]
    if height < window[0] or width < window[1]:
        padded = "" if pads == NO_PADS else f" after padding {pads} (top, bottom), (left, right)"
        raise ValueError(f"{where}: the input's height x width must be at least the window's "
                         f"{window[0]} x {window[1]}{padded}; got {height} x {width} (input shape {shape})")
    return (height - window[0]) // stride[0] + 1, (width - window[1]) // stride[1] + 1


def output_shape(where: str, shape: Shape | None, window: Pair, stride: Pair, pads: Pads = NO_PADS,
                 channels: int | None = None) -> Shape:
    """``(None, channels, Ho, Wo)`` for an input ``(N, C, H, W)`` of ``shape``; ``channels`` None: ``C``.

    ``Ho`` and ``Wo`` are :func:`output_size`'s; a size not known (None: ``H``, ``W``, or the
    whole ``shape``) stays None.
    """
    if shape is None or len(shape) != 4:
        return (None, channels, None, None)
    height, width = shape[2:]
    out = output_size(where, (*shape[:2], height or window[0], width or window[1]), window, stride, pads)
    return (None, shape[1] if channels is None else channels, height and out[0], width and out[1])


def offsets(window: Pair, stride: Pair, out: Pair) -> list[tuple[int, int, tuple[slice, slice]]]:
    """For every offset ``(i, j)`` of the window, in row-major order, the image positions it reads.

    ``image[..., rows, columns]`` with ``(rows, columns)`` the returned slices is, for all
    output positions ``(ho, wo)`` at once, the pixel ``(ho * sh + i, wo * sw + j)``: a strided
    view of shape ``(..., Ho, Wo)``. Pooling and col2im loop over these ``kh * kw`` views
    (never over samples or pixels).
    """
    return [(i, j, (slice(i, i + stride[0] * (out[0] - 1) + 1, stride[0]),
                    slice(j, j + stride[1] * (out[1] - 1) + 1, stride[1])))
            for i in range(window[0]) for j in range(window[1])]


def im2col(x: Array, window: Pair, stride: Pair, pads: Pads) -> Array:
    """Copy every window of ``x`` into a column: ``(N, C, H, W) -> (C * kh * kw, Ho * Wo * N)``.

    ``cols[(c, i, j), (ho, wo, n)] = x_padded[n, c, ho * sh + i, wo * sw + j]``, where
    ``x_padded`` is ``x`` with ``pads`` zeros around each image. The only copy of the data
    is this matrix (plus one transposed, padded image when padding is asked for).
    """
    n, c, h, w = x.shape
    (top, bottom), (left, right) = pads
    if pads == NO_PADS:
        xt = np.ascontiguousarray(x.transpose(1, 2, 3, 0))  # (C, H, W, N); free after a Conv2D
    else:
        xt = np.zeros((c, h + top + bottom, w + left + right, n), dtype=x.dtype)
        xt[:, top:top + h, left:left + w, :] = x.transpose(1, 2, 3, 0)
    windows = _sliding_window_view(xt, window, axis=(1, 2))  # (C, H', W', N, kh, kw), a view
    windows = windows[:, ::stride[0], ::stride[1]]  # (C, Ho, Wo, N, kh, kw)
    cols: Array = windows.transpose(0, 4, 5, 1, 2, 3).reshape(c * window[0] * window[1], -1)
    return cols


def col2im(cols: Array, shape: tuple[int, ...], window: Pair, stride: Pair, pads: Pads, out: Pair) -> Array:
    """Add every column back onto the pixels it came from: the adjoint of :func:`im2col`.

    ``(C * kh * kw, Ho * Wo * N) -> (N, C, H, W)``:
    ``image[n, c, ho * sh + i, wo * sw + j] += cols[(c, i, j), (ho, wo, n)]`` for every
    column, then the padding is cut off. One strided ``+=`` per window offset ``(i, j)``
    (``kh * kw`` of them), without ``np.add.at``.
    """
    n, c, h, w = shape
    (top, bottom), (left, right) = pads
    parts = cols.reshape(c, window[0], window[1], out[0], out[1], n)
    image = np.zeros((c, h + top + bottom, w + left + right, n), dtype=cols.dtype)
    for i, j, (rows, columns) in offsets(window, stride, out):
        image[:, rows, columns, :] += parts[:, i, j]
    grad: Array = image[:, top:top + h, left:left + w, :].transpose(3, 0, 1, 2)  # a view: (N, C, H, W)
    return grad
