"""Lone framework artifacts (xgboost, lightgbm, onnx, torch, keras) scored like the framework itself."""

from __future__ import annotations

import builtins
import importlib.util
import os
import pickle
import sys
import textwrap
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from drumkit.errors import ModelLoadError
from drumkit.predictor.predictor import Predictor
from drumkit.predictor.settings import ModelSettings

# Keras 3 picks its backend at import; drumkit's keras extra brings torch, not tensorflow.
os.environ.setdefault("KERAS_BACKEND", "torch")

REGRESSION = {"target_type": "regression"}
BINARY = {"target_type": "binary", "positive_class_label": "yes", "negative_class_label": "no"}
BINARY_01 = {"target_type": "binary", "positive_class_label": "1", "negative_class_label": "0"}
MULTICLASS = {"target_type": "multiclass", "class_labels": ["a", "b", "c"]}


@dataclass
class Case:
    """A code dir holding one artifact, the flags to score it and the framework's own predictions."""

    framework: str
    path: Path
    labels: dict
    expected: pd.DataFrame
    extra_files: list = field(default_factory=list)

    def flags(self) -> list[str]:
        """The CLI flags for `self.labels`."""
        out = ["--target-type", self.labels["target_type"]]
        if "positive_class_label" in self.labels:
            out += ["--positive-class-label", self.labels["positive_class_label"],
                    "--negative-class-label", self.labels["negative_class_label"]]
        if "class_labels" in self.labels:
            out += ["--class-labels", *self.labels["class_labels"]]
        return out

    def settings(self) -> ModelSettings:
        """ModelSettings for `self.labels`."""
        return ModelSettings(code_dir=str(self.path), **self.labels)


@dataclass
class Data:
    """Numeric features (as read back from the CSV every case scores) and three targets."""

    csv: Path
    x: pd.DataFrame
    y_reg: np.ndarray
    y_bin: np.ndarray
    y_multi: np.ndarray

    @property
    def x32(self) -> np.ndarray:
        """The features as the float32 matrix torch, keras and onnx see."""
        return self.x.to_numpy(dtype=np.float32)


def _regression(values) -> pd.DataFrame:
    return pd.DataFrame({"Predictions": np.asarray(values, dtype=float).ravel()})


def _positive(p) -> pd.DataFrame:
    """A single positive-class probability column, as drumkit spreads it over [negative, positive]."""
    p = np.asarray(p, dtype=float).ravel()
    return pd.DataFrame({"no": 1 - p, "yes": p})


def _columns(values, labels) -> pd.DataFrame:
    return pd.DataFrame(np.asarray(values, dtype=float), columns=[str(label) for label in labels])


