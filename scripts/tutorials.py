"""Run a tutorial page as a learner would, check what it prints, and turn it into a notebook.

A tutorial is a Markdown page whose ``python`` code blocks run in order, in one namespace, like
the cells of a notebook. A block's printed output is shown right after it, in a block titled
"Output"::

    ```python
    print(error_0)
    ```

    ```text title="Output"
    6
    ```

:func:`run_page` runs every code block and compares what it printed with the page's Output
block, exactly (trailing spaces and blank lines aside): the page can never show a number the
code does not print. A block that prints must be followed by its Output. An Output that shows
``Traceback (most recent call last):`` says the block raises there: as in doctest, the indented
frame lines after it are not compared (``...`` will do), the error's own lines are
(``ValueError: ...``). A block whose fence names a module it needs,
``{.python needs="torch"}``, and every block after it, is not run when that module is missing.

:func:`notebook` turns the same page into a Jupyter notebook (nbformat 4): the text as Markdown
cells (with its images attached), each code block as a code cell, each Output as that cell's
output. Checking a page means running that notebook (:func:`run_page`); the mkdocs hook puts
the same notebook beside every tutorial page, for a learner to download.

Usage, from the repository root::

    python scripts/tutorials.py docs/tutorials/02-need-for-optimization.md   # run and check
    python scripts/tutorials.py --notebook out.ipynb docs/tutorials/02-need-for-optimization.md

Only the standard library (the pages' own code needs minidl and what it imports).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib.util
import io
import json
import os
import re
import sys
import tempfile
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TRACEBACK = "Traceback (most recent call last):"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})(?P<info>[^`]*)$")
_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<target>[^)\s]+)\)")


@dataclass
class Block:
    """One piece of a page: Markdown ``text``, a ``code`` block or an ``output`` block."""

    kind: str  # "text", "code" or "output"
    source: str  # the block's content, its fence's indentation removed
    line: int  # where it starts in the page (1-based), for error messages
    needs: str | None = None  # the module a code block needs (its fence's needs="...")
    output: Block | None = field(default=None, repr=False)  # a code block's Output block


def parse(page: str) -> list[Block]:
    """Split a Markdown page into text, code and output blocks, in order.

    A ``python`` fence (``python`` or ``{.python ...}``) is code; a ``text`` fence titled
    ``"Output"`` is output, attached to the code block just before it. Other fences (bash,
    plain text) stay part of the text.
    """
    blocks: list[Block] = []
    text: list[str] = []
    text_start = 1
    lines = page.splitlines()
    number = 0
    while number < len(lines):
        match = _FENCE.match(lines[number])
        kind = _fence_kind(match.group("info")) if match else None
        if match is None or kind is None:
            text.append(lines[number])
            number += 1
            continue
        indent, closing = match.group("indent"), match.group("indent") + match.group("ticks")
        end = next((i for i in range(number + 1, len(lines)) if lines[i].rstrip() == closing), None)
        if end is None:
            raise ValueError(f"line {number + 1}: the code block is never closed ({closing!r})")
        if "".join(text).strip():
            blocks.append(Block("text", "\n".join(text).strip("\n"), text_start))
        body = "\n".join(line[len(indent):] if line.startswith(indent) else line.lstrip()
                         for line in lines[number + 1 : end])
        block = Block(kind, body, number + 1, _needs(match.group("info")))
        if kind == "output":
            previous = blocks[-1] if blocks else None
            if previous is None or previous.kind != "code" or previous.output is not None:
                raise ValueError(f"line {number + 1}: an Output block must follow a python block")
            previous.output = block
        blocks.append(block)
        text, text_start, number = [], end + 2, end + 1
    if "".join(text).strip():
        blocks.append(Block("text", "\n".join(text).strip("\n"), text_start))
    return blocks


def _fence_kind(info: str) -> str | None:
    info = info.strip()
    if re.fullmatch(r"python|\{\s*\.python\b[^}]*\}", info):
        return "code"
    if re.fullmatch(r'text\s+title="Output"', info):
        return "output"
    return None


def _needs(info: str) -> str | None:
    match = re.search(r'needs="([\w.]+)"', info)
    return match.group(1) if match else None


@dataclass
class Result:
    """What running a page found: the mismatches, and where it stopped for a missing module."""

    mismatches: list[str]
    skipped_from: int | None = None  # the line of the first block not run (its module is missing)


def run_page(path: Path, workdir: Path) -> Result:
    """Run a page, that is its notebook (:func:`notebook`), and check what each block prints."""
    return run_notebook(notebook(path), workdir, path.name)


def run_notebook(book: dict[str, Any], workdir: Path, name: str) -> Result:
    """Run a notebook's code cells in order, in one namespace, inside ``workdir``.

    Returns every difference between what a cell printed (or raised) and its stored output,
    which is the page's Output block: a cell that prints with no Output to show it differs too.
    """
    module = types.ModuleType("__tutorial__")  # classes defined on the page need a real module
    sys.modules[module.__name__] = module
    mismatches: list[str] = []
    previous_directory = Path.cwd()
    os.chdir(workdir)
    try:
        for cell in book["cells"]:
            if cell["cell_type"] != "code":
                continue
            line, needs = cell["metadata"]["tutorial"]["line"], cell["metadata"]["tutorial"].get("needs")
            if needs and importlib.util.find_spec(needs) is None:
                return Result(mismatches, skipped_from=line)
            printed = execute("".join(cell["source"]), module.__dict__, f"{name}:{line}")
            expected = "".join("".join(output["text"]) for output in cell["outputs"])
            if _normalise(printed) != _normalise(expected):
                mismatches.append(f"{name}, the block at line {line} printed:\n{printed}\n"
                                  f"but the page shows:\n{expected}")
    finally:
        os.chdir(previous_directory)
        del sys.modules[module.__name__]
    return Result(mismatches)


def execute(source: str, namespace: dict[str, object], name: str) -> str:
    """Run ``source`` in ``namespace``; what it printed, then its error's last line if it raised."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            exec(compile(source, name, "exec"), namespace)
        except Exception as error:  # a page may show an error on purpose
            frames = traceback.extract_tb(error.__traceback__)[1:]  # from the page's own line on
            buffer.write(TRACEBACK + "\n" + "".join(traceback.format_list(frames)))
            buffer.write("".join(traceback.format_exception_only(type(error), error)))
    return buffer.getvalue()


