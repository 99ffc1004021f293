"""Export a network to ONNX, to run it in onnxruntime or any other ONNX runtime.

onnx is an optional dependency: ``pip install -e ".[onnx]"`` (onnx and onnxruntime). It is
imported when :func:`to_onnx` is called, never by ``import minidl`` nor by this module's import.

Each layer becomes at most one ONNX operator, built with ``onnx.helper`` (no PyTorch). The model
computes what ``network.predict`` computes: evaluation mode, whatever the network's mode.

| minidl layer         | ONNX operator                                                                  |
|----------------------|--------------------------------------------------------------------------------|
| Dense                | ``Gemm(x, W, b)``, ``transB=0``: the ``(in, out)`` weight is Gemm's ``B`` as is |
| Conv2D               | ``Conv``: ``kernel_shape``, ``strides``, ``pads`` ``[top, left, bottom, right]`` |
| MaxPool2D, AvgPool2D | ``MaxPool``, ``AveragePool``: ``kernel_shape``, ``strides``, no pads            |
| Flatten              | ``Flatten(axis=1)``                                                            |
| BatchNorm            | ``BatchNormalization``: gamma, beta, the running statistics, ``epsilon``       |
| ReLU, Sigmoid, Tanh  | ``Relu``, ``Sigmoid``, ``Tanh``                                                |
| Identity             | ``Identity``                                                                   |
| LeakyReLU            | ``LeakyRelu(alpha)``                                                           |
| Softmax              | ``Softmax(axis=-1)``: minidl's last axis                                       |
| Dropout              | nothing: in inference it is the identity                                       |

A Dense without a bias is ``Gemm(x, W)``. Conv2D's ``'same'`` with an even kernel pads one
more row below and column right, as minidl does (``pads`` ``[0, 0, 1, 1]`` for a 2 x 2).
The pools leave out rows and columns no window reaches, as minidl (``ceil_mode=0``).

The input is called ``"input"``, the output ``"output"``; axis 0 is the batch, of any size
(``dim_param "batch"``). The other tensors are named after the layers (``"dense.weight"``,
``"dense.output"``).

**float64.** ONNX stores float64 models and the checker accepts them, but onnxruntime's CPU
build has no float64 ``Conv`` nor ``AveragePool`` (1.32 here): export a network with those as
float32 (``dtype=np.float32``; :func:`to_onnx` warns otherwise). Every other operator above
runs in float64.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from minidl._validation import check_float_dtype, check_positive_int
from minidl._version import __version__
from minidl.errors import label
from minidl.export.rules import check_network, own_tensors
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
from minidl.summary import summary_table

if TYPE_CHECKING:
    import onnx

#: The default opset: written by onnx >= 1.12 and run by onnxruntime >= 1.12.
DEFAULT_OPSET = 17
#: The lowest opset accepted: from 13 on, Softmax takes one ``axis`` (minidl's last axis).
MIN_OPSET = 13
#: The layers onnxruntime's CPU build cannot run in float64.
_NO_FLOAT64 = (Conv2D, AvgPool2D)


class _Graph:
    """The nodes and initializers made so far; ``tensor`` names the latest output."""

    def __init__(self, onnx_lib: Any, dtype: np.dtype[Any]) -> None:
        self.onnx, self.dtype = onnx_lib, dtype
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.tensor = "input"

    def node(self, layer: Layer, op_type: str, **attributes: Any) -> None:
        """Add ``op_type(latest output, *the layer's arrays)``, its output ``"<layer>.output"``.

        The layer's parameters, then its state arrays, become the initializers ``"<layer>.<name>"``
        (``"dense.weight"``, ``"dense.bias"``), cast to the model's dtype.
        """
        arrays = {f"{layer.name}.{name}": array for name, array in own_tensors(layer).items()}
        self.initializers += [self.onnx.numpy_helper.from_array(np.asarray(array, dtype=self.dtype), name)
                              for name, array in arrays.items()]
        output = f"{layer.name}.output"  # never "input", "output" nor an initializer's name
        self.nodes.append(self.onnx.helper.make_node(op_type, [self.tensor, *arrays], [output],
                                                     name=layer.name, **attributes))
        self.tensor = output


def _conv(layer: Conv2D) -> dict[str, Any]:
    (top, bottom), (left, right) = layer.pads
    return {"kernel_shape": list(layer.kernel_size), "strides": list(layer.stride),
            "pads": [top, left, bottom, right]}


def _pool(layer: MaxPool2D | AvgPool2D) -> dict[str, Any]:
    return {"kernel_shape": list(layer.pool_size), "strides": list(layer.stride)}


def _no_attributes(layer: Layer) -> dict[str, Any]:
    return {}


#: Each layer type's ONNX operator and its attributes, ``(op_type, attributes(layer))`` (the exact
#: type: a subclass may compute something else); None: no operator. The operator's inputs are the
#: latest output, then the layer's parameters and state arrays, in their order.
RULES: dict[type[Layer], tuple[str, Callable[[Any], dict[str, Any]]] | None] = {
    Dense: ("Gemm", _no_attributes),  # Y = X @ B + C: B is (in, out) as minidl keeps it, transB=0
    Conv2D: ("Conv", _conv),  # the weight's (out, in, kh, kw) is ONNX's layout
    MaxPool2D: ("MaxPool", _pool), AvgPool2D: ("AveragePool", _pool),
    Flatten: ("Flatten", lambda layer: {"axis": 1}), Softmax: ("Softmax", lambda layer: {"axis": -1}),
    BatchNorm: ("BatchNormalization", lambda layer: {"epsilon": float(layer.epsilon),
                                                     "momentum": float(layer.momentum)}),
    ReLU: ("Relu", _no_attributes), Sigmoid: ("Sigmoid", _no_attributes), Tanh: ("Tanh", _no_attributes),
    LeakyReLU: ("LeakyRelu", lambda layer: {"alpha": float(layer.alpha)}),
    Identity: ("Identity", _no_attributes), Dropout: None,  # in inference Dropout is the identity
}


def to_onnx(network: Network, path: str | os.PathLike[str] | None, *, opset: int = DEFAULT_OPSET,
            input_shape: int | Sequence[int] | None = None,
            dtype: npt.DTypeLike | None = None) -> onnx.ModelProto:
    """The network as an ONNX model, checked (``full_check``) and saved at ``path``.

    Parameters
    ----------
    network
        A :class:`~minidl.Network` of the layers in the module's table (exactly those types).
    path
        Where to save the model (``.onnx``); ``None``: only return it.
    opset
        The ONNX opset, from 13 to the installed onnx's newest; 17 by default (run by
        onnxruntime 1.12 and later).
    input_shape
        One sample's shape, without the batch axis, e.g. ``(1, 28, 28)``. By default the first
        layer's input in the latest forward, else what it declares (Dense: its features;
        Conv2D: its channels, the height and width then symbolic, ``"height"``, ``"width"``).
    dtype
        float32 or float64; by default the network's. The weights are cast to it.

    Returns
    -------
    onnx.ModelProto
        The model (input ``"input"``, output ``"output"``, the batch axis ``"batch"``).

    Raises
    ------
    ModuleNotFoundError
        Without onnx installed.
    TypeError
        For anything but a Network, an ``input_shape`` that is neither an int nor a tuple of
        ints, or a layer with no ONNX rule (the message names it and lists the supported types).
    ValueError
        For an opset out of range, a dtype other than float32 or float64, or an input shape
        the layers do not take.

    Examples
    --------
    >>> from minidl.export.onnx import to_onnx
    >>> net = Network([Dense(3, 4, seed=0), ReLU(), Dense(4, 2, seed=1), Softmax()])
    >>> model = to_onnx(net, None)  # doctest: +SKIP
    >>> [node.op_type for node in model.graph.node]  # doctest: +SKIP
    ['Gemm', 'Relu', 'Gemm', 'Softmax']
    """
    for index, layer in enumerate(check_network(network, "to_onnx").layers):
        if type(layer) not in RULES:
            supported = ", ".join(sorted(kind.__name__ for kind in RULES))
            raise TypeError(f"to_onnx: layer {index}, {label(layer)}, has no ONNX rule; supported types: "
                            f"{supported} (exactly: a subclass may compute something else)")
    target = network.dtype if dtype is None else check_float_dtype(dtype, "to_onnx dtype")
    if target not in (np.float32, np.float64):
        raise ValueError(f"to_onnx: dtype must be float32 or float64; got {target}")
    dims = _input_dims(network, input_shape)
    onnx_lib = _import_onnx()
    newest = onnx_lib.defs.onnx_opset_version()
    is_int = isinstance(opset, (int, np.integer)) and not isinstance(opset, bool)
    if not (is_int and MIN_OPSET <= opset <= newest):
        raise ValueError(f"to_onnx: opset must be an int from {MIN_OPSET} to {newest} (the installed onnx's "
                         f"newest); got {opset!r}")
    opset = int(opset)
    graph = _Graph(onnx_lib, np.dtype(target))
    for layer in network.layers:
        if (rule := RULES[type(layer)]) is not None:
            op_type, attributes = rule
            graph.node(layer, op_type, **attributes(layer))
    helper = onnx_lib.helper
    if not graph.nodes:  # only Dropout: the output is the input
        graph.node(network.layers[-1], "Identity")
    graph.nodes[-1].output[0] = "output"
    elem_type = helper.np_dtype_to_tensor_dtype(np.dtype(target))
    model = helper.make_model(
        helper.make_graph(graph.nodes, "minidl", [helper.make_tensor_value_info("input", elem_type, dims)],
                          [helper.make_tensor_value_info("output", elem_type, None)], graph.initializers),
        opset_imports=[helper.make_opsetid("", opset)], producer_name="minidl", producer_version=__version__,
        ir_version=helper.find_min_ir_version_for([helper.make_opsetid("", opset)]))
    inferred: onnx.ModelProto = onnx_lib.shape_inference.infer_shapes(model, strict_mode=True)  # + shapes
    onnx_lib.checker.check_model(inferred, full_check=True)
    if target == np.float64 and (slow := [label(x) for x in network.layers if isinstance(x, _NO_FLOAT64)]):
        warnings.warn(f"to_onnx: onnxruntime has no float64 Conv or AveragePool (for {', '.join(slow)}): "
                      "the model is valid ONNX but onnxruntime will not load it; pass dtype=np.float32 "
                      "to export it as float32", UserWarning, stacklevel=2)
    if path is not None:
        onnx_lib.save_model(inferred, os.fspath(path))
    return inferred


def _input_dims(network: Network, input_shape: int | Sequence[int] | None) -> list[int | str]:
    """The input's dims: ``"batch"``, then the given, seen or declared sizes (unknown: symbolic names)."""
    first = network.layers[0]
    sizes: Sequence[int | None]
    if input_shape is not None:
        name = "to_onnx input_shape (one sample's, without the batch axis)"
        if not isinstance(input_shape, (int, np.integer, Iterable)):
            raise TypeError(f"{name} must be an int or a tuple of ints; got {input_shape!r}")
        given = (input_shape,) if isinstance(input_shape, (int, np.integer)) else tuple(input_shape)
        sizes = [check_positive_int(size, f"{name}: each size") for size in given]
    elif (known := first.last_input_shape or first.input_shape) is not None:
        sizes = known[1:]
    else:
        raise ValueError(f"to_onnx: the input's shape is not known ({label(first)} declares none and has "
                         "not run a forward); pass input_shape, one sample's shape, e.g. (1, 28, 28)")
    if None not in sizes:
        try:  # the layers' own shape checks, as Network.summary runs them
            summary_table(network.layers, [int(size or 0) for size in sizes])
        except ValueError as error:
            hint = "" if input_shape is not None else (f" (the shape {label(first)} declares; pass "
                                                        "input_shape, one sample's shape, e.g. (1, 28, 28))")
            raise ValueError(f"to_onnx: {str(error).removeprefix('Network.summary: ')}{hint}") from error
    rank = len(sizes)
    names = ("channels", "height", "width") if rank == 3 else [f"dim_{i + 1}" for i in range(rank)]
    return ["batch", *(name if size is None else int(size) for size, name in zip(sizes, names, strict=True))]


def _import_onnx() -> Any:
    """The onnx package, or an error saying how to install it."""
    try:
        import onnx
        import onnx.shape_inference
    except ImportError as error:
        raise ModuleNotFoundError('minidl.export.onnx needs onnx: pip install onnx onnxruntime (or '
                                  f'pip install -e ".[onnx]"; import failed: {error})') from error
    return onnx
