"""Builders for hook-based code dirs (custom.py with DRUM hooks), used by the predictor and score tests.

Each builder writes a code dir under a given folder and returns its path. The hooks implement small,
known formulas; `expected_*` functions compute the same formulas in-process so tests can compare the
values drumkit produces with what the model itself gives.
"""

from __future__ import annotations

import json
import pickle
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

CALLS_FILE = "calls.jsonl"

# Every structured hook, each one appending a record to calls.jsonl in the code dir (works across processes).
RECORDING_CUSTOM = '''
import json, os
import numpy as np
import pandas as pd

_HERE = os.path.dirname(os.path.abspath(__file__))

def _log(hook, **info):
    with open(os.path.join(_HERE, "calls.jsonl"), "a") as handle:
        handle.write(json.dumps({"hook": hook, **info}) + "\\n")

def init(**kwargs):
    _log("init", kwargs=sorted(kwargs), code_dir=kwargs.get("code_dir"))

def load_model(code_dir):
    _log("load_model", code_dir=code_dir)
    return {"slope": 2.0}

def read_input_data(input_binary_data):
    import io
    _log("read_input_data", type=type(input_binary_data).__name__, size=len(input_binary_data))
    return pd.read_csv(io.BytesIO(input_binary_data))

def transform(data, model):
    _log("transform", columns=list(data.columns), model=sorted(model))
    out = data.copy()
    out["z"] = out["x"] * model["slope"] + 1
    return out

def score(data, model, **kwargs):
    tt = kwargs["target_type"]
    _log("score", columns=list(data.columns), kwargs=sorted(kwargs), target_type=str(tt),
         target_type_class=type(tt).__name__, is_binary=bool(tt == "binary"),
         positive=kwargs.get("positive_class_label"), negative=kwargs.get("negative_class_label"),
         class_labels=kwargs.get("class_labels"), mimetype=kwargs.get("mimetype"),
         binary_data=type(kwargs.get("binary_data")).__name__)
    z = data["z"].to_numpy(dtype=float)
    if tt == "binary":
        p = 1 / (1 + np.exp(-z))
        return pd.DataFrame({kwargs["positive_class_label"]: p, kwargs["negative_class_label"]: 1 - p})
    if tt == "multiclass":
        labels = kwargs["class_labels"]
        logits = np.stack([z * (i - 1) for i in range(len(labels))], axis=1)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return pd.DataFrame(e / e.sum(axis=1, keepdims=True), columns=labels)
    return pd.DataFrame({"Predictions": z})

def post_process(predictions, model):
    _log("post_process", columns=[str(c) for c in predictions.columns])
    return predictions
'''


def write_code_dir(root: Path, files: dict[str, str], metadata: str | None = None) -> Path:
    """Create `root` with dedented text files (custom.py, ...) and an optional model-metadata.yaml."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    if metadata is not None:
        (root / "model-metadata.yaml").write_text(textwrap.dedent(metadata).lstrip(), encoding="utf-8")
    return root


def recording_dir(root: Path) -> Path:
    """A code dir with every structured hook, logging calls to calls.jsonl (no artifact: load_model)."""
    return write_code_dir(root, {"custom.py": RECORDING_CUSTOM})


def read_calls(code_dir: Path) -> list[dict]:
    """The hook calls a recording code dir logged, in order."""
    path = Path(code_dir) / CALLS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def reset_calls(code_dir: Path) -> None:
    """Forget the logged calls."""
    (Path(code_dir) / CALLS_FILE).unlink(missing_ok=True)


def x_frame(rows: int = 20, seed: int = 3) -> pd.DataFrame:
    """Input for the recording model: one float column `x`."""
    return pd.DataFrame({"x": np.random.default_rng(seed).normal(size=rows)})


def expected_recording(frame: pd.DataFrame, target_type: str, labels: list[str] | None = None) -> pd.DataFrame:
    """What the recording model's hooks compute for `frame`, column names in the hook's order."""
    z = frame["x"].to_numpy(dtype=float) * 2.0 + 1
    if target_type == "binary":
        p = 1 / (1 + np.exp(-z))
        return pd.DataFrame({labels[0]: p, labels[1]: 1 - p})
    if target_type == "multiclass":
        logits = np.stack([z * (i - 1) for i in range(len(labels))], axis=1)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return pd.DataFrame(e / e.sum(axis=1, keepdims=True), columns=labels)
    return pd.DataFrame({"Predictions": z})


def score_returning(root: Path, body: str, metadata: str | None = None, extra: str = "") -> Path:
    """A code dir whose score hook is `def score(data, model, **kwargs):` + `body` (no artifact needed)."""
    source = "import numpy as np\nimport pandas as pd\n" + textwrap.dedent(extra) + (
        "\ndef score(data, model, **kwargs):\n" + textwrap.indent(textwrap.dedent(body).strip(), "    ") + "\n"
    )
    return write_code_dir(root, {"custom.py": source}, metadata)


UNSTRUCTURED_CUSTOM = '''
import json

def load_model(code_dir):
    return "unstructured-model"

def score_unstructured(model, data, **kwargs):
    query = kwargs.get("query") or {}
    mode = query.get("ret", "echo")
    if mode == "none":
        return None
    if mode == "bytes":
        return data if isinstance(data, bytes) else data.encode("utf-8")
    if mode == "tuple":
        return "héllo", {"mimetype": "text/html", "charset": "utf-16"}
    if mode == "int":
        return 42
    if mode == "raise":
        raise RuntimeError("unstructured boom")
    return json.dumps({
        "model": model,
        "data_type": type(data).__name__,
        "data": data if isinstance(data, str) else data.hex(),
        "mimetype": kwargs.get("mimetype"),
        "charset": kwargs.get("charset"),
        "query": dict(query),
        "query_type": type(query).__name__,
        "keys": sorted(kwargs),
    }, ensure_ascii=False)
'''


def unstructured_dir(root: Path, with_load_model: bool = True) -> Path:
    """An unstructured model echoing what score_unstructured received (as JSON), or as `?ret=` asks."""
    source = UNSTRUCTURED_CUSTOM
    if not with_load_model:
        source = source.replace('def load_model(code_dir):\n    return "unstructured-model"\n', "")
    return write_code_dir(root, {"custom.py": source})


TRANSFORM_CUSTOM = '''
import pandas as pd

def transform(data, model):
    assert model is None
    out = data.select_dtypes("number") * 3
    out["n_cols"] = data.shape[1]
    return out
'''


def transform_dir(root: Path) -> Path:
    """A transform model with only a transform hook (no artifact, no load_model)."""
    return write_code_dir(root, {"custom.py": TRANSFORM_CUSTOM})


def expected_transform(frame: pd.DataFrame) -> pd.DataFrame:
    """What TRANSFORM_CUSTOM returns for `frame`."""
    out = frame.select_dtypes("number") * 3
    out["n_cols"] = frame.shape[1]
    return out


def pickle_to(path: Path, obj) -> Path:
    """Pickle an object to a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(obj, handle)
    return path


