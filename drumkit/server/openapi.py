"""The OpenAPI document of this server (`openapi.yaml`, shipped in the package) as JSON, with paths under the URL prefix."""

from __future__ import annotations

import functools
from importlib import resources


@functools.lru_cache(maxsize=4)
def openapi_json(prefix: str = "") -> bytes:
    """The document as JSON bytes, every path (and every `$ref` to one) moved under `prefix`."""
    import yaml

    from drumkit.predictor.codecs.json_codec import dumps

    text = resources.files("drumkit.server").joinpath("openapi.yaml").read_text(encoding="utf-8")
    spec = yaml.safe_load(text)
    spec["paths"] = {_under(prefix, path): item for path, item in spec["paths"].items()}
    return dumps(_json_ready(spec, prefix))


def _under(prefix: str, path: str) -> str:
    return (prefix.rstrip("/") + path) if prefix else path


def _json_ready(node, prefix: str):
    """Status codes as strings (JSON keys), and `$ref`s to paths rewritten for the prefix."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/paths/"):
                path = value[len("#/paths/") :].replace("~1", "/").replace("~0", "~")
                value = "#/paths/" + _under(prefix, path).replace("~", "~0").replace("/", "~1")
            out[str(key)] = _json_ready(value, prefix)
        return out
    if isinstance(node, list):
        return [_json_ready(item, prefix) for item in node]
    return node
