"""Weights in a ``.safetensors`` file under PyTorch's keys and layouts, written and read with numpy alone.

The file holds exactly ``to_torch(network).state_dict()`` (same keys, shapes and dtypes,
BatchNorm's ``running_mean``, ``running_var`` and ``num_batches_tracked`` included), so
PyTorch reads it straight into the exported model::

    save_safetensors(network, "model.safetensors")           # needs safetensors, not torch

    import safetensors.torch
    model = to_torch(network)                                 # or any module of that layout
    model.load_state_dict(safetensors.torch.load_file("model.safetensors"), strict=True)

Only the weights: the layers themselves (sizes, strides, ...) are the code that builds the
network, or a minidl model file (:meth:`Network.save <minidl.Network.save>`). safetensors is
an optional extra (``pip install -e ".[safetensors]"``), imported when a function is called.
"""

from __future__ import annotations

import os

import numpy as np

from minidl._validation import check_finite
from minidl.export.rules import check_network, load_torch_state_dict, require, torch_state_dict
from minidl.network import Network

__all__ = ["load_safetensors", "save_safetensors"]


def save_safetensors(network: Network, path: str | os.PathLike[str]) -> None:
    """Write the network's weights to ``path`` as ``to_torch(network).state_dict()`` would hold them.

    Raises ``TypeError`` for anything but a Network or for a layer with no PyTorch rule (naming
    it), ``ValueError`` for NaN or infinite weights (naming the key; ``load_safetensors`` would
    refuse the file) and ``ModuleNotFoundError`` without safetensors.
    """
    st = require("safetensors.numpy", "minidl.export.save_safetensors")
    state = torch_state_dict(check_network(network, "save_safetensors").layers, "save_safetensors")
    arrays = {key: np.asarray(array, order="C") for key, array in state.items()}
    for key, array in arrays.items():  # load_safetensors (and minidl.save) refuse them: fail here, not later
        check_finite(array, f"save_safetensors: key {key!r}")
    st.save_file(arrays, os.fspath(path), metadata={"format": "pt"})


def load_safetensors(network: Network, path: str | os.PathLike[str]) -> None:
    """Fill the network's weights, in place, from a file of ``to_torch(network).state_dict()``'s layout.

    Every key, shape, dtype and value is checked before anything is written; a ``ValueError``
    names the first missing or unexpected key, or the key whose shape or dtype differs or
    that holds NaN or infinity. ``TypeError`` for anything but a Network.
    The file's ``num_batches_tracked`` is read and not used (minidl does not count batches).
    """
    check_network(network, "load_safetensors")
    st = require("safetensors.numpy", "minidl.export.load_safetensors")
    arrays = st.load_file(os.fspath(path))
    load_torch_state_dict(network.layers, arrays, f"load_safetensors {os.fspath(path)!r}")