@pytest.fixture(scope="session")
def data(tmp_path_factory) -> Data:
    """160 rows of four numeric features, written to CSV and read back as drumkit reads it."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(160, 4)), columns=["f0", "f1", "f2", "f3"])
    csv = tmp_path_factory.mktemp("fw-data") / "features.csv"
    frame.to_csv(csv, index=False)
    x = pd.read_csv(csv)
    y_reg = (2 * x.f0 - x.f1 + 0.1 * rng.normal(size=len(x))).to_numpy()
    y_bin = (x.f0 + x.f2 > 0).to_numpy().astype(int)
    y_multi = np.select([x.f0 < -0.4, x.f0 > 0.4], [0, 2], 1)
    return Data(csv, x, y_reg, y_bin, y_multi)


def _dir(root: Path, name: str) -> Path:
    path = root / name
    path.mkdir()
    return path


# ---- model builders (one session-scoped fixture per framework) -------------------------------
@pytest.fixture(scope="session")
def xgboost_cases(tmp_path_factory, data) -> dict[str, Case]:
    """Native Boosters (.json binary, .ubj multiclass), a pickled Booster and pickled sklearn-API models."""
    import xgboost as xgb

    root = tmp_path_factory.mktemp("xgb")
    cases = {}
    params = {"max_depth": 2, "eta": 0.5, "nthread": 1}
    binary = xgb.train({**params, "objective": "binary:logistic"}, xgb.DMatrix(data.x, label=data.y_bin), 5)
    path = _dir(root, "booster_json")
    binary.save_model(path / "model.json")
    (path / "sample.json").write_text('{"rows": [1, 2, 3]}')  # a data file, not a model
    cases["booster_json_binary"] = Case("xgboost", path, BINARY, _positive(binary.predict(xgb.DMatrix(data.x))))

    multi = xgb.train({**params, "objective": "multi:softprob", "num_class": 3},
                      xgb.DMatrix(data.x.to_numpy(), label=data.y_multi), 5)  # no feature names
    path = _dir(root, "booster_ubj")
    multi.save_model(path / "model.ubj")
    cases["booster_ubj_multiclass"] = Case(
        "xgboost", path, MULTICLASS, _columns(multi.predict(xgb.DMatrix(data.x.to_numpy())), ["a", "b", "c"]))

    reg_booster = xgb.train({**params, "objective": "reg:squarederror"}, xgb.DMatrix(data.x, label=data.y_reg), 5)
    path = _dir(root, "booster_pkl")
    (path / "model.pkl").write_bytes(pickle.dumps(reg_booster))
    cases["booster_pkl_regression"] = Case(
        "xgboost", path, REGRESSION, _regression(reg_booster.predict(xgb.DMatrix(data.x))))

    regressor = xgb.XGBRegressor(n_estimators=5, max_depth=2, n_jobs=1).fit(data.x, data.y_reg)
    path = _dir(root, "regressor_pkl")
    (path / "model.pkl").write_bytes(pickle.dumps(regressor))
    cases["sklearn_api_regression"] = Case("xgboost", path, REGRESSION, _regression(regressor.predict(data.x)))

    classifier = xgb.XGBClassifier(n_estimators=5, max_depth=2, n_jobs=1).fit(data.x, data.y_bin)
    path = _dir(root, "classifier_pkl")
    (path / "model.pkl").write_bytes(pickle.dumps(classifier))
    cases["sklearn_api_binary"] = Case(
        "xgboost", path, BINARY_01, _columns(classifier.predict_proba(data.x), classifier.classes_))
    return cases


@pytest.fixture(scope="session")
def lightgbm_cases(tmp_path_factory, data) -> dict[str, Case]:
    """A native .txt binary Booster beside a requirements.txt, and pickled sklearn-API models."""
    import lightgbm as lgb

    root = tmp_path_factory.mktemp("lgb")
    cases = {}
    opts = {"n_estimators": 8, "num_leaves": 4, "min_child_samples": 5, "n_jobs": 1, "verbose": -1}
    binary = lgb.LGBMClassifier(**opts).fit(data.x, data.y_bin)
    path = _dir(root, "booster_txt")
    binary.booster_.save_model(path / "model.txt")
    (path / "requirements.txt").write_text("lightgbm>=4\n")  # an ordinary .txt: must not count as a model
    native = lgb.Booster(model_file=str(path / "model.txt"))
    cases["booster_txt_binary"] = Case("lightgbm", path, BINARY, _positive(native.predict(data.x)))

    regressor = lgb.LGBMRegressor(**opts).fit(data.x, data.y_reg)
    path = _dir(root, "regressor_pkl")
    (path / "model.pkl").write_bytes(pickle.dumps(regressor))
    cases["sklearn_api_regression"] = Case("lightgbm", path, REGRESSION, _regression(regressor.predict(data.x)))

    names = np.array(["a", "b", "c"])[data.y_multi]
    classifier = lgb.LGBMClassifier(**opts).fit(data.x, names)
    path = _dir(root, "classifier_pkl")
    (path / "model.pkl").write_bytes(pickle.dumps(classifier))
    cases["sklearn_api_multiclass"] = Case(
        "lightgbm", path, MULTICLASS, _columns(classifier.predict_proba(data.x), classifier.classes_))
    return cases


@pytest.fixture(scope="session")
def onnx_cases(tmp_path_factory, data) -> dict[str, Case]:
    """scikit-learn models converted by skl2onnx: regression, binary (ZipMap dicts), multiclass (tensor)."""
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression, LogisticRegression

    root = tmp_path_factory.mktemp("onnx")
    cases = {}
    x32 = data.x32

    def save(model, name, **options):
        path = _dir(root, name)
        proto = to_onnx(model, x32[:1], options=options or None)
        (path / "model.onnx").write_bytes(proto.SerializeToString())
        session = ort.InferenceSession(str(path / "model.onnx"), providers=["CPUExecutionProvider"])
        return path, session

    path, session = save(LinearRegression().fit(x32, data.y_reg), "regression")
    cases["regression"] = Case("onnx", path, REGRESSION, _regression(session.run(None, {"X": x32})[0]))

    yes_no = np.where(data.y_bin == 1, "yes", "no")
    path, session = save(LogisticRegression().fit(x32, yes_no), "binary_zipmap")
    rows = session.run(["output_probability"], {"X": x32})[0]
    cases["binary_zipmap"] = Case("onnx", path, BINARY, pd.DataFrame(rows).astype(float))

    abc = np.array(["a", "b", "c"])[data.y_multi]
    path, session = save(LogisticRegression(max_iter=500).fit(x32, abc), "multiclass_tensor",
                         zipmap=False)
    probs = session.run(["probabilities"], {"X": x32})[0]
    cases["multiclass_tensor"] = Case("onnx", path, MULTICLASS, _columns(probs, ["a", "b", "c"]))
    return cases


TINYNET = '''
import torch


class TinyNet(torch.nn.Module):
    """A module class that lives beside the artifact, as a user's own class would."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def forward(self, x):
        return self.layer(x)
