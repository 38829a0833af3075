"""Parquet: bodies and files to DataFrames (row groups as blocks), DataFrames appended to a Parquet file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from drumkit.errors import PayloadError
from drumkit.predictor.codecs.arrow_codec import TableWriter, to_frame


def _error(what: str, exc: Exception) -> PayloadError:
    return PayloadError(f"Could not read {what}: {str(exc).splitlines()[0][:200]}")


def decode(data: bytes, _colnames=None):
    """A whole Parquet body -> DataFrame."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return to_frame(pq.read_table(pa.BufferReader(data)))
    except (pa.ArrowException, OSError) as exc:
        raise _error("the Parquet input", exc) from None


def _blocks(source, what: str, block_rows: int) -> Iterator[tuple[object, float]]:
    """(DataFrame, share of rows done) per block of a Parquet source."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(source)
        total = max(parquet.metadata.num_rows, 1)
        done = 0
        for batch in parquet.iter_batches(batch_size=block_rows):
            done += batch.num_rows
            yield to_frame(pa.Table.from_batches([batch])), done / total
        if parquet.metadata.num_rows == 0:
            yield to_frame(parquet.schema_arrow.empty_table()), 1.0
    except (pa.ArrowException, OSError) as exc:
        raise _error(what, exc) from None


def read_row_groups(source, groups, what: str, use_threads: bool = True):
    """The DataFrame of some row groups of a Parquet file (a partition of a dataset).

    A dask worker reads on its one thread: pyarrow's parallel column decoding holds about twice
    the partition in its pool at once, and the pool's unused memory is handed back after.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from drumkit.predictor.codecs.arrow_codec import to_frame

    try:
        frame = to_frame(pq.ParquetFile(source).read_row_groups(list(groups), use_threads=use_threads))
    except (pa.ArrowInvalid, OSError) as exc:
        raise _error(what, exc) from None
    pa.default_memory_pool().release_unused()
    return frame


def iter_body(data: bytes, block_bytes: int) -> Iterator:
    """Row blocks of a Parquet body (rows per block scaled from the body's bytes per row)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        rows = pq.ParquetFile(pa.BufferReader(data)).metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
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


class FileWriter(TableWriter):
    """Append DataFrames to a Parquet file, one row group per block."""

    def __init__(self, path: Path):
        import pyarrow.parquet as pq

        super().__init__(path, pq.ParquetWriter)
