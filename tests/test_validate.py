"""`drumkit validate`: model checks in one process, the Report, exit codes, --json and --keep-failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from drumkit.predictor.predictor import Predictor
from drumkit.predictor.settings import ModelSettings
from drumkit.validate.model_checks import Limits
from drumkit.validate.runner import ValidationJob, run_validation
from tests.modelzoo import write

REGRESSION_META = "name: m\ntype: inference\ntargetType: regression\nvalidation:\n  input: data.csv\n"

HOOK_MODELS = {
    # Breaks when `a` or `c` is entirely missing; copes with `b`.
    "nulls": """
        import pandas as pd

        def load_model(code_dir):
            return "m"

        def score(data, model, **kwargs):
            for column in ("a", "c"):
                if data[column].isna().all():
                    raise ValueError(f"feature {column} has no values")
            return pd.DataFrame({"Predictions": data["a"] * 2.0 + data["c"].astype(float)})
    """,
    "random": """
        import numpy as np
        import pandas as pd

        def load_model(code_dir):
            return np.random.default_rng()

        def score(data, model, **kwargs):
            return pd.DataFrame({"Predictions": model.normal(size=len(data))})
    """,
    "drops_row": """
        import pandas as pd

        def load_model(code_dir):
            return "m"

        def score(data, model, **kwargs):
            return pd.DataFrame({"Predictions": data["a"].to_numpy()[:-1]})
    """,
    "batch_dependent": """
        import pandas as pd

        def load_model(code_dir):
            return "m"

        def score(data, model, **kwargs):
            centred = data["a"] - data["a"].mean()
            return pd.DataFrame({"Predictions": centred.to_numpy(dtype=float)})
    """,
    "broken_load": """
        def load_model(code_dir):
            raise RuntimeError("the weights are missing")
    """,
    "good": """
        import pandas as pd

        def load_model(code_dir):
            return 3.0

        def score(data, model, **kwargs):
            return pd.DataFrame({"Predictions": data["a"].fillna(0) * model + data["b"].fillna(1)})
    """,
}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Hook-only regression code dirs sharing one small CSV."""
    root = tmp_path_factory.mktemp("validate_models")
    frame = pd.DataFrame({"a": np.arange(30, dtype=float), "b": np.linspace(0, 1, 30),
                          "c": np.arange(30) % 4})
    dirs = {}
    for name, source in HOOK_MODELS.items():
        path = root / name
        path.mkdir()
        write(path, "custom.py", source)
        (path / "model-metadata.yaml").write_text(REGRESSION_META)
        frame.to_csv(path / "data.csv", index=False)
        dirs[name] = path
    return dirs


def validate(path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drumkit", "validate", str(path), *args], capture_output=True,
                          text=True, timeout=180, env=env)


def check(report, name: str):
    return next(c for c in report.checks if c.name == name)


def run(path: Path, **kwargs):
    return run_validation(ValidationJob(settings=ModelSettings(code_dir=path), **kwargs))


def test_sklearn_models_pass_every_check(regression_model, binary_model, multiclass_model):
    for zoo in (regression_model, binary_model, multiclass_model):
        report = run(zoo.path, input=zoo.csv)
        statuses = {c.name: c.status.value for c in report.checks}
        assert report.exit_code == 0, report.to_dict()
        assert statuses["Basic batch prediction"] == statuses["Null value imputation"] == "PASSED"
        assert statuses["Deterministic predictions"] == statuses["Row by row equals batch"] == "PASSED"
        assert check(report, "Row count kept").details == f"{len(zoo.features)} rows in, {len(zoo.features)} out"


def test_null_imputation_names_every_feature_that_broke(models):
    report = run(models["nulls"])
    result = check(report, "Null value imputation")
    assert result.status.value == "FAILED"
    assert [item["feature"] for item in result.items] == ["a", "c"]
    assert "feature a has no values" in result.items[0]["message"]
    assert all(item["dataset"] is None for item in result.items)  # nothing written without --keep-failures
    assert check(report, "Basic batch prediction").status.value == "PASSED"
    assert report.exit_code == 1


def test_nondeterministic_model_fails_determinism(models):
    report = run(models["random"])
    result = check(report, "Deterministic predictions")
    assert result.status.value == "FAILED"
    assert result.items and result.items[0]["first"] != result.items[0]["second"]
    assert report.exit_code == 1


def test_model_that_drops_a_row_fails_row_count(models):
    report = run(models["drops_row"])
    assert check(report, "Row count kept").status.value == "FAILED"
    assert "29 prediction rows for 30 input rows" in check(report, "Row count kept").details
    assert check(report, "Basic batch prediction").status.value == "FAILED"
    assert report.exit_code == 1


