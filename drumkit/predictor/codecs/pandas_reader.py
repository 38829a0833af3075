"""CSV through `pandas.read_csv`'s own parser (DRUM's reader), with the frame built from its columns directly.

read_csv spends about half of a 100-row body building the DataFrame from a dict of columns (aligning
the dict to the header, then checking each column again); its parser is cheap. Here the same parser
runs on the same options and its columns go into a frame the way pandas builds one from arrays: the
same columns, dtypes, values and blocks (one per column).
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
    build = _block_builder()
    if index is not None or not arrays or list(arrays) != names or build is None:
        return pd.DataFrame(arrays, columns=columns, index=index, copy=False)
    values = list(arrays.values())
    length = len(values[0])
    # One block per column, as read_csv's DataFrame(dict, copy=False) lays them out: merging the 18 float
    # columns of a 10k-row body costs a copy, and models that select columns then copy them again.
    manager = build(
        values,
        pd.Index(names),
        pd.RangeIndex(length),
        verify_integrity=not _plain(values, length),
        consolidate=False,
    )
    return pd.DataFrame._from_mgr(manager, axes=manager.axes)  # type: ignore[attr-defined]


def _block_builder():
    """pandas' constructor of a frame's blocks from column arrays (private), or None when this pandas moved it."""
    import pandas as pd

    try:
        from pandas.core.internals.construction import arrays_to_mgr  # type: ignore[import-not-found]
    except ImportError:
        return None
    return arrays_to_mgr if hasattr(pd.DataFrame, "_from_mgr") else None


def _plain(values: list, length: int) -> bool:
    """Whether the parser's columns are what a frame holds as they are (checking them again is ~20% of a small read)."""
    import numpy as np
    from pandas.api.extensions import ExtensionArray

    return all(
        len(array) == length
        and (isinstance(array, ExtensionArray) or (isinstance(array, np.ndarray) and array.ndim == 1))
        for array in values
    )
