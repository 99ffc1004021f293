"""Layers: the building blocks of a network."""

from minidl.layers.activations import Activation, Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from minidl.layers.base import Layer, Parameter
from minidl.layers.batchnorm import BatchNorm
from minidl.layers.conv import Conv2D
from minidl.layers.dense import Dense
from minidl.layers.dropout import Dropout
from minidl.layers.flatten import Flatten
from minidl.layers.pooling import AvgPool2D, MaxPool2D
from minidl.layers.softmax import Softmax

__all__ = ["Activation", "AvgPool2D", "BatchNorm", "Conv2D", "Dense", "Dropout", "Flatten", "Identity",
           "Layer", "LeakyReLU", "MaxPool2D", "Parameter", "ReLU", "Sigmoid", "Softmax", "Tanh"]
