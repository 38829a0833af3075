"""`import datarobot_drum` in a code dir: drumkit's stand-in when the package is absent, never a shadow of it.

The "real" package here is a stand-in named `datarobot_drum` built in the test and put on PYTHONPATH,
with its own RuntimeParameters, CustomHTTPError, CustomTask interfaces and secrets loader.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests import compatmodels, serverproc

COMPAT_ROOT = compatmodels.REPO / "drumkit" / "compat" / "datarobot_drum"

PROBE = '''
import importlib.util, json, sys
before = importlib.util.find_spec("datarobot_drum")
from drumkit.predictor.predictor import Predictor
from drumkit.predictor.settings import ModelSettings
Predictor.from_settings(ModelSettings(code_dir=sys.argv[1], runtime_params_file=sys.argv[2]))
import datarobot_drum
from datarobot_drum import CustomHTTPError, RuntimeParameters
from datarobot_drum.custom_task_interfaces import (
    AnomalyEstimatorInterface, BinaryEstimatorInterface, MulticlassEstimatorInterface,
    RegressionEstimatorInterface, TransformerInterface,
)
print(json.dumps({
    "before": before is not None,
    "origin": datarobot_drum.__file__,
    "finders": [getattr(finder, "__name__", type(finder).__name__) for finder in sys.meta_path],
    "interface_module": BinaryEstimatorInterface.__module__,
    "scale": RuntimeParameters.get("SCALE"),
    "error_module": CustomHTTPError.__module__,
}))
'''


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("imports")


@pytest.fixture(scope="module")
def hooks_dir(root):
    return compatmodels.hooks_dir(root)


@pytest.fixture(scope="module")
def standin(root):
    return compatmodels.standin_package(root)


def probe(code_dir, params, pythonpath=None) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(code_dir), str(params)], capture_output=True, text=True,
                         timeout=120, env=compatmodels.env_with(pythonpath))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_without_the_package_drumkit_serves_the_names_from_inside_drumkit(hooks_dir, root):
    seen = probe(hooks_dir, root / "drum_imports_params.yaml")
    assert seen["before"] is False  # nothing named datarobot_drum is installed anywhere
    assert Path(seen["origin"]).is_relative_to(COMPAT_ROOT)
    # After the path finder, so any real package is found first (other libraries, e.g. six, may append theirs too).
    assert seen["finders"].index("StandInFinder") > seen["finders"].index("PathFinder")
    assert seen["interface_module"] == "datarobot_drum.custom_task_interfaces.estimator_interfaces"  # DRUM's path
    assert seen["scale"] == 3


def test_with_the_package_installed_it_is_never_shadowed(hooks_dir, root, standin):
    seen = probe(hooks_dir, root / "drum_imports_params.yaml", [standin])
    assert seen["before"] is True
    assert Path(seen["origin"]) == standin / "datarobot_drum" / "__init__.py"
    assert "StandInFinder" not in seen["finders"]
    assert seen["error_module"] == "datarobot_drum.errors"  # its own CustomHTTPError
    assert seen["scale"] == 3  # its RuntimeParameters reads the values drumkit loaded


@pytest.fixture(scope="module", params=["drumkit", "installed"])
def server(request, hooks_dir, root, standin):
    """The hook dir served with drumkit's stand-in, then with the 'real' package installed."""
    marker = root / f"origin_{request.param}.txt"
    pythonpath = [standin] if request.param == "installed" else None
    env = compatmodels.env_with(pythonpath, ORIGIN_MARKER=str(marker))
    proc = serverproc.start(["--code-dir", str(hooks_dir), "--runtime-params-file",
                             str(root / "drum_imports_params.yaml")], root / "logs", env=env)
    proc.origin = Path(marker.read_text())
    proc.kind = request.param
    yield proc
    assert proc.stop() == 0


def features() -> pd.DataFrame:
    return pd.DataFrame({"num0": [1.0, 2.5, -4.0], "other": ["a", "b", "c"]})


def test_server_honours_runtime_parameters_and_custom_http_error(server, standin):
    if server.kind == "installed":
        assert server.origin.is_relative_to(standin)
    else:
        assert server.origin.is_relative_to(COMPAT_ROOT)
    body = features().to_csv(index=False).encode()
    teapot = features().assign(teapot=1).to_csv(index=False).encode()
    # Raw bodies take the lean path; multipart bodies go through Flask. Both must behave alike.
    for send in (lambda data: server.post("/predict/", data=data, headers={"Content-Type": "text/csv"}),
                 lambda data: server.post("/predictions/", files={"X": ("X.csv", data)})):
        ok = send(body)
        assert ok.status_code == 200, ok.text
        assert ok.json()["predictions"] == [3.0, 7.5, -12.0]
        refused = send(teapot)
        assert refused.status_code == 418
        assert refused.json() == {"message": "custom teapot"}
        assert refused.headers["X-Drum-User-Http-Error"] == "true"


@pytest.mark.parametrize("saved_under, scored_under", [("installed", "drumkit"), ("drumkit", "installed")])
def test_task_artifacts_move_between_drumkit_and_the_package(tmp_path, standin, saved_under, scored_under):
    """A drum_artifact.pkl saved with one datarobot_drum loads with the other; secrets come from the active one."""
    [(code_dir, frame, expected)] = compatmodels.task_dirs(tmp_path, ["regression"],
                                                           standin if saved_under == "installed" else None).values()
    pythonpath = [standin] if scored_under == "installed" else None
    env = compatmodels.env_with(pythonpath, T_OFFSET='{"credential_type": "api_token", "api_token": "4"}')
    out = subprocess.run([sys.executable, "-m", "drumkit", "score", "--code-dir", str(code_dir), "--input",
                          str(tmp_path / "task_X.csv"), "--user-secrets-prefix", "T"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    got = pd.read_csv(io.StringIO(out.stdout))
    np.testing.assert_allclose(got["Predictions"], expected["Predictions"] + 4)


def test_score_with_a_custom_http_error_is_a_one_line_failure(hooks_dir, root, standin, tmp_path):
    data = tmp_path / "teapot.csv"
    features().assign(teapot=1).to_csv(data, index=False)
    out = subprocess.run([sys.executable, "-m", "drumkit", "score", "--code-dir", str(hooks_dir), "--input", str(data),
                          "--runtime-params-file", str(root / "drum_imports_params.yaml")],
                         capture_output=True, text=True, timeout=120, env=compatmodels.env_with([standin]))
    assert out.returncode == 1
    assert "custom teapot" in out.stderr and "Traceback" not in out.stderr
