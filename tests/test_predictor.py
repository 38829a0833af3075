"""The Predictor API end to end in-process: sklearn pipelines vs their own predict/predict_proba, hook outputs, checks."""

import json

import numpy as np
import pandas as pd
import pytest

from drumkit.errors import HookError, PayloadError, PredictionError, WrongEndpointError
from drumkit.predictor.predictor import Predictor
from drumkit.predictor.settings import ModelSettings
from drumkit.predictor.targets import TargetType
from tests import hookmodels


def load(code_dir, **kwargs):
    return Predictor.from_settings(ModelSettings(code_dir=code_dir, **kwargs))


def test_regression_equals_model_predict(regression_model):
    predictor = load(regression_model.path)
    assert predictor.target_type is TargetType.REGRESSION and predictor.metadata["name"] == "reg"
    got = predictor.predict_payload(regression_model.csv.read_bytes())
    assert list(got.frame.columns) == ["Predictions"] and got.extra is None
    np.testing.assert_array_equal(got.frame["Predictions"].to_numpy(),
                                  regression_model.model.predict(regression_model.features))


def test_binary_columns_follow_classes_order(binary_model):
    predictor = load(binary_model.path)
    got = predictor.predict(binary_model.features).frame
    classes = list(binary_model.model.classes_)
    assert classes == ["no", "yes"] and list(got.columns) == classes
    np.testing.assert_array_equal(got.to_numpy(), binary_model.model.predict_proba(binary_model.features))
    assert predictor.spec.request_labels == ["yes", "no"]


def test_binary_labels_spelled_differently_come_out_as_requested(binary_model):
    # Flags override nothing here (metadata has yes/no); use a copy without metadata to give YES/No.
    predictor = load(binary_model.path, positive_class_label="yes", negative_class_label="no")
    assert list(predictor.predict(binary_model.features.head(3)).frame.columns) == ["no", "yes"]


def test_binary_labels_from_flags_with_other_case(tmp_path, binary_model):
    code_dir = tmp_path / "b"
    code_dir.mkdir()
    (code_dir / "model.pkl").write_bytes((binary_model.path / "model.pkl").read_bytes())
    predictor = load(code_dir, target_type="binary", positive_class_label="YES", negative_class_label="No")
    got = predictor.predict(binary_model.features).frame
    assert list(got.columns) == ["No", "YES"]
    np.testing.assert_array_equal(got.to_numpy(), binary_model.model.predict_proba(binary_model.features))
    wrong = load(code_dir, target_type="binary", positive_class_label="cat", negative_class_label="dog")
    with pytest.raises(PredictionError, match=r"^Expected predictions to have columns \['cat', 'dog'\], but encountered \['no', 'yes'\]$"):
        wrong.predict(binary_model.features)


def test_multiclass_equals_predict_proba(multiclass_model):
    predictor = load(multiclass_model.path)
    got = predictor.predict(multiclass_model.features).frame
    assert list(got.columns) == list(multiclass_model.model.classes_)
    np.testing.assert_array_equal(got.to_numpy(), multiclass_model.model.predict_proba(multiclass_model.features))


def test_numeric_classes_with_float_spelled_labels(tmp_path):
    from sklearn.linear_model import LogisticRegression

    x = pd.DataFrame({"x": np.linspace(-3, 3, 60)})
    y = np.digitize(x["x"], [-1, 1])  # 0, 1, 2
    model = LogisticRegression().fit(x, y)
    model.classes_ = np.array([2, 1, 0])  # a model whose classes come in another order
    model.coef_, model.intercept_ = model.coef_[::-1], model.intercept_[::-1]
    hookmodels.pickle_to(tmp_path / "model.pkl", model)
    predictor = load(tmp_path, target_type="multiclass", class_labels=("2.0", "1", "0"))
    got = predictor.predict(x).frame
    assert list(got.columns) == ["2.0", "1", "0"]
    np.testing.assert_array_equal(got.to_numpy(), model.predict_proba(x))


def test_single_probability_column_is_the_positive_class(tmp_path):
    predictor = load(hookmodels.one_column_binary_dir(tmp_path))
    frame = hookmodels.x_frame(6)
    got = predictor.predict(frame).frame
    p = 1 / (1 + np.exp(-frame["x"].to_numpy()))
    np.testing.assert_array_equal(got["yes"].to_numpy(), p)
    np.testing.assert_allclose(got["no"].to_numpy(), 1 - p)


def test_extra_columns_are_kept_after_predictions(tmp_path):
    code_dir = hookmodels.score_returning(tmp_path, """
        p = 1 / (1 + np.exp(-data["x"].to_numpy()))
        return pd.DataFrame({"row_id": np.arange(len(data)), "no": 1 - p, "reason": "x>0", "yes": p})
    """)
    predictor = load(code_dir, target_type="binary", positive_class_label="yes", negative_class_label="no")
    frame = hookmodels.x_frame(4)
    got = predictor.predict(frame)
    assert list(got.frame.columns) == ["no", "yes"]
    assert list(got.to_frame().columns) == ["no", "yes", "row_id", "reason"]
    assert got.to_frame()["row_id"].tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(got.frame["yes"].to_numpy(), 1 / (1 + np.exp(-frame["x"].to_numpy())))


def test_regression_extra_columns(tmp_path):
    code_dir = hookmodels.score_returning(tmp_path, 'return pd.DataFrame({"id": data.index, "Predictions": data["x"] * 3})')
    frame = hookmodels.x_frame(3)
    got = load(code_dir, target_type="regression").predict(frame).to_frame()
    assert list(got.columns) == ["Predictions", "id"]
    np.testing.assert_array_equal(got["Predictions"].to_numpy(), frame["x"].to_numpy() * 3)