'''


def _train_torch(model, x, y, loss, steps=30):
    import torch

    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        loss(model(x), y).backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="session")
def torch_cases(tmp_path_factory, data) -> dict[str, Case]:
    """A pickled custom module (class in the code dir), a pickled Sequential and a TorchScript file."""
    import importlib.util

    import torch

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("torch")
    cases = {}
    x = torch.tensor(data.x32)

    path = _dir(root, "custom_module")
    (path / "tinynet.py").write_text(TINYNET)
    spec = importlib.util.spec_from_file_location("tinynet", path / "tinynet.py")
    tinynet = importlib.util.module_from_spec(spec)
    sys.modules["tinynet"] = tinynet  # pickled by reference, as a user's own module would be
    spec.loader.exec_module(tinynet)
    net = _train_torch(tinynet.TinyNet(), x, torch.tensor(data.y_reg, dtype=torch.float32)[:, None],
                       torch.nn.MSELoss())
    torch.save(net, path / "model.pth")
    with torch.no_grad():
        cases["module_regression"] = Case("torch", path, REGRESSION, _regression(net(x).numpy()))

    net = _train_torch(torch.nn.Sequential(torch.nn.Linear(4, 1), torch.nn.Sigmoid()), x,
                       torch.tensor(data.y_bin, dtype=torch.float32)[:, None], torch.nn.BCELoss())
    path = _dir(root, "sequential_binary")
    torch.save(net, path / "model.pth")
    with torch.no_grad():
        cases["module_binary"] = Case("torch", path, BINARY, _positive(net(x).numpy()))

    logits = _train_torch(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)), x,
                          torch.tensor(data.y_multi), torch.nn.CrossEntropyLoss())
    net = torch.nn.Sequential(logits, torch.nn.Softmax(dim=1)).eval()
    path = _dir(root, "torchscript_multiclass")
    with warnings.catch_warnings():  # TorchScript is what such code dirs hold, deprecated or not
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning)
        torch.jit.save(torch.jit.script(net), path / "model.pt")
    with torch.no_grad():
        cases["torchscript_multiclass"] = Case("torch", path, MULTICLASS, _columns(net(x).numpy(), ["a", "b", "c"]))
    return cases


@pytest.fixture(scope="session")
def keras_cases(tmp_path_factory, data) -> dict[str, Case]:
    """Keras 3 models: regression and binary as .keras, multiclass as legacy .h5."""
    import keras

    keras.utils.set_random_seed(0)
    root = tmp_path_factory.mktemp("keras")
    cases = {}

    def fit(units, activation, loss, y, name, suffix):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation=activation)])
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss)
        model.fit(data.x32, y, epochs=3, batch_size=64, verbose=0)
        path = _dir(root, name)
        model.save(path / f"model{suffix}")
        return path, model.predict(data.x32, verbose=0)

    path, out = fit(1, None, "mse", data.y_reg, "regression", ".keras")
    cases["regression"] = Case("keras", path, REGRESSION, _regression(out))
    path, out = fit(1, "sigmoid", "binary_crossentropy", data.y_bin, "binary", ".keras")
    cases["binary"] = Case("keras", path, BINARY, _positive(out))
    path, out = fit(3, "softmax", "sparse_categorical_crossentropy", data.y_multi, "multiclass", ".h5")
    cases["multiclass_h5"] = Case("keras", path, MULTICLASS, _columns(out, ["a", "b", "c"]))
    return cases


CASES = [
    ("xgboost", "booster_json_binary"), ("xgboost", "booster_ubj_multiclass"), ("xgboost", "booster_pkl_regression"),
    ("xgboost", "sklearn_api_regression"), ("xgboost", "sklearn_api_binary"),
    ("lightgbm", "booster_txt_binary"), ("lightgbm", "sklearn_api_regression"), ("lightgbm", "sklearn_api_multiclass"),
    ("onnx", "regression"), ("onnx", "binary_zipmap"), ("onnx", "multiclass_tensor"),
    ("torch", "module_regression"), ("torch", "module_binary"), ("torch", "torchscript_multiclass"),
    ("keras", "regression"), ("keras", "binary"), ("keras", "multiclass_h5"),
]


def _case(request, framework: str, name: str) -> Case:
    return request.getfixturevalue(f"{framework}_cases")[name]


def _score_cli(args: list[str]) -> int:
    from drumkit.cli import main

    try:
        main(args)
    except SystemExit as exc:
        return exc.code or 0
    return 0


def _assert_frame(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    np.testing.assert_allclose(got.to_numpy(dtype=float), expected.to_numpy(dtype=float), rtol=1e-6, atol=1e-7)


# ---- scoring ---------------------------------------------------------------------------------
@pytest.mark.parametrize("framework,name", CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_score_matches_framework(request, data, tmp_path, framework, name):
    case = _case(request, framework, name)
    out = tmp_path / "predictions.csv"
    code = _score_cli(["score", "--code-dir", str(case.path), "--input", str(data.csv), "--output", str(out),
                       *case.flags()])
    assert code == 0
    _assert_frame(pd.read_csv(out), case.expected)


@pytest.mark.parametrize("framework,name", CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_predictor_names_framework(request, data, framework, name):
    case = _case(request, framework, name)
    predictor = Predictor.from_settings(case.settings())
    assert predictor.framework == framework
    # The first rows alone give the same numbers: nothing depends on the batch.
    _assert_frame(predictor.predict(data.x.head(3)).frame, case.expected.head(3))


# ---- what counts as an artifact, and DRUM's messages -----------------------------------------
def test_text_and_json_files_are_not_artifacts(tmp_path):
    (tmp_path / "requirements.txt").write_text("treelite\nlightgbm\n")
    (tmp_path / "notes.json").write_text('{"note": "learner"}')
    with pytest.raises(ModelLoadError) as err:
        Predictor.from_settings(ModelSettings(code_dir=str(tmp_path), target_type="regression"))
    assert "Could not find model artifact file" in err.value.message
    assert "notes.json | requirements.txt" in err.value.message


def test_artifacts_of_several_frameworks_are_listed(request, tmp_path):
    xgb_case = _case(request, "xgboost", "booster_json_binary")
    onnx_case = _case(request, "onnx", "binary_zipmap")
    (tmp_path / "a.json").write_bytes((xgb_case.path / "model.json").read_bytes())
    (tmp_path / "b.onnx").write_bytes((onnx_case.path / "model.onnx").read_bytes())
    (tmp_path / "model.pkl").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(ModelLoadError) as err:
        Predictor.from_settings(ModelSettings(code_dir=str(tmp_path), **BINARY))
    assert "Multiple serialized model files found" in err.value.message
    assert "a.json | b.onnx | model.pkl" in err.value.message


@pytest.mark.parametrize("name,content", [
    ("broken.onnx", b"not an onnx graph"),
    ("broken.pth", b"not a torch file"),
    ("broken.keras", b"not a zip"),
    ("broken.ubj", b"{junk"),
    ("broken.txt", b"tree\nnot a booster\n"),
])
def test_unloadable_artifact_names_the_file(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ModelLoadError) as err:
        Predictor.from_settings(ModelSettings(code_dir=str(tmp_path), target_type="regression"))
    assert err.value.message.startswith(f"Could not load model from the artifact file {name}")


def test_cli_reports_an_unloadable_artifact_in_one_line(tmp_path, data, capsys):
    (tmp_path / "model.onnx").write_bytes(b"garbage")
    code = _score_cli(["score", "--code-dir", str(tmp_path), "--input", str(data.csv), "--target-type", "regression"])
    err = capsys.readouterr().err
    assert code != 0
    assert "model.onnx" in err and "Traceback" not in err


# ---- torch: only whole modules, unless load_model builds one ---------------------------------
STATE_DICT_HOOK = '''
import torch


