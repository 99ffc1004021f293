"""The header of a model file (minidl/io/header.py): version, keys, layer names and arrays checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import ModelFileError
from tests.io.files import read_parts, write_parts


@pytest.mark.parametrize(("version", "message"), [
    (2, "format version 2, written by a newer minidl; this minidl reads versions up to 1"),
    (0, "unsupported format version 0; this minidl reads version 1"),
    ("1", "version must be an integer; got '1'"),
])
def test_wrong_version_is_refused(saved: Path, version: object, message: str) -> None:
    header, arrays = read_parts(saved)
    header["version"] = version
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=message):
        minidl.load(saved)


def test_a_foreign_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.npz"
    with open(path, "wb") as file:
        np.savez(file, x=np.ones(3))
    with pytest.raises(ModelFileError, match=r"no __minidl__.npy member"):
        minidl.load(path)


@pytest.mark.parametrize(("raw", "message"), [
    (b"\xff\xfe", "not UTF-8"),
    (b"{\"format\": ", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object; got list"),
    (b"{\"format\": \"minidl-model\", \"version\": 1, \"layers\": [], \"x\": NaN}",
     "non-finite number NaN; expected finite numbers"),
    (b"{\"format\": \"minidl-model\", \"format\": \"minidl-model\"}", "repeats the key 'format'"),
    (b'{"format": "keras", "version": 1, "layers": []}', "format is 'keras'; expected 'minidl-model'"),
    (b"{\"format\": \"minidl-model\", \"version\": 1}", r"missing the keys \['layers'\]"),
    (b"{\"format\": \"minidl-model\", \"version\": 1, \"layers\": []}", "non-empty list"),
    (b"[" * 100_000, "nested too deeply|not valid JSON"),
    (b'{"format": "minidl-model", "version": 1, "layers": [1e400]}',
     "non-finite number 1e400; expected finite numbers"),
])
def test_malformed_headers_are_refused(tmp_path: Path, raw: bytes, message: str) -> None:
    path = tmp_path / "bad.npz"
    write_parts(path, None, {}, raw_header=raw)
    with pytest.raises(ModelFileError, match=message):
        minidl.load(path)


def test_header_with_unexpected_keys_is_refused(saved: Path) -> None:
    header, arrays = read_parts(saved)
    header["layers"][0]["code"] = "print('hi')"
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"layer 0 has unexpected keys \['code'\]"):
        minidl.load(saved)


def test_missing_and_extra_arrays_are_refused(saved: Path) -> None:
    header, arrays = read_parts(saved)
    bias = arrays.pop("layer2.param1")
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"missing arrays \['layer2.param1.npy'\]"):
        minidl.load(saved)
    arrays["layer2.param1"] = bias
    arrays["payload"] = np.zeros(3)
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"holds arrays \['payload.npy'\] that its "
                                             r"header does not describe"):
        minidl.load(saved)


def test_duplicate_layer_names_are_refused(saved: Path) -> None:
    header, arrays = read_parts(saved)
    header["layers"][3]["config"]["name"] = "relu"
    write_parts(saved, header, arrays)
    with pytest.raises(ModelFileError, match=r"layer names must be unique"):
        minidl.load(saved)
