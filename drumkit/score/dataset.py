"""An input dataset: a file, a glob, a folder or an fsspec URL, listed and cut into partitions of about `blocksize` bytes.

Partitions are what an engine maps the model over: a byte range of a CSV file (cut at line breaks),
a run of Parquet row groups, or a whole file (Arrow, MTX, inputs of a `read_input_data` hook, and
every file of an unstructured model). They are read through the codec registry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

from drumkit.errors import PayloadError, UsageError
from drumkit.predictor import codecs

DEFAULT_BLOCKSIZE = 64 * 1024 * 1024
# The extra that brings each filesystem's package (fsspec names the package in its ImportError).
FILESYSTEM_EXTRAS = {
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "abfs": "azure",
    "abfss": "azure",
    "az": "azure",
    "adl": "azure",
    "http": "http",
    "https": "http",
}
_GLOB = re.compile(r"[*?\[]")
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def parse_bytes(text: str) -> int:
    """'64MiB' -> 67108864; a plain number is bytes; 0 means whole files."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*", text.lower())
    if not match:
        raise UsageError(
            f"--blocksize {text!r} is not a size (examples: 64MiB, 500MB, 1048576, 0 for whole files)"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2) or ""])


def is_remote(spec: str) -> bool:
    """Whether a path is a URL of another filesystem than the local one."""
    protocol = spec.split("://", 1)[0] if "://" in spec else "file"
    return protocol not in ("file", "local")


def has_glob(spec: str) -> bool:
    """Whether a path holds glob characters."""
    return bool(_GLOB.search(spec))


def is_local(fs: Any) -> bool:
    """Whether an fsspec filesystem is the local disk."""
    protocol = fs.protocol
    return "file" in ((protocol,) if isinstance(protocol, str) else tuple(protocol))


def filesystem(spec: str, storage_options: dict | None = None) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) for a local path or URL; a missing package names its extra."""
    import fsspec

    protocol = spec.split("://", 1)[0].lower() if "://" in spec else "file"
    try:
        return fsspec.core.url_to_fs(spec, **(storage_options or {}))
    except ImportError:
        extra = FILESYSTEM_EXTRAS.get(protocol)
        install = (
            f"pip install 'drumkit[{extra}]'" if extra else "install the fsspec filesystem package for it"
        )
        raise UsageError(f"Reading or writing {protocol}:// needs an extra: {install}") from None
    except ValueError as exc:
        raise UsageError(f"Cannot use {spec}: {str(exc).splitlines()[0]}") from None
    except TypeError as exc:
        raise UsageError(f"--storage-options do not fit {protocol}://: {str(exc).splitlines()[0]}") from None


def _visible(path: str) -> bool:
    # Hadoop/Spark convention: _SUCCESS, _temporary, .crc and hidden files are not data.
    return not PurePosixPath(path).name.startswith(("_", "."))


def list_files(spec: str, storage_options: dict | None = None) -> tuple[Any, str, list[str]]:
    """(filesystem, root, sorted data files) of a file, glob or folder; root is what output names are relative to."""
    fs, path = filesystem(spec, storage_options)
    try:
        if has_glob(path):
            first_glob = _GLOB.search(path)
            assert first_glob is not None  # has_glob(path) found one
            root = path[: first_glob.start()].rsplit("/", 1)[0]
            files = [f for f in fs.glob(path) if fs.isfile(f) and _visible(f)]
        elif fs.isdir(path):
            root = path.rstrip("/")
            files = [
                f for f in fs.find(root) if _visible(f.rsplit("/", 1)[-1]) and "/_" not in f[len(root) :]
            ]
        elif fs.isfile(path):
            root, files = path.rsplit("/", 1)[0] if "/" in path else "", [path]
        else:
            raise UsageError(f"The file {spec} does not exist!")
    except UsageError:
        raise
    except Exception as exc:  # each filesystem has its own errors (botocore's NoCredentialsError, ...)
        reason = str(exc).splitlines()[0] if str(exc) else ""
        raise UsageError(f"Cannot list {spec}: {type(exc).__name__}: {reason}".rstrip(": ")) from None
    if not files:
        raise UsageError(f"No input files match {spec}")
    return fs, root, sorted(files)


@dataclass(frozen=True)
class Partition:
    """One unit of work: a file, or a byte range / row-group run of it."""

    index: int
    path: str  # inside the filesystem
    name: str  # relative to the dataset root (what unstructured outputs are named)
    fmt: str
    start: int = 0  # CSV byte range [start, end); end None means whole file
    end: int | None = None
    row_groups: tuple[int, ...] | None = None  # Parquet
    first_row: int | None = None  # 0-based, when known without reading (Parquet)
    rows: int | None = None

    def describe(self, first_row: int | None = None, rows: int | None = None) -> str:
        """'data.csv rows 20001-40000' (or a byte range when rows are unknown)."""
        first_row = self.first_row if first_row is None else first_row
        rows = self.rows if rows is None else rows
        if first_row is not None and rows is not None:
            return f"{self.name} rows {first_row + 1}-{first_row + rows}"
        if self.end is not None:
            return f"{self.name} bytes {self.start}-{self.end}"
        return self.name


def plan_partitions(
    fs: Any, root: str, files: list[str], blocksize: int, whole_files: bool
) -> list[Partition]:
    """Cut each file into partitions of about `blocksize` bytes (whole files when asked or when the format cannot split)."""
    parts: list[Partition] = []
    for path in files:
        name = path[len(root) :].lstrip("/") if root and path.startswith(root) else path.rsplit("/", 1)[-1]
        fmt = codecs.format_for_filename(name)
        if whole_files or blocksize <= 0 or fmt in (codecs.MTX, codecs.ARROW):
            pieces = [Partition(0, path, name, fmt)]
        elif fmt == codecs.PARQUET:
            pieces = _parquet_pieces(fs, path, name, blocksize)
        else:
            size = fs.size(path)
            count = max(1, -(-size // blocksize))
            step = max(1, -(-size // count))  # even ranges: no short last piece to end a job on
            pieces = [
                Partition(0, path, name, fmt, start, min(start + step, size))
                for start in range(0, max(size, 1), step)
            ]
        base = len(parts)
        parts.extend(replace(piece, index=base + i) for i, piece in enumerate(pieces))
    return parts


def _parquet_pieces(fs: Any, path: str, name: str, blocksize: int) -> list[Partition]:
    """Runs of row groups whose decoded size adds up to about `blocksize` (a larger group stands alone)."""
    import pyarrow.parquet as pq

    try:
        with fs.open(path, "rb") as handle:
            meta = pq.ParquetFile(handle).metadata
    except Exception as exc:  # pyarrow's errors for a broken footer vary by version
        raise PayloadError(
            f"Could not read the Parquet input {name}: {str(exc).splitlines()[0][:200]}"
        ) from None
    sizes = [meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)]
    runs = _greedy_runs(sizes, blocksize)
    even = _even_runs(sizes, len(runs))
    if all(len(run) == 1 or sum(sizes[i] for i in run) <= blocksize for run in even):
        runs = even  # as many partitions, of about the same size: a job does not end on one big one
    pieces: list = []
    first = 0
    for run in runs:
        rows = sum(meta.row_group(i).num_rows for i in run)
        pieces.append(
            Partition(0, path, name, codecs.PARQUET, row_groups=tuple(run), first_row=first, rows=rows)
        )
        first += rows
    return pieces


def _greedy_runs(sizes: list[int], blocksize: int) -> list[list[int]]:
    """Consecutive row groups, each run as long as it stays within `blocksize` (a larger group stands alone)."""
    runs: list[list[int]] = [[]]
    total = 0
    for i, size in enumerate(sizes):
        if runs[-1] and total + size > blocksize:
            runs.append([])
            total = 0
        runs[-1].append(i)
        total += size
    return runs


def _even_runs(sizes: list[int], count: int) -> list[list[int]]:
    """Consecutive row groups in `count` runs of about the same total size."""
    total = sum(sizes)
    runs: list[list[int]] = [[] for _ in range(count)]
    done = 0
    for i, size in enumerate(sizes):
        # The run a group's middle falls in, never before the previous group's.
        slot = min(count - 1, int((done + size / 2) * count // max(total, 1)))
        runs[slot].append(i)
        done += size
    return [run for run in runs if run]


def read_bytes(fs: Any, part: Partition) -> bytes:
    """A whole file's bytes."""
    with fs.open(part.path, "rb") as handle:
        return handle.read()


