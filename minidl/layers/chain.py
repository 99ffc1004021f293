"""``Chain``: layers run forward in order and backward in reverse, each layer checked once per batch shape.

A layer checks its input and its ``grad_y`` on every call (see :class:`~minidl.Layer`). In a
chain those checks depend only on the shape and dtype of the batch that enters: the same
batch shape gives the same shapes all the way down. So a chain runs the checked methods for
a batch of a new shape or dtype, and each layer's bare math (the method as its class wrote it)
for a batch like the last one that passed. The numbers are the same; what is saved is a
Python wrapper per layer and call, which is most of a small network's time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import MethodType
from typing import Any

import numpy as np

from minidl._typing import Array
from minidl.errors import backward_failure, backward_shape_error, label, note_failing_layer
from minidl.layers.base import Layer, forward_runs


def bare(layer: Layer, method: str) -> Callable[[Array], Any]:
    """``layer``'s ``forward``, ``backward`` or ``backward_parameters`` without the shared checks, bound."""
    checked = getattr(type(layer), method)
    return MethodType(getattr(checked, "__wrapped__", checked), layer)


class Chain:
    """``layers`` run as one: ``forward`` first to last, ``backward`` last to first.

    ``backward_parameters`` stops at the first layer with parameters and calls its
    ``backward_parameters`` (training needs no gradient with respect to the data). A layer
    that does not overwrite its gradients has them cleared first, so it may add to them.
    A layer whose backward fails or returns a gradient not shaped like its input is named.

    ``fused=True`` (training with a loss fused with the last layer, a Softmax or Sigmoid):
    ``forward`` still runs every layer and keeps the last layer's input as ``logits``, and
    ``backward_parameters`` starts below the last layer, with ``dL/dlogits``. One chain for
    all the layers, so running the last one does not count as "another forward" that
    would have the chain check every layer again on the next batch.
    """

    def __init__(self, layers: Sequence[Layer], *, fused: bool = False) -> None:
        self.layers = list(layers)
        #: The first layer with parameters (where ``backward_parameters`` stops); 0 when none has any.
        self.first = next((i for i, layer in enumerate(self.layers) if layer.parameters()), 0)
        self._forwards = [bare(layer, "forward") for layer in self.layers]
        self._fused = fused
        self.logits: Array | None = None  # with fused=True, the input of the last layer's latest forward
        steps = [(layer, bare(layer, "backward")) for layer in self.layers]
        below_loss = len(steps) - 1 if fused else len(steps)  # the loss differentiates a fused last layer
        self._down_to_data, self._down_to_first = steps[::-1], steps[self.first + 1:below_loss][::-1]
        self._first_parameters = bare(self.layers[self.first], "backward_parameters")
        self._clearing = [layer for layer in self.layers if not layer.overwrites_gradients]
        self._passed: tuple[tuple[int, ...], np.dtype[Any]] | None = None  # the batch that passed
        self._run = -1  # forward_runs after this chain's latest forward
        self._passed_backward: dict[bool, tuple[int, ...]] = {}  # to the data? -> the grad shape that passed

    def forward(self, x: Array) -> Array:
        """``y = layer_n(... layer_1(x))`` for a batch ``x``, checked once per shape and dtype."""
        # (``logits``: the last layer's input, kept when fused; a chain has at least one layer)
        if self._run == forward_runs[0] and (x.shape, x.dtype) == self._passed:
            for forward in self._forwards:
                logits, x = x, forward(x)
        else:
            # nothing has passed until every layer has, and no backward shape either (see _backward)
            self._passed, self._passed_backward, signature = None, {}, (x.shape, x.dtype)
            for index, layer in enumerate(self.layers):
                try:
                    logits, x = x, layer.forward(x)
                except ValueError as error:  # numpy's own, in a layer of one's own, names no layer
                    if label(layer) in str(error):
                        raise
                    raise ValueError(f"{label(layer)} (layer {index}): forward failed: {error}") from error
            self._passed = signature
        self.logits = logits if self._fused else None
        forward_runs[0] += 1
        self._run = forward_runs[0]
        return x

    def backward(self, grad: Array) -> Array:
        """The chain rule, last layer first: ``dL/doutput`` in, ``dL/dx`` out, every ``grad`` filled."""
        return self._backward(grad, True)

    def backward_parameters(self, grad: Array) -> None:
        """As ``backward``, down to the first layer with parameters, without ``dL/dx``.

        With ``fused=True``, ``grad`` is ``dL/dlogits`` and the last layer is skipped.
        """
        self._backward(grad, False)

    def _backward(self, grad: Array, to_data: bool) -> Array:
        for layer in self._clearing:
            layer.zero_grad()
        grad_shape = grad.shape
        # (before any forward, or after one that did not complete, ``_passed_backward`` is empty: checked)
        checked = self._run != forward_runs[0] or grad_shape != self._passed_backward.get(to_data)
        try:
            if checked:
                for layer, _ in self._down_to_data if to_data else self._down_to_first:
                    grad = layer.backward(grad)
                    if grad.shape != layer.last_input_shape:
                        raise backward_shape_error(layer, layer.last_input_shape or (), grad)
            else:
                for layer, bare_backward in self._down_to_data if to_data else self._down_to_first:  # noqa: B007
                    grad = bare_backward(grad)  # (``layer`` names the failing layer in the errors below)
            if not to_data:
                layer = self.layers[self.first]
                (layer.backward_parameters if checked else self._first_parameters)(grad)
        except (AttributeError, TypeError) as error:
            raise backward_failure(layer, grad, error) from error
        except ValueError as error:
            note_failing_layer(layer, error)
            raise
        if checked and self._passed is not None and self._run == forward_runs[0]:
            self._passed_backward[to_data] = grad_shape
        return grad
