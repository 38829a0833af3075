"""DRUM's CustomTask interface: `class CustomTask` + `drum_artifact.pkl` on score, server, validate and perf."""

from __future__ import annotations

import io
import json
import pickletools
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests import compatmodels, serverproc
from tests.modelzoo import write

SECRET = '{"credential_type": "api_token", "api_token": "%s"}'


def drumkit(*args: str, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drumkit", *args], capture_output=True, text=True,
                          timeout=timeout, env=env or compatmodels.env_with())


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("tasks")


@pytest.fixture(scope="module")
def tasks(root):
    """Code dir, features and the task's own predictions, per target type (fitted under drumkit's stand-in)."""
    return compatmodels.task_dirs(root, ("binary", "multiclass", "regression", "anomaly", "transform"))


def score_csv(code_dir, features_csv, *args, env=None) -> pd.DataFrame:
    out = drumkit("score", "--code-dir", str(code_dir), "--input", str(features_csv), *args, env=env)
    assert out.returncode == 0, out.stderr
    return pd.read_csv(io.StringIO(out.stdout))


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression", "anomaly", "transform"])
def test_score_equals_the_tasks_own_predictions(tasks, root, kind):
    code_dir, features, expected = tasks[kind]
    got = score_csv(code_dir, root / "task_X.csv")
    assert len(got) == len(features)
    if kind in ("binary", "multiclass"):
        assert sorted(got.columns) == sorted(expected.columns)
        got = got[expected.columns]  # probabilities per label, whatever the column order
    else:
        got.columns = expected.columns
    np.testing.assert_allclose(got.to_numpy(dtype=float), expected.to_numpy(dtype=float), rtol=1e-9, atol=1e-12)


def test_artifact_is_a_plain_pickle_of_custom_customtask(tasks):
    """The pickle names `custom.CustomTask` and no drumkit module, so DRUM loads it too."""
    code_dir = tasks["binary"][0]
    data = (code_dir / "drum_artifact.pkl").read_bytes()
    strings = [arg for op, arg, _ in pickletools.genops(data) if isinstance(arg, str)]
    assert "custom" in strings and "CustomTask" in strings
    assert not any("drumkit" in s for s in strings)


@pytest.fixture(scope="module")
def binary_server(tasks, root):
    proc = serverproc.start(["--code-dir", str(tasks["binary"][0])], root / "logs")
    yield proc
    assert proc.stop() == 0


