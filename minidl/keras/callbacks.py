"""Keras's ``keras.callbacks`` path: ``from minidl.keras.callbacks import EarlyStopping, ...``.

minidl's own callbacks (see :mod:`minidl.training`), under the module path the course's
import lines use.
"""

from minidl.training import (
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
)

__all__ = ["CSVLogger", "EarlyStopping", "LearningRateScheduler", "ModelCheckpoint", "ReduceLROnPlateau"]
