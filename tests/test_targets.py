"""Unit tests for drumkit.predictor.targets: label normalisation and DRUM's prediction checks (4.1)."""

import numpy as np
import pandas as pd
import pytest

from drumkit.errors import PredictionError
from drumkit.predictor.targets import (
    TARGET_TYPE_NAMES,
    TargetType,
    empty_predictions,
    normalize_label,
    shape_predictions,
    split_extra_columns,
)

B, M, R = TargetType.BINARY, TargetType.MULTICLASS, TargetType.REGRESSION


def test_target_types_are_drums_names_and_compare_as_strings():
    assert {"regression", "binary", "multiclass", "anomaly", "transform", "unstructured"} <= set(TARGET_TYPE_NAMES)
    assert TargetType("binary") is B and B == "binary" and str(B) == "binary"
    assert B.is_classification and M.is_classification and not R.is_classification
    assert R.is_single_column and TargetType.ANOMALY.is_single_column
    assert not TargetType.UNSTRUCTURED.is_structured and TargetType.TRANSFORM.is_structured


@pytest.mark.parametrize("a, b", [("YES", "yes"), ("No", "no"), ("2.0", 2), ("1", True), ("True", "1"),
                                  ("Cat", "cat"), ("0", "false")])
def test_normalize_label_equates_drums_spellings(a, b):
    assert normalize_label(a) == normalize_label(b)


@pytest.mark.parametrize("a, b", [("yes", "no"), ("cat", "dog"), ("2", "2.5")])
def test_normalize_label_keeps_different_labels_apart(a, b):
    assert normalize_label(a) != normalize_label(b)


def test_regression_values_become_predictions_column():
    values = np.array([1.5, -2.25, 1e-12])
    out = shape_predictions(values, None, R, None, 3)
    assert list(out.columns) == ["Predictions"]
    np.testing.assert_array_equal(out["Predictions"].to_numpy(), values)


def test_regression_more_than_one_column_is_drums_error():
    with pytest.raises(PredictionError, match="must contain only 1 column. Your predictions have 2 columns"):
        shape_predictions(np.ones((3, 2)), None, R, None, 3)


def test_not_an_array_and_3d_array_are_rejected():
    with pytest.raises(PredictionError, match="predictions must return a np array, but received <class 'list'>"):
        shape_predictions([1, 2], None, R, None, 2)
    with pytest.raises(PredictionError, match="2 dimensional array, but we received a 3 dimensional array"):
        shape_predictions(np.ones((2, 1, 1)), None, R, None, 2)


def test_row_count_must_match_input():
    with pytest.raises(PredictionError, match="2 prediction rows for 3 input rows"):
        shape_predictions(np.ones(2), None, R, None, 3)


def test_binary_label_spelling_from_request_in_model_order():
    values = np.array([[0.2, 0.8], [0.6, 0.4]])
    out = shape_predictions(values, ["YES", "No"], B, ["yes", "no"], 2)
    assert list(out.columns) == ["yes", "no"]
    np.testing.assert_array_equal(out.to_numpy(), values)
    out = shape_predictions(values, ["No", "YES"], B, ["yes", "no"], 2)
    assert list(out.columns) == ["no", "yes"]  # the model's column order, the request's spelling
    np.testing.assert_array_equal(out.to_numpy(), values)


def test_numeric_classes_match_float_spelled_labels():
    values = np.array([[0.1, 0.3, 0.6]])
    out = shape_predictions(values, [2, 1, 0], M, ["2.0", "1", "0"], 1)
    assert list(out.columns) == ["2.0", "1", "0"]
    np.testing.assert_array_equal(out.to_numpy(), values)
    # and with the labels given in another order, the model's order still wins
    out = shape_predictions(values, np.array([2, 1, 0]), M, ["0", "1", "2.0"], 1)
    assert list(out.columns) == ["2.0", "1", "0"]


def test_label_mismatch_is_drums_message_with_a_plain_list():
    with pytest.raises(PredictionError) as info:
        shape_predictions(np.array([[0.5, 0.5]]), np.array(["cat", "dog"]), B, ["yes", "no"], 1)
    assert str(info.value) == "Expected predictions to have columns ['yes', 'no'], but encountered ['cat', 'dog']"


def test_wrong_column_count_without_model_labels():
    with pytest.raises(PredictionError, match="Expected 3 columns, but received 2"):
        shape_predictions(np.array([[0.5, 0.5]]), None, M, ["a", "b", "c"], 1)


def test_negative_checked_before_greater_than_one():
    with pytest.raises(PredictionError, match="^Your prediction probabilities have negative values$"):
        shape_predictions(np.array([[1.5, -0.5]]), ["yes", "no"], B, ["yes", "no"], 1)
    with pytest.raises(PredictionError, match="^Your prediction probabilities have values greater than 1$"):
        shape_predictions(np.array([[1.5, 0.0]]), ["yes", "no"], B, ["yes", "no"], 1)


