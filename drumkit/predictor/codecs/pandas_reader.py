"""CSV through `pandas.read_csv`'s own parser (DRUM's reader), for less than read_csv itself costs.

Each saving keeps read_csv's columns, dtypes and values (and, past a few thousand rows, its layout of
one block per column):
- the frame is built from the parser's columns directly: read_csv spends about half of a 100-row body
  building it from a dict (aligning the dict to the header, then checking each column again);
- a body that is one of read_csv's chunks (its `low_memory` typing unit) is typed whole, without the
  join of chunks that copies every column;
- a large body is parsed as row ranges on several threads (pandas' parser lets go of the GIL) and
  joined where typing the whole body agrees (`read_csv_in_parts`);
- the rows after a header are read by a parser each thread keeps and reloads (`pandas_rows`);
- a body predicted in row blocks is parsed ahead on those threads while the model scores (`csv_row_blocks`).
Whatever this pandas returns that is not the plain case (an index column, no columns, a changed
internal API) is built by read_csv's own code.
"""

from __future__ import annotations

import functools
import io
import os
import re
from typing import Any

from drumkit.predictor.codecs.frames import frame_of
from drumkit.predictor.codecs.pandas_rows import header_names, parse_rows

MERGED_BLOCK_ROWS = 4096  # up to this many rows, same-typed columns share a block (see _parse)
SMALL_BODY_BYTES = 64 * 1024  # bodies whose commas and line breaks are worth counting (~10 us)
_NEGATIVE_ZERO = re.compile(rb"-0+(?![0-9.])")


def read_csv(data: bytes):
    """The frame DRUM reads from a CSV payload: read_csv, re-read keeping blank lines when it has one column."""
    frame = _read(data)
    if frame.shape[1] == 1:
        frame = _read(data, skip_blank_lines=False)
    return frame


def _read(data: bytes, **options):
    """read_csv's frame of a body. read_csv types a body chunk by chunk and then joins the chunks' columns
    (a copy of each, even of one chunk): a body of one chunk reads the same without that step, and is
    read so when it certainly is one (a small body, counted) or when it turns out to be (a larger one
    that looks like one is read again, chunk by chunk, if it was not)."""
    if _one_chunk(data):
        return _parse_whole(data, **options)
    if looks_like_one_chunk(data):
        frame = _parse_whole(data, **options)
        if within_one_chunk(frame):
            return frame
    return _parse(data, **options)


def _parse_whole(data: bytes, **options):
    """A body typed as one chunk, its rows by this thread's reloaded parser where it can (`pandas_rows`)."""
    header_end = data.find(b"\n") + 1
    names = None if options or header_end == 0 else header_names(data[:header_end])
    columns = None if names is None else parse_rows(names, memoryview(data)[header_end:])
    if columns is None:
        return _parse(data, low_memory=False, **options)
    return columns_frame(*columns)


def _parse(data: bytes, merge_blocks: bool = True, **options):
    """One read by read_csv's parser; `merge_blocks=False` keeps one block per column whatever the size."""
    parsed = parse_columns(data, **options)
    if not isinstance(parsed, tuple):
        return parsed
    names, values = parsed
    # Large frames get one block per column, as read_csv's DataFrame(dict, copy=False) lays them out:
    # merging the 18 float columns of a 10k-row body costs a copy, and models that select columns then
    # copy them again. Small ones share a block per dtype: cheaper to build and to select from (100 rows
    # read and scored by the light model: 0.91 instead of 1.01 ms; even at 3000 rows).
    return columns_frame(names, values, merge_blocks)


