"""Code dirs shaped like DRUM's public templates, for the DRUM-compatibility tests.

- CustomTask dirs (`task_templates/.../python3_sklearn`-style): `custom.py` with `class CustomTask`
  subclassing a `datarobot_drum.custom_task_interfaces` interface, fitted and saved to
  `drum_artifact.pkl` by `task_dirs` in one child process, as `drum fit` would.
- A hook dir whose `custom.py` imports `RuntimeParameters` and `CustomHTTPError` from `datarobot_drum`.
- `custom_flask.py`: an HTTP-token extension like DRUM's `flask_extension_httpauth` template.
- `standin_package`: a package named `datarobot_drum` with its own classes, put on PYTHONPATH to play
  the real datarobot-drum installed beside drumkit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tests.hookmodels import RUNTIME_PARAMS_METADATA
from tests.modelzoo import write

REPO = Path(__file__).resolve().parent.parent
TOKEN = "dummy_demo_token"

# A CustomTask per target type. Each fits an sklearn pipeline; `OFFSET`/`SCALE` secrets shift
# predictions so a test can see that secrets arrived. `ORIGIN_MARKER` records which datarobot_drum was imported.
TASK_CUSTOM = '''
import os
from pathlib import Path

import numpy as np
import pandas as pd
import datarobot_drum
from datarobot_drum.custom_task_interfaces import (
    AnomalyEstimatorInterface,
    BinaryEstimatorInterface,
    MulticlassEstimatorInterface,
    RegressionEstimatorInterface,
    TransformerInterface,
)
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import IsolationForest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

if os.environ.get("ORIGIN_MARKER"):
    Path(os.environ["ORIGIN_MARKER"]).write_text(datarobot_drum.__file__)

KIND = "{kind}"
BASES = {{
    "binary": BinaryEstimatorInterface,
    "multiclass": MulticlassEstimatorInterface,
    "regression": RegressionEstimatorInterface,
    "anomaly": AnomalyEstimatorInterface,
    "transform": TransformerInterface,
}}


def preprocessing():
    numeric = make_pipeline(SimpleImputer(), StandardScaler())
    categorical = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
    return ColumnTransformer([
        ("num", numeric, ["num0", "num1", "num2", "num3"]),
        ("cat", categorical, ["cat", "city"]),
    ], sparse_threshold=0)


class CustomTask(BASES[KIND]):
    def fit(self, X, y, row_weights=None, **kwargs):
        if KIND == "transform":
            self.transformer = preprocessing().fit(X)
        elif KIND == "regression":
            self.estimator = make_pipeline(preprocessing(), Ridge()).fit(X, y)
        elif KIND == "anomaly":
            self.estimator = make_pipeline(preprocessing(), IsolationForest(random_state=0)).fit(X)
        else:
            self.estimator = make_pipeline(preprocessing(), LogisticRegression(max_iter=500)).fit(X, y)
        return self

    def offset(self):
        if os.environ.get("REQUIRE_OFFSET") and "OFFSET" not in self.secrets:
            raise KeyError("the OFFSET secret did not arrive")
        secret = self.secrets.get("OFFSET")
        return float(secret.api_token) if secret is not None else 0.0

    def predict(self, X, **kwargs):
        values = self.estimator.predict(X).astype(float) + self.offset()
        return pd.DataFrame({{"Predictions": values}})

    def predict_proba(self, X, **kwargs):
        classes = [str(c) for c in self.estimator.classes_]
        return pd.DataFrame(self.estimator.predict_proba(X), columns=classes)

    def transform(self, X):
        return pd.DataFrame(self.transformer.transform(X) * (1 + self.offset()))
'''

# Fits the task in a fresh interpreter (as `drum fit` does) and writes its own in-process predictions.
FIT_SCRIPT = '''
import json
import sys

import pandas as pd

if sys.argv[1] == "drumkit":
    from drumkit.compat import finder
    finder.install()
for job in json.loads(sys.argv[2]):
    sys.path.insert(0, job["code_dir"])
    sys.modules.pop("custom", None)  # each code dir has its own custom.py
    import custom
    X = pd.read_csv(job["x"])
    y = pd.read_csv(job["y"]).iloc[:, 0] if job["y"] else None
    task = custom.CustomTask().fit(X, y)
    task.save(job["code_dir"])
    if custom.KIND in ("binary", "multiclass"):
        out = task.predict_proba(X)
    elif custom.KIND == "transform":
        out = task.transform(X)
    else:
        out = task.predict(X)
    out.to_csv(job["expected"], index=False)
    sys.path.remove(job["code_dir"])
'''

HOOKS_CUSTOM = '''
import os
from pathlib import Path

import pandas as pd
import datarobot_drum
from datarobot_drum import CustomHTTPError, RuntimeParameters

if os.environ.get("ORIGIN_MARKER"):
    Path(os.environ["ORIGIN_MARKER"]).write_text(datarobot_drum.__file__)


def score(data, model, **kwargs):
    if "teapot" in data.columns:
        raise CustomHTTPError("custom teapot", status_code=418)
    return pd.DataFrame({"Predictions": data["num0"].astype(float) * RuntimeParameters.get("SCALE")})
'''


# Token auth on every route except DRUM's ping and health endpoints, as in DRUM's flask_extension_httpauth
# template (written with Flask alone). The token comes from a runtime parameter when one is set.
FLASK_EXTENSION = '''
from flask import jsonify, request

from datarobot_drum import RuntimeParameters

NO_AUTH_ENDPOINTS = {"model_api.ping", "model_api.health"}


def expected_token():
    if RuntimeParameters.has("AUTH_TOKEN"):
        return RuntimeParameters.get("AUTH_TOKEN")
    return "%s"


def init_app(app):
    @app.before_request
    def check_auth():
        if request.method == "OPTIONS" or request.endpoint in NO_AUTH_ENDPOINTS:
            return None
        auth = request.authorization
        if auth is None or auth.type != "bearer" or auth.token != expected_token():
            return jsonify(message="Unauthorized Access"), 401
        return None

    @app.after_request
    def name_the_endpoint(response):
        response.headers["X-Endpoint"] = str(request.endpoint)
        return response

    @app.route("/whoami/")
    def whoami():
        return {"endpoint": request.endpoint, "user": "dummy_user"}
''' % TOKEN

# The stand-in "real" package: its own classes and a secrets loader that returns plain dicts.
STANDIN_INIT = '''
from datarobot_drum.runtime import RuntimeParameters
from datarobot_drum.errors import BaseCustomUserError, CustomHTTPError

STAND_IN = True
'''
STANDIN_RUNTIME = '''
import json
import os


class RuntimeParameters:
    @staticmethod
    def has(name):
        return f"MLOPS_RUNTIME_PARAM_{name}" in os.environ

    @staticmethod
    def get(name):
        return json.loads(os.environ[f"MLOPS_RUNTIME_PARAM_{name}"])["payload"]
'''
STANDIN_ERRORS = '''
class BaseCustomUserError(Exception):
    pass


class CustomHTTPError(BaseCustomUserError):
    def __init__(self, message="User's HTTP error in custom model", status_code=400):
        super().__init__(message)
        self.status_code = status_code
'''
STANDIN_INTERFACES = '''
import os
import pickle


class CustomTaskInterface:
    _secrets = None

    @property
    def secrets(self):
        return self._secrets or {}

    @secrets.setter
    def secrets(self, value):
        self._secrets = value

    def save(self, artifact_directory):
        with open(os.path.join(artifact_directory, "drum_artifact.pkl"), "wb") as fp:
            pickle.dump(self, fp)
        return self

    @classmethod
    def load(cls, artifact_directory):
        with open(os.path.join(artifact_directory, "drum_artifact.pkl"), "rb") as fp:
            return pickle.load(fp)


class EstimatorInterface(CustomTaskInterface):
    pass


class BinaryEstimatorInterface(EstimatorInterface):
    pass


class MulticlassEstimatorInterface(EstimatorInterface):
    pass


class RegressionEstimatorInterface(EstimatorInterface):
    pass


class AnomalyEstimatorInterface(EstimatorInterface):
    pass


class TransformerInterface(CustomTaskInterface):
    pass
'''
STANDIN_SECRETS = '''
import json
import os


class StandInSecret(dict):
    @property
    def api_token(self):
        return self["api_token"]


def load_secrets(mount_path, env_var_prefix):
    found = {}
    if env_var_prefix:
        for key, value in os.environ.items():
            if key.startswith(env_var_prefix + "_"):
                found[key[len(env_var_prefix) + 1:]] = StandInSecret(json.loads(value))
    return found
'''


def frame(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """Numeric and categorical features with a few missing values."""
    from tests.modelzoo import tabular_frame

    return tabular_frame(rows, seed)


def target(features: pd.DataFrame, kind: str):
    """A target for the kind of task (None for unsupervised ones)."""
    if kind == "binary":
        return np.where(features["num0"] + features["num2"] > 0, "yes", "no")
    if kind == "multiclass":
        return np.select([features["num0"] < -0.5, features["num0"] > 0.5], ["low", "high"], "mid")
    if kind == "regression":
        return features["num0"] * 2 + (features["cat"] == "red")
    return None


METADATA = {
    "binary": "targetType: binary\ninferenceModel:\n  positiveClassLabel: yes\n  negativeClassLabel: no\n",
    "multiclass": "targetType: multiclass\ninferenceModel:\n  classLabels:\n    - low\n    - mid\n    - high\n",
    "regression": "targetType: regression\n",
    "anomaly": "targetType: anomaly\n",
    "transform": "targetType: transform\n",
}


def env_with(pythonpath: list[Path] | None = None, **extra: str) -> dict:
    """os.environ with drumkit (and any extra folders first) on PYTHONPATH."""
    paths = [str(p) for p in pythonpath or ()] + [str(REPO)]
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [os.environ.get("PYTHONPATH")] if p])
    return env


def task_dirs(root: Path, kinds, standin: Path | None = None) -> dict[str, tuple[Path, pd.DataFrame, pd.DataFrame]]:
    """CustomTask code dirs fitted and saved by one child process (under drumkit's stand-in, or `standin`).

    Per kind: the code dir, the features (as read back from CSV) and the task's own predictions on them.
    """
    features = frame()
    x_csv = root / "task_X.csv"
    features.to_csv(x_csv, index=False)
    jobs = []
    for kind in kinds:
        code_dir = root / f"task_{kind}"
        code_dir.mkdir(parents=True)
        write(code_dir, "custom.py", TASK_CUSTOM.format(kind=kind))
        (code_dir / "model-metadata.yaml").write_text(f"name: task-{kind}\ntype: inference\n" + METADATA[kind])
        y = target(features, kind)
        y_csv = None
        if y is not None:
            y_csv = str(root / f"task_{kind}_y.csv")
            pd.DataFrame({"y": y}).to_csv(y_csv, index=False)
        jobs.append({"code_dir": str(code_dir), "x": str(x_csv), "y": y_csv,
                     "expected": str(root / f"task_{kind}_expected.csv")})
    mode = "standin" if standin else "drumkit"
    subprocess.run([sys.executable, "-c", FIT_SCRIPT, mode, json.dumps(jobs)], check=True, timeout=300,
                   capture_output=True, env=env_with([standin] if standin else None))
    read_features = pd.read_csv(x_csv)
    return {kind: (Path(job["code_dir"]), read_features, pd.read_csv(job["expected"])) for kind, job in zip(kinds, jobs)}


def hooks_dir(root: Path) -> Path:
    """A hook code dir whose custom.py imports RuntimeParameters and CustomHTTPError from datarobot_drum."""
    code_dir = root / "drum_imports"
    code_dir.mkdir(parents=True)
    write(code_dir, "custom.py", HOOKS_CUSTOM)
    write(code_dir, "model-metadata.yaml", RUNTIME_PARAMS_METADATA)  # SCALE: numeric, 0 to 10
    write(root, "drum_imports_params.yaml", "SCALE: 3\n")
    return code_dir


def flask_extension_dir(root: Path, name: str = "httpauth", metadata: str | None = None) -> Path:
    """The regression hook dir of the server tests plus `custom_flask.py` (token auth, an extra route)."""
    from tests import servermodels

    code_dir = servermodels.hooks_dir(root / name)
    write(code_dir, "custom_flask.py", FLASK_EXTENSION)
    if metadata:
        write(code_dir, "model-metadata.yaml", metadata)
    return code_dir


def standin_package(root: Path) -> Path:
    """A folder holding a package named `datarobot_drum` (put it on PYTHONPATH)."""
    package = root / "standin" / "datarobot_drum"
    (package / "custom_task_interfaces").mkdir(parents=True)
    write(package, "__init__.py", STANDIN_INIT)
    write(package, "runtime.py", STANDIN_RUNTIME)
    write(package, "errors.py", STANDIN_ERRORS)
    write(package / "custom_task_interfaces", "__init__.py", STANDIN_INTERFACES)
    write(package / "custom_task_interfaces", "user_secrets.py", STANDIN_SECRETS)
    return package.parent
