"""CSV through pyarrow's parser, giving the columns and dtypes `pandas.read_csv` would give.

Models were trained and tested on `pandas.read_csv` output, so every difference matters: pyarrow
infers dates and times (pandas keeps text), types an all-empty column as null (pandas: float64),
keeps duplicate header names (pandas: `a.1`) and calls empty ones '' (pandas: `Unnamed: 2`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import IO

from drumkit.errors import PayloadError
from drumkit.predictor.codecs import RESTART
from drumkit.predictor.codecs.arrow_frame import to_frame
from drumkit.predictor.codecs.csv_guard import NOT_UTF8 as _NOT_UTF8
from drumkit.predictor.codecs.csv_guard import (
    first_row_end,
    last_row_end,
    not_utf8,
    pandas_decides,
    read_with_pandas,
)

# pandas' default NA strings (pandas._libs.parsers.STR_NA_VALUES), spelled out to stay import-free.
PANDAS_NA_VALUES = [
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
]
_TRUE = ["True", "TRUE", "true"]
_FALSE = ["False", "FALSE", "false"]
_COLUMN_ERROR = re.compile(r"In CSV column #(\d+)")


def _convert_options(column_types: dict | None = None):
    import pyarrow.csv as pacsv

    return pacsv.ConvertOptions(
        null_values=PANDAS_NA_VALUES,
        true_values=_TRUE,
        false_values=_FALSE,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        column_types=column_types or {},
    )


def _parse_options(newlines_in_values: bool = True, **kwargs):
    import pyarrow.csv as pacsv

    # Quoted values may hold line breaks, as read_csv allows.
    return pacsv.ParseOptions(newlines_in_values=newlines_in_values, **kwargs)


def pandas_column_names(names: list[str]) -> list[str]:
    """Header names as pandas spells them: `Unnamed: i` for blanks, `.1`, `.2` suffixes for duplicates."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        name = name if name != "" else f"Unnamed: {i}"
        base = name
        while name in seen:
            seen[base] += 1
            name = f"{base}.{seen[base]}"
        seen.setdefault(name, 0)
        out.append(name)
    return out


def _is_temporal(arrow_type) -> bool:
    import pyarrow.types as pat

    return pat.is_date(arrow_type) or pat.is_time(arrow_type) or pat.is_timestamp(arrow_type)


def _short(text: str) -> str:
    text = re.sub(r"\s*'[^']*'", "", text)
    return text[:200]


def to_pandas_frame(table, has_nulls: set[str] | None = None):
    """Arrow table/batch -> DataFrame with read_csv's dtypes; `has_nulls` names columns missing values elsewhere in the file."""
    import numpy as np
    import pandas as pd
    import pyarrow.types as pat

    has_nulls = has_nulls or set()
    for arrow_field in table.schema:
        if pat.is_binary(arrow_field.type) or pat.is_large_binary(arrow_field.type):
            # pyarrow keeps undecodable text as bytes; pandas.read_csv (so DRUM) refuses it.
            raise PayloadError(f"{_NOT_UTF8} Column '{arrow_field.name}' is not valid UTF-8.")
    frame = to_frame(table)
    n_rows = len(frame)
    for i, arrow_field in enumerate(table.schema):
        name = arrow_field.name
        kind = arrow_field.type
        if not (pat.is_null(kind) or pat.is_integer(kind) or pat.is_boolean(kind)):
            continue  # floats and text come out of to_pandas as read_csv has them
        column = frame.iloc[:, i]
        if pat.is_null(kind):
            frame.isetitem(
                i, pd.Series(np.full(n_rows, np.nan), index=frame.index) if n_rows else column.astype(object)
            )
        elif pat.is_integer(kind) and name in has_nulls and column.dtype != np.float64:
            frame.isetitem(i, column.astype(np.float64))
        elif pat.is_boolean(kind) and (column.dtype == object or name in has_nulls):
            frame.isetitem(i, column.astype(object).where(column.notna(), np.nan))
    return frame


def read_csv_bytes(data: bytes, use_threads: bool = True):
    """Decode a whole CSV payload into the DataFrame `pandas.read_csv` would give."""
    import pyarrow as pa

    try:
        table = _read_block(data, {}, use_threads)
        table = table.rename_columns(pandas_column_names(table.column_names))
    except pa.ArrowInvalid as exc:
        raise PayloadError(f"Could not parse the CSV input: {_short(str(exc).splitlines()[0])}") from None
    except UnicodeDecodeError:
        raise PayloadError(_NOT_UTF8) from None
    return to_pandas_frame(table)


