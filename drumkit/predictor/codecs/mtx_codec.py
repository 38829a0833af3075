"""Matrix Market (sparse) payloads: scipy's reader -> a sparse DataFrame, column names from `X.colnames`."""

from __future__ import annotations

import io

from drumkit.errors import PayloadError


def decode(data: bytes, colnames):
    """A whole .mtx body -> a sparse DataFrame (named columns when names are given)."""
    import pandas as pd
    import scipy.io
    import scipy.sparse

    try:
        matrix = scipy.io.mmread(io.BytesIO(data))
    except Exception as exc:
        raise PayloadError(f"Could not parse the Matrix Market (.mtx) input: {type(exc).__name__}") from None
    matrix = scipy.sparse.csr_matrix(matrix)
    if colnames is not None and len(colnames) != matrix.shape[1]:
        raise PayloadError(
            f"The sparse input has {matrix.shape[1]} columns but {len(colnames)} column names were given"
        )
    return pd.DataFrame.sparse.from_spmatrix(matrix, columns=colnames)  # type: ignore[attr-defined]  # pandas-stubs types the accessor on instances only
