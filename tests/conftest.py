"""Session fixtures: code dirs and data built once per test session."""

from __future__ import annotations

import pytest

from tests import modelzoo


@pytest.fixture(scope="session")
def zoo_root(tmp_path_factory):
    """A folder for session-built code dirs."""
    return tmp_path_factory.mktemp("zoo")


@pytest.fixture(scope="session")
def regression_model(zoo_root):
    """scikit-learn regression pipeline pickled as model.pkl, with its feature CSV."""
    return modelzoo.sklearn_dir(zoo_root / "regression", "regression")


@pytest.fixture(scope="session")
def binary_model(zoo_root):
    """scikit-learn binary pipeline (labels yes/no in metadata)."""
    return modelzoo.sklearn_dir(zoo_root / "binary", "binary")


@pytest.fixture(scope="session")
def multiclass_model(zoo_root):
    """scikit-learn multiclass pipeline (labels low/mid/high in metadata)."""
    return modelzoo.sklearn_dir(zoo_root / "multiclass", "multiclass")
