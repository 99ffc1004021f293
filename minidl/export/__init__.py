"""Leaving minidl: a network as a PyTorch module, and its weights in PyTorch's file layout.

* :func:`to_torch` / :func:`from_torch` (:mod:`minidl.export.torch`): a ``Network`` as an
  equal ``torch.nn.Sequential``, and back.
* :func:`save_safetensors` / :func:`load_safetensors` (:mod:`minidl.export.safetensors`):
  the weights under ``to_torch(network).state_dict()``'s keys, with numpy alone.
* :func:`register_torch_rule` (:mod:`minidl.export.rules`): the mapping for a layer of your own.
* :func:`to_onnx` (:mod:`minidl.export.onnx`): the network as an ONNX model, built with the
  ``onnx`` package alone, for onnxruntime and every ONNX runtime.

Imported on its own (``import minidl.export``), as :mod:`minidl.plot` is; neither this
package nor ``import minidl`` imports PyTorch, safetensors or onnx: a function does, when called,
and says what to install when the package is missing.
"""

from minidl.export.onnx import to_onnx
from minidl.export.rules import (
    TorchRule,
    register_torch_rule,
    torch_rules,
    torch_state_dict,
    unregister_torch_rule,
)
from minidl.export.safetensors import load_safetensors, save_safetensors
from minidl.export.torch import from_torch, to_torch

__all__ = ["TorchRule", "from_torch", "load_safetensors", "register_torch_rule", "save_safetensors",
           "to_onnx", "to_torch", "torch_rules", "torch_state_dict", "unregister_torch_rule"]
