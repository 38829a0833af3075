"""LightGBM: pickled sklearn-API models or Boosters (`.pkl`) and native `.txt` model files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drumkit.errors import PredictionError
from drumkit.predictor.artifacts import final_step, imported
from drumkit.predictor.artifacts import sklearn as sklearn_adapter
from drumkit.predictor.targets import TargetType

NAME = "lightgbm"
EXTRA = "lightgbm"
EXTENSIONS = (".pkl", ".txt")


def load(path: Path) -> Any:
    """A native `.txt` model becomes a Booster; a pickle is unpickled like any other."""
    if path.suffix.lower() == ".pkl":
        return sklearn_adapter.load(path)
    import lightgbm

    return lightgbm.Booster(model_file=str(path))


def handles(model: Any) -> bool:
    """A Booster, an LGBMModel (LGBMClassifier, LGBMRegressor...) or a Pipeline ending in one."""
    lgb = imported("lightgbm")
    return lgb is not None and isinstance(final_step(model), (lgb.Booster, lgb.LGBMModel))


def predict(model: Any, frame: Any, target_type: TargetType) -> tuple[Any, list | None]:
    """A Booster's `predict` gives probabilities for classification (no labels); wrappers as sklearn."""
    import lightgbm
    import numpy as np

    if not isinstance(model, lightgbm.Booster):
        return sklearn_adapter.predict(model, frame, target_type)
    if not (target_type.is_classification or target_type in (TargetType.REGRESSION, TargetType.ANOMALY)):
        raise PredictionError(f"Target type '{target_type}' is not supported by the lightgbm predictor")
    return np.asarray(model.predict(frame)), None
