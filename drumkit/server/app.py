"""The WSGI apps serving one loaded model (or, for the error server, why it failed to load).

`create_app` is the Flask app with every route. A server worker runs `create_worker_app`: the same
routes, but Flask (~8 MiB of a worker's memory) is imported only when a request needs it, since the
envelope answers raw-body predictions and `/ping/` itself.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from drumkit.errors import DrumkitError
from drumkit.server.envelope import Envelope
from drumkit.server.flask_extension import find_extension
from drumkit.server.settings import ServerSettings
from drumkit.server.state import ServerState

log = logging.getLogger("drumkit.server")


def create_app(
    predictor,
    settings: ServerSettings | None = None,
    *,
    load_error: str | None = None,
    state: ServerState | None = None,
):
    """Build the Flask app for a Predictor; with `load_error`, an error server answering 513 with that reason."""
    state = _prepare(predictor, settings, load_error, state)
    extension = find_extension(predictor.code_dir.path) if predictor is not None else None
    return _served_by_flask(state, extension)


def create_worker_app(predictor, settings: ServerSettings, *, state: ServerState):
    """The app a server worker serves: `create_app`'s routes, with Flask built on the first request that needs it.

    A model that chats, or whose code dir extends the app (custom_flask.py), gets the Flask app at once.
    """
    state = _prepare(predictor, settings, None, state)
    extension = find_extension(predictor.code_dir.path)
    if predictor.supports_chat or extension is not None:
        return _served_by_flask(state, extension)
    app = Envelope(FlaskOnDemand(state), state)
    _self_check(app, state)
    return app


def _served_by_flask(state: ServerState, extension: Path | None):
    """The Flask app inside the envelope, checked; with an extension every request goes through Flask."""
    app = _flask_app(state, extension)
    app.wsgi_app = Envelope(app.wsgi_app, state, lean=extension is None)  # Flask's documented middleware hook
    _self_check(app, state, extension is not None)
    return app


class FlaskOnDemand:
    """The Flask app's WSGI callable, built by the first request that reaches it."""

    def __init__(self, state: ServerState):
        self.state = state
        self.app: Any = None
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if self.app is None:
            with self._lock:  # two threads of one worker may ask at once
                if self.app is None:
                    self.app = _flask_app(self.state, None)
        return self.app.wsgi_app(environ, start_response)


def _prepare(predictor, settings: ServerSettings | None, load_error: str | None, state: ServerState | None):
    from drumkit.predictor.codecs.mtx_guard import limit_expansion

    settings = settings or ServerSettings()
    limit_expansion(
        settings.max_body_size
    )  # a small body may not decode into more than the largest allowed one
    state = state or ServerState(predictor=predictor, settings=settings)
    state.predictor, state.settings, state.load_error = predictor, settings, load_error
    return state


def _flask_app(state: ServerState, extension: Path | None):
    """The Flask app with every route, extended by the code dir's custom_flask.py when it has one."""
    from flask import Flask

    from drumkit.server import routes

    settings = state.settings
    app = Flask("drumkit.server")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_size,
        MAX_FORM_MEMORY_SIZE=settings.max_body_size,
        JSON_SORT_KEYS=False,
    )
    app.url_map.merge_slashes = False  # "//predict/" must not redirect (clients drop POST bodies)
    routes.register(app, state)
    if extension is not None:
        from drumkit.server.flask_extension import apply_extension

        apply_extension(app, extension)
    app.extensions["drumkit"] = state
    return app


def _self_check(app, state: ServerState, extended: bool = False) -> None:
    """Answer one request through the whole stack before declaring the server ready (`/health/`)."""
    from drumkit.server.paths import spellings

    path = spellings(state.settings.url_prefix, "/ping/")[0]
    status, headers, body = _get(app, path)
    expected = 513 if state.load_error is not None else 200
    ok = status == expected and headers.get("content-type", "").startswith("application/json")
    if ok:
        try:
            json.loads(body)
        except ValueError:
            ok = False
    if extended and 400 <= status < 500:
        ok = True  # the extension guards /ping/ (HTTP auth, ...) and answered: the stack works
    if not ok:
        raise DrumkitError(f"The server failed its self-check: GET {path} answered {status}")
    state.ready = state.load_error is None


def _get(app, path: str) -> tuple[int, dict[str, str], bytes]:
    """One GET through a WSGI app, as a server would call it: (status, headers by lower-case name, body).

    Written out rather than through werkzeug's test client, which would load what a worker's app defers.
    """
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "HTTP_X_REQUEST_ID": "self-check",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    seen: list[tuple[str, list]] = []
    chunks = app(environ, lambda status, headers, exc_info=None: seen.append((status, headers)))
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    status, headers = seen[0]
    return int(status.split(" ", 1)[0]), {name.lower(): value for name, value in headers}, body
