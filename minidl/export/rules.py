"""The rules that map each minidl layer to a PyTorch module and back, and their registry.

A rule (:class:`TorchRule`) says four things about one layer class: which module to build
for a layer (``to_module``), which layer to build for a module (``from_module``), and how
the layer's arrays look under the keys and layouts of that module's ``state_dict()``
(``tensors``, ``load_tensors``). The last two need no PyTorch: :mod:`minidl.export.safetensors`
writes and reads PyTorch's layout with numpy alone.

Every built-in layer has a rule. Add one for a layer of your own with
:func:`register_torch_rule`::

    class Double(minidl.Layer):             # y = 2 x
        def forward(self, x): return 2.0 * x
        def backward(self, grad_y): return 2.0 * grad_y

    class TorchDouble(torch.nn.Module):
        def forward(self, x): return 2.0 * x

    register_torch_rule(Double, lambda layer, rank: TorchDouble(),
                        module_class=TorchDouble, from_module=lambda module, rank: Double())

A layer with parameters needs a module whose ``state_dict()`` keys are the parameters'
names (``layer.weight.name``, ...) and state arrays' keys, with the same shapes; or pass
``tensors`` and ``load_tensors`` for another layout (as ``Dense``'s rule transposes its weight).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from minidl._typing import Array
from minidl._validation import check_finite
from minidl.errors import label
from minidl.layers import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Identity,
    Layer,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from minidl.network import Network

if TYPE_CHECKING:
    from types import ModuleType

    from torch import nn

__all__ = ["TorchRule", "check_network", "load_torch_state_dict", "module_key", "register_torch_rule",
           "require", "rule_for", "torch_rules", "torch_state_dict", "unregister_torch_rule"]

#: ``to_module(layer, input_rank)``: a new module for ``layer``; its weights are loaded after.
ToModule = Callable[[Any, "int | None"], "nn.Module"]
#: ``from_module(module, input_rank)``: a new layer for ``module``; its arrays are loaded after.
FromModule = Callable[[Any, "int | None"], Layer]


def require(package: str, what: str) -> ModuleType:
    """Import ``package`` (``"torch"``, ``"safetensors.numpy"``) on first use, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(package)
    except ModuleNotFoundError as error:
        if package.split(".")[0] == "torch":
            hint = ("PyTorch, which minidl never installs for you: install its CPU build as "
                    "https://pytorch.org/get-started/locally/ shows, e.g. pip install torch "
                    "--index-url https://download.pytorch.org/whl/cpu")
        else:
            hint = 'safetensors, an optional extra: pip install -e ".[safetensors]"'
        raise ModuleNotFoundError(f"{what} needs {hint}", name=error.name) from error


def check_network(network: Any, what: str) -> Network:
    """``network`` if it is a minidl :class:`~minidl.Network`, else a TypeError saying what was passed."""
    if not isinstance(network, Network):
        keras = "; for a Keras-style model, pass model.network" if hasattr(type(network), "network") else ""
        raise TypeError(f"{what} expects a minidl Network; got {type(network).__name__}{keras}")
    return network


def own_tensors(layer: Layer) -> dict[str, Array]:
    """The default layout: every parameter under its name, then the state arrays, as they are."""
    return {**{p.name: p.value for p in layer.parameters()}, **layer.state_arrays()}


def load_own_tensors(layer: Layer, arrays: Mapping[str, Array]) -> None:
    """Copy ``arrays`` (keys, shapes and dtypes already checked) into the layer, the default layout."""
    for parameter in layer.parameters():
        parameter.value[...] = arrays[parameter.name]
    if layer.state_arrays():
        layer.load_state_arrays({key: arrays[key] for key in layer.state_arrays()})


@dataclass(frozen=True)
class TorchRule:
    """How one minidl layer class maps to PyTorch: see :func:`register_torch_rule` for the fields."""

    layer_class: type[Layer]
    to_module: ToModule
    module_classes: tuple[type[Any] | str, ...] = ()  # a str: the class of that name in torch.nn
    from_module: FromModule | None = None
    tensors: Callable[[Any], dict[str, Array]] = own_tensors
    load_tensors: Callable[[Any, Mapping[str, Array]], None] = load_own_tensors

    def module_types(self) -> list[type[Any]]:
        """The module classes ``from_module`` reads (needs PyTorch for the built-in ones)."""
        return [getattr(require("torch.nn", "minidl.export.from_torch"), c) if isinstance(c, str) else c
                for c in self.module_classes]


