"""Parquet: bodies and files to DataFrames (row groups as blocks), DataFrames appended to a Parquet file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from drumkit.errors import PayloadError


def _error(what: str, exc: Exception) -> PayloadError:
    return PayloadError(f"Could not read {what}: {str(exc).splitlines()[0][:200]}")


def decode(data: bytes, _colnames=None):
    """A whole Parquet body -> DataFrame."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from drumkit.predictor.codecs.arrow_codec import to_frame

    try:
        return to_frame(pq.read_table(pa.BufferReader(data)))
    except (pa.ArrowInvalid, OSError) as exc:
        raise _error("the Parquet input", exc) from None


def _blocks(source, what: str, block_rows: int) -> Iterator[tuple[object, float]]:
    """(DataFrame, share of rows done) per block of a Parquet source."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from drumkit.predictor.codecs.arrow_codec import to_frame

    try:
        parquet = pq.ParquetFile(source)
        total = max(parquet.metadata.num_rows, 1)
        done = 0
        for batch in parquet.iter_batches(batch_size=block_rows):
            done += batch.num_rows
            yield to_frame(pa.Table.from_batches([batch])), done / total
        if parquet.metadata.num_rows == 0:
            yield to_frame(parquet.schema_arrow.empty_table()), 1.0
    except (pa.ArrowInvalid, OSError) as exc:
        raise _error(what, exc) from None


def iter_body(data: bytes, block_bytes: int) -> Iterator:
    """Row blocks of a Parquet body (rows per block scaled from the body's bytes per row)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        rows = pq.ParquetFile(pa.BufferReader(data)).metadata.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise _error("the Parquet input", exc) from None
    # Parquet compresses: a block's decoded size is several times its share of the body.
    block_rows = max(1, rows * block_bytes // max(4 * len(data), 1))
    for frame, _share in _blocks(pa.BufferReader(data), "the Parquet input", block_rows):
        yield frame


def iter_file(path: Path, _block_bytes: int) -> Iterator[tuple[object, int]]:
    """(DataFrame, bytes of the file consumed so far) per block of a Parquet file."""
    from drumkit.predictor.codecs import BLOCK_ROWS

    size = path.stat().st_size
    for frame, share in _blocks(path, f"the Parquet input {path.name}", BLOCK_ROWS):
        yield frame, int(size * share)


class FileWriter:
    """Append DataFrames to a Parquet file; later blocks are cast to the first block's schema."""

    def __init__(self, path: Path):
        self.path = path
        self._writer: Any = None  # opened with the first block's schema
        self._schema: Any = None

    def write(self, frame) -> None:
        """Append one block as a row group."""
        import pyarrow.parquet as pq

        from drumkit.predictor.codecs.arrow_codec import table_of

        table = table_of(frame)
        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(str(self.path), self._schema)
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        self._writer.write_table(table)

    def close(self) -> None:
        """Finish the file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
