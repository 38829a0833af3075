"""Target types, class labels, and the checks and shaping DRUM applies to predictions (4.1)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from drumkit.errors import PredictionError, RowCountError
from drumkit.predictor.codecs.frames import column_index

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class TargetType(str, Enum):
    """A model's target type; compares equal to its string value."""

    REGRESSION = "regression"
    BINARY = "binary"
    MULTICLASS = "multiclass"
    MULTILABEL = "multilabel"
    ANOMALY = "anomaly"
    TRANSFORM = "transform"
    UNSTRUCTURED = "unstructured"
    TEXT_GENERATION = "textgeneration"
    GEO_POINT = "geopoint"
    VECTOR_DATABASE = "vectordatabase"
    AGENTIC_WORKFLOW = "agenticworkflow"

    def __str__(self) -> str:
        return self.value

    @property
    def is_classification(self) -> bool:
        """Binary, multiclass or multilabel."""
        return self in (TargetType.BINARY, TargetType.MULTICLASS, TargetType.MULTILABEL)

    @property
    def is_single_column(self) -> bool:
        """Predictions are one `Predictions` column."""
        return self in (TargetType.REGRESSION, TargetType.ANOMALY) or self.keeps_values

    @property
    def keeps_values(self) -> bool:
        """Predictions are served as the model gave them (text stays text), not cast to float."""
        return self in (
            TargetType.TEXT_GENERATION,
            TargetType.GEO_POINT,
            TargetType.VECTOR_DATABASE,
            TargetType.AGENTIC_WORKFLOW,
        )

    @property
    def names_its_target(self) -> bool:
        """DRUM reads TARGET_NAME for these: the prediction column among several a score hook returns."""
        return self in (TargetType.TEXT_GENERATION, TargetType.VECTOR_DATABASE, TargetType.AGENTIC_WORKFLOW)

    @property
    def is_structured(self) -> bool:
        """Rows in, rows out (everything but unstructured)."""
        return self is not TargetType.UNSTRUCTURED


TARGET_TYPE_NAMES = [t.value for t in TargetType]
PREDICTIONS_COLUMN = "Predictions"


def normalize_label(label: Any) -> Any:
    """DRUM's label normalisation: float if possible, then boolean words as 1.0/0.0, else lower-case text."""
    text = str(label)
    try:
        return float(text)
    except ValueError:
        pass
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "y", "on", "t"):
        return 1.0
    if lowered in ("false", "no", "n", "off", "f"):
        return 0.0
    return text.lower()


def _plain(labels: Sequence[Any]) -> list:
    return [label.item() if hasattr(label, "item") else label for label in labels]