_RULES: dict[type[Layer], TorchRule] = {}


def register_torch_rule(layer_class: type[Layer], to_module: ToModule, *,
                        module_class: type[Any] | None = None,
                        from_module: FromModule | None = None,
                        tensors: Callable[[Any], dict[str, Array]] | None = None,
                        load_tensors: Callable[[Any, Mapping[str, Array]], None] | None = None) -> None:
    """Teach ``to_torch``, ``from_torch`` and the safetensors files a layer class of your own.

    Parameters
    ----------
    layer_class
        Your :class:`~minidl.Layer` subclass (exactly this class: subclasses need rules of their own).
    to_module
        ``to_module(layer, input_rank) -> torch.nn.Module``, a new module computing what the
        layer computes; ``input_rank`` is the rank of the layer's input (2 or 4) or None when
        not known. Its weights need not be set: ``to_torch`` loads ``tensors(layer)`` into it
        (``load_state_dict(strict=True)``) and converts it to the network's dtype.
    module_class
        The module class ``from_torch`` turns back into your layer (exactly this class).
    from_module
        ``from_module(module, input_rank) -> Layer``, a new layer for a ``module_class``
        module (its arrays are loaded after, from the module's ``state_dict()``).
    tensors
        ``tensors(layer) -> {key: array}``, the layer's arrays under the module's
        ``state_dict()`` keys and layouts (default: each parameter under its ``name``, then
        the ``state_arrays()``).
    load_tensors
        ``load_tensors(layer, arrays)``, the inverse: put arrays of the ``tensors`` keys,
        shapes and dtypes (checked before) into the layer.

    Raises
    ------
    TypeError
        For an argument of the wrong kind (a ``to_module`` that is not a function, ...).
    ValueError
        For a ``module_class`` another layer's rule already reads (``nn.Identity``:
        ``Identity``'s): unregister that rule first to replace it.
    """
    if not (isinstance(layer_class, type) and issubclass(layer_class, Layer)):
        raise TypeError("register_torch_rule: layer_class must be a subclass of minidl.Layer; "
                        f"got {layer_class!r}")
    functions = {"to_module": to_module, "from_module": from_module, "tensors": tensors,
                 "load_tensors": load_tensors}
    for name, function in functions.items():
        if not callable(function) and (function is not None or name == "to_module"):
            raise TypeError(f"register_torch_rule: {name} must be a function; got {function!r}")
    if (module_class is None) != (from_module is None):
        raise ValueError("register_torch_rule: give module_class and from_module together (or neither)")
    if module_class is not None and not isinstance(module_class, (type, str)):
        raise TypeError(f"register_torch_rule: module_class must be a class; got {module_class!r}")
    readers = {module_key(c): rule.layer_class for rule in _RULES.values() for c in rule.module_classes}
    if (reader := readers.get(module_key(module_class))) not in (None, layer_class):
        raise ValueError(f"register_torch_rule: the rule of {reader.__name__} already reads "
                         f"{getattr(module_class, '__name__', module_class)} modules in from_torch; "
                         f"unregister_torch_rule({reader.__name__}) first to replace it")
    _RULES[layer_class] = TorchRule(layer_class, to_module, () if module_class is None else (module_class,),
                                    from_module, tensors or own_tensors, load_tensors or load_own_tensors)


def module_key(module_class: Any) -> Any:
    """A class of ``torch.nn`` as its name (``"Linear"``), as the built-in rules give it; else as it is."""
    in_nn = isinstance(module_class, type) and module_class.__module__.startswith("torch.nn.")
    return module_class.__name__ if in_nn else module_class


def unregister_torch_rule(layer_class: type[Layer]) -> None:
    """Remove the rule of ``layer_class`` (no error if it has none)."""
    _RULES.pop(layer_class, None)


def torch_rules() -> dict[type[Layer], TorchRule]:
    """A copy of the rules: layer class -> :class:`TorchRule`."""
    return dict(_RULES)


def rule_for(layer: Layer, index: int, what: str) -> TorchRule:
    """The rule of ``layer`` (at ``index`` in its network), or a TypeError naming it and the fix."""
    rule = _RULES.get(type(layer))
    if rule is None:
        known = ", ".join(sorted(c.__name__ for c in _RULES))
        raise TypeError(f"{what}: layer {index} ({label(layer)}) has no PyTorch rule; rules exist for "
                        f"{known}. For a layer of your own, see minidl.export.register_torch_rule")
    return rule


