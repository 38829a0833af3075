"""The `/transform/` answer (DRUM 5.4.4): a multipart body with X.format, X.transformed and optional y."""

from __future__ import annotations

import io
from typing import Any

from drumkit.errors import PredictionError


def _clean_names(frame) -> list[str]:
    names = [str(c).strip().replace("\n", "\\n") for c in frame.columns]
    if names and all(not name for name in names):
        raise PredictionError("Transformed data has only blank column names")
    return names


def _csv_bytes(frame) -> bytes:
    # DRUM sends CRLF lines without a final line break.
    text = frame.to_csv(index=False, lineterminator="\r\n")
    return text.removesuffix("\r\n").encode("utf-8")


def _is_sparse(frame) -> bool:
    import pandas as pd

    return frame.shape[1] > 0 and all(isinstance(dtype, pd.SparseDtype) for dtype in frame.dtypes)


def transform_body(transformed: Any, target: Any = None) -> tuple[bytes, str]:
    """(body, content type) for the transformed frame and the pass-through target."""
    from urllib3 import encode_multipart_formdata

    names = _clean_names(transformed)
    fields: list[tuple[str, Any]] = []
    if _is_sparse(transformed):
        import scipy.io

        buffer = io.BytesIO()
        scipy.io.mmwrite(buffer, transformed.sparse.to_coo())
        fields += [
            ("X.format", "sparse"),
            ("X.transformed", ("X.transformed", buffer.getvalue(), "application/octet-stream")),
            ("X.colnames", ("X.colnames", "\n".join(names).encode("utf-8"), "application/octet-stream")),
        ]
    else:
        frame = transformed.set_axis(names, axis=1)
        fields += [
            ("X.format", "csv"),
            ("X.transformed", ("X.transformed", _csv_bytes(frame), "application/octet-stream")),
        ]
    if target is not None:
        fields += [
            ("y.format", "csv"),
            ("y.transformed", ("y.transformed", _csv_bytes(target), "application/octet-stream")),
        ]
    return encode_multipart_formdata(fields)
