"""Framework adapters in a registry: which files each one loads, which models it scores.

Each adapter module defines NAME, EXTRA (the pip extra that brings the framework), EXTENSIONS,
`load(path)`, `handles(model)` and `predict(model, frame, target_type) -> (values, labels | None)`;
optionally `transform(model, frame)`. They are imported only when a code dir needs them.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from drumkit.errors import ModelLoadError, PayloadError

if TYPE_CHECKING:
    from types import ModuleType

    from drumkit.predictor.targets import TargetType

# DRUM's lookup order when no score hook is given (2.4). lightgbm (not a DRUM predictor) goes before
# sklearn because its sklearn-API models are also scikit-learn estimators.
ADAPTERS: tuple[str, ...] = ("keras", "xgboost", "lightgbm", "torch", "sklearn", "onnx")

# File extension -> adapters that may load it, in the order they are tried. A pickle is a pickle:
# xgboost, lightgbm and scikit-learn models all unpickle the same way, and `adapter_for` then picks
# the scorer by the model's type.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    ".pkl": ("sklearn",),
    ".joblib": ("sklearn",),
    ".json": ("xgboost",),
    ".ubj": ("xgboost",),
    ".txt": ("lightgbm",),
    ".onnx": ("onnx",),
    ".pth": ("torch",),
    ".pt": ("torch",),
    ".keras": ("keras",),
    ".h5": ("keras",),
}

# Extensions that also name ordinary files (requirements.txt, sample payloads): such a file is an
# artifact only when its first bytes look like the framework's own format.
_SIGNATURES: dict[str, tuple[int, re.Pattern[bytes]]] = {
    ".txt": (16, re.compile(rb"tree\r?\n")),  # a LightGBM model file opens with the line `tree`
    ".json": (64, re.compile(rb'\s*\{\s*"learner"\s*:')),  # an XGBoost JSON model opens with {"learner":
}


class Adapter(Protocol):
    """What every adapter module provides (the modules themselves satisfy this protocol)."""

    NAME: str
    EXTRA: str
    EXTENSIONS: tuple[str, ...]

    def load(self, path: Path) -> Any:
        """The model object in one artifact file."""
        ...

    def handles(self, model: Any) -> bool:
        """True when this adapter scores the model object."""
        ...

    def predict(self, model: Any, frame: Any, target_type: TargetType) -> tuple[Any, list | None]:
        """Raw predictions and, for classifiers, the model's own label order."""
        ...


@runtime_checkable
class Transformer(Adapter, Protocol):
    """An adapter that also applies a fitted transformer (scikit-learn's)."""

    def transform(self, model: Any, frame: Any) -> Any:
        """The transformed frame or matrix."""
        ...


# Top-level Python module -> the drumkit extra that installs it.
_EXTRA_FOR_MODULE = {
    "sklearn": "sklearn",
    "joblib": "sklearn",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "onnxruntime": "onnx",
    "torch": "torch",
    "keras": "keras",
}


def artifact_extensions() -> set[str]:
    """Every extension some adapter loads."""
    return set(EXTENSIONS)


def is_artifact(path: Path) -> bool:
    """A file some adapter loads: a known extension and, for shared extensions, the format's signature."""
    suffix = path.suffix.lower()
    if suffix not in EXTENSIONS:
        return False
    signature = _SIGNATURES.get(suffix)
    if signature is None:
        return True
    size, pattern = signature
    try:
        with open(path, "rb") as handle:
            head = handle.read(size)
    except OSError:
        return False
    return pattern.match(head) is not None


