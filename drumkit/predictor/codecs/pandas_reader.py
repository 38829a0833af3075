"""CSV through `pandas.read_csv`'s own parser (DRUM's reader), with the frame built from its columns directly.

read_csv spends about half of a 100-row body building the DataFrame from a dict of columns (aligning
the dict to the header, then checking each column again); its parser is cheap. Here the same parser
runs on the same options and its columns go into a frame the way pandas builds one from arrays: the
same columns, dtypes and values (same-typed columns then share a block, as in every other reader here).
Whatever this pandas returns that is not the plain case (an index column, no columns, a changed
internal API) is built by read_csv's own code.
"""

from __future__ import annotations

import io


def read_csv(data: bytes):
    """The frame DRUM reads from a CSV payload: read_csv, re-read keeping blank lines when it has one column."""
    frame = _read(data)
    if frame.shape[1] == 1:
        frame = _read(data, skip_blank_lines=False)
    return frame


def _read(data: bytes, **options):
    import pandas as pd

    reader = pd.read_csv(io.BytesIO(data), iterator=True, **options)
    with reader:
        read = getattr(getattr(reader, "_engine", None), "read", None)  # private: the parser behind read()
        if getattr(reader, "engine", None) != "c" or read is None:
            return reader.read()
        parsed = read(None)
    try:
        index, columns, arrays = parsed
    except (TypeError, ValueError):
        return pd.read_csv(io.BytesIO(data), **options)
    names = list(columns)
    # private: the constructor read_csv's dict of columns ends up in
    from_arrays = getattr(pd.DataFrame, "_from_arrays", None)
    if index is not None or not arrays or list(arrays) != names or from_arrays is None:
        return pd.DataFrame(arrays, columns=columns, index=index, copy=False)
    values = list(arrays.values())
    length = len(values[0])
    return from_arrays(
        values,
        columns=pd.Index(names),
        index=pd.RangeIndex(length),
        verify_integrity=not _plain(values, length),
    )


def _plain(values: list, length: int) -> bool:
    """Whether the parser's columns are what a frame holds as they are (checking them again is ~20% of a small read)."""
    import numpy as np
    from pandas.api.extensions import ExtensionArray

    return all(
        len(array) == length
        and (isinstance(array, ExtensionArray) or (isinstance(array, np.ndarray) and array.ndim == 1))
        for array in values
    )
