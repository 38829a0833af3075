"""Load `model-metadata.yaml` from a code dir; scalars stay strings, as DRUM's strictyaml reads them."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from drumkit.errors import ConfigError
from drumkit.predictor.targets import TARGET_TYPE_NAMES

METADATA_FILE = "model-metadata.yaml"
TOP_LEVEL_KEYS = (
    "name", "type", "targetType", "environmentID", "modelID", "description", "majorVersion",
    "validation", "inferenceModel", "trainingModel", "hyperparameters", "typeSchema",
    "customPredictor", "runtimeParameterDefinitions", "userCredentialSpecifications",
    "lazyLoading", "inputSchema",
)


def did_you_mean(word: str, choices) -> str:
    """A ` (did you mean 'x'?)` suffix for the nearest choice, or ''."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def read_metadata_text(path: Path) -> Any:
    """Parse the YAML with every scalar as a string; ConfigError naming the line on a syntax error."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from None
    try:
        return yaml.load(text, Loader=yaml.BaseLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path.name} is not valid YAML{where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name} is not valid YAML: {exc}") from None


def load_metadata(code_dir: Path) -> dict | None:
    """The code dir's metadata as a dict, None when there is no file; ConfigError when it cannot be used."""
    path = Path(code_dir) / METADATA_FILE
    if not path.is_file():
        return None
    data = read_metadata_text(path)
    if data is None or data == "":
        raise ConfigError(f"The {METADATA_FILE} file appears to be empty.")
    if not isinstance(data, dict):
        raise ConfigError(f"{METADATA_FILE} must be a mapping of keys, not a {type(data).__name__}")
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(
                f"{METADATA_FILE}: unexpected key not in schema '{key}'{did_you_mean(key, TOP_LEVEL_KEYS)}"
            )
    target_type = data.get("targetType")
    if target_type is not None and target_type not in TARGET_TYPE_NAMES:
        raise ConfigError(
            f"{METADATA_FILE}: targetType '{target_type}' is not one of {TARGET_TYPE_NAMES}"
            f"{did_you_mean(target_type, TARGET_TYPE_NAMES)}"
        )
    inference = data.get("inferenceModel")
    if inference is not None and not isinstance(inference, dict):
        raise ConfigError(f"{METADATA_FILE}: inferenceModel must be a mapping")
    if inference and "classLabels" in inference and not isinstance(inference["classLabels"], list):
        # Otherwise a string `classLabels: abc` would be taken letter by letter.
        raise ConfigError(f"{METADATA_FILE}: inferenceModel.classLabels must be a list of labels, one '- label' a line")
    if data.get("type") == "inference":
        _check_inference_labels(data)
    return data


def _check_inference_labels(data: dict) -> None:
    inference = data.get("inferenceModel") or {}
    target_type = data.get("targetType")
    if target_type == "binary":
        missing = [k for k in ("positiveClassLabel", "negativeClassLabel") if k not in inference]
        if missing:
            raise ConfigError(f"The following keys are missing in {METADATA_FILE} file. Missing keys: {missing}")
    elif target_type in ("multiclass", "multilabel"):
        has_list, has_file = "classLabels" in inference, "classLabelsFile" in inference
        if has_list and has_file:
            raise ConfigError(
                "Error - for multiclass classification, either the class labels or a class labels file should be "
                f"provided in {METADATA_FILE} file, but not both."
            )
        if not has_list and not has_file:
            raise ConfigError(
                "Error - for multiclass classification, either the class labels or a class labels file "
                f"must be provided in {METADATA_FILE} file."
            )