def describe_exception(exc: BaseException) -> str:
    """`Type('first line')`: native libraries append whole C++ stack traces to their messages."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}({lines[0] if lines else ''!r})"


def missing_module_hint(exc: ModuleNotFoundError, default_extra: str) -> str:
    """What to install for a missing module: the extra that brings it, when drumkit has one."""
    top = (exc.name or "").split(".")[0]
    extra = _EXTRA_FOR_MODULE.get(top) or (default_extra if not top else None)
    if extra:
        return (
            f"it needs the Python module '{top or exc.name}'. Install it with: pip install 'drumkit[{extra}]'"
        )
    return f"it needs the Python module '{top}', which is not installed (nor in the code dir)"


def adapter(name: str) -> Adapter:
    """Import one adapter module."""
    return cast(Adapter, importlib.import_module(f"drumkit.predictor.artifacts.{name}"))


def load_artifact(path: Path) -> Any:
    """Load one artifact file with the first adapter that accepts its extension."""
    names = EXTENSIONS.get(path.suffix.lower(), ())
    if not names or not is_artifact(path):
        raise ModelLoadError(f"No framework adapter loads '{path.name}' (supported: {sorted(EXTENSIONS)})")
    for name in names:
        try:
            module = adapter(name)
        except ModuleNotFoundError as exc:
            raise ModelLoadError(
                f"Could not load model from the artifact file {path.name}: {missing_module_hint(exc, name)}"
            ) from exc
        try:
            return module.load(path)
        except ModuleNotFoundError as exc:
            raise ModelLoadError(
                f"Could not load model from the artifact file {path.name}: {missing_module_hint(exc, module.EXTRA)}"
            ) from exc
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"Could not load model from the artifact file {path.name}. Exception: {describe_exception(exc)}"
            ) from exc
    raise AssertionError("unreachable")


def adapter_for(model: Any) -> Adapter | None:
    """The first adapter (in DRUM's order) that can score this model object, or None."""
    for name in ADAPTERS:
        module = adapter(name)
        if module.handles(model):
            return module
    return None


def imported(name: str) -> ModuleType | None:
    """The framework module if something already imported it: no model of it can exist otherwise."""
    return sys.modules.get(name)


COLNAMES_HINT = "send the column names (X.colnames in a request, --sparse-column-file for score)"


def align_columns(frame: Any, needed: Any) -> Any:
    """The frame with the columns a model was fitted on (`needed`), or a PayloadError naming the difference.

    A sparse payload without column names (its columns are 0..n-1) is scored by position, as DRUM does.
    Named sparse columns must be the model's names (in any order). Dense input must hold the model's
    columns (a ColumnTransformer may use extra ones).
    """
    columns = getattr(frame, "columns", None)
    if needed is None or columns is None:
        return frame
    needed = [str(name) for name in needed]
    if unnamed_columns(frame):
        if len(columns) != len(needed):
            raise PayloadError(
                f"The input has {len(columns)} unnamed columns but the model was fitted on {len(needed)} named ones "
                f"({_shown(needed)}); {COLNAMES_HINT}"
            )
        return frame.set_axis(needed, axis=1)
    present = set(map(str, columns))
    missing = [name for name in needed if name not in present]
    if _is_sparse(frame):
        wanted = set(needed)
        unexpected = [str(name) for name in columns if str(name) not in wanted]
        if missing or unexpected:
            parts = [f"missing {_shown(missing)}"] * bool(missing) + [
                f"not in the model {_shown(unexpected)}"
            ] * bool(unexpected)
            raise PayloadError(f"The sparse input's column names differ from the model's: {'; '.join(parts)}")
        return frame if list(map(str, columns)) == needed else frame[needed]
    if missing:
        raise PayloadError(f"The input lacks {len(missing)} column(s) the model needs: {_shown(missing)}")
    return frame


def unnamed_columns(frame: Any) -> bool:
    """True for a frame whose columns are only positions 0..n-1 (a sparse payload sent without names)."""
    pandas = sys.modules.get("pandas")
    columns = getattr(frame, "columns", None)
    return pandas is not None and isinstance(columns, pandas.RangeIndex) and len(columns) > 0


def _is_sparse(frame: Any) -> bool:
    pandas = sys.modules.get("pandas")
    return (
        pandas is not None
        and len(frame.columns) > 0
        and all(isinstance(dtype, pandas.SparseDtype) for dtype in frame.dtypes)
    )


def _shown(names: list[str], limit: int = 10) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def final_step(model: Any) -> Any:
    """The last step of a scikit-learn Pipeline, else the model itself."""
    pipeline = getattr(sys.modules.get("sklearn.pipeline"), "Pipeline", None)
    if pipeline is not None and isinstance(model, pipeline) and model.steps:
        return model.steps[-1][1]
    return model
