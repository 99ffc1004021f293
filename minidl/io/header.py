"""The JSON header of a model file, parsed by :mod:`json` and checked against its form."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from minidl.io.archive import ModelFileError, need
from minidl.io.registry import NAME
from minidl.io.saving import FLOAT_DTYPES, FORMAT_NAME, FORMAT_VERSION

_OPTIMIZER_KEY = re.compile(r"(iterations|[0-9]{1,9}/[A-Za-z_][A-Za-z0-9_]{0,40})\Z")
# The header's form: a dict lists its keys (``?``: optional), a list the form of its items,
# a set the strings allowed; a type (or a tuple of types) is the type of a value.
HEADER = {"format": str, "version": int, "minidl_version?": str, "layers": [dict], "training?": dict}
_ARRAY = {"name": str, "shape": [int], "dtype": FLOAT_DTYPES}
LAYER = {"type": str, "config": dict, "parameters": [_ARRAY], "state": [_ARRAY], "rng?": [dict]}
TRAINING = {"loss": {"type": str, "config": dict}, "metrics": [str], "fit_rng": (dict, type(None)),
            "optimizer": {"type": str, "config": dict,
                          "state": [{"key": str, "shape": [int], "dtype": FLOAT_DTYPES | {"int64"}}]}}
_KINDS = {str: "a string", int: "an integer", dict: "a JSON object", type(None): "null"}


def conform(value: Any, form: Any, where: str) -> None:
    """Refuse ``value`` unless it has ``form`` (see :data:`HEADER`); ``where`` names it."""
    if isinstance(form, dict):
        need(isinstance(value, dict), f"{where} must be a JSON object; got {type(value).__name__}")
        required, names = {key for key in form if not key.endswith("?")}, {key.rstrip("?") for key in form}
        need(not required - value.keys(), f"{where} is missing the keys {sorted(required - value.keys())}")
        need(not value.keys() - names, f"{where} has unexpected keys {sorted(value.keys() - names)}; "
             f"expected {sorted(names)}")
        for key, item in form.items():
            if key.rstrip("?") in value:
                conform(value[key.rstrip("?")], item, f"{where}'s {key.rstrip('?')}")
    elif isinstance(form, list):
        need(isinstance(value, list), f"{where} must be a list; got {value!r:.80}")
        for index, item in enumerate(value):
            conform(item, form[0], f"{where}[{index}]")
    elif isinstance(form, frozenset):
        need(isinstance(value, str) and value in form, f"{where} must be one of {sorted(form)}; got "
             f"{value!r:.80}")
    else:
        kinds = form if isinstance(form, tuple) else (form,)
        need(isinstance(value, kinds) and not isinstance(value, bool),
             f"{where} must be {' or '.join(_KINDS[kind] for kind in kinds)}; got {value!r:.80}")


def parse_header(payload: bytes) -> dict[str, Any]:
    """The header as a dict, after checking its form, format, version and names."""
    try:
        header = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant,
                            parse_float=_finite_float, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError:
        raise ModelFileError("the header is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ModelFileError(f"the header is not valid JSON ({error})") from None
    except RecursionError:
        raise ModelFileError("the header is nested too deeply") from None
    conform(header, HEADER, "the header")
    need(header["format"] == FORMAT_NAME, f"the header's format is {header['format']!r}; expected "
         f"{FORMAT_NAME!r}")
    version = header["version"]
    need(version <= FORMAT_VERSION, f"the file has format version {version}, written by a newer minidl; "
         f"this minidl reads versions up to {FORMAT_VERSION} (upgrade minidl to load it)")
    need(version == FORMAT_VERSION, f"unsupported format version {version}; this minidl reads version 1")
    need(0 < len(header["layers"]) <= 100_000, "the header's layers must be a non-empty list (<= 100000)")
    for index, entry in enumerate(header["layers"]):
        conform(entry, LAYER, f"layer {index}")
        need(bool(NAME.match(entry["type"])), f"layer {index}: type must be a layer class name; got "
             f"{entry['type']!r:.80}")
    if "training" in header:
        conform(header["training"], TRAINING, "the training section")
        keys = [item["key"] for item in header["training"]["optimizer"]["state"]]
        for key in keys:
            need(bool(_OPTIMIZER_KEY.match(key)), "the training section: optimizer state key must look "
                 f"like 'iterations' or '<i>/<slot>'; got {key!r:.80}")
        need(len(set(keys)) == len(keys), "the training section: optimizer keys repeat")
    return dict(header)


def expected_arrays(header: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every array the header describes: ``{key: {"name" or "key", "shape", "dtype"}}``."""
    expected: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(header["layers"]):
        expected.update({f"layer{index}.param{j}": item for j, item in enumerate(entry["parameters"])})
        expected.update({f"layer{index}.state.{item['name']}": item for item in entry["state"]})
    for position, item in enumerate(header.get("training", {}).get("optimizer", {}).get("state", [])):
        expected[f"optimizer.{position}"] = item
    return expected


def _reject_constant(name: str) -> None:
    raise ModelFileError(f"the header holds the non-finite number {name}; expected finite numbers")


def _finite_float(text: str) -> float:
    need(math.isfinite(float(text)), f"the header holds the number {text:.40}, too large for a float")
    return float(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        need(key not in result, f"the header repeats the key {key!r}")
        result[key] = value
    return result
