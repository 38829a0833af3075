"""Predictions -> DRUM's JSON body, with full float precision and NaN/inf as null."""

from __future__ import annotations

import json
import math
from typing import Any

from drumkit.errors import PredictionError


def predictions_json(predictions: Any, classification: bool, keep_values: bool = False) -> bytes:
    """`{"predictions": [...]}` (+ `extraModelOutput` in pandas split orient when extra columns exist).

    Values are cast to float64 as in DRUM, except with `keep_values` (text generation and the other
    single-column types DRUM leaves as they are: text stays text).
    """
    frame = predictions.frame
    if keep_values:
        body: dict[str, Any] = {"predictions": [_clean(v) for v in frame.iloc[:, 0].tolist()]}
        if predictions.extra is not None:
            body["extraModelOutput"] = _split_orient(predictions.extra)
        return dumps(body)
    try:
        values = frame.to_numpy(dtype="float64")
    except (TypeError, ValueError) as exc:
        # DRUM casts predictions to float64 too and reports the conversion error.
        raise PredictionError(str(exc)) from None
    rows = _finite_or_none(values)
    if classification:
        labels = [str(c) for c in frame.columns]
        body = {"predictions": [dict(zip(labels, row)) for row in rows]}
    else:
        body = {"predictions": [row[0] for row in rows]}
    if predictions.extra is not None:
        body["extraModelOutput"] = _split_orient(predictions.extra)
    return dumps(body)


def dumps(body: Any) -> bytes:
    """Compact JSON; Python's float repr keeps every digit."""
    return json.dumps(body, separators=(",", ":"), allow_nan=False, default=_fallback).encode("utf-8")


def _finite_or_none(values) -> list[list]:
    import numpy as np

    rows = values.tolist()
    bad = np.argwhere(~np.isfinite(values))
    for i, j in bad.tolist():  # patching a plain list is far quicker than an object array's tolist
        rows[i][j] = None
    return rows


def _split_orient(extra) -> dict:
    columns = [str(c) for c in extra.columns]
    data = [[_clean(v) for v in row] for row in extra.itertuples(index=False, name=None)]
    return {"columns": columns, "index": list(range(len(extra))), "data": data}


def _clean(value: Any) -> Any:
    if getattr(value, "ndim", 0) > 0:  # an array in a cell (a geopoint, an embedding): a JSON list
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _fallback(value: Any) -> Any:
    return _clean(value)
