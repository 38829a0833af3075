"""XGBoost: pickled Boosters or sklearn-API models (`.pkl`) and native `.json` / `.ubj` model files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drumkit.errors import PredictionError
from drumkit.predictor.artifacts import align_columns, final_step, imported
from drumkit.predictor.artifacts import sklearn as sklearn_adapter
from drumkit.predictor.targets import TargetType

NAME = "xgboost"
EXTRA = "xgboost"
EXTENSIONS = (".pkl", ".json", ".ubj")


def load(path: Path) -> Any:
    """A native model file becomes a Booster; a pickle is unpickled like any other."""
    if path.suffix.lower() == ".pkl":
        return sklearn_adapter.load(path)
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(str(path))
    return booster


def handles(model: Any) -> bool:
    """A Booster, an XGBModel (XGBClassifier, XGBRegressor...) or a Pipeline ending in one."""
    xgb = imported("xgboost")
    return xgb is not None and isinstance(final_step(model), (xgb.Booster, xgb.XGBModel))


def predict(model: Any, frame: Any, target_type: TargetType) -> tuple[Any, list | None]:
    """A Booster predicts on a DMatrix (probabilities for classification, no labels); wrappers as sklearn."""
    import numpy as np
    import xgboost

    if not isinstance(model, xgboost.Booster):
        return sklearn_adapter.predict(model, frame, target_type)
    if not (target_type.is_classification or target_type in (TargetType.REGRESSION, TargetType.ANOMALY)):
        raise PredictionError(f"Target type '{target_type}' is not supported by the xgboost predictor")
    # A Booster trained on a bare array has no feature names and would refuse the CSV's header.
    data = align_columns(frame, model.feature_names) if model.feature_names is not None else frame.to_numpy()
    return np.asarray(model.predict(xgboost.DMatrix(data))), None
