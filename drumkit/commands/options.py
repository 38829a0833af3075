"""The flags every model command shares (DRUM's names and env vars), declared once.

`@model_command` adds them to a command's own flags; the command receives them as one
`model: ModelOptions`. Adding a shared flag is one entry in `_SHARED`: a flag named like a field of
ModelSettings reaches the predictor as that field.
"""

from __future__ import annotations

import inspect
import os
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any

import typer

from drumkit.predictor.targets import TARGET_TYPE_NAMES

LOGGING_LEVELS = ("all", "debug", "info", "warn", "warning", "error", "critical", "fatal")

ContentType = Annotated[
    str | None, typer.Option("--content-type", help="Unstructured: media type of --input.")
]
Query = Annotated[str | None, typer.Option("--query", help="Unstructured: query string, a=1&b=2.")]

# DRUM flags for things drumkit does not do: accepted by the parser, refused with one line (exit 2).
_MONITORING = "drumkit does not report to DataRobot MLOps monitoring; run without it"
_DR_API = "drumkit does not call the DataRobot API; run without it"
_DOCKER = "drumkit does not start Docker; run drumkit inside the image instead"
_GPU = "drumkit does not run GPU predictors (Triton, NIM, vLLM); serve the model with its own runtime"
REFUSED: dict[str, tuple[str, bool]] = {  # flag -> (reason, is a bare switch)
    "--monitor": (_MONITORING, True),
    "--monitor-embedded": (_MONITORING, True),
    "--monitor-settings": (_MONITORING, False),
    "--deployment-id": (_MONITORING, False),
    "--model-id": (_MONITORING, False),
    "--lazy-loading-file": ("drumkit does not download lazy-loaded files; put them in the code dir", False),
    "--allow-dr-api-access": (_DR_API, True),
    "--webserver": (_DR_API, False),
    "--api-token": (_DR_API, False),
    "--docker": (_DOCKER, False),
    "--memory": (_DOCKER, False),
    "--skip-deps-install": (_DOCKER, True),
    "--gpu-predictor": (_GPU, False),
    "--triton-host": (_GPU, False),
    "--triton-http-port": (_GPU, False),
    "--triton-grpc-port": (_GPU, False),
    "--sidecar": ("drumkit does not run as a DataRobot sidecar; run without it", True),
    "--deployment-config": (
        "drumkit does not answer in DataRobot's PPS format; /predict/ answers DRUM's default JSON without it",
        False,
    ),
}


def _refused_name(flag: str) -> str:
    return "refused_" + flag.lstrip("-").replace("-", "_")


# name -> (annotation, default): the parameters `@model_command` adds to every model command.
_SHARED: dict[str, tuple[Any, Any]] = {
    "code_dir": (
        Annotated[
            Path | None,
            typer.Option(
                "--code-dir",
                "-cd",
                envvar="CODE_DIR",
                help="The model folder (custom.py and/or an artifact).",
                show_default="current directory",
            ),
        ],
        None,
    ),
    "target_type": (
        Annotated[
            str | None,
            typer.Option(
                "--target-type", envvar="TARGET_TYPE", help=f"One of: {', '.join(TARGET_TYPE_NAMES)}."
            ),
        ],
        None,
    ),
    "positive_class_label": (
        Annotated[
            str | None,
            typer.Option(
                "--positive-class-label", envvar="POSITIVE_CLASS_LABEL", help="Binary: positive label."
            ),
        ],
        None,
    ),
    "negative_class_label": (
        Annotated[
            str | None,
            typer.Option(
                "--negative-class-label", envvar="NEGATIVE_CLASS_LABEL", help="Binary: negative label."
            ),
        ],
        None,
    ),
    "class_labels": (
        Annotated[
            list[str] | None,
            typer.Option(
                "--class-labels", envvar="CLASS_LABELS", help="Multiclass labels: --class-labels A B C."
            ),
        ],
        None,
    ),
    "class_labels_file": (
        Annotated[
            Path | None,
            typer.Option(
                "--class-labels-file", envvar="CLASS_LABELS_FILE", help="Multiclass labels, one a line."
            ),
        ],
        None,
    ),
    "runtime_params_file": (
        Annotated[
            Path | None,
            typer.Option(
                "--runtime-params-file",
                envvar="RUNTIME_PARAMS_FILE",
                help="YAML values for runtimeParameterDefinitions.",
            ),
        ],
        None,
    ),
    "user_secrets_mount_path": (
        Annotated[
            str | None,
            typer.Option(
                "--user-secrets-mount-path",
                envvar="USER_SECRETS_MOUNT_PATH",
                help="Folder of user secret files (JSON, one per secret) for CustomTask.secrets.",
            ),
        ],
        None,
    ),
    "user_secrets_prefix": (
        Annotated[
            str | None,
            typer.Option(
                "--user-secrets-prefix",
                envvar="USER_SECRETS_PREFIX",
                help="Env var prefix of user secrets (PREFIX_NAME holds one secret as JSON).",
            ),
        ],
        None,
    ),
    "show_stacktrace": (
        Annotated[
            bool,
            typer.Option(
                "--show-stacktrace", envvar="SHOW_STACKTRACE", help="Print the traceback of a failure."
            ),
        ],
        False,
    ),
    "logging_level": (
        Annotated[
            str,
            typer.Option(
                "--logging-level", "--log-level", help=f"Log level on stderr: {', '.join(LOGGING_LEVELS)}."
            ),
        ],
        "warning",
    ),
    "verbose": (
        Annotated[bool, typer.Option("--verbose", help="Log what drumkit does (info level).")],
        False,
    ),
    "language": (
        Annotated[
            str | None, typer.Option("--language", help="Model language; drumkit runs python.", hidden=True)
        ],
        None,
    ),
    **{
        _refused_name(flag): (
            Annotated[bool, typer.Option(flag, hidden=True)]
            if switch
            else Annotated[str | None, typer.Option(flag, hidden=True)],
            False if switch else None,
        )
        for flag, (_reason, switch) in REFUSED.items()
    },
}


