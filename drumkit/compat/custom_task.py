"""Run a `class CustomTask` (DRUM's custom task interface) through the predictor's hook calls.

As in DRUM: `CustomTask.load(code_dir)` gives the model and its `secrets` are set; then
`predict_proba(X, **kwargs)` scores binary and multiclass models, `predict(X, **kwargs)` the others,
and `transform(X)` transform models. The module-level hooks of custom.py are not used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drumkit.errors import ModelLoadError

CLASS_NAME = "CustomTask"
_INTERFACE = "CustomTaskInterface"
_PACKAGE = "datarobot_drum"

# What drumkit says when a CustomTask method raises (DRUM's words for score and transform).
FAILURE_TEXT = {
    "load_model": "CustomTask.load() failed to load the model.",
    "score": "Model 'score' hook failed to make predictions.",
    "transform": "Model 'transform' hook failed to transform dataset.",
}


def is_task_interface(task_class: Any) -> bool:
    """True when the class subclasses a `datarobot_drum` CustomTaskInterface (the real one or a stand-in)."""
    mro = getattr(task_class, "__mro__", ())
    return any(c.__name__ == _INTERFACE and c.__module__.split(".")[0] == _PACKAGE for c in mro)


def task_hooks(
    task_class: Any, target_type: Any, secrets_mount_path: str | None, secrets_prefix: str | None
) -> dict[str, Callable]:
    """`load_model` plus `score` (or `transform`) functions that drive the task class."""
    from drumkit.compat.secrets import load as load_secrets
    from drumkit.predictor.targets import TargetType

    if not isinstance(task_class, type) or not is_task_interface(task_class):
        raise ModelLoadError("The CustomTask class must inherit from the CustomTaskInterface")
    secrets = load_secrets(secrets_mount_path, secrets_prefix)

    task_type: Any = task_class  # a CustomTaskInterface subclass, checked above

    def load_model(code_dir: str) -> Any:
        task = task_type.load(code_dir)
        if task is not None:
            task.secrets = secrets
        return task

    if target_type is TargetType.TRANSFORM:
        return {"load_model": load_model, "transform": lambda X, model: model.transform(X)}
    if target_type in (TargetType.BINARY, TargetType.MULTICLASS):
        return {
            "load_model": load_model,
            "score": lambda X, model, **kwargs: model.predict_proba(X, **kwargs),
        }
    return {"load_model": load_model, "score": lambda X, model, **kwargs: model.predict(X, **kwargs)}
