"""Code dir scanning, custom.py loading, and every hook's signature, kwargs and call order (sections 2, 3)."""

import numpy as np
import pandas as pd
import pytest

from drumkit.errors import CustomHTTPError, HookError, ModelLoadError
from drumkit.predictor.codedir import scan_code_dir
from drumkit.predictor.hooks import Hooks, load_hooks
from drumkit.predictor.predictor import Predictor
from drumkit.predictor.settings import ModelSettings
from drumkit.predictor.targets import TargetType
from tests import hookmodels


def test_scan_finds_custom_py_and_top_level_artifacts_case_insensitively(tmp_path):
    (tmp_path / "custom.py").write_text("")
    (tmp_path / "MODEL.PKL").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "nested.pkl").write_bytes(b"x")
    scanned = scan_code_dir(tmp_path, {".pkl", ".joblib"})
    assert scanned.custom_py == tmp_path / "custom.py"
    assert [p.name for p in scanned.artifacts] == ["MODEL.PKL"]
    assert scanned.path.is_absolute()
    assert scanned.listing() == "MODEL.PKL | custom.py"


def test_nested_custom_py_is_used_but_two_are_an_error(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "custom.py").write_text("")
    assert scan_code_dir(tmp_path, {".pkl"}).custom_py == tmp_path / "src" / "custom.py"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "custom.py").write_text("")
    with pytest.raises(ModelLoadError, match="Found too many custom hook files"):
        scan_code_dir(tmp_path, {".pkl"})


def test_other_language_code_dir_is_named(tmp_path):
    (tmp_path / "model.rds").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="Python models only.*R model files.*model.rds"):
        scan_code_dir(tmp_path, {".pkl"})


def test_missing_code_dir(tmp_path):
    with pytest.raises(ModelLoadError, match="is not a directory!"):
        scan_code_dir(tmp_path / "nope", {".pkl"})


def test_custom_py_syntax_error_is_one_clear_error(tmp_path):
    hookmodels.write_code_dir(tmp_path, {"custom.py": "def score(:\n"})
    with pytest.raises(ModelLoadError, match=r"Failed loading hooks from \[.*custom.py\] : .*line 1"):
        load_hooks(tmp_path / "custom.py")


def test_custom_py_import_error_is_one_clear_error(tmp_path):
    hookmodels.write_code_dir(tmp_path, {"custom.py": "import no_such_module_here\n"})
    with pytest.raises(ModelLoadError, match="Failed loading hooks from .*No module named 'no_such_module_here'"):
        load_hooks(tmp_path / "custom.py")


def test_custom_py_imports_its_own_helpers(tmp_path):
    hookmodels.write_code_dir(tmp_path, {"helper_mod_x1.py": "K = 41\n",
                                          "custom.py": "import helper_mod_x1\ndef init(**kw):\n    return helper_mod_x1.K + 1\n"})
    hooks = load_hooks(tmp_path / "custom.py")
    assert "init" in hooks and "score" not in hooks
    assert hooks.call("init", code_dir=str(tmp_path)) == 42


def test_hook_failures_use_drums_words():
    def boom(*args, **kwargs):
        raise ValueError("bad row")

    hooks = Hooks({name: boom for name in ("score", "transform", "read_input_data", "load_model", "score_unstructured")})
    with pytest.raises(HookError, match=r"^Model 'score' hook failed to make predictions. Exception: ValueError\('bad row'\)$"):
        hooks.call("score", None, None)
    with pytest.raises(HookError, match=r"^Model 'transform hook' failed to transform dataset. Exception: ValueError"):
        hooks.call("transform", None, None)
    with pytest.raises(HookError, match=r"^Model 'read_input_data' hook failed to read input data. Exception: ValueError"):
        hooks.call("read_input_data", b"")
    with pytest.raises(HookError, match=r"^'load_model' hook failed to load the model. Exception: ValueError"):
        hooks.call("load_model", ".")
    with pytest.raises(HookError, match=r"^bad row$"):  # DRUM does not wrap score_unstructured
        hooks.call("score_unstructured", None, "")


def test_custom_http_error_passes_through():
    def teapot(*args, **kwargs):
        raise CustomHTTPError("custom teapot", 418)

    with pytest.raises(CustomHTTPError) as info:
        Hooks({"score": teapot}).call("score", None, None)
    assert info.value.status_code == 418


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    return hookmodels.recording_dir(tmp_path_factory.mktemp("recording"))


def load(code_dir, **kwargs):
    return Predictor.from_settings(ModelSettings(code_dir=code_dir, **kwargs))


