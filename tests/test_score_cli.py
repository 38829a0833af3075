"""`drumkit score` end to end: flags, env vars, metadata, inputs, outputs and failures (in-process, plus a few subprocesses)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather
import pyarrow.parquet as pq
import pytest
import scipy.io
import scipy.sparse
from typer.testing import CliRunner

from drumkit import cli
from tests import hookmodels

LABEL_ENV = ("TARGET_TYPE", "POSITIVE_CLASS_LABEL", "NEGATIVE_CLASS_LABEL", "CLASS_LABELS", "CLASS_LABELS_FILE",
             "CODE_DIR", "RUNTIME_PARAMS_FILE", "SHOW_STACKTRACE")


def run(*args, env: dict | None = None):
    """Run `drumkit ARGS` in-process (with main's DRUM-style nargs expansion); env vars not given are unset."""
    clean = {name: None for name in LABEL_ENV}
    clean.update(env or {})
    argv = cli.expand_nargs([str(a) for a in args])
    return CliRunner().invoke(cli.app, argv, env=clean, catch_exceptions=False)


def read_csv(data: bytes | Path) -> pd.DataFrame:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    return pd.read_csv(source)


def assert_one_line_failure(result, code: int, *fragments: str):
    """A failed run: the exit code, one `Error:` line naming the problem, no traceback, nothing on stdout."""
    assert result.exit_code == code, (result.exit_code, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    assert "Traceback" not in result.stderr
    assert result.stdout_bytes == b""


def no_leftovers(folder: Path, stem: str) -> list[str]:
    return [p.name for p in folder.iterdir() if stem in p.name]


@pytest.fixture(scope="module")
def binary_no_meta(tmp_path_factory, binary_model):
    code_dir = tmp_path_factory.mktemp("binary_no_meta")
    shutil.copy(binary_model.path / "model.pkl", code_dir / "model.pkl")
    return code_dir


@pytest.fixture(scope="module")
def multi_no_meta(tmp_path_factory, multiclass_model):
    code_dir = tmp_path_factory.mktemp("multi_no_meta")
    shutil.copy(multiclass_model.path / "model.pkl", code_dir / "model.pkl")
    return code_dir


# ---- outputs ---------------------------------------------------------------------------------------

def test_regression_csv_to_stdout_with_full_precision(regression_model):
    result = run("score", "--code-dir", regression_model.path, "--input", regression_model.csv)
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.startswith(b"Predictions\n")
    got = read_csv(result.stdout_bytes)
    np.testing.assert_array_equal(got["Predictions"].to_numpy(), regression_model.model.predict(regression_model.features))


def test_binary_output_file_columns_in_model_order(binary_model, tmp_path):
    out = tmp_path / "preds.csv"
    result = run("score", "--code-dir", binary_model.path, "--input", binary_model.csv, "--output", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == b""
    got = read_csv(out)
    assert list(got.columns) == list(binary_model.model.classes_) == ["no", "yes"]
    np.testing.assert_array_equal(got.to_numpy(), binary_model.model.predict_proba(binary_model.features))
    assert no_leftovers(tmp_path, ".part") == []


@pytest.mark.parametrize("suffix", [".parquet", ".arrow"])
def test_parquet_and_arrow_outputs(multiclass_model, tmp_path, suffix):
    out = tmp_path / f"preds{suffix}"
    result = run("score", "--code-dir", multiclass_model.path, "--input", multiclass_model.csv, "--output", out)
    assert result.exit_code == 0, result.stderr
    got = pq.read_table(out).to_pandas() if suffix == ".parquet" else pyarrow.feather.read_table(out).to_pandas()
    assert list(got.columns) == list(multiclass_model.model.classes_)
    np.testing.assert_array_equal(got.to_numpy(), multiclass_model.model.predict_proba(multiclass_model.features))


def test_extra_columns_follow_predictions(tmp_path):
    code_dir = hookmodels.score_returning(tmp_path / "m", """
        return pd.DataFrame({"id": np.arange(len(data)), "Predictions": data["x"] * 3, "why": "linear"})
    """)
    frame = hookmodels.x_frame(5)
    frame.to_csv(tmp_path / "in.csv", index=False)
    result = run("score", "--code-dir", code_dir, "--input", tmp_path / "in.csv", "--target-type", "regression")
    assert result.exit_code == 0, result.stderr
    got = read_csv(result.stdout_bytes)
    assert list(got.columns) == ["Predictions", "id", "why"]
    np.testing.assert_array_equal(got["Predictions"].to_numpy(), frame["x"].to_numpy() * 3)
    assert got["why"].tolist() == ["linear"] * 5


def test_user_prints_do_not_pollute_stdout(tmp_path):
    code_dir = hookmodels.score_returning(tmp_path / "m", """
        print("hello from score")
        return pd.DataFrame({"Predictions": data["x"]})
    """)
    hookmodels.x_frame(3).to_csv(tmp_path / "in.csv", index=False)
    result = run("score", "--code-dir", code_dir, "--input", tmp_path / "in.csv", "--target-type", "regression")
    assert result.exit_code == 0, result.stderr
    assert "hello from score" in result.stderr and b"hello" not in result.stdout_bytes
    assert read_csv(result.stdout_bytes).shape == (3, 1)


# ---- target types and labels --------------------------------------------------------------------------

def test_class_labels_drum_spelling(multi_no_meta, multiclass_model):
    result = run("score", "--code-dir", multi_no_meta, "--input", multiclass_model.csv, "--target-type", "multiclass",
                 "--class-labels", "high", "low", "mid")
    assert result.exit_code == 0, result.stderr
    got = read_csv(result.stdout_bytes)
    assert list(got.columns) == list(multiclass_model.model.classes_)
    np.testing.assert_array_equal(got.to_numpy(), multiclass_model.model.predict_proba(multiclass_model.features))


def test_positive_class_label_with_equals_sign(binary_no_meta, binary_model):
    result = run("score", "--code-dir", binary_no_meta, "--input", binary_model.csv, "--target-type=binary",
                 "--positive-class-label=YES", "--negative-class-label=No")
    assert result.exit_code == 0, result.stderr
    got = read_csv(result.stdout_bytes)
    assert list(got.columns) == ["No", "YES"]
    np.testing.assert_array_equal(got.to_numpy(), binary_model.model.predict_proba(binary_model.features))


def test_labels_and_code_dir_from_env(binary_no_meta, binary_model):
    env = {"CODE_DIR": str(binary_no_meta), "TARGET_TYPE": "binary", "POSITIVE_CLASS_LABEL": "yes",
           "NEGATIVE_CLASS_LABEL": "no"}
    result = run("score", "--input", binary_model.csv, env=env)
    assert result.exit_code == 0, result.stderr
    np.testing.assert_array_equal(read_csv(result.stdout_bytes).to_numpy(),
                                  binary_model.model.predict_proba(binary_model.features))


def test_class_labels_env_is_split_on_whitespace(multi_no_meta, multiclass_model):
    result = run("score", "--code-dir", multi_no_meta, "--input", multiclass_model.csv,
                 env={"TARGET_TYPE": "multiclass", "CLASS_LABELS": " mid\tlow  high\n"})
    assert result.exit_code == 0, result.stderr
    assert list(read_csv(result.stdout_bytes).columns) == ["high", "low", "mid"]


def test_class_labels_file_env_and_flag(multi_no_meta, multiclass_model, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("low\nmid\n\nhigh\n")
    for kwargs in ({"env": {"CLASS_LABELS_FILE": str(labels)}}, {"extra": ["--class-labels-file", labels]}):
        args = ["score", "--code-dir", multi_no_meta, "--input", multiclass_model.csv, "--target-type", "multiclass"]
        result = run(*args, *kwargs.get("extra", []), env=kwargs.get("env"))
        assert result.exit_code == 0, result.stderr
        got = read_csv(result.stdout_bytes)
        np.testing.assert_array_equal(got.to_numpy(), multiclass_model.model.predict_proba(multiclass_model.features))


def test_flag_beats_env(binary_no_meta, binary_model):
    env = {"TARGET_TYPE": "regression", "POSITIVE_CLASS_LABEL": "cat", "NEGATIVE_CLASS_LABEL": "dog"}
    result = run("score", "--code-dir", binary_no_meta, "--input", binary_model.csv, "--target-type", "binary",
                 "--positive-class-label", "yes", "--negative-class-label", "no", env=env)
    assert result.exit_code == 0, result.stderr
    assert list(read_csv(result.stdout_bytes).columns) == ["no", "yes"]


def test_labels_flag_beats_the_other_labels_env_var(multi_no_meta, multiclass_model, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("low\nmid\nhigh\n")
    args = ["score", "--code-dir", multi_no_meta, "--input", multiclass_model.csv, "--target-type", "multiclass"]
    for extra, env in ((["--class-labels", "high", "mid", "low"], {"CLASS_LABELS_FILE": str(labels)}),
                       (["--class-labels-file", labels], {"CLASS_LABELS": "cat dog"})):
        result = run(*args, *extra, env=env)
        assert result.exit_code == 0, result.stderr
        np.testing.assert_array_equal(read_csv(result.stdout_bytes).to_numpy(),
                                      multiclass_model.model.predict_proba(multiclass_model.features))
    result = run(*args, "--class-labels", "a", "b", "--class-labels-file", labels)
    assert_one_line_failure(result, 2, "but not both")


def test_env_conflicting_with_metadata_is_drums_message(binary_model):
    result = run("score", "--code-dir", binary_model.path, "--input", binary_model.csv,
                 env={"POSITIVE_CLASS_LABEL": "no", "NEGATIVE_CLASS_LABEL": "yes"})
    assert_one_line_failure(result, 1, "Positive/negative class labels provided with command arguments or environment "
                                       "variable don't match values from model config file.")
    result = run("score", "--code-dir", binary_model.path, "--input", binary_model.csv, "--target-type", "regression")
    assert_one_line_failure(result, 1, "doesn't match target type from model config file")


def test_env_agreeing_with_metadata_and_metadata_alone(multiclass_model):
    for env in ({"CLASS_LABELS": "high mid low"}, {}):
        result = run("score", "--code-dir", multiclass_model.path, "--input", multiclass_model.csv, env=env)
        assert result.exit_code == 0, result.stderr
        np.testing.assert_array_equal(read_csv(result.stdout_bytes).to_numpy(),
                                      multiclass_model.model.predict_proba(multiclass_model.features))


def test_metadata_class_labels_file_is_relative_to_code_dir(multi_no_meta, multiclass_model, tmp_path, monkeypatch):
    code_dir = tmp_path / "m"
    shutil.copytree(multi_no_meta, code_dir)
    (code_dir / "classes.txt").write_text("low\nmid\nhigh\n")
    (code_dir / "model-metadata.yaml").write_text(
        "name: m\ntype: inference\ntargetType: multiclass\ninferenceModel:\n  classLabelsFile: classes.txt\n")
    monkeypatch.chdir(tmp_path)
    result = run("score", "--code-dir", code_dir, "--input", multiclass_model.csv)
    assert result.exit_code == 0, result.stderr
    assert list(read_csv(result.stdout_bytes).columns) == list(multiclass_model.model.classes_)


@pytest.mark.parametrize("args, env, code, fragments", [
    (["--target-type", "multiclass", "--class-labels", "only"], {}, 2, ["Multiclass classification requires at least 2 labels."]),
    (["--target-type", "multiclass"], {"CLASS_LABELS": "only"}, 2, ["requires at least 2 labels"]),
    (["--target-type", "binary", "--positive-class-label", "yes"], {}, 2,
     ["both positive and negative class labels have to be provided"]),
    (["--target-type", "binary"], {}, 1, ["Positive/negative class labels are missing."]),
    (["--target-type", "multiclass"], {}, 1, ["Class labels are missing."]),
    ([], {}, 1, ["Target type is missing. It must be provided in --target-type argument, TARGET_TYPE env var or model config file."]),
    (["--target-type", "regresion"], {}, 2, ["Unknown target type 'regresion'", "did you mean 'regression'"]),
    ([], {"TARGET_TYPE": "clasification"}, 2, ["Unknown target type 'clasification'"]),
    (["--target-type", "multiclass", "--class-labels", "a", "b", "--class-labels-file", "x.txt"], {}, 2, ["but not both"]),
    (["--target-type", "regression", "--query", "a=1"], {}, 2,
     ["--query argument can be used only with --target-type unstructured"]),
    (["--target-type", "regression", "--content-type", "text/csv"], {}, 2, ["--content-type argument can be used only"]),
])
def test_label_and_flag_errors(binary_no_meta, binary_model, args, env, code, fragments):
    result = run("score", "--code-dir", binary_no_meta, "--input", binary_model.csv, *args, env=env)
    assert_one_line_failure(result, code, *fragments)


# ---- inputs --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".arrow", ".feather", ".parquet"])
def test_arrow_and_parquet_inputs(regression_model, tmp_path, suffix):
    table = pa.Table.from_pandas(regression_model.features, preserve_index=False)
    path = tmp_path / f"in{suffix}"
    if suffix == ".parquet":
        pq.write_table(table, path, row_group_size=70)  # several row groups
    else:
        pyarrow.feather.write_feather(table, path, chunksize=70)  # several record batches
    result = run("score", "--code-dir", regression_model.path, "--input", path)
    assert result.exit_code == 0, result.stderr
    got = read_csv(result.stdout_bytes)
    np.testing.assert_array_equal(got["Predictions"].to_numpy(), regression_model.model.predict(regression_model.features))


def test_sparse_mtx_with_column_file(tmp_path):
    code_dir = hookmodels.sparse_dir(tmp_path / "m")
    dense = np.array([[0, 1.5, 0], [2, 0, 0], [0, 0, 0.25], [0, 0, 0]])
    scipy.io.mmwrite(tmp_path / "in.mtx", scipy.sparse.coo_matrix(dense))
    (tmp_path / "cols.txt").write_text("a\nb\nc\n")
    result = run("score", "--code-dir", code_dir, "--input", tmp_path / "in.mtx", "--target-type", "regression",
                 "--sparse-column-file", tmp_path / "cols.txt")
    assert result.exit_code == 0, result.stderr
    np.testing.assert_array_equal(read_csv(result.stdout_bytes)["Predictions"].to_numpy(), dense @ np.array([1.0, 2, 3]))
    seen = json.loads((code_dir / "seen.json").read_text())
    assert seen == {"columns": ["a", "b", "c"], "sparse": True, "mimetype": "text/mtx", "sparse_colnames": ["a", "b", "c"]}


def test_read_input_data_gets_the_whole_file_bytes(tmp_path):
    code_dir = hookmodels.recording_dir(tmp_path / "m")
    frame = hookmodels.x_frame(9)
    frame.to_csv(tmp_path / "in.csv", index=False)
    result = run("score", "--code-dir", code_dir, "--input", tmp_path / "in.csv", "--target-type", "binary",
                 "--positive-class-label", "1", "--negative-class-label", "0")
    assert result.exit_code == 0, result.stderr
    calls = hookmodels.read_calls(code_dir)
    assert [c["hook"] for c in calls] == ["init", "load_model", "read_input_data", "transform", "score", "post_process"]
    assert calls[2]["size"] == (tmp_path / "in.csv").stat().st_size
    expected = hookmodels.expected_recording(frame, "binary", ["1", "0"])
    pd.testing.assert_frame_equal(read_csv(result.stdout_bytes), expected)


def test_header_only_csv_gives_header_only_output(regression_model, tmp_path):
    (tmp_path / "in.csv").write_text(",".join(regression_model.features.columns) + "\n")
    result = run("score", "--code-dir", regression_model.path, "--input", tmp_path / "in.csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.strip() == b"Predictions"


# ---- unstructured and transform --------------------------------------------------------------------------

def test_unstructured_default_content_type_and_query(tmp_path):
    code_dir = hookmodels.unstructured_dir(tmp_path / "u")
    data = Path(__file__).parent / "data" / "unstructured_data.txt"
    result = run("score", "--code-dir", code_dir, "--input", data, "--target-type", "unstructured",
                 "--query", "a=1&b=2&a=3")
    assert result.exit_code == 0, result.stderr
    seen = json.loads(result.stdout_bytes.decode("utf-8"))
    assert seen["data"] == data.read_text(encoding="utf-8") and seen["data_type"] == "str"
    assert seen["mimetype"] == "text/plain" and seen["charset"] == "utf8"
    assert seen["query"] == {"a": "3", "b": "2"} and seen["query_type"] == "dict"  # the last duplicate wins
    assert "headers" not in seen["keys"]


def test_unstructured_binary_content_type_and_output_file(tmp_path):
    code_dir = hookmodels.unstructured_dir(tmp_path / "u")
    (tmp_path / "in.bin").write_bytes(b"\x00\xffabc")
    out = tmp_path / "out.bin"
    result = run("score", "--code-dir", code_dir, "--input", tmp_path / "in.bin", "--target-type", "unstructured",
                 "--content-type", "application/octet-stream", "--query", "ret=bytes", "--output", out)
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == b"\x00\xffabc"
    result = run("score", "--code-dir", code_dir, "--input", tmp_path / "in.bin", "--target-type", "unstructured",
                 "--content-type", "application/octet-stream")
    seen = json.loads(result.stdout_bytes)
    assert seen["data_type"] == "bytes" and seen["data"] == "00ff616263" and seen["charset"] is None


def test_unstructured_none_is_drums_text(tmp_path):
    code_dir = hookmodels.unstructured_dir(tmp_path / "u")
    (tmp_path / "in.txt").write_text("x")
    result = run("score", "--code-dir", code_dir, "--input", tmp_path / "in.txt", "--target-type", "unstructured",
                 "--query", "ret=none")
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == b"Return value from prediction is: None (NULL in R)"


def test_transform_output(tmp_path):
    code_dir = hookmodels.transform_dir(tmp_path / "t")
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, -2.0], "s": ["x", "y", "z"]})
    frame.to_csv(tmp_path / "in.csv", index=False)
    result = run("score", "--code-dir", code_dir, "--input", tmp_path / "in.csv", "--target-type", "transform")
    assert result.exit_code == 0, result.stderr
    pd.testing.assert_frame_equal(read_csv(result.stdout_bytes), hookmodels.expected_transform(frame))


# ---- runtime parameters -------------------------------------------------------------------------------

RP_ENV = {"MLOPS_RUNTIME_PARAM_SCALE": None, "MLOPS_RUNTIME_PARAM_LABEL": None}


def test_runtime_params_file(tmp_path):
    code_dir = hookmodels.runtime_params_dir(tmp_path / "m")
    frame = hookmodels.x_frame(4)
    frame.to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "values.yaml").write_text("SCALE: 2.5\n")
    result = run("score", "--code-dir", code_dir, "--input", tmp_path / "in.csv",
                 "--runtime-params-file", tmp_path / "values.yaml", env=RP_ENV)
    assert result.exit_code == 0, result.stderr
    got = read_csv(result.stdout_bytes)
    np.testing.assert_array_equal(got["Predictions"].to_numpy(), frame["x"].to_numpy() * 2.5)
    assert got["label"].tolist() == ["plain"] * 4  # the definition's default
    assert "MLOPS_RUNTIME_PARAM_SCALE" not in os.environ


def test_runtime_params_out_of_range_and_env_only(tmp_path):
    code_dir = hookmodels.runtime_params_dir(tmp_path / "m")
    hookmodels.x_frame(2).to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "values.yaml").write_text("SCALE: 11\n")
    result = run("score", "--code-dir", code_dir, "--input", tmp_path / "in.csv",
                 "--runtime-params-file", tmp_path / "values.yaml", env=RP_ENV)
    assert_one_line_failure(result, 1, "Failed to load runtime parameter 'SCALE'", "greater than 10")
    env = {"MLOPS_RUNTIME_PARAM_SCALE": '{"type": "numeric", "payload": 3}',
           "MLOPS_RUNTIME_PARAM_LABEL": '{"type": "string", "payload": "env"}'}
    result = run("score", "--code-dir", code_dir, "--input", tmp_path / "in.csv", env=env)
    assert result.exit_code == 0, result.stderr
    assert read_csv(result.stdout_bytes)["label"].tolist() == ["env", "env"]


def test_runtime_parameters_public_api(monkeypatch):
    from drumkit import RuntimeParameters

    monkeypatch.setenv("MLOPS_RUNTIME_PARAM_ZED", '{"type": "string", "payload": "z"}')
    assert RuntimeParameters.get("ZED") == "z" and RuntimeParameters.has("ZED")
    with pytest.raises(ValueError, match="Runtime parameter 'NOPE_X' does not exist!"):
        RuntimeParameters.get("NOPE_X")


# ---- failures -------------------------------------------------------------------------------------------

BAD_METADATA = {
    "syntax": ("name: m\ntargetType: [regression\n", "model-metadata.yaml, line 3: not valid YAML"),
    "unknown_key": ("name: m\ntype: inference\ntargetType: regression\nfoo: 1\n", "unexpected key not in schema 'foo'"),
    "bad_target_type": ("name: m\ntype: inference\ntargetType: regresion\n", "target type 'regresion' is not one of"),
}


@pytest.mark.parametrize("case", sorted(BAD_METADATA))
def test_bad_metadata_fails_cleanly(regression_model, tmp_path, case):
    text, fragment = BAD_METADATA[case]
    code_dir = tmp_path / "m"
    code_dir.mkdir()
    shutil.copy(regression_model.path / "model.pkl", code_dir / "model.pkl")
    (code_dir / "model-metadata.yaml").write_text(text)
    out = tmp_path / "out.csv"
    result = run("score", "--code-dir", code_dir, "--input", regression_model.csv, "--output", out)
    assert_one_line_failure(result, 1, fragment)
    assert no_leftovers(tmp_path, "out") == []


FAILING_SCORES = {
    "hook_raises": ('raise ValueError("bad row 3")', "Model 'score' hook failed to make predictions. Exception: ValueError('bad row 3')"),
    "fails_check": ('return pd.DataFrame({"yes": data["x"] * 0 + 0.5, "no": data["x"] * 0 + 0.7})', "do not add up to 1"),
    "fewer_rows": ('return pd.DataFrame({"yes": [0.5], "no": [0.5]})', "prediction rows for"),
}


@pytest.mark.parametrize("case", sorted(FAILING_SCORES))
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_failing_model_leaves_no_output(tmp_path, case, suffix):
    body, fragment = FAILING_SCORES[case]
    code_dir = hookmodels.score_returning(tmp_path / "m", body)
    hookmodels.x_frame(4).to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / f"out{suffix}"
    result = run("score", "--code-dir", code_dir, "--input", tmp_path / "in.csv", "--output", out,
                 "--target-type", "binary", "--positive-class-label", "yes", "--negative-class-label", "no")
    assert_one_line_failure(result, 1, fragment)
    assert no_leftovers(tmp_path, "out") == []


def test_show_stacktrace_prints_the_traceback(tmp_path):
    code_dir = hookmodels.score_returning(tmp_path / "m", 'raise ValueError("deep problem")')
    hookmodels.x_frame(2).to_csv(tmp_path / "in.csv", index=False)
    args = ["score", "--code-dir", code_dir, "--input", tmp_path / "in.csv", "--target-type", "regression"]
    result = run(*args, "--show-stacktrace")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "deep problem" in result.stderr
    result = run(*args, env={"SHOW_STACKTRACE": "1"})
    assert "Traceback" in result.stderr


@pytest.mark.parametrize("case", ["missing_code_dir", "missing_input", "garbled_input", "empty_input", "syntax_error",
                                  "import_error", "no_artifact", "two_artifacts", "load_model_none", "output_folder"])
def test_failures_are_one_line(regression_model, tmp_path, case):
    code_dir, data, out = regression_model.path, regression_model.csv, tmp_path / "out.csv"
    expected = {
        "missing_code_dir": (2, "is not a directory"),
        "missing_input": (2, "does not exist"),
        "garbled_input": (1, "Could not parse the CSV input"),
        "empty_input": (1, "empty"),
        "syntax_error": (1, "Failed loading hooks from"),
        "import_error": (1, "No module named 'not_a_module_xyz'"),
        "no_artifact": (1, "Could not find model artifact file in:"),
        "two_artifacts": (1, "Multiple serialized model files found."),
        "load_model_none": (1, "'load_model' hook failed to load model, None is returned."),
        "output_folder": (2, "does not exist"),
    }[case]
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    if case == "missing_code_dir":
        code_dir = tmp_path / "nope"
    elif case == "missing_input":
        data = tmp_path / "nope.csv"
    elif case == "garbled_input":
        data = tmp_path / "garbled.csv"
        data.write_bytes(b"num0,num1\n1,2\n\x01\x02,3,4,5\n")
    elif case == "empty_input":
        data = tmp_path / "empty.csv"
        data.write_bytes(b"")
    elif case == "output_folder":
        out = tmp_path / "no" / "such" / "out.csv"
    else:
        code_dir = model_dir
        if case in ("syntax_error", "import_error", "load_model_none"):
            source = {"syntax_error": "def score(:\n", "import_error": "import not_a_module_xyz\n",
                      "load_model_none": "def load_model(code_dir):\n    return None\n"}[case]
            (model_dir / "custom.py").write_text(source)
        elif case == "two_artifacts":
            shutil.copy(regression_model.path / "model.pkl", model_dir / "a.pkl")
            shutil.copy(regression_model.path / "model.pkl", model_dir / "b.pkl")
        (model_dir / "model-metadata.yaml").write_text("name: m\ntype: inference\ntargetType: regression\n")
    result = run("score", "--code-dir", code_dir, "--input", data, "--output", out)
    assert_one_line_failure(result, *expected)
    assert not out.exists() and no_leftovers(tmp_path, ".part") == []


# ---- true process boundary -------------------------------------------------------------------------------

def drumkit(*args, env=None):
    full_env = {k: v for k, v in os.environ.items() if k not in LABEL_ENV}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "drumkit", *map(str, args)], capture_output=True, env=full_env,
                          timeout=120)


