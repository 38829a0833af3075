"""The whole model-metadata.yaml schema (DRUM's, section 8), checked with a key path and line per problem.

The file is composed with PyYAML so every node keeps its position; values are read as strings, the way
DRUM's strictyaml reads them. Unlike DRUM, every problem is collected (not only the first), each names
its key path and line, and misspellings get the nearest valid key or value.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumkit.predictor.targets import TARGET_TYPE_NAMES

METADATA_FILE = "model-metadata.yaml"

# DRUM 1.18.1 accepts these target types; drumkit runs those of TargetType.
DRUM_TARGET_TYPES = (
    "regression",
    "binary",
    "multiclass",
    "multilabel",
    "anomaly",
    "transform",
    "unstructured",
    "textgeneration",
    "geopoint",
    "vectordatabase",
    "agenticworkflow",
)
MODEL_KINDS = ("inference", "training")
TRUE_WORDS = ("yes", "true", "on", "1", "y")
FALSE_WORDS = ("no", "false", "off", "0", "n")

# typeSchema grammar (8.3)
FIELDS = ("data_types", "sparse", "number_of_columns", "contains_missing")
DATA_VALUES = ("NUM", "TXT", "CAT", "IMG", "DATE", "DATE_DURATION", "COUNT_DICT", "GEO")
NON_NUMERIC_CONDITIONS = ("EQUALS", "IN", "NOT_EQUALS", "NOT_IN")
ALL_CONDITIONS = (*NON_NUMERIC_CONDITIONS, "GREATER_THAN", "LESS_THAN", "NOT_GREATER_THAN", "NOT_LESS_THAN")
SINGLE_VALUE_CONDITIONS = (
    "EQUALS",
    "NOT_EQUALS",
    "GREATER_THAN",
    "NOT_GREATER_THAN",
    "LESS_THAN",
    "NOT_LESS_THAN",
)
ZERO_COLUMNS_OK = ("NOT_IN", "NOT_EQUALS", "NOT_LESS_THAN", "GREATER_THAN")
CONDITIONS = {
    "data_types": NON_NUMERIC_CONDITIONS,
    "sparse": ("EQUALS",),
    "number_of_columns": ALL_CONDITIONS,
    "contains_missing": ("EQUALS",),
}
VALUES = {
    "input_requirements": {
        "data_types": DATA_VALUES,
        "sparse": ("FORBIDDEN", "SUPPORTED", "REQUIRED"),
        "contains_missing": ("FORBIDDEN", "SUPPORTED"),
    },
    "output_requirements": {
        "data_types": DATA_VALUES,
        "sparse": ("NEVER", "DYNAMIC", "ALWAYS", "IDENTITY"),
        "contains_missing": ("NEVER", "DYNAMIC"),
    },
}

RUNTIME_PARAM_TYPES = ("string", "boolean", "numeric", "credential", "deployment")
RUNTIME_PARAM_KEYS = (
    "fieldName",
    "type",
    "defaultValue",
    "allowEmpty",
    "minValue",
    "maxValue",
    "description",
    "credentialType",
)
HYPERPARAMETER_TYPES = ("int", "float", "string", "select", "multi")
HYPERPARAMETER_NAME = re.compile(r"^([a-zA-Z]+[a-zA-Z_]*[a-zA-Z]+|[a-zA-Z]+)$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the metadata: where (key path, 1-based line) and why."""

    path: str
    line: int | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.path or '(file)'}" + (f" (line {self.line})" if self.line else "")
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {"path": self.path, "line": self.line, "message": self.message, "severity": self.severity}


def did_you_mean(word: str, choices, cutoff: float = 0.6) -> str:
    """` (did you mean 'x'?)` for the nearest choice, matching case-insensitively, or ''."""
    lowered = {str(c).lower(): str(c) for c in choices}
    close = difflib.get_close_matches(str(word).lower(), list(lowered), n=1, cutoff=cutoff)
    return f" (did you mean '{lowered[close[0]]}'?)" if close else ""


