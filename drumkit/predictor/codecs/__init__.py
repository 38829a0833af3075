"""The one codec registry: payload formats keyed by media type and file suffix, decoders and encoders.

`score` streams files through it, `server` decodes request bodies and encodes answers with it, and
`validate` and `perf` read their inputs with it. Each format's code lives in its own module
(`csv_codec`, `arrow_codec`, `parquet_codec`, `mtx_codec`, `json_codec`), imported on first use so
that nothing heavy loads before it is needed.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumkit.errors import PayloadError

CSV, MTX, ARROW, PARQUET, JSON = "csv", "mtx", "arrow", "parquet", "json"

# The media type DRUM hands hooks for each format; CSV is None there, as in DRUM.
ARROW_STREAM = "application/vnd.apache.arrow.stream"
DRUM_ARROW = "application/x-apache-arrow-stream"
PARQUET_TYPE = "application/vnd.apache.parquet"
CSV_TYPE = "text/csv"
JSON_TYPE = "application/json"

RESTART = None  # yielded by `iter_body` / `iter_file` in place of a frame: discard what came so far

# ~20k rows of a typical table: big enough to amortise each predict call, small enough that the
# model's intermediates stay in cache (on the benchmark's sklearn pipeline 4 MiB blocks beat
# 16 MiB ones by 25% in wall time and 40% in peak RSS).
BLOCK_BYTES = 4 * 1024 * 1024
BLOCK_ROWS = 100_000
# Request bodies over BODY_SPLIT_BYTES are predicted in blocks of BODY_BLOCK_BYTES: a server worker
# holds the body too, so its blocks are smaller than `score`'s (a 19 MB CSV, in the worker: peak 188
# MiB and 133 ms per request with 1 MiB blocks, 198 MiB and 100 ms with 2, +20 MiB more with 4);
# smaller bodies are read whole, in one predict call.
BODY_BLOCK_BYTES = 2 * 1024 * 1024
BODY_SPLIT_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Codec:
    """One payload format: how it is named on the wire and on disk, and the module that reads and writes it."""

    name: str
    media_types: tuple[str, ...]
    suffixes: tuple[str, ...]
    hook_media_type: str | None
    module: str
    splits: bool  # a body or file can be read in row blocks

    def impl(self) -> Any:
        """The format's module (imported on first use)."""
        return importlib.import_module(f"{__name__}.{self.module}")


REGISTRY: dict[str, Codec] = {
    c.name: c
    for c in (
        Codec(
            CSV, ("", "text/csv", "text/plain", "application/csv"), (".csv", ".txt"), None, "csv_codec", True
        ),
        Codec(MTX, ("text/mtx",), (".mtx",), "text/mtx", "mtx_codec", False),
        Codec(
            ARROW,
            (ARROW_STREAM, DRUM_ARROW, "application/vnd.apache.arrow.file"),
            (".arrow", ".feather", ".ipc"),
            DRUM_ARROW,
            "arrow_codec",
            True,
        ),
        Codec(
            PARQUET,
            (PARQUET_TYPE, "application/x-parquet"),
            (".parquet", ".pq"),
            PARQUET_TYPE,
            "parquet_codec",
            True,
        ),
    )
}
_BY_MEDIA_TYPE = {media_type: codec.name for codec in REGISTRY.values() for media_type in codec.media_types}
_BY_SUFFIX = {suffix: codec.name for codec in REGISTRY.values() for suffix in codec.suffixes}

# Answers to a structured prediction request, by the media type a client asks for (`Accept`).
RESPONSE_TYPES: dict[str, str] = {JSON_TYPE: JSON, CSV_TYPE: CSV, ARROW_STREAM: ARROW, DRUM_ARROW: ARROW}
RESPONSE_MEDIA_TYPE = {JSON: JSON_TYPE, CSV: f"{CSV_TYPE}; charset=utf-8", ARROW: ARROW_STREAM}


