"""CSV bodies predicted in row blocks, read by `pandas.read_csv`'s own parser ahead of the model.

A body over the split size is predicted block by block so a worker's memory does not grow with it. Its
rows are cut into ranges of RANGE_BYTES, parsed on the process's threads a few ranges ahead of the
model, and joined into blocks of about the block size. pandas' parser costs less CPU than pyarrow's for
the same rows; each thread reloads one parser (`pandas_rows`), and the ranges stay small because a
parser holds ~3.5 times the bytes it reads while it reads them (a 19 MB body at c=1: 12.5 requests a
second instead of 8.75 with pyarrow's blocks, and 1 MiB ranges 11% more than 512 KiB ones, measured
on two machines; a worker's peak ~170 MiB against the floor's ~183; benchmarks/README.md).

Each range is typed on its own, as read_csv types each of its chunks. Where every range gives a
column the same int, float, bool or text type, that is the whole body's type (a column read_csv would
mix across its chunks is text, as in `csv_blocks`). Any other body raises RowBlocksDiffer, before or
after blocks went out, and is read by `csv_blocks` from the start.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from drumkit.predictor.codecs.pandas_reader import columns_frame, range_columns, text_dtype, thread_pool
from drumkit.predictor.codecs.pandas_rows import header_names

# The 19 MB body at c=1, six rounds alternating: 17.8 requests a second with 512 KiB ranges (peak
# 163-168 MiB), 19.8 with 1 MiB (168-175), 18.9 with 2 MiB (180-182: the floor's peak).
RANGE_BYTES = 1024 * 1024


class RowBlocksDiffer(Exception):
    """The ranges do not all type a column alike, or cannot be cut at line breaks: read the body another way."""


def read_in_row_blocks(data: bytes, block_bytes: int, threads: int) -> Iterator:
    """Frames of row blocks of about `block_bytes` with the whole body's dtypes, parsed ahead on `threads` threads.

    Raises RowBlocksDiffer for quoted bodies (a line break may sit inside a value), one-column bodies
    (blank lines are rows there), bodies without rows, ranges pandas cannot read (the whole body's
    reader names the body's line) and the first range that types a column otherwise than the first.
    """
    header_end = data.find(b"\n") + 1
    if header_end == 0 or b"," not in data[:header_end] or b'"' in data:
        raise RowBlocksDiffer
    span = min(block_bytes, RANGE_BYTES)
    cuts = [header_end]
    while cuts[-1] < len(data):
        end = data.find(b"\n", cuts[-1] + span - 1)
        cuts.append(len(data) if end < 0 else end + 1)
    ranges = list(itertools.pairwise(cuts))
    names_of_header = header_names(data[:header_end])

    def read(start: int, end: int) -> tuple[int, tuple[list, list] | None]:
        return end - start, range_columns(data, header_end, names_of_header, start, end)

    if threads < 2:
        parsed: Iterator = (read(*cut) for cut in ranges)
    else:
        # The next block's ranges and two a thread beyond: a thread that finishes one has the next at
        # hand while the model scores (12.5 instead of 11.9 requests a second with two a thread only).
        parsed = _ahead(thread_pool(threads), read, ranges, 2 * threads + block_bytes // span)
    names: list = []
    types: list | None = None
    group: list = []
    group_bytes = 0
    emitted = False
    for size, columns in parsed:
        if columns is None:
            raise RowBlocksDiffer
        if not len(columns[1][0]):
            continue  # blank lines only
        if types is None:
            names, types = columns[0], _agreeable_types(columns[1])
        elif columns[0] != names or [values.dtype for values in columns[1]] != types:
            raise RowBlocksDiffer
        group.append(columns[1])
        group_bytes += size
        if group_bytes >= block_bytes:
            yield _stacked(names, group)
            group, group_bytes, emitted = [], 0, True
    if group:
        yield _stacked(names, group)
    elif not emitted:
        raise RowBlocksDiffer  # no rows: the empty frame read_csv gives is csv_blocks' to make


def _agreeable_types(values: list) -> list:
    """The first range's dtypes, when each is one that typing the whole body gives when every range agrees."""
    import numpy as np

    dtypes = [column.dtype for column in values]
    if len(dtypes) < 2 or not all(
        dtype in (np.int64, np.float64, np.bool_) or dtype == text_dtype() for dtype in dtypes
    ):
        raise RowBlocksDiffer  # e.g. booleans with a gap are objects, which typing the whole body may mix
    return dtypes


def _stacked(names: list, parts: list):
    """One frame of the columns of consecutive ranges, each column's pieces joined (text without a copy)."""
    import numpy as np

    if len(parts) == 1:
        return columns_frame(names, parts[0])
    return columns_frame(
        names,
        [
            np.concatenate(pieces)
            if isinstance(pieces[0], np.ndarray)
            else type(pieces[0])._concat_same_type(pieces)
            for pieces in zip(*parts, strict=True)
        ],
    )


def _ahead(pool, parse, spans: list, depth: int) -> Iterator:
    """parse(*span) of each span in order, with up to `depth` of the next ones parsing meanwhile."""
    pending = [pool.submit(parse, *span) for span in spans[:depth]]
    following = iter(spans[depth:])
    try:
        while pending:
            result = pending.pop(0).result()
            span = next(following, None)
            if span is not None:
                pending.append(pool.submit(parse, *span))
            yield result
    finally:
        for future in pending:  # a consumer that stops early leaves nothing queued behind it
            future.cancel()
