"""Check a DataFrame against `typeSchema.input_requirements` (data_types, number_of_columns, sparse, contains_missing).

DRUM enforces these only in `fit`; drumkit's validate checks the scoring input against them. Column
types follow DRUM's meaning: NUM = numeric dtype, TXT = text where more than 75% of the values hold
whitespace, CAT = other text and booleans, DATE = datetime dtype or text that all parses as dates.
IMG, DATE_DURATION, COUNT_DICT and GEO are not inferred (DRUM leaves most of them to DataRobot).
"""

from __future__ import annotations

import operator
from typing import Any

UNCHECKED_TYPES = {"IMG", "DATE_DURATION", "COUNT_DICT", "GEO"}
_COMPARE = {
    "EQUALS": operator.eq,
    "NOT_EQUALS": operator.ne,
    "GREATER_THAN": operator.gt,
    "LESS_THAN": operator.lt,
    "NOT_GREATER_THAN": operator.le,
    "NOT_LESS_THAN": operator.ge,
    "IN": lambda n, values: n in values,
    "NOT_IN": lambda n, values: n not in values,
}


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def is_sparse(frame) -> bool:
    """True when any column has a pandas sparse dtype."""
    import pandas as pd

    return any(isinstance(dtype, pd.SparseDtype) for dtype in frame.dtypes)


def column_types(frame) -> dict[str, str]:
    """Each column's schema type: NUM, TXT, CAT or DATE (a sparse frame is all NUM)."""
    import pandas as pd

    if is_sparse(frame):
        return {str(c): "NUM" for c in frame.columns}
    out: dict[str, str] = {}
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series.dtype):
            out[str(name)] = "CAT"
        elif pd.api.types.is_numeric_dtype(series.dtype):
            out[str(name)] = "NUM"
        elif pd.api.types.is_datetime64_any_dtype(series.dtype):
            out[str(name)] = "DATE"
        else:
            out[str(name)] = _text_type(series)
    return out


def _text_type(series) -> str:
    import pandas as pd

    values = series.dropna()
    if values.empty:
        return "CAT"
    values = values.astype(str)
    if (values.str.contains(r"\s", regex=True)).mean() > 0.75:
        return "TXT"
    sample = values.head(200)
    if sample.str.contains(r"\d[-/.]\d|\d{4}-\d{2}", regex=True).all():
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
        if parsed.notna().all():
            return "DATE"
    return "CAT"


def check_input_requirements(frame, requirements: list[dict]) -> list[str]:
    """One message per requirement the frame does not meet (empty when it meets all of them)."""
    errors: list[str] = []
    for req in requirements or []:
        if not isinstance(req, dict):
            continue
        field, condition, value = req.get("field"), req.get("condition"), req.get("value")
        if field == "data_types":
            errors.extend(_data_types(frame, condition, value))
        elif field == "number_of_columns":
            errors.extend(_number_of_columns(frame, condition, value))
        elif field == "sparse":
            errors.extend(_sparse(frame, value))
        elif field == "contains_missing":
            errors.extend(_missing(frame, value))
    return errors


def _data_types(frame, condition: str | None, value: Any) -> list[str]:
    wanted = [v for v in _as_list(value) if v not in UNCHECKED_TYPES]
    if not wanted or condition not in ("EQUALS", "IN", "NOT_EQUALS", "NOT_IN"):
        return []
    types = column_types(frame)
    present = sorted(set(types.values()))
    ok = {
        "EQUALS": set(present) == set(wanted),
        "IN": set(present) <= set(wanted),
        "NOT_EQUALS": wanted[0] not in present,
        "NOT_IN": not set(present) & set(wanted),
    }[condition]
    if ok:
        return []
    by_type = {t: [c for c, ct in types.items() if ct == t] for t in present}
    found = "; ".join(
        f"{t}: {', '.join(cols[:5])}{' ...' if len(cols) > 5 else ''}" for t, cols in by_type.items()
    )
    return [
        f"Datatypes incorrect. Data has types: {', '.join(present)}, but the schema says data_types "
        f"{condition} {', '.join(sorted(wanted))} (columns by type: {found})"
    ]


def _number_of_columns(frame, condition: str | None, value: Any) -> list[str]:
    test = _COMPARE.get(condition or "")
    try:
        numbers = [int(v) for v in _as_list(value)]
    except (TypeError, ValueError):
        return []
    if test is None or not numbers:
        return []
    target = numbers if condition in ("IN", "NOT_IN") else numbers[0]
    received = frame.shape[1]
    if test(received, target):
        return []
    return [
        f"Incorrect number of columns. {received} received. However, the schema dictates that number of "
        f"columns should be {condition} {value}"
    ]


def _sparse(frame, value: Any) -> list[str]:
    sparse = is_sparse(frame)
    if sparse and value == "FORBIDDEN":
        return ["Sparse input data found, however value is set to FORBIDDEN, expecting dense"]
    if not sparse and value == "REQUIRED":
        return ["Dense input data found, however value is set to REQUIRED, expecting sparse"]
    return []


def _missing(frame, value: Any) -> list[str]:
    if value != "FORBIDDEN" or is_sparse(frame):
        return []
    counts = frame.isna().sum()
    columns = [str(c) for c, n in counts.items() if n]
    if not columns:
        return []
    return [
        f"Input contains missing values, which the supplied task schema does not allow "
        f"(columns: {', '.join(columns[:10])}{' ...' if len(columns) > 10 else ''})"
    ]
