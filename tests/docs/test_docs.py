"""The documentation site builds cleanly, its pages are all reachable, its figures are made by minidl.

The tutorials' code blocks run, and their printed output is checked, in test_tutorials.py;
this file checks the site around them.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import minidl

ROOT = Path(__file__).resolve().parents[2]


TUTORIALS = [
    "01-forward-propagation.md",
    "02-need-for-optimization.md",
    "03-gradient-descent.md",
    "04-backpropagation.md",
    "05-training-models.md",
    "06-classification.md",
    "07-custom-layers.md",
    "08-convolutions.md",
    "09-moving-to-pytorch.md",
    "10-keras-regression.md",
    "11-keras-classification.md",
    "12-fine-tuning-optimization.md",
    "13-validation-and-capacity.md",
    "14-digits.md",
]


def documented_object(anchor):
    """The object an API page's anchor ``minidl.a.b.C.m`` names (None if it names none)."""
    parts = anchor.split(".")
    for split in range(len(parts), 0, -1):  # the longest importable module, then attributes
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            found = getattr(found, part, None)
        return found
    return None


def test_mkdocs_build_strict_is_clean(tmp_path):
    for tool in ("mkdocs", "material", "mkdocstrings"):
        pytest.importorskip(tool, reason='needs the docs tools: pip install -e ".[docs]"')
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "WARNING" not in result.stderr, result.stderr[-4000:]
    site = tmp_path / "site"
    # The API reference really was generated from the docstrings.
    plot_page = (site / "api" / "plot" / "index.html").read_text(encoding="utf8")
    assert "draw_network" in plot_page and "plot_loss_landscape" in plot_page
    network_page = (site / "api" / "network" / "index.html").read_text(encoding="utf8")
    assert "from_node_weights" in network_page
    # Sphinx roles in docstrings (:class:`~minidl.Layer`) are shown as plain code.
    for page in (site / "api").rglob("index.html"):
        assert not re.search(r":(class|meth|func|mod|attr):<code>", page.read_text(encoding="utf8")), page
    # Every page rendered its markdown: no code fence shown as text, no mkdocstrings directive left raw
    # (a fence whose info string the parser does not read swallows the page below it).
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf8")
        assert "<p>```" not in html and "<code>python notest" not in html and "::: minidl" not in html, page
    # Every public name of minidl has its entry on an API page: an anchor such as id="minidl.network.save"
    # naming that very object (minidl.io.saving.save, another function, does not count).
    documented = {id(documented_object(anchor)) for page in (site / "api").rglob("index.html")
                  for anchor in re.findall(r'id="(minidl\.[\w.]+)"', page.read_text(encoding="utf8"))}
    public = [name for name in minidl.__all__ if name != "__version__"]
    assert [name for name in public if id(getattr(minidl, name)) not in documented] == []
    for tutorial in TUTORIALS:
        page = (site / "tutorials" / tutorial.removesuffix(".md") / "index.html").read_text(encoding="utf8")
        # each page links to its notebook, which the site holds beside it
        notebook = tutorial.removesuffix(".md") + ".ipynb"
        assert f'href="../{notebook}"' in page, tutorial
        assert json.loads((site / "tutorials" / notebook).read_text(encoding="utf8"))["nbformat"] == 4


DOCS = ROOT / "docs"


def nav_paths():
    """Every page path listed in mkdocs.yml's nav (read as text: no YAML dependency)."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf8")
    nav = text[text.index("\nnav:") :]
    return re.findall(r"([\w./-]+\.md)\s*$", nav, flags=re.MULTILINE)


def test_nav_lists_every_page_once_and_the_tutorials_in_the_course_order():
    listed = nav_paths()
    assert len(listed) == len(set(listed))
    for path in listed:
        assert (DOCS / path).is_file(), f"mkdocs.yml nav lists {path}, which does not exist"
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages == set(listed), f"pages not in the nav: {sorted(pages - set(listed))}"
    tutorials = [path.removeprefix("tutorials/") for path in listed if re.match(r"tutorials/\d\d-", path)]
    assert tutorials == TUTORIALS


def test_every_image_the_docs_and_readme_show_exists():
    sources = [*DOCS.rglob("*.md"), ROOT / "README.md"]
    shown = 0
    for source in sources:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)", source.read_text(encoding="utf8")):
            if target.startswith("http"):
                continue
            shown += 1
            assert (source.parent / target).resolve().is_file(), f"{source.name} shows missing {target}"
    assert shown > 0


def load_figures_script():
    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "scripts" / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_committed_image_is_drawn_by_the_figures_script():
    script = load_figures_script()
    committed = {path.name for path in (DOCS / "images").glob("*")}
    assert committed == set(script.FIGURES)


def test_the_figures_script_runs_and_writes_every_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason='needs matplotlib: pip install -e ".[plot]"')
    script = load_figures_script()
    written = script.main(["--out", str(tmp_path)])
    assert sorted(path.name for path in written) == sorted(script.FIGURES)
    for path in written:
        with path.open("rb") as file:
            assert file.read(8) == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 5000  # a real picture, not an empty canvas
    assert capsys.readouterr().out.split() == [str(path) for path in written]
