"""The route table (DRUM 5.2) and its spellings under URL_PREFIX, with and without the trailing slash."""

from __future__ import annotations

GET_ROUTES = {
    "root": "/",
    "ping": "/ping/",
    "health": "/health/",
    "info": "/info/",
    "stats": "/stats/",
    "capabilities": "/capabilities/",
    "openapi": "/openapi.json",
}
PREDICT_ROUTES = ("/predict/", "/predictions/", "/invocations")
UNSTRUCTURED_ROUTES = ("/predictUnstructured/", "/predictionsUnstructured/")
TRANSFORM_ROUTES = ("/transform/",)
CHAT_ROUTES = ("/chat/completions", "/v1/chat/completions")
MODELS_ROUTES = ("/models", "/v1/models")


def spellings(prefix: str, route: str) -> list[str]:
    """Every path a route answers on: `/pfx/predict/` and `/pfx/predict`; `/pfx/` and `/pfx` for the root."""
    base = (prefix + route).rstrip("/")
    return [base + "/", base] if base else ["/"]


def all_spellings(prefix: str, routes) -> set[str]:
    """The spellings of several routes."""
    return {path for route in routes for path in spellings(prefix, route)}
