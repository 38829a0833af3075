"""Runtime parameters: `MLOPS_RUNTIME_PARAM_<NAME>` env vars, as DRUM exports them (8.5)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from drumkit.errors import ConfigError

ENV_PREFIX = "MLOPS_RUNTIME_PARAM_"
_TYPES = {"string", "boolean", "numeric", "credential", "deployment"}


class RuntimeParameters:
    """Read runtime parameters from the environment (`RuntimeParameters.get("NAME")`)."""

    @staticmethod
    def has(name: str) -> bool:
        """True when the parameter is set."""
        return f"{ENV_PREFIX}{name}" in os.environ

    @staticmethod
    def get(name: str) -> Any:
        """The parameter's payload; ValueError when it does not exist."""
        raw = os.environ.get(f"{ENV_PREFIX}{name}")
        if raw is None:
            raise ValueError(f"Runtime parameter '{name}' does not exist!")
        try:
            return json.loads(raw)["payload"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"Runtime parameter '{name}' is not valid JSON with a 'payload': {exc}"
            ) from None


def _check_value(definition: dict, value: Any) -> Any:
    name, kind = definition["fieldName"], definition["type"]
    if value is None:
        return None
    fail = f"Failed to load runtime parameter '{name}'."
    if kind == "string" or kind == "deployment":
        if not isinstance(value, str):
            raise ConfigError(f"{fail} Expected a string, got {type(value).__name__}.")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise ConfigError(f"{fail} Expected a boolean, got {_kind(value)}.")
    elif kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ConfigError(f"{fail} Expected a number, got {_kind(value)}.")
        low, high = definition.get("minValue"), definition.get("maxValue")
        if low is not None and value < float(low):
            raise ConfigError(f"{fail} The value is less than {low}.")
        if high is not None and value > float(high):
            raise ConfigError(f"{fail} The value is greater than {high}.")
    elif kind == "credential" and (not isinstance(value, dict) or "credentialType" not in value):
        raise ConfigError(f"{fail} A credential must be a mapping with a 'credentialType' key.")
    return value


def _kind(value: Any) -> str:
    """A value's type for an error message: values may be secrets, so they are never quoted."""
    return "a text value" if isinstance(value, str) else f"a value of type {type(value).__name__}"


def _where(exc: Exception) -> str:
    """Where a YAML error is and what it is, without yaml's quote of the offending line (it may hold a credential)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{where}: {problem}" if problem else where


def _typed_default(definition: dict) -> Any:
    default = definition.get("defaultValue")
    if isinstance(default, str) and definition["type"] == "numeric":
        return float(default)
    if isinstance(default, str) and definition["type"] == "boolean":
        return default.strip().lower() in {"true", "1", "yes", "y", "on"}
    return default


def load_runtime_params(values_file: Path, definitions: list[dict] | None) -> dict[str, str]:
    """Check a runtime-parameter values file against the metadata definitions; return the env vars to set."""
    import yaml

    if not definitions:
        raise ConfigError(
            "model-metadata.yaml must exist to use runtime parameters, with a 'runtimeParameterDefinitions' section"
        )
    try:
        values = yaml.safe_load(Path(values_file).read_text())
    except OSError as exc:
        raise ConfigError(
            f"Cannot read runtime parameter values file {values_file}: {exc.strerror}"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"Runtime parameter values file {values_file} is not valid YAML{_where(exc)}"
        ) from None
    if not values:
        raise ConfigError("Runtime parameter values YAML file is empty!")
    if not isinstance(values, dict):
        raise ConfigError(f"Runtime parameter values file {values_file} must be a mapping of NAME: value")
    env: dict[str, str] = {}
    seen: set[str] = set()
    for definition in definitions:
        name = definition.get("fieldName")
        kind = definition.get("type")
        if not name or kind not in _TYPES:
            raise ConfigError(
                f"Runtime parameter definition '{name or '?'}' needs a fieldName and a type in {sorted(_TYPES)}"
            )
        if name in seen:
            raise ConfigError(f"Failed to load runtime parameter [{name}], duplicated definition")
        seen.add(name)
        value = values[name] if name in values else _typed_default(definition)
        env[f"{ENV_PREFIX}{name}"] = json.dumps({"type": kind, "payload": _check_value(definition, value)})
    return env