def _normalise(output: str) -> str:
    lines = [line.rstrip() for line in output.strip("\n").splitlines()]
    if TRACEBACK in lines:  # as in doctest, the frames (indented lines) are not compared
        start = lines.index(TRACEBACK) + 1
        end = next((i for i in range(start, len(lines)) if not lines[i][:1].isspace()), len(lines))
        lines = lines[:start] + lines[end:]
    return "\n".join(lines)


def notebook(path: Path) -> dict[str, Any]:
    """The page as a Jupyter notebook (nbformat 4.5): text, code cells and their outputs."""
    cells: list[dict[str, Any]] = []
    count = 0
    for block in parse(path.read_text(encoding="utf8")):
        cell_id = f"cell-{len(cells) + 1}"
        if block.kind == "text":
            source, attachments = _attach_images(_jupyter_markdown(block.source), path.parent)
            cell: dict[str, Any] = {"cell_type": "markdown", "id": cell_id, "metadata": {},
                                       "source": _lines(source)}
            if attachments:
                cell["attachments"] = attachments
            cells.append(cell)
        elif block.kind == "code":
            count += 1
            outputs = [] if block.output is None else [
                {"output_type": "stream", "name": "stdout", "text": _lines(block.output.source + "\n")}]
            metadata = {"tutorial": {"line": block.line, **({"needs": block.needs} if block.needs else {})}}
            cells.append({"cell_type": "code", "id": cell_id, "metadata": metadata, "execution_count": count,
                          "source": _lines(block.source), "outputs": outputs})
    return {
        "nbformat": 4, "nbformat_minor": 5, "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "language_info": {"name": "python"}},
    }


