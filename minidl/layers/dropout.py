"""Dropout: randomly silence units during training, do nothing during evaluation."""

from __future__ import annotations

from typing import Any

import numpy as np

from minidl._typing import Array, Seed
from minidl._validation import check_real
from minidl.initializers import make_rng
from minidl.layers.activations import KeepsShape
from minidl.layers.base import Layer


class Dropout(KeepsShape, Layer):
    """Inverted dropout: in training, zero each value with probability ``rate``.

    In training mode every value of the input is kept with probability ``1 - rate`` and
    the kept values are scaled by ``1 / (1 - rate)``, so the expected output equals the
    input and nothing needs rescaling at evaluation time ("inverted" dropout, as in
    Keras and PyTorch). In evaluation mode (``eval()``, and always inside
    ``Network.predict``/``evaluate``) the layer is the identity.

    Parameters
    ----------
    rate
        The probability of dropping a value, in ``[0, 1)``. ``rate=0`` keeps everything.
    seed
        An int or a ``numpy.random.Generator`` for the masks: the same seed gives the same
        sequence of masks. ``None`` draws fresh entropy.
    name
        The layer's name in summaries and model files.

    Attributes
    ----------
    mask : Array or None
        The multiplier used by the last training-mode ``forward``: ``0`` where a value
        was dropped, ``1 / (1 - rate)`` where it was kept (``None`` when the last forward
        was the identity). ``backward`` multiplies by the same mask.

    Notes
    -----
    The masks come from the layer's own ``numpy.random.Generator``.
    :func:`minidl.check_gradients` restores that generator's state before every forward
    it runs, so all its forwards use one and the same mask: the finite differences then
    see the same function the backward pass differentiates.

    Examples
    --------
    >>> drop = Dropout(0.5, seed=0)
    >>> y = drop.forward(np.ones((2, 4)))
    >>> sorted(set(y.ravel().tolist()))      # dropped: 0, kept: 1 / (1 - 0.5)
    [0.0, 2.0]
    >>> drop.eval()
    >>> drop.forward(np.ones((2, 4)))
    array([[1., 1., 1., 1.],
           [1., 1., 1., 1.]])
    """

    overwrites_gradients = True  # no parameters: nothing to clear before backward

    def __init__(self, rate: float, *, seed: Seed = None, name: str | None = None) -> None:
        super().__init__(name)
        self.rate = check_real(rate, "Dropout rate", low=0.0, high=1.0, high_inclusive=False)
        self._rng = make_rng(seed)
        self._seed = int(seed) if isinstance(seed, (int, np.integer)) else None
        self.mask: Array | None = None

    def forward(self, x: Array) -> Array:
        """Drop and rescale in training, pass through in evaluation.

        Training mode: ``y = x * mask`` with ``mask = keep / (1 - rate)`` and
        ``keep ~ Bernoulli(1 - rate)`` drawn independently for every element.
        Evaluation mode (or ``rate == 0``): ``y = x``, returned as is (not copied).

        Parameters
        ----------
        x
            Any shape, typically ``(batch, features)``.

        Returns
        -------
        Array
            The same shape and dtype as ``x``.
        """
        if not self.training or self.rate == 0.0:
            self.mask = None
            return x
        # Generator.random draws float32 or float64 only; the mask takes the input's
        # floating dtype (float16 too), and float64 for integer input.
        draw = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        keep = self._rng.random(x.shape, dtype=draw) >= self.rate
        self.mask = keep * dtype.type(1.0 / (1.0 - self.rate))
        return x * self.mask

    def backward(self, grad_y: Array) -> Array:
        """``dL/dx = dL/dy * mask``: dropped values get no gradient, kept ones are rescaled.

        Uses the mask of the last ``forward`` (whatever the mode is now); when that forward
        was the identity, ``grad_y`` is returned as is. Same shape in and out.
        """
        return grad_y if self.mask is None else grad_y * self.mask

    def config(self) -> dict[str, Any]:
        """``rate``, ``seed`` (an int, or None when none or a Generator was given) and ``name``."""
        return {"rate": self.rate, "seed": self._seed, "name": self.name}
