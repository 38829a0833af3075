"""Unit tests for drumkit.predictor.settings: flag checks and DRUM's target/label resolution (1.5)."""

from pathlib import Path

import pytest

from drumkit.errors import ConfigError, UsageError
from drumkit.predictor.settings import ModelSettings, read_labels_file, resolve_target
from drumkit.predictor.targets import TargetType

HERE = Path(".")


def settings(**kwargs) -> ModelSettings:
    return ModelSettings(code_dir=kwargs.pop("code_dir", HERE), **kwargs)


def test_only_one_binary_label_is_a_usage_error():
    with pytest.raises(UsageError, match="both positive and negative class labels have to be provided"):
        settings(positive_class_label="yes")
    with pytest.raises(UsageError, match="both positive and negative class labels have to be provided"):
        settings(negative_class_label="no")


def test_class_labels_and_file_together_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="either the class labels or a class labels file should be provided, but not both"):
        settings(class_labels=("a", "b"), class_labels_file=tmp_path / "labels.txt")


def test_a_single_class_label_is_a_usage_error():
    with pytest.raises(UsageError, match="Multiclass classification requires at least 2 labels."):
        settings(class_labels=("a",))


def test_unknown_target_type_is_a_usage_error_with_a_suggestion():
    with pytest.raises(UsageError, match="Unknown target type 'binray'.*did you mean 'binary'"):
        settings(target_type="binray")


def test_target_type_missing_everywhere():
    with pytest.raises(ConfigError, match=r"^Target type is missing. It must be provided in --target-type argument, "
                                          r"TARGET_TYPE env var or model config file.$"):
        resolve_target(settings(), None)


def test_target_type_from_metadata_and_matching_flag():
    assert resolve_target(settings(), {"targetType": "regression"}).target_type is TargetType.REGRESSION
    assert resolve_target(settings(target_type="anomaly"), None).target_type is TargetType.ANOMALY
    assert resolve_target(settings(target_type="regression"), {"targetType": "regression"}).target_type == "regression"


def test_target_type_conflict_is_drums_message():
    with pytest.raises(ConfigError, match="doesn't match target type from model config file") as info:
        resolve_target(settings(target_type="binary", positive_class_label="a", negative_class_label="b"),
                       {"targetType": "regression"})
    # Both values, and where each came from.
    assert str(info.value).endswith(
        "(--target-type or TARGET_TYPE: 'binary'; model-metadata.yaml targetType: 'regression')")


BINARY_META = {"targetType": "binary", "inferenceModel": {"positiveClassLabel": "yes", "negativeClassLabel": "no"}}


def test_binary_labels_from_flags_or_metadata():
    spec = resolve_target(settings(target_type="binary", positive_class_label="1", negative_class_label="0"), None)
    assert (spec.positive_class_label, spec.negative_class_label) == ("1", "0")
    assert spec.request_labels == ["1", "0"]  # DRUM's [positive, negative] order
    spec = resolve_target(settings(), BINARY_META)
    assert spec.request_labels == ["yes", "no"]
    assert spec.score_kwargs() == {"target_type": TargetType.BINARY, "positive_class_label": "yes",
                                   "negative_class_label": "no"}


def test_binary_labels_missing_and_conflicting():
    with pytest.raises(ConfigError, match="^Positive/negative class labels are missing."):
        resolve_target(settings(target_type="binary"), None)
    with pytest.raises(ConfigError, match="don't match values from model config file"):
        resolve_target(settings(positive_class_label="no", negative_class_label="yes"), BINARY_META)
    same = resolve_target(settings(positive_class_label="yes", negative_class_label="no"), BINARY_META)
    assert same.request_labels == ["yes", "no"]


MULTI_META = {"targetType": "multiclass", "inferenceModel": {"classLabels": ["a", "b", "c"]}}


def test_multiclass_labels_compared_as_sets_flag_order_wins():
    spec = resolve_target(settings(class_labels=("c", "a", "b")), MULTI_META)
    assert spec.class_labels == ("c", "a", "b")
    assert spec.score_kwargs() == {"target_type": TargetType.MULTICLASS, "class_labels": ["c", "a", "b"]}
    with pytest.raises(ConfigError, match="^Class labels provided with command arguments or environment variable don't match"):
        resolve_target(settings(class_labels=("a", "b", "d")), MULTI_META)


def test_multiclass_labels_missing():
    with pytest.raises(ConfigError, match="^Class labels are missing. They must be provided with either one: "
                                          "--class-labels/--class-labels-file arguments"):
        resolve_target(settings(target_type="multiclass"), None)


def test_labels_file_flag_and_metadata_file_relative_to_code_dir(tmp_path, monkeypatch):
    code_dir = tmp_path / "model"
    code_dir.mkdir()
    (code_dir / "labels.txt").write_bytes(b"low\r\n\r\nmid\r\nhigh\r\n")
    meta = {"targetType": "multiclass", "inferenceModel": {"classLabelsFile": "labels.txt"}}
    monkeypatch.chdir(tmp_path)  # not the code dir: DRUM would look here (its bug 12.11)
    spec = resolve_target(settings(code_dir=code_dir), meta)
    assert spec.class_labels == ("low", "mid", "high")
    spec = resolve_target(settings(target_type="multiclass", class_labels_file=code_dir / "labels.txt"), None)
    assert spec.request_labels == ["low", "mid", "high"]


def test_labels_file_errors(tmp_path):
    one = tmp_path / "one.txt"
    one.write_text("only\n\n")
    with pytest.raises(ConfigError, match="at least 2 labels"):
        read_labels_file(one)
    with pytest.raises(ConfigError, match="Cannot read class labels file"):
        read_labels_file(tmp_path / "missing.txt")


def test_labels_for_other_target_types_are_dropped():
    spec = resolve_target(settings(target_type="regression", positive_class_label="a", negative_class_label="b"), None)
    assert spec.request_labels is None and spec.score_kwargs() == {"target_type": TargetType.REGRESSION}