def torch_state_dict(layers: list[Layer], what: str = "torch_state_dict") -> dict[str, Array]:
    """The arrays ``to_torch`` would put in its ``state_dict()``: key ``"<index>.<name>"``, PyTorch's layout.

    The arrays are the layers' own where the layouts agree (a view, not a copy, e.g. a
    transposed ``Dense`` weight); no PyTorch needed.
    """
    if not isinstance(layers, (list, tuple, Network)) or not all(isinstance(x, Layer) for x in layers):
        kinds = [type(x).__name__ for x in layers] if isinstance(layers, (list, tuple)) else None
        got = kinds or type(layers).__name__
        raise TypeError(f"{what} expects a list of minidl layers, e.g. network.layers; got {got}")
    return {f"{index}.{key}": array for index, layer in enumerate(layers)
            for key, array in rule_for(layer, index, what).tensors(layer).items()}


def load_torch_state_dict(layers: list[Layer], arrays: Mapping[str, Array], what: str) -> None:
    """Fill the layers from a ``state_dict`` of ``to_torch``'s keys, all checked before any is written.

    Raises ``ValueError`` naming the first missing or unexpected key, or a key whose shape
    or dtype differs from the layer's or whose values are not all finite (checked for all keys
    first); a layer's own check of the values (BatchNorm: no negative ``running_var``) runs as
    it is filled, after the layers before it.
    """
    expected = torch_state_dict(layers, what)
    missing, unexpected = sorted(set(expected) - set(arrays)), sorted(set(arrays) - set(expected))
    if missing or unexpected:
        problem = (f"missing key {missing[0]!r} ({len(missing)} missing)" if missing
                   else f"unexpected key {unexpected[0]!r} ({len(unexpected)} unexpected)")
        raise ValueError(f"{what}: {problem}; the network's keys are {sorted(expected)}")
    for key, target in expected.items():
        value = np.asarray(arrays[key])
        if value.shape != target.shape or value.dtype != target.dtype:
            raise ValueError(f"{what}: key {key!r} must have shape {target.shape} and dtype {target.dtype}; "
                             f"got shape {value.shape} and dtype {value.dtype}")
        check_finite(value, f"{what}: key {key!r}")
    for index, layer in enumerate(layers):
        prefix = f"{index}."
        own = {key[len(prefix):]: np.asarray(arrays[key]) for key in expected if key.startswith(prefix)}
        if own:
            try:
                rule_for(layer, index, what).load_tensors(layer, own)
            except ValueError as error:  # BatchNorm's negative running_var
                raise ValueError(f"{what}: {error}") from error


# -- the built-in rules -----------------------------------------------------------------------
def _nn() -> ModuleType:
    return require("torch.nn", "minidl.export.to_torch")


def _dense_tensors(layer: Dense) -> dict[str, Array]:
    return {**own_tensors(layer), "weight": layer.weight.value.T}  # Linear's is (out_features, in_features)


def _load_dense(layer: Dense, arrays: Mapping[str, Array]) -> None:
    load_own_tensors(layer, {**arrays, "weight": arrays["weight"].T})


def _batchnorm_tensors(layer: BatchNorm) -> dict[str, Array]:
    # minidl counts no batches: PyTorch reads num_batches_tracked only when its momentum is None
    return {"weight": layer.gamma.value, "bias": layer.beta.value, "running_mean": layer.running_mean,
            "running_var": layer.running_var, "num_batches_tracked": np.zeros((), dtype=np.int64)}


def _load_batchnorm(layer: BatchNorm, arrays: Mapping[str, Array]) -> None:
    layer.load_state_arrays({"running_mean": arrays["running_mean"], "running_var": arrays["running_var"]})
    layer.gamma.value[...], layer.beta.value[...] = arrays["weight"], arrays["bias"]


def _refuse_unless(ok: bool, setting: str) -> None:
    if not ok:
        raise ValueError(f"{setting} has no minidl equivalent")


def _conv_from(module: Any, rank: int | None) -> Conv2D:
    _refuse_unless(tuple(module.dilation) == (1, 1), f"dilation={module.dilation}")
    _refuse_unless(module.groups == 1, f"groups={module.groups}")
    _refuse_unless(module.padding_mode == "zeros", f"padding_mode={module.padding_mode!r}")
    padding = module.padding if isinstance(module.padding, str) else tuple(module.padding)
    return Conv2D(module.in_channels, module.out_channels, tuple(module.kernel_size),
                  stride=tuple(module.stride), padding=padding, use_bias=module.bias is not None)


