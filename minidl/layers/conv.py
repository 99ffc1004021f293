"""The 2-D convolution: one small filter per output channel, slid over the image."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from minidl._typing import Array, Seed, Shape
from minidl._validation import check_bool, check_float_dtype, check_int_pair, check_positive_int
from minidl.errors import label
from minidl.initializers import Initializer, initialize, make_rng
from minidl.layers.base import Layer, Parameter
from minidl.layers.im2col import Pads, col2im, im2col, output_shape, output_size


class Conv2D(Layer):
    """A 2-D convolution over images of shape ``(batch, channels, height, width)`` (NCHW).

    Output channel ``o`` at position ``(p, q)`` is a weighted sum over a ``kh x kw`` window
    of every input channel, plus a bias::

        y[n, o, p, q] = b[o] + sum_{c, i, j} W[o, c, i, j] * x_pad[n, c, p * sh + i, q * sw + j]

    (a cross-correlation, as in PyTorch and Keras: the filter is not flipped). ``x_pad`` is
    ``x`` with ``padding`` zeros around each image. Every output position uses the same
    filter: the layer has ``out_channels * in_channels * kh * kw`` weights whatever the
    image size. The output's height is ``Ho = (H + pad_top + pad_bottom - kh) // sh + 1``
    (the width likewise).

    Parameters
    ----------
    in_channels, out_channels
        Channels of the input and output (positive integers).
    kernel_size
        The window ``(kh, kw)``; an int ``k`` means ``(k, k)``.
    stride
        The step ``(sh, sw)`` between window positions; an int means the same for both.
    padding
        Zeros added around each image: an int or a pair ``(ph, pw)`` (``ph`` rows above and
        below, ``pw`` columns left and right); ``"valid"`` (none, the default ``0``); or
        ``"same"`` (stride 1 only: the output keeps the input's height and width). For an
        even kernel ``"same"`` pads one more row below and column right than above and
        left, as PyTorch's ``padding='same'`` (and TensorFlow's) does.
    use_bias
        Whether to add a bias per output channel; without it ``bias`` is ``None``.
    weight_init, bias_init
        As for :class:`~minidl.Dense`: an initializer name (default ``"he_normal"``, made
        for ReLU, with ``fan_in = in_channels * kh * kw``; ``"zeros"`` for the bias), a
        function ``(shape, rng, dtype) -> array``, or explicit values of the right shape.
    seed
        An int or a ``numpy.random.Generator``: the same seed gives the same weights.
    dtype
        The dtype of the parameters (float64 by default; float32 for speed).
    name
        The layer's name in summaries and model files.

    Attributes
    ----------
    weight : Parameter
        Shape ``(out_channels, in_channels, kh, kw)``, PyTorch's layout: ``weight.value[o]``
        is the filter of output channel ``o``.
    bias : Parameter or None
        Shape ``(out_channels,)``.

    Examples
    --------
    >>> conv = Conv2D(1, 1, 2, use_bias=False, weight_init=np.ones((1, 1, 2, 2)))
    >>> conv.forward(np.arange(9.0).reshape(1, 1, 3, 3))   # sums of 2 x 2 windows
    array([[[[ 8., 12.],
             [20., 24.]]]])
    """

    overwrites_gradients = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int], *,
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
                 use_bias: bool = True, weight_init: str | Initializer | npt.ArrayLike = "he_normal",
                 bias_init: str | Initializer | npt.ArrayLike = "zeros", seed: Seed = None,
                 dtype: npt.DTypeLike = np.float64, name: str | None = None) -> None:
        super().__init__(name)
        where = label(self)
        self.in_channels = check_positive_int(in_channels, f"{where} in_channels")
        self.out_channels = check_positive_int(out_channels, f"{where} out_channels")
        self.kernel_size = check_int_pair(kernel_size, f"{where} kernel_size")
        self.stride = check_int_pair(stride, f"{where} stride")
        self._padding, self.pads = _padding(padding, self.kernel_size, self.stride, where)
        dtype = check_float_dtype(dtype, f"{where}: dtype")
        check_bool(use_bias, f"{where}: use_bias")
        rng = make_rng(seed)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = Parameter(initialize(weight_init, shape, rng, dtype, name=f"{where} weight_init"),
                                name="weight")
        self.bias: Parameter | None = None
        if use_bias:
            bias = initialize(bias_init, (self.out_channels,), rng, dtype, name=f"{where} bias_init")
            self.bias = Parameter(bias, name="bias")
        self.input_shape = (None, self.in_channels, None, None)
        # What backward needs from the last forward.
        self._cols: Array
        self._x_shape: tuple[int, ...]
        self._out_size: tuple[int, int]

    @property
    def use_bias(self) -> bool:
        """Whether the layer adds a bias."""
        return self.bias is not None

    @property
    def padding(self) -> str | tuple[int, int]:
        """The padding as given (``"valid"``, ``"same"`` or numbers), fixed when the layer is made.

        Read-only: forward reads ``pads``, worked out from it in ``__init__`` (make a new layer).
        """
        return self._padding

    def forward(self, x: Array) -> Array:
        """All windows at once, as one matrix product: ``y = W @ cols + b``.

        ``cols = im2col(x)`` holds every window of ``x`` as a column (see
        :mod:`minidl.layers.im2col`), and the filters are the rows of ``W`` reshaped to
        ``(out_channels, in_channels * kh * kw)``::

            cols = im2col(x)        (in_channels * kh * kw, Ho * Wo * batch)
            y    = W @ cols + b     (out_channels,          Ho * Wo * batch)

        then reshaped to ``(batch, out_channels, Ho, Wo)``. Entry ``(o, column)`` of the
        product is the sum in the class docstring for the window of that column.

        Parameters
        ----------
        x
            Shape ``(batch, in_channels, H, W)``; the padded image must be at least
            ``kh x kw``.

        Returns
        -------
        Array
            Shape ``(batch, out_channels, Ho, Wo)``, the dtype of ``x`` and ``W``'s
            (float32 stays float32). A transposed view of the product, no copy.
        """
        out = output_size(label(self), x.shape, self.kernel_size, self.stride, self.pads)
        self._x_shape, self._out_size = x.shape, out
        self._cols = cols = im2col(x, self.kernel_size, self.stride, self.pads)
        y: Array = self.weight.value.reshape(self.out_channels, -1) @ cols
        if self.bias is not None:
            y += self.bias.value[:, None]  # in place: y is ours
        result: Array = y.reshape(self.out_channels, *out, x.shape[0]).transpose(3, 0, 1, 2)
        return result

    def backward(self, grad_y: Array) -> Array:
        """The chain rule through ``y = W @ cols + b``, then back from columns to pixels.

        With ``g = dL/dy`` reshaped to ``(out_channels, Ho * Wo * batch)`` (the layout of
        ``y`` in ``forward``), the same three lines as :class:`~minidl.Dense`::

            dL/dW    = g @ cols.T      (out_channels, in_channels * kh * kw) -> W's shape
            dL/db    = g.sum(axis=1)   (out_channels,)
            dL/dcols = W.T @ g         (in_channels * kh * kw, Ho * Wo * batch)
            dL/dx    = col2im(dL/dcols)        (batch, in_channels, H, W), returned

        A pixel appears in every window that covers it, so ``col2im`` adds up the
        gradients of all its copies (and drops those that fell on the padding).
        """
        g = self._parameter_gradients(grad_y)
        grad_cols: Array = self.weight.value.reshape(self.out_channels, -1).T @ g
        return col2im(grad_cols, self._x_shape, self.kernel_size, self.stride, self.pads, self._out_size)

    def backward_parameters(self, grad_y: Array) -> None:
        """Fill ``weight.grad`` and ``bias.grad`` as ``backward`` does, without ``dL/dx``."""
        self._parameter_gradients(grad_y)

    def _parameter_gradients(self, grad_y: Array) -> Array:
        """Write ``dL/dW`` and ``dL/db``; return ``g``, ``grad_y`` as ``(out_channels, Ho * Wo * batch)``."""
        g: Array = grad_y.transpose(1, 2, 3, 0).reshape(self.out_channels, -1)
        np.matmul(g, self._cols.T, out=self.weight.grad.reshape(self.out_channels, -1))
        if self.bias is not None:
            g.sum(axis=1, out=self.bias.grad)
        return g

    def output_shape(self, input_shape: Shape | None) -> Shape:
        """``(None, out_channels, Ho, Wo)``, ``Ho`` as in the class docstring (None where not known)."""
        return output_shape(label(self), input_shape, self.kernel_size, self.stride, self.pads,
                            self.out_channels)

    def config(self) -> dict[str, Any]:
        """Constructor arguments: channels, kernel, stride, padding, bias, dtype and name."""
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
                "use_bias": self.use_bias, "dtype": self.weight.dtype.name, "name": self.name}


def _padding(padding: object, kernel: tuple[int, int], stride: tuple[int, int],
             where: str) -> tuple[str | tuple[int, int], Pads]:
    """The padding as given (``"valid"``, ``"same"`` or a pair) and as ``((top, bottom), (left, right))``."""
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"{where} padding must be an int, a pair (height, width), 'valid' or 'same'; "
                             f"got {padding!r}")
        if padding == "valid":
            return padding, ((0, 0), (0, 0))
        if stride != (1, 1):
            raise ValueError(f"{where}: padding='same' needs stride 1 (as in PyTorch); got stride {stride}. "
                             "Give the padding as numbers instead, e.g. padding=kernel_size // 2 (not "
                             "Keras's 'same' with a stride, which depends on the image size and may pad "
                             "one more row below and column right than above and left)")
        # PyTorch's rule: k - 1 zeros in all, the extra one of an even kernel below and right.
        top, left = (kernel[0] - 1) // 2, (kernel[1] - 1) // 2
        return padding, ((top, kernel[0] - 1 - top), (left, kernel[1] - 1 - left))
    rows, columns = check_int_pair(padding, f"{where} padding", minimum=0)
    return (rows, columns), ((rows, rows), (columns, columns))
