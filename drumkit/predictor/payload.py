"""Payload codecs: bytes in a known format -> DataFrame, in a registry keyed by media type and file suffix."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

from drumkit.errors import PayloadError

CSV, MTX, ARROW, PARQUET = "csv", "mtx", "arrow", "parquet"

MEDIA_TYPES: dict[str, str] = {
    "": CSV,
    "text/csv": CSV,
    "text/plain": CSV,
    "text/mtx": MTX,
    "application/x-apache-arrow-stream": ARROW,
    "application/vnd.apache.arrow.stream": ARROW,
    "application/vnd.apache.arrow.file": ARROW,
    "application/vnd.apache.parquet": PARQUET,
    "application/x-parquet": PARQUET,
}
FILE_SUFFIXES: dict[str, str] = {
    ".mtx": MTX,
    ".arrow": ARROW,
    ".feather": ARROW,
    ".ipc": ARROW,
    ".parquet": PARQUET,
    ".pq": PARQUET,
}


def format_for_media_type(mimetype: str | None) -> str | None:
    """The payload format of a media type (no type means CSV), or None when it is not decodable."""
    return MEDIA_TYPES.get((mimetype or "").split(";")[0].strip().lower())


def split_content_type(content_type: str | None) -> tuple[str, str | None]:
    """`text/plain; charset=utf8` -> ("text/plain", "utf8"); no type means text/plain."""
    mimetype, _, params = (content_type or "").partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip().strip('"')
    return mimetype.strip() or "text/plain", charset


def format_for_filename(name: str | None) -> str:
    """The payload format of a file name: by suffix, CSV for anything else (as DRUM does)."""
    return FILE_SUFFIXES.get(Path(name or "").suffix.lower(), CSV)


def media_type_for_format(fmt: str) -> str | None:
    """The mimetype DRUM hands hooks for a format (None for CSV, as in DRUM)."""
    return {MTX: "text/mtx", ARROW: "application/x-apache-arrow-stream", PARQUET: "application/vnd.apache.parquet"}.get(fmt)


def capabilities() -> dict[str, str | None]:
    """Decodable formats and the library version behind each (null when not pinned, as the spec says)."""
    import pyarrow

    return {CSV: None, MTX: None, ARROW: pyarrow.__version__, PARQUET: pyarrow.__version__}


def read_colnames(data: bytes | str | None) -> list[str] | None:
    """Column names for a sparse payload: one a line, blank lines dropped."""
    if data is None:
        return None
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    names = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    return names or None


def decode(data: bytes, fmt: str, sparse_colnames: list[str] | None = None):
    """Decode a whole payload into a DataFrame."""
    if not data:
        raise PayloadError("The payload is empty")
    return _DECODERS[fmt](data, sparse_colnames)


def _decode_csv(data: bytes, _colnames):
    from drumkit.predictor.csv_reader import SMALL_CSV_BYTES, read_csv_bytes, read_small_csv_bytes
    from drumkit.predictor.csv_tiny import read_tiny_csv

    frame = read_tiny_csv(data)
    if frame is not None:
        return frame
    if len(data) <= SMALL_CSV_BYTES:
        return read_small_csv_bytes(data)
    return read_csv_bytes(data)


def _decode_mtx(data: bytes, colnames):
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
    return pd.DataFrame.sparse.from_spmatrix(matrix, columns=colnames)


def _decode_arrow(data: bytes, _colnames):
    import pyarrow as pa
    import pyarrow.ipc

    for opener in (pyarrow.ipc.open_stream, pyarrow.ipc.open_file):
        try:
            return opener(pa.py_buffer(data)).read_all().to_pandas()
        except (pa.ArrowInvalid, OSError):
            continue
    raise PayloadError("Could not read the Arrow input: it is neither an Arrow IPC stream nor an Arrow file")


def _decode_parquet(data: bytes, _colnames):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(pa.BufferReader(data)).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise PayloadError(f"Could not read the Parquet input: {str(exc).splitlines()[0][:200]}") from None


_DECODERS: dict[str, Callable] = {CSV: _decode_csv, MTX: _decode_mtx, ARROW: _decode_arrow, PARQUET: _decode_parquet}