def parse_thread_count() -> int:
    """How many threads this process parses CSV on (`pyarrow.set_cpu_count`: a worker's share of the cores)."""
    import pyarrow as pa

    return pa.cpu_count()


def read_small_csv_bytes(data: bytes):
    """Decode a CSV payload with pandas.read_csv's own parser, as DRUM does (blank lines kept for one column)."""
    from drumkit.predictor.codecs import pandas_reader

    try:
        frame = pandas_reader.read_csv(data)
    except UnicodeDecodeError:
        raise not_utf8(data) from None
    except ValueError as exc:  # ParserError, EmptyDataError: one line, never the payload itself
        raise PayloadError(f"Could not parse the CSV input: {_short(str(exc).splitlines()[0])}") from None
    return frame


def _widen(arrow_type):
    import pyarrow as pa
    import pyarrow.types as pat

    if pat.is_null(arrow_type):
        return pa.int64()
    if pat.is_integer(arrow_type):
        return pa.float64()
    return pa.large_string()


def _as_large(arrow_type):
    """Text as large_string, the type pandas keeps text in: later blocks are parsed straight into it
    (each block's string columns were cast, offsets and all, on their way to pandas)."""
    import pyarrow as pa
    import pyarrow.types as pat

    return pa.large_string() if pat.is_string(arrow_type) else arrow_type


# (header line, block of whole rows, bytes read so far, how many lines came before the block)
Block = tuple[bytes, "bytes | memoryview", int, Callable[[], int]]


class _LateNulls(Exception):
    """An integer or boolean column met its first missing value after frames went out."""


def split_rows(source: IO[bytes], block_size: int) -> Iterator[bytes]:
    """Cut a CSV byte stream into blocks of whole rows, each ending at a line break outside quotes.

    Quote parity is enough to know whether a newline ends a row: an escaped quote is doubled (`""`),
    so it never changes the parity, and every block starts at a row boundary. Bytes carried over
    are kept as pieces with their quote count, so an open quote costs one pass, not one per read.
    """
    pieces: list[bytes] = []
    quotes = 0  # in the pieces carried over, which start at a row boundary
    while True:
        data = source.read(block_size)
        if not data:
            if pieces:
                yield b"".join(pieces)
            return
        in_data = data.count(b'"')
        end = last_row_end(data, 0, len(data), quotes + in_data)
        if end < 0:
            pieces.append(data)  # no complete row yet (or no \n line ends at all): read on
            quotes += in_data
            continue
        pieces.append(data[: end + 1])
        yield b"".join(pieces)
        rest = data[end + 1 :]
        pieces = [rest] if rest else []
        quotes = rest.count(b'"')


def _first_row(block: bytes) -> tuple[bytes, bytes]:
    """(header line, rest) of the first block."""
    end = first_row_end(block, 0, len(block))
    if end < 0:
        return block, b""
    return block[: end + 1], block[end + 1 :]


def _file_blocks(open_source: Callable[[], IO[bytes]], block_size: int) -> Iterator[Block]:
    """(header line, block of whole rows, bytes read so far, lines before the block) of a CSV file; one
    empty block when it has no rows."""
    with open_source() as source:
        header = None
        lines = 0  # counted as the blocks go: they are not kept
        for block in split_rows(source, block_size):
            if header is None:
                header, block = _first_row(block)
            yield header, block, source.tell(), functools.partial(int, lines)
            lines += block.count(b"\n")


def _body_blocks(data: bytes, block_size: int) -> Iterator[Block]:
    """(header line, block of whole rows, bytes so far, lines before the block) of a CSV body in memory:
    blocks are views, never copies, and their lines are counted only if an error needs a line number."""
    view = memoryview(data)
    size = len(data)
    start = first_row_end(data, 0, size) + 1 or size
    header = bytes(view[:start])
    first = start
    if start >= size:
        yield header, view[start:], size, int
        return
    # Without a quote every line break ends a row: counting quotes would read the whole body once more.
    quoted = b'"' in data
    while start < size:
        lo, end, quotes = start, min(start + block_size, size), 0
        while True:
            if end == size:
                cut = size - 1
                break
            if quoted:
                quotes += data.count(b'"', lo, end)
            cut = last_row_end(data, lo, end, quotes)
            if cut >= 0:
                break
            lo, end = end, min(end + block_size, size)  # no whole row yet: take in more
        yield header, view[start : cut + 1], cut + 1, functools.partial(data.count, b"\n", first, start)
        start = cut + 1


