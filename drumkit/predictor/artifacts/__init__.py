"""Framework adapters in a registry: which files each one loads, which models it scores.

Each adapter module defines NAME, EXTRA (the pip extra that brings the framework), EXTENSIONS,
`load(path)`, `handles(model)` and `predict(model, frame, target_type) -> (values, labels | None)`;
optionally `transform(model, frame)`. They are imported only when a code dir needs them.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from drumkit.errors import ModelLoadError

# DRUM's lookup order when no score hook is given (2.4); later frameworks register here too.
ADAPTERS: tuple[str, ...] = ("sklearn",)

# File extension -> adapters that may load it, in the order they are tried.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    ".pkl": ("sklearn",),
    ".joblib": ("sklearn",),
}


def artifact_extensions() -> set[str]:
    """Every extension some adapter loads."""
    return set(EXTENSIONS)


def adapter(name: str) -> ModuleType:
    """Import one adapter module."""
    return importlib.import_module(f"drumkit.predictor.artifacts.{name}")


def load_artifact(path: Path) -> Any:
    """Load one artifact file with the first adapter that accepts its extension."""
    names = EXTENSIONS.get(path.suffix.lower(), ())
    if not names:
        raise ModelLoadError(f"No framework adapter loads '{path.name}' (supported: {sorted(EXTENSIONS)})")
    for name in names:
        module = adapter(name)
        try:
            return module.load(path)
        except ModuleNotFoundError as exc:
            raise ModelLoadError(
                f"Could not load model from the artifact file {path.name}: it needs the Python module "
                f"'{exc.name}'. Install it with: pip install 'drumkit[{module.EXTRA}]'"
            ) from exc
        except Exception as exc:
            raise ModelLoadError(
                f"Could not load model from the artifact file {path.name}. Exception: {exc!r}"
            ) from exc
    raise AssertionError("unreachable")


def adapter_for(model: Any) -> ModuleType | None:
    """The first adapter (in DRUM's order) that can score this model object, or None."""
    for name in ADAPTERS:
        module = adapter(name)
        if module.handles(model):
            return module
    return None
