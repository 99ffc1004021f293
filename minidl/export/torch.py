"""A network as a PyTorch ``nn.Sequential`` and back: :func:`to_torch` and :func:`from_torch`.

PyTorch is imported when one of these functions is called, never by ``import minidl`` or
``import minidl.export``; minidl does not install it (install its CPU build yourself, see
https://pytorch.org/get-started/locally/).

How the layers map (module ``i`` of the Sequential is layer ``i`` of the network)::

    Dense            Linear        weight transposed: minidl (in, out), PyTorch (out, in)
    Conv2D           Conv2d        the same (out, in, kh, kw) weight; padding="same" stays "same"
                                   (both pad an even kernel's extra row below, column right)
    BatchNorm        BatchNorm1d   after Dense or on (batch, features) input,
                     BatchNorm2d   on images (after Conv2D or a pooling, or before them)
    MaxPool2D        MaxPool2d     AvgPool2D  AvgPool2d     Flatten  Flatten
    Dropout(rate)    Dropout(p=rate)            LeakyReLU(alpha)  LeakyReLU(negative_slope=alpha)
    ReLU, Sigmoid, Tanh, Identity: the same names; Softmax: Softmax(dim=-1) (minidl's last axis)

**BatchNorm.** minidl's ``momentum`` is the weight of the *old* running value (Keras),
PyTorch's the weight of the *new* one: ``momentum_torch = 1 - momentum`` (0.9 becomes
PyTorch's default 0.1); ``epsilon`` is ``eps``; ``gamma``/``beta`` are ``weight``/``bias``.
The running statistics are copied, and ``num_batches_tracked`` is 0 (minidl does not count;
PyTorch reads it only when its momentum is None). Whether 1d or 2d is decided by the rank
of the layer's input: the one of its last forward when it ran, else the layers around it
(Conv2D and the poolings take images, Dense a (batch, features) matrix); 1d when nothing tells.
Training on in PyTorch, the two then differ in one way: PyTorch moves ``running_var`` towards
the *unbiased* batch variance (divided by ``N - 1``), minidl towards the biased one; the
normalisation itself (biased variance in training, running statistics in evaluation) is the same.

**Mode.** Each module gets its layer's mode (``module.training == layer.training``), so an
exported network in ``eval()`` predicts as ``network.predict`` does.

**Training on with ``CrossEntropyLoss``.** PyTorch's ``nn.CrossEntropyLoss`` takes *logits*
and class indices: drop the final Softmax, ``model = to_torch(network)[:-1]``, and keep
``to_torch(network)[-1]`` (or ``torch.softmax(model(x), dim=-1)``) for probabilities. A
step of ``torch.optim.SGD`` on ``CrossEntropyLoss`` (mean over the batch) is then the step
minidl takes with ``CategoricalCrossEntropy`` or ``SparseCategoricalCrossEntropy``
after its Softmax; ``MSELoss`` is ``MeanSquaredError``.

In short::

    model = to_torch(network.eval())        # model(torch.from_numpy(x)) == network.predict(x)
    again = from_torch(model)               # again.predict(x) == network.predict(x)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from minidl._typing import Array
from minidl.export.rules import (
    check_network,
    load_torch_state_dict,
    module_key,
    require,
    rule_for,
    torch_rules,
    torch_state_dict,
)
from minidl.layers import AvgPool2D, Conv2D, Dense, Flatten, Layer, MaxPool2D
from minidl.network import Network

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["from_torch", "input_ranks", "to_torch"]

_IMAGES = (Conv2D, MaxPool2D, AvgPool2D)  # layers that take and give images (batch, C, H, W)
#: The rank of each PyTorch module's output, for the modules that decide it.
_MODULE_RANKS = {"Conv2d": 4, "MaxPool2d": 4, "AvgPool2d": 4, "BatchNorm2d": 4, "Linear": 2, "Flatten": 2,
                 "BatchNorm1d": 2}
#: The modules whose minidl layer takes one rank only (the rank of the output too), and those that keep it.
_INPUT_RANKS = {name: rank for name, rank in _MODULE_RANKS.items() if name != "Flatten"}
_FLOATS = ("float16", "float32", "float64")  # the dtypes of minidl's arrays
_KEEP_RANK = {"ReLU", "Sigmoid", "Tanh", "Identity", "LeakyReLU", "Dropout", "Softmax"}


def input_ranks(layers: list[Layer]) -> list[int | None]:
    """The rank of each layer's input (2 or 4), None where nothing tells.

    A layer's last forward tells; else the layer before it (Conv2D and the poolings give
    images, Dense and Flatten a matrix) or the layer's own kind (Conv2D and the poolings
    take images, Dense a matrix, Flatten images). Layers at the start that keep the rank
    (BatchNorm, activations) take the rank of the first layer after them that tells.
    """
    ranks: list[int | None] = []
    rank: int | None = None
    for layer in layers:
        if layer.last_input_shape is not None:
            rank = len(layer.last_input_shape)
        elif rank is None:
            rank = 4 if isinstance(layer, (*_IMAGES, Flatten)) else 2 if isinstance(layer, Dense) else None
        ranks.append(rank)
        rank = 4 if isinstance(layer, _IMAGES) else 2 if isinstance(layer, (Dense, Flatten)) else rank
    first = next((r for r in ranks if r is not None), None)
    return [first if r is None else r for r in ranks]


def _leading_rank(modules: nn.Sequential) -> int | None:
    """The input's rank, told by the first module taking one rank when only modules keeping it come before."""
    for name in (module_key(type(module)) for module in modules):
        if name in _INPUT_RANKS or name not in _KEEP_RANK:
            return _INPUT_RANKS.get(name)
    return None


