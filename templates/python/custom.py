"""Model hooks for drumkit (and DRUM): every hook is written out, documented and runs as generated.

As generated this is a regression model that works on any tabular CSV: it predicts the mean of each
row's numeric values (missing values are skipped; a row with none gets 0.0). Replace `load_model`
and `score` with your own model; delete any other hook you do not need (each one is optional).

Order of calls: init -> load_model, once at start; then per request:
read_input_data -> transform -> score -> post_process.
Unstructured models implement `score_unstructured` instead (see `drumkit new model --template unstructured`).
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd


def init(code_dir: str, **kwargs) -> None:
    """Called once, before load_model: set up logging, env vars, downloads... `code_dir` is this folder."""


def load_model(code_dir: str):
    """Return the model object that every other hook receives (it must not be None).

    Load your artifact here, e.g. `joblib.load(Path(code_dir) / "model.joblib")`. Without this hook,
    drumkit loads the single model file (.pkl, .joblib, ...) it finds in the folder.
    """
    return {"name": "row mean of numeric features", "code_dir": str(Path(code_dir))}


def read_input_data(input_binary_data: bytes) -> pd.DataFrame:
    """Turn the raw request or file bytes into a DataFrame.

    Delete this hook to let drumkit decode CSV, Arrow, Parquet and sparse MTX itself (and stream big
    files); keep it when your payload is something else.
    """
    return pd.read_csv(io.BytesIO(input_binary_data))


def transform(data: pd.DataFrame, model) -> pd.DataFrame:
    """Prepare the features before `score` (impute, encode, select columns); return a DataFrame."""
    return data


def score(data: pd.DataFrame, model, **kwargs) -> pd.DataFrame:
    """Return predictions: one row per input row.

    Regression and anomaly: a single column named `Predictions`. Binary/multiclass: one column per
    class label with probabilities (kwargs carry `positive_class_label`/`negative_class_label` or
    `class_labels`). Extra columns are returned as extra model output.
    """
    numeric = data.select_dtypes("number")
    predictions = numeric.mean(axis=1, skipna=True).fillna(0.0) if numeric.shape[1] else pd.Series(0.0, index=data.index)
    return pd.DataFrame({"Predictions": predictions.to_numpy(dtype=float)})


def post_process(predictions: pd.DataFrame, model) -> pd.DataFrame:
    """Adjust the checked predictions (round, clip, rename nothing); return a DataFrame of the same shape."""
    return predictions
