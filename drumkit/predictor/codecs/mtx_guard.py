"""A Matrix Market reader that checks every byte before building the matrix, with a memory bound.

scipy's reader (fast_matrix_market, C++) segfaults on some malformed bodies (NUL bytes inside an
entry), taking the whole process with it, and builds whatever shape a header declares: a 482-byte
body declaring a huge shape took +816 MiB. This reader tokenises the text with numpy, checks the
banner, the size line, the entry count and every index, and refuses a declared shape whose decoded
frame would take more than the expansion limit (the server sets it from --max-body-size).
"""

from __future__ import annotations

import re

from drumkit.errors import PayloadError, PayloadTooLargeError

_BANNER = re.compile(
    rb"%%matrixmarket[ \t]+matrix[ \t]+(coordinate|array)[ \t]+(real|integer|complex|pattern)"
    rb"[ \t]+(general|symmetric|skew-symmetric|hermitian)[ \t]*\r?$",
    re.IGNORECASE,
)
# Only printable ASCII and line/field whitespace may appear: anything else is not Matrix Market.
_BAD_BYTE = re.compile(rb"[^\t\n\r\x20-\x7e]")
# What one column, one row and one stored entry cost once decoded into a sparse DataFrame
# (pandas keeps a SparseArray per column: ~1.5 KiB measured on pandas 2.x).
COLUMN_BYTES, ROW_BYTES, ENTRY_BYTES = 1536, 8, 24

_limit: list[int | None] = [None]


def limit_expansion(max_bytes: int | None) -> None:
    """Refuse (413) bodies whose decoded frame would take more than `max_bytes` (None: no bound)."""
    _limit[0] = max_bytes


