"""The WSGI layer around the Flask app: request ids, access log, timings, body limit, and the lean predict path.

Raw-body predictions (the hot path: CSV, Arrow or Parquet bodies) and `/ping/` are answered here
without Flask's routing and context machinery; multipart bodies and every other route go to Flask.
Both paths build their answer with the same `handlers.predict`.
"""

from __future__ import annotations

import io
import logging
import time
import uuid

from drumkit.predictor.targets import TargetType
from drumkit.server import handlers, intake, metrics
from drumkit.server.answers import Answer, error_answer, json_answer, message
from drumkit.server.body import SharedBody
from drumkit.server.paths import (
    PREDICT_ROUTES,
    TRANSFORM_ROUTES,
    UNSTRUCTURED_ROUTES,
    all_spellings,
    spellings,
)
from drumkit.server.settings import DRUM_API_VERSION
from drumkit.server.state import ServerState

access_log = logging.getLogger("drumkit.server.access")
_STATUS_TEXT: dict[int, str] = {}
MAX_REQUEST_ID = 200


def status_line(code: int) -> str:
    """`200 OK` for a code."""
    line = _STATUS_TEXT.get(code)
    if line is None:
        from http import HTTPStatus

        try:
            line = f"{code} {HTTPStatus(code).phrase}"
        except ValueError:
            line = f"{code} {'Model Failed To Load' if code == 513 else 'Unknown'}"
        _STATUS_TEXT[code] = line
    return line


class Envelope:
    """WSGI middleware: wraps `app.wsgi_app`."""

    def __init__(self, inner, state: ServerState, lean: bool = True):
        self.inner = inner
        self.state = state
        prefix = state.settings.url_prefix
        # `lean=False` (a custom_flask.py extension is installed): Flask answers every route, hooks and all.
        lean = lean and state.load_error is None
        self.lean_paths = all_spellings(prefix, PREDICT_ROUTES) if lean else set()
        self.ping_paths = all_spellings(prefix, ("/", "/ping/")) if lean else set()
        self.timed_paths = all_spellings(prefix, PREDICT_ROUTES + UNSTRUCTURED_ROUTES + TRANSFORM_ROUTES)
        self.max_body = state.settings.max_body_size
        self.metrics = metrics.RequestMetrics() if metrics.enabled() else None
        self.route_name = metrics.RouteNames(prefix)
        self.metrics_paths = set(spellings(prefix, metrics.METRICS_ROUTE)) if self.metrics else set()

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request_id = (environ.get("HTTP_X_REQUEST_ID") or "")[:MAX_REQUEST_ID] or str(uuid.uuid4())
        environ["drumkit.request_id"] = request_id
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        seen = []
        if self.metrics:
            self.metrics.start()

        def start(status, headers, exc_info=None):
            headers.append(("X-Request-ID", request_id))
            headers.append(("X-Drum-Version", DRUM_API_VERSION))
            seen.append(status)
            return start_response(status, headers, exc_info)

        try:
            answer = self._early_answer(environ, method, path)
            if answer is None:
                try:
                    return self.inner(environ, start)
                except BaseException as exc:  # SystemExit from an extension's hook: answer, keep serving
                    if seen:
                        raise
                    answer = error_answer(exc)
            start(
                status_line(answer.status),
                [
                    ("Content-Type", answer.content_type),
                    ("Content-Length", str(len(answer.body))),
                    *answer.headers,
                ],
            )
            return [answer.body]
        finally:
            elapsed = time.perf_counter() - started
            if method == "POST" and path in self.timed_paths:
                self.state.timings.record(elapsed)
            status = seen[0].split(" ", 1)[0] if seen else "-"
            if self.metrics:
                self.metrics.finish(self.route_name(path), method, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %s %.2fms id=%s", method, path, status, elapsed * 1000, request_id)

    def _early_answer(self, environ, method: str, path: str) -> Answer | None:
        length = _content_length(environ)
        if length > self.max_body:
            return message(
                f"ERROR: the request body ({length} bytes) is larger than the server's limit "
                f"of {self.max_body} bytes (--max-body-size)",
                413,
            )
        if method == "GET" and path in self.metrics_paths:
            body, content_type = metrics.exposition()
            return Answer(200, body, content_type)
        if method == "GET" and path in self.ping_paths:
            return json_answer({"message": "OK"})
        if (
            method != "POST"
            or path not in self.lean_paths
            or intake.is_multipart(environ.get("CONTENT_TYPE"))
        ):
            return None
        return self.lean_predict(environ, length)

    def lean_predict(self, environ, length: int) -> Answer:
        """The one entry of the lean path: a raw-body prediction answered without Flask."""
        try:
            predictor = self.state.loaded
            predictor.require(TargetType.REGRESSION)
            body = _read_body(environ, length)
            sample = intake.from_body(body, environ.get("CONTENT_TYPE"), predictor.reads_any_payload)
            return handlers.predict(predictor, sample, environ.get("HTTP_ACCEPT"))
        except BaseException as exc:  # a hook's SystemExit too: a JSON body, the server keeps serving
            return error_answer(exc)


def _content_length(environ) -> int:
    try:
        return max(int(environ.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _read_body(environ, length: int) -> bytes | bytearray:
    stream = environ["wsgi.input"]
    if isinstance(stream, SharedBody) and stream.tell() == 0 and len(stream.shared) == length:
        return stream.shared  # a large body, predicted in row blocks straight from the received buffer
    if isinstance(stream, io.BytesIO) and stream.tell() == 0:
        # waitress buffers the body in a BytesIO: getvalue() shares its bytes, read() would copy them.
        data = stream.getvalue()
        return data if not length or len(data) == length else data[:length]
    if length:
        return stream.read(length)
    if environ.get("wsgi.input_terminated"):
        return stream.read()
    return b""