def stream_csv(open_source: Callable[[], IO[bytes]], block_size: int) -> Iterator[tuple[object, int]]:
    """Yield (DataFrame, bytes read so far) for a CSV file, with read_csv's dtypes over the WHOLE file.

    Blocks of whole rows are parsed by pyarrow's multi-threaded reader (its streaming reader converts
    on one thread: 4x slower). Types come from the first block. When a later block proves one wrong
    (a column empty so far now holds text, ints turn float, an int or bool column meets its first
    missing value), that column is widened and the file is read again from the start: `(RESTART, 0)`
    tells the consumer to drop what it has. Only files whose types change late pay for a second pass.
    """
    return _stream(lambda: _file_blocks(open_source, block_size))


def stream_csv_bytes(data: bytes, block_size: int) -> Iterator[tuple[object, int]]:
    """`stream_csv` for a body already in memory (its blocks are slices of it, not copies).

    On pyarrow's threads (unless the process has one, `parse_thread_count`), as a file's blocks: on an idle
    2-core machine a 19 MB body took 100 ms instead of 137 ms on one thread, for a peak 6 MiB higher.
    """
    return _stream(lambda: _body_blocks(data, block_size), parse_thread_count() > 1)


def _stream(blocks: Callable[[], Iterator[Block]], use_threads: bool = True) -> Iterator[tuple[object, int]]:
    import pyarrow as pa
    import pyarrow.types as pat

    types: dict = {}
    has_nulls: set[str] = set()
    while True:
        emitted = False
        try:
            header, done = None, 0
            for header, block, done, lines_before in blocks():
                if not len(block):
                    continue
                rows = b"".join((header, block))
                table = _read_block(rows, types, use_threads, lines_before=lines_before)
                if not types:
                    types = {f.name: _as_large(f.type) for f in table.schema}
                fresh = {
                    name
                    for name, column in zip(table.column_names, table.columns, strict=True)
                    if column.null_count and (pat.is_integer(types[name]) or pat.is_boolean(types[name]))
                }
                if fresh - has_nulls:
                    has_nulls |= fresh
                    if emitted:
                        raise _LateNulls
                names = pandas_column_names(table.column_names)
                nulls = {names[i] for i, name in enumerate(table.column_names) if name in has_nulls}
                frame = to_pandas_frame(table.rename_columns(names), nulls)
                emitted = True
                yield frame, done
            if not emitted and header is not None:
                yield read_csv_bytes(header), done
            return
        except UnicodeDecodeError:
            raise PayloadError(_NOT_UTF8) from None
        except _LateNulls:
            pass
        except pa.ArrowInvalid as exc:
            match = _COLUMN_ERROR.search(str(exc))
            if not match or not types:
                raise PayloadError(
                    f"Could not parse the CSV input: {_short(str(exc).splitlines()[0])}"
                ) from None
            index = int(match.group(1))
            name = list(types)[index]
            wider = _first_values_type(rows, types, index, use_threads) if pat.is_null(types[name]) else None
            wider = wider or _widen(types[name])
            if wider == types[name]:  # nothing wider to try: never restart in a loop
                raise PayloadError(
                    f"Could not parse the CSV input: column '{name}' holds values of no single type"
                ) from None
            types[name] = wider
        if emitted:
            yield RESTART, 0


def _first_values_type(rows: bytes, types: dict, index: int, use_threads: bool):
    """The type pyarrow gives column `index` of the block where a column empty so far met its first values.

    An empty column's type is a guess: read_csv types it by the values it finally holds (True with
    missing values is an object column of booleans, not text), so the block that holds them decides.
    None when the block cannot be read that way (the caller widens step by step instead).
    """
    import pyarrow as pa
    import pyarrow.types as pat

    known = {name: kind for name, kind in types.items() if not pat.is_null(kind)}
    try:
        kind = _read_block_arrow(rows, known, use_threads).schema.field(index).type
    except (pa.ArrowInvalid, IndexError):
        return None
    return None if pat.is_null(kind) else kind


