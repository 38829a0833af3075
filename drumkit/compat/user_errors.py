"""Recognise `CustomHTTPError` from whichever `datarobot_drum` package custom.py imported."""

from __future__ import annotations

from drumkit.errors import CustomHTTPError

_NAMES = {"CustomHTTPError"}
_PACKAGE = "datarobot_drum"


def as_drumkit_error(exc: BaseException) -> CustomHTTPError | None:
    """The same status and message as drumkit's CustomHTTPError, or None when `exc` is not one."""
    if isinstance(exc, CustomHTTPError):
        return exc
    for cls in type(exc).__mro__:
        if cls.__name__ in _NAMES and cls.__module__.split(".")[0] == _PACKAGE:
            break
    else:
        return None
    try:
        status = int(getattr(exc, "status_code", 400))
    except (TypeError, ValueError):
        status = 500
    text = getattr(exc, "message", None) or (str(exc.args[0]) if exc.args else str(exc))
    return CustomHTTPError(str(text), status)
