"""The file itself: only regular files are read, refusals say why and name the file, saves are atomic."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import Dense, ModelFileError, Network, ReLU
from minidl.io import archive


def small_network() -> Network:
    return Network([Dense(3, 4, seed=0), ReLU(), Dense(4, 2, seed=1)])


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_before_reading(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"{device} does not exist here")
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match=rf"cannot load '{device}': it is not a regular file"):
        minidl.load(device)
    assert time.perf_counter() - start < 1.0


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    errors: list[BaseException] = []

    def load() -> None:
        try:
            minidl.load(fifo)
        except ModelFileError as error:
            errors.append(error)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive(), "minidl.load blocked on a FIFO"
    assert "it is not a regular file" in str(errors[0]) and str(fifo) in str(errors[0])


def test_a_folder_is_a_model_file_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError,
                       match=rf"cannot load {re.escape(repr(str(tmp_path)))}: it is a folder"):
        minidl.load(tmp_path)


def test_a_file_larger_than_max_bytes_is_refused_before_it_is_opened_as_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "big.npz"
    path.write_bytes(b"\0" * (3 << 20))
    with pytest.raises(ModelFileError, match=r"the file is 3145728 bytes, more than max_bytes=1000 allows"):
        minidl.load(path, max_bytes=1000)


def test_every_refusal_names_the_file_and_says_why(tmp_path: Path) -> None:
    # Bytes flipped at random in a real file: every refusal names the path and gives a
    # reason (it used to read "(EOFError: )" for some).
    network = small_network()
    network.compile(optimizer="adam", loss="mse")
    path = tmp_path / "model.npz"
    network.save(path)
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    bad = tmp_path / "bad.npz"
    for _ in range(300):
        corrupted = bytearray(data)
        for position in rng.integers(0, len(data), size=3):
            corrupted[position] = rng.integers(0, 256)
        bad.write_bytes(bytes(corrupted))
        try:
            minidl.load(bad)
        except ModelFileError as error:
            message = str(error)
            assert message.startswith(f"cannot load {str(bad)!r}: "), message
            assert not re.search(r"\w+: \)|: $", message), message


def test_an_array_cut_short_inside_the_archive_says_why(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    small_network().save(path)
    data = path.read_bytes()
    start = data.index(b"\x93NUMPY", data.index(b"layer0.param0.npy"))
    cut = data[:start + 140] + data[start + 180:]  # 40 bytes of weights gone, the directory intact
    with pytest.raises(ModelFileError, match=r"cannot load a file object: \S.+") as caught:
        minidl.load(io.BytesIO(cut))
    assert not re.search(r"\w+: \)", str(caught.value))


# -- atomic saves -------------------------------------------------------------------------
def test_a_temporary_file_left_by_a_killed_save_is_removed_by_the_next_save(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    code = ("import os, sys, minidl\n"
            "from minidl.io import archive\n"
            "def write(file):\n"
            "    file.write(b'half a model')\n"
            "    file.flush()\n"
            "    os.kill(os.getpid(), 9)\n"
            f"archive.atomic_write({str(path)!r}, write)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2], check=False)
    assert result.returncode == -9
    left = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    assert len(left) == 1 and re.fullmatch(r"\.model\.npz\.[0-9a-f]{8}\.tmp", left[0])
    unrelated = [".model.npz.x.0123abcd.tmp", ".other.npz.0123abcd.tmp", "model.npz.0123abcd.tmp"]
    for name in unrelated:
        (tmp_path / name).write_bytes(b"keep")
    small_network().save(path)
    assert sorted(os.listdir(tmp_path)) == sorted(["model.npz", *unrelated])
    x = np.ones((1, 3))
    np.testing.assert_array_equal(minidl.load(path).predict(x), small_network().predict(x))


def test_a_failed_replace_names_the_target_not_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "model.npz"
    target.mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(OSError) as caught:
        small_network().save(target)
    assert caught.value.filename == str(target)
    assert ".tmp" not in str(caught.value)
    assert os.listdir(tmp_path) == ["model.npz"]


def test_atomic_write_names_temporary_files_after_the_target(tmp_path: Path) -> None:
    seen: list[str] = []
    archive.atomic_write(tmp_path / "a.bin", lambda file: seen.append(os.path.basename(file.name)))
    assert re.fullmatch(r"\.a\.bin\.[0-9a-f]{8}\.tmp", seen[0])
    assert os.listdir(tmp_path) == ["a.bin"]
