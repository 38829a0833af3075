"""DRUM code dirs that must run unchanged (issue 8, items 4-8): one-column label order, metadata missing keys,
unnamed sparse payloads, predictions of the wrong kind, and DRUM's deployment flags and env."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.sparse

from drumkit.commands.options import REFUSED
from drumkit.server.settings import workers_from_env
from tests import hookmodels, serverproc
from tests.modelzoo import write


def drumkit(*args, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python -m drumkit ARGS` as a user would."""
    import os

    full_env = {**os.environ, **(env or {})}
    for name in ("TARGET_TYPE", "CODE_DIR", "MAX_WORKERS", "CUSTOM_MODEL_WORKERS"):
        if name not in (env or {}):
            full_env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "drumkit", *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The single `Error:` line a failed command prints (no traceback)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def metadata(target_type: str, extra: str = "") -> str:
    return f"name: m\ntype: inference\ntargetType: {target_type}\n{textwrap.dedent(extra)}"


# ---- item 4: one probability column ------------------------------------------------------------------------

# hookmodels' one-column model (like a booster: one probability per row), plus a post_process that records what it saw.
ONE_COLUMN_CUSTOM = hookmodels.ONE_COLUMN_BINARY_CUSTOM + '''
import json, os

def post_process(predictions, model):
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "post_process.json"), "w") as handle:
        json.dump({"columns": [str(c) for c in predictions.columns],
                   "first": predictions.iloc[:, 0].tolist()}, handle)
    return predictions
'''


@pytest.fixture(scope="module")
def x_csv(tmp_path_factory) -> tuple[Path, np.ndarray]:
    path = tmp_path_factory.mktemp("x") / "x.csv"
    x = np.linspace(-2, 2, 9)
    pd.DataFrame({"x": x}).to_csv(path, index=False)
    return path, 1 / (1 + np.exp(-pd.read_csv(path)["x"].to_numpy()))


def test_two_class_multiclass_single_column_is_the_second_label(tmp_path, x_csv):
    path, p = x_csv
    code_dir = tmp_path / "m"
    code_dir.mkdir()
    write(code_dir, "custom.py", ONE_COLUMN_CUSTOM)
    write(code_dir, "model-metadata.yaml", metadata("multiclass", "inferenceModel:\n  classLabels:\n    - cat\n    - dog\n"))
    result = drumkit("score", "--code-dir", code_dir, "--input", path)
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(io.StringIO(result.stdout))
    assert list(got.columns) == ["cat", "dog"]
    np.testing.assert_allclose(got["dog"], p, rtol=1e-12)
    np.testing.assert_allclose(got["cat"], 1 - p, rtol=1e-12)


def test_xgboost_booster_served_as_two_class_multiclass(tmp_path, x_csv):
    import xgboost

    path, _ = x_csv
    rng = np.random.default_rng(1)
    train = pd.DataFrame({"x": rng.normal(size=200)})
    booster = xgboost.train({"objective": "binary:logistic"}, xgboost.DMatrix(train, label=(train.x > 0.3).astype(int)),
                            num_boost_round=5)
    code_dir = tmp_path / "xgb"
    code_dir.mkdir()
    booster.save_model(str(code_dir / "model.json"))
    result = drumkit("score", "--code-dir", code_dir, "--input", path, "--target-type", "multiclass",
                     "--class-labels", "0", "1")
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(io.StringIO(result.stdout))
    expected = booster.predict(xgboost.DMatrix(pd.read_csv(path)))
    np.testing.assert_allclose(got["1"], expected, rtol=1e-6)
    np.testing.assert_allclose(got["0"], 1 - expected, rtol=1e-6)


