"""Predictions -> DRUM's JSON body, and compact JSON for every other answer, through orjson.

orjson writes float64 arrays straight from numpy with the shortest text that parses back to the
same double (as Python's repr does) and NaN/inf as null, as DRUM's body has them: a 10k-row answer
costs 0.2 ms instead of 13 ms through `tolist()` and the stdlib encoder.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import orjson

from drumkit.errors import PredictionError

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def dumps(body: Any) -> bytes:
    """Compact JSON; every float keeps every digit, NaN/inf become null, odd values their text."""
    return orjson.dumps(body, default=_clean, option=_OPTIONS)


def predictions_json(predictions: Any, classification: bool, keep_values: bool = False) -> bytes:
    """`{"predictions": [...]}` (+ `extraModelOutput` in pandas split orient when extra columns exist).

    Values are cast to float64 as in DRUM, except with `keep_values` (text generation and the other
    single-column types DRUM leaves as they are: text stays text).
    """
    import numpy as np

    frame = predictions.frame
    if keep_values:
        body: dict[str, Any] = {"predictions": [_clean(v) for v in frame.iloc[:, 0].tolist()]}
        if predictions.extra is not None:
            body["extraModelOutput"] = _split_orient(predictions.extra)
        return dumps(body)
    try:
        values = np.ascontiguousarray(frame.to_numpy(dtype="float64"))
    except (TypeError, ValueError) as exc:
        # DRUM casts predictions to float64 too and reports the conversion error.
        raise PredictionError(str(exc)) from None
    if classification:
        labels = [str(c) for c in frame.columns]
        body = {"predictions": [dict(zip(labels, row, strict=True)) for row in values.tolist()]}
    else:
        body = {"predictions": values[:, 0] if values.ndim == 2 else values}
    if predictions.extra is not None:
        body["extraModelOutput"] = _split_orient(predictions.extra)
    return dumps(body)


def _split_orient(extra) -> dict:
    columns = [str(c) for c in extra.columns]
    data = [[_clean(v) for v in row] for row in extra.itertuples(index=False, name=None)]
    return {"columns": columns, "index": list(range(len(extra))), "data": data}


def _clean(value: Any) -> Any:
    """A value JSON can hold: numpy scalars as Python ones, missing values as None, anything else as text."""
    if getattr(value, "ndim", 0) > 0:  # an array in a cell (a geopoint, an embedding): a JSON list
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
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
