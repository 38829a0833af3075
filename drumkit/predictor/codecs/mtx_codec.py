"""Matrix Market (sparse) payloads: the checked reader in `mtx_guard` -> a sparse DataFrame, column names from `X.colnames`."""

from __future__ import annotations

from drumkit.errors import PayloadError
from drumkit.predictor.codecs.mtx_guard import read


def decode(data: bytes, colnames):
    """A whole .mtx body -> a sparse DataFrame (named columns when names are given)."""
    import pandas as pd

    matrix = read(data)
    if colnames is not None and len(colnames) != matrix.shape[1]:
        raise PayloadError(
            f"The sparse input has {matrix.shape[1]} columns but {len(colnames)} column names were given"
        )
    return pd.DataFrame.sparse.from_spmatrix(matrix, columns=colnames)  # type: ignore[attr-defined]  # pandas-stubs types the accessor on instances only
