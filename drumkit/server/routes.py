"""Flask views for every route; each builds an Answer through `handlers` and the error mapping in `answers`."""

from __future__ import annotations

from drumkit import __version__
from drumkit.predictor import codecs
from drumkit.predictor.targets import TargetType
from drumkit.server import handlers, intake
from drumkit.server.answers import Answer, error_answer, json_answer, message
from drumkit.server.openapi import openapi_json
from drumkit.server.paths import GET_ROUTES, PREDICT_ROUTES, TRANSFORM_ROUTES, UNSTRUCTURED_ROUTES, spellings
from drumkit.server.settings import DRUM_API_VERSION
from drumkit.server.state import ServerState
from drumkit.server.stats import stats_body

ERROR_SERVER_STATUS = 513


def to_response(answer: Answer):
    """An Answer as a Flask response."""
    from flask import Response

    return Response(answer.body, answer.status, answer.headers, content_type=answer.content_type)


BLUEPRINT = "model_api"
# DRUM's endpoint names (`model_api.<name>`): Flask extensions such as HTTP auth exempt routes by them.
_GET_ENDPOINTS = {
    "root": "ping",
    "ping": "ping",
    "health": "health",
    "info": "info",
    "stats": "stats",
    "capabilities": "capabilities",
    "openapi": "openapi",
}


def register(app, state: ServerState) -> None:
    """Add every route under the prefix (blueprint `model_api`, DRUM's endpoint names), plus JSON error handlers."""
    from flask import Blueprint, request

    prefix = state.settings.url_prefix
    api = Blueprint(BLUEPRINT, __name__)

    def add(routes, endpoint: str, view, method: str) -> None:
        for route in routes:
            for path in spellings(prefix, route):
                api.add_url_rule(
                    path, endpoint=endpoint, view_func=view, methods=[method], strict_slashes=False
                )

    def guarded(view):
        def run(*args, **kwargs):
            if state.load_error is not None:
                return to_response(message(f"ERROR: {state.load_error}", ERROR_SERVER_STATUS))
            try:
                return to_response(view(*args, **kwargs))
            except BaseException as exc:  # SystemExit from a hook too: a JSON body, the server keeps serving
                return to_response(error_answer(exc))

        return run

    def ping() -> Answer:
        return json_answer({"message": "OK"})

    def health() -> Answer:
        if not state.ready:
            return message("ERROR: the model is loaded but has not passed its self-check yet", 503)
        return json_answer({"message": "OK"})

    def info() -> Answer:
        return json_answer(handlers.info_body(state.predictor, DRUM_API_VERSION, __version__))

    def capabilities() -> Answer:
        return json_answer(handlers.capabilities_body(state.predictor))

    def unguarded(view):  # answers even on the error server
        def run():
            try:
                return to_response(view())
            except BaseException as exc:
                return to_response(error_answer(exc))

        return run

    def stats() -> Answer:
        return json_answer(stats_body(state.timings, state.processes, state.supervisor_pid))

    def openapi() -> Answer:
        return Answer(200, openapi_json(prefix))

    def predict() -> Answer:
        state.loaded.require(TargetType.REGRESSION)
        sample = intake.from_request(request, state.loaded.reads_any_payload)
        return handlers.predict(state.loaded, sample, request.headers.get("Accept"))

    def transform() -> Answer:
        state.loaded.require(TargetType.TRANSFORM)
        sample = intake.from_request(request, state.loaded.reads_any_payload)
        files = request.files if intake.is_multipart(request.content_type) else None
        return handlers.transform(state.loaded, sample, files)

    def predict_unstructured() -> Answer:
        state.loaded.require(TargetType.UNSTRUCTURED)
        mimetype, charset = codecs.split_content_type(request.content_type)
        return handlers.unstructured(
            state.loaded,
            request.get_data(cache=False),
            mimetype,
            charset,
            request.args,
            dict(request.headers),
        )

    views = {
        "ping": guarded(ping),
        "health": guarded(health),
        "info": guarded(info),
        "capabilities": guarded(capabilities),
        "stats": unguarded(stats),
        "openapi": unguarded(openapi),
    }
    for name, route in GET_ROUTES.items():
        endpoint = _GET_ENDPOINTS[name]
        add([route], endpoint, views[endpoint], "GET")
    add(PREDICT_ROUTES, "predict", guarded(predict), "POST")
    add(UNSTRUCTURED_ROUTES, "predict_unstructured", guarded(predict_unstructured), "POST")
    add(TRANSFORM_ROUTES, "transform", guarded(transform), "POST")
    from drumkit.server import chat

    chat.register(add, state)
    app.register_blueprint(api)

    @app.errorhandler(Exception)
    def _any_error(exc):  # 404, 405, 413, 400 from werkzeug and anything unexpected: JSON, never HTML
        return to_response(error_answer(exc))