def split_extra_columns(
    frame: pd.DataFrame,
    target_type: TargetType,
    request_labels: Sequence[str] | None,
    target_name: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Split a score hook's DataFrame into prediction columns and extra model output (4.1 step 1)."""
    if target_type.is_classification and request_labels:
        if frame.shape[1] <= len(request_labels):
            return frame, None
        wanted = {normalize_label(label) for label in request_labels}
        label_cols = [c for c in frame.columns if normalize_label(c) in wanted]
        extra_cols = [c for c in frame.columns if normalize_label(c) not in wanted]
        return frame[label_cols], (frame[extra_cols] if extra_cols else None)
    if target_type.is_single_column and frame.shape[1] > 1:
        column = PREDICTIONS_COLUMN
        if target_type.names_its_target and target_name:
            column = _unquoted_column(frame, target_name)
        if column not in frame.columns:
            hint = (
                f"set TARGET_NAME to the prediction column or name it '{PREDICTIONS_COLUMN}'"
                if target_type.names_its_target
                else f"the prediction column must be named '{PREDICTIONS_COLUMN}'"
            )
            raise PredictionError(
                f"The score hook returned {frame.shape[1]} columns {list(map(str, frame.columns))} and none is "
                f"'{column}'; with extra model output, {hint}"
            )
        extra = frame.drop(columns=[column])
        return frame[[column]], extra
    return frame, None


def _unquoted_column(frame: pd.DataFrame, target_name: str) -> str:
    """TARGET_NAME as a column of the frame; DRUM strips surrounding double quotes when only that matches."""
    if target_name not in frame.columns and len(target_name) > 1 and target_name[0] == target_name[-1] == '"':
        return target_name[1:-1]
    return target_name


def shape_predictions(
    values: Any,
    model_labels: Sequence[Any] | None,
    target_type: TargetType,
    request_labels: Sequence[str] | None,
    n_rows: int | None,
) -> pd.DataFrame:
    """Check raw predictions and return DRUM's prediction frame: `Predictions` or one column per label."""
    import numpy as np

    if not isinstance(values, np.ndarray):
        raise PredictionError(f"predictions must return a np array, but received {type(values)}")
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    if values.ndim != 2:
        raise PredictionError(
            f"predictions must return a 2 dimensional array, but we received a {values.ndim} dimensional array"
        )
    if n_rows is not None and values.shape[0] != n_rows:
        raise RowCountError(
            f"The model returned {values.shape[0]} prediction rows for {n_rows} input rows; "
            "every input row needs exactly one prediction row"
        )
    if not target_type.is_classification:
        if values.shape[1] != 1:
            raise PredictionError(
                "Regression, Text Generation, Agentic Workflow and anomaly predictions must contain only 1 column. "
                f"Your predictions have {values.shape[1]} columns"
            )
        if target_type in (TargetType.REGRESSION, TargetType.ANOMALY):
            values = _as_numbers(values, target_type)
        return _frame(values[:, :1], [PREDICTIONS_COLUMN])

    labels = list(request_labels or [])
    if model_labels is not None and values.shape[1] > 1:
        model_norm = [normalize_label(label) for label in model_labels]
        request_by_norm = {normalize_label(label): label for label in labels}
        if set(model_norm) != set(request_by_norm):
            raise PredictionError(
                f"Expected predictions to have columns {labels}, but encountered {_plain(model_labels)}"
            )
        labels = [request_by_norm[norm] for norm in model_norm]
    if values.shape[1] == 1:
        if len(labels) == 1:
            raise PredictionError("Classification problems must have more than one class label")
        if len(labels) > 2:
            raise PredictionError(
                f"Only one dimension of probability returned, but there are {len(labels)} class labels in this model"
            )
        return _one_column(_as_probabilities(values, target_type)[:, 0], model_labels, target_type, labels)
    if values.shape[1] != len(labels):
        raise PredictionError(
            "Your predictions must return the probability distribution for the correct number of class labels. "
            f"Expected {len(labels)} columns, but received {values.shape[1]}"
        )
    return _check_probabilities(_as_probabilities(values, target_type), labels, target_type)


def _one_column(
    p: np.ndarray, model_labels: Sequence[Any] | None, target_type: TargetType, labels: list
) -> pd.DataFrame:
    """Spread one probability column over two labels: it belongs to the second of DRUM's column order.

    That order is [negative, positive] for binary, so the column is the POSITIVE class, as DRUM documents
    (DRUM 1.18.1 passes [positive, negative] and so gives it to the negative label: see
    docs/compatibility.md). For multiclass it is the class labels' own order, so the column belongs to
    the second label, as in DRUM.
    """
    import numpy as np

    order = [labels[1], labels[0]] if target_type is TargetType.BINARY else labels
    if (
        model_labels is not None
        and len(model_labels) == 1
        and normalize_label(model_labels[0]) == normalize_label(order[0])
    ):
        p = 1 - p  # a score hook's single column named after the first label holds that label's probability
    return _check_probabilities(np.column_stack([1 - p, p]), order, target_type)


def _frame(values: np.ndarray, columns: Sequence[Any]) -> pd.DataFrame:
    """A DataFrame over a 2-D array without copying; the explicit index and columns make it ~10x cheaper."""
    import pandas as pd

    return pd.DataFrame(values, index=pd.RangeIndex(len(values)), columns=column_index(columns), copy=False)


def _as_numbers(values: np.ndarray, target_type: TargetType) -> np.ndarray:
    """Numbers stay as they are (booleans become 1.0/0.0, as DRUM's float cast makes them); anything else is the
    wrong kind of output for the target type."""
    if values.dtype.kind in "iuf":
        return values
    try:
        return values.astype(float)
    except (TypeError, ValueError):
        raise PredictionError(
            f"Target type '{target_type}' needs numeric predictions, but the model returned {_kind_of(values)}; "
            "a classifier is served with --target-type binary or multiclass (and its class labels)"
        ) from None


def _kind_of(values: np.ndarray) -> str:
    """`text values such as 'yes', 'no'`: what came back, in a few words."""
    flat = values.ravel()
    samples = list(dict.fromkeys(flat[:1000].tolist()))[:3]
    shown = ", ".join(repr(v) for v in samples)
    kinds = sorted({type(v).__name__ for v in samples})
    what = "text values" if kinds == ["str"] else f"{'/'.join(kinds)} values"
    return f"{what} such as {shown}" if samples else f"values of dtype {values.dtype}"


def _as_probabilities(values: np.ndarray, target_type: TargetType) -> np.ndarray:
    if values.dtype.kind in "biuf":
        return values.astype(float, copy=False)
    try:
        return values.astype(float)
    except (TypeError, ValueError):
        raise PredictionError(
            f"Target type '{target_type}' needs prediction probabilities (numbers), but the model returned "
            f"{_kind_of(values)}"
        ) from None


def _check_probabilities(probs: np.ndarray, labels: Sequence[Any], target_type: TargetType) -> pd.DataFrame:
    import numpy as np

    if (probs < 0).any():
        raise PredictionError("Your prediction probabilities have negative values")
    if (probs > 1).any():
        raise PredictionError("Your prediction probabilities have values greater than 1")
    if target_type is not TargetType.MULTILABEL:
        ok = np.isclose(probs.sum(axis=1), 1.0, rtol=1e-5, atol=1e-8)
        if not ok.all():
            bad = probs[~ok]
            raise PredictionError(
                f"Your prediction probabilities do not add up to 1. {len(bad)} row(s) fail, "
                f"the first at row {int(np.flatnonzero(~ok)[0])}: {bad[0].tolist()}"
            )
    return _frame(probs, labels)


def empty_predictions(target_type: TargetType, request_labels: Sequence[str] | None) -> pd.DataFrame:
    """The zero-row prediction frame for a target type."""
    import pandas as pd

    columns = (
        list(request_labels) if target_type.is_classification and request_labels else [PREDICTIONS_COLUMN]
    )
    dtype = object if target_type.keeps_values else float
    return pd.DataFrame({c: pd.Series(dtype=dtype) for c in columns})