@pytest.mark.parametrize("body, meta, message", [
    ("return data.to_numpy()", "regression", "^score must return a dataframe, but received <class 'numpy.ndarray'>$"),
    ('return pd.DataFrame({"Predictions": data["x"][:-1]})', "regression",
     "returned 2 prediction rows for 3 input rows"),
    ('return pd.DataFrame({"yes": -data["x"].abs(), "no": 1 + data["x"].abs()})', "binary", "negative values"),
    ('return pd.DataFrame({"yes": data["x"] * 0 + 1.5, "no": data["x"] * 0})', "binary", "values greater than 1"),
    ('return pd.DataFrame({"yes": data["x"] * 0 + 0.5, "no": data["x"] * 0 + 0.6})', "binary", "do not add up to 1"),
    ('return pd.DataFrame({"cat": data["x"] * 0 + 0.5, "dog": data["x"] * 0 + 0.5})', "binary",
     r"Expected predictions to have columns \['yes', 'no'\], but encountered \['cat', 'dog'\]"),
    ('raise KeyError("x2")', "regression", r"^Model 'score' hook failed to make predictions. Exception: KeyError\('x2'\)$"),
])
def test_failing_predictions_say_why(tmp_path, body, meta, message):
    labels = {"positive_class_label": "yes", "negative_class_label": "no"} if meta == "binary" else {}
    predictor = load(hookmodels.score_returning(tmp_path, body), target_type=meta, **labels)
    with pytest.raises((PredictionError, HookError), match=message):
        predictor.predict(hookmodels.x_frame(3))


def test_multiclass_wrong_column_count(tmp_path):
    predictor = load(hookmodels.score_returning(tmp_path, 'return pd.DataFrame({"a": data["x"] * 0 + 0.5, "b": data["x"] * 0 + 0.5})'),
                     target_type="multiclass", class_labels=("a", "b", "c"))
    with pytest.raises(PredictionError, match="Expected predictions to have columns|Expected 3 columns, but received 2"):
        predictor.predict(hookmodels.x_frame(2))


def test_post_process_output_is_checked_again(tmp_path):
    code_dir = hookmodels.score_returning(tmp_path, 'return pd.DataFrame({"Predictions": data["x"]})', extra="""
        def post_process(predictions, model):
            return predictions * 10
    """)
    frame = hookmodels.x_frame(4)
    got = load(code_dir, target_type="regression").predict(frame).frame
    np.testing.assert_array_equal(got["Predictions"].to_numpy(), frame["x"].to_numpy() * 10)


def test_zero_rows_give_zero_predictions(binary_model):
    got = load(binary_model.path).predict(binary_model.features.head(0)).frame
    assert len(got) == 0 and set(got.columns) == {"yes", "no"}


def test_anomaly_uses_predict(tmp_path):
    from sklearn.ensemble import IsolationForest

    frame = pd.DataFrame({"a": np.random.default_rng(0).normal(size=50), "b": np.arange(50.0)})
    model = IsolationForest(random_state=0, n_estimators=10).fit(frame)
    hookmodels.pickle_to(tmp_path / "model.pkl", model)
    got = load(tmp_path, target_type="anomaly").predict(frame).frame
    np.testing.assert_array_equal(got["Predictions"].to_numpy(), model.predict(frame))


def test_unstructured_text_bytes_none_and_tuple(tmp_path):
    predictor = load(hookmodels.unstructured_dir(tmp_path), target_type="unstructured")
    text = predictor.predict_unstructured("тернии".encode("utf-16"), "text/plain", "utf-16", {})
    seen = json.loads(text.body)
    assert seen["data"] == "тернии" and seen["charset"] == "utf-16"
    assert text.content_type == "text/plain; charset=utf-8"
    raw = predictor.predict_unstructured(b"\x00\x01", "application/octet-stream", None, {"ret": "bytes"})
    assert raw.body == b"\x00\x01" and raw.content_type == "application/octet-stream"
    seen = json.loads(predictor.predict_unstructured(b"\x00\x01", "application/octet-stream").body)
    assert seen["data_type"] == "bytes" and seen["data"] == "0001" and "charset" not in seen["keys"]
    none = predictor.predict_unstructured(b"x", query={"ret": "none"})
    assert none.body is None
    pair = predictor.predict_unstructured(b"x", query={"ret": "tuple"})
    assert pair.body == "héllo".encode("utf-16") and pair.content_type == "text/html; charset=utf-16"
    with pytest.raises(HookError, match="single return value can be of type str/bytes, but received <class 'int'>"):
        predictor.predict_unstructured(b"x", query={"ret": "int"})
    with pytest.raises(HookError, match="^unstructured boom$"):
        predictor.predict_unstructured(b"x", query={"ret": "raise"})
    with pytest.raises(PayloadError):
        predictor.predict_unstructured(b"\xff\xfe\xfa", "text/plain", "utf-8")


def test_wrong_endpoint_errors(tmp_path, regression_model):
    unstructured = load(hookmodels.unstructured_dir(tmp_path / "u"), target_type="unstructured")
    with pytest.raises(WrongEndpointError, match="target type 'unstructured'"):
        unstructured.predict(pd.DataFrame({"x": [1]}))
    regression = load(regression_model.path)
    with pytest.raises(WrongEndpointError):
        regression.predict_unstructured(b"x")
    with pytest.raises(WrongEndpointError):
        regression.transform(regression_model.features)


def test_transform_hook_row_count_is_checked(tmp_path):
    code_dir = hookmodels.write_code_dir(tmp_path, {"custom.py": "def transform(data, model):\n    return data.head(1)\n"})
    with pytest.raises(PredictionError, match="Transformation resulted in different number of rows than original data"):
        load(code_dir, target_type="transform").transform(pd.DataFrame({"a": [1, 2]}))