def test_rows_must_sum_to_one_within_drums_tolerance():
    ok = np.array([[0.3, 0.7 + 5e-7]])
    shape_predictions(ok, ["a", "b"], M, ["a", "b"], 1)
    with pytest.raises(PredictionError, match="do not add up to 1") as info:
        shape_predictions(np.array([[0.5, 0.5], [0.5, 0.6]]), ["a", "b"], M, ["a", "b"], 2)
    assert "row 1" in str(info.value)
    with pytest.raises(PredictionError, match="do not add up to 1"):
        shape_predictions(np.array([[np.nan, 0.5]]), ["a", "b"], M, ["a", "b"], 1)


def test_multilabel_rows_need_not_sum_to_one():
    out = shape_predictions(np.array([[0.9, 0.8]]), ["a", "b"], TargetType.MULTILABEL, ["a", "b"], 1)
    assert out.to_numpy().tolist() == [[0.9, 0.8]]


def test_single_probability_column_is_the_positive_class():
    p = np.array([0.9, 0.25])
    out = shape_predictions(p, None, B, ["yes", "no"], 2)
    assert list(out.columns) == ["no", "yes"]  # DRUM's column order, [negative, positive]
    np.testing.assert_array_equal(out["yes"].to_numpy(), p)
    np.testing.assert_array_equal(out["no"].to_numpy(), 1 - p)


def test_single_column_named_after_a_label_is_that_labels_probability():
    p = np.array([[0.9], [0.25]])
    out = shape_predictions(p, ["no"], B, ["yes", "no"], 2)
    np.testing.assert_array_equal(out["no"].to_numpy(), p[:, 0])
    np.testing.assert_array_equal(out["yes"].to_numpy(), 1 - p[:, 0])


def test_single_column_of_two_class_multiclass_is_the_second_label():
    p = np.array([0.9, 0.25])
    out = shape_predictions(p, None, M, ["cat", "dog"], 2)
    assert list(out.columns) == ["cat", "dog"]
    np.testing.assert_array_equal(out["dog"].to_numpy(), p)
    np.testing.assert_array_equal(out["cat"].to_numpy(), 1 - p)


def test_regression_of_label_strings_names_the_target_type_and_what_came_back():
    with pytest.raises(PredictionError, match="Target type 'regression' needs numeric predictions, but the model "
                                              "returned text values such as 'no', 'yes'"):
        shape_predictions(np.array(["no", "yes", "no"], dtype=object), None, R, None, 3)
    out = shape_predictions(np.array(["1.5", 2], dtype=object), None, R, None, 2)
    assert out["Predictions"].tolist() == [1.5, 2.0]
    out = shape_predictions(np.array([True, False]), None, TargetType.ANOMALY, None, 2)
    assert out["Predictions"].dtype == np.float64 and out["Predictions"].tolist() == [1.0, 0.0]


def test_probabilities_of_the_wrong_kind_name_the_target_type():
    with pytest.raises(PredictionError, match="Target type 'binary' needs prediction probabilities"):
        shape_predictions(np.array([["a", "b"]], dtype=object), None, B, ["yes", "no"], 1)


def test_single_column_with_many_labels_is_drums_error():
    with pytest.raises(PredictionError, match="Only one dimension of probability returned, but there are 3 class labels"):
        shape_predictions(np.array([0.5]), None, M, ["a", "b", "c"], 1)


def test_split_extra_columns_classification_keeps_frame_order():
    frame = pd.DataFrame({"note": ["x"], "no": [0.4], "id": [7], "YES": [0.6]})
    preds, extra = split_extra_columns(frame, B, ["yes", "no"])
    assert list(preds.columns) == ["no", "YES"]
    assert list(extra.columns) == ["note", "id"]


def test_split_extra_columns_regression_needs_predictions_column():
    frame = pd.DataFrame({"id": [1], "Predictions": [2.0], "why": ["x"]})
    preds, extra = split_extra_columns(frame, R, None)
    assert list(preds.columns) == ["Predictions"] and list(extra.columns) == ["id", "why"]
    with pytest.raises(PredictionError, match="must be named 'Predictions'"):
        split_extra_columns(frame.rename(columns={"Predictions": "p"}), R, None)
    one, none = split_extra_columns(pd.DataFrame({"foo": [1.0]}), R, None)
    assert none is None and list(one.columns) == ["foo"]


def test_empty_predictions_have_the_output_columns():
    assert list(empty_predictions(R, None).columns) == ["Predictions"]
    assert list(empty_predictions(B, ["yes", "no"]).columns) == ["yes", "no"]
    assert len(empty_predictions(M, ["a", "b", "c"])) == 0
