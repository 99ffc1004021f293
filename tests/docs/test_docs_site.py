"""The built documentation site: API pages, tutorial navigation, tutorial 4 numbers."""

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


ROOT = Path(__file__).resolve().parents[2]


# Module-level helpers that only build error messages: not part of the API a learner reads.
INTERNAL_HELPERS = [
    "not_initialised", "backward_shape_error", "backward_failure", "note_failing_layer",
    "backward_before_forward", "gradient_shape_error",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    for tool in ("mkdocs", "material", "mkdocstrings"):
        pytest.importorskip(tool, reason='needs the docs tools: pip install -e ".[docs]"')
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def test_api_reference_shows_the_public_names_not_the_error_helpers(site):
    network_page = (site / "api" / "network" / "index.html").read_text(encoding="utf8")
    layers_page = (site / "api" / "layers" / "index.html").read_text(encoding="utf8")
    for name in ("minidl.network.Network", "minidl.course.Trace", "minidl.course.NodeValues",
                 "minidl.network.Network.from_node_weights"):  # Trace, NodeValues: the course bridge's module
        assert f'id="{name}"' in network_page, name
    for name in ("minidl.layers.base.Parameter", "minidl.layers.base.Layer"):
        assert f'id="{name}"' in layers_page, name
    for page in (network_page, layers_page):
        for helper in INTERNAL_HELPERS:
            assert helper not in page, f"{helper} is in the API reference"


def test_the_tutorials_chain_by_next_links_from_the_landing_page(site):
    landing = (site / "index.html").read_text(encoding="utf8")
    assert 'href="tutorials/"' in landing
    tutorials = sorted(p.stem for p in (ROOT / "docs" / "tutorials").glob("[0-9][0-9]-*.md"))
    assert len(tutorials) == 14
    for current, following in itertools.pairwise(tutorials):
        page = (site / "tutorials" / current / "index.html").read_text(encoding="utf8")
        # the page's own "Next:" paragraph links to the following tutorial, inside the site
        assert re.search(rf'<strong>Next:</strong> <a href="\.\./{following}/">', page), current


def test_tutorial_4_numbers_match_an_independent_finite_difference_of_plain_numpy():
    # The course's 2-2-1 ReLU network, written here without minidl.
    w1, w2 = np.array([[2.0, 1.0], [1.0, 2.0]]), np.array([[1.0], [1.0]])

    def loss(a, b, x, t):
        return np.mean((np.maximum(np.maximum(x @ a, 0) @ b, 0) - t) ** 2)

    def numeric(x, t):
        grads = []
        for k, array in enumerate((w1, w2)):
            grad = np.zeros_like(array)
            for i in np.ndindex(array.shape):
                up, down = array.copy(), array.copy()
                up[i] += 1e-6
                down[i] -= 1e-6
                args_up = (up, w2) if k == 0 else (w1, up)
                args_down = (down, w2) if k == 0 else (w1, down)
                grad[i] = (loss(*args_up, x, t) - loss(*args_down, x, t)) / 2e-6
            grads.append(grad)
        return grads

    text = (ROOT / "docs" / "tutorials" / "04-backpropagation.md").read_text(encoding="utf8")
    cases = [
        (np.array([[0.0, 3.0]]), np.array([[3.0]]), [[0, 0], [36, 36]], [[36], [72]]),
        (np.array([[1.0, -1.0]]), np.array([[3.0]]), [[-4, 0], [4, 0]], [[-4], [0]]),
        (np.array([[0.0, 3.0], [1.0, -1.0]]), np.array([[3.0], [3.0]]), [[-2, 0], [20, 18]], [[16], [36]]),
    ]
    for x, t, stated_w1, stated_w2 in cases:
        g1, g2 = numeric(x, t)
        np.testing.assert_allclose(g1, stated_w1, atol=1e-5)
        np.testing.assert_allclose(g2, stated_w2, atol=1e-5)
        # and the tutorial really prints those numbers
        assert str([[float(v) for v in row] for row in stated_w1]) in text
