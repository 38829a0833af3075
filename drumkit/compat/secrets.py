"""Load user secrets with the active `datarobot_drum` package's loader (so its secret classes come back)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from drumkit.errors import ModelLoadError

ENV_MOUNT_PATH = "USER_SECRETS_MOUNT_PATH"
ENV_PREFIX = "USER_SECRETS_PREFIX"
log = logging.getLogger("drumkit.compat")


def _loader() -> Callable:
    try:
        from datarobot_drum.custom_task_interfaces.user_secrets import load_secrets

        return load_secrets
    except (ImportError, AttributeError):
        # A datarobot_drum without a secrets module (an old or partial package): drumkit's own loader.
        from drumkit.compat.datarobot_drum.custom_task_interfaces.user_secrets import load_secrets

        return load_secrets


def load(mount_path: str | None, prefix: str | None) -> dict:
    """Secrets by name; ModelLoadError in one line when one cannot be read."""
    if mount_path is not None and not os.path.isdir(mount_path):
        # As in DRUM: no folder, no mounted secrets (deployments may set the path before anything is mounted).
        log.warning(
            "The user secrets mount path %s is not a directory; no mounted secrets are loaded", mount_path
        )
    try:
        return _loader()(mount_path=mount_path, env_var_prefix=prefix)
    except Exception as exc:
        raise ModelLoadError(f"Cannot load user secrets: {exc}") from exc


def export(mount_path: str | None, prefix: str | None) -> None:
    """Put the secrets location in DataRobot's env vars, so hooks find it however it was given."""
    if mount_path is not None:
        os.environ[ENV_MOUNT_PATH] = str(mount_path)
    if prefix is not None:
        os.environ[ENV_PREFIX] = prefix
