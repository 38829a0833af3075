"""Flags shared by the commands that load a model, with DRUM's names and env vars."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from drumkit.predictor.targets import TARGET_TYPE_NAMES

CodeDir = Annotated[
    Path,
    typer.Option("--code-dir", "-cd", envvar="CODE_DIR", help="The model folder (custom.py and/or an artifact).",
                 show_default="current directory"),
]
TargetTypeOpt = Annotated[
    Optional[str],
    typer.Option("--target-type", envvar="TARGET_TYPE", help=f"One of: {', '.join(TARGET_TYPE_NAMES)}."),
]
PositiveLabel = Annotated[
    Optional[str], typer.Option("--positive-class-label", envvar="POSITIVE_CLASS_LABEL", help="Binary: positive label.")
]
NegativeLabel = Annotated[
    Optional[str], typer.Option("--negative-class-label", envvar="NEGATIVE_CLASS_LABEL", help="Binary: negative label.")
]
ClassLabels = Annotated[
    Optional[List[str]],
    typer.Option("--class-labels", envvar="CLASS_LABELS", help="Multiclass labels: --class-labels A B C."),
]
ClassLabelsFile = Annotated[
    Optional[Path], typer.Option("--class-labels-file", envvar="CLASS_LABELS_FILE", help="Multiclass labels, one a line.")
]
RuntimeParamsFile = Annotated[
    Optional[Path],
    typer.Option("--runtime-params-file", envvar="RUNTIME_PARAMS_FILE", help="YAML values for runtimeParameterDefinitions."),
]
UserSecretsMountPath = Annotated[
    Optional[str],
    typer.Option("--user-secrets-mount-path", envvar="USER_SECRETS_MOUNT_PATH",
                 help="Folder of user secret files (JSON, one per secret) for CustomTask.secrets."),
]
UserSecretsPrefix = Annotated[
    Optional[str],
    typer.Option("--user-secrets-prefix", envvar="USER_SECRETS_PREFIX",
                 help="Env var prefix of user secrets: PREFIX_NAME='{\"credential_type\": ...}'."),
]
ShowStacktrace = Annotated[
    bool, typer.Option("--show-stacktrace", envvar="SHOW_STACKTRACE", help="Print the traceback of a failure.")
]
Language = Annotated[
    Optional[str], typer.Option("--language", help="Model language; drumkit runs python.", hidden=True)
]
ContentType = Annotated[
    Optional[str], typer.Option("--content-type", help="Unstructured: media type of --input.")
]
Query = Annotated[Optional[str], typer.Option("--query", help="Unstructured: query string, a=1&b=2.")]
LoggingLevel = Annotated[
    str, typer.Option("--logging-level", "--log-level", help="debug, info, warning, error or critical.")
]


def model_settings(code_dir: Path, target_type, positive, negative, class_labels, class_labels_file, runtime_params_file,
                   user_secrets_mount_path=None, user_secrets_prefix=None):
    """Build the ModelSettings the predictor layer takes (flags already merged with env vars by click)."""
    from drumkit.predictor.settings import ModelSettings

    class_labels, class_labels_file = _flag_beats_other_env(class_labels, class_labels_file)
    return ModelSettings(
        code_dir=code_dir,
        target_type=target_type,
        positive_class_label=positive,
        negative_class_label=negative,
        class_labels=tuple(class_labels) if class_labels else None,
        class_labels_file=class_labels_file,
        runtime_params_file=runtime_params_file,
        user_secrets_mount_path=user_secrets_mount_path,
        user_secrets_prefix=user_secrets_prefix,
    )


def _flag_beats_other_env(class_labels, class_labels_file):
    """DRUM ignores CLASS_LABELS_FILE when --class-labels is on the command line, and CLASS_LABELS with --class-labels-file."""
    import os

    if not class_labels or not class_labels_file:
        return class_labels, class_labels_file
    labels_env, file_env = os.environ.get("CLASS_LABELS"), os.environ.get("CLASS_LABELS_FILE")
    if file_env and not labels_env and str(class_labels_file) == file_env:
        return class_labels, None  # the file came from the env var, the labels from the command line
    if labels_env and not file_env and list(class_labels) == labels_env.split():
        return None, class_labels_file
    return class_labels, class_labels_file