# ---- the node walker ------------------------------------------------------------------------
class _Checker:
    """Walks composed YAML nodes, records problems and builds a plain dict of strings."""

    def __init__(self, code_dir: Path | None):
        self.code_dir = code_dir
        self.problems: list[Problem] = []
        self.lines: dict[str, int | None] = {}

    # problems
    def error(self, path: str, node_or_line, message: str) -> None:
        self.problems.append(Problem(path, _line(node_or_line), message))

    def warn(self, path: str, node_or_line, message: str) -> None:
        self.problems.append(Problem(path, _line(node_or_line), message, "warning"))

    # shapes
    def mapping(
        self, node, path: str, keys: dict[str, bool] | None = None, *, open_keys: bool = False
    ) -> dict | None:
        """A mapping's {key: value node}; unknown keys are errors (with a suggestion) unless open_keys."""
        import yaml

        if not isinstance(node, yaml.MappingNode):
            self.error(path, node, f"must be a mapping of keys, not {_kind(node)}")
            return None
        self._flow(node, path)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(path, key_node, "keys must be plain text")
                continue
            key = key_node.value
            child = _join(path, key)
            self.lines[child] = _line(key_node)
            if key in out:
                self.error(child, key_node, f"duplicate key '{key}' (DRUM refuses duplicate keys)")
                continue
            if keys is not None and key not in keys and not open_keys:
                self.error(child, key_node, f"unexpected key not in schema '{key}'{did_you_mean(key, keys)}")
                continue
            out[key] = value_node
        missing = sorted(key for key, required in (keys or {}).items() if required and key not in out)
        if missing:  # strictyaml's words, as DRUM prints them
            names = "', '".join(missing)
            self.error(path, self.lines.get(path) or node, f"required key(s) '{names}' not found")
        return out

    def sequence(self, node, path: str) -> list | None:
        """A non-empty block list's item nodes."""
        import yaml

        if not isinstance(node, yaml.SequenceNode):
            self.error(path, node, f"must be a list, not {_kind(node)}")
            return None
        self._flow(node, path)
        if not node.value:
            self.error(
                path, node, "is an empty list; DRUM's strictyaml refuses empty lists, remove the key instead"
            )
        return list(node.value)

    def scalar(self, node, path: str) -> str | None:
        """A text value (every scalar is a string, as strictyaml reads it)."""
        import yaml

        if not isinstance(node, yaml.ScalarNode):
            self.error(path, node, f"must be a single value, not {_kind(node)}")
            return None
        self.lines.setdefault(path, _line(node))
        return node.value

    def number(self, node, path: str, *, integer: bool = False) -> float | None:
        text = self.scalar(node, path)
        if text is None:
            return None
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            self.error(path, node, f"'{text}' is not {'an integer' if integer else 'a number'}")
            return None
        if not integer and not math.isfinite(value):
            self.error(path, node, f"'{text}' is not a finite number")
            return None
        return value

    def boolean(self, node, path: str) -> bool | None:
        text = self.scalar(node, path)
        if text is None:
            return None
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        self.error(path, node, f"'{text}' is not a boolean (use true or false)")
        return None

    def choice(self, node, path: str, choices, what: str = "value") -> str | None:
        text = self.scalar(node, path)
        if text is None:
            return None
        if text not in choices:
            self.error(
                path, node, f"{what} '{text}' is not one of {', '.join(choices)}{did_you_mean(text, choices)}"
            )
            return None
        return text

    def _flow(self, node, path: str) -> None:
        if getattr(node, "flow_style", False):
            self.error(
                path,
                node,
                "uses flow style ([...] or {...}); DRUM's strictyaml refuses it, write a block "
                "list/mapping instead",
            )


