"""Import a code dir's `custom.py` and call its hooks, wrapping failures in DRUM's words (3)."""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from drumkit.errors import CustomHTTPError, HookError, ModelLoadError

HOOK_NAMES = (
    "init",
    "load_model",
    "read_input_data",
    "transform",
    "score",
    "post_process",
    "score_unstructured",
    "chat",
    "get_supported_llm_models",
)
# DRUM passes these hooks' exceptions on as they are: the message is the exception text itself.
_UNWRAPPED = ("score_unstructured", "chat", "get_supported_llm_models")
# Modules a code dir may import that come with a drumkit extra: module -> extra.
_EXTRA_FOR_MODULE = {"openai": "genai"}

# What DRUM says when a hook raises: hook name -> message prefix.
_FAILURE_TEXT = {
    "read_input_data": "Model 'read_input_data' hook failed to read input data.",
    "transform": "Model 'transform hook' failed to transform dataset.",
    "score": "Model 'score' hook failed to make predictions.",
    "post_process": "Model 'post_process' hook failed to post-process predictions.",
    "load_model": "'load_model' hook failed to load the model.",
    "init": "'init' hook failed.",
}


class Hooks:
    """The hook functions a `custom.py` defines (any may be missing)."""

    def __init__(
        self,
        functions: dict[str, Callable],
        source: Path | None = None,
        failure_text: dict[str, str] | None = None,
    ):
        self._functions = functions
        self.source = source
        self._failure_text = {**_FAILURE_TEXT, **(failure_text or {})}

    def __contains__(self, name: str) -> bool:
        return name in self._functions

    def get(self, name: str) -> Callable | None:
        """The hook function, or None."""
        return self._functions.get(name)

    def require(self, name: str) -> Callable:
        """The hook function; the caller has checked that it exists."""
        return self._functions[name]

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a hook; its exceptions become HookError in DRUM's words, CustomHTTPError passes through."""
        if name in _UNWRAPPED:
            describe = _own_text
        else:
            prefix = self._failure_text[name]

            def describe(exc: Exception) -> str:
                return f"{prefix} Exception: {exc!r}"

        with hook_failures(describe):
            return self._functions[name](*args, **kwargs)

    def transform_arity(self) -> int:
        """How many positional parameters the transform hook takes."""
        return len(inspect.signature(self._functions["transform"]).parameters)


def load_hooks(
    custom_py: Path | None,
    target_type: Any = None,
    secrets_mount_path: str | None = None,
    secrets_prefix: str | None = None,
) -> Hooks:
    """Import `custom.py` as module `custom` (its folder first on sys.path, as in DRUM).

    A module defining `CustomTask` is run through that class (DRUM's custom task interface) instead of hooks.
    """
    if custom_py is None:
        return Hooks({})
    from drumkit import compat

    compat.prepare_imports()
    folder = str(custom_py.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location("custom", custom_py)
    assert spec is not None and spec.loader is not None, "a .py file always has a source loader"
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get("custom")
    sys.modules["custom"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # SyntaxError, SystemExit from user code, ...
        if previous is not None:
            sys.modules["custom"] = previous
        else:
            sys.modules.pop("custom", None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ModelLoadError(f"Failed loading hooks from [{custom_py}] : {exc}{_extra_hint(exc)}") from exc
    task_class = getattr(module, "CustomTask", None)
    if task_class is not None:
        functions, failure_text = compat.custom_task_hooks(
            task_class, target_type, secrets_mount_path, secrets_prefix
        )
        return Hooks(functions, custom_py, failure_text)
    functions = {name: getattr(module, name) for name in HOOK_NAMES if callable(getattr(module, name, None))}
    return Hooks(functions, custom_py)


@contextlib.contextmanager
def hook_failures(describe: Callable[[Exception], str]) -> Iterator[None]:
    """Run hook code: a CustomHTTPError (drumkit's or datarobot_drum's) passes through, any other failure
    becomes a HookError with `describe(exc)` as its message."""
    try:
        yield
    except CustomHTTPError:
        raise
    except Exception as exc:
        from drumkit import compat

        user_error = compat.user_http_error(exc)  # the real datarobot_drum's CustomHTTPError
        if user_error is not None:
            raise user_error from exc
        raise HookError(describe(exc)) from exc


def unwrapped_failures() -> contextlib.AbstractContextManager[None]:
    """Run hook code whose exceptions keep their own text, as DRUM's chat and score_unstructured do."""
    return hook_failures(_own_text)


def _own_text(exc: Exception) -> str:
    return str(exc) or repr(exc)


def _extra_hint(exc: BaseException) -> str:
    """Name the drumkit extra that brings a missing module, when there is one."""
    missing = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
    extra = _EXTRA_FOR_MODULE.get((missing or "").split(".")[0])
    return f" (install it with: pip install 'drumkit[{extra}]')" if extra else ""
