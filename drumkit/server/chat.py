"""OpenAI-compatible routes: POST /chat/completions (JSON or Server-Sent Events) and GET /models.

A streamed answer is a WSGI iterable yielding one SSE event per chunk as the hook produces it;
serve.py runs these requests on threads of their own (streams.py) and waitress sends every write at
once, so a long stream neither waits for its end to reach the client nor holds up /ping/ or predictions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from drumkit.errors import CustomHTTPError, DrumkitError, PayloadError
from drumkit.predictor.codecs.json_codec import dumps
from drumkit.server.answers import error_answer, json_answer, message
from drumkit.server.paths import CHAT_ROUTES, MODELS_ROUTES
from drumkit.server.routes import ERROR_SERVER_STATUS, to_response
from drumkit.server.state import ServerState

log = logging.getLogger("drumkit.server")

EVENT_STREAM = "text/event-stream; charset=utf-8"
DONE_EVENT = b"data: [DONE]\n\n"


class UnsupportedMediaType(DrumkitError):
    """A chat request whose body is not JSON (HTTP 415)."""

    http_status = 415


class MalformedJson(DrumkitError):
    """A chat request whose JSON does not parse (HTTP 400)."""

    http_status = 400


def register(add, state: ServerState) -> None:
    """Add the chat and models routes through `add(routes, endpoint, view, method)` (the `model_api`
    blueprint, DRUM's endpoint names `chat` and `get_supported_llm_models`)."""
    from flask import request

    def respond(view):
        def run():
            if state.load_error is not None:
                return to_response(message(f"ERROR: {state.load_error}", ERROR_SERVER_STATUS))
            try:
                return view()
            except BaseException as exc:  # SystemExit from a hook too: a JSON body, the server keeps serving
                return to_response(error_answer(exc))

        return run

    def chat():
        params = parse_chat_request(request.content_type, request.get_data(cache=False))
        reply = state.loaded.chat(params, dict(request.headers))
        if reply.chunks is None:
            assert reply.completion is not None, "call_chat returns a completion or chunks"
            return to_response(json_answer(reply.completion))
        from flask import Response

        return Response(
            sse_events(reply.chunks),
            200,
            {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            content_type=EVENT_STREAM,
        )

    def models():
        return to_response(json_answer(state.loaded.supported_models()))

    add(CHAT_ROUTES, "chat", respond(chat), "POST")
    add(MODELS_ROUTES, "get_supported_llm_models", respond(models), "GET")


def parse_chat_request(content_type: str | None, body: bytes) -> dict:
    """The JSON object of a chat request: 415 when it is not JSON, 400 when it does not parse."""
    mimetype = (content_type or "").split(";")[0].strip().lower()
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            f"The chat request must be JSON (Content-Type: application/json), not '{mimetype or 'none'}'"
        )
    try:
        params = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJson(f"The chat request is not valid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise PayloadError(f"The chat request must be a JSON object, not {type(params).__name__}")
    return params


def sse_events(chunks: Iterator[dict]) -> Iterator[bytes]:
    """`data: <chunk>` events ending with `data: [DONE]`; a failure mid-stream ends it with an error event.

    Closing this iterable (waitress does when the client goes away) closes the hook's iterator.
    """
    try:
        for chunk in chunks:
            yield b"data: " + dumps(chunk) + b"\n\n"
    except Exception as exc:
        # The status line is gone already; OpenAI clients raise on an event carrying "error".
        status = exc.status_code if isinstance(exc, CustomHTTPError) else getattr(exc, "http_status", 500)
        text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        log.error("chat stream failed: %s", text, exc_info=exc if log.isEnabledFor(logging.DEBUG) else None)
        yield (
            b"data: "
            + dumps({"error": {"message": str(text), "type": "server_error", "code": status}})
            + b"\n\n"
        )
        return
    finally:
        close = getattr(chunks, "close", None)
        if callable(close):
            close()
    yield DONE_EVENT