def test_every_hook_in_drums_order_with_drums_arguments(recording):
    hookmodels.reset_calls(recording)
    predictor = load(recording, target_type="regression")
    frame = hookmodels.x_frame(7)
    data = frame.to_csv(index=False).encode()
    predictions = predictor.predict_payload(data)
    calls = hookmodels.read_calls(recording)
    assert [c["hook"] for c in calls] == ["init", "load_model", "read_input_data", "transform", "score", "post_process"]
    init, load_model, read_input, transform, score, post = calls
    assert init["kwargs"] == ["code_dir"] and init["code_dir"] == str(recording.resolve())
    assert load_model["code_dir"] == str(recording.resolve())
    assert read_input["type"] == "bytes" and read_input["size"] == len(data)
    assert transform["columns"] == ["x"] and transform["model"] == ["slope"]
    assert score["columns"] == ["x", "z"]  # score sees the transformed frame
    assert score["kwargs"] == ["binary_data", "mimetype", "sparse_colnames", "target_type"]
    assert score["target_type"] == "regression" and score["target_type_class"] == "TargetType"
    assert score["binary_data"] == "bytes"
    assert post["columns"] == ["Predictions"]  # post_process gets marshalled predictions
    np.testing.assert_array_equal(predictions.frame["Predictions"].to_numpy(),
                                  hookmodels.expected_recording(frame, "regression")["Predictions"].to_numpy())
    assert predictor.reads_any_payload and predictor.framework is None


def test_score_gets_binary_label_kwargs(recording):
    hookmodels.reset_calls(recording)
    predictor = load(recording, target_type="binary", positive_class_label="yes", negative_class_label="no")
    frame = hookmodels.x_frame(5)
    out = predictor.predict(frame)
    score = [c for c in hookmodels.read_calls(recording) if c["hook"] == "score"][0]
    assert score["is_binary"] and score["positive"] == "yes" and score["negative"] == "no"
    assert "positive_class_label" in score["kwargs"] and "class_labels" not in score["kwargs"]
    pd.testing.assert_frame_equal(out.frame, hookmodels.expected_recording(frame, "binary", ["yes", "no"]))


def test_score_gets_class_labels_kwarg(recording):
    hookmodels.reset_calls(recording)
    predictor = load(recording, target_type="multiclass", class_labels=("a", "b", "c"))
    frame = hookmodels.x_frame(5)
    out = predictor.predict(frame)
    score = [c for c in hookmodels.read_calls(recording) if c["hook"] == "score"][0]
    assert score["class_labels"] == ["a", "b", "c"] and "positive_class_label" not in score["kwargs"]
    pd.testing.assert_frame_equal(out.frame, hookmodels.expected_recording(frame, "multiclass", ["a", "b", "c"]))


def test_init_failure_stops_loading(tmp_path):
    hookmodels.write_code_dir(tmp_path, {"custom.py": "def init(**kw):\n    raise RuntimeError('no license')\n"})
    with pytest.raises(ModelLoadError, match="no license"):
        load(tmp_path, target_type="unstructured")


def test_transform_hook_with_wrong_arity(tmp_path):
    hookmodels.write_code_dir(tmp_path, {"custom.py": """
        import pandas as pd
        def transform(data):
            return data
        def score(data, model, **kwargs):
            return pd.DataFrame({"Predictions": data["x"]})
    """})
    with pytest.raises(HookError, match="Transform hook must take 2 or 3 arguments; hook provided takes 1"):
        load(tmp_path, target_type="regression").predict(hookmodels.x_frame(2))


def test_transform_returning_non_frame_and_post_process_non_frame(tmp_path):
    hookmodels.write_code_dir(tmp_path / "t", {"custom.py": """
        import pandas as pd
        def transform(data, model):
            return data.to_numpy()
        def score(data, model, **kwargs):
            return pd.DataFrame({"Predictions": data["x"]})
    """})
    with pytest.raises(HookError, match="transform must return a dataframe, but received <class 'numpy.ndarray'>"):
        load(tmp_path / "t", target_type="regression").predict(hookmodels.x_frame(2))
    hookmodels.write_code_dir(tmp_path / "p", {"custom.py": """
        import pandas as pd
        def score(data, model, **kwargs):
            return pd.DataFrame({"Predictions": data["x"]})
        def post_process(predictions, model):
            return predictions["Predictions"].tolist()
    """})
    with pytest.raises(HookError, match="Output of post_process hook must be a dataframe, not a <class 'list'>"):
        load(tmp_path / "p", target_type="regression").predict(hookmodels.x_frame(2))


def test_score_unstructured_receives_model_first_then_data_and_kwargs(tmp_path):
    predictor = load(hookmodels.unstructured_dir(tmp_path), target_type="unstructured")
    result = predictor.predict_unstructured("héllo".encode(), "text/plain", None, {"a": "1"})
    import json

    seen = json.loads(result.body.decode("utf-8"))
    assert seen["model"] == "unstructured-model"
    assert seen["data_type"] == "str" and seen["data"] == "héllo"
    assert seen["keys"] == ["charset", "mimetype", "query"] and seen["query"] == {"a": "1"}
    assert predictor.target_type is TargetType.UNSTRUCTURED
