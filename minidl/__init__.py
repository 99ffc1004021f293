"""minidl: a small, readable deep-learning framework on numpy.

Every layer has an explicit ``forward`` and ``backward`` you can read; ``Network``
runs them in order. Start with ``Network.from_node_weights`` to rebuild the course's
networks, or stack ``Dense`` and activation layers yourself.
"""

from minidl import metrics
from minidl._version import __version__
from minidl.course import NodeValues, Trace
from minidl.gradcheck import GradientCheckError, GradientCheckReport, check_gradients
from minidl.io import ModelFileError, register_layer
from minidl.layers import (
    Activation,
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
    Parameter,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from minidl.losses import (
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    SparseCategoricalCrossEntropy,
)
from minidl.network import Network, load, save
from minidl.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop
from minidl.training import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
)

__all__ = ["SGD", "Activation", "Adam", "AdamW", "AvgPool2D", "BatchNorm", "BinaryCrossEntropy", "CSVLogger",
           "Callback", "CategoricalCrossEntropy", "Conv2D", "Dense", "Dropout", "EarlyStopping", "Flatten",
           "GradientCheckError", "GradientCheckReport", "History", "Identity", "Layer", "LeakyReLU",
           "LearningRateScheduler", "Loss", "MaxPool2D", "MeanAbsoluteError", "MeanSquaredError",
           "ModelCheckpoint", "ModelFileError", "Network", "NodeValues", "Optimizer", "Parameter", "RMSprop",
           "ReLU", "ReduceLROnPlateau", "Sigmoid", "Softmax", "SparseCategoricalCrossEntropy", "Tanh",
           "Trace", "__version__", "check_gradients", "load", "metrics", "register_layer", "save"]
