"""scikit-learn: pickled or joblib-dumped estimators and pipelines."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from drumkit.errors import PredictionError
from drumkit.predictor.artifacts import align_columns
from drumkit.predictor.targets import TargetType

NAME = "scikit-learn"
EXTRA = "sklearn"
EXTENSIONS = (".pkl", ".joblib")


def load(path: Path) -> Any:
    """Unpickle the artifact (joblib files through joblib, which handles its own compression)."""
    if path.suffix.lower() == ".joblib":
        import joblib

        return joblib.load(path)
    with open(path, "rb") as handle:
        return pickle.load(handle, encoding="latin1")


def handles(model: Any) -> bool:
    """Any scikit-learn estimator (or duck-typed object with predict)."""
    try:
        from sklearn.base import BaseEstimator
    except ModuleNotFoundError:
        return False
    return isinstance(model, BaseEstimator)


def predict(model: Any, frame: Any, target_type: TargetType) -> tuple[Any, list | None]:
    """`predict_proba` with `classes_` for classification, `predict` for regression, anomaly and geopoint."""
    import numpy as np

    frame = align_columns(frame, getattr(model, "feature_names_in_", None))
    if target_type.is_classification:
        if not hasattr(model, "predict_proba"):
            raise PredictionError(
                f"{type(model).__name__} has no predict_proba, so it cannot serve target type '{target_type}'"
            )
        classes = getattr(model, "classes_", None)
        return np.asarray(model.predict_proba(frame)), (list(classes) if classes is not None else None)
    if target_type in (TargetType.REGRESSION, TargetType.ANOMALY, TargetType.GEO_POINT):
        return np.asarray(model.predict(frame)), None
    raise PredictionError(f"Target type '{target_type}' is not supported by the scikit-learn predictor")


def transform(model: Any, frame: Any) -> Any:
    """`model.transform(frame)` for transform target types."""
    return model.transform(frame)
