"""Hook-only code dirs for the server tests: one behaviour switch per input column, so one server covers many cases."""

from __future__ import annotations

from pathlib import Path

from tests.modelzoo import write

# Regression by one numpy dot over the numeric columns; special columns switch on other behaviours.
HOOKS_CUSTOM = '''
import os
import time

import numpy as np
import pandas as pd

from drumkit import CustomHTTPError


def score(data, model, **kwargs):
    if "boom" in data.columns:
        raise ValueError("boom column seen")
    if "teapot" in data.columns:
        raise CustomHTTPError("custom teapot", status_code=418)
    if "sleep" in data.columns:
        if "marker" in data.columns:
            with open(data["marker"].iloc[0], "w") as handle:
                handle.write("started")
        time.sleep(float(data["sleep"].iloc[0]))
    numeric = data.select_dtypes("number")
    values = numeric.to_numpy(dtype=float) @ np.linspace(0.5, 1.5, numeric.shape[1])
    out = pd.DataFrame({"Predictions": values})
    if "extra" in data.columns:
        out["note"] = data["extra"].astype(str).to_numpy()
        out["double"] = values * 2
    if "pid" in data.columns:
        out["pid"] = os.getpid()
    if "pool" in data.columns:
        from threadpoolctl import threadpool_info

        out["pool"] = max(lib["num_threads"] for lib in threadpool_info())
    if "raw_nan" in data.columns:
        out["Predictions"] = [float("nan"), float("inf")] + [1.0] * (len(data) - 2)
    if "bad_shape" in data.columns:
        return out.to_numpy()
    return out
'''

UNSTRUCTURED_CUSTOM = '''
import json


def load_model(code_dir):
    return "model"


def score_unstructured(model, data, **kwargs):
    query = kwargs.get("query") or {}
    mode = query.get("mode")
    if mode == "echo":
        return json.dumps({"type": type(data).__name__, "len": len(data), "mimetype": kwargs.get("mimetype"),
                           "charset": kwargs.get("charset"), "x": query.get("x"),
                           "header": (kwargs.get("headers") or {}).get("X-Test-Header")})
    if mode == "bytes":
        return b"\\x00\\x01raw"
    if mode == "utf16":
        return "zażółć", {"mimetype": "application/json", "charset": "utf-16"}
    if mode == "none":
        return None
    if mode == "int":
        return 42
    if mode == "triple":
        return ("a", {}, 3)
    if mode == "raise":
        raise RuntimeError("unstructured went wrong")
    return data if isinstance(data, str) else data.decode("latin-1")
'''

TRANSFORM_CUSTOM = '''
import pandas as pd


def load_model(code_dir):
    return "model"


def transform(data, model):
    numeric = data.select_dtypes("number")
    return (numeric * 2).rename(columns=lambda c: f" {c}_x2 ")
'''

READ_INPUT_CUSTOM = '''
import io
import json

import pandas as pd


def read_input_data(input_binary_data):
    if input_binary_data.startswith(b"{"):
        return pd.DataFrame(json.loads(input_binary_data))
    return pd.read_csv(io.BytesIO(input_binary_data))


def score(data, model, **kwargs):
    return pd.DataFrame({"Predictions": data.sum(axis=1, numeric_only=True).astype(float)})
'''

BROKEN_CUSTOM = '''
import andas  # a typo: this model cannot load


def score(data, model, **kwargs):
    return data
'''


def _code_dir(root: Path, name: str, custom: str, metadata: str | None = None) -> Path:
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    write(path, "custom.py", custom)
    if metadata:
        write(path, "model-metadata.yaml", metadata)
    return path


def hooks_dir(root: Path) -> Path:
    """Regression by a dot product, with columns that make it raise, sleep, add extra output or return NaN."""
    return _code_dir(root, "hooks", HOOKS_CUSTOM, "name: hooks\ntype: inference\ntargetType: regression\n")


def unstructured_dir(root: Path) -> Path:
    """score_unstructured whose `mode` query parameter picks the answer."""
    return _code_dir(root, "unstructured", UNSTRUCTURED_CUSTOM, "name: u\ntype: inference\ntargetType: unstructured\n")


def transform_dir(root: Path) -> Path:
    """A transform hook doubling the numeric columns (column names padded with spaces)."""
    return _code_dir(root, "transform", TRANSFORM_CUSTOM, "name: t\ntype: inference\ntargetType: transform\n")


def read_input_dir(root: Path) -> Path:
    """A read_input_data hook that takes JSON or CSV; predictions are row sums."""
    return _code_dir(root, "readinput", READ_INPUT_CUSTOM, "name: r\ntype: inference\ntargetType: regression\n")


def broken_dir(root: Path) -> Path:
    """custom.py importing a module that does not exist."""
    return _code_dir(root, "broken", BROKEN_CUSTOM, "name: b\ntype: inference\ntargetType: regression\n")
