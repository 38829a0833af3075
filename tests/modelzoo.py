"""Code dirs built in the test session: scikit-learn pipelines and hook-only models."""

from __future__ import annotations

import pickle
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).parent / "data"


@dataclass
class Zoo:
    """A built code dir and what a test needs to check it."""

    path: Path
    model: object = None
    features: pd.DataFrame | None = None
    csv: Path | None = None


def tabular_frame(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """Numeric and categorical features with some missing values."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"num{i}": rng.normal(size=rows) for i in range(4)})
    frame["cat"] = rng.choice(["red", "green", "blue"], size=rows)
    frame["city"] = rng.choice(["Kraków", "São Paulo", "Zürich"], size=rows)
    frame.loc[frame.sample(frac=0.05, random_state=seed).index, "num1"] = np.nan
    frame.loc[frame.sample(frac=0.05, random_state=seed + 1).index, "cat"] = np.nan
    return frame


def sklearn_pipeline(estimator):
    """Impute/scale numbers, one-hot categories, then the estimator."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = make_pipeline(SimpleImputer(), StandardScaler())
    categorical = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
    columns = ColumnTransformer([
        ("num", numeric, [f"num{i}" for i in range(4)]),
        ("cat", categorical, ["cat", "city"]),
    ])
    return make_pipeline(columns, estimator)


def write(path: Path, name: str, text: str) -> Path:
    """Write a dedented file into a code dir."""
    target = path / name
    target.write_text(textwrap.dedent(text).lstrip())
    return target


def sklearn_dir(root: Path, kind: str) -> Zoo:
    """A code dir holding only model.pkl (plus metadata for classification)."""
    from sklearn.linear_model import LogisticRegression, Ridge

    root.mkdir(parents=True, exist_ok=True)
    frame = tabular_frame()
    x = frame
    if kind == "regression":
        y = frame["num0"] * 2 + (frame["cat"] == "red") + np.random.default_rng(1).normal(size=len(frame))
        model = sklearn_pipeline(Ridge()).fit(x, y)
        meta = "name: reg\ntype: inference\ntargetType: regression\n"
    elif kind == "binary":
        y = np.where(frame["num0"] + frame["num2"] > 0, "yes", "no")
        model = sklearn_pipeline(LogisticRegression()).fit(x, y)
        meta = ("name: bin\ntype: inference\ntargetType: binary\ninferenceModel:\n"
                "  positiveClassLabel: yes\n  negativeClassLabel: no\n")
    else:
        y = np.select([frame["num0"] < -0.5, frame["num0"] > 0.5], ["low", "high"], "mid")
        model = sklearn_pipeline(LogisticRegression(max_iter=500)).fit(x, y)
        meta = ("name: multi\ntype: inference\ntargetType: multiclass\ninferenceModel:\n"
                "  classLabels:\n    - low\n    - mid\n    - high\n")
    with open(root / "model.pkl", "wb") as handle:
        pickle.dump(model, handle)
    (root / "model-metadata.yaml").write_text(meta)
    csv = root.parent / f"{root.name}.csv"
    x.to_csv(csv, index=False)
    return Zoo(path=root, model=model, features=pd.read_csv(csv), csv=csv)
