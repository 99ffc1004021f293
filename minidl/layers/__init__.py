"""Layers: the building blocks of a network."""

from minidl.layers.activations import (
    Activation,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from minidl.layers.base import Layer, Parameter
from minidl.layers.dense import Dense

__all__ = [
    "Activation",
    "Dense",
    "Identity",
    "Layer",
    "LeakyReLU",
    "Parameter",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
]