_CONTAINER = re.compile(r'^(?P<kind>===|!!!|\?\?\?\+?) *(?P<type>[\w-]*) *(?:"(?P<title>[^"]*)")?\s*$')


def _jupyter_markdown(text: str) -> str:
    """Material's content tabs and admonitions as plain Markdown, which Jupyter shows.

    ``=== "minidl.keras"`` becomes a bold line, ``!!! note "Shapes"`` a quoted block; the
    content indented under them is taken out of the indentation (else it would be code).
    """
    lines: list[str] = []
    quote: str | None = None  # the prefix of the container's lines, while inside one
    for line in text.splitlines():
        match = _CONTAINER.match(line)
        if match:
            title = match.group("title") or match.group("type").capitalize()
            quote = "" if match.group("kind") == "===" else "> "
            lines.append(f"{quote}**{title}**")
        elif quote is not None and (line.startswith("    ") or not line.strip()):
            lines.append(quote + line[4:] if line.strip() else quote.rstrip())
        else:
            if quote:  # the quote's trailing blank lines are the blank lines after it
                while lines and lines[-1] == quote.rstrip():
                    lines[-1:] = []
                lines.append("")
            quote = None
            lines.append(line)
    return "\n".join(lines)


def _attach_images(text: str, page_directory: Path) -> tuple[str, dict[str, dict[str, str]]]:
    """Local images become cell attachments, so the notebook shows them wherever it is opened."""
    attachments: dict[str, dict[str, str]] = {}

    def attach(match: re.Match[str]) -> str:
        target = match.group("target")
        image = page_directory / target
        if target.startswith(("http:", "https:")) or not image.is_file():
            return match.group(0)
        mime = "image/png" if image.suffix == ".png" else f"image/{image.suffix.lstrip('.')}"
        attachments[image.name] = {mime: base64.b64encode(image.read_bytes()).decode("ascii")}
        return f"![{match.group('alt')}](attachment:{image.name})"

    return _IMAGE.sub(attach, text), attachments


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def main(argv: list[str] | None = None) -> int:
    """Run and check one or more pages (exit 1 on a mismatch), or write one as a notebook.

    Each page runs in a temporary directory, so the files it saves do not stay behind.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--notebook", type=Path, help="write the (single) page as this .ipynb")
    args = parser.parse_args(argv)
    for page in args.pages:
        if not page.is_file():
            parser.error(f"page {page}: expected a Markdown file; there is no such file")
    if args.notebook and len(args.pages) != 1:
        parser.error(f"--notebook writes one page; got {len(args.pages)} pages")
    page = args.pages[0]
    try:
        if args.notebook:
            args.notebook.write_text(json.dumps(notebook(page), indent=1) + "\n", encoding="utf8")
            return 0
        return _check_pages(args.pages)
    except _PageError as error:  # a page the converter cannot read (an unclosed block, ...)
        parser.error(str(error))
    except ValueError as error:
        parser.error(f"{page}: {error}")


class _PageError(ValueError):
    """A page that cannot be read, its path in the message."""


def _check_pages(pages: list[Path]) -> int:
    failed = False
    for page in pages:
        with tempfile.TemporaryDirectory() as workdir:  # the files a page saves are not left behind
            try:
                result = run_page(page.resolve(), Path(workdir))
            except ValueError as error:
                raise _PageError(f"{page}: {error}") from None
        for mismatch in result.mismatches:
            print(mismatch, end="\n\n")
        failed = failed or bool(result.mismatches)
        stop = f", stopped at line {result.skipped_from}" if result.skipped_from else ""
        print(f"{page}: {len(result.mismatches)} mismatches{stop}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
