"""What keeps CSV reading linear and as strict or lenient as `pandas.read_csv`, whatever the input.

Row ends are found by quote parity in one pass over each byte (an unterminated quote used to make
the search quadratic). pyarrow's parser refuses what pandas accepts (short rows, rows longer than
its block) and accepts what pandas refuses (an unterminated quote); such blocks are handed to
pandas, whose verdict stands: its frame, or its error renumbered to the whole file's lines, which
never quotes the row.
"""

from __future__ import annotations

import re

from drumkit.errors import PayloadError

NOT_UTF8 = "Supplied CSV input file encoding must be UTF-8."
_LINE_NUMBER = re.compile(r"\b(line|row) (\d+)")
_COLUMN_ERROR = re.compile(r"In CSV column #(\d+)")


def last_row_end(data: bytes, lo: int, hi: int, quotes_before_hi: int) -> int:
    """The last line break in data[lo:hi] outside quotes, or -1.

    `quotes_before_hi` counts the quotes from the current row's start up to `hi`; each byte of
    data[lo:hi] is looked at once, however many line breaks sit inside an open quote.
    """
    quotes = quotes_before_hi
    at = hi
    while True:
        before = at
        at = data.rfind(b"\n", lo, before)
        if at < 0:
            return -1
        quotes -= data.count(b'"', at, before)
        if quotes % 2 == 0:
            return at


def first_row_end(data: bytes, lo: int, hi: int) -> int:
    """The first line break in data[lo:hi] outside quotes (lo starts a row), or -1; one pass."""
    quotes = 0
    start = lo
    while True:
        at = data.find(b"\n", start, hi)
        if at < 0:
            return -1
        quotes += data.count(b'"', start, at)
        if quotes % 2 == 0:
            return at
        start = at + 1


def pandas_decides(exc: Exception, data: bytes) -> bool:
    """Whether pyarrow's failure is one pandas may judge differently (not a column type to widen)."""
    text = str(exc)
    return (
        "UTF8" in text or _COLUMN_ERROR.search(text) is None or (b'"' in data and data.count(b'"') % 2 == 1)
    )


def read_with_pandas(data: bytes, lines_before: int):
    """A block (header line first) as `pandas.read_csv` reads it; its errors name the file's line, not the block's."""
    from drumkit.predictor.codecs import pandas_reader

    try:
        return pandas_reader.read_csv(data)
    except UnicodeDecodeError:
        raise not_utf8(data, lines_before) from None
    except ValueError as exc:  # ParserError, EmptyDataError
        raise PayloadError(
            f"Could not parse the CSV input: {renumber(_first_line(exc), lines_before)}"
        ) from None


def renumber(message: str, lines_before: int) -> str:
    """pandas' `line N` / `row N` of a block, as the whole file's numbers."""
    if not lines_before:
        return message
    return _LINE_NUMBER.sub(lambda m: f"{m.group(1)} {int(m.group(2)) + lines_before}", message)


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


def not_utf8(data: bytes, lines_before: int = 0) -> PayloadError:
    """DRUM's error for text that is not UTF-8, naming the file's first line that is not."""
    return PayloadError(f"{NOT_UTF8} Line {_line_of(data, lines_before)} is not valid UTF-8.")


def _line_of(data: bytes, lines_before: int) -> int:
    """The 1-based file line holding the first byte that is not UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as found:
        return data.count(b"\n", 0, found.start) + 1 + lines_before
    return lines_before + 1
