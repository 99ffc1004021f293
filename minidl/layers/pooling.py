"""Pooling: shrink each channel of an image by taking the max (or mean) of small windows."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from minidl._typing import Array, Shape
from minidl._validation import check_int_pair
from minidl.errors import label
from minidl.layers.base import Layer
from minidl.layers.im2col import offsets, output_shape, output_size


class _Pool2D(Layer):
    """What max and average pooling share: the window, the stride, the shapes and the config."""

    input_shape = (None, None, None, None)  # (batch, channels, height, width), any sizes

    def __init__(self, pool_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None, *,
                 name: str | None = None) -> None:
        super().__init__(name)
        self.pool_size = check_int_pair(pool_size, f"{label(self)} pool_size")
        self.stride = self.pool_size if stride is None else check_int_pair(stride, f"{label(self)} stride")
        self._x: Array  # the input of the last forward: its shape, dtype and layout in memory
        self._out_size: tuple[int, int]

    @property
    def _overlap(self) -> bool:
        """Whether the windows overlap (stride < pool size on an axis): an input may then be in several."""
        return self.stride[0] < self.pool_size[0] or self.stride[1] < self.pool_size[1]

    def _windows(self, x: Array) -> list[Array]:
        """Keep ``x`` and the output size for backward; return a view for each window offset ``(i, j)``.

        ``view[n, c, p, q] = x[n, c, p * sh + i, q * sw + j]``, shape ``(N, C, Ho, Wo)``; the
        offsets in row-major order.
        """
        self._x, self._out_size = x, output_size(label(self), x.shape, self.pool_size, self.stride)
        return [x[:, :, rows, columns]
                for _, _, (rows, columns) in offsets(self.pool_size, self.stride, self._out_size)]

    def output_shape(self, input_shape: Shape | None) -> Shape:
        """``(None, channels, Ho, Wo)``: the channels kept, ``Ho = (H - ph) // sh + 1`` (None: not known)."""
        return output_shape(label(self), input_shape, self.pool_size, self.stride)

    def _new_grad_x(self, dtype: npt.DTypeLike) -> Array:
        """An array for ``dL/dx``, zeros where no window reaches, laid out in memory as ``x`` is.

        After a Conv2D, ``x`` is a transposed view of ``(C, H, W, N)`` memory: so is
        ``dL/dx``, so that the ReLU before and the Conv2D below read it in memory order
        (the Conv2D's ``dL/dy`` reshape is then free). When the windows tile the image
        (stride = pool size, no rows or columns left over), every entry is written by
        ``backward``: no zeros are needed. (``empty_like`` and ``zeros_like`` keep the layout:
        their default order ``"K"``.)
        """
        tiled = self.stride == self.pool_size and all(
            self._x.shape[2 + d] == self._out_size[d] * self.pool_size[d] for d in (0, 1))
        return np.empty_like(self._x, dtype=dtype) if tiled else np.zeros_like(self._x, dtype=dtype)

    def config(self) -> dict[str, Any]:
        """Constructor arguments: ``pool_size``, ``stride`` and ``name``."""
        return {"pool_size": self.pool_size, "stride": self.stride, "name": self.name}


def _memory_axes(a: Array) -> tuple[int, ...]:
    """``a``'s axes from the slowest-varying in memory to the fastest: ``(0, 1, 2, 3)`` for C order."""
    return tuple(sorted(range(a.ndim), key=lambda axis: -abs(a.strides[axis])))


