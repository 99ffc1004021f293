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
   its gradients cleared before the backward pass, so adding is right too.

Both passes run through a :class:`~minidl.layers.chain.Chain`: each layer's checks run for
the first batch of a shape (and the smaller last batch), its bare math for the others.

The optimizer's ``step`` (in ``fit`` and ``train_step``) then updates the parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from minidl._typing import Array
from minidl.errors import label
from minidl.layers import AvgPool2D, Dropout, Flatten, Identity, MaxPool2D
from minidl.layers.activations import Activation
from minidl.layers.base import Layer, Parameter, unseen_parameters
from minidl.layers.chain import Chain
from minidl.layers.softmax import Softmax
from minidl.losses import BinaryCrossEntropy, Loss

if TYPE_CHECKING:
    from minidl.network import Network


class StepPlan:
    """What one training step runs, worked out once per ``fit``.

    Attributes
    ----------
    head
        A :class:`~minidl.layers.chain.Chain` of every layer, ``fused`` when the loss fuses
        with the last one (the chain then keeps that layer's input, the logits, and its
        ``backward_parameters`` starts below it). Its ``backward_parameters`` goes down to
        the first layer with parameters.
    fused
        Whether the loss reads the logits (fused with the last layer).
    unchecked
        True until the plan's first step has checked what the layers' backward did
        (:func:`check_parameters_after_backward`): once per ``fit``, per compiled network for
        ``train_step``, per call of ``loss_and_backward``.

    A plan for training (``for_training=True``, the default) refuses a network without parameters;
    ``evaluate``'s plan takes one.
    """

    def __init__(self, network: Network, loss: Loss, for_training: bool = True) -> None:
        check_loss_fits(network.layers, loss)  # compile's check again: loss_and_backward takes any loss
        layers, fused = network.layers, loss.fuses_with(network.layers[-1])
        if for_training and not any(layer.parameters() for layer in layers):  # evaluate needs none
            raise ValueError("the network has no parameters to train (no layer with weights)")
        self.head, self.fused = Chain(layers, fused=fused), fused
        self.loss, self.parameters, self.unchecked = loss, network.parameters(), True


def check_loss_fits(layers: Sequence[Layer], loss: Loss) -> None:
    """Raise ``ValueError`` when ``loss`` cannot train ``layers`` (``compile`` asks, and every StepPlan).

    ``loss.check_fits`` is asked of the last layer, and of the layer before a last Dropout,
    Flatten, Identity or pooling layer (they pass its values on); a last Softmax over a
    single output unit is refused (it always gives 1.0), and binary cross-entropy after a
    Softmax over more than two (its outputs are tied, not yes/no answers of their own).
    """
    for layer in reversed(layers):  # these pass on the values of the layer before: check it too
        loss.check_fits(layer)
        if type(layer) not in (Dropout, Flatten, MaxPool2D, AvgPool2D, Identity):
            break
    # A Softmax over one output unit always gives 1.0, so the network could never learn
    units = layers[-2].output_features(None) if len(layers) > 1 and isinstance(layers[-1], Softmax) else None
    if units == 1:
        raise ValueError(f"Softmax {layers[-1].name!r} normalises a single output unit, so it always "
                         "gives 1.0 and the network cannot learn: for two classes use one unit with "
                         "Sigmoid and binary_crossentropy, or two units with Softmax")
    if units is not None and units > 2 and isinstance(loss, BinaryCrossEntropy) and not loss.from_logits:
        # (two units are one yes/no answer twice: the same loss as categorical cross-entropy)
        raise ValueError(f"BinaryCrossEntropy: the network ends in Softmax {layers[-1].name!r} over {units} "
                         "units, whose outputs are tied (they sum to 1), not yes/no answers of their own, "
                         "and its 'accuracy' would count each output apart: for one class out of several use "
                         "categorical_crossentropy (sparse_categorical_crossentropy for integer labels); "
                         "for independent labels end in Sigmoid")


