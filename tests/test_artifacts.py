"""Artifact discovery and loading (2.3, 2.4): .pkl/.joblib, case, zero/several files, load_model, no-artifact models."""

import shutil

import joblib
import numpy as np
import pandas as pd
import pytest

from drumkit.errors import ModelLoadError
from drumkit.predictor import artifacts
from drumkit.predictor.predictor import Predictor
from drumkit.predictor.settings import ModelSettings
from tests import hookmodels


def load(code_dir, **kwargs):
    return Predictor.from_settings(ModelSettings(code_dir=code_dir, **kwargs))


def test_registry_knows_sklearn_extensions(regression_model):
    assert {".pkl", ".joblib"} <= artifacts.artifact_extensions()
    assert artifacts.adapter_for(regression_model.model).NAME == "scikit-learn"
    assert artifacts.adapter_for(object()) is None


@pytest.mark.parametrize("name", ["model.pkl", "MODEL.PKL", "model.joblib", "Model.JobLib"])
def test_artifact_is_found_and_loaded(tmp_path, regression_model, name):
    code_dir = tmp_path / "m"
    code_dir.mkdir()
    if name.lower().endswith(".joblib"):
        joblib.dump(regression_model.model, code_dir / name)
    else:
        shutil.copy(regression_model.path / "model.pkl", code_dir / name)
    predictor = load(code_dir, target_type="regression")
    assert predictor.framework == "scikit-learn"
    got = predictor.predict(regression_model.features).frame["Predictions"].to_numpy()
    np.testing.assert_array_equal(got, regression_model.model.predict(regression_model.features))


def test_zero_artifacts_is_drums_message(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelLoadError) as info:
        load(tmp_path, target_type="regression")
    text = str(info.value)
    assert text.startswith(f"Could not find model artifact file in: {tmp_path.resolve()} supported by default predictors.")
    assert "implement custom.load_model() hook" in text and "'.joblib'" in text and "'.pkl'" in text
    assert text.endswith("List of retrieved files are: notes.txt | weights.bin")


def test_folder_without_a_model_says_so_before_the_target_type(tmp_path):
    """The most basic problem first: no custom.py and no artifact outranks a missing target type."""
    with pytest.raises(ModelLoadError) as info:
        load(tmp_path)
    text = str(info.value)
    assert text.startswith(f"Could not find model artifact file in: {tmp_path.resolve()}")
    assert "'.pkl'" in text and text.endswith("List of retrieved files are: (the folder has no files)")


def test_two_artifacts_is_drums_message(tmp_path, regression_model):
    for name in ("a.pkl", "b.joblib"):
        shutil.copy(regression_model.path / "model.pkl", tmp_path / name)
    with pytest.raises(ModelLoadError, match="^Multiple serialized model files found. .*a.pkl | b.joblib"):
        load(tmp_path, target_type="regression")


def test_nested_artifacts_are_not_artifacts(tmp_path, regression_model):
    (tmp_path / "sub").mkdir()
    shutil.copy(regression_model.path / "model.pkl", tmp_path / "sub" / "model.pkl")
    with pytest.raises(ModelLoadError, match="Could not find model artifact file"):
        load(tmp_path, target_type="regression")


def test_load_model_hook_beats_several_artifacts(tmp_path, regression_model):
    for name in ("a.pkl", "b.pkl"):
        shutil.copy(regression_model.path / "model.pkl", tmp_path / name)
    hookmodels.write_code_dir(tmp_path, {"custom.py": """
        import os, pickle
        def load_model(code_dir):
            with open(os.path.join(code_dir, "b.pkl"), "rb") as handle:
                return pickle.load(handle)
    """})
    predictor = load(tmp_path, target_type="regression")
    got = predictor.predict(regression_model.features).frame["Predictions"].to_numpy()
    np.testing.assert_array_equal(got, regression_model.model.predict(regression_model.features))


def test_load_model_returning_none(tmp_path):
    hookmodels.write_code_dir(tmp_path, {"custom.py": "def load_model(code_dir):\n    return None\n"})
    with pytest.raises(ModelLoadError, match="^'load_model' hook failed to load model, None is returned.$"):
        load(tmp_path, target_type="regression")


def test_load_model_raising(tmp_path):
    hookmodels.write_code_dir(tmp_path, {"custom.py": "def load_model(code_dir):\n    raise OSError('disk')\n"})
    with pytest.raises(ModelLoadError, match=r"^'load_model' hook failed to load the model. Exception: OSError\('disk'\)"):
        load(tmp_path, target_type="regression")


def test_corrupt_artifact(tmp_path):
    (tmp_path / "model.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ModelLoadError, match="^Could not load model from the artifact file model.pkl. Exception:"):
        load(tmp_path, target_type="regression")


def test_model_no_framework_handles_without_score_hook(tmp_path):
    hookmodels.write_code_dir(tmp_path, {"custom.py": "def load_model(code_dir):\n    return {'a': 1}\n"})
    with pytest.raises(ModelLoadError, match="Could not find any framework to handle loaded model and a score hook is not provided"):
        load(tmp_path, target_type="regression")


def test_transform_and_unstructured_need_no_artifact_nor_load_model(tmp_path):
    predictor = load(hookmodels.transform_dir(tmp_path / "t"), target_type="transform")
    assert predictor.model is None
    frame = pd.DataFrame({"a": [1, 2], "s": ["x", "y"]})
    pd.testing.assert_frame_equal(predictor.transform(frame), hookmodels.expected_transform(frame))
    predictor = load(hookmodels.unstructured_dir(tmp_path / "u", with_load_model=False), target_type="unstructured")
    assert predictor.model is None
    assert b'"model": null' in predictor.predict_unstructured(b"x").body


def test_unstructured_needs_score_unstructured(tmp_path):
    hookmodels.write_code_dir(tmp_path, {"custom.py": "def load_model(code_dir):\n    return 1\n"})
    with pytest.raises(ModelLoadError, match="In 'unstructured' mode hook 'score_unstructured' must be provided."):
        load(tmp_path, target_type="unstructured")


def test_transform_without_hook_needs_an_sklearn_transformer(tmp_path):
    hookmodels.write_code_dir(tmp_path, {"custom.py": "def load_model(code_dir):\n    return {'a': 1}\n"})
    with pytest.raises(ModelLoadError, match="A transform task requires a user-defined transform hook"):
        load(tmp_path, target_type="transform")


def test_sklearn_transformer_artifact(tmp_path):
    from sklearn.preprocessing import StandardScaler

    frame = pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": [0.5, -1.0, 3.0]})
    scaler = StandardScaler().fit(frame)
    hookmodels.pickle_to(tmp_path / "scaler.pkl", scaler)
    got = load(tmp_path, target_type="transform").transform(frame)
    np.testing.assert_array_equal(got.to_numpy(), scaler.transform(frame))
