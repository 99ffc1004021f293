"""Fixtures shared by the model-file tests."""

from pathlib import Path

import pytest

from tests.io.files import small_network


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "model.npz"
    small_network().save(path)
    return path