def split_content_type(content_type: str | None) -> tuple[str, str | None]:
    """`Text/CSV; charset="latin-1"` -> ('text/csv', 'latin-1'); no type gives ('', None)."""
    mimetype, _, params = (content_type or "").partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    return mimetype.strip().lower(), charset


def format_for_media_type(mimetype: str | None) -> str | None:
    """The payload format of a media type (no type means CSV), or None when it is not decodable."""
    return _BY_MEDIA_TYPE.get(split_content_type(mimetype)[0])


def format_for_filename(name: str | Path | None) -> str:
    """The payload format of a file name: by suffix, CSV for anything else (as DRUM does)."""
    return _BY_SUFFIX.get(Path(name or "").suffix.lower(), CSV)


def output_format_for_filename(name: str | Path | None) -> str:
    """The format `score` writes to a destination: Arrow or Parquet by suffix, CSV otherwise."""
    fmt = format_for_filename(name)
    return fmt if fmt in (ARROW, PARQUET) else CSV


def media_type_for_format(fmt: str) -> str | None:
    """The mimetype DRUM hands hooks for a format (None for CSV, as in DRUM)."""
    return REGISTRY[fmt].hook_media_type


def capabilities() -> dict[str, str | None]:
    """Decodable formats and the library version behind each (null when not pinned, as the spec says)."""
    import pyarrow

    return {CSV: None, MTX: None, ARROW: pyarrow.__version__, PARQUET: pyarrow.__version__}


def read_colnames(data: bytes | str | None) -> list[str] | None:
    """Column names for a sparse payload: one a line, blank lines dropped."""
    if data is None:
        return None
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    names = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    return names or None


def decode(data: bytes, fmt: str, sparse_colnames: list[str] | None = None):
    """Decode a whole payload into a DataFrame."""
    if not data:
        raise PayloadError("The payload is empty")
    return REGISTRY[fmt].impl().decode(data, sparse_colnames)


def splits(fmt: str) -> bool:
    """Whether a payload of this format can be decoded in row blocks."""
    return REGISTRY[fmt].splits


def iter_body(data: bytes | bytearray, fmt: str, block_bytes: int = BLOCK_BYTES) -> Iterator[Any]:
    """DataFrames of row blocks of a whole body, with the dtypes the whole body would get.

    A CSV whose column types change late yields `RESTART` once per change: drop what came so far.
    """
    return REGISTRY[fmt].impl().iter_body(data, block_bytes)


def streams(fmt: str, size: int, block_bytes: int = BLOCK_BYTES) -> bool:
    """Whether `score` reads a file in blocks (CSV larger than one block, Parquet, Arrow) rather than whole."""
    return fmt in (PARQUET, ARROW) or (fmt == CSV and size > block_bytes)


def iter_file(path: Path, fmt: str, block_bytes: int = BLOCK_BYTES) -> Iterator[tuple[Any, int]]:
    """Yield (DataFrame, bytes of the file consumed so far) for a file that `streams`; `(RESTART, 0)` as in `iter_body`."""
    return REGISTRY[fmt].impl().iter_file(Path(path), block_bytes)


def file_writer(path: Path | str, fmt: str):
    """A writer appending DataFrames to a CSV, Arrow or Parquet file (`write(frame)`, `close()`)."""
    return REGISTRY[fmt].impl().FileWriter(Path(path))


def response_format(media_type: str) -> str | None:
    """The answer format for a media type a client accepts, or None when none is made for it."""
    return RESPONSE_TYPES.get(media_type)


def encode_predictions(
    predictions: Any, fmt: str, classification: bool, keep_values: bool = False
) -> tuple[bytes, str]:
    """(body, content type) of checked predictions in an answer format (JSON, CSV or Arrow).

    `keep_values`: the JSON answer keeps the model's values (text stays text) instead of DRUM's float cast.
    """
    if fmt == JSON:
        from drumkit.predictor.codecs.json_codec import predictions_json

        return predictions_json(predictions, classification, keep_values), JSON_TYPE
    return REGISTRY[fmt].impl().encode(predictions.to_frame()), RESPONSE_MEDIA_TYPE[fmt]
