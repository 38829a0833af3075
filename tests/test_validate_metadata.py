"""model-metadata.yaml schema checks: one broken file per rule, each named by key path and line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from drumkit.predictor.metadata_schema import check_metadata_text

GOOD_BINARY = """\
name: churn
type: inference
targetType: binary
inferenceModel:
  targetName: churned
  positiveClassLabel: yes
  negativeClassLabel: no
  predictionThreshold: 0.5
validation:
  input: data.csv
typeSchema:
  input_requirements:
    - field: data_types
      condition: IN
      value:
        - NUM
        - CAT
    - field: number_of_columns
      condition: NOT_LESS_THAN
      value: 2
    - field: sparse
      condition: EQUALS
      value: FORBIDDEN
runtimeParameterDefinitions:
  - fieldName: THRESHOLD
    type: numeric
    defaultValue: 3
    minValue: 0
    maxValue: 10
  - fieldName: MODE
    type: string
    defaultValue: fast
hyperparameters:
  - name: alpha
    type: float
    min: 0
    max: 1
    default: 0.5
  - name: solver
    type: select
    values:
      - lbfgs
      - saga
    default: saga
"""


def errors(text: str, code_dir=None):
    return [p for p in check_metadata_text(textwrap.dedent(text), code_dir) if p.severity == "error"]


def test_a_complete_valid_file_has_no_errors(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    assert errors(GOOD_BINARY, tmp_path) == []


# (file text, key path, line, words in the message)
BROKEN = [
    ("name: a\ntype: inference\ntargetType: regresion\n", "targetType", 3, "did you mean 'regression'?"),
    ("name: a\ntype: inference\ntargetType: Binary\n", "targetType", 3, "did you mean 'binary'?"),
    ("name: a\ntype: inference\ntargetType: regression\ninferenceModle:\n  targetName: y\n",
     "inferenceModle", 4, "did you mean 'inferenceModel'?"),
    ("type: inference\ntargetType: regression\n", "", 1, "required key(s) 'name' not found"),
    ("description: d\n", "", 1, "required key(s) 'name', 'targetType', 'type' not found"),
    ("name: a\ntype: inference\ntargetType: binary\ninferenceModel:\n  positiveClassLabel: yes\n",
     "inferenceModel", 4, "Missing keys: ['negativeClassLabel']"),
    ("name: a\ntype: inference\ntargetType: binary\ninferenceModel:\n  positiveClassLabel: a\n"
     "  negativeClassLabel: a\n", "inferenceModel.negativeClassLabel", 6, "are the same"),
    ("name: a\ntype: inference\ntargetType: multiclass\ninferenceModel:\n  targetName: y\n",
     "inferenceModel", 4, "must be provided in model-metadata.yaml file"),
    ("name: a\ntype: inference\ntargetType: multiclass\ninferenceModel:\n  classLabels:\n    - a\n    - b\n"
     "  classLabelsFile: labels.txt\n", "inferenceModel", 4, "but not both"),
    ("name: a\ntype: inference\ntargetType: multiclass\ninferenceModel:\n  classLabels:\n    - a\n",
     "inferenceModel.classLabels", 6, "at least 2 labels"),
    ("name: a\ntype: inference\ntargetType: multiclass\ninferenceModel:\n  classLabels:\n    - a\n    - a\n",
     "inferenceModel.classLabels[1]", 7, "duplicate class label 'a'"),
    ("name: a\ntype: inference\ntargetType: multiclass\ninferenceModel:\n  classLabels: [a, b]\n",
     "inferenceModel.classLabels", 5, "flow style"),
    ("name: a\ntype: inference\ntargetType: binary\ninferenceModel:\n  positiveClassLabel: y\n"
     "  negativeClassLabel: n\n  predictionThreshold: 1.5\n", "inferenceModel.predictionThreshold", 7,
     "between 0 and 1"),
    ("name: a\ntype: inference\ntargetType: regression\nmajorVersion: maybe\n", "majorVersion", 4, "not a boolean"),
    ("name: a\ntype: inference\ntargetType: regression\nname: b\n", "name", 4, "duplicate key"),
    ("name: a\ntype: inference\ntargetType: regression\nvalidation:\n  input: missing.csv\n",
     "validation.input", 5, "does not exist"),
    ("name: a\ntype: inference\ntargetType: regression\nvalidation:\n  targetName: y\n",
     "validation", 4, "required key(s) 'input' not found"),
    ("name: a\ntype: inference\ntargetType: regression\ntypeSchema:\n  input_requirement:\n    - field: sparse\n",
     "typeSchema.input_requirement", 5, "did you mean 'input_requirements'?"),
    ("name: a\ntype: inference\ntargetType: regression\ntypeSchema:\n  input_requirements:\n"
     "    - field: data_type\n      condition: IN\n      value: NUM\n",
     "typeSchema.input_requirements[0].field", 6, "did you mean 'data_types'?"),
    ("name: a\ntype: inference\ntargetType: regression\ntypeSchema:\n  input_requirements:\n"
     "    - field: sparse\n      condition: IN\n      value: FORBIDDEN\n",
     "typeSchema.input_requirements[0].condition", 7, "is not one of EQUALS"),
    ("name: a\ntype: inference\ntargetType: regression\ntypeSchema:\n  input_requirements:\n"
     "    - field: sparse\n      condition: EQUALS\n      value: NEVER\n",
     "typeSchema.input_requirements[0].value", 8, "FORBIDDEN, SUPPORTED, REQUIRED"),
    ("name: a\ntype: inference\ntargetType: regression\ntypeSchema:\n  input_requirements:\n"
     "    - field: data_types\n      condition: EQUALS\n      value:\n        - NUM\n        - TEXT\n",
     "typeSchema.input_requirements[0].value[1]", 10, "did you mean 'TXT'?"),
    ("name: a\ntype: inference\ntargetType: regression\ntypeSchema:\n  input_requirements:\n"
     "    - field: number_of_columns\n      condition: EQUALS\n      value: 0\n",
     "typeSchema.input_requirements[0].value", 8, "0 is not supported for EQUALS"),
    ("name: a\ntype: inference\ntargetType: regression\ntypeSchema:\n  input_requirements:\n"
     "    - field: number_of_columns\n      condition: LESS_THAN\n      value:\n        - 3\n        - 4\n",
     "typeSchema.input_requirements[0].value", 9, "only accepts a single value"),
    ("name: a\ntype: inference\ntargetType: regression\ntypeSchema:\n  input_requirements:\n"
     "    - field: number_of_columns\n      condition: EQUALS\n      value: three\n",
     "typeSchema.input_requirements[0].value", 8, "not an integer"),
    ("name: a\ntype: inference\ntargetType: regression\ntypeSchema:\n  input_requirements:\n"
     "    - field: sparse\n      condition: EQUALS\n      value: FORBIDDEN\n"
     "    - field: sparse\n      condition: EQUALS\n      value: SUPPORTED\n",
     "typeSchema.input_requirements[1].field", 9, "only one entry per field"),
    ("name: a\ntype: inference\ntargetType: regression\nruntimeParameterDefinitions:\n"
     "  - fieldName: P\n    type: strng\n", "runtimeParameterDefinitions[0].type", 6, "did you mean 'string'?"),
    ("name: a\ntype: inference\ntargetType: regression\nruntimeParameterDefinitions:\n"
     "  - fieldName: P\n    type: string\n  - fieldName: P\n    type: string\n",
     "runtimeParameterDefinitions[1].fieldName", 7, "duplicated definition"),
    ("name: a\ntype: inference\ntargetType: regression\nruntimeParameterDefinitions:\n"
     "  - fieldName: N\n    type: numeric\n    defaultValue: 20\n    maxValue: 10\n",
     "runtimeParameterDefinitions[0].defaultValue", 7, "greater than maxValue 10"),
    ("name: a\ntype: inference\ntargetType: regression\nruntimeParameterDefinitions:\n"
     "  - type: numeric\n", "runtimeParameterDefinitions[0]", 5, "required key(s) 'fieldName' not found"),
    ("name: a\ntype: inference\ntargetType: regression\nhyperparameters:\n"
     "  - name: alpha\n    type: int\n    min: 5\n    max: 1\n", "hyperparameters[0].min", 7, "must be less than max"),
    ("name: a\ntype: inference\ntargetType: regression\nhyperparameters:\n"
     "  - name: bad-name\n    type: string\n", "hyperparameters[0].name", 5, "letters and underscores"),
    ("name: a\ntype: inference\ntargetType: regression\nhyperparameters:\n"
     "  - name: solver\n    type: select\n    values:\n      - a\n    default: b\n",
     "hyperparameters[0].default", 9, "not one of the values"),
    ("name: a\ntype: inference\ntargetType: regression\nuserCredentialSpecifications:\n"
     "  - key: K\n", "userCredentialSpecifications[0]", 5, "required key(s) 'valueFrom' not found"),
    ("name: a\ntype: inference\ntargetType: regression\ninputSchema:\n  type: array\n  properties:\n"
     "    x: 1\n", "inputSchema.type", 5, "only 'object'"),
    ("name: a\ntype: inference\ntargetType: regression\ninputSchema:\n  type: object\n  properties:\n"
     "    x: 1\n  required:\n    - y\n", "inputSchema.required[0]", 9, "not a property"),
    ("name: a\ntype: inference\ntargetType: regression\ndescription:\n  - a list\n", "description", 5,
     "must be a single value"),
    ("name: a\n  type: [\n", "", 2, "not valid YAML"),
    ("", "", None, "appears to be empty"),
]


@pytest.mark.parametrize("text, path, line, words", BROKEN, ids=[f"{b[1] or 'file'}:{b[3][:30]}" for b in BROKEN])
def test_each_broken_rule_names_path_and_line(text, path, line, words, tmp_path):
    found = errors(text, tmp_path)
    assert any(p.path == path and p.line == line and words in p.message for p in found), \
        [str(p) for p in found]


def test_labels_file_is_read_from_the_code_dir(tmp_path):
    text = "name: a\ntype: inference\ntargetType: multiclass\ninferenceModel:\n  classLabelsFile: labels.txt\n"
    missing = errors(text, tmp_path)
    assert [p.path for p in missing] == ["inferenceModel.classLabelsFile"]
    (tmp_path / "labels.txt").write_text("only-one\n")
    assert "at least 2 are needed" in errors(text, tmp_path)[0].message
    (tmp_path / "labels.txt").write_text("a\nb\r\nc\n")
    assert errors(text, tmp_path) == []


def test_float_threshold_and_genai_target_types_are_accepted():
    text = ("name: a\ntype: inference\ntargetType: binary\ninferenceModel:\n  positiveClassLabel: y\n"
            "  negativeClassLabel: n\n  predictionThreshold: 0.35\n")
    assert errors(text) == []
    for target in ("textgeneration", "geopoint", "vectordatabase", "agenticworkflow"):
        assert check_metadata_text(f"name: a\ntype: inference\ntargetType: {target}\n") == []
    assert [p.severity for p in check_metadata_text("name: a\ntype: inference\ntargetType: textgen\n")] == ["error"]


def test_warnings_do_not_fail_the_schema():
    text = ("name: a\ntype: inferance\ntargetType: regression\ninferenceModel:\n  positiveClassLabel: y\n"
            "runtimeParameterDefinitions:\n  - fieldName: P\n    type: string\n    defaultvalue: x\n")
    problems = check_metadata_text(text)
    assert all(p.severity == "warning" for p in problems)
    messages = " | ".join(p.message for p in problems)
    assert "did you mean 'inference'?" in messages
    assert "ignored for target type 'regression'" in messages
    assert "did you mean 'defaultValue'?" in messages


def test_every_problem_is_reported_not_only_the_first():
    text = "name: a\ntype: inference\ntargetType: regresion\nfoo: 1\nmajorVersion: perhaps\n"
    assert {p.path for p in errors(text)} == {"targetType", "foo", "majorVersion"}


def test_cli_reports_metadata_without_input_and_exits_1(tmp_path):
    code = tmp_path / "model"
    code.mkdir()
    (code / "model-metadata.yaml").write_text("name: a\ntype: inference\ntargetType: regresion\n")
    (code / "custom.py").write_text("def load_model(code_dir):\n    return 1\n")
    out = subprocess.run([sys.executable, "-m", "drumkit", "validate", str(code), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    meta = next(c for c in report["checks"] if c["check"] == "Model metadata")
    assert meta["status"] == "FAILED"
    assert meta["items"][0]["path"] == "targetType" and meta["items"][0]["line"] == 3
    assert "did you mean 'regression'?" in meta["items"][0]["message"]
    assert "Traceback" not in out.stderr