def load_model(code_dir):
    net = torch.nn.Sequential(torch.nn.Linear(4, 1), torch.nn.Sigmoid())
    net.load_state_dict(torch.load(code_dir + "/weights.pth", weights_only=True))
    return net
'''


def test_torch_state_dict_is_refused(request, tmp_path):
    import torch

    module = torch.load(_case(request, "torch", "module_binary").path / "model.pth", weights_only=False)
    torch.save(module.state_dict(), tmp_path / "weights.pth")
    with pytest.raises(ModelLoadError) as err:
        Predictor.from_settings(ModelSettings(code_dir=str(tmp_path), **BINARY))
    assert "weights.pth holds a state_dict" in err.value.message
    assert "load_model" in err.value.message


def test_load_model_hook_overrides_artifacts(request, tmp_path, data):
    import torch

    case = _case(request, "torch", "module_binary")
    module = torch.load(case.path / "model.pth", weights_only=False)
    torch.save(module.state_dict(), tmp_path / "weights.pth")
    # Two artifacts of other frameworks too: with load_model, none of them is loaded.
    (tmp_path / "other.json").write_bytes((_case(request, "xgboost", "booster_json_binary").path / "model.json").read_bytes())
    (tmp_path / "other.onnx").write_bytes(b"garbage")
    (tmp_path / "custom.py").write_text(textwrap.dedent(STATE_DICT_HOOK))
    predictor = Predictor.from_settings(ModelSettings(code_dir=str(tmp_path), **BINARY))
    assert predictor.framework == "torch"
    _assert_frame(predictor.predict(data.x).frame, case.expected)


# ---- a framework that is not installed names the extra ---------------------------------------
MISSING = [
    ("xgboost", "xgboost", "booster_json_binary", "xgboost"),
    ("xgboost", "xgboost", "sklearn_api_binary", "xgboost"),
    ("lightgbm", "lightgbm", "booster_txt_binary", "lightgbm"),
    ("lightgbm", "lightgbm", "sklearn_api_multiclass", "lightgbm"),
    ("onnx", "onnxruntime", "regression", "onnx"),
    ("torch", "torch", "module_binary", "torch"),
    ("keras", "keras", "regression", "keras"),
]


@pytest.mark.parametrize("framework,module,name,extra", MISSING, ids=[f"{f}-{n}" for f, _, n, _ in MISSING])
def test_missing_framework_names_the_extra(request, monkeypatch, framework, module, name, extra):
    case = _case(request, framework, name)
    for loaded in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.setitem(sys.modules, loaded, None)  # `import module` now fails as if not installed
    real_import = builtins.__import__

    def no_framework(target, *args, **kwargs):
        if target == module or target.startswith(module + "."):
            raise ModuleNotFoundError(f"No module named '{target}'", name=target)
        return real_import(target, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_framework)
    with pytest.raises(ModelLoadError) as err:
        Predictor.from_settings(case.settings())
    assert f"pip install 'drumkit[{extra}]'" in err.value.message
    artifact = next(p.name for p in case.path.iterdir() if p.name.startswith("model."))
    assert artifact in err.value.message


# ---- keras picks a backend that is installed ----------------------------------------------------
@pytest.mark.parametrize("configured,expected", [
    (None, "torch"), ("tensorflow", "torch"), ("no-such-backend", "torch"), ("torch", "torch"), ("numpy", "numpy"),
])
def test_keras_backend_is_the_configured_one_when_installed_else_torch(monkeypatch, tmp_path, configured,
                                                                      expected):
    from drumkit.predictor.artifacts import keras as keras_adapter

    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    if configured:
        (tmp_path / "keras.json").write_text(f'{{"backend": "{configured}"}}')
    tensorflow_installed = importlib.util.find_spec("tensorflow") is not None
    if configured == "tensorflow" and tensorflow_installed:
        expected = "tensorflow"
    assert keras_adapter.choose_backend() == expected
    # Only the fallback is written to the environment; a configured backend is left to keras.json.
    assert os.environ.get("KERAS_BACKEND") == ("torch" if expected == "torch" and configured != "torch" else None)


def test_keras_backend_from_the_environment_wins(monkeypatch):
    from drumkit.predictor.artifacts import keras as keras_adapter

    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert keras_adapter.choose_backend() == "jax"


# ---- the server, one model per framework -----------------------------------------------------
SERVED = [("xgboost", "booster_json_binary"), ("lightgbm", "booster_txt_binary"), ("onnx", "binary_zipmap"),
          ("torch", "module_regression"), ("keras", "multiclass_h5")]


@pytest.fixture(scope="module")
def servers(request, tmp_path_factory):
    """One `drumkit server` per framework, started together and stopped by PID."""
    from tests import serverproc

    logs = tmp_path_factory.mktemp("fw-servers")
    started = {}
    # The servers start without KERAS_BACKEND: with no tensorflow installed, the keras one loads only
    # if drumkit picks the torch backend by itself.
    cases = {framework: _case(request, framework, name) for framework, name in SERVED}  # built with the backend set
    keras_backend = os.environ.pop("KERAS_BACKEND", None)
    try:
        try:
            for framework, case in cases.items():
                started[framework] = serverproc.ServerProcess(["--code-dir", str(case.path), *case.flags()], logs)
        finally:
            if keras_backend is not None:
                os.environ["KERAS_BACKEND"] = keras_backend
        for server in started.values():
            # Importing torch or keras in a fresh process is slow on a busy 2-core machine.
            server.wait_ready(timeout=240)
        yield started
    finally:
        codes = {framework: server.stop() for framework, server in started.items()}
    assert codes == {framework: 0 for framework in started}


@pytest.mark.parametrize("framework,name", SERVED, ids=[f for f, _ in SERVED])
def test_server_predicts_like_the_framework(request, servers, data, framework, name):
    case = _case(request, framework, name)
    server = servers[framework]
    info = server.get("/info/")
    assert info.status_code == 200
    assert info.json()["predictor"] == framework
    response = server.post("/predict/", data=data.csv.read_bytes(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    if "Predictions" in case.expected.columns:
        got = pd.DataFrame({"Predictions": predictions})
    else:
        got = pd.DataFrame(predictions)[list(case.expected.columns)]
    _assert_frame(got, case.expected)


def test_server_answers_bad_rows_with_one_line_and_keeps_serving(servers, data):
    server = servers["torch"]
    response = server.post("/predict/", data=b"f0,f1\n1,2\n", headers={"Content-Type": "text/csv"})
    assert 400 <= response.status_code < 600
    message = response.json()["message"]
    assert "Traceback" not in message and "\n" not in message.strip()
    assert server.get("/ping/").status_code == 200


# ---- validate ----------------------------------------------------------------------------------
@pytest.mark.parametrize("framework,name", SERVED, ids=[f for f, _ in SERVED])
def test_validate_runs_the_checks_on_every_framework(request, data, capsys, framework, name):
    import json

    case = _case(request, framework, name)
    capsys.readouterr()
    _score_cli(["validate", str(case.path), "--input", str(data.csv), "--json", *case.flags()])
    report = json.loads(capsys.readouterr().out)
    status = {check["check"]: check for check in report["checks"]}
    assert status["Model load"]["status"] == "PASSED"
    assert framework in status["Model load"]["details"]
    for check in ("Basic batch prediction", "Deterministic predictions", "Row by row equals batch"):
        assert status[check]["status"] == "PASSED", status[check]
    if framework in ("xgboost", "lightgbm"):
        # Tree boosters route missing values; the others turn a NaN input into a NaN prediction.
        assert status["Null value imputation"]["status"] == "PASSED"


# ---- perf ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("framework,name", SERVED, ids=[f for f, _ in SERVED])
def test_perf_measures_every_framework(request, data, framework, name):
    import json
    import subprocess
    import sys

    case = _case(request, framework, name)
    out = subprocess.run([sys.executable, "-m", "drumkit", "perf", "--code-dir", str(case.path), "--input",
                          str(data.csv), "-s", "5", "-i", "2", "--json", *case.flags()],
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    [measured] = report["cases"]
    assert report["passed"] is True and (measured["completed"], measured["status"]) == (2, "ok")
    assert measured["min_s"] <= measured["max_s"] and measured["server_rss_mb"] > 10
