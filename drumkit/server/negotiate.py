"""Which answer format a prediction request gets, from its `Accept` header (JSON unless asked otherwise)."""

from __future__ import annotations

from drumkit.predictor import codecs

_PLAIN = {None, "", "*/*", codecs.JSON_TYPE}


def answer_format(accept: str | None) -> str:
    """The best format the client accepts among JSON, CSV and Arrow; JSON for none, wildcards or only unsupported types.

    Unsupported types fall back to JSON rather than 406, so a client sending a browser's or a
    library's default Accept keeps getting DRUM's answer.
    """
    if accept is None or accept in _PLAIN:
        return codecs.JSON
    best, best_q = codecs.JSON, 0.0
    for item in accept.split(","):
        media_type, _, params = item.partition(";")
        fmt = codecs.response_format(media_type.strip().lower())
        if fmt is None:
            continue
        q = _quality(params)
        if q > best_q:
            best, best_q = fmt, q
    return best


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0
