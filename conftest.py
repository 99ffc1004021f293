"""Shared pytest set-up: doctests in minidl see ``np`` and the public names."""

import numpy as np
import pytest

import minidl


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace: dict[str, object]) -> None:
    doctest_namespace["np"] = np
    doctest_namespace["minidl"] = minidl
    for name in minidl.__all__:
        doctest_namespace[name] = getattr(minidl, name)
