"""Rows of a CSV body read by a pandas parser that each thread keeps and reloads, not one built per read.

Building read_csv's parser costs 0.2-0.5 ms under the GIL, as much as parsing ~100 KB: a 10k-row body
read as two row ranges on two threads spent ~1.1 ms of its ~7.4 ms building parsers and copying the
header in front of each range. pandas' own parallel read_csv of files reloads its parsers so
(`load_buffer`, private, pandas 3.1+). On a pandas without it, callers read the usual way.
"""

from __future__ import annotations

import functools
import io
import os
import threading
from typing import Any

_PARSERS: dict[tuple, Any] = {}  # (pid, thread, names) -> a parser only that thread loads
_MAX_PARSERS = 64
_CACHED_HEADER_BYTES = 64 * 1024  # wider headers are read each time: 64 cached ones stay small


def header_names(header: bytes | bytearray) -> tuple | None:
    """The column names read_csv gives a header line (`a.1` for a repeat, `Unnamed: 2` for a blank), or None."""
    if len(header) > _CACHED_HEADER_BYTES:
        return _header_names.__wrapped__(bytes(header))
    return _header_names(bytes(header))  # a large body arrives in a bytearray, which cannot be a cache key


@functools.lru_cache(maxsize=64)
def _header_names(header: bytes) -> tuple | None:
    import pandas as pd

    if b'"' in header:
        return None  # a quoted name may hold a line break: the line is not the whole header
    try:
        return tuple(pd.read_csv(io.BytesIO(header)).columns)
    except (ValueError, UnicodeDecodeError):
        return None


@functools.cache
def reuses_parsers() -> bool:
    """Whether this pandas' parser can be loaded with one buffer after another."""
    from pandas._libs import parsers  # type: ignore[attr-defined]

    return hasattr(parsers.TextReader, "load_buffer")


def parse_rows(names: tuple, rows: memoryview) -> tuple[list, list] | None:
    """(names, column arrays) of rows that followed a header with these names, as read_csv reads them.

    None when this pandas cannot reload a parser, when the rows are not the plain case (none, or an
    index column) and when they do not parse: the usual reader then gives read_csv's own error, with
    the body's line numbers.
    """
    if not len(rows) or not reuses_parsers():
        return None
    key = (os.getpid(), threading.get_ident(), names)  # a forked worker or another thread: its own parser
    parser = _PARSERS.pop(key, None)
    if parser is None:
        parser = _header_less_parser(names)
    if parser is None:
        return None
    try:
        columns = _read(parser, rows)
    except Exception:  # whatever this shortcut meets, the usual reader decides (and says why)
        return None  # and the parser goes: its state after an error is unknown
    if columns is None:
        return None  # nor is one kept that met an index column
    if len(_PARSERS) >= _MAX_PARSERS:
        _PARSERS.clear()
    _PARSERS[key] = parser
    return columns


def _header_less_parser(names: tuple):
    import pandas as pd

    parser = pd.read_csv(io.BytesIO(b""), header=None, names=list(names), low_memory=False, iterator=True)
    return parser if hasattr(getattr(parser, "_engine", None), "_first_chunk") else None


def _read(parser, rows: memoryview) -> tuple[list, list] | None:
    engine = parser._engine
    engine._reader.load_buffer(rows)
    engine._first_chunk = True  # else a parser that read to the end of its last buffer stops
    index, columns, arrays = engine.read()
    if index is not None or not arrays or list(arrays) != list(columns):
        return None
    values = list(arrays.values())
    return (list(columns), values) if len(values[0]) else None
