"""mkdocs hooks for the minidl site (configured under ``hooks:`` in mkdocs.yml).

The docstrings use Sphinx cross-reference roles (``:class:`~minidl.Layer```), which
mkdocstrings does not interpret: it renders them as the role's name followed by code.
This hook turns them into plain code, shortened as Sphinx's ``~`` asks (``Layer``), and
drops the second colon of reStructuredText's ``text::`` that introduces a code block.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|attr|data|exc|obj):<code>(~?)([^<]+)</code>")


def _shorten(match: re.Match[str]) -> str:
    tilde, target = match.group(1), match.group(2)
    return f"<code>{target.rsplit('.', 1)[-1] if tilde else target}</code>"


def strip_roles(html: str) -> str:
    """Replace every rendered Sphinx role by plain code; ``text::`` before code by ``text:``."""
    html = _ROLE.sub(_shorten, html)
    return html.replace("::</p>\n<div", ":</p>\n<div").replace("::</p>\n<pre", ":</p>\n<pre")


def on_page_content(html: str, **kwargs: Any) -> str:
    """The mkdocs hook called with each page's HTML after the markdown is rendered."""
    return strip_roles(html)