class MaxPool2D(_Pool2D):
    """The largest value of each ``ph x pw`` window, channel by channel (NCHW).

    ``y[n, c, p, q] = max_{i, j} x[n, c, p * sh + i, q * sw + j]``, with the output height
    ``Ho = (H - ph) // sh + 1`` (the width likewise; rows and columns the windows do not
    reach are left out, as in PyTorch and Keras's ``"valid"``).

    Parameters
    ----------
    pool_size
        The window ``(ph, pw)``; an int ``k`` means ``(k, k)``.
    stride
        The step between windows; ``None`` (the default) means ``pool_size``: windows
        side by side, not overlapping.
    name
        The layer's name in summaries and model files.

    Notes
    -----
    **Ties.** The gradient of a window goes to *one* input: its first maximum in row-major
    order of the window (top row first, left to right), as ``numpy.argmax`` would pick.
    PyTorch's CPU ``MaxPool2d`` picks the same one (its documentation does not say so;
    ``tests/layers/test_pooling.py`` checks it). Where windows
    overlap, an input that is the maximum of several windows gets the sum of their
    gradients.

    Examples
    --------
    >>> pool = MaxPool2D(2)
    >>> pool.forward(np.array([[[[1.0, 2.0], [4.0, 3.0]]]]))
    array([[[[4.]]]])
    >>> pool.backward(np.array([[[[10.0]]]]))       # all of it to the position of the 4
    array([[[[ 0.,  0.],
             [10.,  0.]]]])
    """

    overwrites_gradients = True  # no parameters: nothing to clear before backward
    _argmax: Array  # per output: which offset (row-major) held the first maximum

    def forward(self, x: Array) -> Array:
        """``y = max`` over each window; remember which offset held it.

        One pass per window offset ``(i, j)`` (``ph * pw`` of them), each comparing a
        strided view of all windows at once with the running maximum; a value replaces
        it only when strictly larger, so the first maximum is kept.

        Parameters
        ----------
        x
            Shape ``(batch, channels, H, W)``, ``H >= ph`` and ``W >= pw``.

        Returns
        -------
        Array
            Shape ``(batch, channels, Ho, Wo)``, the dtype of ``x``.
        """
        windows = self._windows(x)
        y: Array = windows[0].copy(order="K")  # "K": the memory order of x (a Conv2D's is NHWC-like)
        self._argmax = argmax = np.zeros_like(y, dtype=np.min_scalar_type(len(windows) - 1))
        for k, view in enumerate(windows[1:], start=1):
            # argmax set to k where view is larger: 10x faster than np.where
            argmax += (view > y) * (k - argmax)
            np.maximum(y, view, out=y)
        return y

    def backward(self, grad_y: Array) -> Array:
        """Each window's gradient goes to its (first) maximum; every other input gets 0.

        ``dL/dx[n, c, p * sh + i, q * sw + j] += dL/dy[n, c, p, q]`` for the one offset
        ``(i, j)`` of window ``(p, q)`` that held the maximum. ``grad_y`` has shape
        ``(batch, channels, Ho, Wo)``; returns shape ``(batch, channels, H, W)``.

        When the windows do not overlap (stride >= pool size, the default), each input
        is in one window at most, and the product is written straight into ``dL/dx``.
        """
        grad_x = self._new_grad_x(np.result_type(grad_y, self._x.dtype))
        axes = _memory_axes(self._x)
        if _memory_axes(grad_y) != axes:  # e.g. after Flatten: one copy, then all in memory order
            # a copy laid out in memory as x is: transpose to x's memory order, copy, transpose back
            grad_y = grad_y.transpose(axes).copy().transpose(np.argsort(axes))
        overlap = self._overlap
        for k, (_, _, (rows, columns)) in enumerate(offsets(self.pool_size, self.stride, self._out_size)):
            if overlap:
                grad_x[:, :, rows, columns] += grad_y * (self._argmax == k)
            else:
                np.multiply(grad_y, self._argmax == k, out=grad_x[:, :, rows, columns])
        return grad_x


class AvgPool2D(_Pool2D):
    """The mean of each ``ph x pw`` window, channel by channel (NCHW).

    ``y[n, c, p, q] = mean_{i, j} x[n, c, p * sh + i, q * sw + j]``; the output's size and
    the arguments are those of :class:`MaxPool2D`.

    Examples
    --------
    >>> AvgPool2D(2).forward(np.array([[[[1.0, 2.0], [4.0, 3.0]]]]))
    array([[[[2.5]]]])
    """

    overwrites_gradients = True  # no parameters: nothing to clear before backward

    def forward(self, x: Array) -> Array:
        """``y = (sum over the window) / (ph * pw)``: one strided view added per offset.

        Parameters
        ----------
        x
            Shape ``(batch, channels, H, W)``, ``H >= ph`` and ``W >= pw``.

        Returns
        -------
        Array
            Shape ``(batch, channels, Ho, Wo)``.
        """
        windows = self._windows(x)
        # a copy, in x's order; float16 summed in float32 (a window's sum may pass 65504)
        y: Array = windows[0].astype(np.float32 if x.dtype == np.float16 else x.dtype if x.dtype.kind == "f"
                                     else np.float64)
        for view in windows[1:]:
            y += view
        y /= len(windows)
        return y.astype(x.dtype) if x.dtype == np.float16 else y

    def backward(self, grad_y: Array) -> Array:
        """Every input of a window gets an equal share of its gradient.

        ``dL/dx[n, c, p * sh + i, q * sw + j] += dL/dy[n, c, p, q] / (ph * pw)`` for every
        offset ``(i, j)``. ``grad_y`` has shape ``(batch, channels, Ho, Wo)``; returns
        shape ``(batch, channels, H, W)``.
        """
        share = grad_y / (self.pool_size[0] * self.pool_size[1])
        grad_x = self._new_grad_x(share.dtype)
        overlap = self._overlap
        for _, _, (rows, columns) in offsets(self.pool_size, self.stride, self._out_size):
            if overlap:
                grad_x[:, :, rows, columns] += share
            else:
                grad_x[:, :, rows, columns] = share
        return grad_x
