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


# Test tiers. End-to-end modules start real `drumkit` processes (CLI runs, servers, perf's child server)
# or build every framework's model; the rest are unit tests of one layer, in-process, and run in
# seconds (`make test-fast`, `pytest -m "not e2e"`). A new module is a unit module unless listed here.
E2E_MODULES = {
    "test_cli_startup", "test_compat_custom_task", "test_compat_flask_extension", "test_compat_imports",
    "test_drop_in", "test_frameworks", "test_genai_perf", "test_genai_server", "test_new_model", "test_perf",
    "test_score_cli", "test_score_streaming", "test_server_accept", "test_server_models", "test_server_routes",
    "test_server_schema", "test_server_workers", "test_smoke", "test_validate", "test_wheel",
    "test_score_equals_server", "test_block_predict", "test_hardening_csv", "test_hardening_drain",
    "test_hardening_faults", "test_hardening_fuzz", "test_hardening_load", "test_hardening_metrics",
    "test_hardening_protocol", "test_hardening_score", "test_score_dask", "test_score_dataset",
}


def pytest_collection_modifyitems(config, items):
    """Mark every test `e2e` or `unit` by its module."""
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        item.add_marker(pytest.mark.e2e if module in E2E_MODULES else pytest.mark.unit)
