"""DRUM compatibility, in one place: what a DRUM code dir needs beyond plain hooks.

The predictor calls only these functions; each imports its module on first use, so code dirs that
never touch `datarobot_drum` pay nothing.
- `prepare_imports()`: make `import datarobot_drum` work (drumkit's stand-in only when the real one is absent).
- `custom_task_hooks(...)`: a `class CustomTask` in custom.py, as the hook functions the predictor calls.
- `user_http_error(exc)`: a `datarobot_drum.CustomHTTPError` from any `datarobot_drum` package, as drumkit's.
- `export_user_secrets_location(mount_path, prefix)`: the secrets flags as DataRobot's env vars.
"""

from __future__ import annotations

from typing import Any


def prepare_imports() -> None:
    """Let custom.py import `datarobot_drum`: the real package when installed, else drumkit's stand-in."""
    from drumkit.compat import finder

    finder.install()


def custom_task_hooks(
    task_class: Any, target_type: Any, secrets_mount_path: str | None, secrets_prefix: str | None
):
    """The hook functions (`load_model` + `score` or `transform`) that run a CustomTask class, and their failure texts."""
    from drumkit.compat.custom_task import FAILURE_TEXT, task_hooks

    return task_hooks(task_class, target_type, secrets_mount_path, secrets_prefix), FAILURE_TEXT


def user_http_error(exc: BaseException):
    """drumkit's CustomHTTPError for a `datarobot_drum` CustomHTTPError (real or stand-in), else None."""
    from drumkit.compat.user_errors import as_drumkit_error

    return as_drumkit_error(exc)


def export_user_secrets_location(mount_path: str | None, prefix: str | None) -> None:
    """Set USER_SECRETS_MOUNT_PATH / USER_SECRETS_PREFIX from the flags, so plain hooks can load secrets too."""
    from drumkit.compat.secrets import export

    export(mount_path, prefix)
