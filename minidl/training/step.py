"""One training step on a batch ``(xb, yb)``: forward, loss, backward.

1. forward through every layer;
2. the loss of the output against ``yb``. When the network ends in ``Softmax`` (for the
   categorical cross-entropies) or ``Sigmoid`` (for binary cross-entropy) and the loss
   reads probabilities, the two are **fused**: the loss is computed from the last
   layer's *input* (the logits) with the exact log-softmax/log-sigmoid formula, and
   backpropagation starts below that layer with ``(p - y) / N``, finite even for logits
   of +-1000. The last layer still runs, so predictions and metrics see probabilities;
3. backpropagation, layer by layer in reverse, down to the first layer that has
   parameters, whose ``backward_parameters`` fills its gradients without computing the
   gradient with respect to the data (nobody needs it). A layer whose
   ``overwrites_gradients`` is False (a user's layer that may add, ``w.grad += g``) has
   its gradients cleared right before its backward, so adding is right too.

The optimizer's ``step`` (in ``fit`` and ``train_step``) then updates the parameters.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from minidl._typing import Array
from minidl.errors import backward_failure, backward_shape_error, note_failing_layer
from minidl.layers.base import Layer, Parameter
from minidl.losses import Loss

if TYPE_CHECKING:
    from minidl.network import Network


class StepPlan:
    """The layer lists one training step walks, worked out once per ``fit``.

    Attributes
    ----------
    head
        Layers run before the loss: all of them, or all but the last when fused.
    last
        The fused activation (Softmax/Sigmoid), or None.
    back_steps
        ``(layer, position, clear)`` for each layer whose ``backward`` runs, last first
        (down to, not including, ``first``); ``clear``: call its ``zero_grad`` first.
    first
        The first layer with parameters (gets ``backward_parameters``).
    """

    def __init__(self, network: Network, loss: Loss) -> None:
        layers, fused = network.layers, loss.fuses_with(network.layers[-1])
        first = next((i for i, layer in enumerate(layers) if layer.parameters()), None)
        if first is None:
            raise ValueError("the network has no parameters to train (no layer with weights)")
        end = len(layers) - 1 if fused else len(layers)
        self.head, self.last = layers[:end], (layers[-1] if fused else None)
        self.back_steps = [(layers[i], i, _clears(layers[i])) for i in range(end - 1, first, -1)]
        self.first, self.clear_first = layers[first], _clears(layers[first])
        self.loss, self.parameters = loss, network.parameters()


def _clears(layer: Layer) -> bool:
    """Whether the step calls ``layer.zero_grad()`` before its backward (see ``overwrites_gradients``)."""
    return bool(layer.parameters()) and not layer.overwrites_gradients


def forward_loss(plan: StepPlan, x: Array, target: Any) -> tuple[float, Array, list[tuple[int, ...]]]:
    """Forward and the loss (fused when planned): ``(loss, output, the input shape of each layer)``.

    When fused, the loss reads the last layer's input, the logits, and its output, the
    probabilities (which are the output returned).
    """
    shapes, output = [], x
    for layer in plan.head:
        shapes.append(output.shape)
        output = layer.forward(output)
    if plan.last is None:
        return plan.loss.forward(output, target), output, shapes
    probabilities = plan.last.forward(output)
    return plan.loss.forward_from_logits(output, target, probabilities), probabilities, shapes


def backward(plan: StepPlan, shapes: list[tuple[int, ...]]) -> None:
    """Backpropagate the last loss, filling every parameter's ``grad``; a failing layer is named."""
    grad = plan.loss.backward()
    try:
        for layer, position, clear in plan.back_steps:
            if clear:
                layer.zero_grad()
            grad = layer.backward(grad)
            if grad.shape != shapes[position]:
                raise backward_shape_error(layer, shapes[position], grad)
        layer = plan.first
        if plan.clear_first:
            layer.zero_grad()
        layer.backward_parameters(grad)
    except (AttributeError, TypeError) as error:
        raise backward_failure(layer, grad, error) from error
    except ValueError as error:
        note_failing_layer(layer, error)
        raise


def step(plan: StepPlan, x: Array, target: Any) -> tuple[float, Array]:
    """Forward, loss and backward for one batch; returns ``(loss, output)``.

    The parameters' ``grad`` are filled only when the loss is finite.
    """
    value, output, shapes = forward_loss(plan, x, target)
    if math.isfinite(value):
        backward(plan, shapes)
    return value, output


def check_parameters_after_backward(network: Network, parameters: list[Parameter]) -> None:
    """After the first backward of ``fit``: every gradient fits its parameter, none was missed.

    Catches two mistakes of a user's layer that would otherwise end in a numpy error
    inside the optimizer or in a parameter that is silently never trained: a ``grad``
    rebound to an array of another shape, and a Parameter created in ``forward``.
    """
    known = {id(parameter) for parameter in parameters}
    for layer in network.layers:
        label = f"{type(layer).__name__} {layer.name!r}"
        attributes = {id(value): key for key, value in vars(layer).items() if isinstance(value, Parameter)}
        for parameter in layer.parameters():
            name = attributes.get(id(parameter), parameter.name)
            if id(parameter) not in known:
                raise ValueError(f"{label}: the Parameter {name!r} did not exist when training started "
                                 "(created in forward?), so the optimizer would never update it; create "
                                 "every Parameter in __init__, after super().__init__()")
            if parameter.grad.shape != parameter.value.shape:
                raise ValueError(f"{label}: backward set the gradient of parameter {name!r} to shape "
                                 f"{parameter.grad.shape}; expected {parameter.value.shape}, the shape of "
                                 "the parameter (sum over the batch axis, and assign in place: "
                                 "`p.grad[...] = ...`)")
