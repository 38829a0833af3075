"""DataFrames built straight from column arrays, for readers that already hold each column as pandas would.

`pd.DataFrame(dict)` aligns the dict to the columns, then infers and checks every column again: for a
request-sized frame that costs as much as reading it. The readers here hand over arrays that are
already what the frame holds, so the blocks are built directly (pandas' own constructor of them).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any


def frame_of(names: list, values: list, length: int, consolidate: bool) -> Any | None:
    """A frame with these columns and a RangeIndex; None when this pandas moved its internals (build it yourself).

    `consolidate` merges same-typed columns into one block, as `to_pandas` lays them out (a copy of
    each); without it each column keeps its own block, as read_csv lays out large frames.
    """
    import pandas as pd

    build = _block_builder()
    if build is None:
        return None
    manager = build(
        values,
        column_index(names),
        pd.RangeIndex(length),
        verify_integrity=not _plain(values, length),
        consolidate=consolidate,
    )
    return pd.DataFrame._from_mgr(manager, axes=manager.axes)  # type: ignore[attr-defined]


_INDEXES: dict[tuple, Any] = {}
_MAX_INDEXES = 64


def column_index(names: Sequence) -> Any:
    """The columns Index of these names, one object shared by every frame that has them.

    Requests bring the same header over and over. An Index is immutable, so sharing it is safe, and it
    keeps what pandas caches on it: looking columns up by name builds a hash table of the names (and,
    for pandas 3's Arrow-backed text, an array of Python strings) once per Index. Fresh per frame, that
    and the Index itself cost ~0.1 ms of a 100-row request. Its name is the one mutable part: an Index a
    model has named in place is not handed out again.
    """
    import pandas as pd

    key = tuple((type(name), name) for name in names)  # 1, 1.0 and True are equal keys, not equal Indexes
    index = _INDEXES.get(key)
    if index is None or index.name is not None:
        if len(_INDEXES) >= _MAX_INDEXES:
            _INDEXES.clear()
        index = _INDEXES[key] = pd.Index(list(names))
    return index


@functools.cache
def _block_builder():
    """pandas' constructor of a frame's blocks from column arrays (private), or None when this pandas moved it."""
    import pandas as pd

    try:
        from pandas.core.internals.construction import arrays_to_mgr  # type: ignore[import-not-found]
    except ImportError:
        return None
    return arrays_to_mgr if hasattr(pd.DataFrame, "_from_mgr") else None


def _plain(values: list, length: int) -> bool:
    """Whether the columns are what a frame holds as they are (checking them again is ~20% of a small read)."""
    import numpy as np
    from pandas.api.extensions import ExtensionArray

    return all(
        len(array) == length
        and (isinstance(array, ExtensionArray) or (isinstance(array, np.ndarray) and array.ndim == 1))
        for array in values
    )