def test_batch_dependent_model_fails_row_by_row_but_is_deterministic(models):
    report = run(models["batch_dependent"])
    assert check(report, "Deterministic predictions").status.value == "PASSED"
    result = check(report, "Row by row equals batch")
    assert result.status.value == "FAILED"
    # Scored alone, each row's centred value is 0; in the batch it is a - mean(a).
    frame = pd.read_csv(models["batch_dependent"] / "data.csv")
    first = result.items[0]
    assert first["second"] == 0.0
    assert first["first"] == pytest.approx(frame["a"][first["row"]] - frame["a"].mean())


def test_model_that_fails_to_load_is_reported_and_data_checks_skipped(models):
    report = run(models["broken_load"])
    assert check(report, "Model load").status.value == "FAILED"
    assert "the weights are missing" in check(report, "Model load").details
    assert check(report, "Null value imputation").status.value == "SKIPPED"
    assert report.exit_code == 1


def test_input_requirements_are_checked_against_the_input(models, tmp_path):
    path = tmp_path / "schema"
    path.mkdir()
    (path / "custom.py").write_text((models["good"] / "custom.py").read_text())
    pd.DataFrame({"a": [1.0, np.nan], "b": [2.0, 3.0], "name": ["x", "y"]}).to_csv(path / "data.csv", index=False)
    (path / "model-metadata.yaml").write_text(
        REGRESSION_META + "typeSchema:\n  input_requirements:\n"
        "    - field: number_of_columns\n      condition: EQUALS\n      value: 4\n"
        "    - field: data_types\n      condition: EQUALS\n      value: NUM\n"
        "    - field: contains_missing\n      condition: EQUALS\n      value: FORBIDDEN\n")
    result = check(run(path), "Input meets typeSchema")
    assert result.status.value == "FAILED"
    messages = [item["message"] for item in result.items]
    assert len(messages) == 3
    assert messages[0].startswith("Incorrect number of columns. 3 received")
    assert "Data has types: CAT, NUM" in messages[1] and "CAT: name" in messages[1]
    assert "missing values" in messages[2] and "columns: a" in messages[2]


def test_runtime_checks_scale_to_the_limits(models):
    report = run_validation(ValidationJob(settings=ModelSettings(code_dir=models["good"]),
                                          limits=Limits(null_rows=5, sample_rows=7, single_rows=3)))
    assert report.exit_code == 0
    assert "5 rows each" in check(report, "Null value imputation").details
    assert check(report, "Deterministic predictions").details.startswith("7 rows")
    assert check(report, "Row by row equals batch").details.startswith("3 rows")


def test_transform_model_is_checked_through_transform(tmp_path):
    path = tmp_path / "transform"
    path.mkdir()
    write(path, "custom.py", """
        def load_model(code_dir):
            return 10.0

        def transform(data, model):
            return data.fillna(0) * model
    """)
    (path / "model-metadata.yaml").write_text("name: t\ntype: inference\ntargetType: transform\n")
    pd.DataFrame({"x": [1.0, 2.0, np.nan], "y": [3, 4, 5]}).to_csv(path / "in.csv", index=False)
    report = run(path, input=path / "in.csv")
    assert report.target_type == "transform"
    assert report.exit_code == 0, report.to_dict()
    assert check(report, "Null value imputation").status.value == "PASSED"


def test_unstructured_basic_check_runs_through_score_unstructured(tmp_path):
    path = tmp_path / "unstructured"
    path.mkdir()
    write(path, "custom.py", """
        def score_unstructured(model, data, **kwargs):
            if "boom" in data:
                raise ValueError("cannot handle boom")
            return data.upper()
    """)
    (path / "model-metadata.yaml").write_text("name: u\ntype: inference\ntargetType: unstructured\n")
    (path / "ok.txt").write_text("hello")
    (path / "bad.txt").write_text("boom")
    good = run(path, input=path / "ok.txt")
    assert check(good, "Basic batch prediction").status.value == "PASSED"
    assert "5 bytes" in check(good, "Basic batch prediction").details
    bad = run(path, input=path / "bad.txt")
    assert check(bad, "Basic batch prediction").status.value == "FAILED"
    assert "cannot handle boom" in check(bad, "Basic batch prediction").details
    assert bad.exit_code == 1


