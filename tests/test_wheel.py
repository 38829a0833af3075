"""The wheel ships the model templates: `drumkit new model` works from an installed wheel, away from the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The project's wheel, built and unpacked into a folder of its own (dependencies come from this venv)."""
    work = tmp_path_factory.mktemp("wheel")
    # A copy of the sources (links kept as links): building writes build/ and *.egg-info beside them.
    source = work / "src"
    for name in ("pyproject.toml", "README.md", "drumkit", "templates"):
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, source / name)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--wheel-dir", str(work / "dist"), str(source)], capture_output=True, timeout=300,
                           cwd=work)
    assert build.returncode == 0, build.stderr
    [wheel] = (work / "dist").glob("drumkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for template in ("python", "sklearn", "unstructured", "chat"):
        assert f"drumkit/templates/{template}/custom.py" in names
    site = work / "site"
    zipfile.ZipFile(wheel).extractall(site)
    return site


def test_new_model_from_the_installed_wheel_scores_as_generated(installed, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(installed)}
    where = subprocess.run([sys.executable, "-c", "import drumkit; print(drumkit.__file__)"], capture_output=True,
                           text=True, env=env, cwd=tmp_path, timeout=60)
    assert where.stdout.strip() == str(installed / "drumkit" / "__init__.py")
    new = subprocess.run([sys.executable, "-m", "drumkit", "new", "model", "mine"], capture_output=True, env=env,
                         cwd=tmp_path, timeout=120)
    assert new.returncode == 0, new.stderr
    assert (tmp_path / "mine" / "custom.py").read_bytes() == (ROOT / "templates" / "python" / "custom.py").read_bytes()
    scored = subprocess.run([sys.executable, "-m", "drumkit", "score", "--code-dir", "mine", "--input",
                             "mine/sample.csv"], capture_output=True, env=env, cwd=tmp_path, timeout=120)
    assert scored.returncode == 0, scored.stderr
    assert scored.stdout.startswith(b"Predictions\n")
