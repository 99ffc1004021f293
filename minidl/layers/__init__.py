"""Layers: the building blocks of a network."""

from minidl.layers.activations import Activation, Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from minidl.layers.base import Layer, Parameter
from minidl.layers.batchnorm import BatchNorm
from minidl.layers.dense import Dense
from minidl.layers.dropout import Dropout
from minidl.layers.softmax import Softmax

__all__ = ["Activation", "BatchNorm", "Dense", "Dropout", "Identity", "Layer", "LeakyReLU", "Parameter",
           "ReLU", "Sigmoid", "Softmax", "Tanh"]