@dataclass(frozen=True)
class ModelOptions:
    """The shared flags of one command run, and the checks every model command makes.

    Flags named like a ModelSettings field (target type, labels, ...) travel in `model_flags` to the predictor.
    """

    code_dir: Path | None = None
    show_stacktrace: bool = False
    logging_level: str = "warning"
    verbose: bool = False
    language: str | None = None
    model_flags: dict[str, Any] = field(default_factory=dict)
    refused: dict[str, Any] = field(default_factory=dict)

    @property
    def log_level(self) -> str:
        """The effective level name: --verbose means info unless a more detailed level was asked for."""
        level = self.logging_level.lower()
        level = {"all": "debug", "warn": "warning", "fatal": "critical"}.get(level, level)
        return "info" if self.verbose and level not in ("debug", "info") else level

    def check(self) -> None:
        """Refuse DRUM flags for things drumkit does not do, and languages other than Python (exit 2)."""
        from drumkit.errors import UsageError

        for flag, value in self.refused.items():
            if value not in (None, False):
                raise UsageError(f"{flag}: {REFUSED[flag][0]}")
        if self.logging_level.lower() not in LOGGING_LEVELS:
            raise UsageError(
                f"--logging-level {self.logging_level}: choose one of {', '.join(LOGGING_LEVELS)}"
            )
        if self.language and self.language.lower() != "python":
            raise UsageError(f"drumkit runs Python models only; --language {self.language} is not supported")

    def folder(self, given: Path | None = None) -> Path:
        """The code dir (`given` beats --code-dir), which must be a directory (DRUM's argparse error)."""
        from drumkit.errors import UsageError

        path = given or self.code_dir or Path(".")
        if not path.is_dir():
            raise UsageError(f"The path {path} is not a directory!")
        return path

    def settings(self, code_dir: Path | None = None):
        """The ModelSettings the predictor layer takes (flags already merged with env vars by click)."""
        from drumkit.predictor.settings import ModelSettings

        flags = dict(self.model_flags)
        labels, labels_file = _flag_beats_other_env(flags.get("class_labels"), flags.get("class_labels_file"))
        flags.update(class_labels=tuple(labels) if labels else None, class_labels_file=labels_file)
        # DRUM's TARGET_NAME is an env var only: the prediction column of the LLM target types.
        return ModelSettings(
            code_dir=self.folder(code_dir), target_name=os.environ.get("TARGET_NAME") or None, **flags
        )


def existing_file(path: Path) -> Path:
    """`path` when it is a file; DRUM's argparse error otherwise."""
    from drumkit.errors import UsageError

    if not path.is_file():
        raise UsageError(f"The file {path} does not exist!")
    return path


def model_command(func: Callable) -> Callable:
    """Add the shared model flags to a command whose body takes them as `model: ModelOptions`."""
    from drumkit.commands.report import reported, setup_logging

    hints = typing.get_type_hints(func, include_extras=True)
    own = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in inspect.signature(func).parameters.values()
        if p.name != "model"
    ]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        for name, (annotation, default) in _SHARED.items()
    ]
    refused = {_refused_name(flag): flag for flag in REFUSED}

    own_fields = {f.name for f in fields(ModelOptions)} - {"model_flags", "refused"}

    def command(**kwargs):
        values = {name: kwargs.pop(name) for name in _SHARED}
        given = {flag: values.pop(name) for name, flag in refused.items()}
        model = ModelOptions(
            **{name: values.pop(name) for name in own_fields}, model_flags=values, refused=given
        )
        with reported(model.show_stacktrace):
            model.check()
        setup_logging(model.log_level)
        return func(model=model, **kwargs)

    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + shared
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]  # typer reads the signature
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__name__, command.__qualname__, command.__doc__ = func.__name__, func.__qualname__, func.__doc__
    command.__module__ = func.__module__
    return command


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
