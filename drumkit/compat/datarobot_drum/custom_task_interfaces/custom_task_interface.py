"""`CustomTaskInterface`: pickling to `drum_artifact.pkl` (`save`/`load`), secrets, and the `fit` contract.

The artifact is a plain pickle of the task object, as under DRUM, so one saved by either tool loads in the other.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
from collections.abc import Iterator
from typing import Any

from ..drum.exceptions import DrumSerializationError
from .user_secrets import load_secrets


class Serializable:
    """Save the object as one pickle in a folder and load it back."""

    default_artifact_filename = "drum_artifact.pkl"

    def save(self, artifact_directory):
        """Pickle this object into `artifact_directory`; returns self for chaining."""
        self.save_task(artifact_directory)
        return self

    def save_task(self, artifact_directory, exclude=None):
        """Pickle this object, with the attributes named in `exclude` set to None in the file only."""
        kept: dict[str, Any] = {}
        for name in exclude or ():
            if not hasattr(self, name):
                raise DrumSerializationError(f"The object named {name} passed in exclude= was not found")
            kept[name] = getattr(self, name)
            setattr(self, name, None)
        try:
            # Always DRUM's file name, even when a subclass overrides the attribute, as DRUM does.
            with open(os.path.join(artifact_directory, Serializable.default_artifact_filename), "wb") as fp:
                pickle.dump(self, fp)
        finally:
            for name, value in kept.items():
                setattr(self, name, value)

    @classmethod
    def load(cls, artifact_directory):
        """The object saved in `artifact_directory`."""
        return cls.load_task(artifact_directory)

    @classmethod
    def load_task(cls, artifact_directory):
        """Unpickle `drum_artifact.pkl`; the result must be an instance of this class."""
        with open(os.path.join(artifact_directory, Serializable.default_artifact_filename), "rb") as fp:
            task = pickle.load(fp)
        if not isinstance(task, cls):
            raise DrumSerializationError(f"load_task method must return a {cls.__name__} class")
        return task


class CustomTaskInterface(Serializable):
    """Base of every CustomTask: `self.secrets` holds the user secrets while the task runs."""

    _secrets: dict[str, Any] | None = None

    @property
    def secrets(self) -> dict[str, Any]:
        """User secrets by name (from --user-secrets-mount-path files and --user-secrets-prefix env vars)."""
        return self._secrets or {}

    @secrets.setter
    def secrets(self, secrets: dict[str, Any] | None) -> None:
        self._secrets = secrets

    def fit(self, X, y, parameters=None, row_weights=None, **kwargs):
        """Train the task (DataRobot calls it; inference does not)."""
        raise NotImplementedError()

    @staticmethod
    def log_message(message):
        """Print a message and flush stdout."""
        print(message)
        sys.stdout.flush()


@contextlib.contextmanager
def secrets_injection_context(
    interface: CustomTaskInterface, mount_path: str | None, env_var_prefix: str | None
) -> Iterator[None]:
    """Give `interface` its secrets for the duration of the block."""
    interface.secrets = load_secrets(mount_path=mount_path, env_var_prefix=env_var_prefix)
    try:
        yield
    finally:
        interface.secrets = None
