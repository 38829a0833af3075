"""Unit tests for drumkit.predictor.metadata: reading model-metadata.yaml like DRUM's strictyaml (8.1, 8.2)."""

import textwrap

import pytest

from drumkit.errors import ConfigError
from drumkit.predictor.metadata import load_metadata


def meta_dir(tmp_path, text):
    (tmp_path / "model-metadata.yaml").write_text(textwrap.dedent(text).lstrip())
    return tmp_path


def test_no_file_is_none(tmp_path):
    assert load_metadata(tmp_path) is None


def test_scalars_stay_strings(tmp_path):
    data = load_metadata(meta_dir(tmp_path, """
        name: m
        type: inference
        targetType: binary
        inferenceModel:
          positiveClassLabel: 1
          negativeClassLabel: 0
          predictionThreshold: 0.5
        majorVersion: true
    """))
    assert data["inferenceModel"]["positiveClassLabel"] == "1"
    assert data["inferenceModel"]["negativeClassLabel"] == "0"
    assert data["majorVersion"] == "true"


def test_yaml_syntax_error_names_the_line(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_metadata(meta_dir(tmp_path, "name: m\ntargetType: [regression\n"))
    assert "model-metadata.yaml, line 3: not valid YAML" in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_key_is_drums_error_with_a_suggestion(tmp_path):
    with pytest.raises(ConfigError, match="unexpected key not in schema 'targetTyp'.*did you mean 'targetType'"):
        load_metadata(meta_dir(tmp_path, "name: m\ntype: inference\ntargetTyp: regression\n"))


def test_bad_target_type(tmp_path):
    with pytest.raises(ConfigError, match="line 3, targetType: target type 'regresion' is not one of.*did you mean 'regression'"):
        load_metadata(meta_dir(tmp_path, "name: m\ntype: inference\ntargetType: regresion\n"))


def test_empty_file(tmp_path):
    with pytest.raises(ConfigError, match="appears to be empty"):
        load_metadata(meta_dir(tmp_path, "\n"))


def test_not_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_metadata(meta_dir(tmp_path, "- a\n- b\n"))


def test_binary_inference_model_needs_both_labels(tmp_path):
    with pytest.raises(ConfigError, match=r"Missing keys: \['negativeClassLabel'\]"):
        load_metadata(meta_dir(tmp_path, """
            name: m
            type: inference
            targetType: binary
            inferenceModel:
              positiveClassLabel: yes
        """))


def test_multiclass_needs_exactly_one_label_source(tmp_path):
    base = "name: m\ntype: inference\ntargetType: multiclass\ninferenceModel:\n"
    with pytest.raises(ConfigError, match="but not both"):
        load_metadata(meta_dir(tmp_path, base + "  classLabels:\n    - a\n    - b\n  classLabelsFile: l.txt\n"))
    with pytest.raises(ConfigError, match="must be provided in model-metadata.yaml file"):
        load_metadata(meta_dir(tmp_path, base + "  targetName: y\n"))


def test_class_labels_must_be_a_list(tmp_path):
    base = "name: m\ntype: inference\ntargetType: multiclass\ninferenceModel:\n"
    with pytest.raises(ConfigError, match="classLabels"):
        load_metadata(meta_dir(tmp_path, base + "  classLabels: abc\n"))


def test_training_type_skips_label_checks(tmp_path):
    data = load_metadata(meta_dir(tmp_path, "name: m\ntype: training\ntargetType: binary\n"))
    assert data["targetType"] == "binary"
