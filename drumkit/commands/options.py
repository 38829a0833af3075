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
ShowStacktrace = Annotated[
    bool, typer.Option("--show-stacktrace", envvar="SHOW_STACKTRACE", help="Print the traceback of a failure.")
]
Language = Annotated[
    Optional[str], typer.Option("--language", help="Model language; drumkit runs python.", hidden=True)
]
LoggingLevel = Annotated[
    str, typer.Option("--logging-level", "--log-level", help="debug, info, warning, error or critical.")
]


def model_settings(code_dir: Path, target_type, positive, negative, class_labels, class_labels_file, runtime_params_file):
    """Build the ModelSettings the predictor layer takes (flags already merged with env vars by click)."""
    from drumkit.predictor.settings import ModelSettings

    return ModelSettings(
        code_dir=code_dir,
        target_type=target_type,
        positive_class_label=positive,
        negative_class_label=negative,
        class_labels=tuple(class_labels) if class_labels else None,
        class_labels_file=class_labels_file,
        runtime_params_file=runtime_params_file,
    )
