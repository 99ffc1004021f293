"""The tutorials print what a learner sees, and every printed line is checked.

Each tutorial page runs as the notebook made from it (``scripts/tutorials.py``), in one
namespace, block after block; what a block prints must be exactly the page's Output block after
it. The first tests check that checker on small pages of their own.
"""

import ast
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("[0-9][0-9]-*.md"))
PAGES = [ROOT / "docs" / "index.md", *TUTORIALS]  # the home page shows its output the same way


def load_script():
    spec = importlib.util.spec_from_file_location("tutorials", ROOT / "scripts" / "tutorials.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["tutorials"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


tutorials = load_script()


def page(tmp_path, text):
    path = tmp_path / "page.md"
    path.write_text(text, encoding="utf8")
    return path


GOOD_PAGE = '''# A page

Some text with a picture ![a dot](dot.png).

```python
x = 2 + 4
print(x)
```

```text title="Output"
6
```

More text.

```{.python title="second"}
print(x * 2)
```

```text title="Output"
12

```

```bash
echo "not python: part of the text"
```
'''


def test_a_page_whose_blocks_print_their_outputs_passes(tmp_path):
    # trailing spaces and blank lines in what is printed or shown do not count
    text = GOOD_PAGE.replace("print(x * 2)\n", "print(x * 2, end='   \\n\\n')\n")
    result = tutorials.run_page(page(tmp_path, text), tmp_path)
    assert result.mismatches == [] and result.skipped_from is None


def test_a_wrong_number_is_reported_with_its_line_and_both_outputs(tmp_path):
    result = tutorials.run_page(page(tmp_path, GOOD_PAGE.replace("12\n", "13\n")), tmp_path)
    assert len(result.mismatches) == 1
    assert result.mismatches[0].startswith("page.md, the block at line 16 printed:\n12\n")
    assert result.mismatches[0].endswith("but the page shows:\n13\n\n")


def test_a_block_that_prints_without_an_output_block_fails(tmp_path):
    text = "```python\nprint('hidden')\n```\n"
    result = tutorials.run_page(page(tmp_path, text), tmp_path)
    assert len(result.mismatches) == 1 and "printed:\nhidden" in result.mismatches[0]


def test_the_blocks_share_one_namespace_and_run_in_the_work_directory(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    text = ('```python\nclass Box:\n    pass\nopen("made.txt", "w").close()\n```\n\n'
            '```python\nprint(type(Box()).__name__)\n```\n\n```text title="Output"\nBox\n```\n')
    assert tutorials.run_page(page(tmp_path, text), work).mismatches == []
    assert (work / "made.txt").is_file() and Path.cwd() != work


def test_an_error_shown_as_a_traceback_compares_only_the_error_lines(tmp_path):
    text = ('```python\nprint("before")\nint("six")\n```\n\n```text title="Output"\nbefore\n'
            'Traceback (most recent call last):\n    ...\n'
            "ValueError: invalid literal for int() with base 10: 'six'\n```\n")
    assert tutorials.run_page(page(tmp_path, text), tmp_path).mismatches == []
    wrong = text.replace("'six'", "'seven'")
    assert len(tutorials.run_page(page(tmp_path, wrong), tmp_path).mismatches) == 1


def test_an_unexpected_error_is_a_mismatch_that_shows_the_error(tmp_path):
    result = tutorials.run_page(page(tmp_path, "```python\n1 / 0\n```\n"), tmp_path)
    assert len(result.mismatches) == 1 and "ZeroDivisionError: division by zero" in result.mismatches[0]


def test_blocks_needing_a_missing_module_are_not_run_from_there_on(tmp_path):
    text = ('```python\nprint(1)\n```\n\n```text title="Output"\n1\n```\n\n'
            '```{.python needs="no_such_module_here"}\nimport no_such_module_here\n```\n\n'
            '```python\nprint("not run")\n```\n')
    result = tutorials.run_page(page(tmp_path, text), tmp_path)
    assert result.mismatches == [] and result.skipped_from == 9


def test_an_output_block_must_follow_a_python_block():
    with pytest.raises(ValueError, match="line 1: an Output block must follow a python block"):
        tutorials.parse('```text title="Output"\n6\n```\n')


@pytest.mark.parametrize(("pages", "message"), [
    (["missing.md"], "page missing.md: expected a Markdown file; there is no such file"),
    (["open.md"], "open.md: line 1: the code block is never closed ('```')"),
    (["--notebook", "out.ipynb", "open.md", "open.md"], "--notebook writes one page; got 2 pages"),
])
def test_bad_pages_get_a_clear_error_naming_the_page(tmp_path, monkeypatch, capsys, pages, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "open.md").write_text("```python\nprint(1)\n", encoding="utf8")
    with pytest.raises(SystemExit) as stopped:
        tutorials.main(pages)
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(f": error: {message}")
    assert not (tmp_path / "out.ipynb").exists()


def test_the_notebook_holds_the_text_the_code_its_output_and_the_attached_images(tmp_path):
    (tmp_path / "dot.png").write_bytes(b"\x89PNG\r\n\x1a\n fake")
    book = tutorials.notebook(page(tmp_path, GOOD_PAGE))
    kinds = [cell["cell_type"] for cell in book["cells"]]
    assert kinds == ["markdown", "code", "markdown", "code", "markdown"]
    first, code = book["cells"][0], book["cells"][1]
    assert "".join(first["source"]) == "# A page\n\nSome text with a picture ![a dot](attachment:dot.png)."
    assert first["attachments"] == {"dot.png": {"image/png": "iVBORw0KGgogZmFrZQ=="}}
    assert "".join(code["source"]) == "x = 2 + 4\nprint(x)"
    assert code["outputs"] == [{"output_type": "stream", "name": "stdout", "text": ["6\n"]}]
    assert 'echo "not python' in "".join(book["cells"][-1]["source"])
    assert [cell["execution_count"] for cell in book["cells"] if cell["cell_type"] == "code"] == [1, 2]


def test_every_tutorial_notebook_is_valid_nbformat():
    nbformat = pytest.importorskip("nbformat", reason='needs the docs tools: pip install -e ".[docs]"')
    for path in TUTORIALS:
        book = tutorials.notebook(path)
        nbformat.validate(nbformat.reads(json.dumps(book), as_version=4))  # raises if invalid
        assert sum(cell["cell_type"] == "code" for cell in book["cells"]) >= 1, path.name


@pytest.mark.parametrize("path", PAGES, ids=[path.stem for path in PAGES])
def test_tutorial_prints_what_it_shows(path, tmp_path):
    pytest.importorskip("matplotlib", reason='the tutorials draw figures: pip install -e ".[docs]"')
    pytest.importorskip("sklearn", reason='the tutorials load bundled data: pip install -e ".[docs]"')
    result = tutorials.run_page(path, tmp_path)
    assert result.mismatches == [], "\n\n".join(result.mismatches)
    if result.skipped_from is not None:
        pytest.skip(f"checked up to line {result.skipped_from}; the rest needs a module not installed")


@pytest.mark.parametrize("path", PAGES, ids=[path.stem for path in PAGES])
def test_tutorial_shows_output_and_asserts_nothing(path):
    """A learner sees numbers printed, not assert statements; the tests do the checking."""
    blocks = tutorials.parse(path.read_text(encoding="utf8"))
    code = [block for block in blocks if block.kind == "code"]
    assert any(block.output is not None for block in code), f"{path.name} prints nothing"
    for block in code:
        tree = ast.parse(block.source)
        asserts = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
        assert not asserts, f"{path.name}, block at line {block.line}: an assert statement"
        assert "pytest" not in block.source, f"{path.name}, block at line {block.line} uses pytest"


def test_tabs_and_admonitions_become_markdown_that_jupyter_shows():
    text = ('Intro\n\n=== "minidl.keras"\n\n    Keras text\n\n!!! note "Shapes"\n    one\n\n    two\n\n'
            "After\n")
    assert tutorials._jupyter_markdown(text) == (
        'Intro\n\n**minidl.keras**\n\nKeras text\n\n> **Shapes**\n> one\n>\n> two\n\nAfter')