def parse_columns(data: bytes, **options):
    """read_csv's parse of a body: (names, column arrays) in the plain case, else the frame read_csv builds."""
    import pandas as pd

    reader = pd.read_csv(io.BytesIO(data), iterator=True, **options)
    with reader:
        read = getattr(getattr(reader, "_engine", None), "read", None)  # private: the parser behind read()
        if getattr(reader, "engine", None) != "c" or read is None:
            return reader.read()
        parsed = read(None)
    try:
        index, columns, arrays = parsed
    except (TypeError, ValueError):
        return pd.read_csv(io.BytesIO(data), **options)
    if index is None and arrays and list(arrays) == list(columns):
        return list(columns), list(arrays.values())
    return pd.DataFrame(arrays, columns=columns, index=index, copy=False)


def columns_frame(names: list, values: list, merge_blocks: bool = True):
    """The frame of parsed columns (see `_parse` for `merge_blocks`)."""
    import pandas as pd

    length = len(values[0])
    frame = frame_of(names, values, length, consolidate=merge_blocks and length <= MERGED_BLOCK_ROWS)
    return frame if frame is not None else pd.DataFrame(dict(zip(names, values, strict=True)), copy=False)


def read_csv_in_parts(data: bytes, parts: int):
    """read_csv's frame of a large body parsed as `parts` row ranges at once, or None when it must be read whole.

    pandas' parser lets go of the GIL, so the ranges parse on that many threads (10k rows x 25 columns:
    ~5 ms instead of 7-9 on one thread, and ~2 ms less CPU than pyarrow's reader plus its conversion).
    Each range is typed on its own, so the join takes only what typing the whole body gives too: columns
    of one type in every range (int, float, bool or text), ints beside floats (read_csv then reads the
    ints as floats: the same doubles below 2**53, unless one was written -0), missing values beside text.
    Bodies that pandas would itself type in several chunks (over ~2**20 fields), quoted ones (a range
    must start at a row) and one-column ones (blank lines are rows there) are left to the caller.
    """
    header_end = data.find(b"\n") + 1
    if parts < 2 or b'"' in data or header_end == 0 or not data[:header_end].strip():
        return None
    if b"," not in data[:header_end] or not looks_like_one_chunk(data):
        return None
    cuts = [header_end]
    for k in range(1, parts):
        at = data.find(b"\n", max(len(data) * k // parts, cuts[-1]))
        if at < 0 or at + 1 >= len(data):
            break
        cuts.append(at + 1)
    if len(cuts) < 2:
        return None
    spans = list(zip(cuts, [*cuts[1:], len(data)], strict=True))
    names = header_names(data[:header_end])
    pool = thread_pool(len(spans) - 1)
    later = [pool.submit(_read_part, data, header_end, names, *span) for span in spans[1:]]
    frames = [_read_part(data, header_end, names, *spans[0])] + [future.result() for future in later]
    return _joined(frames, data)


def _one_chunk(data: bytes) -> bool:
    """Whether read_csv certainly parses a (small) body in one chunk: no row has more fields than the body
    has commas, nor are there more rows than line breaks, and one chunk takes that many rows that wide."""
    if len(data) > SMALL_BODY_BYTES:
        return False
    rows = data.count(b"\n") + (data.count(b"\r") if b"\r" in data else 0) + 1
    return rows <= one_chunk_rows(data.count(b",") + 1)


def looks_like_one_chunk(data: bytes) -> bool:
    """Whether a body's first rows make it look like fewer rows than one chunk of its header's width."""
    header_end = data.find(b"\n") + 1
    sample = data[header_end : header_end + SMALL_BODY_BYTES]
    row_bytes = len(sample) / max(sample.count(b"\n"), 1)
    return header_end > 0 and len(data) / row_bytes <= one_chunk_rows(data.count(b",", 0, header_end) + 1)


def within_one_chunk(frame) -> bool:
    """Whether read_csv would have typed a frame's rows in one chunk (its index counts as a column)."""
    return len(frame) <= one_chunk_rows(frame.shape[1] + frame.index.nlevels)


def one_chunk_rows(width: int) -> int:
    """How many rows of `width` columns pandas' parser types in one chunk (`low_memory`, read_csv's default)."""
    heuristic = (1 << 20) // width
    rows = 1
    while rows * 2 < heuristic:
        rows *= 2
    return rows


_POOL: tuple[int, int, Any] | None = None  # (pid, threads, executor): a forked worker makes its own threads


def thread_pool(threads: int):
    """This process's pool of parse threads (at least `threads` of them)."""
    global _POOL
    from concurrent.futures import ThreadPoolExecutor

    if _POOL is None or _POOL[0] != os.getpid() or _POOL[1] < threads:
        _POOL = (
            os.getpid(),
            threads,
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="drumkit-csv"),
        )
    return _POOL[2]


def range_columns(
    data: bytes, header_end: int, names: tuple | None, start: int, end: int
) -> tuple[list, list] | None:
    """(names, column arrays) of the rows `start:end` after a body's header (`names`, from `header_names`),
    typed on their own; None when read_csv would not give them as plain columns or cannot read them (the
    whole body's reader then gives its error, with the body's line numbers)."""
    columns = None if names is None else parse_rows(names, memoryview(data)[start:end])
    if columns is not None:
        return columns
    try:
        parsed = parse_columns(data[:header_end] + data[start:end], low_memory=False)
    except (ValueError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, tuple) else None


def _read_part(data: bytes, header_end: int, names: tuple | None, start: int, end: int):
    """The frame of one row range, laid out as the large frame it becomes; None to read the body whole."""
    columns = range_columns(data, header_end, names, start, end)
    return None if columns is None else columns_frame(*columns, merge_blocks=False)


def _joined(frames: list, data: bytes):
    """The parts as one frame typed as read_csv types the whole body, or None."""
    import numpy as np
    import pandas as pd

    if any(frame is None for frame in frames):
        return None
    first = frames[0]
    if first.shape[1] < 2 or any(
        not isinstance(frame.index, pd.RangeIndex) or not frame.columns.equals(first.columns)
        for frame in frames
    ):
        return None
    if sum(len(frame) for frame in frames) > one_chunk_rows(first.shape[1] + 1):  # + 1: as within_one_chunk
        return None
    text = text_dtype()
    types = [list(frame.dtypes) for frame in frames]  # `frame.dtypes` builds a Series on every call
    for i in range(first.shape[1]):
        dtypes = [kinds[i] for kinds in types]
        if all(dtype == dtypes[0] for dtype in dtypes):
            if not (dtypes[0] in (np.int64, np.float64, np.bool_) or dtypes[0] == text):
                return None  # object columns mix types: how they mix depends on the whole column
            continue
        if set(dtypes) == {np.dtype(np.int64), np.dtype(np.float64)}:
            target = np.dtype(np.float64)
            convertible = all(
                _exact_as_float(frame.iloc[:, i], data)
                for frame, dtype in zip(frames, dtypes, strict=True)
                if dtype != target
            )
        elif all(dtype == text or dtype == np.float64 for dtype in dtypes):
            target = text
            convertible = all(
                frame.iloc[:, i].isna().all()
                for frame, dtype in zip(frames, dtypes, strict=True)
                if dtype != target
            )
        else:
            return None
        if not convertible:
            return None
        for frame, dtype in zip(frames, dtypes, strict=True):
            if dtype != target:
                frame.isetitem(i, frame.iloc[:, i].astype(target))
    return pd.concat(frames, ignore_index=True)


def _exact_as_float(column, data: bytes) -> bool:
    """Whether ints read as floats are the doubles read_csv parses from their text (below 2**53, no -0)."""
    values = column.to_numpy()
    if len(values) and max(-int(values.min()), int(values.max())) >= 1 << 53:
        return False
    return not ((values == 0).any() and _NEGATIVE_ZERO.search(data))


@functools.cache
def text_dtype():
    """The dtype read_csv gives text in this pandas (str in pandas 3, object before)."""
    import pandas as pd

    return pd.read_csv(io.BytesIO(b"a,b\nx,y\n"))["a"].dtype