def test_server_predicts_with_predict_proba(binary_server, tasks):
    _, features, expected = tasks["binary"]
    response = binary_server.post("/predict/", data=features.to_csv(index=False),
                                  headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    rows = response.json()["predictions"]
    got = pd.DataFrame(rows)[expected.columns]
    np.testing.assert_allclose(got.to_numpy(dtype=float), expected.to_numpy(dtype=float), rtol=1e-9)
    info = binary_server.get("/info/").json()
    assert info["predictor"] is None and info["targetType"] == "binary"


def test_validate_passes_on_a_task(tasks, root):
    out = drumkit("validate", "--code-dir", str(tasks["multiclass"][0]), "--input", str(root / "task_X.csv"),
                  "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["target_type"] == "multiclass"


def secrets_dir(root, name: str, offset: str):
    folder = root / name
    folder.mkdir()
    (folder / "OFFSET").write_text(SECRET % offset)
    return folder


def test_secrets_from_mount_path_and_env_prefix(tasks, root):
    code_dir, _, expected = tasks["regression"]
    x_csv = root / "task_X.csv"
    mounted = secrets_dir(root, "mounted", "10")
    got = score_csv(code_dir, x_csv, "--user-secrets-mount-path", str(mounted))
    np.testing.assert_allclose(got["Predictions"], expected["Predictions"] + 10)

    env = compatmodels.env_with(MY_SECRETS_OFFSET=SECRET % "5")
    got = score_csv(code_dir, x_csv, "--user-secrets-prefix", "MY_SECRETS", env=env)
    np.testing.assert_allclose(got["Predictions"], expected["Predictions"] + 5)

    # The env vars DataRobot sets work like the flags; a mounted file beats an env var of the same name.
    env = compatmodels.env_with(MY_SECRETS_OFFSET=SECRET % "5", USER_SECRETS_PREFIX="MY_SECRETS",
                                USER_SECRETS_MOUNT_PATH=str(mounted))
    got = score_csv(code_dir, x_csv, env=env)
    np.testing.assert_allclose(got["Predictions"], expected["Predictions"] + 10)


def test_transform_task_gets_secrets_too(tasks, root):
    code_dir, _, expected = tasks["transform"]
    env = compatmodels.env_with(S_OFFSET=SECRET % "1")
    got = score_csv(code_dir, root / "task_X.csv", "--user-secrets-prefix", "S", env=env)
    np.testing.assert_allclose(got.to_numpy(dtype=float), expected.to_numpy(dtype=float) * 2)


def test_bad_secret_is_a_one_line_error(tasks, root):
    env = compatmodels.env_with(BAD_OFFSET='{"credential_type": "carrier_pigeon"}')
    out = drumkit("score", "--code-dir", str(tasks["regression"][0]), "--input", str(root / "task_X.csv"),
                  "--user-secrets-prefix", "BAD", env=env)
    assert out.returncode == 1
    assert "Cannot load user secrets: Unsupported secret type: 'carrier_pigeon'" in out.stderr
    assert "Traceback" not in out.stderr


def test_perf_passes_secrets_to_its_server(tasks, root):
    env = compatmodels.env_with(REQUIRE_OFFSET="1", P_OFFSET=SECRET % "2")
    out = drumkit("perf", "--code-dir", str(tasks["regression"][0]), "--input", str(root / "task_X.csv"),
                  "-s", "20", "-i", "2", "--json", "--user-secrets-prefix", "P", env=env)
    assert out.returncode == 0, out.stderr
    [case] = json.loads(out.stdout)["cases"]
    assert (case["completed"], case["status"]) == (2, "ok")
    # Without the flag the task refuses to predict, so the secret above really reached it.
    failed = drumkit("score", "--code-dir", str(tasks["regression"][0]), "--input",
                     str(root / "task_X.csv"), env=env)
    assert failed.returncode == 1 and "the OFFSET secret did not arrive" in failed.stderr


def test_class_that_does_not_subclass_the_interface_gets_drums_message(tmp_path):
    write(tmp_path, "custom.py", """
        class CustomTask:
            def predict(self, X, **kwargs):
                return X
    """)
    (tmp_path / "x.csv").write_text("a\n1\n")
    out = drumkit("score", "--code-dir", str(tmp_path), "--input", str(tmp_path / "x.csv"), "--target-type", "regression")
    assert out.returncode == 1
    assert "The CustomTask class must inherit from the CustomTaskInterface" in out.stderr
    assert "Traceback" not in out.stderr


def test_failing_predict_uses_drums_words(tmp_path):
    write(tmp_path, "custom.py", """
        from datarobot_drum.custom_task_interfaces import RegressionEstimatorInterface

        class CustomTask(RegressionEstimatorInterface):
            def predict(self, X, **kwargs):
                raise ValueError("no luck")
    """)
    script = ("import sys, pickle; sys.path.insert(0, sys.argv[1]);"
              "from drumkit.compat import finder; finder.install(); import custom;"
              "pickle.dump(custom.CustomTask(), open(sys.argv[1] + '/drum_artifact.pkl', 'wb'))")
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, env=compatmodels.env_with())
    (tmp_path / "x.csv").write_text("a\n1\n")
    out = drumkit("score", "--code-dir", str(tmp_path), "--input", str(tmp_path / "x.csv"), "--target-type", "regression")
    assert out.returncode == 1
    assert "Model 'score' hook failed to make predictions. Exception: ValueError('no luck')" in out.stderr
