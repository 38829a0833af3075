"""Every response body the server sends is built here: a status, headers and JSON or raw bytes."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field

from drumkit.errors import CustomHTTPError, DrumkitError
from drumkit.predictor.codecs.json_codec import dumps

log = logging.getLogger("drumkit.server")

JSON = "application/json"
USER_ERROR_HEADER = "X-Drum-User-Http-Error"


@dataclass
class Answer:
    """A finished response: status code, headers and body bytes."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_answer(body: dict, status: int = 200) -> Answer:
    """A JSON response."""
    return Answer(status, dumps(body))


def message(text: str, status: int) -> Answer:
    """`{"message": text}` with a status."""
    return Answer(status, dumps({"message": text}))


def error_answer(exc: BaseException) -> Answer:
    """Turn any failure into DRUM's JSON error body; unexpected ones are logged with their traceback."""
    # Only Flask raises werkzeug's HTTP errors: a worker that has not loaded it does not import it here.
    werkzeug_exceptions = sys.modules.get("werkzeug.exceptions")
    http_exception = getattr(werkzeug_exceptions, "HTTPException", ())

    if isinstance(exc, CustomHTTPError):
        answer = message(str(exc.message), int(exc.status_code))
        answer.headers.append((USER_ERROR_HEADER, "true"))
        return answer
    if isinstance(exc, DrumkitError):
        if exc.http_status >= 500:
            log.error(
                "request failed: %s", exc.message, exc_info=exc if log.isEnabledFor(logging.DEBUG) else None
            )
        return message(f"ERROR: {exc.message}", exc.http_status)
    if isinstance(exc, http_exception):
        answer = message(f"ERROR: {exc.code} {exc.name}: {exc.description}", exc.code or 500)
        answer.headers.extend((k, v) for k, v in exc.get_headers() if k.lower() != "content-type")
        return answer
    log.error("unexpected error while answering a request", exc_info=exc)
    return message(f"ERROR: {type(exc).__name__}: {exc}", 500)
