"""CSV: whole bodies, row blocks of bodies and files, and DRUM's score CSV written from predictions.

Every reader gives the columns and dtypes `pandas.read_csv` gives for the whole payload: tiny plain
bodies take `csv_tiny`, small ones `pandas.read_csv`'s own parser (`pandas_reader`), larger ones the
same parser on the process's threads, one row range each (`pandas_reader.read_csv_in_parts`), or,
when the ranges cannot be joined as one read (quotes, types that differ), pyarrow's parser with the
fixes of `csv_blocks`; a process given one CPU thread reads them whole with pandas' parser. Row blocks
keep the whole payload's dtypes (`csv_blocks.stream_csv`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from drumkit.errors import PayloadError

# Below this size a body is read whole on one thread: setting up threads (row ranges, or pyarrow's
# pool and type inference) costs more than it saves (benchmarks/server_bench.py).
PANDAS_MAX_BYTES = 64 * 1024
# Each row range costs ~0.3 ms of set-up under the GIL: many cores get a range per 256 KiB, not one each.
PART_BYTES = 256 * 1024


def decode(data: bytes, _colnames=None):
    """A whole CSV body -> the DataFrame `pandas.read_csv` gives."""
    from drumkit.predictor.codecs.csv_blocks import parse_thread_count, read_csv_bytes, read_small_csv_bytes
    from drumkit.predictor.codecs.csv_tiny import read_tiny_csv
    from drumkit.predictor.codecs.pandas_reader import (
        looks_like_one_chunk,
        read_csv_in_parts,
        within_one_chunk,
    )

    frame = read_tiny_csv(data)
    if frame is not None:
        return frame
    threads = parse_thread_count()
    # On one thread pyarrow's parser costs ~40% more CPU than pandas' (10k rows x 25 columns: 10.1 vs
    # 7.1 ms); on two, pandas' in row ranges beats it on time and CPU (~5 ms, and no conversion after).
    # A body of several of read_csv's typing chunks (2**20 fields each) is typed chunk by chunk, a column
    # of numbers then text becoming a mix of both: only pandas' own reader gives that.
    if len(data) <= PANDAS_MAX_BYTES or threads < 2 or not looks_like_one_chunk(data):
        return read_small_csv_bytes(data)
    frame = read_csv_in_parts(data, min(threads, max(2, len(data) // PART_BYTES)))
    if frame is not None:
        return frame
    try:
        frame = read_csv_bytes(data)
    except PayloadError:  # pandas' verdict stands: it reads some bodies pyarrow's typing cannot hold
        return read_small_csv_bytes(data)
    return frame if within_one_chunk(frame) else read_small_csv_bytes(data)


def iter_body(data: bytes, block_bytes: int) -> Iterator:
    """Row blocks of a CSV body with the whole body's dtypes (RESTART when a type changes late).

    pandas' parser reads the blocks while they all type each column alike; a body where they do not is
    read again from the start by pyarrow's (`csv_blocks`), which widens a column's type as blocks go.
    """
    from drumkit.predictor.codecs import RESTART
    from drumkit.predictor.codecs.csv_blocks import parse_thread_count, stream_csv_bytes
    from drumkit.predictor.codecs.csv_row_blocks import RowBlocksDiffer, read_in_row_blocks

    emitted = False
    try:
        for frame in read_in_row_blocks(data, block_bytes, parse_thread_count()):
            emitted = True
            yield frame
        return
    except RowBlocksDiffer:
        if emitted:
            yield RESTART
    for frame, _done in stream_csv_bytes(data, block_bytes):
        yield frame


def iter_file(path: Path, block_bytes: int) -> Iterator[tuple[object, int]]:
    """(DataFrame, bytes read) for row blocks of a CSV file, with the whole file's dtypes."""
    from drumkit.predictor.codecs.csv_blocks import stream_csv

    yield from stream_csv(lambda: open(path, "rb"), block_bytes)  # noqa: SIM115 - the reader closes it


def encode(frame) -> bytes:
    """A frame as DRUM's `score` writes it: header, then rows (floats as `to_csv` writes them)."""
    return (header(frame) + rows(frame)).encode("utf-8")


def header(frame) -> str:
    """The header line `to_csv(index=False)` writes."""
    return frame.head(0).to_csv(index=False)


def rows(frame) -> str:
    """The rows `to_csv(index=False, header=False)` writes."""
    body = float_rows_csv(frame)
    return frame.to_csv(index=False, header=False) if body is None else body


class FileWriter:
    """Append DataFrames to a CSV file: the header once, then each frame's rows."""

    def __init__(self, path: Path):
        self.path = path
        self._handle: TextIO | None = None

    def write(self, frame) -> None:
        """Append one block (the header only before the first)."""
        if self._handle is None:
            self._handle = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed by close()
            self._handle.write(header(frame))
        self._handle.write(rows(frame))

    def close(self) -> None:
        """Flush and close."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def float_rows_csv(frame) -> str | None:
    """CSV rows of an all-float64 frame, byte-identical to `to_csv` but ~2x faster; None for other frames.

    Predictions are almost always float columns, and pandas' writer is the slowest part of scoring
    after the model. Python's float repr is what to_csv writes; NaN is an empty field, or `""` when
    it would otherwise leave a blank line (a single column), as pandas does.
    """
    import numpy as np

    if frame.shape[1] == 0 or len(frame) == 0 or any(dtype != np.float64 for dtype in frame.dtypes):
        return None if len(frame) else ""
    columns = [[repr(v) if v == v else "" for v in frame.iloc[:, i].tolist()] for i in range(frame.shape[1])]
    if len(columns) == 1:
        lines = [v or '""' for v in columns[0]]
    else:
        lines = [",".join(row) for row in zip(*columns, strict=True)]
    return "\n".join(lines) + "\n"
