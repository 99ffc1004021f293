"""Model files: a network saved as JSON plus plain arrays in one ``.npz``, never pickled.

A model file is a zip archive of ``.npy`` arrays (the layout ``numpy.savez`` writes, so
``numpy.load(path)`` can inspect it), written at exactly the path given (no suffix added):

* ``__minidl__.npy``: a ``uint8`` array holding UTF-8 JSON, with the format name and
  version, then for every layer its type, its ``config()`` (constructor arguments) and
  the names, shapes and dtypes of its arrays; optionally the training settings.
* ``layer<i>.param<j>.npy``: the ``j``-th :class:`~minidl.Parameter` of layer ``i``.
* ``layer<i>.state.<key>.npy``: non-parameter state (``Layer.state_arrays()``), such
  as BatchNorm's running statistics.
* ``optimizer.<k>.npy``: the optimizer's state when a compiled network is saved with
  ``include_optimizer=True`` (the default); the header's ``training`` section then names
  the loss, the metrics and the optimizer with its configuration, and holds the state of
  the random generator ``fit`` shuffles with, so training resumes exactly. Layers' own
  generators (Dropout's) are stored in their header entries.

The package: :mod:`~minidl.io.archive` (the zip itself: bounded reading, atomic writing),
:mod:`~minidl.io.registry` (the allow-list of layer types), :mod:`~minidl.io.saving`
(what goes in) and :mod:`~minidl.io.loading` (the JSON header checked against its form,
then the layers rebuilt through their constructors and filled). :func:`minidl.load` (in
:mod:`minidl.network`) builds the ``Network`` from what :func:`read_model_file` returns;
this package never imports the network module.
"""

from minidl.io.archive import DEFAULT_MAX_BYTES, ModelFileError, PathLike, atomic_write, refusal
from minidl.io.loading import TrainingState, read_model_file
from minidl.io.registry import register_layer, registered_layers, unregister_layer
from minidl.io.saving import FORMAT_VERSION, describe_network, save, write_model_file

__all__ = ["DEFAULT_MAX_BYTES", "FORMAT_VERSION", "ModelFileError", "PathLike", "TrainingState",
           "atomic_write", "describe_network", "read_model_file", "refusal", "register_layer",
           "registered_layers", "save", "unregister_layer", "write_model_file"]
