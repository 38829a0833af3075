"""An unstructured model: any payload in, any payload out, through `score_unstructured`.

As generated it answers JSON with counts of the words, lines and characters in a text payload
(or the byte count of a binary one). Replace `load_model` and `score_unstructured` with yours.
"""

from __future__ import annotations

import json


def init(code_dir: str, **kwargs) -> None:
    """Called once, before load_model: set up anything the model needs."""


def load_model(code_dir: str):
    """Return the object `score_unstructured` receives as `model` (it must not be None)."""
    return {"top_words": 5}


def score_unstructured(model, data, **kwargs):
    """Answer one request.

    `data` is a str for text payloads (mimetype text/*, application/json or none; decoded with
    kwargs["charset"], utf-8 by default) and bytes otherwise. kwargs also carry `mimetype`,
    `query` (the URL query as a dict) and, in the server, `headers`. Return a str or bytes, or
    `(body, {"mimetype": ..., "charset": ...})` to choose the response content type.
    """
    if isinstance(data, bytes):
        body = {"bytes": len(data), "mimetype": kwargs.get("mimetype")}
    else:
        words = data.split()
        counts: dict[str, int] = {}
        for word in words:
            key = word.strip(".,;:!?\"'()").lower()
            if key:
                counts[key] = counts.get(key, 0) + 1
        top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: model["top_words"]]
        body = {"characters": len(data), "lines": len(data.splitlines()), "words": len(words), "top_words": dict(top)}
    return json.dumps(body), {"mimetype": "application/json", "charset": "utf-8"}
