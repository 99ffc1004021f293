"""Shared pytest set-up: doctests in minidl see ``np`` and the public names."""

import importlib.util
import re

import numpy as np
import pytest

import minidl


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace: dict[str, object]) -> None:
    doctest_namespace["np"] = np
    doctest_namespace["minidl"] = minidl
    for name in minidl.__all__:
        doctest_namespace[name] = getattr(minidl, name)


# What a Markdown code block or doctest needs that minidl itself does not: module, the pattern
# that shows it in the code, and how to install it.
OPTIONAL = [
    ("matplotlib", r"\bmatplotlib\b|\bminidl\.plot\b", 'pip install -e ".[plot]" in minidl\'s clone'),
    ("sklearn", r"\bsklearn\b", 'pip install -e ".[examples]" in minidl\'s clone'),
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip what needs a missing optional module: minidl/plot.py's examples, code blocks using it."""
    for module, pattern, install in OPTIONAL:
        if importlib.util.find_spec(module) is not None:
            continue
        skip = pytest.mark.skip(reason=f"needs {module}: {install}")
        for item in items:
            code = getattr(item, "code", "")  # a Markdown code block, with those it continues
            draws = module == "matplotlib" and item.path.as_posix().endswith("minidl/plot.py")
            if draws or re.search(pattern, code):
                item.add_marker(skip)
