"""`create_app`: the Flask app serving one loaded model (or, for the error server, why it failed to load)."""

from __future__ import annotations

import logging

from drumkit.errors import DrumkitError
from drumkit.server.envelope import Envelope
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
    from flask import Flask

    from drumkit.predictor.codecs.mtx_guard import limit_expansion
    from drumkit.server import routes

    settings = settings or ServerSettings()
    limit_expansion(
        settings.max_body_size
    )  # a small body may not decode into more than the largest allowed one
    state = state or ServerState(predictor=predictor, settings=settings)
    state.predictor, state.settings, state.load_error = predictor, settings, load_error
    app = Flask("drumkit.server")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_size,
        MAX_FORM_MEMORY_SIZE=settings.max_body_size,
        JSON_SORT_KEYS=False,
    )
    app.url_map.merge_slashes = False  # "//predict/" must not redirect (clients drop POST bodies)
    routes.register(app, state)
    extended = False
    if predictor is not None:
        from drumkit.server.flask_extension import apply_extension

        extended = apply_extension(app, predictor.code_dir.path) is not None
    # With an extension, every request goes through Flask so that its hooks apply to every route.
    app.wsgi_app = Envelope(app.wsgi_app, state, lean=not extended)  # type: ignore[method-assign]  # Flask's documented middleware hook
    app.extensions["drumkit"] = state
    _self_check(app, state, extended)
    return app


def _self_check(app, state: ServerState, extended: bool = False) -> None:
    """Answer one request through the whole stack before declaring the server ready (`/health/`)."""
    from drumkit.server.paths import spellings

    path = spellings(state.settings.url_prefix, "/ping/")[0]
    response = app.test_client().get(path, headers={"X-Request-ID": "self-check"})
    expected = 513 if state.load_error is not None else 200
    ok = response.status_code == expected and response.is_json
    if extended and 400 <= response.status_code < 500:
        ok = True  # the extension guards /ping/ (HTTP auth, ...) and answered: the stack works
    if not ok:
        raise DrumkitError(f"The server failed its self-check: GET {path} answered {response.status}")
    state.ready = state.load_error is None