def test_cli_json_exit_code_and_keep_failures(models, tmp_path):
    keep = tmp_path / "kept"
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    out = validate(models["nulls"], "--json", "--keep-failures", str(keep), env=env)
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    nulls = next(c for c in report["checks"] if c["check"] == "Null value imputation")
    assert nulls["status"] == "FAILED"
    kept = sorted(p.name for p in keep.iterdir())
    assert kept == ["null_value_imputation_a.csv", "null_value_imputation_c.csv"]
    dataset = pd.read_csv(keep / "null_value_imputation_a.csv")
    assert dataset["a"].isna().all() and dataset["b"].notna().all()
    # The kept dataset really breaks the model, scored in-process.
    predictor = Predictor.from_settings(ModelSettings(code_dir=models["nulls"]))
    with pytest.raises(Exception, match="feature a has no values"):
        predictor.predict(dataset)
    assert list(scratch.iterdir()) == []  # nothing left in temp folders


def test_cli_passing_model_exits_0_with_table_and_drum_alias(models):
    out = validate(models["good"])
    assert out.returncode == 0, out.stderr
    assert "All checks passed." in out.stdout and "Null value imputation" in out.stdout
    alias = subprocess.run([sys.executable, "-m", "drumkit", "validation", "--code-dir", str(models["good"]),
                            "--input", str(models["good"] / "data.csv"), "--json"],
                           capture_output=True, text=True, timeout=180)
    assert alias.returncode == 0 and json.loads(alias.stdout)["passed"] is True


def test_cli_failing_model_exits_1_and_table_names_features(models):
    out = validate(models["nulls"], env={**os.environ, "COLUMNS": "200"})
    assert out.returncode == 1
    assert "FAILED" in out.stdout and "feature c has no values" in out.stdout
    assert "Traceback" not in out.stderr


def test_cli_bad_flags_are_one_line_usage_errors(models, tmp_path):
    missing = validate(models["good"], "--input", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    both = validate(models["good"], "--code-dir", str(models["nulls"]))
    assert both.returncode == 2 and "Give the code dir once" in both.stderr
    env = validate(models["good"], "--json", env={**os.environ, "CODE_DIR": str(models["nulls"])})
    assert env.returncode == 0 and json.loads(env.stdout)["code_dir"] == str(models["good"].resolve())


def test_without_any_input_only_metadata_and_load_run(models, tmp_path):
    path = tmp_path / "no_input"
    path.mkdir()
    (path / "custom.py").write_text((models["good"] / "custom.py").read_text())
    (path / "model-metadata.yaml").write_text("name: m\ntype: inference\ntargetType: regression\n")
    report = run(path)
    statuses = {c.name: c.status.value for c in report.checks}
    assert statuses.pop("Model metadata") == statuses.pop("Model load") == "PASSED"
    assert set(statuses.values()) == {"SKIPPED"}
    assert "no --input and no validation.input" in check(report, "Null value imputation").details
    assert report.exit_code == 0


def run_in_process(*args: str, width: int = 80) -> tuple[int, str, str]:
    """`drumkit ARGS` in this process against string streams at a fixed width: (exit code, stdout, stderr)."""
    import io

    from drumkit.cli import main
    from drumkit.commands.environment import Environment, use

    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), stdout_isatty=False, stderr_isatty=False,
                      width=width)
    with use(env), pytest.raises(SystemExit) as exited:
        main(list(args))
    return exited.value.code, env.stdout.getvalue(), env.stderr.getvalue()


def test_report_reads_at_80_columns_with_one_problem_per_line(tmp_path):
    write(tmp_path, "custom.py", HOOK_MODELS["nulls"])
    (tmp_path / "model-metadata.yaml").write_text("name: m\ntype: inference\ntargetType: bogus\n")
    code, out, _ = run_in_process("validate", str(tmp_path))
    assert code == 1
    lines = out.splitlines()
    # The title keeps the folder's path whole; every other line fits, without trailing padding.
    assert lines[0] == f"Validation checks: {tmp_path.resolve()}"
    assert max(map(len, lines[1:])) <= 80 and all(line == line.rstrip() for line in lines)
    assert lines[1] == "FAILED  Model metadata: 1 error(s), 0 warning(s) in model-metadata.yaml"
    assert lines[2] == "          - line 3, targetType: target type 'bogus' is not one of regression,"
    # The targetType problem is listed once: the load check points back at the metadata instead of repeating it.
    assert out.count("'bogus'") == 1
    assert "SKIPPED Model load: the model cannot load until model-metadata.yaml is fixed" in lines
    assert lines[-1] == "1 check(s) failed."


def test_report_lists_failed_rows_one_a_line(models):
    code, out, _ = run_in_process("validate", str(models["nulls"]), "--input", str(models["nulls"] / "data.csv"))
    assert code == 1
    assert "FAILED  Null value imputation: 2 of 3 features broke the model when missing" in out
    lines = out.splitlines()
    first = lines.index("          - feature=a: Model 'score' hook failed to make predictions. Exception:")
    assert lines[first + 1].strip() == "ValueError('feature a has no values')"
    assert lines[first + 2].startswith("          - feature=c: ")
