"""The file itself (minidl/io/archive.py): only regular files are read, refusals say why and name
the file, saves are atomic, truncated, pickled and bomb-like archives refused."""

from __future__ import annotations

import builtins
import io
import json
import os
import pickle
import re
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import Dense, ModelFileError, Network, ReLU
from minidl.io import archive
from tests.io.files import X_SMALL, read_parts, small_network, write_parts


def two_dense_network() -> Network:
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
    with pytest.raises(ModelFileError, match=rf"cannot load {re.escape(repr(str(tmp_path)))}: it is not a "
                                             r"regular file \(a folder, device, FIFO or socket\)"):
        minidl.load(tmp_path)


def test_a_file_larger_than_max_bytes_is_refused_before_it_is_opened_as_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "big.npz"
    path.write_bytes(b"\0" * (3 << 20))
    with pytest.raises(ModelFileError, match=r"the file is 3145728 bytes, more than max_bytes=1000 allows"):
        minidl.load(path, max_bytes=1000)


def test_every_refusal_names_the_file_and_says_why(tmp_path: Path) -> None:
    # Bytes flipped at random in a real file: every refusal names the path and gives a
    # reason (it used to read "(EOFError: )" for some).
    network = two_dense_network()
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
    two_dense_network().save(path)
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
    two_dense_network().save(path)
    assert sorted(os.listdir(tmp_path)) == sorted(["model.npz", *unrelated])
    x = np.ones((1, 3))
    np.testing.assert_array_equal(minidl.load(path).predict(x), two_dense_network().predict(x))


def test_a_failed_replace_names_the_target_not_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "model.npz"
    target.mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(OSError) as caught:
        two_dense_network().save(target)
    assert caught.value.filename == str(target)
    assert ".tmp" not in str(caught.value)
    assert os.listdir(tmp_path) == ["model.npz"]


def test_atomic_write_names_temporary_files_after_the_target(tmp_path: Path) -> None:
    seen: list[str] = []
    archive.atomic_write(tmp_path / "a.bin", lambda file: seen.append(os.path.basename(file.name)))
    assert re.fullmatch(r"\.a\.bin\.[0-9a-f]{8}\.tmp", seen[0])
    assert os.listdir(tmp_path) == ["a.bin"]


# -- atomic writes -----------------------------------------------------------------------
@pytest.mark.parametrize("failure", [OSError("No space left on device"), KeyboardInterrupt()])
def test_crash_mid_save_keeps_previous_file_and_leaves_no_temporary(
        saved: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException) -> None:
    before = saved.read_bytes()
    real_write = archive.write_member
    calls = []

    def failing_write(archive, member, value):
        calls.append(member)
        if len(calls) == 3:  # the header and one array are written, then the "disk" fails
            raise failure
        real_write(archive, member, value)

    monkeypatch.setattr(archive, "write_member", failing_write)
    other = small_network()
    other.parameters()[0].value[...] = 0.0
    with pytest.raises(type(failure)):
        other.save(saved)
    assert len(calls) == 3
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == ["model.npz"]
    monkeypatch.undo()
    np.testing.assert_array_equal(minidl.load(saved).predict(X_SMALL), small_network().predict(X_SMALL))


def test_atomic_write_replaces_content_and_keeps_permissions(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    archive.atomic_write(path, lambda file: file.write(b"first"))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o600)
    archive.atomic_write(path, lambda file: file.write(b"second"))
    assert path.read_bytes() == b"second"
    assert path.stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["file.bin"]


def test_save_into_missing_folder_raises_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        small_network().save(tmp_path / "no" / "such" / "model.npz")
    assert os.listdir(tmp_path) == []


def test_load_of_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        minidl.load(tmp_path / "absent.npz")


# -- refusing bad files ------------------------------------------------------------------
def test_random_bytes_and_empty_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "noise.npz"
    for content in (b"", b"hello", np.random.default_rng(0).bytes(5000)):
        path.write_bytes(content)
        with pytest.raises(ModelFileError, match=r"not a zip archive.*or it is truncated"):
            minidl.load(path)


def test_a_keras_h5_file_is_refused_as_hdf5_naming_what_minidl_reads(tmp_path: Path) -> None:
    path = tmp_path / "model_file.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(600))  # HDF5's signature, then (here) nothing
    expected = (r"model_file\.h5.*it is an HDF5 file \(Keras's \.h5 format\); "
                r"minidl reads only the files minidl\.save and model\.save write")
    with pytest.raises(ModelFileError, match=expected):
        minidl.load(path)