def read(data: bytes):
    """A Matrix Market body -> a scipy CSR matrix, or PayloadError naming what is wrong (never the content)."""
    import numpy as np
    import scipy.sparse

    if _BAD_BYTE.search(data):
        raise PayloadError("The Matrix Market (.mtx) input holds bytes that are not printable ASCII text")
    lines = data.split(b"\n", 1)
    banner = _BANNER.match(lines[0].strip(b" \t"))
    if banner is None:
        raise PayloadError(
            "The Matrix Market (.mtx) input does not start with a valid "
            "'%%MatrixMarket matrix <coordinate|array> <field> <symmetry>' line"
        )
    layout, field, symmetry = (part.decode().lower() for part in banner.groups())
    rest = lines[1] if len(lines) > 1 else b""
    size_line, body = _size_line(rest)
    dims = _integers(size_line, 3 if layout == "coordinate" else 2, "size line")
    rows, cols = dims[0], dims[1]
    if symmetry != "general" and rows != cols:
        raise PayloadError(f"The Matrix Market (.mtx) input is {symmetry} but not square ({rows} x {cols})")
    per_entry = {"pattern": 0, "complex": 2}.get(field, 1)
    if layout == "coordinate":
        count = dims[2]
        per_entry += 2
    else:
        if field == "pattern":
            raise PayloadError(
                "The Matrix Market (.mtx) input is an array of field 'pattern', which has no values"
            )
        count = (
            rows * cols
            if symmetry == "general"
            else (rows * (rows + 1) // 2 if symmetry != "skew-symmetric" else rows * (rows - 1) // 2)
        )
    # Every entry takes at least two bytes per token: more than that cannot be in the body.
    if count * max(per_entry, 1) * 2 > len(body) + 2:
        raise PayloadError(
            f"The Matrix Market (.mtx) input declares {count} entries but the body is too short to hold them"
        )
    stored = count * (2 if symmetry != "general" else 1) if layout == "coordinate" else rows * cols
    _check_expansion(rows, cols, stored)
    tokens = body.split()
    if len(tokens) != count * per_entry:
        raise PayloadError(
            f"The Matrix Market (.mtx) input declares {count} entries but holds "
            f"{len(tokens)} values where {count * per_entry} were expected"
        )
    dtype = {"integer": np.int64, "complex": np.complex128}.get(field, np.float64)
    table = (
        np.array(tokens, dtype=object).reshape(count, per_entry)
        if count
        else np.empty((0, per_entry), object)
    )
    if layout == "coordinate":
        i = _column(table[:, 0], np.int64, "row index") - 1
        j = _column(table[:, 1], np.int64, "column index") - 1
        if count and (i.min() < 0 or i.max() >= rows or j.min() < 0 or j.max() >= cols):
            raise PayloadError(
                f"The Matrix Market (.mtx) input has an entry outside its declared shape {rows} x {cols}"
            )
        values = _values(table[:, 2:], field, dtype, count)
    else:
        values = _values(table, field, dtype, count)
        if symmetry == "general":
            j, i = np.divmod(np.arange(count, dtype=np.int64), rows) if rows else (np.empty(0, np.int64),) * 2
        else:
            # Column-major lower triangle: the transpose of numpy's row-major upper triangle.
            j, i = np.triu_indices(rows, k=1 if symmetry == "skew-symmetric" else 0)
    if symmetry != "general":
        off = i != j
        mirrored = values[off]
        if symmetry == "skew-symmetric":
            mirrored = -mirrored
        elif symmetry == "hermitian":
            mirrored = np.conj(mirrored)
        i, j, values = (
            np.concatenate([i, j[off]]),
            np.concatenate([j, i[off]]),
            np.concatenate([values, mirrored]),
        )
    matrix = scipy.sparse.coo_matrix((values, (i, j)), shape=(rows, cols)).tocsr()
    if layout == "array":
        matrix.eliminate_zeros()  # a dense array's zeros are not entries (as scipy's reader gives them)
    return matrix


def _size_line(rest: bytes) -> tuple[bytes, bytes]:
    """The first line that is neither a comment nor blank, and what follows it."""
    while rest:
        line, _, rest = rest.partition(b"\n")
        stripped = line.strip()
        if stripped and not stripped.startswith(b"%"):
            return stripped, rest
    raise PayloadError("The Matrix Market (.mtx) input has no size line")


def _integers(line: bytes, expected: int, what: str) -> list[int]:
    parts = line.split()
    if len(parts) != expected or not all(part.isdigit() and len(part) <= 18 for part in parts):
        raise PayloadError(
            f"The Matrix Market (.mtx) input's {what} must be {expected} non-negative whole numbers"
        )
    return [int(part) for part in parts]


def _check_expansion(rows: int, cols: int, stored: int) -> None:
    limit = _limit[0]
    needed = COLUMN_BYTES * cols + ROW_BYTES * rows + ENTRY_BYTES * stored
    if limit is not None and needed > limit:
        raise PayloadTooLargeError(
            f"The Matrix Market (.mtx) input declares a {rows} x {cols} matrix with {stored} entries, which would "
            f"take about {needed >> 20} MiB once decoded; the limit derived from --max-body-size is {limit >> 20} MiB"
        )


def _column(tokens, dtype, what: str):
    import numpy as np

    try:
        return np.array([int(token) for token in tokens], dtype=dtype)
    except (ValueError, OverflowError):
        raise PayloadError(
            f"The Matrix Market (.mtx) input has a {what} that is not a whole number in range"
        ) from None


def _values(table, field: str, dtype, count: int):
    import numpy as np

    if field == "pattern":
        return np.ones(count, dtype=np.float64)
    try:
        if field == "complex":
            real = np.array(table[:, 0].astype(bytes), dtype=np.float64)
            imag = np.array(table[:, 1].astype(bytes), dtype=np.float64)
            return real + 1j * imag
        column = table[:, 0]
        if field == "integer":
            return np.array([int(token) for token in column], dtype=dtype)
        return np.array(column.astype(bytes), dtype=np.float64)
    except (ValueError, OverflowError):
        raise PayloadError(
            f"The Matrix Market (.mtx) input has a value that is not a {field} number"
        ) from None
