"""`custom_flask.py`: a code dir's Flask extension (DRUM 5.1), given the app before it serves.

Anywhere in the code dir (at most one). Its `init_app(app)` may add routes, `before_request` hooks
(HTTP auth, ...), error handlers or WSGI middleware; every request then goes through Flask so that
all of it applies (the envelope's lean predict path is turned off).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from drumkit.errors import ModelLoadError

FILE_NAME = "custom_flask.py"
MODULE_NAME = "custom_flask"


def find_extension(code_dir: Path) -> Path | None:
    """The code dir's `custom_flask.py`, searched recursively; ModelLoadError when there are several."""
    found = sorted(p for p in Path(code_dir).rglob(FILE_NAME) if p.is_file())
    if len(found) > 1:
        raise ModelLoadError(f"Found too many Flask extension files ({FILE_NAME}): {[str(p) for p in found]}")
    return found[0] if found else None


def apply_extension(app, path: Path) -> None:
    """Import a code dir's `custom_flask.py` (its folder first on sys.path, as in DRUM) and call `init_app(app)`."""
    from drumkit import compat

    compat.prepare_imports()
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    assert spec is not None and spec.loader is not None, "a .py file always has a source loader"
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    try:
        spec.loader.exec_module(module)
        init_app = getattr(module, "init_app", None)
        if not callable(init_app):
            raise AttributeError(f"{FILE_NAME} must define init_app(app)")
        init_app(app)
    except Exception as exc:
        sys.modules.pop(MODULE_NAME, None)
        raise ModelLoadError(f"Failed to extend Flask app from [{path}] : {exc}") from exc
