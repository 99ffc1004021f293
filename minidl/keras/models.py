"""Keras's ``keras.models`` path: ``from minidl.keras.models import Sequential, load_model``.

The same objects as ``minidl.keras.Sequential`` and ``minidl.keras.load_model``; this module
exists so the course's ``from keras.models import ...`` lines need only ``minidl.`` in front.
"""

from minidl.keras.model import Sequential, load_model

__all__ = ["Sequential", "load_model"]