def _read_block(
    data: bytes,
    types: dict,
    use_threads: bool = True,
    lines_before: Callable[[], int] = int,  # int() is 0
):
    """One block of rows (with the header line) as an Arrow table; dates stay text, as read_csv leaves them.

    What pyarrow refuses or misreads (short or very long rows, an unterminated quote, text that is
    not UTF-8) is read by pandas itself (`csv_guard`): read_csv's frame, or read_csv's error.
    """
    import pyarrow as pa
    import pyarrow.types as pat

    try:
        table = _read_block_arrow(data, types, use_threads)
    except pa.ArrowInvalid as exc:
        if not pandas_decides(exc, data):
            raise
        return _pandas_table(data, types, lines_before)
    if any(pat.is_binary(f.type) or pat.is_large_binary(f.type) for f in table.schema) or (
        b'"' in data and data.count(b'"') % 2
    ):
        return _pandas_table(data, types, lines_before)
    return table


def _pandas_table(data: bytes, types: dict, lines_before: Callable[[], int]):
    """A block read by pandas, as an Arrow table named and typed like pyarrow's blocks."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    frame = _text_where_mixed(read_with_pandas(data, lines_before()), data)  # lines: for its errors
    end = first_row_end(data, 0, len(data))
    names = pacsv.read_csv(
        pa.BufferReader(data[: end + 1] if end >= 0 else data), parse_options=_parse_options()
    ).column_names
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if len(names) == table.num_columns:
        table = table.rename_columns(names)
    for i, field in enumerate(table.schema):
        wanted = types.get(field.name)
        if wanted is None or wanted == field.type:
            continue
        try:
            table = table.set_column(i, field.name, table.column(i).cast(wanted))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise pa.ArrowInvalid(f"In CSV column #{i}: values of another type") from None
    return table


def _text_where_mixed(frame, data: bytes):
    """A block pandas read, with each column that mixes text and other values read again as its text.

    pandas types a long block chunk by chunk (2**20 fields each): a column of numbers in one chunk and
    text in a later one holds both, which no Arrow column can (the block was a 422). As text it is what
    pyarrow makes of such a column over the whole file.
    """
    import io

    import numpy as np
    import pandas as pd

    dtypes = list(frame.dtypes)
    mixed = [
        i
        for i, dtype in enumerate(dtypes)
        if dtype == np.dtype(object) and len({type(v) for v in frame.iloc[:, i].dropna()}) > 1
    ]
    if not mixed:
        return frame
    # One column keeps its blank lines as rows, as pandas_reader.read_csv read the block.
    as_text = pd.read_csv(io.BytesIO(data), dtype=object, skip_blank_lines=frame.shape[1] > 1)
    for i in mixed:
        frame.isetitem(i, as_text.iloc[:, i])
    return frame


def _read_block_arrow(data: bytes, types: dict, use_threads: bool = True):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    source = pa.py_buffer(data)  # no copy: BytesIO(data) would copy the whole body
    # Without a quote no value can hold a line break, and pyarrow splits such text faster (~20%).
    parse_options = _parse_options(newlines_in_values=b'"' in data)
    read_options = pacsv.ReadOptions(use_threads=use_threads, block_size=max(1 << 20, len(data) // 4))
    table = pacsv.read_csv(
        pa.BufferReader(source),
        read_options=read_options,
        parse_options=parse_options,
        convert_options=_convert_options(types),
    )
    temporal = {f.name: pa.string() for f in table.schema if _is_temporal(f.type)}
    if temporal:
        table = pacsv.read_csv(
            pa.BufferReader(source),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=_convert_options({**types, **temporal}),
        )
    if table.num_columns == 1 and b"\n\n" in data.replace(b"\r\n", b"\n"):
        # DRUM re-reads single-column CSVs keeping blank lines (trailing ones too) as missing rows.
        table = pacsv.read_csv(
            pa.BufferReader(source),
            read_options=read_options,
            parse_options=_parse_options(newlines_in_values=b'"' in data, ignore_empty_lines=False),
            convert_options=_convert_options({f.name: f.type for f in table.schema}),
        )
    return table