def test_a_keras_3_file_is_refused_as_keras(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as zipped:  # what a Keras 3 .keras file holds
        zipped.writestr("metadata.json", "{}")
        zipped.writestr("config.json", "{}")
        zipped.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    with pytest.raises(ModelFileError, match=r"it is a Keras 3 \.keras file \(config\.json\)"):
        minidl.load(path)


def test_every_truncation_is_refused(saved: Path) -> None:
    data = saved.read_bytes()
    for cut in range(0, len(data), 97):
        with pytest.raises(ModelFileError):
            minidl.load(io.BytesIO(data[:cut]))


def test_flipped_data_bytes_fail_the_checksum(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    start = data.index(b"\x93NUMPY", data.index(b"layer0.param0.npy")) + 128
    data[start + 3] ^= 0xFF
    with pytest.raises(ModelFileError, match=r"CRC|Bad CRC"):
        minidl.load(io.BytesIO(bytes(data)))


def test_pickled_object_array_is_refused_and_never_run(tmp_path: Path, saved: Path) -> None:
    class Exploit:
        def __reduce__(self):
            return (exec, ("import builtins; builtins._minidl_was_exploited = True",))

    header, arrays = read_parts(saved)
    arrays["layer0.param0"] = np.array([Exploit()], dtype=object)
    path = tmp_path / "exploit.npz"
    write_parts(path, header, arrays, allow_pickle=True)
    with pytest.raises(ModelFileError, match=r"'layer0.param0': the header says dtype float64; "
                                             r"the array has dtype object"):
        minidl.load(path)
    assert not hasattr(builtins, "_minidl_was_exploited")


def test_a_pickle_file_is_refused_and_never_run(tmp_path: Path) -> None:
    class Exploit:
        def __reduce__(self):
            return (exec, ("import builtins; builtins._minidl_was_exploited = True",))

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(ModelFileError):
        minidl.load(path)
    assert not hasattr(builtins, "_minidl_was_exploited")


# -- size bounds (zip bombs) ---------------------------------------------------------------
def test_max_bytes_bounds_what_a_file_may_unpack_to(saved: Path) -> None:
    with pytest.raises(ModelFileError, match=r"more than max_bytes=100 bytes.*pass a larger max_bytes"):
        minidl.load(saved, max_bytes=100)
    with pytest.raises(ValueError, match=r"load max_bytes must be a positive integer; got 0"):
        minidl.load(saved, max_bytes=0)


def test_a_compressed_bomb_is_refused_before_it_is_unpacked(saved: Path, tmp_path: Path) -> None:
    header, arrays = read_parts(saved)
    path = tmp_path / "bomb.npz"
    write_parts(path, header, arrays)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("bomb.npy", "w", force_zip64=True) as stream:
            np.lib.format.write_array(stream, np.zeros(4_000_000))  # 32 MB of zeros, ~30 kB packed
    assert path.stat().st_size < 200_000
    with pytest.raises(ModelFileError, match=r"more than max_bytes=1000000 bytes"):
        minidl.load(path, max_bytes=1_000_000)


def fix_npy_header(data: bytes) -> bytes:
    """Re-pad a hand-edited .npy version 1.0 header so its length field is right."""
    magic, rest = data[:8], data[10:]
    text, payload = rest.split(b"\n", 1)
    text = text.rstrip(b" ")
    total = 10 + len(text) + 1
    padding = (64 - total % 64) % 64
    text = text + b" " * padding + b"\n"
    return magic + len(text).to_bytes(2, "little") + text + payload


def test_an_array_header_claiming_more_data_than_the_member_holds_is_refused(saved: Path) -> None:
    header, arrays = read_parts(saved)
    header["layers"][0]["parameters"][1]["shape"] = [10**12]
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.zeros(4))
    forged = fix_npy_header(buffer.getvalue().replace(b"(4,)", b"(1000000000000,)"))
    stream = io.BytesIO(forged)
    assert np.lib.format.read_magic(stream) == (1, 0)
    assert np.lib.format.read_array_header_1_0(stream)[0] == (10**12,)  # the forgery is well formed
    path = saved
    write_parts(path, header, {k: v for k, v in arrays.items() if k != "layer0.param1"})
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("layer0.param1.npy", forged)
    with pytest.raises(ModelFileError, match=r"claims 8000000000000 bytes of data but "
                                             r"the member holds 32$"):
        minidl.load(path)


def test_other_compression_methods_are_refused(saved: Path, tmp_path: Path) -> None:
    header, _ = read_parts(saved)
    path = tmp_path / "lzma.npz"
    payload = json.dumps(header).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_LZMA) as archive:
        with archive.open("__minidl__.npy", "w") as stream:
            np.lib.format.write_array(stream, np.frombuffer(payload, dtype=np.uint8))
    with pytest.raises(ModelFileError, match=r"compression method 14; expected stored "
                                             r"\(0\) or deflated \(8\)"):
        minidl.load(path)


def test_an_encrypted_member_is_refused_before_its_data_is_read(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local header, central directory
        start = data.find(signature)
        while start != -1:
            data[start + flags_at] |= 0x1  # the "encrypted" bit of every member
            start = data.find(signature, start + 1)
    with pytest.raises(ModelFileError, match=r"^cannot load a file object: .*encrypted"):
        minidl.load(io.BytesIO(bytes(data)))