def read_csv_range(fs: Any, part: Partition) -> tuple[bytes, int]:
    """(header line + the whole rows of the range, byte where those rows begin).

    A range owns the rows that start after the first line break at or past its start, up to the
    first line break at or past its end (fsspec's delimiter rule, as dask.read_csv cuts).
    """
    from fsspec.utils import seek_delimiter

    with fs.open(part.path, "rb") as handle:
        header = _header_line(handle)
        if part.start == 0:
            begin = len(header)
        else:
            handle.seek(part.start)
            seek_delimiter(handle, b"\n", 1 << 16)
            begin = max(handle.tell(), len(header))
        handle.seek(part.end)
        if part.end < fs.size(part.path):
            seek_delimiter(handle, b"\n", 1 << 16)
        stop = handle.tell()
        handle.seek(begin)
        block = handle.read(max(stop - begin, 0))
    if block.count(b'"') % 2:
        raise PayloadError(
            f"a quoted value holds a line break where {part.name} was cut into partitions; "
            "use a larger --blocksize, or --blocksize 0 to read whole files"
        )
    return header + block, begin


def _header_line(handle) -> bytes:
    """The first row (a quoted header name may hold a line break)."""
    data = b""
    while True:
        chunk = handle.read(1 << 16)
        data += chunk
        end = data.find(b"\n")
        while end >= 0 and data.count(b'"', 0, end) % 2:
            end = data.find(b"\n", end + 1)
        if end >= 0:
            return data[: end + 1]
        if not chunk:
            return data


def rows_before(fs: Any, part: Partition, begin: int) -> int:
    """How many data rows of the file come before byte `begin` (line breaks; used to name failing rows)."""
    with fs.open(part.path, "rb") as handle:
        header = len(_header_line(handle))
        handle.seek(header)
        remaining, count = max(begin - header, 0), 0
        while remaining > 0:
            chunk = handle.read(min(remaining, 1 << 22))
            if not chunk:
                break
            count += chunk.count(b"\n")
            remaining -= len(chunk)
    return count


def iter_parquet_groups(fs: Any, part: Partition, block_rows: int, use_threads: bool = True) -> Iterator[Any]:
    """DataFrames of `block_rows` rows of a run of Parquet row groups, read block by block."""
    from drumkit.predictor.codecs.parquet_codec import iter_row_groups

    with fs.open(part.path, "rb") as handle:
        yield from iter_row_groups(
            handle, part.row_groups, f"the Parquet input {part.name}", block_rows, use_threads
        )
