"""The JSON header of a model file, parsed by :mod:`json` and checked key by key."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from minidl.io.archive import ModelFileError, need
from minidl.io.registry import NAME
from minidl.io.saving import FLOAT_DTYPES, FORMAT_NAME, FORMAT_VERSION

_MAX_LAYERS = 100_000
_OPTIMIZER_KEY = re.compile(r"(iterations|[0-9]{1,9}/[A-Za-z_][A-Za-z0-9_]{0,40})\Z")


def parse_header(payload: bytes) -> dict[str, Any]:
    """The header as a dict, after checking its format, version and every entry's form."""
    try:
        header = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant,
                            parse_float=_finite_float, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError:
        raise ModelFileError("the header is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ModelFileError(f"the header is not valid JSON ({error})") from None
    except RecursionError:
        raise ModelFileError("the header is nested too deeply") from None
    need(isinstance(header, dict), f"the header must be a JSON object; got {type(header).__name__}")
    check_keys(header, {"format", "version", "layers"}, {"minidl_version", "training"}, "the header")
    need(header["format"] == FORMAT_NAME, f"the header's format is {header['format']!r}; expected {FORMAT_NAME!r}")
    version = header["version"]
    need(is_int(version), f"the header's version must be an integer; got {version!r}")
    need(version <= FORMAT_VERSION, f"the file has format version {version}, written by a newer minidl; this "
         f"minidl reads versions up to {FORMAT_VERSION} (upgrade minidl to load it)")
    need(version == FORMAT_VERSION, f"unsupported format version {version}; this minidl reads version {FORMAT_VERSION}")
    need(isinstance(header.get("minidl_version", ""), str),
         f"the header's minidl_version must be a string; got {header.get('minidl_version')!r}")
    layers = header["layers"]
    need(isinstance(layers, list) and 0 < len(layers) <= _MAX_LAYERS,
         f"the header's layers must be a non-empty list of at most {_MAX_LAYERS}; got {layers!r:.80}")
    for index, entry in enumerate(layers):
        where = f"layer {index}"
        need(isinstance(entry, dict), f"{where} must be a JSON object; got {entry!r:.80}")
        check_keys(entry, {"type", "config", "parameters", "state"}, {"rng"}, where)
        need(isinstance(entry.get("rng", []), list) and all(isinstance(g, dict) for g in entry.get("rng", [])),
             f"{where}: rng must be a list of generator states; got {entry.get('rng')!r:.80}")
        need(isinstance(entry["type"], str) and bool(NAME.match(entry["type"])),
             f"{where}: type must be a layer class name; got {entry['type']!r:.80}")
        need(isinstance(entry["config"], dict), f"{where}: config must be a JSON object; got {entry['config']!r:.80}")
        for kind in ("parameters", "state"):
            need(isinstance(entry[kind], list), f"{where}: {kind} must be a list; got {entry[kind]!r:.80}")
            for item in entry[kind]:
                _check_array_entry(item, f"{where} {kind}")
        names = [item["name"] for item in entry["state"]]
        need(len(set(names)) == len(names), f"{where}: state names repeat: {names}")
    if "training" in header:
        _check_training(header["training"])
    return header


def _check_training(training: Any) -> None:
    where = "the header's training section"
    need(isinstance(training, dict), f"{where} must be a JSON object; got {training!r:.80}")
    check_keys(training, {"loss", "optimizer", "metrics", "fit_rng"}, set(), where)
    for part in ("loss", "optimizer"):
        item = training[part]
        need(isinstance(item, dict), f"{where}: {part} must be a JSON object; got {item!r:.80}")
        check_keys(item, {"type", "config"} | ({"state"} if part == "optimizer" else set()), set(), f"{where} {part}")
        need(isinstance(item["type"], str), f"{where}: {part} type must be a name; got {item['type']!r:.80}")
        need(isinstance(item["config"], dict), f"{where}: {part} config must be a JSON object")
    state = training["optimizer"]["state"]
    need(isinstance(state, list), f"{where}: optimizer state must be a list; got {state!r:.80}")
    for item in state:
        need(isinstance(item, dict), f"{where}: optimizer state entries must be JSON objects")
        check_keys(item, {"key", "shape", "dtype"}, set(), f"{where} optimizer state entry")
        need(isinstance(item["key"], str) and bool(_OPTIMIZER_KEY.match(item["key"])),
             f"{where}: optimizer state key must look like 'iterations' or '<i>/<slot>'; got {item['key']!r:.80}")
        _check_array_entry({"name": "state", "shape": item["shape"], "dtype": item["dtype"]},
                           f"{where} optimizer state {item['key']!r}", FLOAT_DTYPES | {"int64"})
    need(len({item["key"] for item in state}) == len(state), f"{where}: optimizer state keys repeat")
    metrics = training["metrics"]
    need(isinstance(metrics, list) and all(isinstance(m, str) for m in metrics),
         f"{where}: metrics must be a list of names; got {metrics!r:.80}")
    need(training["fit_rng"] is None or isinstance(training["fit_rng"], dict),
         f"{where}: fit_rng must be a generator state or null; got {training['fit_rng']!r:.80}")


def _check_array_entry(item: Any, where: str, dtypes: frozenset[str] = FLOAT_DTYPES) -> None:
    """Check one ``{"name", "shape", "dtype"}`` description from a header, or raise."""
    need(isinstance(item, dict), f"{where}: each entry must be a JSON object; got {item!r:.80}")
    check_keys(item, {"name", "shape", "dtype"}, set(), f"{where} entry")
    need(isinstance(item["name"], str) and bool(NAME.match(item["name"])),
         f"{where}: name must be an identifier; got {item['name']!r:.80}")
    shape = item["shape"]
    need(isinstance(shape, list) and len(shape) <= 32 and all(is_int(n) and n >= 0 for n in shape),
         f"{where} {item['name']!r}: shape must be a list of non-negative integers; got {shape!r:.80}")
    need(item["dtype"] in dtypes, f"{where} {item['name']!r}: dtype must be one of {sorted(dtypes)}; "
         f"got {item['dtype']!r:.80}")


def expected_arrays(header: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every array the header describes: ``{key: {"name", "shape", "dtype"}}``."""
    expected: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(header["layers"]):
        for position, item in enumerate(entry["parameters"]):
            expected[f"layer{index}.param{position}"] = item
        for item in entry["state"]:
            expected[f"layer{index}.state.{item['name']}"] = item
    for position, item in enumerate(header.get("training", {}).get("optimizer", {}).get("state", [])):
        expected[f"optimizer.{position}"] = item
    return expected


def check_keys(mapping: dict[str, Any], required: set[str], optional: set[str], where: str) -> None:
    """Refuse a mapping with missing keys or keys outside ``required | optional``."""
    missing, unexpected = sorted(required - set(mapping)), sorted(set(mapping) - required - optional)
    need(not missing, f"{where} is missing the keys {missing}")
    need(not unexpected, f"{where} has unexpected keys {unexpected}; expected {sorted(required | optional)}")


def is_int(value: Any) -> bool:
    """True for a JSON integer (a Python int that is not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _reject_constant(name: str) -> None:
    raise ModelFileError(f"the header holds the non-finite number {name}; expected finite numbers")


def _finite_float(text: str) -> float:
    number = float(text)
    need(math.isfinite(number), f"the header holds the number {text:.40}, too large for a float")  # e.g. 1e400
    return number


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        need(key not in result, f"the header repeats the key {key!r}")
        result[key] = value
    return result
