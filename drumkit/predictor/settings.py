"""What the user asked for (flags and env already merged by the CLI) resolved against model-metadata.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumkit.errors import ConfigError, UsageError
from drumkit.predictor.metadata_schema import did_you_mean
from drumkit.predictor.targets import TARGET_TYPE_NAMES, TargetType


@dataclass(frozen=True)
class ModelSettings:
    """A code dir plus the target type and labels given on the command line or in env vars."""

    code_dir: Path
    target_type: str | None = None
    positive_class_label: str | None = None
    negative_class_label: str | None = None
    class_labels: tuple[str, ...] | None = None
    class_labels_file: Path | None = None
    runtime_params_file: Path | None = None
    # DRUM's TARGET_NAME env var: the prediction column of textgeneration, vectordatabase and agenticworkflow.
    target_name: str | None = None
    user_secrets_mount_path: str | None = None
    user_secrets_prefix: str | None = None

    def __post_init__(self) -> None:
        if (self.positive_class_label is None) != (self.negative_class_label is None):
            raise UsageError(
                "Error - for binary classification case, both positive and negative class labels have to be provided."
            )
        if self.class_labels and self.class_labels_file:
            raise UsageError(
                "Error - for multiclass classification, either the class labels or a class labels file should be "
                "provided, but not both."
            )
        if self.class_labels is not None and len(self.class_labels) < 2:
            raise UsageError("Multiclass classification requires at least 2 labels.")
        if self.target_type is not None and self.target_type not in TARGET_TYPE_NAMES:
            raise UsageError(
                f"Unknown target type '{self.target_type}'{did_you_mean(self.target_type, TARGET_TYPE_NAMES)}; "
                f"choose one of {', '.join(TARGET_TYPE_NAMES)}"
            )


@dataclass(frozen=True)
class TargetSpec:
    """The resolved target type and class labels a model is served with."""

    target_type: TargetType
    positive_class_label: str | None = None
    negative_class_label: str | None = None
    class_labels: tuple[str, ...] | None = None
    metadata: dict | None = field(default=None, compare=False)
    target_name: str | None = None

    @property
    def request_labels(self) -> list[str] | None:
        """Labels in DRUM's order: [positive, negative] for binary, the class labels otherwise."""
        if self.target_type is TargetType.BINARY:
            # resolve_target refuses a binary model without both labels.
            assert self.positive_class_label is not None and self.negative_class_label is not None
            return [self.positive_class_label, self.negative_class_label]
        if self.class_labels:
            return list(self.class_labels)
        return None

    def score_kwargs(self) -> dict[str, Any]:
        """The label kwargs DRUM passes to `score` (3.1)."""
        kwargs: dict[str, Any] = {"target_type": self.target_type}
        if self.target_type is TargetType.BINARY:
            kwargs["positive_class_label"] = self.positive_class_label
            kwargs["negative_class_label"] = self.negative_class_label
        elif self.class_labels:
            kwargs["class_labels"] = list(self.class_labels)
        return kwargs


def read_labels_file(path: Path) -> tuple[str, ...]:
    """One label a line; blank lines dropped, CRLF tolerated (DRUM keeps the `\\r`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read class labels file {path}: {exc}") from None
    labels = tuple(line.rstrip("\r") for line in text.splitlines() if line.strip())
    if len(labels) < 2:
        raise ConfigError(f"Multiclass classification requires at least 2 labels; {path} has {len(labels)}.")
    return labels


def resolve_target(settings: ModelSettings, metadata: dict | None) -> TargetSpec:
    """Merge flags/env with metadata using DRUM's precedence and conflict messages (1.5)."""
    meta = metadata or {}
    meta_type = meta.get("targetType")
    if settings.target_type and meta_type and settings.target_type != meta_type:
        raise ConfigError(
            "Target type provided in --target-type argument doesn't match target type from model config file. "
            "Use either one of them or make them match. "
            f"(--target-type or TARGET_TYPE: '{settings.target_type}'; model-metadata.yaml targetType: '{meta_type}')"
        )
    name = settings.target_type or meta_type
    if not name:
        raise ConfigError(
            "Target type is missing. It must be provided in --target-type argument, TARGET_TYPE env var or model config file."
        )
    target_type = TargetType(name)
    inference = meta.get("inferenceModel") or {}

    if target_type is TargetType.BINARY:
        cli = (settings.positive_class_label, settings.negative_class_label)
        meta_pair = (inference.get("positiveClassLabel"), inference.get("negativeClassLabel"))
        cli_ok, meta_ok = None not in cli, None not in meta_pair
        if not cli_ok and not meta_ok:
            raise ConfigError(
                "Positive/negative class labels are missing. They must be provided with either one: "
                "--positive-class-label/--negative-class-label arguments, environment variables, model config file."
            )
        if cli_ok and meta_ok and tuple(map(str, cli)) != tuple(map(str, meta_pair)):
            raise ConfigError(
                "Positive/negative class labels provided with command arguments or environment variable don't match "
                "values from model config file. Use either one of them or make them match."
            )
        positive, negative = cli if cli_ok else meta_pair
        return TargetSpec(target_type, str(positive), str(negative), metadata=metadata)

    if target_type in (TargetType.MULTICLASS, TargetType.MULTILABEL):
        cli_labels = settings.class_labels
        if settings.class_labels_file:
            cli_labels = read_labels_file(settings.class_labels_file)
        meta_labels = None
        if inference.get("classLabels"):
            meta_labels = tuple(map(str, inference["classLabels"]))
        elif inference.get("classLabelsFile"):
            # Relative to the code dir, so the same metadata works from any working directory.
            meta_labels = read_labels_file(Path(settings.code_dir) / inference["classLabelsFile"])
        if not cli_labels and not meta_labels:
            raise ConfigError(
                "Class labels are missing. They must be provided with either one: --class-labels/--class-labels-file "
                "arguments, environment variables, model config file."
            )
        if cli_labels and meta_labels and set(cli_labels) != set(meta_labels):
            raise ConfigError(
                "Class labels provided with command arguments or environment variable don't match values from model "
                "config file. Use either one of them or make them match."
            )
        labels = tuple(cli_labels or meta_labels or ())
        if len(labels) < 2:
            raise ConfigError("Multiclass classification requires at least 2 labels.")
        return TargetSpec(target_type, class_labels=labels, metadata=metadata)

    target_name = settings.target_name if target_type.names_its_target else None
    return TargetSpec(target_type, metadata=metadata, target_name=target_name or None)
