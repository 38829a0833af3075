"""Keras 3: `.keras` and `.h5` model files (the torch backend unless KERAS_BACKEND says otherwise)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from drumkit.errors import PredictionError
from drumkit.predictor.artifacts import final_step, imported
from drumkit.predictor.targets import TargetType

NAME = "keras"
EXTRA = "keras"
EXTENSIONS = (".keras", ".h5")


def load(path: Path) -> Any:
    """`keras.saving.load_model(path, compile=False)`: scoring needs no optimizer or loss."""
    # Keras would default to tensorflow; drumkit's keras extra brings torch instead.
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    return keras.saving.load_model(str(path), compile=False)


def handles(model: Any) -> bool:
    """A `keras.Model` or a Pipeline ending in one."""
    keras = imported("keras")
    return keras is not None and isinstance(final_step(model), keras.Model)


def predict(model: Any, frame: Any, target_type: TargetType) -> tuple[Any, list | None]:
    """`model.predict` on float32 values (a Pipeline gets the frame); no labels."""
    import numpy as np

    if not (target_type.is_classification or target_type in (TargetType.REGRESSION, TargetType.ANOMALY)):
        raise PredictionError(f"Target type '{target_type}' is not supported by the keras predictor")
    if final_step(model) is not model:
        return np.asarray(model.predict(frame)), None
    return np.asarray(model.predict(frame.to_numpy(dtype=np.float32), verbose=0)), None
