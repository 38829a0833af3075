"""Where a structured payload comes from in a request: a multipart file `X` or the raw body (DRUM 5.3)."""

from __future__ import annotations

from dataclasses import dataclass

from drumkit.errors import PayloadError
from drumkit.predictor import codecs

MISSING_SAMPLES = (
    "Samples should be provided as:   - a csv, mtx, arrow or parquet file under `X` form-data param key.  "
    "- binary data"
)


@dataclass
class Payload:
    """Payload bytes plus what the predictor needs to decode them."""

    data: bytes | bytearray  # a bytearray: a large body in the buffer it was received into
    fmt: str
    mimetype: str | None
    charset: str | None = None
    colnames: list[str] | None = None


def is_multipart(content_type: str | None) -> bool:
    """Whether a body is multipart form data (parsed by Flask, not read raw)."""
    return (content_type or "").lstrip().lower().startswith("multipart/form-data")


def from_body(body: bytes | bytearray, content_type: str | None, reads_any: bool) -> Payload:
    """A raw request body; 422 when it is empty or its media type cannot be decoded."""
    if not body:
        raise PayloadError(MISSING_SAMPLES)
    mimetype, charset = codecs.split_content_type(content_type)
    fmt = codecs.format_for_media_type(mimetype)
    if fmt is None:
        if not reads_any:
            raise PayloadError(
                f"payload format `{mimetype}` is not supported by predictor/transformer. "
                "Make DRUM support the format or implement `read_input_data` hook to read the data. "
            )
        fmt = codecs.CSV  # the read_input_data hook decodes it
    return Payload(body, fmt, mimetype or None, charset)


def from_files(files, name: str = "X") -> Payload | None:
    """A multipart file field (`X`, or `y` for transform); format from the file name, `X.colnames` for MTX."""
    upload = files.get(name)
    if upload is None:
        return None
    data = upload.read()
    if not data:
        raise PayloadError(MISSING_SAMPLES)
    fmt = codecs.format_for_filename(upload.filename)
    colnames = None
    names_file = files.get(f"{name}.colnames")
    if names_file is not None:
        try:
            colnames = codecs.read_colnames(names_file.read())
        except UnicodeDecodeError:
            raise PayloadError(f"The {name}.colnames file must be UTF-8 text") from None
    return Payload(data, fmt, codecs.media_type_for_format(fmt), None, colnames)


def from_request(request, reads_any: bool) -> Payload:
    """The structured payload of a Flask request: file `X` first, else the raw body."""
    if is_multipart(request.content_type):
        found = from_files(request.files)
        if found is None:
            raise PayloadError(MISSING_SAMPLES)
        return found
    return from_body(request.get_data(cache=False), request.content_type, reads_any)