def _as_numpy(tensor: torch.Tensor, where: str) -> Array:
    """A module's tensor as a numpy array, or an error saying why it cannot be one."""
    if tensor.is_meta:
        raise ValueError(f"{where} is on the meta device and holds no data; from_torch needs the weights "
                         "on the CPU: module.to_empty(device='cpu'), then load them")
    if tensor.is_floating_point() and str(tensor.dtype).removeprefix("torch.") not in _FLOATS:
        raise TypeError(f"{where} has dtype {tensor.dtype}; minidl takes float16, float32 or float64: "
                        "convert the module first, e.g. module.float()")
    array: Array = tensor.detach().cpu().numpy()
    return array


def to_torch(network: Network) -> nn.Sequential:
    """The network as a ``torch.nn.Sequential`` computing the same function, in its dtype and mode.

    Parameters
    ----------
    network
        A :class:`~minidl.Network` whose layers all have rules (every built-in layer does;
        :func:`~minidl.export.register_torch_rule` adds yours).

    Returns
    -------
    torch.nn.Sequential
        Module ``i`` for layer ``i``, its parameters copies of the layer's (float64 stays
        float64), each module in its layer's mode. ``state_dict()`` holds what
        :func:`~minidl.export.torch_state_dict` lists.

    Raises
    ------
    ModuleNotFoundError
        Without PyTorch, saying how to install it.
    TypeError
        For anything but a Network (a Keras-style model: pass ``model.network``), or a layer
        with no rule, naming it (index, type and name).
    """
    torch = require("torch", "minidl.export.to_torch")
    layers = list(check_network(network, "to_torch").layers)
    modules = [rule_for(layer, index, "to_torch").to_module(layer, rank)
               for index, (layer, rank) in enumerate(zip(layers, input_ranks(layers), strict=True))]
    sequential = torch.nn.Sequential(*modules).to(torch.from_numpy(np.zeros(0, network.dtype)).dtype)
    state = {key: torch.as_tensor(np.asarray(array, order="C"))
             for key, array in torch_state_dict(layers, "to_torch").items()}
    try:
        sequential.load_state_dict(state, strict=True)
    except RuntimeError as error:  # a rule's module does not hold what its tensors give
        raise ValueError(f"to_torch: the modules' state_dict does not match the rules' tensors: "
                         f"{error}") from error
    sequential.train(network.training)
    for module, layer in zip(sequential, layers, strict=True):
        module.train(layer.training)
    result: nn.Sequential = sequential
    return result


def from_torch(module: nn.Sequential) -> Network:
    """A :class:`~minidl.Network` computing what a ``torch.nn.Sequential`` of supported modules computes.

    Each module becomes a layer of the module's dtype and mode, its parameters (and
    BatchNorm's running statistics) copied; the inverse of :func:`to_torch`.

    Raises
    ------
    TypeError
        If ``module`` is not an ``nn.Sequential``, or holds a module with no minidl
        equivalent (a nested Sequential included), naming it (index and type) and listing
        the supported ones; or a tensor of another dtype than float16, float32 and float64
        (bfloat16: convert with ``module.float()`` first).
    ValueError
        For a supported module with a setting minidl lacks (e.g. ``Conv2d(dilation=2)``,
        ``BatchNorm1d(affine=False)``, a ``Softmax`` over another axis than the last, or
        ``Softmax(dim=1)`` where no module tells the input's rank), naming the module and the
        setting; or for a tensor on the meta device (no data).
    """
    torch = require("torch", "minidl.export.from_torch")
    if type(module) is not torch.nn.Sequential:
        raise TypeError(f"from_torch expects a torch.nn.Sequential; got {type(module).__name__}")
    readers = {cls: rule for rule in torch_rules().values() if rule.from_module is not None
               for cls in rule.module_types()}
    supported = ", ".join(sorted(cls.__name__ for cls in readers))
    layers: list[Layer] = []
    state: dict[str, Array] = {}  # the modules' state_dict()s, under to_torch's keys
    rank = _leading_rank(module)  # Softmax(dim=1) first is over the last axis only on (batch, classes)
    for index, child in enumerate(module):
        where = f"from_torch: module {index} ({type(child).__name__})"
        rule = readers.get(type(child))
        if rule is None or rule.from_module is None:
            nested = " (a nested Sequential: unpack it, nn.Sequential(*a, *b))" if isinstance(
                child, torch.nn.Sequential) else ""
            raise TypeError(f"{where} has no minidl equivalent{nested}; supported: {supported}. For a module "
                            "of your own, see minidl.export.register_torch_rule")
        try:
            layer = rule.from_module(child, rank)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: {error}") from error
        if not isinstance(layer, Layer):
            raise TypeError(f"{where}: the from_module of {rule.layer_class.__name__}'s rule returned "
                            f"{type(layer).__name__}; expected a minidl Layer")
        arrays = {key: _as_numpy(t, f"{where}: tensor {key!r}") for key, t in child.state_dict().items()}
        if floats := [array.dtype for array in arrays.values() if array.dtype.kind == "f"]:
            layer.astype(floats[0])
        layer.train(child.training)
        layers.append(layer)
        state |= {f"{index}.{key}": array for key, array in arrays.items()}
        rank = _MODULE_RANKS.get(module_key(type(child)), rank)
    try:
        network = Network(layers)
    except TypeError as error:  # modules of mixed dtypes
        raise TypeError(f"from_torch: {error}; convert the model to one dtype first, e.g. "
                        "model.float()") from error
    load_torch_state_dict(network.layers, state, "from_torch")
    return network
