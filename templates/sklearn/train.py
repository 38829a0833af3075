"""Fit the scikit-learn pipeline on train.csv and write model.pkl next to this file.

Run it once after generating the model (and again whenever you change it):

    python train.py

Replace train.csv with your data and TARGET with your target column.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

HERE = Path(__file__).resolve().parent
TARGET = "price"


def build_pipeline():
    """Impute and scale numbers, impute and one-hot encode text columns, then a ridge regression."""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
    features = ColumnTransformer([
        ("numeric", numeric, make_column_selector(dtype_include="number")),
        ("categorical", categorical, make_column_selector(dtype_exclude="number")),
    ])
    return make_pipeline(features, Ridge(alpha=1.0))


def main() -> None:
    """Train on train.csv and pickle the fitted pipeline to model.pkl."""
    data = pd.read_csv(HERE / "train.csv")
    features, target = data.drop(columns=[TARGET]), data[TARGET]
    model = build_pipeline().fit(features, target)
    with open(HERE / "model.pkl", "wb") as handle:
        pickle.dump(model, handle)
    print(f"wrote {HERE / 'model.pkl'} (trained on {len(data)} rows, R^2 {model.score(features, target):.3f})")


if __name__ == "__main__":
    main()