def test_binary_single_column_is_positive_and_post_process_sees_negative_then_positive(tmp_path, x_csv):
    path, p = x_csv
    code_dir = tmp_path / "b"
    code_dir.mkdir()
    write(code_dir, "custom.py", ONE_COLUMN_CUSTOM)
    write(code_dir, "model-metadata.yaml",
          metadata("binary", "inferenceModel:\n  positiveClassLabel: yes\n  negativeClassLabel: no\n"))
    result = drumkit("score", "--code-dir", code_dir, "--input", path)
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(io.StringIO(result.stdout))
    np.testing.assert_allclose(got["yes"], p, rtol=1e-12)
    seen = json.loads((code_dir / "post_process.json").read_text())
    assert seen["columns"] == ["no", "yes"]
    np.testing.assert_allclose(seen["first"], 1 - p, rtol=1e-12)


# ---- item 5: metadata lacking required keys, through every command ---------------------------------------

@pytest.fixture(scope="module")
def keyless(tmp_path_factory, x_csv) -> Path:
    code_dir = tmp_path_factory.mktemp("keyless")
    write(code_dir, "custom.py", "def score(data, model, **kwargs):\n    return data.rename(columns={'x': 'Predictions'})\n")
    write(code_dir, "model-metadata.yaml", "name: m\ndescription: no type, no target type\n")
    return code_dir


MISSING = "required key(s) 'targetType', 'type' not found"


@pytest.mark.parametrize("command", ["score", "perf"])
def test_metadata_missing_keys_is_refused_by_score_and_perf(keyless, x_csv, command):
    result = drumkit(command, "--code-dir", keyless, "--input", x_csv[0], "--target-type", "regression")
    assert result.returncode == 1
    line = one_error_line(result)
    assert "model-metadata.yaml" in line and MISSING in line, line


def test_metadata_missing_keys_is_refused_by_server(keyless, tmp_path):
    result = drumkit("server", "--code-dir", keyless, "--address", f"127.0.0.1:{serverproc.free_port()}",
                     "--target-type", "regression")
    assert result.returncode == 1
    assert MISSING in one_error_line(result)