def _pool_from(module: Any, layer_class: type[MaxPool2D | AvgPool2D]) -> MaxPool2D | AvgPool2D:
    _refuse_unless(module.padding in (0, (0, 0)), f"padding={module.padding}")
    _refuse_unless(not module.ceil_mode, "ceil_mode=True")
    dilation = getattr(module, "dilation", 1)  # AvgPool2d has none
    _refuse_unless(dilation in (1, (1, 1)), f"dilation={dilation}")
    _refuse_unless(not getattr(module, "return_indices", False), "return_indices=True")
    _refuse_unless(getattr(module, "divisor_override", None) is None, "divisor_override")
    return layer_class(module.kernel_size, module.stride)


def _batchnorm_from(module: Any, rank: int | None) -> BatchNorm:
    _refuse_unless(module.affine, "affine=False")
    _refuse_unless(module.track_running_stats, "track_running_stats=False")
    _refuse_unless(module.momentum is not None, "momentum=None (a cumulative average)")
    return BatchNorm(module.num_features, momentum=1.0 - module.momentum, epsilon=module.eps)


def _softmax_from(module: Any, rank: int | None) -> Softmax:
    # minidl's Softmax is over the last axis: dim=1 is that axis only for (batch, classes)
    where = f"on rank {rank}" if rank else "on an input of unknown rank; dim=-1 is minidl's last axis"
    _refuse_unless(module.dim in ((-1,) if rank is None else (-1, rank - 1)), f"dim={module.dim} ({where})")
    return Softmax()


def _flatten_from(module: Any, rank: int | None) -> Flatten:
    _refuse_unless((module.start_dim, module.end_dim) == (1, -1), f"start_dim={module.start_dim}, "
                   f"end_dim={module.end_dim} (minidl flattens from axis 1 to the last)")
    return Flatten()


def _builtin_rules() -> list[TorchRule]:
    nn = _nn
    return [
        TorchRule(Dense, lambda layer, rank: nn().Linear(layer.in_features, layer.out_features,
                                                         bias=layer.use_bias),
                  ("Linear",), lambda m, rank: Dense(m.in_features, m.out_features,
                                                     use_bias=m.bias is not None),
                  _dense_tensors, _load_dense),
        TorchRule(Conv2D, lambda layer, rank: nn().Conv2d(
            layer.in_channels, layer.out_channels, layer.kernel_size, stride=layer.stride,
            bias=layer.use_bias,
            padding="same" if layer.padding == "same" else (layer.pads[0][0], layer.pads[1][0])),
            ("Conv2d",), _conv_from),
        TorchRule(BatchNorm, lambda layer, rank: (nn().BatchNorm2d if rank == 4 else nn().BatchNorm1d)(
            layer.num_features, eps=layer.epsilon, momentum=1.0 - layer.momentum),
            ("BatchNorm1d", "BatchNorm2d"), _batchnorm_from, _batchnorm_tensors, _load_batchnorm),
        TorchRule(MaxPool2D, lambda layer, rank: nn().MaxPool2d(layer.pool_size, layer.stride),
                  ("MaxPool2d",), lambda m, rank: _pool_from(m, MaxPool2D)),
        TorchRule(AvgPool2D, lambda layer, rank: nn().AvgPool2d(layer.pool_size, layer.stride),
                  ("AvgPool2d",), lambda m, rank: _pool_from(m, AvgPool2D)),
        TorchRule(Flatten, lambda layer, rank: nn().Flatten(), ("Flatten",), _flatten_from),
        TorchRule(Dropout, lambda layer, rank: nn().Dropout(layer.rate), ("Dropout",),
                  lambda m, rank: Dropout(m.p)),
        TorchRule(LeakyReLU, lambda layer, rank: nn().LeakyReLU(layer.alpha), ("LeakyReLU",),
                  lambda m, rank: LeakyReLU(m.negative_slope)),
        TorchRule(Softmax, lambda layer, rank: nn().Softmax(dim=-1), ("Softmax",), _softmax_from),
        *[_same_name(cls) for cls in (ReLU, Sigmoid, Tanh, Identity)],
    ]


def _same_name(cls: type[Layer]) -> TorchRule:
    """The rule of a layer with no arguments whose PyTorch module has its name (ReLU, ...)."""
    return TorchRule(cls, lambda layer, rank: getattr(_nn(), cls.__name__)(), (cls.__name__,),
                     lambda module, rank: cls())


_RULES.update({rule.layer_class: rule for rule in _builtin_rules()})