def _line(node_or_line) -> int | None:
    if node_or_line is None or isinstance(node_or_line, int):
        return node_or_line
    mark = getattr(node_or_line, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def _kind(node) -> str:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"the value '{node.value}'" if getattr(node, "value", "") != "" else "an empty value"


def _join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


# ---- the schema -------------------------------------------------------------------------------
TOP_LEVEL = {
    "name": True,
    "type": True,
    "targetType": True,
    "environmentID": False,
    "modelID": False,
    "description": False,
    "majorVersion": False,
    "validation": False,
    "inferenceModel": False,
    "trainingModel": False,
    "hyperparameters": False,
    "typeSchema": False,
    "customPredictor": False,
    "runtimeParameterDefinitions": False,
    "userCredentialSpecifications": False,
    "lazyLoading": False,
    "inputSchema": False,
}
INFERENCE_KEYS = {
    "targetName": False,
    "positiveClassLabel": False,
    "negativeClassLabel": False,
    "classLabels": False,
    "classLabelsFile": False,
    "predictionThreshold": False,
}


def check_metadata_text(text: str, code_dir: Path | None = None) -> list[Problem]:
    """Every problem in a model-metadata.yaml text (errors and warnings), in file order."""
    import yaml

    checker = _Checker(code_dir)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return [Problem("", mark.line + 1 if mark else None, f"not valid YAML: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return [Problem("", None, f"not valid YAML: {exc}")]
    if root is None or (isinstance(root, yaml.ScalarNode) and root.value.strip() == ""):
        return [Problem("", None, f"The {METADATA_FILE} file appears to be empty.")]
    top = checker.mapping(root, "", TOP_LEVEL)
    if top is not None:
        _check_top(checker, top)
    return sorted(checker.problems, key=lambda p: (p.line or 0, p.path))


def read_metadata_file(code_dir: Path) -> str | None:
    """The text of `<code_dir>/model-metadata.yaml`, None when there is no such file; ValueError when unreadable."""
    path = Path(code_dir) / METADATA_FILE
    if not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None


def check_metadata_file(code_dir: Path) -> list[Problem] | None:
    """Problems in `<code_dir>/model-metadata.yaml`, or None when the file does not exist."""
    try:
        text = read_metadata_file(code_dir)
    except ValueError as exc:
        return [Problem("", None, str(exc))]
    return None if text is None else check_metadata_text(text, Path(code_dir))


def _check_top(c: _Checker, top: dict) -> None:
    for key in ("name", "environmentID", "modelID", "description"):
        if key in top:
            value = c.scalar(top[key], key)
            if key == "name" and value is not None and not value.strip():
                c.error(key, top[key], "must not be empty")
    if "majorVersion" in top:
        c.boolean(top["majorVersion"], "majorVersion")
    kind = c.scalar(top["type"], "type") if "type" in top else None
    if kind is not None and kind not in MODEL_KINDS:
        c.warn(
            "type",
            top["type"],
            f"'{kind}' is neither 'inference' nor 'training', so DRUM skips the label checks"
            f"{did_you_mean(kind, MODEL_KINDS)}",
        )
    target = None
    if "targetType" in top:
        target = c.choice(top["targetType"], "targetType", DRUM_TARGET_TYPES, "target type")
        if target is not None and target not in TARGET_TYPE_NAMES:
            c.warn(
                "targetType",
                top["targetType"],
                f"DRUM knows target type '{target}' but drumkit cannot run it",
            )
    if "validation" in top:
        _check_validation(c, top["validation"])
    inference = (
        c.mapping(top["inferenceModel"], "inferenceModel", INFERENCE_KEYS)
        if "inferenceModel" in top
        else None
    )
    if inference is not None:
        _check_inference_values(c, inference, target)
    if kind == "inference" and target is not None:
        _check_label_requirements(c, inference, top.get("inferenceModel"), target)
    if "trainingModel" in top:
        training = c.mapping(top["trainingModel"], "trainingModel", {"trainOnProject": False})
        if training and "trainOnProject" in training:
            c.scalar(training["trainOnProject"], "trainingModel.trainOnProject")
    if "typeSchema" in top:
        _check_type_schema(c, top["typeSchema"], target)
    if "runtimeParameterDefinitions" in top:
        _check_runtime_params(c, top["runtimeParameterDefinitions"])
    if "hyperparameters" in top:
        _check_hyperparameters(c, top["hyperparameters"])
    if "userCredentialSpecifications" in top:
        _check_credentials(c, top["userCredentialSpecifications"])
    if "inputSchema" in top:
        _check_input_schema(c, top["inputSchema"])


def _check_validation(c: _Checker, node) -> None:
    fields = c.mapping(node, "validation", {"input": True, "targetName": False})
    if not fields:
        return
    if "targetName" in fields:
        c.scalar(fields["targetName"], "validation.targetName")
    if "input" in fields:
        name = c.scalar(fields["input"], "validation.input")
        if name is not None and c.code_dir is not None and not (c.code_dir / name).is_file():
            c.error("validation.input", fields["input"], f"the file '{name}' does not exist in the code dir")


def _check_inference_values(c: _Checker, inference: dict, target: str | None) -> None:
    for key in ("targetName", "positiveClassLabel", "negativeClassLabel", "classLabelsFile"):
        if key in inference:
            c.scalar(inference[key], f"inferenceModel.{key}")
    if "classLabels" in inference:
        items = c.sequence(inference["classLabels"], "inferenceModel.classLabels") or []
        labels = [c.scalar(item, f"inferenceModel.classLabels[{i}]") for i, item in enumerate(items)]
        seen: set[str] = set()
        for i, (item, label) in enumerate(zip(items, labels, strict=True)):
            if label is None:
                continue
            if label in seen:
                c.error(f"inferenceModel.classLabels[{i}]", item, f"duplicate class label '{label}'")
            seen.add(label)
    if "predictionThreshold" in inference:
        # DRUM types this Int, so 0.5 fails there (a DRUM bug); a float in [0, 1] is what it means.
        value = c.number(inference["predictionThreshold"], "inferenceModel.predictionThreshold")
        if value is not None and not 0 <= value <= 1:
            c.error(
                "inferenceModel.predictionThreshold",
                inference["predictionThreshold"],
                f"{value:g} is not a probability between 0 and 1",
            )
        if target is not None and target != "binary":
            c.warn(
                "inferenceModel.predictionThreshold",
                inference["predictionThreshold"],
                f"only binary models use a prediction threshold; target type is '{target}'",
            )
    if target is not None and target not in ("binary", "multiclass", "multilabel"):
        for key in ("positiveClassLabel", "negativeClassLabel", "classLabels", "classLabelsFile"):
            if key in inference:
                c.warn(
                    f"inferenceModel.{key}",
                    inference[key],
                    f"class labels are ignored for target type '{target}'",
                )


def _check_label_requirements(c: _Checker, inference: dict | None, node, target: str) -> None:
    where = "inferenceModel"
    line = c.lines.get("inferenceModel") or c.lines.get("targetType")
    if target == "binary":
        if inference is None and node is None:
            c.error(
                where,
                line,
                "a binary inference model needs inferenceModel.positiveClassLabel and "
                "inferenceModel.negativeClassLabel",
            )
            return
        inference = inference or {}
        missing = [k for k in ("positiveClassLabel", "negativeClassLabel") if k not in inference]
        if missing:
            c.error(
                where,
                line,
                f"The following keys are missing in {METADATA_FILE} file. Missing keys: {missing}",
            )
            return
        pos, neg = inference["positiveClassLabel"], inference["negativeClassLabel"]
        if getattr(pos, "value", None) is not None and getattr(pos, "value", None) == getattr(
            neg, "value", object()
        ):
            c.error(f"{where}.negativeClassLabel", neg, "the positive and negative class labels are the same")
    elif target in ("multiclass", "multilabel"):
        if inference is None and node is None:
            c.error(
                where,
                line,
                f"a {target} inference model needs inferenceModel.classLabels or "
                "inferenceModel.classLabelsFile",
            )
            return
        inference = inference or {}
        has_list, has_file = "classLabels" in inference, "classLabelsFile" in inference
        if has_list and has_file:
            c.error(
                where,
                line,
                "Error - for multiclass classification, either the class labels or a class labels "
                f"file should be provided in {METADATA_FILE} file, but not both.",
            )
        elif not has_list and not has_file:
            c.error(
                where,
                line,
                "Error - for multiclass classification, either the class labels or a class labels "
                f"file must be provided in {METADATA_FILE} file (classLabels or classLabelsFile).",
            )
        elif has_list:
            items = getattr(inference["classLabels"], "value", None)
            if isinstance(items, list) and 0 < len(items) < 2:
                c.error(
                    f"{where}.classLabels",
                    inference["classLabels"],
                    f"{target} classification requires at least 2 labels",
                )
        elif has_file:
            _check_labels_file(c, inference["classLabelsFile"])


def _check_labels_file(c: _Checker, node) -> None:
    name = getattr(node, "value", None)
    if not isinstance(name, str) or c.code_dir is None:
        return
    path = c.code_dir / name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        c.error(
            "inferenceModel.classLabelsFile",
            node,
            f"cannot read '{name}' (drumkit resolves it against the code dir): {getattr(exc, 'strerror', exc)}",
        )
        return
    labels = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    if len(labels) < 2:
        c.error(
            "inferenceModel.classLabelsFile",
            node,
            f"'{name}' holds {len(labels)} label(s); at least 2 are needed",
        )


def _check_type_schema(c: _Checker, node, target: str | None) -> None:
    sections = c.mapping(node, "typeSchema", {"input_requirements": False, "output_requirements": False})
    if not sections:
        return
    if "output_requirements" in sections and target is not None and target != "transform":
        c.warn(
            "typeSchema.output_requirements",
            sections["output_requirements"],
            "output_requirements are only valid for transform models",
        )
    for section, seq_node in sections.items():
        path = f"typeSchema.{section}"
        seen: dict[str, int] = {}
        for i, item in enumerate(c.sequence(seq_node, path) or []):
            _check_requirement(c, item, f"{path}[{i}]", section, seen)


def _check_requirement(c: _Checker, node, path: str, section: str, seen: dict[str, int]) -> None:
    import yaml

    req = c.mapping(node, path, {"field": True, "condition": True, "value": True})
    if not req or "field" not in req:
        return
    field = c.choice(req["field"], f"{path}.field", FIELDS, "field")
    if field is None:
        return
    if field in seen:
        c.error(
            f"{path}.field",
            req["field"],
            f"'{field}' is already given in {path.rsplit('[', 1)[0]}[{seen[field]}]"
            "; only one entry per field is allowed",
        )
    seen.setdefault(field, int(path.rsplit("[", 1)[1].rstrip("]")))
    condition = (
        c.choice(req["condition"], f"{path}.condition", CONDITIONS[field], f"condition for {field}")
        if "condition" in req
        else None
    )
    if "value" not in req:
        return
    value_node, vpath = req["value"], f"{path}.value"
    if isinstance(value_node, yaml.SequenceNode):
        items = [(n, f"{vpath}[{i}]") for i, n in enumerate(c.sequence(value_node, vpath) or [])]
        if field in ("sparse", "contains_missing"):
            c.error(vpath, value_node, f"{field} takes a single value, not a list")
            return
        if condition in SINGLE_VALUE_CONDITIONS and len(items) > 1:
            c.error(vpath, value_node, f"{condition} only accepts a single value")
    else:
        items = [(value_node, vpath)]
    for item, ipath in items:
        if field == "number_of_columns":
            count = c.number(item, ipath, integer=True)
            if count is not None and count < 0:
                c.error(ipath, item, "the number of columns can not be negative")
            elif count == 0 and condition is not None and condition not in ZERO_COLUMNS_OK:
                c.error(ipath, item, f"a value of 0 is not supported for {condition}")
        else:
            c.choice(item, ipath, VALUES[section][field], f"{field} value")


def _check_runtime_params(c: _Checker, node) -> None:
    names: dict[str, int] = {}
    for i, item in enumerate(c.sequence(node, "runtimeParameterDefinitions") or []):
        path = f"runtimeParameterDefinitions[{i}]"
        spec = c.mapping(
            item, path, {k: k in ("fieldName", "type") for k in RUNTIME_PARAM_KEYS}, open_keys=True
        )
        if spec is None:
            continue
        for key, value in spec.items():
            if key not in RUNTIME_PARAM_KEYS:
                hint = did_you_mean(key, RUNTIME_PARAM_KEYS, cutoff=0.75)
                if hint:  # DRUM ignores extra keys; only a likely misspelling is worth a word.
                    c.warn(f"{path}.{key}", value, f"key '{key}' is ignored{hint}")
        name = c.scalar(spec["fieldName"], f"{path}.fieldName") if "fieldName" in spec else None
        if name is not None:
            if name in names:
                c.error(
                    f"{path}.fieldName",
                    spec["fieldName"],
                    f"Failed to load runtime parameter [{name}], duplicated definition",
                )
            names.setdefault(name, i)
        kind = c.choice(spec["type"], f"{path}.type", RUNTIME_PARAM_TYPES, "type") if "type" in spec else None
        if "allowEmpty" in spec:
            c.boolean(spec["allowEmpty"], f"{path}.allowEmpty")
        for key in ("description", "credentialType"):
            if key in spec:
                c.scalar(spec[key], f"{path}.{key}")
        bounds = {}
        for key in ("minValue", "maxValue"):
            if key in spec:
                if kind not in (None, "numeric"):
                    c.error(
                        f"{path}.{key}", spec[key], f"{key} only applies to numeric parameters, not {kind}"
                    )
                else:
                    bounds[key] = c.number(spec[key], f"{path}.{key}")
        low, high = bounds.get("minValue"), bounds.get("maxValue")
        if low is not None and high is not None and low > high:
            c.error(
                f"{path}.minValue", spec["minValue"], f"minValue {low:g} is greater than maxValue {high:g}"
            )
        if "defaultValue" in spec and kind is not None:
            _check_runtime_default(c, spec["defaultValue"], f"{path}.defaultValue", kind, low, high)


def _check_runtime_default(c: _Checker, node, path: str, kind: str, low, high) -> None:
    import yaml

    if kind == "credential":
        return
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
        return
    if kind == "numeric":
        value = c.number(node, path)
        if value is not None and low is not None and value < low:
            c.error(path, node, f"default {value:g} is less than minValue {low:g}")
        if value is not None and high is not None and value > high:
            c.error(path, node, f"default {value:g} is greater than maxValue {high:g}")
    elif kind == "boolean":
        c.boolean(node, path)
    else:
        c.scalar(node, path)


def _check_hyperparameters(c: _Checker, node) -> None:
    names: set[str] = set()
    for i, item in enumerate(c.sequence(node, "hyperparameters") or []):
        path = f"hyperparameters[{i}]"
        spec = c.mapping(
            item,
            path,
            {"name": True, "type": True, "min": False, "max": False, "default": False, "values": False},
        )
        if spec is None:
            continue
        name = c.scalar(spec["name"], f"{path}.name") if "name" in spec else None
        if name is not None:
            if len(name) > 64 or not HYPERPARAMETER_NAME.match(name):
                c.error(
                    f"{path}.name",
                    spec["name"],
                    f"'{name}' must be at most 64 letters and underscores, starting and ending with a letter",
                )
            if name in names:
                c.error(f"{path}.name", spec["name"], f"duplicate hyperparameter '{name}'")
            names.add(name)
        kind = (
            c.choice(spec["type"], f"{path}.type", HYPERPARAMETER_TYPES, "type") if "type" in spec else None
        )
        if kind in ("int", "float"):
            _check_range(c, spec, path, integer=kind == "int", with_default=True)
        elif kind == "string":
            if "default" in spec:
                text = c.scalar(spec["default"], f"{path}.default")
                if text is not None and len(text) > 1024:
                    c.error(f"{path}.default", spec["default"], "must be at most 1024 characters")
        elif kind == "select":
            values = _check_select_values(c, spec, path)
            if "default" in spec and values is not None:
                default = c.scalar(spec["default"], f"{path}.default")
                if default is not None and default not in values:
                    c.error(
                        f"{path}.default",
                        spec["default"],
                        f"'{default}' is not one of the values{did_you_mean(default, values)}",
                    )
        elif kind == "multi" and "values" in spec:
            parts = c.mapping(
                spec["values"], f"{path}.values", {"int": False, "float": False, "select": False}
            )
            for part, part_node in (parts or {}).items():
                ppath = f"{path}.values.{part}"
                if part == "select":
                    sub = c.mapping(part_node, ppath, {"values": True})
                    if sub:
                        _check_select_values(c, sub, ppath)
                else:
                    sub = c.mapping(part_node, ppath, {"min": True, "max": True})
                    if sub:
                        _check_range(c, sub, ppath, integer=part == "int", with_default=False)


def _check_range(c: _Checker, spec: dict, path: str, *, integer: bool, with_default: bool) -> None:
    for key in ("min", "max"):
        if key not in spec:
            c.error(f"{path}.{key}", c.lines.get(path), f"required key '{key}' is missing")
    low = c.number(spec["min"], f"{path}.min", integer=integer) if "min" in spec else None
    high = c.number(spec["max"], f"{path}.max", integer=integer) if "max" in spec else None
    if low is not None and high is not None and not low < high:
        c.error(f"{path}.min", spec["min"], f"min {low:g} must be less than max {high:g}")
    if with_default and "default" in spec:
        default = c.number(spec["default"], f"{path}.default", integer=integer)
        if default is not None and low is not None and high is not None and not low <= default <= high:
            c.error(f"{path}.default", spec["default"], f"default {default:g} is outside [{low:g}, {high:g}]")


def _check_select_values(c: _Checker, spec: dict, path: str) -> list[str] | None:
    if "values" not in spec:
        c.error(f"{path}.values", c.lines.get(path), "required key 'values' is missing")
        return None
    items = c.sequence(spec["values"], f"{path}.values") or []
    values = [c.scalar(item, f"{path}.values[{i}]") for i, item in enumerate(items)]
    if len(items) > 24:
        c.error(f"{path}.values", spec["values"], f"at most 24 values are allowed, {len(items)} given")
    for i, (item, value) in enumerate(zip(items, values, strict=True)):
        if value is not None and (not value.strip() or len(value) > 1024):
            c.error(f"{path}.values[{i}]", item, "values must be non-blank and at most 1024 characters")
    return [v for v in values if v is not None]


def _check_credentials(c: _Checker, node) -> None:
    for i, item in enumerate(c.sequence(node, "userCredentialSpecifications") or []):
        path = f"userCredentialSpecifications[{i}]"
        spec = c.mapping(item, path, {"key": True, "valueFrom": True, "reminder": False})
        for key, value in (spec or {}).items():
            c.scalar(value, f"{path}.{key}")


def _check_input_schema(c: _Checker, node) -> None:
    spec = c.mapping(
        node, "inputSchema", {"title": False, "type": True, "properties": True, "required": False}
    )
    if spec is None:
        return
    if "title" in spec:
        c.scalar(spec["title"], "inputSchema.title")
    if "type" in spec:
        kind = c.scalar(spec["type"], "inputSchema.type")
        if kind is not None and kind != "object":
            c.error("inputSchema.type", spec["type"], f"only 'object' is allowed, not '{kind}'")
    properties = (
        c.mapping(spec["properties"], "inputSchema.properties", open_keys=True)
        if "properties" in spec
        else None
    )
    if "required" in spec:
        items = c.sequence(spec["required"], "inputSchema.required") or []
        for i, item in enumerate(items):
            name = c.scalar(item, f"inputSchema.required[{i}]")
            if name is not None and properties is not None and name not in properties:
                c.error(
                    f"inputSchema.required[{i}]",
                    item,
                    f"'{name}' is not a property{did_you_mean(name, properties)}",
                )