def forward_loss(plan: StepPlan, x: Array, target: Any, checked: bool = False) -> tuple[float, Array]:
    """Forward and the loss (fused when planned): ``(loss, output)``.

    When fused, the loss reads the last layer's input, the logits, and its output, the
    probabilities (which are the output returned). ``checked``: ``target`` is a batch
    of a target that ``loss.check_target`` already returned (``fit`` and ``evaluate``
    check their data once), so the fused loss does not check it again.
    """
    output = plan.head.forward(x)
    if not plan.fused:
        return plan.loss.forward(output, target), output
    logits = plan.head.logits
    assert logits is not None  # kept by the fused chain's forward
    loss = plan.loss.logits_loss if checked else plan.loss.forward_from_logits
    return loss(logits, target, output), output


def step(plan: StepPlan, x: Array, target: Any, checked: bool = False) -> tuple[float, Array]:
    """Forward, loss and backward for one batch: ``(loss, output)`` (``checked``: see ``forward_loss``).

    The parameters' ``grad`` are filled only when the loss is finite. The plan's first step
    checks the layers' parameters afterwards (:func:`check_parameters_after_backward`).
    """
    value, output = forward_loss(plan, x, target, checked)
    if math.isfinite(value):
        plan.head.backward_parameters(plan.loss.backward())
    if plan.unchecked:  # (raised again on the next step: a caught refusal does not let it pass)
        check_parameters_after_backward(plan.head.layers, plan.parameters)
        plan.unchecked = False
    return value, output


def check_parameters_after_backward(layers: Sequence[Layer], parameters: list[Parameter]) -> None:
    """After a plan's first backward: every gradient fits its parameter, none was missed.

    Catches mistakes of a user's layer that would otherwise end in a numpy error inside
    the optimizer or in a parameter that is silently never trained: a ``grad`` rebound
    to an array of another shape, a Parameter created in ``forward`` or kept in a list,
    tuple, dict or plain object, a layer with parameters kept in the layer (see
    :func:`~minidl.layers.base.unseen_parameters`), and an :class:`~minidl.Activation`
    with parameters whose inherited ``backward`` fills no parameter gradient.
    """
    known = {id(parameter) for parameter in parameters}
    for layer in layers:
        owner, own = label(layer), layer.parameters()
        attributes = {id(value): key for key, value in vars(layer).items() if isinstance(value, Parameter)}
        names = [attributes.get(id(parameter), parameter.name) for parameter in own]
        inherited = type(layer).backward.__module__ == Activation.__module__  # Activation's or Identity's
        if own and isinstance(layer, Activation) and inherited:
            raise ValueError(f"{owner}: an Activation's backward fills no parameter gradients, so its "
                             f"parameters ({', '.join(map(repr, names))}) would never be trained; subclass "
                             "Layer and write backward (filling each parameter's grad), or override backward")
        for name, parameter in zip(names, own, strict=True):
            if id(parameter) not in known:
                raise ValueError(f"{owner}: the Parameter {name!r} did not exist when training started "
                                 "(created in forward?), so the optimizer would never update it; create "
                                 "every Parameter in __init__, after super().__init__()")
            if not isinstance(parameter.grad, np.ndarray):  # a float or a numpy scalar: rebound, not written
                raise TypeError(f"{owner}: backward set the gradient of parameter {name!r} to a "
                                f"{type(parameter.grad).__name__}; it must be a numpy array of shape "
                                f"{parameter.value.shape} (assign in place: p.grad[...] = g)")
            if parameter.grad.shape != parameter.value.shape:
                raise ValueError(f"{owner}: backward set the gradient of parameter {name!r} to shape "
                                 f"{parameter.grad.shape}; expected {parameter.value.shape}, the shape of "
                                 "the parameter (sum over the batch axis, and assign in place: "
                                 "`p.grad[...] = ...`)")
    for problem in unseen_parameters(layers, known):
        raise ValueError(problem)
