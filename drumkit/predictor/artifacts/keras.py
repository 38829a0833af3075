"""Keras 3: `.keras` and `.h5` model files (the torch backend unless KERAS_BACKEND says otherwise)."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from drumkit.errors import PredictionError
from drumkit.predictor.artifacts import final_step, imported
from drumkit.predictor.targets import TargetType

NAME = "keras"
EXTRA = "keras"
EXTENSIONS = (".keras", ".h5")


# Keras backends -> the module each needs.
_BACKEND_MODULES = {
    "tensorflow": "tensorflow",
    "jax": "jax",
    "torch": "torch",
    "numpy": "numpy",
    "openvino": "openvino",
}


def choose_backend() -> str:
    """KERAS_BACKEND if set, else keras.json's backend when installed, else torch (the keras extra's)."""
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen
    configured = _configured_backend()
    module = _BACKEND_MODULES.get(configured or "")
    if configured and module and importlib.util.find_spec(module) is not None:
        return configured
    # keras.json says tensorflow by default, and drumkit's keras extra brings torch instead.
    os.environ["KERAS_BACKEND"] = "torch"
    return "torch"


def _configured_backend() -> str | None:
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        return json.loads((home / "keras.json").read_text()).get("backend")
    except (OSError, ValueError, AttributeError):
        return None


def load(path: Path) -> Any:
    """`keras.saving.load_model(path, compile=False)`: scoring needs no optimizer or loss."""
    choose_backend()
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
