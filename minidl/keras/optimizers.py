"""Keras's ``keras.optimizers`` path: ``from minidl.keras.optimizers import SGD, Adam, ...``.

minidl's own optimizers (see :mod:`minidl.optimizers`, and :mod:`minidl.keras` for how their
defaults differ from Keras's), under the module path the course's import lines use.
"""

from minidl.optimizers import SGD, Adam, AdamW, RMSprop

__all__ = ["SGD", "Adam", "AdamW", "RMSprop"]
