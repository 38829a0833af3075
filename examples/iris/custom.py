"""Example drumkit model: iris species from flower measurements.

`load_model` fits a small scikit-learn pipeline from the bundled CSV, so the example never depends
on a pickle made by another library version. drumkit scores it with `predict_proba` because the
model is a scikit-learn estimator and there is no `score` hook.
"""

from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def load_model(code_dir):
    """Train on iris_train.csv (150 rows, a few milliseconds)."""
    data = pd.read_csv(Path(code_dir) / "iris_train.csv")
    features, target = data.drop(columns=["Species"]), data["Species"]
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(features, target)
