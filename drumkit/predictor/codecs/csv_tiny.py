"""A fast path for tiny, plain CSV payloads (a few rows: online scoring), or None to fall back.

`pandas.read_csv` costs about a millisecond whatever the size, most of a one-row request. This
reader takes only the unambiguous subset (no quotes, `\\n` or `\\r\\n` line ends, unique non-empty
header names, the same field count on every row, numbers in plain decimal or exponent form) and
gives the dtypes and values read_csv gives; for anything else it returns None and read_csv decides.
`tests/test_csv_tiny.py` checks the two agree on generated tables.
"""

from __future__ import annotations

import re

from drumkit.predictor.codecs.csv_blocks import PANDAS_NA_VALUES
from drumkit.predictor.codecs.frames import column_index
from drumkit.predictor.codecs.pandas_reader import text_dtype

MAX_BYTES = 16 * 1024
MAX_ROWS = 16
_NA = frozenset(PANDAS_NA_VALUES)
_INT = re.compile(r"[+-]?\d+", re.ASCII)
_FLOAT = re.compile(r"[+-]?(?:(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d{1,2})?|\d+[eE][+-]?\d{1,2})", re.ASCII)
_BOOL = {"True": True, "TRUE": True, "true": True, "False": False, "FALSE": False, "false": False}


def read_tiny_csv(data: bytes):
    """The DataFrame read_csv would give for a tiny plain CSV, or None when read_csv must decide."""
    if len(data) > MAX_BYTES or b'"' in data:
        return None
    if b"\r" in data:
        if data.count(b"\r") != data.count(b"\r\n"):
            return None
        data = data.replace(b"\r\n", b"\n")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.removeprefix("\ufeff").split("\n")
    if lines[-1] == "":
        lines.pop()
    if not 2 <= len(lines) <= MAX_ROWS + 1:
        return None
    header = lines[0].split(",")
    if len(header) < 2 or "" in header or len(set(header)) != len(header):
        return None
    rows = [line.split(",") for line in lines[1:]]
    if any(len(row) != len(header) for row in rows):
        return None
    columns = []
    for values in zip(*rows, strict=True):
        column = _column(values)
        if column is None:
            return None
        columns.append(column)
    return _frame(columns, header, len(rows))


def _frame(columns: list, header: list[str], n_rows: int):
    import pandas as pd

    index = pd.RangeIndex(n_rows)
    try:
        # The constructor read_csv itself uses: ~5x cheaper than a dict of columns.
        from_arrays = pd.DataFrame._from_arrays  # type: ignore[attr-defined]  # private, guarded below
        return from_arrays(columns, columns=column_index(header), index=index, verify_integrity=False)
    except (AttributeError, TypeError):
        return pd.DataFrame(dict(zip(header, columns, strict=True)), index=index, copy=False)


def _text_column(values: tuple[str, ...]):
    """Text as read_csv types it in this pandas (str in pandas 3, object before)."""
    import numpy as np
    import pandas as pd

    text = text_dtype()
    if isinstance(text, pd.api.extensions.ExtensionDtype):
        cells = [None if v in _NA else v for v in values]
        array_type = text.construct_array_type()
        if getattr(text, "storage", None) == "pyarrow":
            import pyarrow as pa

            # Wrapping an Arrow array directly is 4x cheaper than pd.array's type sniffing.
            return array_type(pa.array(cells, type=pa.large_string()), dtype=text)  # type: ignore[call-arg]  # ArrowStringArray
        return array_type._from_sequence(cells, dtype=text)  # type: ignore[attr-defined]  # pandas' own constructor
    return np.array([np.nan if v in _NA else v for v in values], dtype=object)


def _column(values: tuple[str, ...]):
    import numpy as np

    kinds = set()
    for value in values:
        if value in _NA:
            kinds.add("na")
        elif _INT.fullmatch(value):
            # 18 digits always fit int64; longer ones read_csv may make uint64 or float.
            kinds.add("int" if len(value.lstrip("+-")) <= 18 else "odd")
        elif _FLOAT.fullmatch(value):
            kinds.add("float")
        elif value in _BOOL:
            kinds.add("bool")
        else:
            kinds.add("text")
    if "odd" in kinds:
        return None
    if "text" in kinds:
        # read_csv's number and bool parsers forgive some spacing and mixes; leave those to it.
        if "bool" in kinds or any(v != v.strip() or _looks_numeric(v) for v in values if v not in _NA):
            return None
        return _text_column(values)
    if kinds == {"int"}:
        return np.array([int(v) for v in values], dtype=np.int64)
    if kinds <= {"int", "float", "na"}:
        return np.array([np.nan if v in _NA else float(v) for v in values], dtype=np.float64)
    if kinds == {"bool"}:
        return np.array([_BOOL[v] for v in values], dtype=bool)
    if kinds == {"bool", "na"}:
        return np.array([np.nan if v in _NA else _BOOL[v] for v in values], dtype=object)
    return None


def _looks_numeric(value: str) -> bool:
    """Text read_csv might still parse as a number (inf, 1_000, 0x1F, long exponents...)."""
    if value[:1] in "+-.0123456789":
        return True
    return value.lower().lstrip("+-") in ("inf", "infinity", "nan")