def test_metadata_missing_keys_fails_validate(keyless, x_csv):
    result = drumkit("validate", "--code-dir", keyless, "--input", x_csv[0], "--target-type", "regression", "--json")
    assert result.returncode == 1, result.stderr
    checks = {check["check"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["Model metadata"]["status"] == "FAILED" and MISSING in checks["Model metadata"]["details"]
    # The load fails for the same reason: listed once, under the metadata check.
    assert checks["Model load"] == {"check": "Model load", "status": "SKIPPED",
                                    "details": "the model cannot load until model-metadata.yaml is fixed"}


# ---- item 6: sparse payloads without column names ------------------------------------------------------

@pytest.fixture(scope="module")
def sparse_model(tmp_path_factory):
    """A scikit-learn pipeline fitted on a named DataFrame, and an unnamed .mtx of the same features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MaxAbsScaler

    root = tmp_path_factory.mktemp("sparse")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.random((60, 4)) * (rng.random((60, 4)) > 0.5), columns=["a", "b", "c", "d"])
    model = make_pipeline(MaxAbsScaler(), LogisticRegression()).fit(frame, np.where(frame.a + frame.c > 0.5, "yes", "no"))
    code_dir = root / "model"
    code_dir.mkdir()
    with open(code_dir / "model.pkl", "wb") as handle:
        pickle.dump(model, handle)
    write(code_dir, "model-metadata.yaml",
          metadata("binary", "inferenceModel:\n  positiveClassLabel: yes\n  negativeClassLabel: no\n"))
    mtx = root / "x.mtx"
    scipy.io.mmwrite(mtx, scipy.sparse.csr_matrix(frame.to_numpy()))
    expected = pd.DataFrame(model.predict_proba(frame), columns=model.classes_)
    return code_dir, mtx, expected


@pytest.fixture(scope="module")
def sparse_server(sparse_model, tmp_path_factory):
    proc = serverproc.start(["--code-dir", str(sparse_model[0])], tmp_path_factory.mktemp("sparse-logs"))
    yield proc
    assert proc.stop() == 0


def test_score_unnamed_mtx_by_position(sparse_model):
    code_dir, mtx, expected = sparse_model
    result = drumkit("score", "--code-dir", code_dir, "--input", mtx)
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(io.StringIO(result.stdout))
    np.testing.assert_allclose(got[["no", "yes"]].to_numpy(), expected[["no", "yes"]].to_numpy(), rtol=1e-9)


def test_score_mtx_with_names_that_differ_names_them(sparse_model, tmp_path):
    code_dir, mtx, _ = sparse_model
    names = write(tmp_path, "names.txt", "a\nb\nz\nd\n")
    result = drumkit("score", "--code-dir", code_dir, "--input", mtx, "--sparse-column-file", names)
    assert result.returncode == 1
    line = one_error_line(result)
    assert "missing c" in line and "not in the model z" in line, line


def test_score_mtx_with_names_in_another_order_is_aligned(sparse_model, tmp_path):
    code_dir, mtx, expected = sparse_model
    frame = pd.DataFrame.sparse.from_spmatrix(scipy.io.mmread(mtx)).sparse.to_dense()
    shuffled = tmp_path / "shuffled.mtx"
    scipy.io.mmwrite(shuffled, scipy.sparse.csr_matrix(frame[[3, 2, 1, 0]].to_numpy()))
    names = write(tmp_path, "names.txt", "d\nc\nb\na\n")
    result = drumkit("score", "--code-dir", code_dir, "--input", shuffled, "--sparse-column-file", names)
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(io.StringIO(result.stdout))
    np.testing.assert_allclose(got["yes"], expected["yes"], rtol=1e-9)


def test_score_mtx_with_fewer_columns_points_at_sparse_column_file(sparse_model, tmp_path):
    code_dir, mtx, _ = sparse_model
    narrow = tmp_path / "narrow.mtx"
    scipy.io.mmwrite(narrow, scipy.sparse.csr_matrix(scipy.io.mmread(mtx).tocsr()[:, :3]))
    result = drumkit("score", "--code-dir", code_dir, "--input", narrow)
    assert result.returncode == 1
    line = one_error_line(result)
    assert "3 unnamed columns" in line and "a, b, c, d" in line and "--sparse-column-file" in line, line


def test_score_hook_reading_a_column_of_unnamed_mtx_says_how_to_name_them(sparse_model, tmp_path):
    _, mtx, _ = sparse_model
    code_dir = tmp_path / "hook"
    code_dir.mkdir()
    write(code_dir, "custom.py", """
        import pandas as pd

        def score(data, model, **kwargs):
            return pd.DataFrame({"Predictions": data["c"].sparse.to_dense() * 2})
    """)
    write(code_dir, "model-metadata.yaml", metadata("regression"))
    result = drumkit("score", "--code-dir", code_dir, "--input", mtx)
    assert result.returncode == 1
    line = one_error_line(result)
    assert "KeyError('c')" in line and "--sparse-column-file" in line, line
    names = write(tmp_path, "names.txt", "a\nb\nc\nd\n")
    result = drumkit("score", "--code-dir", code_dir, "--input", mtx, "--sparse-column-file", names)
    assert result.returncode == 0, result.stderr
    expected = scipy.io.mmread(mtx).toarray()[:, 2] * 2
    np.testing.assert_allclose(pd.read_csv(io.StringIO(result.stdout))["Predictions"], expected)


def test_server_text_mtx_body_by_position(sparse_model, sparse_server):
    _, mtx, expected = sparse_model
    response = sparse_server.post("/predict/", data=mtx.read_bytes(), headers={"Content-Type": "text/mtx"})
    assert response.status_code == 200, response.text
    got = pd.DataFrame(response.json()["predictions"])
    np.testing.assert_allclose(got["yes"], expected["yes"], rtol=1e-9)


def test_server_multipart_mtx_without_colnames_by_position(sparse_model, sparse_server):
    _, mtx, expected = sparse_model
    response = sparse_server.post("/predict/", files={"X": ("x.mtx", mtx.read_bytes())})
    assert response.status_code == 200, response.text
    got = pd.DataFrame(response.json()["predictions"])
    np.testing.assert_allclose(got["no"], expected["no"], rtol=1e-9)


def test_server_multipart_colnames_that_differ_are_422(sparse_model, sparse_server):
    _, mtx, _ = sparse_model
    response = sparse_server.post("/predict/", files={"X": ("x.mtx", mtx.read_bytes()),
                                                      "X.colnames": ("names", b"a\nb\nc\ne\n")})
    assert response.status_code == 422, response.text
    message = response.json()["message"]
    assert "missing d" in message and "not in the model e" in message and "\n" not in message
    assert sparse_server.get("/ping/").status_code == 200


# ---- item 7: predictions of the wrong kind ----------------------------------------------------------------

@pytest.fixture(scope="module")
def classifier_as_regression(tmp_path_factory):
    from sklearn.tree import DecisionTreeClassifier

    root = tmp_path_factory.mktemp("wrongkind")
    frame = pd.DataFrame({"x": np.linspace(-1, 1, 20), "y": np.linspace(1, 0, 20)})
    model = DecisionTreeClassifier(random_state=0).fit(frame, np.where(frame.x > 0, "yes", "no"))
    code_dir = root / "model"
    code_dir.mkdir()
    with open(code_dir / "model.pkl", "wb") as handle:
        pickle.dump(model, handle)
    write(code_dir, "model-metadata.yaml", metadata("regression"))
    csv = root / "x.csv"
    frame.to_csv(csv, index=False)
    return code_dir, csv, model


WRONG_KIND = "Target type 'regression' needs numeric predictions, but the model returned text values such as"


def test_score_classifier_as_regression_is_one_line(classifier_as_regression, tmp_path):
    code_dir, csv, model = classifier_as_regression
    assert set(model.predict(pd.read_csv(csv))) == {"no", "yes"}  # what a silent CSV would have held
    out = tmp_path / "out.csv"
    result = drumkit("score", "--code-dir", code_dir, "--input", csv, "--output", out)
    assert result.returncode == 1
    line = one_error_line(result)
    assert WRONG_KIND in line and "'no'" in line and "--target-type binary or multiclass" in line, line
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_server_classifier_as_regression_is_500_and_keeps_serving(classifier_as_regression, tmp_path):
    code_dir, csv, _ = classifier_as_regression
    server = serverproc.start(["--code-dir", str(code_dir)], tmp_path)
    try:
        response = server.post("/predict/", data=csv.read_bytes(), headers={"Content-Type": "text/csv"})
        assert response.status_code == 500
        message = response.json()["message"]
        assert WRONG_KIND in message and "Traceback" not in message and "\n" not in message
        assert server.get("/ping/").status_code == 200
    finally:
        assert server.stop() == 0


# ---- item 8: DRUM's flags and env ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def regression_dir(tmp_path_factory, x_csv) -> Path:
    code_dir = tmp_path_factory.mktemp("flags")
    write(code_dir, "custom.py", """
        import pandas as pd

        def score(data, model, **kwargs):
            return pd.DataFrame({"Predictions": pd.to_numeric(data["x"], errors="coerce").fillna(0.0)})
    """)
    write(code_dir, "model-metadata.yaml", metadata("regression"))
    return code_dir


def _value_for(flag: str) -> list[str]:
    return [] if REFUSED[flag][1] else ["x"]


@pytest.mark.parametrize("command", ["score", "server", "validate", "perf"])
@pytest.mark.parametrize("flag", sorted(REFUSED))
def test_datarobot_only_flags_are_refused_with_one_line(command, flag, regression_dir, x_csv):
    from typer.testing import CliRunner

    from drumkit import cli

    args = [command, "--code-dir", str(regression_dir), flag, *_value_for(flag)]
    if command in ("score", "validate", "perf"):
        args += ["--input", str(x_csv[0])]
    result = CliRunner().invoke(cli.app, args, env={"CODE_DIR": None, "MAX_WORKERS": None})
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"Error: {flag}: drumkit does not"), result.stderr
    assert "No such option" not in result.stderr


def test_server_accepts_drums_batch_only_flags(regression_dir, tmp_path, x_csv):
    server = serverproc.start(["--code-dir", str(regression_dir), "--query", "a=1", "--content-type", "text/csv",
                               "--production", "--show-perf"], tmp_path)
    try:
        response = server.post("/predict/", data=x_csv[0].read_bytes())
        assert response.status_code == 200
        np.testing.assert_allclose(response.json()["predictions"], pd.read_csv(x_csv[0])["x"])
    finally:
        assert server.stop() == 0


def test_every_model_command_takes_the_same_shared_flags():
    """The shared flags are declared once: each model command offers every one of them."""
    import typer.main

    from drumkit import cli
    from drumkit.commands.options import _SHARED

    group = typer.main.get_command(cli.app)
    wanted = set(_SHARED)
    for name in ("score", "server", "validate", "perf"):
        params = {param.name for param in group.commands[name].params}
        assert wanted <= params, (name, wanted - params)


def test_unknown_flag_still_fails_as_a_usage_error():
    result = drumkit("score", "--no-such-flag")
    assert result.returncode == 2 and "No such option" in result.stderr


@pytest.mark.parametrize("level", ["all", "debug", "info", "warn", "warning", "error", "critical", "fatal"])
def test_score_accepts_verbose_and_every_drum_logging_level(level, regression_dir, x_csv):
    result = drumkit("score", "--code-dir", regression_dir, "--input", x_csv[0], "--verbose", "--logging-level", level)
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(io.StringIO(result.stdout))
    np.testing.assert_allclose(got["Predictions"], pd.read_csv(x_csv[0])["x"])


def test_bad_logging_level_is_a_usage_error(regression_dir, x_csv):
    result = drumkit("score", "--code-dir", regression_dir, "--input", x_csv[0], "--logging-level", "loud")
    assert result.returncode == 2
    assert "--logging-level loud: choose one of all, debug" in one_error_line(result)


def test_validate_and_perf_accept_verbose_and_logging_level(regression_dir, x_csv):
    result = drumkit("validate", "--code-dir", regression_dir, "--input", x_csv[0], "--verbose",
                     "--logging-level", "info", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["target_type"] == "regression"
    result = drumkit("perf", "--code-dir", regression_dir, "--input", x_csv[0], "-s", "2", "-i", "2", "--verbose",
                     "--logging-level", "debug", "--json")
    assert result.returncode == 0, result.stderr
    [case] = json.loads(result.stdout)["cases"]
    assert case["completed"] == 2 and case["status"] == "ok"


def test_custom_model_workers_sets_the_servers_workers(regression_dir, tmp_path, x_csv):
    server = serverproc.start(["--code-dir", str(regression_dir), "--verbose", "--logging-level", "info"], tmp_path,
                              env={"CUSTOM_MODEL_WORKERS": "2", "MAX_WORKERS": ""})
    try:
        # The first worker announces the server once its model loaded; the other may answer /ping/ first.
        assert serverproc.wait_for(lambda: "(2 worker(s)" in server.stderr(), what="the listening line")
        response = server.post("/predict/", data=x_csv[0].read_bytes())
        assert response.status_code == 200
        np.testing.assert_allclose(response.json()["predictions"], pd.read_csv(x_csv[0])["x"])
    finally:
        assert server.stop() == 0


def test_max_workers_beats_custom_model_workers(regression_dir, tmp_path):
    server = serverproc.start(["--code-dir", str(regression_dir), "--max-workers", "1"], tmp_path,
                              env={"CUSTOM_MODEL_WORKERS": "3"})
    try:
        assert "(1 worker(s)" in server.stderr()
    finally:
        assert server.stop() == 0


def test_workers_from_env_reads_the_env_var_or_the_runtime_parameter():
    assert workers_from_env({}) == 1
    assert workers_from_env({"CUSTOM_MODEL_WORKERS": "4"}) == 4
    assert workers_from_env({"MLOPS_RUNTIME_PARAM_CUSTOM_MODEL_WORKERS": '{"type": "numeric", "payload": 3}'}) == 3
    from drumkit.errors import ConfigError

    with pytest.raises(ConfigError, match="CUSTOM_MODEL_WORKERS must be a whole number of workers, 1 or more, not 'two'"):
        workers_from_env({"CUSTOM_MODEL_WORKERS": "two"})
