"""Arrow IPC (stream or file format): bodies and files to DataFrames, predictions to an IPC stream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from drumkit.errors import PayloadError
from drumkit.predictor.codecs.arrow_frame import to_frame

NEITHER = "it is neither an Arrow IPC stream nor an Arrow file"


def _open(source, what: str):
    """(schema, record batches) of an Arrow stream or file in a buffer or memory map."""
    import pyarrow as pa
    import pyarrow.ipc

    try:
        reader = pyarrow.ipc.open_file(source)
        return reader.schema, (reader.get_batch(i) for i in range(reader.num_record_batches))
    except (pa.ArrowException, OSError):
        pass
    try:
        reader = pyarrow.ipc.open_stream(source)
        return reader.schema, iter(reader)
    except (pa.ArrowException, OSError):
        raise PayloadError(f"Could not read {what}: {NEITHER}") from None


def decode(data: bytes, _colnames=None):
    """A whole Arrow body -> DataFrame."""
    import pyarrow as pa

    schema, batches = _open(pa.py_buffer(data), "the Arrow input")
    try:
        return to_frame(pa.Table.from_batches(list(batches), schema=schema))
    except (pa.ArrowException, OSError) as exc:
        raise PayloadError(f"Could not read the Arrow input: {str(exc).splitlines()[0][:200]}") from None


def _blocks(schema, batches, what: str, block_rows: int) -> Iterator:
    """DataFrames of at most `block_rows` rows; small record batches are pooled into one block."""
    import pyarrow as pa

    pending: list = []
    pending_rows = 0
    emitted = False
    try:
        for batch in batches:
            for start in range(0, batch.num_rows, block_rows):
                piece = batch.slice(start, block_rows)
                if pending_rows + piece.num_rows > block_rows and pending:
                    emitted = True
                    yield to_frame(pa.Table.from_batches(pending, schema=schema))
                    pending, pending_rows = [], 0
                pending.append(piece)
                pending_rows += piece.num_rows
        if pending or not emitted:
            yield to_frame(pa.Table.from_batches(pending, schema=schema))
    except (pa.ArrowException, OSError) as exc:
        raise PayloadError(f"Could not read {what}: {str(exc).splitlines()[0][:200]}") from None


def iter_body(data: bytes, block_bytes: int) -> Iterator:
    """Row blocks of an Arrow body (rows per block scaled from the body's bytes per row)."""
    import pyarrow as pa

    schema, batches = _open(pa.py_buffer(data), "the Arrow input")
    batches = list(batches)
    rows = sum(batch.num_rows for batch in batches)
    block_rows = max(1, rows * block_bytes // max(len(data), 1))
    yield from _blocks(schema, batches, "the Arrow input", block_rows)


def iter_file(path: Path, _block_bytes: int) -> Iterator[tuple[object, int]]:
    """(DataFrame, bytes) for blocks of an Arrow file, memory-mapped."""
    import pyarrow as pa

    from drumkit.predictor.codecs import BLOCK_ROWS

    size = path.stat().st_size
    schema, batches = _open(pa.memory_map(str(path)), path.name)
    for frame in _blocks(schema, batches, path.name, BLOCK_ROWS):
        yield frame, size


def table_of(frame):
    """A DataFrame as an Arrow table (no index; column names as text)."""
    import pyarrow as pa

    frame = frame.rename(columns=str) if any(not isinstance(c, str) for c in frame.columns) else frame
    return pa.Table.from_pandas(frame, preserve_index=False)


def encode(frame) -> bytes:
    """A DataFrame as an Arrow IPC stream."""
    import pyarrow as pa
    import pyarrow.ipc

    table = table_of(frame)
    sink = pa.BufferOutputStream()
    with pyarrow.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


class TableWriter:
    """Append DataFrames as Arrow tables to a writer opened on the first block; later blocks are cast to its schema."""

    def __init__(self, path: Path, open_writer):
        self.path = path
        self._open_writer = open_writer
        self._writer: Any = None  # opened with the first block's schema
        self._schema: Any = None

    def write(self, frame) -> None:
        """Append one block."""
        table = table_of(frame)
        if self._writer is None:
            self._schema = table.schema
            self._writer = self._open_writer(str(self.path), self._schema)
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        self._writer.write_table(table)

    def close(self) -> None:
        """Finish the file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class FileWriter(TableWriter):
    """Append DataFrames to an Arrow IPC file."""

    def __init__(self, path: Path):
        import pyarrow.ipc

        super().__init__(path, pyarrow.ipc.new_file)
