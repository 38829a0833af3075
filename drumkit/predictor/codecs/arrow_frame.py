"""Arrow tables (Arrow and Parquet payloads) to the DataFrame `Table.to_pandas` gives.

A plain table (numbers, booleans and text, no pandas metadata) is built here from its columns: the
same dtypes, values and block layout as `to_pandas`, for about two thirds of its cost (10k rows x 25
columns: 0.38 instead of 0.5 ms). `to_pandas` spends the rest in Python, working out per column what
the schema's metadata and types ask for. Every other table is `to_pandas`'s.
"""

from __future__ import annotations

import functools
from typing import Any

from drumkit.errors import PayloadError
from drumkit.predictor.codecs.frames import frame_of


def to_frame(table):
    """An Arrow table as pandas gives it (same-typed columns merged: models slice such frames faster).

    On one thread: for request-sized tables the thread pool's hand-offs cost more CPU than they save
    (10k rows x 25 columns: 0.8 ms instead of 1.3 ms), and workers already use every core. pandas
    rebuilds its index and dtypes from the schema's `pandas` metadata, which a client writes: metadata
    that is not what pandas wrote is a payload error (422), not a server failure.
    """
    import pyarrow as pa

    frame = _plain_frame(table)
    if frame is not None:
        return frame
    try:
        return table.to_pandas(use_threads=False)
    except pa.ArrowException:
        raise
    except Exception:
        if not _pandas_metadata(table):
            raise
        raise PayloadError("Could not read the input: its 'pandas' schema metadata is malformed") from None


def _pandas_metadata(table) -> bool:
    metadata = table.schema.metadata
    return bool(metadata) and b"pandas" in metadata


def _plain_frame(table) -> Any | None:
    """`to_pandas`'s frame of a table of numbers, booleans and text without pandas metadata; None for any other table."""
    names = table.column_names
    if _pandas_metadata(table) or not names or not table.num_rows or len(set(names)) < len(names):
        return None
    values = []
    for column in table.columns:
        array = _column(column)
        if array is None:
            return None
        values.append(array)
    return frame_of(names, values, table.num_rows, consolidate=True)


def _column(column) -> Any | None:
    """One column as `to_pandas` holds it: a numpy array, text in pandas' string array; None for other types."""
    import pyarrow.types as types

    kind = column.type
    # numpy arrays as to_pandas makes them: an integer column with a missing value becomes float64 with
    # NaN in its gaps, floats keep their width (NaN where a value is missing).
    if (types.is_floating(kind) and not types.is_float16(kind)) or types.is_integer(kind):
        return column.to_numpy()
    if types.is_boolean(kind) and not column.null_count:
        return column.to_numpy()
    if types.is_string(kind) or types.is_large_string(kind):
        dtype = _text_dtype()
        return dtype.__from_arrow__(column) if dtype is not None else None
    return None


@functools.cache
def _text_dtype():
    """The extension dtype to_pandas gives Arrow text in this pandas (str in pandas 3); None when it gives objects."""
    import pyarrow as pa

    dtype = pa.table({"a": pa.array(["x"])}).to_pandas()["a"].dtype
    return dtype if hasattr(dtype, "__from_arrow__") else None