ONE_COLUMN_BINARY_CUSTOM = '''
import numpy as np
from sklearn.base import BaseEstimator

class OneColumn(BaseEstimator):
    """Returns one probability per row, like a booster: the positive class's."""
    def predict_proba(self, X):
        return 1 / (1 + np.exp(-X["x"].to_numpy(dtype=float)))

def load_model(code_dir):
    return OneColumn()
'''


def one_column_binary_dir(root: Path) -> Path:
    """A binary model (labels yes/no) whose predictor returns a single probability column."""
    return write_code_dir(
        root, {"custom.py": ONE_COLUMN_BINARY_CUSTOM},
        "name: one\ntype: inference\ntargetType: binary\ninferenceModel:\n  positiveClassLabel: yes\n  negativeClassLabel: no\n",
    )


SPARSE_CUSTOM = '''
import json, os
import numpy as np
import pandas as pd

def score(data, model, **kwargs):
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "seen.json"), "w") as handle:
        json.dump({"columns": [str(c) for c in data.columns], "sparse": all(isinstance(t, pd.SparseDtype) for t in data.dtypes),
                   "mimetype": kwargs.get("mimetype"), "sparse_colnames": kwargs.get("sparse_colnames")}, handle)
    weights = np.arange(1, data.shape[1] + 1, dtype=float)
    return pd.DataFrame({"Predictions": data.sparse.to_dense().to_numpy(dtype=float) @ weights})
'''


def sparse_dir(root: Path) -> Path:
    """A regression model for sparse input: prediction = sum of column j times (j+1); logs what it saw."""
    return write_code_dir(root, {"custom.py": SPARSE_CUSTOM})


RUNTIME_PARAMS_CUSTOM = '''
import pandas as pd
from drumkit import RuntimeParameters

def score(data, model, **kwargs):
    scale = RuntimeParameters.get("SCALE")
    label = RuntimeParameters.get("LABEL")
    assert RuntimeParameters.has("SCALE") and not RuntimeParameters.has("NOPE")
    return pd.DataFrame({"Predictions": data["x"] * scale, "label": label})
'''

RUNTIME_PARAMS_METADATA = """
name: rp
type: inference
targetType: regression
runtimeParameterDefinitions:
  - fieldName: SCALE
    type: numeric
    defaultValue: 1
    minValue: 0
    maxValue: 10
  - fieldName: LABEL
    type: string
    defaultValue: plain
"""


def runtime_params_dir(root: Path) -> Path:
    """A model reading runtime parameters SCALE (numeric 0..10) and LABEL (string)."""
    return write_code_dir(root, {"custom.py": RUNTIME_PARAMS_CUSTOM}, RUNTIME_PARAMS_METADATA)
