"""Pytest set-up for the tutorials, whose code blocks run as tests (pytest-markdown-docs).

Not part of the site (mkdocs.yml excludes it).
"""

import os
import sys

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a code block drew (the tutorials draw many)."""
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


# The tutorials and the home page run as notebooks, their printed output checked
# (tests/docs/test_tutorials.py), not block by block through pytest-markdown-docs.
collect_ignore_glob = ["tutorials/[0-9][0-9]-*.md", "index.md"]
