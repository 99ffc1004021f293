""".ci/lowest-constraints.txt pins each lower bound pyproject.toml declares: CI tests those versions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / ".ci" / "lowest-constraints.txt"


def normalized(name: str) -> str:
    """A package name as pip compares it (PEP 503): `Scikit_Learn` and `scikit-learn` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def release(version: str) -> tuple[int, ...]:
    """`1.26` and `1.26.0` are the same version: drop trailing zeros."""
    numbers = [int(part) for part in version.split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def declared_lower_bounds() -> dict[str, str]:
    """{package: version} for each `package>=version` in the dependencies and the extras."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    bounds: dict[str, str] = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?>=([0-9.]+)", requirement.replace(" ", ""))
        if match is None:
            assert ">=" not in requirement, f"pyproject.toml: cannot read the lower bound of {requirement!r}"
            continue
        name, version = normalized(match[1]), match[3]
        assert release(bounds.get(name, version)) == release(version), \
            f"pyproject.toml declares two lower bounds for {name}: {bounds[name]} and {version}"
        bounds[name] = version
    return bounds


def pinned_versions() -> dict[str, str]:
    """{package: version} for each `package==version` line of the constraints file."""
    pins: dict[str, str] = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, separator, version = line.partition("==")
            assert separator, f"{CONSTRAINTS.name}: {line!r} is not an exact pin (name==version)"
            assert normalized(name) not in pins, f"{CONSTRAINTS.name} pins {name} twice"
            pins[normalized(name)] = version
    return pins


def test_the_constraints_pin_exactly_each_declared_lower_bound():
    bounds, pins = declared_lower_bounds(), pinned_versions()
    assert "numpy" in bounds  # the runtime dependency is read, not only the extras
    assert sorted(bounds) == sorted(pins), \
        f"declared but not pinned: {sorted(set(bounds) - set(pins))}; pinned but not declared: " \
        f"{sorted(set(pins) - set(bounds))}"
    for name, version in bounds.items():
        assert release(pins[name]) == release(version), \
            f"{CONSTRAINTS.name} pins {name}=={pins[name]}, pyproject.toml declares {name}>={version}"


def test_ci_installs_with_the_constraints_file():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "-c .ci/lowest-constraints.txt" in ci


def test_the_version_comparison_pads_with_zeros_and_tells_versions_apart():
    assert release("1.26") == release("1.26.0") == (1, 26)
    assert release("3") == release("3.0.0") == (3,)
    assert release("0.26.1") != release("0.26")
    assert normalized("Scikit_Learn") == normalized("scikit-learn")
