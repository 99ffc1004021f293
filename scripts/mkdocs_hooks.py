"""mkdocs hooks for the minidl site (configured under ``hooks:`` in mkdocs.yml).

Every tutorial page gets a Jupyter notebook beside it, made from the same Markdown by
``scripts/tutorials.py`` (``tutorials/02-need-for-optimization.ipynb``), and a link to it at
the top of the page.

The docstrings use Sphinx cross-reference roles (``:class:`~minidl.Layer```), which
mkdocstrings does not interpret: it renders them as the role's name followed by code.
This hook turns them into plain code, shortened as Sphinx's ``~`` asks (``Layer``), and
drops the second colon of reStructuredText's ``text::`` that introduces a code block.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

_SPEC = importlib.util.spec_from_file_location("tutorials", Path(__file__).with_name("tutorials.py"))
assert _SPEC is not None and _SPEC.loader is not None
tutorials = importlib.util.module_from_spec(_SPEC)
sys.modules["tutorials"] = tutorials  # its dataclasses look their module up there
_SPEC.loader.exec_module(tutorials)

_TUTORIAL = re.compile(r"tutorials/\d\d-[\w-]+\.md")

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


def on_files(files: Files, config: Any) -> Files:
    """Add a notebook beside each tutorial page, generated from its Markdown."""
    for page in [file for file in files if _TUTORIAL.fullmatch(file.src_uri)]:
        content = json.dumps(tutorials.notebook(Path(page.abs_src_path)), indent=1) + "\n"
        files.append(File.generated(config, page.src_uri.removesuffix(".md") + ".ipynb", content=content))
    return files


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Put the link to the page's notebook under a tutorial's title."""
    if not _TUTORIAL.fullmatch(page.file.src_uri):
        return markdown
    title, _, rest = markdown.partition("\n")
    notebook = Path(page.file.src_uri).stem + ".ipynb"
    link = (f"[Download this page as a Jupyter notebook]({notebook}){{ .notebook-link download }}: "
            "the same code and the output it prints, to run cell by cell.")
    return f"{title}\n\n{link}\n{rest}"
