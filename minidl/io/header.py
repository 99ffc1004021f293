"""The JSON header of a model file, parsed by :mod:`json` and checked against its form."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from typing import Any

from minidl.io.archive import ModelFileError, need
from minidl.io.registry import NAME
from minidl.io.saving import FLOAT_DTYPES, FORMAT_NAME, FORMAT_VERSION

_OPTIMIZER_KEY = re.compile(r"(iterations|[0-9]{1,9}/[A-Za-z_][A-Za-z0-9_]{0,40})\Z")
_ARRAY = {"name": str, "shape": [int], "dtype": str}
#: The header's form: a dict lists its keys (``?``: optional), a list its items' form.
FORM: dict[str, Any] = {
    "format": str, "version": int, "minidl_version?": str,
    "layers": [{"type": str, "config": dict, "parameters": [_ARRAY], "state": [_ARRAY], "rng?": [dict]}],
    "training?": {"loss": {"type": str, "config": dict}, "metrics": [str], "fit_rng": (dict, type(None)),
                  "optimizer": {"type": str, "config": dict, "state": [{"key": str, "shape": [int],
                                                                          "dtype": str}]}},
}
_KINDS = {str: "a string", int: "an integer", dict: "a JSON object", list: "a list"}


def conform(value: Any, form: Any, where: str) -> None:
    """Refuse ``value`` unless it has ``form`` (see :data:`FORM`); ``where`` names it."""
    if isinstance(form, dict):
        need(isinstance(value, dict), f"{where} must be a JSON object; got {type(value).__name__}")
        required = {key for key in form if not key.endswith("?")}
        names = required | {key[:-1] for key in form if key.endswith("?")}
        need(not required - set(value), f"{where} is missing the keys {sorted(required - set(value))}")
        need(not set(value) - names, f"{where} has unexpected keys {sorted(set(value) - names)}; expected "
             f"{sorted(names)}")
        for key, item in form.items():
            if key.rstrip("?") in value:
                conform(value[key.rstrip("?")], item, "the training section" if key == "training?" else
                        f"{where}'s {key.rstrip('?')}")
    elif isinstance(form, list):
        need(isinstance(value, list), f"{where} must be a list; got {value!r:.80}")
        for index, item in enumerate(value):
            name = f"layer {index}" if where == "the header's layers" else f"{where}[{index}]"
            conform(item, form[0], name)
    else:
        kinds = form if isinstance(form, tuple) else (form,)
        need(isinstance(value, kinds) and not isinstance(value, bool),
             f"{where} must be {' or '.join(_KINDS.get(k, 'null') for k in kinds)}; got {value!r:.80}")


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
    conform(header, FORM, "the header")
    need(header["format"] == FORMAT_NAME, f"the header's format is {header['format']!r}; expected "
         f"{FORMAT_NAME!r}")
    version = header["version"]
    need(version <= FORMAT_VERSION, f"the file has format version {version}, written by a newer minidl; "
         f"this minidl reads versions up to {FORMAT_VERSION} (upgrade minidl to load it)")
    need(version == FORMAT_VERSION, f"unsupported format version {version}; this minidl reads version 1")
    need(0 < len(header["layers"]) <= 100_000, "the header's layers must be a non-empty list (<= 100000)")
    for index, entry in enumerate(header["layers"]):
        need(bool(NAME.match(entry["type"])), f"layer {index}: type must be a layer class name; got "
             f"{entry['type']!r:.80}")
        names = [item["name"] for item in entry["state"]]
        need(len(set(names)) == len(names), f"layer {index}: state names repeat: {names}")
    state = header.get("training", {}).get("optimizer", {}).get("state", [])
    for item in state:
        need(bool(_OPTIMIZER_KEY.match(item["key"])), "the training section: optimizer state key must look "
             f"like 'iterations' or '<i>/<slot>'; got {item['key']!r:.80}")
    need(len({item["key"] for item in state}) == len(state), "the training section: optimizer keys repeat")
    for key, item in expected_arrays(header).items():
        need(len(item["shape"]) <= 32 and min(item["shape"], default=0) >= 0,
             f"{key}: the header's shape must list at most 32 sizes >= 0; got {item['shape']!r:.80}")
        need(item["dtype"] in FLOAT_DTYPES | ({"int64"} if key.startswith("optimizer") else set()),
             f"{key}: the header's dtype must be float16, float32 or float64; got {item['dtype']!r:.80}")
    return dict(header)


def expected_arrays(header: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every array the header describes: ``{key: {"name", "shape", "dtype"}}``."""
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
    result = dict(pairs)
    if len(result) < len(pairs):
        repeated = next(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise ModelFileError(f"the header repeats the key {repeated!r}")
    return result