def test_subprocess_failure_is_one_stderr_line_and_exit_1(tmp_path):
    code_dir = hookmodels.score_returning(tmp_path / "m", 'raise ValueError("bad row 3")')
    hookmodels.x_frame(3).to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.csv"
    proc = drumkit("score", "--code-dir", code_dir, "--input", tmp_path / "in.csv", "--target-type", "regression",
                   "--output", out)
    assert proc.returncode == 1
    stderr = proc.stderr.decode()
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: Model 'score' hook failed to make predictions. Exception: ValueError('bad row 3')")
    assert proc.stdout == b"" and not out.exists() and no_leftovers(tmp_path, ".part") == []


def test_subprocess_usage_error_exit_2_and_stdout_csv(tmp_path):
    code_dir = hookmodels.score_returning(tmp_path / "m", 'return pd.DataFrame({"Predictions": data["x"] / 7})')
    frame = hookmodels.x_frame(50)
    frame.to_csv(tmp_path / "in.csv", index=False)
    proc = drumkit("score", "--code-dir", code_dir, "--input", tmp_path / "in.csv", "--positive-class-label", "yes")
    assert proc.returncode == 2 and b"both positive and negative" in proc.stderr and b"Traceback" not in proc.stderr
    proc = drumkit("score", "--code-dir", code_dir, "--input", tmp_path / "in.csv", env={"TARGET_TYPE": "regression"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"Predictions\n")  # CSV, not a DataFrame repr
    np.testing.assert_array_equal(read_csv(proc.stdout)["Predictions"].to_numpy(), frame["x"].to_numpy() / 7)


def test_unstructured_stdout_ends_its_line_on_a_terminal_only(tmp_path):
    from drumkit.commands.environment import Environment, use

    code_dir = tmp_path / "echo"
    code_dir.mkdir()
    (code_dir / "custom.py").write_text("def score_unstructured(model, data, **kwargs):\n    return data.upper()\n")
    (tmp_path / "in.txt").write_text("no newline")
    args = ("score", "--code-dir", code_dir, "--input", tmp_path / "in.txt", "--target-type", "unstructured")
    assert run(*args).stdout_bytes == b"NO NEWLINE"  # a pipe or file gets the model's bytes exactly
    with use(Environment(stdout_isatty=True, stderr_isatty=False)):
        assert run(*args).stdout_bytes == b"NO NEWLINE\n"


@pytest.mark.parametrize("lookup", ['data["a"]', "data.a"])
def test_unnamed_mtx_in_a_hook_that_looks_up_names_points_at_the_column_file(tmp_path, lookup):
    code_dir = tmp_path / "by_name"
    code_dir.mkdir()
    (code_dir / "custom.py").write_text(
        "import pandas as pd\n"
        "def load_model(code_dir):\n    return 'model'\n"
        f"def score(data, model, **kwargs):\n    return pd.DataFrame({{'Predictions': {lookup} * 1.0}})\n")
    scipy.io.mmwrite(tmp_path / "in.mtx", scipy.sparse.coo_matrix(np.array([[1.0, 0.0], [0.0, 2.0]])))
    result = run("score", "--code-dir", code_dir, "--input", tmp_path / "in.mtx", "--target-type", "regression")
    assert_one_line_failure(result, 1, "the sparse input has no column names", "--sparse-column-file for score")


def test_missing_binary_labels_suggest_the_models_classes(binary_no_meta, binary_model):
    result = run("score", "--code-dir", binary_no_meta, "--input", binary_model.csv, "--target-type", "binary")
    suggestion = "--positive-class-label yes --negative-class-label no"
    assert_one_line_failure(result, 1, "Positive/negative class labels are missing.",
                            f"The model's classes_ are ['no', 'yes']; for example: {suggestion}")
    fixed = run("score", "--code-dir", binary_no_meta, "--input", binary_model.csv, "--target-type", "binary",
                *suggestion.split())
    assert fixed.exit_code == 0, fixed.stderr
    expected = binary_model.model.predict_proba(binary_model.features)[:, 1]
    np.testing.assert_allclose(read_csv(fixed.stdout_bytes)["yes"].to_numpy(), expected)


def test_progress_bar_only_on_a_terminal_at_its_width(regression_model):
    from drumkit.commands.environment import Environment, use

    for isatty in (True, False):
        stderr = io.StringIO()
        with use(Environment(stderr=stderr, stderr_isatty=isatty, stdout_isatty=False, width=60)):
            result = run("score", "--code-dir", regression_model.path, "--input", regression_model.csv)
        assert result.exit_code == 0, result.stderr
        assert len(read_csv(result.stdout_bytes)) == len(regression_model.features)
        drawn = stderr.getvalue()
        if isatty:
            assert f"scoring {regression_model.csv.name}" in drawn
            # rich redraws the bar in place; every drawn line fits the environment's width.
            plain = [line for line in drawn.replace("\r", "\n").splitlines() if "scoring" in line]
            assert plain and all(len(_strip_ansi(line)) <= 60 for line in plain)
        else:
            assert drawn == ""


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
