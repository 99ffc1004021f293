"""minidl.keras's callbacks (minidl/keras/callbacks.py): Keras's arguments and defaults."""

from __future__ import annotations

import numpy as np

import minidl
from minidl.keras import Dense, Sequential, load_model
from minidl.keras.callbacks import ModelCheckpoint


def test_model_checkpoint_takes_kerass_filepath_and_saves_every_epoch_by_default(tmp_path):
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    checkpoint = ModelCheckpoint(filepath=str(tmp_path / "model-{epoch:02d}.keras"), monitor="loss")
    x = np.array([[0.0, 1.0], [1.0, 0.0]])
    model.fit(x, np.array([1.0, 2.0]), epochs=3, verbose=0, callbacks=[checkpoint])
    written = [str(tmp_path / f"model-0{epoch}.keras") for epoch in (1, 2, 3)]
    assert checkpoint.save_best_only is False and checkpoint.saved == written
    assert checkpoint.filepath == str(tmp_path / "model-{epoch:02d}.keras")
    np.testing.assert_array_equal(load_model(written[-1]).predict(x), model.predict(x))


def test_model_checkpoint_takes_kerass_argument_order():
    checkpoint = ModelCheckpoint("best.keras", "val_accuracy", 1, True)  # filepath, monitor, verbose, best
    assert (checkpoint.monitor, checkpoint.verbose, checkpoint.save_best_only) == ("val_accuracy", 1, True)
    assert checkpoint.mode == "max"
    assert minidl.ModelCheckpoint("best.npz").save_best_only is True  # minidl's own keeps its default


def test_kerass_verbose_2_is_taken_and_prints_as_1(tmp_path, capsys):
    model = Sequential([Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    path = str(tmp_path / "model.keras")
    model.fit(np.ones((2, 1)), np.ones(2), epochs=1, verbose=0,
              callbacks=[ModelCheckpoint(path, monitor="loss", verbose=2)])
    assert capsys.readouterr().out == f"ModelCheckpoint: epoch 1: saved {path}\n"
